import Foundation
import RecCore
import RecStore
import RecData
import RecModels
import RecEval

extension StagePaths {
    /// The evaluation's test predictions of the rating model (`rec-inspect --csv` dumps them).
    public var evalPredictions: String { artefacts + "/eval-predictions.art" }
}

/// The evaluation's test predictions of the rating model, as measured (clipped to the rating
/// scale), with MovieLens ids: enough to recompute the test RMSE and MAE of `metrics.json`.
struct TestPredictions: Equatable {
    var userIds: [Int32]
    var movieIds: [Int32]
    var ratings: [Float]
    var predicted: [Float]

    init(userIds: [Int32], movieIds: [Int32], ratings: [Float], predicted: [Float]) {
        self.userIds = userIds
        self.movieIds = movieIds
        self.ratings = ratings
        self.predicted = predicted
    }

    /// The test entries in user order with their predictions.
    init(test: CSRMatrix, predictions: [Float], ids: IdMaps, scale: ClosedRange<Float>) {
        userIds = []
        movieIds = []
        for u in 0..<test.rows {
            for t in test.row(u) {
                userIds.append(ids.userIds[u])
                movieIds.append(ids.itemIds[Int(test.columns[t])])
            }
        }
        ratings = test.values
        predicted = predictions.map { min(max($0, scale.lowerBound), scale.upperBound) }
    }

    func write(to path: String, meta: [String: JSONValue], parallel: Parallel) throws {
        var b = ArtefactBuilder(kind: .predictions)
        b.meta = meta
        b.add("userIds", userIds)
        b.add("movieIds", movieIds)
        b.add("ratings", ratings)
        b.add("predicted", predicted)
        try b.write(to: path, parallel: parallel)
    }

    static func read(_ a: Artefact, parallel: Parallel) throws -> TestPredictions {
        let p = TestPredictions(userIds: try a.array("userIds", parallel: parallel), movieIds: try a.array("movieIds", parallel: parallel),
                                ratings: try a.array("ratings", parallel: parallel), predicted: try a.array("predicted", parallel: parallel))
        guard Set([p.userIds.count, p.movieIds.count, p.ratings.count, p.predicted.count]).count == 1 else {
            throw RecError(.artefact, "its sections differ in length", file: a.path, hint: "rerun rec-score")
        }
        return p
    }

    /// `user_id,movie_id,rating,predicted_rating`, one line per test rating; numbers as the
    /// shortest text that reads back as the same 32-bit float.
    static func csv(_ p: TestPredictions) -> String {
        var out = "user_id,movie_id,rating,predicted_rating\n"
        func number(_ v: Float) -> String { v == v.rounded() && abs(v) < 1e7 ? String(Int(v)) : "\(v)" }
        for t in p.ratings.indices { out += "\(p.userIds[t]),\(p.movieIds[t]),\(number(p.ratings[t])),\(number(p.predicted[t]))\n" }
        return out
    }
}

extension ScoreStage {
    /// For a rating model chosen on validation: every candidate's validation RMSE (from
    /// `rec-train`'s choice) beside its test RMSE and MAE, measured here with the same inputs
    /// as the chosen model's (fed every rating known before the test), after the choice.
    func ratingCandidates(_ rating: LoadedRatingModel, _ m: Matrices, known: CSRMatrix, chosen: (rmse: SplitValues, mae: SplitValues),
                          _ ctx: StageContext) throws -> JSONValue? {
        guard let set = rating.set, case .object(let choice)? = rating.artefact.meta("choice"),
              case .array(let listed)? = choice["candidates"], listed.count == set.members.count else { return nil }
        var candidates: [JSONValue] = []
        for (k, member) in set.members.enumerated() {
            let p = member.predictor.predict(train: known, queries: m.test, parallel: ctx.parallel)
            let test = try RatingMetrics.measure(predictions: p, truths: m.test.values, scale: m.scale)
            guard case .object(var o) = listed[k] else { continue }
            o["testRMSE"] = .double(test.rmse)
            o["testMAE"] = .double(test.mae)
            o["weight"] = .double(set.blend.weights[k])
            candidates.append(.object(o))
        }
        var out = choice
        out["candidates"] = .array(candidates)
        out["validationRMSE"] = chosen.rmse.validation.map { .double($0) } ?? .null
        out["testRMSE"] = .double(chosen.rmse.test)
        out["testMAE"] = .double(chosen.mae.test)
        out["note"] = .string("Candidates fitted on the train slice; the choice and the blend weights made on their validation predictions in rec-train; the test slice read once, here, after the choice. The served model refits the chosen candidates on every rating with the same weights.")
        return .object(out)
    }
}
