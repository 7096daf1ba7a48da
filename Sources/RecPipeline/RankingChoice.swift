import Foundation
import Logging
import RecCore
import RecStore
import RecData
import RecModels
import RecEval

/// One member of the choice's model as it is fitted: which model, with which λ and p.
struct ChoiceMemberSpec: Equatable {
    var model: RankingChoiceSettings.Member
    var lambda: Double = 0
    var dropout: Double?

    /// The spec a member's settings in a blend artefact describe (`BlendMember.settings`).
    init?(_ settings: JSONValue) {
        guard case .object(let s) = settings, let model = s["model"]?.stringValue.flatMap(RankingChoiceSettings.Member.init(rawValue:)) else {
            return nil
        }
        self.model = model
        lambda = s["lambda"]?.doubleValue ?? 0
        dropout = s["dropout"]?.doubleValue
        if model != .popularity, !EASESettings.isValidLambda(lambda) { return nil }
        if model == .dlae, !(dropout.map { $0 >= 0 && $0 <= RankingChoiceSettings.maxDropout } ?? false) { return nil }
    }

    init(model: RankingChoiceSettings.Member, lambda: Double = 0, dropout: Double? = nil) {
        self.model = model
        self.lambda = lambda
        self.dropout = dropout
    }
}

extension RankingChoiceSettings {
    /// The solver of every EASE and DLAE fit.
    var easeSolver: EASE.Solver {
        switch solver {
        case .exact: .exact
        case .blocked: .blocked(maxItems: maxItems)
        case .auto: .auto(maxItems: maxItems)
        }
    }

    /// The specs of a model family's grid, in settings order.
    func grid(_ family: Member) -> [ChoiceMemberSpec] {
        switch family {
        case .ease: easeLambdas.map { ChoiceMemberSpec(model: .ease, lambda: $0) }
        case .dlae: dlaeLambdas.flatMap { l in dlaeDropouts.map { ChoiceMemberSpec(model: .dlae, lambda: l, dropout: $0) } }
        case .popularity: [ChoiceMemberSpec(model: .popularity)]
        }
    }

    /// The members the candidates need, in the blend artefact's order (EASE, DLAE, popularity).
    var neededMembers: [Member] {
        let blend = candidates.contains(.blend)
        return Member.allCases.filter { member in
            candidates.contains { $0.rawValue == member.rawValue } || (blend && blendMembers.contains(member))
        }
    }
}

/// The users whose validation lists judge a ranking choice: every user, or, when more users
/// than `most` have validation ratings, `most` of those drawn with `seed` (in user order).
struct JudgedUsers {
    /// Their rows of the train input and of the validation slice, and their ids.
    let input: CSRMatrix
    let validation: CSRMatrix
    let ids: IdMaps
    /// The sample's size and the users it was drawn from (nil: every user).
    let sample: (size: Int, of: Int)?

    init(input: CSRMatrix, validation: CSRMatrix, ids: IdMaps, most: Int, seed: UInt64) {
        var users = (0..<validation.rows).filter { !validation.row($0).isEmpty }
        guard most > 0, users.count > most else {
            (self.input, self.validation, self.ids, sample) = (input, validation, ids, nil)
            return
        }
        var rng = SplitMix64(seed: seed, stream: 0x6a75_6467_6564) // "judged": apart from the split's own draws
        rng.shuffle(&users)
        let picked = users.prefix(most).sorted()
        self.input = input.rows(at: picked)
        self.validation = validation.rows(at: picked)
        self.ids = IdMaps(userIds: picked.map { ids.userIds[$0] }, itemIds: ids.itemIds)
        sample = (most, users.count)
    }
}

/// Fits the members of a choice on one input, sharing one Gram matrix XᵀX between every EASE and
/// DLAE fit when the exact solver is used (each fit then costs one inverse).
struct ChoiceFitter {
    let settings: RankingChoiceSettings
    let input: CSRMatrix
    let ratingMax: Float
    let parallel: Parallel
    /// G = XᵀX of `input` (exact solver), computed at the first fit that needs it.
    private var gram: [Double]?

    init(_ settings: RankingChoiceSettings, input: CSRMatrix, ratingMax: Float, parallel: Parallel) {
        self.settings = settings
        self.input = input
        self.ratingMax = ratingMax
        self.parallel = parallel
    }

    mutating func fit(_ spec: ChoiceMemberSpec) throws -> BlendMember {
        let s = settings
        if spec.model == .popularity { return BlendMember(.popularity, .popularity(MostPopular.fit(input))) }
        let exact = s.easeSolver.resolved(ratedItems: input.cols - input.emptyColumns().count) == .exact
        if exact, gram == nil { gram = EASE.gram(input, weighting: s.weighting, ratingMax: ratingMax, parallel: parallel) }
        let model: EASE
        if spec.model == .dlae {
            model = try EASE.fitDLAE(input, lambda: spec.lambda, dropout: spec.dropout ?? 0, weighting: s.weighting, ratingMax: ratingMax,
                                     solver: s.easeSolver, gram: gram, parallel: parallel)
        } else if let gram {
            model = try EASE.fit(gram: gram, items: input.cols, lambda: spec.lambda, dropout: nil, weighting: s.weighting, ratingMax: ratingMax,
                                 parallel: parallel)
        } else {
            model = try EASE.fit(input, lambda: spec.lambda, weighting: s.weighting, ratingMax: ratingMax, solver: s.easeSolver, parallel: parallel)
        }
        return BlendMember(spec.model, .itemItem(model), dropout: spec.model == .dlae ? spec.dropout : nil)
    }
}

/// The evaluation's choice of a ranking model, step by step: each needed family's grid fitted
/// on train and judged on the validation lists of the judged users (`fitFamilies`), the
/// candidates compared (`compareCandidates`: each family's best, the blend's best weighting),
/// and the one with the best validation NDCG@k chosen (`choose`; ties to the one listed first).
/// Without validation ratings nothing is judged: the first grid point of each family and the
/// first candidate (a blend: equal weights).
struct ValidationChoice {
    let settings: RankingChoiceSettings
    let k: Int
    /// The train slice every member is fitted on.
    let input: CSRMatrix
    let judged: JudgedUsers?
    let ratingMax: Float
    let ctx: StageContext
    /// The members the candidates need, in the blend artefact's order.
    let order: [RankingChoiceSettings.Member]
    /// Movies without a train rating: never in a list.
    let cold: [Int]
    let trainItemCount: Int

    /// Each family's best grid point, in `order`.
    private(set) var bestSpecs: [ChoiceMemberSpec] = []
    private(set) var grid: [RankingCandidates.GridPoint] = []
    private(set) var blendGrid: [RankingCandidates.BlendPoint] = []
    private(set) var candidates: [RankingCandidates.Candidate] = []
    /// Each candidate's weights over `order`.
    private(set) var candidateWeights: [[Double]] = []
    private(set) var chosen = 0

    init(_ s: RankingChoiceSettings, _ c: PipelineConfig, _ m: Matrices, input: CSRMatrix, validation: CSRMatrix?, _ ctx: StageContext) {
        settings = s
        k = c.score.k
        self.input = input
        judged = validation.map { JudgedUsers(input: input, validation: $0, ids: m.ids, most: s.maxValidationUsers, seed: c.split.seed) }
        ratingMax = m.scale.upperBound
        self.ctx = ctx
        order = s.neededMembers
        cold = input.emptyColumns()
        trainItemCount = m.ids.itemCount - cold.count
    }

    /// The NDCG@k (and the other figures) of one set of lists of the judged users.
    private func measure(_ lists: TopKLists, on judged: JudgedUsers) throws -> RankingMetrics {
        try RankingMetrics.measure(lists: lists, test: judged.validation, trainItemCount: trainItemCount, parallel: ctx.parallel)
    }

    /// Fits every grid point of each needed family on train, keeps the best of each (the
    /// others are dropped once their figures are taken) and returns those members with their
    /// validation figures.
    mutating func fitFamilies() throws -> [(member: BlendMember, metrics: RankingMetrics?)] {
        var fitter = ChoiceFitter(settings, input: input, ratingMax: ratingMax, parallel: ctx.parallel)
        var best: [(member: BlendMember, metrics: RankingMetrics?)] = []
        for family in order {
            let specs = judged == nil ? [settings.grid(family)[0]] : settings.grid(family)
            var kept: (spec: ChoiceMemberSpec, member: BlendMember, metrics: RankingMetrics?)?
            for spec in specs {
                let member = try fitter.fit(spec)
                guard let judged, family != .popularity else { kept = (spec, member, nil); continue }
                let lists = BLASThreads.single {
                    rankedLists(member.scorer, input: judged.input, excluding: cold, k: k, ids: judged.ids, parallel: ctx.parallel)
                }
                let metrics = try measure(lists, on: judged)
                ctx.logger.info("\(member.label): validation NDCG@\(k) \(f4(metrics.ndcg))")
                grid.append(.init(model: member.label, validationNDCG: metrics.ndcg))
                if kept == nil || metrics.ndcg > kept!.metrics!.ndcg { kept = (spec, member, metrics) }
            }
            bestSpecs.append(kept!.spec)
            best.append((kept!.member, kept!.metrics))
        }
        return best
    }

    /// Each candidate with its weights and validation figures: a family's best alone, or the
    /// blend's best weighting of the grid (every weighting's lists built in one pass).
    mutating func compareCandidates(_ best: [(member: BlendMember, metrics: RankingMetrics?)]) throws {
        let members = best.map(\.member)
        for candidate in settings.candidates {
            if let single = order.firstIndex(where: { $0.rawValue == candidate.rawValue }), candidate != .blend {
                candidateWeights.append(order.indices.map { $0 == single ? 1 : 0 })
                candidates.append(.init(name: candidate.rawValue, members: [members[single].label], weights: [1], validation: best[single].metrics))
                continue
            }
            let used = settings.blendMembers.map { b in order.firstIndex(of: b)! }
            let local = judged == nil ? [used.map { _ in 1 / Double(used.count) }]
                : ItemBlend.simplexGrid(members: used.count, divisions: settings.blendDivisions)
            let full = local.map { w in order.indices.map { i in used.firstIndex(of: i).map { w[$0] } ?? 0 } }
            var pick = 0, pickMetrics: RankingMetrics?
            if let judged {
                let lists = BLASThreads.single {
                    ItemBlend.lists(members: members, weightings: full, input: judged.input, k: k, excluding: cold, parallel: ctx.parallel)
                }
                for (g, list) in lists.enumerated() {
                    let metrics = try measure(measurableLists(list, k: k, ids: judged.ids), on: judged)
                    blendGrid.append(.init(weights: local[g], validationNDCG: metrics.ndcg))
                    if pickMetrics == nil || metrics.ndcg > pickMetrics!.ndcg { (pick, pickMetrics) = (g, metrics) }
                }
                ctx.logger.info("blend of \(used.map { members[$0].label }.joined(separator: ", ")): \(lists.count) weightings, best \(local[pick].map(short).joined(separator: " / ")), validation NDCG@\(k) \(f4(pickMetrics!.ndcg))")
            }
            candidateWeights.append(full[pick])
            candidates.append(.init(name: candidate.rawValue, members: used.map { members[$0].label }, weights: local[pick], validation: pickMetrics))
        }
    }

    /// Runs the steps and picks the candidate with the best validation NDCG@k.
    mutating func choose() throws {
        if let sample = judged?.sample {
            ctx.logger.info("the choice's validation lists: \(sample.size) of the \(sample.of) users with validation ratings (rankingModel.maxValidationUsers)")
        }
        try compareCandidates(try fitFamilies())
        if judged != nil {
            for i in candidates.indices where candidates[i].validation!.ndcg > candidates[chosen].validation!.ndcg { chosen = i }
        }
        ctx.logger.info(judged == nil ? "no validation ratings: the ranking model is \(candidates[chosen].name)" : "chosen on validation: \(candidates[chosen].name)")
    }

    /// How the choice was made, for metrics.json and the report.
    var protocolNote: String {
        guard let judged else { return RankingCandidates.noValidation }
        return RankingCandidates.chosenOnValidation + (judged.sample.map { " " + RankingCandidates.sampleNote($0.size, of: $0.of) } ?? "")
    }
}

extension TrainStage {
    /// `"type": "choice"`. Evaluation (`serving` false): the choice made on validation
    /// (`ValidationChoice`), then every member refitted on train + validation, written with the
    /// chosen weights and each candidate's (`rec-score` measures them all on the test slice).
    /// Serving: the chosen members (read from the evaluation artefact, or the settings' fixed
    /// model when evaluation is off) refitted on `input` (every rating).
    func fitChoice(
        _ s: RankingChoiceSettings, _ c: PipelineConfig, _ m: Matrices, input: CSRMatrix, validation: CSRMatrix?, _ ctx: StageContext,
        to path: String, serving: Bool
    ) throws -> JSONValue {
        let clock = ContinuousClock.now
        if serving { return try fitServedChoice(s, c, input: input, ratingMax: m.scale.upperBound, ctx, to: path, clock: clock) }
        let validation = (validation?.nonZeros ?? 0) > 0 ? validation : nil
        var choice = ValidationChoice(s, c, m, input: input, validation: validation, ctx)
        try choice.choose()
        let name = choice.candidates[choice.chosen].name

        // Every member refitted on train + validation, for the chosen lists and every candidate's test figures.
        let fitOn = validation.map { input.union($0) } ?? input
        var fitter = ChoiceFitter(s, input: fitOn, ratingMax: choice.ratingMax, parallel: ctx.parallel)
        let members = try choice.bestSpecs.map { try fitter.fit($0) }
        let blend = ItemBlend(members: members, weights: choice.candidateWeights[choice.chosen])
        ctx.logger.info("fitted the ranking model on train + validation (\(describe(blend)), \(fitOn.nonZeros) ratings)")
        var report = RankingCandidates(chosen: name, protocolNote: choice.protocolNote, candidates: choice.candidates, grid: choice.grid,
                                       blendMembers: s.blendMembers.map { b in members[choice.order.firstIndex(of: b)!].label },
                                       blendGrid: choice.blendGrid)
        report.sampledUsers = choice.judged?.sample?.size
        try blend.write(to: path, meta: [
            "role": .string("evaluation ranking"), "settings": try .from(s), "chosen": .string(name), "ratings": .int(fitOn.nonZeros),
            "rankingCandidates": try .from(report), "candidateWeights": .array(choice.candidateWeights.map { .array($0.map { .double($0) }) }),
        ], parallel: ctx.parallel)
        return .object(["type": .string("choice"), "chosen": .string(name), "model": .string(describe(blend)),
                        "candidates": .object(Dictionary(uniqueKeysWithValues: choice.candidates.map { ($0.name, JSONValue.double($0.validation?.ndcg ?? 0)) })),
                        "seconds": .double(clock.duration(to: .now).seconds)])
    }

    /// The served fit: the chosen members refitted on every rating.
    private func fitServedChoice(
        _ s: RankingChoiceSettings, _ c: PipelineConfig, input: CSRMatrix, ratingMax: Float, _ ctx: StageContext, to path: String,
        clock: ContinuousClock.Instant
    ) throws -> JSONValue {
        let (specs, weights, name) = try servedChoice(s, c)
        var fitter = ChoiceFitter(s, input: input, ratingMax: ratingMax, parallel: ctx.parallel)
        let members = try specs.map { try fitter.fit($0) }
        let blend = ItemBlend(members: members, weights: weights)
        ctx.logger.info("fitted the served ranking model (\(name): \(describe(blend)), \(input.nonZeros) ratings)")
        try blend.write(to: path, meta: ["role": .string("served ranking"), "settings": try .from(s), "chosen": .string(name),
                                         "ratings": .int(input.nonZeros)], parallel: ctx.parallel)
        return .object(["type": .string("choice"), "chosen": .string(name), "model": .string(describe(blend)),
                        "seconds": .double(clock.duration(to: .now).seconds)])
    }

    /// The served model's members and weights: those the evaluation chose (from its artefact's
    /// header), or, with evaluation off, the settings' fixed model (the first candidate with the
    /// first value of each grid; a blend with equal weights).
    func servedChoice(_ s: RankingChoiceSettings, _ c: PipelineConfig) throws -> (specs: [ChoiceMemberSpec], weights: [Double], name: String) {
        guard c.evaluation.enabled else {
            let first = s.candidates[0]
            let used: [RankingChoiceSettings.Member] = first == .blend ? s.blendMembers : [RankingChoiceSettings.Member(rawValue: first.rawValue)!]
            return (used.map { s.grid($0)[0] }, used.map { _ in 1 / Double(used.count) }, first.rawValue)
        }
        let path = c.paths.evalRankingModel
        let meta = try Artefact.readHeader(path, expecting: .model).meta
        guard case .array(let described)? = meta["members"], case .array(let weightValues)? = meta["weights"],
              described.count == weightValues.count, let name = meta["chosen"]?.stringValue else {
            throw RecError(.artefact, "has no chosen ranking model", file: path, hint: "rerun rec-train")
        }
        var specs: [ChoiceMemberSpec] = [], weights: [Double] = []
        for (d, w) in zip(described, weightValues) {
            guard let spec = ChoiceMemberSpec(d), let w = w.doubleValue, w.isFinite else {
                throw RecError(.artefact, "describes a ranking model member it cannot be refitted from", file: path, hint: "rerun rec-train")
            }
            if w != 0 {
                specs.append(spec)
                weights.append(w)
            }
        }
        guard !specs.isEmpty else { throw RecError(.artefact, "has no ranking model member with a weight", file: path, hint: "rerun rec-train") }
        return (specs, weights, name)
    }

    /// `EASE λ 300 (0.6) + DLAE λ 300, p 0.5 (0.4)`, or the one member's label.
    func describe(_ blend: ItemBlend) -> String {
        if let single = blend.single { return single.label }
        return zip(blend.members, blend.weights).filter { $0.1 != 0 }.map { "\($0.0.label) (\(short($0.1)))" }.joined(separator: " + ")
    }
}

extension ScoreStage {
    /// Every candidate's test figures, when the lists come from a choice: the evaluation
    /// artefact holds every member refitted on train + validation and each candidate's weights;
    /// each candidate's lists are built from `known` as the run's own are, and measured on the
    /// test slice. Called once the run's own lists are measured; nil for other ranking models.
    func rankingCandidates(_ scorer: any ItemScorer, path: String, known: CSRMatrix, unrated: [Int], _ m: Matrices,
                           _ ctx: StageContext) throws -> RankingCandidates? {
        guard case .choice = ctx.config.rankingModel, let blend = scorer as? ItemBlend else { return nil }
        let meta = try Artefact.readHeader(path, expecting: .model).meta
        let fail = RecError(.artefact, "has no readable rankingCandidates or candidateWeights", file: path, hint: "rerun rec-train")
        guard let described = meta["rankingCandidates"], case .array(let rows)? = meta["candidateWeights"] else { throw fail }
        var report = try JSONDecoder().decode(RankingCandidates.self, from: JSON.encode(described))
        let weightings = rows.map { row -> [Double] in
            guard case .array(let w) = row else { return [] }
            return w.compactMap(\.doubleValue)
        }
        guard weightings.count == report.candidates.count, weightings.allSatisfy({ $0.count == blend.members.count && $0.allSatisfy(\.isFinite) }) else {
            throw fail
        }
        let k = ctx.config.score.k
        let lists = BLASThreads.single {
            ItemBlend.lists(members: blend.members, weightings: weightings, input: known, k: k, excluding: unrated, parallel: ctx.parallel)
        }
        for (i, list) in lists.enumerated() {
            report.candidates[i].test = try RankingMetrics.measure(lists: measurableLists(list, k: k, ids: m.ids), test: m.test,
                                                                   trainItemCount: m.ids.itemCount - unrated.count, parallel: ctx.parallel)
        }
        return report
    }
}

/// A weight or penalty without a trailing `.0`, for logs.
private func short(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }

extension ScoreStage {
    /// The served ranking model's choice, from its artefact's header (reading the matrices again
    /// would double the stage's memory): the candidate's name, its members and their weights.
    func servedRankingChoice(_ path: String) throws -> JSONValue {
        let meta = try Artefact.readHeader(path, expecting: .model).meta
        return .object(["chosen": meta["chosen"] ?? .null, "members": meta["members"] ?? .null, "weights": meta["weights"] ?? .null])
    }
}

extension MemoryChecks {
    /// Item–item members (EASE, DLAE) a choice holds at once.
    static func choiceLinearMembers(_ s: RankingChoiceSettings) -> Int { s.neededMembers.filter { $0 != .popularity }.count }

    /// `rec-train` under a choice: one EASE fit's peak, plus the Gram matrix the exact solver
    /// shares between fits, the best model of each family and the one being measured, and the
    /// blend's score blocks (each member's and the blend's, per worker).
    static func choiceTrainParts(_ s: RankingChoiceSettings, _ d: DataSize, workers: Int) -> [MemoryPlan.Part] {
        let solver = s.easeSolver
        var parts = EASE.memoryParts(items: d.items, ratedItems: d.items, nonZeros: d.ratings, solver: solver)
        let m: Int
        switch solver.resolved(ratedItems: d.items) {
        case .exact:
            m = d.items
            parts.append(MemoryPlan.Part("choice: XᵀX in Double, shared by every fit", bytes: MemoryPlan.product(m, m, 8),
                                         setting: "rankingModel.solver (\"auto\" or \"blocked\": at most rankingModel.maxItems movies)"))
        case .blocked(let maxItems), .auto(let maxItems):
            m = min(maxItems, d.items)
        }
        let kept = choiceLinearMembers(s) + 1
        parts.append(MemoryPlan.Part("choice: B of \(kept) models (\(m) movies) held at once", bytes: MemoryPlan.product(kept, m, m, 4),
                                     setting: "rankingModel.candidates"))
        parts.append(blendBlocks(s, d, workers: workers))
        return parts
    }

    /// `rec-score` under a choice: every item–item member's B and its artefact being read, and
    /// the blend's score blocks.
    static func choiceScoreParts(_ s: RankingChoiceSettings, _ d: DataSize, workers: Int) -> [MemoryPlan.Part] {
        let one = EASE.scoringParts(items: d.items, ratedItems: d.items, solver: s.easeSolver, setting: "rankingModel")
        let members = choiceLinearMembers(s)
        return one.map { MemoryPlan.Part("choice: \(members) × " + $0.what, bytes: MemoryPlan.product($0.bytes, members), setting: $0.setting) }
            + [blendBlocks(s, d, workers: workers)]
    }

    /// The blend's score blocks: one per member and one blended, per worker.
    static func blendBlocks(_ s: RankingChoiceSettings, _ d: DataSize, workers: Int) -> MemoryPlan.Part {
        let width = MemoryPlan.product(d.items, s.neededMembers.count + 1)
        let block = MemoryPlan.product(TopK.usersPerChunk(width: width), width, 4)
        return MemoryPlan.Part("choice: score blocks of every member, per worker", bytes: MemoryPlan.product(block, max(1, workers)), setting: "workers")
    }
}
