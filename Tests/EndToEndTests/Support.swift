import Foundation
import Testing
@testable import RecCore
@testable import RecData
import RecTestSupport

/// A small synthetic MovieLens-like dataset written in one of the real input formats, plus a
/// pipeline.json pointing at it, in a fresh temporary folder.
struct Fixture {
    enum Format: String, CaseIterable, Sendable {
        /// `UserID::MovieID::Rating::Timestamp`, movies.dat in ISO-8859-1.
        case ml1mWithTimestamps
        /// `UserID::MovieID::Rating` (the copy without timestamps).
        case ml1mNoTimestamps
        /// ML-100K: tab-separated u.data, pipe-separated u.item with genre flags.
        case ml100k
        /// ML-10M: `UserID::MovieID::Rating::Timestamp` with half stars, movies.dat in UTF-8.
        case ml10m
        /// ML-20M and later: ratings.csv and movies.csv with headers, half stars, RFC 4180
        /// quoting, UTF-8, `(no genres listed)`.
        case csv
        /// The same with CRLF line ends, a byte order mark and no final line end.
        case csvCRLFBOM

        /// Whether ratings have half stars and the movies file is UTF-8 (the newer releases).
        var isNewerRelease: Bool { [.ml10m, .csv, .csvCRLFBOM].contains(self) }
    }

    /// The fixture's folder, deleted with the last copy of the fixture.
    let home: TempDir
    let dir: URL
    let format: Format
    /// (user, movie, rating) as written; whole stars in the older formats, half stars in the newer.
    let ratings: [(user: Int, movie: Int, rating: Double)]
    /// movie id → title (UTF-8 as it should come out).
    let titles: [Int: String]

    static let users = 60
    static let movies = 45

    /// Titles with the characters that break naive CSV and encodings; the UTF-8 formats add
    /// one beyond ISO-8859-1 and one with both a comma and quotes.
    static func title(_ m: Int, utf8: Bool = false) -> String {
        switch m {
        case 3: "Misérables, Les (1995)"
        case 5: "Quote \"Unquote\" (1999)"
        case 7: "Comma, Semicolon; and Pipe (2000)"
        case 9: "Café Crème à la Française (1987)"
        case 11: "Comma, and \"Quotes\" (2001)"
        case 2 where utf8: "千と千尋の神隠し (Spirited Away) (2001)"
        case 4 where utf8: "Lock, Stock & Two \"Smoking\" Barrels (1998)"
        default: "Movie \(m) (19\(50 + m % 50))"
        }
    }

    init(_ format: Format, seed: UInt64 = 7, extraConfig: [String: Any] = [:]) throws {
        self.format = format
        home = try TempDir(prefix: "rec-e2e")
        dir = URL(fileURLWithPath: home.path)
        var rng = SplitMix64(seed: seed)
        var rows: [(Int, Int, Int)] = []
        // Each user rates 15-30 movies; movie popularity skewed so rankings are not flat.
        for u in 1...Fixture.users {
            var seen = Set<Int>()
            let n = 15 + rng.below(16)
            while seen.count < n {
                let m = 1 + min(rng.below(Fixture.movies), rng.below(Fixture.movies))
                seen.insert(m)
            }
            for m in seen.sorted() { rows.append((u, m, 1 + (m * 7 + u * 3 + rng.below(3)) % 5)) }
        }
        // Shuffle the lines: real files are not always sorted.
        rng.shuffle(&rows)
        // Half stars from 0.5 to 5 in the newer formats, without drawing more random numbers.
        ratings = rows.map { (user: $0.0, movie: $0.1, rating: Double($0.2) - (format.isNewerRelease && ($0.0 + $0.1) % 2 == 0 ? 0.5 : 0)) }
        var titles: [Int: String] = [:]
        for m in 1...(Fixture.movies + 3) { titles[m] = Fixture.title(m, utf8: format.isNewerRelease) } // 3 movies nobody rated
        self.titles = titles

        var ratingsText = "", moviesBytes: [UInt8] = []
        let ratingsName: String, moviesName: String
        func whole(_ r: Double) -> String { String(Int(r)) }
        switch format {
        case .ml1mWithTimestamps, .ml1mNoTimestamps:
            ratingsName = "ratings.dat"; moviesName = "movies.dat"
            for (i, r) in ratings.enumerated() {
                ratingsText += "\(r.user)::\(r.movie)::\(whole(r.rating))"
                ratingsText += format == .ml1mWithTimestamps ? "::\(978_300_000 + i)\n" : "\n"
            }
            for m in titles.keys.sorted() {
                moviesBytes += Fixture.latin1("\(m)::\(titles[m]!)::\(Fixture.genres(m).joined(separator: "|"))\n")
            }
        case .ml100k:
            ratingsName = "u.data"; moviesName = "u.item"
            for (i, r) in ratings.enumerated() { ratingsText += "\(r.user)\t\(r.movie)\t\(whole(r.rating))\t\(881_250_000 + i)\n" }
            for m in titles.keys.sorted() {
                var flags = [String](repeating: "0", count: 19)
                for g in Fixture.genres(m) { flags[MovieLens.genres100K.firstIndex(of: g)!] = "1" }
                moviesBytes += Fixture.latin1("\(m)|\(titles[m]!)|01-Jan-1995||http://example.invalid/\(m)|" + flags.joined(separator: "|") + "\n")
            }
        case .ml10m:
            ratingsName = "ratings.dat"; moviesName = "movies.dat"
            // ML-10M writes whole stars as `5` and half stars as `3.5`.
            for (i, r) in ratings.enumerated() {
                ratingsText += "\(r.user)::\(r.movie)::\(r.rating == r.rating.rounded() ? whole(r.rating) : String(r.rating))::\(1_230_000_000 + i)\n"
            }
            for m in titles.keys.sorted() {
                let genres = Fixture.genres(m, format: format)
                moviesBytes += Array("\(m)::\(titles[m]!)::\(genres.isEmpty ? "(no genres listed)" : genres.joined(separator: "|"))\n".utf8)
            }
        case .csv, .csvCRLFBOM:
            ratingsName = "ratings.csv"; moviesName = "movies.csv"
            let end = format == .csvCRLFBOM ? "\r\n" : "\n"
            // The CSV releases write every rating with one decimal: `4.0`, `3.5`.
            ratingsText = "userId,movieId,rating,timestamp" + end
            ratingsText += ratings.enumerated().map { i, r in "\(r.user),\(r.movie),\(String(format: "%.1f", r.rating)),\(1_500_000_000 + i)" }
                .joined(separator: end)
            var movies = ["movieId,title,genres"]
            for m in titles.keys.sorted() {
                let genres = Fixture.genres(m, format: format)
                movies.append("\(m),\(Fixture.csvField(titles[m]!)),\(genres.isEmpty ? "(no genres listed)" : genres.joined(separator: "|"))")
            }
            moviesBytes = Array(movies.joined(separator: end).utf8)
            if format == .csvCRLFBOM {
                moviesBytes = [0xEF, 0xBB, 0xBF] + moviesBytes
                ratingsText = "\u{FEFF}" + ratingsText
            } else {
                moviesBytes += Array(end.utf8)
                ratingsText += end
            }
        }
        try Data(ratingsText.utf8).write(to: dir.appendingPathComponent(ratingsName))
        try Data(moviesBytes).write(to: dir.appendingPathComponent(moviesName))
        self.ratingsName = ratingsName
        self.moviesName = moviesName

        var config: [String: Any] = [
            "input": ["ratings": ratingsName, "movies": moviesName],
            "split": ["seed": 3, "testRatio": 0.25, "validationRatio": 0.1],
            "ratingModel": ["hidden": [16, 8, 16], "epochs": 4, "batchSize": 16, "learningRate": 0.01],
            "score": ["k": 5],
            // Off unless a test is about it: tests switch between configurations whose tiny
            // fixtures' figures differ by more than a nightly run's would.
            "qualityGate": ["maxNDCGDrop": NSNull(), "maxRMSERise": NSNull()],
        ]
        for (k, v) in extraConfig { config[k] = v }
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: dir.appendingPathComponent("pipeline.json"))
    }

    static func latin1(_ s: String) -> [UInt8] { s.unicodeScalars.map { UInt8($0.value) } }

    /// A movies.csv field as the newer releases write it: quoted when it holds a comma or a
    /// quote, quotes doubled.
    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// Genres of a movie; some lists are long (MovieLens has up to six genres a movie).
    static func genres(_ m: Int) -> [String] {
        switch m % 3 {
        case 0: ["Comedy", "Drama"]
        case 1: ["Action"]
        default: ["Animation", "Children's", "Comedy", "Musical", "Romance"]
        }
    }

    /// Genres as the fixture of `format` writes them: in the newer releases, movie 6 has
    /// `(no genres listed)`.
    static func genres(_ m: Int, format: Format) -> [String] {
        format.isNewerRelease && m == 6 ? [] : genres(m)
    }

    /// This fixture's genres of a movie.
    func genres(_ m: Int) -> [String] { Fixture.genres(m, format: format) }

    /// The names of the ratings and movies files in `dir`.
    let ratingsName: String
    let moviesName: String

    var configPath: String { dir.appendingPathComponent("pipeline.json").path }
    func path(_ relative: String) -> String { dir.appendingPathComponent(relative).path }

    /// Runs the whole pipeline on one worker, then again (forced) on `workers`, and expects each
    /// of `files` (relative paths) to hold the same bytes after both runs.
    func expectSameBytes(_ files: [String], workers: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(try run("rec-pipeline", ["--config", configPath, "--workers", "1"]).status == 0, sourceLocation: sourceLocation)
        func contents(_ file: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(file))) }
        let one = try files.map(contents)
        try #require(try run("rec-pipeline", ["--config", configPath, "--workers", "\(workers)", "--force"]).status == 0,
                     sourceLocation: sourceLocation)
        for (file, before) in zip(files, one) {
            #expect(try contents(file) == before, "\(file) differs between 1 and \(workers) workers", sourceLocation: sourceLocation)
        }
    }

    /// Rewrites pipeline.json with some keys changed.
    func setConfig(_ change: (inout [String: Any]) -> Void) throws {
        var c = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        change(&c)
        try JSONSerialization.data(withJSONObject: c, options: [.sortedKeys]).write(to: URL(fileURLWithPath: configPath))
    }
}

/// The result of running one of the project's executables.
struct Run {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a built executable of this package (they sit beside the test bundle).
func run(_ executable: String, _ arguments: [String], in dir: URL? = nil) throws -> Run {
    let p = Process()
    p.executableURL = productsDirectory.appendingPathComponent(executable)
    p.arguments = arguments
    if let dir { p.currentDirectoryURL = dir }
    return try capture(p)
}

/// Runs any program found on PATH.
func runTool(_ tool: String, _ arguments: [String], in dir: URL? = nil, stdin: String? = nil) throws -> Run {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [tool] + arguments
    if let dir { p.currentDirectoryURL = dir }
    return try capture(p, stdin: stdin)
}

private func capture(_ p: Process, stdin: String? = nil) throws -> Run {
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    // Read both pipes before waiting, so a chatty child never blocks on a full pipe.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// The folder that holds the test bundle and the package's executables.
let productsDirectory: URL = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // On Linux the test binary is `<products>/<Package>PackageTests.xctest`; on macOS it is
    // inside the bundle's Contents/MacOS.
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("rec-pipeline").path), url.pathComponents.count > 1 {
        url = url.deletingLastPathComponent()
    }
    return url
}()

/// A minimal RFC 4180 reader (quoted fields, doubled quotes, commas and newlines inside
/// quotes), independent of the code under test.
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = [], row: [String] = [], field = ""
    var quoted = false, wasQuoted = false
    var it = Array(text.unicodeScalars).makeIterator()
    var pending: Unicode.Scalar?
    func next() -> Unicode.Scalar? { if let p = pending { pending = nil; return p }; return it.next() }
    while let c = next() {
        if quoted {
            if c == "\"" {
                if let d = next() {
                    if d == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = d }
                } else { quoted = false }
            } else { field.unicodeScalars.append(c) }
        } else if c == "\"" && field.isEmpty && !wasQuoted {
            quoted = true; wasQuoted = true
        } else if c == "," {
            row.append(field); field = ""; wasQuoted = false
        } else if c == "\n" {
            row.append(field); rows.append(row); row = []; field = ""; wasQuoted = false
        } else {
            field.unicodeScalars.append(c)
        }
    }
    if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
    return rows
}

func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

/// The checkout's root folder (this file is `Tests/EndToEndTests/Support.swift`).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The Python of the tests' virtual environment, which `make test` (`make venv`) fills from
/// requirements-test.txt.
let venvPython: String = repositoryRoot.appendingPathComponent(".venv/bin/python3").path

/// Runs a Python script with the virtual environment's interpreter; a missing environment is a
/// failure that says how to make it, never a skipped check.
func runPython(_ script: String, _ arguments: [String]) throws -> Run {
    guard FileManager.default.isExecutableFile(atPath: venvPython) else {
        return Run(status: 127, stdout: "", stderr: "\(venvPython) is missing: run `make venv` (make test does)")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: venvPython)
    p.arguments = ["-c", script] + arguments
    return try capture(p)
}

/// Runs a program by absolute path.
func runProgram(_ path: String, _ arguments: [String], in dir: URL? = nil, stdin: String? = nil) throws -> Run {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    if let dir { p.currentDirectoryURL = dir }
    return try capture(p, stdin: stdin)
}
