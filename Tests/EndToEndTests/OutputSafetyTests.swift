import Foundation
import Testing

/// What the exports and the messages do with hostile text: titles that start like a formula or
/// carry markup, paths with terminal controls; and the permissions of the exports across runs.
@Suite(.serialized)
struct OutputSafetyTests {
    /// Titles of movies 1…10 (real titles such as "+1 (2013)" and "-1" start like formulas).
    static let hostile: [Int: String] = [
        1: "=HYPERLINK(\"http://example.invalid\",\"click\")", 2: "+1 (2013)", 3: "-1", 4: "@SUM(A1:A9)",
        5: "\u{600}<img src=x onerror=alert(1)>", 6: "</td></tr></table><script>alert(1)</script>", 7: "=1+1, with a comma",
        8: "Tom & \"Jerry\" <b>bold</b> 'quoted'", 9: "\u{110BD}<svg onload=alert(1)>", 10: "-=+@ all of them",
    ]

    static func startsLikeFormula(_ s: String) -> Bool { s.unicodeScalars.first.map { "=+-@\t\r".unicodeScalars.contains($0) } ?? false }

    /// A fixture in the movies.csv format whose movies 1…10 have the hostile titles, with lists
    /// long enough (k = 12 of 45 movies) to show nearly every movie.
    static func fixture() throws -> (Fixture, [Int: String]) {
        let f = try Fixture(.csv)
        var titles = f.titles
        for (m, t) in hostile { titles[m] = t }
        let lines = ["movieId,title,genres"] + titles.keys.sorted().map { m in
            let genres = f.genres(m)
            return "\(m),\(Fixture.csvField(titles[m]!)),\(genres.isEmpty ? "(no genres listed)" : genres.joined(separator: "|"))"
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: f.path(f.moviesName)))
        try f.setConfig { $0["score"] = ["k": 12] }
        return (f, titles)
    }

    /// (movie_id, title) of every CSV row, as Python's csv module reads them.
    func pythonRows(_ csv: String) throws -> [(Int, String)] {
        let py = try runTool("python3", ["-c", """
            import csv, json, sys
            with open(sys.argv[1], newline='', encoding='utf-8') as f:
                rows = list(csv.DictReader(f))
            assert all(len(r) == 9 and None not in r for r in rows), 'ragged rows'
            print(json.dumps([[int(r['movie_id']), r['title']] for r in rows]))
            """, csv])
        #expect(py.status == 0, "\(py.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [[Any]] ?? []
        return rows.compactMap { r in (r[0] as? Int).flatMap { id in (r[1] as? String).map { (id, $0) } } }
    }

    /// (movie_id, title) of every CSV row, as sqlite3's `.import --csv` loads them.
    func sqliteRows(_ csv: String) throws -> [(Int, String)] {
        let sql = try runTool("sqlite3", [":memory:"], stdin: """
            .import --csv \(csv) recs
            .mode json
            SELECT CAST(movie_id AS INTEGER) AS movie_id, title FROM recs;
            """)
        #expect(sql.status == 0, "\(sql.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(sql.stdout.utf8)) as? [[String: Any]] ?? []
        return rows.compactMap { r in (r["movie_id"] as? Int).flatMap { id in (r["title"] as? String).map { (id, $0) } } }
    }

    @Test func csv_byDefault_prefixesFormulaTitles_exactOnRequest_andBothLoadIntoPythonAndSQLite() throws {
        let (f, titles) = try Self.fixture()
        let first = try run("rec-pipeline", ["--config", f.configPath])
        #expect(first.status == 0, "\(first.stderr)")
        let csv = f.path("output/recommendations.csv")
        let jsonl = try bytes(f.path("output/recommendations.jsonl"))

        for reader in [pythonRows, sqliteRows] {
            let rows = try reader(csv)
            #expect(rows.count > Fixture.users * 5)
            for (movie, title) in rows {
                let exact = try #require(titles[movie])
                #expect(title == (Self.startsLikeFormula(exact) ? "'" + exact : exact), "movie \(movie)")
            }
            // The fixture is only a test when formula titles made it into the lists.
            #expect(Set(rows.map(\.0)).intersection([1, 2, 3, 4, 7, 10]).count >= 3)
        }
        // The JSON lines carry every title exactly.
        for line in jsonl.split(separator: 10) {
            let user = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            for r in user["recommendations"] as? [[String: Any]] ?? [] {
                #expect(r["title"] as? String == titles[r["movie_id"] as? Int ?? 0])
            }
        }

        // Exact cells: the export alone reruns, and the CSV holds the titles as they are.
        try f.setConfig { $0["export"] = ["csvCells": "exact"] }
        let second = try run("rec-pipeline", ["--config", f.configPath])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("export: done") && !second.stderr.contains("score: done"), "\(second.stderr)")
        for reader in [pythonRows, sqliteRows] {
            for (movie, title) in try reader(csv) { #expect(title == titles[movie], "movie \(movie)") }
        }
        #expect(try bytes(f.path("output/recommendations.jsonl")) == jsonl)
    }

    @Test func report_withMarkupInTitles_hasNoElementOrAttributeFromThem_asPythonsHTMLParserSeesIt() throws {
        let (f, titles) = try Self.fixture()
        let r = try run("rec-pipeline", ["--config", f.configPath])
        #expect(r.status == 0, "\(r.stderr)")
        let py = try runTool("python3", ["-c", """
            import json, sys
            from html.parser import HTMLParser
            class P(HTMLParser):
                def __init__(self):
                    super().__init__(convert_charrefs=True); self.tags = []; self.attrs = set(); self.text = []
                def handle_starttag(self, tag, attrs):
                    self.tags.append(tag); self.attrs.update(a for a, _ in attrs)
                def handle_startendtag(self, tag, attrs): self.handle_starttag(tag, attrs)
                def handle_data(self, data): self.text.append(data)
            p = P(); p.feed(open(sys.argv[1], encoding='utf-8').read()); p.close()
            print(json.dumps({"tags": sorted(set(p.tags)), "svg": p.tags.count("svg"), "attrs": sorted(p.attrs), "text": p.text}))
            """, f.path("output/report.html")])
        #expect(py.status == 0, "\(py.stderr)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [String: Any])
        let tags = parsed["tags"] as? [String] ?? [], attrs = parsed["attrs"] as? [String] ?? []
        #expect(!tags.contains("img") && !tags.contains("script") && !tags.contains("b"), "\(tags)")
        #expect(parsed["svg"] as? Int == 1, "only the learning curves are an svg")
        #expect(!attrs.contains { $0.hasPrefix("on") } && !attrs.contains("src"), "\(attrs)")
        // The titles shown are the exact titles, as text.
        let text = parsed["text"] as? [String] ?? []
        let shown = titles.filter { _, t in text.contains(t) }
        #expect(shown.keys.contains { Self.hostile[$0] != nil }, "no hostile title among the example users")
    }

    // MARK: - Permissions

    static func mode(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o7777
    }

    static func group(_ path: String) -> gid_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_gid : gid_t.max
    }

    static let exports = ["recommendations.csv", "recommendations.jsonl", "metrics.json", "report.html"]

    @Test func exports_keepTheModeAndGroupTheyWereGiven_acrossForcedRuns_andNewOnesFollowFileMode() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        let out = { (name: String) in f.path("output/" + name) }
        #expect(chmod(out("recommendations.csv"), 0o600) == 0)
        #expect(chmod(out("report.html"), 0o640) == 0)
        let root = getuid() == 0
        if root { #expect(chown(out("recommendations.jsonl"), uid_t.max, 4242) == 0 && chmod(out("recommendations.jsonl"), 0o640) == 0) }
        let before = try bytes(out("recommendations.csv"))
        let r = try run("rec-pipeline", ["--config", f.configPath, "--force"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("export: done"))
        #expect(try bytes(out("recommendations.csv")) == before)
        #expect(Self.mode(out("recommendations.csv")) == 0o600)
        #expect(Self.mode(out("report.html")) == 0o640)
        if root { #expect(Self.group(out("recommendations.jsonl")) == 4242 && Self.mode(out("recommendations.jsonl")) == 0o640) }

        // New exports: export.fileMode exactly, whatever the umask; without it, 0666 less the umask.
        try f.setConfig { $0["outputDir"] = "fresh"; $0["export"] = ["fileMode": "0640"] }
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        #expect(Self.exports.map { Self.mode(f.path("fresh/" + $0)) } == [0o640, 0o640, 0o640, 0o640])
        try f.setConfig { $0["outputDir"] = "fresh2"; $0["export"] = nil }
        #expect(try run("rec-pipeline", ["--config", f.configPath]).status == 0)
        // The umask the executables inherit, read without changing it (umask(2) would, for every thread).
        let status = try read("/proc/self/status").split(separator: "\n").first { $0.hasPrefix("Umask:") }
        let mask = try #require(status.flatMap { mode_t($0.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8) })
        #expect(Self.exports.map { Self.mode(f.path("fresh2/" + $0)) } == [mode_t](repeating: 0o666 & ~mask, count: 4))

        // A wrong mode is a settings error before anything runs.
        try f.setConfig { $0["export"] = ["fileMode": "0o640"] }
        let bad = try run("rec-pipeline", ["--config", f.configPath])
        #expect(bad.status == 2 && bad.stderr.contains("'export.fileMode' must be"), "\(bad.stderr)")
    }

    // MARK: - Messages

    /// Whether text holds a scalar that a terminal acts on (other than LF, which ends lines).
    static func hasControl(_ s: String) -> Bool {
        s.unicodeScalars.contains { ($0.properties.generalCategory == .control && $0 != "\n") || $0.properties.isBidiControl }
    }

    @Test func messagesQuotingPathsAndFields_reachStderrWithTheirControlCharactersEscaped() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        let hostile = "x\u{1B}]0;owned\u{7}\u{1B}[2J\r\u{202E}gnp.dat"
        // A settings file that is not there, named on the command line.
        for exe in ["rec-pipeline", "rec-ingest"] {
            let r = try run(exe, ["--config", f.path(hostile + ".json")])
            #expect(r.status == 2, "\(exe): \(r.stderr)")
            #expect(!Self.hasControl(r.stderr + r.stdout), "\(exe): \(r.stderr.debugDescription)")
            #expect(r.stderr.contains("\\u{1B}]0;owned\\u{7}\\u{1B}[2J\\u{D}\\u{202E}gnp.dat"), "\(exe): \(r.stderr.debugDescription)")
        }
        // A ratings file that is not there, named in the settings.
        try f.setConfig { $0["input"] = ["ratings": hostile, "movies": f.moviesName] }
        let missing = try run("rec-pipeline", ["--config", f.configPath])
        #expect(missing.status != 0)
        #expect(!Self.hasControl(missing.stderr + missing.stdout), "\(missing.stderr.debugDescription)")
        #expect(missing.stderr.contains("\\u{202E}gnp.dat"), "\(missing.stderr.debugDescription)")
        // A malformed ratings line whose fields hold controls.
        try Data("1::2::\u{1B}[31m5\u{1B}[0m\u{202E}::3\n".utf8).write(to: URL(fileURLWithPath: f.path("bad.dat")))
        try f.setConfig { $0["input"] = ["ratings": "bad.dat", "movies": f.moviesName] }
        let bad = try run("rec-pipeline", ["--config", f.configPath])
        #expect(bad.status == 1, "\(bad.stderr)")
        #expect(bad.stderr.contains("bad.dat:1"), "\(bad.stderr)")
        #expect(!Self.hasControl(bad.stderr + bad.stdout), "\(bad.stderr.debugDescription)")
        // An ordinary run prints its log and table unchanged, with no control character.
        try f.setConfig { $0["input"] = ["ratings": f.ratingsName, "movies": f.moviesName] }
        let ok = try run("rec-pipeline", ["--config", f.configPath])
        #expect(ok.status == 0 && !Self.hasControl(ok.stderr + ok.stdout), "\(ok.stderr)")
        #expect(ok.stdout.contains("\n") && ok.stderr.split(separator: "\n").allSatisfy { $0.contains(" rec-pipeline ") })
    }
}
