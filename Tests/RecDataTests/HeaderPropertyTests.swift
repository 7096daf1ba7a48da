import Testing
@testable import RecCore
@testable import RecData

/// Headers are read by name: the columns of a headed file may come in any order under any
/// release's names; an unknown, repeated or missing column is an error naming it at line 1;
/// every data line has the header's field count.
@Suite struct HeaderPropertyTests {
    /// Header names of each ratings column, as the releases and their READMEs write them.
    static let ratingsNames = [
        ["userId", "UserID", "user_id", "user id", "user", "USER"],
        ["movieId", "MovieID", "item id", "item", "itemId", "movie"],
        ["rating", "Rating", "RATING"],
        ["timestamp", "Timestamp", "TIMESTAMP"],
    ]
    static let moviesNames = [["movieId", "MovieID", "movie id", "item id", "id"], ["title", "Title", "movie title"], ["genres", "Genres", "genre"]]
    static let separators = [",", "\t", "::"]

    /// A headed file: its header names and its lines' fields in canonical column order.
    struct Table {
        var separator: String
        var header: [String]
        var lines: [[String]]

        /// The table itself rearranged: its header and every line in `order`, under `names`.
        mutating func rearrange(_ order: [Int], names: [String]) {
            header = order.map { names[$0] }
            lines = lines.map { l in order.map { l[$0] } }
        }

        /// The file with the columns in `order` (`order[k]` is the canonical column at position k);
        /// a line with another field count than the header's is written as it is.
        func text(_ order: [Int], names: [String]? = nil) -> [UInt8] {
            let head = order.map { (names ?? header)[$0] }
            let body = lines.map { line in (line.count == order.count ? order.map { line[$0] } : line).joined(separator: separator) }
            return Array(([head.joined(separator: separator)] + body).joined(separator: "\n").utf8 + [10])
        }
    }

    /// Random ratings with or without timestamps, the table that writes them, and the rows the
    /// parser must return (the header is line 1).
    static func ratings(_ rng: inout SplitMix64) -> (Table, [Row]) {
        let withTimestamps = rng.below(2) == 0
        var lines: [[String]] = [], rows: [Row] = []
        for k in 0..<(1 + rng.below(60)) {
            let user = Int32(1 + rng.below(100_000)), movie = Int32(1 + rng.below(200_000)), halves = 1 + rng.below(10)
            var fields = ["\(user)", "\(movie)", halves % 2 == 0 ? "\(halves / 2)" : "\(halves / 2).5"]
            let timestamp: Int64 = withTimestamps ? Int64(rng.below(2_000_000_000)) : -1
            if withTimestamps { fields.append("\(timestamp)") }
            lines.append(fields)
            rows.append(Row(user, movie, Float(halves) / 2, timestamp, line: Int32(k + 2)))
        }
        let header = Array(["userId", "movieId", "rating", "timestamp"].prefix(withTimestamps ? 4 : 3))
        return (Table(separator: separators[rng.below(3)], header: header, lines: lines), rows)
    }

    /// Each column under one of its names, drawn at random.
    static func randomNames(_ names: [[String]], count: Int, _ rng: inout SplitMix64) -> [String] {
        (0..<count).map { names[$0][rng.below(names[$0].count)] }
    }

    /// A random column order for `table` (`order[k]` is the canonical column at position k) and
    /// each column under a random one of its `names`.
    static func disguise(_ table: Table, _ names: [[String]], _ rng: inout SplitMix64) -> (order: [Int], names: [String]) {
        var order = Array(table.header.indices)
        rng.shuffle(&order)
        return (order, randomNames(names, count: table.header.count, &rng))
    }

    static func parseRatings(_ bytes: [UInt8], _ policy: InvalidLinePolicy = .error, workers: Int = 1) throws -> (RawRatings, LineReport) {
        try MovieLens.parseRatings(bytes, file: "ratings", scale: .auto, policy: policy, parallel: Parallel(workers: workers))
    }

    @Test(arguments: 1...60)
    func parseRatings_columnsInAnyOrderUnderAnyName_giveTheSameRatings(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let (table, rows) = Self.ratings(&rng)
        let (order, names) = Self.disguise(table, Self.ratingsNames, &rng)
        let inOrder = try Self.parseRatings(table.text(Array(table.header.indices)))
        #expect(Row.rows(inOrder.0) == rows)
        for workers in [1, 3] {
            for policy in [InvalidLinePolicy.error, .skip] {
                let (raw, report) = try Self.parseRatings(table.text(order, names: names), policy, workers: workers)
                #expect(Row.rows(raw) == rows, "order \(order), names \(names)")
                #expect(report.headerLines == 1 && report.linesRead == rows.count + 1 && report.skippedTotal == 0)
            }
        }
    }

    /// A header broken one of four ways, and what the error must say.
    static func brokenHeader(_ header: [String], _ names: [[String]], _ rng: inout SplitMix64) -> (header: [String], dropped: Int?, message: String) {
        var h = header
        let k = rng.below(h.count)
        switch rng.below(4) {
        case 0:  // a name no release uses
            let letters = Array("abcdefghijklmnopqrstuvwxyz")
            var word = ""
            repeat { word = "x" + String((0..<(2 + rng.below(8))).map { _ in letters[rng.below(26)] }) }
            while names.joined().contains { MovieLens.normalisedName(Array($0.utf8)[...]) == word }
            h[k] = word
            return (h, nil, "unknown column '\(word)' in the header (column \(k + 1))")
        case 1:  // a column named twice, under any of its names
            let j = (k + 1 + rng.below(h.count - 1)) % h.count
            let column = names.firstIndex { $0.contains(h[j]) }!
            h[k] = names[column][rng.below(names[column].count)]
            let (first, second) = (min(j, k), max(j, k))
            return (h, nil, "the header names the \(names[column][0]) column twice: '\(h[first])' (column \(first + 1)) and '\(h[second])' (column \(second + 1))")
        case 2:  // an empty name
            h[k] = rng.below(2) == 0 ? "" : " "
            return (h, nil, "column \(k + 1) of the header has no name")
        default:  // a required column missing, with its field on every line
            let required = h.indices.filter { k in names.firstIndex { $0.contains(h[k]) }! < 3 }
            let d = required[rng.below(required.count)]
            let column = names.firstIndex { $0.contains(h[d]) }!
            h.remove(at: d)
            return (h, d, "the header has no \(names[column][0]) column")
        }
    }

    @Test(arguments: 1...60)
    func parseRatings_wrongHeader_isAnErrorAtLineOneNamingTheColumn(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        var (table, _) = Self.ratings(&rng)
        let (order, names) = Self.disguise(table, Self.ratingsNames, &rng)
        table.rearrange(order, names: names)
        let (header, dropped, message) = Self.brokenHeader(table.header, Self.ratingsNames, &rng)
        table.header = header
        if let d = dropped { table.lines = table.lines.map { var l = $0; l.remove(at: d); return l } }
        for policy in [InvalidLinePolicy.error, .skip] {
            let e = try #require(recError { try Self.parseRatings(table.text(Array(header.indices)), policy) })
            #expect(e.kind == .input && e.line == 1 && e.message == message, "\(e)")
            #expect(e.hint?.contains("userId, movieId, rating, optionally timestamp") == true)
        }
    }

    @Test(arguments: 1...40)
    func parseRatings_lineWithAnotherFieldCountThanTheHeader_isABadLine(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        var (table, rows) = Self.ratings(&rng)
        let k = rng.below(table.lines.count)
        if rng.below(2) == 0 { table.lines[k].append("\(1 + rng.below(9))") } else { table.lines[k].removeLast() }
        let bytes = table.text(Array(table.header.indices))
        let e = try #require(recError { try Self.parseRatings(bytes) })
        #expect(e.line == k + 2 && e.message.hasPrefix("expected \(table.header.count) fields"), "\(e)")
        let (raw, report) = try Self.parseRatings(bytes, .skip)
        rows.remove(at: k)
        #expect(Row.rows(raw) == rows)
        #expect(report.skipped == ["field-count": 1])
    }

    // MARK: - Movies

    static let titlePool = [
        "Toy Story (1995)", "American President, The (1995)", "Quote \"Unquote\", Part 2 (1999)", "Misérables, Les (1995)",
        "千と千尋の神隠し (2001)", "Amélie (2001)", "1917", "Star: A Colon (1980)", "Pipe | Dream (1990)",
    ]
    static let genrePool = ["Comedy", "Drama|Romance", "Animation|Children's|Comedy", "(no genres listed)"]

    /// Random movies, as a `movies.csv` (RFC 4180 quoting) or `::` table with a header, and the
    /// movies the parser must return.
    static func movies(_ rng: inout SplitMix64) -> (Table, [Movie], csv: Bool) {
        let csv = rng.below(2) == 0
        var lines: [[String]] = [], movies: [Movie] = []
        var ids = Set<Int32>()
        for _ in 0..<(1 + rng.below(30)) {
            let id = Int32(1 + rng.below(300_000))
            guard ids.insert(id).inserted else { continue }
            let title = titlePool[rng.below(titlePool.count)], genres = genrePool[rng.below(genrePool.count)]
            let quoted = csv && (title.contains(",") || title.contains("\"") || rng.below(4) == 0)
            lines.append(["\(id)", quoted ? "\"" + title.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : title, genres])
            movies.append(Movie(id, title, genres == "(no genres listed)" ? [] : genres.split(separator: "|").map(String.init)))
        }
        return (Table(separator: csv ? "," : "::", header: ["movieId", "title", "genres"], lines: lines), movies.sorted { $0.id < $1.id }, csv)
    }

    @Test(arguments: 1...60)
    func parseMovies_columnsInAnyOrderUnderAnyName_giveTheSameMovies(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let (table, movies, _) = Self.movies(&rng)
        let (order, names) = Self.disguise(table, Self.moviesNames, &rng)
        for encoding in [MoviesEncoding.auto, .utf8] {
            for policy in [InvalidLinePolicy.error, .skip] {
                let (inOrder, _) = try MovieLens.parseMovies(table.text([0, 1, 2]), file: "movies", encoding: encoding, policy: policy)
                #expect(Movie.movies(inOrder) == movies)
                let (catalogue, report) = try MovieLens.parseMovies(table.text(order, names: names), file: "movies", encoding: encoding, policy: policy)
                #expect(Movie.movies(catalogue) == movies, "order \(order), names \(names)")
                #expect(report.headerLines == 1 && report.linesRead == table.lines.count + 1 && report.skippedTotal == 0)
            }
        }
    }

    @Test(arguments: 1...60)
    func parseMovies_wrongHeader_isAnErrorAtLineOneNamingTheColumn(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        var (table, _, _) = Self.movies(&rng)
        let (order, names) = Self.disguise(table, Self.moviesNames, &rng)
        table.rearrange(order, names: names)
        let (header, dropped, message) = Self.brokenHeader(table.header, Self.moviesNames, &rng)
        table.header = header
        if let d = dropped { table.lines = table.lines.map { var l = $0; l.remove(at: d); return l } }
        for policy in [InvalidLinePolicy.error, .skip] {
            let e = try #require(recError {
                try MovieLens.parseMovies(table.text(Array(header.indices)), file: "movies", encoding: .auto, policy: policy)
            })
            #expect(e.kind == .input && e.line == 1 && e.message == message, "\(e)")
        }
    }

    @Test(arguments: 1...30)
    func parseMovies_lineWithAnotherFieldCountThanTheHeader_isABadLine(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        var (table, movies, csv) = Self.movies(&rng)
        // A `::` line with more fields keeps the extra ones in its title; fewer is always bad.
        let k = rng.below(table.lines.count)
        if csv && rng.below(2) == 0 { table.lines[k].append("x") } else { table.lines[k].removeLast() }
        let bytes = table.text([0, 1, 2])
        let e = try #require(recError { try MovieLens.parseMovies(bytes, file: "movies", encoding: .auto, policy: .error) })
        #expect(e.line == k + 2 && e.message.hasPrefix("expected 3 fields"), "\(e)")
        let (catalogue, report) = try MovieLens.parseMovies(bytes, file: "movies", encoding: .auto, policy: .skip)
        movies.removeAll { "\($0.id)" == table.lines[k][0] }
        #expect(Movie.movies(catalogue) == movies)
        #expect(report.skipped == ["field-count": 1])
    }

    // MARK: - Examples

    @Test func parseRatings_ml100kOrderSwapped_isReadByName() throws {
        let text = "movieId,userId,rating,timestamp\n242,196,3,881250949\n302,186,3,891717742\n"
        let (raw, _) = try Self.parseRatings(Array(text.utf8))
        #expect(Row.rows(raw) == [Row(196, 242, 3, 881_250_949, line: 2), Row(186, 302, 3, 891_717_742, line: 3)])
    }

    @Test func parseMovies_genresBeforeTitle_isReadByName() throws {
        let text = "movieId,genres,title\n1,Animation|Comedy,Toy Story (1995)\n11,Drama,\"American President, The (1995)\"\n"
        let (c, _) = try MovieLens.parseMovies(Array(text.utf8), file: "movies.csv", encoding: .auto, policy: .error)
        #expect(Movie.movies(c) == [Movie(1, "Toy Story (1995)", ["Animation", "Comedy"]), Movie(11, "American President, The (1995)", ["Drama"])])
    }

    @Test func parseRatings_headerOfUnknownNames_namesFileLineAndColumn() throws {
        let e = try #require(recError { try MovieLens.parseRatings(Array("foo,bar,baz,qux\n1,2,3,4\n".utf8), file: "ratings.csv", scale: .auto,
                                                                      policy: .skip, parallel: Parallel(workers: 1)) })
        #expect(e.description.hasPrefix("ratings.csv:1: unknown column 'foo' in the header (column 1)"), "\(e)")
        #expect(e.kind == .input)
    }

    @Test func parseRatings_headerAfterBlankLines_isStillTheHeader() throws {
        let (raw, report) = try Self.parseRatings(Array("\n\r\nrating::user::item\n4::1::2\n".utf8))
        #expect(Row.rows(raw) == [Row(1, 2, 4, -1, line: 4)])
        #expect(report.blankLines == 2 && report.headerLines == 1 && report.linesRead == 4)
        let e = try #require(recError { try Self.parseRatings(Array("\nrating::user\n4::1\n".utf8)) })
        #expect(e.line == 2 && e.message == "the header has no movieId column", "\(e)")
    }

    /// The two files swapped (a crossed setting): neither reads as the other, under either policy.
    @Test(arguments: [
        ("1::1193::5::978300760\n1::661::3::978302109\n", "genre '978300760' is a number"),
        ("1::1193::5\n1::661::3\n", "genre '5' is a number"),
        ("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n", "unknown column 'userId' in the header"),
    ])
    func parseMovies_givenARatingsFile_fails(text: String, message: String) throws {
        let e = try #require(recError { try MovieLens.parseMovies(Array(text.utf8), file: "m", encoding: .auto, policy: .error) })
        #expect(e.line == 1 && e.message.hasPrefix(message), "\(e)")
        let skipped = try? MovieLens.parseMovies(Array(text.utf8), file: "m", encoding: .auto, policy: .skip)
        #expect(skipped == nil || skipped?.0.count == 0)
    }

    @Test(arguments: ["movieId,title,genres\n1,Toy Story (1995),Comedy\n", "1::Toy Story (1995)::Comedy\n"])
    func parseRatings_givenAMoviesFile_fails(text: String) throws {
        for policy in [InvalidLinePolicy.error, .skip] {
            let r = try? MovieLens.parseRatings(Array(text.utf8), file: "r", scale: .auto, policy: policy, parallel: Parallel(workers: 1))
            #expect(r == nil || r?.0.count == 0)
        }
    }

    @Test func parseRatings_controlCharacterInAHeaderName_isShownEscaped() throws {
        let e = try #require(recError { try Self.parseRatings([0x75, 0x00, 0x1B] + Array(",movieId,rating\n1,2,3\n".utf8)) })
        #expect(e.message == "unknown column 'u<U+0000><U+001B>' in the header (column 1)", "\(e)")
    }
}
