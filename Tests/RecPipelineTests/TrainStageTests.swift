import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels
@testable import RecPipeline

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

    static func easeSettings(grid: [Double], lambda: Double = 7, weighting: EASESettings.Weighting = .binary) -> EASESettings {
        var s = EASESettings()
        s.lambda = lambda
        s.lambdaGrid = grid
        s.weighting = weighting
        return s
    }

    static func easeConfig(_ s: EASESettings) -> PipelineConfig {
        var c = PipelineConfig()
        c.score.k = 1
        c.rankingModel = .ease(s)
        return c
    }

    /// Each λ wins on a validation slice built for it; the test slice is built for another λ
    /// and must not sway the choice. The evaluation's ranking fit, as the stage runs it: the
    /// model written is refitted with the chosen λ on train + validation.
    @Test(arguments: [(0, 2), (2, 0), (1, 0)])
    func fitRanking_withLambdaGrid_choosesTheBestOnValidation_notOnTest(winner: Int, decoy: Int) throws {
        let dir = try TempDir()
        let (train, top) = try Self.gridCase()
        let validation = try Self.validation(favouring: winner, train, top)
        let test = try Self.validation(favouring: decoy, train, top)
        let m = Matrices(train: train, validation: validation, test: test, ids: denseIds(users: 60, items: 8))
        let c = Self.easeConfig(Self.easeSettings(grid: Self.grid))
        let path = dir.file("eval-ranking-model.art")
        let fitted = try #require(try TrainStage().fitRanking(c, m, input: m.train, validation: m.validation, quietContext(c, dir: dir),
                                                              to: path, choices: nil))
        #expect(fitted.lambda == Self.grid[winner])
        let (ease, artefact) = try EASE.read(path, parallel: Parallel(workers: 1))
        #expect(ease.lambda == Self.grid[winner])
        #expect(artefact.meta("chosenLambda")?.doubleValue == Self.grid[winner])
        guard case .object(let ndcg)? = artefact.meta("validationNDCG") else {
            Issue.record("no validationNDCG in the model's meta")
            return
        }
        #expect(ndcg[String(Self.grid[winner])]?.doubleValue == 1)
        for (i, lambda) in Self.grid.enumerated() where i != winner {
            #expect((ndcg[String(lambda)]?.doubleValue ?? 1) < 1, "λ \(lambda)")
        }
        let refit = try EASE.fit(train.union(validation), lambda: Self.grid[winner], parallel: Parallel(workers: 1))
        #expect(ease.weights == refit.weights)
    }

    /// The evaluation fit without a grid: the settings' λ on train + validation.
    @Test func fitEASE_withoutGrid_fitsTheSettingsLambdaOnTrainAndValidation() throws {
        let dir = try TempDir()
        let m = randomSlices(users: 25, items: 9, density: 0.4, shares: (0.6, 0.2), seed: 12)
        try #require(m.validation.nonZeros > 0 && m.test.nonZeros > 0)
        let s = Self.easeSettings(grid: [], lambda: 7), c = Self.easeConfig(s)
        let (ease, meta) = try TrainStage().fitEASE(s, c, input: m.train, validation: m.validation, ids: m.ids, ratingMax: 5, quietContext(c, dir: dir), lambda: nil)
        #expect(ease.lambda == 7 && meta["chosenLambda"] == nil)
        #expect(ease.weights == (try EASE.fit(m.train.union(m.validation), lambda: 7, parallel: Parallel(workers: 1))).weights)
    }

    /// The serving fit: the λ the evaluation chose, on the ratings given; the grid is not rerun.
    @Test func fitEASE_serving_fitsTheChosenLambdaOnTheGivenRatings() throws {
        let dir = try TempDir()
        let m = randomSlices(users: 25, items: 9, density: 0.4, shares: (0.6, 0.2), seed: 14)
        let s = Self.easeSettings(grid: [1, 2, 3], lambda: 7), c = Self.easeConfig(s)
        let (ease, meta) = try TrainStage().fitEASE(s, c, input: m.all, validation: nil, ids: m.ids, ratingMax: 5, quietContext(c, dir: dir), lambda: 42)
        #expect(ease.lambda == 42 && meta["chosenLambda"] == nil && meta["validationNDCG"] == nil)
        #expect(ease.weights == (try EASE.fit(m.all, lambda: 42, parallel: Parallel(workers: 1))).weights)
    }

    /// `weighting: rating` reaches EASE with the scale's highest rating as the divisor.
    @Test func fitEASE_ratingWeighting_dividesByTheScalesHighest() throws {
        let dir = try TempDir()
        let m = randomSlices(users: 25, items: 9, density: 0.4, shares: (0.7, 0.1), seed: 13)
        let s = Self.easeSettings(grid: [], lambda: 3, weighting: .rating), c = Self.easeConfig(s)
        let (ease, _) = try TrainStage().fitEASE(s, c, input: m.train, validation: m.validation, ids: m.ids, ratingMax: 10, quietContext(c, dir: dir), lambda: nil)
        #expect(ease.weighting == .rating && ease.ratingMax == 10)
        let reference = try EASE.fit(m.known, lambda: 3, weighting: .rating, ratingMax: 10, parallel: Parallel(workers: 1))
        #expect(ease.weights == reference.weights)
        let binary = try EASE.fit(m.known, lambda: 3, parallel: Parallel(workers: 1))
        #expect(ease.weights != binary.weights)
    }

    // MARK: the item-based autoencoder (I-AutoRec)

    static func autoencoderSettings() -> AutoencoderSettings {
        var s = AutoencoderSettings()
        s.hidden = [12]
        s.epochs = 10
        s.batchSize = 4
        s.learningRate = 0.02
        s.seed = 9
        return s
    }

    /// Trains the item-based rating model as the stage's evaluation fit does and reads it back.
    static func trainItemAutoencoder(_ m: Matrices, _ dir: TempDir, settings: AutoencoderSettings = autoencoderSettings(),
                                     validation: Bool = true, epochsOverride: Int? = nil) throws -> (LoadedRatingModel, epochs: Int) {
        var c = PipelineConfig()
        c.ratingModel = .itemAutoencoder(settings)
        let path = dir.file("model-\(UUID().uuidString).art")
        let (_, epochs) = try TrainStage().trainAutoencoder(settings, itemBased: true, role: "rating", train: m.train,
                                                            validation: validation ? m.validation : nil, scale: m.scale, quietContext(c, dir: dir),
                                                            to: path, epochsOverride: epochsOverride)
        return (try LoadedRatingModel.read(path, parallel: Parallel(workers: 1)), epochs)
    }

    static func rmse(_ p: [Float], _ truth: CSRMatrix) throws -> Double {
        try RatingMetrics.measure(predictions: p, truths: truth.values, scale: 1...5).rmse
    }

    static func history(_ loaded: LoadedRatingModel) throws -> [EpochRecord] {
        try JSONDecoder().decode([EpochRecord].self, from: JSON.encode(try #require(loaded.artefact.meta("history"))))
    }

    @Test func trainAutoencoder_itemBased_learnsOverUsers_andPredictsThroughMovieRows() throws {
        let dir = try TempDir()
        let m = randomSlices(users: 40, items: 15, density: 0.5, shares: (0.7, 0.15), seed: 21)
        let (loaded, epochs) = try Self.trainItemAutoencoder(m, dir)
        // One row per movie, one input and output per user.
        #expect(loaded.autoencoder?.layout.sizes == [40, 12, 40])
        #expect(loaded.predictor is ItemAutoencoderRatings)
        #expect(loaded.artefact.meta("type") == .string("item-autoencoder"))

        // Training lowered the train RMSE against the same initialisation untrained.
        let s = Self.autoencoderSettings()
        let untrained = ItemAutoencoderRatings(Autoencoder(items: 40, hidden: s.hidden, activation: .sigmoid, seed: s.seed))
        let before = try Self.rmse(untrained.predict(train: m.train, queries: m.train, parallel: Parallel(workers: 1)), m.train)
        let after = try Self.rmse(loaded.predictor.predict(train: m.train, queries: m.train, parallel: Parallel(workers: 1)), m.train)
        #expect(after < 0.8 * before, "train RMSE \(before) → \(after)")

        // The validation RMSE recorded for the chosen epoch is that of the kept model,
        // predicting (user, movie) pairs from the movies' train rows; that epoch is returned
        // for the serving fit.
        let history = try Self.history(loaded)
        let chosen = try #require(loaded.artefact.meta("chosenEpoch")?.intValue)
        #expect(epochs == chosen)
        let recorded = try #require(history.first { $0.epoch == chosen }?.validationRMSE)
        let validation = try Self.rmse(loaded.predictor.predict(train: m.train, queries: m.validation, parallel: Parallel(workers: 1)), m.validation)
        #expect(abs(recorded - validation) < 1e-6)
        #expect(recorded == history.compactMap(\.validationRMSE).min())
    }

    /// The serving fit runs exactly the epochs the evaluation chose, whatever the settings say.
    @Test func trainAutoencoder_withEpochsOverride_runsThatManyEpochs() throws {
        let dir = try TempDir()
        let m = randomSlices(users: 30, items: 12, density: 0.5, shares: (0.7, 0.15), seed: 23)
        let (loaded, epochs) = try Self.trainItemAutoencoder(m, dir, validation: false, epochsOverride: 4)
        #expect(epochs == 4)
        #expect(try Self.history(loaded).map(\.epoch) == [1, 2, 3, 4])
        #expect(loaded.artefact.meta("chosenEpoch") == nil)
    }
}

/// The whole training stage, in process: the evaluation fits see train and validation only,
/// the serving fits reuse their choices on every rating.
@Suite struct TrainStageRunTests {
    /// Enough for the item autoencoder to pass its best validation epoch on these data.
    static let epochs = 30

    /// Runs `rec-train`'s stage on `m` with an item autoencoder for ratings and EASE with a λ
    /// grid for the lists.
    static func run(_ m: Matrices, _ dir: TempDir) throws -> StagePaths {
        var c = PipelineConfig()
        var s = TrainStageTests.autoencoderSettings()
        s.epochs = epochs
        c.ratingModel = .itemAutoencoder(s)
        c.rankingModel = .ease(TrainStageTests.easeSettings(grid: TrainStageTests.grid))
        c.score.k = 1
        let ctx = quietContext(c, dir: dir)
        try FileManager.default.createDirectory(atPath: ctx.paths.artefacts, withIntermediateDirectories: true)
        try m.write(to: ctx.paths.matrices, parallel: Parallel(workers: 1))
        _ = try TrainStage().run(ctx)
        return ctx.paths
    }

    @Test func run_evaluationFitsIgnoreTheTest_servingFitsReuseTheirChoicesOnEveryRating() throws {
        let (train, top) = try TrainStageTests.gridCase()
        let validation = try TrainStageTests.validation(favouring: 2, train, top)
        let ids = denseIds(users: 60, items: 8)
        let m = Matrices(train: train, validation: validation, test: try TrainStageTests.validation(favouring: 0, train, top), ids: ids)
        // The same train and validation with another test slice: movies no list favours.
        let other = Matrices(train: train, validation: validation, test: try TrainStageTests.validation(favouring: 1, train, top), ids: ids)
        let (dirA, dirB) = (try TempDir(), try TempDir())
        let (a, b) = (try Self.run(m, dirA), try Self.run(other, dirB))
        let p = Parallel(workers: 1)

        // Evaluation: identical whatever the test slice; λ chosen on validation.
        let (evalA, evalB) = (try LoadedRatingModel.read(a.evalModel, parallel: p), try LoadedRatingModel.read(b.evalModel, parallel: p))
        #expect(evalA.autoencoder?.parameters == evalB.autoencoder?.parameters)
        let (easeA, _) = try EASE.read(a.evalRankingModel, parallel: p), (easeB, _) = try EASE.read(b.evalRankingModel, parallel: p)
        #expect(easeA.lambda == TrainStageTests.grid[2] && easeA.weights == easeB.weights)

        // Serving: the chosen λ and epoch count, refitted on every rating (so the test slice
        // now matters).
        let (served, _) = try EASE.read(a.rankingModel, parallel: p)
        #expect(served.lambda == easeA.lambda)
        #expect(served.weights == (try EASE.fit(m.all, lambda: easeA.lambda, parallel: p)).weights)
        let servedModel = try LoadedRatingModel.read(a.model, parallel: p)
        let chosenEpoch = try #require(evalA.artefact.meta("chosenEpoch")?.intValue)
        try #require(chosenEpoch < Self.epochs, "the construction needs a best validation epoch before the last")
        #expect(servedModel.artefact.meta("epochsRun") == .int(chosenEpoch))
        #expect(servedModel.artefact.meta("ratings") == .int(m.all.nonZeros))
        let servedOther = try LoadedRatingModel.read(b.model, parallel: p)
        #expect(servedModel.autoencoder?.parameters != servedOther.autoencoder?.parameters)
    }
}
