import Foundation
import Logging
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
        [c.paths.model] + (c.rankingModel.type == "rating-model" ? [] : [c.paths.rankingModel])
    }
    public func settings(_ c: PipelineConfig) throws -> JSONValue {
        .object(["ratingModel": try .from(c.ratingModel), "rankingModel": try .from(c.rankingModel),
                 "ratingScale": try .from(c.input.ratingScale)])
    }

    public func run(_ ctx: StageContext) throws -> [String: JSONValue] {
        let c = ctx.config
        let m = try Matrices.read(c.paths.matrices, parallel: ctx.parallel)
        var stats: [String: JSONValue] = [:]
        let (ratingMeta, ratingSeconds) = try trainAutoencoder(c.ratingModel, role: "rating", m, ctx, to: c.paths.model)
        stats["ratingModel"] = .object(["type": .string(c.ratingModel.type), "seconds": .double(ratingSeconds),
                                        "epochs": ratingMeta["epochsRun"] ?? .null])
        switch c.rankingModel.type {
        case "rating-model":
            break
        case "user-autoencoder":
            let (meta, seconds) = try trainAutoencoder(c.rankingModel, role: "ranking", m, ctx, to: c.paths.rankingModel)
            stats["rankingModel"] = .object(["type": .string(c.rankingModel.type), "seconds": .double(seconds), "epochs": meta["epochsRun"] ?? .null])
        default:
            throw RecError(.config, "ranking model '\(c.rankingModel.type)' is not available in this build")
        }
        return stats
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

/// Four decimals, for logs.
func f4(_ x: Double) -> String { String(format: "%.4f", x) }

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

/// Leaves out items nobody rated in train: no model knows anything about them.
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
