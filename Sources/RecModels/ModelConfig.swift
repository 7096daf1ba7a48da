import Foundation
import RecCore

/// How to build and train an autoencoder (`user-autoencoder`, `item-autoencoder`).
public struct AutoencoderSettings: Codable, Sendable, Equatable {
    /// Hidden-layer activation (its functions are in RecModels).
    public enum Activation: String, SettingChoice { case sigmoid, tanh, relu, identity }

    /// The optimiser, as PyTorch defines it.
    public enum OptimizerKind: String, SettingChoice { case adam, rmsprop }

    /// Which parameters an optimiser step updates (see `optimizerUpdates`).
    enum OptimizerUpdates: String, SettingChoice { case lazy, dense }

    public var hidden = [200, 100, 200]
    public var activation = Activation.sigmoid
    public var optimizer = OptimizerKind.adam
    public var learningRate = 0.001
    /// The learning rate is multiplied by this after every epoch (1 = constant).
    var learningRateDecay = 1.0
    /// L2 penalty added to the gradient of every weight, not of the biases (PyTorch's
    /// `weight_decay` restricted to the weights, as AutoRec regularises).
    public var weightDecay = 0.0
    public var batchSize = 64
    public var epochs = 50
    public var seed: UInt64 = 1
    /// Share of input entries dropped during training (denoising).
    var inputDropout = 0.0
    /// Stop when validation has not improved for this many epochs (0 = never).
    public var earlyStoppingPatience = 0
    /// `lazy`: an item's weights at the autoencoder's sparse ends are updated only in the
    /// steps whose batch holds the item (Adam's bias correction counted per row; weight decay
    /// applied in those steps); `dense`: every parameter every step, as PyTorch does.
    var optimizerUpdates = OptimizerUpdates.lazy

    public init() {}

    /// These settings for exactly `epochs` epochs, with no early stopping: a serving refit of
    /// the epoch count chosen on validation, or a benchmark with no validation slice.
    public func running(epochs: Int) -> AutoencoderSettings {
        var s = self
        s.epochs = epochs
        s.earlyStoppingPatience = 0
        return s
    }

    /// Largest accepted values: far beyond any useful model, small enough that no product of
    /// them with a real catalogue's size overflows before the memory check sees it.
    static let maxLayerWidth = 65_536
    static let maxLayers = 16
    static let maxBatchSize = 1 << 20
    static let maxEpochs = 100_000

    public func validate(_ name: String) throws -> Void {
        func bad(_ what: String) -> String { "'\(name).\(what)" }
        guard !hidden.isEmpty, hidden.count <= Self.maxLayers, hidden.allSatisfy({ (1...Self.maxLayerWidth).contains($0) }) else {
            throw ConfigProblem(bad("hidden' must be 1 to \(Self.maxLayers) layer widths, each 1 to \(Self.maxLayerWidth)"))
        }
        // The optimiser works in 32-bit floats: a rate that rounds to 0 or to infinity there
        // would train nothing or diverge on the first step.
        guard Float(learningRate).isFinite, Float(learningRate) > 0 else {
            throw ConfigProblem(bad("learningRate' must be a number above 0 that a 32-bit float holds (1e-38 to 3e38)"))
        }
        guard learningRateDecay > 0, learningRateDecay <= 1 else { throw ConfigProblem(bad("learningRateDecay' must be in (0, 1]")) }
        guard Float(weightDecay).isFinite, weightDecay >= 0 else {
            throw ConfigProblem(bad("weightDecay' must be a number, 0 or more, that a 32-bit float holds (up to 3e38)"))
        }
        guard (1...Self.maxBatchSize).contains(batchSize) else { throw ConfigProblem(bad("batchSize' must be 1 to \(Self.maxBatchSize)")) }
        guard (1...Self.maxEpochs).contains(epochs) else { throw ConfigProblem(bad("epochs' must be 1 to \(Self.maxEpochs)")) }
        guard inputDropout >= 0, inputDropout < 1 else { throw ConfigProblem(bad("inputDropout' must be in [0, 1)")) }
        guard (0...epochs).contains(earlyStoppingPatience) else {
            throw ConfigProblem(bad("earlyStoppingPatience' must be 0 (never) to epochs"))
        }
    }
}

/// EASE (Steck, 2019): a closed-form item-item model for the lists.
public struct EASESettings: Codable, Sendable, Equatable {
    /// What EASE's input holds for a rated movie.
    public enum Weighting: String, SettingChoice {
        /// 1 for every rated movie (Steck's EASE).
        case binary
        /// rating / highest rating: a liked movie weighs more than one the user disliked.
        case rating
    }

    /// How B is solved for (RecModels' `EASE.Solver` adds `maxItems` to `auto` and `blocked`).
    public enum SolverChoice: String, SettingChoice {
        /// `exact` up to 5,000 rated movies, else `blocked`.
        case auto
        /// Double, every movie, one thread.
        case exact
        /// Float tiles on every worker, over the `maxItems` most-rated movies; the others are
        /// never recommended.
        case blocked
    }

    /// Ridge penalty.
    public var lambda = 500.0
    /// When not empty, λ is chosen from these by NDCG@k on the validation slice (fitted on
    /// train), then refitted on train + validation.
    public var lambdaGrid: [Double] = []
    public var weighting = Weighting.binary
    public var solver = SolverChoice.auto
    /// The most movies the blocked solver covers (the most-rated ones).
    public var maxItems = 10_000

    public init() {}

    /// Largest accepted `maxItems`: B alone would be 64 GB.
    static let maxMaxItems = 1 << 17
    /// Largest accepted λ: far above any useful penalty (B shrinks to 0 as λ grows), and small
    /// enough that the blocked solver's single-precision XᵀX + λI and its inverse stay finite
    /// and normal.
    static let maxLambda = 1e9

    /// The one rule for a penalty, of `lambda` and of every `lambdaGrid` value; EASE's fit
    /// takes it as its precondition.
    public static func isValidLambda(_ lambda: Double) -> Bool { lambda > 0 && lambda <= maxLambda }

    public func validate(_ name: String) throws {
        guard (1...Self.maxMaxItems).contains(maxItems) else { throw ConfigProblem("'\(name).maxItems' must be 1 to \(Self.maxMaxItems)") }
        guard Self.isValidLambda(lambda) else { throw ConfigProblem("'\(name).lambda' must be a number above 0, at most 1e9") }
        guard lambdaGrid.count <= 64, lambdaGrid.allSatisfy(Self.isValidLambda) else {
            throw ConfigProblem("'\(name).lambdaGrid' must hold at most 64 numbers, each above 0 and at most 1e9")
        }
    }
}

/// The model that predicts ratings: one case per type, each with its own settings, so a key
/// that does not belong to the chosen type is an error rather than silently ignored.
public enum RatingModelConfig: Sendable, Equatable {
    /// The seed's model: one user's row in, the same row out.
    case userAutoencoder(AutoencoderSettings)
    /// I-AutoRec: one movie's column in and out.
    case itemAutoencoder(AutoencoderSettings)
    /// μ + b_u + b_i (RatingChoiceSettings.swift has the new models' settings).
    case userItemBias(BiasSettings)
    /// Biased matrix factorisation by alternating least squares.
    case biasedMF(MatrixFactorizationSettings)
    /// The item neighbourhood model with baselines.
    case itemKNN(ItemKNNSettings)
    /// The model (or blend) chosen on the validation slice among candidates.
    case choice(RatingChoiceSettings)

    /// The types by the names settings and model artefacts give them.
    public enum Kind: String, Sendable, CaseIterable {
        case userAutoencoder = "user-autoencoder"
        case itemAutoencoder = "item-autoencoder"
        case userItemBias = "user-item-bias"
        case biasedMF = "biased-mf"
        case itemKNN = "item-knn"
        case choice
    }

    public static let types = Kind.allCases.map(\.rawValue)

    public var kind: Kind {
        switch self {
        case .userAutoencoder: .userAutoencoder
        case .itemAutoencoder: .itemAutoencoder
        case .userItemBias: .userItemBias
        case .biasedMF: .biasedMF
        case .itemKNN: .itemKNN
        case .choice: .choice
        }
    }

    public var type: String { kind.rawValue }

    /// Whether the model reads one movie's column (users are its inputs) rather than one
    /// user's row.
    public var isItemBased: Bool { kind == .itemAutoencoder }

    /// An autoencoder's settings; for the other types, the ones the memory plans and
    /// benchmarks use (`plannedAutoencoder`).
    public var settings: AutoencoderSettings {
        switch self {
        case .userAutoencoder(let s), .itemAutoencoder(let s): s
        case .userItemBias, .biasedMF, .itemKNN, .choice: plannedAutoencoder
        }
    }

    /// The default settings of a type, nil for an unknown type.
    public static func defaults(type: String) -> RatingModelConfig? {
        switch Kind(rawValue: type) {
        case .userAutoencoder: .userAutoencoder(AutoencoderSettings())
        case .itemAutoencoder: .itemAutoencoder(AutoencoderSettings())
        case .userItemBias: .userItemBias(BiasSettings())
        case .biasedMF: .biasedMF(MatrixFactorizationSettings())
        case .itemKNN: .itemKNN(ItemKNNSettings())
        case .choice: .choice(RatingChoiceSettings())
        case nil: nil
        }
    }
}

/// The model that orders the lists.
public enum RankingModelConfig: Sendable, Equatable {
    /// The rating model's predicted rating (as the seed did); needs a user-based rating model.
    case ratingModel
    /// A second user autoencoder, trained for the lists.
    case userAutoencoder(AutoencoderSettings)
    case ease(EASESettings)
    /// How many users rated each movie.
    case popularity
    /// EASE, DLAE or their blend, whichever lists best on the validation slice.
    case choice(RankingChoiceSettings)

    /// The types by the names settings and model artefacts give them.
    public enum Kind: String, Sendable, CaseIterable {
        case ratingModel = "rating-model"
        case userAutoencoder = "user-autoencoder"
        case ease
        case popularity
        case choice
    }

    public static let types = Kind.allCases.map(\.rawValue)

    public var kind: Kind {
        switch self {
        case .ratingModel: .ratingModel
        case .userAutoencoder: .userAutoencoder
        case .ease: .ease
        case .popularity: .popularity
        case .choice: .choice
        }
    }

    public var type: String { kind.rawValue }

    /// Whether `rec-train` fits a model of its own for the lists (`ranking-model.art`).
    public var hasOwnModel: Bool {
        switch self {
        case .userAutoencoder, .ease, .choice: true
        case .ratingModel, .popularity: false
        }
    }

    public static func defaults(type: String) -> RankingModelConfig? {
        switch Kind(rawValue: type) {
        case .ratingModel: .ratingModel
        case .userAutoencoder: .userAutoencoder(AutoencoderSettings())
        case .ease: .ease(EASESettings())
        case .popularity: .popularity
        case .choice: .choice(RankingChoiceSettings())
        case nil: nil
        }
    }
}

private enum TypeKey: String, CodingKey { case type }

extension RatingModelConfig: Codable {
    public init(from decoder: Decoder) throws {
        let type = try decoder.container(keyedBy: TypeKey.self).decode(String.self, forKey: .type)
        switch Kind(rawValue: type) {
        case .userAutoencoder: self = .userAutoencoder(try AutoencoderSettings(from: decoder))
        case .itemAutoencoder: self = .itemAutoencoder(try AutoencoderSettings(from: decoder))
        case .userItemBias: self = .userItemBias(try BiasSettings(from: decoder))
        case .biasedMF: self = .biasedMF(try MatrixFactorizationSettings(from: decoder))
        case .itemKNN: self = .itemKNN(try ItemKNNSettings(from: decoder))
        case .choice: self = .choice(try RatingChoiceSettings(from: decoder))
        case nil:
            throw DecodingError.dataCorruptedError(forKey: .type, in: try decoder.container(keyedBy: TypeKey.self),
                                                   debugDescription: "unknown rating model type '\(type)'")
        }
    }

    /// `{"type": …, …the type's settings}`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: TypeKey.self)
        try c.encode(type, forKey: .type)
        switch self {
        case .userAutoencoder(let s), .itemAutoencoder(let s): try s.encode(to: encoder)
        case .userItemBias(let s): try s.encode(to: encoder)
        case .biasedMF(let s): try s.encode(to: encoder)
        case .itemKNN(let s): try s.encode(to: encoder)
        case .choice(let s): try s.encode(to: encoder)
        }
    }
}

extension RankingModelConfig: Codable {
    public init(from decoder: Decoder) throws {
        let type = try decoder.container(keyedBy: TypeKey.self).decode(String.self, forKey: .type)
        switch Kind(rawValue: type) {
        case .ratingModel: self = .ratingModel
        case .userAutoencoder: self = .userAutoencoder(try AutoencoderSettings(from: decoder))
        case .ease: self = .ease(try EASESettings(from: decoder))
        case .popularity: self = .popularity
        case .choice: self = .choice(try RankingChoiceSettings(from: decoder))
        case nil:
            throw DecodingError.dataCorruptedError(forKey: .type, in: try decoder.container(keyedBy: TypeKey.self),
                                                   debugDescription: "unknown ranking model type '\(type)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: TypeKey.self)
        try c.encode(type, forKey: .type)
        switch self {
        case .userAutoencoder(let s): try s.encode(to: encoder)
        case .ease(let s): try s.encode(to: encoder)
        case .choice(let s): try s.encode(to: encoder)
        case .ratingModel, .popularity: break
        }
    }
}
