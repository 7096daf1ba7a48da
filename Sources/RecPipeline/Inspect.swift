import Foundation
import RecCore
import RecStore
import RecData

/// What `rec-inspect` prints: an artefact's header, or its contents as CSV.
public enum Inspect {
    /// Reads the artefact whatever its kind (the kind is taken from the file, then verified).
    public static func open(_ path: String) throws -> Artefact {
        let bytes = try AtomicFile.read(path)
        guard bytes.count >= 12, Array(bytes[0..<8]) == ArtefactFormat.magic else {
            throw RecError(.artefact, "not an artefact of this program (bad magic number or too short)", file: path)
        }
        let raw = UInt16(bytes[10]) | UInt16(bytes[11]) << 8
        guard let kind = ArtefactKind(rawValue: raw) else { throw RecError(.artefact, "unknown artefact kind \(raw)", file: path) }
        return try Artefact.read(path, expecting: kind)
    }

    /// Kind, version, shape and sizes, one fact a line.
    public static func header(_ a: Artefact) -> String {
        var lines = ["file: \(a.path)", "kind: \(a.kind.name) (written by \(a.kind.producer))",
                     "format version: \(a.header.formatVersion)", "payload: \(a.header.payloadBytes) bytes compressed, xxh3 \(a.header.payloadHash)"]
        lines.append("sections:")
        for s in a.header.sections {
            let raw = s.count * s.type.size
            let ratio = s.compressedBytes > 0 ? Double(raw) / Double(s.compressedBytes) : 0
            lines.append("  \(s.name): \(s.count) × \(s.type.rawValue), \(raw) bytes → \(s.compressedBytes) compressed (\(String(format: "%.1f", ratio))×) in \(s.frames.count) frame(s)")
        }
        let meta = a.header.meta.filter { $0.key != "history" && $0.key != "settings" && $0.key != "split" }
        if !meta.isEmpty {
            lines.append("meta:")
            for key in meta.keys.sorted() { lines.append("  \(key): \((try? JSON.encodeString(meta[key]!)) ?? "?")") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The contents as CSV with a header row. Ratings and split parts: `user_id,movie_id,rating`
    /// (original MovieLens ids, plus `timestamp` when known); catalogue:
    /// `movie_id,title,genres`; matrices: `part,user_id,movie_id,rating`; top-k:
    /// `user_id,rank,movie_id,score,predicted_rating` (explanations: see `explanationsCSV`);
    /// model: `section,index,value`.
    public static func csv(_ a: Artefact, parallel: Parallel) throws -> String {
        var out = ""
        func rating(_ v: Float) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
        switch a.kind {
        case .ratings, .split:
            let (r, _) = try Ratings.read(a.path, kind: a.kind, parallel: parallel)
            let withTime = r.timestamps.contains { $0 >= 0 }
            out = withTime ? "user_id,movie_id,rating,timestamp\n" : "user_id,movie_id,rating\n"
            for k in 0..<r.count {
                out += "\(r.ids.userIds[Int(r.users[k])]),\(r.ids.itemIds[Int(r.items[k])]),\(rating(r.values[k]))"
                out += withTime ? ",\(r.timestamps[k] >= 0 ? String(r.timestamps[k]) : "")\n" : "\n"
            }
        case .catalogue:
            let c = try Catalogue.read(a.path, parallel: parallel)
            out = "movie_id,title,genres\n"
            for i in 0..<c.count {
                out += "\(c.movieIds[i]),\(RecommendationExport.csvField(c.titles[i])),\(RecommendationExport.csvField(c.genres[i].joined(separator: "|")))\n"
            }
        case .matrices:
            let users: [Int32] = try a.array("userIds"), items: [Int32] = try a.array("itemIds")
            out = "part,user_id,movie_id,rating\n"
            for part in ["train", "validation", "test"] {
                let m = try CSRMatrix.read(from: a, name: part, parallel: parallel)
                for u in 0..<m.rows {
                    for t in m.row(u) { out += "\(part),\(users[u]),\(items[Int(m.columns[t])]),\(rating(m.values[t]))\n" }
                }
            }
        case .topK:
            if a.meta("content")?.stringValue == Explanations.content {
                out = try explanationsCSV(a, parallel: parallel)
                break
            }
            let (l, _) = try TopKLists.read(a.path, parallel: parallel)
            out = "user_id,rank,movie_id,score,predicted_rating\n"
            for u in 0..<l.ids.userCount {
                for r in 0..<l.k where l.items[u * l.k + r] >= 0 {
                    let t = u * l.k + r
                    out += "\(l.ids.userIds[u]),\(r + 1),\(l.ids.itemIds[Int(l.items[t])]),\(l.scores[t]),\(l.predictedRatings[t])\n"
                }
            }
        case .predictions:
            out = TestPredictions.csv(try TestPredictions.read(a, parallel: parallel))
        case .model:
            out = "section,index,value\n"
            for s in a.header.sections where s.type == .float32 {
                let v: [Float] = try a.array(s.name, parallel: parallel)
                for (i, x) in v.enumerated() { out += "\(s.name),\(i),\(x)\n" }
            }
        }
        return out
    }
}
