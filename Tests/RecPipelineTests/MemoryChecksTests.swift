import Foundation
import Logging
import Testing
@testable import RecCore
@testable import RecData
@testable import RecPipeline

@Suite struct MemoryChecksTests {
    /// ML-25M's shape.
    let ml25m = MemoryChecks.DataSize(users: 162_541, items: 59_047, ratings: 25_000_095)

    func settings(_ ranking: [String: JSONValue], extra: [String: JSONValue] = [:]) throws -> PipelineConfig {
        var s: [String: JSONValue] = ["rankingModel": .object(ranking), "split": .object(["validationRatio": .double(0.05)])]
        s.merge(extra) { $1 }
        return try PipelineConfig.parse(.object(s))
    }

    @Test func exactEASE_onML25M_needsMoreThan28GB_andTheMessageNamesTheSolver() throws {
        let c = try settings(["type": .string("ease"), "solver": .string("exact")])
        let plan = MemoryChecks.trainPlan(c, ml25m)
        #expect(plan.bytes > 40_000_000_000) // G (27.9 GB) and B (13.9 GB) at once
        let error = #expect(throws: RecError.self) { try plan.check(MemoryPlan.Limit(bytes: 24_000_000_000, source: "test")) }
        #expect(error?.message.contains("EASE (exact solver, 59047 movies): G and P in Double 27.9 GB") == true)
        #expect(error?.hint?.contains("rankingModel.solver") == true)
    }

    @Test func defaultEASE_onML25M_fitsInAFewGB() throws {
        let c = try settings(["type": .string("ease")])
        let train = MemoryChecks.trainPlan(c, ml25m), score = MemoryChecks.scorePlan(c, ml25m)
        #expect(train.bytes < 4_000_000_000 && score.bytes < 4_000_000_000, "\(train.bytes), \(score.bytes)")
        #expect(train.parts.contains { $0.what.contains("blocked solver, 10000 movies") })
    }

    @Test func autoOnML1M_isTheExactSolver() throws {
        let c = try settings(["type": .string("ease")])
        let plan = MemoryChecks.trainPlan(c, .init(users: 6040, items: 3706, ratings: 1_000_209))
        #expect(plan.parts.contains { $0.what.contains("exact solver, 3706 movies") })
    }

    @Test func itemAutoencoder_isSizedByTheUsers() throws {
        let c = try settings(["type": .string("popularity")],
                             extra: ["ratingModel": .object(["type": .string("item-autoencoder"), "hidden": .array([.int(500)])])])
        let plan = MemoryChecks.trainPlan(c, ml25m)
        // 2 × 162,541 × 500 weights, × 5 copies (weights, gradients, Adam's two moments, best epoch).
        #expect(plan.parts.contains { $0.bytes >= 2 * 162_541 * 500 * 5 * 4 && $0.setting == "ratingModel.hidden" })
    }

    @Test func dataSize_isReadFromTheRatingsArtefactsHeader() throws {
        let fixture = try PipelineFixture()
        var options = Runner.Options()
        options.only = "ingest"
        let c = try PipelineConfig.load(fixture.configPath)
        try Runner(config: c, options: options, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }).run()
        let (ratings, _) = try Ratings.read(c.paths.ratings, kind: .ratings, parallel: Parallel(workers: 1))
        let size = try MemoryChecks.DataSize.read(ratingsArtefact: c.paths.ratings)
        #expect(size == .init(users: ratings.ids.userCount, items: ratings.ids.itemCount, ratings: ratings.count))
    }

    /// A run whose models cannot fit stops after ingest, before the split, with a settings error
    /// naming the limit; ingest's work is kept, nothing later is written.
    @Test func runner_refusesBeforeTheStagesAfterIngest() throws {
        var s = PipelineFixture.baseSettings
        let fixture = try PipelineFixture(settings: s)
        // Just above ingest's plan: ingest runs; train's plan, with a wide hidden layer, is far
        // above it.
        s["ratingModel"] = .object(["type": .string("user-autoencoder"), "hidden": .array([.int(65_536)]), "epochs": .int(1)])
        try fixture.write(s)
        let ingest = try MemoryChecks.ingestPlan(PipelineConfig.load(fixture.configPath))
        s["memoryLimitGB"] = .double(Double(ingest.bytes + 1_000) / 1e9)
        try fixture.write(s)
        let error = #expect(throws: RecError.self) { try fixture.run() }
        #expect(error?.kind == .config)
        #expect(error?.message.contains("rec-train would need about") == true)
        #expect(error?.message.contains("(memoryLimitGB)") == true)
        let c = try PipelineConfig.load(fixture.configPath)
        #expect(FileManager.default.fileExists(atPath: c.paths.ratings))
        #expect(!FileManager.default.fileExists(atPath: c.paths.train))
        // With a limit it fits under, the same folder runs to the end.
        s["memoryLimitGB"] = .double(8)
        s["ratingModel"] = PipelineFixture.baseSettings["ratingModel"]
        try fixture.write(s)
        try fixture.run()
        #expect(FileManager.default.fileExists(atPath: c.paths.topK))
    }

    /// The train stage alone refuses before training the rating model when the ranking fit
    /// would not fit.
    @Test func trainStage_refusesBeforeTheRatingModelTrains() throws {
        let fixture = try PipelineFixture()
        try fixture.run()
        var c = try PipelineConfig.load(fixture.configPath)
        try FileManager.default.removeItem(atPath: c.paths.model)
        try FileManager.default.removeItem(atPath: c.paths.evalModel)
        c.memoryLimitGB = 0.000_01
        let ctx = StageContext(config: c, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let error = #expect(throws: RecError.self) { try TrainStage().run(ctx) }
        #expect(error?.message.hasPrefix("rec-train would need") == true)
        #expect(!FileManager.default.fileExists(atPath: c.paths.evalModel) && !FileManager.default.fileExists(atPath: c.paths.model))
        c.memoryLimitGB = 0.000_01
        let score = #expect(throws: RecError.self) { try ScoreStage().run(StageContext(config: c, logger: ctx.logger)) }
        #expect(score?.message.hasPrefix("rec-score would need") == true)
    }

    /// A shard builds the lists of its share of the users only: its plan counts that share,
    /// and the rest of the plan (the matrices and models every shard reads) stays whole.
    @Test func scorePlan_ofAShard_countsItsShareOfTheLists() throws {
        let c = try settings(["type": .string("ease")], extra: ["score": .object(["k": .int(10_000)])])
        let whole = MemoryChecks.scorePlan(c, ml25m), quarter = MemoryChecks.scorePlan(c, ml25m, listUsers: ml25m.users / 4)
        let lists = { (p: MemoryPlan) in p.parts.first { $0.setting == "score.k" }!.bytes }
        // users × k × (8 for the list + 24 for both products' items and scores), less for a quarter.
        #expect(lists(whole) >= ml25m.users * 10_000 * 32)
        #expect(lists(quarter) < lists(whole) / 3)
        #expect(whole.bytes - lists(whole) == quarter.bytes - lists(quarter))
    }

    /// `rec-score --shard` checks the same plan as a whole run, before it writes its part.
    @Test func shardOfScore_refusesUnderTheLimit_beforeWritingItsPart() throws {
        let f = try ShardFixture()
        for stage in Pipeline.stages.prefix(while: { !($0 is ScoreStage) }) { _ = try Runner.execute(stage, f.context) }
        var c = f.config
        c.memoryLimitGB = 0.000_01
        let ctx = StageContext(config: c, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let shard = try Shard.parse("0/2")
        let error = #expect(throws: RecError.self) { try ScoreStage(lists: .shard(shard)).run(ctx) }
        #expect(error?.kind == .config && error?.message.hasPrefix("rec-score would need") == true)
        #expect(!FileManager.default.fileExists(atPath: shard.part(c.paths.topK)))
        // Under a limit it fits, the same shard writes its part.
        c.memoryLimitGB = 8
        _ = try ScoreStage(lists: .shard(shard)).run(StageContext(config: c, logger: ctx.logger))
        #expect(FileManager.default.fileExists(atPath: shard.part(c.paths.topK)))
    }

    // MARK: - rec-ingest's plan

    /// Ratings files of random sizes and line lengths under random limits: `rec-ingest`
    /// refuses exactly when its plan (the text and 80 bytes per line) is above the limit,
    /// with a settings error naming the file, the estimate and the limit, and writes nothing.
    @Test func ingest_refusesBeforeReading_exactlyWhenItsPlanIsAboveTheLimit() throws {
        var rng = SplitMix64(seed: 11)
        for round in 0..<12 {
            let fixture = try PipelineFixture()
            var c = try PipelineConfig.load(fixture.configPath)
            // Lines of 8 to 40 bytes; some files pass the 1 MiB sample (estimated), most not (exact).
            let lines = 1 + rng.below(round % 4 == 3 ? 120_000 : 3_000), width = 8 + rng.below(33)
            let line = "1::1::5::" + String(repeating: "7", count: max(0, width - 10)) + "\n"
            try Data(String(repeating: line, count: lines).utf8).write(to: URL(fileURLWithPath: c.resolve(c.input.ratings)))
            let plan = try MemoryChecks.ingestPlan(c)
            let (_, estimated) = try MemoryChecks.estimateLines(c.resolve(c.input.ratings))
            #expect(abs(estimated - (lines + 1)) <= (lines + 1) / 50 + 1, "\(estimated) lines estimated for \(lines)")
            let below = rng.below(2) == 0
            c.memoryLimitGB = Double(below ? plan.bytes - 1 - rng.below(plan.bytes / 2) : plan.bytes + rng.below(plan.bytes)) / 1e9
            let ctx = StageContext(config: c, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
            if below && Int(c.memoryLimitGB * 1e9) < plan.bytes {
                let error = #expect(throws: RecError.self) { try IngestStage().run(ctx) }
                #expect(error?.kind == .config)
                #expect(error?.file == c.resolve(c.input.ratings))
                #expect(error?.message.hasPrefix("rec-ingest would need about \(MemoryPlan.format(plan.bytes))") == true, "\(String(describing: error))")
                #expect(error?.message.contains("(memoryLimitGB)") == true)
                #expect(error?.hint == "raise memoryLimitGB")
                #expect(!FileManager.default.fileExists(atPath: c.paths.ratings) && !FileManager.default.fileExists(atPath: c.paths.artefacts))
            } else {
                #expect(throws: Never.self) { try MemoryChecks.checkIngest(c) }
            }
        }
    }

    /// The score blocks grow with the workers, the lists with k: the hint names the setting of
    /// the part that is too large, never the other.
    @Test func scoreHint_namesWorkersWhenTheBlocksAreTooLarge_andScoreKWhenTheListsAre() throws {
        let data = MemoryChecks.DataSize(users: 1_000, items: 1_000_000, ratings: 1_000)
        var many = try settings(["type": .string("popularity")])
        many.workers = 1_024
        many.score.k = 1
        let blocks = MemoryChecks.scorePlan(many, data)
        let e1 = #expect(throws: RecError.self) { try blocks.check(MemoryPlan.Limit(bytes: blocks.bytes / 2, source: "memoryLimitGB")) }
        #expect(e1?.hint?.hasPrefix("change workers (or --workers)") == true, "\(String(describing: e1?.hint))")
        #expect(e1?.hint?.contains("score.k") == false)
        var long = many
        long.workers = 1
        long.score.k = 10_000
        let lists = MemoryChecks.scorePlan(long, MemoryChecks.DataSize(users: 2_000_000, items: 20_000, ratings: 1_000))
        let e2 = #expect(throws: RecError.self) { try lists.check(MemoryPlan.Limit(bytes: lists.bytes / 2, source: "memoryLimitGB")) }
        #expect(e2?.hint?.hasPrefix("change score.k") == true, "\(String(describing: e2?.hint))")
    }

    /// Epochs × batches beyond the optimiser's 32-bit step counts is a settings error naming
    /// both keys, for either model section; one step fewer passes.
    @Test func trainSteps_beyond32Bits_areASettingsError() throws {
        var rng = SplitMix64(seed: 17)
        for _ in 0..<20 {
            let users = 1 + rng.below(5_000_000), batch = 1 + rng.below(64)
            let batches = (users + batch - 1) / batch
            let epochs = min(100_000, MemoryChecks.maxSteps / batches + rng.below(3))
            let ranking = rng.below(2) == 0
            let section: [String: JSONValue] = ["type": .string("user-autoencoder"), "epochs": .int(epochs), "batchSize": .int(batch)]
            let c = try PipelineConfig.parse(.object(ranking ? ["rankingModel": .object(section)] : ["ratingModel": .object(section)]))
            let d = MemoryChecks.DataSize(users: users, items: 10, ratings: users)
            let name = ranking ? "rankingModel" : "ratingModel"
            if epochs * batches > MemoryChecks.maxSteps {
                let e = #expect(throws: RecError.self) { try MemoryChecks.checkSteps(c, d) }
                #expect(e?.kind == .config && e?.message.hasPrefix("'\(name).epochs'") == true)
                #expect(e?.hint == "lower \(name).epochs or raise \(name).batchSize")
            } else {
                #expect(throws: Never.self) { try MemoryChecks.checkSteps(c, d) }
            }
        }
    }
}
