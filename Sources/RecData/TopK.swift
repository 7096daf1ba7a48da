import RecCore
import RecStore
/// Every user's top-k list, as written by `rec-score` and read by `rec-export`.
public struct TopKLists: Sendable, Equatable {
    public var k: Int
    /// Dense item index per (user, rank), row-major; -1 where a user has fewer than k
    /// candidates (rated almost everything).
    public var items: [Int32]
    /// Ranking score per (user, rank).
    public var scores: [Float]
    /// The rating model's predicted rating per (user, rank), on the rating scale.
    public var predictedRatings: [Float]
    public var ids: IdMaps

    public init(k: Int, items: [Int32], scores: [Float], predictedRatings: [Float], ids: IdMaps) {
        precondition(items.count == ids.userCount * k && scores.count == items.count && predictedRatings.count == items.count)
        self.k = k
        self.items = items
        self.scores = scores
        self.predictedRatings = predictedRatings
        self.ids = ids
    }

    public func write(to path: String, meta: [String: JSONValue], parallel: Parallel) throws {
        var b = ArtefactBuilder(kind: .topK)
        b.meta = meta
        b.meta["k"] = .int(k)
        b.meta["users"] = .int(ids.userCount)
        b.add("items", items)
        b.add("scores", scores)
        b.add("predictedRatings", predictedRatings)
        ids.add(to: &b)
        try b.write(to: path, parallel: parallel)
    }

    public static func read(_ path: String, parallel: Parallel) throws -> (TopKLists, Artefact) {
        let a = try Artefact.read(path, expecting: .topK)
        guard let k = a.meta("k")?.intValue, k >= 1 else {
            throw RecError(.artefact, "has no k", file: path, hint: "rerun rec-score")
        }
        let ids = try IdMaps.read(from: a)
        let items: [Int32] = try a.array("items", parallel: parallel)
        let scores: [Float] = try a.array("scores", parallel: parallel)
        let predicted: [Float] = try a.array("predictedRatings", parallel: parallel)
        let (cells, overflow) = ids.userCount.multipliedReportingOverflow(by: k)  // k comes from the file
        guard !overflow, items.count == cells, scores.count == items.count, predicted.count == items.count,
              items.allSatisfy({ $0 >= -1 && Int($0) < ids.itemCount }) else {
            throw RecError(.artefact, "lists do not match their shape", file: path, hint: "rerun rec-score")
        }
        return (TopKLists(k: k, items: items, scores: scores, predictedRatings: predicted, ids: ids), a)
    }
}
