import Foundation
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecData

/// The files of the newer MovieLens releases (ML-10M, ML-20M, ML-25M, ML-32M, ml-latest):
/// `movies.csv` with RFC 4180 quoting, UTF-8 `movies.dat`, half-star ratings, and the `auto`
/// rating scale.
@Suite struct ReleaseFormatsTests {
    static let one = Parallel(workers: 1)
    static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    // MARK: - movies.csv

    static let header = "movieId,title,genres\n"
    static let toy = Movie(1, "Toy Story (1995)", ["Adventure", "Animation", "Children", "Comedy", "Fantasy"])
    static let president = Movie(11, "American President, The (1995)", ["Comedy", "Drama", "Romance"])
    static let quoted = Movie(27, "Quote \"Unquote\", Part 2 (1999)", [])
    static let csvLines = """
        1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy
        11,"American President, The (1995)",Comedy|Drama|Romance
        27,"Quote ""Unquote"", Part 2 (1999)",(no genres listed)

        """

    static func same(_ name: String, _ bytes: [UInt8], encoding: MoviesEncoding = .auto, _ movies: [Movie], blank: Int = 0) -> MoviesCase {
        MoviesCase(name: name, bytes: bytes, encoding: encoding, onError: .parses(movies, blank: blank), onSkip: .parses(movies, blank: blank))
    }

    /// A movies.csv whose line `line` (counting the header) is `bad`; the others are kept under `.skip`.
    static func badLine(_ name: String, _ bad: String, line: Int = 3, reason: String, message: String) -> MoviesCase {
        let text = header + "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n" + bad + "\n"
            + "11,\"American President, The (1995)\",Comedy|Drama|Romance\n"
        return MoviesCase(name: name, bytes: Array(text.utf8), encoding: .auto,
                          onError: .fails(line: line, message: message),
                          onSkip: .parses([toy, president], skipped: [reason: 1]))
    }

    static let moviesCases: [MoviesCase] = [
        same("csv", Array((header + csvLines).utf8), [toy, president, quoted]),
        same("csv-crlf-bom-no-final-newline", bom + Array((header + csvLines).replacingOccurrences(of: "\n", with: "\r\n").utf8.dropLast(2)),
             [toy, president, quoted]),
        same("csv-without-header", Array(csvLines.utf8), [toy, president, quoted]),
        same("csv-header-only", Array(header.utf8), []),
        same("csv-blank-lines", Array((header + "\n" + csvLines + "\r\n\n").utf8), [toy, president, quoted], blank: 3),
        // UTF-8 beyond ISO-8859-1, as in ML-20M and later.
        same("csv-utf8", Array((header + "2,\"千と千尋の神隠し (Spirited Away) (2001)\",Animation\n3,Amélie (2001),Comedy|Romance\n").utf8),
             [Movie(2, "千と千尋の神隠し (Spirited Away) (2001)", ["Animation"]), Movie(3, "Amélie (2001)", ["Comedy", "Romance"])]),
        // A line break inside quotes is a control character in the title: the record is a bad
        // line, and the next record's line number counts the break.
        MoviesCase(name: "csv-line-break-in-quotes", bytes: Array((header + "5,\"Two\nLines (2000)\",Drama\n6,x,Drama\n7\n").utf8), encoding: .auto,
                   onError: .fails(line: 2, message: "the title holds the control character U+000A (line feed) at character 4"),
                   onSkip: .parses([Movie(6, "x", ["Drama"])], skipped: ["control-character": 1, "field-count": 1])),
        // A quote inside an unquoted field is kept as written (as Python's csv does).
        same("csv-quote-inside-unquoted-field", Array((header + "8,The \"Best\" (1990),Drama\n").utf8), [Movie(8, "The \"Best\" (1990)", ["Drama"])]),
        same("csv-latin1", Array("movieId,title,genres\n3,Am".utf8) + [0xE9] + Array("lie (2001),Comedy\n".utf8), [Movie(3, "Amélie (2001)", ["Comedy"])]),
        badLine("csv-unquoted-comma", "2,American President, The (1995),Comedy", reason: "field-count",
                message: "expected 3 fields separated by commas (movieId, title, genres), found 4; a title holding a comma must be in double quotes"),
        badLine("csv-two-fields", "2,Jumanji (1995)", reason: "field-count", message: "found 2"),
        badLine("csv-bad-id", "x2,Jumanji (1995),Adventure", reason: "bad-movie-id", message: "movie id 'x2' is not a positive whole number"),
        badLine("csv-text-after-closing-quote", "2,\"Jumanji\" (1995),Adventure", reason: "bad-quoting",
                message: "unexpected text after a closing quote (a quote inside a quoted field must be doubled)"),
        // An opening quote runs to the next quote, wherever it is: here there is none.
        MoviesCase(name: "csv-quote-never-closed", bytes: Array((header + csvLines + "2,\"Jumanji (1995),Adventure\n").utf8), encoding: .auto,
                   onError: .fails(line: 5, message: "a quoted field that starts on this line is never closed"),
                   onSkip: .parses([toy, president, quoted], skipped: ["bad-quoting": 1])),
        badLine("csv-duplicate-id", "1,Toy Story Again (1995),Comedy", reason: "duplicate-movie", message: "movie id 1 already appears on line 2"),
        // A first line without any number is a header, read by name: an unknown name is an
        // error under both policies (every line is read through the header).
        MoviesCase(name: "csv-first-line-without-numbers", bytes: Array("abc,Jumanji (1995),Adventure\n1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n".utf8),
                   encoding: .auto, onError: .fails(line: 1, message: "unknown column 'abc' in the header (column 1)"),
                   onSkip: .fails(line: 1, message: "unknown column 'abc' in the header (column 1)")),
        // A first line with a number in it is data: a bad one is reported, not taken for a header.
        MoviesCase(name: "csv-first-line-bad-id", bytes: Array("abc,Jumanji (1995),7\n1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n".utf8),
                   encoding: .auto, onError: .fails(line: 1, message: "movie id 'abc'"),
                   onSkip: .parses([toy], skipped: ["bad-movie-id": 1])),
        // ML-10M movies.dat: '::' like ML-1M, but UTF-8.
        same("ml10m-movies.dat-utf8", Array("1::Toy Story (1995)::Adventure|Animation|Children|Comedy|Fantasy\n3::Amélie (2001)::(no genres listed)\n".utf8),
             [toy, Movie(3, "Amélie (2001)", [])]),
        MoviesCase(name: "unrecognised-format", bytes: Array("\nToy Story\n".utf8), encoding: .auto,
                   onError: .fails(line: 2, message: "unrecognised movies format"), onSkip: .fails(line: 2, message: "unrecognised movies format")),
    ]

    @Test(arguments: moviesCases)
    func parseMovies_newerReleases_underErrorPolicy(c: MoviesCase) {
        MovieLensCorpusTests.checkMovies(c, .error, c.onError)
    }

    @Test(arguments: moviesCases)
    func parseMovies_newerReleases_underSkipPolicy(c: MoviesCase) {
        MovieLensCorpusTests.checkMovies(c, .skip, c.onSkip)
    }

    @Test func parseMovies_csvLineNumbers_countHeaderBlankAndQuotedLineBreaks() throws {
        let text = "movieId,title,genres\n\n1,\"A\nB\nC\",Drama\n2,D,Drama\n3,\"E\n"
        let e = try #require(recError { try MovieLens.parseMovies(Array(text.utf8), file: "m.csv", encoding: .auto, policy: .error) })
        #expect(e.line == 3 && e.message.contains("U+000A (line feed)"), "\(e)")
        let (catalogue, report) = try MovieLens.parseMovies(Array(text.utf8), file: "m.csv", encoding: .auto, policy: .skip)
        #expect(Movie.movies(catalogue) == [Movie(2, "D", ["Drama"])])
        #expect(report.linesRead == 7 && report.blankLines == 1 && report.headerLines == 1)
        #expect(report.examples == ["m.csv:3: the title holds the control character U+000A (line feed) at character 2: 'A<U+000A>B<U+000A>C'",
                                    "m.csv:7: a quoted field that starts on this line is never closed"])
    }

    // MARK: - Ratings and the auto scale

    static func parse(_ text: String, _ scale: RatingScale = .auto, policy: InvalidLinePolicy = .error) throws -> (RawRatings, LineReport) {
        try MovieLens.parseRatings(Array(text.utf8), file: "r", scale: scale, policy: policy, parallel: one)
    }

    @Test func parseRatings_ml10mHalfStars_underAuto_keepsExactValues() throws {
        let (raw, _) = try Self.parse("1::122::5::838985046\n1::185::0.5::838983525\n2::231::3.5::838983392\n")
        #expect(raw.values == [5, 0.5, 3.5])
        #expect(RatingScale.auto.resolved(for: raw.values) == 0.5...5)
    }

    @Test func parseRatings_csvFamily_crlfBomNoFinalNewline_underAuto() throws {
        let text = "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,3,4.5,964981247\r\n2,6,0.5,964982224"
        let (raw, report) = try MovieLens.parseRatings(Self.bom + Array(text.utf8), file: "r", scale: .auto, policy: .error, parallel: Self.one)
        #expect(Row.rows(raw) == [Row(1, 1, 4, 964_982_703, line: 2), Row(1, 3, 4.5, 964_981_247, line: 3), Row(2, 6, 0.5, 964_982_224, line: 4)])
        #expect(report.linesRead == 4)
    }

    @Test(arguments: [
        ("0", "rating 0 is outside the scale 0.5–5 of MovieLens's whole and half stars"),
        ("5.5", "rating 5.5 is outside the scale 0.5–5"),
        ("6", "rating 6 is outside the scale 0.5–5"),
        ("-0.5", "rating -0.5 is outside the scale 0.5–5"),
        ("3.7", "rating 3.7 is not a whole or half star"),
        ("4.25", "rating 4.25 is not a whole or half star"),
    ])
    func parseRatings_underAuto_rejectsWhatNoReleaseHolds(rating: String, message: String) throws {
        let e = try #require(recError { try Self.parse("1::10::4\n2::10::\(rating)\n") })
        #expect(e.line == 2 && e.message.hasPrefix(message), "\(e)")
        #expect(e.message.contains("input.ratingScale"))
        let (raw, report) = try Self.parse("1::10::4\n2::10::\(rating)\n", policy: .skip)
        #expect(raw.values == [4] && report.skipped == ["rating-out-of-scale": 1])
    }

    @Test func parseRatings_explicitScale_isStillEnforced() throws {
        let e = try #require(recError { try Self.parse("1::10::4\n2::10::0.5\n", .fixed(lowest: 1, highest: 5)) })
        #expect(e.line == 2 && e.message == "rating 0.5 is outside the scale 1–5")
        // Any fraction inside an explicit scale is accepted: half steps are MovieLens's, not the setting's.
        let (raw, _) = try Self.parse("1::10::3.7\n1::11::10\n", .fixed(lowest: 0, highest: 10))
        #expect(raw.values == [3.7, 10])
    }

    @Test func resolved_auto_isWholeStarsUnlessAHalfStarIsThere() {
        #expect(RatingScale.auto.resolved(for: [1, 2, 3, 4, 5]) == 1...5)
        #expect(RatingScale.auto.resolved(for: [5, 4, 4]) == 1...5)
        #expect(RatingScale.auto.resolved(for: [1, 2.5]) == 0.5...5)
        #expect(RatingScale.auto.resolved(for: [0.5]) == 0.5...5)
        #expect(RatingScale.fixed(lowest: 0, highest: 10).resolved(for: [0.5]) == 0...10)
    }

    @Test func ratingScale_roundTripsThroughJSON() throws {
        for scale in [RatingScale.auto, .fixed(lowest: 0.5, highest: 5), .fixed(lowest: 1, highest: 10)] {
            let json = try JSON.encode(scale)
            #expect(try JSONDecoder().decode(RatingScale.self, from: json) == scale)
        }
        #expect(String(decoding: try JSON.encode(RatingScale.auto), as: UTF8.self) == "\"auto\"")
        #expect(String(decoding: try JSON.encode(RatingScale.fixed(lowest: 0.5, highest: 5)), as: UTF8.self) == "[0.5,5]")
    }

    @Test func read_artefactWithoutRatingScale_throwsNamingWhatToRerun() throws {
        let dir = try TempDir()
        let r = Ratings(users: [0], items: [0], values: [4], timestamps: [-1], ids: IdMaps(userIds: [1], itemIds: [1]))
        try r.write(to: dir.file("old.art"), kind: .ratings, meta: [:], parallel: Self.one)
        let a = try Artefact.read(dir.file("old.art"), expecting: .ratings)
        let e = try #require(recError { try RatingScale.read(from: a) })
        #expect(e.kind == .artefact && e.file == dir.file("old.art") && e.hint?.contains("rec-ingest") == true)
        try r.write(to: dir.file("new.art"), kind: .ratings, meta: ["ratingScale": RatingScale.meta(0.5...5)], parallel: Self.one)
        #expect(try RatingScale.read(from: Artefact.read(dir.file("new.art"), expecting: .ratings)) == 0.5...5)
    }
}
