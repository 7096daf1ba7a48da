import Foundation
import Logging
import RecCore
import RecStore
import RecData
import RecModels
import RecEval

/// `matrices.art` → the models of both products of a run:
/// - evaluation: `eval-model.art` (rating model) and, when the ranking model is a model of its
///   own, `eval-ranking-model.art`, fitted without the test split; the validation slice makes
///   their choices (λ from a grid, the best epoch);
/// - serving: `model.art` and `ranking-model.art`, refitted on every rating with what the
///   evaluation chose (the same λ, the chosen epoch count).
/// Logs training loss, train and validation RMSE and seconds per epoch.
public struct TrainStage: Stage {
    public init() {}
    public var name: String { "train" }
    public var executable: String { "rec-train" }
    public func inputs(_ c: PipelineConfig) -> [String] { [c.paths.matrices] }
    public func outputs(_ c: PipelineConfig) -> [String] {
        let ranking = c.rankingModel.hasOwnModel
        let serving = [c.paths.model] + (ranking ? [c.paths.rankingModel] : [])
        guard c.evaluation.enabled else { return serving }
        return [c.paths.evalModel] + (ranking ? [c.paths.evalRankingModel] : []) + serving
    }
    public func reads(_ c: PipelineConfig) -> [String] {
        // λ chosen by NDCG@k on validation depends on k.
        if case .ease(let e) = c.rankingModel, !e.lambdaGrid.isEmpty { return ["evaluation", "ratingModel", "rankingModel", "score"] }
        if case .choice(let s) = c.rankingModel, s.choosesOnValidation { return ["evaluation", "ratingModel", "rankingModel", "score"] }
        return ["evaluation", "ratingModel", "rankingModel"]
    }

    public func run(_ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        let m = try Matrices.read(c.paths.matrices, parallel: ctx.parallel)
        // Before any fit: a ranking fit that cannot fit in memory must stop the stage before the
        // rating model trains, not trap after it.
        let memory = try MemoryChecks.check(c, step: .train, .init(m))
        ctx.logger.info("\(memory)")
        let all = m.all
        var stats: [String: JSONValue] = ["servingRatings": .int(all.nonZeros)]

        // Evaluation fits: on train (validation makes the choices), never on the test.
        var choices = Choices(epochs: c.ratingModel.settings.epochs, rankingEpochs: nil, lambda: nil)
        // Rating models other than a pinned autoencoder are fitted as a rating set (RatingSet.swift).
        var ratingSet: RatingSetChoice?
        if c.evaluation.enabled {
            let rating = !c.ratingModel.isAutoencoder ? try fitEvaluationRatingSet(c, m, ctx, choice: &ratingSet)
                : try trainAutoencoder(c.ratingModel.settings, itemBased: c.ratingModel.isItemBased, role: "rating",
                                              train: m.train, validation: m.validation, scale: m.scale, ctx, to: c.paths.evalModel, epochsOverride: nil)
            choices.epochs = rating.epochs
            stats["evaluation"] = .object(["ratingModel": rating.stats])
            if let ranking = try fitRanking(c, m, input: m.train, validation: m.validation, ctx, to: c.paths.evalRankingModel, choices: nil) {
                choices.lambda = ranking.lambda
                choices.rankingEpochs = ranking.epochs
                stats["evaluation"] = .object(["ratingModel": rating.stats, "rankingModel": ranking.stats])
            }
        }

        // Serving fits: every rating, with the evaluation's choices.
        let rating = !c.ratingModel.isAutoencoder ? try fitServedRatingSet(c, m, choice: ratingSet, ctx)
            : try trainAutoencoder(c.ratingModel.settings, itemBased: c.ratingModel.isItemBased, role: "served rating",
                                          train: all, validation: nil, scale: m.scale, ctx, to: c.paths.model, epochsOverride: choices.epochs)
        var serving: [String: JSONValue] = ["ratingModel": rating.stats, "ratings": .int(all.nonZeros)]
        if let ranking = try fitRanking(c, m, input: all, validation: nil, ctx, to: c.paths.rankingModel, choices: choices) {
            serving["rankingModel"] = ranking.stats
        }
        stats["serving"] = .object(serving)
        return StageResult(stats)
    }

    /// What the evaluation chose, for the serving fits.
    struct Choices {
        var epochs: Int
        var rankingEpochs: Int?
        var lambda: Double?
    }

    /// The ranking model's own fit, if it has one: on `input`, with `validation` for its
    /// choices (evaluation), or with the evaluation's `choices` (serving).
    func fitRanking(
        _ c: PipelineConfig, _ m: Matrices, input: CSRMatrix, validation: CSRMatrix?, _ ctx: StageContext, to path: String, choices: Choices?
    ) throws -> (stats: JSONValue, lambda: Double?, epochs: Int?)? {
        switch c.rankingModel {
        case .ratingModel, .popularity:
            return nil
        case .userAutoencoder(let s):
            let role = choices == nil ? "ranking" : "served ranking"
            let r = try trainAutoencoder(s, itemBased: false, role: role, train: input, validation: validation, scale: m.scale, ctx, to: path,
                                         epochsOverride: choices.map { $0.rankingEpochs ?? s.epochs })
            return (r.stats, nil, r.epochs)
        case .ease(let s):
            let clock = ContinuousClock.now
            let (ease, meta) = try fitEASE(s, c, input: input, validation: validation, ids: m.ids, ratingMax: m.scale.upperBound, ctx,
                                           lambda: choices.map { $0.lambda ?? s.lambda })
            try ease.write(to: path, meta: meta, parallel: ctx.parallel)
            let stats: JSONValue = .object(["type": .string(RankingModelConfig.Kind.ease.rawValue), "lambda": .double(ease.lambda),
                                            "seconds": .double(clock.duration(to: .now).seconds)])
            return (stats, ease.lambda, nil)
        case .choice(let s):
            return (try fitChoice(s, c, m, input: input, validation: validation, ctx, to: path, serving: choices != nil), nil, nil)
        }
    }

    /// EASE for the lists. Evaluation (`lambda` nil): λ from the settings, or the one of
    /// `lambdaGrid` with the best NDCG@k on `validation` (fitted on `input`), then refitted on
    /// input + validation. Serving: `lambda` as chosen, on `input` (every rating).
    func fitEASE(
        _ s: EASESettings, _ c: PipelineConfig, input: CSRMatrix, validation: CSRMatrix?, ids: IdMaps, ratingMax: Float, _ ctx: StageContext,
        lambda chosen: Double?
    ) throws -> (EASE, [String: JSONValue]) {
        let weighting = s.weighting
        let solver = easeSolver(s)
        var lambda = chosen ?? s.lambda
        var meta: [String: JSONValue] = ["role": .string(chosen == nil ? "evaluation ranking" : "served ranking"), "settings": try .from(s)]
        if chosen == nil, !s.lambdaGrid.isEmpty, let validation, validation.nonZeros > 0 {
            let cold = input.emptyColumns()
            var results: [String: JSONValue] = [:]
            var best = (ndcg: -1.0, lambda: s.lambda)
            for candidate in s.lambdaGrid {
                let ease = try EASE.fit(input, lambda: candidate, weighting: weighting, ratingMax: ratingMax, solver: solver, parallel: ctx.parallel)
                let lists = BLASThreads.single { rankedLists(ease, input: input, excluding: cold, k: c.score.k, ids: ids, parallel: ctx.parallel) }
                let ndcg = try RankingMetrics.measure(lists: lists, test: validation, trainItemCount: ids.itemCount - cold.count,
                                                      parallel: ctx.parallel).ndcg
                ctx.logger.info("EASE λ \(candidate): validation NDCG@\(c.score.k) \(f4(ndcg))")
                results[String(candidate)] = .double(ndcg)
                if ndcg > best.ndcg { best = (ndcg, candidate) }
            }
            lambda = best.lambda
            meta["validationNDCG"] = .object(results)
            meta["chosenLambda"] = .double(lambda)
        }
        let fitOn = chosen == nil && (validation?.nonZeros ?? 0) > 0 ? input.union(validation!) : input
        meta["ratings"] = .int(fitOn.nonZeros)
        ctx.logger.info("fitting the \(chosen == nil ? "" : "served ")ranking model (EASE, λ \(lambda), \(s.weighting.rawValue) input, \(ids.itemCount) items, \(fitOn.nonZeros) ratings, solver \(s.solver.rawValue))")
        let ease = try EASE.fit(fitOn, lambda: lambda, weighting: weighting, ratingMax: ratingMax, solver: solver, parallel: ctx.parallel)
        if !ease.coversAll { ctx.logger.info("EASE covers the \(ease.covered.count) most-rated of \(ease.itemCount) movies") }
        return (ease, meta)
    }

    /// Trains one autoencoder (user- or item-based) and writes it.
    /// - Parameter epochsOverride: the serving fit's epoch count (what the evaluation chose);
    ///   nil for the evaluation fit, which runs the settings' epochs with early stopping.
    /// - Returns: stats for the log and manifest, and the epoch count to reuse: the best
    ///   validation epoch when there is a validation slice, else the epochs run.
    func trainAutoencoder(
        _ settings: AutoencoderSettings, itemBased: Bool, role: String, train rows: CSRMatrix, validation v: CSRMatrix?,
        scale: ClosedRange<Float>, _ ctx: StageContext, to path: String, epochsOverride: Int?
    ) throws -> (stats: JSONValue, epochs: Int) {
        let train = itemBased ? rows.transposed() : rows
        let validation = (v?.nonZeros ?? 0) == 0 ? nil : (itemBased ? v!.transposed() : v!)
        let s = epochsOverride.map { settings.running(epochs: $0) } ?? settings
        let model = Autoencoder(items: train.cols, hidden: settings.hidden, activation: settings.activation, seed: settings.seed)
        let type = (itemBased ? RatingModelConfig.Kind.itemAutoencoder : .userAutoencoder).rawValue
        ctx.logger.info("training the \(role) model (\(type), sizes \(model.layout.sizes.map(String.init).joined(separator: "→")), \(settings.optimizer.rawValue) lr \(settings.learningRate), batch \(settings.batchSize), \(s.epochs) epochs, \(rows.nonZeros) ratings, \(ctx.parallel.workers) workers)")
        let clock = ContinuousClock.now
        // The serving fit chooses nothing from its epochs' figures: its train RMSE pass after
        // every epoch would only be logged (at MovieLens-25M's shape it costs about a fifth of
        // an epoch). The steps' running loss is still logged.
        let history = try model.train(train, validation: validation, settings: s, measureTrainRMSE: epochsOverride == nil,
                                      scale: scale, parallel: ctx.parallel) { e in
            ctx.progress("training the \(role) model", e.epoch, s.epochs)
            var line = "epoch \(e.epoch)/\(s.epochs)  loss \(f4(e.loss))"
            if let t = e.trainRMSE { line += "  train RMSE \(f4(t))" }
            if let v = e.validationRMSE { line += "  validation RMSE \(f4(v))" }
            ctx.logger.info("\(line)  \(String(format: "%.2f", e.seconds ?? 0)) s")
        }
        let seconds = clock.duration(to: .now).seconds
        let best = history.enumerated().min { ($0.element.validationRMSE ?? 0) < ($1.element.validationRMSE ?? 0) }
        var meta: [String: JSONValue] = [
            "type": .string(type), "role": .string(role), "settings": try .from(settings),
            "history": try .from(history.map { var e = $0; e.seconds = nil; return e }), "epochsRun": .int(history.count),
            "ratings": .int(rows.nonZeros),
        ]
        var chosen = history.count
        if validation != nil, let best {
            chosen = best.element.epoch
            meta["chosenEpoch"] = .int(chosen)
        }
        try model.write(to: path, meta: meta, parallel: ctx.parallel)
        let stats: JSONValue = .object(["type": .string(type), "seconds": .double(seconds), "epochs": .int(history.count),
                                        "chosenEpoch": .int(chosen), "ratings": .int(rows.nonZeros)])
        return (stats, chosen)
    }
}

/// EASE's solver from its settings (`solver`, `maxItems`).
func easeSolver(_ s: EASESettings) -> EASE.Solver {
    switch s.solver {
    case .exact: .exact
    case .blocked: .blocked(maxItems: s.maxItems)
    case .auto: .auto(maxItems: s.maxItems)
    }
}

/// Four decimals, for logs.
func f4(_ x: Double) -> String { String(format: "%.4f", x) }

/// A rating model whose answers for users or movies with no train rating are replaced by the
/// user + movie bias baseline: the autoencoder knows nothing about them (their weights only
/// ever saw weight decay), the bias model at least knows the other side's bias.
struct WithBiasFallback: RatingPredictor {
    let base: any RatingPredictor
    let fallback: UserItemBias

    func predict(train: CSRMatrix, queries: CSRMatrix, parallel: Parallel) -> [Float] {
        var p = base.predict(train: train, queries: queries, parallel: parallel)
        var itemSeen = [Bool](repeating: false, count: train.cols)
        for i in train.columns { itemSeen[Int(i)] = true }
        for u in 0..<queries.rows {
            let userSeen = u < train.rows && !train.row(u).isEmpty
            for t in queries.row(u) where !userSeen || !itemSeen[Int(queries.columns[t])] {
                p[t] = fallback.predict(user: Int32(u), item: queries.columns[t])
            }
        }
        return p
    }
}

/// A rating model read back from `model.art`.
struct LoadedRatingModel {
    let predictor: any RatingPredictor
    /// nil for a rating set (which holds its members and the bias fallback of its fit).
    let autoencoder: Autoencoder?
    let artefact: Artefact
    var set: RatingSet? = nil

    static func read(_ path: String, parallel: Parallel) throws -> LoadedRatingModel {
        let a = try Artefact.read(path, expecting: .model)
        if RatingSet.isRatingSet(a) {
            let set = try RatingSet.read(a, parallel: parallel)
            return LoadedRatingModel(predictor: set.predictor, autoencoder: nil, artefact: a, set: set)
        }
        let model = try Autoencoder.read(a, parallel: parallel)
        let predictor: any RatingPredictor = isItemBased(a) ? ItemAutoencoderRatings(model) : UserAutoencoderRatings(model)
        return LoadedRatingModel(predictor: predictor, autoencoder: model, artefact: a)
    }

    /// Whether the artefact's `type` names the item-based model (any other is read as user-based).
    static func isItemBased(_ a: Artefact) -> Bool {
        a.meta("type")?.stringValue.flatMap(RatingModelConfig.Kind.init(rawValue:)) == .itemAutoencoder
    }

    /// Throws when the model was trained on other data than `m` (a stale artefact).
    func check(matches m: Matrices, path: String, itemBased: Bool) throws {
        if let set {
            guard set.fallback.userBias.count == m.ids.userCount, set.fallback.itemBias.count == m.ids.itemCount else {
                throw RecError(.artefact, "was fitted on other data than \(m.ids.userCount) users × \(m.ids.itemCount) movies", file: path, hint: "rerun rec-train")
            }
            return
        }
        guard let autoencoder, Self.isItemBased(artefact) == itemBased, autoencoder.layout.items == (itemBased ? m.ids.userCount : m.ids.itemCount) else {
            throw RecError(.artefact, "was trained on other data or settings than \(m.ids.userCount) users × \(m.ids.itemCount) movies", file: path,
                           hint: "rerun rec-train")
        }
    }
}

/// The user-based autoencoder as a ranker: its predicted rating of every item.
public struct AutoencoderScorer: ItemScorer {
    let model: Autoencoder
    public init(model: Autoencoder) { self.model = model }
    public var itemCount: Int { model.layout.items }
    public func scores(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        model.scores(rows: users, input: input, into: scores)
    }
}

/// Every user's top k of `scorer`, without `cold` items, as lists to measure (no predicted
/// ratings).
public func rankedLists(_ scorer: any ItemScorer, input: CSRMatrix, excluding cold: [Int], k: Int, ids: IdMaps, parallel: Parallel) -> TopKLists {
    measurableLists(TopK.lists(scorer: scorer, input: input, k: k, excluding: cold, parallel: parallel), k: k, ids: ids)
}

/// Lists as `TopK.lists` or `ItemBlend.lists` select them, ready to measure: the slots only an
/// excluded item could fill emptied (`dropUnscored`), no predicted ratings.
func measurableLists(_ list: (items: [Int32], scores: [Float]), k: Int, ids: IdMaps) -> TopKLists {
    var items = list.items
    dropUnscored(&items, list.scores)
    return TopKLists(k: k, items: items, scores: list.scores.map { $0.isFinite ? $0 : 0 },
                     predictedRatings: [Float](repeating: 0, count: items.count), ids: ids)
}

/// Empties the slots (item -1) that selection could fill only with an excluded item (score
/// -infinity): a list is shorter than k rather than padded with movies nobody rated.
func dropUnscored(_ items: inout [Int32], _ scores: [Float]) {
    for t in items.indices where scores[t] == -.infinity { items[t] = -1 }
}
