import Foundation
import Testing
@testable import RecCore
@testable import RecData

/// rec-pipeline's node_exporter textfile (`monitoring.textfile`), parsed with Prometheus's own
/// Python client (`prometheus_client.parser`), after a successful run, a skipped run, a failed
/// run and a run whose settings do not load; its figures against metrics.json, the stage
/// records and the fixture.
@Suite struct MonitoringTests {
    /// One parsed sample.
    struct Sample: Decodable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// One parsed metric family.
    struct Family: Decodable {
        var name: String
        var type: String
        var help: String
        var samples: [Sample]
    }

    /// The file as prometheus_client reads it.
    struct Parsed {
        var families: [Family]

        /// The value of the sample with this name and (at least) these labels; nil if none.
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            let matches = families.flatMap(\.samples).filter { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }
            return matches.count == 1 ? matches[0].value : nil
        }
    }

    static func parse(_ path: String) throws -> Parsed {
        let r = try runPython("""
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            text = open(sys.argv[1], encoding="utf-8").read()
            print(json.dumps([{"name": f.name, "type": f.type, "help": f.documentation,
                               "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
                              for f in text_string_to_metric_families(text)]))
            """, [path])
        #expect(r.status == 0, "prometheus_client: \(r.stderr)")
        guard r.status == 0 else { return Parsed(families: []) }
        return Parsed(families: try JSONDecoder().decode([Family].self, from: Data(r.stdout.utf8)))
    }

    static let stages = ["ingest", "split", "build-matrix", "train", "score", "export"]

    /// Names, types, help and the `config` label of every family.
    static func expectConventions(_ p: Parsed, config: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!p.families.isEmpty, sourceLocation: sourceLocation)
        for f in p.families {
            #expect(f.name.hasPrefix("rec_pipeline_"), "\(f.name)", sourceLocation: sourceLocation)
            #expect(["gauge", "counter"].contains(f.type), "\(f.name): \(f.type)", sourceLocation: sourceLocation)
            #expect(!f.help.isEmpty, "\(f.name) has no HELP", sourceLocation: sourceLocation)
            for s in f.samples {
                #expect(s.labels["config"] == config, "\(s.name)", sourceLocation: sourceLocation)
                if f.type == "counter" { #expect(s.name == f.name + "_total", "\(s.name)", sourceLocation: sourceLocation) }
                if s.name.contains("duration") || s.name.contains("timestamp") {
                    #expect(s.name.hasSuffix("_seconds"), "\(s.name)", sourceLocation: sourceLocation)
                }
            }
        }
    }

    /// Each stage's seconds, as its record (manifest) holds them.
    static func recordedSeconds(_ f: Fixture) throws -> [String: Double] {
        var out: [String: Double] = [:]
        for stage in stages {
            let record = try JSONDecoder().decode(JSONValue.self, from: bytes(f.path("output/artefacts/manifests/\(stage).json")))
            out[stage] = record["seconds"]?.doubleValue
        }
        return out
    }

    /// The data figures, checked against the fixture's files, the stage records and metrics.json.
    static func expectDataFigures(_ p: Parsed, _ f: Fixture, ratingLines: Int, skipped: [String: Int],
                                  sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ingest = try JSONDecoder().decode(JSONValue.self, from: bytes(f.path("output/artefacts/manifests/ingest.json")))
        #expect(p.value("rec_pipeline_input_lines_read", ["file": "ratings"]) == Double(ratingLines), sourceLocation: sourceLocation)
        #expect(p.value("rec_pipeline_input_lines_read", ["file": "ratings"]) == ingest["stats"]?["ratingsLines"]?["linesRead"]?.doubleValue,
                sourceLocation: sourceLocation)
        #expect(p.value("rec_pipeline_input_lines_read", ["file": "movies"]) == Double(f.titles.count), sourceLocation: sourceLocation)
        let reported = p.families.first { $0.name == "rec_pipeline_input_lines_skipped" }?.samples ?? []
        var nonZero: [String: Int] = [:]
        for s in reported where s.value != 0 { nonZero[s.labels["file", default: "?"] + "/" + s.labels["reason", default: "?"]] = Int(s.value) }
        #expect(nonZero == skipped.reduce(into: [:]) { $0["ratings/" + $1.key] = $1.value }, sourceLocation: sourceLocation)
        #expect(reported.count == 2 * LineProblem.allCases.count, "every reason of both files, zeros included", sourceLocation: sourceLocation)
        #expect(p.value("rec_pipeline_ratings_read") == Double(f.ratings.count), sourceLocation: sourceLocation)

        let table = parseCSV(try read(f.path("output/recommendations.csv"))).dropFirst()
        #expect(p.value("rec_pipeline_users_written") == Double(Set(table.map { $0[0] }).count), sourceLocation: sourceLocation)
        #expect(p.value("rec_pipeline_users_written") == Double(Fixture.users), sourceLocation: sourceLocation)
        #expect(p.value("rec_pipeline_recommendations_written") == Double(table.count), sourceLocation: sourceLocation)

        let metrics = try JSONDecoder().decode(JSONValue.self, from: bytes(f.path("output/metrics.json")))
        let model = ["model": "pipeline"]
        for slice in ["train", "validation", "test"] {
            #expect(p.value("rec_pipeline_rating_rmse", model.merging(["slice": slice]) { $1 }) == metrics["rmse"]?[slice]?.doubleValue,
                    sourceLocation: sourceLocation)
            #expect(p.value("rec_pipeline_rating_mae", model.merging(["slice": slice]) { $1 }) == metrics["mae"]?[slice]?.doubleValue,
                    sourceLocation: sourceLocation)
        }
        let k = ["k": String(metrics["ranking"]?["k"]?.intValue ?? -1)]
        for (key, name) in [("precision", "precision"), ("recall", "recall"), ("ndcg", "ndcg"), ("hitRate", "hit_rate"), ("mrr", "mrr"),
                            ("coverage", "coverage"), ("usersEvaluated", "users_evaluated")] {
            #expect(p.value("rec_pipeline_list_\(name)", model.merging(k) { $1 }) == metrics["ranking"]?[key]?.doubleValue,
                    "\(name)", sourceLocation: sourceLocation)
            #expect(p.value("rec_pipeline_list_\(name)", ["model": "mostPopular"].merging(k) { $1 })
                        == metrics["baselines"]?["mostPopular"]?["ranking"]?[key]?.doubleValue, "\(name)", sourceLocation: sourceLocation)
        }
        #expect(p.value("rec_pipeline_top_k_accuracy", model.merging(["k": "10"]) { $1 }) == metrics["topKAccuracy"]?["10"]?.doubleValue,
                sourceLocation: sourceLocation)
    }

    @Test func textfile_afterSuccessfulSkippedFailedAndUnloadableRuns_tellsWhatHappened() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        // Three malformed lines, left out and counted under the skip policy.
        let ratingsFile = FileHandle(forWritingAtPath: f.path("ratings.dat"))!
        try ratingsFile.seekToEnd()
        try ratingsFile.write(contentsOf: Data("2::abc::3\nx::3::4\n4::3::9\n".utf8))
        try ratingsFile.close()
        let ratingLines = f.ratings.count + 3
        let skipped = ["bad-movie-id": 1, "bad-user-id": 1, "rating-out-of-scale": 1]
        try f.setConfig {
            var input = $0["input"] as! [String: Any]
            input["invalidLines"] = "skip"
            $0["input"] = input
            $0["monitoring"] = ["textfile": "textfile/rec.prom"]
        }
        let textfile = f.path("textfile/rec.prom")
        let config = URL(fileURLWithPath: f.configPath).standardized.path

        // 1. A run that does everything.
        let t0 = Date().timeIntervalSince1970
        var r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        let t1 = Date().timeIntervalSince1970
        #expect(r.status == 0, "\(r.stderr)")
        let first = try Self.parse(textfile)
        Self.expectConventions(first, config: config)
        #expect(first.value("rec_pipeline_last_run_exit_code") == 0)
        let firstEnd = try #require(first.value("rec_pipeline_last_run_timestamp_seconds"))
        #expect(firstEnd >= t0 && firstEnd <= t1)
        #expect(first.value("rec_pipeline_last_success_timestamp_seconds") == firstEnd)
        #expect(first.value("rec_pipeline_last_run_duration_seconds").map { $0 > 0 && $0 <= t1 - t0 } == true)
        #expect(first.value("rec_pipeline_runs_total", ["result": "success"]) == 1)
        #expect(first.value("rec_pipeline_runs_total", ["result": "failure"]) == 0)
        let seconds = try Self.recordedSeconds(f)
        for stage in Self.stages {
            #expect(first.value("rec_pipeline_stage_ran", ["stage": stage]) == 1, "\(stage)")
            #expect(first.value("rec_pipeline_stage_duration_seconds", ["stage": stage]) == seconds[stage], "\(stage)")
            #expect(seconds[stage].map { $0 > 0 } == true, "\(stage)")
        }
        try Self.expectDataFigures(first, f, ratingLines: ratingLines, skipped: skipped)

        // 2. Nothing changed: every stage is skipped; still a success.
        r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let second = try Self.parse(textfile)
        Self.expectConventions(second, config: config)
        #expect(second.value("rec_pipeline_last_run_exit_code") == 0)
        let secondEnd = try #require(second.value("rec_pipeline_last_success_timestamp_seconds"))
        #expect(secondEnd > firstEnd)
        #expect(second.value("rec_pipeline_last_run_timestamp_seconds") == secondEnd)
        #expect(second.value("rec_pipeline_runs_total", ["result": "success"]) == 2)
        for stage in Self.stages {
            #expect(second.value("rec_pipeline_stage_ran", ["stage": stage]) == 0, "\(stage)")
            #expect(second.value("rec_pipeline_stage_duration_seconds", ["stage": stage]) == 0, "\(stage)")
        }
        try Self.expectDataFigures(second, f, ratingLines: ratingLines, skipped: skipped)

        // 3. Bad input: with the error policy the first malformed line stops the run.
        try f.setConfig {
            var input = $0["input"] as! [String: Any]
            input["invalidLines"] = "error"
            $0["input"] = input
        }
        r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(r.status == 1)
        let third = try Self.parse(textfile)
        Self.expectConventions(third, config: config)
        #expect(third.value("rec_pipeline_last_run_exit_code") == 1)
        #expect(third.value("rec_pipeline_last_success_timestamp_seconds") == secondEnd, "the last success survives a failed run")
        #expect(third.value("rec_pipeline_last_run_timestamp_seconds").map { $0 > secondEnd } == true)
        #expect(third.value("rec_pipeline_runs_total", ["result": "success"]) == 2)
        #expect(third.value("rec_pipeline_runs_total", ["result": "failure"]) == 1)
        for stage in Self.stages { #expect(third.value("rec_pipeline_stage_ran", ["stage": stage]) == 0, "\(stage)") }
        // The published files and the records are those of the last successful runs.
        try Self.expectDataFigures(third, f, ratingLines: ratingLines, skipped: skipped)

        // 4. Settings that do not load: exit code 2, still reported (the file's path is read
        // from the settings file's JSON).
        try f.setConfig { $0["scroe"] = ["k": 3] }
        r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(r.status == 2)
        let fourth = try Self.parse(textfile)
        Self.expectConventions(fourth, config: config)
        #expect(fourth.value("rec_pipeline_last_run_exit_code") == 2)
        #expect(fourth.value("rec_pipeline_last_success_timestamp_seconds") == secondEnd)
        #expect(fourth.value("rec_pipeline_runs_total", ["result": "failure"]) == 2)

        // A dry run changes nothing.
        try f.setConfig { $0.removeValue(forKey: "scroe") }
        let before = try bytes(textfile)
        #expect(try run("rec-pipeline", ["--config", f.configPath, "--dry-run", "--quiet"]).status == 0)
        #expect(try bytes(textfile) == before)
    }

    @Test func textfile_whenNotSet_isNotWritten() throws {
        let f = try Fixture(.ml100k)
        #expect(try run("rec-pipeline", ["--config", f.configPath, "--quiet"]).status == 0)
        let files = FileManager.default.enumerator(atPath: f.dir.path)?.compactMap { $0 as? String } ?? []
        #expect(files.filter { $0.hasSuffix(".prom") }.isEmpty)
    }
}
