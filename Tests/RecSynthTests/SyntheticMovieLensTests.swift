import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecSynth

/// A small shape with the same properties as the presets.
let small = SynthSettings(users: 300, movies: 260, ratedMovies: 240, ratings: 24_000, seed: 7)

func ratingsBytes(_ s: SynthSettings, _ format: SyntheticMovieLens.Format = .csv, workers: Int = 2, block: Int = 8192) throws -> [UInt8] {
    var bytes: [UInt8] = []
    _ = try SyntheticMovieLens(s).writeRatings(format, parallel: Parallel(workers: workers), usersPerBlock: block) { bytes += $0 }
    return bytes
}

@Suite struct SyntheticMovieLensTests {
    @Test func ratings_areTheSameBytesForASeed_anyWorkersOrBlocks_andDifferForAnotherSeed() throws {
        let a = try ratingsBytes(small, workers: 1)
        #expect(try ratingsBytes(small, workers: 3, block: 100) == a)
        var other = small
        other.seed = 8
        #expect(try ratingsBytes(other) != a)
    }

    @Test func ratingsCSV_parsesWithTheMovieLensReader_andHasTheRequestedShape() throws {
        let bytes = try ratingsBytes(small)
        #expect(bytes.starts(with: Array("userId,movieId,rating,timestamp\n".utf8)))
        let (raw, report) = try MovieLens.parseRatings(bytes, file: "ratings.csv", scale: 0.5...5, policy: .error,
                                                        parallel: Parallel(workers: 2))
        #expect(report.skippedTotal == 0)
        #expect(raw.count == small.ratings)
        var perUser: [Int32: Int] = [:], perMovie: [Int32: Int] = [:]
        var pairs = Set<Int64>()
        var previous: (Int32, Int32) = (0, 0)
        for k in 0..<raw.count {
            let (u, m) = (raw.userIds[k], raw.movieIds[k])
            perUser[u, default: 0] += 1
            perMovie[m, default: 0] += 1
            #expect(pairs.insert(Int64(u) << 32 | Int64(m)).inserted, "user \(u) rated movie \(m) twice")
            #expect((u, m) > previous, "lines sorted by user, then movie")
            previous = (u, m)
            #expect((raw.values[k] * 2).rounded() == raw.values[k] * 2, "half stars")
            #expect(raw.timestamps[k] >= SyntheticMovieLens.firstTime && raw.timestamps[k] <= SyntheticMovieLens.lastTime)
        }
        #expect(perUser.count == small.users && perUser.values.allSatisfy { $0 >= 20 })
        #expect(perMovie.count == small.ratedMovies, "every rated movie has a rating")
        #expect(perMovie.keys.allSatisfy { $0 >= 1 && Int($0) <= small.movies })
        #expect(Set(raw.values).count > 5, "half and whole stars both occur")
    }

    @Test func datFormat_parsesWithTheMovieLensReader() throws {
        let data = try SyntheticMovieLens(small)
        let bytes = try ratingsBytes(small, .dat)
        let (raw, _) = try MovieLens.parseRatings(bytes, file: "ratings.dat", scale: 0.5...5, policy: .error, parallel: Parallel(workers: 1))
        #expect(raw.count == small.ratings)
        let (catalogue, report) = try MovieLens.parseMovies(data.moviesFile(.dat), file: "movies.dat", encoding: .auto, policy: .error)
        #expect(report.skippedTotal == 0 && catalogue.count == small.movies)
        #expect(catalogue.titles.contains { $0.contains(", The (") } && catalogue.titles.contains { $0.contains("\"") })
        #expect(catalogue.genres.allSatisfy { !$0.isEmpty })
    }

    @Test func moviesCSV_quotesTitlesWithCommasAndQuotes_asRFC4180_andParses() throws {
        let bytes = try SyntheticMovieLens(small).moviesFile(.csv)
        let (catalogue, report) = try MovieLens.parseMovies(bytes, file: "movies.csv", encoding: .auto, policy: .error)
        #expect(report.skippedTotal == 0 && catalogue.count == small.movies)
        #expect(catalogue.titles.contains("Movie 3, The (1920)") && catalogue.titles.contains { $0.hasPrefix("Say \"Movie\" 7 (") })
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.first == "movieId,title,genres")
        #expect(lines.count == small.movies + 1)
        #expect(lines.contains("3,\"Movie 3, The (1920)\",\(lines[3].split(separator: ",").last!)"))
        #expect(lines.contains { $0.hasPrefix("7,\"Say \"\"Movie\"\" 7 (") })
    }

    /// The 1M preset (small enough for a test) has the tails the generator promises.
    @Test func preset1M_hasMovieLensStatistics() throws {
        let s = try #require(SynthSettings.preset("1M"))
        let summary = try SyntheticMovieLens(s).writeRatings(.csv, parallel: Parallel(workers: 2)) { _ in }
        #expect(summary.ratings == 1_000_209 && summary.ratedMovies == 3706 && summary.minimumPerUser >= 20)
        #expect(summary.maximumPerUser > 1000, "a heavy tail of users")
        #expect(summary.meanRating > 3.3 && summary.meanRating < 3.9)
        #expect(summary.histogram[8] == summary.histogram.max(), "4.0 is the most common rating")
        #expect(summary.halfStarRatings > summary.ratings / 10)
    }

    @Test func settings_thatCannotBeMet_throwConfigErrors() {
        var s = small
        s.ratings = s.users * 19
        #expect(throws: RecError.self) { try SyntheticMovieLens(s) }
        s = small
        s.ratedMovies = s.movies + 1
        #expect(throws: RecError.self) { try SyntheticMovieLens(s) }
        s = small
        s.ratedMovies = 10
        #expect(throws: RecError.self) { try SyntheticMovieLens(s) }
        #expect(SynthSettings.preset("3M") == nil)
    }

    @Test func selectLargest_keepsTheLargestKeys_likeAFullSort() {
        var rng = SplitMix64(seed: 3)
        for trial in 0..<200 {
            let count = 1 + rng.below(300), m = rng.below(count + 2)
            var keys = (0..<count).map { _ in Double(rng.below(50)) } // many ties
            var ranks = (0..<count).map { Int32($0) }
            let expected = Set(zip(keys, ranks).sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }.prefix(m).map(\.1))
            let chosen = selectLargest(m, keys: &keys, ranks: &ranks, count: count)
            #expect(chosen == min(m, count))
            #expect(Set(ranks.prefix(chosen)) == expected, "trial \(trial)")
        }
    }

    @Test func aliasTable_drawsInProportionToTheWeights() {
        let table = AliasTable(weights: [1, 0, 3, 6])
        var rng = SplitMix64(seed: 1)
        var counts = [0, 0, 0, 0]
        for _ in 0..<100_000 { counts[table.draw(&rng)] += 1 }
        #expect(counts[1] == 0)
        for (i, share) in [(0, 0.1), (2, 0.3), (3, 0.6)] { #expect(abs(Double(counts[i]) / 100_000 - share) < 0.01) }
    }
}
