import Foundation
import Testing
@testable import RecCore

/// The exports of a fixture run loaded, with the types a reader expects, into the tools people
/// load them with: PostgreSQL (`\copy` into a typed table), DuckDB (`read_csv` with type
/// inference, `read_json`) and pandas (`read_csv`, `read_json(lines=True)`). sqlite3 and
/// Python's csv module are in PipelineTests.
@Suite struct LoaderTests {
    /// What the files must hold, read with this suite's own CSV reader and the fixture's titles.
    struct Expected {
        /// (user_id, rank, movie_id, predicted_rating) of every row, in file order.
        var rows: [(user: Int, rank: Int, movie: Int, predicted: Double)] = []
        /// `movie_id<TAB>title` of every listed movie, with the title the fixture wrote.
        var titles: Set<String> = []
        /// Rows whose predicted_rating is exactly 0.5 in the text.
        var halfStars = 0
        var users = 0
    }

    /// A fixture run whose exports hold the tricky titles and exact half-star predicted ratings.
    ///
    /// k above the catalogue size puts every movie a user has not rated into their list, so the
    /// titles with commas and quotes are listed. The rating scale is MovieLens's half-star one,
    /// [0.5, 5], and the rating model is left all but untrained (one epoch at a learning rate
    /// of 1e-5): its outputs stay near their initial values, below 0.5, so the exported
    /// predictions are clipped to exactly 0.5 (697 of 720 rows on a similar 60-user data set
    /// with k = 12); the test takes the count from the file, and only needs it to be above zero.
    static func loaderRun() throws -> (Fixture, Expected) {
        let f = try Fixture(.ml1mWithTimestamps)
        try f.setConfig {
            var input = $0["input"] as! [String: Any]
            input["ratingScale"] = [0.5, 5]
            $0["input"] = input
            $0["ratingModel"] = ["hidden": [16, 8, 16], "epochs": 1, "batchSize": 16, "learningRate": 0.00001]
            $0["score"] = ["k": 50]
        }
        let r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let table = parseCSV(try read(f.path("output/recommendations.csv")))
        #expect(table.first == ["user_id", "rank", "movie_id", "score", "title", "genres", "predicted_rating", "because_movie_id", "because_title"])
        var e = Expected()
        var users = Set<Int>()
        for row in table.dropFirst() {
            guard row.count == 9, let u = Int(row[0]), let k = Int(row[1]), let m = Int(row[2]), let p = Double(row[6]) else {
                Issue.record("malformed row \(row)")
                continue
            }
            e.rows.append((u, k, m, p))
            e.titles.insert("\(m)\t\(Fixture.title(m))")
            if row[6] == "0.500" { e.halfStars += 1 }
            users.insert(u)
        }
        e.users = users.count
        #expect(e.halfStars > 0, "the fixture must list half-star predicted ratings")
        for m in [3, 5, 7, 11] { #expect(e.titles.contains("\(m)\t\(Fixture.title(m))"), "movie \(m) is in no list") }
        return (f, e)
    }

    /// Compares a tool's rows `[[user, rank, movie, predicted]]` with the file's.
    static func expectRows(_ got: Any?, _ e: Expected, _ tool: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let got = got as? [[Any]] else {
            Issue.record("\(tool): no rows", sourceLocation: sourceLocation)
            return
        }
        #expect(got.count == e.rows.count, "\(tool): row count", sourceLocation: sourceLocation)
        var mismatches = 0
        for (g, x) in zip(got, e.rows) {
            let values = g.compactMap { ($0 as? NSNumber)?.doubleValue }
            if values != [Double(x.user), Double(x.rank), Double(x.movie), x.predicted] { mismatches += 1 }
        }
        #expect(mismatches == 0, "\(tool): \(mismatches) rows differ from the file", sourceLocation: sourceLocation)
    }

    static func json(_ r: Run, _ tool: String) throws -> [String: Any] {
        #expect(r.status == 0, "\(tool): \(r.stderr)")
        guard r.status == 0, let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else { return [:] }
        return object
    }

    @Test func csv_copiedIntoTypedPostgreSQLTable_keepsRowsTitlesAndHalfStars() throws {
        let (f, e) = try Self.loaderRun()
        let pg = try ThrowawayPostgres.start()
        defer { pg.stop() }
        let csv = f.path("output/recommendations.csv")
        let load = try pg.psql("""
            CREATE TABLE recs (user_id integer, rank smallint, movie_id integer, score real, title text, genres text, predicted_rating real,
                               because_movie_id integer, because_title text);
            \\copy recs FROM '\(csv)' WITH (FORMAT csv, HEADER true)
            SELECT count(*), count(DISTINCT user_id), count(*) FILTER (WHERE predicted_rating = 0.5),
                   count(*) FILTER (WHERE title = 'Comma, and "Quotes" (2001)') FROM recs;
            """)
        #expect(load.status == 0, "\(load.stderr)")
        let quotedTitleRows = e.rows.filter { $0.movie == 11 }.count
        #expect(load.stdout.split(separator: "\n").last.map(String.init) == "\(e.rows.count)|\(e.users)|\(e.halfStars)|\(quotedTitleRows)")

        let titles = try pg.psql("\\copy (SELECT DISTINCT movie_id, title FROM recs ORDER BY movie_id) TO STDOUT WITH (FORMAT csv)")
        #expect(titles.status == 0, "\(titles.stderr)")
        #expect(Set(parseCSV(titles.stdout).map { $0.joined(separator: "\t") }) == e.titles)

        // real holds the file's 3-decimal values as the nearest float; PostgreSQL prints the
        // shortest text that reads back as the same float.
        let rows = try pg.psql("\\copy (SELECT user_id, rank, movie_id, predicted_rating FROM recs ORDER BY user_id, rank) TO STDOUT WITH (FORMAT csv)")
        #expect(rows.status == 0, "\(rows.stderr)")
        let got = parseCSV(rows.stdout)
        #expect(got.count == e.rows.count)
        let differing = zip(got, e.rows).filter { g, x in
            g.count != 4 || Int(g[0]) != x.user || Int(g[1]) != x.rank || Int(g[2]) != x.movie || Float(g[3]) != Float(x.predicted)
        }.count
        #expect(differing == 0)
    }

    @Test func exports_readByDuckDB_inferTypesAndKeepTitles() throws {
        let (f, e) = try Self.loaderRun()
        let report = try Self.json(runPython("""
            import duckdb, json, sys
            def q(p): return "'" + p.replace("'", "''") + "'"
            con = duckdb.connect()
            csv = f"read_csv({q(sys.argv[1])})"
            js = f"(SELECT user_id, unnest(recommendations) AS r FROM read_json({q(sys.argv[2])}, format='newline_delimited'))"
            out = {
                "types": {c[0]: c[1] for c in con.sql(f"DESCRIBE SELECT * FROM {csv}").fetchall()},
                "rows": con.sql(f"SELECT user_id, rank, movie_id, predicted_rating FROM {csv} ORDER BY user_id, rank").fetchall(),
                "titles": [f"{m}\\t{t}" for m, t in con.sql(f"SELECT DISTINCT movie_id, title FROM {csv}").fetchall()],
                "jsonTypes": {c[0]: c[1] for c in con.sql(f"DESCRIBE SELECT * FROM read_json({q(sys.argv[2])}, format='newline_delimited')").fetchall()},
                "jsonFieldTypes": {c[0]: c[1] for c in con.sql(f"DESCRIBE SELECT r.* FROM {js}").fetchall()},
                "jsonUsers": con.sql(f"SELECT count(*) FROM read_json({q(sys.argv[2])}, format='newline_delimited')").fetchone()[0],
                "jsonRows": con.sql(f"SELECT user_id, r.rank, r.movie_id, r.predicted_rating FROM {js} ORDER BY user_id, r.rank").fetchall(),
                "jsonTitles": [f"{m}\\t{t}" for m, t in con.sql(f"SELECT DISTINCT r.movie_id, r.title FROM {js}").fetchall()],
            }
            print(json.dumps(out))
            """, [f.path("output/recommendations.csv"), f.path("output/recommendations.jsonl")]), "duckdb")
        let types = report["types"] as? [String: String] ?? [:]
        let integers: Set<String> = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT"]
        for column in ["user_id", "rank", "movie_id"] { #expect(types[column].map(integers.contains) == true, "\(column): \(types[column] ?? "-")") }
        for column in ["score", "predicted_rating"] { #expect(types[column] == "DOUBLE", "\(column): \(types[column] ?? "-")") }
        for column in ["title", "genres"] { #expect(types[column] == "VARCHAR", "\(column): \(types[column] ?? "-")") }
        Self.expectRows(report["rows"], e, "duckdb read_csv")
        #expect(Set(report["titles"] as? [String] ?? []) == e.titles)

        let jsonTypes = report["jsonTypes"] as? [String: String] ?? [:]
        #expect(jsonTypes["user_id"].map(integers.contains) == true)
        let recs = jsonTypes["recommendations"] ?? ""
        #expect(recs.hasPrefix("STRUCT(") && recs.hasSuffix("[]"), "\(recs)")
        let fields = report["jsonFieldTypes"] as? [String: String] ?? [:]
        for column in ["rank", "movie_id"] { #expect(fields[column].map(integers.contains) == true, "\(column): \(fields[column] ?? "-")") }
        #expect(fields["score"] == "DOUBLE")
        #expect(fields["predicted_rating"] == "DOUBLE")
        #expect(fields["title"] == "VARCHAR")
        #expect(fields["genres"] == "VARCHAR[]")
        #expect((report["jsonUsers"] as? Int) == e.users)
        Self.expectRows(report["jsonRows"], e, "duckdb read_json")
        #expect(Set(report["jsonTitles"] as? [String] ?? []) == e.titles)
    }

    @Test func exports_readByPandas_giveIntFloatAndObjectColumnsAndIntactTitles() throws {
        let (f, e) = try Self.loaderRun()
        let report = try Self.json(runPython("""
            import json, sys
            import pandas as pd
            df = pd.read_csv(sys.argv[1], dtype={"because_movie_id": "Int64"})
            # precise_float: the default float reader returns some 3- and 4-decimal values one
            # unit in the last place off (31 of 300 rows on a fixture run); read_csv is exact.
            js = pd.read_json(sys.argv[2], lines=True, precise_float=True)
            flat = [(u, r) for u, recs in zip(js["user_id"], js["recommendations"]) for r in recs]
            out = {
                "types": {c: str(t) for c, t in df.dtypes.items()},
                "rows": [[int(u), int(k), int(m), float(p)] for u, k, m, p in zip(df["user_id"], df["rank"], df["movie_id"], df["predicted_rating"])],
                "titles": sorted({f"{m}\\t{t}" for m, t in zip(df["movie_id"], df["title"])}),
                "jsonTypes": {c: str(t) for c, t in js.dtypes.items()},
                "jsonUsers": len(js),
                "jsonRows": [[int(u), int(r["rank"]), int(r["movie_id"]), float(r["predicted_rating"])] for u, r in flat],
                "jsonTitles": sorted({f"{r['movie_id']}\\t{r['title']}" for u, r in flat}),
                "jsonGenres": all(isinstance(r["genres"], list) for u, r in flat),
            }
            print(json.dumps(out))
            """, [f.path("output/recommendations.csv"), f.path("output/recommendations.jsonl")]), "pandas")
        #expect(report["types"] as? [String: String] == [
            "user_id": "int64", "rank": "int64", "movie_id": "int64", "score": "float64", "title": "object", "genres": "object",
            "predicted_rating": "float64", "because_movie_id": "Int64", "because_title": "object",
        ])
        Self.expectRows(report["rows"], e, "pandas read_csv")
        #expect(Set(report["titles"] as? [String] ?? []) == e.titles)
        #expect((report["jsonTypes"] as? [String: String])?["user_id"] == "int64")
        #expect((report["jsonUsers"] as? Int) == e.users)
        Self.expectRows(report["jsonRows"], e, "pandas read_json")
        #expect(Set(report["jsonTitles"] as? [String] ?? []) == e.titles)
        #expect(report["jsonGenres"] as? Bool == true)
    }
}

/// A throw-away PostgreSQL cluster (Debian's `postgresql` package) in a temporary folder. The
/// server listens on a Unix socket in that folder only (`listen_addresses` is empty), so it
/// takes no TCP port and cannot collide with another test or server; it runs as the
/// unprivileged `postgres` account when the tests run as root (PostgreSQL refuses root), and
/// as the current user otherwise. `stop()` shuts it down and deletes the folder.
///
/// The server is this process's own child, not daemonised by `pg_ctl start`: a daemon would
/// inherit the descriptor through which Foundation's `Process` learns that its child ended,
/// and `waitUntilExit` on pg_ctl would then wait for the server.
final class ThrowawayPostgres {
    let dir: String
    let bin: String
    let asUser: String?
    private var server: Process?

    var data: String { dir + "/data" }

    /// The newest installed server's programs (`/usr/lib/postgresql/<major>/bin`).
    static func binaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let majors = (try? FileManager.default.contentsOfDirectory(atPath: root))?.compactMap(Int.init).sorted() ?? []
        guard let major = majors.last(where: { FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/initdb") }) else {
            throw RecError(.runtime, "no PostgreSQL server in \(root): install Debian's postgresql package (make test does)")
        }
        return "\(root)/\(major)/bin"
    }

    private init(dir: String, bin: String, asUser: String?) {
        self.dir = dir
        self.bin = bin
        self.asUser = asUser
    }

    static func start() throws -> ThrowawayPostgres {
        let bin = try binaries()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rec-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let asUser = getuid() == 0 ? "postgres" : nil
        if let asUser { try FileManager.default.setAttributes([.ownerAccountName: asUser], ofItemAtPath: dir) }
        let pg = ThrowawayPostgres(dir: dir, bin: bin, asUser: asUser)
        do {
            try pg.launch()
        } catch {
            pg.stop()
            throw error
        }
        return pg
    }

    private func launch() throws {
        let initdb = try runProgram(command("initdb")[0], Array(command("initdb").dropFirst())
            + ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"])
        guard initdb.status == 0 else { throw RecError(.runtime, "initdb failed: \(initdb.stderr)") }
        let p = Process()
        let cmd = command("postgres")
        p.executableURL = URL(fileURLWithPath: cmd[0])
        p.arguments = Array(cmd.dropFirst()) + ["-D", data, "-c", "listen_addresses=", "-c", "unix_socket_directories=\(dir)", "-c", "fsync=off"]
        _ = FileManager.default.createFile(atPath: dir + "/server.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/server.log"))
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try log.close()
        server = p
        // Ready when pg_isready says so (a few hundred milliseconds); give up after 30 s.
        for _ in 0..<300 {
            guard p.isRunning else { break }
            if try runProgram(bin + "/pg_isready", ["-q", "-h", dir, "-U", "postgres"]).status == 0 { return }
            usleep(100_000)
        }
        let text = (try? String(contentsOfFile: dir + "/server.log", encoding: .utf8)) ?? ""
        throw RecError(.runtime, "the PostgreSQL server did not start: \(text)")
    }

    /// A server program's command line, run as the account that owns the cluster. setpriv
    /// changes the user and execs, with no process of its own left in between.
    private func command(_ program: String) -> [String] {
        guard let asUser else { return [bin + "/" + program] }
        return ["/usr/bin/setpriv", "--reuid=\(asUser)", "--regid=\(asUser)", "--init-groups", "--", bin + "/" + program]
    }

    /// Runs a psql script (stops at the first error); `\copy` reads files as this process.
    func psql(_ script: String) throws -> Run {
        try runProgram(bin + "/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", dir, "-U", "postgres", "-d", "postgres", "-f", "-"],
                       stdin: script + "\n")
    }

    /// Fast shutdown (SIGINT), then the folder is deleted.
    func stop() {
        if let server, server.isRunning {
            server.interrupt()
            server.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
