import Foundation
import RecCore
import RecData
import RecKernels

/// Hidden-layer activation: the setting's enum, with its functions here.
public typealias Activation = AutoencoderSettings.Activation

extension Activation {
    /// f(z), in place.
    @inlinable func apply(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        switch self {
        case .sigmoid: Kernels.sigmoid(p, n)
        case .tanh: for j in 0..<n { p[j] = tanhf(p[j]) }
        case .relu: for j in 0..<n where p[j] < 0 { p[j] = 0 }
        case .identity: break
        }
    }

    /// `grad ⊙= f'(z)`, written with the activated value a = f(z).
    @inlinable func backward(_ grad: UnsafeMutablePointer<Float>, activated a: UnsafePointer<Float>, _ n: Int) {
        switch self {
        case .sigmoid: for j in 0..<n { grad[j] *= a[j] * (1 - a[j]) }
        case .tanh: for j in 0..<n { grad[j] *= 1 - a[j] * a[j] }
        case .relu: for j in 0..<n where a[j] <= 0 { grad[j] = 0 }
        case .identity: break
        }
    }
}

/// Where each layer's weights and biases sit in the one contiguous parameter buffer.
///
/// `sizes = [n, h1, …, hL, n]`. Layer 0 (sparse input) stores W as (n, h1): one row per input
/// item, so a user's first hidden layer is a gather of the rows of the items they rated.
/// Middle layers store W as (in, out), row-major. The last layer stores W as (n, hL): one row
/// per output item, so the output at one item is one dot product.
public struct AutoencoderLayout: Sendable, Equatable {
    public let sizes: [Int]
    let weightOffset: [Int]
    let biasOffset: [Int]
    public let parameterCount: Int

    public init(items: Int, hidden: [Int]) {
        sizes = [items] + hidden + [items]
        var w: [Int] = [], b: [Int] = []
        var offset = 0
        for l in 0..<(sizes.count - 1) {
            w.append(offset); offset += sizes[l] * sizes[l + 1]
            b.append(offset); offset += sizes[l + 1]
        }
        weightOffset = w
        biasOffset = b
        parameterCount = offset
    }

    public var items: Int { sizes[0] }
    /// Where the weights (not the biases) sit.
    var weightRanges: [Range<Int>] { (0..<layerCount).map { weightOffset[$0]..<biasOffset[$0] } }
    var layerCount: Int { sizes.count - 1 }
    /// Width of the last hidden layer.
    var lastHidden: Int { sizes[sizes.count - 2] }
}

/// The seed's model: an autoencoder over one row of the ratings matrix (a user's ratings for
/// the user-based model, a movie's ratings for the item-based one), sparse at both ends.
///
/// Forward, per row r with observed entries (i, x):
/// `a1 = f(b0 + Σ x·W0[i])`, `a_{l+1} = f(a_l·W_l + b_l)`, output `ŷ_j = b_L[j] + W_L[j]·a_L`,
/// evaluated only where needed (observed entries in training; every item when scoring).
public final class Autoencoder: @unchecked Sendable {
    public let layout: AutoencoderLayout
    public let activation: Activation
    /// All weights and biases, laid out by `layout`.
    public var parameters: [Float]

    public init(layout: AutoencoderLayout, activation: Activation, parameters: [Float]) {
        precondition(parameters.count == layout.parameterCount)
        self.layout = layout
        self.activation = activation
        self.parameters = parameters
    }

    /// PyTorch's default `Linear` initialisation: weights and biases uniform in ±1/√fan_in.
    public convenience init(items: Int, hidden: [Int], activation: Activation, seed: UInt64) {
        let layout = AutoencoderLayout(items: items, hidden: hidden)
        var p = [Float](repeating: 0, count: layout.parameterCount)
        var rng = SplitMix64(seed: seed, stream: 0x1417)
        for l in 0..<layout.layerCount {
            let fanIn = Float(layout.sizes[l])
            let bound = 1 / fanIn.squareRoot()
            let end = l + 1 < layout.layerCount ? layout.weightOffset[l + 1] : layout.parameterCount
            for j in layout.weightOffset[l]..<end { p[j] = (2 * rng.unitFloat() - 1) * bound }
        }
        self.init(layout: layout, activation: activation, parameters: p)
    }

    /// Hidden activations of the last hidden layer for `rows` of `input`.
    ///
    /// - Parameters:
    ///   - entries: for each row, its input entries (column indices and values); rows are
    ///     processed in parallel by fixed chunks.
    ///   - out: per hidden layer l (1…L-1), a buffer rows × sizes[l]; filled with activations.
    func forwardHidden(_ p: UnsafePointer<Float>, batch: BatchEntries, activations out: [UnsafeMutablePointer<Float>], parallel: Parallel) {
        let sizes = layout.sizes
        let h1 = sizes[1]
        let w0 = p + layout.weightOffset[0], b0 = p + layout.biasOffset[0]
        let a1 = SharedPointer(out[0])
        let act = activation
        parallel.forEachChunk(count: batch.rows, chunkSize: Autoencoder.rowChunk) { _, rows in
            for r in rows {
                let z = a1.base + r * h1
                z.update(from: b0, count: h1)
                let range = batch.range(r)
                Kernels.gatherAccumulate(out: z, d: h1, rows: w0, stride: h1, index: batch.columns + range.lowerBound,
                                         coeff: batch.values + range.lowerBound, count: range.count)
                act.apply(z, h1)
            }
        }
        // Middle layers: one GEMM per fixed chunk of rows (the same calls whatever the number
        // of workers, so the bits do not depend on it).
        for l in 1..<(layout.layerCount - 1) {
            let (nIn, nOut) = (sizes[l], sizes[l + 1])
            let (z, a) = (SharedPointer(out[l]), SharedPointer(out[l - 1]))
            let (b, w) = (SharedPointer(UnsafeMutablePointer(mutating: p + layout.biasOffset[l])),
                          SharedPointer(UnsafeMutablePointer(mutating: p + layout.weightOffset[l])))
            parallel.forEachChunk(count: batch.rows, chunkSize: Autoencoder.gemmChunk) { _, rows in
                let zc = z.base + rows.lowerBound * nOut
                for r in 0..<rows.count { (zc + r * nOut).update(from: b.base, count: nOut) }
                BLAS.gemm(m: rows.count, n: nOut, k: nIn, a: a.base + rows.lowerBound * nIn, lda: nIn, b: w.base, ldb: nOut,
                          beta: 1, c: zc, ldc: nOut)
                act.apply(zc, rows.count * nOut)
            }
        }
    }

    /// Rows per Dispatch chunk. Fixed, so chunk boundaries never depend on the worker count.
    static let rowChunk = 16
    /// Rows (or columns) per call of a middle layer's GEMM; fixed for the same reason.
    static let gemmChunk = 128
}

/// The input entries of a batch of rows, as pointers into caller-owned buffers.
struct BatchEntries {
    let rows: Int
    /// `start[r] ..< start[r+1]` index `columns` / `values` for batch row r.
    let start: UnsafePointer<Int>
    let columns: UnsafePointer<Int32>
    let values: UnsafePointer<Float>

    @inline(__always) func range(_ r: Int) -> Range<Int> { start[r]..<start[r + 1] }
}

/// Owned storage for `BatchEntries`.
struct BatchBuffer {
    var start: [Int] = [0]
    var columns: [Int32] = []
    var values: [Float] = []

    mutating func reset() {
        start.removeAll(keepingCapacity: true); start.append(0)
        columns.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }

    mutating func appendRow(_ m: CSRMatrix, _ row: Int) {
        let r = m.row(row)
        columns.append(contentsOf: m.columns[r])
        values.append(contentsOf: m.values[r])
        start.append(columns.count)
    }

    /// Makes the batch the rows `rows` of `m`, in that order: their offsets on this thread,
    /// their entries copied in parallel by fixed chunks of rows (the same buffers as
    /// `reset` and `appendRow` for each row). In parallel because on one thread the copy left
    /// the other worker waiting (docs/performance.md, "Figures behind the code").
    mutating func fill(_ m: CSRMatrix, rows: some Collection<Int>, parallel: Parallel) {
        start.removeAll(keepingCapacity: true)
        start.append(0)
        var n = 0
        for r in rows {
            n += m.row(r).count
            start.append(n)
        }
        // Exactly n entries (as `appendRow` leaves them); storage is reused, and only entries
        // beyond the last batch's are zeroed before being overwritten.
        if columns.count < n {
            columns.append(contentsOf: repeatElement(0, count: n - columns.count))
            values.append(contentsOf: repeatElement(0, count: n - values.count))
        } else {
            columns.removeLast(columns.count - n)
            values.removeLast(values.count - n)
        }
        // Nothing to copy (and an empty array need not have a base address).
        guard n > 0 else { return }
        let order = Array(rows)
        start.withUnsafeBufferPointer { startBuffer in
            columns.withUnsafeMutableBufferPointer { c in
                values.withUnsafeMutableBufferPointer { v in
                    let (offsets, cs, vs) = (UncheckedPointer(startBuffer), SharedPointer(c.baseAddress!), SharedPointer(v.baseAddress!))
                    m.columns.withUnsafeBufferPointer { mc in
                        m.values.withUnsafeBufferPointer { mv in
                            let (srcC, srcV) = (UncheckedPointer(mc), UncheckedPointer(mv))
                            parallel.forEachChunk(count: order.count, chunkSize: Autoencoder.rowChunk) { _, chunk in
                                for k in chunk {
                                    let r = m.row(order[k]), at = offsets.buffer[k]
                                    (cs.base + at).update(from: srcC.at(r.lowerBound), count: r.count)
                                    (vs.base + at).update(from: srcV.at(r.lowerBound), count: r.count)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    var rows: Int { start.count - 1 }

    func with<T>(_ body: (BatchEntries) throws -> T) rethrows -> T {
        try start.withUnsafeBufferPointer { s in
            try columns.withUnsafeStart { c in
                try values.withUnsafeStart { v in
                    try body(BatchEntries(rows: rows, start: s.baseAddress!, columns: c, values: v))
                }
            }
        }
    }
}

/// A zeroed buffer of floats with a stable address: parameters, optimiser state and scratch
/// space of training and scoring. Pointers into it are valid as long as the buffer lives.
///
/// Buffers of 4 MB or more are mapped on their own, asking Linux for 2 MB pages
/// (`MADV_HUGEPAGE`; transparent huge pages are commonly enabled "on request"): training
/// reads and writes rows scattered over ~100 MB at MovieLens-25M's shape, and with 4 KB pages
/// nearly every row costs a TLB miss. Their pages are also zero until first written, so a part
/// never used (the dense gradient's sparse ends under lazy updates) takes no memory.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    private let mapping: LargeMapping?

    init(_ count: Int) {
        self.count = count
        if count * MemoryLayout<Float>.stride >= LargeMapping.threshold, let m = LargeMapping(bytes: count * MemoryLayout<Float>.stride) {
            mapping = m
            pointer = m.start.bindMemory(to: Float.self, capacity: count)
        } else {
            mapping = nil
            pointer = .allocate(capacity: max(count, 1))
            pointer.initialize(repeating: 0, count: max(count, 1))
        }
    }

    deinit {
        if mapping == nil { pointer.deallocate() }
    }

    func zero() { pointer.update(repeating: 0, count: count) }
}

/// An anonymous memory mapping aligned to 2 MB, zero-filled on demand, with huge pages
/// requested where the system offers them.
final class LargeMapping: @unchecked Sendable {
    static let threshold = 4 << 20
    static let hugePage = 2 << 20
    private let base: UnsafeMutableRawPointer
    private let length: Int
    let start: UnsafeMutableRawPointer

    /// nil when the mapping fails (the caller falls back to the heap).
    init?(bytes: Int) {
        let (length, overflow) = bytes.addingReportingOverflow(LargeMapping.hugePage)
        guard !overflow, let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              base != MAP_FAILED else { return nil }
        self.base = base
        self.length = length
        let address = (Int(bitPattern: base) + LargeMapping.hugePage - 1) & ~(LargeMapping.hugePage - 1)
        start = UnsafeMutableRawPointer(bitPattern: address)!
        #if os(Linux)
        // Advice only: without transparent huge pages this changes nothing.
        _ = madvise(start, bytes, MADV_HUGEPAGE)
        #endif
    }

    deinit { munmap(base, length) }
}

/// Scratch buffers for a batch of rows: activations and gradients of every hidden layer.
struct Workspace {
    let activations: [FloatBuffer]
    let gradients: [FloatBuffer]
    /// The sparse ends of the last batch, refilled by each backward pass.
    let ends = SparseEnds()

    init(layout: AutoencoderLayout, rows: Int) {
        let hidden = layout.sizes[1..<(layout.sizes.count - 1)]
        activations = hidden.map { FloatBuffer(rows * $0) }
        gradients = hidden.map { FloatBuffer(rows * $0) }
    }

    var a: [UnsafeMutablePointer<Float>] { activations.map(\.pointer) }
    var g: [UnsafeMutablePointer<Float>] { gradients.map(\.pointer) }
}
