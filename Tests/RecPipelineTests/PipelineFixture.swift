import Foundation
import Logging
@testable import RecCore
@testable import RecPipeline
import RecTestSupport

/// A tiny MovieLens-1M-shaped data set (4-field ratings with timestamps, ISO-8859-1 movies) and
/// a settings file, in a fresh temporary folder; the pipeline runs on it in this process.
struct PipelineFixture {
    /// The fixture's folder, deleted with the last copy of the fixture.
    let home: TempDir
    let dir: URL
    static let users = 40
    static let movies = 30
    static let exports = ["recommendations.csv", "recommendations.jsonl", "metrics.json", "report.html", "similar.csv", "similar.jsonl"]

    /// Small models so that a whole run takes a fraction of a second.
    static let baseSettings: [String: JSONValue] = [
        "input": .object(["ratings": .string("ratings.dat"), "movies": .string("movies.dat")]),
        "split": .object(["seed": .int(3), "testRatio": .double(0.2), "validationRatio": .double(0.1)]),
        "ratingModel": .object(["type": .string("user-autoencoder"), "hidden": .array([.int(8)]), "epochs": .int(2),
                                "batchSize": .int(16), "learningRate": .double(0.01)]),
        "rankingModel": .object(["type": .string("ease"), "lambda": .double(20), "weighting": .string("rating")]),
        "score": .object(["k": .int(3)]),
        "qualityGate": .object(["maxNDCGDrop": .null, "maxRMSERise": .null]),
    ]

    init(settings: [String: JSONValue] = PipelineFixture.baseSettings) throws {
        home = try TempDir(prefix: "rec-stages")
        dir = URL(fileURLWithPath: home.path)
        var rng = SplitMix64(seed: 11)
        var lines = ""
        for u in 1...Self.users {
            var seen = Set<Int>()
            let n = 10 + rng.below(11)
            while seen.count < n { seen.insert(1 + min(rng.below(Self.movies), rng.below(Self.movies))) }
            for m in seen.sorted() {
                lines += "\(u)::\(m)::\(1 + (m * 5 + u * 3 + rng.below(3)) % 5)::\(978_300_000 + rng.below(1_000_000))\n"
            }
        }
        try Data(lines.utf8).write(to: dir.appendingPathComponent("ratings.dat"))
        var movies: [UInt8] = []
        for m in 1...(Self.movies + 2) {
            // Movie 7's title starts like a spreadsheet formula, as real titles do ("+1 (2013)"):
            // export.csvCells changes how the CSV writes it.
            let title = m == 3 ? "Misérables, Les (1995)" : m == 5 ? "Quote \"Unquote\" (1999)" : m == 7 ? "+1 (2013)" : "Movie \(m) (19\(50 + m))"
            movies += "\(m)::\(title)::\(m % 2 == 0 ? "Drama" : "Comedy|Drama")\n".unicodeScalars.map { UInt8($0.value) }
        }
        try Data(movies).write(to: dir.appendingPathComponent("movies.dat"))
        try write(settings)
    }

    var configPath: String { dir.appendingPathComponent("pipeline.json").path }

    func write(_ settings: [String: JSONValue]) throws {
        try JSON.encode(JSONValue.object(settings), pretty: true).write(to: URL(fileURLWithPath: configPath))
    }

    func file(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Runs the pipeline in this process; returns what happened to each stage.
    @discardableResult
    func run(force: Bool = false) throws -> [Runner.Outcome] {
        var options = Runner.Options()
        options.force = force
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        return try Runner(config: try PipelineConfig.load(configPath), options: options, logger: logger).run()
    }

    /// The exports' bytes, in `Self.exports` order, from the configured output folder.
    func exports() throws -> [Data] {
        let c = try PipelineConfig.load(configPath)
        return try Self.exports.map { try Data(contentsOf: URL(fileURLWithPath: c.paths.output + "/" + $0)) }
    }
}
