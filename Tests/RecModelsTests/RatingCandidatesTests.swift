import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

/// The rating-choice candidates against their plain twins, their determinism over worker
/// counts, and the blend's guarantee on validation.
@Suite struct RatingCandidatesTests {
    /// Every entry of a random matrix, as queries (values unused).
    func everyPair(rows: Int, cols: Int) -> CSRMatrix {
        CSRMatrix(rows: rows, cols: cols, rowStart: (0...rows).map { $0 * cols },
                  columns: (0..<rows).flatMap { _ in (0..<cols).map(Int32.init) }, values: [Float](repeating: 0, count: rows * cols))
    }

    @Test(arguments: [(3 as UInt64, 4), (11, 1), (29, 7)])
    func biasedMF_matchesItsPlainTwin(seed: UInt64, factors: Int) {
        let train = randomCSR(rows: 40, cols: 25, density: 0.3, seed: seed)
        let s = BiasedMF.Settings(factors: factors, lambda: 0.1, biasLambda: 5, iterations: 6, seed: seed)
        let fast = BiasedMF.fit(train, settings: s, parallel: Parallel(workers: 3))
        let plain = BiasedMF.fitReference(train, settings: s)
        for (a, b) in zip(fast.userFactors + fast.itemFactors, plain.userFactors + plain.itemFactors) {
            #expect(abs(a - b) < 1e-3 * max(1, abs(b)))
        }
        let q = everyPair(rows: 40, cols: 25)
        let p = fast.predict(train: train, queries: q, parallel: Parallel(workers: 2))
        for u in 0..<40 {
            for i in 0..<25 {
                #expect(abs(p[u * 25 + i] - plain.predict(user: Int32(u), item: Int32(i))) < 2e-3)
            }
        }
    }

    @Test func biasedMF_sameBitsForAnyWorkerCount_andFitsBetterThanTheBiases() {
        let train = randomCSR(rows: 120, cols: 60, density: 0.2, seed: 5)
        let s = BiasedMF.Settings(factors: 8, lambda: 0.05, biasLambda: 5, iterations: 5, seed: 2)
        let one = BiasedMF.fit(train, settings: s, parallel: Parallel(workers: 1))
        let three = BiasedMF.fit(train, settings: s, parallel: Parallel(workers: 3))
        #expect(one.userFactors.map(\.bitPattern) == three.userFactors.map(\.bitPattern))
        #expect(one.itemFactors.map(\.bitPattern) == three.itemFactors.map(\.bitPattern))
        let scale: ClosedRange<Float> = 1...5
        let mf = RatingBlend.rmseOf(one.predict(train: train, queries: train, parallel: Parallel(workers: 1)), train.values, scale)
        let bias = RatingBlend.rmseOf(UserItemBias.fit(train).predict(train: train, queries: train, parallel: Parallel(workers: 1)), train.values, scale)
        #expect(mf < bias)
    }

    @Test(arguments: [(7 as UInt64, 40), (13, 3), (17, 1)])
    func itemKNN_matchesItsPlainTwin(seed: UInt64, k: Int) {
        let train = randomCSR(rows: 50, cols: 20, density: 0.35, seed: seed)
        let s = ItemKNNBaseline.Settings(k: k, minK: 1, shrinkage: 3)
        let fast = ItemKNNBaseline.fit(train, settings: s, parallel: Parallel(workers: 3))
        let plain = ItemKNNBaseline.fitReference(train, settings: s)
        for (a, b) in zip(fast.similarity, plain.similarity) { #expect(abs(a - b) < 1e-5) }
        // Predictions against the formula evaluated directly from the plain similarities.
        let q = everyPair(rows: 50, cols: 20)
        let p = fast.predict(train: train, queries: q, parallel: Parallel(workers: 2))
        let b = plain.baseline
        for u in 0..<50 {
            for i in 0..<20 {
                let rated = train.row(u).filter { Int(train.columns[$0]) != i }
                let ranked = rated.sorted {
                    let (x, y) = (plain.similarity[i * 20 + Int(train.columns[$0])], plain.similarity[i * 20 + Int(train.columns[$1])])
                    return x != y ? x > y : train.columns[$0] < train.columns[$1]
                }.prefix(k)
                var num = 0.0, den = 0.0
                for t in ranked {
                    let j = train.columns[t], sim = Double(plain.similarity[i * 20 + Int(j)])
                    guard sim > 0 else { continue }
                    num += sim * (Double(train.values[t]) - Double(b.predict(user: Int32(u), item: j)))
                    den += sim
                }
                let expected = Double(b.predict(user: Int32(u), item: Int32(i))) + (den > 0 ? num / den : 0)
                #expect(abs(Double(p[u * 20 + i]) - expected) < 1e-4)
            }
        }
        let one = ItemKNNBaseline.fit(train, settings: s, parallel: Parallel(workers: 1))
        #expect(one.similarity.map(\.bitPattern) == fast.similarity.map(\.bitPattern))
    }

    @Test func itemKNN_similarityIsSymmetricAndShrunk() {
        let train = randomCSR(rows: 60, cols: 15, density: 0.4, seed: 23)
        let m = ItemKNNBaseline.fit(train, settings: .init(k: 40, minK: 1, shrinkage: 100), parallel: Parallel(workers: 2))
        let unshrunk = ItemKNNBaseline.fit(train, settings: .init(k: 40, minK: 1, shrinkage: 0), parallel: Parallel(workers: 2))
        for i in 0..<15 {
            for j in 0..<15 {
                #expect(abs(m.similarity[i * 15 + j] - m.similarity[j * 15 + i]) < 1e-6)
                #expect(abs(m.similarity[i * 15 + j]) <= abs(unshrunk.similarity[i * 15 + j]) + 1e-6)
                #expect(abs(unshrunk.similarity[i * 15 + j]) <= 1 + 1e-5)
            }
        }
    }

    /// Property over random candidates (some good, some noise, some copies): the choice is
    /// never worse on the predictions it was made on than the best candidate.
    @Test func blendChoice_isNeverWorseOnValidationThanItsBestMember() {
        var rng = SplitMix64(seed: 99)
        let scale: ClosedRange<Float> = 1...5
        for trial in 0..<60 {
            let n = 20 + Int(rng.below(300)), m = 1 + Int(rng.below(5))
            let truths = (0..<n).map { _ in Float(1 + rng.below(5)) }
            var predictions: [[Float]] = []
            for c in 0..<m {
                let noise = Float(0.2 + 2 * Double(rng.unitFloat()))
                if c > 0, rng.below(4) == 0 { predictions.append(predictions[c - 1]); continue }
                predictions.append(truths.map { $0 + noise * (Float(rng.unitFloat()) - 0.5) * 2 + (trial % 3 == 0 ? 3 : 0) })
            }
            for ridge in [0.0, 1e-3, 10] {
                let c = RatingBlend.choose(predictions, truths: truths, scale: scale, blend: true, ridge: ridge)
                let served = RatingBlend.rmseOf(c.blend.apply(predictions, scale: scale), truths, scale)
                #expect(served <= c.rmse.min()! + 1e-12, "trial \(trial), ridge \(ridge)")
                #expect(abs(served - c.chosenRMSE) < 1e-12)
                if !c.blended { #expect(c.blend == .single(c.best, of: m)) }
            }
        }
    }

    @Test func blendFit_recoversAnExactLinearCombination() {
        var rng = SplitMix64(seed: 4)
        let a = (0..<200).map { _ in Float(1.5 + 3 * Double(rng.unitFloat())) }
        let b = (0..<200).map { _ in Float(1.5 + 3 * Double(rng.unitFloat())) }
        let truths = zip(a, b).map { Float(0.3 + 0.6 * Double($0) + 0.3 * Double($1)) }
        let fit = RatingBlend.fit([a, b], truths: truths, scale: 1...5, ridge: 0)
        #expect(abs(fit.weights[0] - 0.6) < 1e-4)
        #expect(abs(fit.weights[1] - 0.3) < 1e-4)
        #expect(abs(fit.intercept - 0.3) < 1e-3)
    }
}
