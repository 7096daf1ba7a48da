import RecCore
import RecKernels

/// The entries of a batch regrouped by item: for item i, `start[i] ..< start[i+1]` index the
/// batch rows that hold it (`row`, ascending) and their coefficients (`coeff`, and `second`
/// when asked for), permuted from batch entry order into item order.
struct ItemGroups {
    var start: [Int] = []
    var row: [Int32] = []
    var coeff: [Float] = []
    var second: [Float] = []
    /// Each row chunk's count, then write position, per item (reused from batch to batch).
    private var cursor: [Int32] = []

    init() {}

    /// Counting sort by item; within an item, batch rows stay in ascending order, so sums over
    /// them always run in the same order. `coeff` (and `second`) receive `values` (and
    /// `secondValues`), given in batch entry order, in the same pass. Reuses the arrays'
    /// storage from batch to batch.
    ///
    /// The counting and the filling run by chunks of rows on the workers, with a count per
    /// chunk and item; only the running sum over items and chunks is serial. A stable sort's
    /// result is unique, so it does not depend on the chunks (`ItemGroupsTests` compares it
    /// with a plain sort by item and row). On one thread it took 2.6 % of `rec-train`'s CPU
    /// samples on ML-1M while the other worker waited.
    mutating func rebuild(_ e: BatchEntries, items: Int, values: UnsafePointer<Float>, secondValues: UnsafePointer<Float>? = nil,
                          parallel: Parallel) {
        let n = e.start[e.rows]
        func refill<T: Numeric>(_ a: inout [T], _ count: Int) {
            a.removeAll(keepingCapacity: true)
            a.append(contentsOf: repeatElement(0, count: count))
        }
        refill(&start, items + 1)
        refill(&row, n)
        refill(&coeff, n)
        refill(&second, secondValues == nil ? 0 : n)
        // A chunk costs a pass over every item (its counts zeroed, then summed); more chunks pay
        // only when the entries outnumber the items several times (ML-1M's batches: 17 times;
        // MovieLens-25M's shape: 1.3 times, where 4 chunks made an epoch 3 % slower than 1).
        let chunkCount = max(1, min(2 * parallel.workers, (e.rows + 63) / 64, n / max(1, 4 * items)))
        let chunkSize = max(1, (e.rows + chunkCount - 1) / chunkCount)
        let chunks = Parallel.chunks(count: e.rows, chunkSize: chunkSize).count
        if cursor.count < chunks * items { cursor.append(contentsOf: repeatElement(0, count: chunks * items - cursor.count)) }
        start.withUnsafeMutableBufferPointer { start in
            row.withUnsafeMutableStart { row in
                coeff.withUnsafeMutableStart { coeff in
                    second.withUnsafeMutableStart { second in
                        cursor.withUnsafeMutableBufferPointer { cursorBuffer in
                            let cur = SharedPointer(cursorBuffer.baseAddress!)
                            parallel.forEachChunk(count: e.rows, chunkSize: chunkSize) { c, rows in
                                let count = cur.base + c * items
                                count.update(repeating: 0, count: items)
                                for k in e.start[rows.lowerBound]..<e.start[rows.upperBound] { count[Int(e.columns[k])] += 1 }
                            }
                            var running = 0
                            for i in 0..<items {
                                start[i] = running
                                for c in 0..<chunks {
                                    let at = c * items + i
                                    let k = Int(cur.base[at])
                                    cur.base[at] = Int32(running)
                                    running += k
                                }
                            }
                            start[items] = running
                            let (rowOut, coeffOut, secondOut) = (SharedPointer(row), SharedPointer(coeff), SharedPointer(second))
                            let secondIn = secondValues.map { SharedPointer(UnsafeMutablePointer(mutating: $0)) }
                            let valuesIn = SharedPointer(UnsafeMutablePointer(mutating: values))
                            parallel.forEachChunk(count: e.rows, chunkSize: chunkSize) { c, rows in
                                let position = cur.base + c * items
                                for r in rows {
                                    for k in e.range(r) {
                                        let i = Int(e.columns[k])
                                        let at = Int(position[i])
                                        rowOut.base[at] = Int32(r)
                                        coeffOut.base[at] = valuesIn[k]
                                        if let secondIn { secondOut.base[at] = secondIn[k] }
                                        position[i] = Int32(at + 1)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What the backward pass leaves for the sparse ends of a batch (the first layer's weight
/// rows and the output layer's weight rows and biases, one of each per item): the batch's
/// entries regrouped by item with their coefficients, and which items they touch. One per
/// workspace, refilled batch after batch (no allocation once the largest batch has been seen).
final class SparseEnds {
    /// The output errors `2·(ŷ − t)/N` at the target entries, in entry order.
    var errors: [Float] = []
    /// Target entries by item, with their output errors (`coeff`) in item order, and their
    /// input values (`second`) when the input entries are the target entries.
    var target = ItemGroups()
    /// Input entries by item with their input values (filled only with input dropout).
    var input = ItemGroups()
    /// Input entries are the target entries (no dropout): `input` is not filled.
    var sameEntries = false
    /// Items with a target or an input entry, ascending.
    var touched: [Int32] = []

    /// Regroups a batch whose output errors are in `errors`.
    func rebuild(input inp: BatchEntries, target tgt: BatchEntries, items: Int, parallel: Parallel) {
        // Without input dropout the input entries are the target entries (the same buffers).
        sameEntries = inp.start == tgt.start && inp.columns == tgt.columns
        errors.withUnsafeBufferPointer { e in
            target.rebuild(tgt, items: items, values: e.baseAddress!, secondValues: sameEntries ? inp.values : nil, parallel: parallel)
        }
        if !sameEntries { input.rebuild(inp, items: items, values: inp.values, parallel: parallel) }
        touched.removeAll(keepingCapacity: true)
        let inputStart = sameEntries ? target.start : input.start
        for i in 0..<items where target.start[i + 1] > target.start[i] || inputStart[i + 1] > inputStart[i] {
            touched.append(Int32(i))
        }
    }

    /// Runs `body` with raw pointers into these arrays, for the per-item loops: inside them
    /// nothing may retain or release a shared object, or both workers queue on its reference
    /// count (measured at MovieLens-25M's shape: 2 workers were no faster than 1).
    func withView<T>(_ body: (SparseEndsView) throws -> T) rethrows -> T {
        let inputGroups = sameEntries ? target : input
        let inputCoeff = sameEntries ? target.second : input.coeff
        return try target.start.withUnsafeBufferPointer { ts in try target.row.withUnsafeStart { tr in
            try target.coeff.withUnsafeStart { tc in try inputGroups.start.withUnsafeBufferPointer { iS in
                try inputGroups.row.withUnsafeStart { ir in try inputCoeff.withUnsafeStart { ic in
                    try touched.withUnsafeStart { t in
                        try body(SparseEndsView(
                            targetStart: ts.baseAddress!, targetRow: tr, targetCoeff: tc,
                            inputStart: iS.baseAddress!, inputRow: ir, inputCoeff: ic,
                            touched: t, touchedCount: touched.count))
                    }
                } }
            } }
        } }
    }
}

/// `SparseEnds` as raw pointers, valid inside `SparseEnds.withView`.
struct SparseEndsView: @unchecked Sendable {
    let targetStart: UnsafePointer<Int>
    let targetRow: UnsafePointer<Int32>
    let targetCoeff: UnsafePointer<Float>
    let inputStart: UnsafePointer<Int>
    let inputRow: UnsafePointer<Int32>
    let inputCoeff: UnsafePointer<Float>
    let touched: UnsafePointer<Int32>
    let touchedCount: Int

    @inline(__always) func hasTarget(_ i: Int) -> Bool { targetStart[i + 1] > targetStart[i] }
    @inline(__always) func hasInput(_ i: Int) -> Bool { inputStart[i + 1] > inputStart[i] }
}

extension Autoencoder {
    /// Masked mean squared error of a batch and its full gradient (dense buffer), computed
    /// only where the loss has terms: the first layer at the rows' input entries, the last at
    /// their target entries.
    ///
    /// loss = Σ_{(r,j) observed} (ŷ_rj − t_rj)² / N, N = number of target entries.
    /// The gradient equals that of the dense formulation (input = dense row with zeros,
    /// output masked to the observed entries); `DenseReference` checks it.
    ///
    /// - Parameters:
    ///   - grad: receives the gradient; must be zero on entry (same layout as parameters).
    ///   - input: the rows' input entries (after dropout); `target`: the entries to predict.
    /// - Returns: the sum of squared errors and N.
    func lossAndGradient(
        _ p: UnsafePointer<Float>, grad: UnsafeMutablePointer<Float>, input: BatchEntries, target: BatchEntries,
        workspace ws: Workspace, parallel: Parallel
    ) -> (sum: Double, count: Int) {
        let (sum, count, ends) = backward(p, grad: grad, input: input, target: target, workspace: ws, parallel: parallel)
        guard let ends else { return (sum, count) }
        // The sparse ends, by item-chunk: each item's rows are owned by one task.
        let (h1, hL, H) = (layout.sizes[1], layout.lastHidden, layout.layerCount - 1)
        let g0 = SharedPointer(grad + layout.weightOffset[0]), gW = SharedPointer(grad + layout.weightOffset[H])
        let gB = SharedPointer(grad + layout.biasOffset[H])
        let (aL, d1) = (SharedPointer(ws.a[H - 1]), SharedPointer(ws.g[0]))
        ends.withView { v in
            parallel.forEachChunk(count: v.touchedCount, chunkSize: Autoencoder.itemChunk) { _, range in
                for k in range {
                    let i = Int(v.touched[k])
                    Autoencoder.itemGradient(i, v, h1: h1, hL: hL, lastHidden: aL.base, firstDelta: d1.base, outputWeights: gW.base + i * hL,
                                             outputBias: gB.base + i, inputWeights: g0.base + i * h1)
                }
            }
        }
        return (sum, count)
    }

    /// Items per Dispatch chunk in the per-item phase.
    static let itemChunk = 64
    /// How many items ahead the per-item phase prefetches rows.
    static let prefetchDistance = 2

    /// Forward, output errors and backward down to the first hidden layer. Writes the
    /// gradients of the middle layers and of the first layer's bias into `grad` (which must be
    /// zero there), leaves the last hidden layer's activations in `ws.a[H-1]` and the first
    /// layer's pre-activation gradient δ1 in `ws.g[0]`, and returns what the sparse ends need
    /// (nil when the batch has no target entry).
    func backward(
        _ p: UnsafePointer<Float>, grad: UnsafeMutablePointer<Float>, input: BatchEntries, target: BatchEntries,
        workspace ws: Workspace, parallel: Parallel
    ) -> (sum: Double, count: Int, ends: SparseEnds?) {
        let sizes = layout.sizes
        let rows = input.rows
        let n = layout.items
        let H = layout.layerCount - 1 // hidden layers
        let hL = layout.lastHidden
        let acts = ws.a, grads = ws.g
        forwardHidden(p, batch: input, activations: acts, parallel: parallel)

        let targetCount = target.start[rows]
        guard targetCount > 0 else { return (0, 0, nil) }
        let scale = 2 / Float(targetCount)
        let wL = p + layout.weightOffset[H], bL = p + layout.biasOffset[H]
        let ends = ws.ends
        ends.errors.removeAll(keepingCapacity: true)
        ends.errors.append(contentsOf: repeatElement(0, count: targetCount))
        let chunkCount = Parallel.chunks(count: rows, chunkSize: Autoencoder.rowChunk).count
        let partial = FloatBufferD(chunkCount)
        let (part, aL, gL) = (SharedPointer(partial.pointer), SharedPointer(acts[H - 1]), SharedPointer(grads[H - 1]))
        let act = activation
        // Output layer at the target entries, its error, and the gradient flowing back into
        // the last hidden layer; by row-chunk.
        ends.errors.withUnsafeMutableBufferPointer { errors in
            let c = SharedPointer(errors.baseAddress!)
            parallel.forEachChunk(count: rows, chunkSize: Autoencoder.rowChunk) { chunk, rs in
                var sum = 0.0
                for r in rs {
                    let range = target.range(r)
                    let g = gL.base + r * hL
                    g.update(repeating: 0, count: hL)
                    sum += Kernels.outputLayer(coeff: c.base + range.lowerBound, g: g, x: aL.base + r * hL, d: hL, rows: wL, stride: hL,
                                               bias: bL, index: target.columns + range.lowerBound,
                                               target: target.values + range.lowerBound, scale: scale, count: range.count)
                    act.backward(g, activated: aL.base + r * hL, hL)
                }
                part[chunk] = sum
            }
        }
        var lossSum = 0.0
        for i in 0..<chunkCount { lossSum += partial.pointer[i] } // fixed order

        // Middle layers, by fixed chunks (see forwardHidden): the weight gradient by chunks of
        // its rows (each a sum over the whole batch), the bias gradient by chunks of columns,
        // the gradient flowing down by chunks of batch rows.
        for l in stride(from: H - 1, through: 1, by: -1) {
            let (nIn, nOut) = (sizes[l], sizes[l + 1])
            let (aIn, gOut, gIn) = (SharedPointer(acts[l - 1]), SharedPointer(grads[l]), SharedPointer(grads[l - 1]))
            let gW = SharedPointer(grad + layout.weightOffset[l]), gB = SharedPointer(grad + layout.biasOffset[l])
            let w = SharedPointer(UnsafeMutablePointer(mutating: p + layout.weightOffset[l]))
            parallel.forEachChunk(count: nIn, chunkSize: Autoencoder.gemmChunk / 2) { _, units in
                BLAS.gemm(transA: true, m: units.count, n: nOut, k: rows, a: aIn.base + units.lowerBound, lda: nIn, b: gOut.base, ldb: nOut,
                          beta: 1, c: gW.base + units.lowerBound * nOut, ldc: nOut)
            }
            parallel.forEachChunk(count: nOut, chunkSize: Autoencoder.gemmChunk / 2) { _, cols in
                columnSums(gOut.base + cols.lowerBound, stride: nOut, rows: rows, cols: cols.count, into: gB.base + cols.lowerBound)
            }
            parallel.forEachChunk(count: rows, chunkSize: Autoencoder.gemmChunk) { _, rs in
                BLAS.gemm(transB: true, m: rs.count, n: nIn, k: nOut, a: gOut.base + rs.lowerBound * nOut, lda: nOut, b: w.base, ldb: nOut,
                          c: gIn.base + rs.lowerBound * nIn, ldc: nIn)
                act.backward(gIn.base + rs.lowerBound * nIn, activated: aIn.base + rs.lowerBound * nIn, rs.count * nIn)
            }
        }
        let (h1, g1, gB0) = (sizes[1], SharedPointer(grads[0]), SharedPointer(grad + layout.biasOffset[0]))
        parallel.forEachChunk(count: h1, chunkSize: Autoencoder.gemmChunk / 2) { _, cols in
            columnSums(g1.base + cols.lowerBound, stride: h1, rows: rows, cols: cols.count, into: gB0.base + cols.lowerBound)
        }

        ends.rebuild(input: input, target: target, items: n, parallel: parallel)
        return (lossSum, targetCount, ends)
    }

    /// One item's gradient at the sparse ends, added to `outputWeights` (hL), `outputBias` (1)
    /// and `inputWeights` (h1): `Σ_r e_ri·a_L[r]`, `Σ_r e_ri`, `Σ_r x_ri·δ1[r]` over the batch
    /// rows holding the item, in ascending row order (the same bits whoever calls it).
    @inline(__always)
    static func itemGradient(
        _ i: Int, _ v: SparseEndsView, h1: Int, hL: Int, lastHidden aL: UnsafePointer<Float>, firstDelta d1: UnsafePointer<Float>,
        outputWeights gW: UnsafeMutablePointer<Float>, outputBias gB: UnsafeMutablePointer<Float>,
        inputWeights g0: UnsafeMutablePointer<Float>
    ) {
        outputGradient(i, v, hL: hL, lastHidden: aL, weights: gW, bias: gB)
        inputGradient(i, v, h1: h1, firstDelta: d1, weights: g0)
    }

    /// The output side of `itemGradient`: `Σ_r e_ri·a_L[r]` into `weights`, `Σ_r e_ri` into `bias`.
    @inline(__always)
    static func outputGradient(
        _ i: Int, _ v: SparseEndsView, hL: Int, lastHidden aL: UnsafePointer<Float>, weights gW: UnsafeMutablePointer<Float>,
        bias gB: UnsafeMutablePointer<Float>
    ) {
        let (t0, t1) = (v.targetStart[i], v.targetStart[i + 1])
        guard t1 > t0 else { return }
        Kernels.gatherAccumulate(out: gW, d: hL, rows: aL, stride: hL, index: v.targetRow + t0, coeff: v.targetCoeff + t0, count: t1 - t0)
        var b: Float = 0
        for k in t0..<t1 { b += v.targetCoeff[k] }
        gB.pointee += b
    }

    /// The input side of `itemGradient`: `Σ_r x_ri·δ1[r]` into `weights`.
    @inline(__always)
    static func inputGradient(
        _ i: Int, _ v: SparseEndsView, h1: Int, firstDelta d1: UnsafePointer<Float>, weights g0: UnsafeMutablePointer<Float>
    ) {
        let (s0, s1) = (v.inputStart[i], v.inputStart[i + 1])
        guard s1 > s0 else { return }
        Kernels.gatherAccumulate(out: g0, d: h1, rows: d1, stride: h1, index: v.inputRow + s0, coeff: v.inputCoeff + s0, count: s1 - s0)
    }

    /// One training step with lazy updates of the sparse ends: the backward pass, a dense
    /// optimiser step over the parameters every row uses (the first layer's bias and the middle
    /// layers), then, for each item the batch touched, its gradient rows computed into scratch
    /// and applied at once (`Optimizer.updateRow`). Untouched items cost nothing.
    ///
    /// Rows numbered for the optimiser: item i's first-layer weights are row 3i, its output
    /// weights 3i + 1 and its output bias 3i + 2 (an item's step counts share a cache line).
    /// - Parameter check: called with the batch's (sum, count) before any parameter changes;
    ///   throwing from it leaves the parameters as they were.
    func lazyStep(
        _ p: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, input: BatchEntries, target: BatchEntries,
        workspace ws: Workspace, optimizer: Optimizer, parallel: Parallel, check: (Double, Int) throws -> Void
    ) rethrows {
        let (sum, count, ends) = backward(p, grad: grad, input: input, target: target, workspace: ws, parallel: parallel)
        try check(sum, count)
        guard let ends else { return }
        let H = layout.layerCount - 1
        optimizer.step(p, grad: grad, pieces: denseBlock, parallel: parallel)
        optimizer.prepareRows()
        let (h1, hL) = (layout.sizes[1], layout.lastHidden)
        let (w0, wL, bL) = (layout.weightOffset[0], layout.weightOffset[H], layout.biasOffset[H])
        let pp = SharedPointer(p)
        let (aL, d1) = (SharedPointer(ws.a[H - 1]), SharedPointer(ws.g[0]))
        ends.withView { v in
            optimizer.withRowUpdater { rows in
                // Two passes over the touched items, the output side then the input side: each
                // gathers from one batch matrix (aL, then δ1: 400 KB each at batch 512 × 200)
                // while the optimiser streams that side's rows and moments through the cache.
                // In one pass both matrices and both streams competed for the 1 MB L2 (rec-train
                // on ML-1M, seed-75-25: 7.64 CPU s in one pass, 7.45 in two; the same bits, as
                // rows are independent).
                for side in 0..<2 {
                    parallel.forEachChunk(count: v.touchedCount, chunkSize: Autoencoder.itemChunk) { _, range in
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(hL + 1, h1)) { scratch in
                            let g = scratch.baseAddress!
                            for k in range {
                                // The rows of an item a few places ahead: parameters and moments
                                // (scattered over the whole buffers, so nearly every row is a cache
                                // miss; measured alone at MovieLens-25M's shape, Adam on 11,000 rows
                                // of 59,047 took 2.7 instead of 5.3 ns an element).
                                if k + Autoencoder.prefetchDistance < v.touchedCount {
                                    let ahead = Int(v.touched[k + Autoencoder.prefetchDistance])
                                    if side == 0 { rows.prefetch(pp.base, offset: wL + ahead * hL, count: hL) }
                                    else { rows.prefetch(pp.base, offset: w0 + ahead * h1, count: h1) }
                                }
                                let i = Int(v.touched[k])
                                if side == 0, v.hasTarget(i) {
                                    g.update(repeating: 0, count: hL + 1)
                                    Autoencoder.outputGradient(i, v, hL: hL, lastHidden: aL.base, weights: g, bias: g + hL)
                                    rows.update(3 * i + 1, pp.base, grad: g, offset: wL + i * hL, count: hL, decayed: true)
                                    rows.update(3 * i + 2, pp.base, grad: g + hL, offset: bL + i, count: 1, decayed: false)
                                }
                                if side == 1, v.hasInput(i) {
                                    g.update(repeating: 0, count: h1)
                                    Autoencoder.inputGradient(i, v, h1: h1, firstDelta: d1.base, weights: g)
                                    rows.update(3 * i, pp.base, grad: g, offset: w0 + i * h1, count: h1, decayed: true)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The parameters every batch row uses, updated densely in a lazy step: the first layer's
    /// bias and everything up to the output layer's weights.
    var denseBlock: [Optimizer.Piece] {
        let H = layout.layerCount - 1
        return (0..<H).flatMap { l in
            [l == 0 ? nil : Optimizer.Piece(range: layout.weightOffset[l]..<layout.biasOffset[l], decayed: true),
             Optimizer.Piece(range: layout.biasOffset[l]..<(layout.weightOffset[l + 1]), decayed: false)].compactMap { $0 }
        }
    }

    /// Every parameter, weights decayed and biases not: a dense step's pieces.
    var allPieces: [Optimizer.Piece] {
        (0..<layout.layerCount).flatMap { l in
            [Optimizer.Piece(range: layout.weightOffset[l]..<layout.biasOffset[l], decayed: true),
             Optimizer.Piece(range: layout.biasOffset[l]..<(l + 1 < layout.layerCount ? layout.weightOffset[l + 1] : layout.parameterCount),
                             decayed: false)]
        }
    }

    /// `out[j] += Σ_r m[r, j]`, rows in order.
    func columnSums(_ m: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        columnSums(m, stride: cols, rows: rows, cols: cols, into: out)
    }

    /// `out[j] += Σ_r m[r·stride + j]` for j < cols, rows in order.
    func columnSums(_ m: UnsafePointer<Float>, stride: Int, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { Kernels.axpy(cols, 1, m + r * stride, out) }
    }
}

/// A read-only buffer pointer that may cross into Dispatch closures.
struct UncheckedPointer<T>: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<T>
    init(_ b: UnsafeBufferPointer<T>) { buffer = b }
    @inline(__always) func at(_ i: Int) -> UnsafePointer<T> { buffer.baseAddress! + i }
}

/// Double scratch for per-chunk partial sums.
final class FloatBufferD: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Double>
    init(_ count: Int) {
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }
    deinit { pointer.deallocate() }
}
