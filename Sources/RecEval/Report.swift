import RecCore
import RecData
import RecModels

/// One user shown in the report: what they liked in train beside what they are recommended.
public struct ExampleUser: Sendable {
    /// MovieLens user id.
    public var userId: Int
    /// The user's top-rated movies in train, best first.
    public var favourites: [(title: String, rating: Float)]
    /// The user's recommendations, in rank order.
    public var recommendations: [(title: String, score: Float, predictedRating: Float)]
    /// The title each recommendation is because of (nil: none), aligned with
    /// `recommendations`; empty: no reasons shown.
    public var reasons: [String?] = []

    public init(userId: Int, favourites: [(title: String, rating: Float)],
                recommendations: [(title: String, score: Float, predictedRating: Float)]) {
        self.userId = userId
        self.favourites = favourites
        self.recommendations = recommendations
    }
}

/// What a run measured, for people: a plain-text summary and one self-contained HTML page.
public enum Report {
    /// A plain-text table of the model against the baselines (rating accuracy, then ranking),
    /// followed by the data sizes. For stdout; ends with a newline.
    public static func summary(_ metrics: Metrics) -> String {
        MetricsTable(metrics).text() + sizes(metrics.counts) + "\n" + (metrics.served.map { served($0) + "\n" } ?? "")
    }

    /// "Published lists: models refitted on all 1000209 ratings (6040 users, 3706 movies), 60400 rows"
    public static func served(_ s: Served) -> String {
        "Published lists: models refitted on all \(s.ratings) ratings (\(s.users) users, \(s.items) movies), \(s.rows) rows, no movie a user rated"
    }

    /// The page of a serving-only run: what was served, and that nothing was measured.
    public static func html(servingOnly m: ServingOnlyMetrics, title: String = "Movie recommender report") -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(HTML.escape(title))</title>
        <style>\(style)</style>
        </head>
        <body>
        <h1>\(HTML.escape(title))</h1>
        <p class="evaluation">\(HTML.escape(m.evaluation)).</p>
        <p class="served">\(HTML.escape(served(m.served))).</p>
        <section id="settings">
        <h2>Settings</h2>
        <pre>\(HTML.escape((try? JSON.encodeString(m.settings, pretty: true)) ?? "null"))</pre>
        </section>
        </body>
        </html>

        """
    }

    /// The report page: learning curves, the metrics table, example users and the settings.
    ///
    /// One self-contained HTML document: inline CSS, charts as inline SVG drawn here, no
    /// script, no network. Every piece of text from the data is HTML-escaped. Stable hooks:
    /// `<svg id="learning-curves">` (one `<polyline class="series …">` per series, one point per
    /// epoch), `<table id="metrics">` (`<tr class="model">`, `<tr class="baseline">`),
    /// `<section id="examples">` with one `<article class="example-user">` per user.
    public static func html(metrics: Metrics, examples: [ExampleUser], title: String = "Movie recommender report") -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title))</title>
            <style>\(style)</style>
            </head>
            <body>
            <h1>\(HTML.escape(title))</h1>
            <p class="evaluation">\(HTML.escape(metrics.evaluation))</p>
            <p class="counts">Evaluation: \(sizes(metrics.counts)).</p>

            """
        if let s = metrics.served { out += "<p class=\"served\">\(HTML.escape(served(s))).</p>\n" }
        out += """

            """
        out += "<section id=\"curves\">\n<h2>Learning curves</h2>\n" + learningCurves(metrics.history) + "</section>\n"
        out += "<section id=\"model-vs-baselines\">\n<h2>Model versus baselines</h2>\n<div class=\"scroll\">\n" + MetricsTable(metrics).html() + "</div>\n"
        out += definitions + "</section>\n"
        if let candidates = metrics.ratingCandidates { out += ratingCandidatesSection(candidates) }
        if let r = metrics.rankingCandidates { out += rankingCandidates(r) }
        if let quality = metrics.listQuality { out += listQualityHTML(quality, k: metrics.ranking.k) }
        out += "<section id=\"examples\">\n<h2>Example users</h2>\n"
        if examples.isEmpty { out += "<p class=\"empty\">No example users.</p>\n" }
        for user in examples { out += example(user) }
        out += "</section>\n"
        let settings = (try? JSON.encodeString(metrics.settings, pretty: true)) ?? "null"
        out += "<section id=\"settings\">\n<h2>Settings</h2>\n<pre>\(HTML.escape(settings))</pre>\n</section>\n"
        return out + "</body>\n</html>\n"
    }

    /// "6040 users, 3706 movies; ratings: 750121 train, 0 validation, 250088 test"
    static func sizes(_ c: Metrics.Counts) -> String {
        "\(c.users) users, \(c.items) movies; ratings: \(c.train) train, \(c.validation) validation, \(c.test) test"
    }

    /// The SVG: training loss on the left, train and validation RMSE on the right.
    static func learningCurves(_ history: [EpochRecord]) -> String {
        if history.isEmpty { return "<p class=\"empty\">No training history: the model was not trained in epochs.</p>\n" }
        func series(_ name: String, _ cssClass: String, _ value: (EpochRecord) -> Double?) -> [LineChart.Series] {
            let points = history.compactMap { e in value(e).map { (x: Double(e.epoch), y: $0) } }
            return points.isEmpty ? [] : [LineChart.Series(name: name, cssClass: cssClass, points: points)]
        }
        let loss = LineChart(title: "Training loss", xLabel: "epoch", yLabel: "loss",
                             series: series("training loss", "loss", { $0.loss }))
        let rmse = LineChart(title: "RMSE", xLabel: "epoch", yLabel: "RMSE",
                             series: series("train RMSE", "train", \.trainRMSE) + series("validation RMSE", "validation", \.validationRMSE))
        let (width, height) = (480.0, 320.0)
        var out = "<svg id=\"learning-curves\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(2 * width)) \(Int(height))\" "
        out += "width=\"\(Int(2 * width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"Training loss and RMSE per epoch\">\n"
        out += loss.svg(left: 0, top: 0, width: width, height: height)
        if !rmse.series.isEmpty { out += rmse.svg(left: width, top: 0, width: width, height: height) }
        return out + "</svg>\n"
    }

    /// One example user: train favourites beside recommendations.
    static func example(_ user: ExampleUser) -> String {
        var out = "<article id=\"user-\(user.userId)\" class=\"example-user\">\n<h3>User \(user.userId)</h3>\n<div class=\"pair\">\n"
        out += "<table class=\"favourites\">\n<caption>Top-rated in train</caption>\n"
        out += "<thead><tr><th scope=\"col\">Title</th><th scope=\"col\">Rating</th></tr></thead>\n<tbody>\n"
        for f in user.favourites {
            out += "<tr><td>\(HTML.escape(f.title))</td><td>\(RecommendationExport.fixed(Double(f.rating), digits: 1))</td></tr>\n"
        }
        out += "</tbody>\n</table>\n<table class=\"recommendations\">\n<caption>Recommended</caption>\n"
        out += "<thead><tr><th scope=\"col\">#</th><th scope=\"col\">Title</th><th scope=\"col\">Score</th><th scope=\"col\">Predicted rating</th>"
        let reasons = user.reasons.count == user.recommendations.count
        out += (reasons ? "<th scope=\"col\">Because you rated</th>" : "") + "</tr></thead>\n<tbody>\n"
        for (rank, r) in user.recommendations.enumerated() {
            out += "<tr><td>\(rank + 1)</td><td>\(HTML.escape(r.title))</td>"
            out += "<td>\(RecommendationExport.fixed(Double(r.score), digits: 4))</td><td>\(RecommendationExport.fixed(Double(r.predictedRating), digits: 2))</td>"
            if reasons { out += "<td class=\"because\">\(user.reasons[rank].map(HTML.escape) ?? "")</td>" }
            out += "</tr>\n"
        }
        return out + "</tbody>\n</table>\n</div>\n</article>\n"
    }

    private static let definitions = """
        <dl class="definitions">
        <dt>RMSE, MAE</dt><dd>Over every observed rating of the slice; predictions clipped to the rating scale first.</dd>
        <dt>Top-k accuracy</dt><dd>The model is fed the user's ratings known before the test (train, and validation when there is one) and ranks only the user's test movies; the share of the top min(k, test movies) the user rated at or above the threshold (4 by default), averaged over users with a test rating.</dd>
        <dt>Full-catalogue ranking at k</dt><dd>Every movie the user did not rate in train (or validation) is ranked; relevant = test movies rated at or above the threshold (4 by default); users without one are left out. Precision = hits / k, recall = hits / relevant, NDCG with binary gain and 1/log2(rank + 1), hit rate = share of users with a hit, MRR = mean 1 / rank of the first hit. Coverage = distinct movies recommended / movies rated in train (or validation).</dd>
        </dl>

        """

    private static let style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222}
        h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}h3{font-size:1rem}
        table{border-collapse:collapse;font-size:.8rem;margin:.5rem 0}.scroll{overflow-x:auto}
        th,td{border:1px solid #ccc;padding:.2rem .35rem}th{white-space:nowrap}td{text-align:right;font-variant-numeric:tabular-nums}
        #metrics tr.model{font-weight:600;background:#eef4ff}.missing{color:#999;text-align:center}
        .pair{display:flex;gap:1.5rem;flex-wrap:wrap;align-items:flex-start}.pair td:nth-child(2),.favourites td:first-child{text-align:left}
        caption{text-align:left;font-weight:600;padding:.2rem 0}
        .definitions{font-size:.85rem}.definitions dt{font-weight:600}.empty{color:#777}
        pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:.8rem}
        svg{max-width:100%;height:auto;font-size:12px}
        .axis,.tick{stroke:#444;stroke-width:1}.grid{stroke:#e4e4e4;stroke-width:1}
        .series{fill:none;stroke-width:2}.legend-swatch{stroke-width:3}
        .chart-title{font-weight:600;font-size:14px}
        .loss{stroke:#3366cc;fill:#3366cc}.train{stroke:#109618;fill:#109618}.validation{stroke:#dc3912;fill:#dc3912}
        polyline.series{fill:none}
        """
}

/// HTML text escaping.
enum HTML {
    /// `s` safe inside element content and inside double- or single-quoted attributes.
    ///
    /// Works on UTF-8 bytes, never on `Character`s: a grapheme cluster can hold a `<` behind
    /// another scalar (U+0600 and the other prepended concatenation marks join the next
    /// character into one cluster), and such a cluster is not equal to "<" but still opens a
    /// tag. The five characters are ASCII, and no byte of a multi-byte UTF-8 sequence is ASCII.
    static func escape(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "&"): out += "&amp;".utf8
            case UInt8(ascii: "<"): out += "&lt;".utf8
            case UInt8(ascii: ">"): out += "&gt;".utf8
            case UInt8(ascii: "\""): out += "&quot;".utf8
            case UInt8(ascii: "'"): out += "&#39;".utf8
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
