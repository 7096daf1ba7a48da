import Foundation
import Testing
@testable import RecPipeline

/// What the executables do with wrong command lines, odd settings, odd files and each other:
/// clear messages and documented exit codes, never a hang, never a file they did not make.
@Suite(.serialized)
struct HardeningTests {
    static let exports = ["recommendations.csv", "recommendations.jsonl", "metrics.json", "report.html", "similar.csv", "similar.jsonl"]
    static let executables = ["rec-ingest", "rec-split", "rec-build-matrix", "rec-train", "rec-score", "rec-export",
                              "rec-pipeline", "rec-bench"]

    /// Writes a variant of the fixture's pipeline.json under another name.
    func writeConfig(_ f: Fixture, _ name: String, _ change: (inout [String: Any]) -> Void) throws -> String {
        var c = try JSONSerialization.jsonObject(with: bytes(f.configPath)) as! [String: Any]
        change(&c)
        let path = f.path(name)
        try JSONSerialization.data(withJSONObject: c, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Starts an executable without waiting for it; its output is thrown away.
    func start(_ executable: String, _ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = productsDirectory.appendingPathComponent(executable)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Runs an executable, killing it after `seconds`; `timedOut` says whether it had to.
    func runBounded(_ executable: String, _ arguments: [String], seconds: Double = 20) throws -> (run: Run, timedOut: Bool) {
        let p = Process()
        p.executableURL = productsDirectory.appendingPathComponent(executable)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = Pipe()
        try p.run()
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = p.isRunning
        if timedOut { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        return (Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self)), timedOut)
    }

    // MARK: - Two configurations, one artefact folder

    /// Why a published set is not the one its configuration gives alone (empty when it is).
    func problems(_ dir: String, expected: [Data], k: Int) -> [String] {
        var found: [String] = []
        let now = Self.exports.map { try? bytes(dir + "/" + $0) }
        if let metrics = now[2], let csv = now[0],
           let m = try? JSONSerialization.jsonObject(with: metrics) as? [String: Any] {
            let ranking = m["ranking"] as? [String: Any], settings = m["settings"] as? [String: Any]
            let score = settings?["score"] as? [String: Any]
            let ranks = parseCSV(String(decoding: csv, as: UTF8.self)).dropFirst().compactMap { Int($0[1]) }
            if ranking?["k"] as? Int != k || score?["k"] as? Int != k || ranks.max() != k {
                found.append("metrics.json k \(ranking?["k"] ?? "-")/\(score?["k"] ?? "-"), CSV ranks up to \(ranks.max() ?? 0), configured \(k)")
            }
        }
        for (i, name) in Self.exports.enumerated() where now[i] != expected[i] { found.append("\(name) differs from the run alone") }
        return found
    }

    /// Two configurations sharing the default artefact folder, started together twenty times:
    /// the folder's owner always publishes its own set, the other is always refused (code 2)
    /// and never publishes, whichever takes the lock first.
    @Test func twoConfigurationsSharingAnArtefactFolder_startedTwentyTimesAtOnce_onlyTheOwnerEverPublishes() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        // Both keep the default artefactDir (output/artefacts); only outputDir, k and the split differ.
        let a = try writeConfig(f, "a.json") { $0["outputDir"] = "out-a"; $0["score"] = ["k": 3] }
        let b = try writeConfig(f, "b.json") {
            $0["outputDir"] = "out-b"; $0["score"] = ["k": 5]
            $0["split"] = ["seed": 11, "testRatio": 0.25, "validationRatio": 0.1]
        }
        let first = try run("rec-pipeline", ["--config", a])
        #expect(first.status == 0, "\(first.stderr)")
        let expected = try Self.exports.map { try bytes(f.path("out-a/" + $0)) }
        var bad: [String] = []
        for round in 0..<20 {
            let order = round % 2 == 0 ? [a, b] : [b, a]
            let runs = try order.map { try start("rec-pipeline", ["--config", $0, "--quiet", "--wait"]) }
            for p in runs { p.waitUntilExit() }
            let (codeA, codeB) = round % 2 == 0 ? (runs[0].terminationStatus, runs[1].terminationStatus)
                                                : (runs[1].terminationStatus, runs[0].terminationStatus)
            if codeA != 0 || codeB != 2 { bad.append("round \(round): exit codes \(codeA) (owner), \(codeB) (other)") }
            bad += problems(f.path("out-a"), expected: expected, k: 3).map { "round \(round), out-a: \($0)" }
            if FileManager.default.fileExists(atPath: f.path("out-b/recommendations.csv")) { bad.append("round \(round): out-b was published") }
        }
        #expect(bad.isEmpty, "\(bad.count) problems: \(bad.prefix(6).joined(separator: "; "))")
    }

    @Test func stageExecutable_whileItsPipelineHoldsTheLock_exitsWithLockCode_andAnotherConfigurationIsRefusedAtOnce() throws {
        let f = try Fixture(.ml1mNoTimestamps, extraConfig: ["ratingModel": ["hidden": [16, 8, 16], "epochs": 150, "batchSize": 8]])
        let other = try writeConfig(f, "other.json") { $0["outputDir"] = "elsewhere" }
        let holder = try start("rec-pipeline", ["--config", f.configPath])
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
        // The artefact folder's lock names the holder once it is taken, and its claim follows.
        let lockFile = f.path("output/artefacts/.rec-pipeline.lock")
        var held = false
        for _ in 0..<500 where !held {
            held = (try? String(contentsOfFile: lockFile, encoding: .utf8))?.contains("\(holder.processIdentifier)") == true
                && (try? FolderClaim.read(f.path("output/artefacts"))) != nil
            if !held { usleep(10_000) }
        }
        #expect(held, "the artefact folder's lock never named the running pipeline")
        let train = try run("rec-train", ["--config", f.configPath])
        let otherTrain = try run("rec-train", ["--config", other, "--wait"])
        let otherPipeline = try run("rec-pipeline", ["--config", other, "--wait"])
        holder.waitUntilExit()
        #expect(holder.terminationStatus == 0)
        #expect(train.status == 3, "\(train.stderr)")
        // Either lock names the holder: they are taken in the order of the folders' identities.
        #expect([lockFile, f.path("output/.rec-pipeline.lock")].contains { train.stderr.contains("another run (pid \(holder.processIdentifier)") && train.stderr.contains($0) }, "\(train.stderr)")
        for r in [otherTrain, otherPipeline] {
            #expect(r.status == 2, "\(r.stderr)")
            #expect(r.stderr.contains(f.path("output/artefacts/" + FolderClaim.fileName)), "\(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: f.path("elsewhere/recommendations.csv")))
    }

    // MARK: - Folders that overlap

    @Test(arguments: [("output", "output"), ("./output/", "output"), ("output/artefacts", "output/artefacts/published"),
                      ("output/recommendations.csv", "output")])
    func artefactAndOutputFoldersOverlapping_isASettingsErrorNamingBoth(dirs: (artefacts: String, output: String)) throws {
        let f = try Fixture(.ml1mNoTimestamps)
        try f.setConfig { $0["artefactDir"] = dirs.artefacts; $0["outputDir"] = dirs.output }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("artefactDir") && r.stderr.contains("outputDir"), "\(r.stderr)")
        #expect(r.stderr.contains(f.path("pipeline.json")), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.path("output")), "a refused run created folders")
    }

    @Test func artefactDirLinkedToTheOutputFolder_isASettingsError() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        try FileManager.default.createDirectory(atPath: f.path("output"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: f.path("art"), withDestinationPath: "output")
        try f.setConfig { $0["artefactDir"] = "art" }
        let r = try run("rec-score", ["--config", f.configPath])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("artefactDir"), "\(r.stderr)")
    }

    // MARK: - Files the pipeline does not own

    @Test func usersFilesWithTemporaryLookingNames_surviveRuns() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let names = [".notes.tmp-2024", ".publish-plan.txt", ".metrics.json.tmp-1-2", ".publish-recommendations.csv",
                     ".rec-tmp.notes"]
        var planted: [String: Data] = [:]
        for dir in ["output", "output/artefacts", "output/artefacts/manifests"] {
            for name in names {
                let path = f.path(dir + "/" + name)
                let content = Data("user's own \(dir)/\(name)\n".utf8)
                try content.write(to: URL(fileURLWithPath: path))
                planted[path] = content
            }
        }
        try f.setConfig { $0["score"] = ["k": 4] }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0, "\(r.stderr)")
        let score = try run("rec-score", ["--config", f.configPath, "--quiet"])
        #expect(score.status == 0, "\(score.stderr)")
        for (path, content) in planted.sorted(by: { $0.key < $1.key }) {
            #expect((try? bytes(path)) == content, "\(path) was removed or changed")
        }
    }

    @Test func lockFileThatIsASymlink_isRefused_andItsTargetIsUntouched() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        let precious = f.path("precious.txt")
        try Data("do not truncate me\n".utf8).write(to: URL(fileURLWithPath: precious))
        try FileManager.default.createDirectory(atPath: f.path("output"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: f.path("output/.rec-pipeline.lock"), withDestinationPath: precious)
        for exe in ["rec-pipeline", "rec-ingest"] {
            let r = try run(exe, ["--config", f.configPath])
            #expect(r.status == 1, "\(exe): \(r.stderr)")
            #expect(r.stderr.contains(f.path("output/.rec-pipeline.lock")) && r.stderr.contains("symbolic link"), "\(r.stderr)")
        }
        #expect(try read(precious) == "do not truncate me\n")
    }

    // MARK: - Paths that are not plain files

    @Test func inputThatIsAFolderAFIFOOrADevice_failsQuicklyNamingIt() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        try FileManager.default.createDirectory(atPath: f.path("folder.dat"), withIntermediateDirectories: true)
        #expect(mkfifo(f.path("fifo.dat"), 0o644) == 0)
        let cases: [(key: String, path: String, says: String)] = [
            ("ratings", f.path("folder.dat"), "folder"), ("movies", f.path("folder.dat"), "folder"),
            ("ratings", f.path("fifo.dat"), "FIFO"), ("ratings", "/dev/zero", "device"), ("movies", "/dev/zero", "device"),
            ("ratings", "/dev/stdin", "/dev/stdin"),
        ]
        for c in cases {
            var input = ["ratings": "ratings.dat", "movies": "movies.dat"]
            input[c.key] = c.path
            try f.setConfig { $0["input"] = input }
            for exe in ["rec-pipeline", "rec-ingest"] {
                let (r, timedOut) = try runBounded(exe, ["--config", f.configPath])
                #expect(!timedOut, "\(exe) with \(c.key) = \(c.path) hung")
                #expect(r.status == 1, "\(exe), \(c.key) = \(c.path): \(r.stderr)")
                #expect(r.stderr.contains(c.path) && r.stderr.contains(c.says), "\(exe), \(c.key) = \(c.path): \(r.stderr)")
                #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("Error Domain"), "\(r.stderr)")
            }
        }
    }

    @Test(arguments: ["artefactDir", "outputDir"])
    func folderSettingThatIsAFile_isASettingsErrorNamingIt(key: String) throws {
        let f = try Fixture(.ml1mNoTimestamps)
        try Data("a plain file\n".utf8).write(to: URL(fileURLWithPath: f.path("plain")))
        for value in ["plain", "plain/below"] {
            try f.setConfig { $0[key] = value }
            for exe in ["rec-pipeline", "rec-split"] {
                let (r, timedOut) = try runBounded(exe, ["--config", f.configPath])
                #expect(!timedOut)
                #expect(r.status == 2, "\(exe), \(key) = \(value): \(r.stderr)")
                #expect(r.stderr.contains(key) && r.stderr.contains(f.path("plain")), "\(r.stderr)")
                #expect(!r.stderr.contains("Error Domain"), "\(r.stderr)")
            }
        }
        #expect(try read(f.path("plain")) == "a plain file\n")
    }

    // MARK: - Command line

    @Test func usageErrors_exitWithCode2_inEveryExecutable() throws {
        for exe in Self.executables + ["rec-inspect"] {
            let bogus = try run(exe, (exe == "rec-inspect" ? ["some.art"] : []) + ["--bogus"])
            #expect(bogus.status == 2, "\(exe) --bogus: \(bogus.status) \(bogus.stderr)")
            #expect(bogus.stderr.contains("--bogus"), "\(bogus.stderr)")
        }
        for exe in Self.executables {
            let workers = try run(exe, ["--workers", "abc"])
            #expect(workers.status == 2, "\(exe) --workers abc: \(workers.status) \(workers.stderr)")
            let negative = try run(exe, ["--workers=-3"])
            #expect(negative.status == 2, "\(exe) --workers=-3: \(negative.status) \(negative.stderr)")
            #expect(negative.stderr.contains("--workers must be 0 (all cores) to 1024"), "\(negative.stderr)")
        }
        let both = try run("rec-pipeline", ["--from", "train", "--only", "score"])
        #expect(both.status == 2, "\(both.stderr)")
        let missing = try run("rec-inspect", [])
        #expect(missing.status == 2, "\(missing.stderr)")
        let help = try run("rec-pipeline", ["--help"])
        #expect(help.status == 0 && help.stdout.contains("--config"))
    }

    @Test func missingSettingsFile_exitsWithCode2_namingThePathAndTheFolder() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        for exe in ["rec-pipeline", "rec-train"] {
            let r = try run(exe, ["--config", "nope.json"], in: f.dir)
            #expect(r.status == 2, "\(exe): \(r.stderr)")
            #expect(r.stderr.contains(f.path("nope.json")), "\(r.stderr)")
            #expect(r.stderr.contains("working folder \(f.dir.path)"), "\(r.stderr)")
        }
        // No --config: pipeline.json in the working folder.
        try FileManager.default.createDirectory(atPath: f.path("empty"), withIntermediateDirectories: true)
        let absent = try run("rec-pipeline", [], in: f.dir.appendingPathComponent("empty"))
        #expect(absent.status == 2 && absent.stderr.contains(f.path("empty/pipeline.json")), "\(absent.stderr)")
    }

    @Test func settingsFileThatIsAFolderOrAFIFO_exitsWithCode2_quickly() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        #expect(mkfifo(f.path("fifo.json"), 0o644) == 0)
        for (path, says) in [(f.path("fifo.json"), "FIFO"), (f.dir.path, "folder"), ("/dev/stdin", "device")] {
            for exe in ["rec-pipeline", "rec-score"] {
                let (r, timedOut) = try runBounded(exe, ["--config", path])
                #expect(!timedOut, "\(exe) --config \(path) hung")
                #expect(r.status == 2, "\(exe) --config \(path): \(r.stderr)")
                #expect(r.stderr.contains(path) && r.stderr.contains(says), "\(r.stderr)")
            }
        }
    }

    @Test func duplicateKeyInSettings_exitsWithCode2_namingKeyAndLine() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        try Data("{\n  \"score\": {\"k\": 3},\n  \"workers\": 1,\n  \"score\": {\"k\": 7}\n}\n".utf8).write(to: URL(fileURLWithPath: f.configPath))
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("\(f.configPath):4:") && r.stderr.contains("'score'"), "\(r.stderr)")
    }

    // MARK: - Quiet

    @Test func quietSuccessfulRun_printsNothing_andQuietStageToo() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        let r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty && r.stderr.isEmpty, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: f.path("output/metrics.json")))
        let again = try run("rec-pipeline", ["--config", f.configPath, "--quiet", "--force"])
        #expect(again.status == 0 && again.stdout.isEmpty && again.stderr.isEmpty, "\(again.stdout)\(again.stderr)")
        let score = try run("rec-score", ["--config", f.configPath, "--quiet"])
        #expect(score.status == 0 && score.stdout.isEmpty && score.stderr.isEmpty, "\(score.stdout)\(score.stderr)")
        // Without --quiet the table is there (the test would pass for a program that prints nothing ever).
        let loud = try run("rec-score", ["--config", f.configPath])
        #expect(loud.status == 0 && !loud.stdout.isEmpty)
    }

    @Test func quietRunWithSkippedLines_warnsOnStderrOnly() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        var text = try read(f.path("ratings.dat"))
        text += "1::2::9\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: f.path("ratings.dat")))
        try f.setConfig { $0["input"] = ["ratings": "ratings.dat", "movies": "movies.dat", "invalidLines": "skip"] }
        let r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty, "\(r.stdout)")
        #expect(r.stderr.contains("warning") && r.stderr.contains("skipped 1 invalid lines"), "\(r.stderr)")
    }
}
