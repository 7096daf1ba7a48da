import Testing
@testable import RecCore
@testable import RecStore
@testable import RecData

/// The library pieces one after another, as the stages will call them: parse, build, write,
/// read, split, export. Byte-identical artefacts for 1 and 4 workers at every step.
@Suite struct LibraryFlowTests {
    static let movies: [UInt8] = MoviesCorpus.uItem(1, Array("Toy Story (1995)".utf8), flags: MoviesCorpus.flags([3, 4, 5]))
        + MoviesCorpus.uItem(543, Array("Mis".utf8) + [0xE9] + Array("rables, Les (1995)".utf8), flags: MoviesCorpus.flags([8, 12]))
        + MoviesCorpus.uItem(7, Array("Sabrina, \"the\" remake".utf8), flags: MoviesCorpus.flags([5, 14]))

    static func ratingsText() -> [UInt8] {
        var rng = SplitMix64(seed: 77)
        var lines: [String] = []
        for user in 1...40 {
            for movie in [1, 543, 7] where rng.below(4) != 0 {
                lines.append("\(user)\t\(movie)\t\(1 + rng.below(5))\t\(880_000_000 + rng.below(1_000_000))")
            }
        }
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    @Test(arguments: [2, 4])
    func ingestSplitExport_givesTheSameBytesForAnyWorkerCount(workers: Int) throws {
        let dir = try TempDir()
        let p = Parallel(workers: workers)
        func run(_ tag: String, _ p: Parallel) throws -> [String: [UInt8]] {
            let (catalogue, _) = try MovieLens.parseMovies(Self.movies, file: "u.item", encoding: .auto, policy: .error)
            let (raw, report) = try MovieLens.parseRatings(Self.ratingsText(), file: "u.data", scale: 1...5, policy: .error, parallel: p)
            let built = try Ingest.build(raw, catalogue: catalogue, file: "u.data", policy: .error, report: report, parallel: p)
            try built.ratings.write(to: dir.file("\(tag)/ratings.art"), kind: .ratings, meta: [:], parallel: p)
            try catalogue.write(to: dir.file("\(tag)/catalogue.art"), meta: [:], parallel: p)
            let (ratings, _) = try Ratings.read(dir.file("\(tag)/ratings.art"), kind: .ratings, parallel: p)
            #expect(ratings == built.ratings)
            #expect(try Catalogue.read(dir.file("\(tag)/catalogue.art"), parallel: p) == catalogue)
            let parts = try Splitter.split(ratings, seed: 42, testRatio: 0.25, validationRatio: 0, parallel: p)
            try parts.test.write(to: dir.file("\(tag)/test.art"), kind: .split, meta: [:], parallel: p)
            // Recommend every user the movies in their test part, best rating first.
            let k = 3
            var items = [Int32](repeating: -1, count: ratings.ids.userCount * k)
            var scores = [Float](repeating: 0, count: items.count)
            let offsets = parts.test.userOffsets()
            for u in 0..<ratings.ids.userCount {
                let mine = (offsets[u]..<offsets[u + 1]).sorted { parts.test.values[$0] > parts.test.values[$1] }
                for (r, e) in mine.prefix(k).enumerated() { items[u * k + r] = parts.test.items[e]; scores[u * k + r] = parts.test.values[e] }
            }
            let lists = TopKLists(k: k, items: items, scores: scores, predictedRatings: scores, ids: ratings.ids)
            try lists.write(to: dir.file("\(tag)/topk.art"), meta: [:], parallel: p)
            let (csv, jsonl) = try RecommendationExport.render(TopKLists.read(dir.file("\(tag)/topk.art"), parallel: p).0,
                                                               catalogue: catalogue, parallel: p)
            var out: [String: [UInt8]] = ["csv": csv, "jsonl": jsonl]
            for name in ["ratings", "catalogue", "test", "topk"] { out[name] = try AtomicFile.read(dir.file("\(tag)/\(name).art")) }
            return out
        }
        let reference = try run("one", Parallel(workers: 1))
        let other = try run("many", p)
        #expect(reference == other)
        let csvBytes = try #require(reference["csv"])
        let csv = try #require(ExportTests.parseCSV(csvBytes))
        #expect(csv.dropFirst().contains { $0[4] == "Misérables, Les (1995)" && $0[5] == "Drama|Musical" })
        #expect(csv.dropFirst().contains { $0[4] == "Sabrina, \"the\" remake" })
    }
}
