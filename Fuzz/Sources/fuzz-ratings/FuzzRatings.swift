import RecCore
import RecData

/// libFuzzer entry: the bytes as a ratings file and as a movies file, under every policy and
/// every movies encoding.
///
/// Any thrown error is a correct answer; a trap, a sanitizer report or a broken invariant
/// (a line neither kept nor counted, a control or replacement character in a title, a header
/// that reads differently with its columns in another order) is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let replacement = bytes.indices.contains { bytes[$0...].starts(with: [0xEF, 0xBF, 0xBD]) }
    for policy in [InvalidLinePolicy.error, .skip] {
        if let (ratings, report) = try? MovieLens.parseRatings(
            bytes, file: "fuzz", scale: 1...5, policy: policy, parallel: Parallel(workers: 1)) {
            checkRatings(ratings, report, policy: policy)
            if policy == .error, report.headerLines == 1 { checkColumnsReversed(bytes, ratings, report) }
        }
        var decoded: [MoviesEncoding: Catalogue] = [:]
        for encoding in [MoviesEncoding.auto, .latin1, .utf8] {
            if let (catalogue, report) = try? MovieLens.parseMovies(bytes, file: "fuzz", encoding: encoding, policy: policy) {
                checkMovies(catalogue, report, policy: policy, replacementInInput: replacement)
                decoded[encoding] = catalogue
            }
        }
        // `auto` decides an encoding for the whole file: under `error` it reads exactly what
        // that explicit encoding reads.
        if policy == .error, let auto = decoded[.auto] {
            precondition(auto == decoded[.utf8] || auto == decoded[.latin1], "movies: auto read neither as UTF-8 nor as ISO-8859-1")
        }
    }
    return 0
}

/// Every line read is kept, blank, skipped with a reason, or the header.
private func checkRatings(_ r: RawRatings, _ report: LineReport, policy: InvalidLinePolicy) {
    precondition(r.count + report.blankLines + report.skippedTotal + report.headerLines == report.linesRead, "ratings: lines lost")
    precondition(report.headerLines <= 1, "ratings: more than one header")
    precondition(policy == .skip || report.skippedTotal == 0, "ratings: skipped under the error policy")
    precondition(r.userIds.count == r.count && r.movieIds.count == r.count && r.timestamps.count == r.count
        && r.lines.count == r.count, "ratings: columns disagree")
    for k in 0..<r.count {
        precondition(r.userIds[k] > 0 && r.movieIds[k] > 0 && (1...5).contains(r.values[k]), "ratings: bad value kept")
        precondition(k == 0 || r.lines[k] > r.lines[k - 1], "ratings: lines out of order")
    }
}

/// A headed ratings file read under `error` reads the same with the fields of every line (the
/// header's too) in reverse order: columns are found by name.
private func checkColumnsReversed(_ bytes: [UInt8], _ r: RawRatings, _ report: LineReport) {
    let bom: [UInt8] = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? [0xEF, 0xBB, 0xBF] : []
    let lines = bytes.dropFirst(bom.count).split(separator: 10, omittingEmptySubsequences: false).map { Array($0) }
    guard let first = lines.first(where: { !$0.isEmpty && $0 != [13] }) else { return }
    // The parser's choice: `::` if the first line has it, else tabs if it has one, else commas.
    let separator: [UInt8] = first.indices.contains { first[$0...].starts(with: [58, 58]) } ? [58, 58] : first.contains(9) ? [9] : [44]
    var out = bom
    for (k, line) in lines.enumerated() {
        if k > 0 { out.append(10) }
        let cr = line.last == 13
        let content = cr ? Array(line.dropLast()) : line
        if !content.isEmpty { out += split(content, separator).reversed().joined(separator: separator) }
        if cr { out.append(13) }
    }
    guard let (again, againReport) = try? MovieLens.parseRatings(out, file: "fuzz", scale: 1...5, policy: .error, parallel: Parallel(workers: 1)) else {
        preconditionFailure("ratings: the header with its columns reversed is refused")
    }
    precondition(again.userIds == r.userIds && again.movieIds == r.movieIds && again.values == r.values
        && again.timestamps == r.timestamps && again.lines == r.lines && againReport == report, "ratings: columns read by position")
}

private func split(_ line: [UInt8], _ separator: [UInt8]) -> [[UInt8]] {
    var fields: [[UInt8]] = [], start = 0, i = 0
    while i < line.count {
        if line[i...].starts(with: separator) { fields.append(Array(line[start..<i])); i += separator.count; start = i } else { i += 1 }
    }
    fields.append(Array(line[start...]))
    return fields
}

private func checkMovies(_ c: Catalogue, _ report: LineReport, policy: InvalidLinePolicy, replacementInInput: Bool) {
    precondition(c.count + report.blankLines + report.skippedTotal + report.headerLines + report.continuationLines == report.linesRead,
                 "movies: lines lost")
    precondition(policy == .skip || report.skippedTotal == 0, "movies: skipped under the error policy")
    precondition(c.titles.count == c.count && c.genres.count == c.count, "movies: columns disagree")
    precondition(zip(c.movieIds, c.movieIds.dropFirst()).allSatisfy { $0 < $1 }, "movies: ids not ascending")
    for text in c.titles + c.genres.joined() {
        for s in text.unicodeScalars {
            precondition(s.value >= 0x20 && !(0x7F...0x9F).contains(s.value), "movies: a control character kept")
            precondition(s != "\u{FFFD}" || replacementInInput, "movies: a replacement character made up")
        }
    }
}
