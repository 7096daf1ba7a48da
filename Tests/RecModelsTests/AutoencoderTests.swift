import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

/// The dense formulation of the seed's model, written as plainly as possible: dense input
/// rows (zeros where unrated), every output computed, the loss masked to observed entries.
/// The sparse implementation must give the same loss and gradient.
enum DenseReference {
    static func act(_ a: Activation, _ z: Double) -> Double {
        switch a {
        case .sigmoid: 1 / (1 + exp(-z))
        case .tanh: tanh(z)
        case .relu: max(0, z)
        case .identity: z
        }
    }

    static func actGrad(_ a: Activation, activated y: Double) -> Double {
        switch a {
        case .sigmoid: y * (1 - y)
        case .tanh: 1 - y * y
        case .relu: y > 0 ? 1 : 0
        case .identity: 1
        }
    }

    /// Loss and gradient (same layout as `Autoencoder.parameters`) for dense input rows `x`,
    /// dense targets `t` and mask `m` (1 where observed).
    static func lossAndGradient(_ model: Autoencoder, x: [[Double]], t: [[Double]], m: [[Double]]) -> (Double, [Double]) {
        let L = model.layout, p = model.parameters.map(Double.init)
        let sizes = L.sizes, layers = L.layerCount
        var grad = [Double](repeating: 0, count: L.parameterCount)
        // W(l)[i][j]: input unit i → output unit j, whatever the storage order.
        func w(_ l: Int, _ i: Int, _ j: Int) -> Int {
            l == layers - 1 ? L.weightOffset[l] + j * sizes[l] + i : L.weightOffset[l] + i * sizes[l + 1] + j
        }
        let n = Double(m.joined().reduce(0, +))
        var loss = 0.0
        for r in 0..<x.count {
            var a: [[Double]] = [x[r]]
            for l in 0..<layers {
                var z = (0..<sizes[l + 1]).map { p[L.biasOffset[l] + $0] }
                for i in 0..<sizes[l] { for j in 0..<sizes[l + 1] { z[j] += a[l][i] * p[w(l, i, j)] } }
                a.append(l == layers - 1 ? z : z.map { act(model.activation, $0) })
            }
            var delta = (0..<sizes[layers]).map { j in m[r][j] * 2 * (a[layers][j] - t[r][j]) / n }
            for j in 0..<sizes[layers] { loss += m[r][j] * pow(a[layers][j] - t[r][j], 2) / n }
            for l in stride(from: layers - 1, through: 0, by: -1) {
                for j in 0..<sizes[l + 1] { grad[L.biasOffset[l] + j] += delta[j] }
                for i in 0..<sizes[l] { for j in 0..<sizes[l + 1] { grad[w(l, i, j)] += a[l][i] * delta[j] } }
                guard l > 0 else { break }
                delta = (0..<sizes[l]).map { i in
                    var s = 0.0
                    for j in 0..<sizes[l + 1] { s += p[w(l, i, j)] * delta[j] }
                    return s * actGrad(model.activation, activated: a[l][i])
                }
            }
        }
        return (loss, grad)
    }
}

/// A random sparse matrix with 1–`maxPerRow` entries per row, values in 1...5.
func randomRatings(rows: Int, cols: Int, maxPerRow: Int, seed: UInt64) -> CSRMatrix {
    var rng = SplitMix64(seed: seed)
    var start = [0], columns: [Int32] = [], values: [Float] = []
    for _ in 0..<rows {
        var set = Set<Int32>()
        let count = 1 + rng.below(maxPerRow)
        while set.count < count { set.insert(Int32(rng.below(cols))) }
        for c in set.sorted() { columns.append(c); values.append(Float(1 + rng.below(5))) }
        start.append(columns.count)
    }
    return CSRMatrix(rows: rows, cols: cols, rowStart: start, columns: columns, values: values)
}

struct AutoencoderTests {
    static let shapes: [(items: Int, hidden: [Int], activation: Activation)] = [
        (13, [5, 3, 5], .sigmoid), (11, [7], .tanh), (17, [9, 4], .relu), (9, [6, 6, 6], .identity), (40, [33, 10, 33], .sigmoid),
    ]

    @Test(arguments: 0..<shapes.count)
    func sparseGradient_equalsDenseReference(case index: Int) throws {
        let shape = Self.shapes[index]
        let model = Autoencoder(items: shape.items, hidden: shape.hidden, activation: shape.activation, seed: UInt64(index + 3))
        // Larger weights than the default initialisation so that every layer matters.
        model.parameters = model.parameters.enumerated().map { $1 * 4 + Float($0 % 7) * 0.01 }
        let data = randomRatings(rows: 6, cols: shape.items, maxPerRow: 6, seed: UInt64(index))
        var batch = BatchBuffer()
        for r in 0..<data.rows { batch.appendRow(data, r) }
        let grad = FloatBuffer(model.layout.parameterCount)
        let ws = Workspace(layout: model.layout, rows: data.rows)
        let (sum, n) = model.parameters.withUnsafeBufferPointer { p in
            batch.with { model.lossAndGradient(p.baseAddress!, grad: grad.pointer, input: $0, target: $0, workspace: ws, parallel: Parallel(workers: 2)) }
        }
        var x = [[Double]](repeating: [Double](repeating: 0, count: shape.items), count: data.rows)
        var m = x
        for r in 0..<data.rows {
            for k in data.row(r) { x[r][Int(data.columns[k])] = Double(data.values[k]); m[r][Int(data.columns[k])] = 1 }
        }
        let (loss, reference) = DenseReference.lossAndGradient(model, x: x, t: x, m: m)
        #expect(n == data.nonZeros)
        #expect(abs(sum / Double(n) - loss) <= 1e-4 * (1 + loss))
        let scale = reference.map(abs).max()!
        #expect(scale > 0)
        for j in 0..<reference.count {
            let g = Double(grad.pointer[j])
            #expect(abs(g - reference[j]) <= 2e-4 * scale, "parameter \(j): sparse \(g) vs dense \(reference[j])")
        }
    }

    @Test(arguments: 0..<shapes.count)
    func denseGradient_equalsDenseReference(case index: Int) throws {
        let shape = Self.shapes[index]
        let model = Autoencoder(items: shape.items, hidden: shape.hidden, activation: shape.activation, seed: UInt64(index + 11))
        let data = randomRatings(rows: 5, cols: shape.items, maxPerRow: 7, seed: UInt64(index + 40))
        var batch = BatchBuffer()
        for r in 0..<data.rows { batch.appendRow(data, r) }
        let grad = FloatBuffer(model.layout.parameterCount)
        let ws = Workspace(layout: model.layout, rows: data.rows)
        let (sum, n) = model.parameters.withUnsafeBufferPointer { p in
            batch.with { model.denseLossAndGradient(p.baseAddress!, grad: grad.pointer, input: $0, target: $0, workspace: ws) }
        }
        var x = [[Double]](repeating: [Double](repeating: 0, count: shape.items), count: data.rows)
        var m = x
        for r in 0..<data.rows {
            for k in data.row(r) { x[r][Int(data.columns[k])] = Double(data.values[k]); m[r][Int(data.columns[k])] = 1 }
        }
        let (loss, reference) = DenseReference.lossAndGradient(model, x: x, t: x, m: m)
        #expect(abs(sum / Double(n) - loss) <= 1e-4 * (1 + loss))
        let scale = reference.map(abs).max()!
        for j in 0..<reference.count { #expect(abs(Double(grad.pointer[j]) - reference[j]) <= 2e-4 * scale) }
    }

    @Test func predict_equalsFullScoresAtQueries() throws {
        let model = Autoencoder(items: 23, hidden: [12, 5, 12], activation: .sigmoid, seed: 9)
        let input = randomRatings(rows: 19, cols: 23, maxPerRow: 8, seed: 1)
        let queries = randomRatings(rows: 19, cols: 23, maxPerRow: 5, seed: 2)
        let predicted = model.predict(input: input, queries: queries, parallel: Parallel(workers: 3))
        var full = [Float](repeating: 0, count: 19 * 23)
        full.withUnsafeMutableBufferPointer { model.scores(rows: 0..<19, input: input, into: $0.baseAddress!) }
        for r in 0..<19 {
            for k in queries.row(r) {
                #expect(abs(predicted[k] - full[r * 23 + Int(queries.columns[k])]) < 1e-5)
            }
        }
    }

    @Test func training_isIdenticalForAnyWorkerCount_andLowersTheLoss() throws {
        let data = randomRatings(rows: 150, cols: 60, maxPerRow: 20, seed: 5)
        var settings = AutoencoderSettings()
        settings.epochs = 4
        settings.batchSize = 32
        settings.learningRate = 0.01
        settings.inputDropout = 0.2
        var results: [[Float]] = []
        var histories: [[EpochRecord]] = []
        for workers in [1, 2, 5] {
            let model = Autoencoder(items: 60, hidden: [20, 10, 20], activation: .sigmoid, seed: 4)
            histories.append(try model.train(data, validation: nil, settings: settings, scale: 1...5, parallel: Parallel(workers: workers)))
            results.append(model.parameters)
        }
        #expect(results[0] == results[1])
        #expect(results[0] == results[2])
        #expect(histories[0].last!.loss < histories[0].first!.loss)
    }

    @Test func training_withDivergingLearningRate_throwsInsteadOfWritingNaN() throws {
        let data = randomRatings(rows: 40, cols: 30, maxPerRow: 10, seed: 6)
        var settings = AutoencoderSettings()
        settings.epochs = 30
        settings.optimizer = .rmsprop
        settings.learningRate = 1e30
        let model = Autoencoder(items: 30, hidden: [8], activation: .identity, seed: 1)
        #expect(throws: RecError.self) {
            try model.train(data, validation: nil, settings: settings, scale: 1...5, parallel: Parallel(workers: 1))
        }
    }
}
