import ArgumentParser
import Foundation
import RecCore
import RecPipeline
import RecOps
import RecCLI
import RecStore

@main
struct PipelineCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-pipeline",
        abstract: "Run the whole recommender pipeline: ingest → split → build-matrix → train → score → export.",
        discussion: """
            Reads pipeline.json (or --config) and runs the six stages in order, in this process. A stage \
            whose inputs, settings and program version are unchanged since its last successful run (its \
            manifest in artefactDir/manifests) is skipped; --dry-run tells which would run and why. Each \
            stage can also be run alone with its own executable (rec-ingest, rec-split, rec-build-matrix, \
            rec-train, rec-score, rec-export) on the artefacts the previous stage left in artefactDir; \
            a stage run alone (or with --only or --from) refuses with exit code 2, naming the stage to \
            run first, when what it reads was made under other settings, by another program version, \
            or from files that have changed since.

            One run at a time: locks in outputDir and artefactDir; a second run of the same settings \
            file waits (--wait) or exits with code 3. A folder belongs to one configuration: the first \
            run claims outputDir and artefactDir (.rec-owner.json names the settings file), and another \
            settings file using either folder, in either role, is refused with code 2; --take-over hands \
            them over to this one (or delete the .rec-owner.json). The exports are replaced \
            only at the end of a successful run, all together; a run killed at any moment leaves the \
            previous ones whole.

            Outputs (in outputDir): recommendations.csv, recommendations.jsonl, metrics.json.

            With --quiet a successful run prints nothing at all (no metrics table, no log lines); \
            warnings (input lines skipped under "invalidLines": "skip") and errors still go to stderr.

            With monitoring.textfile set, every run but a dry one ends by rewriting that file for \
            node_exporter's textfile collector: last run's exit code and duration, last success time, \
            each stage run or skipped and its seconds, lines read and skipped, and the published metrics.

            Exit codes: 0 ok, 1 failure (bad input, damaged artefact, run-time error), 2 usage or \
            settings error (a wrong option, a missing or wrong settings file, a folder another configuration \
            claimed, a stage asked to run on stale artefacts), 3 another run holds a lock, \
            4 the quality gate refused the run's figures (the previous exports were kept), \
            129/130/143 stopped by SIGHUP/SIGINT/SIGTERM (logged, temporary files removed, the \
            run recorded as failed in the monitoring file; the exports are the previous set or, \
            when the stop came after the publish, the new one).
            """)

    @OptionGroup var options: StageOptions

    @Flag(help: "Run every stage, even those that are up to date.")
    var force = false

    @Option(name: .customLong("from"), help: "Start at this stage (e.g. train or rec-train).")
    var startStage: String?

    @Option(name: .customLong("only"), help: "Run only this stage.")
    var onlyStage: String?

    @Flag(help: "Print the plan (which stages would run, and why) and do nothing; with --engine slurm, print the sbatch commands.")
    var dryRun = false

    @Option(help: "local: run the stages in this process; slurm: submit them as Slurm jobs (see --shards) over the shared artefact folder, print the job ids and return (--wait: follow them and exit with the pipeline's code).")
    var engine: Engine = .local

    @Option(help: "With --engine slurm: split, score and export run as job arrays of this many shards of the users.")
    var shards = 1

    enum Engine: String, ExpressibleByArgument {
        case local, slurm
    }

    public func validate() throws {
        if startStage != nil && onlyStage != nil { throw ValidationError("--from and --only cannot be used together") }
        if engine == .slurm && (startStage != nil || onlyStage != nil) { throw ValidationError("--from and --only are for --engine local") }
        if shards < 1 || shards > Shard.maxCount { throw ValidationError("--shards must be between 1 and \(Shard.maxCount)") }
        if engine == .local && shards != 1 { throw ValidationError("--shards is for --engine slurm") }
    }

    public func run() throws {
        let logger = makeLogger("rec-pipeline", quiet: options.quiet)
        if engine == .slurm { return try submit() }
        // The monitoring file (monitoring.textfile) describes every run but a dry one.
        let started = Date()
        var monitor: RunMonitor?
        if !dryRun {
            // A stop before the settings are loaded is recorded where their JSON says, as for
            // settings that do not load; once loaded, the run's own monitor takes over.
            let configPath = options.config
            RunState.shared.onStop { code in
                RunMonitor(unloadableConfigAt: configPath, started: started)?.finish(exitCode: code, logger: logger)
            }
        }
        do {
            let config = try options.load()
            if !dryRun { monitor = RunMonitor(config: config, configPath: options.config, started: started) }
            // A stop signal records the run as failed with its exit code (128 + the signal); one
            // that came while waiting for another run's lock writes the run's own figures only.
            if let monitor {
                RunState.shared.onStop { code in
                    monitor.finish(exitCode: code, lockTaken: !RunState.shared.hasTakenLocks, logger: logger)
                }
            }
            var runOptions = Runner.Options()
            runOptions.force = force
            runOptions.from = startStage
            runOptions.only = onlyStage
            runOptions.dryRun = dryRun
            runOptions.wait = options.wait
            runOptions.takeOver = options.takeOver
            let clock = ContinuousClock.now
            let outcomes = try Runner(config: config, options: runOptions, logger: logger,
                                      progress: makeProgress(quiet: options.quiet)).run()
            if !options.quiet { for o in outcomes { printSummary(o.result) } }
            let d = clock.duration(to: .now)
            let ran = outcomes.filter(\.ran).map(\.stage)
            RunState.shared.endRun()
            logger.info("pipeline: \(dryRun ? "planned" : "finished") in \(String(format: "%.2f", Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)) s; ran: \(ran.isEmpty ? "nothing" : ran.joined(separator: ", "))")
            monitor?.finish(exitCode: ExitCodes.ok, logger: logger)
        } catch let e as RecError {
            RunState.shared.endRun()
            logger.error("\(e.description)")
            let code = ExitCodes.code(for: e.kind)
            if !dryRun {
                (monitor ?? RunMonitor(unloadableConfigAt: options.config, started: started))?
                    .finish(exitCode: code, lockTaken: e.kind == .locked, logger: logger)
            }
            throw ExitCode(code)
        } catch {
            RunState.shared.endRun()
            monitor?.finish(exitCode: ExitCodes.failure, logger: logger)
            throw error
        }
    }
}

extension PipelineCommand {
    /// `--engine slurm`: submits the pipeline; exits with the pipeline's code under --wait.
    func submit() throws {
        let logger = makeLogger("rec-pipeline", quiet: options.quiet)
        do {
            var o = SlurmEngine.Options()
            o.shards = shards
            o.force = force
            o.dryRun = dryRun
            o.wait = options.wait
            o.takeOver = options.takeOver
            let configPath = URL(fileURLWithPath: options.config).standardizedFileURL.path
            let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
            let (config, settings) = try options.loadKeepingBytes()
            let engine = SlurmEngine(config: config, configPath: configPath, settings: settings, options: o, logger: logger,
                                     binDirectory: try OSPaths.executableFolder() ?? bin)
            // Job ids, or the sbatch commands of a dry run (paths from the settings): shown, never raw.
            let code = try engine.run { FileHandle.standardOutput.write(Data((VisibleText.escape($0) + "\n").utf8)) }
            if code != 0 { throw ExitCode(code) }
        } catch let e as RecError {
            logger.error("\(e.description)")
            throw ExitCode(ExitCodes.code(for: e.kind))
        }
    }
}
