import Foundation
import Testing

/// The real executables on small fixtures, checking the files they write.
@Suite(.serialized)
struct PipelineTests {
    @Test(arguments: Fixture.Format.allCases)
    func pipeline_onEachInputFormat_writesValidRecommendations(format: Fixture.Format) throws {
        let f = try Fixture(format)
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0, "\(r.stderr)")

        // CSV: header, exactly k rows per user, sorted by user then rank.
        let rows = parseCSV(try read(f.path("output/recommendations.csv")))
        #expect(rows.first == ["user_id", "rank", "movie_id", "score", "title", "genres", "predicted_rating", "because_movie_id", "because_title"])
        let body = rows.dropFirst()
        #expect(body.allSatisfy { $0.count == 9 })
        let byUser = Dictionary(grouping: body, by: { Int($0[0])! })
        #expect(byUser.count == Fixture.users)
        #expect(byUser.values.allSatisfy { $0.count == 5 })
        let keys = body.map { (Int($0[0])!, Int($0[1])!) }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 })

        // No recommended movie was rated by the user in train (train read back through rec-inspect).
        let train = try run("rec-inspect", [f.path("output/artefacts/train.art"), "--csv"])
        #expect(train.status == 0)
        let trainRows = parseCSV(train.stdout)
        #expect(trainRows.first == ["user_id", "movie_id", "rating"] || trainRows.first == ["user_id", "movie_id", "rating", "timestamp"])
        let seen = Set(trainRows.dropFirst().map { "\($0[0]):\($0[1])" })
        #expect(!seen.isEmpty)
        #expect(body.allSatisfy { !seen.contains("\($0[0]):\($0[2])") })

        // Every movie exists, with its title decoded to UTF-8 and genres joined by '|'.
        for row in body {
            let movie = Int(row[2])!
            #expect(f.titles[movie] == row[4])
            #expect(row[5] == f.genres(movie).joined(separator: "|"))
        }

        // JSON lines: one object per user with the same lists.
        let lines = try read(f.path("output/recommendations.jsonl")).split(separator: "\n")
        #expect(lines.count == Fixture.users)
        for line in lines {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let user = o["user_id"] as! Int
            let recs = o["recommendations"] as! [[String: Any]]
            let csvMovies = byUser[user]!.map { Int($0[2])! }
            #expect(recs.map { $0["movie_id"] as! Int } == csvMovies)
            #expect(recs.allSatisfy { $0["genres"] is [String] && $0["title"] is String && $0["predicted_rating"] is Double })
        }

        // metrics.json holds the contract's keys.
        let metrics = try JSONSerialization.jsonObject(with: bytes(f.path("output/metrics.json"))) as! [String: Any]
        let rmse = metrics["rmse"] as! [String: Any], mae = metrics["mae"] as! [String: Any]
        for part in ["train", "test"] {
            #expect((rmse[part] as! Double) > 0)
            #expect((mae[part] as! Double) > 0)
        }
    }

    @Test func csv_withTitlesHoldingCommasAndQuotes_loadsIntoSQLiteAndPython() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        // k larger than the catalogue forces the tricky titles into the lists.
        try f.setConfig { $0["score"] = ["k": 12] }
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let csv = f.path("output/recommendations.csv")
        let expectedRows = parseCSV(try read(csv)).count - 1
        #expect(expectedRows == Fixture.users * 12)

        let sql = try runTool("sqlite3", [":memory:"], stdin: """
            .import --csv \(csv) recs
            SELECT COUNT(*) FROM recs;
            SELECT COUNT(*) FROM recs WHERE title LIKE '%,%' OR title LIKE '%"%';
            SELECT title FROM recs WHERE movie_id = '3' LIMIT 1;
            """)
        #expect(sql.status == 0, "\(sql.stderr)")
        let out = sql.stdout.split(separator: "\n").map(String.init)
        #expect(out.first == String(expectedRows))
        #expect(Int(out[1]).map { $0 > 0 } == true)
        if out.count > 2 { #expect(out[2] == "Misérables, Les (1995)") }

        let py = try runTool("python3", ["-c", """
            import csv, sys
            with open(sys.argv[1], newline='', encoding='utf-8') as f:
                rows = list(csv.DictReader(f))
            assert all(len(r) == 9 for r in rows), 'ragged rows'
            print(len(rows)); print(sum(1 for r in rows if r['title'] == 'Quote "Unquote" (1999)' or ',' in r['title']))
            """, csv])
        #expect(py.status == 0, "\(py.stderr)")
        let lines = py.stdout.split(separator: "\n")
        #expect(lines.first.map(String.init) == String(expectedRows))
        #expect(Int(lines[1]).map { $0 > 0 } == true)
    }

    @Test func eachStage_runAlone_reproducesItsOutputs() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let outputs: [(String, [String])] = [
            ("rec-ingest", ["output/artefacts/ratings.art", "output/artefacts/catalogue.art"]),
            ("rec-split", ["output/artefacts/train.art", "output/artefacts/validation.art", "output/artefacts/test.art"]),
            ("rec-build-matrix", ["output/artefacts/matrices.art"]),
            ("rec-train", ["output/artefacts/eval-model.art", "output/artefacts/model.art"]),
            ("rec-score", ["output/artefacts/eval-topk.art", "output/artefacts/topk.art", "output/artefacts/metrics.json"]),
            ("rec-export", ["output/recommendations.csv", "output/recommendations.jsonl", "output/metrics.json", "output/report.html"]),
        ]
        for (stage, files) in outputs {
            let before = try files.map { try bytes(f.path($0)) }
            for file in files { try FileManager.default.removeItem(atPath: f.path(file)) }
            let r = try run(stage, ["--config", f.configPath])
            #expect(r.status == 0, "\(stage): \(r.stderr)")
            for (file, old) in zip(files, before) {
                var new = try bytes(f.path(file))
                var expected = old
                if file.hasSuffix("metrics.json") { // timings differ from run to run
                    new = try withoutTimings(new); expected = try withoutTimings(old)
                }
                #expect(new == expected, "\(stage) did not reproduce \(file)")
            }
        }
    }

    @Test func workers_oneOrTwo_giveByteIdenticalModelAndExports() throws {
        let f = try Fixture(.ml1mWithTimestamps)
        try f.expectSameBytes(["output/artefacts/model.art", "output/artefacts/topk.art", "output/recommendations.csv", "output/recommendations.jsonl"],
                              workers: 2)
    }

    @Test(arguments: [
        ("1::10::4\n2::abc::3\n", 2, "movie id 'abc'"),
        ("1::10::4\n1::11::4\n3::12\n", 3, "expected 3 or 4 fields"),
        ("1::10::4\n2::10::6\n", 2, "outside the scale"),
        ("1::10::4::978300760\n2::10::0::978300761\n", 2, "outside the scale"),
        ("x::10::4\n", 1, "user id 'x'"),
    ])
    func ingest_withMalformedLine_failsNamingFileAndLineAndWritesNothing(text: String, line: Int, message: String) throws {
        let f = try Fixture(.ml1mNoTimestamps)
        try Data(text.utf8).write(to: URL(fileURLWithPath: f.path("ratings.dat")))
        let r = try run("rec-ingest", ["--config", f.configPath])
        #expect(r.status == 1)
        #expect(r.stderr.contains("ratings.dat:\(line): "), "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.path("output/artefacts/ratings.art")))
        #expect(!FileManager.default.fileExists(atPath: f.path("output/artefacts/catalogue.art")))
    }

    @Test func ingest_withMalformedLine_leavesEarlierGoodOutputsUntouched() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        #expect(try run("rec-ingest", ["--config", f.configPath]).status == 0)
        let before = try bytes(f.path("output/artefacts/ratings.art"))
        try Data("1::10::4\n1::10::9\n".utf8).write(to: URL(fileURLWithPath: f.path("ratings.dat")))
        #expect(try run("rec-ingest", ["--config", f.configPath]).status == 1)
        #expect(try bytes(f.path("output/artefacts/ratings.art")) == before)
    }

    @Test func stage_withMissingArtefact_namesTheStageToRun() throws {
        let f = try Fixture(.ml100k)
        let r = try run("rec-train", ["--config", f.configPath])
        #expect(r.status == 1)
        #expect(r.stderr.contains("matrices.art") && r.stderr.contains("rec-build-matrix"), "\(r.stderr)")
    }

    @Test func config_withUnknownSetting_exitsWithUsageCode() throws {
        let f = try Fixture(.ml100k)
        try f.setConfig { $0["scroe"] = ["k": 3] }
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown setting 'scroe'"), "\(r.stderr)")
    }
}

/// metrics.json without the keys that hold wall-clock seconds.
func withoutTimings(_ data: Data) throws -> Data {
    func strip(_ v: Any) -> Any {
        if let o = v as? [String: Any] {
            return o.filter { !$0.key.lowercased().contains("seconds") }.mapValues(strip)
        }
        if let a = v as? [Any] { return a.map(strip) }
        return v
    }
    return try JSONSerialization.data(withJSONObject: strip(try JSONSerialization.jsonObject(with: data)), options: [.sortedKeys])
}
