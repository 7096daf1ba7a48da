import RecCore
/// Writers of the exported recommendations: the contract other tools load.
///
/// CSV: header `user_id,rank,movie_id,score,title,genres,predicted_rating,because_movie_id,because_title`
/// (the reason columns appended; empty when a recommendation has no reason), one row per
/// (user, rank), sorted by user id then rank, RFC 4180 (fields with a comma, quote, CR or LF
/// are quoted, quotes doubled), UTF-8 without byte order mark, LF line ends, genres joined by
/// `|`; a text cell that a spreadsheet would take for a formula is written as `CSVCells` says.
/// JSON lines (every text exact): one object per user,
/// `{"user_id":1,"recommendations":[{"rank":1,"movie_id":2905,"score":4.71,...}]}`.
///
/// Hand-written byte writers: the Swift CSV packages available here are 30–100x slower or
/// cannot quote newlines (measured: CSV.swift 2.5.2 writes RFC 4180 at about 0.6 MB/s;
/// SwiftCSV 0.10.0 has no writer), and the exact bytes are part of the contract.
public enum RecommendationExport {
    public static let csvHeader = "user_id,rank,movie_id,score,title,genres,predicted_rating,because_movie_id,because_title\n"

    /// Formats both files, in parallel by user-chunk, concatenated in user order.
    /// - Parameters:
    ///   - cells: how the CSV's text cells are written (the `export.csvCells` setting).
    ///   - because: each (user, rank)'s reason, a dense item or −1 (`Explanations.because`);
    ///     nil: no reasons (empty cells, JSON null).
    public static func render(
        _ lists: TopKLists, catalogue: Catalogue, parallel: Parallel, cells: CSVCells = .spreadsheetSafe, because: [Int32]? = nil
    ) throws -> (csv: [UInt8], jsonl: [UInt8]) {
        precondition(because == nil || because?.count == lists.items.count)
        // Dense item -> catalogue row.
        var row = [Int](repeating: -1, count: lists.ids.itemCount)
        for (i, id) in lists.ids.itemIds.enumerated() {
            guard let r = catalogue.index(of: id) else {
                throw RecError(.artefact, "movie \(id) is missing from the catalogue", hint: "rerun rec-ingest")
            }
            row[i] = r
        }
        let titlesCSV = catalogue.titles.map { csvField($0, cells: cells) }
        let genresCSV = catalogue.genres.map { csvField($0.joined(separator: "|"), cells: cells) }
        let titlesJSON = catalogue.titles.map { jsonString($0) }
        let genresJSON = catalogue.genres.map { "[" + $0.map(jsonString).joined(separator: ",") + "]" }
        let k = lists.k
        let parts: [([UInt8], [UInt8])] = parallel.mapChunks(count: lists.ids.userCount, chunkSize: 512) { users in
            var csv: [UInt8] = [], json: [UInt8] = []
            csv.reserveCapacity(users.count * k * 80)
            json.reserveCapacity(users.count * k * 110)
            for u in users {
                let userId = String(lists.ids.userIds[u])
                json.append(contentsOf: "{\"user_id\":\(userId),\"recommendations\":[".utf8)
                var first = true
                for r in 0..<k {
                    let item = Int(lists.items[u * k + r])
                    if item < 0 { continue }
                    let c = row[item]
                    let movie = String(lists.ids.itemIds[item])
                    let score = fixed(Double(lists.scores[u * k + r]), digits: 4)
                    let predicted = fixed(Double(lists.predictedRatings[u * k + r]), digits: 3)
                    let reason = Int(because?[u * k + r] ?? -1)
                    let reasonId = reason < 0 ? "" : String(lists.ids.itemIds[reason])
                    csv.append(contentsOf: "\(userId),\(r + 1),\(movie),\(score),\(titlesCSV[c]),\(genresCSV[c]),\(predicted),\(reasonId),\(reason < 0 ? "" : titlesCSV[row[reason]])\n".utf8)
                    if !first { json.append(44) }
                    first = false
                    json.append(contentsOf: "{\"rank\":\(r + 1),\"movie_id\":\(movie),\"score\":\(score),\"title\":\(titlesJSON[c]),\"genres\":\(genresJSON[c]),\"predicted_rating\":\(predicted),\"because_movie_id\":\(reason < 0 ? "null" : reasonId),\"because_title\":\(reason < 0 ? "null" : titlesJSON[row[reason]])}".utf8)
                }
                json.append(contentsOf: "]}\n".utf8)
            }
            return (csv, json)
        }
        var csv = Array(csvHeader.utf8)
        var jsonl: [UInt8] = []
        for (c, j) in parts {
            csv += c
            jsonl += j
        }
        return (csv, jsonl)
    }

    /// One RFC 4180 text field, the one writer of every text cell of the project's CSV:
    /// quoted only when it must be (a comma, quote, CR or LF; quotes doubled), and with
    /// `.spreadsheetSafe` a cell that starts with a formula character (`formulaStarts`) is
    /// quoted with `'` before its text.
    ///
    /// Works on UTF-8 bytes, never on `Character`s: a quote or an `=` followed by a combining
    /// mark is one grapheme cluster that compares unequal to `"` or `=`, yet a CSV reader or a
    /// spreadsheet sees the ASCII character. Numbers (ids, scores) are not text cells and are
    /// written as they are.
    public static func csvField(_ s: String, cells: CSVCells = .spreadsheetSafe) -> String {
        let formula = cells == .spreadsheetSafe && s.utf8.first.map(formulaStarts.contains) == true
        guard formula || s.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) else { return s }
        var out: [UInt8] = [34]
        out.reserveCapacity(s.utf8.count + 3)
        if formula { out.append(39) }
        for byte in s.utf8 {
            if byte == 34 { out.append(34) }
            out.append(byte)
        }
        out.append(34)
        return String(decoding: out, as: UTF8.self)
    }

    /// The first characters that make a spreadsheet read a cell as a formula (OWASP's list):
    /// `=`, `+`, `-`, `@`, TAB and CR.
    static let formulaStarts: Set<UInt8> = [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13]

    /// A JSON string literal: quotes, backslashes and control characters escaped, everything
    /// else as UTF-8.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `x` with exactly `digits` decimals, rounded half away from zero; locale-free and the
    /// same on every platform.
    public static func fixed(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return "0" }
        // Beyond Int's range the whole part cannot be an Int; such a Double has no fraction anyway.
        guard abs(x) < 1e18 else { return String(x) }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(x) * scale).rounded(.toNearestOrAwayFromZero)
        let whole = Int(scaled / scale)
        let fraction = Int(scaled - Double(whole) * scale)
        let f = String(fraction)
        let sign = x < 0 && scaled != 0 ? "-" : ""
        return sign + String(whole) + (digits > 0 ? "." + String(repeating: "0", count: digits - f.count) + f : "")
    }
}
