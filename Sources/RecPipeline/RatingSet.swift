import Foundation
import Logging
import RecCore
import RecStore
import RecData
import RecModels
import RecEval

/// The rating models other than a pinned autoencoder: a pinned `user-item-bias`, `biased-mf`
/// or `item-knn`, or a `choose` among candidates. They are written as one "rating set"
/// artefact (`eval-model.art`, `model.art`): each member's parameters in sections of its own
/// (`m0.…`, `m1.…`), the blend's weights, the bias baseline of the same fit for the entries
/// its members cannot answer, and, for the evaluation, what the validation slice chose.
///
/// The evaluation set holds every candidate, fitted on the train part (validation picks the
/// autoencoders' epochs), so that `rec-score` can put each candidate's test figures beside the
/// chosen model's; the served set holds the chosen members only, refitted on every rating with
/// the evaluation's choices (epochs) and weights.
struct RatingSet {
    /// One fitted member and its predictor (answers wrapped with the bias fallback).
    struct Member {
        var name: String
        var config: RatingModelConfig
        var predictor: any RatingPredictor
        /// What the artefact keeps of it: sections and meta.
        var sections: [(String, [Float])]
        var meta: [String: JSONValue]
    }

    var members: [Member]
    var blend: RatingBlend
    var fallback: UserItemBias
    var meta: [String: JSONValue]

    /// The blend of the members, each answering unseen users and movies with the fallback.
    var predictor: any RatingPredictor {
        BlendedRatings(members: members.map(\.predictor), blend: blend, scale: scale)
    }
    var scale: ClosedRange<Float>

    static func isRatingSet(_ a: Artefact) -> Bool { a.meta("ratingSet") != nil }

    /// Names for the candidates: the type, numbered from the second of a type on.
    static func names(_ models: [RatingModelConfig]) -> [String] {
        var seen: [String: Int] = [:]
        return models.map { m in
            seen[m.type, default: 0] += 1
            return seen[m.type]! == 1 ? m.type : "\(m.type)-\(seen[m.type]!)"
        }
    }

    func write(to path: String, parallel: Parallel) throws {
        var b = ArtefactBuilder(kind: .model)
        b.meta = meta
        b.meta["type"] = meta["type"] ?? .string("choice")
        var list: [JSONValue] = []
        for (k, m) in members.enumerated() {
            for (name, values) in m.sections { b.add("m\(k).\(name)", values) }
            var o = m.meta
            o["name"] = .string(m.name)
            o["model"] = try .from(m.config)
            list.append(.object(o))
        }
        b.add("fallback.userBias", fallback.userBias)
        b.add("fallback.itemBias", fallback.itemBias)
        b.meta["ratingSet"] = .object(["members": .array(list), "blend": try .from(blend), "fallbackMean": .double(Double(fallback.mean)),
                                       "scale": .array([.double(Double(scale.lowerBound)), .double(Double(scale.upperBound))])])
        try b.write(to: path, parallel: parallel, level: 1)
    }

    static func read(_ a: Artefact, parallel: Parallel) throws -> RatingSet {
        func bad(_ what: String) -> RecError { RecError(.artefact, what, file: a.path, hint: "rerun rec-train") }
        guard case .object(let set)? = a.meta("ratingSet"), case .array(let list)? = set["members"],
              let blendValue = set["blend"], let mean = set["fallbackMean"]?.doubleValue,
              case .array(let s)? = set["scale"], s.count == 2, let lo = s[0].doubleValue, let hi = s[1].doubleValue, lo < hi else {
            throw bad("is not a rating set")
        }
        let blend = try JSONDecoder().decode(RatingBlend.self, from: JSON.encode(blendValue))
        guard blend.weights.count == list.count, blend.weights.allSatisfy(\.isFinite), blend.intercept.isFinite else {
            throw bad("has a blend that does not fit its members")
        }
        let fallback = UserItemBias(mean: Float(mean), userBias: try a.array("fallback.userBias", parallel: parallel),
                                    itemBias: try a.array("fallback.itemBias", parallel: parallel))
        var members: [Member] = []
        for (k, value) in list.enumerated() {
            guard let name = value["name"]?.stringValue, let model = value["model"] else { throw bad("has a member without name or model") }
            let config = try JSONDecoder().decode(RatingModelConfig.self, from: JSON.encode(model))
            func section(_ n: String) throws -> [Float] { try a.array("m\(k).\(n)", parallel: parallel) }
            let predictor: any RatingPredictor
            switch config {
            case .userItemBias:
                guard let mu = value["mean"]?.doubleValue else { throw bad("has a bias member without its mean") }
                predictor = UserItemBias(mean: Float(mu), userBias: try section("userBias"), itemBias: try section("itemBias"))
            case .biasedMF(let s):
                guard let mu = value["mean"]?.doubleValue else { throw bad("has a factorisation without its mean") }
                let mf = BiasedMF(settings: mfSettings(s), mean: Float(mu), userFactors: try section("userFactors"), itemFactors: try section("itemFactors"))
                guard mf.userFactors.count % (s.factors + 1) == 0, mf.itemFactors.count % (s.factors + 1) == 0 else { throw bad("has factors of the wrong shape") }
                predictor = mf
            case .itemKNN(let s):
                guard let mu = value["mean"]?.doubleValue else { throw bad("has a neighbourhood model without its mean") }
                let bias = UserItemBias(mean: Float(mu), userBias: try section("userBias"), itemBias: try section("itemBias"))
                let sim = try section("similarity")
                guard sim.count == bias.itemBias.count * bias.itemBias.count else { throw bad("has similarities of the wrong shape") }
                predictor = ItemKNNBaseline(settings: knnSettings(s), baseline: bias, similarity: sim)
            case .userAutoencoder, .itemAutoencoder:
                guard case .array(let sz)? = value["sizes"], let sizes = Optional(sz.compactMap(\.intValue)), sizes.count == sz.count,
                      sizes.count >= 3, sizes.first == sizes.last, sizes.allSatisfy({ $0 > 0 }),
                      let act = value["activation"]?.stringValue.flatMap(AutoencoderSettings.Activation.init(rawValue:)) else {
                    throw bad("has an autoencoder member without its shape")
                }
                let layout = AutoencoderLayout(items: sizes[0], hidden: Array(sizes[1..<(sizes.count - 1)]))
                let parameters = try section("parameters")
                guard parameters.count == layout.parameterCount, parameters.allSatisfy(\.isFinite) else {
                    throw bad("holds \(parameters.count) parameters for member \(name), its shape needs \(layout.parameterCount)")
                }
                let model = Autoencoder(layout: layout, activation: act, parameters: parameters)
                predictor = config.isItemBased ? ItemAutoencoderRatings(model) : UserAutoencoderRatings(model)
            case .choice:
                throw bad("has a choice as a member")
            }
            members.append(Member(name: name, config: config, predictor: WithBiasFallback(base: predictor, fallback: fallback),
                                  sections: [], meta: value.objectValue ?? [:]))
        }
        return RatingSet(members: members, blend: blend, fallback: fallback, meta: a.header.meta, scale: Float(lo)...Float(hi))
    }

    static func mfSettings(_ s: MatrixFactorizationSettings) -> BiasedMF.Settings {
        BiasedMF.Settings(factors: s.factors, lambda: s.lambda, biasLambda: s.biasLambda, iterations: s.iterations, seed: s.seed)
    }

    static func knnSettings(_ s: ItemKNNSettings) -> ItemKNNBaseline.Settings {
        ItemKNNBaseline.Settings(k: s.k, minK: s.minK, shrinkage: s.shrinkage,
                                 baseline: .init(lambdaItem: s.lambdaItem, lambdaUser: s.lambdaUser, rounds: 10))
    }
}

extension JSONValue {
    fileprivate var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }
}

extension TrainStage {
    /// What the evaluation's rating set chose, for the serving fit.
    struct RatingSetChoice {
        var members: [(config: RatingModelConfig, name: String, epochs: Int?)]
        var blend: RatingBlend
    }

    /// The models that compete for `c.ratingModel` on data with `ratings` train ratings: for a
    /// choice, the bias baseline first, then the candidates (the budget's list above
    /// `maxRatings`); a pinned model alone.
    static func candidates(_ c: PipelineConfig, ratings: Int) -> [RatingModelConfig] {
        guard case .choice(let s) = c.ratingModel else { return [c.ratingModel] }
        let list = s.applicable(ratings: ratings)
        return (list.contains { $0.kind == .userItemBias } ? [] : [.userItemBias(BiasSettings())]) + list
    }

    /// The evaluation's rating set: every candidate fitted on train, their predictions of the
    /// validation part (fed the train ratings), the choice among them (the best, or a blend
    /// when it is better on validation), written to `eval-model.art`. The test part is not read.
    func fitEvaluationRatingSet(_ c: PipelineConfig, _ m: Matrices, _ ctx: StageContext, choice out: inout RatingSetChoice?) throws -> (stats: JSONValue, epochs: Int) {
        let models = Self.candidates(c, ratings: m.train.nonZeros)
        let names = RatingSet.names(models)
        let fallback = UserItemBias.fit(m.train)
        var members: [RatingSet.Member] = [], epochs: [Int?] = [], seconds: [Double] = []
        var predictions: [[Float]] = []
        let hasValidation = m.validation.nonZeros > 0
        for (model, name) in zip(models, names) {
            let clock = ContinuousClock.now
            let (member, chosenEpochs) = try fitMember(model, name: name, train: m.train, validation: hasValidation ? m.validation : nil,
                                                       epochs: nil, fallback: fallback, scale: m.scale, ctx)
            seconds.append(clock.duration(to: .now).seconds)
            if hasValidation {
                predictions.append(member.predictor.predict(train: m.train, queries: m.validation, parallel: ctx.parallel))
                ctx.logger.info("rating candidate \(name): validation RMSE \(f4(RatingBlend.rmseOf(predictions.last!, m.validation.values, m.scale))) (\(String(format: "%.1f", seconds.last!)) s)")
            }
            members.append(member)
            epochs.append(chosenEpochs)
        }
        var blend = RatingBlend.single(0, of: models.count)
        var choiceMeta: [String: JSONValue] = [:]
        if case .choice(let s) = c.ratingModel {
            // Validated settings guarantee a validation slice; rec-split may still leave it empty
            // on tiny data, and then nothing is chosen on it: the bias baseline is served.
            if hasValidation {
                let choice = RatingBlend.choose(predictions, truths: m.validation.values, scale: m.scale, blend: s.blend, ridge: s.blendRidge)
                blend = choice.blend
                choiceMeta = [
                    "candidates": .array(names.indices.map { i in
                        // No seconds here: the artefact and metrics.json are the same bytes on every run.
                        .object(["name": .string(names[i]), "type": .string(models[i].type), "validationRMSE": .double(choice.rmse[i]),
                                 "chosenEpoch": epochs[i].map { .int($0) } ?? .null])
                    }),
                    "best": .string(names[choice.best]),
                    "chosen": .string(choice.blended ? "blend" : names[choice.best]),
                    "blendValidationRMSE": choice.blendRMSE.map { .double($0) } ?? .null,
                    "validationRMSE": .double(choice.chosenRMSE),
                    "weights": .object(Dictionary(uniqueKeysWithValues: names.indices.map { (names[$0], JSONValue.double(blend.weights[$0])) })),
                    "intercept": .double(blend.intercept),
                    "budget": .string(m.train.nonZeros > s.maxRatings ? "largeDataCandidates (train ratings \(m.train.nonZeros) > maxRatings \(s.maxRatings))" : "candidates"),
                ]
                ctx.logger.info("rating choice: \(choice.blended ? "blend" : names[choice.best]), validation RMSE \(f4(choice.chosenRMSE)) (best single: \(names[choice.best]) \(f4(choice.rmse[choice.best])))")
            } else {
                choiceMeta = ["chosen": .string(names[0]), "note": .string("the validation slice is empty: the bias baseline is served")]
            }
        }
        let set = RatingSet(members: members, blend: blend, fallback: fallback,
                            meta: ["type": .string(c.ratingModel.type), "role": .string("rating"), "choice": .object(choiceMeta),
                                   "ratings": .int(m.train.nonZeros)],
                            scale: m.scale)
        try set.write(to: c.paths.evalModel, parallel: ctx.parallel)
        let chosen = blend.members.map { (config: models[$0], name: names[$0], epochs: epochs[$0]) }
        let stats: JSONValue = .object(["type": .string(c.ratingModel.type), "seconds": .double(seconds.reduce(0, +)),
                                        "candidateSeconds": .object(Dictionary(uniqueKeysWithValues: zip(names, seconds.map { JSONValue.double($0) }))),
                                        "ratings": .int(m.train.nonZeros), "choice": .object(choiceMeta)])
        out = RatingSetChoice(members: chosen, blend: RatingBlend(weights: blend.members.map { blend.weights[$0] }, intercept: blend.intercept))
        return (stats, 0)
    }

    /// The served rating set: the chosen members refitted on every rating (autoencoders for
    /// the epochs the evaluation chose), with the evaluation's weights, to `model.art`.
    /// Without an evaluation (a pinned model), the model with its settings.
    func fitServedRatingSet(_ c: PipelineConfig, _ m: Matrices, choice: RatingSetChoice?, _ ctx: StageContext) throws -> (stats: JSONValue, epochs: Int) {
        let all = m.all
        let choice = choice ?? RatingSetChoice(members: [(c.ratingModel, c.ratingModel.type, nil)], blend: .single(0, of: 1))
        let fallback = UserItemBias.fit(all)
        let clock = ContinuousClock.now
        var members: [RatingSet.Member] = []
        for member in choice.members {
            members.append(try fitMember(member.config, name: member.name, train: all, validation: nil, epochs: member.epochs,
                                         fallback: fallback, scale: m.scale, ctx).member)
        }
        let set = RatingSet(members: members, blend: choice.blend, fallback: fallback,
                            meta: ["type": .string(c.ratingModel.type), "role": .string("served rating"), "ratings": .int(all.nonZeros)],
                            scale: m.scale)
        try set.write(to: c.paths.model, parallel: ctx.parallel)
        return (.object(["type": .string(c.ratingModel.type), "seconds": .double(clock.duration(to: .now).seconds), "ratings": .int(all.nonZeros),
                         "members": .array(choice.members.map { .string($0.name) })]), 0)
    }

    /// Fits one member on `train`. Autoencoders: with `validation` for their epoch choice, or
    /// for `epochs` epochs (the serving refit).
    func fitMember(
        _ model: RatingModelConfig, name: String, train: CSRMatrix, validation: CSRMatrix?, epochs: Int?, fallback: UserItemBias,
        scale: ClosedRange<Float>, _ ctx: StageContext
    ) throws -> (member: RatingSet.Member, epochs: Int?) {
        let p = ctx.parallel
        ctx.logger.info("fitting rating model \(name) on \(train.nonZeros) ratings")
        func member(_ predictor: any RatingPredictor, _ sections: [(String, [Float])], _ meta: [String: JSONValue]) -> RatingSet.Member {
            RatingSet.Member(name: name, config: model, predictor: WithBiasFallback(base: predictor, fallback: fallback), sections: sections, meta: meta)
        }
        switch model {
        case .userItemBias(let s):
            let b = UserItemBias.fit(train, settings: .init(lambdaItem: s.lambdaItem, lambdaUser: s.lambdaUser, rounds: s.rounds))
            return (member(b, [("userBias", b.userBias), ("itemBias", b.itemBias)], ["mean": .double(Double(b.mean))]), nil)
        case .biasedMF(let s):
            let mf = BiasedMF.fit(train, settings: RatingSet.mfSettings(s), parallel: p)
            return (member(mf, [("userFactors", mf.userFactors), ("itemFactors", mf.itemFactors)], ["mean": .double(Double(mf.mean))]), nil)
        case .itemKNN(let s):
            let knn = ItemKNNBaseline.fit(train, settings: RatingSet.knnSettings(s), parallel: p)
            return (member(knn, [("userBias", knn.baseline.userBias), ("itemBias", knn.baseline.itemBias), ("similarity", knn.similarity)],
                           ["mean": .double(Double(knn.baseline.mean))]), nil)
        case .userAutoencoder(let settings), .itemAutoencoder(let settings):
            let itemBased = model.isItemBased
            let rows = itemBased ? train.transposed() : train
            let v = validation.map { itemBased ? $0.transposed() : $0 }
            let s = epochs.map { settings.running(epochs: $0) } ?? settings
            let ae = Autoencoder(items: rows.cols, hidden: settings.hidden, activation: settings.activation, seed: settings.seed)
            // Only the validation RMSE chooses anything: the per-epoch train RMSE pass is skipped.
            let history = try ae.train(rows, validation: v, settings: s, measureTrainRMSE: false, scale: scale, parallel: p) { e in
                ctx.progress("training rating model \(name)", e.epoch, s.epochs)
                var line = "\(name) epoch \(e.epoch)/\(s.epochs)  loss \(f4(e.loss))"
                if let x = e.validationRMSE { line += "  validation RMSE \(f4(x))" }
                ctx.logger.info("\(line)")
            }
            var chosen = history.count
            if v != nil, let best = history.min(by: { ($0.validationRMSE ?? 0) < ($1.validationRMSE ?? 0) }) { chosen = best.epoch }
            let predictor: any RatingPredictor = itemBased ? ItemAutoencoderRatings(ae) : UserAutoencoderRatings(ae)
            let meta: [String: JSONValue] = ["sizes": .array(ae.layout.sizes.map { .int($0) }), "activation": .string(ae.activation.rawValue),
                                             "epochsRun": .int(history.count), "chosenEpoch": .int(chosen)]
            return (member(predictor, [("parameters", ae.parameters)], meta), chosen)
        case .choice:
            throw RecError(.config, "'ratingModel' a choice cannot be a candidate of a choice")
        }
    }
}

extension MemoryChecks {
    /// The neighbourhood model's movies × movies similarities (4 bytes a pair), in both
    /// stages, when an `item-knn` fits the data (pinned, or a candidate within the budget).
    static func ratingSetParts(_ c: PipelineConfig, _ d: DataSize) -> [MemoryPlan.Part] {
        let models: [RatingModelConfig]
        // The budget counts train ratings: the split's shares of all of them.
        let train = Int(Double(d.ratings) * (1 - c.split.testRatio) * (1 - c.split.validationRatio))
        if case .choice(let s) = c.ratingModel { models = s.applicable(ratings: train) } else { models = [c.ratingModel] }
        guard models.contains(where: { $0.kind == .itemKNN }) else { return [] }
        return [MemoryPlan.Part("ratingModel: item-knn's movies × movies similarities", bytes: MemoryPlan.product(d.items, d.items, 4),
                                setting: "ratingModel (item-knn, or the choice's maxRatings)")]
    }
}
