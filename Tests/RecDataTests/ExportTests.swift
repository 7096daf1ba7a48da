import Foundation
import Testing
@testable import RecCore
@testable import RecData

@Suite struct ExportTests {
    // MARK: - Fields

    @Test(arguments: [
        ("plain", "plain"), ("", ""), ("Misérables", "Misérables"), (" spaced ", " spaced "),
        ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("\"", "\"\"\"\""),
        ("line\nbreak", "\"line\nbreak\""), ("carriage\rreturn", "\"carriage\rreturn\""), ("crlf\r\n", "\"crlf\r\n\""),
        ("Action|Comedy", "Action|Comedy"), ("tab\there", "tab\there"),
    ])
    func csvField_quotesOnlyWhenItMust(c: (input: String, expected: String)) {
        #expect(RecommendationExport.csvField(c.input) == c.expected)
    }

    @Test(arguments: [
        ("plain", #""plain""#), ("", #""""#), ("a\"b", #""a\"b""#), ("back\\slash", #""back\\slash""#),
        ("\n\r\t", #""\n\r\t""#), ("\u{0}\u{1}\u{1f}", #""\u0000\u0001\u001f""#), ("\u{8}\u{c}", #""\u0008\u000c""#),
        ("Misérables 日本 🎬", "\"Misérables 日本 🎬\""), ("\u{7f}", "\"\u{7f}\""), ("/", "\"/\""),
    ])
    func jsonString_escapesQuotesBackslashesAndControlCharacters(c: (input: String, expected: String)) {
        #expect(RecommendationExport.jsonString(c.input) == c.expected)
    }

    @Test func jsonString_decodesBackToTheSameString_forEveryControlCharacter() throws {
        let all = String(String.UnicodeScalarView((0..<0x80).compactMap(Unicode.Scalar.init))) + "é€😀\u{2028}"
        let literal = RecommendationExport.jsonString(all)
        #expect(try JSONDecoder().decode(String.self, from: Data(literal.utf8)) == all)
        #expect(!literal.unicodeScalars.contains { $0.value < 0x20 })
    }

    @Test(arguments: [
        (1.23456, 4, "1.2346"), (-1.23456, 2, "-1.23"), (0, 3, "0.000"), (0, 0, "0"), (-0.0, 2, "0.00"),
        (2.5, 0, "3"), (-2.5, 0, "-3"), (0.125, 2, "0.13"), (-0.125, 2, "-0.13"), (9.96875, 1, "10.0"),
        (-0.00004, 4, "0.0000"), (0.1, 4, "0.1000"), (1_000_000, 2, "1000000.00"), (4.000_000_1, 3, "4.000"),
        (5, 3, "5.000"), (0.05, 1, "0.1"), (123.456, 0, "123"),
        (Double.nan, 4, "0"), (Double.infinity, 4, "0"), (-Double.infinity, 2, "0"),
    ])
    func fixed_formatsWithExactDigits(c: (x: Double, digits: Int, expected: String)) {
        #expect(RecommendationExport.fixed(c.x, digits: c.digits) == c.expected)
    }

    /// A diverged model can score far beyond Int's range: the export must still not trap, and
    /// the text must still be a number.
    @Test(arguments: [1e15, -1e15, 9.3e18, -1e19, 1e30, Double(Float.greatestFiniteMagnitude)])
    func fixed_ofHugeValues_givesANumberWithoutTrapping(x: Double) throws {
        let text = RecommendationExport.fixed(x, digits: 4)
        let back = try #require(Double(text), "\(text)")
        #expect(abs(back - x) <= abs(x) * 1e-12, "\(text)")
    }

    @Test(arguments: [0, 3, 4])
    func fixed_ofRandomValuesOfEveryMagnitude_readsBackAsTheSameNumber(digits: Int) throws {
        var rng = SplitMix64(seed: UInt64(digits))
        for _ in 0..<20_000 {
            let x = Double(rng.unitFloat() - 0.5) * pow(10, Double(rng.below(40) - 10))
            let text = RecommendationExport.fixed(x, digits: digits)
            let back = try #require(Double(text), "\(x) -> \(text)")
            #expect(abs(back - x) <= 0.5 * pow(10, -Double(digits)) * 1.000001 + abs(x) * 1e-15, "\(x) -> \(text)")
            if abs(x) < 1e15 {
                // Exactly `digits` decimals, and no "-0.000".
                let parts = text.split(separator: ".", omittingEmptySubsequences: false)
                #expect(digits == 0 ? parts.count == 1 : parts.count == 2 && parts[1].count == digits, "\(x) -> \(text)")
                #expect(back != 0 || !text.hasPrefix("-"), "\(x) -> \(text)")
            }
        }
    }

    @Test func fixed_ofFloatScores_isTheDecimalYouWouldWrite() {
        #expect(RecommendationExport.fixed(Double(Float(0.9)), digits: 4) == "0.9000")
        #expect(RecommendationExport.fixed(Double(Float(4.71)), digits: 3) == "4.710")
    }

    // MARK: - Rendered files

    /// A small RFC 4180 reader: quoted fields may hold commas, doubled quotes, CR and LF;
    /// records end with LF. Returns nil on malformed input.
    static func parseCSV(_ bytes: [UInt8]) -> [[String]]? {
        var records: [[String]] = [], record: [String] = [], field: [UInt8] = []
        var i = 0, quoted = false, wasQuoted = false
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == 34 {
                    if i + 1 < bytes.count, bytes[i + 1] == 34 { field.append(34); i += 1 } else { quoted = false }
                } else {
                    field.append(b)
                }
            } else {
                switch b {
                case 34:
                    guard field.isEmpty, !wasQuoted else { return nil }  // a quote inside an unquoted field
                    quoted = true; wasQuoted = true
                case 44:
                    record.append(String(decoding: field, as: UTF8.self)); field = []; wasQuoted = false
                case 10:
                    record.append(String(decoding: field, as: UTF8.self)); field = []; wasQuoted = false
                    records.append(record); record = []
                case 13:
                    return nil  // the export writes LF line ends only
                default:
                    guard !wasQuoted else { return nil }
                    field.append(b)
                }
            }
            i += 1
        }
        guard !quoted, field.isEmpty, record.isEmpty else { return nil }  // must end with LF
        return records
    }

    @Test func parseCSV_readsQuotedFields() {
        #expect(Self.parseCSV(Array("a,\"b,\"\"c\"\"\nd\",\n".utf8)) == [["a", "b,\"c\"\nd", ""]])
        #expect(Self.parseCSV(Array("a,b".utf8)) == nil)
        #expect(Self.parseCSV(Array("a\"b\n".utf8)) == nil)
    }

    static let catalogue = Catalogue(
        movieIds: [1, 5, 9, 12, 40],
        titles: ["Toy Story (1995)", "Misérables, Les (1995)", "Say \"Cheese\"", "Line\nBreak\r\nTitle", "日本"],
        genres: [["Animation", "Children's", "Comedy"], ["Drama", "Musical"], [], ["Film-Noir"], ["Drama"]])

    /// Four users, k = 3: full lists, a padded list, and a list of padding only.
    static let lists = TopKLists(
        k: 3,
        items: [1, 2, 0, 3, -1, -1, -1, -1, -1, 4, 0, 2],
        scores: [0.98766, 0.5, -0.25, 1, 0, 0, 0, 0, 0, 0.33333, 0.2, 0.1],
        predictedRatings: [4.5, 3.25, 1, 5, 0, 0, 0, 0, 0, 2.0006, 3.9996, 4],
        ids: IdMaps(userIds: [10, 20, 30, 6040], itemIds: [1, 5, 9, 12, 40]))

    @Test func render_csv_parsesBackWithOneRowPerRecommendation() throws {
        let (csv, _) = try RecommendationExport.render(Self.lists, catalogue: Self.catalogue, parallel: Parallel(workers: 1))
        #expect(Array(csv.prefix(3)) != [0xEF, 0xBB, 0xBF])
        let records = try #require(Self.parseCSV(csv))
        #expect(records.first == ["user_id", "rank", "movie_id", "score", "title", "genres", "predicted_rating", "because_movie_id", "because_title"])
        #expect(Array(records.dropFirst()) == [
            ["10", "1", "5", "0.9877", "Misérables, Les (1995)", "Drama|Musical", "4.500", "", ""],
            ["10", "2", "9", "0.5000", "Say \"Cheese\"", "", "3.250", "", ""],
            ["10", "3", "1", "-0.2500", "Toy Story (1995)", "Animation|Children's|Comedy", "1.000", "", ""],
            ["20", "1", "12", "1.0000", "Line\nBreak\r\nTitle", "Film-Noir", "5.000", "", ""],
            ["6040", "1", "40", "0.3333", "日本", "Drama", "2.001", "", ""],
            ["6040", "2", "1", "0.2000", "Toy Story (1995)", "Animation|Children's|Comedy", "4.000", "", ""],
            ["6040", "3", "9", "0.1000", "Say \"Cheese\"", "", "4.000", "", ""],
        ])
    }

    struct JSONLine: Decodable, Equatable {
        struct Recommendation: Decodable, Equatable {
            var rank: Int, movie_id: Int, score: Double, title: String, genres: [String], predicted_rating: Double
        }
        var user_id: Int
        var recommendations: [Recommendation]
    }

    @Test func render_jsonl_hasOneValidObjectPerUser() throws {
        let (_, jsonl) = try RecommendationExport.render(Self.lists, catalogue: Self.catalogue, parallel: Parallel(workers: 1))
        #expect(jsonl.last == 10)
        let lines = jsonl.split(separator: 10, omittingEmptySubsequences: false).dropLast()
        let decoded = try lines.map { try JSONDecoder().decode(JSONLine.self, from: Data($0)) }
        #expect(decoded.map(\.user_id) == [10, 20, 30, 6040])
        #expect(decoded[0].recommendations.map(\.movie_id) == [5, 9, 1])
        #expect(decoded[0].recommendations[1].title == "Say \"Cheese\"")
        #expect(decoded[0].recommendations[1].genres == [])
        #expect(decoded[1].recommendations.map(\.title) == ["Line\nBreak\r\nTitle"])
        #expect(decoded[2].recommendations.isEmpty)
        #expect(decoded[3].recommendations.map(\.rank) == [1, 2, 3])
        #expect(decoded[3].recommendations[0].score == 0.3333 && decoded[3].recommendations[0].predicted_rating == 2.001)
        #expect(String(decoding: lines[2], as: UTF8.self) == #"{"user_id":30,"recommendations":[]}"#)
    }

    @Test func render_withOneOrFourWorkers_givesIdenticalBytes() throws {
        // More users than one chunk of 512.
        let users = 1500, k = 4
        var rng = SplitMix64(seed: 3)
        let items = (0..<(users * k)).map { _ in rng.below(7) == 0 ? Int32(-1) : Int32(rng.below(5)) }
        let lists = TopKLists(k: k, items: items, scores: items.map { _ in rng.unitFloat() },
                              predictedRatings: items.map { _ in 1 + 4 * rng.unitFloat() },
                              ids: IdMaps(userIds: (1...Int32(users)).map { $0 * 2 }, itemIds: [1, 5, 9, 12, 40]))
        let one = try RecommendationExport.render(lists, catalogue: Self.catalogue, parallel: Parallel(workers: 1))
        let four = try RecommendationExport.render(lists, catalogue: Self.catalogue, parallel: Parallel(workers: 4))
        #expect(one.csv == four.csv)
        #expect(one.jsonl == four.jsonl)
        let records = try #require(Self.parseCSV(one.csv))
        #expect(records.count == 1 + items.filter { $0 >= 0 }.count)
        #expect(one.jsonl.filter { $0 == 10 }.count == users)
    }

    @Test func render_whenMovieIsMissingFromCatalogue_throwsArtefactError() throws {
        var lists = Self.lists
        lists.ids.itemIds[4] = 41
        let e = try #require(recError { try RecommendationExport.render(lists, catalogue: Self.catalogue, parallel: Parallel(workers: 1)) })
        #expect(e.kind == .artefact && e.message.contains("movie 41") && e.description.contains("rerun rec-ingest"))
    }
}
