import Foundation
import Logging
import RecKit

/// Runs the stages in order, in this process.
public struct Runner {
    public struct Options: Sendable {
        /// Run every selected stage even when it is up to date.
        public var force = false
        /// Start at this stage (name or executable); earlier stages are not considered.
        public var from: String?
        /// Run only this stage.
        public var only: String?
        /// Print the plan and do nothing.
        public var dryRun = false
        /// Wait for another run's lock instead of exiting.
        public var wait = false

        public init() {}
    }

    /// What happened to one stage.
    public struct Outcome: Sendable {
        public var stage: String
        public var ran: Bool
        public var reason: String
        public var seconds: Double
        /// What the stage reported (counts, the score stage's summary).
        public var stats: [String: JSONValue] = [:]
    }

    public let config: PipelineConfig
    public let options: Options
    public let logger: Logger

    public init(config: PipelineConfig, options: Options, logger: Logger) {
        self.config = config
        self.options = options
        self.logger = logger
    }

    /// The stages this run considers, in order.
    public func selectedStages() throws -> [any Stage] {
        let all = Pipeline.stages
        let names = all.map(\.name).joined(separator: ", ")
        if let only = options.only {
            guard let s = Pipeline.stage(named: only) else { throw RecError(.config, "unknown stage '\(only)'", hint: "stages: \(names)") }
            return [s]
        }
        if let from = options.from {
            guard let i = all.firstIndex(where: { $0.name == from || $0.executable == from }) else {
                throw RecError(.config, "unknown stage '\(from)'", hint: "stages: \(names)")
            }
            return Array(all[i...])
        }
        return all
    }

    @discardableResult
    public func run() throws -> [Outcome] {
        let stages = try selectedStages()
        var outcomes: [Outcome] = []
        let ctx = StageContext(config: config, logger: logger)
        for stage in stages {
            let reason = options.force ? "forced" : "selected"
            if options.dryRun {
                logger.info("\(stage.name): would run (\(reason))")
                outcomes.append(Outcome(stage: stage.name, ran: false, reason: reason, seconds: 0))
                continue
            }
            let clock = ContinuousClock.now
            logger.info("\(stage.name): running (\(reason))")
            let stats = try stage.run(ctx)
            let seconds = clock.duration(to: .now)
            let s = Double(seconds.components.seconds) + Double(seconds.components.attoseconds) * 1e-18
            logger.info("\(stage.name): done in \(String(format: "%.2f", s)) s")
            outcomes.append(Outcome(stage: stage.name, ran: true, reason: reason, seconds: s, stats: stats))
        }
        return outcomes
    }
}
