import RecCore

extension MovieLens {
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
        let layout = try RatingsLayout(bytes, file: file)
        let check = scale.check
        let chunks = lineChunks(bytes, from: layout.start, target: 1 << 20)
        let parts: [RatingsPart] = parallel.mapChunks(count: chunks.count, chunkSize: 1) { range in
            layout.read(bytes, chunks[range.lowerBound], check: check)
        }
        try Ingest.checkLineCount(parts.reduce(lineNumber(bytes, at: layout.start) - 1) { $0 + $1.lines }, file: file)
        return try layout.merge(parts, bytes: bytes, file: file, policy: policy)
    }

    /// The ratings of one chunk of lines, numbered from 1 within the chunk.
    struct RatingsPart {
        var ratings = RawRatings()
        var lines = 0
        var blank = 0
        var issues: [LineIssue] = []
    }

    /// How a ratings file is laid out: its separator, where each column is, and where the data
    /// starts (after a byte order mark, a header and blank lines before it).
    struct RatingsLayout {
        let separator: Separator
        let columns: ColumnMap
        /// Where the first data line starts.
        let start: Int
        /// The header and any blank lines before it.
        let headerLines: Int
        let fieldCountProblem: String

        init(_ bytes: [UInt8], file: String) throws {
            let body = MovieLens.bodyStart(bytes)
            guard let first = MovieLens.firstLine(bytes, from: body) else {
                throw RecError(.input, "the ratings file is empty", file: file)
            }
            let line = bytes[first]
            if MovieLens.contains(line, [58, 58]) { separator = .doubleColon }
            else if line.contains(9) { separator = .tab }
            else if line.contains(44) { separator = .comma }
            else { throw RecError(.input, "unrecognised ratings format: expected fields separated by '::', tabs or commas", file: file, line: MovieLens.lineNumber(bytes, at: first.lowerBound)) }
            // A header (`userId,movieId,rating,timestamp` in the newer releases; in any format, a
            // first line without any number) is read by name: its columns may come in any order.
            // A malformed first data line, with numbers in it, is reported as data.
            var start = body
            var headerFields: [Range<Int>] = []
            MovieLens.split(bytes, first, separator, into: &headerFields)
            var columns = ColumnMap.positional(MovieLens.ratingsColumns)
            if MovieLens.isHeader(headerFields.map { bytes[$0] }) {
                columns = try MovieLens.columnMap(header: headerFields.map { bytes[$0] }, columns: MovieLens.ratingsColumns, what: "ratings",
                                                  file: file, line: MovieLens.lineNumber(bytes, at: first.lowerBound))
                start = first.upperBound
                while start < bytes.count, bytes[start] != 10 { start += 1 }
                start = min(start + 1, bytes.count)
            }
            self.columns = columns
            self.start = start
            headerLines = start == body ? 0 : MovieLens.lineNumber(bytes, at: first.lowerBound)
            fieldCountProblem = columns.fieldCount.map { [separator] n in
                "expected \(n) fields separated by \(separator.display), one for each column of the header"
            } ?? "expected 3 or 4 fields separated by \(separator.display) (user, movie, rating[, timestamp])"
        }

        /// Reads the lines of `chunk`: a rating per good line, an issue per bad one.
        func read(_ bytes: [UInt8], _ chunk: Range<Int>, check: RatingScale.Check) -> RatingsPart {
            var part = RatingsPart()
            var fields: [Range<Int>] = []
            let (userColumn, movieColumn, ratingColumn) = (columns.index[0]!, columns.index[1]!, columns.index[2]!)
            let timestampColumn = columns.index[3]
            MovieLens.forEachLine(bytes, chunk) { l in
                part.lines += 1
                let n = part.lines
                if l.isEmpty { part.blank += 1; return }
                MovieLens.split(bytes, l, separator, into: &fields)
                func issue(_ p: LineProblem, _ m: String) { part.issues.append(LineIssue(line: n, reason: p, message: m)) }
                guard columns.fieldCount.map({ fields.count == $0 }) ?? (fields.count == 3 || fields.count == 4) else {
                    issue(.fieldCount, "\(fieldCountProblem), found \(fields.count)")
                    return
                }
                let userField = fields[userColumn], movieField = fields[movieColumn], ratingField = fields[ratingColumn]
                guard let user = MovieLens.parseId(bytes, userField) else {
                    issue(.badUserId, "user id '\(MovieLens.text(bytes, userField))' is not a positive whole number"); return
                }
                guard let movie = MovieLens.parseId(bytes, movieField) else {
                    issue(.badMovieId, "movie id '\(MovieLens.text(bytes, movieField))' is not a positive whole number"); return
                }
                guard let rating = MovieLens.parseDecimal(bytes, ratingField) else {
                    issue(.badRating, "rating '\(MovieLens.text(bytes, ratingField))' is not a number"); return
                }
                guard check.accepts(rating) else {
                    issue(.ratingOutOfScale, check.problem(MovieLens.text(bytes, ratingField), rating)); return
                }
                var timestamp: Int64 = -1
                if let t = columns.fieldCount == nil ? (fields.count == 4 ? 3 : nil) : timestampColumn {
                    guard let t = MovieLens.parseInteger(bytes, fields[t]) else {
                        issue(.badTimestamp, "timestamp '\(MovieLens.text(bytes, fields[t]))' is not a whole number"); return
                    }
                    timestamp = t
                }
                part.ratings.userIds.append(user); part.ratings.movieIds.append(movie); part.ratings.values.append(Float(rating))
                part.ratings.timestamps.append(timestamp); part.ratings.lines.append(Int32(n))
            }
            return part
        }

        /// The parts in file order, their lines numbered in the file; the issues under `policy`.
        func merge(_ parts: [RatingsPart], bytes: [UInt8], file: String, policy: InvalidLinePolicy) throws -> (RawRatings, LineReport) {
            var report = LineReport()
            var all = RawRatings()
            var offset = MovieLens.lineNumber(bytes, at: start) - 1
            report.linesRead = headerLines
            report.headerLines = headerLines > 0 ? 1 : 0
            report.blankLines = max(headerLines - 1, 0)
            var issues: [LineIssue] = []
            for var p in parts {
                for i in p.issues.indices { p.issues[i].line += offset }
                for i in p.ratings.lines.indices { p.ratings.lines[i] += Int32(offset) }
                issues += p.issues
                all.append(contentsOf: p.ratings)
                offset += p.lines
                report.linesRead += p.lines
                report.blankLines += p.blank
            }
            try MovieLens.apply(issues, policy: policy, file: file, to: &report)
            return (all, report)
        }
    }
}
