import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecPipeline
import RecTestSupport

/// The ranking choice's budget (`rankingModel.maxValidationUsers`): which users' validation
/// lists judge the choice, and what metrics.json says about it.
@Suite struct ChoiceBudgetTests {
    /// A random matrix with `rows` rows, some of them empty.
    static func matrix(rows: Int, cols: Int, seed: UInt64) -> CSRMatrix {
        var rng = SplitMix64(seed: seed)
        var start = [0], columns: [Int32] = [], values: [Float] = []
        for _ in 0..<rows {
            let picked = Set((0..<rng.below(4)).map { _ in Int32(rng.below(cols)) }).sorted()
            columns += picked
            values += picked.map { _ in Float(1 + rng.below(5)) }
            start.append(columns.count)
        }
        return CSRMatrix(rows: rows, cols: cols, rowStart: start, columns: columns, values: values)
    }

    static func bytes(_ f: PipelineFixture, _ export: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: try PipelineConfig.load(f.configPath).paths.output + "/" + export))
    }

    @Test(arguments: 0..<20)
    func rowsAt_equalsThePickedRowsOneByOne(seed: Int) {
        let m = Self.matrix(rows: 30, cols: 12, seed: UInt64(seed))
        var rng = SplitMix64(seed: UInt64(seed) + 100)
        let picked = (0..<rng.below(40)).map { _ in rng.below(30) }
        let sub = m.rows(at: picked)
        #expect(sub.rows == picked.count && sub.cols == m.cols && sub.rowStart.count == picked.count + 1)
        for (i, r) in picked.enumerated() {
            #expect(Array(sub.columns[sub.row(i)]) == Array(m.columns[m.row(r)]))
            #expect(Array(sub.values[sub.row(i)]) == Array(m.values[m.row(r)]))
        }
        #expect(m.rows(at: Array(0..<m.rows)) == m)
    }

    /// At most `most` users, each with validation ratings, in user order, their rows and ids
    /// those of the full matrices; the same users for the same seed, other users for another;
    /// no sample at all when the users fit (or the budget is 0).
    @Test(arguments: 0..<12)
    func judgedUsers_areASeededSampleOfUsersWithValidationRatings(seed: Int) {
        let validation = Self.matrix(rows: 200, cols: 15, seed: UInt64(seed))
        let input = Self.matrix(rows: 200, cols: 15, seed: UInt64(seed) + 50)
        let ids = IdMaps(userIds: (0..<200).map { Int32(1000 + 3 * $0) }, itemIds: (0..<15).map { Int32($0 + 1) })
        let withRatings = (0..<200).filter { !validation.row($0).isEmpty }
        let most = 1 + seed * 9
        let judged = JudgedUsers(input: input, validation: validation, ids: ids, most: most, seed: 7)
        #expect(judged.sample?.size == most && judged.sample?.of == withRatings.count)
        let users = judged.ids.userIds.map { Int(($0 - 1000) / 3) }
        #expect(users.count == most && users == users.sorted() && Set(users).count == most)
        #expect(users.allSatisfy { withRatings.contains($0) })
        #expect(judged.input == input.rows(at: users) && judged.validation == validation.rows(at: users))
        #expect(judged.ids.itemIds == ids.itemIds)
        let again = JudgedUsers(input: input, validation: validation, ids: ids, most: most, seed: 7)
        #expect(again.ids == judged.ids)
        if most < withRatings.count / 2 {
            #expect(JudgedUsers(input: input, validation: validation, ids: ids, most: most, seed: 8).ids != judged.ids)
        }
        for all in [0, withRatings.count, withRatings.count + 1] {
            let every = JudgedUsers(input: input, validation: validation, ids: ids, most: all, seed: 7)
            #expect(every.sample == nil && every.input == input && every.validation == validation && every.ids == ids)
        }
    }

    @Test func negativeBudget_isASettingsErrorNamingTheKey() throws {
        let e = try ConfigTests.error(#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "maxValidationUsers": -1}}"#)
        #expect(e.message.contains("'rankingModel.maxValidationUsers' must be 0"), "\(e.message)")
    }

    /// Through the pipeline: a budget below the fixture's users samples them and says so in
    /// metrics.json; a budget of 0 (every user) gives the figures of a budget above the users.
    @Test func pipeline_withASmallBudget_reportsTheSample_andAnAmpleBudgetEqualsEveryUser() throws {
        func run(_ budget: Int) throws -> (metrics: JSONValue, f: PipelineFixture) {
            var s = PipelineFixture.baseSettings
            s["rankingModel"] = .object(["type": .string("choice"), "easeLambdas": .array([.int(5), .int(30)]), "dlaeLambdas": .array([.int(5)]),
                                         "maxValidationUsers": .int(budget)])
            let f = try PipelineFixture(settings: s)
            try f.run()
            let c = try PipelineConfig.load(f.configPath)
            let metrics = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: c.paths.metrics)))
            return (metrics, f)
        }
        let small = try run(7)
        guard case .object(let report)? = small.metrics["rankingCandidates"] else { Issue.record("no rankingCandidates"); return }
        #expect(report["sampledUsers"] == .int(7))
        #expect(report["protocolNote"]?.stringValue?.contains("were those of 7 of the") == true, "\(String(describing: report["protocolNote"]))")
        let every = try run(0), ample = try run(PipelineFixture.users)
        func choice(_ m: JSONValue) -> JSONValue? { m["rankingCandidates"] }
        #expect(choice(every.metrics) != nil && choice(every.metrics) == choice(ample.metrics))
        if case .object(let r)? = choice(every.metrics) { #expect(r["sampledUsers"] == nil) }
        #expect(try Self.bytes(every.f, "recommendations.csv") == Self.bytes(ample.f, "recommendations.csv"))
    }
}
