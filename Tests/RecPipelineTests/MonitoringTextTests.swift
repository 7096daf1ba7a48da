import Foundation
import Testing
@testable import RecPipeline
@testable import RecOps
import RecTestSupport

/// The Prometheus text format as RunMonitor writes and reads it back; expected strings follow
/// the exposition format's rules (escapes, `+Inf`/`NaN`, one HELP/TYPE block per family).
@Suite struct MonitoringTextTests {
    @Test(arguments: [
        (3.0, "3"), (0.0, "0"), (-2.0, "-2"), (0.25, "0.25"), (1e-7, "1e-07"), (1_796_043_090.5, "1796043090.5"),
        (Double.nan, "NaN"), (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (1e300, "1e+300"),
    ])
    func format_givesTheExpositionSpelling(_ value: Double, _ text: String) {
        #expect(Exposition.format(value) == text)
    }

    @Test func escapes_labelValuesAndHelp_followTheFormat() {
        #expect(Exposition.escapeLabel("a\"b\\c\nd") == #"a\"b\\c\nd"#)
        #expect(Exposition.escapeHelp("a\"b\\c\nd") == #"a"b\\c\nd"#)
    }

    @Test func text_interleavedSamples_groupedUnderOneHelpAndTypePerFamily() {
        var x = Exposition(prefix: "p_", common: [("config", "/a \"b\"")])
        x.gauge("one", "First.", [("stage", "x")], 1)
        x.counter("runs_total", "Runs.", [("result", "success")], 2)
        x.gauge("one", "First.", [("stage", "y")], 0.5)
        #expect(x.text == """
            # HELP p_one First.
            # TYPE p_one gauge
            p_one{config="/a \\"b\\"",stage="x"} 1
            p_one{config="/a \\"b\\"",stage="y"} 0.5
            # HELP p_runs_total Runs.
            # TYPE p_runs_total counter
            p_runs_total{config="/a \\"b\\"",result="success"} 2

            """)
    }

    @Test func previous_readsLastSuccessAndRunCountsAndIgnoresEverythingElse() {
        let p = RunMonitor.Previous(text: """
            # HELP rec_pipeline_last_success_timestamp_seconds x
            rec_pipeline_last_success_timestamp_seconds{config="/c"} 1700000000.25
            rec_pipeline_runs_total{config="/c",result="success"} 7
            rec_pipeline_runs_total{config="/c",result="failure"} 2
            rec_pipeline_runs_total{config="/c",result="failure"} NaN
            rec_pipeline_runs_total{config="/c",result="success"} -4
            garbage line
            other_metric 5
            """)
        #expect(p.lastSuccess == 1_700_000_000.25)
        #expect(p.runs == ["success": 7, "failure": 2])
        #expect(RunMonitor.Previous(text: "").lastSuccess == nil)
    }

    @Test func render_failedRunWithoutSettings_keepsLastSuccessAndCountsTheFailure() throws {
        let home = try TempDir(prefix: "rec-mon")
        let dir = URL(fileURLWithPath: home.path)
        let settings = dir.appendingPathComponent("pipeline.json")
        try Data(#"{"typo": 1, "monitoring": {"textfile": "prom/rec.prom"}}"#.utf8).write(to: settings)
        let started = Date(timeIntervalSince1970: 1_800_000_000)
        let monitor = try #require(RunMonitor(unloadableConfigAt: settings.path, started: started))
        #expect(monitor.textfile == dir.appendingPathComponent("prom/rec.prom").standardized.path)
        let text = monitor.render(exitCode: 2, now: started.addingTimeInterval(1.5),
                                  previous: .init(text: "rec_pipeline_last_success_timestamp_seconds{config=\"x\"} 1799990000\nrec_pipeline_runs_total{result=\"success\"} 4\n"))
        let samples = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line -> String in
            // Drop the config label, whose path depends on the temporary folder.
            line.replacingOccurrences(of: #"config="[^"]*",?"#, with: "", options: .regularExpression).replacingOccurrences(of: "{}", with: "")
        }
        #expect(samples == [
            "rec_pipeline_last_run_timestamp_seconds 1800000001.5",
            "rec_pipeline_last_run_duration_seconds 1.5",
            "rec_pipeline_last_run_exit_code 2",
            "rec_pipeline_last_success_timestamp_seconds 1799990000",
            #"rec_pipeline_runs_total{result="success"} 4"#,
            #"rec_pipeline_runs_total{result="failure"} 1"#,
        ])
    }

    @Test func render_whenTheLockWasTaken_writesOnlyTheRunsOwnFigures() throws {
        var c = PipelineConfig()
        c.monitoring.textfile = "/nonexistent/rec.prom"
        c.artefactDir = "/nonexistent/artefacts"
        c.outputDir = "/nonexistent/output" // not the working folder's, which may hold a real run
        let monitor = try #require(RunMonitor(config: c, configPath: "/srv/pipeline.json", started: Date()))
        let families = { (text: String) in Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE") }.map { String($0.split(separator: " ")[2]) }) }
        let run: Set = ["rec_pipeline_last_run_timestamp_seconds", "rec_pipeline_last_run_duration_seconds", "rec_pipeline_last_run_exit_code",
                        "rec_pipeline_last_success_timestamp_seconds", "rec_pipeline_runs_total"]
        #expect(families(monitor.render(exitCode: 3, lockTaken: true, now: Date(), previous: .init(text: ""))) == run)
        #expect(families(monitor.render(exitCode: 1, now: Date(), previous: .init(text: ""))) == run.union(["rec_pipeline_stage_ran", "rec_pipeline_stage_duration_seconds"]))
    }

    @Test func unloadableSettings_withoutAPromTextfile_giveNoMonitor() throws {
        let home = try TempDir(prefix: "rec-mon")
        let dir = URL(fileURLWithPath: home.path)
        for text in [#"{"monitoring": {"textfile": "rec.txt"}}"#, #"{"monitoring": {"textfile": ""}}"#, "{not json", "{}"] {
            let settings = dir.appendingPathComponent("pipeline.json")
            try Data(text.utf8).write(to: settings)
            #expect(RunMonitor(unloadableConfigAt: settings.path, started: Date()) == nil, "\(text)")
        }
        #expect(RunMonitor(unloadableConfigAt: dir.appendingPathComponent("missing.json").path, started: Date()) == nil)
    }
}
