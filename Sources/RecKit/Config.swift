import Foundation

/// Every setting of the pipeline, read from `pipeline.json`.
///
/// Each field has a default; a `pipeline.json` gives only what it changes. Unknown keys are
/// errors (a misspelt setting must not be silently ignored). Relative paths are taken from the
/// folder that holds the configuration file, so cron can run from any working directory.
public struct PipelineConfig: Codable, Sendable, Equatable {
    public struct Input: Codable, Sendable, Equatable {
        /// Ratings file: `UserID::MovieID::Rating[::Timestamp]` (ML-1M) or tab-separated
        /// `user item rating timestamp` (ML-100K `u.data`).
        public var ratings = "data/ml-1m/ratings.dat"
        /// Movies file: `MovieID::Title::Genres` (ML-1M) or ML-100K's pipe-separated `u.item`.
        public var movies = "data/ml-1m/movies.dat"
        /// `auto` (UTF-8 when the file is valid UTF-8, else ISO-8859-1), `latin1` or `utf8`.
        public var moviesEncoding = "auto"
        /// Lowest and highest valid rating.
        public var ratingScale: [Double] = [1, 5]
        /// What a malformed line does: `error` (stop, naming file and line) or `skip` (count it).
        public var invalidLines = "error"
    }

    public struct Split: Codable, Sendable, Equatable {
        public var seed: UInt64 = 42
        /// Share of each user's ratings held out for the final test.
        public var testRatio = 0.25
        /// Share of each user's remaining ratings held out for validation (epoch choice).
        public var validationRatio = 0.0
    }

    /// A model: which kind, and the settings of that kind (unused ones are ignored).
    public struct Model: Codable, Sendable, Equatable {
        /// `user-autoencoder` (the seed's), `item-autoencoder` (I-AutoRec), `mult-dae`, `ease`,
        /// `popularity`; for the ranking model also `rating-model` (rank by predicted rating).
        public var type = "user-autoencoder"
        public var hidden = [200, 100, 200]
        /// Hidden activation: `sigmoid`, `tanh`, `relu`, `identity`.
        public var activation = "sigmoid"
        /// `adam` or `rmsprop`.
        public var optimizer = "adam"
        public var learningRate = 0.001
        /// The learning rate is multiplied by this after every epoch (1 = constant).
        public var learningRateDecay = 1.0
        /// L2 penalty added to the gradient of every weight, not of the biases (PyTorch's
        /// `weight_decay` restricted to the weights, as AutoRec regularises).
        public var weightDecay = 0.0
        public var batchSize = 64
        public var epochs = 50
        public var seed: UInt64 = 1
        /// Share of input entries dropped during training (denoising).
        public var inputDropout = 0.0
        /// Stop when validation has not improved for this many epochs (0 = never).
        public var earlyStoppingPatience = 0
        /// Ridge penalty of EASE.
        public var lambda = 500.0
        /// When not empty, EASE's λ is chosen from these by NDCG@k on the validation slice
        /// (fitted on train), then refitted on train + validation.
        public var lambdaGrid: [Double] = []
        /// What EASE's input holds for a rated movie: `binary` (1) or `rating` (rating / highest).
        public var weighting = "binary"
        /// How EASE solves for B: `auto` (`exact` up to 5,000 rated movies, else `blocked`),
        /// `exact` (Double, every movie, one thread), `blocked` (Float tiles on every worker,
        /// over the `maxItems` most-rated movies).
        public var solver = "auto"
        /// The most movies the blocked EASE solver covers (the most-rated ones); the others are
        /// never recommended.
        public var maxItems = 12_000

        public init() {}
    }

    public struct Score: Codable, Sendable, Equatable {
        /// Recommendations per user.
        public var k = 10
    }

    public var input = Input()
    /// Where the stages keep their artefacts.
    public var artefactDir = "output/artefacts"
    /// Where the exports, metrics and report go.
    public var outputDir = "output"
    /// Dispatch workers; 0 = all cores. Results are identical for any value.
    public var workers = 0
    public var split = Split()
    public var ratingModel = Model()
    public var rankingModel: Model = { var m = Model(); m.type = "rating-model"; return m }()
    public var score = Score()

    /// The folder relative paths are taken from.
    public var baseDirectory = "."

    enum CodingKeys: String, CodingKey {
        case input, artefactDir, outputDir, workers, split, ratingModel, rankingModel, score
    }

    public init() {}

    /// Loads a configuration: defaults, overlaid with the file's values, then checked.
    public static func load(_ path: String) throws -> PipelineConfig {
        let bytes = try AtomicFile.read(path)
        let user: JSONValue
        do {
            user = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw RecError(.config, "not valid JSON: \(describe(error))", file: path)
        }
        var config = try parse(user, file: path)
        config.baseDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return config
    }

    /// Overlays `user` on the defaults and decodes; unknown keys and wrong types are errors.
    public static func parse(_ user: JSONValue, file: String = "pipeline.json") throws -> PipelineConfig {
        let defaults = try JSONValue.from(PipelineConfig())
        let merged = try merge(defaults, user, path: "", file: file)
        let config: PipelineConfig
        do {
            config = try JSONDecoder().decode(PipelineConfig.self, from: JSON.encode(merged))
        } catch DecodingError.dataCorrupted(let c) where c.codingPath.isEmpty {
            // Foundation names no key when a number does not fit its type ("The given data was
            // not valid JSON."): find the value that fails when overlaid alone.
            let bad = leaves(user).first { path, value in
                let alone = path.reversed().reduce(value) { JSONValue.object([$1: $0]) }
                return (try? JSONDecoder().decode(PipelineConfig.self, from: JSON.encode(merge(defaults, alone, path: "", file: file)))) == nil
            }
            throw RecError(.config, bad.map { "'\($0.path.joined(separator: "."))' does not fit its type (a fraction for a whole number, a negative seed, or too large)" }
                ?? c.debugDescription, file: file)
        } catch {
            throw RecError(.config, describe(error), file: file)
        }
        try config.validate(file: file)
        return config
    }

    private static func merge(_ base: JSONValue, _ over: JSONValue, path: String, file: String) throws -> JSONValue {
        guard case .object(let b) = base else { return over }
        guard case .object(let o) = over else {
            throw RecError(.config, "'\(path.isEmpty ? "(top level)" : path)' must be an object", file: file)
        }
        var out = b
        for (key, value) in o {
            let keyPath = path.isEmpty ? key : path + "." + key
            guard let defaultValue = b[key] else {
                throw RecError(.config, "unknown setting '\(keyPath)'", file: file,
                               hint: "known here: " + b.keys.sorted().joined(separator: ", "))
            }
            out[key] = try merge(defaultValue, value, path: keyPath, file: file)
        }
        return .object(out)
    }

    /// Every (key path, value) of a JSON object whose value is not an object, in key order.
    private static func leaves(_ v: JSONValue, _ path: [String] = []) -> [(path: [String], value: JSONValue)] {
        guard case .object(let o) = v else { return [(path, v)] }
        return o.keys.sorted().flatMap { leaves(o[$0]!, path + [$0]) }
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.typeMismatch(let type, let c), DecodingError.valueNotFound(let type, let c):
            return "'\(c.codingPath.map(\.stringValue).joined(separator: "."))' must be of type \(type)"
        case DecodingError.dataCorrupted(let c):
            return c.debugDescription
        default:
            return "\(error)"
        }
    }

    /// Range checks that JSON types cannot express.
    public func validate(file: String = "pipeline.json") throws {
        func bad(_ what: String) -> RecError { RecError(.config, what, file: file) }
        guard input.ratingScale.count == 2, input.ratingScale[0] < input.ratingScale[1] else {
            throw bad("'input.ratingScale' must be [lowest, highest]")
        }
        guard ["error", "skip"].contains(input.invalidLines) else { throw bad("'input.invalidLines' must be \"error\" or \"skip\"") }
        guard ["auto", "latin1", "utf8"].contains(input.moviesEncoding) else {
            throw bad("'input.moviesEncoding' must be \"auto\", \"latin1\" or \"utf8\"")
        }
        guard split.testRatio > 0, split.testRatio < 1 else { throw bad("'split.testRatio' must be between 0 and 1") }
        guard split.validationRatio >= 0, split.validationRatio < 1 else {
            throw bad("'split.validationRatio' must be at least 0 and below 1")
        }
        guard workers >= 0 else { throw bad("'workers' must be 0 (all cores) or more") }
        guard score.k >= 1 else { throw bad("'score.k' must be at least 1") }
        for (name, m) in [("ratingModel", ratingModel), ("rankingModel", rankingModel)] {
            let types = name == "ratingModel" ? Model.ratingTypes : Model.rankingTypes
            guard types.contains(m.type) else {
                throw bad("'\(name).type' must be one of " + types.joined(separator: ", "))
            }
            guard m.hidden.allSatisfy({ $0 >= 1 }), !m.hidden.isEmpty else { throw bad("'\(name).hidden' must be positive sizes") }
            guard ["sigmoid", "tanh", "relu", "identity"].contains(m.activation) else {
                throw bad("'\(name).activation' must be sigmoid, tanh, relu or identity")
            }
            guard ["adam", "rmsprop"].contains(m.optimizer) else { throw bad("'\(name).optimizer' must be adam or rmsprop") }
            guard m.learningRateDecay > 0, m.learningRateDecay <= 1 else { throw bad("'\(name).learningRateDecay' must be in (0, 1]") }
            guard m.learningRate > 0, m.weightDecay >= 0, m.batchSize >= 1, m.epochs >= 1 else {
                throw bad("'\(name)': learningRate > 0, weightDecay >= 0, batchSize >= 1 and epochs >= 1")
            }
            guard m.inputDropout >= 0, m.inputDropout < 1 else { throw bad("'\(name).inputDropout' must be in [0, 1)") }
            guard m.earlyStoppingPatience >= 0, m.lambda >= 0 else { throw bad("'\(name)': earlyStoppingPatience and lambda must be >= 0") }
            guard ["binary", "rating"].contains(m.weighting) else { throw bad("'\(name).weighting' must be binary or rating") }
            guard m.lambdaGrid.allSatisfy({ $0 >= 0 }) else { throw bad("'\(name).lambdaGrid' values must be >= 0") }
            guard ["auto", "exact", "blocked"].contains(m.solver) else { throw bad("'\(name).solver' must be auto, exact or blocked") }
            guard m.maxItems >= 1 else { throw bad("'\(name).maxItems' must be at least 1") }
        }
        if ratingModel.earlyStoppingPatience > 0 || rankingModel.earlyStoppingPatience > 0 || !rankingModel.lambdaGrid.isEmpty,
           split.validationRatio == 0 {
            throw bad("early stopping and lambdaGrid need a validation slice: set 'split.validationRatio' above 0")
        }
    }

    /// A path from the configuration, made absolute against `baseDirectory`.
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardized.path
    }

    public var paths: StagePaths { StagePaths(artefacts: resolve(artefactDir), output: resolve(outputDir)) }
}

extension PipelineConfig.Model {
    public static let ratingTypes = ["user-autoencoder", "item-autoencoder"]
    public static let rankingTypes = ["rating-model", "user-autoencoder", "ease", "popularity"]
}

/// Where each stage's files live.
public struct StagePaths: Sendable {
    public let artefacts: String
    public let output: String

    public var ratings: String { artefacts + "/ratings.art" }
    public var catalogue: String { artefacts + "/catalogue.art" }
    public var train: String { artefacts + "/train.art" }
    public var validation: String { artefacts + "/validation.art" }
    public var test: String { artefacts + "/test.art" }
    public var matrices: String { artefacts + "/matrices.art" }
    public var model: String { artefacts + "/model.art" }
    public var rankingModel: String { artefacts + "/ranking-model.art" }
    public var topK: String { artefacts + "/topk.art" }
    /// `rec-score`'s metrics and report, kept beside the artefacts until `rec-export`
    /// publishes them with the recommendations.
    public var stagedMetrics: String { artefacts + "/metrics.json" }
    public var stagedReport: String { artefacts + "/report.html" }
    public var metrics: String { output + "/metrics.json" }
    public var recommendationsCSV: String { output + "/recommendations.csv" }
    public var recommendationsJSONL: String { output + "/recommendations.jsonl" }
    public var report: String { output + "/report.html" }
}
