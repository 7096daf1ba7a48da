import Foundation
import Logging
import RecCore
import RecStore
import RecPipeline

/// The cluster run in progress: `<artefactDir>/cluster-run.json`, written by
/// `rec-pipeline --engine slurm` when it submits.
///
/// Jobs on other nodes cannot rely on `flock` (on NFS it is emulated by the server's lock
/// manager or not at all, on Lustre it depends on the mount's `flock` option, and a node that
/// dies keeps no lock). So every job carries the id of the run that submitted it and does
/// nothing unless this record still names that run: a later submission supersedes every job
/// of an earlier one that is still queued.
struct ClusterRun: Codable, Sendable, Equatable {
    public var runId: String
    public var shards: Int
    /// Slurm job ids, as submitted (array jobs by their array job id).
    public var jobs: [String]
    public var submitted: String
    /// The settings file that submitted the run, which claimed the folders: every job checks
    /// the folders' claims against it, whatever settings file the job itself reads.
    public var owner: SettingsFileIdentity?
    /// XXH3-64 of the settings file as submitted (`Hash.hex`); its copy is `settingsPath`.
    /// Jobs run those settings, whatever the settings file says by the time they start.
    public var settings: String?

    public init(runId: String, shards: Int, jobs: [String] = [], submitted: Date = Date(),
                owner: SettingsFileIdentity? = nil, settings: String? = nil) {
        self.runId = runId
        self.shards = shards
        self.jobs = jobs
        self.submitted = submitted.ISO8601Format()
        self.owner = owner
        self.settings = settings
    }

    public static func path(_ c: PipelineConfig) -> String { c.paths.artefacts + "/cluster-run.json" }

    /// `<artefactDir>/cluster-run.settings.json`: the settings file's bytes as submitted, which
    /// every job reads (`--submitted-settings`).
    static func settingsPath(_ c: PipelineConfig) -> String { c.paths.artefacts + "/cluster-run.settings.json" }

    /// The record of the last submission, nil when there is none.
    /// - Throws: `RecError(.artefact)` naming the file when it cannot be read or is not a
    ///   record: taken for "none", it would let a submission run beside queued jobs.
    public static func read(_ c: PipelineConfig) throws -> ClusterRun? {
        let path = path(c)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes = try PlainFile.read(path, kind: .artefact)
        do {
            return try JSONDecoder().decode(ClusterRun.self, from: Data(bytes))
        } catch {
            throw RecError(.artefact, "is not a cluster-run record", file: path,
                           hint: "when none of its jobs is queued any more (squeue), remove it and submit again")
        }
    }

    public func write(_ c: PipelineConfig) throws {
        try FileManager.default.createDirectory(atPath: c.paths.artefacts, withIntermediateDirectories: true)
        try AtomicFile.write(try JSON.encodeString(self, pretty: true) + "\n", to: ClusterRun.path(c))
    }

    /// A fresh run id: time and randomness, never reused.
    static func newId() -> String {
        let stamp = Date().ISO8601Format().filter { $0.isNumber }
        return stamp + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }
}

/// One stage (or shard, or merge) run as a job of a cluster run.
public enum ClusterJob {
    /// What the job did.
    public enum Outcome: Sendable {
        case skipped(String)
        case ran(StageResult, Double)
    }

    /// Runs `stage` unless its manifest says it is up to date (so a job submitted behind a
    /// stage that came out unchanged costs a manifest check). Takes no lock: see `ClusterRun`.
    /// A merge first checks every shard's manifest: parts are only joined when each was
    /// recorded complete by its shard, with these settings and inputs.
    /// - Parameter settings: XXH3-64 (`Hash.hex`) of the settings bytes the job read; a job
    ///   runs only the settings its run was submitted with.
    /// - Throws: `RecError(.locked)` when another submission superseded `runId`;
    ///   `RecError(.config)` when the job read other settings than were submitted.
    public static func run(_ stage: any Stage, merging shards: (any ShardableStage, Int)?, runId: String, settings: String? = nil,
                           _ ctx: StageContext) throws -> Outcome {
        let c = ctx.config
        let recorded = try ClusterRun.read(c)
        guard let current = recorded, current.runId == runId else {
            throw RecError(.locked, "this job belongs to cluster run \(runId), but \(ClusterRun.path(c)) names \(recorded?.runId ?? "no run"): a later submission superseded it",
                           file: ClusterRun.path(c), hint: "nothing was changed; the newer run does the work")
        }
        // The folders must still be the submitting configuration's: another one may have
        // taken them over since. A job takes no lock, so it only checks.
        try FolderClaim.check(FolderClaim.folders(c), owner: current.owner, takeOver: false, claim: false)
        if let submitted = current.settings, let settings, settings != submitted {
            throw RecError(.config, "this job read other settings than cluster run \(runId) was submitted with (the settings file or its copy \(ClusterRun.settingsPath(c)) was changed since)",
                           file: ClusterRun.path(c), hint: "nothing was changed; submit again: rec-pipeline --engine slurm")
        }
        let (current2, why) = try Runner.check(stage, c)
        if current2 { return .skipped(why) }
        if let (base, count) = shards {
            for shard in try Shard.all(count) {
                let part = base.shard(shard)
                let (ok, reason) = try Runner.check(part, c)
                guard ok else {
                    throw RecError(.artefact, "shard \(shard) of \(base.name) is not complete (\(reason)); its parts are not joined",
                                   file: Manifest.path(stage: part.name, dir: c.paths.artefacts), hint: "rerun rec-pipeline --engine slurm: it resubmits that shard")
                }
            }
        }
        let (result, seconds) = try Runner.execute(stage, ctx)
        return .ran(result, seconds)
    }
}
