import Foundation
import Testing
@testable import RecStore

/// Nightly operation: reruns only what changed, survives being killed, one run at a time,
/// damaged artefacts caught, bad lines counted.
@Suite(.serialized)
struct OperationsTests {
    static let exports = ["output/recommendations.csv", "output/recommendations.jsonl", "output/metrics.json", "output/report.html",
                          "output/similar.csv", "output/similar.jsonl"]

    /// Stage names the runner logged as run, and as skipped.
    func stages(_ log: String) -> (ran: [String], skipped: [String]) {
        var ran: [String] = [], skipped: [String] = []
        for line in log.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 4)
            guard parts.count >= 4 else { continue }
            let name = String(parts[3].dropLast())
            if line.contains(": running: ") { ran.append(name) }
            if line.contains(": skipped, up to date") { skipped.append(name) }
        }
        return (ran, skipped)
    }

    @Test func secondRun_skipsEveryStage_andChangingKRerunsOnlyScoreAndExport() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        let first = try run("rec-pipeline", ["--config", f.configPath])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(stages(first.stderr).ran == ["ingest", "split", "build-matrix", "train", "score", "export"])
        let exports = try Self.exports.map { try bytes(f.path($0)) }

        let second = try run("rec-pipeline", ["--config", f.configPath])
        #expect(second.status == 0)
        #expect(stages(second.stderr).ran.isEmpty)
        #expect(stages(second.stderr).skipped.count == 6)
        #expect(try Self.exports.map { try bytes(f.path($0)) } == exports)

        try f.setConfig { $0["score"] = ["k": 4] }
        let plan = try run("rec-pipeline", ["--config", f.configPath, "--dry-run"])
        #expect(plan.status == 0)
        #expect(plan.stderr.contains("score: would run: setting score.k changed"), "\(plan.stderr)")
        let third = try run("rec-pipeline", ["--config", f.configPath])
        #expect(third.status == 0)
        #expect(stages(third.stderr).ran == ["score", "export"])
        let rows = parseCSV(try read(f.path("output/recommendations.csv"))).dropFirst()
        #expect(rows.count == Fixture.users * 4)
    }

    @Test func removedOrEditedOutput_isRebuiltByItsStage() throws {
        let f = try Fixture(.ml100k)
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let csv = try bytes(f.path("output/recommendations.csv"))
        try FileManager.default.removeItem(atPath: f.path("output/recommendations.csv"))
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(stages(r.stderr).ran == ["export"])
        #expect(try bytes(f.path("output/recommendations.csv")) == csv)
    }

    @Test func damagedArtefact_standaloneStageNamesWhatToRerun_andPipelineRebuildsIt() throws {
        let f = try Fixture(.ml1mWithTimestamps, extraConfig: ["rankingModel": ["type": "ease", "lambda": 20]])
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let exports = try Self.exports.map { try bytes(f.path($0)) }
        let cases: [(artefact: String, consumer: String, producer: String)] = [
            ("ratings.art", "rec-split", "rec-ingest"), ("train.art", "rec-build-matrix", "rec-split"),
            ("validation.art", "rec-build-matrix", "rec-split"), ("test.art", "rec-build-matrix", "rec-split"),
            ("matrices.art", "rec-train", "rec-build-matrix"), ("model.art", "rec-score", "rec-train"),
            ("ranking-model.art", "rec-score", "rec-train"), ("topk.art", "rec-export", "rec-score"),
            ("catalogue.art", "rec-export", "rec-ingest"),
        ]
        for c in cases {
            let path = f.path("output/artefacts/" + c.artefact)
            var data = try bytes(path)
            let good = data
            for (n, position) in [data.count / 2, 20, data.count - 1].enumerated() {
                data = good
                if n == 0 { data[position] ^= 0x40 } else if n == 1 { data = data.prefix(position) } else { data = data.prefix(position) }
                try data.write(to: URL(fileURLWithPath: path))
                let r = try run(c.consumer, ["--config", f.configPath])
                #expect(r.status == 1, "\(c.consumer) on damaged \(c.artefact): \(r.stderr)")
                #expect(r.stderr.contains(c.artefact) && r.stderr.contains("rerun \(c.producer)"), "\(r.stderr)")
                #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("crashed"))
            }
            // The runner sees the artefact no longer matches its manifest and rebuilds it.
            let healed = try run("rec-pipeline", ["--config", f.configPath])
            #expect(healed.status == 0, "\(healed.stderr)")
            #expect(try bytes(path) == good)
            #expect(try Self.exports.map { try bytes(f.path($0)) }.prefix(3) == exports.prefix(3))
        }
    }

    @Test func sigkillAtTwentyMoments_leavesPreviousExportsWhole_andNextRunCompletes() throws {
        let f = try Fixture(.ml1mNoTimestamps, extraConfig: ["ratingModel": ["hidden": [16, 8, 16], "epochs": 30, "batchSize": 8]])
        // The two runs alternated below, each complete and uninterrupted, for reference.
        func setTarget(_ seed: Int) throws { try f.setConfig { $0["split"] = ["seed": seed, "testRatio": 0.25, "validationRatio": 0.1] } }
        var expected: [Int: [Data]] = [:]
        var duration = 0.0
        for seed in [3, 4] {
            try setTarget(seed)
            let clock = ContinuousClock.now
            #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
            let d = clock.duration(to: .now).components
            duration = max(duration, Double(d.seconds) + Double(d.attoseconds) * 1e-18)
            expected[seed] = try Self.exports.map { try bytes(f.path($0)) }
        }
        #expect(expected[3] != expected[4])
        var previous = 4
        var interrupted = 0
        var depths = Set<Int>()
        for moment in 0..<20 {
            let target = previous == 3 ? 4 : 3
            try setTarget(target)
            let p = Process()
            p.executableURL = productsDirectory.appendingPathComponent("rec-pipeline")
            p.arguments = ["--config", f.configPath, "--quiet"]
            p.standardError = FileHandle.nullDevice
            let started = Date()
            try p.run()
            // Moments spread over the whole run, from start-up to the final publish.
            usleep(UInt32(duration * 1e6 * Double(moment) / 19))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // Every export is whole, and all four come from one run: the previous one, or
            // (when the kill came after the publish) the new one.
            let now = try Self.exports.map { try bytes(f.path($0)) }
            #expect(now == expected[previous]! || now == expected[target]!, "moment \(moment): exports are torn")
            if now == expected[previous]! { interrupted += 1 }
            // How far the killed run got: the stages whose manifests it wrote.
            let manifests = try FileManager.default.contentsOfDirectory(atPath: f.path("output/artefacts/manifests"))
            let written = try manifests.filter { name in
                let date = try FileManager.default.attributesOfItem(atPath: f.path("output/artefacts/manifests/" + name))[.modificationDate] as! Date
                return date > started
            }
            depths.insert(written.count)
            // The next run completes and gives exactly the uninterrupted result.
            let next = try run("rec-pipeline", ["--config", f.configPath])
            #expect(next.status == 0, "moment \(moment): \(next.stderr)")
            #expect(try Self.exports.map { try bytes(f.path($0)) } == expected[target]!, "moment \(moment)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: f.path("output")).filter(AtomicFile.isTemporary)
            #expect(leftovers.isEmpty)
            previous = target
        }
        // The moments really fell inside runs (not all after them), across several stages.
        #expect(interrupted >= 10, "only \(interrupted) of 20 kills interrupted a run")
        // At least two depths: on a loaded machine (the whole suite runs in parallel) the
        // fixture's short stages can fall between two evenly spaced moments.
        #expect(depths.count >= 2, "kills landed after only these numbers of finished stages: \(depths.sorted())")
    }

    @Test func twoConcurrentRuns_oneProceeds_otherExitsWithLockCode() throws {
        let f = try Fixture(.ml1mNoTimestamps, extraConfig: ["ratingModel": ["hidden": [16, 8, 16], "epochs": 150, "batchSize": 8]])
        let first = Process()
        first.executableURL = productsDirectory.appendingPathComponent("rec-pipeline")
        first.arguments = ["--config", f.configPath, "--quiet"]
        try first.run()
        // Wait until the first run holds the lock (its pid is in the lock file).
        let lockFile = f.path("output/.rec-pipeline.lock")
        for _ in 0..<500 {
            if let text = try? String(contentsOfFile: lockFile, encoding: .utf8), text.contains("\(first.processIdentifier)") { break }
            usleep(10_000)
        }
        let second = try run("rec-pipeline", ["--config", f.configPath])
        let aStage = try run("rec-score", ["--config", f.configPath])
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        #expect(second.status == 3, "\(second.stderr)")
        #expect(second.stderr.contains("another run"), "\(second.stderr)")
        #expect(aStage.status == 3)
        // The outputs are those of one complete run: a fresh forced run gives the same bytes.
        let outputs = try Self.exports.prefix(3).map { try bytes(f.path($0)) }
        #expect(try run("rec-pipeline", ["--config", f.configPath, "--force"]).status == 0)
        #expect(try Self.exports.prefix(3).map { try bytes(f.path($0)) } == outputs)
        // With --wait a second run waits for the first instead.
        let holder = Process()
        holder.executableURL = productsDirectory.appendingPathComponent("rec-pipeline")
        holder.arguments = ["--config", f.configPath, "--quiet", "--force"]
        try holder.run()
        usleep(100_000)
        let waiting = try run("rec-pipeline", ["--config", f.configPath, "--wait"])
        holder.waitUntilExit()
        #expect(waiting.status == 0, "\(waiting.stderr)")
    }

    @Test func skipPolicy_countsEveryBadLineByReason_inLogAndManifest() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        var text = try read(f.path("ratings.dat"))
        text += "1::2::9\n2::x::3\n3::4\n1::1::4\n1::1::5\n7::999::4\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: f.path("ratings.dat")))
        try f.setConfig { $0["input"] = ["ratings": "ratings.dat", "movies": "movies.dat", "invalidLines": "skip"] }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("skipped"), "\(r.stderr)")
        let manifest = try JSONSerialization.jsonObject(with: bytes(f.path("output/artefacts/manifests/ingest.json"))) as! [String: Any]
        let skipped = manifest["skipped"] as! [String: Int]
        // The fixture may already rate (1, 1); either way the later copy is a duplicate.
        #expect(skipped["rating-out-of-scale"] == 1)
        #expect(skipped["bad-movie-id"] == 1)
        #expect(skipped["field-count"] == 1)
        #expect(skipped["unknown-movie"] == 1)
        #expect((skipped["duplicate-pair"] ?? 0) >= 1)

        // The same file under the error policy stops at the first bad line.
        try f.setConfig { $0["input"] = ["ratings": "ratings.dat", "movies": "movies.dat", "invalidLines": "error"] }
        let strict = try run("rec-pipeline", ["--config", f.configPath])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("ratings.dat:"), "\(strict.stderr)")
    }
}
