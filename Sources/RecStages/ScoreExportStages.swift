import Foundation
import Logging
import RecKit
import RecModels

/// Model(s) + matrices → every user's top-k (`topk.art`) and `metrics.json`.
///
/// Candidates for a user: every item with at least one train rating that the user did not
/// rate in train. Scores come from the ranking model; each list also carries the rating
/// model's predicted rating, clipped to the scale.
public struct ScoreStage: Stage {
    public init() {}
    public var name: String { "score" }
    public var executable: String { "rec-score" }
    public func inputs(_ c: PipelineConfig) -> [String] {
        [c.paths.matrices, c.paths.model] + (c.rankingModel.type == "rating-model" ? [] : [c.paths.rankingModel])
    }
    public func outputs(_ c: PipelineConfig) -> [String] { [c.paths.topK, c.paths.metrics] }
    public func settings(_ c: PipelineConfig) throws -> JSONValue {
        .object(["score": try .from(c.score), "ratingScale": try .from(c.input.ratingScale)])
    }

    public func run(_ ctx: StageContext) throws -> [String: JSONValue] {
        let c = ctx.config
        let k = c.score.k
        let m = try Matrices.read(c.paths.matrices, parallel: ctx.parallel)
        let rating = try LoadedRatingModel.read(c.paths.model, parallel: ctx.parallel)
        let itemBased = rating.artefact.meta("type")?.stringValue == "item-autoencoder"
        guard rating.autoencoder.layout.items == (itemBased ? m.ids.userCount : m.ids.itemCount) else {
            throw RecError(.artefact, "was trained on other data than \(c.paths.matrices)", file: c.paths.model, hint: "rerun rec-train")
        }
        let scale = Float(c.input.ratingScale[0])...Float(c.input.ratingScale[1])

        // Rating accuracy.
        var rmse: [String: JSONValue] = [:], mae: [String: JSONValue] = [:]
        for (part, matrix) in [("train", m.train), ("validation", m.validation), ("test", m.test)] where matrix.nonZeros > 0 {
            let p = rating.predictor.predict(train: m.train, queries: matrix, parallel: ctx.parallel)
            let (r, a) = errors(p, matrix.values, scale)
            rmse[part] = .double(r)
            mae[part] = .double(a)
        }

        // Top-k lists.
        BLASThreads.single()
        let scorer: any ItemScorer
        switch c.rankingModel.type {
        case "rating-model":
            guard !itemBased else {
                throw RecError(.config, "an item-based rating model cannot rank by itself: set rankingModel.type")
            }
            scorer = AutoencoderScorer(model: rating.autoencoder)
        case "user-autoencoder":
            let a = try Artefact.read(c.paths.rankingModel, expecting: .model)
            scorer = AutoencoderScorer(model: try Autoencoder.read(a, parallel: ctx.parallel))
        default:
            throw RecError(.config, "ranking model '\(c.rankingModel.type)' is not available in this build")
        }
        var trainCount = [Int](repeating: 0, count: m.ids.itemCount)
        for i in m.train.columns { trainCount[Int(i)] += 1 }
        let cold = trainCount.indices.filter { trainCount[$0] == 0 }
        let clock = ContinuousClock.now
        let (items, scores) = TopK.all(scorer: ExcludingColdItems(base: scorer, cold: cold), input: m.train, k: k, parallel: ctx.parallel)
        let scoringSeconds = clock.duration(to: .now).seconds

        // The rating model's prediction for every recommended item.
        var start = [0], columns: [Int32] = []
        for u in 0..<m.ids.userCount {
            columns += items[(u * k)..<((u + 1) * k)].filter { $0 >= 0 }.sorted()
            start.append(columns.count)
        }
        let queries = CSRMatrix(rows: m.ids.userCount, cols: m.ids.itemCount, rowStart: start, columns: columns,
                                values: [Float](repeating: 0, count: columns.count))
        let predicted = rating.predictor.predict(train: m.train, queries: queries, parallel: ctx.parallel)
        var predictedAtRank = [Float](repeating: 0, count: items.count)
        for u in 0..<m.ids.userCount {
            for t in queries.row(u) {
                let r = (0..<k).first { items[u * k + $0] == columns[t] }!
                predictedAtRank[u * k + r] = min(max(predicted[t], scale.lowerBound), scale.upperBound)
            }
        }
        let lists = TopKLists(k: k, items: items, scores: scores.map { $0.isFinite ? $0 : 0 }, predictedRatings: predictedAtRank, ids: m.ids)
        try lists.write(to: c.paths.topK, meta: ["rankingModel": .string(c.rankingModel.type)], parallel: ctx.parallel)

        let metrics: JSONValue = .object([
            "rmse": .object(rmse), "mae": .object(mae),
            "counts": .object([
                "users": .int(m.ids.userCount), "items": .int(m.ids.itemCount), "itemsInTrain": .int(m.ids.itemCount - cold.count),
                "train": .int(m.train.nonZeros), "validation": .int(m.validation.nonZeros), "test": .int(m.test.nonZeros),
            ]),
            "history": rating.artefact.meta("history") ?? .array([]),
            "settings": try JSONValue.from(c),
            "scoring": .object(["k": .int(k), "seconds": .double(scoringSeconds)]),
        ])
        try FileManager.default.createDirectory(atPath: c.paths.output, withIntermediateDirectories: true)
        try AtomicFile.write(try JSON.encodeString(metrics, pretty: true) + "\n", to: c.paths.metrics)
        ctx.logger.info("RMSE train \(f4(rmse["train"]?.doubleValue ?? .nan))  test \(f4(rmse["test"]?.doubleValue ?? .nan)); top-\(k) for \(m.ids.userCount) users in \(String(format: "%.2f", scoringSeconds)) s")
        return ["users": .int(m.ids.userCount), "k": .int(k), "scoringSeconds": .double(scoringSeconds)]
    }

    /// RMSE and MAE with predictions clipped to the scale.
    func errors(_ p: [Float], _ t: [Float], _ scale: ClosedRange<Float>) -> (Double, Double) {
        var se = 0.0, ae = 0.0
        for (x, y) in zip(p, t) {
            let e = Double(min(max(x, scale.lowerBound), scale.upperBound) - y)
            se += e * e
            ae += abs(e)
        }
        let n = Double(max(t.count, 1))
        return ((se / n).squareRoot(), ae / n)
    }
}


/// `topk.art` + `catalogue.art` → `recommendations.csv` and `recommendations.jsonl`.
public struct ExportStage: Stage {
    public init() {}
    public var name: String { "export" }
    public var executable: String { "rec-export" }
    public func inputs(_ c: PipelineConfig) -> [String] { [c.paths.topK, c.paths.catalogue] }
    public func outputs(_ c: PipelineConfig) -> [String] { [c.paths.recommendationsCSV, c.paths.recommendationsJSONL] }
    public func settings(_ c: PipelineConfig) throws -> JSONValue { .object([:]) }

    public func run(_ ctx: StageContext) throws -> [String: JSONValue] {
        let c = ctx.config
        let (lists, _) = try TopKLists.read(c.paths.topK, parallel: ctx.parallel)
        let catalogue = try Catalogue.read(c.paths.catalogue, parallel: ctx.parallel)
        let (csv, jsonl) = try RecommendationExport.render(lists, catalogue: catalogue, parallel: ctx.parallel)
        try FileManager.default.createDirectory(atPath: c.paths.output, withIntermediateDirectories: true)
        try AtomicFile.write(csv, to: c.paths.recommendationsCSV)
        try AtomicFile.write(jsonl, to: c.paths.recommendationsJSONL)
        let rows = lists.items.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        return ["users": .int(lists.ids.userCount), "rows": .int(rows), "csvBytes": .int(csv.count), "jsonlBytes": .int(jsonl.count)]
    }
}
