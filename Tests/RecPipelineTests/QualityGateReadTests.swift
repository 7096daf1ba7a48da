import Foundation
import Testing
@testable import RecCore
@testable import RecPipeline

/// The quality gate's reading of the last published `metrics.json`: a missing one is "no
/// published run", a serving-only one has nothing to compare with, and a damaged one stops the
/// run (rather than turning the comparison off).
@Suite struct QualityGateReadTests {
    /// The fixture's settings with the comparing bounds set.
    static var comparing: [String: JSONValue] {
        var s = PipelineFixture.baseSettings
        s["qualityGate"] = .object(["maxNDCGDrop": .double(0.5), "maxRMSERise": .double(0.5)])
        return s
    }

    @Test func damagedPublishedMetricsStopsTheRun() throws {
        let f = try PipelineFixture(settings: Self.comparing)
        try f.run()
        let published = try PipelineConfig.load(f.configPath).paths.metrics
        let csv = try f.exports()[0]
        try Data("{\"rmse\": ".utf8).write(to: URL(fileURLWithPath: published))
        do {
            try f.run(force: true)
            Issue.record("a damaged published metrics.json was not reported")
        } catch let e as RecError {
            #expect(e.kind == .artefact)
            #expect(e.file == published)
            #expect(e.hint?.contains("qualityGate.maxNDCGDrop") == true)
        }
        // Nothing was published.
        #expect(try Data(contentsOf: URL(fileURLWithPath: published)) == Data("{\"rmse\": ".utf8))
        #expect(try f.exports()[0] == csv)
    }

    @Test func damagedPublishedMetricsIsNotReadWithoutComparingBounds() throws {
        let f = try PipelineFixture()
        try f.run()
        let published = try PipelineConfig.load(f.configPath).paths.metrics
        try Data("not json".utf8).write(to: URL(fileURLWithPath: published))
        try f.run(force: true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: published)) != Data("not json".utf8))
    }

    @Test func missingOrServingOnlyPublishedMetricsIsNoComparison() throws {
        let f = try PipelineFixture(settings: Self.comparing)
        try f.run()
        let published = try PipelineConfig.load(f.configPath).paths.metrics
        try FileManager.default.removeItem(atPath: published)
        try f.run(force: true)
        let servingOnly = ServingOnlyMetricsSample.bytes
        try Data(servingOnly).write(to: URL(fileURLWithPath: published))
        try f.run(force: true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: published)) != Data(servingOnly))
    }
}

/// A serving-only run's `metrics.json` as rec-score writes it (its fields, not its figures).
enum ServingOnlyMetricsSample {
    static var bytes: [UInt8] {
        Array("""
        {"evaluation": "skipped", "served": {"ratings": 1, "users": 1, "items": 1, "rows": 1, "choices": {}}, "settings": null}
        """.utf8)
    }
}
