import Testing
@testable import RecCore
@testable import RecData

/// Titles come out exact or not at all: a byte that is not UTF-8 in a UTF-8 movies file is a
/// bad line naming its byte and column (never the whole file read as ISO-8859-1, never U+FFFD),
/// and a control character in a title or genre is a bad line naming it.
@Suite struct InputTextPropertyTests {
    static let accented = ["Misérables, Les (1995)", "Amélie (2001)", "千と千尋の神隠し (2001)", "Café Crème (1987)", "Ünïcödé: Ω (2010)"]
    static let plain = ["Toy Story (1995)", "Heat (1995)", "Jumanji (1995)", "Sabrina (1995)", "Casino (1995)"]

    /// A UTF-8 movies file (`movies.csv` with a header, or `::`), one movie a line, and the
    /// movies with the line each is on.
    static func moviesFile(_ rng: inout SplitMix64, accents: Bool) -> (bytes: [UInt8], movies: [(movie: Movie, line: Int)], header: Bool) {
        let csv = rng.below(2) == 0
        var text = csv ? "movieId,title,genres\n" : ""
        var movies: [(Movie, Int)] = []
        for k in 0..<(2 + rng.below(12)) {
            let pool = accents && rng.below(2) == 0 ? accented : plain
            let title = pool[rng.below(pool.count)], genres = rng.below(2) == 0 ? ["Drama"] : ["Comedy", "Romance"]
            let id = Int32(k * 3 + 1)
            let field = csv && title.contains(",") ? "\"\(title)\"" : title
            text += csv ? "\(id),\(field),\(genres.joined(separator: "|"))\n" : "\(id)::\(field)::\(genres.joined(separator: "|"))\n"
            movies.append((Movie(id, title, genres), k + (csv ? 2 : 1)))
        }
        // At least one multi-byte sequence when asked for.
        if accents, !movies.contains(where: { accented.contains($0.0.title) }) {
            let id = Int32(movies.count * 3 + 1)
            text += csv ? "\(id),Amélie (2001),Comedy\n" : "\(id)::Amélie (2001)::Comedy\n"
            movies.append((Movie(id, "Amélie (2001)", ["Comedy"]), movies.count + (csv ? 2 : 1)))
        }
        return (Array(text.utf8), movies, csv)
    }

    @Test(arguments: 1...150)
    func parseMovies_strayByte_isAnErrorAtItsLineOrLeavesEveryOtherTitleExact(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let accents = seed % 3 != 0
        var (bytes, movies, header) = Self.moviesFile(&rng, accents: accents)
        let at = rng.below(bytes.count), stray = UInt8(0x80 + rng.below(0x80))
        let line = 1 + bytes[..<at].filter { $0 == 10 }.count
        bytes.insert(stray, at: at)
        let others = movies.filter { $0.line != line }.map(\.movie)
        // A UTF-8 sequence on another line makes `auto` read the file as UTF-8.
        let utf8Elsewhere = movies.contains { $0.line != line && $0.movie.title.utf8.contains { $0 >= 0x80 } }
        for encoding in [MoviesEncoding.auto, .utf8] {
            let asUTF8 = encoding == .utf8 || utf8Elsewhere
            for policy in [InvalidLinePolicy.error, .skip] {
                do {
                    let (catalogue, report) = try MovieLens.parseMovies(bytes, file: "movies", encoding: encoding, policy: policy)
                    let got = Movie.movies(catalogue)
                    #expect(!asUTF8 || policy == .skip, "\(encoding): read as UTF-8 without an error")
                    // Every other movie exact; the one on the stray byte's line left out or changed.
                    #expect(got.filter { m in others.contains { $0.id == m.id } } == others, "\(encoding) \(policy): \(got)")
                    #expect(got.count == others.count || got.count == movies.count)
                    #expect(report.linesRead == got.count + report.blankLines + report.skippedTotal + report.headerLines)
                    if asUTF8 { #expect(report.skipped == ["bad-encoding": 1] && got.count == others.count) }
                    for m in got { #expect(!m.title.unicodeScalars.contains("\u{FFFD}")) }
                } catch let e as RecError {
                    #expect(e.line == line, "\(encoding) \(policy): \(e)")
                    if header && line == 1 {
                        #expect(e.message.contains("header"))
                    } else {
                        #expect(policy == .error, "\(encoding) \(policy): \(e)")
                        // The first byte that is not UTF-8: the stray one, or the rest of
                        // a sequence it broke.
                        if asUTF8 { #expect(e.message.hasPrefix("byte 0x") && e.message.contains(" is not UTF-8 ("), "\(e)") }
                    }
                }
            }
        }
    }

    @Test func parseMovies_strayByte_messageNamesFileLineColumnAndByte() throws {
        let text = Array("movieId,title,genres\n1,Amélie (2001),Comedy\n2,Heat (1995),Action\n3,Mis".utf8) + [0xE9]
            + Array("rables (1995),Drama\n".utf8)
        let e = try #require(recError { try MovieLens.parseMovies(text, file: "movies.csv", encoding: .auto, policy: .error) })
        #expect(e.description.hasPrefix("movies.csv:4: byte 0xE9 at column 6 is not UTF-8 (the file holds UTF-8 elsewhere"), "\(e)")
        #expect(e.description.contains("input.moviesEncoding to \"latin1\"") && e.hint?.contains("invalidLines") == true)
        let (c, report) = try MovieLens.parseMovies(text, file: "movies.csv", encoding: .auto, policy: .skip)
        #expect(Movie.movies(c) == [Movie(1, "Amélie (2001)", ["Comedy"]), Movie(2, "Heat (1995)", ["Action"])])
        #expect(report.skipped == ["bad-encoding": 1])
    }

    /// ISO-8859-1 files (ML-1M, ML-100K) hold no multi-byte UTF-8 sequence: every letter byte
    /// still decodes to its own code point under `auto`.
    @Test(arguments: Array(0xA0...0xFF))
    func parseMovies_latin1LetterWithoutUTF8Elsewhere_decodesAsLatin1(byte: Int) throws {
        let text = Array("1::Toy Story (1995)::Comedy\n2::A".utf8) + [UInt8(byte)] + Array("z (1990)::Drama\n".utf8)
        let (c, _) = try MovieLens.parseMovies(text, file: "movies.dat", encoding: .auto, policy: .error)
        #expect(c.titles[1].unicodeScalars.map(\.value) == [0x41, UInt32(byte)] + Array("z (1990)".unicodeScalars.map(\.value)))
    }

    @Test func hasMultiByteUTF8_andFirstInvalidUTF8_followTheUnicodeTable() {
        let cases: [([UInt8], Bool, Int?)] = [
            ([0x41, 0xC3, 0xA9], true, nil), ([0xE9, 0x41], false, 0), ([0xC3, 0xC3, 0xA9], true, 0),
            ([0xC0, 0x80], false, 0), ([0xED, 0xA0, 0x80], false, 0), ([0xF4, 0x90, 0x80, 0x80], false, 0),
            ([0xF0, 0x9F, 0x98, 0x80], true, nil), ([0x41, 0xE3, 0x81], false, 1), ([0xEF, 0xBF, 0xBD, 0x80], true, 3),
        ]
        for (b, multi, invalid) in cases {
            #expect(MovieLens.hasMultiByteUTF8(b, 0..<b.count) == multi, "\(b)")
            #expect(MovieLens.firstInvalidUTF8(b, 0..<b.count) == invalid, "\(b)")
            // The reference: the standard library's validation.
            #expect((String(validating: b, as: UTF8.self) == nil) == (invalid != nil), "\(b)")
        }
    }

    // MARK: - Control characters

    static let controls: [UInt32] = Array(0...0x1F) + [0x7F] + Array(0x80...0x9F)

    @Test(arguments: controls)
    func parseMovies_controlCharacterInTitleOrGenres_isABadLineNamingIt(code: UInt32) throws {
        let c = String(Character(Unicode.Scalar(code)!))
        let name = MovieLens.describe(Unicode.Scalar(code)!)
        #expect(name.hasPrefix("U+00" + (code < 16 ? "0" : "") + String(code, radix: 16, uppercase: true)))
        for inTitle in [true, false] {
            // Quoted, so that a line feed or carriage return stays inside the field.
            let bad = inTitle ? "7,\"Bad\(c)Title (1999)\",Drama" : "7,Bad Title (1999),\"Dra\(c)ma\""
            let text = "movieId,title,genres\n1,Toy Story (1995),Comedy\n\(bad)\n9,Heat (1995),Action\n"
            let e = try #require(recError { try MovieLens.parseMovies(Array(text.utf8), file: "movies.csv", encoding: .auto, policy: .error) })
            #expect(e.line == 3 && e.message.contains("the \(inTitle ? "title" : "genres") holds the control character \(name) at character 4"), "\(e)")
            #expect(!e.description.unicodeScalars.contains { MovieLens.isControl($0) }, "the message itself holds no control character")
            let (catalogue, report) = try MovieLens.parseMovies(Array(text.utf8), file: "movies.csv", encoding: .auto, policy: .skip)
            #expect(catalogue.movieIds == [1, 9] && report.skipped == ["control-character": 1])
        }
        // The `::` format, and C1 controls as ISO-8859-1 bytes.
        if code != 10 && code != 13 {
            let text = "1::Toy Story (1995)::Comedy\n7::Bad\(c)Title::Drama\n"
            let (catalogue, report) = try MovieLens.parseMovies(Array(text.utf8), file: "movies.dat", encoding: .utf8, policy: .skip)
            #expect(catalogue.movieIds == [1] && report.skipped == ["control-character": 1])
        }
        if code >= 0x80 {
            let text = Array("1::Toy Story (1995)::Comedy\n7::Bad".utf8) + [UInt8(code)] + Array("Title::Drama\n".utf8)
            let e = try #require(recError { try MovieLens.parseMovies(text, file: "movies.dat", encoding: .auto, policy: .error) })
            #expect(e.line == 2 && e.message.contains(name), "\(e)")
        }
    }

    /// Arbitrary bytes in a title, in every format and encoding: an error, or a catalogue
    /// without a control character or a replacement character, every line accounted for.
    @Test(arguments: 1...300)
    func parseMovies_arbitraryBytesInATitle_neverGiveAControlCharacter(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let junk = (0..<(1 + rng.below(12))).map { _ in UInt8(rng.below(256)) }
        let bytes: [UInt8]
        switch rng.below(4) {
        case 0: bytes = Array("movieId,title,genres\n1,Toy Story (1995),Comedy\n2,\"".utf8) + junk + Array("\",Drama\n3,Heat,Action\n".utf8)
        case 1: bytes = Array("1,Toy Story (1995),Comedy\n2,".utf8) + junk + Array(",Drama\n3,Heat,Action\n".utf8)
        case 2: bytes = Array("1::Toy Story (1995)::Comedy\n2::".utf8) + junk + Array("::Drama\n3::Heat::Action\n".utf8)
        default: bytes = MoviesCorpus.uItem(1, Array("Toy".utf8), flags: MoviesCorpus.flags([1])) + MoviesCorpus.uItem(2, junk, flags: MoviesCorpus.flags([2]))
        }
        let replacement = bytes.indices.contains { bytes[$0...].starts(with: [0xEF, 0xBF, 0xBD]) }
        for encoding in MoviesEncoding.allCases {
            for policy in [InvalidLinePolicy.error, .skip] {
                guard let (catalogue, report) = try? MovieLens.parseMovies(bytes, file: "m", encoding: encoding, policy: policy) else { continue }
                for text in catalogue.titles + catalogue.genres.flatMap({ $0 }) {
                    #expect(!text.unicodeScalars.contains { MovieLens.isControl($0) }, "\(junk) \(encoding): \(text.debugDescription)")
                    #expect(replacement || !text.unicodeScalars.contains("\u{FFFD}"), "\(junk) \(encoding): \(text.debugDescription)")
                }
                #expect(report.linesRead == catalogue.count + report.blankLines + report.skippedTotal + report.headerLines + report.continuationLines)
                #expect(policy == .skip || report.skippedTotal == 0)
            }
        }
    }

    /// Ratings fields are numbers: a control character in any of them makes the line bad.
    @Test(arguments: [",", "\t", "::"])
    func parseRatings_controlCharacterInAField_isABadLine(separator: String) throws {
        for code in Self.controls where code != 10 {
            for field in 0..<4 {
                var fields = ["2", "20", "3", "978300761"]
                fields[field] = (field % 2 == 0 ? "" : "1") + String(Character(Unicode.Scalar(code)!)) + fields[field]
                let text = ["1", "10", "5", "978300760"].joined(separator: separator) + "\n" + fields.joined(separator: separator) + "\n"
                    + ["3", "30", "4", "978300762"].joined(separator: separator) + "\n"
                let e = try #require(recError {
                    try MovieLens.parseRatings(Array(text.utf8), file: "r", scale: .auto, policy: .error, parallel: Parallel(workers: 1))
                })
                #expect(e.line == 2, "\(code) in field \(field): \(e)")
                #expect(!e.description.unicodeScalars.contains { MovieLens.isControl($0) }, "\(e.description.debugDescription)")
                let (raw, report) = try MovieLens.parseRatings(Array(text.utf8), file: "r", scale: .auto, policy: .skip, parallel: Parallel(workers: 1))
                #expect(raw.userIds == [1, 3] && report.skippedTotal == 1, "\(code) in field \(field)")
            }
        }
    }

    @Test func display_escapesControlCharactersAndBytesThatAreNotUTF8() {
        #expect(MovieLens.display(Array("a\u{0}b\u{1B}[31m\u{85}é".utf8) + [0xE9]) == "a<U+0000>b<U+001B>[31m<U+0085>é<0xE9>")
        #expect(MovieLens.display(Array(repeating: UInt8(ascii: "x"), count: 41)) == String(repeating: "x", count: 40) + "…")
        // A second byte order mark is part of the first name: shown, not invisible.
        let e = recError { try MovieLens.parseRatings([0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array("userId,movieId,rating\n1,2,3\n".utf8), file: "r",
                                                      scale: .auto, policy: .error, parallel: Parallel(workers: 1)) }
        #expect(e?.message == "unknown column '<U+FEFF>userId' in the header (column 1)")
    }
}
