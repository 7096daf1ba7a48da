import Foundation
import RecCore
import RecStore

/// What `rec-score` adds to the served lists for `rec-export`: the reason of every
/// recommendation and every movie's similar movies. A `topk` artefact with meta `content` =
/// `explanations` (sections `because`, `similarItems`, `similarScores`, `userIds`, `itemIds`).
public struct Explanations: Sendable, Equatable {
    /// Length of the served lists: `because` is users × k, aligned with `topk.art`'s items.
    public var k: Int
    /// The dense item each recommendation is because of; −1: none (or no recommendation).
    public var because: [Int32]
    /// Length of the similar lists: `similarItems` and `similarScores` are items × similarK.
    public var similarK: Int
    /// Each item's similar items, most similar first; −1 pads.
    public var similarItems: [Int32]
    public var similarScores: [Float]
    public var ids: IdMaps

    public init(k: Int, because: [Int32], similarK: Int, similarItems: [Int32], similarScores: [Float], ids: IdMaps) {
        precondition(because.count == ids.userCount * k && similarItems.count == ids.itemCount * similarK
                     && similarScores.count == similarItems.count)
        self.k = k
        self.because = because
        self.similarK = similarK
        self.similarItems = similarItems
        self.similarScores = similarScores
        self.ids = ids
    }

    /// The meta `content` that tells explanations from top-k lists (both are `topK` artefacts).
    public static let content = "explanations"

    public func write(to path: String, meta: [String: JSONValue], parallel: Parallel) throws {
        var b = ArtefactBuilder(kind: .topK)
        b.meta = meta
        b.meta["content"] = .string(Explanations.content)
        b.meta["k"] = .int(k)
        b.meta["similarK"] = .int(similarK)
        b.add("because", because)
        b.add("similarItems", similarItems)
        b.add("similarScores", similarScores)
        ids.add(to: &b)
        try b.write(to: path, parallel: parallel)
    }

    /// Reads what `write` wrote, checking its shape against the lists it belongs to.
    public static func read(_ path: String, matching lists: TopKLists, parallel: Parallel) throws -> Explanations {
        let a = try Artefact.read(path, expecting: .topK)
        let fail = RecError(.artefact, "does not hold the explanations of the served lists", file: path, hint: "rerun rec-score")
        guard a.meta("content")?.stringValue == content, let k = a.meta("k")?.intValue, k == lists.k,
              let similarK = a.meta("similarK")?.intValue, similarK >= 1 else { throw fail }
        let ids = try IdMaps.read(from: a)
        let because: [Int32] = try a.array("because", parallel: parallel)
        let items: [Int32] = try a.array("similarItems", parallel: parallel)
        let scores: [Float] = try a.array("similarScores", parallel: parallel)
        let (cells, overflow) = ids.itemCount.multipliedReportingOverflow(by: similarK)
        guard ids == lists.ids, because.count == lists.items.count, !overflow, items.count == cells, scores.count == cells,
              because.allSatisfy({ $0 >= -1 && Int($0) < ids.itemCount }), items.allSatisfy({ $0 >= -1 && Int($0) < ids.itemCount }) else {
            throw fail
        }
        return Explanations(k: k, because: because, similarK: similarK, similarItems: items, similarScores: scores, ids: ids)
    }
}

/// The writers of `similar.csv` and `similar.jsonl`, and of the reason columns appended to the
/// recommendations (the same cell writers as `RecommendationExport`).
///
/// CSV: `movie_id,rank,similar_movie_id,score,title,genres,similar_title,similar_genres`, one
/// row per (movie, rank), sorted by movie id then rank. JSON lines: one object per movie that
/// has a similar movie, `{"movie_id":1,"title":…,"genres":[…],"similar_movies":[{"rank":1,"movie_id":…,
/// "score":…,"title":…,"genres":[…]}]}`.
public enum SimilarExport {
    public static let csvHeader = "movie_id,rank,similar_movie_id,score,title,genres,similar_title,similar_genres\n"

    /// Formats both files, in parallel by item chunk, concatenated in item order.
    public static func render(_ e: Explanations, catalogue: Catalogue, parallel: Parallel, cells: CSVCells = .spreadsheetSafe)
        throws -> (csv: [UInt8], jsonl: [UInt8]) {
        let text = try CatalogueText(e.ids, catalogue: catalogue, cells: cells)
        let k = e.similarK
        let parts: [([UInt8], [UInt8])] = parallel.mapChunks(count: e.ids.itemCount, chunkSize: 512) { chunk in
            var csv: [UInt8] = [], json: [UInt8] = []
            for i in chunk where e.similarItems[i * k] >= 0 {
                let movie = String(e.ids.itemIds[i]), c = text.row[i]
                json.append(contentsOf: "{\"movie_id\":\(movie),\"title\":\(text.titlesJSON[c]),\"genres\":\(text.genresJSON[c]),\"similar_movies\":[".utf8)
                for r in 0..<k {
                    let j = Int(e.similarItems[i * k + r])
                    if j < 0 { break }
                    let d = text.row[j], other = String(e.ids.itemIds[j])
                    let score = RecommendationExport.fixed(Double(e.similarScores[i * k + r]), digits: 4)
                    csv.append(contentsOf: "\(movie),\(r + 1),\(other),\(score),\(text.titlesCSV[c]),\(text.genresCSV[c]),\(text.titlesCSV[d]),\(text.genresCSV[d])\n".utf8)
                    if r > 0 { json.append(44) }
                    json.append(contentsOf: "{\"rank\":\(r + 1),\"movie_id\":\(other),\"score\":\(score),\"title\":\(text.titlesJSON[d]),\"genres\":\(text.genresJSON[d])}".utf8)
                }
                json.append(contentsOf: "]}\n".utf8)
            }
            return (csv, json)
        }
        var csv = Array(csvHeader.utf8), jsonl: [UInt8] = []
        for (c, j) in parts {
            csv += c
            jsonl += j
        }
        return (csv, jsonl)
    }
}

/// Every dense item's catalogue row and its title and genres as CSV cells and JSON values.
struct CatalogueText {
    let row: [Int]
    let titlesCSV: [String], genresCSV: [String], titlesJSON: [String], genresJSON: [String]

    init(_ ids: IdMaps, catalogue: Catalogue, cells: CSVCells) throws {
        var row = [Int](repeating: -1, count: ids.itemCount)
        for (i, id) in ids.itemIds.enumerated() {
            guard let r = catalogue.index(of: id) else {
                throw RecError(.artefact, "movie \(id) is missing from the catalogue", hint: "rerun rec-ingest")
            }
            row[i] = r
        }
        self.row = row
        titlesCSV = catalogue.titles.map { RecommendationExport.csvField($0, cells: cells) }
        genresCSV = catalogue.genres.map { RecommendationExport.csvField($0.joined(separator: "|"), cells: cells) }
        titlesJSON = catalogue.titles.map { RecommendationExport.jsonString($0) }
        genresJSON = catalogue.genres.map { "[" + $0.map(RecommendationExport.jsonString).joined(separator: ",") + "]" }
    }
}
