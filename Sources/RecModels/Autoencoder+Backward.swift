import RecKernels
import RecKit

/// The entries of a batch regrouped by item: for item i, `start[i] ..< start[i+1]` index the
/// batch rows that hold it (`row`, ascending) and their coefficients (`coeff`).
struct ItemGroups {
    var start: [Int]
    var row: [Int32]
    /// Position of each regrouped entry in the batch's entry order.
    var position: [Int]

    /// Counting sort by item; within an item, batch rows stay in ascending order, so sums over
    /// them always run in the same order.
    init(_ e: BatchEntries, items: Int) {
        let n = e.start[e.rows]
        var start = [Int](repeating: 0, count: items + 1)
        for k in 0..<n { start[Int(e.columns[k]) + 1] += 1 }
        for i in 0..<items { start[i + 1] += start[i] }
        var fill = start
        var row = [Int32](repeating: 0, count: n)
        var position = [Int](repeating: 0, count: n)
        for r in 0..<e.rows {
            for k in e.range(r) {
                let i = Int(e.columns[k])
                row[fill[i]] = Int32(r)
                position[fill[i]] = k
                fill[i] += 1
            }
        }
        self.start = start
        self.row = row
        self.position = position
    }

    /// `values` (in batch entry order) permuted into item order.
    func gather(_ values: UnsafePointer<Float>) -> [Float] { position.map { values[$0] } }
}

extension Autoencoder {
    /// Masked mean squared error of a batch and its gradient, computed only where the loss
    /// has terms: the first layer at the rows' input entries, the last at their target entries.
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
        let sizes = layout.sizes
        let rows = input.rows
        let n = layout.items
        let H = layout.layerCount - 1 // hidden layers
        let hL = layout.lastHidden
        let acts = ws.a, grads = ws.g
        forwardHidden(p, batch: input, activations: acts, parallel: parallel)

        let targetCount = target.start[rows]
        guard targetCount > 0 else { return (0, 0) }
        let scale = 2 / Float(targetCount)
        let wL = p + layout.weightOffset[H], bL = p + layout.biasOffset[H]
        let coeff = FloatBuffer(targetCount)
        let chunkCount = Parallel.chunks(count: rows, chunkSize: Autoencoder.rowChunk).count
        let partial = FloatBufferD(chunkCount)
        let (c, part, aL, gL) = (SharedPointer(coeff.pointer), SharedPointer(partial.pointer), SharedPointer(acts[H - 1]), SharedPointer(grads[H - 1]))
        let act = activation
        // Output layer at the target entries, its error, and the gradient flowing back into
        // the last hidden layer; by row-chunk.
        parallel.forEachChunk(count: rows, chunkSize: Autoencoder.rowChunk) { chunk, rs in
            var sum = 0.0
            for r in rs {
                let range = target.range(r)
                let out = c.base + range.lowerBound
                Kernels.gatherDot(out: out, x: aL.base + r * hL, d: hL, rows: wL, stride: hL, bias: bL,
                                  index: target.columns + range.lowerBound, count: range.count)
                for k in 0..<range.count {
                    let e = out[k] - target.values[range.lowerBound + k]
                    sum += Double(e * e)
                    out[k] = scale * e
                }
                let g = gL.base + r * hL
                g.update(repeating: 0, count: hL)
                Kernels.gatherAccumulate(out: g, d: hL, rows: wL, stride: hL, index: target.columns + range.lowerBound,
                                         coeff: out, count: range.count)
                act.backward(g, activated: aL.base + r * hL, hL)
            }
            part[chunk] = sum
        }
        var lossSum = 0.0
        for i in 0..<chunkCount { lossSum += partial.pointer[i] } // fixed order

        // Middle layers, whole batch (see forwardHidden for why one call).
        for l in stride(from: H - 1, through: 1, by: -1) {
            let (nIn, nOut) = (sizes[l], sizes[l + 1])
            BLAS.gemm(transA: true, m: nIn, n: nOut, k: rows, a: acts[l - 1], lda: nIn, b: grads[l], ldb: nOut,
                      beta: 1, c: grad + layout.weightOffset[l], ldc: nOut)
            columnSums(grads[l], rows: rows, cols: nOut, into: grad + layout.biasOffset[l])
            BLAS.gemm(transB: true, m: rows, n: nIn, k: nOut, a: grads[l], lda: nOut, b: p + layout.weightOffset[l], ldb: nOut,
                      c: grads[l - 1], ldc: nIn)
            activation.backward(grads[l - 1], activated: acts[l - 1], rows * nIn)
        }
        columnSums(grads[0], rows: rows, cols: sizes[1], into: grad + layout.biasOffset[0])

        // The sparse ends, by item-chunk: each item's weight row is owned by one task and
        // summed over its batch rows in ascending order.
        let targetGroups = ItemGroups(target, items: n)
        let targetCoeff = targetGroups.gather(coeff.pointer)
        // Without input dropout the input entries are the target entries: group them once.
        let sameEntries = input.start == target.start && input.columns == target.columns
        let inputGroups = sameEntries ? targetGroups : ItemGroups(input, items: n)
        let inputCoeff = inputGroups.gather(input.values)
        let h1 = sizes[1]
        let g0 = SharedPointer(grad + layout.weightOffset[0]), gW = SharedPointer(grad + layout.weightOffset[H])
        let gB = SharedPointer(grad + layout.biasOffset[H]), z0 = SharedPointer(grads[0])
        targetGroups.row.withUnsafeBufferPointer { tRow in
            targetCoeff.withUnsafeBufferPointer { tCoeff in
                inputGroups.row.withUnsafeBufferPointer { iRow in
                    inputCoeff.withUnsafeBufferPointer { iCoeff in
                        let (tr, tc, ir, ic) = (UncheckedPointer(tRow), UncheckedPointer(tCoeff), UncheckedPointer(iRow), UncheckedPointer(iCoeff))
                        parallel.forEachChunk(count: n, chunkSize: 128) { _, items in
                            for i in items {
                                let t = targetGroups.start[i]..<targetGroups.start[i + 1]
                                if !t.isEmpty {
                                    Kernels.gatherAccumulate(out: gW.base + i * hL, d: hL, rows: aL.base, stride: hL,
                                                             index: tr.at(t.lowerBound), coeff: tc.at(t.lowerBound), count: t.count)
                                    var b: Float = 0
                                    for k in t { b += tc.at(k).pointee }
                                    gB[i] += b
                                }
                                let s = inputGroups.start[i]..<inputGroups.start[i + 1]
                                if !s.isEmpty {
                                    Kernels.gatherAccumulate(out: g0.base + i * h1, d: h1, rows: z0.base, stride: h1,
                                                             index: ir.at(s.lowerBound), coeff: ic.at(s.lowerBound), count: s.count)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (lossSum, targetCount)
    }

    /// `out[j] += Σ_r m[r, j]`, rows in order.
    func columnSums(_ m: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { Kernels.axpy(cols, 1, m + r * cols, out) }
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
