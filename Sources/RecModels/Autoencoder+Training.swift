import Foundation
import RecCore
import RecData
import RecKernels

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
    ///   of the sparse one, with dense optimiser steps (the same result as the sparse
    ///   formulation with `optimizerUpdates` dense, up to rounding; for benchmarks and tests).
    /// - Parameter measureTrainRMSE: measure the train RMSE after every epoch (a forward pass
    ///   over all rows, logged and kept in the history); false leaves `trainRMSE` nil and saves
    ///   that pass when there is no validation slice (the serving fit), or its train half when
    ///   there is one.
    @discardableResult
    public func train(
        _ train: CSRMatrix, validation: CSRMatrix?, settings s: AutoencoderSettings, measureTrainRMSE: Bool = true,
        scale: ClosedRange<Float>, parallel: Parallel, dense: Bool = false, log: (EpochRecord) -> Void = { _ in }
    ) throws -> [EpochRecord] {
        // One BLAS thread per call while Dispatch runs the workers, restored afterwards; a
        // team of workers kept awake between the many short regions of each batch.
        try BLAS.singleThreaded {
            try parallel.withTeam { team in
                try trainInScope(train, validation: validation, settings: s, measureTrainRMSE: measureTrainRMSE,
                                 scale: scale, parallel: team, dense: dense, log: log)
            }
        }
    }

    private func trainInScope(
        _ train: CSRMatrix, validation: CSRMatrix?, settings s: AutoencoderSettings, measureTrainRMSE: Bool,
        scale: ClosedRange<Float>, parallel: Parallel, dense: Bool, log: (EpochRecord) -> Void
    ) throws -> [EpochRecord] {
        let run = TrainingRun(self, settings: s, dense: dense)
        var stopping = EarlyStopping(patience: s.earlyStoppingPatience)
        defer { parameters = stopping.best?.parameters ?? run.currentParameters() }
        var order = (0..<train.rows).filter { !train.row($0).isEmpty }
        var history: [EpochRecord] = []
        for epoch in 1...s.epochs {
            let clock = ContinuousClock.now
            var rng = SplitMix64(seed: s.seed, stream: UInt64(epoch))
            rng.shuffle(&order)
            let loss = try run.epoch(epoch, order: order, train: train, parallel: parallel)
            let (trainRMSE, validationRMSE) = try epochErrors(run.work.pointer, train: train, validation: validation,
                                                              trainRMSE: measureTrainRMSE, scale: scale, parallel: parallel)
            let record = EpochRecord(epoch: epoch, loss: loss, trainRMSE: trainRMSE,
                                     validationRMSE: validationRMSE, seconds: clock.duration(to: .now).seconds)
            history.append(record)
            log(record)
            if stopping.stops(after: validationRMSE, parameters: run.currentParameters) { break }
        }
        return history
    }

    /// The epoch's figures: one forward pass over every row, the errors at the queried entries
    /// summed (the train pass is a fifth of an epoch at MovieLens-25M's shape; without it and
    /// without validation there is no pass at all).
    private func epochErrors(
        _ p: UnsafePointer<Float>, train: CSRMatrix, validation: CSRMatrix?, trainRMSE: Bool, scale: ClosedRange<Float>, parallel: Parallel
    ) throws -> (train: Double?, validation: Double?) {
        let validating = validation.map { $0.nonZeros > 0 } ?? false
        let queries = (trainRMSE ? [train] : []) + (validating ? [validation!] : [])
        let sums = queries.isEmpty ? [] : try errorSums(p, input: train, queries: queries, scale: scale, parallel: parallel)
        return (trainRMSE ? try sums[0].metrics().rmse : nil, validating ? try sums[sums.count - 1].metrics().rmse : nil)
    }

    /// Predictions at the entries of `queries` (aligned with `queries.values`), each row fed
    /// its row of `input`. Clipping to the scale is left to the caller.
    public func predict(input: CSRMatrix, queries: CSRMatrix, parallel: Parallel) -> [Float] {
        predict(input: input, queries: [queries], parallel: parallel)[0]
    }

    /// Predictions at the entries of several query matrices, with one forward pass.
    public func predict(input: CSRMatrix, queries: [CSRMatrix], parallel: Parallel) -> [[Float]] {
        parameters.withUnsafeBufferPointer { predict($0.baseAddress!, input: input, queries: queries, parallel: parallel) }
    }

    /// `predict` with the parameters at `p`.
    func predict(_ p: UnsafePointer<Float>, input: CSRMatrix, queries: [CSRMatrix], parallel: Parallel) -> [[Float]] {
        precondition(queries.allSatisfy { $0.rows == input.rows })
        let outputs = queries.map { FloatBuffer($0.nonZeros) }
        forEachBlock(p, input: input, parallel: parallel) { rows, lastHidden in
            let aL = SharedPointer(lastHidden)
            for (query, output) in zip(queries, outputs) {
                let result = SharedPointer(output.pointer)
                query.columns.withUnsafeBufferPointer { qc in
                    let columns = UncheckedPointer(qc)
                    parallel.forEachChunk(count: rows.count, chunkSize: Autoencoder.rowChunk) { _, local in
                        outputLayer(p, lastHidden: aL.base, rows: local, first: rows.lowerBound, query: query, columns: columns,
                                    into: result.base + query.rowStart[rows.lowerBound + local.lowerBound])
                    }
                }
            }
        }
        return outputs.map { Array(UnsafeBufferPointer(start: $0.pointer, count: $0.count)) }
    }

    /// The output layer at the entries of `query` for the block rows `rows` (counted from the
    /// block's first row, input row `first`), from the block's last hidden layer: written in
    /// entry order from `out`. The one output loop of `predict` and `errorSums`.
    @inline(__always)
    func outputLayer(_ p: UnsafePointer<Float>, lastHidden aL: UnsafeMutablePointer<Float>, rows: Range<Int>, first: Int,
                     query: CSRMatrix, columns: UncheckedPointer<Int32>, into out: UnsafeMutablePointer<Float>) {
        let H = layout.layerCount - 1, hL = layout.lastHidden
        let wL = p + layout.weightOffset[H], bL = p + layout.biasOffset[H]
        var at = 0
        for r in rows {
            let q = query.row(first + r)
            guard !q.isEmpty else { continue }
            Kernels.gatherDot(out: out + at, x: aL + r * hL, d: hL, rows: wL, stride: hL,
                              bias: bL, index: columns.at(q.lowerBound), count: q.count)
            at += q.count
        }
    }

    /// The forward pass over every row of `input`, by blocks of 1,024 rows: `body` gets each
    /// block's rows and its last hidden layer (block rows × `lastHidden`, valid until `body`
    /// returns).
    func forEachBlock(
        _ p: UnsafePointer<Float>, input: CSRMatrix, parallel: Parallel, _ body: (Range<Int>, UnsafeMutablePointer<Float>) throws -> Void
    ) rethrows {
        let block = 1024
        let workspace = Workspace(layout: layout, rows: block)
        var batch = BatchBuffer()
        for first in stride(from: 0, to: input.rows, by: block) {
            let rows = first..<min(first + block, input.rows)
            batch.fill(input, rows: rows, parallel: parallel)
            batch.with { forwardHidden(p, batch: $0, activations: workspace.a, parallel: parallel) }
            try body(rows, workspace.a[layout.layerCount - 2])
        }
    }

    /// `errorSums` with the model's parameters: the rating errors of its predictions at every
    /// entry of each query matrix, each row fed its row of `input`.
    public func errorSums(input: CSRMatrix, queries: [CSRMatrix], scale: ClosedRange<Float>, parallel: Parallel) throws -> [RatingErrorSums] {
        try parameters.withUnsafeBufferPointer { try errorSums($0.baseAddress!, input: input, queries: queries, scale: scale, parallel: parallel) }
    }

    /// The rating errors (clipped to `scale`) of the predictions at the entries of each query
    /// matrix, each row fed its row of `input`: one forward pass, the predictions never kept
    /// (at MovieLens-25M's shape they would be 100 MB a query, every epoch). Sums are taken per
    /// fixed chunk of rows and merged in chunk order: the same bits for any number of workers.
    /// - Throws: `RecError(.runtime)` when a prediction is not finite.
    func errorSums(
        _ p: UnsafePointer<Float>, input: CSRMatrix, queries: [CSRMatrix], scale: ClosedRange<Float>, parallel: Parallel
    ) throws -> [RatingErrorSums] {
        precondition(queries.allSatisfy { $0.rows == input.rows })
        var totals = queries.map { _ in RatingErrorSums(scale: scale) }
        try forEachBlock(p, input: input, parallel: parallel) { rows, lastHidden in
            let aL = SharedPointer(lastHidden)
            let first = rows.lowerBound
            for (qi, query) in queries.enumerated() {
                let partial = try query.columns.withUnsafeBufferPointer { qc in
                    let columns = UncheckedPointer(qc)
                    return try parallel.mapChunks(count: rows.count, chunkSize: Autoencoder.rowChunk) { local in
                        var sums = RatingErrorSums(scale: scale)
                        let entries = query.rowStart[first + local.upperBound] - query.rowStart[first + local.lowerBound]
                        guard entries > 0 else { return sums }
                        var predicted = [Float](repeating: 0, count: entries)
                        predicted.withUnsafeMutableBufferPointer { out in
                            outputLayer(p, lastHidden: aL.base, rows: local, first: first, query: query, columns: columns, into: out.baseAddress!)
                        }
                        let start = query.rowStart[first + local.lowerBound]
                        for k in 0..<entries { try sums.add(prediction: predicted[k], truth: query.values[start + k]) }
                        return sums
                    }
                }
                for s in partial { totals[qi].merge(s) }
            }
        }
        return totals
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

/// One call of `train`: the optimiser, the gradient, the scratch space and the parameters being
/// trained. The parameters live in a mapped buffer while training (huge pages, see
/// `FloatBuffer`) and go back into the model at the end.
private final class TrainingRun {
    let model: Autoencoder
    let settings: AutoencoderSettings
    let optimizer: Optimizer
    /// Lazy row updates at the sparse ends (never with the dense formulation).
    let lazy: Bool
    let dense: Bool
    let pieces: [Optimizer.Piece]
    let grad: FloatBuffer
    let workspace: Workspace
    let work: FloatBuffer
    var input = BatchBuffer(), target = BatchBuffer()

    init(_ model: Autoencoder, settings s: AutoencoderSettings, dense: Bool) {
        let layout = model.layout
        self.model = model
        settings = s
        optimizer = Optimizer(kind: s.optimizer, count: layout.parameterCount, learningRate: s.learningRate,
                              weightDecay: s.weightDecay, lazyRows: 3 * layout.items)
        lazy = s.optimizerUpdates == .lazy && !dense
        self.dense = dense
        pieces = model.allPieces
        grad = FloatBuffer(layout.parameterCount)
        workspace = Workspace(layout: layout, rows: s.batchSize)
        work = FloatBuffer(layout.parameterCount)
        model.parameters.withUnsafeBufferPointer { work.pointer.update(from: $0.baseAddress!, count: layout.parameterCount) }
    }

    func currentParameters() -> [Float] { Array(UnsafeBufferPointer(start: work.pointer, count: model.layout.parameterCount)) }

    /// One pass over the rows of `order`, batch by batch: forward, loss, backward, update.
    /// - Returns: the mean of the batches' losses.
    /// - Throws: `RecError(.runtime)` when a batch's loss is not finite, before any parameter
    ///   changes.
    func epoch(_ epoch: Int, order: [Int], train: CSRMatrix, parallel: Parallel) throws -> Double {
        let s = settings
        optimizer.learningRate = Float(s.learningRate * pow(s.learningRateDecay, Double(epoch - 1)))
        var lossTotal = 0.0
        var batches = 0
        // The batch's loss, checked before any parameter changes.
        func account(_ sum: Double, _ n: Int) throws {
            guard n > 0 else { return }
            let loss = sum / Double(n)
            guard loss.isFinite else {
                throw RecError(.runtime, "training diverged in epoch \(epoch): the loss is not finite",
                               hint: "lower the learning rate or raise the weight decay")
            }
            lossTotal += loss
            batches += 1
        }
        for start in stride(from: 0, to: order.count, by: s.batchSize) {
            let rows = order[start..<min(start + s.batchSize, order.count)]
            try step(rows, epoch: epoch, train: train, parallel: parallel, account: account)
        }
        return lossTotal / Double(max(batches, 1))
    }

    /// One batch. Without dropout the input is the target itself (the same buffers, which the
    /// backward pass recognises); no copy is kept, so the next batch refills the target's
    /// storage in place. The optimiser leaves the gradient zeroed after each update.
    func step(_ rows: ArraySlice<Int>, epoch: Int, train: CSRMatrix, parallel: Parallel, account: (Double, Int) throws -> Void) throws {
        let s = settings
        target.fill(train, rows: rows, parallel: parallel)
        let dropout = s.inputDropout > 0
        if dropout {
            input.reset()
            for r in rows { input.appendDropped(train, r, rate: Float(s.inputDropout), seed: s.seed, epoch: epoch) }
        }
        let (p, grad, workspace, optimizer, pieces, model) = (work.pointer, grad.pointer, workspace, optimizer, pieces, model)
        let (lazy, dense) = (lazy, dense)
        try (dropout ? input : target).with { inp in
            try target.with { tgt in
                if lazy {
                    try model.lazyStep(p, grad: grad, input: inp, target: tgt, workspace: workspace, optimizer: optimizer,
                                       parallel: parallel, check: account)
                    return
                }
                let (sum, n) = dense ? model.denseLossAndGradient(p, grad: grad, input: inp, target: tgt, workspace: workspace)
                    : model.lossAndGradient(p, grad: grad, input: inp, target: tgt, workspace: workspace, parallel: parallel)
                try account(sum, n)
                guard n > 0 else { return }
                optimizer.step(p, grad: grad, pieces: pieces, parallel: parallel)
            }
        }
    }
}

/// The best epoch so far by validation RMSE, its parameters, and when to stop.
private struct EarlyStopping {
    /// Epochs without a better validation RMSE before stopping (0 = never).
    let patience: Int
    var best: (rmse: Double, parameters: [Float])?
    var sinceBest = 0

    /// Records an epoch's validation RMSE (nil: none), keeping `parameters()` when it is the best.
    /// - Returns: true when training should stop.
    mutating func stops(after validationRMSE: Double?, parameters: () -> [Float]) -> Bool {
        guard let v = validationRMSE, v.isFinite else { return false }
        if best == nil || v < best!.rmse {
            best = (v, parameters())
            sinceBest = 0
            return false
        }
        sinceBest += 1
        return patience > 0 && sinceBest >= patience
    }
}
