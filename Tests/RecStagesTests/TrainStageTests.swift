import Foundation
import RecKit
import RecModels
import Testing
@testable import RecStages

/// The training stage's library functions, in process on tiny data.
@Suite struct TrainStageTests {
    // MARK: EASE's λ grid

    static let grid = [0.5, 5.0, 500.0]

    /// 60 users × 8 movies, every movie rated in train, and for each λ of the grid every
    /// user's top-1 recommendation from train (EASE fitted on train, seen movies excluded).
    /// Seed and grid were picked so that each λ has users whose top-1 is its own (9, 3 and 8).
    static func gridCase() throws -> (train: CSRMatrix, top: [[Int32]]) {
        let train = randomSlices(users: 60, items: 8, density: 0.35, shares: (1, 0), seed: 4).train
        try #require(train.emptyColumns().isEmpty)
        let top = try grid.map { lambda in
            let ease = try EASE.fit(train, lambda: lambda, parallel: Parallel(workers: 1))
            return TopK.all(scorer: ease, input: train, k: 1, parallel: Parallel(workers: 1)).items
        }
        return (train, top)
    }

    /// A validation slice holding, for every user where λ `grid[winner]` ranks first a movie
    /// no other λ of the grid ranks first, that movie rated 5: NDCG@1 is 1 for that λ and
    /// lower for the others.
    static func validation(favouring winner: Int, _ train: CSRMatrix, _ top: [[Int32]]) throws -> CSRMatrix {
        var picked: [(Int, Int, Float)] = []
        for u in 0..<train.rows where grid.indices.allSatisfy({ $0 == winner || top[$0][u] != top[winner][u] }) {
            picked.append((u, Int(top[winner][u]), 5))
        }
        try #require(picked.count >= 2, "the construction needs users whose top-1 depends on λ")
        return matrix(rows: train.rows, cols: train.cols, picked)
    }

    static func easeConfig(grid: [Double], lambda: Double = 7, weighting: String = "binary", ratingMax: Double = 5) -> PipelineConfig {
        var c = PipelineConfig()
        c.input.ratingScale = [1, ratingMax]
        c.score.k = 1
        c.rankingModel.type = "ease"
        c.rankingModel.lambda = lambda
        c.rankingModel.lambdaGrid = grid
        c.rankingModel.weighting = weighting
        return c
    }

    /// The stage's EASE fit for the ranking model, as the stage calls it.
    static func fitEASE(_ c: PipelineConfig, _ m: Matrices, _ dir: TempDir) throws -> (EASE, [String: JSONValue]) {
        try TrainStage().fitEASE(c, m, quietContext(c, dir: dir))
    }

    /// Each λ wins on a validation slice built for it; the test slice is built for another λ
    /// and must not sway the choice. Swapping the two slices swaps the choice.
    @Test(arguments: [(0, 2), (2, 0), (1, 0)])
    func fitEASE_withLambdaGrid_choosesTheBestOnValidation_notOnTest(winner: Int, decoy: Int) throws {
        let dir = try TempDir()
        let (train, top) = try Self.gridCase()
        let validation = try Self.validation(favouring: winner, train, top)
        let test = try Self.validation(favouring: decoy, train, top)
        let m = Matrices(train: train, validation: validation, test: test, ids: denseIds(users: 60, items: 8))
        let c = Self.easeConfig(grid: Self.grid)
        let (ease, meta) = try Self.fitEASE(c, m, dir)
        #expect(ease.lambda == Self.grid[winner])
        #expect(meta["chosenLambda"] == .double(Self.grid[winner]))
        guard case .object(let ndcg)? = meta["validationNDCG"] else {
            Issue.record("no validationNDCG in \(meta)")
            return
        }
        #expect(ndcg[String(Self.grid[winner])] == .double(1))
        for (i, lambda) in Self.grid.enumerated() where i != winner {
            #expect((ndcg[String(lambda)]?.doubleValue ?? 1) < 1, "λ \(lambda)")
        }
        // The chosen λ is refitted on train + validation, never on the test.
        let refit = try EASE.fit(train.union(validation), lambda: Self.grid[winner], parallel: Parallel(workers: 1))
        #expect(ease.weights == refit.weights)
    }

    @Test func fitEASE_withoutGrid_fitsTheSettingsLambdaOnTrainAndValidation() throws {
        let dir = try TempDir()
        let m = randomSlices(users: 25, items: 9, density: 0.4, shares: (0.6, 0.2), seed: 12)
        try #require(m.validation.nonZeros > 0 && m.test.nonZeros > 0)
        let (ease, meta) = try Self.fitEASE(Self.easeConfig(grid: [], lambda: 7), m, dir)
        #expect(ease.lambda == 7 && meta["chosenLambda"] == nil)
        #expect(ease.weights == (try EASE.fit(m.train.union(m.validation), lambda: 7, parallel: Parallel(workers: 1))).weights)
    }

    /// `weighting: rating` reaches EASE with the scale's highest rating as the divisor.
    @Test func fitEASE_ratingWeighting_dividesByTheScalesHighest() throws {
        let dir = try TempDir()
        let m = randomSlices(users: 25, items: 9, density: 0.4, shares: (0.7, 0.1), seed: 13)
        let (ease, _) = try Self.fitEASE(Self.easeConfig(grid: [], lambda: 3, weighting: "rating", ratingMax: 10), m, dir)
        #expect(ease.weighting == .rating && ease.ratingMax == 10)
        let reference = try EASE.fit(m.known, lambda: 3, weighting: .rating, ratingMax: 10, parallel: Parallel(workers: 1))
        #expect(ease.weights == reference.weights)
        let binary = try EASE.fit(m.known, lambda: 3, parallel: Parallel(workers: 1))
        #expect(ease.weights != binary.weights)
    }

    // MARK: the item-based autoencoder (I-AutoRec)

    static func itemAutoencoderSettings() -> PipelineConfig.Model {
        var s = PipelineConfig.Model()
        s.type = "item-autoencoder"
        s.hidden = [12]
        s.epochs = 10
        s.batchSize = 4
        s.learningRate = 0.02
        s.seed = 9
        return s
    }

    /// Trains the stage's rating model as the stage does and reads it back.
    static func trainItemAutoencoder(_ m: Matrices, _ dir: TempDir) throws -> LoadedRatingModel {
        var c = PipelineConfig()
        c.ratingModel = itemAutoencoderSettings()
        let path = dir.file("model-\(UUID().uuidString).art")
        _ = try TrainStage().trainAutoencoder(c.ratingModel, role: "rating", m, quietContext(c, dir: dir), to: path)
        return try LoadedRatingModel.read(path, parallel: Parallel(workers: 1))
    }

    static func rmse(_ p: [Float], _ truth: CSRMatrix) throws -> Double {
        try RatingMetrics.measure(predictions: p, truths: truth.values, scale: 1...5).rmse
    }

    @Test func trainAutoencoder_itemBased_learnsOverUsers_andPredictsThroughMovieRows() throws {
        let dir = try TempDir()
        let m = randomSlices(users: 40, items: 15, density: 0.5, shares: (0.7, 0.15), seed: 21)
        let loaded = try Self.trainItemAutoencoder(m, dir)
        // One row per movie, one input and output per user.
        #expect(loaded.autoencoder.layout.sizes == [40, 12, 40])
        #expect(loaded.predictor is ItemAutoencoderRatings)
        #expect(loaded.artefact.meta("type") == .string("item-autoencoder"))

        // Training lowered the train RMSE against the same initialisation untrained.
        let s = Self.itemAutoencoderSettings()
        let untrained = ItemAutoencoderRatings(Autoencoder(items: 40, hidden: s.hidden, activation: .sigmoid, seed: s.seed))
        let before = try Self.rmse(untrained.predict(train: m.train, queries: m.train, parallel: Parallel(workers: 1)), m.train)
        let after = try Self.rmse(loaded.predictor.predict(train: m.train, queries: m.train, parallel: Parallel(workers: 1)), m.train)
        #expect(after < 0.8 * before, "train RMSE \(before) → \(after)")

        // The validation RMSE recorded for the chosen epoch is that of the kept model,
        // predicting (user, movie) pairs from the movies' train rows.
        let history = try JSONDecoder().decode([EpochRecord].self, from: JSON.encode(try #require(loaded.artefact.meta("history"))))
        let chosen = try #require(loaded.artefact.meta("chosenEpoch")?.intValue)
        let recorded = try #require(history.first { $0.epoch == chosen }?.validationRMSE)
        let validation = try Self.rmse(loaded.predictor.predict(train: m.train, queries: m.validation, parallel: Parallel(workers: 1)), m.validation)
        #expect(abs(recorded - validation) < 1e-6)
        #expect(recorded == history.compactMap(\.validationRMSE).min())
    }

    @Test func trainAutoencoder_doesNotReadTheTestSlice() throws {
        let dir = try TempDir()
        let m = randomSlices(users: 30, items: 12, density: 0.5, shares: (0.7, 0.15), seed: 22)
        var other = m
        other.test = matrix(rows: 30, cols: 12, entries(m.test).map { ($0.0, $0.1, 6 - $0.2) })
        let a = try Self.trainItemAutoencoder(m, dir), b = try Self.trainItemAutoencoder(other, dir)
        #expect(a.autoencoder.parameters == b.autoencoder.parameters)
    }
}
