import Foundation
import Logging
import RecKit
import RecEval
import RecModels

/// Models + matrices → the lists and figures of both products of a run:
/// - evaluation: the evaluation models' lists, built from train + validation and measured on
///   the test slice (`eval-topk.art`), and the figures (`metrics.json`, `report.html`, staged
///   beside the artefacts until `rec-export` publishes them);
/// - serving: the served models' lists (`topk.art`): built from every rating, offering every
///   movie someone rated that the user did not, each with the served rating model's predicted
///   rating clipped to the scale. A user with fewer than k such movies gets fewer rows.
public struct ScoreStage: Stage {
    public init() {}
    public var name: String { "score" }
    public var executable: String { "rec-score" }
    public func inputs(_ c: PipelineConfig) -> [String] {
        let ranking = c.rankingModel.hasOwnModel
        let serving = [c.paths.model] + (ranking ? [c.paths.rankingModel] : [])
        let evaluation = c.evaluation.enabled ? [c.paths.evalModel] + (ranking ? [c.paths.evalRankingModel] : []) : []
        return [c.paths.matrices, c.paths.catalogue] + evaluation + serving
    }
    public func outputs(_ c: PipelineConfig) -> [String] {
        (c.evaluation.enabled ? [c.paths.evalTopK] : []) + [c.paths.topK, c.paths.stagedMetrics, c.paths.stagedReport]
    }
    public func reads(_ c: PipelineConfig) -> [String] { ["score"] }

    public func run(_ ctx: StageContext) throws -> [String: JSONValue] {
        let c = ctx.config
        let m = try Matrices.read(c.paths.matrices, parallel: ctx.parallel)
        let catalogue = try Catalogue.read(c.paths.catalogue, parallel: ctx.parallel)
        try checkListMemory(users: m.ids.userCount, k: c.score.k)
        try MemoryChecks.check(c, step: "rec-score", .init(m))
        let settings = try Pipeline.fingerprint(self, c)

        let clock = ContinuousClock.now
        let (served, servedLists) = try serve(m, ctx)
        try servedLists.write(to: c.paths.topK, meta: ["rankingModel": .string(c.rankingModel.type), "product": .string("serving")],
                              parallel: ctx.parallel)
        let scoringSeconds = clock.duration(to: .now).seconds

        let json: [UInt8], html: [UInt8], summary: String
        if c.evaluation.enabled {
            var (metrics, evalLists) = try evaluate(m, ctx, settings: settings)
            metrics.served = served
            try evalLists.write(to: c.paths.evalTopK, meta: ["rankingModel": .string(c.rankingModel.type), "product": .string("evaluation")],
                                parallel: ctx.parallel)
            json = [UInt8](try JSON.encode(metrics, pretty: true)) + [10]
            html = Array(Report.html(metrics: metrics, examples: examples(servedLists, m.all, m.ids, catalogue)).utf8)
            summary = Report.summary(metrics)
        } else {
            let metrics = ServingOnlyMetrics(served: served, settings: settings)
            json = [UInt8](try JSON.encode(metrics, pretty: true)) + [10]
            html = Array(Report.html(servingOnly: metrics).utf8)
            summary = Report.served(served) + " (evaluation skipped)\n"
        }
        try AtomicFile.write(json, to: c.paths.stagedMetrics)
        try AtomicFile.write(html, to: c.paths.stagedReport)
        // Published only by rec-export, with the lists they belong to: the four exports are
        // always one set. Run by hand, rec-score prints the figures on stdout.
        return ["users": .int(m.ids.userCount), "k": .int(c.score.k), "scoringSeconds": .double(scoringSeconds),
                "servedRows": .int(served.rows), "summary": .string(summary)]
    }

    /// users × k entries of an item, a score and a predicted rating must fit in memory.
    func checkListMemory(users: Int, k: Int) throws {
        let (bytes, overflow) = users.multipliedReportingOverflow(by: k * 12 * 3)
        let limit = ProcessInfo.processInfo.physicalMemory / 2
        guard !overflow, UInt64(bytes) <= limit else {
            throw RecError(.config, "'score.k' \(k) for \(users) users needs about \(overflow ? "more than 9 EB" : "\(bytes >> 20) MiB") for the lists, more than half of this machine's \(limit >> 29) GiB",
                           hint: "lower score.k")
        }
    }

    /// The serving product: lists from the served models over every rating.
    func serve(_ m: Matrices, _ ctx: StageContext) throws -> (Served, TopKLists) {
        let c = ctx.config
        let all = m.all
        let scale = Float(c.input.ratingScale[0])...Float(c.input.ratingScale[1])
        let rating = try LoadedRatingModel.read(c.paths.model, parallel: ctx.parallel)
        try rating.check(matches: m, path: c.paths.model, itemBased: c.ratingModel.type == "item-autoencoder")
        let scorer = try rankingScorer(c, rating: rating, path: c.paths.rankingModel, popularityFrom: all, m, ctx)
        let predictor = WithBiasFallback(base: rating.predictor, fallback: UserItemBias.fit(all))
        let lists = try ranked(scorer, input: all, predictor: predictor, m, scale: scale, ctx, progress: "scoring the served lists")
        var choices: [String: JSONValue] = ["ratingModelEpochs": rating.artefact.meta("epochsRun") ?? .null]
        if case .ease = c.rankingModel, let lambda = try? Artefact.readHeader(c.paths.rankingModel, expecting: .model).meta["lambda"] {
            choices["lambda"] = lambda // from the header: reading B again would double the stage's memory
        }
        let rows = lists.items.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        return (Served(ratings: all.nonZeros, users: m.ids.userCount, items: m.ids.itemCount, rows: rows, choices: .object(choices)), lists)
    }

    /// The evaluation product: rating accuracy on every slice for the model and the rating
    /// baselines, and the evaluation lists measured on the test slice (read here and nowhere
    /// earlier).
    func evaluate(_ m: Matrices, _ ctx: StageContext, settings: JSONValue) throws -> (Metrics, TopKLists) {
        let c = ctx.config
        let scale = Float(c.input.ratingScale[0])...Float(c.input.ratingScale[1])
        let rating = try LoadedRatingModel.read(c.paths.evalModel, parallel: ctx.parallel)
        try rating.check(matches: m, path: c.paths.evalModel, itemBased: c.ratingModel.type == "item-autoencoder")
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

        // Lists are built from, and exclude, every rating known before the test.
        let scorer = try rankingScorer(c, rating: rating, path: c.paths.evalRankingModel, popularityFrom: m.train, m, ctx)
        let lists = try ranked(scorer, input: known, predictor: predictor, m, scale: scale, ctx, progress: "scoring the evaluation lists")
        let itemsInTrain = m.ids.itemCount - known.emptyColumns().count
        let ranking = try RankingMetrics.measure(lists: lists, test: m.test, trainItemCount: itemsInTrain, parallel: ctx.parallel)
        let popularLists = rankedLists(MostPopular.fit(known), input: known, excluding: known.emptyColumns(), k: c.score.k, ids: m.ids,
                                       parallel: ctx.parallel)
        baselines["mostPopular"] = ModelMetrics(ranking: try RankingMetrics.measure(
            lists: popularLists, test: m.test, trainItemCount: itemsInTrain, parallel: ctx.parallel))

        let history = try rating.artefact.meta("history").map {
            try JSONDecoder().decode([EpochRecord].self, from: JSON.encode($0))
        } ?? []
        let metrics = Metrics(
            rmse: model.rmse, mae: model.mae, topKAccuracy: accuracy.values, ranking: ranking, baselines: baselines, history: history,
            counts: .init(users: m.ids.userCount, items: m.ids.itemCount, train: m.train.nonZeros, validation: m.validation.nonZeros,
                          test: m.test.nonZeros),
            settings: settings)
        return (metrics, lists)
    }

    /// The scorer that orders the lists, from the ranking model at `path` (or the rating model).
    func rankingScorer(
        _ c: PipelineConfig, rating: LoadedRatingModel, path: String, popularityFrom: CSRMatrix, _ m: Matrices, _ ctx: StageContext
    ) throws -> any ItemScorer {
        switch c.rankingModel {
        case .ratingModel:
            return AutoencoderScorer(model: rating.autoencoder)
        case .userAutoencoder:
            let a = try Artefact.read(path, expecting: .model)
            let model = try Autoencoder.read(a, parallel: ctx.parallel)
            guard model.layout.items == m.ids.itemCount else {
                throw RecError(.artefact, "was trained on other data than \(c.paths.matrices)", file: path, hint: "rerun rec-train")
            }
            return AutoencoderScorer(model: model)
        case .ease:
            let (ease, _) = try EASE.read(path, parallel: ctx.parallel)
            guard ease.itemCount == m.ids.itemCount else {
                throw RecError(.artefact, "was fitted on other data than \(c.paths.matrices)", file: path, hint: "rerun rec-train")
            }
            return ease
        case .popularity:
            return MostPopular.fit(popularityFrom)
        }
    }

    /// Every user's top k of `scorer` over the movies someone rated in `input` that the user
    /// did not, with predicted ratings. Slots a user has no candidate for stay empty (item -1):
    /// a list never pads with movies nobody rated.
    func ranked(
        _ scorer: any ItemScorer, input: CSRMatrix, predictor: any RatingPredictor, _ m: Matrices, scale: ClosedRange<Float>,
        _ ctx: StageContext, progress: String
    ) throws -> TopKLists {
        let k = ctx.config.score.k
        let cold = input.emptyColumns()
        // Memory: one score block per worker (TopK.lists), never users × movies.
        let report = ctx.progress
        var (items, scores) = BLASThreads.single {
            TopK.lists(scorer: scorer, input: input, k: k, excluding: cold, parallel: ctx.parallel) { report(progress, $0, $1) }
        }
        dropUnscored(&items, scores)
        let predicted = predictedRatings(predictor, m, input: input, items: items, k: k, scale: scale, parallel: ctx.parallel)
        return TopKLists(k: k, items: items, scores: scores.map { $0.isFinite ? $0 : 0 }, predictedRatings: predicted, ids: m.ids)
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

    /// The first few users: their favourite movies beside their (served) recommendations.
    func examples(_ lists: TopKLists, _ rated: CSRMatrix, _ ids: IdMaps, _ catalogue: Catalogue, count: Int = 5) -> [ExampleUser] {
        func title(_ item: Int) -> String {
            catalogue.index(of: ids.itemIds[item]).map { catalogue.titles[$0] } ?? "movie \(ids.itemIds[item])"
        }
        return (0..<min(count, ids.userCount)).map { u in
            let favourites = rated.row(u).sorted { rated.values[$0] != rated.values[$1] ? rated.values[$0] > rated.values[$1] : $0 < $1 }
                .prefix(lists.k).map { (title: title(Int(rated.columns[$0])), rating: rated.values[$0]) }
            let recs = (0..<lists.k).compactMap { r -> (title: String, score: Float, predictedRating: Float)? in
                let t = u * lists.k + r
                guard lists.items[t] >= 0 else { return nil }
                return (title(Int(lists.items[t])), lists.scores[t], lists.predictedRatings[t])
            }
            return ExampleUser(userId: Int(ids.userIds[u]), favourites: Array(favourites), recommendations: recs)
        }
    }

}

/// `topk.art` + `catalogue.art` → `recommendations.csv` and `recommendations.jsonl`, published
/// into the output folder together with `rec-score`'s metrics and report, as one step at the
/// end of the run: the exports are only ever replaced by a complete new set, and only when
/// the run's evaluation passes the quality gate.
public struct ExportStage: Stage {
    public init() {}
    public var name: String { "export" }
    public var executable: String { "rec-export" }
    public func inputs(_ c: PipelineConfig) -> [String] { [c.paths.topK, c.paths.catalogue, c.paths.stagedMetrics, c.paths.stagedReport] }
    public func outputs(_ c: PipelineConfig) -> [String] {
        [c.paths.recommendationsCSV, c.paths.recommendationsJSONL, c.paths.metrics, c.paths.report]
    }
    public func reads(_ c: PipelineConfig) -> [String] { ["qualityGate"] }

    public func run(_ ctx: StageContext) throws -> [String: JSONValue] {
        let c = ctx.config
        let (lists, _) = try TopKLists.read(c.paths.topK, parallel: ctx.parallel)
        let catalogue = try Catalogue.read(c.paths.catalogue, parallel: ctx.parallel)
        let (csv, jsonl) = try RecommendationExport.render(lists, catalogue: catalogue, parallel: ctx.parallel)
        for staged in [c.paths.stagedMetrics, c.paths.stagedReport] where !FileManager.default.fileExists(atPath: staged) {
            throw RecError(.artefact, "not found", file: staged, hint: "run rec-score first")
        }
        let metrics = try AtomicFile.read(c.paths.stagedMetrics), report = try AtomicFile.read(c.paths.stagedReport)
        let gate = try QualityGateCheck.check(c.qualityGate, staged: metrics, stagedPath: c.paths.stagedMetrics,
                                              published: FileManager.default.contents(atPath: c.paths.metrics).map { [UInt8]($0) })
        ctx.logger.info("quality gate: \(gate)")
        try FileManager.default.createDirectory(atPath: c.paths.output, withIntermediateDirectories: true)
        try AtomicFile.writeAll([(c.paths.recommendationsCSV, csv), (c.paths.recommendationsJSONL, jsonl),
                                 (c.paths.metrics, metrics), (c.paths.report, report)])
        let rows = lists.items.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        return ["users": .int(lists.ids.userCount), "rows": .int(rows), "csvBytes": .int(csv.count), "jsonlBytes": .int(jsonl.count),
                "qualityGate": .string(gate)]
    }
}

/// The quality gate: the lowest acceptable evaluation figures, absolute and against the last
/// published run's.
public enum QualityGateCheck {
    /// - Returns: what was checked, for the log.
    /// - Throws: `RecError(.qualityGate)` naming every figure that failed and by how much.
    public static func check(_ gate: PipelineConfig.QualityGate, staged: [UInt8], stagedPath: String, published: [UInt8]?) throws -> String {
        guard let now = try? JSONDecoder().decode(Metrics.self, from: Data(staged)) else {
            return "not applied (no evaluation figures: serving-only run)"
        }
        let previous = published.flatMap { try? JSONDecoder().decode(Metrics.self, from: Data($0)) }
        var failures: [String] = [], checked: [String] = []
        let ndcg = now.ranking.ndcg, rmse = now.rmse.test, k = now.ranking.k
        if let floor = gate.minNDCG {
            checked.append("NDCG@\(k) ≥ \(floor)")
            if ndcg < floor { failures.append("NDCG@\(k) \(f4(ndcg)) is below qualityGate.minNDCG \(floor) by \(f4(floor - ndcg))") }
        }
        if let ceiling = gate.maxRMSE {
            checked.append("test RMSE ≤ \(ceiling)")
            if rmse > ceiling { failures.append("test RMSE \(f4(rmse)) is above qualityGate.maxRMSE \(ceiling) by \(f4(rmse - ceiling))") }
        }
        if let previous {
            if let drop = gate.maxNDCGDrop {
                if previous.ranking.k == k, previous.ranking.ndcg > 0 {
                    let fall = (previous.ranking.ndcg - ndcg) / previous.ranking.ndcg
                    checked.append("NDCG@\(k) within \(f4(drop * 100)) % of the published \(f4(previous.ranking.ndcg))")
                    if fall > drop {
                        failures.append("NDCG@\(k) \(f4(ndcg)) is \(String(format: "%.1f", fall * 100)) % below the published run's \(f4(previous.ranking.ndcg)); qualityGate.maxNDCGDrop allows \(String(format: "%.1f", drop * 100)) %")
                    }
                } else {
                    checked.append("NDCG drop not checked (the published run has another k)")
                }
            }
            if let rise = gate.maxRMSERise, previous.rmse.test > 0 {
                let up = (rmse - previous.rmse.test) / previous.rmse.test
                checked.append("test RMSE within \(f4(rise * 100)) % of the published \(f4(previous.rmse.test))")
                if up > rise {
                    failures.append("test RMSE \(f4(rmse)) is \(String(format: "%.1f", up * 100)) % above the published run's \(f4(previous.rmse.test)); qualityGate.maxRMSERise allows \(String(format: "%.1f", rise * 100)) %")
                }
            }
        } else if gate.maxNDCGDrop != nil || gate.maxRMSERise != nil {
            checked.append("no published run to compare with")
        }
        guard failures.isEmpty else {
            throw RecError(.qualityGate, "the run's evaluation fails the quality gate: " + failures.joined(separator: "; "), file: stagedPath,
                           hint: "the previous exports were kept; fix the cause, or change qualityGate in the settings to accept these figures")
        }
        return checked.isEmpty ? "off" : "passed (" + checked.joined(separator: ", ") + ")"
    }
}
