import Foundation
import Testing
@testable import RecCore
@testable import RecPipeline

/// `"rankingModel": {"type": "choice"}`: its keys, its ranges, and that it chooses nothing
/// without a validation slice.
@Suite struct RankingChoiceSettingsTests {
    @Test func defaults_compareEASE_DLAE_andTheirBlend() throws {
        let c = try PipelineConfig.parse(.object(["rankingModel": .object(["type": .string("choice")]),
                                                  "split": .object(["validationRatio": .double(0.05)])]))
        guard case .choice(let s) = c.rankingModel else { Issue.record("not a choice"); return }
        #expect(s.candidates == [.ease, .dlae, .blend] && s.blendMembers == [.ease, .dlae] && s.weighting == .rating)
        #expect(s.choosesOnValidation && s.blendDivisions == 10)
        #expect(try PipelineConfig.parse(try JSONValue.from(c)) == c)
    }

    @Test(arguments: [
        (#"{"rankingModel": {"type": "choice"}}"#, "'rankingModel.candidates' is set"),
        (#"{"evaluation": {"enabled": false}, "split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice"}}"#,
         "'rankingModel.candidates' chooses on the validation slice"),
        (#"{"rankingModel": {"type": "choice", "candidates": ["dlae"], "dlaeDropouts": [0.25, 0.5]}}"#, "'rankingModel.candidates' is set"),
        (#"{"rankingModel": {"type": "choice", "candidates": ["blend"]}}"#, "'rankingModel.candidates' is set"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "candidates": []}}"#, "'rankingModel.candidates' must name"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "candidates": ["ease", "ease"]}}"#, "'rankingModel.candidates' must name"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "candidates": ["svd"]}}"#, "'rankingModel.candidates"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "easeLambdas": []}}"#, "'rankingModel.easeLambdas' must hold"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "dlaeLambdas": [0]}}"#, "'rankingModel.dlaeLambdas' must hold"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "dlaeDropouts": [1]}}"#, "'rankingModel.dlaeDropouts' must hold"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "blendMembers": ["ease"]}}"#, "'rankingModel.blendMembers' must name"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "blendStep": 0.3}}"#, "'rankingModel.blendStep' must be"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "blendStep": 0.01}}"#, "'rankingModel.blendStep' must be"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "blendStep": 1e-300}}"#, "'rankingModel.blendStep' must be"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "blendStep": 2}}"#, "'rankingModel.blendStep' must be"),
        (#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "lambda": 300}}"#, "unknown setting 'rankingModel.lambda' for type choice"),
    ])
    func badSettings_areErrorsNamingTheKey(c: (json: String, message: String)) throws {
        let e = try ConfigTests.error(c.json)
        #expect(e.message.contains(c.message), "\(e.message)")
    }

    /// The shared input settings are names decoded once, as EASE's are; so are the candidates
    /// and the blend's members, inside their arrays.
    @Test(arguments: [
        ("weighting", #""log""#, "'rankingModel.weighting' must be binary or rating, not \"log\""),
        ("solver", #""fast""#, "'rankingModel.solver' must be auto, exact or blocked"),
        ("candidates", #"["ease", "svd"]"#, "must be ease, dlae or blend, not \"svd\""),
        ("blendMembers", #"["ease", "knn"]"#, "must be ease, dlae or popularity, not \"knn\""),
    ])
    func names_areDecodedOnce_namingTheKeyAndTheAcceptedNames(c: (key: String, value: String, message: String)) throws {
        let e = try ConfigTests.error(#"{"split": {"validationRatio": 0.1}, "rankingModel": {"type": "choice", "\#(c.key)": \#(c.value)}}"#)
        #expect(e.message.contains(c.message), "\(e.message)")
    }

    /// One candidate with one value per grid is a fixed model: it needs no validation slice and
    /// runs serving-only.
    @Test(arguments: [#"{"rankingModel": {"type": "choice", "candidates": ["dlae"]}}"#,
                      #"{"evaluation": {"enabled": false}, "rankingModel": {"type": "choice", "candidates": ["ease"], "easeLambdas": [200]}}"#])
    func oneFixedCandidate_needsNoValidation(json: String) throws {
        let dir = try TempDir()
        let c = try ConfigTests.load(json, in: dir)
        guard case .choice(let s) = c.rankingModel else { Issue.record("not a choice"); return }
        #expect(!s.choosesOnValidation)
    }
}
