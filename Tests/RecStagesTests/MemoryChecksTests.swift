import Foundation
import Logging
import RecKit
import RecModels
@testable import RecStages
import Testing

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
        defer { fixture.remove() }
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
        s["memoryLimitGB"] = .double(0.000_01) // 10 kB: below any plan
        let fixture = try PipelineFixture(settings: s)
        defer { fixture.remove() }
        let error = #expect(throws: RecError.self) { try fixture.run() }
        #expect(error?.kind == .config)
        #expect(error?.message.contains("rec-train would need about") == true)
        #expect(error?.message.contains("(memoryLimitGB)") == true)
        let c = try PipelineConfig.load(fixture.configPath)
        #expect(FileManager.default.fileExists(atPath: c.paths.ratings))
        #expect(!FileManager.default.fileExists(atPath: c.paths.train))
        // With a limit it fits under, the same folder runs to the end.
        s["memoryLimitGB"] = .double(8)
        try fixture.write(s)
        try fixture.run()
        #expect(FileManager.default.fileExists(atPath: c.paths.topK))
    }

    /// The train stage alone refuses before training the rating model when the ranking fit
    /// would not fit.
    @Test func trainStage_refusesBeforeTheRatingModelTrains() throws {
        let fixture = try PipelineFixture()
        defer { fixture.remove() }
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
}
