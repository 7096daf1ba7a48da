import Foundation
import Logging
import RecCore
import RecStore

/// Runs stages in order, in this process, rerunning only what is out of date.
///
/// Before each stage the runner compares its manifest (the record of its last successful
/// run) with the present: program version, the settings the stage uses, the hashes of its
/// inputs, and the hashes of the outputs it wrote. A stage whose record still holds is
/// skipped; otherwise it runs and a new record is written after its outputs. Since stages are
/// deterministic, a rerun that writes the same bytes lets the stages after it skip too.
///
/// One run at a time: the runner holds the locks of the output and artefact folders for the
/// whole run.
public struct Runner {
    public struct Options: Sendable {
        /// Run every selected stage even when it is up to date.
        public var force = false
        /// Run this stage and every stage after it, up to date or not.
        public var from: String?
        /// Run only this stage, up to date or not.
        public var only: String?
        /// Print the plan and do nothing.
        public var dryRun = false
        /// Wait for another run's lock instead of exiting.
        public var wait = false
        /// Hand the folders over to this configuration when another one claimed them.
        public var takeOver = false

        public init() {}
    }

    /// What happened to one stage.
    public struct Outcome: Sendable {
        public var stage: String
        public var ran: Bool
        public var reason: String
        public var seconds: Double
        /// What the stage reported, when it ran.
        public var result: StageResult?
    }

    public let config: PipelineConfig
    public let options: Options
    public let logger: Logger
    public let progress: @Sendable (String, Int, Int) -> Void

    public init(config: PipelineConfig, options: Options, logger: Logger,
                progress: @escaping @Sendable (String, Int, Int) -> Void = { _, _, _ in }) {
        self.config = config
        self.options = options
        self.logger = logger
        self.progress = progress
    }

    /// The stages this run considers, in order, and whether each is forced.
    public func plan() throws -> [(stage: any Stage, forced: String?)] {
        let all = Pipeline.stages
        let names = all.map(\.name).joined(separator: ", ")
        func find(_ name: String) throws -> Int {
            guard let i = all.firstIndex(where: { $0.name == name || $0.executable == name }) else {
                throw RecError(.config, "unknown stage '\(name)'", hint: "stages: \(names)")
            }
            return i
        }
        if let only = options.only { return [(all[try find(only)], "--only")] }
        if let from = options.from { return all[try find(from)...].map { ($0, "--from \(from)") } }
        return all.map { ($0, options.force ? "--force" : nil) }
    }

    @discardableResult
    public func run() throws -> [Outcome] {
        let stages = try plan()
        // --from and --only run a stage without the ones before it: a dry run says at once
        // when they are stale, as the run would (a missing input is the run's own error).
        if options.dryRun, options.from != nil || options.only != nil, let first = stages.first,
           first.stage.inputs(config).allSatisfy({ FileManager.default.fileExists(atPath: $0) }) {
            try Runner.checkUpstream(of: first.stage, config)
        }
        let locks = try Runner.lock(config, wait: options.wait, takeOver: options.takeOver, dryRun: options.dryRun, logger: logger)
        defer { for lock in locks.reversed() { lock.release() } }
        if !locks.isEmpty { Runner.removeLeftovers(config, logger: logger) }
        let ctx = StageContext(config: config, logger: logger, progress: progress)
        var outcomes: [Outcome] = []
        var upstreamWillRun: String?
        var memoryChecked = false
        for (stage, forced) in stages {
            let reason: String
            if let forced {
                reason = forced
            } else if options.dryRun, let upstream = upstreamWillRun {
                reason = "\(upstream) runs first (skipped after all if its outputs come out unchanged)"
            } else {
                let (current, why) = try Runner.check(stage, config)
                if current {
                    logger.info("\(stage.name): skipped, up to date")
                    outcomes.append(Outcome(stage: stage.name, ran: false, reason: why, seconds: 0))
                    continue
                }
                reason = why
            }
            if options.dryRun {
                logger.info("\(stage.name): would run: \(reason)")
                upstreamWillRun = upstreamWillRun ?? stage.name
                outcomes.append(Outcome(stage: stage.name, ran: false, reason: reason, seconds: 0))
                continue
            }
            // The memory plans of the model stages, from ratings.art's counts, as soon as it is
            // current (before the first stage after ingest): a setting that cannot fit stops
            // the run before any split, training or scoring is done for nothing.
            if !memoryChecked, !(stage is IngestStage), FileManager.default.fileExists(atPath: config.paths.ratings) {
                try MemoryChecks.checkAll(config)
                memoryChecked = true
            }
            logger.info("\(stage.name): running: \(reason)")
            let (result, seconds) = try Runner.execute(stage, ctx)
            logger.info("\(stage.name): done in \(String(format: "%.2f", seconds)) s")
            outcomes.append(Outcome(stage: stage.name, ran: true, reason: reason, seconds: seconds, result: result))
        }
        return outcomes
    }

    /// Takes the locks a run needs, its output folder's and its artefact folder's, so that two
    /// runs of one configuration never run at once; taken in one fixed order
    /// (`RunLock.acquire(directories:wait:)`), so two runs cannot deadlock. Then, under the
    /// locks, claims both folders for the configuration's settings file (`FolderClaim`): a
    /// folder another configuration claimed is refused (a settings error) unless `takeOver`
    /// hands it over. The claims are checked once before waiting too, so a foreign folder is
    /// refused at once rather than after the other configuration's run. `rec-pipeline`, every
    /// stage executable and the Slurm submitter take the same locks and claims; a dry run
    /// only checks the claims and takes nothing.
    public static func lock(_ c: PipelineConfig, wait: Bool, takeOver: Bool = false, dryRun: Bool = false,
                            logger: Logger? = nil) throws -> [RunLock] {
        let folders = FolderClaim.folders(c)
        try FolderClaim.check(folders, owner: c.settingsFile, takeOver: takeOver, claim: false)
        if dryRun { return [] }
        let locks = try RunLock.acquire(directories: [c.paths.output, c.paths.artefacts], wait: wait)
        do {
            for note in try FolderClaim.check(folders, owner: c.settingsFile, takeOver: takeOver, claim: true) {
                logger?.info("\(note)")
            }
        } catch {
            for lock in locks.reversed() { lock.release() }
            throw error
        }
        return locks
    }

    /// Temporary files of a run that was killed before it could rename them (its own renames
    /// never leave any): only files named as `AtomicFile` names them, whose writer is gone.
    /// Only called under the locks, so no live run of ours is writing there.
    public static func removeLeftovers(_ c: PipelineConfig, logger: Logger? = nil) {
        for dir in [c.paths.output, c.paths.artefacts, Manifest.directory(c.paths.artefacts)] {
            for name in AtomicFile.removeLeftovers(in: dir) {
                logger?.info("removed \(dir)/\(name), left by a run that was killed")
            }
        }
    }


    /// Runs one stage and records it: inputs are stamped before it runs, outputs after, and
    /// the record is written last, so a stage killed half-way has no record of success.
    /// - Returns: what the stage reported, and its seconds.
    public static func execute(_ stage: any Stage, _ ctx: StageContext) throws -> (StageResult, Double) {
        let c = ctx.config
        let inputs = stage.inputs(c)
        // What a stop signal's message names: the stage is under way from its first check on.
        RunState.shared.stageStarted(stage.name)
        defer { RunState.shared.stageEnded(stage.name) }
        // The one check that a stage's inputs exist, shards' parts included (a merge lists
        // them among its inputs): the hint names the command that writes the missing file.
        for path in inputs where !FileManager.default.fileExists(atPath: path) {
            let producer = Pipeline.stages.first { $0.outputs(c).contains(path) }
            let shard = Shard.ofPart(path)
            throw RecError(producer == nil && shard == nil ? .input : .artefact, "not found", file: path,
                           hint: producer.map { "run \($0.executable) first" }
                               ?? shard.map { "run \(stage.executable) --shard \($0) first (rec-pipeline --engine slurm resubmits it)" }
                               ?? "check the paths in the settings")
        }
        // What it reads must come from the stages before it under these settings and this
        // program: a stage run by hand on a stale chain is refused, never run on old results.
        try checkUpstream(of: stage, c)
        var record = try StageRecord.begin(stage: stage.name, version: Pipeline.version, settings: try Pipeline.fingerprint(stage, c), inputs: inputs)
        let clock = ContinuousClock.now
        let result = try stage.run(ctx)
        let seconds = clock.duration(to: .now).seconds
        try record.finish(outputs: stage.outputs(c), stats: try result.recorded(), skipped: result.skipped)
        // The record's own clock starts from a start time kept to the second; the stage's seconds are measured here.
        record.seconds = seconds
        try Manifest.write(record, dir: c.paths.artefacts)
        return (result, seconds)
    }
}
