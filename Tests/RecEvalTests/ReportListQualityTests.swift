import Foundation
import Testing
@testable import RecCore
@testable import RecEval


@Suite struct ReportListQualityTests {
    static let quality = ListQuality(
        model: BeyondAccuracy(novelty: 2.22872, intraListDiversity: 0.7479, shortHeadShare: 0.35),
        mostPopular: BeyondAccuracy(novelty: 1.3846, intraListDiversity: 0.7564, shortHeadShare: 0.9714),
        similar: SimilarHitRate(k: 10, hitRate: 0.77815, mostPopularHitRate: 0.6119, meanCandidates: 243.27, pairs: 57516, usersEvaluated: 5904))

    @Test func html_showsEachRecommendationsReason_escaped() {
        var user = ReportTests.examples[0]
        user.reasons = ["Heat <1995>", nil]
        let page = Report.html(metrics: sampleMetrics(), examples: [user])
        #expect(page.contains("<th scope=\"col\">Because you rated</th>"))
        #expect(page.contains("<td class=\"because\">Heat &lt;1995&gt;</td>"))
        #expect(page.contains("<td class=\"because\"></td>"))
        // Without reasons the table keeps its four columns.
        #expect(!Report.html(metrics: sampleMetrics(), examples: ReportTests.examples).contains("Because you rated"))
    }

    @Test func html_andSummary_showTheListQuality_andMetricsJSONRoundTrips() throws {
        var metrics = sampleMetrics()
        #expect(!Report.html(metrics: metrics, examples: []).contains("beyond-accuracy"))
        metrics.listQuality = Self.quality
        let page = Report.html(metrics: metrics, examples: [])
        #expect(page.contains("<section id=\"beyond-accuracy\">"))
        #expect(page.contains("<tr class=\"model\"><td>model</td><td>2.2287</td><td>0.7479</td><td>0.3500</td><td>0.7782</td></tr>"))
        #expect(page.contains("<tr class=\"baseline\"><td>most popular</td><td>1.3846</td><td>0.7564</td><td>0.9714</td><td>0.6119</td></tr>"))
        #expect(Report.listQualitySummary(Self.quality).hasPrefix("similar movies: hit rate@10 0.7782 (most popular, as many candidates: 0.6119"))
        let decoded = try JSONDecoder().decode(Metrics.self, from: JSON.encode(metrics))
        #expect(decoded == metrics)
        // A metrics.json written before the figures existed still reads (the quality gate reads the published one).
        metrics.listQuality = nil
        #expect(try JSONDecoder().decode(Metrics.self, from: JSON.encode(metrics)).listQuality == nil)
    }
}
