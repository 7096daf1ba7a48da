import Foundation
import Testing

/// What is published is what users should see: lists from models refitted on every rating,
/// never a movie the user rated; evaluation stays honest beside it; a quality gate guards the
/// publication.
@Suite struct ServingTests {
    static let exports = ["recommendations.csv", "recommendations.jsonl", "metrics.json", "report.html", "similar.csv", "similar.jsonl"]

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
    func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: bytes(path)) as! [String: Any]
    }

    /// (user, movie) pairs of the published CSV.
    func published(_ f: Fixture) throws -> [(user: Int, movie: Int)] {
        parseCSV(String(decoding: try bytes(f.path("output/recommendations.csv")), as: UTF8.self)).dropFirst().map { (Int($0[0])!, Int($0[2])!) }
    }

    @Test(arguments: [Fixture.Format.ml1mWithTimestamps, .ml100k])
    func servedLists_holdNoMovieTheUserRated_andKRowsForEveryUser(_ format: Fixture.Format) throws {
        let f = try Fixture(format)
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0, "\(r.stderr)")
        // Against the fixture's raw ratings, not the artefacts.
        let rated = Set(f.ratings.map { "\($0.user)/\($0.movie)" })
        let pairs = try published(f)
        #expect(pairs.filter { rated.contains("\($0.user)/\($0.movie)") }.isEmpty)
        let ratedMovies = Set(f.ratings.map(\.movie))
        #expect(pairs.allSatisfy { ratedMovies.contains($0.movie) }, "a movie nobody rated was recommended")
        let perUser = Dictionary(grouping: pairs, by: \.user).mapValues(\.count)
        #expect(perUser.count == Fixture.users && perUser.values.allSatisfy { $0 == 5 })
        // The independent checker agrees.
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/check_served.py").standardized.path
        let ratingsFile = format == .ml100k ? "u.data" : "ratings.dat"
        let check = try runTool("python3", [script, f.path(ratingsFile), f.path("output/recommendations.csv"), "--k", "5"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("already rated: 0"))
    }

    @Test func servedModels_seeEveryRating_andTheirListsDifferFromTheEvaluationLists() throws {
        let f = try Fixture(.ml1mWithTimestamps, extraConfig: ["rankingModel": ["type": "ease", "lambda": 20]])
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let metrics = try json(f.path("output/metrics.json"))
        let served = try #require(metrics["served"] as? [String: Any])
        #expect(served["ratings"] as? Int == f.ratings.count)
        let counts = try #require(metrics["counts"] as? [String: Int])
        #expect(counts["train"]! + counts["validation"]! + counts["test"]! == f.ratings.count)
        #expect((metrics["evaluation"] as? String)?.contains("held-out split") == true)
        // The train manifest records what each fit saw.
        let manifest = try json(f.path("output/artefacts/manifests/train.json"))
        let stats = try #require(manifest["stats"] as? [String: Any])
        #expect((stats["serving"] as? [String: Any])?["ratings"] as? Int == f.ratings.count)
        // Evaluation lists stay an artefact that rec-inspect dumps, and differ from the served ones.
        let evaluation = try run("rec-inspect", [f.path("output/artefacts/eval-topk.art"), "--csv"])
        let servedDump = try run("rec-inspect", [f.path("output/artefacts/topk.art"), "--csv"])
        #expect(evaluation.status == 0 && evaluation.stdout.hasPrefix("user_id,rank,movie_id,score"))
        #expect(evaluation.stdout != servedDump.stdout)
        // The report says which is which.
        let report = String(decoding: try bytes(f.path("output/report.html")), as: UTF8.self)
        #expect(report.contains("held-out split") && report.contains("refitted on all \(f.ratings.count) ratings"))
    }

    @Test func qualityGate_refusesAWorseRun_keepsThePreviousExports_andExitsFour() throws {
        let f = try Fixture(.ml1mWithTimestamps, extraConfig: ["rankingModel": ["type": "ease", "lambda": 20]])
        try f.setConfig { $0["qualityGate"] = ["maxNDCGDrop": 0.1] }
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let before = try Self.exports.map { try bytes(f.path("output/" + $0)) }
        let published = try json(f.path("output/metrics.json"))
        let ndcg = try #require((published["ranking"] as? [String: Any])?["ndcg"] as? Double)
        // An NDCG floor above what any list reaches: refused by the absolute bound.
        try f.setConfig { $0["qualityGate"] = ["minNDCG": ndcg + 0.5] }
        let floor = try run("rec-pipeline", ["--config", f.configPath])
        #expect(floor.status == 4, "\(floor.stderr)")
        #expect(floor.stderr.contains("is below qualityGate.minNDCG"), "\(floor.stderr)")
        #expect(try Self.exports.map { try bytes(f.path("output/" + $0)) } == before)
        // A worse configuration (lists by a badly trained rating model): refused by the drop
        // against the published run.
        try f.setConfig {
            $0["qualityGate"] = ["maxNDCGDrop": 0.1]
            $0["rankingModel"] = ["type": "rating-model"]
            $0["ratingModel"] = ["hidden": [4], "epochs": 1, "batchSize": 64, "learningRate": 0.0001]
        }
        let worse = try run("rec-pipeline", ["--config", f.configPath])
        #expect(worse.status == 4, "\(worse.stderr)")
        #expect(worse.stderr.contains("below the published run's") && worse.stderr.contains("maxNDCGDrop"), "\(worse.stderr)")
        #expect(try Self.exports.map { try bytes(f.path("output/" + $0)) } == before)
        // Switched off, the same run publishes.
        try f.setConfig { $0["qualityGate"] = ["maxNDCGDrop": NSNull(), "maxRMSERise": NSNull()] }
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        #expect(try bytes(f.path("output/recommendations.csv")) != before[0])
    }

    @Test func temporalSplit_holdsOutEachUsersLatestRatings() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        try f.setConfig { $0["split"] = ["method": "temporal", "testRatio": 0.2, "validationRatio": 0.1] }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0, "\(r.stderr)")
        // The fixture's timestamps grow with the line number: the latest lines are the test.
        let stamp = Dictionary(uniqueKeysWithValues: f.ratings.enumerated().map { ("\($1.user)/\($1.movie)", $0) })
        func part(_ name: String) throws -> [String: [Int]] {
            let csv = try run("rec-inspect", [f.path("output/artefacts/\(name).art"), "--csv"]).stdout
            var out: [String: [Int]] = [:]
            for row in parseCSV(csv).dropFirst() { out[row[0], default: []].append(stamp["\(row[0])/\(row[1])"]!) }
            return out
        }
        let train = try part("train"), validation = try part("validation"), test = try part("test")
        for (user, times) in test {
            #expect(times.min()! > (train[user] ?? []).max() ?? -1, "user \(user): a test rating is older than a train rating")
            #expect(times.min()! > (validation[user] ?? []).max() ?? -1)
            #expect((validation[user] ?? []).min() ?? Int.max > (train[user] ?? []).max() ?? -1)
        }
        #expect(!test.isEmpty)
    }

    @Test func temporalSplit_withoutTimestamps_isASettingsErrorNamingTheSetting() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        try f.setConfig { $0["split"] = ["method": "temporal", "testRatio": 0.2] }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 2)
        #expect(r.stderr.contains("'split.method' temporal needs a timestamp"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.path("output/recommendations.csv")))
    }

    @Test func servingOnly_skipsTheEvaluation_andStillServesCleanLists() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        try f.setConfig { $0["evaluation"] = ["enabled": false] }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0, "\(r.stderr)")
        let metrics = try json(f.path("output/metrics.json"))
        #expect((metrics["evaluation"] as? String)?.hasPrefix("skipped") == true)
        #expect((metrics["served"] as? [String: Any])?["ratings"] as? Int == f.ratings.count)
        #expect(!FileManager.default.fileExists(atPath: f.path("output/artefacts/eval-model.art")))
        let rated = Set(f.ratings.map { "\($0.user)/\($0.movie)" })
        let pairs = try published(f)
        #expect(pairs.count == Fixture.users * 5 && pairs.allSatisfy { !rated.contains("\($0.user)/\($0.movie)") })
    }

    @Test func kBeyondTheCandidates_listsFewerRows_neverAMovieNobodyRated() throws {
        let f = try Fixture(.ml1mWithTimestamps, extraConfig: ["rankingModel": ["type": "ease", "lambda": 20]])
        try f.setConfig { $0["score"] = ["k": 60] } // more than the 45 movies
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let pairs = try published(f)
        let ratedMovies = Set(f.ratings.map(\.movie))
        #expect(pairs.allSatisfy { ratedMovies.contains($0.movie) })
        let rated = Dictionary(grouping: f.ratings, by: \.user).mapValues { Set($0.map(\.movie)) }
        for (user, rows) in Dictionary(grouping: pairs, by: \.user) {
            #expect(rows.count == ratedMovies.subtracting(rated[user]!).count, "user \(user)")
        }
        let metrics = try json(f.path("output/metrics.json"))
        let coverage = try #require((metrics["ranking"] as? [String: Any])?["coverage"] as? Double)
        #expect(coverage <= 1)
    }

    @Test func switchingTheRanker_rerunsScoreAndExport_likeAForcedRun() throws {
        let f = try Fixture(.ml100k)
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        try f.setConfig { $0["rankingModel"] = ["type": "popularity"] }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0)
        #expect(r.stderr.contains("score: running") && r.stderr.contains("export: running"), "\(r.stderr)")
        let incremental = try Self.exports.map { try bytes(f.path("output/" + $0)) }
        #expect(try run("rec-pipeline", ["--config", f.configPath, "--force"]).status == 0)
        #expect(try Self.exports.map { try bytes(f.path("output/" + $0)) } == incremental)
    }

    @Test(arguments: [
        (#"{"score": {"k": 4611686018427387904}}"#, "'score.k' must be 1 to"),
        (#"{"score": {"k": 1e9}}"#, "'score.k' must be 1 to"),
        (#"{"ratingModel": {"batchSize": 9223372036854775807}}"#, "'ratingModel.batchSize' must be 1 to"),
        (#"{"ratingModel": {"hidden": [4611686018427387904]}}"#, "'ratingModel.hidden' must be"),
        (#"{"ratingModel": {"hidden": [1e9]}}"#, "'ratingModel.hidden' must be"),
        (#"{"workers": 3000000000, "rankingModel": {"type": "ease"}}"#, "'workers' must be 0 (all cores) to"),
        (#"{"ratingModel": {"type": "item-autoencoder"}}"#, "'rankingModel.type' rating-model needs a user-based rating model"),
    ])
    func settingsThatCannotWork_stopBeforeAnyStage_withExitTwo(_ c: (json: String, message: String)) throws {
        let f = try Fixture(.ml1mNoTimestamps)
        let change = try JSONSerialization.jsonObject(with: Data(c.json.utf8)) as! [String: Any]
        try f.setConfig { for (k, v) in change { $0[k] = v } }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains(c.message), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.path("output/artefacts/ratings.art")), "a stage ran before the error")
    }

    @Test func testRatioThatHoldsOutNothing_isASettingsErrorNamingIt() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        try f.setConfig { $0["split"] = ["testRatio": 1e-300] }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 2)
        #expect(r.stderr.contains("'split.testRatio'") && r.stderr.contains("holds out no rating"), "\(r.stderr)")
    }
}
