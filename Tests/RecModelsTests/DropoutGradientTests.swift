import Foundation
import Testing
@testable import RecCore
@testable import RecModels

/// The gradient under input dropout: the input rows (after dropout) are not the target rows,
/// so the first layer's gradient must come from the input entries and the last layer's from the
/// target entries. Checked against central finite differences of the loss in Double.
@Suite struct DropoutGradientTests {
    /// The masked loss Σ m·(ŷ − t)² / Σ m for dense input rows `x`, in Double, with the
    /// parameters given (so that they can be perturbed).
    static func loss(_ layout: AutoencoderLayout, _ activation: Activation, _ p: [Double], x: [[Double]], t: [[Double]], m: [[Double]]) -> Double {
        let sizes = layout.sizes, layers = layout.layerCount
        func w(_ l: Int, _ i: Int, _ j: Int) -> Int {
            l == layers - 1 ? layout.weightOffset[l] + j * sizes[l] + i : layout.weightOffset[l] + i * sizes[l + 1] + j
        }
        var sum = 0.0, count = 0.0
        for r in 0..<x.count {
            var a = x[r]
            for l in 0..<layers {
                var z = (0..<sizes[l + 1]).map { p[layout.biasOffset[l] + $0] }
                for i in 0..<sizes[l] where a[i] != 0 { for j in 0..<sizes[l + 1] { z[j] += a[i] * p[w(l, i, j)] } }
                a = l == layers - 1 ? z : z.map { DenseReference.act(activation, $0) }
            }
            for j in 0..<sizes[layers] where m[r][j] != 0 {
                sum += (a[j] - t[r][j]) * (a[j] - t[r][j])
                count += 1
            }
        }
        return sum / count
    }

    /// ∂loss/∂p_k ≈ (loss(p + h·e_k) − loss(p − h·e_k)) / 2h, h = 1e-6: truncation error about
    /// h² and rounding about 1e-16 / h, both far below what Float gradients resolve.
    static func finiteDifferences(_ layout: AutoencoderLayout, _ activation: Activation, _ p: [Double],
                                  x: [[Double]], t: [[Double]], m: [[Double]]) -> [Double] {
        let h = 1e-6
        return (0..<p.count).map { k in
            var plus = p, minus = p
            plus[k] += h
            minus[k] -= h
            return (loss(layout, activation, plus, x: x, t: t, m: m) - loss(layout, activation, minus, x: x, t: t, m: m)) / (2 * h)
        }
    }

    static let shapes: [(items: Int, hidden: [Int], activation: Activation)] = [
        (11, [6, 4, 6], .sigmoid), (9, [5], .tanh), (13, [7, 7], .identity),
    ]

    @Test(arguments: 0..<shapes.count)
    func lossAndGradient_withDroppedInput_matchesFiniteDifferences(case index: Int) throws {
        let shape = Self.shapes[index]
        let model = Autoencoder(items: shape.items, hidden: shape.hidden, activation: shape.activation, seed: UInt64(20 + index))
        model.parameters = model.parameters.enumerated().map { $1 * 3 + Float($0 % 5) * 0.02 }
        let data = randomRatings(rows: 7, cols: shape.items, maxPerRow: 8, seed: UInt64(50 + index))
        let rate: Float = 0.4
        var input = BatchBuffer(), target = BatchBuffer()
        for r in 0..<data.rows {
            target.appendRow(data, r)
            input.appendDropped(data, r, rate: rate, seed: 9, epoch: 3)
        }
        // The case this test is for: some target entries are missing from the input, and the
        // kept ones are scaled by 1 / (1 − rate).
        try #require(input.columns.count < target.columns.count && !input.columns.isEmpty)

        let dense = { (entries: BatchBuffer) -> [[Double]] in
            var out = [[Double]](repeating: [Double](repeating: 0, count: shape.items), count: entries.rows)
            for r in 0..<entries.rows {
                for k in entries.start[r]..<entries.start[r + 1] { out[r][Int(entries.columns[k])] = Double(entries.values[k]) }
            }
            return out
        }
        let x = dense(input), t = dense(target)
        let mask = t.map { $0.map { $0 != 0 ? 1.0 : 0.0 } }
        let p = model.parameters.map(Double.init)
        let reference = Self.finiteDifferences(model.layout, model.activation, p, x: x, t: t, m: mask)
        let referenceLoss = Self.loss(model.layout, model.activation, p, x: x, t: t, m: mask)
        let scale = reference.map(abs).max()!
        try #require(scale > 1e-3)

        // The analytic Double reference agrees with finite differences when x ≠ t.
        let (analyticLoss, analytic) = DenseReference.lossAndGradient(model, x: x, t: t, m: mask)
        #expect(abs(analyticLoss - referenceLoss) <= 1e-12 * (1 + referenceLoss))
        for k in 0..<p.count { #expect(abs(analytic[k] - reference[k]) <= 1e-6 * scale, "analytic parameter \(k)") }

        // The sparse path and its dense twin, in Float.
        let ws = Workspace(layout: model.layout, rows: data.rows)
        for path in ["sparse", "dense"] {
            let grad = FloatBuffer(model.layout.parameterCount)
            let (sum, n) = model.parameters.withUnsafeBufferPointer { pp in
                input.with { inp in
                    target.with { tgt in
                        path == "sparse"
                            ? model.lossAndGradient(pp.baseAddress!, grad: grad.pointer, input: inp, target: tgt, workspace: ws, parallel: Parallel(workers: 2))
                            : model.denseLossAndGradient(pp.baseAddress!, grad: grad.pointer, input: inp, target: tgt, workspace: ws)
                    }
                }
            }
            #expect(n == data.nonZeros, "\(path)")
            #expect(abs(sum / Double(n) - referenceLoss) <= 1e-4 * (1 + referenceLoss), "\(path)")
            for k in 0..<p.count {
                #expect(abs(Double(grad.pointer[k]) - reference[k]) <= 2e-4 * scale,
                        "\(path) parameter \(k): \(grad.pointer[k]) vs finite differences \(reference[k])")
            }
        }
    }

    /// Dropout keeps each entry with probability 1 − rate, scales it by 1 / (1 − rate), and
    /// draws the same entries for the same (seed, epoch, row) whatever else is in the batch.
    @Test func appendDropped_keepsASubsetScaledByTheKeepRate() {
        let data = randomRatings(rows: 200, cols: 50, maxPerRow: 30, seed: 4)
        var batch = BatchBuffer()
        for r in 0..<data.rows { batch.appendDropped(data, r, rate: 0.25, seed: 1, epoch: 2) }
        var kept = 0
        for r in 0..<data.rows {
            let original = Dictionary(uniqueKeysWithValues: data.row(r).map { (data.columns[$0], data.values[$0]) })
            var previous: Int32 = -1
            for k in batch.start[r]..<batch.start[r + 1] {
                #expect(abs(batch.values[k] - original[batch.columns[k]]! / 0.75) <= 1e-6 * batch.values[k])
                #expect(batch.columns[k] > previous)
                previous = batch.columns[k]
            }
            kept += batch.start[r + 1] - batch.start[r]
        }
        // About 3/4 of the entries kept (binomial, sd ≈ 0.015 of the total here).
        let share = Double(kept) / Double(data.nonZeros)
        #expect(abs(share - 0.75) < 0.06, "kept \(share)")
        var alone = BatchBuffer()
        alone.appendDropped(data, 17, rate: 0.25, seed: 1, epoch: 2)
        #expect(alone.columns == Array(batch.columns[batch.start[17]..<batch.start[18]]))
        var otherEpoch = BatchBuffer()
        for r in 0..<data.rows { otherEpoch.appendDropped(data, r, rate: 0.25, seed: 1, epoch: 3) }
        #expect(otherEpoch.columns != batch.columns)
    }
}
