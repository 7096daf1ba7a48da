import ArgumentParser
import Foundation
import Logging
import RecCore
import RecStore
import RecPipeline
import RecOps

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

    /// Stopped by a signal (SIGHUP 129, SIGINT 130, SIGTERM 143): 128 + its number, the shell's
    /// convention.
    public static func stopped(by signal: Int32) -> Int32 { 128 + signal }

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

    @Flag(name: .long, help: "Hand outputDir and artefactDir over to this settings file when another configuration claimed them (their .rec-owner.json); without it such a folder is refused with code 2.")
    public var takeOver = false

    public init() {}

    public func validate() throws {
        if let workers {
            do { try PipelineConfig.checkWorkers(workers, name: "--workers") } catch let e as RecError { throw ValidationError(e.message) }
        }
    }

    /// The settings file with the command-line overrides applied.
    public func load() throws -> PipelineConfig {
        try loadKeepingBytes().config
    }

    /// The settings with the command-line overrides applied, and the bytes of the settings
    /// file they were read from (`copy`: from that copy of it, as `PipelineConfig.loadKeepingBytes`).
    public func loadKeepingBytes(copy: String? = nil) throws -> (config: PipelineConfig, bytes: [UInt8]) {
        var (c, bytes) = try PipelineConfig.loadKeepingBytes(config, copy: copy)
        if let workers {
            try PipelineConfig.checkWorkers(workers, name: "--workers")
            c.workers = workers
        }
        // Where a stop signal's handler looks for this process's temporary files.
        RunState.shared.addFolders([c.paths.output, c.paths.artefacts, Manifest.directory(c.paths.artefacts)])
        return (c, bytes)
    }
}

/// Runs one stage as a command: load settings, run, log the duration; on failure print the
/// message on stderr and exit with the documented code.
public func runStage(_ stage: any Stage, _ options: StageOptions, _ cluster: ClusterOptions = ClusterOptions()) throws {
    let logger = makeLogger(stage.executable, quiet: options.quiet)
    do {
        let (config, settings) = try cluster.load(options)
        let (stage, merging) = try cluster.resolve(stage)
        if let runId = cluster.runId {
            let ctx = StageContext(config: config, logger: logger, progress: makeProgress(quiet: options.quiet))
            switch try ClusterJob.run(stage, merging: merging, runId: runId, settings: Hash.hex(Hash.xxh3(settings)), ctx) {
            case .skipped(let why): logger.info("\(stage.name): skipped, \(why)")
            case .ran(let result, let seconds): logger.info("\(stage.name): done in \(String(format: "%.2f", seconds)) s \(summary(result.facts))")
            }
            return
        }
        let ctx = StageContext(config: config, logger: logger, progress: makeProgress(quiet: options.quiet))
        let (result, seconds) = try Runner.runAlone(stage, ctx, wait: options.wait, takeOver: options.takeOver)
        if !options.quiet { printSummary(result) }
        logger.info("\(stage.name): done in \(String(format: "%.2f", seconds)) s \(summary(result.facts))")
    } catch let e as RecError {
        logger.error("\(e.description)")
        throw ExitCode(ExitCodes.code(for: e.kind))
    }
}

/// `key=value` pairs of the scalar facts, for the log line.
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
/// for the person running the command, not a diagnostic. Not printed with `--quiet`. Its
/// lines stay lines; any other control or bidi character is escaped (`VisibleText`).
public func printSummary(_ result: StageResult?) {
    if let text = result?.summary { FileHandle.standardOutput.write(Data(VisibleText.escape(text, keepingLineFeeds: true).utf8)) }
}
