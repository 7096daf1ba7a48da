import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

/// I-AutoRec (`item-autoencoder`): the model's rows are movies and its inputs and outputs are
/// users, so the prediction for (user u, movie i) is output u of movie i's row.
@Suite struct ItemAutoencoderTests {
    /// 3 users × 4 movies: user 0 rated movies 0 (5) and 2 (3); user 1 movies 0 (4) and 1 (2);
    /// user 2 movies 2 (1) and 3 (4).
    let train = CSRMatrix(rows: 3, cols: 4, rowStart: [0, 2, 4, 6], columns: [0, 2, 0, 1, 2, 3], values: [5, 3, 4, 2, 1, 4])

    /// A model over 3 users with one identity hidden unit: W0 = [1, 10, 100] (per input user),
    /// b0 = 0, W1 = [1, 1, 1], b1 = [1000, 2000, 3000] (per output user). For movie i the hidden
    /// unit is h_i = r_0i + 10·r_1i + 100·r_2i, and the output at user u is b1[u] + h_i.
    /// h = [5 + 40, 20, 3 + 100, 400] = [45, 20, 103, 400].
    @Test func predict_forUserAndMovie_isTheUsersOutputOfTheMoviesRow() {
        let layout = AutoencoderLayout(items: 3, hidden: [1])
        #expect(layout.weightOffset == [0, 4] && layout.biasOffset == [3, 7] && layout.parameterCount == 10)
        let model = Autoencoder(layout: layout, activation: .identity, parameters: [1, 10, 100, 0, 1, 1, 1, 1000, 2000, 3000])
        // Queries deliberately not in transposed order: user 0 asks for movies 1 and 3, user 1
        // for 2 and 3, user 2 for 0 and 1.
        let queries = CSRMatrix(rows: 3, cols: 4, rowStart: [0, 2, 4, 6], columns: [1, 3, 2, 3, 0, 1], values: [0, 0, 0, 0, 0, 0])
        let p = ItemAutoencoderRatings(model).predict(train: train, queries: queries, parallel: Parallel(workers: 2))
        #expect(p == [1020, 1400, 2103, 2400, 3045, 3020])
    }

    @Test func training_onTheTransposedMatrix_lowersTheRatingRMSE() throws {
        let ratings = randomRatings(rows: 60, cols: 25, maxPerRow: 10, seed: 8) // 60 users, 25 movies
        let byMovie = ratings.transposed()
        let model = Autoencoder(items: ratings.rows, hidden: [16], activation: .sigmoid, seed: 3)
        #expect(model.layout.items == 60)
        func rmse() throws -> Double {
            let p = ItemAutoencoderRatings(model).predict(train: ratings, queries: ratings, parallel: Parallel(workers: 1))
            return try RatingMetrics.measure(predictions: p, truths: ratings.values, scale: 1...5).rmse
        }
        let before = try rmse()
        var settings = AutoencoderSettings()
        settings.epochs = 15
        settings.batchSize = 8
        settings.learningRate = 0.01
        let history = try model.train(byMovie, validation: nil, settings: settings, scale: 1...5, parallel: Parallel(workers: 2))
        let after = try rmse()
        #expect(after < 0.8 * before, "RMSE \(before) → \(after)")
        // Training measured the same predictions, row by movie: the same RMSE.
        #expect(abs(try #require(history.last?.trainRMSE) - after) < 1e-6)
    }
}
