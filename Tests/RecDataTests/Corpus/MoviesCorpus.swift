import Testing
@testable import RecData

/// A movie as the parser must return it.
struct Movie: Equatable, Sendable, CustomStringConvertible {
    var id: Int32, title: String, genres: [String]
    init(_ id: Int32, _ title: String, _ genres: [String]) { (self.id, self.title, self.genres) = (id, title, genres) }
    var description: String { "\(id) \(title) \(genres)" }

    static func movies(_ c: Catalogue) -> [Movie] {
        (0..<c.count).map { Movie(c.movieIds[$0], c.titles[$0], c.genres[$0]) }
    }
}

enum MoviesOutcome: Sendable {
    /// Parses to these movies (ascending id), `skipped` lines per reason, blank lines.
    case parses([Movie], skipped: [String: Int] = [:], blank: Int = 0)
    case fails(line: Int?, message: String)
}

struct MoviesCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    /// `auto`, `latin1` or `utf8`.
    let encoding: MoviesEncoding
    let onError: MoviesOutcome
    let onSkip: MoviesOutcome
    var testDescription: String { "\(name) (\(encoding))" }
    var file: String { "corpus/" + name }
}

enum MoviesCorpus {
    /// "Misérables, Les (1995)" in ISO-8859-1: é is the single byte 0xE9.
    static let miserablesLatin1: [UInt8] = Array("73::Mis".utf8) + [0xE9] + Array("rables, Les (1995)::Drama|Musical\n".utf8)
    static let miserablesUTF8: [UInt8] = Array("73::Misérables, Les (1995)::Drama|Musical\n".utf8)
    static let toyStory: [UInt8] = Array("1::Toy Story (1995)::Animation|Children's|Comedy\n".utf8)
    static let toy = Movie(1, "Toy Story (1995)", ["Animation", "Children's", "Comedy"])
    static let miserables = Movie(73, "Misérables, Les (1995)", ["Drama", "Musical"])

    /// An ML-100K `u.item` line: id|title|release date|video release date|IMDb URL|19 flags.
    static func uItem(_ id: Int, _ title: [UInt8], flags: [String]) -> [UInt8] {
        Array("\(id)|".utf8) + title + Array("|01-Jan-1995||http://us.imdb.com/M/title-exact?x|".utf8)
            + Array(flags.joined(separator: "|").utf8) + [10]
    }

    static func flags(_ on: Set<Int>) -> [String] { (0..<19).map { on.contains($0) ? "1" : "0" } }

    static func same(_ name: String, _ bytes: [UInt8], encoding: MoviesEncoding = .auto, _ movies: [Movie], blank: Int = 0) -> MoviesCase {
        MoviesCase(name: name, bytes: bytes, encoding: encoding, onError: .parses(movies, blank: blank), onSkip: .parses(movies, blank: blank))
    }

    static let cases: [MoviesCase] = [
        same("ml1m-utf8", toyStory + miserablesUTF8, [toy, miserables]),
        same("ml1m-latin1", toyStory + miserablesLatin1, [toy, miserables]),
        same("ml1m-latin1-declared", toyStory + miserablesLatin1, encoding: .latin1, [toy, miserables]),
        same("ml1m-utf8-declared", toyStory + miserablesUTF8, encoding: .utf8, [toy, miserables]),
        // Declaring latin1 for a UTF-8 file is taken at its word: each byte is one character.
        same("ml1m-utf8-read-as-latin1", miserablesUTF8, encoding: .latin1, [Movie(73, "MisÃ©rables, Les (1995)", ["Drama", "Musical"])]),
        MoviesCase(name: "ml1m-latin1-declared-utf8", bytes: toyStory + miserablesLatin1, encoding: .utf8,
                   onError: .fails(line: 2, message: "byte 0xE9 at column 8 is not UTF-8 (input.moviesEncoding is \"utf8\""),
                   onSkip: .parses([toy], skipped: ["bad-encoding": 1])),
        same("ml1m-crlf-bom", [0xEF, 0xBB, 0xBF] + Array("1::Toy Story (1995)::Animation|Children's|Comedy\r\n\r\n73::Misérables, Les (1995)::Drama|Musical\r\n".utf8),
             [toy, miserables], blank: 1),
        same("ml1m-no-final-newline", toyStory + miserablesUTF8.dropLast(), [toy, miserables]),
        same("ml1m-no-genres", Array("5::Empty (2000)::(no genres listed)\n6::Also Empty (2001)::\n".utf8),
             [Movie(5, "Empty (2000)", []), Movie(6, "Also Empty (2001)", [])]),
        same("ml1m-title-with-double-colon", Array("7::Star Trek::The Movie (1979)::Sci-Fi\n".utf8), [Movie(7, "Star Trek::The Movie (1979)", ["Sci-Fi"])]),
        same("ml1m-unsorted-ids", miserablesUTF8 + toyStory, [toy, miserables]),
        MoviesCase(name: "ml1m-field-count", bytes: toyStory + Array("2::Jumanji (1995)\n".utf8) + miserablesUTF8, encoding: .auto,
                   onError: .fails(line: 2, message: "expected 3 fields separated by '::' (id, title, genres), found 2"),
                   onSkip: .parses([toy, miserables], skipped: ["field-count": 1])),
        MoviesCase(name: "ml1m-bad-id", bytes: toyStory + Array("x2::Jumanji (1995)::Adventure\n".utf8), encoding: .auto,
                   onError: .fails(line: 2, message: "movie id 'x2' is not a positive whole number"),
                   onSkip: .parses([toy], skipped: ["bad-movie-id": 1])),
        MoviesCase(name: "ml1m-duplicate-id", bytes: toyStory + miserablesUTF8 + Array("1::Toy Story Again (1995)::Comedy\n".utf8), encoding: .auto,
                   onError: .fails(line: 3, message: "movie id 1 already appears on line 1"),
                   onSkip: .parses([toy, miserables], skipped: ["duplicate-movie": 1])),
        MoviesCase(name: "ml1m-duplicate-id-first-is-later-line", bytes: miserablesUTF8 + toyStory + Array("\n73::Other (1995)::Drama\n".utf8),
                   encoding: .auto,
                   onError: .fails(line: 4, message: "movie id 73 already appears on line 1"),
                   onSkip: .parses([toy, miserables], skipped: ["duplicate-movie": 1], blank: 1)),
        MoviesCase(name: "empty", bytes: [], encoding: .auto,
                   onError: .fails(line: nil, message: "the movies file is empty"), onSkip: .fails(line: nil, message: "the movies file is empty")),
        MoviesCase(name: "blank-lines-only", bytes: Array("\n\r\n".utf8), encoding: .auto,
                   onError: .fails(line: nil, message: "the movies file is empty"), onSkip: .fails(line: nil, message: "the movies file is empty")),
        // ML-100K u.item: pipes, latin-1, genres by flag position.
        same("ml100k-u.item", uItem(1, Array("Toy Story (1995)".utf8), flags: flags([3, 4, 5]))
                + uItem(543, Array("Mis".utf8) + [0xE9] + Array("rables, Les (1995)".utf8), flags: flags([8, 12]))
                + uItem(267, Array("unknown".utf8), flags: flags([0]))
                + uItem(1000, Array("Everything".utf8), flags: flags(Set(0..<19))),
             [toy, Movie(267, "unknown", ["unknown"]), Movie(543, "Misérables, Les (1995)", ["Drama", "Musical"]),
              Movie(1000, "Everything", MovieLens.genres100K)]),
        MoviesCase(name: "ml100k-bad-flag", bytes: uItem(1, Array("Toy Story (1995)".utf8), flags: flags([3, 4, 5]))
                    + uItem(2, Array("GoldenEye (1995)".utf8), flags: ["0", "1", "2"] + Array(flags([]).dropFirst(3))), encoding: .auto,
                   onError: .fails(line: 2, message: "genre flag 3 must be 0 or 1"),
                   onSkip: .parses([toy], skipped: ["bad-genres": 1])),
        MoviesCase(name: "ml100k-empty-flag", bytes: uItem(2, Array("GoldenEye (1995)".utf8), flags: Array(flags([]).dropLast()) + [""])
                    + uItem(1, Array("Toy Story (1995)".utf8), flags: flags([3, 4, 5])), encoding: .auto,
                   onError: .fails(line: 1, message: "genre flag 19 must be 0 or 1"),
                   onSkip: .parses([toy], skipped: ["bad-genres": 1])),
        MoviesCase(name: "ml100k-field-count", bytes: uItem(1, Array("Toy Story (1995)".utf8), flags: flags([3, 4, 5]))
                    + uItem(2, Array("GoldenEye (1995)".utf8), flags: Array(flags([]).dropLast())), encoding: .auto,
                   onError: .fails(line: 2, message: "expected 24 fields separated by '|'"),
                   onSkip: .parses([toy], skipped: ["field-count": 1])),
        MoviesCase(name: "ml100k-duplicate-id", bytes: uItem(1, Array("Toy Story (1995)".utf8), flags: flags([3, 4, 5]))
                    + uItem(1, Array("Toy Story (1995)".utf8), flags: flags([3, 4, 5])), encoding: .auto,
                   onError: .fails(line: 2, message: "movie id 1 already appears on line 1"),
                   onSkip: .parses([toy], skipped: ["duplicate-movie": 1])),
    ]
}
