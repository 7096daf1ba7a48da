import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

struct EpochFiguresTests {
    @Test func training_withoutMeasuringTrainRMSE_leavesItOut_keepsValidation_andTrainsTheSame() throws {
        let data = randomRatings(rows: 120, cols: 40, maxPerRow: 10, seed: 21)
        let validation = randomRatings(rows: 120, cols: 40, maxPerRow: 2, seed: 22)
        var settings = AutoencoderSettings()
        settings.epochs = 3
        settings.batchSize = 16
        settings.learningRate = 0.01
        var runs: [(parameters: [Float], history: [EpochRecord])] = []
        for measure in [true, false] {
            let model = Autoencoder(items: 40, hidden: [12, 6, 12], activation: .sigmoid, seed: 3)
            let history = try model.train(data, validation: validation, settings: settings, measureTrainRMSE: measure,
                                          scale: 1...5, parallel: Parallel(workers: 2))
            runs.append((model.parameters, history))
        }
        #expect(runs[0].history.allSatisfy { $0.trainRMSE != nil })
        #expect(runs[1].history.allSatisfy { $0.trainRMSE == nil })
        #expect(runs[0].history.map(\.validationRMSE) == runs[1].history.map(\.validationRMSE))
        #expect(runs[1].history.allSatisfy { $0.validationRMSE != nil })
        #expect(runs[0].parameters == runs[1].parameters)
    }

    @Test func epochRMSE_equalsMeasuringThePredictions() throws {
        // The summed errors after each epoch are the figures RatingMetrics gives for the kept
        // predictions (up to the order of summation).
        let data = randomRatings(rows: 90, cols: 30, maxPerRow: 9, seed: 4)
        var settings = AutoencoderSettings()
        settings.epochs = 1
        settings.batchSize = 32
        let model = Autoencoder(items: 30, hidden: [10], activation: .tanh, seed: 5)
        let history = try model.train(data, validation: nil, settings: settings, scale: 1...5, parallel: Parallel(workers: 3))
        let measured = try RatingMetrics.measure(predictions: model.predict(input: data, queries: data, parallel: Parallel(workers: 1)),
                                                 truths: data.values, scale: 1...5)
        #expect(abs(history[0].trainRMSE! - measured.rmse) < 1e-12)
        #expect(measured.rmse > 0.1, "a trained model that is not perfect")
    }
}
