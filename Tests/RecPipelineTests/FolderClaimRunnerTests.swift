import Foundation
import Logging
import Testing
@testable import RecCore
@testable import RecPipeline
@testable import RecOps

/// The claims where runs take them: the runner's locks (rec-pipeline, the stage executables,
/// the Slurm submitter) and the cluster jobs, which check against the submitting settings file.
@Suite struct FolderClaimRunnerTests {
    /// A settings file in the fixture's folder, and the fixture's configuration as loaded from it.
    func config(_ f: ShardFixture, _ name: String) throws -> PipelineConfig {
        try "{}\n".write(toFile: f.dir + "/" + name, atomically: false, encoding: .utf8)
        var c = f.config
        let identity = try #require(SettingsFileIdentity.of(f.dir + "/" + name))
        c.settingsFile = identity
        return c
    }

    func context(_ c: PipelineConfig) -> StageContext {
        StageContext(config: c, logger: .init(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    @Test func runnerLock_claimsBothFolders_andRefusesAnotherConfigurationAtOnce_evenWhenItWouldWait() throws {
        let f = try ShardFixture()
        let a = try config(f, "a.json"), b = try config(f, "b.json")
        let locks = try Runner.lock(a, wait: false)
        for (folder, role) in FolderClaim.folders(a) {
            #expect(try FolderClaim.read(folder)?.owner == a.settingsFile && FolderClaim.read(folder)?.role == role)
        }
        // Another run of the same file finds the lock taken; another file is refused without
        // waiting for the lock (it would never get the folders anyway).
        #expect(recError { try Runner.lock(a, wait: false) }?.kind == .locked)
        let refused = Refusal()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do { _ = try Runner.lock(b, wait: true) } catch let e as RecError { refused.set(e) } catch {}
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 20) == .success, "the other configuration waited for the lock")
        #expect(refused.value?.kind == .config && refused.value?.message.contains(a.settingsFile!.path) == true)
        for lock in locks { lock.release() }
        // A dry run checks and takes nothing; with --take-over it writes nothing either.
        #expect(recError { try Runner.lock(b, wait: false, dryRun: true) }?.kind == .config)
        #expect(try Runner.lock(b, wait: false, takeOver: true, dryRun: true).isEmpty)
        #expect(try FolderClaim.read(a.paths.output)?.owner == a.settingsFile)
        // The refusal leaves the locks free.
        #expect(recError { try Runner.lock(b, wait: false) }?.kind == .config)
        let again = try Runner.lock(a, wait: false)
        #expect(again.count == 2)
        for lock in again { lock.release() }
    }

    @Test func runnerRun_ofAnotherConfiguration_writesNothing_andWithTakeOverRunsAndOwnsTheFolders() throws {
        let f = try ShardFixture()
        let a = try config(f, "a.json"), b = try config(f, "b.json")
        _ = try Runner(config: a, options: Runner.Options(), logger: context(a).logger).run()
        let published = try Data(contentsOf: URL(fileURLWithPath: a.paths.recommendationsCSV))
        let e = recError { try Runner(config: b, options: Runner.Options(), logger: context(b).logger).run() }
        #expect(e?.kind == .config)
        #expect(try Data(contentsOf: URL(fileURLWithPath: a.paths.recommendationsCSV)) == published)
        var o = Runner.Options()
        o.takeOver = true
        o.force = true
        let outcomes = try Runner(config: b, options: o, logger: context(b).logger).run()
        #expect(outcomes.filter(\.ran).count == Pipeline.stages.count)
        #expect(try FolderClaim.read(b.paths.artefacts)?.owner == b.settingsFile)
        #expect(recError { try Runner(config: a, options: Runner.Options(), logger: context(a).logger).run() }?.kind == .config)
    }

    /// A cluster job reads whatever settings file it was given (a snapshot, say) but checks the
    /// folders against the settings file that submitted it, recorded in cluster-run.json.
    @Test func clusterJob_checksTheFoldersAgainstTheSubmittingSettingsFile() throws {
        let f = try ShardFixture()
        let a = try config(f, "a.json"), b = try config(f, "b.json"), snapshot = try config(f, "snapshot.json")
        for lock in try Runner.lock(a, wait: false) { lock.release() }
        try ClusterRun(runId: "r", shards: 1, owner: a.settingsFile).write(a)
        // The job reads a snapshot of the settings: it is the submitting configuration's.
        guard case .ran = try ClusterJob.run(IngestStage(), merging: nil, runId: "r", context(snapshot)) else {
            Issue.record("the job did not run")
            return
        }
        // Another configuration took the folders over since the submission: the next job refuses.
        for lock in try Runner.lock(b, wait: false, takeOver: true) { lock.release() }
        let before = try Data(contentsOf: URL(fileURLWithPath: a.paths.ratings))
        let e = recError { try ClusterJob.run(SplitStage(), merging: nil, runId: "r", context(snapshot)) }
        #expect(e?.kind == .config && e?.message.contains(b.settingsFile!.path) == true, "\(String(describing: e))")
        #expect(!FileManager.default.fileExists(atPath: a.paths.train))
        #expect(try Data(contentsOf: URL(fileURLWithPath: a.paths.ratings)) == before)
        // A record without the submitter (written before claims existed) is no owner either.
        try ClusterRun(runId: "r2", shards: 1).write(a)
        #expect(recError { try ClusterJob.run(SplitStage(), merging: nil, runId: "r2", context(b)) }?.kind == .config)
    }

    final class Refusal: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: RecError?
        var value: RecError? { lock.lock(); defer { lock.unlock() }; return stored }
        func set(_ e: RecError) { lock.lock(); stored = e; lock.unlock() }
    }
}
