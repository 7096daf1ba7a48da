import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A one-node Slurm cluster of its own (scripts/slurm-test-cluster.sh) in a temporary folder,
/// stopped by its pid files when the value is stopped, also when a test fails.
final class SlurmCluster {
    let dir: URL
    let conf: String

    static let scriptPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/slurm-test-cluster.sh").path

    /// Root (the daemons run as root here) and the Debian packages' daemons.
    static var available: Bool {
        getuid() == 0 && ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rec-slurm-\(UUID().uuidString)")
        conf = dir.appendingPathComponent("slurm.conf").path
        let status = SlurmCluster.script(["start", dir.path], log: dir.path + ".log")
        if status != 0 {
            let log = (try? String(contentsOfFile: dir.path + ".log", encoding: .utf8)) ?? ""
            stop()
            throw ClusterError(message: "the test cluster did not start (exit \(status)): \(log)")
        }
    }

    struct ClusterError: Error { let message: String }

    func stop() {
        _ = SlurmCluster.script(["stop", dir.path], log: dir.path + ".log")
        try? FileManager.default.removeItem(at: dir)
        try? FileManager.default.removeItem(atPath: dir.path + ".log")
    }

    /// Runs the cluster script with its output in `log`, by posix_spawn and waitpid: the
    /// script starts daemons, and Foundation's Process was seen here never to notice its end
    /// (the script stayed a zombie under the test).
    static func script(_ arguments: [String], log: String) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = (["/bin/bash", scriptPath] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        guard posix_spawn(&pid, "/bin/bash", &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Runs a built executable (or a Slurm command, by name) with SLURM_CONF pointing here.
    func run(_ executable: String, _ arguments: [String]) throws -> Run {
        let p = Process()
        let own = productsDirectory.appendingPathComponent(executable)
        if FileManager.default.isExecutableFile(atPath: own.path) {
            p.executableURL = own
            p.arguments = arguments
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [executable] + arguments
        }
        p.environment = ProcessInfo.processInfo.environment.merging(["SLURM_CONF": conf]) { _, new in new }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// `squeue` lines `<job id> <name>` of every queued job or array task.
    func queue() throws -> [(id: String, name: String)] {
        try run("squeue", ["--noheader", "--format=%i %j"]).stdout.split(separator: "\n").map {
            let f = $0.split(separator: " ")
            return (String(f[0]), f.count > 1 ? String(f[1]) : "")
        }
    }
}

@Suite(.serialized, .enabled(if: SlurmCluster.available, "needs root, slurm-wlm and munge (make test installs them)"))
struct SlurmTests {
    static let exports = ["recommendations.csv", "recommendations.jsonl", "metrics.json", "report.html", "similar.csv", "similar.jsonl"]

    /// The exports of a local run of a fresh fixture.
    func localReference(k: Int = 5) throws -> [String: Data] {
        let local = try Fixture(.ml1mNoTimestamps)
        try local.setConfig { $0["score"] = ["k": k] }
        let r = try run("rec-pipeline", ["--config", local.configPath, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        var out: [String: Data] = [:]
        for name in SlurmTests.exports { out[name] = try bytes(local.path("output/" + name)) }
        return out
    }

    @Test func slurmEngine_withOneTwoFourAndSevenShards_publishesExportsByteIdenticalToLocalRun() throws {
        let cluster = try SlurmCluster()
        defer { cluster.stop() }
        let expected = try localReference()
        let f = try Fixture(.ml1mNoTimestamps)
        for n in [1, 2, 4, 7] {
            // Nothing of the previous shard count may stand in for this one's work.
            for name in SlurmTests.exports { try? FileManager.default.removeItem(atPath: f.path("output/" + name)) }
            for name in ["train.art", "topk.art", "eval-topk.art"] { try? FileManager.default.removeItem(atPath: f.path("output/artefacts/" + name)) }
            let r = try cluster.run("rec-pipeline", ["--config", f.configPath, "--engine", "slurm", "--shards", "\(n)", "--wait"])
            #expect(r.status == 0, "N=\(n): \(r.stderr)")
            #expect(r.stderr.contains("rec-score-shards: submitted as job") && r.stderr.contains(n == 1 ? "(array 0)" : "(array 0-\(n - 1))"), "N=\(n): \(r.stderr)")
            #expect(FileManager.default.fileExists(atPath: f.path("output/artefacts/topk.art.part-\(n - 1)-of-\(n)")))
            for name in SlurmTests.exports {
                let got = try? bytes(f.path("output/" + name))
                #expect(got == expected[name], "N=\(n): \(name) differs from the local run's")
            }
        }
        // Up to date: nothing is submitted.
        let again = try cluster.run("rec-pipeline", ["--config", f.configPath, "--engine", "slurm", "--shards", "7", "--wait"])
        #expect(again.status == 0 && again.stderr.contains("nothing submitted") && again.stdout.isEmpty, "\(again.stderr)")
    }

    @Test func cancelledArrayTask_failsTheRun_keepsPreviousExports_andNextRunResubmitsOnlyThatShard_andRefusedPublishExitsWithItsCode() throws {
        let cluster = try SlurmCluster()
        defer { cluster.stop() }
        let expected = try localReference(k: 4)
        let f = try Fixture(.ml1mNoTimestamps)
        let first = try cluster.run("rec-pipeline", ["--config", f.configPath, "--engine", "slurm", "--shards", "4", "--wait"])
        #expect(first.status == 0, "\(first.stderr)")
        var before: [String: Data] = [:]
        for name in SlurmTests.exports { before[name] = try bytes(f.path("output/" + name)) }

        // A new k: score and export are stale. The jobs are submitted held (an sbatch option
        // from the settings), so that shard 2 of the score array is cancelled before it runs.
        try f.setConfig { $0["score"] = ["k": 4]; $0["slurm"] = ["extraOptions": ["--hold"]] }
        let held = try cluster.run("rec-pipeline", ["--config", f.configPath, "--engine", "slurm", "--shards", "4"])
        #expect(held.status == 0, "\(held.stderr)")
        let ids = held.stdout.split(separator: "\n").map(String.init)
        try #require(ids.count == 4, "expected score shards, score merge, export shards, publish: \(held.stdout) \(held.stderr)")
        #expect(try cluster.run("scancel", ["\(ids[0])_2"]).status == 0)
        #expect(try cluster.run("scontrol", ["release"] + ids).status == 0)
        // Follow the queue until the run is over, as --wait does.
        let deadline = Date().addingTimeInterval(120)
        while try cluster.queue().contains(where: { q in ids.contains { q.id.hasPrefix($0) } }), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.5)
        }
        let states = try cluster.run("scontrol", ["show", "job", "--oneliner", ids[1]]).stdout
        #expect(states.contains("JobState=CANCELLED"), "the score merge must not run after a cancelled shard: \(states)")
        for name in SlurmTests.exports {
            #expect(try bytes(f.path("output/" + name)) == before[name], "\(name) was changed by a failed run")
        }
        for shard in [0, 1, 3] {
            let part = try read(f.path("output/artefacts/manifests/score.shard-\(shard)-of-4.json"))
            #expect(part.contains("\"k\" : 4"), "shard \(shard) ran with the new k")
        }

        // The next run: only shard 2 of the score stage, and what follows it.
        try f.setConfig { $0["slurm"] = ["extraOptions": [String]()] }
        let next = try cluster.run("rec-pipeline", ["--config", f.configPath, "--engine", "slurm", "--shards", "4", "--wait"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stderr.contains("rec-score-shards: submitted as job") && next.stderr.contains("(array 2)"), "\(next.stderr)")
        for stage in ["rec-ingest", "rec-split", "rec-build-matrix", "rec-train"] {
            #expect(!next.stderr.contains("\(stage)-shards: submitted") && !next.stderr.contains("\(stage): submitted"), "\(stage) was resubmitted")
        }
        for name in SlurmTests.exports {
            #expect(try bytes(f.path("output/" + name)) == expected[name], "\(name) differs from a local run with k 4")
        }

        // A quality gate no run passes: only export is stale; its publish job exits 4, and
        // so does --wait, leaving the exports as they were.
        try f.setConfig { $0["qualityGate"] = ["minNDCG": 1.0, "maxNDCGDrop": NSNull(), "maxRMSERise": NSNull()] }
        let gated = try cluster.run("rec-pipeline", ["--config", f.configPath, "--engine", "slurm", "--shards", "4", "--wait"])
        #expect(gated.status == 4, "\(gated.stderr)")
        #expect(gated.stdout.split(separator: "\n").count == 2, "export shards and publish only: \(gated.stderr)")
        for name in SlurmTests.exports {
            #expect(try bytes(f.path("output/" + name)) == expected[name], "\(name) was changed by a run the quality gate refused")
        }
    }

    /// Submits held jobs, then `change`s the fixture while they wait, releases them and waits
    /// for the queue to empty. - Returns: the job ids.
    func submitHeld(_ cluster: SlurmCluster, _ f: Fixture, shards: Int, whileHeld change: () throws -> Void) throws -> [String] {
        try f.setConfig { $0["slurm"] = ["extraOptions": ["--hold"]] }
        let held = try cluster.run("rec-pipeline", ["--config", f.configPath, "--engine", "slurm", "--shards", "\(shards)"])
        #expect(held.status == 0, "\(held.stderr)")
        let ids = held.stdout.split(separator: "\n").map(String.init)
        try change()
        #expect(try cluster.run("scontrol", ["release"] + ids).status == 0)
        let deadline = Date().addingTimeInterval(180)
        while try cluster.queue().contains(where: { q in ids.contains { q.id.hasPrefix($0) } }), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.5)
        }
        return ids
    }

    @Test func settingsEditedAfterSubmission_jobsRunTheSubmittedSettings_andACopyChangedSinceIsRefused() throws {
        let cluster = try SlurmCluster()
        defer { cluster.stop() }
        let expected = try localReference(k: 5)
        let f = try Fixture(.ml1mNoTimestamps)
        try f.setConfig { $0["score"] = ["k": 5] }
        // Submitted with k 5; the file says k 3 (and no --hold) by the time the jobs run.
        let ids = try submitHeld(cluster, f, shards: 2) {
            try f.setConfig { $0["score"] = ["k": 3]; $0["slurm"] = ["extraOptions": [String]()] }
        }
        try #require(ids.count >= 6, "every stage was submitted: \(ids)")
        for id in ids {
            let states = try cluster.run("scontrol", ["show", "job", "--oneliner", id]).stdout
            #expect(states.contains("JobState=COMPLETED") && !states.contains("JobState=FAILED"), "job \(id): \(states)")
        }
        for name in SlurmTests.exports {
            #expect(try bytes(f.path("output/" + name)) == expected[name], "\(name) is not the submitted settings' (k 5) local run's")
        }
        let copy = try read(f.path("output/artefacts/cluster-run.settings.json"))
        #expect(copy.contains("\"k\":5"), "\(copy)")

        // A copy edited after submission: the first job refuses it (exit 2) and nothing after
        // it runs; the exports stay as they were.
        try f.setConfig { $0["score"] = ["k": 4] }
        let refused = try submitHeld(cluster, f, shards: 2) {
            try Data(copy.replacingOccurrences(of: "\"k\":5", with: "\"k\":6").utf8)
                .write(to: URL(fileURLWithPath: f.path("output/artefacts/cluster-run.settings.json")))
        }
        let first = try cluster.run("scontrol", ["show", "job", "--oneliner", refused[0]]).stdout
        #expect(first.contains("ExitCode=2:0"), "\(first)")
        let log = try FileManager.default.contentsOfDirectory(atPath: f.path("output/artefacts/slurm-logs")).filter { $0.contains(refused[0]) }
        let text = try log.map { try read(f.path("output/artefacts/slurm-logs/" + $0)) }.joined()
        #expect(text.contains("other settings than cluster run"), "\(text)")
        for name in SlurmTests.exports {
            #expect(try bytes(f.path("output/" + name)) == expected[name], "\(name) was changed by a refused run")
        }
    }

    /// An artefact folder whose name holds sbatch's replacement symbols: every job launches,
    /// writes its log inside `<artefactDir>/slurm-logs` under its job id, and the exports are
    /// the local run's.
    @Test func artefactFolderWithPercentSigns_jobsLaunchAndLogInsideIt() throws {
        let cluster = try SlurmCluster()
        defer { cluster.stop() }
        let expected = try localReference()
        let name = "art%x%j%%A"
        let f = try Fixture(.ml1mNoTimestamps, extraConfig: ["artefactDir": "output/" + name])
        let r = try cluster.run("rec-pipeline", ["--config", f.configPath, "--engine", "slurm", "--shards", "2", "--wait"])
        #expect(r.status == 0, "\(r.stderr)")
        let logs = (try? FileManager.default.contentsOfDirectory(atPath: f.path("output/" + name + "/slurm-logs"))) ?? []
        #expect(logs.contains { $0.hasPrefix("rec-ingest-") && $0.dropFirst("rec-ingest-".count).dropLast(4).allSatisfy(\.isNumber) }, "\(logs)")
        #expect(logs.contains { $0.hasPrefix("rec-score-shards-") && $0.hasSuffix("_1.log") }, "\(logs)")
        for name in SlurmTests.exports {
            #expect((try? bytes(f.path("output/" + name))) == expected[name], "\(name) differs from the local run's")
        }
    }
}
