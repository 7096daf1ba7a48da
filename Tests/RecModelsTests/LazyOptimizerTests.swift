import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

/// The lazy optimiser (rows of the sparse ends updated only when their batch touches them)
/// against the dense one, its plain twin.
struct LazyOptimizerTests {
    /// Every row rates every item: every batch touches every row of both sparse ends.
    static func fullRows(rows: Int, items: Int, seed: UInt64) -> CSRMatrix {
        var rng = SplitMix64(seed: seed)
        let values = (0..<(rows * items)).map { _ in Float(1 + rng.below(5)) }
        let columns = (0..<rows).flatMap { _ in (0..<items).map(Int32.init) }
        return CSRMatrix(rows: rows, cols: items, rowStart: (0...rows).map { $0 * items }, columns: columns, values: values)
    }

    @Test(arguments: Optimizer.Kind.allCases, [0.0, 0.05])
    func lazyTraining_whenEveryBatchTouchesEveryItem_equalsDenseBitForBit(optimizer: Optimizer.Kind, weightDecay: Double) throws {
        let data = Self.fullRows(rows: 37, items: 19, seed: 3)
        var settings = AutoencoderSettings()
        settings.epochs = 3
        settings.batchSize = 8 // 5 batches an epoch, the last one short
        settings.learningRate = 0.01
        settings.optimizer = optimizer
        settings.weightDecay = weightDecay
        var results: [[Float]] = []
        for lazy in [true, false] {
            settings.optimizerUpdates = lazy ? .lazy : .dense
            let model = Autoencoder(items: 19, hidden: [11, 5, 11], activation: .sigmoid, seed: 2)
            try model.train(data, validation: nil, settings: settings, scale: 1...5, parallel: Parallel(workers: 2))
            results.append(model.parameters)
        }
        let initial = Autoencoder(items: 19, hidden: [11, 5, 11], activation: .sigmoid, seed: 2).parameters
        #expect(results[0] != initial, "training moved the parameters")
        #expect(results[0] == results[1])
    }

    @Test(arguments: Optimizer.Kind.allCases)
    func lazyStep_leavesRowsOfUntouchedItemsAndTheirMomentsAsTheyWere(optimizer kind: Optimizer.Kind) throws {
        let items = 10
        let model = Autoencoder(items: items, hidden: [6, 4], activation: .tanh, seed: 5)
        let L = model.layout
        let optimizer = Optimizer(kind: kind, count: L.parameterCount, learningRate: 0.01, weightDecay: 0.1,
                                  lazyRows: 3 * items)
        let grad = FloatBuffer(L.parameterCount)
        let ws = Workspace(layout: L, rows: 4)
        // Batch A holds items 0…9; batch B only items 0, 2 and 5.
        let a = randomRatings(rows: 4, cols: items, maxPerRow: 3, seed: 1)
        let all = CSRMatrix(rows: 1, cols: items, rowStart: [0, items], columns: (0..<items).map(Int32.init), values: [Float](repeating: 3, count: items))
        let b = CSRMatrix(rows: 2, cols: items, rowStart: [0, 2, 3], columns: [0, 5, 2], values: [4, 1, 5])
        func step(_ m: CSRMatrix) {
            var batch = BatchBuffer()
            for r in 0..<m.rows { batch.appendRow(m, r) }
            model.parameters.withUnsafeMutableBufferPointer { p in
                batch.with { e in
                    model.lazyStep(p.baseAddress!, grad: grad.pointer, input: e, target: e, workspace: ws, optimizer: optimizer,
                                   parallel: Parallel(workers: 2), check: { _, _ in })
                }
            }
        }
        step(all)
        step(a)
        let before = model.parameters
        let firstBefore = Array(UnsafeBufferPointer(start: optimizer.first.pointer, count: optimizer.first.count))
        let secondBefore = Array(UnsafeBufferPointer(start: optimizer.second.pointer, count: optimizer.second.count))
        let stepsBefore = Array(UnsafeBufferPointer(start: optimizer.rowSteps.pointer, count: 3 * items))
        step(b)
        let H = L.layerCount - 1
        func rowRanges(_ i: Int) -> [Range<Int>] {
            let (h1, hL) = (L.sizes[1], L.lastHidden)
            return [L.weightOffset[0] + i * h1 ..< L.weightOffset[0] + (i + 1) * h1,
                    L.weightOffset[H] + i * hL ..< L.weightOffset[H] + (i + 1) * hL,
                    L.biasOffset[H] + i ..< L.biasOffset[H] + i + 1]
        }
        let second = Array(UnsafeBufferPointer(start: optimizer.second.pointer, count: optimizer.second.count))
        for i in 0..<items {
            let touched = [0, 2, 5].contains(i)
            for r in rowRanges(i) {
                let same = model.parameters[r] == before[r] && second[r] == secondBefore[r]
                #expect(same != touched, "item \(i), parameters \(r): touched \(touched)")
                if kind == .adam {
                    let first = Array(UnsafeBufferPointer(start: optimizer.first.pointer, count: optimizer.first.count))
                    #expect((first[r] == firstBefore[r]) != touched)
                }
            }
            for row in [3 * i, 3 * i + 1, 3 * i + 2] {
                #expect(optimizer.rowSteps.pointer[row] == stepsBefore[row] + (touched ? 1 : 0))
            }
        }
        // The dense block (first-layer bias, middle layer) moves every step.
        let b0 = L.biasOffset[0]..<L.weightOffset[1]
        #expect(model.parameters[b0] != before[b0])
    }

    @Test func lazyAdam_firstUpdateOfARowLateInTraining_isAFullSizeStep() {
        // Adam's first step moves each element by lr · g / (|g| + eps·…) ≈ lr · sign(g),
        // whatever the global step count: the row's own count drives the bias correction.
        let lr = 0.01
        let optimizer = Optimizer(kind: .adam, count: 16, learningRate: lr, weightDecay: 0, lazyRows: 2)
        let p = FloatBuffer(16), grad = FloatBuffer(16), scratch = FloatBuffer(8)
        for _ in 0..<50 { optimizer.step(p.pointer, grad: grad.pointer, pieces: [], parallel: Parallel(workers: 1)) }
        optimizer.prepareRows()
        let g: [Float] = [0.5, -2, 1e-3, -1e-3, 4, 0.25, -0.75, 3]
        scratch.pointer.update(from: g, count: 8)
        optimizer.updateRow(1, p.pointer, grad: scratch.pointer, offset: 8, count: 8, decayed: true)
        for j in 0..<8 {
            #expect(abs(p.pointer[8 + j] + Float(lr) * (g[j] > 0 ? 1 : -1)) < 1e-6, "element \(j): \(p.pointer[8 + j])")
            #expect(p.pointer[j] == 0)
            #expect(scratch.pointer[j] == 0, "the gradient row is consumed")
        }
        #expect(optimizer.rowSteps.pointer[1] == 1 && optimizer.rowSteps.pointer[0] == 0)
    }

    @Test func lazyTraining_onML1MLikeSparsity_staysCloseToDense() throws {
        // Rows rate few items: most batches leave most items untouched, so lazy and dense differ,
        // but both must learn the same data about as well.
        let data = randomRatings(rows: 300, cols: 80, maxPerRow: 12, seed: 8)
        var settings = AutoencoderSettings()
        settings.epochs = 15
        settings.batchSize = 32
        settings.learningRate = 0.01
        var rmse: [Double] = []
        for lazy in [true, false] {
            settings.optimizerUpdates = lazy ? .lazy : .dense
            let model = Autoencoder(items: 80, hidden: [20, 10, 20], activation: .sigmoid, seed: 1)
            let history = try model.train(data, validation: nil, settings: settings, scale: 1...5, parallel: Parallel(workers: 2))
            rmse.append(history.last!.trainRMSE!)
            #expect(history.last!.trainRMSE! < history.first!.trainRMSE!)
        }
        #expect(abs(rmse[0] - rmse[1]) < 0.05, "lazy \(rmse[0]) vs dense \(rmse[1])")
    }
}
