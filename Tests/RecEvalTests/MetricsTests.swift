import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels
@testable import RecEval


/// A filled-in `Metrics`: three epochs, two baselines, no validation slice.
func sampleMetrics(validation: Bool = false, epochs: Int = 3) -> Metrics {
    let ranking = RankingMetrics(k: 10, precision: 0.25, recall: 0.125, ndcg: 0.3, hitRate: 0.75, mrr: 0.5,
                                 coverage: 0.2, usersEvaluated: 6000)
    let popular = RankingMetrics(k: 10, precision: 0.125, recall: 0.0625, ndcg: 0.15, hitRate: 0.5, mrr: 0.25,
                                 coverage: 0.01, usersEvaluated: 6000)
    let history = (1...epochs).map { e in
        EpochRecord(epoch: e, loss: 2.0 / Double(e), trainRMSE: 1.0 / Double(e) + 0.5,
                    validationRMSE: validation ? 1.0 / Double(e) + 0.6 : nil, seconds: 40)
    }
    return Metrics(
        rmse: SplitValues(train: 0.875, validation: validation ? 0.9375 : nil, test: 0.9453),
        mae: SplitValues(train: 0.6875, validation: validation ? 0.75 : nil, test: 0.7512),
        topKAccuracy: [5: 0.7755, 10: 0.6987],
        ranking: ranking,
        baselines: [
            "globalMean": ModelMetrics(rmse: SplitValues(train: 1.117, test: 1.1191), mae: SplitValues(train: 0.934, test: 0.9339)),
            "mostPopular": ModelMetrics(ranking: popular),
        ],
        history: history,
        counts: Metrics.Counts(users: 6040, items: 3706, train: 750_000, validation: 0, test: 250_209),
        settings: .object(["seed": .int(42), "model": .string("user-autoencoder")]))
}

@Suite struct MetricsTests {
    @Test func json_hasTheContractKeys() throws {
        let data = try JSON.encode(sampleMetrics())
        let json = try JSONDecoder().decode(JSONValue.self, from: data)
        #expect(json["rmse"]?["train"]?.doubleValue == 0.875)
        #expect(json["rmse"]?["test"]?.doubleValue == 0.9453)
        #expect(json["rmse"]?["validation"] == nil)
        #expect(json["mae"]?["train"]?.doubleValue == 0.6875)
        #expect(json["mae"]?["test"]?.doubleValue == 0.7512)
        #expect(json["topKAccuracy"]?["5"]?.doubleValue == 0.7755)
        #expect(json["topKAccuracy"]?["10"]?.doubleValue == 0.6987)
        #expect(json["ranking"]?["k"]?.intValue == 10)
        #expect(json["ranking"]?["usersEvaluated"]?.intValue == 6000)
        #expect(json["baselines"]?["globalMean"]?["rmse"]?["test"]?.doubleValue == 1.1191)
        #expect(json["baselines"]?["mostPopular"]?["ranking"]?["hitRate"]?.doubleValue == 0.5)
        #expect(json["baselines"]?["mostPopular"]?["rmse"] == nil)
        guard case .array(let history)? = json["history"], case .object(let first)? = history.first else {
            Issue.record("history is not an array of objects")
            return
        }
        #expect(history.count == 3)
        #expect(first.keys.sorted() == ["epoch", "loss", "seconds", "trainRMSE"])  // no validation slice
        #expect(first["epoch"]?.intValue == 1 && first["loss"]?.doubleValue == 2)
        #expect(json["counts"]?["test"]?.intValue == 250_209)
        #expect(json["settings"]?["seed"]?.intValue == 42)
    }

    @Test func json_keysAreSortedAndDecodingRoundTrips() throws {
        let metrics = sampleMetrics(validation: true)
        let text = try JSON.encodeString(metrics)
        // Sorted keys: "baselines" comes first and "topKAccuracy" last, its keys as strings.
        #expect(text.hasPrefix("{\"baselines\":{\"globalMean\":{\"mae\":{\"test\":0.9339,\"train\":0.934},"))
        #expect(text.hasSuffix(",\"topKAccuracy\":{\"10\":0.6987,\"5\":0.7755}}"))
        #expect(text.contains("\"validation\":0.9375"))
        #expect(try JSONDecoder().decode(Metrics.self, from: Data(text.utf8)) == metrics)
    }

    @Test func json_whenAFigureIsNaN_throws() {
        var metrics = sampleMetrics()
        metrics.rmse.test = .nan
        #expect(throws: (any Error).self) { try JSON.encode(metrics) }
    }

    @Test func splitValues_takeEachSlicesFigure() {
        let train = RatingMetrics(rmse: 0.8, mae: 0.6, count: 10)
        let test = RatingMetrics(rmse: 0.9, mae: 0.7, count: 5)
        #expect(SplitValues.rmse(train: train, test: test) == SplitValues(train: 0.8, validation: nil, test: 0.9))
        #expect(SplitValues.mae(train: train, validation: test, test: test) == SplitValues(train: 0.6, validation: 0.7, test: 0.7))
    }
}

@Suite struct SummaryTests {
    @Test func summary_listsTheModelAndEveryBaselineWithTheirFigures() {
        let text = Report.summary(sampleMetrics())
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let model = lines.filter { $0.hasPrefix("model ") }
        let globalMean = lines.filter { $0.hasPrefix("globalMean ") }
        let popular = lines.filter { $0.hasPrefix("mostPopular ") }
        #expect(model.count == 2 && globalMean.count == 2 && popular.count == 2)  // one per block
        // Rating block: RMSE train, test, then MAE train, test (no validation column here).
        #expect(words(model[0]) == ["model", "0.8750", "0.9453", "0.6875", "0.7512"])
        #expect(words(globalMean[0]) == ["globalMean", "1.1170", "1.1191", "0.9340", "0.9339"])
        #expect(words(popular[0]) == ["mostPopular", "-", "-", "-", "-"])
        // Ranking block: @5, @10, k, precision, recall, NDCG, hit rate, MRR, coverage, users.
        #expect(words(model[1]) == ["model", "0.7755", "0.6987", "10", "0.2500", "0.1250", "0.3000", "0.7500", "0.5000", "0.2000", "6000"])
        #expect(words(popular[1]) == ["mostPopular", "-", "-", "10", "0.1250", "0.0625", "0.1500", "0.5000", "0.2500", "0.0100", "6000"])
        #expect(words(globalMean[1]) == ["globalMean"] + Array(repeating: "-", count: 10))
        #expect(text.contains("6040 users, 3706 movies"))
    }

    @Test func summary_rowsOfABlockLineUp() {
        let text = Report.summary(sampleMetrics(validation: true))
        let lines = text.split(separator: "\n").map(String.init)
        for prefix in ["model ", "globalMean ", "mostPopular "] {
            #expect(lines.filter { $0.hasPrefix(prefix) }.count == 2)
        }
        // Within a block, every row (and the label line) ends at the same column.
        let rows = lines.filter { $0.hasPrefix("model ") || $0.hasPrefix("globalMean ") || $0.hasPrefix("mostPopular ") }
        #expect(rows[0].count == rows[1].count && rows[1].count == rows[2].count)
        #expect(rows[3].count == rows[4].count && rows[4].count == rows[5].count)
        // With a validation slice the rating block has three columns per metric.
        #expect(words(rows[0]) == ["model", "0.8750", "0.9375", "0.9453", "0.6875", "0.7500", "0.7512"])
        #expect(words(rows[1]) == ["globalMean", "1.1170", "-", "1.1191", "0.9340", "-", "0.9339"])
    }

    @Test func summary_withoutTopKAccuracy_leavesItsColumnsOut() {
        var metrics = sampleMetrics()
        metrics.topKAccuracy = [:]
        let text = Report.summary(metrics)
        #expect(!text.contains("Top-k accuracy"))
        let model = text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("model ") }
        #expect(words(model[1]) == ["model", "10", "0.2500", "0.1250", "0.3000", "0.7500", "0.5000", "0.2000", "6000"])
        #expect(!Report.html(metrics: metrics, examples: []).contains("Top-k accuracy</th>"))
    }

    private func words(_ line: String) -> [String] {
        line.split(separator: " ").map(String.init)
    }
}
