import Foundation
import RecCore

/// `"rankingModel": {"type": "choice", …}`: the model that orders the lists is chosen on the
/// validation slice among `candidates`, by NDCG@k of lists built from the train slice.
///
/// Candidates: `ease` (EASE, λ from `easeLambdas`), `dlae` (Steck 2020's denoising linear
/// autoencoder, λ from `dlaeLambdas` and the dropout p from `dlaeDropouts`) and `blend` (per-user
/// z-scored scores of `blendMembers`, weights from a grid of step `blendStep` on the simplex).
/// Every fit shares the input weighting and the solver, so on the exact solver one Gram matrix
/// serves every λ and p.
public struct RankingChoiceSettings: Codable, Sendable, Equatable {
    /// A model that competes for the lists.
    public enum Candidate: String, SettingChoice {
        case ease, dlae, blend
    }

    /// A model whose per-user z-scored scores the blend adds up.
    public enum Member: String, SettingChoice {
        case ease, dlae, popularity
    }

    public var candidates: [Candidate] = [.ease, .dlae, .blend]
    public var easeLambdas: [Double] = [300]
    public var dlaeLambdas: [Double] = [300]
    /// DLAE's dropout probability p: each movie's penalty is λ + p / (1 − p) · (XᵀX)_jj.
    public var dlaeDropouts: [Double] = [0.5]
    public var blendMembers: [Member] = [.ease, .dlae]
    /// Spacing of the blend's weight grid: every weight a multiple of it, the weights summing to 1.
    public var blendStep = 0.1
    public var weighting = EASESettings.Weighting.rating
    public var solver = EASESettings.SolverChoice.auto
    /// The most movies the blocked solver covers (the most-rated ones).
    public var maxItems = 10_000
    /// The budget of the choice: the validation lists that judge the grid and the candidates
    /// are built for at most this many users (those with validation ratings, a sample drawn
    /// with the split's seed when there are more); 0 means every user. Every fit still uses
    /// every train rating. Scoring each grid point for every user was most of the choice's
    /// time on 25 million ratings.
    public var maxValidationUsers = 20_000

    public init() {}

    /// Largest accepted grid: each value is one more fit (a matrix inverse) on the train slice.
    public static let maxGrid = 16
    /// Largest accepted dropout: p / (1 − p) = 99.
    public static let maxDropout = 0.99
    /// Fewest and most steps of the blend grid's unit (1 / blendStep).
    public static let blendSteps = 1...20

    /// Steps of one unit of weight in the blend grid.
    public var blendDivisions: Int { Int((1 / blendStep).rounded()) }

    /// Whether the settings leave something to choose on the validation slice: more than one
    /// candidate, a grid of more than one value for the one candidate, or a blend (its weights).
    public var choosesOnValidation: Bool {
        guard candidates.count == 1 else { return true }
        switch candidates[0] {
        case .ease: return easeLambdas.count > 1
        case .dlae: return dlaeLambdas.count * dlaeDropouts.count > 1
        case .blend: return true
        }
    }

    public func validate(_ name: String) throws {
        guard !candidates.isEmpty, Set(candidates).count == candidates.count else {
            throw ConfigProblem("'\(name).candidates' must name each of \(Candidate.acceptedNames) at most once, at least one")
        }
        for (key, grid) in [("easeLambdas", easeLambdas), ("dlaeLambdas", dlaeLambdas)] {
            guard (1...Self.maxGrid).contains(grid.count), grid.allSatisfy(EASESettings.isValidLambda) else {
                throw ConfigProblem("'\(name).\(key)' must hold 1 to \(Self.maxGrid) numbers, each above 0 and at most 1e9")
            }
        }
        guard (1...Self.maxGrid).contains(dlaeDropouts.count), dlaeDropouts.allSatisfy({ $0 >= 0 && $0 <= Self.maxDropout }) else {
            throw ConfigProblem("'\(name).dlaeDropouts' must hold 1 to \(Self.maxGrid) numbers, each from 0 to \(Self.maxDropout)")
        }
        guard (2...3).contains(blendMembers.count), Set(blendMembers).count == blendMembers.count else {
            throw ConfigProblem("'\(name).blendMembers' must name two or three of \(Member.acceptedNames), each once")
        }
        // Range-checked as a Double before it becomes an Int: a tiny step must not trap.
        let divisions = 1 / blendStep
        guard blendStep.isFinite, blendStep > 0, divisions >= Double(Self.blendSteps.lowerBound) - 1e-9,
              divisions <= Double(Self.blendSteps.upperBound) + 1e-9, abs(divisions - divisions.rounded()) < 1e-9 else {
            throw ConfigProblem("'\(name).blendStep' must be 1 divided by a whole number from \(Self.blendSteps.lowerBound) to \(Self.blendSteps.upperBound) (0.1, 0.25, 0.5, …)")
        }
        guard (1...EASESettings.maxMaxItems).contains(maxItems) else {
            throw ConfigProblem("'\(name).maxItems' must be 1 to \(EASESettings.maxMaxItems)")
        }
        guard (0...Int(Int32.max)).contains(maxValidationUsers) else {
            throw ConfigProblem("'\(name).maxValidationUsers' must be 0 (every user) to \(Int32.max)")
        }
    }
}
