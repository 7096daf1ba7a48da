import RecData

/// The model-versus-baselines table, laid out once and rendered both as text and as HTML.
///
/// Rows: the model first, then the baselines by name. Columns come in two sections (rating
/// accuracy, ranking), each cut into groups (RMSE, MAE, top-k accuracy, ranking at k). A
/// validation column appears only when some row has a validation figure. Cells a model cannot
/// be measured on are `nil`. Groups without columns (no top-k accuracy anywhere) are left out.
struct MetricsTable {
    struct Group {
        let title: String
        let labels: [String]
    }

    struct Section {
        let title: String
        let groups: [Group]
    }

    struct Row {
        let name: String
        let isModel: Bool
        /// One array per section, one cell per column.
        let cells: [[String?]]
    }

    let sections: [Section]
    let rows: [Row]

    init(_ metrics: Metrics) {
        let models: [(name: String, isModel: Bool, figures: ModelMetrics)] = [("model", true, metrics.model)]
            + metrics.baselines.sorted { $0.key < $1.key }.map { ($0.key, false, $0.value) }
        let hasValidation = models.contains { $0.figures.rmse?.validation != nil || $0.figures.mae?.validation != nil }
        let ks = Set(models.flatMap { ($0.figures.topKAccuracy ?? [:]).keys }).sorted()

        let slices = hasValidation ? ["train", "validation", "test"] : ["train", "test"]
        func split(_ v: SplitValues?) -> [String?] {
            let values = [v?.train] + (hasValidation ? [v?.validation] : []) + [v?.test]
            return values.map { $0.map(Self.number) }
        }
        let rankingLabels = ["k", "precision", "recall", "NDCG", "hit rate", "MRR", "coverage", "users"]
        func ranking(_ r: RankingMetrics?) -> [String?] {
            guard let r else { return rankingLabels.map { _ in nil } }
            return [String(r.k)] + [r.precision, r.recall, r.ndcg, r.hitRate, r.mrr, r.coverage].map(Self.number)
                + [String(r.usersEvaluated)]
        }

        sections = [
            Section(title: "Rating accuracy (lower is better)", groups: [
                Group(title: "RMSE", labels: slices), Group(title: "MAE", labels: slices),
            ]),
            Section(title: "Ranking (higher is better)", groups: [
                Group(title: "Top-k accuracy", labels: ks.map { "@\($0)" }),
                Group(title: "Full-catalogue ranking at k", labels: rankingLabels),
            ].filter { !$0.labels.isEmpty }),
        ]
        rows = models.map { name, isModel, m in
            let accuracy = ks.map { k in m.topKAccuracy?[k].map(Self.number) }
            return Row(name: name, isModel: isModel, cells: [split(m.rmse) + split(m.mae), accuracy + ranking(m.ranking)])
        }
    }

    /// A figure as shown in the tables: four decimals.
    static func number(_ x: Double) -> String { RecommendationExport.fixed(x, digits: 4) }

    /// Plain text: one block per section, a line of group titles over a line of column labels,
    /// columns right-aligned, `-` for a missing cell.
    func text() -> String {
        let nameWidth = max(rows.map(\.name.count).max() ?? 0, 5)
        var out = ""
        for (s, section) in sections.enumerated() {
            let labels = section.groups.flatMap(\.labels)
            let cells = rows.map { $0.cells[s].map { $0 ?? "-" } }
            var widths = labels.indices.map { c in max(labels[c].count, cells.map { $0[c].count }.max() ?? 0) }
            // A group title starts over its first column; its last column widens to fit it.
            var groupLine = pad("", nameWidth), column = 0
            for g in section.groups {
                let columns = column..<(column + g.labels.count)
                let span = widths[columns].reduce(0) { $0 + $1 + 2 } - 2
                widths[columns.upperBound - 1] += max(0, g.title.count - span)
                groupLine += "  " + pad(g.title, max(span, g.title.count))
                column = columns.upperBound
            }
            out += section.title + "\n" + trimmed(groupLine) + "\n"
            out += trimmed(pad("", nameWidth) + labels.indices.map { "  " + pad(labels[$0], widths[$0], right: true) }.joined()) + "\n"
            for (r, row) in rows.enumerated() {
                out += pad(row.name, nameWidth) + cells[r].indices.map { "  " + pad(cells[r][$0], widths[$0], right: true) }.joined() + "\n"
            }
            out += "\n"
        }
        return out
    }

    /// An HTML `<table id="metrics">`: a header row of groups over a header row of labels, one
    /// `<tr class="model">` or `<tr class="baseline">` per model, `–` for a missing cell.
    func html() -> String {
        let groups = sections.flatMap(\.groups)
        var out = "<table id=\"metrics\">\n<thead>\n<tr><th rowspan=\"2\" scope=\"col\">model</th>"
        for g in groups { out += "<th colspan=\"\(g.labels.count)\" scope=\"colgroup\">\(HTML.escape(g.title))</th>" }
        out += "</tr>\n<tr>"
        for g in groups { for l in g.labels { out += "<th scope=\"col\">\(HTML.escape(l))</th>" } }
        out += "</tr>\n</thead>\n<tbody>\n"
        for row in rows {
            let name = HTML.escape(row.name)
            out += "<tr class=\"\(row.isModel ? "model" : "baseline")\" data-model=\"\(name)\"><th scope=\"row\">\(name)</th>"
            for cell in row.cells.joined() { out += cell.map { "<td>\(HTML.escape($0))</td>" } ?? "<td class=\"missing\">–</td>" }
            out += "</tr>\n"
        }
        return out + "</tbody>\n</table>\n"
    }

    private func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }

    private func trimmed(_ s: String) -> String {
        String(s.reversed().drop { $0 == " " }.reversed())
    }
}
