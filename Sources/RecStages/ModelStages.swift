import Foundation
import Logging
import RecEval
import RecKit
import RecModels

/// `matrices.art` → `model.art` (the rating model) and, when the ranking model is a model of
/// its own, `ranking-model.art`. Logs training loss, train and validation RMSE and seconds
/// per epoch. The test matrix is not read.
public struct TrainStage: Stage {
    public init() {}
    public var name: String { "train" }
    public var executable: String { "rec-train" }
    public func inputs(_ c: PipelineConfig) -> [String] { [c.paths.matrices] }
    public func outputs(_ c: PipelineConfig) -> [String] {
        [c.paths.model] + (["rating-model", "popularity"].contains(c.rankingModel.type) ? [] : [c.paths.rankingModel])
    }
    public func settings(_ c: PipelineConfig) throws -> JSONValue {
        var s: [String: JSONValue] = ["ratingModel": try .from(c.ratingModel), "rankingModel": try .from(c.rankingModel),
                                      "ratingScale": try .from(c.input.ratingScale)]
        // λ chosen by NDCG@k on validation depends on k.
        if c.rankingModel.type == "ease", !c.rankingModel.lambdaGrid.isEmpty { s["k"] = .int(c.score.k) }
        return .object(s)
    }

    public func run(_ ctx: StageContext) throws -> [String: JSONValue] {
        let c = ctx.config
        let m = try Matrices.read(c.paths.matrices, parallel: ctx.parallel)
        var stats: [String: JSONValue] = [:]
        let (ratingMeta, ratingSeconds) = try trainAutoencoder(c.ratingModel, role: "rating", m, ctx, to: c.paths.model)
        stats["ratingModel"] = .object(["type": .string(c.ratingModel.type), "seconds": .double(ratingSeconds),
                                        "epochs": ratingMeta["epochsRun"] ?? .null])
        switch c.rankingModel.type {
        case "rating-model", "popularity":
            break // nothing to fit
        case "user-autoencoder":
            let (meta, seconds) = try trainAutoencoder(c.rankingModel, role: "ranking", m, ctx, to: c.paths.rankingModel)
            stats["rankingModel"] = .object(["type": .string(c.rankingModel.type), "seconds": .double(seconds), "epochs": meta["epochsRun"] ?? .null])
        case "ease":
            let clock = ContinuousClock.now
            let (ease, meta) = try fitEASE(c, m, ctx)
            try ease.write(to: c.paths.rankingModel, meta: meta, parallel: ctx.parallel)
            stats["rankingModel"] = .object(["type": .string("ease"), "lambda": .double(ease.lambda),
                                             "seconds": .double(clock.duration(to: .now).seconds)])
        default:
            throw RecError(.config, "unknown ranking model '\(c.rankingModel.type)'")
        }
        return stats
    }

    /// EASE for the lists: λ from the settings, or the one of `lambdaGrid` with the best
    /// NDCG@k on the validation slice (fitted on train); the final fit is on train +
    /// validation. The test slice is not read.
    func fitEASE(_ c: PipelineConfig, _ m: Matrices, _ ctx: StageContext) throws -> (EASE, [String: JSONValue]) {
        let r = c.rankingModel
        let weighting = EASE.Weighting(rawValue: r.weighting) ?? .binary
        let ratingMax = Float(c.input.ratingScale[1])
        let solver = easeSolver(r)
        var lambda = r.lambda
        var meta: [String: JSONValue] = ["role": .string("ranking"), "settings": try .from(r)]
        if !r.lambdaGrid.isEmpty {
            let cold = m.train.emptyColumns()
            var results: [String: JSONValue] = [:]
            var best = (ndcg: -1.0, lambda: r.lambda)
            for candidate in r.lambdaGrid {
                let ease = try EASE.fit(m.train, lambda: candidate, weighting: weighting, ratingMax: ratingMax, solver: solver,
                                        parallel: ctx.parallel)
                BLASThreads.single()
                let lists = rankedLists(ease, input: m.train, excluding: cold, k: c.score.k, ids: m.ids, parallel: ctx.parallel)
                let ndcg = try RankingMetrics.measure(lists: lists, test: m.validation, trainItemCount: m.ids.itemCount - cold.count,
                                                      parallel: ctx.parallel).ndcg
                ctx.logger.info("EASE λ \(candidate): validation NDCG@\(c.score.k) \(f4(ndcg))")
                results[String(candidate)] = .double(ndcg)
                if ndcg > best.ndcg { best = (ndcg, candidate) }
            }
            lambda = best.lambda
            meta["validationNDCG"] = .object(results)
            meta["chosenLambda"] = .double(lambda)
        }
        let known = m.known
        ctx.logger.info("fitting the ranking model (EASE, λ \(lambda), \(r.weighting) input, \(m.ids.itemCount) items, \(known.nonZeros) train + validation ratings, solver \(r.solver))")
        let ease = try EASE.fit(known, lambda: lambda, weighting: weighting, ratingMax: ratingMax, solver: solver, parallel: ctx.parallel)
        ctx.logger.info("EASE covers \(ease.covered.count) of \(ease.itemCount) movies")
        return (ease, meta)
    }

    /// Trains one autoencoder (user- or item-based) and writes it; returns its header meta.
    func trainAutoencoder(
        _ settings: PipelineConfig.Model, role: String, _ m: Matrices, _ ctx: StageContext, to path: String
    ) throws -> ([String: JSONValue], Double) {
        let c = ctx.config
        let itemBased = settings.type == "item-autoencoder"
        let train = itemBased ? m.train.transposed() : m.train
        let validation = m.validation.nonZeros == 0 ? nil : (itemBased ? m.validation.transposed() : m.validation)
        let model = Autoencoder(items: train.cols, hidden: settings.hidden,
                                activation: Activation(rawValue: settings.activation) ?? .sigmoid, seed: settings.seed)
        let scale = Float(c.input.ratingScale[0])...Float(c.input.ratingScale[1])
        ctx.logger.info("training the \(role) model (\(settings.type), sizes \(model.layout.sizes.map(String.init).joined(separator: "→")), \(settings.optimizer) lr \(settings.learningRate), batch \(settings.batchSize), \(settings.epochs) epochs, \(ctx.parallel.workers) workers)")
        let clock = ContinuousClock.now
        let history = try model.train(train, validation: validation, settings: TrainSettings(settings), scale: scale,
                                      parallel: ctx.parallel) { e in
            ctx.progress("training the \(role) model", e.epoch, settings.epochs)
            var line = "epoch \(e.epoch)/\(settings.epochs)  loss \(f4(e.loss))  train RMSE \(f4(e.trainRMSE ?? .nan))"
            if let v = e.validationRMSE { line += "  validation RMSE \(f4(v))" }
            ctx.logger.info("\(line)  \(String(format: "%.2f", e.seconds ?? 0)) s")
        }
        let seconds = clock.duration(to: .now).seconds
        let best = history.enumerated().min { ($0.element.validationRMSE ?? 0) < ($1.element.validationRMSE ?? 0) }
        var meta: [String: JSONValue] = [
            "type": .string(settings.type), "role": .string(role), "settings": try .from(settings),
            "history": try .from(history.map { var e = $0; e.seconds = nil; return e }), "epochsRun": .int(history.count),
        ]
        if validation != nil, let best { meta["chosenEpoch"] = .int(best.element.epoch) }
        try model.write(to: path, meta: meta, parallel: ctx.parallel)
        return (meta, seconds)
    }
}

/// EASE's solver from the ranking model's settings (`solver`, `maxItems`).
func easeSolver(_ r: PipelineConfig.Model) -> EASE.Solver {
    switch r.solver {
    case "exact": .exact
    case "blocked": .blocked(maxItems: r.maxItems)
    default: .auto(maxItems: r.maxItems)
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
    let autoencoder: Autoencoder
    let artefact: Artefact

    static func read(_ path: String, parallel: Parallel) throws -> LoadedRatingModel {
        let a = try Artefact.read(path, expecting: .model)
        let model = try Autoencoder.read(a, parallel: parallel)
        let type = a.meta("type")?.stringValue ?? ""
        let predictor: any RatingPredictor = type == "item-autoencoder" ? ItemAutoencoderRatings(model) : UserAutoencoderRatings(model)
        return LoadedRatingModel(predictor: predictor, autoencoder: model, artefact: a)
    }
}

/// The user-based autoencoder as a ranker: its predicted rating of every item.
struct AutoencoderScorer: ItemScorer {
    let model: Autoencoder
    var itemCount: Int { model.layout.items }
    func scores(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        model.scores(rows: users, input: input, into: scores)
    }
}

/// Every user's top k of `scorer`, without `cold` items, as lists to measure (no predicted
/// ratings).
func rankedLists(_ scorer: any ItemScorer, input: CSRMatrix, excluding cold: [Int], k: Int, ids: IdMaps, parallel: Parallel) -> TopKLists {
    let (items, scores) = TopK.all(scorer: ExcludingColdItems(base: scorer, cold: cold), input: input, k: k, parallel: parallel)
    return TopKLists(k: k, items: items, scores: scores.map { $0.isFinite ? $0 : 0 },
                     predictedRatings: [Float](repeating: 0, count: items.count), ids: ids)
}

/// Leaves out the given items (those nobody rated in the ratings the lists are built from): no
/// model knows anything about them.
struct ExcludingColdItems: ItemScorer {
    let base: any ItemScorer
    let cold: [Int]
    var itemCount: Int { base.itemCount }
    func scores(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>) {
        base.scores(users: users, input: input, into: scores)
        for r in 0..<users.count {
            for i in cold { scores[r * itemCount + i] = -.infinity }
        }
    }
}
