import RecCore
/// Turns parsed ratings into the dense, sorted table the rest of the pipeline reads.
public enum Ingest {
    public struct Result: Sendable {
        public var ratings: Ratings
        public var report: LineReport
    }

    /// Checks every rating against the catalogue and for duplicate (user, movie) pairs, gives
    /// users and movies dense indices (ascending by id) and sorts by user, then movie.
    ///
    /// - Complexity: O(n log d) for n ratings and d ratings per user; the per-user sorts run in
    ///   parallel by user-chunk.
    public static func build(
        _ rawInput: RawRatings, catalogue: Catalogue, file: String, policy: InvalidLinePolicy,
        report inputReport: LineReport, parallel: Parallel
    ) throws -> Result {
        var raw = rawInput
        var report = inputReport
        var issues = dropUnknownMovies(&raw, catalogue: catalogue)

        let userIds = Array(Set(raw.userIds)).sorted()
        let itemIds = Array(Set(raw.movieIds)).sorted()
        let userIndex = Dictionary(uniqueKeysWithValues: userIds.enumerated().map { ($1, Int32($0)) })
        let itemIndex = Dictionary(uniqueKeysWithValues: itemIds.enumerated().map { ($1, Int32($0)) })
        let users = raw.userIds.map { userIndex[$0]! }
        let items = raw.movieIds.map { itemIndex[$0]! }
        let order = sortedOrder(users: users, userCount: userIds.count, items: items, parallel: parallel)
        let keep = markDuplicates(order, users: users, items: items, raw: raw, issues: &issues)

        issues.sort { $0.line < $1.line }
        try MovieLens.apply(issues, policy: policy, file: file, to: &report)
        let kept = order.indices.filter { keep[$0] }.map { order[$0] }
        guard !kept.isEmpty else { throw RecError(.input, "no valid ratings", file: file) }
        // A user or movie whose only ratings were duplicates still has at least one kept line,
        // so the id maps stay exact.
        let ratings = Ratings(
            users: kept.map { users[$0] }, items: kept.map { items[$0] }, values: kept.map { raw.values[$0] },
            timestamps: kept.map { raw.timestamps[$0] }, ids: IdMaps(userIds: userIds, itemIds: itemIds))
        return Result(ratings: ratings, report: report)
    }

    /// Removes the ratings of movies the catalogue does not have.
    /// - Returns: an issue per removed rating.
    static func dropUnknownMovies(_ raw: inout RawRatings, catalogue: Catalogue) -> [LineIssue] {
        var issues: [LineIssue] = []
        var drop: [Int] = []
        for k in 0..<raw.count where catalogue.index(of: raw.movieIds[k]) == nil {
            issues.append(LineIssue(line: Int(raw.lines[k]), reason: .unknownMovie,
                                    message: "movie id \(raw.movieIds[k]) is not in the movies file"))
            drop.append(k)
        }
        raw.remove(sortedIndices: drop)
        return issues
    }

    /// The ratings' indices ordered by user, then movie, then line: a counting sort by user
    /// (keeping file order), then each user's entries sorted in parallel by user-chunk, so that
    /// duplicates end up side by side.
    static func sortedOrder(users: [Int32], userCount: Int, items: [Int32], parallel: Parallel) -> [Int] {
        let start = CountingSort.starts(of: users, buckets: userCount)
        var order = [Int](repeating: 0, count: users.count)
        var fill = start
        for k in users.indices {
            let u = Int(users[k])
            order[fill[u]] = k
            fill[u] += 1
        }
        order.withUnsafeMutableBufferPointer { buffer in
            let o = SharedPointer(buffer.baseAddress!)
            parallel.forEachChunk(count: userCount, chunkSize: 256) { _, chunk in
                for u in chunk {
                    var slice = UnsafeMutableBufferPointer(start: o.base + start[u], count: start[u + 1] - start[u])
                    slice.sort { (a: Int, b: Int) -> Bool in
                        let ia = items[a], ib = items[b]
                        return ia != ib ? ia < ib : a < b
                    }
                }
            }
        }
        return order
    }

    /// Which positions of `order` to keep: the first line of each (user, movie) pair; each
    /// later one is an issue naming the line it repeats.
    static func markDuplicates(_ order: [Int], users: [Int32], items: [Int32], raw: RawRatings, issues: inout [LineIssue]) -> [Bool] {
        let n = order.count
        var keep = [Bool](repeating: true, count: n)
        var keptAt = 0  // position in `order` of the entry kept for the current (user, movie)
        for p in 1..<max(n, 1) {
            let first = order[keptAt], again = order[p]
            guard users[first] == users[again], items[first] == items[again] else { keptAt = p; continue }
            keep[p] = false
            issues.append(LineIssue(line: Int(raw.lines[again]), reason: .duplicatePair,
                                    message: "user \(raw.userIds[again]) rated movie \(raw.movieIds[again]) already on line \(raw.lines[first])"))
        }
        return keep
    }
}

extension Ingest {
    /// Most lines a ratings file may have: each rating keeps its line number as a 32-bit
    /// integer, and the dense user and movie indices and the matrices' column indices are
    /// 32-bit too, so a count beyond this must stop with an error, not trap in a conversion.
    static let maxLines = Int(Int32.max)

    /// The limit in force: `maxLines`; tests lower it to check the error without writing a
    /// file of 2^31 lines.
    @TaskLocal static var lineLimit = maxLines

    /// - Throws: `RecError(.input)` naming `file`, the count and the limit when `lines` is
    ///   above `lineLimit`.
    static func checkLineCount(_ lines: Int, file: String) throws {
        guard lines <= lineLimit else {
            throw RecError(.input, "has \(lines) lines, more than the \(lineLimit) this program reads (line numbers, user and movie indices are 32-bit)",
                           file: file, hint: "use a part of the ratings of at most \(lineLimit) lines")
        }
    }
}
