import Foundation
import Testing

/// The HTML report as a browser sees it: headless Chromium loads the page offline and dumps
/// the DOM it built.
@Suite(.serialized)
struct ReportTests {
    @Test func report_rendersInHeadlessChromium_withCurvesAndMetricsTable() throws {
        let f = try Fixture(.ml1mWithTimestamps, extraConfig: ["rankingModel": ["type": "ease", "lambda": 20]])
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0, "\(r.stderr)")
        let page = f.path("output/report.html")
        let html = try read(page)
        // Self-contained: nothing that would load from elsewhere (the SVG namespace URI is a name, not a fetch).
        for loader in ["src=\"http", "href=\"http", "url(http", "@import", "<script", "<link"] {
            #expect(!html.contains(loader), "the page must be self-contained, found \(loader)")
        }

        let browser = ["chromium", "chromium-browser", "google-chrome"].first { name in
            (try? runTool("which", [name]).status) == 0
        }
        let chromium = try #require(browser, "headless Chromium is needed (apt-get install chromium; `make test` installs it)")
        let profile = f.path("chromium-profile")
        let dom = try runTool(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)",
                                         "--dump-dom", URL(fileURLWithPath: page).absoluteString])
        #expect(dom.status == 0, "\(dom.stderr)")
        let text = dom.stdout
        // Learning curves: one polyline per series with one point per epoch (4 epochs in the fixture).
        #expect(text.contains("<svg id=\"learning-curves\""))
        let polylines = text.components(separatedBy: "<polyline").dropFirst()
        #expect(polylines.count >= 3)
        for p in polylines {
            let points = p.components(separatedBy: "points=\"")[1].components(separatedBy: "\"")[0]
            #expect(points.split(separator: " ").count == 4)
        }
        // The metrics table: the model and every baseline.
        #expect(text.contains("<table id=\"metrics\""))
        #expect(text.contains("class=\"model\""))
        for baseline in ["globalMean", "userItemBias", "mostPopular"] { #expect(text.contains("data-model=\"\(baseline)\"")) }
        // Example users with titles decoded from ISO-8859-1 and HTML-escaped.
        #expect(text.contains("class=\"example-user\""))
        #expect(text.contains("Quote &quot;Unquote&quot; (1999)") || text.contains("Quote \"Unquote\" (1999)") || text.contains("Movie "))
    }

    @Test func rankingMetrics_recomputedIndependentlyFromTheCSV_matchMetricsJSON() throws {
        let f = try Fixture(.ml100k, extraConfig: ["rankingModel": ["type": "ease", "lambda": 20]])
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/check_metrics.py").standardized.path
        let r = try runTool("python3", [script, f.path("output"), "--inspect", productsDirectory.appendingPathComponent("rec-inspect").path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.components(separatedBy: " ok").count - 1 == 4, "\(r.stdout)")
    }
}
