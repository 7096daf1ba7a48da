import Foundation
import Testing
@testable import RecEval


@Suite struct ReportTests {
    static let examples = [
        ExampleUser(
            userId: 8,
            favourites: [(title: "Tom & Jerry <The Movie> \"Uncut\" (1992)", rating: 5), (title: "Heat (1995)", rating: 4)],
            recommendations: [(title: "Misérables, Les (1995)", score: 0.9876, predictedRating: 4.51),
                              (title: "<script>alert(1)</script>", score: 0.5, predictedRating: 3.25)]),
    ]

    @Test func html_drawsOnePointPerEpochInEachCurve() {
        let page = Report.html(metrics: sampleMetrics(validation: true, epochs: 7), examples: Self.examples)
        let svg = element("svg", id: "learning-curves", in: page)
        #expect(svg != nil)
        let polylines = matches(of: #"<polyline class="series ([a-z]+)"[^>]* points="([^"]*)""#, in: svg ?? "")
        // Training loss, train RMSE, validation RMSE; 7 epochs each.
        #expect(polylines.map { $0[1] } == ["loss", "train", "validation"])
        for p in polylines {
            #expect(p[2].split(separator: " ").count == 7)
        }
        // One dot per point too, and axes with tick labels.
        #expect(matches(of: #"<circle class="point "#, in: svg ?? "").count == 21)
        #expect(matches(of: #"class="tick-label""#, in: svg ?? "").count >= 4)
        #expect(svg?.contains("validation RMSE") == true)
    }

    @Test func html_curvesLeaveOutAMissingSeries() {
        // No validation slice: loss and train RMSE only, 3 points each.
        let page = Report.html(metrics: sampleMetrics(validation: false, epochs: 3), examples: [])
        let polylines = matches(of: #"<polyline class="series ([a-z]+)"[^>]* points="([^"]*)""#, in: page)
        #expect(polylines.map { $0[1] } == ["loss", "train"])
        #expect(polylines.allSatisfy { $0[2].split(separator: " ").count == 3 })
    }

    @Test func html_withoutHistory_saysSoInsteadOfAnEmptyChart() {
        var metrics = sampleMetrics()
        metrics.history = []
        let page = Report.html(metrics: metrics, examples: [])
        #expect(!page.contains("<svg"))
        #expect(page.contains("No training history"))
    }

    @Test func html_tableHasTheModelAndBaselineRows() {
        let page = Report.html(metrics: sampleMetrics(), examples: [])
        let table = element("table", id: "metrics", in: page)
        #expect(table != nil)
        let rows = matches(of: #"<tr class="(model|baseline)" data-model="([^"]+)">"#, in: table ?? "")
        #expect(rows.map { [$0[1], $0[2]] } == [["model", "model"], ["baseline", "globalMean"], ["baseline", "mostPopular"]])
        // The model's row carries its figures: RMSE train 0.8750 and test 0.9453, NDCG 0.3000.
        let modelRow = matches(of: #"<tr class="model"[^>]*>(.*?)</tr>"#, in: table ?? "").first?[1] ?? ""
        #expect(modelRow.contains("<td>0.8750</td><td>0.9453</td>"))
        #expect(modelRow.contains("<td>0.3000</td>"))
        // A popularity list has no RMSE: its cells are marked missing.
        let popularRow = matches(of: #"data-model="mostPopular">(.*?)</tr>"#, in: table ?? "").first?[1] ?? ""
        #expect(matches(of: #"class="missing""#, in: popularRow).count == 6)  // RMSE ×2, MAE ×2, @5, @10
    }

    @Test func html_escapesTitlesAndShowsExamples() {
        let page = Report.html(metrics: sampleMetrics(), examples: Self.examples, title: "Run <1> & \"two\"")
        #expect(page.contains("<title>Run &lt;1&gt; &amp; &quot;two&quot;</title>"))
        #expect(page.contains("<h1>Run &lt;1&gt; &amp; &quot;two&quot;</h1>"))
        #expect(!page.contains("Run <1>"))
        #expect(page.contains("Tom &amp; Jerry &lt;The Movie&gt; &quot;Uncut&quot; (1992)"))
        #expect(!page.contains("<The Movie>"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!page.contains("<script"))
        #expect(page.contains("Misérables, Les (1995)"))
        let user = element("article", id: "user-8", in: page) ?? ""
        #expect(user.contains("<td>5.0</td>"))  // favourite's rating
        #expect(user.contains("<td>1</td><td>Misérables, Les (1995)</td><td>0.9876</td><td>4.51</td>"))
        #expect(user.contains("<td>2</td>"))
    }

    @Test func html_isSelfContained() {
        let page = Report.html(metrics: sampleMetrics(), examples: Self.examples)
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.hasSuffix("</html>\n"))
        for external in ["<script", "<link", "src=", "url(", "@import", "href="] {
            #expect(!page.contains(external), "found \(external)")
        }
        // The only URL is the SVG namespace, which is a name, not a fetch.
        #expect(matches(of: "https?://", in: page).count == 1)
    }

    /// The text of the first `<tag id="id"...>...</tag>` (no nesting of the same tag).
    private func element(_ tag: String, id: String, in page: String) -> String? {
        guard let start = page.range(of: "<\(tag) id=\"\(id)\""),
              let end = page.range(of: "</\(tag)>", range: start.upperBound..<page.endIndex) else { return nil }
        return String(page[start.lowerBound..<end.upperBound])
    }

    /// Every match of `pattern`, as [whole match, group 1, group 2, ...].
    private func matches(of pattern: String, in text: String) -> [[String]] {
        let regex = try! NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators])
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { m in
            (0..<m.numberOfRanges).map { i in Range(m.range(at: i), in: text).map { String(text[$0]) } ?? "" }
        }
    }
}
