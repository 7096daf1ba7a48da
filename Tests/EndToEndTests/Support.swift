import Foundation
import RecKit
import Testing

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
    }

    let dir: URL
    let format: Format
    /// (user, movie, rating) as written.
    let ratings: [(user: Int, movie: Int, rating: Int)]
    /// movie id → title (UTF-8 as it should come out).
    let titles: [Int: String]

    static let users = 60
    static let movies = 45

    /// Titles with the characters that break naive CSV and encodings.
    static func title(_ m: Int) -> String {
        switch m {
        case 3: "Misérables, Les (1995)"
        case 5: "Quote \"Unquote\" (1999)"
        case 7: "Comma, Semicolon; and Pipe (2000)"
        case 9: "Café Crème à la Française (1987)"
        case 11: "Comma, and \"Quotes\" (2001)"
        default: "Movie \(m) (19\(50 + m % 50))"
        }
    }

    init(_ format: Format, seed: UInt64 = 7, extraConfig: [String: Any] = [:]) throws {
        self.format = format
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rec-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
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
        ratings = rows.map { (user: $0.0, movie: $0.1, rating: $0.2) }
        var titles: [Int: String] = [:]
        for m in 1...(Fixture.movies + 3) { titles[m] = Fixture.title(m) } // 3 movies nobody rated
        self.titles = titles

        var ratingsText = "", moviesBytes: [UInt8] = []
        let ratingsName: String, moviesName: String
        switch format {
        case .ml1mWithTimestamps, .ml1mNoTimestamps:
            ratingsName = "ratings.dat"; moviesName = "movies.dat"
            for (i, r) in ratings.enumerated() {
                ratingsText += "\(r.user)::\(r.movie)::\(r.rating)"
                ratingsText += format == .ml1mWithTimestamps ? "::\(978_300_000 + i)\n" : "\n"
            }
            for m in titles.keys.sorted() {
                moviesBytes += Fixture.latin1("\(m)::\(titles[m]!)::\(Fixture.genres(m).joined(separator: "|"))\n")
            }
        case .ml100k:
            ratingsName = "u.data"; moviesName = "u.item"
            for (i, r) in ratings.enumerated() { ratingsText += "\(r.user)\t\(r.movie)\t\(r.rating)\t\(881_250_000 + i)\n" }
            for m in titles.keys.sorted() {
                var flags = [String](repeating: "0", count: 19)
                for g in Fixture.genres(m) { flags[MovieLens.genres100K.firstIndex(of: g)!] = "1" }
                moviesBytes += Fixture.latin1("\(m)|\(titles[m]!)|01-Jan-1995||http://example.invalid/\(m)|" + flags.joined(separator: "|") + "\n")
            }
        }
        try Data(ratingsText.utf8).write(to: dir.appendingPathComponent(ratingsName))
        try Data(moviesBytes).write(to: dir.appendingPathComponent(moviesName))

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

    /// Genres of a movie; some lists are long (MovieLens has up to six genres a movie).
    static func genres(_ m: Int) -> [String] {
        switch m % 3 {
        case 0: ["Comedy", "Drama"]
        case 1: ["Action"]
        default: ["Animation", "Children's", "Comedy", "Musical", "Romance"]
        }
    }

    var configPath: String { dir.appendingPathComponent("pipeline.json").path }
    func path(_ relative: String) -> String { dir.appendingPathComponent(relative).path }
    func remove() { try? FileManager.default.removeItem(at: dir) }

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
