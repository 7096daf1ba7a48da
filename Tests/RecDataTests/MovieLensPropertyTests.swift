import Testing
@testable import RecCore
@testable import RecData

/// Random valid files parse back to what was written; big files give the same result and the
/// same line numbers whatever the worker count.
@Suite struct MovieLensPropertyTests {
    /// A random valid ratings file in one of the accepted layouts, and the rows it must give.
    static func randomFile(seed: UInt64) -> (bytes: [UInt8], rows: [Row], blank: Int) {
        var rng = SplitMix64(seed: seed)
        let layout = rng.below(4)  // 0 '::', 1 tab, 2 comma with header, 3 comma without header
        let separator = ["::", "\t", ",", ","][layout]
        let crlf = rng.below(2) == 0
        let end = crlf ? "\r\n" : "\n"
        var text = ""
        var line: Int32 = 0
        var rows: [Row] = []
        var blank = 0
        // With a header, every line has its columns, in the header's order; without one, a
        // line may have 3 or 4 fields.
        let headerTimestamps = rng.below(2) == 0
        var order = headerTimestamps ? [0, 1, 2, 3] : [0, 1, 2]
        rng.shuffle(&order)
        if layout == 2 {
            text += order.map { ["userId", "movieId", "rating", "timestamp"][$0] }.joined(separator: ",") + end
            line += 1
        }
        let count = 1 + rng.below(300)
        for k in 0..<count {
            while rng.below(10) == 0 { text += end; line += 1; blank += 1 }
            line += 1
            let user = Int32(1 + rng.below(rng.below(2) == 0 ? 6040 : Int(Int32.max)))
            let movie = Int32(1 + rng.below(rng.below(2) == 0 ? 3952 : Int(Int32.max)))
            let halves = 2 + rng.below(9)  // 1.0 ... 5.0 in halves
            let rating = Float(halves) / 2
            let ratingText = halves % 2 == 1 ? "\(halves / 2).5" : (rng.below(2) == 0 ? "\(halves / 2)" : "\(halves / 2).0")
            var fields = ["\(user)", "\(movie)", ratingText]
            var timestamp: Int64 = -1
            if layout == 2 ? headerTimestamps : rng.below(3) != 0 {
                timestamp = Int64(rng.below(2_000_000_000))
                fields.append("\(timestamp)")
            }
            text += (layout == 2 ? order.map { fields[$0] } : fields).joined(separator: separator)
            // The last line may lack its line end.
            if k < count - 1 || rng.below(2) == 0 { text += end }
            rows.append(Row(user, movie, rating, timestamp, line: line))
        }
        let bom: [UInt8] = rng.below(4) == 0 ? [0xEF, 0xBB, 0xBF] : []
        return (bom + Array(text.utf8), rows, blank)
    }

    @Test(arguments: 1...40)
    func parseRatings_randomValidFile_roundTrips(seed: Int) throws {
        let (bytes, rows, blank) = Self.randomFile(seed: UInt64(seed))
        for workers in [1, 3] {
            for policy in [InvalidLinePolicy.error, .skip] {
                let (raw, report) = try MovieLens.parseRatings(bytes, file: "random", scale: 1...5, policy: policy,
                                                               parallel: Parallel(workers: workers))
                #expect(Row.rows(raw) == rows)
                #expect(report.skipped.isEmpty)
                #expect(report.blankLines == blank)
            }
        }
    }

    // MARK: - Files of several 1 MiB chunks

    /// About 5 MiB of `user::movie::rating::timestamp` lines; line k (1-based) is user k/20+1.
    static func bigFile(lines: Int = 220_000, crlf: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(lines * 26)
        let end: [UInt8] = crlf ? [13, 10] : [10]
        for k in 1...lines {
            out += Array("\(k / 20 + 1)::\(k % 3952 + 1)::\(k % 5 + 1)::\(978_300_000 + k)".utf8)
            out += end
        }
        return out
    }

    /// Built once: several tests read them.
    static let bigLF = bigFile(), bigCRLF = bigFile(crlf: true)

    /// Start offsets of the lines of `bytes`, 0-based line index to byte offset.
    static func lineStarts(_ bytes: [UInt8]) -> [Int] {
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == 10 && i + 1 < bytes.count { starts.append(i + 1) }
        return starts
    }

    /// Makes line `n` (1-based) bad without changing its length (so chunks stay where they
    /// are): its rating digit becomes 'x'.
    static func spoil(_ bytes: inout [UInt8], line n: Int, starts: [Int]) {
        var i = starts[n - 1], colons = 0
        while colons < 4 { if bytes[i] == 58 { colons += 1 }; i += 1 }
        bytes[i] = UInt8(ascii: "x")
    }

    @Test(arguments: [false, true])
    func parseRatings_bigFile_oneOrFourWorkers_giveTheSameResult(crlf: Bool) throws {
        var bytes = crlf ? Self.bigCRLF : Self.bigLF
        let starts = Self.lineStarts(bytes)
        let chunks = MovieLens.lineChunks(bytes, from: 0, target: 1 << 20)
        try #require(chunks.count >= 4)
        // The line on each side of every chunk boundary, one inside a later chunk, the last line.
        let firstLineOfChunk = chunks.map { c in starts.firstIndex(of: c.lowerBound)! + 1 }
        var bad = Set<Int>()
        for f in firstLineOfChunk.dropFirst() { bad.insert(f - 1); bad.insert(f) }
        bad.insert(firstLineOfChunk[3] + 1234)
        bad.insert(starts.count)
        for n in bad { Self.spoil(&bytes, line: n, starts: starts) }

        let one = try MovieLens.parseRatings(bytes, file: "big", scale: 1...5, policy: .skip, parallel: Parallel(workers: 1))
        let four = try MovieLens.parseRatings(bytes, file: "big", scale: 1...5, policy: .skip, parallel: Parallel(workers: 4))
        #expect(Row.rows(one.0) == Row.rows(four.0))
        #expect(one.1 == four.1)
        #expect(one.1.skipped == ["bad-rating": bad.count])
        #expect(one.1.linesRead == starts.count)
        #expect(one.0.count == starts.count - bad.count)
        // Every kept row is on the line it came from; the examples name the right lines.
        let lines = Set(one.0.lines.map(Int.init))
        #expect(lines.isDisjoint(with: bad) && lines.count + bad.count == starts.count)
        for k in stride(from: 0, to: one.0.count, by: 997) {
            let n = Int(one.0.lines[k])
            #expect(one.0.timestamps[k] == Int64(978_300_000 + n), "row \(k) says line \(n)")
            #expect(one.0.userIds[k] == Int32(n / 20 + 1))
        }
        let exampleLines = one.1.examples.map { Int($0.split(separator: ":")[1])! }
        #expect(exampleLines == Array(bad.sorted().prefix(10)))
    }

    @Test(arguments: [1, 4])
    func parseRatings_badLineInALaterChunk_underError_namesItsExactLine(workers: Int) throws {
        var bytes = Self.bigLF
        let starts = Self.lineStarts(bytes)
        let chunks = MovieLens.lineChunks(bytes, from: 0, target: 1 << 20)
        try #require(chunks.count >= 4)
        let target = starts.firstIndex(of: chunks[3].lowerBound)! + 1 + 777
        Self.spoil(&bytes, line: target, starts: starts)
        let e = try #require(recError {
            try MovieLens.parseRatings(bytes, file: "big.dat", scale: 1...5, policy: .error, parallel: Parallel(workers: workers))
        })
        #expect(e.kind == .input && e.file == "big.dat")
        #expect(e.line == target)
        #expect(e.description.hasPrefix("big.dat:\(target): rating '"))
    }

    @Test func parseRatings_bigCommaFileWithHeader_countsTheHeaderInLineNumbers() throws {
        var text = "userId,movieId,rating,timestamp\n"
        let lines = 120_000
        for k in 1...lines { text += "\(k / 10 + 1),\(k % 3000 + 1),\(k % 5 + 1).0,\(1_000_000 + k)\n" }
        var bytes = Array(text.utf8)
        let starts = Self.lineStarts(bytes)
        try #require(MovieLens.lineChunks(bytes, from: 0, target: 1 << 20).count >= 3)
        // File line 100_001 is data line 100_000; break its movie id without changing its length.
        let n = 100_001
        let comma = bytes[starts[n - 1]...].firstIndex(of: 44)!
        bytes[comma + 1] = UInt8(ascii: "m")
        for workers in [1, 4] {
            let e = try #require(recError {
                try MovieLens.parseRatings(bytes, file: "ratings.csv", scale: 1...5, policy: .error, parallel: Parallel(workers: workers))
            })
            #expect(e.line == n && e.message.hasPrefix("movie id 'm"))
            let (raw, _) = try MovieLens.parseRatings(bytes, file: "ratings.csv", scale: 1...5, policy: .skip, parallel: Parallel(workers: workers))
            #expect(raw.count == lines - 1)
            #expect(raw.lines.first == 2 && raw.lines.last == Int32(lines + 1))
            #expect(raw.timestamps.last == Int64(1_000_000 + lines))
        }
    }
}
