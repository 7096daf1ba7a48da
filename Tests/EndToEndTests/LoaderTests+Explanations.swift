import Foundation
import Testing

/// The reason columns of recommendations.csv and the similar lists (similar.csv,
/// similar.jsonl) loaded into sqlite3, PostgreSQL, DuckDB and pandas with the documented types.
@Suite struct ExplanationLoaderTests {
    /// What the files hold, read with the tests' own CSV reader.
    struct Expected {
        /// (movie_id, rank, similar_movie_id, score) of every similar.csv row.
        var similar: [[Double]] = []
        /// `movie_id<TAB>similar_movie_id<TAB>similar_title` of every row, with the fixture's titles.
        var similarTitles: Set<String> = []
        /// Movies with a similar list (lines of similar.jsonl).
        var movies = 0
        /// Recommendations with a reason, and (user, rank, because_movie_id) of those.
        var because: [[Double]] = []
        var recommendations = 0
    }

    static func explanationRun() throws -> (Fixture, Expected) {
        let f = try Fixture(.ml1mWithTimestamps)
        try f.setConfig { $0["score"] = ["k": 12] }
        let r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        var e = Expected()
        let similar = parseCSV(try read(f.path("output/similar.csv")))
        #expect(similar.first == ["movie_id", "rank", "similar_movie_id", "score", "title", "genres", "similar_title", "similar_genres"])
        for row in similar.dropFirst() {
            guard row.count == 8, let m = Int(row[0]), let k = Int(row[1]), let s = Int(row[2]), let score = Double(row[3]) else {
                Issue.record("malformed row \(row)")
                continue
            }
            #expect(row[4] == Fixture.title(m) && row[6] == Fixture.title(s) && m != s)
            e.similar.append([Double(m), Double(k), Double(s), score])
            e.similarTitles.insert("\(m)\t\(s)\t\(Fixture.title(s))")
        }
        e.movies = Set(e.similar.map { $0[0] }).count
        let recs = parseCSV(try read(f.path("output/recommendations.csv")))
        for row in recs.dropFirst() where row.count == 9 {
            e.recommendations += 1
            if let b = Int(row[7]) {
                #expect(row[8] == Fixture.title(b))
                e.because.append([Double(row[0])!, Double(row[1])!, Double(b)])
            } else {
                #expect(row[7].isEmpty && row[8].isEmpty)
            }
        }
        #expect(e.similar.count > 0 && e.because.count > 0)
        // The titles with commas and quotes are among the similar movies.
        #expect(e.similarTitles.contains { $0.hasSuffix("\t" + Fixture.title(11)) })
        return (f, e)
    }

    static func expectNumbers(_ got: Any?, _ expected: [[Double]], _ tool: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let rows = (got as? [[Any]] ?? []).map { $0.compactMap { ($0 as? NSNumber)?.doubleValue } }
        #expect(rows.count == expected.count, "\(tool): \(rows.count) rows, expected \(expected.count)", sourceLocation: sourceLocation)
        // Scores are compared as the 4-decimal text reads back into a Double.
        let differing = zip(rows, expected).filter { $0 != $1 }.count
        #expect(differing == 0, "\(tool): \(differing) rows differ", sourceLocation: sourceLocation)
    }

    @Test func sqlite3_importsSimilarAndReasons() throws {
        let (f, e) = try Self.explanationRun()
        let sql = try runTool("sqlite3", [":memory:"], stdin: """
            .import --csv \(f.path("output/similar.csv")) similar_movies
            .import --csv \(f.path("output/recommendations.csv")) recs
            SELECT count(*), count(DISTINCT movie_id) FROM similar_movies;
            SELECT count(*) FROM similar_movies WHERE similar_title = 'Comma, and "Quotes" (2001)';
            SELECT count(*) FROM recs WHERE because_movie_id <> '';
            """)
        #expect(sql.status == 0, "\(sql.stderr)")
        let quoted = e.similar.filter { $0[2] == 11 }.count
        #expect(sql.stdout.split(separator: "\n").map(String.init) == ["\(e.similar.count)|\(e.movies)", "\(quoted)", "\(e.because.count)"])
    }

    @Test func postgreSQL_copiesSimilarAndReasonsIntoTypedTables() throws {
        let (f, e) = try Self.explanationRun()
        let pg = try ThrowawayPostgres.start()
        defer { pg.stop() }
        let load = try pg.psql("""
            CREATE TABLE similar_movies (movie_id integer, rank smallint, similar_movie_id integer, score real,
                                  title text, genres text, similar_title text, similar_genres text);
            \\copy similar_movies FROM '\(f.path("output/similar.csv"))' WITH (FORMAT csv, HEADER true)
            CREATE TABLE recs (user_id integer, rank smallint, movie_id integer, score real, title text, genres text,
                               predicted_rating real, because_movie_id integer, because_title text);
            \\copy recs FROM '\(f.path("output/recommendations.csv"))' WITH (FORMAT csv, HEADER true)
            SELECT count(*), count(DISTINCT movie_id) FROM similar_movies;
            SELECT count(*), count(because_movie_id) FROM recs;
            """)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(load.stdout.split(separator: "\n").map(String.init) == ["\(e.similar.count)|\(e.movies)", "\(e.recommendations)|\(e.because.count)"])
        let titles = try pg.psql("\\copy (SELECT movie_id, similar_movie_id, similar_title FROM similar_movies) TO STDOUT WITH (FORMAT csv)")
        #expect(Set(parseCSV(titles.stdout).map { $0.joined(separator: "\t") }) == e.similarTitles)
    }

    @Test func duckDB_infersTheTypesOfSimilarAndReasons() throws {
        let (f, e) = try Self.explanationRun()
        let report = try LoaderTests.json(runPython("""
            import duckdb, json, sys
            def q(p): return "'" + p.replace("'", "''") + "'"
            con = duckdb.connect()
            csv = f"read_csv({q(sys.argv[1])})"
            js = f"(SELECT movie_id, unnest(similar_movies) AS s FROM read_json({q(sys.argv[2])}, format='newline_delimited'))"
            recs = f"read_csv({q(sys.argv[3])})"
            rjs = f"(SELECT user_id, unnest(recommendations) AS r FROM read_json({q(sys.argv[4])}, format='newline_delimited'))"
            out = {
                "types": {c[0]: c[1] for c in con.sql(f"DESCRIBE SELECT * FROM {csv}").fetchall()},
                "rows": con.sql(f"SELECT movie_id, rank, similar_movie_id, score FROM {csv} ORDER BY movie_id, rank").fetchall(),
                "jsonRows": con.sql(f"SELECT movie_id, s.rank, s.movie_id, s.score FROM {js} ORDER BY movie_id, s.rank").fetchall(),
                "jsonFieldTypes": {c[0]: c[1] for c in con.sql(f"DESCRIBE SELECT s.* FROM {js}").fetchall()},
                "recTypes": {c[0]: c[1] for c in con.sql(f"DESCRIBE SELECT * FROM {recs}").fetchall()},
                "because": con.sql(f"SELECT user_id, rank, because_movie_id FROM {recs} WHERE because_movie_id IS NOT NULL ORDER BY user_id, rank").fetchall(),
                "jsonBecause": con.sql(f"SELECT user_id, r.rank, r.because_movie_id FROM {rjs} WHERE r.because_movie_id IS NOT NULL ORDER BY user_id, r.rank").fetchall(),
            }
            print(json.dumps(out))
            """, [f.path("output/similar.csv"), f.path("output/similar.jsonl"), f.path("output/recommendations.csv"),
                  f.path("output/recommendations.jsonl")]), "duckdb")
        let integers: Set<String> = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT"]
        let types = report["types"] as? [String: String] ?? [:]
        for column in ["movie_id", "rank", "similar_movie_id"] { #expect(types[column].map(integers.contains) == true, "\(column)") }
        #expect(types["score"] == "DOUBLE")
        for column in ["title", "genres", "similar_title", "similar_genres"] { #expect(types[column] == "VARCHAR", "\(column)") }
        Self.expectNumbers(report["rows"], e.similar, "duckdb read_csv")
        Self.expectNumbers(report["jsonRows"], e.similar, "duckdb read_json")
        let fields = report["jsonFieldTypes"] as? [String: String] ?? [:]
        #expect(fields["title"] == "VARCHAR" && fields["genres"] == "VARCHAR[]" && fields["score"] == "DOUBLE")
        let recTypes = report["recTypes"] as? [String: String] ?? [:]
        #expect(recTypes["because_movie_id"].map(integers.contains) == true && recTypes["because_title"] == "VARCHAR")
        Self.expectNumbers(report["because"], e.because, "duckdb read_csv reasons")
        Self.expectNumbers(report["jsonBecause"], e.because, "duckdb read_json reasons")
    }

    @Test func pandas_readsSimilarAndReasonsWithTheDocumentedTypes() throws {
        let (f, e) = try Self.explanationRun()
        let report = try LoaderTests.json(runPython("""
            import json, sys
            import pandas as pd
            df = pd.read_csv(sys.argv[1])
            js = pd.read_json(sys.argv[2], lines=True, precise_float=True)
            recs = pd.read_csv(sys.argv[3], dtype={"because_movie_id": "Int64"})
            rjs = pd.read_json(sys.argv[4], lines=True, precise_float=True)
            flat = [(m, s) for m, lst in zip(js["movie_id"], js["similar_movies"]) for s in lst]
            because = recs[recs["because_movie_id"].notna()]
            out = {
                "types": {c: str(t) for c, t in df.dtypes.items()},
                "rows": [[int(m), int(k), int(s), float(x)] for m, k, s, x in zip(df["movie_id"], df["rank"], df["similar_movie_id"], df["score"])],
                "jsonRows": [[int(m), int(s["rank"]), int(s["movie_id"]), float(s["score"])] for m, s in flat],
                "recTypes": {c: str(t) for c, t in recs.dtypes.items()},
                "because": [[int(u), int(k), int(b)] for u, k, b in zip(because["user_id"], because["rank"], because["because_movie_id"])],
                "jsonBecause": [[int(u), int(r["rank"]), int(r["because_movie_id"])] for u, lst in zip(rjs["user_id"], rjs["recommendations"])
                                for r in lst if r["because_movie_id"] is not None],
            }
            print(json.dumps(out))
            """, [f.path("output/similar.csv"), f.path("output/similar.jsonl"), f.path("output/recommendations.csv"),
                  f.path("output/recommendations.jsonl")]), "pandas")
        #expect(report["types"] as? [String: String] == [
            "movie_id": "int64", "rank": "int64", "similar_movie_id": "int64", "score": "float64", "title": "object", "genres": "object",
            "similar_title": "object", "similar_genres": "object",
        ])
        Self.expectNumbers(report["rows"], e.similar, "pandas read_csv")
        Self.expectNumbers(report["jsonRows"], e.similar, "pandas read_json")
        let recTypes = report["recTypes"] as? [String: String] ?? [:]
        #expect(recTypes["because_movie_id"] == "Int64" && recTypes["because_title"] == "object")
        Self.expectNumbers(report["because"], e.because, "pandas read_csv reasons")
        Self.expectNumbers(report["jsonBecause"], e.because, "pandas read_json reasons")
    }
}
