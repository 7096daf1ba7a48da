import Foundation
import Testing
@testable import RecCore
@testable import RecModels
@testable import RecPipeline

/// `"ratingModel": {"type": "choice", …}` and the pinnable new rating models.
@Suite struct RatingChoiceSettingsTests {
    static let withValidation = #""split": {"testRatio": 0.1, "validationRatio": 0.05}, "rankingModel": {"type": "ease"}"#

    @Test func choice_candidatesTakeTheirTypesDefaults() throws {
        let c = try PipelineConfig.parse(bytes: Array("""
            {\(Self.withValidation), "ratingModel": {"type": "choice", "blendRidge": 0.01, "candidates": [
              {"type": "biased-mf", "factors": 8}, {"type": "item-knn"}, {"type": "item-autoencoder", "hidden": [50], "epochs": 3}]}}
            """.utf8))
        guard case .choice(let s) = c.ratingModel else { Issue.record("not a choice"); return }
        #expect(s.blend && s.blendRidge == 0.01 && s.maxRatings == 5_000_000 && s.largeDataCandidates.isEmpty)
        var mf = MatrixFactorizationSettings()
        mf.factors = 8
        var ae = AutoencoderSettings()
        ae.hidden = [50]
        ae.epochs = 3
        #expect(s.candidates == [.biasedMF(mf), .itemKNN(ItemKNNSettings()), .itemAutoencoder(ae)])
        // The encoded form reads back as the same settings (fingerprints and metrics.json use it).
        let again = try JSONDecoder().decode(RatingModelConfig.self, from: JSON.encode(c.ratingModel))
        #expect(again == c.ratingModel)
    }

    @Test func choice_aCandidatesUnknownKey_namesItsPlace() throws {
        let e = try ConfigTests.error("""
            {\(Self.withValidation), "ratingModel": {"type": "choice", "candidates": [{"type": "item-knn"}, {"type": "biased-mf", "k": 40}]}}
            """)
        #expect(e.message.contains("'ratingModel.candidates[1].k'") && e.message.contains("biased-mf"))
    }

    @Test func choice_badCandidates_areSettingsErrors() throws {
        for (candidates, expected) in [(#"[{"type": "choice"}]"#, "'ratingModel.candidates[0]' cannot be a choice"),
                                       (#"[{"type": "svd"}]"#, "'ratingModel.candidates[0].type' must be one of"),
                                       (#"[{"factors": 3}]"#, "'ratingModel.candidates[0]' must be a model"),
                                       (#"{"type": "item-knn"}"#, "'ratingModel.candidates' must be a list"),
                                       (#"[{"type": "biased-mf", "factors": 0}]"#, "'ratingModel.candidates[0].factors' must be 1 to 1024"),
                                       (#"[{"type": "item-knn", "k": 5, "minK": 6}]"#, "'ratingModel.candidates[0].minK' must be 1 to k")] {
            let e = try ConfigTests.error("""
                {\(Self.withValidation), "ratingModel": {"type": "choice", "candidates": \(candidates)}}
                """)
            #expect(e.message.contains(expected), "\(e.message)")
        }
    }

    /// Nothing to choose on without a validation slice: never a choice on the test part.
    @Test func choice_withoutValidation_isASettingsErrorNamingTheKey() throws {
        for extra in [#""split": {"validationRatio": 0}"#, #""split": {"validationRatio": 0.05}, "evaluation": {"enabled": false}"#] {
            let e = try ConfigTests.error("""
                {\(extra), "rankingModel": {"type": "ease"}, "ratingModel": {"type": "choice", "candidates": [{"type": "item-knn"}]}}
                """)
            #expect(e.message.contains("'ratingModel.type' choice") && e.message.contains("split.validationRatio"), "\(e.message)")
        }
    }

    @Test func pinnedNewModels_needNoValidation_butCannotRankTheLists() throws {
        for type in ["biased-mf", "item-knn", "user-item-bias"] {
            let c = try PipelineConfig.parse(bytes: Array(#"{"rankingModel": {"type": "ease"}, "ratingModel": {"type": "\#(type)"}}"#.utf8))
            #expect(c.ratingModel.type == type && !c.ratingModel.isAutoencoder)
            let e = try ConfigTests.error(#"{"ratingModel": {"type": "\#(type)"}}"#)
            #expect(e.message.contains("'rankingModel.type' rating-model needs a user-based rating model"))
        }
    }

    @Test func budget_choosesTheListByTrainRatings() {
        var s = RatingChoiceSettings()
        s.candidates = [.itemKNN(ItemKNNSettings())]
        s.largeDataCandidates = [.biasedMF(MatrixFactorizationSettings())]
        s.maxRatings = 100
        #expect(s.applicable(ratings: 100) == s.candidates)
        #expect(s.applicable(ratings: 101) == s.largeDataCandidates)
    }
}
