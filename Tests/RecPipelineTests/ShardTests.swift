import Foundation
import Logging
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecPipeline
@testable import RecOps
import RecTestSupport

/// A small ML-1M-style dataset and its settings in a fresh folder.
final class ShardFixture {
    let home: TempDir
    let dir: String
    let config: PipelineConfig

    init(users: Int = 50, movies: Int = 40, k: Int = 5) throws {
        home = try TempDir(prefix: "recstages-shards")
        dir = home.path
        var rng = SplitMix64(seed: 11)
        var lines = ""
        for u in 1...users {
            var seen = Set<Int>()
            let n = 8 + rng.below(12)
            while seen.count < n { seen.insert(1 + min(rng.below(movies), rng.below(movies))) }
            for m in seen.sorted() { lines += "\(u)::\(m)::\(1 + (m * 3 + u + rng.below(2)) % 5)\n" }
        }
        try lines.write(toFile: dir + "/ratings.dat", atomically: true, encoding: .utf8)
        try (1...movies).map { "\($0)::Movie \($0) (1990)::Drama|Comedy\n" }.joined()
            .write(toFile: dir + "/movies.dat", atomically: true, encoding: .utf8)
        let json = """
            {"input": {"ratings": "ratings.dat", "movies": "movies.dat"}, "workers": 2,
             "split": {"seed": 5, "testRatio": 0.25, "validationRatio": 0.1},
             "ratingModel": {"hidden": [8], "epochs": 2, "batchSize": 16},
             "rankingModel": {"type": "ease", "lambda": 20},
             "score": {"k": \(k)}, "qualityGate": {"maxNDCGDrop": null, "maxRMSERise": null}}
            """
        var c = try PipelineConfig.parse(try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)))
        c.baseDirectory = dir
        config = c
    }

    var context: StageContext { StageContext(config: config, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }) }

    func bytes(_ path: String) throws -> [UInt8] { try AtomicFile.read(path) }

    /// Every stage as the Slurm jobs run them: shardable ones as `count` shards and a merge.
    func runSharded(_ count: Int) throws {
        for stage in Pipeline.stages {
            if let sharded = stage as? ShardableStage {
                for shard in try Shard.all(count) { _ = try Runner.execute(sharded.shard(shard), context) }
                _ = try Runner.execute(sharded.merge(count), context)
            } else {
                _ = try Runner.execute(stage, context)
            }
        }
    }
}

struct ShardTests {
    @Test func shardUsers_coverEveryUserOnceInOrder_forAnyCount() throws {
        for users in [0, 1, 5, 60, 943] {
            for n in 1...9 {
                let ranges = try Shard.all(n).map { $0.users(of: users) }
                #expect(ranges.flatMap { Array($0) } == Array(0..<users), "\(users) users in \(n) shards")
                #expect(ranges.map(\.count).max()! - ranges.map(\.count).min()! <= 1, "shards differ by at most one user")
            }
        }
    }

    @Test func parse_whenNotIOfNOrOutOfRange_throwsConfigError() throws {
        for bad in ["3", "4/4", "-1/2", "a/b", "0/0", "1/2/3", "", "0/10001"] {
            #expect(recError { try Shard.parse(bad) }?.kind == .config, "'\(bad)'")
        }
        #expect(try Shard.parse("2/7") == Shard(index: 2, count: 7))
    }

    @Test func arrayRanges_joinRunsOfConsecutiveIndices() {
        #expect(SlurmEngine.ranges([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8")
        #expect(SlurmEngine.ranges([3]) == "3")
    }

    @Test func quote_leavesPlainWordsAndSingleQuotesTheRest() {
        #expect(SlurmEngine.quote("/a/b-c.json") == "/a/b-c.json")
        #expect(SlurmEngine.quote("a b") == "'a b'")
        #expect(SlurmEngine.quote("it's") == "'it'\\''s'")
        #expect(SlurmEngine.quote("$HOME") == "'$HOME'")
    }

    @Test func shardedStages_withOneThreeAndSevenShards_writeTheLocalRunsBytes() throws {
        let local = try ShardFixture()
        _ = try Runner(config: local.config, options: .init(), logger: local.context.logger).run()
        let p = local.config.paths
        let compared = [p.train, p.validation, p.test, p.matrices, p.topK, p.evalTopK, p.stagedMetrics,
                        p.recommendationsCSV, p.recommendationsJSONL, p.metrics, p.report]
        for n in [1, 3, 7] {
            let f = try ShardFixture()
            try f.runSharded(n)
            for path in compared {
                let mine = path.replacingOccurrences(of: local.dir, with: f.dir)
                #expect(try f.bytes(mine) == (try local.bytes(path)), "N=\(n): \(URL(fileURLWithPath: path).lastPathComponent)")
            }
            #expect(FileManager.default.fileExists(atPath: try Shard(index: n - 1, count: n).part(f.config.paths.topK)))
        }
    }

    @Test func merge_whenAPartIsMissing_throwsNamingIt_andWritesNothing() throws {
        let f = try ShardFixture()
        _ = try Runner.execute(IngestStage(), f.context)
        _ = try Runner.execute(SplitStage().shard(try Shard(index: 0, count: 2)), f.context)
        let e = recError { try Runner.execute(SplitStage().merge(2), f.context) }
        #expect(e?.kind == .artefact)
        #expect(e?.description.contains("train.art.part-1-of-2") == true && e?.hint?.contains("shard") == true, "\(String(describing: e))")
        #expect(e?.hint?.hasPrefix("run rec-split --shard 1/2 first") == true, "\(String(describing: e?.hint))")
        #expect(!FileManager.default.fileExists(atPath: f.config.paths.train))
    }

    /// The runner's input check names the shard command for the score and export merges too.
    @Test func scoreAndExportMerges_whenAPartIsMissing_nameTheShardToRun() throws {
        let f = try ShardFixture()
        try f.runSharded(2)
        let p = f.config.paths
        let missing: [(stage: any Stage, part: String, command: String)] = [
            (ScoreStage().merge(2), try Shard(index: 1, count: 2).part(p.topK), "rec-score --shard 1/2"),
            (ExportStage().merge(2), ExportShard(shardOf: try Shard(index: 0, count: 2)).outputs(f.config)[1], "rec-export --shard 0/2"),
        ]
        for (stage, part, command) in missing {
            let kept = try f.bytes(part)
            try FileManager.default.removeItem(atPath: part)
            let e = recError { try Runner.execute(stage, f.context) }
            #expect(e?.kind == .artefact && e?.description.contains(URL(fileURLWithPath: part).lastPathComponent) == true, "\(String(describing: e))")
            #expect(e?.hint?.hasPrefix("run \(command) first") == true, "\(String(describing: e?.hint))")
            try AtomicFile.write(kept, to: part)
        }
    }

    @Test func partPaths_nameTheirShard() throws {
        #expect(Shard.ofPart("/a/topk.art.part-3-of-7") == (try Shard(index: 3, count: 7)))
        for other in ["/a/topk.art", "/a/x.part-3-of", "/a/x.part-7-of-7", "/a/x.part-a-of-2"] { #expect(Shard.ofPart(other) == nil, "\(other)") }
    }

    @Test func clusterJob_ofASupersededRun_throwsLocked_andRunsNothing() throws {
        let f = try ShardFixture()
        try ClusterRun(runId: "newer", shards: 2).write(f.config)
        let e = recError { try ClusterJob.run(IngestStage(), merging: nil, runId: "older", f.context) }
        #expect(e?.kind == .locked)
        #expect(!FileManager.default.fileExists(atPath: f.config.paths.ratings))
    }

    @Test func clusterRunRecord_damaged_isAnErrorNamingIt_notNoRecord() throws {
        let f = try ShardFixture()
        #expect(try ClusterRun.read(f.config) == nil)
        try FileManager.default.createDirectory(atPath: f.config.paths.artefacts, withIntermediateDirectories: true)
        try Data("{\"runId\": ".utf8).write(to: URL(fileURLWithPath: ClusterRun.path(f.config)))
        let e = recError { _ = try ClusterRun.read(f.config) }
        #expect(e?.kind == .artefact && e?.file == ClusterRun.path(f.config))
        // A job of any run stops on it too, before running anything.
        let job = recError { try ClusterJob.run(IngestStage(), merging: nil, runId: "r", f.context) }
        #expect(job?.kind == .artefact)
        #expect(!FileManager.default.fileExists(atPath: f.config.paths.ratings))
    }

    @Test func clusterMerge_whenAShardsManifestIsMissing_refusesToJoin() throws {
        let f = try ShardFixture()
        try f.runSharded(2)
        try ClusterRun(runId: "r", shards: 2).write(f.config)
        let score = ScoreStage()
        try FileManager.default.removeItem(atPath: Manifest.path(stage: "score.shard-1-of-2", dir: f.config.paths.artefacts))
        try FileManager.default.removeItem(atPath: Manifest.path(stage: "score", dir: f.config.paths.artefacts))
        let e = recError { try ClusterJob.run(score.merge(2), merging: (score, 2), runId: "r", f.context) }
        #expect(e?.kind == .artefact)
        #expect(e?.description.contains("shard 1/2") == true, "\(String(describing: e))")
    }

    @Test func slurmPlan_afterOneShardFailed_submitsThatShardAndWhatFollowsOnly() throws {
        let f = try ShardFixture()
        try f.runSharded(4)
        var o = SlurmEngine.Options()
        o.shards = 4
        let engine = SlurmEngine(config: f.config, configPath: f.dir + "/pipeline.json", options: o,
                                 logger: f.context.logger, binDirectory: "/opt/rec/bin")
        #expect(try engine.plan(runId: "r").isEmpty, "everything is up to date")
        try FileManager.default.removeItem(atPath: Manifest.path(stage: "score.shard-2-of-4", dir: f.config.paths.artefacts))
        let plan = try engine.plan(runId: "r").map(\.job)
        #expect(plan.map(\.name) == ["rec-score-shards", "rec-score-merge", "rec-export-shards", "rec-export-merge"])
        #expect(plan[0].array == [2])
        #expect(plan[2].array == [0, 1, 2, 3])
        #expect(plan[0].command.contains("/opt/rec/bin/rec-score --config") && plan[0].command.contains("--shard \"${SLURM_ARRAY_TASK_ID}/4\""))
        let args = engine.sbatchArguments(plan[1], after: "17")
        #expect(args.contains("--dependency=afterok:17") && args.contains("--kill-on-invalid-dep=yes"))
    }

    @Test func slurmSettings_areInNoFingerprint() throws {
        let f = try ShardFixture()
        var c = f.config
        c.slurm.partition = "gpu"
        c.slurm.extraOptions = ["--hold"]
        for stage in Pipeline.stages {
            #expect(try Pipeline.fingerprint(stage, c) == (try Pipeline.fingerprint(stage, f.config)), "\(stage.name)")
        }
    }
}
