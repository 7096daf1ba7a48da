import Foundation
import RecKernels
import RecKit

/// How to train an autoencoder; read from a `pipeline.json` model section.
public struct TrainSettings: Sendable, Equatable {
    public var epochs = 50
    public var batchSize = 64
    public var learningRate = 0.001
    /// Multiplies the learning rate after every epoch.
    public var learningRateDecay = 1.0
    public var weightDecay = 0.0
    public var optimizer = "adam"
    public var inputDropout = 0.0
    public var seed: UInt64 = 1
    /// Stop after this many epochs without a better validation RMSE (0 = never).
    public var patience = 0

    public init() {}

    public init(_ m: AutoencoderSettings) {
        epochs = m.epochs
        batchSize = m.batchSize
        learningRate = m.learningRate
        learningRateDecay = m.learningRateDecay
        weightDecay = m.weightDecay
        optimizer = m.optimizer
        inputDropout = m.inputDropout
        seed = m.seed
        patience = m.earlyStoppingPatience
    }
}

/// Adam or RMSprop over the whole parameter buffer, PyTorch's definitions (L2 `weight_decay`
/// added to the gradient). Elementwise, in parallel by fixed ranges: the same bits for any
/// number of workers.
final class Optimizer {
    let kind: String
    var learningRate: Float
    let weightDecay: Float
    let first: FloatBuffer
    let second: FloatBuffer
    var step = 0
    static let (beta1, beta2, eps, alpha): (Float, Float, Float, Float) = (0.9, 0.999, 1e-8, 0.99)

    init(kind: String, count: Int, learningRate: Double, weightDecay: Double) {
        self.kind = kind
        self.learningRate = Float(learningRate)
        self.weightDecay = Float(weightDecay)
        first = FloatBuffer(kind == "adam" ? count : 0)
        second = FloatBuffer(count)
    }

    /// One step over the whole buffer. `decayed` says which ranges get the L2 penalty (the
    /// weights; biases are left alone, as in AutoRec: shrinking a per-user output bias
    /// towards 0 only hurts).
    func update(_ p: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, decayed: [Range<Int>], count: Int, parallel: Parallel) {
        step += 1
        let (pp, gg, m, v) = (SharedPointer(p), SharedPointer(grad), SharedPointer(first.pointer), SharedPointer(second.pointer))
        let (lr, t) = (learningRate, Float(step))
        let adam = kind == "adam"
        let stepSize = lr / (1 - powf(Optimizer.beta1, t))
        let sqrtBias2 = (1 - powf(Optimizer.beta2, t)).squareRoot()
        // Fixed pieces of at most 64K elements, each entirely decayed or not.
        var pieces: [(Range<Int>, Float)] = []
        var position = 0
        for d in decayed.sorted(by: { $0.lowerBound < $1.lowerBound }) + [count..<count] {
            for start in stride(from: position, to: d.lowerBound, by: 1 << 16) { pieces.append((start..<min(start + (1 << 16), d.lowerBound), 0)) }
            for start in stride(from: d.lowerBound, to: d.upperBound, by: 1 << 16) { pieces.append((start..<min(start + (1 << 16), d.upperBound), weightDecay)) }
            position = d.upperBound
        }
        parallel.forEachChunk(count: pieces.count, chunkSize: 1) { i, _ in
            let (r, wd) = pieces[i]
            let o = r.lowerBound
            if adam {
                Kernels.adam(r.count, p: pp.base + o, g: gg.base + o, m: m.base + o, v: v.base + o, stepSize: stepSize,
                             beta1: Optimizer.beta1, beta2: Optimizer.beta2, sqrtBias2: sqrtBias2, eps: Optimizer.eps, weightDecay: wd)
            } else {
                Kernels.rmsprop(r.count, p: pp.base + o, g: gg.base + o, s: v.base + o, lr: lr, alpha: Optimizer.alpha,
                                eps: Optimizer.eps, weightDecay: wd)
            }
        }
    }
}

extension Autoencoder {
    /// Trains on the rows of `train` (each row is both input and target), mini-batch by
    /// mini-batch: for each epoch, for each batch: forward, loss, zero grads, backward, update.
    ///
    /// Rows are shuffled each epoch by a generator seeded from (seed, epoch); input dropout
    /// draws from (seed, epoch, row). With `validation`, the parameters of the epoch with the
    /// best validation RMSE are kept and early stopping may end training; the test split is
    /// never seen here.
    /// - Parameter log: called after each epoch.
    /// - Throws: `RecError(.runtime)` when the loss stops being finite.
    /// - Parameter dense: compute each batch by the straightforward dense formulation instead
    ///   of the sparse one (same result up to rounding; for benchmarks and tests).
    @discardableResult
    public func train(
        _ train: CSRMatrix, validation: CSRMatrix?, settings s: TrainSettings, scale: ClosedRange<Float>,
        parallel: Parallel, dense: Bool = false, log: (EpochRecord) -> Void = { _ in }
    ) throws -> [EpochRecord] {
        // One BLAS thread per call while Dispatch runs the workers, restored afterwards.
        try BLAS.withThreads(1) { try trainInScope(train, validation: validation, settings: s, scale: scale, parallel: parallel, dense: dense, log: log) }
    }

    private func trainInScope(
        _ train: CSRMatrix, validation: CSRMatrix?, settings s: TrainSettings, scale: ClosedRange<Float>,
        parallel: Parallel, dense: Bool, log: (EpochRecord) -> Void
    ) throws -> [EpochRecord] {
        let optimizer = Optimizer(kind: s.optimizer, count: layout.parameterCount, learningRate: s.learningRate, weightDecay: s.weightDecay)
        let grad = FloatBuffer(layout.parameterCount)
        let workspace = Workspace(layout: layout, rows: s.batchSize)
        // The optimiser leaves the gradient zeroed after each update: no separate pass.
        var order = (0..<train.rows).filter { !train.row($0).isEmpty }
        var history: [EpochRecord] = []
        var best: (rmse: Double, parameters: [Float])?
        var sinceBest = 0
        var input = BatchBuffer(), target = BatchBuffer()
        for epoch in 1...s.epochs {
            let clock = ContinuousClock.now
            optimizer.learningRate = Float(s.learningRate * pow(s.learningRateDecay, Double(epoch - 1)))
            var rng = SplitMix64(seed: s.seed, stream: UInt64(epoch))
            rng.shuffle(&order)
            var lossTotal = 0.0
            var batches = 0
            for start in stride(from: 0, to: order.count, by: s.batchSize) {
                let rows = order[start..<min(start + s.batchSize, order.count)]
                target.reset()
                for r in rows { target.appendRow(train, r) }
                if s.inputDropout > 0 {
                    input.reset()
                    for r in rows { input.appendDropped(train, r, rate: Float(s.inputDropout), seed: s.seed, epoch: epoch) }
                } else {
                    input = target
                }
                let (sum, n) = parameters.withUnsafeBufferPointer { p in
                    input.with { inp in
                        target.with { tgt in
                            dense ? denseLossAndGradient(p.baseAddress!, grad: grad.pointer, input: inp, target: tgt, workspace: workspace)
                                : lossAndGradient(p.baseAddress!, grad: grad.pointer, input: inp, target: tgt, workspace: workspace, parallel: parallel)
                        }
                    }
                }
                guard n > 0 else { continue }
                let loss = sum / Double(n)
                guard loss.isFinite else {
                    throw RecError(.runtime, "training diverged in epoch \(epoch): the loss is not finite",
                                   hint: "lower the learning rate or raise the weight decay")
                }
                lossTotal += loss
                batches += 1
                parameters.withUnsafeMutableBufferPointer { p in
                    optimizer.update(p.baseAddress!, grad: grad.pointer, decayed: layout.weightRanges, count: layout.parameterCount, parallel: parallel)
                }
            }
            let evaluated = predict(input: train, queries: [train] + (validation.map { [$0] } ?? []), parallel: parallel)
            let trainRMSE = try RatingMetrics.measure(predictions: evaluated[0], truths: train.values, scale: scale).rmse
            let validationRMSE = try validation.flatMap { v in
                v.nonZeros == 0 ? nil : try RatingMetrics.measure(predictions: evaluated[1], truths: v.values, scale: scale).rmse
            }
            let record = EpochRecord(epoch: epoch, loss: lossTotal / Double(max(batches, 1)), trainRMSE: trainRMSE,
                                     validationRMSE: validationRMSE, seconds: clock.duration(to: .now).seconds)
            history.append(record)
            log(record)
            if let v = validationRMSE, v.isFinite {
                if best == nil || v < best!.rmse {
                    best = (v, parameters)
                    sinceBest = 0
                } else {
                    sinceBest += 1
                    if s.patience > 0, sinceBest >= s.patience { break }
                }
            }
        }
        if let best { parameters = best.parameters }
        return history
    }

    /// Predictions at the entries of `queries` (aligned with `queries.values`), each row fed
    /// its row of `input`. Clipping to the scale is left to the caller.
    public func predict(input: CSRMatrix, queries: CSRMatrix, parallel: Parallel) -> [Float] {
        predict(input: input, queries: [queries], parallel: parallel)[0]
    }

    /// Predictions at the entries of several query matrices, with one forward pass.
    public func predict(input: CSRMatrix, queries: [CSRMatrix], parallel: Parallel) -> [[Float]] {
        precondition(queries.allSatisfy { $0.rows == input.rows })
        let block = 1024
        let workspace = Workspace(layout: layout, rows: block)
        let H = layout.layerCount - 1, hL = layout.lastHidden
        let outputs = queries.map { FloatBuffer($0.nonZeros) }
        var batch = BatchBuffer()
        parameters.withUnsafeBufferPointer { pp in
            let p = pp.baseAddress!
            let wL = p + layout.weightOffset[H], bL = p + layout.biasOffset[H]
            let aL = SharedPointer(workspace.a[H - 1])
            for first in stride(from: 0, to: input.rows, by: block) {
                let rows = first..<min(first + block, input.rows)
                batch.reset()
                for r in rows { batch.appendRow(input, r) }
                batch.with { forwardHidden(p, batch: $0, activations: workspace.a, parallel: parallel) }
                for (query, output) in zip(queries, outputs) {
                    let result = SharedPointer(output.pointer)
                    query.columns.withUnsafeBufferPointer { qc in
                        let columns = UncheckedPointer(qc)
                        parallel.forEachChunk(count: rows.count, chunkSize: Autoencoder.rowChunk) { _, local in
                            for r in local {
                                let q = query.row(first + r)
                                guard !q.isEmpty else { continue }
                                Kernels.gatherDot(out: result.base + q.lowerBound, x: aL.base + r * hL, d: hL, rows: wL, stride: hL,
                                                  bias: bL, index: columns.at(q.lowerBound), count: q.count)
                            }
                        }
                    }
                }
            }
        }
        return outputs.map { Array(UnsafeBufferPointer(start: $0.pointer, count: $0.count)) }
    }

    /// Scores of every item for `rows` (a users × items block, row-major), from their rows of
    /// `input`: the hidden layers for the block, then one GEMM against the output weights.
    public func scores(rows: Range<Int>, input: CSRMatrix, into out: UnsafeMutablePointer<Float>) {
        let H = layout.layerCount - 1, hL = layout.lastHidden, n = layout.items
        let workspace = Workspace(layout: layout, rows: rows.count)
        var batch = BatchBuffer()
        for r in rows { batch.appendRow(input, r) }
        parameters.withUnsafeBufferPointer { pp in
            let p = pp.baseAddress!
            batch.with { forwardHidden(p, batch: $0, activations: workspace.a, parallel: Parallel(workers: 1)) }
            for r in 0..<rows.count { (out + r * n).update(from: p + layout.biasOffset[H], count: n) }
            BLAS.gemm(transB: true, m: rows.count, n: n, k: hL, a: workspace.a[H - 1], lda: hL, b: p + layout.weightOffset[H], ldb: hL,
                      beta: 1, c: out, ldc: n)
        }
    }
}

extension BatchBuffer {
    /// A row with each entry kept with probability 1 − rate and scaled by 1/(1 − rate)
    /// (inverted dropout, as PyTorch's `Dropout` on the input). The draw depends only on
    /// (seed, epoch, row), so it does not depend on batching or workers.
    mutating func appendDropped(_ m: CSRMatrix, _ row: Int, rate: Float, seed: UInt64, epoch: Int) {
        var rng = SplitMix64(seed: seed &+ UInt64(epoch) &* 0x1_0000_0001, stream: UInt64(row))
        let keepScale = 1 / (1 - rate)
        for k in m.row(row) where rng.unitFloat() >= rate {
            columns.append(m.columns[k])
            values.append(m.values[k] * keepScale)
        }
        start.append(columns.count)
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
