import Foundation
import Logging
import RecKit
import RecEval
import RecModels

/// Model(s) + matrices → every user's top-k (`topk.art`) and `metrics.json`.
///
/// Candidates for a user: every movie with at least one train or validation rating that the
/// user did not rate in train or validation. Scores come from the ranking model; each list also carries the rating
/// model's predicted rating, clipped to the scale.
public struct ScoreStage: Stage {
    public init() {}
    public var name: String { "score" }
    public var executable: String { "rec-score" }
    public func inputs(_ c: PipelineConfig) -> [String] {
        [c.paths.matrices, c.paths.catalogue, c.paths.model] + (["rating-model", "popularity"].contains(c.rankingModel.type) ? [] : [c.paths.rankingModel])
    }
    public func outputs(_ c: PipelineConfig) -> [String] { [c.paths.topK, c.paths.stagedMetrics, c.paths.stagedReport] }
    public func settings(_ c: PipelineConfig) throws -> JSONValue {
        .object(["score": try .from(c.score), "ratingScale": try .from(c.input.ratingScale)])
    }

    public func run(_ ctx: StageContext) throws -> [String: JSONValue] {
        let c = ctx.config
        let k = c.score.k
        let m = try Matrices.read(c.paths.matrices, parallel: ctx.parallel)
        let catalogue = try Catalogue.read(c.paths.catalogue, parallel: ctx.parallel)
        let rating = try LoadedRatingModel.read(c.paths.model, parallel: ctx.parallel)
        let itemBased = rating.artefact.meta("type")?.stringValue == "item-autoencoder"
        guard rating.autoencoder.layout.items == (itemBased ? m.ids.userCount : m.ids.itemCount) else {
            throw RecError(.artefact, "was trained on other data than \(c.paths.matrices)", file: c.paths.model, hint: "rerun rec-train")
        }
        let scale = m.scale

        // Rating accuracy on every slice, for the model and the rating baselines; the test
        // slice is read here and nowhere earlier.
        let hasValidation = m.validation.nonZeros > 0
        let bias = UserItemBias.fit(m.train)
        let predictor = WithBiasFallback(base: rating.predictor, fallback: bias)
        // Inputs: train rows for the train and validation figures (validation must not see
        // itself), every rating known before the test (train + validation) for the test.
        let known = m.known
        func measure(_ model: any RatingPredictor) throws -> (test: [Float], rmse: SplitValues, mae: SplitValues) {
            func one(_ q: CSRMatrix, input: CSRMatrix) throws -> ([Float], RatingMetrics) {
                let p = model.predict(train: input, queries: q, parallel: ctx.parallel)
                return (p, try RatingMetrics.measure(predictions: p, truths: q.values, scale: scale))
            }
            let train = try one(m.train, input: m.train).1
            let validation = hasValidation ? try one(m.validation, input: m.train).1 : nil
            let (p, test) = try one(m.test, input: known)
            return (p, .rmse(train: train, validation: validation, test: test), .mae(train: train, validation: validation, test: test))
        }
        let model = try measure(predictor)
        let accuracy = try TopKAccuracy.measure(test: m.test, scores: model.test, parallel: ctx.parallel)
        var baselines: [String: ModelMetrics] = [:]
        for (name, baseline) in [("globalMean", GlobalMean.fit(m.train) as any RatingPredictor), ("userItemBias", bias)] {
            let b = try measure(baseline)
            baselines[name] = ModelMetrics(rmse: b.rmse, mae: b.mae)
        }

        // Top-k lists over every movie with a train rating that the user did not rate in train.
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
        case "ease":
            let (ease, _) = try EASE.read(c.paths.rankingModel, parallel: ctx.parallel)
            guard ease.itemCount == m.ids.itemCount else {
                throw RecError(.artefact, "was fitted on other data than \(c.paths.matrices)", file: c.paths.rankingModel, hint: "rerun rec-train")
            }
            scorer = ease
        case "popularity":
            scorer = MostPopular.fit(m.train)
        default:
            throw RecError(.config, "unknown ranking model '\(c.rankingModel.type)'")
        }
        // Lists are built from, and exclude, every rating known before the test (train +
        // validation); movies nobody rated there are left out.
        let cold = known.emptyColumns()
        let itemsInTrain = m.ids.itemCount - cold.count
        let clock = ContinuousClock.now
        // In ten blocks of users, for the progress bar; each user's list depends on that user only.
        var items: [Int32] = [], scores: [Float] = []
        let blocks = Parallel.chunks(count: m.ids.userCount, chunkSize: max(1, (m.ids.userCount + 9) / 10))
        for (b, users) in blocks.enumerated() {
            let part = TopK.all(scorer: ExcludingColdItems(base: scorer, cold: cold), input: known.rows(users), k: k, parallel: ctx.parallel)
            items += part.items
            scores += part.scores
            ctx.progress("scoring", b + 1, blocks.count)
        }
        let scoringSeconds = clock.duration(to: .now).seconds
        let predicted = predictedRatings(predictor, m, input: known, items: items, k: k, scale: scale, parallel: ctx.parallel)
        let lists = TopKLists(k: k, items: items, scores: scores.map { $0.isFinite ? $0 : 0 }, predictedRatings: predicted, ids: m.ids)
        let ranking = try RankingMetrics.measure(lists: lists, test: m.test, trainItemCount: itemsInTrain, parallel: ctx.parallel)

        // The most-popular baseline's lists, measured the same way.
        let popularLists = rankedLists(MostPopular.fit(known), input: known, excluding: cold, k: k, ids: m.ids, parallel: ctx.parallel)
        baselines["mostPopular"] = ModelMetrics(ranking: try RankingMetrics.measure(
            lists: popularLists, test: m.test, trainItemCount: itemsInTrain, parallel: ctx.parallel))

        let history = try rating.artefact.meta("history").map {
            try JSONDecoder().decode([EpochRecord].self, from: JSON.encode($0))
        } ?? []
        let metrics = Metrics(
            rmse: model.rmse, mae: model.mae, topKAccuracy: accuracy.values, ranking: ranking, baselines: baselines, history: history,
            counts: .init(users: m.ids.userCount, items: m.ids.itemCount, train: m.train.nonZeros, validation: m.validation.nonZeros,
                          test: m.test.nonZeros),
            settings: try JSONValue.from(c))

        try lists.write(to: c.paths.topK, meta: ["rankingModel": .string(c.rankingModel.type)], parallel: ctx.parallel)
        let json = [UInt8](try JSON.encode(metrics, pretty: true)) + [10]
        let html = Array(Report.html(metrics: metrics, examples: examples(lists, m, catalogue)).utf8)
        try AtomicFile.write(json, to: c.paths.stagedMetrics)
        try AtomicFile.write(html, to: c.paths.stagedReport)
        if ctx.standalone {
            // Run by hand: the person wants to see the metrics now. In a pipeline run,
            // rec-export publishes them together with the recommendations.
            try FileManager.default.createDirectory(atPath: c.paths.output, withIntermediateDirectories: true)
            try AtomicFile.writeAll([(c.paths.metrics, json), (c.paths.report, html)])
        }
        return ["users": .int(m.ids.userCount), "k": .int(k), "scoringSeconds": .double(scoringSeconds),
                "summary": .string(Report.summary(metrics))]
    }

    /// The rating model's predicted rating for every listed item, clipped to the scale,
    /// aligned with `items` (users × k).
    func predictedRatings(
        _ predictor: any RatingPredictor, _ m: Matrices, input: CSRMatrix, items: [Int32], k: Int, scale: ClosedRange<Float>, parallel: Parallel
    ) -> [Float] {
        // The lists as a sparse query matrix: each user's listed items, sorted.
        var start = [0], columns: [Int32] = []
        for u in 0..<m.ids.userCount {
            columns += items[(u * k)..<((u + 1) * k)].filter { $0 >= 0 }.sorted()
            start.append(columns.count)
        }
        let queries = CSRMatrix(rows: m.ids.userCount, cols: m.ids.itemCount, rowStart: start, columns: columns,
                                values: [Float](repeating: 0, count: columns.count))
        let p = predictor.predict(train: input, queries: queries, parallel: parallel)
        var out = [Float](repeating: 0, count: items.count)
        for u in 0..<m.ids.userCount {
            for t in queries.row(u) {
                guard let r = (0..<k).first(where: { items[u * k + $0] == columns[t] }) else { continue }
                out[u * k + r] = min(max(p[t], scale.lowerBound), scale.upperBound)
            }
        }
        return out
    }

    /// The first few users: their favourite train movies beside their recommendations.
    func examples(_ lists: TopKLists, _ m: Matrices, _ catalogue: Catalogue, count: Int = 5) -> [ExampleUser] {
        func title(_ item: Int) -> String {
            catalogue.index(of: m.ids.itemIds[item]).map { catalogue.titles[$0] } ?? "movie \(m.ids.itemIds[item])"
        }
        return (0..<min(count, m.ids.userCount)).map { u in
            let favourites = m.train.row(u).sorted { m.train.values[$0] != m.train.values[$1] ? m.train.values[$0] > m.train.values[$1] : $0 < $1 }
                .prefix(lists.k).map { (title: title(Int(m.train.columns[$0])), rating: m.train.values[$0]) }
            let recs = (0..<lists.k).compactMap { r -> (title: String, score: Float, predictedRating: Float)? in
                let t = u * lists.k + r
                guard lists.items[t] >= 0 else { return nil }
                return (title(Int(lists.items[t])), lists.scores[t], lists.predictedRatings[t])
            }
            return ExampleUser(userId: Int(m.ids.userIds[u]), favourites: Array(favourites), recommendations: recs)
        }
    }

}

/// `topk.art` + `catalogue.art` → `recommendations.csv` and `recommendations.jsonl`, published
/// into the output folder together with `rec-score`'s metrics and report, as one step at the
/// end of the run: the exports are only ever replaced by a complete new set.
public struct ExportStage: Stage {
    public init() {}
    public var name: String { "export" }
    public var executable: String { "rec-export" }
    public func inputs(_ c: PipelineConfig) -> [String] { [c.paths.topK, c.paths.catalogue, c.paths.stagedMetrics, c.paths.stagedReport] }
    public func outputs(_ c: PipelineConfig) -> [String] {
        [c.paths.recommendationsCSV, c.paths.recommendationsJSONL, c.paths.metrics, c.paths.report]
    }
    public func settings(_ c: PipelineConfig) throws -> JSONValue { .object([:]) }

    public func run(_ ctx: StageContext) throws -> [String: JSONValue] {
        let c = ctx.config
        let (lists, _) = try TopKLists.read(c.paths.topK, parallel: ctx.parallel)
        let catalogue = try Catalogue.read(c.paths.catalogue, parallel: ctx.parallel)
        let (csv, jsonl) = try RecommendationExport.render(lists, catalogue: catalogue, parallel: ctx.parallel)
        for staged in [c.paths.stagedMetrics, c.paths.stagedReport] where !FileManager.default.fileExists(atPath: staged) {
            throw RecError(.artefact, "not found", file: staged, hint: "run rec-score first")
        }
        let metrics = try AtomicFile.read(c.paths.stagedMetrics), report = try AtomicFile.read(c.paths.stagedReport)
        try FileManager.default.createDirectory(atPath: c.paths.output, withIntermediateDirectories: true)
        try AtomicFile.writeAll([(c.paths.recommendationsCSV, csv), (c.paths.recommendationsJSONL, jsonl),
                                 (c.paths.metrics, metrics), (c.paths.report, report)])
        let rows = lists.items.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        return ["users": .int(lists.ids.userCount), "rows": .int(rows), "csvBytes": .int(csv.count), "jsonlBytes": .int(jsonl.count)]
    }
}
