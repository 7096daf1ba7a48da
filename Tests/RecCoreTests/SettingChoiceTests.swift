import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels
@testable import RecPipeline

/// Every setting that takes one of a few names is an enum decoded once: an unknown name is a
/// settings error naming the key and every accepted name, and a known one keeps its string
/// in the settings' JSON form (the fingerprints and `metrics.json` hold that form).
@Suite struct SettingChoiceTests {
    /// One name setting: where it sits (with the model type that owns it) and its names.
    struct Case: Sendable, CustomTestStringConvertible {
        let key: String
        let type: String?
        let names: [String]
        let quoted: Bool
        var testDescription: String { key + (type.map { " (\($0))" } ?? "") }

        init<E: SettingChoice>(_ key: String, type: String? = nil, _: E.Type) {
            self.key = key
            self.type = type
            names = E.allCases.map(\.rawValue)
            quoted = E.quotesNames
        }

        /// The settings with `value` at `key` (and the section's model type).
        func settings(_ value: JSONValue) -> JSONValue {
            let parts = key.split(separator: ".").map(String.init)
            var section: [String: JSONValue] = [parts[1]: value]
            if let type { section["type"] = .string(type) }
            var settings: [String: JSONValue] = [parts[0]: .object(section)]
            // An item autoencoder cannot order the lists itself.
            if type == "item-autoencoder" { settings["rankingModel"] = .object(["type": .string("popularity")]) }
            return .object(settings)
        }
    }

    static let cases: [Case] = [
        Case("input.invalidLines", InvalidLinePolicy.self),
        Case("input.moviesEncoding", MoviesEncoding.self),
        Case("split.method", Splitter.Method.self),
        Case("ratingModel.activation", AutoencoderSettings.Activation.self),
        Case("ratingModel.optimizer", AutoencoderSettings.OptimizerKind.self),
        Case("ratingModel.optimizerUpdates", AutoencoderSettings.OptimizerUpdates.self),
        Case("ratingModel.activation", type: "item-autoencoder", AutoencoderSettings.Activation.self),
        Case("rankingModel.activation", type: "user-autoencoder", AutoencoderSettings.Activation.self),
        Case("rankingModel.optimizer", type: "user-autoencoder", AutoencoderSettings.OptimizerKind.self),
        Case("rankingModel.optimizerUpdates", type: "user-autoencoder", AutoencoderSettings.OptimizerUpdates.self),
        Case("rankingModel.weighting", type: "ease", EASESettings.Weighting.self),
        Case("rankingModel.solver", type: "ease", EASESettings.SolverChoice.self),
    ]

    static func parseError(_ settings: JSONValue) throws -> RecError {
        let e = try #require(recError { _ = try PipelineConfig.parse(settings, file: "p.json") })
        #expect(e.kind == .config && e.file == "p.json")
        return e
    }

    @Test(arguments: cases)
    func unknownName_isASettingsErrorNamingTheKeyAndEveryAcceptedName(c: Case) throws {
        let e = try Self.parseError(c.settings(.string("no-such-name")))
        let accepted = c.names.map { c.quoted ? "\"\($0)\"" : $0 }
        let list = accepted.dropLast().joined(separator: ", ") + " or " + accepted.last!
        #expect(e.message == "'\(c.key)' must be \(list), not \"no-such-name\"", "\(e.message)")
    }

    @Test(arguments: cases)
    func valueThatIsNoString_isASettingsErrorNamingTheKey(c: Case) throws {
        let e = try Self.parseError(c.settings(.int(1)))
        #expect(e.message.hasPrefix("'\(c.key)' must be "), "\(e.message)")
    }

    @Test(arguments: cases)
    func everyAcceptedName_decodesAndEncodesAsTheSameString(c: Case) throws {
        for name in c.names {
            let config = try PipelineConfig.parse(c.settings(.string(name)))
            let parts = c.key.split(separator: ".").map(String.init)
            guard case .object(let top) = try JSONValue.from(config), case .object(let section)? = top[parts[0]] else {
                Issue.record("no section \(parts[0])")
                return
            }
            #expect(section[parts[1]] == .string(name))
        }
    }

    /// The model types are checked before their sections are decoded (each type knows only its
    /// own keys), by the same names.
    @Test func modelTypes_haveTheirSettingsNames() {
        #expect(RatingModelConfig.types == ["user-autoencoder", "item-autoencoder", "user-item-bias", "biased-mf", "item-knn", "choice"])
        #expect(RankingModelConfig.types == ["rating-model", "user-autoencoder", "ease", "popularity", "choice"])
        #expect(RatingModelConfig.itemAutoencoder(AutoencoderSettings()).isItemBased)
        #expect(!RatingModelConfig.userAutoencoder(AutoencoderSettings()).isItemBased)
    }
}
