import Foundation
import Testing
@testable import RecPipeline

/// The newer MovieLens releases end to end: ML-10M-style `::` files with half stars and a
/// UTF-8 movies.dat, and the CSV family (ML-20M, ML-25M, ML-32M, ml-latest), also with CRLF, a
/// byte order mark and no final line end. Formats are detected from the files; nothing in the
/// configuration says which release it is.
@Suite(.serialized)
struct ReleasesTests {
    static let newer: [Fixture.Format] = [.ml10m, .csv, .csvCRLFBOM]

    /// `user_id:movie_id` → rating, over the parts, read back with `rec-inspect PART --csv`.
    static func splitRatings(_ f: Fixture) throws -> [String: Double] {
        var seen: [String: Double] = [:]
        for part in ["train", "validation", "test"] {
            let r = try run("rec-inspect", [f.path("output/artefacts/\(part).art"), "--csv"])
            #expect(r.status == 0, "\(r.stderr)")
            let rows = parseCSV(r.stdout)
            #expect(rows.first == ["user_id", "movie_id", "rating", "timestamp"])
            for row in rows.dropFirst() {
                let key = "\(row[0]):\(row[1])"
                #expect(seen[key] == nil, "\(key) is in two parts")
                seen[key] = Double(row[2])
            }
        }
        return seen
    }

    @Test(arguments: newer)
    func halfStarRatings_roundTripExactlyThroughTheSplitParts(format: Fixture.Format) throws {
        let f = try Fixture(format)
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0, "\(r.stderr)")

        let written = Dictionary(uniqueKeysWithValues: f.ratings.map { ("\($0.user):\($0.movie)", $0.rating) })
        #expect(written.values.contains(0.5) && written.values.contains(5) && written.values.contains(3.5), "the fixture must hold half stars")
        #expect(try Self.splitRatings(f) == written)

        // The scale came from the data: half stars, 0.5–5; predictions are clipped to it.
        let header = try run("rec-inspect", [f.path("output/artefacts/ratings.art")])
        #expect(header.stdout.contains("ratingScale: [0.5,5]"), "\(header.stdout)")
        let rows = parseCSV(try read(f.path("output/recommendations.csv"))).dropFirst()
        #expect(!rows.isEmpty)
        #expect(rows.allSatisfy { Double($0[6]).map { (0.5...5).contains($0) } == true })
    }

    /// What a reader independent of the code under test (Python's csv module, or a split on
    /// the separator) finds in a movies file: movie id → title, decoded from its encoding.
    static func titlesFromMoviesFile(_ f: Fixture) throws -> [Int: String] {
        let kind: String
        switch f.format {
        case .csv, .csvCRLFBOM: kind = "csv"
        case .ml10m: kind = "dat:utf-8"
        case .ml1mWithTimestamps, .ml1mNoTimestamps: kind = "dat:latin-1"
        case .ml100k: kind = "item:latin-1"
        }
        let py = try runTool("python3", ["-c", """
            import csv, io, json, sys
            path, kind = sys.argv[1], sys.argv[2]
            raw = open(path, 'rb').read()
            titles = {}
            if kind == 'csv':
                rows = list(csv.reader(io.StringIO(raw.decode('utf-8-sig'), newline='')))
                assert rows[0] == ['movieId', 'title', 'genres'], rows[0]
                titles = {r[0]: r[1] for r in rows[1:]}
            else:
                form, encoding = kind.split(':')
                for line in raw.split(b'\\n'):
                    line = line.rstrip(b'\\r')
                    if not line:
                        continue
                    if form == 'dat':
                        parts = line.split(b'::')
                        titles[parts[0].decode()] = b'::'.join(parts[1:-1]).decode(encoding)
                    else:
                        parts = line.split(b'|')
                        titles[parts[0].decode()] = parts[1].decode(encoding)
            print(json.dumps(titles))
            """, f.path(f.moviesName), kind])
        #expect(py.status == 0, "\(py.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as! [String: String]
        return Dictionary(uniqueKeysWithValues: object.map { (Int($0.key)!, $0.value) })
    }

    @Test(arguments: newer + [.ml1mWithTimestamps, .ml100k])
    func titles_inCatalogueAndExports_areByteForByteThoseOfTheMoviesFile(format: Fixture.Format) throws {
        let f = try Fixture(format, extraConfig: ["score": ["k": 20]])
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let fromFile = try Self.titlesFromMoviesFile(f)
        #expect(fromFile == f.titles, "the fixture's movies file holds other titles than it meant to")

        // Every movie of the catalogue.
        let catalogue = try run("rec-inspect", [f.path("output/artefacts/catalogue.art"), "--csv"])
        let movies = parseCSV(catalogue.stdout).dropFirst()
        #expect(movies.count == fromFile.count)
        for row in movies {
            #expect(Array(row[1].utf8) == fromFile[Int(row[0])!].map { Array($0.utf8) }, "movie \(row[0])")
            #expect(row[2] == f.genres(Int(row[0])!).joined(separator: "|"))
        }
        // Every exported row: CSV and JSON lines.
        let rows = parseCSV(try read(f.path("output/recommendations.csv"))).dropFirst()
        #expect(rows.count > 0)
        for row in rows { #expect(Array(row[4].utf8) == fromFile[Int(row[2])!].map { Array($0.utf8) }) }
        // k = 20 of 45 movies: the titles with commas, quotes and non-Latin-1 letters are listed.
        let listed = Set(rows.map { Int($0[2])! })
        #expect(listed.contains(3) && listed.contains(5))
        if format.isNewerRelease { #expect(listed.contains(2) && listed.contains(4)) }
        for line in try read(f.path("output/recommendations.jsonl")).split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            for rec in o["recommendations"] as! [[String: Any]] {
                #expect((rec["title"] as! String) == fromFile[rec["movie_id"] as! Int])
            }
        }
    }

    /// Each release's configuration is valid and reads the files where `make data DATASET=NAME`
    /// puts them (the folder and files of the release's line in scripts/movielens-data.sh).
    @Test(arguments: ["ml-100k", "ml-10m", "ml-20m", "ml-25m", "ml-latest-small"])
    func releaseConfig_readsWhereMakeDataPutsTheRelease(name: String) throws {
        let c = try PipelineConfig.load(repositoryRoot.appendingPathComponent("configs/\(name).json").path)
        let script = try String(contentsOf: repositoryRoot.appendingPathComponent("scripts/movielens-data.sh"), encoding: .utf8)
        let line = try #require(script.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(name + ")") })
        let folder = try #require(line.firstMatch(of: /folder=([^;]+);/)?.1)
        let files = try #require(line.firstMatch(of: /files="([^"]+)"/)?.1).split(separator: " ")
        let data = repositoryRoot.appendingPathComponent("data/\(folder)").path
        #expect([c.resolve(c.input.ratings), c.resolve(c.input.movies)] == files.map { data + "/" + $0 })
        #expect(c.input.ratingScale == .auto)
        #expect(c.resolve(c.outputDir) == repositoryRoot.appendingPathComponent("output/\(name)").path)
    }

    /// The repository's own `pipeline.json`, with nothing changed but `input.ratings` and
    /// `input.movies`, on a CSV-family release: the same checks as the ML-1M lists.
    @Test func csvRelease_withDefaultPipelineJSONAndOnlyInputPathsChanged_givesValidLists() throws {
        let f = try Fixture(.csv)
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: repositoryRoot.appendingPathComponent("pipeline.json"))) as! [String: Any]
        var input = config["input"] as! [String: Any]
        input["ratings"] = f.ratingsName
        input["movies"] = f.moviesName
        config["input"] = input
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: URL(fileURLWithPath: f.configPath))
        let k = (config["score"] as! [String: Any])["k"] as! Int

        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = parseCSV(try read(f.path("output/recommendations.csv")))
        #expect(rows.first == ["user_id", "rank", "movie_id", "score", "title", "genres", "predicted_rating", "because_movie_id", "because_title"])
        let body = rows.dropFirst()
        let byUser = Dictionary(grouping: body, by: { Int($0[0])! })
        #expect(byUser.count == Fixture.users)
        #expect(byUser.values.allSatisfy { $0.count == k && $0.map { Int($0[1])! } == Array(1...k) })
        // No movie the user rated: the served lists come from models refitted on every rating.
        let known = try Self.splitRatings(f)
        #expect(!known.isEmpty)
        #expect(body.allSatisfy { known["\($0[0]):\($0[2])"] == nil })
        for row in body {
            let movie = Int(row[2])!
            #expect(row[4] == f.titles[movie])
            #expect(row[5] == f.genres(movie).joined(separator: "|"))
            #expect(Double(row[6]).map { (0.5...5).contains($0) } == true)
        }
        let lines = try read(f.path("output/recommendations.jsonl")).split(separator: "\n")
        #expect(lines.count == Fixture.users)
        for line in lines {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let recs = o["recommendations"] as! [[String: Any]]
            #expect(recs.map { $0["movie_id"] as! Int } == byUser[o["user_id"] as! Int]!.map { Int($0[2])! })
        }
    }
}
