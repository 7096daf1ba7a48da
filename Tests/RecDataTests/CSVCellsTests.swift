import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecPipeline

/// Text cells of recommendations.csv: safe in a spreadsheet by default, exact on request,
/// RFC 4180 either way.
@Suite struct CSVCellsTests {
    /// Whether a spreadsheet reads a cell starting this way as a formula (OWASP's list),
    /// by the first UTF-8 byte.
    static func startsLikeFormula(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first else { return false }
        return ["=", "+", "-", "@", "\t", "\r"].contains(first)
    }

    /// A record of one text cell between two numbers, parsed back with an RFC 4180 reader
    /// written apart from the code under test.
    static func roundTrip(_ text: String, _ cells: CSVCells) -> String? {
        let line = "1," + RecommendationExport.csvField(text, cells: cells) + ",2\n"
        guard let records = ExportTests.parseCSV(Array(line.utf8)), records.count == 1, records[0].count == 3,
              records[0][0] == "1", records[0][2] == "2" else { return nil }
        return records[0][1]
    }

    @Test(arguments: 0..<8)
    func csvField_ofArbitraryText_parsesBackToTheCell_withTheQuotePrefixOnlyBeforeAFormula(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &+ 100)
        for _ in 0..<3_000 {
            var text = HostileText.random(&rng)
            // Half of them start with a formula character behind which anything may follow,
            // a combining mark included (one Character, whose first scalar is still `=`).
            if rng.below(2) == 0 { text = ["=", "+", "-", "@", "\t", "\r"][rng.below(6)] + text }
            let exact = try #require(Self.roundTrip(text, .exact), "\(text.debugDescription)")
            #expect(exact == text, "\(text.debugDescription)")
            let safe = try #require(Self.roundTrip(text, .spreadsheetSafe), "\(text.debugDescription)")
            #expect(safe == (Self.startsLikeFormula(text) ? "'" + text : text), "\(text.debugDescription)")
            // Whatever a spreadsheet sees first in a safe cell is never a formula character.
            #expect(!Self.startsLikeFormula(safe))
            // A cell without a formula start is written the same in both modes.
            if !Self.startsLikeFormula(text) {
                #expect(RecommendationExport.csvField(text, cells: .spreadsheetSafe) == RecommendationExport.csvField(text, cells: .exact))
            }
        }
    }

    @Test(arguments: [
        ("=1+1", "\"'=1+1\""), ("+1 (2013)", "\"'+1 (2013)\""), ("-1", "\"'-1\""), ("@SUM(A1)", "\"'@SUM(A1)\""),
        ("\tx", "\"'\tx\""), ("\rx", "\"'\rx\""), ("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
        ("=\u{301}", "\"'=\u{301}\""), ("-1,2", "\"'-1,2\""),
        // Not at the start, or not one of the characters: left as it is.
        ("a=1", "a=1"), (" =1", " =1"), ("Movie - The Sequel", "Movie - The Sequel"), ("'quoted'", "'quoted'"), ("", ""),
        ("\u{FF1D}1", "\u{FF1D}1"), ("\n=1", "\"\n=1\""),
    ])
    func csvField_spreadsheetSafe_quotesAndPrefixesFormulaCells(c: (input: String, expected: String)) {
        #expect(RecommendationExport.csvField(c.input) == c.expected)
        #expect(RecommendationExport.csvField(c.input, cells: .spreadsheetSafe) == c.expected)
    }

    @Test(arguments: [("=1+1", "=1+1"), ("-1", "-1"), ("@x,y", "\"@x,y\""), ("\"\u{301}", "\"\"\"\u{301}\""), ("a\"\u{301}b", "\"a\"\"\u{301}b\"")])
    func csvField_exact_writesTheTextAsItIs(c: (input: String, expected: String)) {
        #expect(RecommendationExport.csvField(c.input, cells: .exact) == c.expected)
    }

    @Test func render_inBothModes_prefixesOnlyTheFormulaCells_andTheJSONLinesStayExact() throws {
        let catalogue = Catalogue(movieIds: [1, 2, 3], titles: ["=cmd|' /C calc'!A0", "+1 (2013)", "Heat (1995)"],
                                  genres: [["-Drama"], ["Comedy"], ["@Action", "Crime"]])
        let lists = TopKLists(k: 3, items: [0, 1, 2], scores: [-0.5, 0.25, 0.125], predictedRatings: [1, 2, 3],
                              ids: IdMaps(userIds: [7], itemIds: [1, 2, 3]))
        let safe = try RecommendationExport.render(lists, catalogue: catalogue, parallel: Parallel(workers: 1))
        let exact = try RecommendationExport.render(lists, catalogue: catalogue, parallel: Parallel(workers: 1), cells: .exact)
        let safeRows = try #require(ExportTests.parseCSV(safe.csv)).dropFirst()
        let exactRows = try #require(ExportTests.parseCSV(exact.csv)).dropFirst()
        #expect(safeRows.map { [$0[3], $0[4], $0[5]] } == [
            ["-0.5000", "'=cmd|' /C calc'!A0", "'-Drama"], ["0.2500", "'+1 (2013)", "Comedy"], ["0.1250", "Heat (1995)", "'@Action|Crime"],
        ])
        #expect(exactRows.map { [$0[4], $0[5]] } == [["=cmd|' /C calc'!A0", "-Drama"], ["+1 (2013)", "Comedy"], ["Heat (1995)", "@Action|Crime"]])
        // The JSON lines do not depend on the CSV's mode, and carry the titles exactly.
        #expect(safe.jsonl == exact.jsonl)
        let line = try #require(try JSONSerialization.jsonObject(with: Data(safe.jsonl)) as? [String: Any])
        let titles = (line["recommendations"] as? [[String: Any]])?.compactMap { $0["title"] as? String }
        #expect(titles == catalogue.titles)
    }

    @Test func settings_csvCells_defaultsToSpreadsheetSafe_andAcceptsOnlyItsTwoValues() throws {
        #expect(try PipelineConfig.parse(.object([:])).export.csvCells == .spreadsheetSafe)
        #expect(try PipelineConfig.parse(.object(["export": .object(["csvCells": .string("exact")])])).export.csvCells == .exact)
        for bad: JSONValue in [.string("Exact"), .string(""), .string("safe"), .int(1), .bool(true), .null, .array([])] {
            let e = try #require(recError { try PipelineConfig.parse(.object(["export": .object(["csvCells": bad])]), file: "p.json") })
            #expect(e.kind == .config && e.file == "p.json" && e.message.contains("'export.csvCells' must be"), "\(bad): \(e)")
        }
    }
}
