import Foundation
import Testing
@testable import RecPipeline

/// SIGTERM, SIGINT and SIGHUP (systemd stop, Ctrl-C, scancel, a closed terminal) sent to the
/// real executables at chosen and at spread-out moments: exit code 128 + the signal, a log line
/// naming it and the stage, no temporary file of the run left, the locks free and empty, the
/// monitoring file recording a failed run (the last success kept, one failure more), and the
/// exports one whole set.
@Suite(.serialized)
struct SignalTests {
    static let exports = OperationsTests.exports
    static let names: [Int32: String] = [SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGTERM: "SIGTERM"]

    /// One executable started in the background, its stderr going to a file that the test reads
    /// while it runs.
    final class Started {
        let process = Process()
        let log: String

        init(_ executable: String, _ arguments: [String], log: String) throws {
            self.log = log
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.executableURL = productsDirectory.appendingPathComponent(executable)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try process.run()
        }

        var stderr: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        /// Waits until stderr holds `text`; false if the process ended first or 120 s passed.
        func waitFor(_ text: String) -> Bool {
            for _ in 0..<12_000 {
                if stderr.contains(text) { return true }
                if !process.isRunning { return stderr.contains(text) }
                usleep(10_000)
            }
            return false
        }

        /// Sends `signal` and waits for the end; the exit status.
        func stop(_ signal: Int32) -> Int32 {
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    /// `.rec-tmp.*` files anywhere under `dir`.
    static func temporaries(under dir: String) -> [String] {
        let all = FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []
        return all.filter { $0.split(separator: "/").last.map { $0.hasPrefix(".rec-tmp.") } == true }
    }

    /// Whether nobody holds the lock file (flock(1) takes it at once).
    static func lockIsFree(_ path: String) throws -> Bool {
        try runTool("flock", ["-n", path, "true"]).status == 0
    }

    /// A fixture whose training lasts long enough to be stopped in the middle, reporting into
    /// a textfile; `seed` picks the split (two seeds: two different sets of exports).
    static func fixture() throws -> Fixture {
        let f = try Fixture(.ml1mNoTimestamps, extraConfig: ["ratingModel": ["hidden": [16, 8, 16], "epochs": 60, "batchSize": 8]])
        try f.setConfig { $0["monitoring"] = ["textfile": "textfile/rec.prom"] }
        return f
    }

    static func setSeed(_ f: Fixture, _ seed: Int) throws {
        try f.setConfig { $0["split"] = ["seed": seed, "testRatio": 0.25, "validationRatio": 0.1] }
    }

    /// Stopped right after it logs a stage's start (or, with --quiet, as soon as it holds the
    /// lock): the whole contract, the monitoring file's figures included (the stages before
    /// the stopped one ran, it and those after did not).
    @Test(arguments: [(SIGTERM, "train", false), (SIGINT, "score", false), (SIGHUP, "split", false),
                      (SIGTERM, "export", false), (SIGINT, nil, true)] as [(Int32, String?, Bool)])
    func pipeline_stoppedBySignal_logsCleansUpAndRecordsAFailedRun(signal: Int32, stage: String?, quiet: Bool) throws {
        let f = try Self.fixture()
        try Self.setSeed(f, 3)
        let first = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try Self.exports.map { try bytes(f.path($0)) }
        let textfile = f.path("textfile/rec.prom")
        let previous = try MonitoringTests.parse(textfile)
        let lastSuccess = try #require(previous.value("rec_pipeline_last_success_timestamp_seconds"))

        // A new split: every stage from split on runs again.
        try Self.setSeed(f, 4)
        let p = try Started("rec-pipeline", ["--config", f.configPath] + (quiet ? ["--quiet"] : []), log: f.path("stderr.log"))
        if let stage {
            #expect(p.waitFor("\(stage): running"), "\(p.stderr)")
        } else {
            #expect(Self.waitForLock(f.path("output/.rec-pipeline.lock"), pid: p.process.processIdentifier))
        }
        let status = p.stop(signal)
        let name = Self.names[signal]!
        #expect(status == 128 + signal, "\(p.stderr)")
        // A short stage may have ended before the signal was handled: the stop then lands
        // between stages or in a later stage, never in an earlier one.
        let order = MonitoringTests.stages
        let later = stage.map { Array(order[(order.firstIndex(of: $0) ?? 0)...]) } ?? []
        let places = stage == nil ? [""] : later.flatMap { ["in stage \($0)", "between stages (after \($0))"] }
        let place = places.first { p.stderr.contains("rec-pipeline error: stopped by \(name) \($0)") }
        #expect(place != nil, "\(p.stderr)")
        // The stage the stop landed in (or after), from the stop line.
        let landed = place.flatMap { text in later.first { text == "in stage \($0)" || text == "between stages (after \($0))" } } ?? stage
        #expect(p.stderr.contains("exit code \(128 + signal)"))
        // Nothing after the stop line: the stage that failed because of the cleanup says nothing.
        let lines = p.stderr.split(separator: "\n")
        let stopLine = try #require(lines.firstIndex { $0.contains("stopped by") })
        #expect(lines[(stopLine + 1)...].allSatisfy { $0.contains("info: removed") }, "\(p.stderr)")

        #expect(Self.temporaries(under: f.dir.path).isEmpty, "\(Self.temporaries(under: f.dir.path))")
        for lock in ["output/.rec-pipeline.lock", "output/artefacts/.rec-pipeline.lock"] {
            #expect(try Self.lockIsFree(f.path(lock)), "\(lock)")
            #expect(try bytes(f.path(lock)).isEmpty, "\(lock) still names the stopped run")
        }
        // The exports are the previous set; at the export stage the new set may have been
        // published just before the signal was handled: then all four are new.
        let now = try Self.exports.map { try bytes(f.path($0)) }
        if landed == "export" && now != before {
            let reference = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
            #expect(reference.status == 0)
            #expect(try Self.exports.map { try bytes(f.path($0)) } == now, "the exports are torn")
        } else {
            #expect(now == before, "the exports changed")
        }

        let stopped = try MonitoringTests.parse(textfile)
        #expect(stopped.value("rec_pipeline_last_run_exit_code") == Double(128 + signal))
        #expect(stopped.value("rec_pipeline_last_success_timestamp_seconds") == lastSuccess)
        #expect(stopped.value("rec_pipeline_runs_total", ["result": "failure"]) == 1)
        #expect(stopped.value("rec_pipeline_runs_total", ["result": "success"]) == 1)
        if let stage {
            // The stages before the stopped one ran; it and those after did not.
            let at = try #require(order.firstIndex(of: landed ?? stage)) + (place?.hasPrefix("between") == true ? 1 : 0)
            for (i, s) in order.enumerated() where s != "ingest" {
                #expect(stopped.value("rec_pipeline_stage_ran", ["stage": s]) == (i < at ? 1 : 0), "\(s)")
            }
        }

        // The locks are free: the next run, without --wait, runs and completes.
        if stage != "export" {
            let next = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
            #expect(next.status == 0, "\(next.stderr)")
            let after = try MonitoringTests.parse(textfile)
            #expect(after.value("rec_pipeline_runs_total", ["result": "success"]) == 2)
            #expect(after.value("rec_pipeline_runs_total", ["result": "failure"]) == 1)
        }
    }

    static func waitForLock(_ path: String, pid: pid_t) -> Bool {
        for _ in 0..<3000 {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains("\(pid)") { return true }
            usleep(10_000)
        }
        return false
    }

    /// Signals at twelve moments spread over whole runs, cycling through the three signals,
    /// each run alternating between two settings: whatever the moment, the exit code is the
    /// signal's (or 0 when the run had ended), the monitoring file counts the run once with
    /// that code, no temporary file is left, the locks are free, and the exports are one whole
    /// set: the previous or the new.
    @Test func pipeline_signalsAtSpreadMoments_alwaysLeaveOneWholeSetAndACountedRun() throws {
        let f = try Self.fixture()
        var expected: [Int: [Data]] = [:]
        var duration = 0.0
        for seed in [3, 4] {
            try Self.setSeed(f, seed)
            let clock = ContinuousClock.now
            #expect(try run("rec-pipeline", ["--config", f.configPath, "--quiet"]).status == 0)
            duration = max(duration, Double(clock.duration(to: .now).components.seconds) + 0.5)
            expected[seed] = try Self.exports.map { try bytes(f.path($0)) }
        }
        #expect(expected[3] != expected[4])
        let textfile = f.path("textfile/rec.prom")
        var published = 4
        var stoppedRuns = 0
        let signals: [Int32] = [SIGTERM, SIGINT, SIGHUP]
        for moment in 0..<12 {
            let target = published == 3 ? 4 : 3
            try Self.setSeed(f, target)
            let before = try MonitoringTests.parse(textfile)
            let runsBefore = (before.value("rec_pipeline_runs_total", ["result": "success"]) ?? 0) + (before.value("rec_pipeline_runs_total", ["result": "failure"]) ?? 0)
            let signal = signals[moment % 3]
            let p = try Started("rec-pipeline", ["--config", f.configPath, "--quiet"], log: f.path("stderr-\(moment).log"))
            // From the moment it holds its lock (its settings are read) to past its end.
            #expect(Self.waitForLock(f.path("output/.rec-pipeline.lock"), pid: p.process.processIdentifier) || !p.process.isRunning)
            usleep(UInt32(duration * 1e6 * Double(moment) / 11))
            let status = p.stop(signal)
            let what = "moment \(moment), \(Self.names[signal]!)"
            #expect(status == 128 + signal || status == 0, "\(what): \(status) \(p.stderr)")
            if status != 0 {
                stoppedRuns += 1
                #expect(p.stderr.contains("stopped by \(Self.names[signal]!)"), "\(what): \(p.stderr)")
            }
            let now = try Self.exports.map { try bytes(f.path($0)) }
            #expect(now == expected[published]! || now == expected[target]!, "\(what): the exports are torn")
            if status == 0 { #expect(now == expected[target]!, "\(what)") }
            if now == expected[target]! { published = target }
            #expect(Self.temporaries(under: f.dir.path).isEmpty, "\(what): \(Self.temporaries(under: f.dir.path))")
            for lock in ["output/.rec-pipeline.lock", "output/artefacts/.rec-pipeline.lock"] {
                #expect(try Self.lockIsFree(f.path(lock)), "\(what): \(lock)")
            }
            let after = try MonitoringTests.parse(textfile)
            #expect(after.value("rec_pipeline_last_run_exit_code") == Double(status), "\(what)")
            let runsAfter = (after.value("rec_pipeline_runs_total", ["result": "success"]) ?? 0) + (after.value("rec_pipeline_runs_total", ["result": "failure"]) ?? 0)
            #expect(runsAfter == runsBefore + 1, "\(what): the run was counted \(runsAfter - runsBefore) times")
        }
        #expect(stoppedRuns >= 6, "only \(stoppedRuns) of 12 signals came during a run")
        // A last, uninterrupted run gives exactly what an uninterrupted run gives.
        let target = published == 3 ? 4 : 3
        try Self.setSeed(f, target)
        #expect(try run("rec-pipeline", ["--config", f.configPath, "--quiet"]).status == 0)
        #expect(try Self.exports.map { try bytes(f.path($0)) } == expected[target]!)
    }

    /// Stopped while `--wait` waits for another run's lock: the same exit code and line, the
    /// other run's lock untouched, and the monitoring file records the run's own figures only
    /// (the stage records belong to the run that holds the lock).
    @Test func pipeline_stoppedWhileWaitingForTheLock_recordsOnlyItsOwnFigures() throws {
        let f = try Self.fixture()
        #expect(try run("rec-pipeline", ["--config", f.configPath, "--quiet"]).status == 0)
        let lock = f.path("output/.rec-pipeline.lock")
        // Another holder of the lock, started by a shell in the background, closing the
        // descriptors it inherits (see LocalServer).
        let holder = try runTool("sh", ["-c", "python3 -c 'import fcntl, os, sys, time; os.closerange(3, os.sysconf(\"SC_OPEN_MAX\")); f = open(sys.argv[1], \"a\"); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(120)' \"$1\" > /dev/null 2>&1 < /dev/null & echo $!", "sh", lock])
        let holderPid = try #require(pid_t(holder.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(holderPid, SIGKILL) }
        for _ in 0..<1000 where try Self.lockIsFree(lock) { usleep(10_000) }
        #expect(try !Self.lockIsFree(lock))
        let before = try MonitoringTests.parse(f.path("textfile/rec.prom"))
        let p = try Started("rec-pipeline", ["--config", f.configPath, "--wait"], log: f.path("stderr.log"))
        usleep(500_000)
        #expect(p.process.isRunning, "\(p.stderr)")
        let status = p.stop(SIGTERM)
        #expect(status == 143, "\(p.stderr)")
        #expect(p.stderr.contains("rec-pipeline error: stopped by SIGTERM before any stage started; exit code 143"), "\(p.stderr)")
        #expect(try !Self.lockIsFree(lock), "the other run's lock was let go")
        #expect(kill(holderPid, 0) == 0)
        let after = try MonitoringTests.parse(f.path("textfile/rec.prom"))
        #expect(after.value("rec_pipeline_last_run_exit_code") == 143)
        #expect(after.value("rec_pipeline_runs_total", ["result": "failure"]) == 1)
        #expect(after.value("rec_pipeline_last_success_timestamp_seconds") == before.value("rec_pipeline_last_success_timestamp_seconds"))
        #expect(after.value("rec_pipeline_stage_ran", ["stage": "train"]) == nil)
        #expect(before.value("rec_pipeline_stage_ran", ["stage": "train"]) == 1)
    }

    /// A stage executable run by hand (rec-train, the longest), or as a job of a cluster run
    /// (what `scancel` stops), stopped in the middle of its work: the same contract without
    /// the monitoring file; its previous outputs and record stay as they were.
    @Test(arguments: [(SIGTERM, false), (SIGINT, false), (SIGTERM, true)] as [(Int32, Bool)])
    func stageExecutable_stoppedMidWork_exitsWithTheSignalsCodeAndLeavesItsOutputsAsTheyWere(signal: Int32, asClusterJob: Bool) throws {
        let f = try Self.fixture()
        try f.setConfig { $0["ratingModel"] = ["hidden": [16, 8, 16], "epochs": 400, "batchSize": 8] }
        #expect(try run("rec-pipeline", ["--config", f.configPath, "--only", "ingest"]).status == 0)
        #expect(try run("rec-split", ["--config", f.configPath]).status == 0)
        #expect(try run("rec-build-matrix", ["--config", f.configPath]).status == 0)
        let manifests = f.path("output/artefacts/manifests")
        let records = try FileManager.default.contentsOfDirectory(atPath: manifests).sorted()
        let recordBytes = try records.map { try bytes(manifests + "/" + $0) }
        var arguments = ["--config", f.configPath]
        if asClusterJob {
            // The record rec-pipeline --engine slurm writes when it submits the run's jobs,
            // naming the settings file that submitted them (the folders' owner).
            let owner = try #require(SettingsFileIdentity.of(f.configPath))
            let ownerJSON = String(decoding: try JSONEncoder().encode(owner), as: UTF8.self)
            try Data(#"{"runId": "r1", "shards": 1, "jobs": ["1"], "submitted": "2026-01-01T00:00:00Z", "owner": \#(ownerJSON)}"#.utf8)
                .write(to: URL(fileURLWithPath: f.path("output/artefacts/cluster-run.json")))
            arguments += ["--run-id", "r1"]
        }
        let p = try Started("rec-train", arguments, log: f.path("train.log"))
        // A job logs nothing before it ends: give it time to be into the epochs.
        if asClusterJob { usleep(1_500_000) } else { #expect(p.waitFor("train: started"), "\(p.stderr)") }
        usleep(300_000)  // into the epochs
        #expect(p.process.isRunning, "rec-train ended before the signal: \(p.stderr)")
        let status = p.stop(signal)
        #expect(status == 128 + signal, "\(p.stderr)")
        #expect(p.stderr.contains("rec-train error: stopped by \(Self.names[signal]!) in stage train; exit code \(128 + signal)"), "\(p.stderr)")
        #expect(Self.temporaries(under: f.dir.path).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: f.path("output/artefacts/model.art")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: manifests).sorted() == records)
        #expect(try records.map { try bytes(manifests + "/" + $0) } == recordBytes)
        for lock in ["output/.rec-pipeline.lock", "output/artefacts/.rec-pipeline.lock"] {
            #expect(try Self.lockIsFree(f.path(lock)), "\(lock)")
            #expect(try bytes(f.path(lock)).isEmpty)
        }
        // Rerun without --wait: the lock is free, and training runs to its end.
        let again = try run("rec-train", arguments + ["--quiet"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(FileManager.default.fileExists(atPath: f.path("output/artefacts/model.art")))
    }
}
