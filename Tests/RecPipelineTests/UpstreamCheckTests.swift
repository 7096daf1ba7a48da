import Foundation
import Logging
import RecTestSupport
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecPipeline
@testable import RecOps

/// The check before every stage: what it reads must be what the stages before it make now.
@Suite struct UpstreamCheckTests {
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    static func context(_ f: PipelineFixture) throws -> StageContext {
        StageContext(config: try PipelineConfig.load(f.configPath), logger: logger)
    }

    static func settings(_ f: PipelineFixture, _ path: [String], _ value: JSONValue) throws {
        guard case .object(let o) = IncrementalRunTests.setting(.object(PipelineFixture.baseSettings), path, to: value) else { return }
        try f.write(o)
    }

    @Test func scoreByHand_afterTheRankingModelsLambdaChanged_isRefusedNamingTrainAndTheSetting_andExportToo() throws {
        let f = try PipelineFixture()
        try f.run()
        let before = try f.exports()
        try Self.settings(f, ["rankingModel", "lambda"], .double(35))
        let ctx = try Self.context(f)
        for (stage, then) in [(ScoreStage() as any Stage, "rec-score"), (ExportStage(), "rec-score, rec-export")] {
            let e = recError { try Runner.runAlone(stage, ctx, wait: false) }
            #expect(e?.kind == .config, "\(String(describing: e))")
            #expect(e?.message.contains("made by rec-train under other settings (setting rankingModel.lambda changed)") == true, "\(String(describing: e))")
            #expect(e?.file?.hasPrefix(ctx.config.paths.artefacts) == true && e?.file?.hasSuffix("model.art") == true, "\(String(describing: e))")
            #expect(e?.hint?.hasPrefix("run rec-train first, then \(then); or rec-pipeline") == true, "\(String(describing: e?.hint))")
        }
        #expect(try f.exports() == before)
        // The runner's --only refuses the same way, its dry run too; a plain run reruns train.
        for dryRun in [true, false] {
            var o = Runner.Options()
            o.only = "score"
            o.dryRun = dryRun
            let e = recError { try Runner(config: ctx.config, options: o, logger: Self.logger).run() }
            #expect(e?.kind == .config && e?.hint?.hasPrefix("run rec-train first") == true, "\(String(describing: e))")
        }
        let outcomes = try f.run()
        #expect(outcomes.filter(\.ran).map(\.stage) == ["train", "score", "export"])
    }

    @Test func anArtefactFromAnotherRun_isRefusedAsReplaced_andADamagedOneIsTheReadersArtefactError() throws {
        let f = try PipelineFixture(), other = try PipelineFixture()
        try f.run()
        // Another split and λ: every artefact of the other run differs from this one's.
        let seed = IncrementalRunTests.setting(.object(PipelineFixture.baseSettings), ["split", "seed"], to: .int(9))
        guard case .object(let o) = IncrementalRunTests.setting(seed, ["rankingModel", "lambda"], to: .double(35)) else { return }
        try other.write(o)
        try other.run()
        let mine = try Self.context(f).config.paths, theirs = try Self.context(other).config.paths
        for (file, reader) in [(\StagePaths.rankingModel, ScoreStage() as any Stage), (\StagePaths.topK, ExportStage()),
                               (\StagePaths.stagedMetrics, ExportStage()), (\StagePaths.matrices, TrainStage())] {
            let kept = try AtomicFile.read(mine[keyPath: file])
            defer { try? AtomicFile.write(kept, to: mine[keyPath: file]) }
            let foreign = try AtomicFile.read(theirs[keyPath: file])
            let differs = foreign != kept
            try #require(differs, "the other run's \(mine[keyPath: file]) is the same")
            try AtomicFile.write(foreign, to: mine[keyPath: file])
            let e = recError { try Runner.runAlone(reader, try Self.context(f), wait: false) }
            #expect(e?.kind == .config && e?.file == mine[keyPath: file] && e?.message.hasPrefix("is not the file") == true, "\(String(describing: e))")
        }
        var damaged = try AtomicFile.read(mine.rankingModel)
        damaged[damaged.count / 2] ^= 0x40
        try AtomicFile.write(damaged, to: mine.rankingModel)
        let e = recError { try Runner.runAlone(ScoreStage(), try Self.context(f), wait: false) }
        #expect(e?.kind == .artefact && e?.hint == "rerun rec-train to write it again", "\(String(describing: e))")
    }

    /// A stage whose inputs are current by their writer's record, but whose writer read files
    /// that a later hand run replaced: the chain is stale at the first stage that reran.
    @Test func upstreamRerunUnderOtherSettings_thenSettingsBack_refusesNamingTheFirstStaleStage() throws {
        let f = try PipelineFixture()
        try f.run()
        try Self.settings(f, ["split", "seed"], .int(9))
        _ = try Runner.runAlone(SplitStage(), try Self.context(f), wait: false)
        try f.write(PipelineFixture.baseSettings)
        let e = recError { try Runner.runAlone(TrainStage(), try Self.context(f), wait: false) }
        #expect(e?.kind == .config && e?.hint?.hasPrefix("run rec-split first, then rec-build-matrix, rec-train;") == true, "\(String(describing: e))")
        // Split rerun under these settings writes the bytes build-matrix read: train may run.
        _ = try Runner.runAlone(SplitStage(), try Self.context(f), wait: false)
        _ = try Runner.runAlone(TrainStage(), try Self.context(f), wait: false)
    }

    @Test func ratingsFileChangedSinceIngest_refusesEveryLaterStage_namingIngest() throws {
        let f = try PipelineFixture()
        try f.run()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: f.file("ratings.dat")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("40::1::5::978300000\n".utf8))
        try handle.close()
        for stage in Pipeline.stages.dropFirst() {
            let e = recError { try Runner.runAlone(stage, try Self.context(f), wait: false) }
            #expect(e?.kind == .config && e?.hint?.hasPrefix("run rec-ingest first") == true && e?.message.contains("ratings.dat") == true,
                    "\(stage.name): \(String(describing: e))")
        }
    }

    @Test func mergeByHand_ofShardsMadeUnderOtherSettings_isRefusedNamingTheShardCommand() throws {
        let f = try ShardFixture()
        try f.runSharded(2)
        var c = f.config
        c.score.k = 3
        let ctx = StageContext(config: c, logger: Self.logger)
        let e = recError { try Runner.runAlone(ScoreStage().merge(2), ctx, wait: false) }
        #expect(e?.kind == .config && e?.hint?.hasPrefix("run rec-score --shard 0/2, rec-score --shard 1/2 first, then rec-score --merge-shards 2;") == true, "\(String(describing: e))")
        let export = recError { try Runner.runAlone(ExportStage().merge(2), ctx, wait: false) }
        #expect(export?.kind == .config && export?.hint?.hasPrefix("run rec-score first, then rec-export --merge-shards 2;") == true, "\(String(describing: export))")
        // A shard by hand names itself last.
        let shard = recError { try Runner.runAlone(ExportStage().shard(try Shard(index: 1, count: 2)), ctx, wait: false) }
        #expect(shard?.hint?.hasPrefix("run rec-score first, then rec-export --shard 1/2;") == true, "\(String(describing: shard))")
    }

    @Test func clusterJob_readingOtherSettingsThanSubmitted_isRefused_andRunsNothing() throws {
        let f = try ShardFixture()
        try ClusterRun(runId: "r", shards: 1, settings: "00000000000000aa").write(f.config)
        let e = recError { try ClusterJob.run(IngestStage(), merging: nil, runId: "r", settings: "00000000000000bb", f.context) }
        #expect(e?.kind == .config && e?.message.contains("other settings") == true, "\(String(describing: e))")
        #expect(!FileManager.default.fileExists(atPath: f.config.paths.ratings))
        _ = try ClusterJob.run(IngestStage(), merging: nil, runId: "r", settings: "00000000000000aa", f.context)
        #expect(FileManager.default.fileExists(atPath: f.config.paths.ratings))
    }

    /// The writer's record is what vouches for a file: one of another program version, of a
    /// failed run, of other settings, or none at all, and the reader refuses.
    @Test(arguments: ["version", "success", "settings", "outputs", "removed"])
    func trainsRecordChanged_scoreByHandRefusesNamingTrain(_ change: String) throws {
        let f = try PipelineFixture()
        try f.run()
        let ctx = try Self.context(f)
        let dir = ctx.config.paths.artefacts
        var record = try #require(Manifest.read(stage: "train", dir: dir))
        switch change {
        case "version": record.version = "0.0.1"
        case "success": record.success = false
        case "settings": record.settings = .object(["split": .object(["seed": .int(99)])])
        case "outputs": record.outputs[ctx.config.paths.model] = FileStamp(hash: "0000000000000000", bytes: 1)
        default: try FileManager.default.removeItem(atPath: Manifest.path(stage: "train", dir: dir))
        }
        if change != "removed" { try Manifest.write(record, dir: dir) }
        let e = recError { try Runner.runAlone(ScoreStage(), ctx, wait: false) }
        #expect(e?.kind == .config && e?.hint?.hasPrefix("run rec-train first, then rec-score;") == true, "\(change): \(String(describing: e))")
        #expect(!(e?.message.isEmpty ?? true))
    }
}
