import Foundation
import RecCore
import RecKernels

/// Adam or RMSprop, PyTorch's definitions (L2 `weight_decay` added to the gradient; RMSprop
/// without momentum, not centred), over one parameter buffer and its gradient buffer.
///
/// Two ways to take a step:
/// - dense (`step(_:grad:pieces:parallel:)` over every piece): every parameter is updated
///   every step, as PyTorch's optimisers do. Plain, and the reference the lazy form is tested
///   against.
/// - lazy (`updateRow`): a row of parameters (an item's weights at a sparse end of the
///   autoencoder) is updated only in the steps whose batch touched it, and Adam's bias
///   correction uses that row's own count of updates (`rowSteps`), so a row's first update
///   is a full-size step whenever it comes. A row untouched by a batch keeps its weights,
///   moments and count: it is not moved by its old momentum and not shrunk by weight decay.
///   When every row is touched in every step the lazy form gives exactly the dense one's bits
///   (the kernels' element results do not depend on where a range starts).
///
/// Weight decay on a lazy row therefore applies in the steps that update the row: a movie's
/// weights are shrunk as often as batches contain it, not every step.
final class Optimizer {
    typealias Kind = AutoencoderSettings.OptimizerKind

    let kind: Kind
    var learningRate: Float
    let weightDecay: Float
    /// Adam's first moment (empty for RMSprop), and the second moment (RMSprop's square
    /// average), aligned with the parameters.
    let first: FloatBuffer
    let second: FloatBuffer
    /// Dense steps taken.
    private(set) var step = 0
    /// Updates taken by each lazily updated row (the caller numbers the rows).
    let rowSteps: Int32Buffer
    /// `1 − β1^t` and `√(1 − β2^t)` for t = 1…, grown before the steps that need them, so
    /// that every row with the same t uses the same bits.
    private var bias1: [Float] = []
    private var sqrtBias2: [Float] = []
    static let (beta1, beta2, eps, alpha): (Float, Float, Float, Float) = (0.9, 0.999, 1e-8, 0.99)

    /// - Parameter lazyRows: how many rows `updateRow` may be called for.
    init(kind: Kind, count: Int, learningRate: Double, weightDecay: Double, lazyRows: Int = 0) {
        self.kind = kind
        self.learningRate = Float(learningRate)
        self.weightDecay = Float(weightDecay)
        first = FloatBuffer(kind == .adam ? count : 0)
        second = FloatBuffer(count)
        rowSteps = Int32Buffer(lazyRows)
    }

    /// A contiguous range of the parameter buffer, decayed (weights) or not (biases).
    struct Piece {
        let range: Range<Int>
        let decayed: Bool
    }

    /// Makes the bias corrections for t = 1…`upTo` available.
    private func growCorrections(upTo t: Int) {
        while bias1.count < t {
            let s = Float(bias1.count + 1)
            bias1.append(1 - powf(Optimizer.beta1, s))
            sqrtBias2.append((1 - powf(Optimizer.beta2, s)).squareRoot())
        }
    }

    /// A dense step: advances the step count and updates every element of `pieces`, in
    /// parallel by fixed sub-ranges (the same bits for any number of workers). Consumes
    /// (zeroes) the gradient there.
    func step(_ p: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, pieces: [Piece], parallel: Parallel) {
        step += 1
        growCorrections(upTo: step)
        let t = step
        // Fixed sub-ranges of at most 64K elements.
        var work: [Piece] = []
        for piece in pieces {
            for start in stride(from: piece.range.lowerBound, to: piece.range.upperBound, by: 1 << 16) {
                work.append(Piece(range: start..<min(start + (1 << 16), piece.range.upperBound), decayed: piece.decayed))
            }
        }
        let (pp, gg) = (SharedPointer(p), SharedPointer(grad))
        parallel.forEachChunk(count: work.count, chunkSize: 1) { i, _ in
            let w = work[i]
            update(pp.base, grad: gg.base, offset: w.range.lowerBound, count: w.range.count, t: t, decayed: w.decayed)
        }
    }

    /// Prepares lazy row updates for the current dense step (call after `step` in each batch).
    func prepareRows() { growCorrections(upTo: step) }

    /// Runs `body` with a `RowUpdater`: lazy row updates through raw pointers, which distinct
    /// workers may call concurrently for distinct rows. Call `prepareRows` first in each step.
    func withRowUpdater<T>(_ body: (RowUpdater) throws -> T) rethrows -> T {
        try bias1.withUnsafeStart { b1 in
            try sqrtBias2.withUnsafeStart { b2 in
                try body(RowUpdater(kind: kind, learningRate: learningRate, weightDecay: weightDecay, first: first.pointer,
                                    second: second.pointer, steps: rowSteps.pointer, bias1: b1, sqrtBias2: b2))
            }
        }
    }

    /// The lazy update, as raw pointers and constants: no reference is retained or released in
    /// it, so two workers never queue on a shared reference count.
    struct RowUpdater: @unchecked Sendable {
        let kind: Kind
        let learningRate: Float
        let weightDecay: Float
        let first: UnsafeMutablePointer<Float>
        let second: UnsafeMutablePointer<Float>
        let steps: UnsafeMutablePointer<Int32>
        let bias1: UnsafePointer<Float>
        let sqrtBias2: UnsafePointer<Float>

        /// Updates row `row` (`count` parameters at `offset` of `p`, gradient in the scratch
        /// `grad`, consumed) as its next step.
        @inline(__always)
        func update(_ row: Int, _ p: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, offset o: Int, count: Int, decayed: Bool) {
            let t = Int(steps[row]) + 1
            steps[row] = Int32(t)
            let wd = decayed ? weightDecay : 0
            switch kind {
            case .adam:
                Kernels.adam(count, p: p + o, g: grad, m: first + o, v: second + o, stepSize: learningRate / bias1[t - 1],
                             beta1: Optimizer.beta1, beta2: Optimizer.beta2, sqrtBias2: sqrtBias2[t - 1], eps: Optimizer.eps, weightDecay: wd)
            case .rmsprop:
                Kernels.rmsprop(count, p: p + o, g: grad, s: second + o, lr: learningRate, alpha: Optimizer.alpha, eps: Optimizer.eps,
                                weightDecay: wd)
            }
        }

        /// Asks the cache for a row's parameters and moments ahead of its update.
        @inline(__always)
        func prefetch(_ p: UnsafeMutablePointer<Float>, offset o: Int, count: Int) {
            Kernels.prefetch(p + o, bytes: count * 4, forWriting: true)
            if kind == .adam { Kernels.prefetch(first + o, bytes: count * 4, forWriting: true) }
            Kernels.prefetch(second + o, bytes: count * 4, forWriting: true)
        }
    }

    /// Updates `count` elements at `offset` (of `p`, of the moments and of `grad`) as step t.
    private func update(_ p: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, offset o: Int, count: Int, t: Int, decayed: Bool) {
        let wd = decayed ? weightDecay : 0
        switch kind {
        case .adam:
            Kernels.adam(count, p: p + o, g: grad + o, m: first.pointer + o, v: second.pointer + o, stepSize: learningRate / bias1[t - 1],
                         beta1: Optimizer.beta1, beta2: Optimizer.beta2, sqrtBias2: sqrtBias2[t - 1], eps: Optimizer.eps, weightDecay: wd)
        case .rmsprop:
            Kernels.rmsprop(count, p: p + o, g: grad + o, s: second.pointer + o, lr: learningRate, alpha: Optimizer.alpha,
                            eps: Optimizer.eps, weightDecay: wd)
        }
    }
}

/// A heap buffer of Int32 with a stable address, zeroed.
final class Int32Buffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int32>
    let count: Int

    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }
}
