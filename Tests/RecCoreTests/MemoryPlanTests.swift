import Foundation
import Testing
@testable import RecCore
@testable import RecPipeline

@Suite struct MemoryPlanTests {
    @Test func arithmetic_saturatesInsteadOfTrapping() {
        #expect(MemoryPlan.product(59_047, 59_047, 8) == 27_892_385_672)
        #expect(MemoryPlan.product(Int.max / 2, 3) == Int.max)
        #expect(MemoryPlan.product(5, -1) == 0)
        #expect(MemoryPlan.sum([Int.max, 1]) == Int.max)
        #expect(MemoryPlan.sum([3, -2, 4]) == 7)
        #expect(MemoryPlan(step: "x", parts: [.init("a", bytes: Int.max), .init("b", bytes: Int.max)]).bytes == Int.max)
    }

    @Test func check_withinTheLimit_passes() throws {
        let plan = MemoryPlan(step: "rec-train", parts: [.init("model", bytes: 600), .init("data", bytes: 400)])
        try plan.check(MemoryPlan.Limit(bytes: 1000, source: "test"))
    }

    @Test func check_aboveTheLimit_namesFigureLimitAndSettings() {
        let plan = MemoryPlan(step: "rec-train", parts: [
            .init("the ratings", bytes: 600_000_000),
            .init("EASE (exact solver, 59047 movies): G and P in Double", bytes: 27_892_385_672, setting: "rankingModel.solver"),
            .init("EASE: B in Float", bytes: 13_946_192_836, setting: "rankingModel.solver"),
        ])
        let limit = MemoryPlan.Limit(bytes: 21_000_000_000, source: "90 % of the physical memory, 23.4 GB")
        let error = #expect(throws: RecError.self) { try plan.check(limit) }
        #expect(error?.kind == .config)
        let text = error?.description ?? ""
        #expect(text.contains("rec-train would need about 42.4 GB"))
        #expect(text.contains("limit of 21.0 GB (90 % of the physical memory, 23.4 GB)"))
        #expect(text.contains("G and P in Double 27.9 GB"))
        #expect(error?.hint == "change rankingModel.solver, or run it on a machine with more memory")
    }

    @Test func check_againstTheSetting_saysToRaiseIt() {
        let plan = MemoryPlan(step: "rec-score", parts: [.init("lists", bytes: 3_000_000_000, setting: "score.k")])
        let error = #expect(throws: RecError.self) { try plan.check(MemoryPlan.limit(settingGB: 2)) }
        #expect(error?.hint == "change score.k, or raise memoryLimitGB")
        #expect(error?.message.contains("limit of 2.0 GB (memoryLimitGB)") == true)
    }

    @Test func limit_isTheSetting_orAShareOfThePhysicalMemory() {
        #expect(MemoryPlan.limit(settingGB: 8) == MemoryPlan.Limit(bytes: 8_000_000_000, source: "memoryLimitGB"))
        let physical = MemoryPlan.physicalMemory().bytes
        #expect(physical > 0 && UInt64(physical) <= ProcessInfo.processInfo.physicalMemory)
        let limit = MemoryPlan.limit(settingGB: 0)
        #expect(limit.bytes == Int(Double(physical) * MemoryPlan.physicalShare))
        #expect(limit.source.hasPrefix("90 % of the"))
    }

    @Test func format_usesPowersOfAThousand() {
        #expect(MemoryPlan.format(27_892_385_672) == "27.9 GB")
        #expect(MemoryPlan.format(512_000_000) == "512 MB")
        #expect(MemoryPlan.format(12_345) == "12 kB")
        #expect(MemoryPlan.format(Int.max) == "more than 9 EB")
    }

    @Test func config_memoryLimitGB_mustBeZeroOrPositive() throws {
        #expect(try PipelineConfig.parse(.object(["memoryLimitGB": .double(6.5)])).memoryLimitGB == 6.5)
        #expect(throws: RecError.self) { try PipelineConfig.parse(.object(["memoryLimitGB": .double(-1)])) }
    }
}
