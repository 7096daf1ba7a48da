import Testing
@testable import RecCore
@testable import RecData

/// `Ingest.build`: checks against the catalogue, duplicate pairs, dense ids and ordering.
@Suite struct IngestTests {
    static let catalogue = Catalogue(movieIds: [10, 20, 30, 40], titles: ["a", "b", "c", "d"], genres: [[], [], [], []])
    static let one = Parallel(workers: 1)

    /// Parses `text` and builds it, under one policy.
    static func build(_ text: String, _ policy: InvalidLinePolicy, file: String = "ratings.dat",
                      workers: Int = 1) throws -> Ingest.Result {
        let (raw, report) = try MovieLens.parseRatings(Array(text.utf8), file: file, scale: 1...5, policy: policy,
                                                       parallel: Parallel(workers: workers))
        return try Ingest.build(raw, catalogue: catalogue, file: file, policy: policy, report: report, parallel: Parallel(workers: workers))
    }

    /// (user id, movie id, rating, timestamp) per row, in the table's order.
    static func rows(_ r: Ratings) -> [String] {
        (0..<r.count).map { "\(r.ids.userIds[Int(r.users[$0])])/\(r.ids.itemIds[Int(r.items[$0])])/\(r.values[$0])/\(r.timestamps[$0])" }
    }

    @Test func build_whenPairIsDuplicated_underError_throwsAtTheSecondLine() throws {
        let e = try #require(recError { try Self.build("1::10::5::100\n1::20::4::101\n1::10::3::102\n", .error) })
        #expect(e.kind == .input && e.file == "ratings.dat" && e.line == 3)
        #expect(e.message == "user 1 rated movie 10 already on line 1")
        #expect(e.description.hasPrefix("ratings.dat:3: "))
        #expect(e.hint?.contains("invalidLines") == true)
    }

    @Test func build_whenPairIsDuplicated_underSkip_keepsTheFirstAndCountsTheRest() throws {
        let r = try Self.build("1::10::5::100\n1::20::4::101\n1::10::3::102\n\n1::10::1::103\n", .skip)
        #expect(Self.rows(r.ratings) == ["1/10/5.0/100", "1/20/4.0/101"])
        #expect(r.report.skipped == ["duplicate-pair": 2])
        #expect(r.report.examples == ["ratings.dat:3: user 1 rated movie 10 already on line 1",
                                      "ratings.dat:5: user 1 rated movie 10 already on line 1"])
        #expect(r.report.blankLines == 1)
    }

    @Test func build_sameMovieForDifferentUsers_isNotADuplicate() throws {
        let r = try Self.build("1::10::5\n2::10::4\n", .error)
        #expect(r.ratings.count == 2)
    }

    @Test func build_whenMovieIsNotInCatalogue_underError_throwsAtItsLine() throws {
        let e = try #require(recError { try Self.build("1::10::5\n\n2::99::4\n", .error) })
        #expect(e.kind == .input && e.file == "ratings.dat" && e.line == 3)
        #expect(e.message == "movie id 99 is not in the movies file")
    }

    @Test func build_whenMovieIsNotInCatalogue_underSkip_dropsItAndItsOnlyUser() throws {
        let r = try Self.build("1::10::5\n2::99::4\n3::20::2\n", .skip)
        #expect(Self.rows(r.ratings) == ["1/10/5.0/-1", "3/20/2.0/-1"])
        #expect(r.ratings.ids.userIds == [1, 3])
        #expect(r.ratings.ids.itemIds == [10, 20])
        #expect(r.report.skipped == ["unknown-movie": 1])
    }

    @Test func build_underError_reportsTheEarliestLineWhateverTheProblem() throws {
        // Line 4 is a duplicate, line 5 an unknown movie: the duplicate comes first in the file.
        let text = "1::10::5\n1::20::5\n2::30::5\n1::10::1\n1::77::1\n"
        let e = try #require(recError { try Self.build(text, .error) })
        #expect(e.line == 4 && e.message.contains("already on line 1"))
        let r = try Self.build(text, .skip)
        #expect(r.report.skipped == ["duplicate-pair": 1, "unknown-movie": 1])
        #expect(r.report.examples == ["ratings.dat:4: user 1 rated movie 10 already on line 1",
                                      "ratings.dat:5: movie id 77 is not in the movies file"])
    }

    @Test func build_keepsParseReportAndAddsItsOwn() throws {
        let r = try Self.build("1::10::5\n1::x::5\n1::10::4\n", .skip)
        #expect(r.report.skipped == ["bad-movie-id": 1, "duplicate-pair": 1])
        #expect(r.report.linesRead == 3)
    }

    @Test func build_whenEveryRatingIsDropped_throwsNoValidRatings() throws {
        let e = try #require(recError { try Self.build("1::98::5\n2::99::4\n", .skip) })
        #expect(e.kind == .input && e.file == "ratings.dat" && e.message == "no valid ratings")
        let header = try #require(recError { try Self.build("userId,movieId,rating,timestamp\n", .skip) })
        #expect(header.message == "no valid ratings")
    }

    @Test func build_givesDenseIdsAscendingAndSortsByUserThenMovie() throws {
        let r = try Self.build("30::40::1::1\n10::30::2::2\n30::10::3::3\n20::20::4::4\n10::10::5::5\n", .error).ratings
        #expect(r.ids.userIds == [10, 20, 30])
        #expect(r.ids.itemIds == [10, 20, 30, 40])
        #expect(r.users == [0, 0, 1, 2, 2])
        #expect(r.items == [0, 2, 1, 0, 3])
        #expect(r.values == [5, 2, 4, 3, 1])
        #expect(r.timestamps == [5, 2, 4, 3, 1])
        // Movies nobody rated are not items.
        let sparse = try Self.build("1::40::5\n", .error).ratings
        #expect(sparse.ids.itemIds == [40] && sparse.items == [0])
    }

    @Test func build_withOneOrFourWorkers_givesTheSameTable() throws {
        // More than one chunk of 256 users, each with a few ratings in shuffled order, and duplicates.
        var rng = SplitMix64(seed: 9)
        var lines: [String] = []
        for u in 1...700 {
            for _ in 0..<(1 + rng.below(6)) { lines.append("\(u)::\([10, 20, 30, 40][rng.below(4)])::\(1 + rng.below(5))") }
        }
        rng.shuffle(&lines)
        let text = lines.joined(separator: "\n")
        let a = try Self.build(text, .skip, workers: 1)
        let b = try Self.build(text, .skip, workers: 4)
        #expect(a.ratings == b.ratings)
        #expect(a.report == b.report)
        #expect(a.ratings.ids.userCount == 700)
        // Sorted by (user, item) with no repeated pair.
        for k in 1..<a.ratings.count {
            #expect((a.ratings.users[k - 1], a.ratings.items[k - 1]) < (a.ratings.users[k], a.ratings.items[k]))
        }
        #expect(a.ratings.count + (a.report.skipped["duplicate-pair"] ?? 0) == lines.count)
    }
}
