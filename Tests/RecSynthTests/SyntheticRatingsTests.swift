import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecSynth

struct SyntheticRatingsTests {
    func settings(_ text: String, seed: UInt64 = 3) throws -> SynthSettings { try SyntheticRatings.settings(parsing: text, seed: seed) }

    @Test func matrix_hasTheShapeAskedFor_withSortedDistinctColumnsAndHalfStarRatings() throws {
        let m = try SyntheticRatings.matrix(try settings("700x400x40000"), parallel: Parallel(workers: 2))
        #expect(m.rows == 700 && m.cols == 400 && m.nonZeros == 40_000)
        for r in 0..<m.rows {
            let columns = m.columns[m.row(r)]
            #expect(columns.count >= 20, "row \(r): \(columns.count) ratings, below 20")
            #expect(zip(columns, columns.dropFirst()).allSatisfy { $0 < $1 }, "row \(r) is not sorted and distinct")
        }
        #expect(m.columns.allSatisfy { $0 >= 0 && $0 < 400 })
        #expect(m.values.allSatisfy { SyntheticRatings.scale.contains($0) && ($0 * 2).rounded() == $0 * 2 })
        #expect(Set(m.values).count == 10, "every half-star value occurs")
        var rated = [Bool](repeating: false, count: m.cols)
        for c in m.columns { rated[Int(c)] = true }
        #expect(rated.allSatisfy { $0 }, "every movie of the shape is rated")
    }

    @Test func matrix_isHeavyTailed() throws {
        // Users: a floor of 20 and a long tail; movies: most ratings on few movies.
        let m = try SyntheticRatings.matrix(try settings("5000x2000x400000", seed: 1), parallel: Parallel(workers: 2))
        let perUser = (0..<m.rows).map { m.row($0).count }.sorted()
        #expect(perUser.first! >= 20)
        #expect(perUser.last! >= 5 * perUser[perUser.count / 2], "heaviest user \(perUser.last!) vs median \(perUser[perUser.count / 2])")
        var perItem = [Int](repeating: 0, count: m.cols)
        for c in m.columns { perItem[Int(c)] += 1 }
        perItem.sort(by: >)
        let top10 = perItem.prefix(m.cols / 10).reduce(0, +)
        // Uniform popularity would give them a tenth.
        #expect(Double(top10) > 0.3 * Double(m.nonZeros), "the top 10 % of movies hold \(top10) of \(m.nonZeros) ratings")
    }

    @Test func matrix_isTheSameForAnyWorkerCount_andDependsOnTheSeed() throws {
        let one = try SyntheticRatings.matrix(try settings("3000x500x150000", seed: 9), parallel: Parallel(workers: 1))
        let three = try SyntheticRatings.matrix(try settings("3000x500x150000", seed: 9), parallel: Parallel(workers: 3))
        let other = try SyntheticRatings.matrix(try settings("3000x500x150000", seed: 10), parallel: Parallel(workers: 1))
        #expect(one == three)
        #expect(one != other)
    }

    @Test(arguments: ["100x50", "100x50x10", "0x50x2000", "100x0x10", "axbxc", "100x50x100000", "100x-50x2000"])
    func settings_whenUnusable_throwAConfigErrorNamingTheOption(text: String) {
        let error = #expect(throws: RecError.self) { try SyntheticRatings.settings(parsing: text, seed: 1) }
        #expect(error?.kind == .config && error?.message.hasPrefix("--synthetic '\(text)'") == true, "\(error?.message ?? "")")
    }

    @Test func settings_parseUsersItemsRatings() throws {
        let s = try settings("162541x59047x25000000", seed: 25)
        #expect(s == SynthSettings(users: 162_541, movies: 59_047, ratedMovies: 59_047, ratings: 25_000_000, seed: 25))
    }
}
