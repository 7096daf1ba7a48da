import RecCore
/// What to do with a malformed input line.
public enum InvalidLinePolicy: String, SettingChoice {
    /// Stop at the first bad line, naming file and line.
    case error
    /// Leave the line out and count it by reason.
    case skip

    public static var quotesNames: Bool { true }
}

/// How the movies file's text is read.
public enum MoviesEncoding: String, SettingChoice {
    /// UTF-8 when the file has a UTF-8 byte order mark or holds a multi-byte UTF-8 sequence,
    /// else ISO-8859-1.
    case auto
    /// ISO-8859-1 throughout.
    case latin1
    /// UTF-8 throughout.
    case utf8

    public static var quotesNames: Bool { true }
}

/// Lines that were left out, by reason; nothing is dropped without being counted here.
public struct LineReport: Sendable, Equatable, Codable {
    public var linesRead = 0
    public var blankLines = 0
    /// The header line, when the file has one (so that `linesRead` is exactly the kept,
    /// blank, skipped and header lines). Not encoded: manifests and artefacts keep their keys.
    public var headerLines = 0
    /// Lines after the first of a record whose quoted field holds a line break (movies.csv),
    /// counted with that record. Not encoded either.
    public var continuationLines = 0
    /// Skipped lines per reason (only under the `skip` policy).
    public var skipped: [String: Int] = [:]
    /// The first few skipped lines, `file:line: message`, for the log.
    public var examples: [String] = []

    enum CodingKeys: String, CodingKey { case linesRead, blankLines, skipped, examples }

    public init() {}

    public var skippedTotal: Int { skipped.values.reduce(0, +) }

    mutating func record(_ issue: LineIssue, file: String) {
        skipped[issue.reason.rawValue, default: 0] += 1
        if examples.count < 10 { examples.append("\(file):\(issue.line): \(issue.message)") }
    }
}

/// Why a line is invalid. The raw values are the keys of `LineReport.skipped`.
public enum LineProblem: String, Sendable, Codable, CaseIterable {
    case fieldCount = "field-count"
    case badUserId = "bad-user-id"
    case badMovieId = "bad-movie-id"
    case badRating = "bad-rating"
    case ratingOutOfScale = "rating-out-of-scale"
    case badTimestamp = "bad-timestamp"
    case duplicatePair = "duplicate-pair"
    case unknownMovie = "unknown-movie"
    case duplicateMovie = "duplicate-movie"
    case badEncoding = "bad-encoding"
    case badGenres = "bad-genres"
    case badQuoting = "bad-quoting"
    /// A title or genre holding a control character (U+0000–U+001F, U+007F–U+009F).
    case controlCharacter = "control-character"
}

struct LineIssue: Sendable, Equatable {
    public var line: Int
    public var reason: LineProblem
    public var message: String
}

/// Ratings as read from a file, in file order, with original ids.
public struct RawRatings: Sendable {
    public var userIds: [Int32] = []
    public var movieIds: [Int32] = []
    public var values: [Float] = []
    public var timestamps: [Int64] = []
    /// 1-based line of each rating in its file.
    public var lines: [Int32] = []

    public var count: Int { values.count }

    mutating func append(contentsOf o: RawRatings) {
        userIds += o.userIds; movieIds += o.movieIds; values += o.values; timestamps += o.timestamps; lines += o.lines
    }

    /// Keeps the entries whose index is not in `drop` (sorted ascending).
    mutating func remove(sortedIndices drop: [Int]) {
        guard !drop.isEmpty else { return }
        var keep = [Bool](repeating: true, count: count)
        for d in drop { keep[d] = false }
        func filter<T>(_ a: [T]) -> [T] { a.indices.compactMap { keep[$0] ? a[$0] : nil } }
        userIds = filter(userIds); movieIds = filter(movieIds); values = filter(values)
        timestamps = filter(timestamps); lines = filter(lines)
    }
}

/// Readers for the MovieLens text formats. Byte-level and parallel by line-chunk: the ratings
/// file is the largest input of the whole pipeline.
public enum MovieLens {
    /// Genre names of ML-100K's `u.item` flag columns, in the order of its `u.genre` file.
    static let genres100K = [
        "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
        "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
    ]

    enum Separator: Equatable {
        case doubleColon, tab, comma, pipe
        var bytes: [UInt8] {
            switch self {
            case .doubleColon: [58, 58]
            case .tab: [9]
            case .comma: [44]
            case .pipe: [124]
            }
        }
        var display: String {
            switch self {
            case .doubleColon: "'::'"
            case .tab: "tabs"
            case .comma: "commas"
            case .pipe: "'|'"
            }
        }
    }

    static let hintForSkip = "fix the line, or set \"input\": {\"invalidLines\": \"skip\"} in pipeline.json to leave such lines out"

    /// The separator of a movies file, from its first line: whichever of `::`, `|` and `,`
    /// comes first (ids come first on every line, and hold none of them).
    static func moviesSeparator(_ line: ArraySlice<UInt8>) -> Separator? {
        for i in line.indices {
            switch line[i] {
            case 58 where i + 1 < line.endIndex && line[i + 1] == 58: return .doubleColon
            case 124: return .pipe
            case 44: return .comma
            default: continue
            }
        }
        return nil
    }

    /// `Action|Comedy` as a list; empty and `(no genres listed)` are no genre.
    static func genreList(_ g: String) -> [String] {
        g.isEmpty || g == "(no genres listed)" ? [] : g.split(separator: "|").map(String.init)
    }

    /// One record of an RFC 4180 file.
    enum CSVRecord {
        case blank
        /// The fields, unquoted (doubled quotes made single).
        case fields([[UInt8]])
        /// Broken quoting; the record is the physical line it started on.
        case malformed(String)
    }

    /// Calls `body` with each record of an RFC 4180 file from `start`: its first line (1-based),
    /// how many lines it spans (a quoted field may hold line breaks) and the record. Records end
    /// at LF or CRLF; a quote inside an unquoted field is kept as it is.
    static func forEachCSVRecord(_ b: [UInt8], from start: Int, _ body: (_ line: Int, _ lines: Int, _ record: CSVRecord) throws -> Void) rethrows {
        let n = b.count
        var i = start
        var line = lineNumber(b, at: start)
        /// The end of the physical line holding `k` (the index of its LF, or `n`).
        func lineEnd(_ k: Int) -> Int {
            var e = k
            while e < n, b[e] != 10 { e += 1 }
            return e
        }
        while i < n {
            let recordStart = i, recordLine = line
            var fields: [[UInt8]] = []
            var field: [UInt8] = []
            var problem: String?
            var resumeAt = 0  // after a problem: where the next record starts, and its line
            var spanned = 1
            fieldLoop: while true {
                if i < n, b[i] == 34 { // a quoted field
                    i += 1
                    var closed = false
                    while i < n {
                        if b[i] == 34 {
                            if i + 1 < n, b[i + 1] == 34 { field.append(34); i += 2; continue }
                            i += 1; closed = true; break
                        }
                        if b[i] == 10 { spanned += 1 }
                        field.append(b[i]); i += 1
                    }
                    guard closed else {
                        // Leave out the physical line the record started on, and go on after it.
                        problem = "a quoted field that starts on this line is never closed"
                        resumeAt = lineEnd(recordStart); spanned = 1
                        break fieldLoop
                    }
                    if i < n, b[i] == 44 { fields.append(field); field = []; i += 1; continue fieldLoop }
                    if i == n || b[i] == 10 || (b[i] == 13 && (i + 1 == n || b[i + 1] == 10)) {
                        fields.append(field)
                        i = lineEnd(i)
                        break fieldLoop
                    }
                    problem = "unexpected text after a closing quote (a quote inside a quoted field must be doubled)"
                    resumeAt = lineEnd(i)
                    break fieldLoop
                }
                while i < n, b[i] != 44, b[i] != 10 { field.append(b[i]); i += 1 }
                if i < n, b[i] == 44 { fields.append(field); field = []; i += 1; continue fieldLoop }
                if field.last == 13 { field.removeLast() }
                fields.append(field)
                break fieldLoop
            }
            if let problem {
                i = resumeAt
                try body(recordLine, spanned, .malformed(problem))
            } else {
                try body(recordLine, spanned, fields.count == 1 && fields[0].isEmpty && b[recordStart] != 34 ? .blank : .fields(fields))
            }
            line = recordLine + spanned
            i += 1 // past the LF (or past the end)
        }
    }

    /// ISO-8859-1 to a Swift string. Every byte is one code point below 256, so the UTF-8 is at
    /// most twice as long. A hand loop: Foundation's `String(data:encoding: .isoLatin1)` ran at
    /// 15 MB/s on the test machine, this loop at 290–410 MB/s.
    static func latin1ToString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            var n = 0
            for b in bytes {
                if b < 0x80 {
                    out[n] = b; n += 1
                } else {
                    out[n] = 0xC0 | (b >> 6); out[n + 1] = 0x80 | (b & 0x3F); n += 2
                }
            }
            return n
        }
    }

    // MARK: - Byte-level helpers

    /// Skips a UTF-8 byte order mark.
    static func bodyStart(_ b: [UInt8]) -> Int {
        b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0
    }

    /// The first non-blank line (without its line end), if any.
    static func firstLine(_ b: [UInt8], from: Int) -> Range<Int>? {
        var result: Range<Int>?
        forEachLine(b, from..<b.count) { l in if result == nil, !l.isEmpty { result = l } }
        return result
    }

    static func lineNumber(_ b: [UInt8], at offset: Int) -> Int {
        1 + b[0..<offset].reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
    }

    /// Calls `body` with each line of `range` (without `\n` or `\r\n`). A final line without a
    /// line end counts; an empty tail after the last `\n` does not.
    static func forEachLine(_ b: [UInt8], _ range: Range<Int>, _ body: (Range<Int>) -> Void) {
        b.withUnsafeBufferPointer { p in
            var start = range.lowerBound
            var i = start
            while i < range.upperBound {
                if p[i] == 10 {
                    var end = i
                    if end > start, p[end - 1] == 13 { end -= 1 }
                    body(start..<end)
                    start = i + 1
                }
                i += 1
            }
            if start < range.upperBound {
                var end = range.upperBound
                if p[end - 1] == 13 { end -= 1 }
                body(start..<end)
            }
        }
    }

    /// Cuts `from..<b.count` into ranges of about `target` bytes that end just after a `\n`.
    static func lineChunks(_ b: [UInt8], from: Int, target: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = from
        while start < b.count {
            var end = min(start + target, b.count)
            while end < b.count, b[end - 1] != 10 { end += 1 }
            out.append(start..<end)
            start = end
        }
        return out
    }

    static func split(_ b: [UInt8], _ line: Range<Int>, _ sep: Separator, into fields: inout [Range<Int>]) {
        fields.removeAll(keepingCapacity: true)
        let s = sep.bytes
        var start = line.lowerBound
        var i = start
        while i < line.upperBound {
            if b[i] == s[0], s.count == 1 || (i + 1 < line.upperBound && b[i + 1] == s[1]) {
                fields.append(start..<i)
                i += s.count
                start = i
            } else {
                i += 1
            }
        }
        fields.append(start..<line.upperBound)
    }

    static func contains(_ line: ArraySlice<UInt8>, _ pattern: [UInt8]) -> Bool {
        guard line.count >= pattern.count else { return false }
        var i = line.startIndex
        while i + pattern.count <= line.endIndex {
            if line[i] == pattern[0], line[i + 1] == pattern[1] { return true }
            i += 1
        }
        return false
    }

    /// A positive whole number that fits Int32.
    static func parseId(_ b: [UInt8], _ r: Range<Int>) -> Int32? {
        guard let v = parseInteger(b, r), v > 0, v <= Int64(Int32.max) else { return nil }
        return Int32(v)
    }

    /// Digits only, optionally with a leading minus; at most 18 digits.
    static func parseInteger(_ b: [UInt8], _ r: Range<Int>) -> Int64? {
        var i = r.lowerBound
        var negative = false
        if i < r.upperBound, b[i] == 45 { negative = true; i += 1 }
        guard i < r.upperBound, r.upperBound - i <= 18 else { return nil }
        var v: Int64 = 0
        while i < r.upperBound {
            let d = b[i] &- 48
            guard d < 10 else { return nil }
            v = v * 10 + Int64(d)
            i += 1
        }
        return negative ? -v : v
    }

    /// `123`, `4.5`, `-0.5`: digits with an optional fraction.
    static func parseDecimal(_ b: [UInt8], _ r: Range<Int>) -> Double? {
        guard let dot = b[r].firstIndex(of: 46) else { return parseInteger(b, r).map(Double.init) }
        guard let whole = dot == r.lowerBound ? 0 : parseInteger(b, r.lowerBound..<dot),
              dot + 1 < r.upperBound, let fraction = parseInteger(b, (dot + 1)..<r.upperBound), fraction >= 0,
              b[dot + 1] != 45 else { return nil }
        let digits = r.upperBound - dot - 1
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let negative = b[r.lowerBound] == 45
        return Double(whole) + (negative ? -1 : 1) * Double(fraction) / scale
    }

    static func text(_ b: [UInt8], _ r: Range<Int>) -> String {
        display(b[r])
    }
}
