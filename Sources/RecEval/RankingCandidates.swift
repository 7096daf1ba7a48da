import RecModels

/// The choice of the model that orders the lists (`"rankingModel": {"type": "choice"}`):
/// `metrics.json`'s `rankingCandidates`.
///
/// `rec-train` fills everything but the test figures: each candidate's figures on the validation
/// slice (fitted on train), the choice, the grids it was made on. `rec-score` adds each
/// candidate's test figures afterwards (refitted on train + validation, as the chosen model's
/// lists are), so the test slice is read once, after the choice.
public struct RankingCandidates: Codable, Sendable, Equatable {
    /// One model that competed.
    public struct Candidate: Codable, Sendable, Equatable {
        /// `ease`, `dlae` or `blend`.
        public var name: String
        /// Its members and their settings: `EASE λ 300`, `DLAE λ 300, p 0.5`, `popularity`.
        public var members: [String]
        /// One weight per member (1 for a single model).
        public var weights: [Double]
        public var validation: RankingMetrics?
        public var test: RankingMetrics?

        public init(name: String, members: [String], weights: [Double], validation: RankingMetrics?, test: RankingMetrics? = nil) {
            self.name = name
            self.members = members
            self.weights = weights
            self.validation = validation
            self.test = test
        }
    }

    /// One fit of a λ (and p) grid, by validation NDCG@k.
    public struct GridPoint: Codable, Sendable, Equatable {
        public var model: String
        public var validationNDCG: Double

        public init(model: String, validationNDCG: Double) {
            self.model = model
            self.validationNDCG = validationNDCG
        }
    }

    /// One weighting of the blend's grid, by validation NDCG@k.
    public struct BlendPoint: Codable, Sendable, Equatable {
        public var weights: [Double]
        public var validationNDCG: Double

        public init(weights: [Double], validationNDCG: Double) {
            self.weights = weights
            self.validationNDCG = validationNDCG
        }
    }

    /// The name of the chosen candidate; its lists are the run's (`ranking` holds its test figures).
    public var chosen: String
    /// How the choice was made.
    public var protocolNote: String
    public var candidates: [Candidate]
    public var grid: [GridPoint]
    /// The blend's members (in `BlendPoint.weights` order) and its weight grid.
    public var blendMembers: [String]
    public var blendGrid: [BlendPoint]
    /// How many users' validation lists judged the choice, when they were a sample
    /// (`rankingModel.maxValidationUsers`); absent when every user's were.
    public var sampledUsers: Int?

    public init(chosen: String, protocolNote: String, candidates: [Candidate], grid: [GridPoint], blendMembers: [String], blendGrid: [BlendPoint]) {
        self.chosen = chosen
        self.protocolNote = protocolNote
        self.candidates = candidates
        self.grid = grid
        self.blendMembers = blendMembers
        self.blendGrid = blendGrid
    }

    public static let chosenOnValidation = "Each candidate was fitted on the train slice and its lists measured on the validation slice; the one with the best validation NDCG@k was chosen (ties to the one listed first). Every candidate was then refitted on train + validation and its lists measured on the test slice, read once, after the choice: the test figures did not take part in it."
    /// What `protocolNote` adds when the validation lists were a sample.
    public static func sampleNote(_ sampled: Int, of users: Int) -> String {
        "The validation lists were those of \(sampled) of the \(users) users with validation ratings, drawn at random with the split's seed (rankingModel.maxValidationUsers)."
    }

    public static let noValidation = "The validation slice holds no rating: nothing was chosen; the first candidate (a blend: equal weights) with the first value of each grid is used."
}

extension Report {
    /// The report's section on the choice of the ranking model: each candidate's validation and
    /// test figures side by side, the chosen one marked, the blend's weights and the grids.
    /// Hooks: `<section id="ranking-candidates">`, `<table id="candidates">` with one
    /// `<tr class="candidate">` per candidate (`chosen` added to the chosen one's class).
    static func rankingCandidates(_ r: RankingCandidates) -> String {
        func cell(_ x: Double?) -> String { x.map { "<td>\(MetricsTable.number($0))</td>" } ?? "<td>–</td>" }
        var out = "<section id=\"ranking-candidates\">\n<h2>The model that orders the lists</h2>\n"
        out += "<p class=\"protocol\">\(HTML.escape(r.protocolNote)) Chosen: <strong>\(HTML.escape(r.chosen))</strong>.</p>\n"
        out += "<div class=\"scroll\">\n<table id=\"candidates\">\n<thead><tr><th>candidate</th><th>members (weight)</th>"
        out += "<th>validation NDCG</th><th>validation recall</th><th>test NDCG</th><th>test recall</th><th>test precision</th><th>test hit rate</th></tr></thead>\n<tbody>\n"
        for c in r.candidates {
            let members = zip(c.members, c.weights).map { "\($0) (\(MetricsTable.number($1)))" }.joined(separator: ", ")
            out += "<tr class=\"candidate\(c.name == r.chosen ? " chosen" : "")\"><td>\(HTML.escape(c.name))\(c.name == r.chosen ? " (chosen)" : "")</td>"
            out += "<td>\(HTML.escape(members))</td>"
            out += cell(c.validation?.ndcg) + cell(c.validation?.recall) + cell(c.test?.ndcg) + cell(c.test?.recall)
                + cell(c.test?.precision) + cell(c.test?.hitRate) + "</tr>\n"
        }
        out += "</tbody>\n</table>\n</div>\n"
        if !r.grid.isEmpty {
            out += "<p class=\"grid\">Validation NDCG of each fit: "
                + HTML.escape(r.grid.map { "\($0.model) \(MetricsTable.number($0.validationNDCG))" }.joined(separator: "; ")) + ".</p>\n"
        }
        if let best = r.blendGrid.max(by: { $0.validationNDCG < $1.validationNDCG }) {
            out += "<p class=\"blend-grid\">Blend of " + HTML.escape(r.blendMembers.joined(separator: ", "))
                + ": \(r.blendGrid.count) weightings compared on validation, the best "
                + HTML.escape(best.weights.map(MetricsTable.number).joined(separator: " / "))
                + " (NDCG \(MetricsTable.number(best.validationNDCG))).</p>\n"
        }
        return out + "</section>\n"
    }
}
