import ArgumentParser
import Foundation
import Logging
import RecKit
import RecStages

/// Exit codes, for cron and scripts: documented in the README.
public enum ExitCodes {
    public static let ok: Int32 = 0
    /// Bad input, damaged artefact, or a run-time failure.
    public static let failure: Int32 = 1
    /// Wrong command line or settings.
    public static let usage: Int32 = 2
    /// Another run holds the lock.
    public static let locked: Int32 = 3
    /// The quality gate refused the run's results; the previous exports were kept.
    public static let qualityGate: Int32 = 4

    public static func code(for kind: RecError.Kind) -> Int32 {
        switch kind {
        case .config: usage
        case .locked: locked
        case .qualityGate: qualityGate
        case .input, .artefact, .runtime: failure
        }
    }
}

/// Options every stage executable takes.
public struct StageOptions: ParsableArguments {
    @Option(name: .long, help: "The pipeline settings file.")
    public var config = "pipeline.json"

    @Option(name: .long, help: "Dispatch workers (0 = all cores); overrides pipeline.json. Results do not depend on it.")
    public var workers: Int?

    @Flag(name: .long, help: "Print nothing on success (no metrics table, no log lines); warnings and errors still go to stderr.")
    public var quiet = false

    @Flag(name: .long, help: "Wait for another run to finish instead of exiting with code 3.")
    public var wait = false

    public init() {}

    public func validate() throws {
        if let workers {
            do { try PipelineConfig.checkWorkers(workers, name: "--workers") } catch let e as RecError { throw ValidationError(e.message) }
        }
    }

    /// The settings file with the command-line overrides applied.
    public func load() throws -> PipelineConfig {
        var c = try PipelineConfig.load(config)
        if let workers {
            try PipelineConfig.checkWorkers(workers, name: "--workers")
            c.workers = workers
        }
        return c
    }
}

/// Runs one stage as a command: load settings, run, log the duration; on failure print the
/// message on stderr and exit with the documented code.
public func runStage(_ stage: any Stage, _ options: StageOptions, _ cluster: ClusterOptions = ClusterOptions()) throws {
    let logger = makeLogger(stage.executable, quiet: options.quiet)
    do {
        let config = try options.load()
        let (stage, merging) = try cluster.resolve(stage)
        if let runId = cluster.runId {
            let ctx = StageContext(config: config, logger: logger, progress: makeProgress(quiet: options.quiet))
            switch try ClusterJob.run(stage, merging: merging, runId: runId, ctx) {
            case .skipped(let why): logger.info("\(stage.name): skipped, \(why)")
            case .ran(let stats, let seconds): logger.info("\(stage.name): done in \(String(format: "%.2f", seconds)) s \(summary(stats))")
            }
            return
        }
        // The same locks as rec-pipeline: a stage rerun by hand never runs into a nightly run,
        // nor into another configuration that shares its artefact folder.
        let locks = try Runner.lock(config, wait: options.wait)
        defer { for lock in locks.reversed() { lock.release() } }
        let ctx = StageContext(config: config, logger: logger, progress: makeProgress(quiet: options.quiet))
        logger.info("\(stage.name): started with \(ctx.parallel.workers) workers")
        let (stats, seconds) = try Runner.execute(stage, ctx)
        if !options.quiet { printSummary(stats) }
        logger.info("\(stage.name): done in \(String(format: "%.2f", seconds)) s \(summary(stats))")
    } catch let e as RecError {
        logger.error("\(e.description)")
        throw ExitCode(ExitCodes.code(for: e.kind))
    }
}

/// `key=value` pairs of the scalar stats, for the log line.
func summary(_ stats: [String: JSONValue]) -> String {
    stats.keys.sorted().compactMap { key in
        switch stats[key]! {
        case .int(let i): "\(key)=\(i)"
        case .double(let d): "\(key)=\(String(format: "%.3f", d))"
        case .string(let s) where !s.contains("\n"): "\(key)=\(s)"
        default: nil
        }
    }.joined(separator: " ")
}

/// A stage's readable summary (the score stage's metrics table) goes to stdout: it is data
/// for the person running the command, not a diagnostic. Not printed with `--quiet`.
public func printSummary(_ stats: [String: JSONValue]) {
    if let text = stats["summary"]?.stringValue { FileHandle.standardOutput.write(Data(text.utf8)) }
}
