import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecPipeline

/// What a stage reports: its manifest record holds the facts and ingest's line reports, never
/// the score stage's printed summary; skipped lines are counted over both input files.
@Suite struct StageResultTests {
    @Test(arguments: 0..<10)
    func recorded_holdsFactsAndLineReports_notTheSummary(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let reasons = LineProblem.allCases.map(\.rawValue)
        func report() -> LineReport {
            var r = LineReport()
            r.linesRead = rng.below(1000)
            for reason in reasons where rng.below(2) == 0 { r.skipped[reason] = 1 + rng.below(9) }
            return r
        }
        let ratings = report(), movies = report()
        let facts: [String: JSONValue] = ["ratings": .int(rng.below(100)), "users": .int(3)]
        let result = StageResult(facts, lines: .init(ratings: ratings, movies: movies), summary: "NDCG@10 0.3\n")
        guard case .object(let recorded) = try result.recorded() else { Issue.record("not an object"); return }
        #expect(Set(recorded.keys) == Set(facts.keys).union([StageResult.ratingsLinesKey, StageResult.moviesLinesKey]))
        #expect(recorded[StageResult.ratingsLinesKey] == (try JSONValue.from(ratings)))
        #expect(recorded[StageResult.moviesLinesKey] == (try JSONValue.from(movies)))
        for reason in reasons {
            #expect(result.skipped[reason, default: 0] == ratings.skipped[reason, default: 0] + movies.skipped[reason, default: 0])
        }
        let plain = StageResult(facts, summary: "text")
        #expect(try plain.recorded() == .object(facts) && plain.skipped.isEmpty)
    }
}
