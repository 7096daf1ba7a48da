import Foundation
import Testing

/// The stage executables run by hand on artefacts that other settings, another run or an
/// edit made: refused with exit code 2 naming the stage to run first, the exports untouched.
@Suite(.serialized)
struct StaleChainTests {
    static let exports = ["output/recommendations.csv", "output/recommendations.jsonl", "output/metrics.json", "output/report.html"]

    static func ease(_ lambda: Double) -> [String: Any] { ["rankingModel": ["type": "ease", "lambda": lambda]] }

    @Test func lambdaChanged_scoreAndExportByHandRefuse_namingTrain_thenTrainScoreExportByHandEqualAFreshRun() throws {
        let f = try Fixture(.ml1mWithTimestamps, extraConfig: Self.ease(20))
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let before = try Self.exports.map { try bytes(f.path($0)) }
        try f.setConfig { $0["rankingModel"] = ["type": "ease", "lambda": 80] }

        for (exe, args) in [("rec-score", [String]()), ("rec-export", []), ("rec-pipeline", ["--only", "score"]), ("rec-pipeline", ["--from", "export"])] {
            let r = try run(exe, ["--config", f.configPath] + args)
            #expect(r.status == 2, "\(exe) \(args): \(r.stderr)")
            #expect(r.stderr.contains("model.art: ") && r.stderr.contains("was made by rec-train under other settings (setting rankingModel.lambda changed)"),
                    "\(exe) \(args): \(r.stderr)")
            #expect(r.stderr.contains("run rec-train first"), "\(exe) \(args): \(r.stderr)")
            #expect(try Self.exports.map { try bytes(f.path($0)) } == before, "\(exe) \(args) changed the exports")
        }
        for exe in ["rec-train", "rec-score", "rec-export"] {
            let r = try run(exe, ["--config", f.configPath, "--quiet"])
            #expect(r.status == 0, "\(exe): \(r.stderr)")
        }
        let fresh = try Fixture(.ml1mWithTimestamps, extraConfig: Self.ease(80))
        #expect(try run("rec-pipeline", ["--config", fresh.configPath, "--force"]).status == 0)
        let byHand = try Self.exports.map { try bytes(f.path($0)) }
        #expect(byHand != before)
        #expect(byHand == (try Self.exports.map { try bytes(fresh.path($0)) }), "the stages run by hand publish other bytes than a fresh run")
    }

    @Test func artefactCopiedFromAnotherConfiguration_isRefused_andTheRunnerRebuildsIt() throws {
        let f = try Fixture(.ml1mNoTimestamps, extraConfig: Self.ease(20))
        let other = try Fixture(.ml1mNoTimestamps, extraConfig: Self.ease(60))
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        #expect(try run("rec-pipeline", ["--config", other.configPath]).status == 0)
        let before = try Self.exports.map { try bytes(f.path($0)) }
        for (artefact, reader, writer) in [("ranking-model.art", "rec-score", "rec-train"), ("topk.art", "rec-export", "rec-score"),
                                           ("metrics.json", "rec-export", "rec-score")] {
            let path = f.path("output/artefacts/" + artefact)
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: other.path("output/artefacts/" + artefact), toPath: path)
            let r = try run(reader, ["--config", f.configPath])
            #expect(r.status == 2, "\(reader) on a foreign \(artefact): \(r.stderr)")
            #expect(r.stderr.contains("\(artefact): is not the file \(writer) wrote") && r.stderr.contains("run \(writer) first"), "\(r.stderr)")
            #expect(try Self.exports.map { try bytes(f.path($0)) } == before)
            let healed = try run("rec-pipeline", ["--config", f.configPath])
            #expect(healed.status == 0, "\(healed.stderr)")
            #expect(try Self.exports.map { try bytes(f.path($0)) } == before)
        }
    }

    @Test func ratingsFileChangedAfterIngest_exportByHandRefusesNamingIngest() throws {
        let f = try Fixture(.ml100k)
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let before = try Self.exports.map { try bytes(f.path($0)) }
        var text = try read(f.path("u.data"))
        text += "1\t44\t5\t881250999\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: f.path("u.data")))
        let r = try run("rec-export", ["--config", f.configPath])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("u.data") && r.stderr.contains("run rec-ingest first, then rec-split, rec-build-matrix, rec-train, rec-score, rec-export"), "\(r.stderr)")
        #expect(try Self.exports.map { try bytes(f.path($0)) } == before)
    }
}
