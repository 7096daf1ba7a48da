import Testing
@testable import RecCore
@testable import RecData

/// Counts from the input that 32-bit fields hold: a ratings file of more lines than the limit
/// stops with an input error naming the file and the limit, never a trapping conversion. The
/// limit is lowered for the test (a real file would need 2^31 lines).
@Suite struct IngestLimitsTests {
    /// Files of random formats, blank lines, headers and sizes (some span several parse
    /// chunks), under limits just below, at and above their line count.
    @Test func parseRatings_refusesExactlyTheFilesWithMoreLinesThanTheLimit() throws {
        var rng = SplitMix64(seed: 2_031)
        for round in 0..<24 {
            let csv = rng.below(2) == 0
            let count = round % 6 == 5 ? 60_000 + rng.below(20_000) : 1 + rng.below(400)
            var lines: [String] = csv ? ["userId,movieId,rating,timestamp"] : []
            for k in 0..<count {
                if rng.below(10) == 0 { lines.append("") }
                lines.append(csv ? "\(k % 97 + 1),\(k + 1),4.0,\(1_000 + k)" : "\(k % 97 + 1)::\(k + 1)::4::\(1_000 + k)")
            }
            let finalEnd = rng.below(2) == 0
            let text = lines.joined(separator: "\n") + (finalEnd ? "\n" : "")
            let total = lines.count
            let limit = max(1, total + [-2, -1, 0, 1, 50][rng.below(5)])
            let file = "ratings-\(round).\(csv ? "csv" : "dat")"
            let parse = {
                try Ingest.$lineLimit.withValue(limit) {
                    try MovieLens.parseRatings(Array(text.utf8), file: file, scale: .auto, policy: .error, parallel: Parallel(workers: 2))
                }
            }
            if total > limit {
                let e = #expect(throws: RecError.self, "\(total) lines, limit \(limit)") { try parse() }
                #expect(e?.kind == .input && e?.file == file)
                #expect(e?.message == "has \(total) lines, more than the \(limit) this program reads (line numbers, user and movie indices are 32-bit)")
            } else {
                let (raw, report) = try parse()
                #expect(raw.count == count && report.linesRead == total, "\(total) lines, limit \(limit)")
                #expect(raw.lines.allSatisfy { $0 >= 1 && Int($0) <= total })
            }
        }
    }

    /// The real limit is Int32's largest value: the line numbers' type.
    @Test func theLimitIsWhatALineNumberHolds() {
        #expect(Ingest.maxLines == Int(Int32.max) && Ingest.lineLimit == Ingest.maxLines)
        #expect(throws: Never.self) { try Ingest.checkLineCount(Int(Int32.max), file: "f") }
        #expect(throws: RecError.self) { try Ingest.checkLineCount(Int(Int32.max) + 1, file: "f") }
    }
}
