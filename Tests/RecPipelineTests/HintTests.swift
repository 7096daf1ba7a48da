import Foundation
import Logging
import Testing
@testable import RecCore
@testable import RecPipeline

/// The advice in an error must be right for its cause: following it must help, and an error
/// that no change of the named setting can fix must not suggest changing it.
@Suite struct HintTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// Writes `counts[u]` ratings for user u + 1 (movies 1, 2, ...) and runs ingest then split.
    func split(counts: [Int], testRatio: Double, validationRatio: Double = 0) throws -> RecError? {
        var s = PipelineFixture.baseSettings
        s["split"] = .object(["seed": .int(3), "testRatio": .double(testRatio), "validationRatio": .double(validationRatio)])
        let fixture = try PipelineFixture(settings: s)
        var lines = ""
        for (u, n) in counts.enumerated() { for m in 0..<n { lines += "\(u + 1)::\(m + 1)::\(1 + (u + m) % 5)::\(978_300_000 + m)\n" } }
        try Data(lines.utf8).write(to: URL(fileURLWithPath: fixture.file("ratings.dat")))
        let ctx = StageContext(config: try PipelineConfig.load(fixture.configPath), logger: logger)
        _ = try Runner.execute(IngestStage(), ctx)
        do {
            _ = try Runner.execute(SplitStage(), ctx)
            return nil
        } catch let e as RecError {
            return e
        }
    }

    /// Every user has one rating: a user's only rating stays in train, so no testRatio holds
    /// one out and the hint must not say to raise it.
    @Test func split_whenEveryUserHasOneRating_doesNotSayRaiseTestRatio() throws {
        for users in [1, 2, 7, 30] {
            for ratio in [0.05, 0.5, 0.99] {
                let error = try split(counts: Array(repeating: 1, count: users), testRatio: ratio)
                #expect(error?.kind == .config)
                #expect(error?.message.contains("'split.testRatio'") == true)
                let hint = error?.hint ?? ""
                #expect(!hint.contains("raise split.testRatio to"), "\(hint)")
                #expect(hint.contains("cannot help") && hint.contains("at least 2 ratings"), "\(hint)")
            }
        }
    }

    /// Random per-user counts and a ratio too small for any of them: the hint names a ratio,
    /// and that ratio (followed as given) holds out a rating.
    @Test func split_whenTheRatioRoundsToZero_theHintsRatioWorks() throws {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<8 {
            let counts = (0..<(1 + rng.below(12))).map { _ in 1 + rng.below(30) }
            let most = counts.max()!
            guard most >= 2 else { continue }
            let tooSmall = 0.49 / Double(most) * Double(1 + rng.below(100)) / 100
            let error = try split(counts: counts, testRatio: tooSmall)
            let hint = try #require(error?.hint, "counts \(counts), ratio \(tooSmall)")
            let words = hint.split(separator: " ")
            let given = try #require(words.firstIndex(of: "least").flatMap { Double(words[$0 + 1]) }, "\(hint)")
            #expect(hint.contains("has \(most))"), "\(hint)")
            let again = try split(counts: counts, testRatio: given)
            #expect(again == nil, "following '\(hint)' still fails: \(String(describing: again))")
        }
    }

    /// Validation: users with 2 ratings keep one in train and give one to test, so nothing is
    /// left for validation whatever its ratio; the hint must not suggest raising it.
    @Test func split_whenNothingIsLeftForValidation_doesNotSayRaiseValidationRatio() throws {
        let error = try split(counts: Array(repeating: 2, count: 9), testRatio: 0.5, validationRatio: 0.9)
        #expect(error?.message.contains("'split.validationRatio'") == true)
        let hint = error?.hint ?? ""
        #expect(!hint.contains("raise split.validationRatio to") && hint.contains("cannot help"), "\(hint)")
    }
}
