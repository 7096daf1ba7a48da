import Foundation
import Testing
@testable import RecCore
@testable import RecPipeline

/// Catalogue rules through the whole pipeline (in this process): what the served lists and
/// similar lists may hold, that the evaluation ignores them, what a rule change reruns, and
/// that a bad rule file publishes nothing.
@Suite struct CatalogueRulesRunTests {
    /// (user, movie) rows of recommendations.csv and (movie, similar movie) rows of similar.csv.
    static func rows(_ f: PipelineFixture) throws -> (recs: [(user: Int, movie: Int)], similar: [(movie: Int, similar: Int)]) {
        let c = try PipelineConfig.load(f.configPath)
        func csv(_ name: String) throws -> [[Substring]] {
            // No title of the fixture holds a line break; fields are split on the first commas only.
            try String(contentsOfFile: c.paths.output + "/" + name, encoding: .utf8).split(separator: "\n").dropFirst()
                .map { $0.split(separator: ",", maxSplits: 3) }
        }
        return (try csv("recommendations.csv").map { (Int($0[0])!, Int($0[2])!) }, try csv("similar.csv").map { (Int($0[0])!, Int($0[2])!) })
    }

    /// metrics.json's evaluation figures (everything but the settings and the served lists).
    static func figures(_ f: PipelineFixture) throws -> JSONValue {
        let c = try PipelineConfig.load(f.configPath)
        guard case .object(var o) = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: c.paths.metrics))) else {
            return .null
        }
        o["settings"] = nil
        o["served"] = nil
        return .object(o)
    }

    /// Each user's rated movies, from the fixture's ratings file.
    static func rated(_ f: PipelineFixture) throws -> [Int: Set<Int>] {
        let lines = try String(contentsOfFile: f.file("ratings.dat"), encoding: .utf8).split(separator: "\n")
        let pairs = lines.map { $0.split(separator: ":").prefix(2).map { Int($0)! } }
        return Dictionary(grouping: pairs, by: { $0[0] }).mapValues { Set($0.map { $0[1] }) }
    }

    func settings(_ rules: [String: JSONValue]) -> [String: JSONValue] {
        var s = PipelineFixture.baseSettings
        s["catalogueRules"] = .object(rules)
        return s
    }

    @Test func excludeAndGenreRules_leaveTheMoviesOut_keepKRows_andChangeNoFigure() throws {
        let plain = try PipelineFixture()
        try plain.run()
        let f = try PipelineFixture(settings: settings(["exclude": .string("exclude.txt"), "excludeGenres": .array([.string("Comedy")])]))
        // The most-recommended movies of the plain run, and one the movies file has but nobody rated.
        let counts = Dictionary(grouping: try Self.rows(plain).recs, by: \.movie).mapValues(\.count)
        let top = counts.keys.sorted { counts[$0]! != counts[$1]! ? counts[$0]! > counts[$1]! : $0 < $1 }.prefix(2)
        try Data(("# licences ended\n" + top.map { "\($0)\n" }.joined() + "\(PipelineFixture.movies + 2)\n").utf8)
            .write(to: URL(fileURLWithPath: f.file("exclude.txt")))
        try f.run()
        let (recs, similar) = try Self.rows(f)
        // Odd movies are Comedy|Drama, so only even ones remain.
        #expect(!recs.isEmpty && recs.allSatisfy { $0.movie % 2 == 0 && !top.contains($0.movie) })
        #expect(!similar.isEmpty && similar.allSatisfy { $0.movie % 2 == 0 && $0.similar % 2 == 0 && !top.contains($0.movie) && !top.contains($0.similar) })
        // Every user still gets k = 3 rows from what remains, fewer only when fewer remain.
        let rated = try Self.rated(f)
        let remaining = Set(rated.values.joined()).filter { $0 % 2 == 0 && !top.contains($0) }
        let perUser = Dictionary(grouping: recs, by: \.user).mapValues(\.count)
        for user in 1...PipelineFixture.users {
            #expect(perUser[user, default: 0] == min(3, remaining.subtracting(rated[user, default: []]).count), "user \(user)")
        }
        // The evaluation does not apply the rules.
        #expect(try Self.figures(f) == Self.figures(plain))
    }

    @Test func allowList_thatEmptiesSomeUsersCandidates_givesThemFewerRows() throws {
        let f = try PipelineFixture(settings: settings(["allow": .string("allow.txt")]))
        // Movies 1 and 2 are the most rated (the fixture draws the lower of two ids).
        try Data("1\n2\n".utf8).write(to: URL(fileURLWithPath: f.file("allow.txt")))
        try f.run()
        let (recs, similar) = try Self.rows(f)
        #expect(recs.allSatisfy { [1, 2].contains($0.movie) })
        #expect(similar.allSatisfy { [1, 2].contains($0.movie) && [1, 2].contains($0.similar) })
        // Users who rated both get no row; the others get the one or two they did not rate.
        let rated = try Self.rated(f)
        let perUser = Dictionary(grouping: recs, by: \.user).mapValues { Set($0.map(\.movie)) }
        for user in 1...PipelineFixture.users {
            #expect(perUser[user, default: []] == Set([1, 2]).subtracting(rated[user, default: []]), "user \(user)")
        }
        #expect(perUser.count < PipelineFixture.users, "no user had their candidates emptied")
    }

    @Test func changingARuleFile_rerunsScoreAndExportOnly() throws {
        let f = try PipelineFixture(settings: settings(["exclude": .string("exclude.txt")]))
        try Data("4\n".utf8).write(to: URL(fileURLWithPath: f.file("exclude.txt")))
        try f.run()
        #expect(try f.run().allSatisfy { !$0.ran })
        try Data("4\n6\n".utf8).write(to: URL(fileURLWithPath: f.file("exclude.txt")))
        let outcomes = try f.run()
        #expect(outcomes.filter(\.ran).map(\.stage) == ["score", "export"])
        #expect(try Self.rows(f).recs.allSatisfy { ![4, 6].contains($0.movie) })
    }

    @Test(arguments: [("4\nfour\n", 2, "'four' is not a movie id"), ("4\n\n999\n", 3, "movie 999 is not in the movies file")])
    func badRuleFile_stopsTheRun_namingFileAndLine_andPublishesNothing(c: (text: String, line: Int, message: String)) throws {
        let f = try PipelineFixture()
        try f.run()
        let before = try f.exports()
        try f.write(settings(["exclude": .string("exclude.txt")]))
        try Data(c.text.utf8).write(to: URL(fileURLWithPath: f.file("exclude.txt")))
        do {
            try f.run()
            Issue.record("the run did not stop")
        } catch let e as RecError {
            #expect(e.kind == .input && e.file == f.file("exclude.txt") && e.line == c.line && e.message.contains(c.message), "\(e)")
        }
        #expect(try f.exports() == before)
    }
}
