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
        var issues: [LineIssue] = []
        var drop: [Int] = []
        for k in 0..<raw.count where catalogue.index(of: raw.movieIds[k]) == nil {
            issues.append(LineIssue(line: Int(raw.lines[k]), reason: .unknownMovie,
                                    message: "movie id \(raw.movieIds[k]) is not in the movies file"))
            drop.append(k)
        }
        raw.remove(sortedIndices: drop)

        let userIds = Array(Set(raw.userIds)).sorted()
        let itemIds = Array(Set(raw.movieIds)).sorted()
        let userIndex = Dictionary(uniqueKeysWithValues: userIds.enumerated().map { ($1, Int32($0)) })
        let itemIndex = Dictionary(uniqueKeysWithValues: itemIds.enumerated().map { ($1, Int32($0)) })

        // Counting sort by user, keeping file order inside each user.
        let n = raw.count
        let dense = raw.userIds.map { userIndex[$0]! }
        let start = CountingSort.starts(of: dense, buckets: userIds.count)
        var order = [Int](repeating: 0, count: n)
        var fill = start
        for k in 0..<n {
            let u = Int(dense[k])
            order[fill[u]] = k
            fill[u] += 1
        }
        // Each user's entries by movie, then by line: duplicates end up side by side.
        let items = raw.movieIds.map { itemIndex[$0]! }
        order.withUnsafeMutableBufferPointer { buffer in
            let o = SharedPointer(buffer.baseAddress!)
            parallel.forEachChunk(count: userIds.count, chunkSize: 256) { _, users in
                for u in users {
                    var slice = UnsafeMutableBufferPointer(start: o.base + start[u], count: start[u + 1] - start[u])
                    slice.sort { (a: Int, b: Int) -> Bool in
                        let ia = items[a], ib = items[b]
                        return ia != ib ? ia < ib : a < b
                    }
                }
            }
        }
        var keep = [Bool](repeating: true, count: n)
        var keptAt = 0  // position in `order` of the entry kept for the current (user, movie)
        for p in 1..<max(n, 1) {
            let first = order[keptAt], again = order[p]
            guard dense[first] == dense[again], items[first] == items[again] else { keptAt = p; continue }
            keep[p] = false
            issues.append(LineIssue(line: Int(raw.lines[again]), reason: .duplicatePair,
                                    message: "user \(raw.userIds[again]) rated movie \(raw.movieIds[again]) already on line \(raw.lines[first])"))
        }
        issues.sort { $0.line < $1.line }
        for issue in issues {
            if policy == .error { throw RecError(.input, issue.message, file: file, line: issue.line, hint: MovieLens.hintForSkip) }
            report.record(issue, file: file)
        }
        let kept = order.indices.filter { keep[$0] }.map { order[$0] }
        guard !kept.isEmpty else { throw RecError(.input, "no valid ratings", file: file) }
        // A user or movie whose only ratings were duplicates still has at least one kept line,
        // so the id maps stay exact.
        let ratings = Ratings(
            users: kept.map { dense[$0] }, items: kept.map { items[$0] }, values: kept.map { raw.values[$0] },
            timestamps: kept.map { raw.timestamps[$0] }, ids: IdMaps(userIds: userIds, itemIds: itemIds))
        return Result(ratings: ratings, report: report)
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
