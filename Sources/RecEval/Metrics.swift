import RecCore
import RecData
import RecModels

/// Everything the score stage measured: the content of `output/metrics.json`.
///
/// Encode it with `JSON.encode` (sorted keys, so the same figures give the same bytes; a
/// non-finite value is an encoding error, never a silent NaN). Layout:
///
/// ```
/// {"rmse":{"train":…,"validation":…,"test":…},          required (validation only with one)
///  "mae":{"train":…,"validation":…,"test":…},           required
///  "topKAccuracy":{"5":…,"10":…},
///  "ranking":{"k":10,"precision":…,"recall":…,"ndcg":…,"hitRate":…,"mrr":…,"coverage":…,"usersEvaluated":…},
///  "baselines":{"globalMean":{"rmse":{…},"mae":{…}},"mostPopular":{"ranking":{…}},…},
///  "history":[{"epoch":1,"loss":…,"trainRMSE":…,"validationRMSE":…,"seconds":…},…],
///  "counts":{"users":…,"items":…,"train":…,"validation":…,"test":…},
///  "settings":{…}}
/// ```
///
/// The top level holds the model's own figures; `model` gives them in the same shape as a
/// baseline's, for side-by-side tables.
public struct Metrics: Codable, Sendable, Equatable {
    /// Root mean squared error of the rating model on each slice.
    public var rmse: SplitValues
    /// Mean absolute error of the rating model on each slice.
    public var mae: SplitValues
    /// Non-leaking top-k accuracy per k (see `TopKAccuracy`).
    public var topKAccuracy: [Int: Double]
    /// Full-catalogue ranking of the exported lists (see `RankingMetrics`).
    public var ranking: RankingMetrics
    /// The same figures for simple models, by name (`globalMean`, `userItemBias`,
    /// `mostPopular`, …); each fills what applies to it.
    public var baselines: [String: ModelMetrics]
    /// The rating model's training, one entry per epoch; empty for models without epochs.
    public var history: [EpochRecord]
    public var counts: Counts
    /// What the figures are: the configuration evaluated on a held-out split.
    public var evaluation: String
    /// What the published lists came from: models refitted on every rating.
    public var served: Served?
    /// How the ranking model was chosen on validation, with every candidate's figures
    /// (`"rankingModel": {"type": "choice"}` only).
    public var rankingCandidates: RankingCandidates?
    /// The settings the figures depend on.
    public var settings: JSONValue
    /// Novelty, diversity and popularity bias of the lists, and the similar lists' hit rate
    /// (`BeyondAccuracy.swift`); absent in files written before they were measured.
    public var listQuality: ListQuality?
    /// A rating model chosen on validation (`"type": "choice"`): every candidate's validation
    /// and test figures, the choice and the blend's weights; absent for a pinned model.
    public var ratingCandidates: JSONValue?

    public init(
        rmse: SplitValues, mae: SplitValues, topKAccuracy: [Int: Double], ranking: RankingMetrics,
        baselines: [String: ModelMetrics] = [:], history: [EpochRecord] = [], counts: Counts, settings: JSONValue = .null
    ) {
        self.rmse = rmse
        self.mae = mae
        self.topKAccuracy = topKAccuracy
        self.ranking = ranking
        self.baselines = baselines
        self.history = history
        self.counts = counts
        self.evaluation = Metrics.protocolNote
        self.served = nil
        self.rankingCandidates = nil
        self.settings = settings
    }

    /// How the figures were made, in `metrics.json` and the report.
    static let protocolNote = "These figures are for this configuration evaluated on a held-out split: models fitted on the train slice (the validation slice made their choices), test slice read once here. The published recommendations come from the same configuration refitted on every rating (see 'served')."

    /// The model's own figures in a baseline's shape.
    public var model: ModelMetrics {
        ModelMetrics(rmse: rmse, mae: mae, topKAccuracy: topKAccuracy, ranking: ranking)
    }
}

/// One figure per data slice. Validation is absent when the run had no validation slice.
public struct SplitValues: Codable, Sendable, Equatable {
    public var train: Double
    public var validation: Double?
    public var test: Double

    public init(train: Double, validation: Double? = nil, test: Double) {
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// The RMSE of each slice's `RatingMetrics`.
    public static func rmse(train: RatingMetrics, validation: RatingMetrics? = nil, test: RatingMetrics) -> SplitValues {
        SplitValues(train: train.rmse, validation: validation?.rmse, test: test.rmse)
    }

    /// The MAE of each slice's `RatingMetrics`.
    public static func mae(train: RatingMetrics, validation: RatingMetrics? = nil, test: RatingMetrics) -> SplitValues {
        SplitValues(train: train.mae, validation: validation?.mae, test: test.mae)
    }
}

/// The figures of one model (a baseline, or the model itself via `Metrics.model`); a model
/// fills only what it can be measured on (a popularity list has no RMSE).
public struct ModelMetrics: Codable, Sendable, Equatable {
    public var rmse: SplitValues?
    public var mae: SplitValues?
    public var topKAccuracy: [Int: Double]?
    public var ranking: RankingMetrics?

    public init(rmse: SplitValues? = nil, mae: SplitValues? = nil, topKAccuracy: [Int: Double]? = nil,
                ranking: RankingMetrics? = nil) {
        self.rmse = rmse
        self.mae = mae
        self.topKAccuracy = topKAccuracy
        self.ranking = ranking
    }
}

/// The serving product: what the published lists were made from.
public struct Served: Codable, Sendable, Equatable {
    /// Ratings the served models were fitted on, and whose movies the lists exclude: every one.
    public var ratings: Int
    public var users: Int
    public var items: Int
    /// Rows in the published lists: users × k, less where a user has fewer unrated movies.
    public var rows: Int
    /// What the evaluation chose and the served fit reused.
    public var choices: JSONValue

    public init(ratings: Int, users: Int, items: Int, rows: Int, choices: JSONValue) {
        self.ratings = ratings
        self.users = users
        self.items = items
        self.rows = rows
        self.choices = choices
    }
}

/// `metrics.json` of a serving-only run (`evaluation.enabled` false): no figures.
public struct ServingOnlyMetrics: Codable, Sendable, Equatable {
    public var evaluation = "skipped: this run fitted the served models only ('evaluation.enabled' is false); no figures were measured and no quality gate applied"
    public var served: Served
    public var settings: JSONValue

    public init(served: Served, settings: JSONValue) {
        self.served = served
        self.settings = settings
    }
}

extension Metrics {
    /// Sizes of the data the figures were measured on.
    public struct Counts: Codable, Sendable, Equatable {
        public var users: Int
        public var items: Int
        /// Ratings in each slice.
        public var train: Int
        public var validation: Int
        public var test: Int

        public init(users: Int, items: Int, train: Int, validation: Int, test: Int) {
            self.users = users
            self.items = items
            self.train = train
            self.validation = validation
            self.test = test
        }
    }
}
