import Foundation
import Testing

/// `"rankingModel": {"type": "choice"}` through the real executables: the choice made on
/// validation, every candidate's figures in metrics.json and the report, the same bytes for any
/// worker count, and no choice without a validation slice.
@Suite struct RankingChoiceTests {
    static var choice: [String: Any] { [
        "type": "choice", "candidates": ["ease", "dlae", "blend"], "easeLambdas": [5, 30], "dlaeLambdas": [5, 30],
        "dlaeDropouts": [0.25, 0.5], "blendMembers": ["ease", "dlae", "popularity"], "blendStep": 0.25,
    ] }

    static func object(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: bytes(path)) as! [String: Any]
    }

    @Test func choice_isMadeOnValidation_andEveryCandidateIsReported() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        try f.setConfig { $0["rankingModel"] = Self.choice }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        try #require(r.status == 0, "\(r.stderr)")
        let metrics = try Self.object(f.path("output/metrics.json"))
        let report = try #require(metrics["rankingCandidates"] as? [String: Any])
        let candidates = try #require(report["candidates"] as? [[String: Any]])
        #expect(candidates.map { $0["name"] as? String } == ["ease", "dlae", "blend"])
        func ndcg(_ c: [String: Any], _ slice: String) -> Double { ((c[slice] as? [String: Any])?["ndcg"] as? Double) ?? -1 }
        let chosen = try #require(report["chosen"] as? String)
        let best = candidates.map { ndcg($0, "validation") }.max()!
        let picked = try #require(candidates.first { $0["name"] as? String == chosen })
        // The chosen one has the best validation NDCG, the first such in candidate order.
        #expect(ndcg(picked, "validation") == best)
        #expect(candidates.first { ndcg($0, "validation") == best }?["name"] as? String == chosen)
        // The blend is never worse on validation than its best member.
        #expect(ndcg(candidates[2], "validation") >= max(ndcg(candidates[0], "validation"), ndcg(candidates[1], "validation")))
        // Every candidate has test figures; the chosen one's are the run's own lists'.
        #expect(candidates.allSatisfy { ndcg($0, "test") >= 0 })
        #expect(NSDictionary(dictionary: picked["test"] as! [String: Any]).isEqual(to: metrics["ranking"] as! [String: Any]))
        // The grids were compared: two λ for EASE, four (λ, p) for DLAE, 15 blend weightings.
        #expect((report["grid"] as? [Any])?.count == 6)
        #expect((report["blendGrid"] as? [Any])?.count == 15)
        let html = try read(f.path("output/report.html"))
        #expect(html.contains("<section id=\"ranking-candidates\">") && html.contains("<tr class=\"candidate chosen\">"))
        #expect(html.contains("read once, after the choice"))
        let served = try #require((metrics["served"] as? [String: Any])?["choices"] as? [String: Any])
        #expect((served["rankingModel"] as? [String: Any])?["chosen"] as? String == chosen)
    }

    @Test func workers_oneOrThree_giveByteIdenticalModelsListsAndFigures() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        try f.setConfig { $0["rankingModel"] = Self.choice }
        try f.expectSameBytes(["output/artefacts/eval-ranking-model.art", "output/artefacts/ranking-model.art", "output/artefacts/eval-topk.art",
                               "output/artefacts/topk.art", "output/recommendations.csv", "output/metrics.json"], workers: 3)
    }

    @Test func noValidationSlice_isASettingsErrorNamingTheKey() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        try f.setConfig {
            $0["rankingModel"] = Self.choice
            $0["split"] = ["seed": 3, "testRatio": 0.25, "validationRatio": 0]
        }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 2)
        #expect(r.stderr.contains("'rankingModel.candidates'") && r.stderr.contains("validation"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.path("output/recommendations.csv")))
    }

    /// One candidate with one value per grid is a fixed model: served without evaluation.
    @Test func oneFixedCandidate_servesWithoutEvaluation() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        try f.setConfig {
            $0["rankingModel"] = ["type": "choice", "candidates": ["dlae"], "dlaeLambdas": [10]]
            $0["evaluation"] = ["enabled": false]
        }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0, "\(r.stderr)")
        let metrics = try Self.object(f.path("output/metrics.json"))
        let served = try #require((metrics["served"] as? [String: Any])?["choices"] as? [String: Any])
        #expect((served["rankingModel"] as? [String: Any])?["chosen"] as? String == "dlae")
    }
}
