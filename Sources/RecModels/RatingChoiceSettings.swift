import Foundation
import RecCore

/// The user + movie bias baseline (`user-item-bias`): μ + b_u + b_i by alternating ridge
/// least squares (Surprise's `BaselineOnly` defaults).
public struct BiasSettings: Codable, Sendable, Equatable {
    public var lambdaItem = 10.0
    public var lambdaUser = 15.0
    public var rounds = 10

    public init() {}

    public func validate(_ name: String) throws {
        guard lambdaItem.isFinite, lambdaItem >= 0, lambdaUser.isFinite, lambdaUser >= 0 else {
            throw ConfigProblem("'\(name).lambdaItem' and '\(name).lambdaUser' must be numbers, 0 or more")
        }
        guard (1...1000).contains(rounds) else { throw ConfigProblem("'\(name).rounds' must be 1 to 1000") }
    }
}

/// Biased matrix factorisation by alternating least squares (`biased-mf`). The defaults are
/// the best of a few tried on ML-1M's validation slice (32 factors λ 0.08: 0.8505; 64 factors
/// λ 0.05: 0.8580; 100 factors λ 0.05, 12 rounds: 0.8539, eight times the time).
public struct MatrixFactorizationSettings: Codable, Sendable, Equatable {
    public var factors = 32
    /// Ridge penalty of a factor vector, times its number of ratings (ALS-WR).
    public var lambda = 0.08
    /// Ridge penalty of a user's or movie's bias.
    public var biasLambda = 10.0
    public var iterations = 8
    public var seed: UInt64 = 1

    public init() {}

    public func validate(_ name: String) throws {
        guard (1...1024).contains(factors) else { throw ConfigProblem("'\(name).factors' must be 1 to 1024") }
        guard lambda.isFinite, lambda > 0, lambda <= 1e6 else { throw ConfigProblem("'\(name).lambda' must be a number above 0, at most 1e6") }
        guard biasLambda.isFinite, biasLambda >= 0, biasLambda <= 1e9 else {
            throw ConfigProblem("'\(name).biasLambda' must be a number, 0 to 1e9")
        }
        guard (1...1000).contains(iterations) else { throw ConfigProblem("'\(name).iterations' must be 1 to 1000") }
    }
}

/// The item neighbourhood model with baselines (`item-knn`, Surprise's `KNNBaseline`).
public struct ItemKNNSettings: Codable, Sendable, Equatable {
    /// Neighbours: the k movies the user rated that are most similar to the one predicted.
    public var k = 40
    /// Fewer positive neighbours than this: the baseline alone.
    public var minK = 1
    /// Pearson-baseline similarities are shrunk by (n − 1) / (n − 1 + shrinkage), n = common users.
    public var shrinkage = 100.0
    /// The baseline's ridge penalties (as `user-item-bias`).
    public var lambdaItem = 10.0
    public var lambdaUser = 15.0

    public init() {}

    public func validate(_ name: String) throws {
        guard (1...10_000).contains(k) else { throw ConfigProblem("'\(name).k' must be 1 to 10000") }
        guard (1...k).contains(minK) else { throw ConfigProblem("'\(name).minK' must be 1 to k") }
        guard shrinkage.isFinite, shrinkage >= 0 else { throw ConfigProblem("'\(name).shrinkage' must be a number, 0 or more") }
        guard lambdaItem.isFinite, lambdaItem >= 0, lambdaUser.isFinite, lambdaUser >= 0 else {
            throw ConfigProblem("'\(name).lambdaItem' and '\(name).lambdaUser' must be numbers, 0 or more")
        }
    }
}

/// `"type": "choice"`: the rating model chosen on the validation slice among candidates.
///
/// Every candidate (and always the `user-item-bias` baseline, first) is fitted on the train
/// part and predicts the validation part; the choice is the best candidate, or, with `blend`,
/// a ridge least-squares blend of all of them fitted on those predictions when it beats the
/// best one on validation. The served model refits the chosen candidates on every rating and
/// applies the same weights.
public struct RatingChoiceSettings: Codable, Sendable, Equatable {
    public var candidates: [RatingModelConfig] = []
    /// Fit a blend of the candidates (else: the best one alone).
    public var blend = true
    /// Ridge penalty of the blend's weights, times the validation ratings.
    public var blendRidge = 1e-4
    /// The budget: above this many train ratings, `largeDataCandidates` compete instead of
    /// `candidates` (the item neighbourhood model's movies × movies similarities and
    /// I-AutoRec's epochs do not scale to tens of millions of ratings on two cores).
    public var maxRatings = 5_000_000
    public var largeDataCandidates: [RatingModelConfig] = []

    public init() {}

    /// The candidates that compete on data with `ratings` train ratings (the bias baseline
    /// is added to them).
    public func applicable(ratings: Int) -> [RatingModelConfig] {
        ratings > maxRatings ? largeDataCandidates : candidates
    }

    public func validate(_ name: String) throws {
        guard blendRidge.isFinite, blendRidge >= 0, blendRidge <= 1e6 else { throw ConfigProblem("'\(name).blendRidge' must be a number, 0 to 1e6") }
        guard maxRatings >= 0 else { throw ConfigProblem("'\(name).maxRatings' must be 0 or more") }
        for (key, list) in [("candidates", candidates), ("largeDataCandidates", largeDataCandidates)] {
            guard list.count <= 16 else { throw ConfigProblem("'\(name).\(key)' may hold at most 16 models") }
            for (i, m) in list.enumerated() {
                if case .choice = m { throw ConfigProblem("'\(name).\(key)[\(i)]' cannot be a choice itself") }
                try m.validate("\(name).\(key)[\(i)]")
            }
        }
    }
}

extension RatingModelConfig {
    /// Whether this is one of the autoencoders (trained, written and read as they always were).
    public var isAutoencoder: Bool { kind == .userAutoencoder || kind == .itemAutoencoder }

    /// The autoencoder settings the memory plans and benchmarks use: the model's own, for a
    /// choice its largest autoencoder candidate's, else the defaults.
    var plannedAutoencoder: AutoencoderSettings {
        switch self {
        case .userAutoencoder(let s), .itemAutoencoder(let s): return s
        case .choice(let c):
            let aes = (c.candidates + c.largeDataCandidates).filter(\.isAutoencoder).map(\.settings)
            return aes.max { $0.hidden.reduce(0, +) < $1.hidden.reduce(0, +) } ?? AutoencoderSettings()
        case .userItemBias, .biasedMF, .itemKNN: return AutoencoderSettings()
        }
    }

    /// Range checks of the model's own keys (and of every candidate's), naming them under `name`.
    public func validate(_ name: String) throws {
        switch self {
        case .userAutoencoder(let s), .itemAutoencoder(let s): try s.validate(name)
        case .userItemBias(let s): try s.validate(name)
        case .biasedMF(let s): try s.validate(name)
        case .itemKNN(let s): try s.validate(name)
        case .choice(let c): try c.validate(name)
        }
    }
}
