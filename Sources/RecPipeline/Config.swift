import Foundation
import RecCore
import RecData
import RecModels

/// Every setting of the pipeline, read from `pipeline.json`.
///
/// Each field has a default; a `pipeline.json` gives only what it changes. Unknown keys are
/// errors (a misspelt setting must not be silently ignored). Relative paths are taken from the
/// folder that holds the configuration file, so cron can run from any working directory.
public struct PipelineConfig: Codable, Sendable, Equatable {
    public struct Input: Codable, Sendable, Equatable {
        /// Ratings file of any MovieLens release, its format detected from the content:
        /// `UserID::MovieID::Rating[::Timestamp]` (ML-1M, ML-10M), tab-separated
        /// `user item rating timestamp` (ML-100K `u.data`), or `ratings.csv` (ML-20M and later).
        public var ratings = "data/ml-1m/ratings.dat"
        /// Movies file: `MovieID::Title::Genres` (ML-1M, ML-10M), ML-100K's pipe-separated
        /// `u.item`, or `movies.csv` (`movieId,title,genres`, RFC 4180 quoting).
        public var movies = "data/ml-1m/movies.dat"
        public var moviesEncoding = MoviesEncoding.auto
        /// `auto` (the release's scale, from the data) or `[lowest, highest]`.
        public var ratingScale = RatingScale.auto
        /// What a malformed line does: `error` (stop, naming file and line) or `skip` (count it).
        public var invalidLines = InvalidLinePolicy.error
    }

    public struct Split: Codable, Sendable, Equatable {
        /// `random`: a seeded random share of each user's ratings; `temporal`: each user's
        /// latest ratings (needs timestamps).
        public var method = Splitter.Method.random
        public var seed: UInt64 = 42
        /// Share of each user's ratings held out for the final test.
        public var testRatio = 0.25
        /// Share of each user's remaining ratings held out for validation (epoch choice).
        public var validationRatio = 0.0
    }

    /// What the run produces besides the served lists.
    public struct Evaluation: Codable, Sendable, Equatable {
        /// `false`: serving only (no evaluation fits, no figures, no quality gate); the served
        /// models then use `epochs` and `lambda` as given.
        public var enabled = true
    }

    /// The figures a run must reach before its exports replace the last published ones.
    /// A bound that is `null` is not checked.
    public struct QualityGate: Codable, Sendable, Equatable {
        /// Lowest acceptable NDCG@k of the evaluated lists.
        var minNDCG: Double?
        /// Highest acceptable test RMSE of the rating model.
        var maxRMSE: Double?
        /// Largest relative fall of NDCG@k against the last published run's (0.1 = 10 %).
        var maxNDCGDrop: Double? = 0.1
        /// Largest relative rise of the test RMSE against the last published run's.
        var maxRMSERise: Double? = 0.1

        public init() {}

        enum CodingKeys: String, CodingKey { case minNDCG, maxRMSE, maxNDCGDrop, maxRMSERise }

        /// Every key is written, `null` included, so that the defaults list every setting.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(minNDCG, forKey: .minNDCG)
            try c.encode(maxRMSE, forKey: .maxRMSE)
            try c.encode(maxNDCGDrop, forKey: .maxNDCGDrop)
            try c.encode(maxRMSERise, forKey: .maxRMSERise)
        }
    }

    public struct Score: Codable, Sendable, Equatable {
        /// Recommendations per user.
        public var k = 10
    }

    /// What `rec-pipeline` tells a monitoring system about each run.
    public struct Monitoring: Codable, Sendable, Equatable {
        /// A Prometheus text-format file for node_exporter's textfile collector, rewritten at
        /// the end of every run (empty = none). node_exporter reads only names ending in `.prom`.
        public var textfile = ""
    }

    public var input = Input()
    /// Where the stages keep their artefacts.
    public var artefactDir = "output/artefacts"
    /// Where the exports, metrics and report go.
    public var outputDir = "output"
    /// Dispatch workers; 0 = all cores. Results are identical for any value.
    public var workers = 0
    /// The most memory a stage may plan to use, in GB (10⁹ bytes); 0 = 90 % of the physical
    /// memory. A stage whose estimate is above it stops before allocating (`MemoryPlan`).
    public var memoryLimitGB = 0.0
    public var split = Split()
    public var evaluation = Evaluation()
    public var ratingModel = RatingModelConfig.userAutoencoder(AutoencoderSettings())
    public var rankingModel = RankingModelConfig.ratingModel
    public var score = Score()
    public var qualityGate = QualityGate()
    /// How the exports are written: CSV cells, permissions of new files (ExportSettings.swift).
    public var export = ExportSettings()
    /// What may be recommended tonight (CatalogueRules.swift).
    public var catalogueRules = CatalogueRulesSettings()
    public var monitoring = Monitoring()
    /// How `rec-pipeline --engine slurm` submits the jobs (operational: in no fingerprint).
    public var slurm = Slurm()

    /// The folder relative paths are taken from.
    public var baseDirectory = "."
    /// The settings file this was loaded from (nil: built in code), which owns the folders
    /// (`FolderClaim`).
    public var settingsFile: SettingsFileIdentity?

    enum CodingKeys: String, CodingKey {
        case input, artefactDir, outputDir, workers, memoryLimitGB, split, evaluation, ratingModel, rankingModel, score, qualityGate, monitoring, slurm
        case export
        case catalogueRules
    }

    public init() {}

    /// Loads a configuration: defaults, overlaid with the file's values, then checked
    /// (duplicate keys and the two folders too: see ConfigFile.swift).
    public static func load(_ path: String) throws -> PipelineConfig {
        try loadKeepingBytes(path).config
    }

    /// Loads a configuration as `load` does, and returns the bytes it was read from.
    /// - Parameter copy: read the bytes from this copy of the settings file instead (taken
    ///   when a cluster run was submitted); relative paths are still taken from `path`'s folder.
    public static func loadKeepingBytes(_ path: String, copy: String? = nil) throws -> (config: PipelineConfig, bytes: [UInt8]) {
        let bytes = try readSettingsFile(copy ?? path)
        var config = try parse(bytes: bytes, file: copy ?? path)
        config.baseDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        config.settingsFile = SettingsFileIdentity.of(path)
        try config.checkFolders(file: path)
        return (config, bytes)
    }

    /// Overlays `user` on the defaults and decodes; unknown keys and wrong types are errors.
    ///
    /// A model section is overlaid on the defaults of the type it names (or of the default
    /// type), so only that type's keys are known there.
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
                var alone = path.reversed().reduce(value) { JSONValue.object([$1: $0]) }
                // A model section's key is known only under its type: keep the type beside it.
                if path.count == 2, case .object(let top) = user, case .object(let section)? = top[path[0]],
                   let type = section["type"], path[1] != "type" {
                    alone = .object([path[0]: .object([path[1]: value, "type": type])])
                }
                guard let m = try? merge(defaults, alone, path: "", file: file) else { return false }
                return (try? JSONDecoder().decode(PipelineConfig.self, from: JSON.encode(m))) == nil
            }
            throw RecError(.config, bad.map { "'\($0.path.joined(separator: "."))' does not fit its type (a fraction for a whole number, a negative seed, or too large)" }
                ?? c.debugDescription, file: file)
        } catch {
            throw RecError(.config, describe(error), file: file)
        }
        try config.validate(file: file)
        return config
    }

    /// The defaults of a model section for the type that `over` names (nil: keep `base`).
    private static func modelDefaults(_ key: String, base: JSONValue, over: JSONValue, file: String) throws -> JSONValue {
        guard ["ratingModel", "rankingModel"].contains(key), case .object(let o) = over, let typeValue = o["type"] else { return base }
        guard case .string(let type) = typeValue else { throw RecError(.config, "'\(key).type' must be a string", file: file) }
        let types = key == "ratingModel" ? RatingModelConfig.types : RankingModelConfig.types
        let encoded: JSONValue? = key == "ratingModel"
            ? try RatingModelConfig.defaults(type: type).map { try JSONValue.from($0) }
            : try RankingModelConfig.defaults(type: type).map { try JSONValue.from($0) }
        guard let encoded else {
            throw RecError(.config, "'\(key).type' must be one of " + types.joined(separator: ", "), file: file)
        }
        return encoded
    }

    private static func merge(_ base: JSONValue, _ over: JSONValue, path: String, file: String) throws -> JSONValue {
        guard case .object(let b) = base else { return over }
        guard case .object(let o) = over else {
            throw RecError(.config, "'\(path.isEmpty ? "(top level)" : path)' must be an object", file: file)
        }
        var out = b
        for (key, value) in o {
            let keyPath = path.isEmpty ? key : path + "." + key
            guard var defaultValue = b[key] else {
                let owner = path.isEmpty ? "" : (b["type"]?.stringValue.map { " for type \($0)" } ?? "")
                throw RecError(.config, "unknown setting '\(keyPath)'\(owner)", file: file,
                               hint: "known here: " + b.keys.sorted().joined(separator: ", "))
            }
            if path.isEmpty { defaultValue = try modelDefaults(key, base: defaultValue, over: value, file: file) }
            if ["ratingModel.candidates", "ratingModel.largeDataCandidates"].contains(keyPath) {
                out[key] = try mergeCandidates(value, path: keyPath, file: file) { try merge($0, $1, path: $2, file: file) }
                continue
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

    /// Largest `score.k`: lists longer than this are no recommendation (and users × k must
    /// fit in memory; the score stage checks that against the data).
    static let maxK = 10_000
    /// Largest `workers`: Dispatch and BLAS take a 32-bit count.
    static let maxWorkers = 1024

    /// The one check of a worker count, for the setting and for every `--workers` option: a
    /// command-line override must not accept what the settings file refuses.
    /// - Throws: `RecError(.config)` naming `name` (`'workers'` or `--workers`).
    public static func checkWorkers(_ workers: Int, name: String, file: String? = nil) throws {
        guard (0...maxWorkers).contains(workers) else {
            throw RecError(.config, "\(name) must be 0 (all cores) to \(maxWorkers), not \(workers)", file: file)
        }
    }

    /// Range checks that JSON types cannot express, and combinations that cannot work; all
    /// made before any stage runs. (A name setting such as `split.method` is checked where it
    /// is decoded: see `SettingChoice`.)
    public func validate(file: String = "pipeline.json") throws {
        func bad(_ what: String) -> RecError { RecError(.config, what, file: file) }
        guard input.ratingScale.isValid else { throw bad(RatingScale.invalidMessage) }
        guard split.testRatio > 0, split.testRatio < 1 else { throw bad("'split.testRatio' must be between 0 and 1") }
        guard split.validationRatio >= 0, split.validationRatio < 1 else {
            throw bad("'split.validationRatio' must be at least 0 and below 1")
        }
        try Self.checkWorkers(workers, name: "'workers'", file: file)
        guard memoryLimitGB.isFinite, memoryLimitGB >= 0 else { throw bad("'memoryLimitGB' must be 0 (90 % of the physical memory) or a number of GB") }
        guard (1...Self.maxK).contains(score.k) else { throw bad("'score.k' must be 1 to \(Self.maxK)") }
        for (name, bound) in [("minNDCG", qualityGate.minNDCG), ("maxRMSE", qualityGate.maxRMSE),
                              ("maxNDCGDrop", qualityGate.maxNDCGDrop), ("maxRMSERise", qualityGate.maxRMSERise)] {
            if let bound, !(bound.isFinite && bound >= 0) { throw bad("'qualityGate.\(name)' must be null (off) or a number, 0 or more") }
        }
        try catalogueRules.validate(file: file)
        guard monitoring.textfile.isEmpty || monitoring.textfile.hasSuffix(".prom") else {
            throw bad("'monitoring.textfile' must end in .prom (node_exporter's textfile collector reads no other files)")
        }
        try validateRatingModel(file: file)
        do {
            switch rankingModel {
            case .userAutoencoder(let s): try s.validate("rankingModel")
            case .ease(let s): try s.validate("rankingModel")
            case .choice(let s): try s.validate("rankingModel")
            case .ratingModel, .popularity: break
            }
        } catch let p as ConfigProblem {
            throw bad(p.message)
        }
        if case .ratingModel = rankingModel, case .itemAutoencoder = ratingModel {
            throw bad("'rankingModel.type' rating-model needs a user-based rating model: an item autoencoder cannot rank a user's movies by itself; set rankingModel.type to ease, popularity or user-autoencoder")
        }
        let needsValidation = [("ratingModel.earlyStoppingPatience", ratingModel.settings.earlyStoppingPatience > 0),
                               ("rankingModel.earlyStoppingPatience", { if case .userAutoencoder(let s) = rankingModel { s.earlyStoppingPatience > 0 } else { false } }()),
                               ("rankingModel.lambdaGrid", { if case .ease(let s) = rankingModel { !s.lambdaGrid.isEmpty } else { false } }()),
                               ("rankingModel.candidates", { if case .choice(let s) = rankingModel { s.choosesOnValidation } else { false } }())]
            .filter(\.1).map(\.0)
        if let first = needsValidation.first {
            guard evaluation.enabled else {
                throw bad("'\(first)' chooses on the validation slice, which a serving-only run ('evaluation.enabled': false) has not: remove it or enable evaluation")
            }
            guard split.validationRatio > 0 else {
                throw bad("early stopping, lambdaGrid and a choice of ranking model need a validation slice: set 'split.validationRatio' above 0 ('\(first)' is set)")
            }
        }
    }

    /// A path from the configuration, made absolute against `baseDirectory`.
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardized.path
    }

    public var paths: StagePaths { StagePaths(artefacts: resolve(artefactDir), output: resolve(outputDir)) }
}

/// Where each stage's files live.
///
/// One run makes two products: the evaluation (models fitted without the test split, their
/// lists and figures) and the serving (models refitted on every rating, the published lists).
/// Evaluation artefacts carry an `eval-` prefix; the served ones keep the plain names.
public struct StagePaths: Sendable {
    public let artefacts: String
    public let output: String

    public var ratings: String { artefacts + "/ratings.art" }
    public var catalogue: String { artefacts + "/catalogue.art" }
    public var train: String { artefacts + "/train.art" }
    public var validation: String { artefacts + "/validation.art" }
    public var test: String { artefacts + "/test.art" }
    public var matrices: String { artefacts + "/matrices.art" }
    /// The rating model fitted for evaluation (train, validation for its choices).
    var evalModel: String { artefacts + "/eval-model.art" }
    var evalRankingModel: String { artefacts + "/eval-ranking-model.art" }
    /// The served rating model, refitted on every rating.
    public var model: String { artefacts + "/model.art" }
    public var rankingModel: String { artefacts + "/ranking-model.art" }
    /// The evaluation lists (built from train + validation, measured on test).
    var evalTopK: String { artefacts + "/eval-topk.art" }
    /// The served lists (built from every rating, excluding every rated movie).
    public var topK: String { artefacts + "/topk.art" }
    /// `rec-score`'s metrics and report, kept beside the artefacts until `rec-export`
    /// publishes them with the recommendations.
    var stagedMetrics: String { artefacts + "/metrics.json" }
    var stagedReport: String { artefacts + "/report.html" }
    public var metrics: String { output + "/metrics.json" }
    public var recommendationsCSV: String { output + "/recommendations.csv" }
    var recommendationsJSONL: String { output + "/recommendations.jsonl" }
    public var report: String { output + "/report.html" }
    /// The served lists' reasons and the similar lists (`Explanations`), written by `rec-score`.
    public var explanations: String { artefacts + "/explanations.art" }
    public var similarCSV: String { output + "/similar.csv" }
    public var similarJSONL: String { output + "/similar.jsonl" }
}
