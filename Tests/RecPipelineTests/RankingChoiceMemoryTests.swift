import Foundation
import Testing
@testable import RecCore
@testable import RecModels
@testable import RecPipeline

/// A choice of ranking model holds more than one EASE at once; its memory plan says so, with
/// the same guards (the blocked solver above 5,000 movies, `maxItems`) as EASE's.
@Suite struct RankingChoiceMemoryTests {
    let ml25m = MemoryChecks.DataSize(users: 162_541, items: 59_047, ratings: 25_000_095)

    func settings(_ ranking: [String: JSONValue]) throws -> PipelineConfig {
        try PipelineConfig.parse(.object(["rankingModel": .object(ranking.merging(["type": .string("choice")]) { $1 }),
                                          "split": .object(["validationRatio": .double(0.05)])]))
    }

    @Test func defaultChoice_onML25M_usesTheBlockedSolver_andFitsInAFewGB() throws {
        let c = try settings([:])
        let train = MemoryChecks.trainPlan(c, ml25m), score = MemoryChecks.scorePlan(c, ml25m)
        #expect(train.parts.contains { $0.what.contains("blocked solver, 10000 movies") })
        // EASE's fit (0.8 GB) and three B of 10,000 × 10,000 (1.2 GB).
        #expect(train.parts.contains { $0.what.contains("B of 3 models") && $0.bytes == 3 * 10_000 * 10_000 * 4 })
        #expect(train.bytes < 6_000_000_000 && score.bytes < 6_000_000_000, "\(train.bytes), \(score.bytes)")
        let ease = MemoryChecks.trainPlan(try PipelineConfig.parse(.object(["rankingModel": .object(["type": .string("ease")])])), ml25m)
        #expect(train.bytes > ease.bytes)
    }

    @Test func exactChoice_onML25M_isRefused_namingTheSolver() throws {
        let plan = MemoryChecks.trainPlan(try settings(["solver": .string("exact")]), ml25m)
        // G shared in Double (27.9 GB), the fit's G and P (27.9 GB), and the models' B.
        #expect(plan.bytes > 55_000_000_000)
        let error = #expect(throws: RecError.self) { try plan.check(MemoryPlan.Limit(bytes: 24_000_000_000, source: "test")) }
        #expect(error?.hint?.contains("rankingModel.solver") == true)
    }

    @Test func fewerCandidates_planFewerModels() throws {
        let one = MemoryChecks.trainPlan(try settings(["candidates": .array([.string("dlae")]), "dlaeDropouts": .array([.double(0.5)])]), ml25m)
        #expect(one.parts.contains { $0.what.contains("B of 2 models") })
    }
}
