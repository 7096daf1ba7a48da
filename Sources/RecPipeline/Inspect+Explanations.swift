import RecCore
import RecStore

extension Inspect {
    /// `explanations.art` as CSV: `list,id,rank,movie_id,score`, first the reasons (`because`:
    /// id = user, rank = the recommendation's rank, movie_id = the reason, no score), then the
    /// similar lists (`similar`: id = movie).
    static func explanationsCSV(_ a: Artefact, parallel: Parallel) throws -> String {
        let users: [Int32] = try a.array("userIds"), items: [Int32] = try a.array("itemIds")
        let because: [Int32] = try a.array("because", parallel: parallel)
        let similar: [Int32] = try a.array("similarItems", parallel: parallel), scores: [Float] = try a.array("similarScores", parallel: parallel)
        guard let k = a.meta("k")?.intValue, let s = a.meta("similarK")?.intValue, k >= 1, s >= 1,
              because.count == users.count * k, similar.count == items.count * s, scores.count == similar.count,
              (because + similar).allSatisfy({ $0 >= -1 && Int($0) < items.count }) else {
            throw RecError(.artefact, "explanations do not match their shape", file: a.path, hint: "rerun rec-score")
        }
        var out = "list,id,rank,movie_id,score\n"
        for (t, j) in because.enumerated() where j >= 0 { out += "because,\(users[t / k]),\(t % k + 1),\(items[Int(j)]),\n" }
        for (t, j) in similar.enumerated() where j >= 0 { out += "similar,\(items[t / s]),\(t % s + 1),\(items[Int(j)]),\(scores[t])\n" }
        return out
    }
}
