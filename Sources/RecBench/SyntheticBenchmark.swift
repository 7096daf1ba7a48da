import Foundation
import Logging
import RecCore
import RecData
import RecModels
import RecPipeline
import RecSynth

/// `rec-bench --synthetic USERSxITEMSxRATINGS`: times a few epochs of the configured rating
/// model on a generated matrix of that shape (`SyntheticRatings`), without the pipeline, so
/// that training cost at scales the real data does not have can be measured.
public struct SyntheticBenchmark {
    public var config: PipelineConfig
    /// The data's sizes and seed.
    public var shape: SynthSettings
    public var epochs: Int
    public var logger: Logger

    public init(config: PipelineConfig, shape: SynthSettings, epochs: Int, logger: Logger) {
        self.config = config
        self.shape = shape
        self.epochs = epochs
        self.logger = logger
    }

    public func run() throws -> String {
        guard epochs >= 1 else { throw RecError(.config, "--synthetic-epochs must be 1 or more") }
        let parallel = Parallel.resolve(config.workers)
        let s = config.ratingModel.settings
        let activation = s.activation
        var rows: [Benchmark.Row] = []
        let description = "\(shape.users) × \(shape.movies), \(shape.ratings) ratings"
        logger.info("generating \(description)…")
        var m = CSRMatrix(rows: 0, cols: 0, rowStart: [0], columns: [], values: [])
        let generation = try wallSeconds { m = try SyntheticRatings.matrix(shape, parallel: parallel) }
        let perUser = (0..<m.rows).map { m.row($0).count }
        let perItem = m.columnCounts()
        let sortedItems = perItem.sorted()
        rows.append(.init(name: "synthetic ratings (rec-synth's model, seed \(shape.seed))", value: "\(description), made in \(String(format: "%.1f", generation)) s"))
        rows.append(.init(name: "ratings per user", value: "min \(perUser.min() ?? 0), median \(perUser.sorted()[perUser.count / 2]), max \(perUser.max() ?? 0), \(perUser.filter { $0 > 5000 }.count) users over 5,000"))
        rows.append(.init(name: "ratings per movie", value: "median \(sortedItems[sortedItems.count / 2]), max \(sortedItems.last ?? 0), \(String(format: "%.0f", 100 * Double(perItem.filter { $0 < 10 }.count) / Double(m.cols))) % under 10"))

        // Distinct movies in a batch of consecutive users (users are drawn independently, so
        // this is what a shuffled batch holds on average): what a lazy optimiser step touches.
        var mark = [Int32](repeating: -1, count: m.cols)
        var distinct = 0, batches = 0
        for (b, first) in stride(from: 0, to: m.rows - s.batchSize + 1, by: s.batchSize).enumerated() {
            for u in first..<(first + s.batchSize) {
                for k in m.row(u) where mark[Int(m.columns[k])] != Int32(b) { mark[Int(m.columns[k])] = Int32(b); distinct += 1 }
            }
            batches += 1
        }
        rows.append(.init(name: "movies in a batch of \(s.batchSize) users", value: String(format: "%.0f on average (of %d), %.0f ratings", Double(distinct) / Double(max(batches, 1)), m.cols, Double(m.nonZeros) * Double(s.batchSize) / Double(m.rows))))

        let settings = s.running(epochs: epochs)
        let model = Autoencoder(items: m.cols, hidden: s.hidden, activation: activation, seed: s.seed)
        let name = "\(s.hidden.map(String.init).joined(separator: "-")) \(s.activation.rawValue), \(s.optimizer.rawValue), batch \(s.batchSize), \(parallel.workers) workers"
        logger.info("training \(epochs) epochs (\(name))…")
        // CPU seconds beside wall seconds: on a shared machine the wall clock also counts time
        // the process waited for a core.
        var cpu: [Double] = [], lastCPU = processCPUSeconds()
        let history = try model.train(m, validation: nil, settings: settings, scale: SyntheticRatings.scale, parallel: parallel) { record in
            let now = processCPUSeconds()
            cpu.append(now - lastCPU)
            lastCPU = now
            logger.info("epoch \(record.epoch): loss \(String(format: "%.4f", record.loss)), \(String(format: "%.2f", record.seconds ?? .nan)) s")
        }
        for (record, cpuSeconds) in zip(history, cpu) {
            rows.append(.init(name: "epoch \(record.epoch) (\(name))",
                              value: String(format: "%.2f s, %.2f CPU s (steps + train RMSE pass), loss %.4f, train RMSE %.4f",
                                            record.seconds ?? .nan, cpuSeconds, record.loss, record.trainRMSE ?? .nan)))
        }
        let before = processCPUSeconds()
        let evaluation = try wallSeconds { _ = try model.errorSums(input: m, queries: [m], scale: SyntheticRatings.scale, parallel: parallel) }
        rows.append(.init(name: "of which the train RMSE pass", value: String(format: "%.2f s, %.2f CPU s (one forward pass, timed alone)", evaluation, processCPUSeconds() - before)))
        rows.append(.init(name: "peak resident memory", value: String(format: "%.0f MB", peakResidentMB())))
        return Benchmark.render(rows, data: "synthetic")
    }
}
