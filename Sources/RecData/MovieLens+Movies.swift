import RecCore

extension MovieLens {
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
        var reader = MoviesReader(bytes, body: body, encoding: encoding, headerLine: lineNumber(bytes, at: first.lowerBound))
        switch separator {
        case .comma: try reader.readCSV(file: file)
        case .doubleColon, .pipe, .tab: try reader.readSeparated(separator, first: first, file: file)
        }
        return try reader.catalogue(file: file, policy: policy)
    }

    /// Each issue under `policy`: the first one thrown (`error`), or every one counted in
    /// `report` (`skip`). Issues come in line order.
    static func apply(_ issues: [LineIssue], policy: InvalidLinePolicy, file: String, to report: inout LineReport) throws {
        for issue in issues {
            if policy == .error { throw RecError(.input, issue.message, file: file, line: issue.line, hint: hintForSkip) }
            report.record(issue, file: file)
        }
    }

    /// One movies file being read: the movies kept so far, the bad lines and the line counts.
    /// The steps are `readCSV` or `readSeparated` (by the file's separator), then `catalogue`.
    struct MoviesReader {
        typealias Row = (id: Int32, title: String, genres: [String], line: Int)

        let bytes: [UInt8]
        /// Where the text starts (after a byte order mark).
        let body: Int
        /// The line of the first non-blank line, which is the header when there is one.
        let headerLine: Int
        let utf8: Bool
        /// Lines holding a byte that is not UTF-8 (when read as UTF-8): its column and value.
        let invalidUTF8: [Int: (column: Int, byte: UInt8)]
        /// Why the file is read as UTF-8, for the message of a byte that is not.
        let whyUTF8: String
        var report = LineReport()
        var rows: [Row] = []
        var issues: [LineIssue] = []

        init(_ bytes: [UInt8], body: Int, encoding: MoviesEncoding, headerLine: Int) {
            self.bytes = bytes
            self.body = body
            self.headerLine = headerLine
            // `auto`: UTF-8 when the file has a UTF-8 byte order mark or holds a multi-byte UTF-8
            // sequence, else ISO-8859-1 (ML-1M and ML-100K hold bytes above 0x7F and no such
            // sequence). Read as UTF-8, a byte that is not UTF-8 is a bad line: one stray byte
            // never turns the whole file into ISO-8859-1, and nothing is replaced by U+FFFD.
            utf8 = switch encoding {
            case .utf8: true
            case .latin1: false
            case .auto: body > 0 || MovieLens.hasMultiByteUTF8(bytes, body..<bytes.count)
            }
            invalidUTF8 = utf8 ? MovieLens.invalidUTF8Lines(bytes, from: body) : [:]
            whyUTF8 = encoding == .utf8
                ? "input.moviesEncoding is \"utf8\"; set it to \"latin1\" for an ISO-8859-1 file"
                : "the file holds UTF-8 elsewhere, so \"auto\" reads it as UTF-8; if it is ISO-8859-1 throughout, set input.moviesEncoding to \"latin1\""
        }

        mutating func issue(_ n: Int, _ p: LineProblem, _ m: String) { issues.append(LineIssue(line: n, reason: p, message: m)) }

        /// A byte that is not UTF-8 on lines `n..<n + count` (one record), as an issue at its line.
        mutating func badEncoding(_ n: Int, lines count: Int) -> Bool {
            guard !invalidUTF8.isEmpty, let k = (n..<(n + count)).first(where: { invalidUTF8[$0] != nil }) else { return false }
            let (column, byte) = invalidUTF8[k]!
            issue(k, .badEncoding, "byte 0x\(byte < 16 ? "0" : "")\(String(byte, radix: 16, uppercase: true)) at column \(column) is not UTF-8 (\(whyUTF8))")
            return true
        }

        /// Keeps a movie whose title and genres decode and hold no control character.
        mutating func keep(_ n: Int, id: Int32, title raw: ArraySlice<UInt8>, genres rawGenres: ArraySlice<UInt8>?, flagged: [String] = []) {
            let utf8 = utf8
            let decode = { (r: ArraySlice<UInt8>) in utf8 ? String(validating: r, as: UTF8.self) : MovieLens.latin1ToString(r) }
            guard let title = decode(raw), let genres = rawGenres.map(decode) ?? "" else {
                issue(n, .badEncoding, "title or genres are not valid UTF-8 (\(whyUTF8))"); return
            }
            for (what, text) in [("title", title), ("genres", genres)] {
                if let (scalar, position) = MovieLens.firstControl(text) {
                    issue(n, .controlCharacter, "the \(what) holds the control character \(MovieLens.describe(scalar)) at character \(position): '\(MovieLens.display(Array(text.utf8)))'")
                    return
                }
            }
            let list = rawGenres == nil ? flagged : MovieLens.genreList(genres)
            // Genres are names: a number there means the file is not a movies file (a ratings
            // file given as the movies file reads as id::title::genres otherwise).
            if let number = list.first(where: { g in MovieLens.parseDecimal(Array(g.utf8), 0..<g.utf8.count) != nil }) {
                issue(n, .badGenres, "genre '\(MovieLens.display(Array(number.utf8)))' is a number (is this a ratings file?)"); return
            }
            rows.append((id, title, list, n))
        }

        /// `movies.csv`: RFC 4180 records under a `movieId,title,genres` header (any column order).
        mutating func readCSV(file: String) throws {
            var columns = ColumnMap.positional(MovieLens.moviesColumns)
            try MovieLens.forEachCSVRecord(bytes, from: body) { n, lines, record in
                report.linesRead += lines
                report.continuationLines += lines - 1
                if case .blank = record { report.blankLines += 1; return }
                // The header (`movieId,title,genres`): a first record without any number. Its
                // columns may come in any order.
                if n == headerLine, case .fields(let names) = record, MovieLens.isHeader(names.map { $0[...] }) {
                    columns = try MovieLens.columnMap(header: names.map { $0[...] }, columns: MovieLens.moviesColumns, what: "movies", file: file, line: n)
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
                    let names = (0..<(columns.fieldCount ?? 3)).map { k in MovieLens.moviesColumns[columns.index.firstIndex(of: k)!].name }
                    issue(n, .fieldCount, "expected \(names.count) fields separated by commas (\(names.joined(separator: ", "))), found \(fields.count); a title holding a comma must be in double quotes"); return
                }
                let idField = fields[columns.index[0]!]
                guard let id = MovieLens.parseId(idField, 0..<idField.count) else {
                    issue(n, .badMovieId, "movie id '\(MovieLens.text(idField, 0..<idField.count))' is not a positive whole number"); return
                }
                keep(n, id: id, title: fields[columns.index[1]!][...], genres: fields[columns.index[2]!][...])
            }
        }

        /// `::` files (ML-1M, ML-10M; a header is allowed, `MovieID::Title::Genres`, a first line
        /// without any number) and ML-100K's `u.item`, which never has one and whose layout is fixed.
        mutating func readSeparated(_ separator: Separator, first: Range<Int>, file: String) throws {
            var fields: [Range<Int>] = []
            var columns = ColumnMap.positional(MovieLens.moviesColumns)
            MovieLens.split(bytes, first, separator, into: &fields)
            let headed = separator == .doubleColon && MovieLens.isHeader(fields.map { bytes[$0] })
            if headed {
                columns = try MovieLens.columnMap(header: fields.map { bytes[$0] }, columns: MovieLens.moviesColumns, what: "movies", file: file, line: headerLine)
            }
            var n = MovieLens.lineNumber(bytes, at: body) - 1
            MovieLens.forEachLine(bytes, body..<bytes.count) { l in
                n += 1
                report.linesRead += 1
                if l.isEmpty { report.blankLines += 1; return }
                if headed, n == headerLine { report.headerLines = 1; return }
                if badEncoding(n, lines: 1) { return }
                MovieLens.split(bytes, l, separator, into: &fields)
                if separator == .doubleColon {
                    readDoubleColon(n, fields, columns: columns, headed: headed)
                } else {
                    readUItem(n, fields)
                }
            }
        }

        /// One `::` line, by the header's columns (or id, title, genres).
        mutating func readDoubleColon(_ n: Int, _ fields: [Range<Int>], columns: ColumnMap, headed: Bool) {
            let count = columns.fieldCount ?? 3
            guard fields.count >= count else {
                let names = headed ? (0..<count).map { k in MovieLens.moviesColumns[columns.index.firstIndex(of: k)!].name }.joined(separator: ", ") : "id, title, genres"
                issue(n, .fieldCount, "expected \(count) fields separated by '::' (\(names)), found \(fields.count)"); return
            }
            // Titles never hold '::' in MovieLens, but if one does, keep it whole: the fields
            // beyond the header's count belong to the title.
            let extra = fields.count - count, t = columns.index[1]!
            func column(_ c: Int) -> Range<Int> {
                let k = columns.index[c]!
                return k < t ? fields[k] : k == t ? fields[t].lowerBound..<fields[t + extra].upperBound : fields[k + extra]
            }
            let idRange = column(0)
            guard let id = MovieLens.parseId(bytes, idRange) else {
                issue(n, .badMovieId, "movie id '\(MovieLens.text(bytes, idRange))' is not a positive whole number"); return
            }
            keep(n, id: id, title: bytes[column(1)], genres: bytes[column(2)])
        }

        /// One `u.item` line: id, title, dates, URL, then one 0/1 flag per ML-100K genre.
        mutating func readUItem(_ n: Int, _ fields: [Range<Int>]) {
            let genres100K = MovieLens.genres100K
            guard fields.count == 5 + genres100K.count else {
                issue(n, .fieldCount, "expected \(5 + genres100K.count) fields separated by '|' (id, title, dates, URL, \(genres100K.count) genre flags), found \(fields.count)"); return
            }
            var genres: [String] = []
            for (k, name) in genres100K.enumerated() {
                switch MovieLens.text(bytes, fields[5 + k]) {
                case "1": genres.append(name)
                case "0": break
                default: issue(n, .badGenres, "genre flag \(k + 1) must be 0 or 1"); return
                }
            }
            guard let id = MovieLens.parseId(bytes, fields[0]) else {
                issue(n, .badMovieId, "movie id '\(MovieLens.text(bytes, fields[0]))' is not a positive whole number"); return
            }
            keep(n, id: id, title: bytes[fields[1]], genres: nil, flagged: genres)
        }

        /// The movies by id, a repeated id an issue at its later line; the issues under `policy`.
        mutating func catalogue(file: String, policy: InvalidLinePolicy) throws -> (Catalogue, LineReport) {
            rows.sort { $0.id != $1.id ? $0.id < $1.id : $0.line < $1.line }
            var kept: [Row] = []
            for r in rows {
                if let last = kept.last, last.id == r.id {
                    issues.append(LineIssue(line: r.line, reason: .duplicateMovie, message: "movie id \(r.id) already appears on line \(last.line)"))
                    continue
                }
                kept.append(r)
            }
            issues.sort { $0.line < $1.line }
            try MovieLens.apply(issues, policy: policy, file: file, to: &report)
            return (Catalogue(movieIds: kept.map(\.id), titles: kept.map(\.title), genres: kept.map(\.genres)), report)
        }
    }
}
