import Foundation
import Testing

/// `"ratingModel": {"type": "choice", …}` through the real executables on a small fixture.
@Suite struct RatingChoiceTests {
    static var candidates: [[String: Any]] { [
        ["type": "user-autoencoder", "hidden": [16, 8, 16], "epochs": 4, "batchSize": 16, "learningRate": 0.01],
        ["type": "item-autoencoder", "hidden": [12], "epochs": 5, "batchSize": 8, "learningRate": 0.01, "earlyStoppingPatience": 2],
        ["type": "biased-mf", "factors": 4, "lambda": 0.1, "iterations": 4],
        ["type": "item-knn", "k": 10, "shrinkage": 10],
    ] }

    static func choosing(_ f: Fixture) throws {
        try f.setConfig { c in
            c["ratingModel"] = ["type": "choice", "candidates": candidates]
            c["rankingModel"] = ["type": "ease", "lambda": 50]
        }
    }

    /// Every candidate's figures are in metrics.json and the report; the chosen model is never
    /// worse on validation than the bias baseline; the test predictions artefact dumps as
    /// `user_id,movie_id,rating,predicted_rating` and gives back metrics.json's test RMSE.
    @Test func choice_reportsEveryCandidate_andItsTestPredictionsRecomputeTheRMSE() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        try Self.choosing(f)
        let r = try run("rec-pipeline", ["--config", f.configPath])
        try #require(r.status == 0, "\(r.stderr)")
        let metrics = try #require(try JSONSerialization.jsonObject(with: bytes(f.path("output/metrics.json"))) as? [String: Any])
        let choice = try #require(metrics["ratingCandidates"] as? [String: Any])
        let listed = try #require(choice["candidates"] as? [[String: Any]])
        #expect(listed.map { $0["name"] as? String } == ["user-item-bias", "user-autoencoder", "item-autoencoder", "biased-mf", "item-knn"])
        for c in listed { #expect(c["validationRMSE"] is Double && c["testRMSE"] is Double && c["weight"] is Double) }
        let rmse = try #require(metrics["rmse"] as? [String: Double])
        let chosenValidation = try #require(choice["validationRMSE"] as? Double)
        #expect(abs(chosenValidation - rmse["validation"]!) < 1e-12)
        #expect(chosenValidation <= (listed[0]["validationRMSE"] as! Double) + 1e-12)
        #expect(abs((choice["testRMSE"] as! Double) - rmse["test"]!) < 1e-12)

        let dump = try run("rec-inspect", [f.path("output/artefacts/eval-predictions.art"), "--csv"])
        try #require(dump.status == 0, "\(dump.stderr)")
        let rows = parseCSV(dump.stdout)
        #expect(rows.first == ["user_id", "movie_id", "rating", "predicted_rating"])
        let body = rows.dropFirst().filter { $0.count == 4 }
        let counts = try #require(metrics["counts"] as? [String: Int])
        #expect(body.count == counts["test"])
        let squared = body.map { row -> Double in
            let e = Double(Float(row[3])!) - Double(Float(row[2])!)
            return e * e
        }
        #expect(abs((squared.reduce(0, +) / Double(body.count)).squareRoot() - rmse["test"]!) < 1e-9)
        // Every test rating of the fixture, by MovieLens ids.
        let known = Set(f.ratings.map { "\($0.user),\($0.movie)" })
        #expect(body.allSatisfy { known.contains("\($0[0]),\($0[1])") })

        let html = try read(f.path("output/report.html"))
        #expect(html.contains("<section id=\"rating-candidates\">") && html.contains("read once, after the choice"))
    }

    @Test func choice_oneOrThreeWorkers_giveByteIdenticalModelsAndExports() throws {
        let f = try Fixture(.csv)
        try Self.choosing(f)
        try f.expectSameBytes(["output/artefacts/eval-model.art", "output/artefacts/model.art", "output/artefacts/eval-predictions.art",
                               "output/recommendations.csv", "output/metrics.json"], workers: 3)
    }

    @Test func choice_withoutValidation_stopsWithASettingsError() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        try Self.choosing(f)
        try f.setConfig { c in c["split"] = ["seed": 3, "testRatio": 0.25, "validationRatio": 0] }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 2)
        #expect(r.stderr.contains("'ratingModel.type' choice") && r.stderr.contains("split.validationRatio"))
        #expect(!FileManager.default.fileExists(atPath: f.path("output/recommendations.csv")))
    }

    /// A pinned new model runs without a validation slice, as the autoencoders do.
    @Test(arguments: ["biased-mf", "item-knn", "user-item-bias"])
    func pinnedModel_servesItsPredictions(type: String) throws {
        let f = try Fixture(.ml100k)
        try f.setConfig { c in
            c["ratingModel"] = ["type": type]
            c["rankingModel"] = ["type": "ease", "lambda": 50]
            c["split"] = ["seed": 3, "testRatio": 0.25, "validationRatio": 0]
        }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        try #require(r.status == 0, "\(r.stderr)")
        let metrics = try #require(try JSONSerialization.jsonObject(with: bytes(f.path("output/metrics.json"))) as? [String: Any])
        #expect(metrics["ratingCandidates"] == nil)
        let csv = parseCSV(try read(f.path("output/recommendations.csv")))
        let column = try #require(csv.first?.firstIndex(of: "predicted_rating"))
        let predicted = csv.dropFirst().filter { $0.count == csv[0].count }.compactMap { Double($0[column]) }
        #expect(!predicted.isEmpty && predicted.allSatisfy { (1...5).contains($0) })
    }
}
