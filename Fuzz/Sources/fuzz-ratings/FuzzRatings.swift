import RecKit

/// libFuzzer entry: the bytes as a ratings file and as a movies file, under every policy.
///
/// Any thrown error is a correct answer; a trap, a sanitizer report or a broken invariant
/// (a line neither kept nor counted) is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for policy in [InvalidLinePolicy.error, .skip] {
        if let (ratings, report) = try? MovieLens.parseRatings(
            bytes, file: "fuzz", scale: 1...5, policy: policy, parallel: Parallel(workers: 1)) {
            checkRatings(ratings, report, policy: policy)
        }
        for encoding in ["auto", "latin1", "utf8"] {
            if let (catalogue, report) = try? MovieLens.parseMovies(bytes, file: "fuzz", encoding: encoding, policy: policy) {
                checkMovies(catalogue, report, policy: policy)
            }
        }
    }
    return 0
}

/// Every line read is kept, blank, skipped with a reason, or the one header line.
private func checkRatings(_ r: RawRatings, _ report: LineReport, policy: InvalidLinePolicy) {
    let accounted = r.count + report.blankLines + report.skippedTotal
    precondition(report.linesRead - accounted == 0 || report.linesRead - accounted == 1, "ratings: lines lost")
    precondition(policy == .skip || report.skippedTotal == 0, "ratings: skipped under the error policy")
    precondition(r.userIds.count == r.count && r.movieIds.count == r.count && r.timestamps.count == r.count
        && r.lines.count == r.count, "ratings: columns disagree")
    for k in 0..<r.count {
        precondition(r.userIds[k] > 0 && r.movieIds[k] > 0 && (1...5).contains(r.values[k]), "ratings: bad value kept")
        precondition(k == 0 || r.lines[k] > r.lines[k - 1], "ratings: lines out of order")
    }
}

private func checkMovies(_ c: Catalogue, _ report: LineReport, policy: InvalidLinePolicy) {
    precondition(c.count + report.blankLines + report.skippedTotal == report.linesRead, "movies: lines lost")
    precondition(policy == .skip || report.skippedTotal == 0, "movies: skipped under the error policy")
    precondition(c.titles.count == c.count && c.genres.count == c.count, "movies: columns disagree")
    precondition(zip(c.movieIds, c.movieIds.dropFirst()).allSatisfy { $0 < $1 }, "movies: ids not ascending")
}
