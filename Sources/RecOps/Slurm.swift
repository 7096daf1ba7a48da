import Foundation
import Logging
import RecCore
import RecStore
import RecPipeline

/// `rec-pipeline --engine slurm`: the pipeline as Slurm jobs over a shared artefact folder.
///
/// One job per unsharded stage (ingest, build-matrix, train), one job array per sharded stage
/// (split, score, export: task I runs `--shard I/N`), each followed by a merge job that joins
/// the parts (`--merge-shards N`); export's merge is the publish. Jobs are chained with
/// `--dependency=afterok` and `--kill-on-invalid-dep=yes`, so a failed or cancelled job
/// cancels everything after it and the previous exports stay as they were.
///
/// At submission the manifests decide what is submitted: a stage (or a shard) whose record
/// holds and that no submitted job comes before is left out; an array lists only its stale
/// shards. Jobs submitted behind a stage check their manifest again when they start, and
/// skip when the stage before them came out unchanged.
public struct SlurmEngine {
    public struct Options: Sendable {
        public var shards = 1
        public var force = false
        public var dryRun = false
        public var wait = false
        /// Hand the folders over to this configuration when another one claimed them.
        public var takeOver = false
        /// Seconds between two looks at the queue while waiting.
        var pollSeconds = 2.0
        public init() {}
    }

    /// One `sbatch` submission.
    public struct Job: Sendable, Equatable {
        /// `rec-<stage>`, `rec-<stage>-shards`, `rec-<stage>-merge`.
        public var name: String
        /// Array task indices, nil for a single job.
        public var array: [Int]?
        /// The command the job runs (a shell line for `--wrap`).
        public var command: String
    }

    public let config: PipelineConfig
    /// The settings file (absolute): the jobs take relative paths from its folder.
    public let configPath: String
    /// The bytes `config` was read from: copied beside the artefacts at submission, and what
    /// every job reads (nil: read `configPath` when submitting).
    public let settings: [UInt8]?
    public let options: Options
    public let logger: Logger
    /// Where the rec-* executables are on the nodes.
    public let binDirectory: String

    public init(config: PipelineConfig, configPath: String, settings: [UInt8]? = nil, options: Options, logger: Logger, binDirectory: String) {
        self.config = config
        self.configPath = configPath
        self.settings = settings
        self.options = options
        self.logger = logger
        self.binDirectory = config.slurm.binDirectory.isEmpty ? binDirectory : config.slurm.binDirectory
    }

    /// The jobs to submit, in order (each depends on the one before), and for the log why.
    public func plan(runId: String) throws -> [(job: Job, reason: String)] {
        let c = config, n = options.shards
        var jobs: [(Job, String)] = []
        var upstream: String?
        for stage in Pipeline.stages {
            if let sharded = stage as? ShardableStage {
                var stale: [Int] = []
                var reason = ""
                for shard in try Shard.all(n) {
                    let (ok, why) = try Runner.check(sharded.shard(shard), c)
                    if let forced = upstream ?? (options.force ? "--force" : nil) {
                        stale.append(shard.index)
                        reason = forced
                    } else if !ok {
                        stale.append(shard.index)
                        if reason.isEmpty { reason = "shard \(shard): \(why)" }
                    }
                }
                if !stale.isEmpty {
                    jobs.append((Job(name: "rec-\(stage.name)-shards", array: stale,
                                     command: command(stage, runId: runId, extra: ["--shard", "${SLURM_ARRAY_TASK_ID}/\(n)"])), reason))
                }
                let merge = sharded.merge(n)
                let (ok, why) = try Runner.check(merge, c)
                if !stale.isEmpty || !ok || upstream != nil || options.force {
                    let mergeReason = !stale.isEmpty ? "its shards run first" : (upstream ?? (options.force ? "--force" : why))
                    jobs.append((Job(name: "rec-\(stage.name)-merge", array: nil,
                                     command: command(stage, runId: runId, extra: ["--merge-shards", "\(n)"])), mergeReason))
                    upstream = upstream ?? "\(stage.name) runs first"
                }
            } else {
                let (ok, why) = try Runner.check(stage, c)
                if !ok || upstream != nil || options.force {
                    jobs.append((Job(name: "rec-\(stage.name)", array: nil, command: command(stage, runId: runId, extra: [])),
                                 upstream ?? (options.force ? "--force" : why)))
                    upstream = upstream ?? "\(stage.name) runs first"
                }
            }
        }
        return jobs
    }

    /// The shell line a job runs.
    func command(_ stage: any Stage, runId: String, extra: [String]) -> String {
        var words = [binDirectory + "/" + stage.executable, "--config", configPath, "--run-id", runId,
                     "--submitted-settings", ClusterRun.settingsPath(config)]
        if config.slurm.cpusPerTask > 0 { words += ["--workers", "\(config.slurm.cpusPerTask)"] }
        return (words.map(SlurmEngine.quote) + extra.map { $0.contains("${SLURM_ARRAY_TASK_ID}") ? "\"\($0)\"" : SlurmEngine.quote($0) })
            .joined(separator: " ")
    }

    /// The `sbatch` arguments of a job, behind the job `after` (nil: the first).
    func sbatchArguments(_ job: Job, after: String?) -> [String] {
        let s = config.slurm
        var a = ["--parsable", "--job-name=\(job.name)", "--time=\(s.timeLimit)", "--kill-on-invalid-dep=yes",
                 "--output=\(SlurmEngine.literalPattern(logDirectory))/\(job.name)-%A\(job.array == nil ? "" : "_%a").log"]
        if let array = job.array { a.append("--array=" + SlurmEngine.ranges(array)) }
        if let after { a.append("--dependency=afterok:\(after)") }
        if !s.partition.isEmpty { a.append("--partition=\(s.partition)") }
        if !s.memoryPerTask.isEmpty { a.append("--mem=\(s.memoryPerTask)") }
        if s.cpusPerTask > 0 { a.append("--cpus-per-task=\(s.cpusPerTask)") }
        a += s.extraOptions
        a += ["--wrap", job.command]
        return a
    }

    /// The jobs' logs: `<artefactDir>/slurm-logs`.
    var logDirectory: String { config.paths.artefacts + "/slurm-logs" }

    /// A path as a part of an sbatch filename pattern (`--output`, `--error`, `--input`), where
    /// `%` starts a replacement symbol (`%j`, `%x`, ...): each `%` doubled, so that the path is
    /// taken as written. The job script (`--wrap`) is not a pattern and takes paths as they are.
    static func literalPattern(_ path: String) -> String {
        path.replacingOccurrences(of: "%", with: "%%")
    }

    /// Refuses a log folder that sbatch cannot take as a filename pattern: a backslash makes
    /// it skip every replacement symbol (`%A`, `%a`, and the `%%` of `literalPattern`), so the
    /// logs would not be named by their jobs, nor sit where the path says.
    /// - Throws: `RecError(.config)` naming `artefactDir`.
    func checkLogDirectory() throws {
        guard !logDirectory.contains("\\") else {
            throw RecError(.config, "'artefactDir' is \(config.paths.artefacts): a backslash in the path makes sbatch ignore every % symbol of the jobs' log names (their job ids among them)",
                           hint: "with --engine slurm, give artefactDir a path without a backslash")
        }
    }

    /// `0-2,5`: Slurm's array syntax for sorted indices.
    public static func ranges(_ indices: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < indices.count {
            var j = i
            while j + 1 < indices.count && indices[j + 1] == indices[j] + 1 { j += 1 }
            parts.append(i == j ? "\(indices[i])" : "\(indices[i])-\(indices[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// A word for /bin/sh: as is when it is plainly safe, else in single quotes.
    public static func quote(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) && $0.isASCII || "-_./=:,+@%".unicodeScalars.contains($0)
        }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Submits the pipeline (or prints the `sbatch` commands on a dry run); with `wait`,
    /// follows the jobs to the end.
    /// - Returns: the pipeline's exit code: 0, or the first failed job's (1 when Slurm gives
    ///   none, e.g. a cancelled job).
    public func run(print: (String) -> Void) throws -> Int32 {
        let c = config
        try checkLogDirectory()
        let locks = try Runner.lock(c, wait: false, takeOver: options.takeOver, dryRun: options.dryRun, logger: logger)
        defer { for lock in locks.reversed() { lock.release() } }
        // A submission while an earlier one's jobs are queued would run two pipelines on one
        // folder: refuse, as a second local run would. (A dry run asks no scheduler.)
        if !options.dryRun, let previous = try ClusterRun.read(c), !previous.jobs.isEmpty {
            let queued = try SlurmEngine.queued(previous.jobs)
            if !queued.isEmpty {
                throw RecError(.locked, "cluster run \(previous.runId) still has jobs in the queue (\(queued.joined(separator: ", ")))",
                               file: ClusterRun.path(c), hint: "wait for them, or scancel them, and submit again")
            }
        }
        let runId = ClusterRun.newId()
        let plan = try plan(runId: runId)
        if plan.isEmpty {
            logger.info("slurm: every stage is up to date; nothing submitted")
            return 0
        }
        if options.dryRun {
            var after: String?
            for (job, reason) in plan {
                logger.info("\(job.name): would submit: \(reason)")
                print((["sbatch"] + sbatchArguments(job, after: after)).map(SlurmEngine.quote).joined(separator: " "))
                after = "<job id of \(job.name)>"
            }
            return 0
        }
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        if !locks.isEmpty { Runner.removeLeftovers(c) }
        // The jobs read the settings as submitted, not the file as it is when each starts.
        let bytes = try settings ?? PlainFile.read(configPath, kind: .config)
        try AtomicFile.write(bytes, to: ClusterRun.settingsPath(c))
        var record = ClusterRun(runId: runId, shards: options.shards, owner: c.settingsFile, settings: Hash.hex(Hash.xxh3(bytes)))
        try record.write(c)
        var after: String?
        for (job, reason) in plan {
            let out = try SlurmEngine.command("sbatch", sbatchArguments(job, after: after))
            guard let id = out.split(separator: ";").first.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }), !id.isEmpty,
                  id.allSatisfy(\.isNumber) else {
                throw RecError(.runtime, "sbatch gave no job id for \(job.name): \(out)")
            }
            logger.info("\(job.name): submitted as job \(id)\(job.array.map { " (array \(SlurmEngine.ranges($0)))" } ?? ""): \(reason)")
            print(id)
            record.jobs.append(id)
            try record.write(c)
            after = id
        }
        guard options.wait else { return 0 }
        return try follow(record.jobs)
    }

    /// Waits until no job of `ids` is queued, then reads their ends from `scontrol`.
    func follow(_ ids: [String]) throws -> Int32 {
        while !(try SlurmEngine.queued(ids)).isEmpty {
            Thread.sleep(forTimeInterval: options.pollSeconds)
        }
        var code: Int32 = 0
        for id in ids {
            for (task, state, exit) in try SlurmEngine.ends(id) where state != "COMPLETED" {
                logger.error("slurm: job \(task) ended \(state) (exit code \(exit))")
                if code == 0 { code = exit > 0 ? exit : 1 }
            }
        }
        logger.info("slurm: \(code == 0 ? "finished" : "failed"); jobs \(ids.joined(separator: ", "))")
        return code
    }

    /// The jobs (or array tasks) of `ids` still pending or running.
    static func queued(_ ids: [String]) throws -> [String] {
        let mine = Set(ids)
        let out = try command("squeue", ["--noheader", "--format=%F %i"])
        return out.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            return f.count == 2 && mine.contains(String(f[0])) ? String(f[1]) : nil
        }
    }

    /// Every task of job `id` with its state and exit code, from slurmctld's memory of
    /// finished jobs (`MinJobAge`, 300 s by default). A job it no longer knows counts as
    /// failed: nothing can be said of it.
    static func ends(_ id: String) throws -> [(String, String, Int32)] {
        // Whatever made scontrol fail, the job's end is unknown: it counts as failed.
        guard let out = try? command("scontrol", ["show", "job", "--oneliner", id]) else { return [(id, "UNKNOWN", 1)] }
        return out.split(separator: "\n").compactMap { line in
            var fields: [String: String] = [:]
            for word in line.split(separator: " ") {
                guard let eq = word.firstIndex(of: "=") else { continue }
                fields[String(word[..<eq])] = String(word[eq...].dropFirst())
            }
            guard let state = fields["JobState"] else { return nil }
            let task = fields["ArrayTaskId"].map { "\(id)_\($0)" } ?? fields["JobId"] ?? id
            let exit = fields["ExitCode"].flatMap { Int32($0.split(separator: ":").first ?? "") } ?? 0
            return (task, state, exit)
        }
    }

    /// Runs a Slurm command, returns its stdout.
    /// - Throws: `RecError(.runtime)` naming the command and its stderr when it fails.
    static func command(_ name: String, _ arguments: [String]) throws -> String {
        let result: Subprocess.Result
        do { result = try Subprocess.run(name, arguments) } catch {
            throw RecError(.runtime, "cannot run \(name): \(error)", hint: "install Slurm's client commands (Debian: slurm-client)")
        }
        guard result.status == 0 else {
            throw RecError(.runtime, "\(name) failed (exit \(result.status)): \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return result.output
    }
}
