import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecPipeline

@Suite struct ExplanationsTests {
    static let lists = ExportTests.lists
    static let catalogue = ExportTests.catalogue
    /// Reasons of `lists` (dense items; −1 none) and 2 similar movies per item.
    static let explained = Explanations(
        k: 3, because: [0, -1, 3, 1, -1, -1, -1, -1, -1, 2, 2, 4], similarK: 2,
        similarItems: [1, 2, -1, -1, 4, -1, 0, 1, 0, -1], similarScores: [0.5, 0.25, 0, 0, 0.12345, 0, 2, 1, 0.1, 0],
        ids: ExportTests.lists.ids)

    @Test func render_appendsTheReasonColumns_keepingTheOthers() throws {
        let (csv, jsonl) = try RecommendationExport.render(Self.lists, catalogue: Self.catalogue, parallel: Parallel(workers: 1),
                                                           because: Self.explained.because)
        let records = try #require(ExportTests.parseCSV(csv))
        #expect(records[0] == ["user_id", "rank", "movie_id", "score", "title", "genres", "predicted_rating", "because_movie_id", "because_title"])
        #expect(records[1] == ["10", "1", "5", "0.9877", "Misérables, Les (1995)", "Drama|Musical", "4.500", "1", "Toy Story (1995)"])
        #expect(records[2].suffix(2) == ["", ""])
        #expect(records[3].suffix(2) == ["12", "Line\nBreak\r\nTitle"])
        #expect(records[5].suffix(2) == ["9", "Say \"Cheese\""])
        let lines = jsonl.split(separator: 10)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0])) as? [String: Any])
        let recs = try #require(first["recommendations"] as? [[String: Any]])
        #expect(recs[0]["because_movie_id"] as? Int == 1 && recs[0]["because_title"] as? String == "Toy Story (1995)")
        #expect(recs[1]["because_movie_id"] is NSNull && recs[1]["because_title"] is NSNull)
    }

    @Test func similar_rendersOneRowPerPair_andOneLinePerMovieWithNeighbours() throws {
        let (csv, jsonl) = try SimilarExport.render(Self.explained, catalogue: Self.catalogue, parallel: Parallel(workers: 1))
        let records = try #require(ExportTests.parseCSV(csv))
        #expect(records == [
            ["movie_id", "rank", "similar_movie_id", "score", "title", "genres", "similar_title", "similar_genres"],
            ["1", "1", "5", "0.5000", "Toy Story (1995)", "Animation|Children's|Comedy", "Misérables, Les (1995)", "Drama|Musical"],
            ["1", "2", "9", "0.2500", "Toy Story (1995)", "Animation|Children's|Comedy", "Say \"Cheese\"", ""],
            ["9", "1", "40", "0.1235", "Say \"Cheese\"", "", "日本", "Drama"],
            ["12", "1", "1", "2.0000", "Line\nBreak\r\nTitle", "Film-Noir", "Toy Story (1995)", "Animation|Children's|Comedy"],
            ["12", "2", "5", "1.0000", "Line\nBreak\r\nTitle", "Film-Noir", "Misérables, Les (1995)", "Drama|Musical"],
            ["40", "1", "1", "0.1000", "日本", "Drama", "Toy Story (1995)", "Animation|Children's|Comedy"],
        ])
        let lines = jsonl.split(separator: 10)
        #expect(lines.count == 4)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(lines[2])) as? [String: Any])
        #expect(o["movie_id"] as? Int == 12 && o["title"] as? String == "Line\nBreak\r\nTitle")
        let similar = try #require(o["similar_movies"] as? [[String: Any]])
        #expect(similar.map { $0["movie_id"] as? Int } == [1, 5] && similar.map { $0["rank"] as? Int } == [1, 2])
    }

    @Test func similar_titlesAreSpreadsheetSafeCells() throws {
        let catalogue = Catalogue(movieIds: [1, 5, 9, 12, 40], titles: ["=HYPERLINK(1)", "+1", "a", "b", "c"], genres: [[], [], [], [], []])
        let (csv, _) = try SimilarExport.render(Self.explained, catalogue: catalogue, parallel: Parallel(workers: 1))
        let text = String(decoding: csv, as: UTF8.self)
        #expect(text.contains("1,1,5,0.5000,\"'=HYPERLINK(1)\",,\"'+1\","))
        let (exact, _) = try SimilarExport.render(Self.explained, catalogue: catalogue, parallel: Parallel(workers: 1), cells: .exact)
        #expect(String(decoding: exact, as: UTF8.self).contains("1,1,5,0.5000,=HYPERLINK(1),,+1,"))
    }

    @Test func artefact_roundTrips_andRefusesOtherLists() throws {
        let dir = try TempDir(prefix: "reckit")
        let path = dir.file("explanations.art")
        try Self.explained.write(to: path, meta: [:], parallel: Parallel(workers: 1))
        #expect(try Explanations.read(path, matching: Self.lists, parallel: Parallel(workers: 1)) == Self.explained)
        var other = Self.lists
        other.k = 1
        other.items = Array(other.items.prefix(4))
        other.scores = Array(other.scores.prefix(4))
        other.predictedRatings = Array(other.predictedRatings.prefix(4))
        expectRecError(.artefact) { _ = try Explanations.read(path, matching: other, parallel: Parallel(workers: 1)) }
        // The served lists themselves are not explanations.
        try Self.lists.write(to: dir.file("topk.art"), meta: [:], parallel: Parallel(workers: 1))
        expectRecError(.artefact) { _ = try Explanations.read(dir.file("topk.art"), matching: Self.lists, parallel: Parallel(workers: 1)) }
    }
}

@Suite struct CatalogueRulesTests {
    static let catalogue = ExportTests.catalogue

    func config(_ dir: TempDir, exclude: String? = nil, allow: String? = nil, genres: [String] = []) throws -> PipelineConfig {
        var c = PipelineConfig()
        c.baseDirectory = dir.path
        if let exclude {
            try Data(exclude.utf8).write(to: URL(fileURLWithPath: dir.file("exclude.txt")))
            c.catalogueRules.exclude = "exclude.txt"
        }
        if let allow {
            try Data(allow.utf8).write(to: URL(fileURLWithPath: dir.file("allow.txt")))
            c.catalogueRules.allow = "allow.txt"
        }
        c.catalogueRules.excludeGenres = genres
        return c
    }

    @Test func rules_excludeAllowAndGenres() throws {
        let dir = try TempDir(prefix: "reckit")
        // Catalogue: 1 Toy Story (Animation…), 5 Misérables (Drama|Musical), 9 (none), 12 (Film-Noir), 40 (Drama).
        #expect(try CatalogueRules.load(config(dir), catalogue: Self.catalogue).allowed == [true, true, true, true, true])
        #expect(try CatalogueRules.load(config(dir, exclude: "# withdrawn\n5\r\n\n  12  \n"), catalogue: Self.catalogue).allowed
                == [true, false, true, false, true])
        #expect(try CatalogueRules.load(config(dir, allow: "1\n5\n40"), catalogue: Self.catalogue).allowed == [true, true, false, false, true])
        #expect(try CatalogueRules.load(config(dir, exclude: "40", allow: "1\n5\n40", genres: ["Musical"]), catalogue: Self.catalogue).allowed
                == [true, false, false, false, false])
        #expect(try CatalogueRules.load(config(dir, genres: ["Drama"]), catalogue: Self.catalogue).allowed == [true, false, true, true, false])
        let ids = IdMaps(userIds: [1], itemIds: [5, 9, 40])
        let rules = try CatalogueRules.load(config(dir, genres: ["Drama"]), catalogue: Self.catalogue)
        #expect(rules.excludedItems(ids, catalogue: Self.catalogue) == [0, 2])
    }

    @Test(arguments: [
        ("1\n5x\n", 2, "'5x' is not a movie id"), ("1\n\n-5\n", 3, "'-5' is not a movie id"), ("1 5\n", 1, "'1 5' is not a movie id"),
        ("99999999999\n", 1, "is not a movie id"), ("1\n7\n", 2, "movie 7 is not in the movies file"),
    ])
    func malformedOrUnknown_namesFileAndLine(c: (text: String, line: Int, message: String)) throws {
        let dir = try TempDir(prefix: "reckit")
        for which in ["exclude", "allow"] {
            let config = which == "exclude" ? try config(dir, exclude: c.text) : try config(dir, allow: c.text)
            let error = expectRecError(.input) { _ = try CatalogueRules.load(config, catalogue: Self.catalogue) }
            #expect(error?.file == dir.file("\(which).txt") && error?.line == c.line, "\(String(describing: error))")
            #expect(error?.message.contains(c.message) == true, "\(String(describing: error))")
        }
    }

    @Test func missingFileOrUnknownGenre_isAnError() throws {
        let dir = try TempDir(prefix: "reckit")
        var c = try config(dir)
        c.catalogueRules.exclude = "missing.txt"
        expectRecError(.input) { _ = try CatalogueRules.load(c, catalogue: Self.catalogue) }
        let genre = expectRecError(.config) { _ = try CatalogueRules.load(try config(dir, genres: ["Western"]), catalogue: Self.catalogue) }
        #expect(genre?.message.contains("'catalogueRules.excludeGenres' names 'Western'") == true)
    }

    @Test func settings_areReadAndChecked() throws {
        let c = try PipelineConfig.parse(.object(["catalogueRules": .object(["exclude": .string("x.txt"), "excludeGenres": .array([.string("Horror")])])]))
        #expect(c.catalogueRules.exclude == "x.txt" && c.catalogueRules.allow.isEmpty && c.catalogueRules.excludeGenres == ["Horror"])
        expectRecError(.config) { _ = try PipelineConfig.parse(.object(["catalogueRules": .object(["excludeGenre": .array([])])])) }
        expectRecError(.config) { _ = try PipelineConfig.parse(.object(["catalogueRules": .object(["excludeGenres": .array([.string("")])])])) }
        expectRecError(.config) {
            _ = try PipelineConfig.parse(.object(["catalogueRules": .object(["excludeGenres": .array([.string("Drama"), .string("Drama")])])]))
        }
    }
}

/// The `RecError` of `body`, recorded as an issue unless it is of `kind`.
@discardableResult
func expectRecError<T>(_ kind: RecError.Kind, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T) -> RecError? {
    let e = recError(sourceLocation: sourceLocation, body)
    #expect(e?.kind == kind, "\(String(describing: e))", sourceLocation: sourceLocation)
    return e
}
