import Foundation
import Logging
import RecCore
import RecStore
import RecData
import RecModels
import RecEval

/// Models + matrices → the lists and figures of both products of a run:
/// - evaluation: the evaluation models' lists, built from train + validation and measured on
///   the test slice (`eval-topk.art`), and the figures (`metrics.json`, `report.html`, staged
///   beside the artefacts until `rec-export` publishes them);
/// - serving: the served models' lists (`topk.art`): built from every rating, offering every
///   movie someone rated that the user did not, each with the served rating model's predicted
///   rating clipped to the scale. A user with fewer than k such movies gets fewer rows.
public struct ScoreStage: ShardableStage {
    /// Where the lists come from: computed here (the local run), one shard's users only
    /// (`rec-score --shard I/N`), or the parts the shards wrote (`rec-score --merge-shards N`).
    public var lists: ListSource
    public enum ListSource: Sendable, Equatable {
        case compute
        case shard(Shard)
        case parts(Int)
    }

    public init(lists: ListSource = .compute) { self.lists = lists }
    public func shard(_ shard: Shard) -> any Stage { ScoreStage(lists: .shard(shard)) }
    public func merge(_ count: Int) -> any Stage { ScoreStage(lists: .parts(count)) }
    public var name: String {
        if case .shard(let s) = lists { return s.manifestName("score") }
        return "score"
    }
    public var executable: String { "rec-score" }
    public func inputs(_ c: PipelineConfig) -> [String] {
        let ranking = c.rankingModel.hasOwnModel
        let serving = [c.paths.model] + (ranking ? [c.paths.rankingModel] : [])
        let evaluation = c.evaluation.enabled ? [c.paths.evalModel] + (ranking ? [c.paths.evalRankingModel] : []) : []
        let own = [c.paths.matrices, c.paths.catalogue] + evaluation + serving + c.catalogueRules.files(c)
        // An impossible shard count has no parts to list; running the stage reports it.
        guard case .parts(let n) = lists, let shards = try? Shard.all(n) else { return own }
        return own + shards.flatMap { s in listArtefacts(c).map { s.part($0) } }
    }
    public func outputs(_ c: PipelineConfig) -> [String] {
        if case .shard(let s) = lists { return listArtefacts(c).map { s.part($0) } }
        return listArtefacts(c) + [c.paths.explanations, c.paths.stagedMetrics, c.paths.stagedReport]
            + (c.evaluation.enabled ? [c.paths.evalPredictions] : [])
    }
    /// The list artefacts: evaluation (when on) and serving.
    func listArtefacts(_ c: PipelineConfig) -> [String] { (c.evaluation.enabled ? [c.paths.evalTopK] : []) + [c.paths.topK] }
    public func reads(_ c: PipelineConfig) -> [String] { ["score", "catalogueRules"] }

    public func run(_ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        let m = try Matrices.read(c.paths.matrices, parallel: ctx.parallel)
        if case .shard(let shard) = lists { return try runShard(shard, m, ctx) }
        let catalogue = try Catalogue.read(c.paths.catalogue, parallel: ctx.parallel)
        let memory = try MemoryChecks.check(c, step: .score, .init(m))
        ctx.logger.info("\(memory)")
        let settings = try Pipeline.fingerprint(self, c)

        let clock = ContinuousClock.now
        let (served, servedLists, explained) = try serve(m, catalogue: catalogue, ctx)
        try servedLists.write(to: c.paths.topK, meta: ["rankingModel": .string(c.rankingModel.type), "product": .string("serving")],
                              parallel: ctx.parallel)
        try explained.write(to: c.paths.explanations, meta: ["rankingModel": .string(c.rankingModel.type)], parallel: ctx.parallel)
        let scoringSeconds = clock.duration(to: .now).seconds

        let json: [UInt8], html: [UInt8], summary: String
        if c.evaluation.enabled {
            var (metrics, evalLists, evaluation) = try evaluate(m, ctx, settings: settings)
            metrics.served = served
            try evalLists.write(to: c.paths.evalTopK, meta: ["rankingModel": .string(c.rankingModel.type), "product": .string("evaluation")],
                                parallel: ctx.parallel)
            let quality = listQuality(evalLists, popular: evaluation.popularLists, scorer: evaluation.scorer, m, catalogue: catalogue, ctx)
            metrics.listQuality = quality
            json = [UInt8](try JSON.encode(metrics, pretty: true)) + [10]
            html = Array(Report.html(metrics: metrics, examples: examples(servedLists, m.all, m.ids, catalogue, because: explained.because)).utf8)
            summary = Report.summary(metrics) + Report.listQualitySummary(quality) + "\n"
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
        return StageResult(["users": .int(m.ids.userCount), "k": .int(c.score.k), "scoringSeconds": .double(scoringSeconds),
                            "servedRows": .int(served.rows)], summary: summary)
    }

    /// The serving product: lists from the served models over every rating, under the
    /// catalogue rules, with their reasons and the similar lists.
    func serve(_ m: Matrices, catalogue: Catalogue, _ ctx: StageContext) throws -> (Served, TopKLists, Explanations) {
        let c = ctx.config
        let (rating, job) = try servingJob(m, catalogue: { catalogue }, ctx)
        let lists = try ranked(job, m, ctx)
        let explained = explanations(job, lists, excluded: job.excluded, ctx)
        var choices: [String: JSONValue] = ["ratingModelEpochs": rating.artefact.meta("epochsRun") ?? .null]
        if let note = job.rulesNote { choices["catalogueRules"] = note }
        if case .ease = c.rankingModel, let lambda = try Artefact.readHeader(c.paths.rankingModel, expecting: .model).meta["lambda"] {
            choices["lambda"] = lambda // from the header: reading B again would double the stage's memory
        }
        if case .choice = c.rankingModel { choices["rankingModel"] = try servedRankingChoice(c.paths.rankingModel) }
        let rows = lists.items.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        return (Served(ratings: job.input.nonZeros, users: m.ids.userCount, items: m.ids.itemCount, rows: rows, choices: .object(choices)), lists,
                explained)
    }

    /// The served models and what their lists are built from (every rating: `job.input`,
    /// a union built once here).
    /// - Parameter catalogue: the catalogue, read only when there are catalogue rules.
    func servingJob(_ m: Matrices, catalogue: () throws -> Catalogue, _ ctx: StageContext) throws -> (LoadedRatingModel, ListJob) {
        let c = ctx.config
        let all = m.all
        let rating = try LoadedRatingModel.read(c.paths.model, parallel: ctx.parallel)
        try rating.check(matches: m, path: c.paths.model, itemBased: c.ratingModel.isItemBased)
        let scorer = try rankingScorer(c, rating: rating, path: c.paths.rankingModel, popularityFrom: all, m, ctx)
        // A rating set's members already answer unseen users and movies with its own fit's bias.
        let predictor = rating.set != nil ? rating.predictor : WithBiasFallback(base: rating.predictor, fallback: UserItemBias.fit(all))
        let rules = try ruleExclusions(m, catalogue: catalogue, ctx)
        return (rating, ListJob(output: c.paths.topK, scorer: scorer, input: all, predictor: predictor, progress: "scoring the served lists",
                                excluded: rules.items, rulesNote: rules.note))
    }

    /// The evaluation models, their rating baseline and what their lists are built from
    /// (every rating known before the test: `job.input`, a union built once here).
    func evaluationJob(_ m: Matrices, _ ctx: StageContext) throws -> (LoadedRatingModel, UserItemBias, ListJob) {
        let c = ctx.config
        let rating = try LoadedRatingModel.read(c.paths.evalModel, parallel: ctx.parallel)
        try rating.check(matches: m, path: c.paths.evalModel, itemBased: c.ratingModel.isItemBased)
        let bias = UserItemBias.fit(m.train)
        let predictor = rating.set != nil ? rating.predictor : WithBiasFallback(base: rating.predictor, fallback: bias)
        // Lists are built from, and exclude, every rating known before the test.
        let scorer = try rankingScorer(c, rating: rating, path: c.paths.evalRankingModel, popularityFrom: m.train, m, ctx)
        return (rating, bias, ListJob(output: c.paths.evalTopK, scorer: scorer, input: m.known, predictor: predictor,
                                      progress: "scoring the evaluation lists"))
    }

    /// One shard's share of the lists of both products, written as parts beside the
    /// artefacts (`topk.art.part-I-of-N`); `rec-score --merge-shards N` reads them.
    func runShard(_ shard: Shard, _ m: Matrices, _ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        let users = shard.users(of: m.ids.userCount)
        // The same plan as a whole run's, with this shard's share of the lists.
        let memory = try MemoryChecks.check(c, step: .score, .init(m), listUsers: users.count)
        ctx.logger.info("\(memory)")
        var jobs = [try servingJob(m, catalogue: { try Catalogue.read(c.paths.catalogue, parallel: ctx.parallel) }, ctx).1]
        if c.evaluation.enabled { jobs.append(try evaluationJob(m, ctx).2) }
        for job in jobs {
            let part = try rankedRows(job, users: users, m, ctx)
            try ListPart(shard: shard, users: users, k: c.score.k, items: part.items, scores: part.scores,
                         predictedRatings: part.predictedRatings).write(to: shard.part(job.output), parallel: ctx.parallel)
        }
        return StageResult(["users": .int(users.count), "firstUser": .int(users.lowerBound), "k": .int(c.score.k)])
    }

    /// The evaluation product: rating accuracy on every slice for the model and the rating
    /// baselines, and the evaluation lists measured on the test slice (read here and nowhere
    /// earlier).
    /// - Returns: the figures, the evaluation lists, and what `listQuality` measures beside them
    ///   (the evaluation's ranking scorer and the most-popular lists), so that nothing is read
    ///   or scored twice.
    func evaluate(_ m: Matrices, _ ctx: StageContext, settings: JSONValue) throws
        -> (Metrics, TopKLists, (scorer: any ItemScorer, popularLists: TopKLists)) {
        let c = ctx.config
        let scale = m.scale
        let (rating, bias, job) = try evaluationJob(m, ctx)
        let hasValidation = m.validation.nonZeros > 0
        let predictor = job.predictor
        // Inputs: train rows for the train and validation figures (validation must not see
        // itself), every rating known before the test (train + validation) for the test.
        let known = job.input
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
        try TestPredictions(test: m.test, predictions: model.test, ids: m.ids, scale: scale)
            .write(to: c.paths.evalPredictions, meta: ["ratingModel": .string(c.ratingModel.type)], parallel: ctx.parallel)
        let ratingChoice = try ratingCandidates(rating, m, known: known, chosen: (model.rmse, model.mae), ctx)
        let accuracy = try TopKAccuracy.measure(test: m.test, scores: model.test, parallel: ctx.parallel)
        var baselines: [String: ModelMetrics] = [:]
        for (name, baseline) in [("globalMean", GlobalMean.fit(m.train) as any RatingPredictor), ("userItemBias", bias)] {
            let b = try measure(baseline)
            baselines[name] = ModelMetrics(rmse: b.rmse, mae: b.mae)
        }

        let lists = try ranked(job, m, ctx)
        let unrated = known.emptyColumns()
        let itemsInTrain = m.ids.itemCount - unrated.count
        let ranking = try RankingMetrics.measure(lists: lists, test: m.test, trainItemCount: itemsInTrain, parallel: ctx.parallel)
        let rankingChoice = try rankingCandidates(job.scorer, path: c.paths.evalRankingModel, known: known, unrated: unrated, m, ctx)
        let popularLists = rankedLists(MostPopular.fit(known), input: known, excluding: unrated, k: c.score.k, ids: m.ids,
                                       parallel: ctx.parallel)
        baselines["mostPopular"] = ModelMetrics(ranking: try RankingMetrics.measure(
            lists: popularLists, test: m.test, trainItemCount: itemsInTrain, parallel: ctx.parallel))

        let history = try rating.artefact.meta("history").map {
            try JSONDecoder().decode([EpochRecord].self, from: JSON.encode($0))
        } ?? []
        var metrics = Metrics(
            rmse: model.rmse, mae: model.mae, topKAccuracy: accuracy.values, ranking: ranking, baselines: baselines, history: history,
            counts: .init(users: m.ids.userCount, items: m.ids.itemCount, train: m.train.nonZeros, validation: m.validation.nonZeros,
                          test: m.test.nonZeros),
            settings: settings)
        metrics.ratingCandidates = ratingChoice
        metrics.rankingCandidates = rankingChoice
        return (metrics, lists, (job.scorer, popularLists))
    }

    /// The scorer that orders the lists, from the ranking model at `path` (or the rating model).
    func rankingScorer(
        _ c: PipelineConfig, rating: LoadedRatingModel, path: String, popularityFrom: CSRMatrix, _ m: Matrices, _ ctx: StageContext
    ) throws -> any ItemScorer {
        switch c.rankingModel {
        case .ratingModel:
            guard let model = rating.autoencoder else { throw RecError(.config, "'rankingModel.type' rating-model needs a user autoencoder as rating model") }
            return AutoencoderScorer(model: model)
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
        case .choice:
            let (blend, _) = try ItemBlend.read(path, parallel: ctx.parallel)
            guard blend.itemCount == m.ids.itemCount else {
                throw RecError(.artefact, "was fitted on other data than \(c.paths.matrices)", file: path, hint: "rerun rec-train")
            }
            return blend
        }
    }

    /// What one product's lists are built from.
    struct ListJob {
        /// The artefact the lists go to (a shard writes its part beside it).
        public let output: String
        let scorer: any ItemScorer
        let input: CSRMatrix
        let predictor: any RatingPredictor
        let progress: String
        /// Items left out besides the ones nobody rated: the catalogue rules (serving only).
        var excluded: [Int] = []
        var rulesNote: JSONValue? = nil
    }

    /// Every user's list of `job`: computed, or, after sharded scoring, the shards' parts
    /// joined in shard order.
    func ranked(_ job: ListJob, _ m: Matrices, _ ctx: StageContext) throws -> TopKLists {
        let rows: (items: [Int32], scores: [Float], predictedRatings: [Float])
        if case .parts(let count) = lists {
            rows = try ListPart.join(job.output, count: count, users: m.ids.userCount, k: ctx.config.score.k, parallel: ctx.parallel)
        } else {
            rows = try rankedRows(job, users: 0..<m.ids.userCount, m, ctx)
        }
        return TopKLists(k: ctx.config.score.k, items: rows.items, scores: rows.scores, predictedRatings: rows.predictedRatings, ids: m.ids)
    }

    /// The top k of `job.scorer` of the users in `users`, over the movies someone rated in
    /// `job.input` that the user did not, with predicted ratings. Slots a user has no
    /// candidate for stay empty (item -1): a list never pads with movies nobody rated. Each
    /// user's list depends on that user only, so any split of the users into ranges gives
    /// the same rows.
    func rankedRows(
        _ job: ListJob, users: Range<Int>, _ m: Matrices, _ ctx: StageContext
    ) throws -> (items: [Int32], scores: [Float], predictedRatings: [Float]) {
        let c = ctx.config, k = c.score.k
        let scale = m.scale
        let cold = job.input.emptyColumns() + job.excluded
        // Memory: one score block per worker (TopK.lists), never users × movies.
        let input = users == 0..<m.ids.userCount ? job.input : job.input.rows(users)
        let report = ctx.progress, what = job.progress
        var (items, scores) = BLASThreads.single {
            TopK.lists(scorer: job.scorer, input: input, k: k, excluding: cold, parallel: ctx.parallel) { report(what, $0, $1) }
        }
        dropUnscored(&items, scores)
        let predicted = predictedRatings(job.predictor, m, input: job.input, users: users, items: items, k: k, scale: scale, parallel: ctx.parallel)
        return (items, scores.map { $0.isFinite ? $0 : 0 }, predicted)
    }

    /// The rating model's predicted rating for every listed item of the users in `users`
    /// (nil: every user), clipped to the scale, aligned with `items` (users.count × k).
    func predictedRatings(
        _ predictor: any RatingPredictor, _ m: Matrices, input: CSRMatrix, users: Range<Int>? = nil, items: [Int32], k: Int,
        scale: ClosedRange<Float>, parallel: Parallel
    ) -> [Float] {
        let users = users ?? 0..<m.ids.userCount
        // The lists as a sparse query matrix: each user's listed items, sorted, and the list
        // slot of each query; no queries for users outside the range.
        var start = [Int](repeating: 0, count: users.lowerBound + 1), columns: [Int32] = [], slots: [Int] = []
        for u in users {
            let o = u - users.lowerBound
            let listed = (o * k..<(o + 1) * k).filter { items[$0] >= 0 }.sorted { items[$0] < items[$1] }
            columns += listed.map { items[$0] }
            slots += listed
            start.append(columns.count)
        }
        start += [Int](repeating: columns.count, count: m.ids.userCount - users.upperBound)
        let queries = CSRMatrix(rows: m.ids.userCount, cols: m.ids.itemCount, rowStart: start, columns: columns,
                                values: [Float](repeating: 0, count: columns.count))
        let p = predictor.predict(train: input, queries: queries, parallel: parallel)
        var out = [Float](repeating: 0, count: items.count)
        for (t, slot) in slots.enumerated() { out[slot] = min(max(p[t], scale.lowerBound), scale.upperBound) }
        return out
    }

    /// The first few users: their favourite movies beside their (served) recommendations.
    func examples(_ lists: TopKLists, _ rated: CSRMatrix, _ ids: IdMaps, _ catalogue: Catalogue, because: [Int32]? = nil,
                  count: Int = 5) -> [ExampleUser] {
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
            var user = ExampleUser(userId: Int(ids.userIds[u]), favourites: Array(favourites), recommendations: recs)
            if let because {
                user.reasons = (0..<lists.k).filter { lists.items[u * lists.k + $0] >= 0 }
                    .map { r in because[u * lists.k + r] >= 0 ? title(Int(because[u * lists.k + r])) : nil }
            }
            return user
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
    public func inputs(_ c: PipelineConfig) -> [String] {
        [c.paths.topK, c.paths.catalogue, c.paths.stagedMetrics, c.paths.stagedReport, c.paths.explanations]
    }
    public func outputs(_ c: PipelineConfig) -> [String] {
        [c.paths.recommendationsCSV, c.paths.recommendationsJSONL, c.paths.metrics, c.paths.report, c.paths.similarCSV, c.paths.similarJSONL]
    }
    public func reads(_ c: PipelineConfig) -> [String] { ["qualityGate", "export"] }

    public func run(_ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        let (lists, _) = try TopKLists.read(c.paths.topK, parallel: ctx.parallel)
        let catalogue = try Catalogue.read(c.paths.catalogue, parallel: ctx.parallel)
        let explained = try Explanations.read(c.paths.explanations, matching: lists, parallel: ctx.parallel)
        let (csv, jsonl) = try RecommendationExport.render(lists, catalogue: catalogue, parallel: ctx.parallel, cells: c.export.csvCells,
                                                           because: explained.because)
        let similar = try SimilarExport.render(explained, catalogue: catalogue, parallel: ctx.parallel, cells: c.export.csvCells)
        var result = try ExportStage.publish(csv: csv, jsonl: jsonl, similar: similar, ctx)
        result.facts["users"] = .int(lists.ids.userCount)
        result.facts["rows"] = .int(lists.items.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) })
        return result
    }

    /// Publishes the rendered exports with the staged metrics and report, as one set, when
    /// the quality gate lets them through (also after a sharded export).
    static func publish(csv: [UInt8], jsonl: [UInt8], similar: (csv: [UInt8], jsonl: [UInt8]), _ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        for staged in [c.paths.stagedMetrics, c.paths.stagedReport] where !FileManager.default.fileExists(atPath: staged) {
            throw RecError(.artefact, "not found", file: staged, hint: "run rec-score first")
        }
        let metrics = try AtomicFile.read(c.paths.stagedMetrics), report = try AtomicFile.read(c.paths.stagedReport)
        // The published metrics.json is read only when a bound compares with it; a missing one
        // means no published run, an unreadable one stops the run (see `QualityGateCheck`).
        let comparesWithPublished = c.qualityGate.maxNDCGDrop != nil || c.qualityGate.maxRMSERise != nil
        let published = comparesWithPublished && FileManager.default.fileExists(atPath: c.paths.metrics)
            ? try PlainFile.read(c.paths.metrics, kind: .artefact) : nil
        let gate = try QualityGateCheck.check(c.qualityGate, staged: metrics, stagedPath: c.paths.stagedMetrics,
                                              published: published, publishedPath: c.paths.metrics)
        ctx.logger.info("quality gate: \(gate)")
        try FileManager.default.createDirectory(atPath: c.paths.output, withIntermediateDirectories: true)
        // A replaced export keeps its mode and group; a new one gets export.fileMode.
        try AtomicFile.writeAll([(c.paths.recommendationsCSV, csv), (c.paths.recommendationsJSONL, jsonl),
                                 (c.paths.metrics, metrics), (c.paths.report, report),
                                 (c.paths.similarCSV, similar.csv), (c.paths.similarJSONL, similar.jsonl)], newFileMode: c.export.fileMode)
        return StageResult(["csvBytes": .int(csv.count), "jsonlBytes": .int(jsonl.count), "qualityGate": .string(gate)])
    }
}

/// The quality gate: the lowest acceptable evaluation figures, absolute and against the last
/// published run's.
enum QualityGateCheck {
    /// A serving-only `metrics.json` (staged or published) has no figures: the gate is not
    /// applied to it, or has nothing to compare with. Any other file that is not metrics stops
    /// the run, so that a damaged file never turns the gate off.
    /// - Parameter published: the last published `metrics.json`, nil when there is none.
    /// - Returns: what was checked, for the log.
    /// - Throws: `RecError(.qualityGate)` naming every figure that failed and by how much;
    ///   `RecError(.artefact)` when the staged or published file is neither kind of metrics.
    public static func check(_ gate: PipelineConfig.QualityGate, staged: [UInt8], stagedPath: String,
                             published: [UInt8]?, publishedPath: String) throws -> String {
        guard let now = try figures(staged, path: stagedPath, hint: "run rec-score again") else {
            return "not applied (no evaluation figures: serving-only run)"
        }
        let previous = try published.flatMap {
            try figures($0, path: publishedPath,
                        hint: "move the damaged file away, or set qualityGate.maxNDCGDrop and qualityGate.maxRMSERise to null, to publish without comparing")
        }
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

    /// The figures of a `metrics.json`; nil for a serving-only run's.
    static func figures(_ bytes: [UInt8], path: String, hint: String) throws -> Metrics? {
        let data = Data(bytes)
        // Each `try?` below only chooses between the three readings; what none of them accepts
        // is the error.
        if let metrics = try? JSONDecoder().decode(Metrics.self, from: data) { return metrics }
        if (try? JSONDecoder().decode(ServingOnlyMetrics.self, from: data)) != nil { return nil }
        let what = (try? JSONDecoder().decode(JSONValue.self, from: data)) == nil ? "is not JSON" : "has neither evaluation figures nor a serving-only run's fields"
        throw RecError(.artefact, "\(what): the quality gate cannot read it", file: path, hint: hint)
    }
}
