import Foundation
import Testing

/// Hostile input files through the real executables: headers read by name, stray bytes and
/// control characters stop the run naming file, line and character (exit 1, earlier exports
/// untouched) or are skipped and counted under `invalidLines: skip`.
@Suite(.serialized) struct InputFilesTests {
    static let exports = ["recommendations.csv", "recommendations.jsonl", "metrics.json", "report.html", "similar.csv", "similar.jsonl"]

    func exportBytes(_ f: Fixture) throws -> [Data] { try Self.exports.map { try bytes(f.path("output/\($0)")) } }

    /// Rewrites a comma file with its columns in `order` (`order[k]` is the column at position k);
    /// quoted fields are written back quoted.
    func reorder(_ f: Fixture, _ name: String, _ order: [Int], names: [String]? = nil) throws {
        let rows = parseCSV(try read(f.path(name)))
        let text = rows.enumerated().map { k, row in
            order.map { k == 0 ? (names ?? row)[$0] : Fixture.csvField(row[$0]) }.joined(separator: ",")
        }.joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: f.path(name)))
    }

    @Test func csvFilesWithColumnsInAnotherOrder_publishTheSameExports() throws {
        let f = try Fixture(.csv)
        let first = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        try #require(first.status == 0, "\(first.stderr)")
        let before = try exportBytes(f)
        try reorder(f, "ratings.csv", [1, 3, 0, 2], names: ["user_id", "item id", "Rating", "Timestamp"])
        try reorder(f, "movies.csv", [2, 0, 1])
        #expect(try read(f.path("movies.csv")).hasPrefix("genres,movieId,title\n"))
        let again = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try exportBytes(f) == before, "the same ratings and titles, read by name")
    }

    @Test func ratingsHeaderWithAnUnknownColumn_exitsWith1NamingIt_andKeepsTheExports() throws {
        let f = try Fixture(.csv)
        try #require(try run("rec-pipeline", ["--config", f.configPath, "--quiet"]).status == 0)
        let before = try exportBytes(f)
        for (header, message) in [("foo,bar,baz,qux", "unknown column 'foo' in the header (column 1)"),
                                  ("userId,movieId,rating,userId", "the header names the userId column twice"),
                                  ("userId,timestamp,movieId", "the header has no rating column")] {
            var lines = try read(f.path("ratings.csv")).split(separator: "\n", omittingEmptySubsequences: false)
            lines[0] = Substring(header)
            try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: f.path("ratings.csv")))
            try f.setConfig { $0["input"] = ["ratings": "ratings.csv", "movies": "movies.csv", "invalidLines": "skip"] }
            let r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
            #expect(r.status == 1 && r.stderr.contains("ratings.csv:1: \(message)"), "\(r.status) \(r.stderr)")
            #expect(try exportBytes(f) == before)
        }
    }

    @Test func moviesFileWithAStrayByte_stopsNamingLineColumnAndByte_orSkipsThatLineOnly() throws {
        let f = try Fixture(.csv)
        try #require(try run("rec-pipeline", ["--config", f.configPath, "--quiet"]).status == 0)
        let before = try exportBytes(f)
        // Movie 7's line (line 8 with the header): `7,"Comma, Semicolon; and Pipe (2000)",…`;
        // the stray byte goes after its 11th byte.
        var movies = [UInt8](try bytes(f.path("movies.csv")))
        let lineStart = movies.indices.filter { movies[$0] == 10 }[6] + 1
        #expect(movies[lineStart..<(lineStart + 2)] == [UInt8(ascii: "7"), UInt8(ascii: ",")])
        movies.insert(0xE9, at: lineStart + 11)
        try Data(movies).write(to: URL(fileURLWithPath: f.path("movies.csv")))
        let r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("movies.csv:8: byte 0xE9 at column 12 is not UTF-8"), "\(r.stderr)")
        #expect(try exportBytes(f) == before, "a failed run publishes nothing")

        try f.setConfig { $0["input"] = ["ratings": "ratings.csv", "movies": "movies.csv", "invalidLines": "skip"] }
        let skip = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(skip.status == 0 && skip.stderr.contains("bad-encoding 1"), "\(skip.stderr)")
        // Every other title as written, accents and all.
        let rows = parseCSV(try read(f.path("output/recommendations.csv"))).dropFirst()
        var seen = Set<Int>()
        for row in rows {
            let movie = Int(row[2])!
            #expect(movie != 7)
            #expect(row[4] == f.titles[movie], "movie \(movie)")
            seen.insert(movie)
        }
        #expect(seen.contains(9) || seen.contains(2), "an accented title is among the lists")
    }

    @Test func titleWithAControlCharacter_stopsNamingIt_orIsLeftOutOfTheExports() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        var movies = [UInt8](try bytes(f.path("movies.dat")))
        // Movie 5's title gets a NUL after its first character (line 5: `5::Quote …`).
        let lineStart = movies.indices.filter { movies[$0] == 10 }[3] + 1
        #expect(movies[lineStart..<(lineStart + 3)] == Array("5::".utf8)[...])
        movies.insert(0, at: lineStart + 4)
        try Data(movies).write(to: URL(fileURLWithPath: f.path("movies.dat")))
        let r = try run("rec-ingest", ["--config", f.configPath, "--quiet"])
        #expect(r.status == 1 && r.stderr.contains("movies.dat:5: the title holds the control character U+0000 (NUL) at character 2"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.path("output/artefacts/catalogue.art")))

        try f.setConfig { $0["input"] = ["ratings": "ratings.dat", "movies": "movies.dat", "invalidLines": "skip"] }
        let skip = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        // The ratings of movie 5 now name a movie the catalogue does not have: skipped too.
        #expect(skip.status == 0 && skip.stderr.contains("control-character 1"), "\(skip.stderr)")
        for name in Self.exports {
            let data = try bytes(f.path("output/\(name)"))
            #expect(!data.contains { $0 < 0x20 && $0 != 10 }, "\(name) holds a control byte")
        }
        let manifest = try read(f.path("output/artefacts/manifests/ingest.json"))
        #expect(manifest.contains("control-character"), "the manifest counts the reason")
    }
}
