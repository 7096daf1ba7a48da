import Foundation
import Logging
import RecCore
import RecStore
import RecData
import RecKernels
import RecModels
import RecPipeline

/// What `rec-bench` measures, on the data `pipeline.json` names, in scratch folders (the real
/// outputs are not touched). Every ratio compares two measurements taken in the same run.
public struct Benchmark {
    public var config: PipelineConfig
    /// Epochs of the straightforward dense implementation to time (and, when equal to the
    /// configured epochs, to compare test RMSE with).
    public var denseEpochs: Int
    public var logger: Logger
    /// The PyTorch rewrite to compare training time with (skipped, saying why, when nil or
    /// when torch cannot be imported).
    public var torch: TorchComparison?

    public init(config: PipelineConfig, denseEpochs: Int, logger: Logger) {
        self.config = config
        self.denseEpochs = denseEpochs
        self.logger = logger
    }

    struct Row { let name: String; let value: String }

    /// Runs every measurement in order and returns the table.
    public func run() throws -> String {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("rec-bench-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var c = config
        c.artefactDir = scratch + "/artefacts"
        c.outputDir = scratch + "/output"
        let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let ctx = StageContext(config: c, logger: quiet)
        let (firstRows, pipelineRSS) = try pipelineAndIngest(ctx, quiet: quiet)
        var rows = firstRows
        let m = try Matrices.read(c.paths.matrices, parallel: ctx.parallel)
        let (sparse, sparseTest) = try training(m, ctx, scratch: scratch, into: &rows)
        try workersAndDense(m, ctx, sparseTest: sparseTest, into: &rows)
        scoring(sparse, m, ctx, into: &rows)
        rows.append(Row(name: "peak resident memory (whole pipeline / whole benchmark)", value: String(format: "%.0f MB / %.0f MB", pipelineRSS, peakResidentMB())))
        return render(rows)
    }

    /// The whole pipeline first (cold, as `make run` does after the build), then the ingest
    /// stage alone, best of 3.
    /// - Returns: their rows, and the peak resident memory after the pipeline (MB).
    func pipelineAndIngest(_ ctx: StageContext, quiet: Logger) throws -> ([Row], Double) {
        let c = ctx.config
        logger.info("whole pipeline…")
        let pipeline = try wallSeconds { try Runner(config: c, options: { var o = Runner.Options(); o.force = true; return o }(), logger: quiet).run() }
        let pipelineRSS = peakResidentMB()
        let bytes = try AtomicFile.read(c.resolve(c.input.ratings)).count
        var ingest = Double.infinity
        for _ in 0..<3 { ingest = min(ingest, try wallSeconds { _ = try IngestStage().run(ctx) }) }
        return ([
            Row(name: "whole pipeline (6 stages, \(ctx.parallel.workers) workers)", value: String(format: "%.2f s", pipeline)),
            Row(name: "ingest (ratings + movies → artefacts)", value: String(format: "%.3f s, %.0f MB/s of ratings text", ingest, Double(bytes) / 1e6 / ingest)),
        ], pipelineRSS)
    }

    /// The configured training settings for `epochs` (by default the configured count),
    /// without early stopping (the benchmark has no validation slice to stop on).
    func trainSettings(epochs: Int? = nil) -> AutoencoderSettings {
        let s = config.ratingModel.settings
        return s.running(epochs: epochs ?? s.epochs)
    }

    func newModel(_ m: Matrices) -> Autoencoder {
        let s = config.ratingModel.settings
        return Autoencoder(items: m.ids.itemCount, hidden: s.hidden, activation: s.activation, seed: s.seed)
    }

    /// Training with the sparse implementation on all workers for the configured epochs, then
    /// the same model, settings and split in PyTorch (CPU) right after.
    /// - Returns: the trained model and its test RMSE.
    func training(_ m: Matrices, _ ctx: StageContext, scratch: String, into rows: inout [Row]) throws -> (Autoencoder, Double) {
        let s = config.ratingModel.settings
        let scale = m.scale
        logger.info("training, sparse, \(ctx.parallel.workers) workers, \(s.epochs) epochs…")
        let sparse = newModel(m)
        var history: [EpochRecord] = []
        let sparseSeconds = try wallSeconds {
            history = try sparse.train(m.train, validation: nil, settings: trainSettings(), scale: scale, parallel: ctx.parallel)
        }
        let epochTimes = history.compactMap(\.seconds)
        let sparseTest = try RatingMetrics.measure(
            predictions: sparse.predict(input: m.train, queries: m.test, parallel: ctx.parallel), truths: m.test.values, scale: scale).rmse
        let architecture = "\(s.hidden.map(String.init).joined(separator: "-")) \(s.activation.rawValue), \(s.optimizer.rawValue) lr \(s.learningRate), batch \(s.batchSize)"
        rows.append(Row(name: "train \(s.epochs) epochs, this project (\(architecture), \(ctx.parallel.workers) workers)",
                        value: String(format: "%.2f s, %.3f s/epoch (median), %.2fM ratings/s, test RMSE %.4f", epochTimes.reduce(0, +),
                                      median(epochTimes), Double(m.train.nonZeros * history.count) / sparseSeconds / 1e6, sparseTest)))
        try torchComparison(m, ctx, ours: epochTimes.reduce(0, +), scratch: scratch, into: &rows)
        return (sparse, sparseTest)
    }

    /// The PyTorch rewrite of the same training: both epochs count the steps and the train RMSE
    /// pass that follows them; then this project's steps alone, right after.
    func torchComparison(_ m: Matrices, _ ctx: StageContext, ours: Double, scratch: String, into rows: inout [Row]) throws {
        let s = config.ratingModel.settings
        let torchName = "train \(s.epochs) epochs, PyTorch CPU rewrite (scripts/bench_torch.py)"
        guard let torch else { return rows.append(Row(name: torchName, value: "skipped: no --torch-python")) }
        if let reason = torch.unavailable() { return rows.append(Row(name: torchName, value: "skipped: \(reason)")) }
        logger.info("training, PyTorch, \(ctx.parallel.workers) threads, \(s.epochs) epochs…")
        let scale = m.scale
        let t = try torch.run(train: m.train, test: m.test, settings: s, scale: [Double(scale.lowerBound), Double(scale.upperBound)], threads: ctx.parallel.workers,
                              scratch: scratch + "/torch")
        // The pass after each epoch does not change the parameters: leaving it out times the
        // steps alone.
        logger.info("training, sparse, steps only, \(s.epochs) epochs…")
        let ourSteps = try newModel(m).train(m.train, validation: nil, settings: trainSettings(), measureTrainRMSE: false,
                                             scale: scale, parallel: ctx.parallel)
            .compactMap(\.seconds).reduce(0, +)
        let (theirs, theirSteps) = (t.seconds, t.stepSeconds.reduce(0, +))
        rows.append(Row(name: torchName, value: String(format: "%.2f s, %.3f s/epoch (median), test RMSE %.4f; torch %@, %d threads",
                                                       theirs, median(t.epochSeconds), t.testRMSE, t.version, t.threads)))
        rows.append(Row(name: "this project vs PyTorch, \(s.epochs) epochs", value: String(format: "%.1f× faster (%.2f s vs %.2f s)",
                                                                                          theirs / ours, ours, theirs)))
        rows.append(Row(name: "the same, training steps only (no pass after each epoch)",
                        value: String(format: "%.1f× faster (%.2f s vs %.2f s)", theirSteps / ourSteps, ourSteps, theirSteps)))
    }

    /// A few epochs on one worker (the parallel speed-up), then the straightforward dense
    /// implementation for `denseEpochs`.
    func workersAndDense(_ m: Matrices, _ ctx: StageContext, sparseTest: Double, into rows: inout [Row]) throws {
        let s = config.ratingModel.settings
        func perEpoch(workers: Int, dense: Bool, epochs: Int) throws -> (Double, Double) {
            let model = newModel(m)
            let h = try model.train(m.train, validation: nil, settings: trainSettings(epochs: epochs), scale: m.scale, parallel: Parallel(workers: workers), dense: dense)
            let testRMSE = try RatingMetrics.measure(
                predictions: model.predict(input: m.train, queries: m.test, parallel: ctx.parallel), truths: m.test.values, scale: m.scale).rmse
            return (median(h.compactMap(\.seconds)), testRMSE)
        }
        let fewEpochs = min(5, s.epochs)
        logger.info("training, sparse, 1 worker, \(fewEpochs) epochs…")
        let (oneWorker, _) = try perEpoch(workers: 1, dense: false, epochs: fewEpochs)
        let (allWorkers, _) = try perEpoch(workers: ctx.parallel.workers, dense: false, epochs: fewEpochs)
        rows.append(Row(name: "sparse epoch, 1 worker vs \(ctx.parallel.workers)", value: String(format: "%.3f s vs %.3f s: %.2f× from Dispatch", oneWorker, allWorkers, oneWorker / allWorkers)))

        logger.info("training, straightforward dense, \(denseEpochs) epochs…")
        let (denseEpoch, denseTest) = try perEpoch(workers: ctx.parallel.workers, dense: true, epochs: denseEpochs)
        rows.append(Row(name: "straightforward dense epoch (GEMM over all \(m.ids.itemCount) items)", value: String(format: "%.3f s/epoch: sparse is %.1f× faster", denseEpoch, denseEpoch / allWorkers)))
        if denseEpochs == s.epochs {
            rows.append(Row(name: "test RMSE after \(s.epochs) epochs, sparse vs dense", value: String(format: "%.4f vs %.4f", sparseTest, denseTest)))
        }
    }

    /// Every user's top-k over every movie, beside the naive way (per-user dot products and a
    /// full sort) timed on a sample of users.
    func scoring(_ sparse: Autoencoder, _ m: Matrices, _ ctx: StageContext, into rows: inout [Row]) {
        let k = config.score.k
        let scorer = AutoencoderScorer(model: sparse)
        var lists: (items: [Int32], scores: [Float]) = ([], [])
        let scoring = wallSeconds { lists = BLASThreads.single { TopK.all(scorer: scorer, input: m.train, k: k, parallel: ctx.parallel) } }
        precondition(lists.items.count == m.ids.userCount * k)
        let naiveUsers = min(500, m.ids.userCount)
        let naive = wallSeconds { naiveTopK(sparse, m.train, users: naiveUsers, k: k) } * Double(m.ids.userCount) / Double(naiveUsers)
        rows.append(Row(name: "score \(m.ids.userCount) users, top-\(k) of \(m.ids.itemCount)",
                        value: String(format: "%.3f s, %.0f users/s; naive (per-user dot products + full sort) %.2f s: %.1f×",
                                      scoring, Double(m.ids.userCount) / scoring, naive, naive / scoring)))
    }

    /// The plain way to score: one dot product per (user, item), then sort everything.
    func naiveTopK(_ model: Autoencoder, _ train: CSRMatrix, users: Int, k: Int) {
        let n = model.layout.items
        var row = [Float](repeating: 0, count: n)
        for u in 0..<users {
            row.withUnsafeMutableBufferPointer { model.scores(rows: u..<(u + 1), input: train, into: $0.baseAddress!) }
            for t in train.row(u) { row[Int(train.columns[t])] = -.infinity }
            _ = Array(row.indices.sorted { row[$0] > row[$1] }.prefix(k))
        }
    }

    func render(_ rows: [Row]) -> String { Benchmark.render(rows, data: config.input.ratings) }

    static func render(_ rows: [Row], data: String) -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        var out = "rec-bench  \(ISO8601DateFormatter().string(from: Date()))  \(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu)\n"
        #if arch(x86_64)
        let vector = Kernels.wide ? "AVX-512" : "AVX2"
        #else
        let vector = "portable SIMD"
        #endif
        out += "kernels: \(vector); OpenBLAS \(BLAS.kernels)\n"
        out += "data: \(data)\n\n"
        let width = rows.map(\.name.count).max() ?? 0
        for r in rows { out += r.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + r.value + "\n" }
        return out
    }
}

func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return .nan }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Peak resident set size of this process so far, in MB (Linux reports kilobytes).
func peakResidentMB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Wall seconds `body` takes (the benchmarks' timer).
func wallSeconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock.now
    try body()
    return clock.duration(to: .now).seconds
}
