import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels

/// Training with a validation slice keeps the parameters of the epoch with the best validation
/// RMSE, and with a patience p stops p epochs after that epoch.
@Suite struct EarlyStoppingTests {
    /// Random ratings, each row's entries dealt alternately to train and validation. A wide
    /// layer and a high learning rate on few rows overfit within a few epochs.
    static let (train, validation): (CSRMatrix, CSRMatrix) = {
        let all = randomRatings(rows: 40, cols: 30, maxPerRow: 16, seed: 77)
        var parts = [(start: [0], columns: [Int32](), values: [Float]()), (start: [0], columns: [Int32](), values: [Float]())]
        for r in 0..<all.rows {
            for (n, k) in all.row(r).enumerated() {
                parts[n % 2].columns.append(all.columns[k])
                parts[n % 2].values.append(all.values[k])
            }
            for p in parts.indices { parts[p].start.append(parts[p].columns.count) }
        }
        let m = parts.map { CSRMatrix(rows: all.rows, cols: all.cols, rowStart: $0.start, columns: $0.columns, values: $0.values) }
        return (m[0], m[1])
    }()

    static func settings(epochs: Int, patience: Int) -> AutoencoderSettings {
        var s = AutoencoderSettings()
        s.epochs = epochs
        s.batchSize = 8
        s.learningRate = 0.03
        s.earlyStoppingPatience = patience
        s.seed = 5
        return s
    }

    static func trained(epochs: Int, patience: Int = 0, validation: CSRMatrix?) throws -> (Autoencoder, [EpochRecord]) {
        let model = Autoencoder(items: train.cols, hidden: [48], activation: .sigmoid, seed: 2)
        let history = try model.train(train, validation: validation, settings: settings(epochs: epochs, patience: patience),
                                      scale: 1...5, parallel: Parallel(workers: 2))
        return (model, history)
    }

    static func validationRMSE(_ model: Autoencoder) throws -> Double {
        let p = model.predict(input: train, queries: validation, parallel: Parallel(workers: 1))
        return try RatingMetrics.measure(predictions: p, truths: validation.values, scale: 1...5).rmse
    }

    /// The first epoch with the lowest validation RMSE.
    static func bestEpoch(_ history: [EpochRecord]) throws -> EpochRecord {
        try #require(history.min { $0.validationRMSE! < $1.validationRMSE! })
    }

    @Test func train_withPatience_stopsPatienceEpochsAfterTheBest_andKeepsItsParameters() throws {
        let patience = 3, epochs = 40
        let (model, history) = try Self.trained(epochs: epochs, patience: patience, validation: Self.validation)
        let best = try Self.bestEpoch(history)
        // The construction overfits: validation gets worse after an early best epoch.
        try #require(history.count < epochs && best.epoch < history.count, "history: \(history.map { $0.validationRMSE! })")
        #expect(history.count == best.epoch + patience)
        #expect(history.map(\.epoch) == Array(1...history.count))
        // The kept parameters are the best epoch's: they give its validation RMSE, and they are
        // bit for bit those of a run that ends at that epoch (training is deterministic).
        #expect(abs(try Self.validationRMSE(model) - best.validationRMSE!) < 1e-9)
        let (reference, _) = try Self.trained(epochs: best.epoch, validation: nil)
        #expect(model.parameters == reference.parameters)
        // …and not the last epoch's.
        let (last, _) = try Self.trained(epochs: history.count, validation: nil)
        #expect(model.parameters != last.parameters)
        #expect(try Self.validationRMSE(last) > best.validationRMSE!)
    }

    @Test func train_withoutPatience_runsEveryEpoch_andStillKeepsTheBest() throws {
        let epochs = 12
        let (model, history) = try Self.trained(epochs: epochs, patience: 0, validation: Self.validation)
        #expect(history.count == epochs)
        let best = try Self.bestEpoch(history)
        try #require(best.epoch < epochs, "history: \(history.map { $0.validationRMSE! })")
        let (reference, _) = try Self.trained(epochs: best.epoch, validation: nil)
        #expect(model.parameters == reference.parameters)
    }

    /// A patience longer than the run: training ends at the epoch limit, parameters of the best.
    @Test func train_withPatienceBeyondTheLastEpoch_runsEveryEpoch() throws {
        let (model, history) = try Self.trained(epochs: 8, patience: 20, validation: Self.validation)
        #expect(history.count == 8)
        #expect(abs(try Self.validationRMSE(model) - Self.bestEpoch(history).validationRMSE!) < 1e-9)
    }

    /// Without a validation slice nothing is chosen: every epoch runs whatever the patience, and
    /// the parameters are the last epoch's (their train RMSE is the last record's).
    @Test func train_withoutValidation_keepsTheLastEpoch() throws {
        let (model, history) = try Self.trained(epochs: 6, patience: 1, validation: nil)
        #expect(history.count == 6 && history.allSatisfy { $0.validationRMSE == nil })
        let p = model.predict(input: Self.train, queries: Self.train, parallel: Parallel(workers: 1))
        let rmse = try RatingMetrics.measure(predictions: p, truths: Self.train.values, scale: 1...5).rmse
        #expect(abs(rmse - history.last!.trainRMSE!) < 1e-9)
        #expect(abs(rmse - history[history.count - 2].trainRMSE!) > 1e-6)
    }
}
