import Testing
@testable import RecData

/// One rating as the parser must return it: original ids, value, timestamp (-1 when the line
/// had none) and the 1-based line it came from.
struct Row: Equatable, Sendable, CustomStringConvertible {
    var user: Int32, movie: Int32, rating: Float, timestamp: Int64, line: Int32
    init(_ user: Int32, _ movie: Int32, _ rating: Float, _ timestamp: Int64, line: Int32) {
        (self.user, self.movie, self.rating, self.timestamp, self.line) = (user, movie, rating, timestamp, line)
    }
    var description: String { "\(user)/\(movie)/\(rating)/\(timestamp)@\(line)" }

    static func rows(_ r: RawRatings) -> [Row] {
        (0..<r.count).map { Row(r.userIds[$0], r.movieIds[$0], r.values[$0], r.timestamps[$0], line: r.lines[$0]) }
    }
}

/// What parsing a corpus file must do under one policy.
enum Outcome: Sendable {
    /// Parses: these rows, in file order; `skipped` lines per reason key; blank lines.
    case parses([Row], skipped: [String: Int] = [:], blank: Int = 0)
    /// Throws a `RecError` of kind `.input` naming the file, at `line` (nil: no line), with a
    /// message that contains `message`.
    case fails(line: Int?, message: String)
}

/// A malformed or unusual input file, made from a table, and the exact result under each policy.
struct CorpusCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let onError: Outcome
    let onSkip: Outcome
    var testDescription: String { name }
    /// The name the parser is given, so that messages can be checked to name it.
    var file: String { "corpus/" + name }
}

/// The ratings corpus. Good lines around each bad one check that the rest is kept and that
/// line numbers count every line.
enum RatingsCorpus {
    static let good1 = "1::10::5::978300760", good3 = "2::20::3::978300761"
    static let row1 = Row(1, 10, 5, 978_300_760, line: 1), row3 = Row(2, 20, 3, 978_300_761, line: 3)

    /// A file whose line 2 is `bad`; under `.error` it fails there, under `.skip` lines 1 and 3 stay.
    static func badLine(_ name: String, _ bad: String, reason: String, message: String) -> CorpusCase {
        CorpusCase(name: name, bytes: Array("\(good1)\n\(bad)\n\(good3)\n".utf8),
                   onError: .fails(line: 2, message: message),
                   onSkip: .parses([row1, row3], skipped: [reason: 1]))
    }

    /// A file that parses the same way under both policies.
    static func good(_ name: String, _ bytes: [UInt8], _ rows: [Row], blank: Int = 0) -> CorpusCase {
        CorpusCase(name: name, bytes: bytes, onError: .parses(rows, blank: blank), onSkip: .parses(rows, blank: blank))
    }

    static func good(_ name: String, _ text: String, _ rows: [Row], blank: Int = 0) -> CorpusCase {
        good(name, Array(text.utf8), rows, blank: blank)
    }

    /// A file that fails the same way under both policies.
    static func fails(_ name: String, _ bytes: [UInt8], line: Int?, message: String) -> CorpusCase {
        CorpusCase(name: name, bytes: bytes, onError: .fails(line: line, message: message), onSkip: .fails(line: line, message: message))
    }

    static let lf = "1::10::5::978300760\n1::20::3.5::978300800\n2::10::1::978300900\n"
    static let lfRows = [Row(1, 10, 5, 978_300_760, line: 1), Row(1, 20, 3.5, 978_300_800, line: 2), Row(2, 10, 1, 978_300_900, line: 3)]

    static let cases: [CorpusCase] = [
        // Field counts.
        badLine("field-count-2", "1::10", reason: "field-count", message: "expected 3 or 4 fields separated by '::' (user, movie, rating[, timestamp]), found 2"),
        badLine("field-count-5", "1::10::5::978300760::7", reason: "field-count", message: "found 5"),
        badLine("field-count-1-spaces-only", "   ", reason: "field-count", message: "found 1"),
        badLine("field-count-wrong-separator", "3\t30\t4", reason: "field-count", message: "found 1"),
        // Ids.
        badLine("user-id-not-numeric", "abc::10::5::1", reason: "bad-user-id", message: "user id 'abc' is not a positive whole number"),
        badLine("user-id-zero", "0::10::5::1", reason: "bad-user-id", message: "user id '0'"),
        badLine("user-id-negative", "-3::10::5::1", reason: "bad-user-id", message: "user id '-3'"),
        badLine("user-id-overflows-int32", "2147483648::10::5::1", reason: "bad-user-id", message: "user id '2147483648'"),
        badLine("user-id-empty", "::10::5::1", reason: "bad-user-id", message: "user id ''"),
        badLine("user-id-plus-sign", "+1::10::5::1", reason: "bad-user-id", message: "user id '+1'"),
        badLine("movie-id-not-numeric", "1::x10::5::1", reason: "bad-movie-id", message: "movie id 'x10' is not a positive whole number"),
        badLine("movie-id-zero", "1::0::5::1", reason: "bad-movie-id", message: "movie id '0'"),
        badLine("movie-id-negative", "1::-10::5::1", reason: "bad-movie-id", message: "movie id '-10'"),
        badLine("movie-id-overflows-int64", "1::99999999999999999999::5::1", reason: "bad-movie-id", message: "movie id '99999999999999999999'"),
        badLine("movie-id-decimal", "1::10.0::5::1", reason: "bad-movie-id", message: "movie id '10.0'"),
        good("ids-at-int32-max", "2147483647::2147483647::5::1\n", [Row(.max, .max, 5, 1, line: 1)]),
        // Ratings.
        badLine("rating-0", "1::10::0::1", reason: "rating-out-of-scale", message: "rating 0 is outside the scale 1–5"),
        badLine("rating-6", "1::10::6::1", reason: "rating-out-of-scale", message: "rating 6 is outside the scale 1–5"),
        badLine("rating-0.5", "1::10::0.5::1", reason: "rating-out-of-scale", message: "rating 0.5 is outside"),
        badLine("rating-negative", "1::10::-4::1", reason: "rating-out-of-scale", message: "rating -4 is outside"),
        badLine("rating-x", "1::10::x::1", reason: "bad-rating", message: "rating 'x' is not a number"),
        badLine("rating-4.5.1", "1::10::4.5.1::1", reason: "bad-rating", message: "rating '4.5.1' is not a number"),
        badLine("rating-empty", "1::10::::1", reason: "bad-rating", message: "rating '' is not a number"),
        badLine("rating-trailing-dot", "1::10::4.::1", reason: "bad-rating", message: "rating '4.'"),
        badLine("rating-exponent", "1::10::5e0::1", reason: "bad-rating", message: "rating '5e0'"),
        good("rating-decimals", "1::10::4.5::1\n1::11::1.0::2\n1::12::2.25::3\n",
             [Row(1, 10, 4.5, 1, line: 1), Row(1, 11, 1, 2, line: 2), Row(1, 12, 2.25, 3, line: 3)]),
        // Timestamps.
        badLine("timestamp-not-numeric", "1::10::5::yesterday", reason: "bad-timestamp", message: "timestamp 'yesterday' is not a whole number"),
        badLine("timestamp-empty", "1::10::5::", reason: "bad-timestamp", message: "timestamp ''"),
        badLine("timestamp-trailing-space", "1::10::5::978300760 ", reason: "bad-timestamp", message: "timestamp '978300760 '"),
        // Pre-1970 timestamps are whole numbers too.
        good("timestamp-negative", "1::10::5::-86400\n", [Row(1, 10, 5, -86_400, line: 1)]),
        // Empty files.
        fails("empty-file", [], line: nil, message: "the ratings file is empty"),
        fails("only-blank-lines", Array("\n\n\r\n\n".utf8), line: nil, message: "the ratings file is empty"),
        fails("bom-only", [0xEF, 0xBB, 0xBF], line: nil, message: "the ratings file is empty"),
        fails("unrecognised-separator", Array("\n1 10 5 978300760\n".utf8), line: 2, message: "unrecognised ratings format"),
        // Line ends, byte order mark, blank lines.
        good("lf", lf, lfRows),
        good("crlf", lf.replacingOccurrences(of: "\n", with: "\r\n"), lfRows),
        good("bom", [0xEF, 0xBB, 0xBF] + Array(lf.utf8), lfRows),
        good("bom-crlf", [0xEF, 0xBB, 0xBF] + Array(lf.replacingOccurrences(of: "\n", with: "\r\n").utf8), lfRows),
        good("no-final-newline", String(lf.dropLast()), lfRows),
        // "\r\n" is one Character: dropLast() removes both bytes.
        good("no-final-newline-crlf", String(lf.replacingOccurrences(of: "\n", with: "\r\n").dropLast()), lfRows),
        good("blank-lines-in-middle", "1::10::5::978300760\n\n1::20::3.5::978300800\r\n\r\n\n2::10::1::978300900\n\n",
             [Row(1, 10, 5, 978_300_760, line: 1), Row(1, 20, 3.5, 978_300_800, line: 3), Row(2, 10, 1, 978_300_900, line: 6)], blank: 4),
        good("leading-blank-lines", "\n\n1::10::5\n", [Row(1, 10, 5, -1, line: 3)], blank: 2),
        // Three and four fields.
        good("mixed-3-and-4-fields", "1::10::5\n1::20::4::978300800\n2::10::3\n",
             [Row(1, 10, 5, -1, line: 1), Row(1, 20, 4, 978_300_800, line: 2), Row(2, 10, 3, -1, line: 3)]),
        // ML-100K u.data: tab-separated, 4 fields.
        good("ml100k-u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n",
             [Row(196, 242, 3, 881_250_949, line: 1), Row(186, 302, 3, 891_717_742, line: 2), Row(22, 377, 1, 878_887_116, line: 3)]),
        CorpusCase(name: "ml100k-bad-line", bytes: Array("196\t242\t3\t881250949\n186\t302\t3\n22\t377\t9\t878887116\n".utf8),
                   onError: .fails(line: 3, message: "rating 9 is outside the scale 1–5"),
                   onSkip: .parses([Row(196, 242, 3, 881_250_949, line: 1), Row(186, 302, 3, -1, line: 2)], skipped: ["rating-out-of-scale": 1])),
        // Newer releases: comma-separated with a header line. Line numbers count the header.
        good("csv-with-header", "userId,movieId,rating,timestamp\n1,10,4.0,964982703\n1,20,4.5,964981247\n",
             [Row(1, 10, 4, 964_982_703, line: 2), Row(1, 20, 4.5, 964_981_247, line: 3)]),
        good("csv-with-header-crlf-bom", [0xEF, 0xBB, 0xBF] + Array("userId,movieId,rating,timestamp\r\n1,10,4.0,964982703\r\n".utf8),
             [Row(1, 10, 4, 964_982_703, line: 2)]),
        good("csv-without-header", "1,10,4.0,964982703\n", [Row(1, 10, 4, 964_982_703, line: 1)]),
        good("csv-header-only", "userId,movieId,rating,timestamp\n", []),
        // A first line with numbers in it is data, not a header: a bad one must be reported,
        // not dropped silently as if it were the header.
        CorpusCase(name: "csv-first-line-bad-user-id", bytes: Array("abc,10,4.0,964982703\n1,20,4.5,964981247\n".utf8),
                   onError: .fails(line: 1, message: "user id 'abc'"),
                   onSkip: .parses([Row(1, 20, 4.5, 964_981_247, line: 2)], skipped: ["bad-user-id": 1])),
        CorpusCase(name: "csv-first-line-negative-user-id", bytes: Array("-1,10,4.0,964982703\n1,20,4.5,964981247\n".utf8),
                   onError: .fails(line: 1, message: "user id '-1'"),
                   onSkip: .parses([Row(1, 20, 4.5, 964_981_247, line: 2)], skipped: ["bad-user-id": 1])),
        good("csv-other-header-names", "user,item,rating\n7,8,2\n", [Row(7, 8, 2, -1, line: 2)]),
        CorpusCase(name: "csv-with-header-bad-line", bytes: Array("userId,movieId,rating,timestamp\n1,10,4.0,964982703\n\n1,x,4.5,964981247\n2,20,3,1\n".utf8),
                   onError: .fails(line: 4, message: "movie id 'x'"),
                   onSkip: .parses([Row(1, 10, 4, 964_982_703, line: 2), Row(2, 20, 3, 1, line: 5)], skipped: ["bad-movie-id": 1], blank: 1)),
        // Several problems: `.error` names the first, `.skip` counts each under its own key.
        CorpusCase(name: "several-problems", bytes: Array("1::10::5\n1::10\n\nx::1::1\n1::11::7\n1::12::2::t\n1::13::3::4::5\n3::30::3\n".utf8),
                   onError: .fails(line: 2, message: "found 2"),
                   onSkip: .parses([Row(1, 10, 5, -1, line: 1), Row(3, 30, 3, -1, line: 8)],
                                   skipped: ["field-count": 2, "bad-user-id": 1, "rating-out-of-scale": 1, "bad-timestamp": 1], blank: 1)),
        CorpusCase(name: "every-line-bad", bytes: Array("1::10::9\n1::11::0\n".utf8),
                   onError: .fails(line: 1, message: "rating 9"),
                   onSkip: .parses([], skipped: ["rating-out-of-scale": 2])),
    ]
}
