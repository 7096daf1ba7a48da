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

    /// Parses a ratings file with an explicit scale (`RatingScale.fixed`).
    public static func parseRatings(
        _ bytes: [UInt8], file: String, scale: ClosedRange<Double>, policy: InvalidLinePolicy, parallel: Parallel
    ) throws -> (RawRatings, LineReport) {
        try parseRatings(bytes, file: file, scale: .fixed(lowest: scale.lowerBound, highest: scale.upperBound), policy: policy, parallel: parallel)
    }

    /// Parses a ratings file of any MovieLens release, its format detected from the first line:
    /// `UserID::MovieID::Rating[::Timestamp]` (ML-1M; ML-10M with half stars), tab-separated
    /// `user item rating timestamp` (ML-100K), or comma-separated with a
    /// `userId,movieId,rating,timestamp` header (ML-20M, ML-25M, ML-32M, ml-latest). A UTF-8
    /// byte order mark, CRLF line ends and a missing final line end are accepted. Ratings are
    /// kept exactly as written (half stars are exact in `Float`).
    public static func parseRatings(
        _ bytes: [UInt8], file: String, scale: RatingScale, policy: InvalidLinePolicy, parallel: Parallel
    ) throws -> (RawRatings, LineReport) {
        let check = scale.check
        let body = bodyStart(bytes)
        guard let first = firstLine(bytes, from: body) else {
            throw RecError(.input, "the ratings file is empty", file: file)
        }
        let line = bytes[first]
        let separator: Separator
        if contains(line, [58, 58]) { separator = .doubleColon }
        else if line.contains(9) { separator = .tab }
        else if line.contains(44) { separator = .comma }
        else { throw RecError(.input, "unrecognised ratings format: expected fields separated by '::', tabs or commas", file: file, line: lineNumber(bytes, at: first.lowerBound)) }
        // A header (`userId,movieId,rating,timestamp` in the newer releases; in any format, a
        // first line without any number) is read by name: its columns may come in any order.
        // A malformed first data line, with numbers in it, is reported as data.
        var start = body
        var headerFields: [Range<Int>] = []
        split(bytes, first, separator, into: &headerFields)
        var columns = ColumnMap.positional(ratingsColumns)
        if isHeader(headerFields.map { bytes[$0] }) {
            columns = try columnMap(header: headerFields.map { bytes[$0] }, columns: ratingsColumns, what: "ratings",
                                    file: file, line: lineNumber(bytes, at: first.lowerBound))
            start = first.upperBound
            while start < bytes.count, bytes[start] != 10 { start += 1 }
            start = min(start + 1, bytes.count)
        }
        // The header and any blank lines before it.
        let headerLines = start == body ? 0 : lineNumber(bytes, at: first.lowerBound)
        let (userColumn, movieColumn, ratingColumn) = (columns.index[0]!, columns.index[1]!, columns.index[2]!)
        let timestampColumn = columns.index[3]
        let fieldCountProblem = columns.fieldCount.map { n in
            "expected \(n) fields separated by \(separator.display), one for each column of the header"
        } ?? "expected 3 or 4 fields separated by \(separator.display) (user, movie, rating[, timestamp])"

        let chunks = lineChunks(bytes, from: start, target: 1 << 20)
        struct Part { var r = RawRatings(); var lines = 0; var blank = 0; var issues: [LineIssue] = [] }
        let parts: [Part] = parallel.mapChunks(count: chunks.count, chunkSize: 1) { range in
            var part = Part()
            let chunk = chunks[range.lowerBound]
            var fields: [Range<Int>] = []
            forEachLine(bytes, chunk) { l in
                part.lines += 1
                let n = part.lines
                if l.isEmpty { part.blank += 1; return }
                split(bytes, l, separator, into: &fields)
                func issue(_ p: LineProblem, _ m: String) { part.issues.append(LineIssue(line: n, reason: p, message: m)) }
                guard columns.fieldCount.map({ fields.count == $0 }) ?? (fields.count == 3 || fields.count == 4) else {
                    issue(.fieldCount, "\(fieldCountProblem), found \(fields.count)")
                    return
                }
                let userField = fields[userColumn], movieField = fields[movieColumn], ratingField = fields[ratingColumn]
                guard let user = parseId(bytes, userField) else {
                    issue(.badUserId, "user id '\(text(bytes, userField))' is not a positive whole number"); return
                }
                guard let movie = parseId(bytes, movieField) else {
                    issue(.badMovieId, "movie id '\(text(bytes, movieField))' is not a positive whole number"); return
                }
                guard let rating = parseDecimal(bytes, ratingField) else {
                    issue(.badRating, "rating '\(text(bytes, ratingField))' is not a number"); return
                }
                guard check.accepts(rating) else {
                    issue(.ratingOutOfScale, check.problem(text(bytes, ratingField), rating)); return
                }
                var timestamp: Int64 = -1
                if let t = columns.fieldCount == nil ? (fields.count == 4 ? 3 : nil) : timestampColumn {
                    guard let t = parseInteger(bytes, fields[t]) else {
                        issue(.badTimestamp, "timestamp '\(text(bytes, fields[t]))' is not a whole number"); return
                    }
                    timestamp = t
                }
                part.r.userIds.append(user); part.r.movieIds.append(movie); part.r.values.append(Float(rating))
                part.r.timestamps.append(timestamp); part.r.lines.append(Int32(n))
            }
            return part
        }
        try Ingest.checkLineCount(parts.reduce(lineNumber(bytes, at: start) - 1) { $0 + $1.lines }, file: file)
        var report = LineReport()
        var all = RawRatings()
        var offset = lineNumber(bytes, at: start) - 1
        report.linesRead = headerLines
        report.headerLines = headerLines > 0 ? 1 : 0
        report.blankLines = max(headerLines - 1, 0)
        var issues: [LineIssue] = []
        for var p in parts {
            for i in p.issues.indices { p.issues[i].line += offset }
            for i in p.r.lines.indices { p.r.lines[i] += Int32(offset) }
            issues += p.issues
            all.append(contentsOf: p.r)
            offset += p.lines
            report.linesRead += p.lines
            report.blankLines += p.blank
        }
        for issue in issues {
            if policy == .error { throw RecError(.input, issue.message, file: file, line: issue.line, hint: hintForSkip) }
            report.record(issue, file: file)
        }
        return (all, report)
    }

    static let hintForSkip = "fix the line, or set \"input\": {\"invalidLines\": \"skip\"} in pipeline.json to leave such lines out"

    /// Parses a movies file of any MovieLens release, its format detected from the first line:
    /// `MovieID::Title::Genres` (ML-1M in ISO-8859-1, ML-10M in UTF-8), ML-100K's `u.item`
    /// (`id|title|release|video release|IMDb URL|19 genre flags`), or `movies.csv`
    /// (`movieId,title,genres` header, RFC 4180: quoted fields, doubled quotes; ML-20M and
    /// later). `(no genres listed)` is no genre. A UTF-8 byte order mark, CRLF line ends and a
    /// missing final line end are accepted.
    /// A header, when there is one, is read by name (`MovieLens+Header.swift`). A title or
    /// genre holding a control character is a bad line.
    /// - Parameter encoding: `latin1`, `utf8`, or `auto` (UTF-8 when the file has a UTF-8 byte
    ///   order mark or holds a multi-byte UTF-8 sequence, else ISO-8859-1, which is what the
    ///   ML-100K and ML-1M files are). Read as UTF-8, a line with a byte that is not UTF-8 is
    ///   a bad line naming the byte and its column.
    public static func parseMovies(
        _ bytes: [UInt8], file: String, encoding: MoviesEncoding, policy: InvalidLinePolicy
    ) throws -> (Catalogue, LineReport) {
        let body = bodyStart(bytes)
        guard let first = firstLine(bytes, from: body) else { throw RecError(.input, "the movies file is empty", file: file) }
        guard let separator = moviesSeparator(bytes[first]) else {
            throw RecError(.input, "unrecognised movies format: expected MovieID::Title::Genres (ML-1M, ML-10M), ML-100K's u.item (fields separated by '|') or movies.csv (movieId,title,genres)",
                           file: file, line: lineNumber(bytes, at: first.lowerBound))
        }
        // `auto`: UTF-8 when the file has a UTF-8 byte order mark or holds a multi-byte UTF-8
        // sequence, else ISO-8859-1 (ML-1M and ML-100K hold bytes above 0x7F and no such
        // sequence). Read as UTF-8, a byte that is not UTF-8 is a bad line: one stray byte
        // never turns the whole file into ISO-8859-1, and nothing is replaced by U+FFFD.
        let utf8 = switch encoding {
        case .utf8: true
        case .latin1: false
        case .auto: body > 0 || hasMultiByteUTF8(bytes, body..<bytes.count)
        }
        let invalidUTF8 = utf8 ? invalidUTF8Lines(bytes, from: body) : [:]
        let whyUTF8 = encoding == .utf8
            ? "input.moviesEncoding is \"utf8\"; set it to \"latin1\" for an ISO-8859-1 file"
            : "the file holds UTF-8 elsewhere, so \"auto\" reads it as UTF-8; if it is ISO-8859-1 throughout, set input.moviesEncoding to \"latin1\""

        var report = LineReport()
        var rows: [(id: Int32, title: String, genres: [String], line: Int)] = []
        var issues: [LineIssue] = []
        func issue(_ n: Int, _ p: LineProblem, _ m: String) { issues.append(LineIssue(line: n, reason: p, message: m)) }
        /// A byte that is not UTF-8 on lines `n..<n + count` (one record), as an issue at its line.
        func badEncoding(_ n: Int, lines count: Int) -> Bool {
            guard !invalidUTF8.isEmpty, let k = (n..<(n + count)).first(where: { invalidUTF8[$0] != nil }) else { return false }
            let (column, byte) = invalidUTF8[k]!
            issue(k, .badEncoding, "byte 0x\(byte < 16 ? "0" : "")\(String(byte, radix: 16, uppercase: true)) at column \(column) is not UTF-8 (\(whyUTF8))")
            return true
        }
        /// Keeps a movie whose title and genres decode and hold no control character.
        func keep(_ n: Int, id: Int32, title raw: ArraySlice<UInt8>, genres rawGenres: ArraySlice<UInt8>?, flagged: [String] = []) {
            let decode = { (r: ArraySlice<UInt8>) in utf8 ? String(validating: r, as: UTF8.self) : latin1ToString(r) }
            guard let title = decode(raw), let genres = rawGenres.map(decode) ?? "" else {
                issue(n, .badEncoding, "title or genres are not valid UTF-8 (\(whyUTF8))"); return
            }
            for (what, text) in [("title", title), ("genres", genres)] {
                if let (scalar, position) = firstControl(text) {
                    issue(n, .controlCharacter, "the \(what) holds the control character \(describe(scalar)) at character \(position): '\(display(Array(text.utf8)))'")
                    return
                }
            }
            let list = rawGenres == nil ? flagged : genreList(genres)
            // Genres are names: a number there means the file is not a movies file (a ratings
            // file given as the movies file reads as id::title::genres otherwise).
            if let number = list.first(where: { g in parseDecimal(Array(g.utf8), 0..<g.utf8.count) != nil }) {
                issue(n, .badGenres, "genre '\(display(Array(number.utf8)))' is a number (is this a ratings file?)"); return
            }
            rows.append((id, title, list, n))
        }
        let headerLine = lineNumber(bytes, at: first.lowerBound)
        if separator == .comma {
            var columns = ColumnMap.positional(moviesColumns)
            try forEachCSVRecord(bytes, from: body) { n, lines, record in
                report.linesRead += lines
                report.continuationLines += lines - 1
                if case .blank = record { report.blankLines += 1; return }
                // The header (`movieId,title,genres`): a first record without any number. Its
                // columns may come in any order.
                if n == headerLine, case .fields(let names) = record, isHeader(names.map { $0[...] }) {
                    columns = try columnMap(header: names.map { $0[...] }, columns: moviesColumns, what: "movies", file: file, line: n)
                    report.headerLines = 1
                    return
                }
                if badEncoding(n, lines: lines) { return }
                let fields: [[UInt8]]
                switch record {
                case .blank: return
                case .malformed(let message): issue(n, .badQuoting, message); return
                case .fields(let f): fields = f
                }
                guard fields.count == columns.fieldCount ?? 3 else {
                    let names = (0..<(columns.fieldCount ?? 3)).map { k in moviesColumns[columns.index.firstIndex(of: k)!].name }
                    issue(n, .fieldCount, "expected \(names.count) fields separated by commas (\(names.joined(separator: ", "))), found \(fields.count); a title holding a comma must be in double quotes"); return
                }
                let idField = fields[columns.index[0]!]
                guard let id = parseId(idField, 0..<idField.count) else {
                    issue(n, .badMovieId, "movie id '\(text(idField, 0..<idField.count))' is not a positive whole number"); return
                }
                keep(n, id: id, title: fields[columns.index[1]!][...], genres: fields[columns.index[2]!][...])
            }
        } else {
            // A `::` file may have a header too (`MovieID::Title::Genres`, a first line without
            // any number); u.item never has one, and its layout is fixed.
            var fields: [Range<Int>] = []
            var columns = ColumnMap.positional(moviesColumns)
            split(bytes, first, separator, into: &fields)
            let headed = separator == .doubleColon && isHeader(fields.map { bytes[$0] })
            if headed {
                columns = try columnMap(header: fields.map { bytes[$0] }, columns: moviesColumns, what: "movies", file: file, line: headerLine)
            }
            var n = lineNumber(bytes, at: body) - 1
            forEachLine(bytes, body..<bytes.count) { l in
                n += 1
                report.linesRead += 1
                if l.isEmpty { report.blankLines += 1; return }
                if headed, n == headerLine { report.headerLines = 1; return }
                if badEncoding(n, lines: 1) { return }
                split(bytes, l, separator, into: &fields)
                let idRange: Range<Int>, titleRange: Range<Int>
                var genresRange: Range<Int>?
                var genres: [String] = []
                if separator == .doubleColon {
                    let count = columns.fieldCount ?? 3
                    guard fields.count >= count else {
                        let names = headed ? (0..<count).map { k in moviesColumns[columns.index.firstIndex(of: k)!].name }.joined(separator: ", ") : "id, title, genres"
                        issue(n, .fieldCount, "expected \(count) fields separated by '::' (\(names)), found \(fields.count)"); return
                    }
                    // Titles never hold '::' in MovieLens, but if one does, keep it whole: the
                    // fields beyond the header's count belong to the title.
                    let extra = fields.count - count, t = columns.index[1]!
                    func column(_ c: Int) -> Range<Int> {
                        let k = columns.index[c]!
                        return k < t ? fields[k] : k == t ? fields[t].lowerBound..<fields[t + extra].upperBound : fields[k + extra]
                    }
                    idRange = column(0); titleRange = column(1); genresRange = column(2)
                } else {
                    guard fields.count == 5 + genres100K.count else {
                        issue(n, .fieldCount, "expected \(5 + genres100K.count) fields separated by '|' (id, title, dates, URL, \(genres100K.count) genre flags), found \(fields.count)"); return
                    }
                    (idRange, titleRange) = (fields[0], fields[1])
                    for (k, name) in genres100K.enumerated() {
                        switch text(bytes, fields[5 + k]) {
                        case "1": genres.append(name)
                        case "0": break
                        default: issue(n, .badGenres, "genre flag \(k + 1) must be 0 or 1"); return
                        }
                    }
                }
                guard let id = parseId(bytes, idRange) else {
                    issue(n, .badMovieId, "movie id '\(text(bytes, idRange))' is not a positive whole number"); return
                }
                keep(n, id: id, title: bytes[titleRange], genres: genresRange.map { bytes[$0] }, flagged: genres)
            }
        }
        rows.sort { $0.id != $1.id ? $0.id < $1.id : $0.line < $1.line }
        var kept: [(id: Int32, title: String, genres: [String], line: Int)] = []
        for r in rows {
            if let last = kept.last, last.id == r.id {
                issues.append(LineIssue(line: r.line, reason: .duplicateMovie, message: "movie id \(r.id) already appears on line \(last.line)"))
                continue
            }
            kept.append(r)
        }
        issues.sort { $0.line < $1.line }
        for issue in issues {
            if policy == .error { throw RecError(.input, issue.message, file: file, line: issue.line, hint: hintForSkip) }
            report.record(issue, file: file)
        }
        return (Catalogue(movieIds: kept.map(\.id), titles: kept.map(\.title), genres: kept.map(\.genres)), report)
    }

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
