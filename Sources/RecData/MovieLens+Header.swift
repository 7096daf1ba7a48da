import RecCore
extension MovieLens {
    /// A column a headed file may hold, and the header names that mean it.
    struct Column: Sendable {
        /// The name messages use (the newest releases' spelling).
        let name: String
        /// Accepted header names, normalised (see `normalisedName`).
        let names: Set<String>
        let required: Bool
    }

    /// The columns of a ratings file, in the order of a file without a header. The names are
    /// those of every MovieLens release's files and READMEs: `userId,movieId,rating,timestamp`
    /// (ML-20M and later), `UserID::MovieID::Rating::Timestamp` (ML-1M, ML-10M), `user id |
    /// item id | rating | timestamp` (ML-100K), and `user,item,rating`.
    static let ratingsColumns = [
        Column(name: "userId", names: ["userid", "user"], required: true),
        Column(name: "movieId", names: ["movieid", "movie", "itemid", "item"], required: true),
        Column(name: "rating", names: ["rating"], required: true),
        Column(name: "timestamp", names: ["timestamp"], required: false),
    ]

    /// The columns of a movies file, in the order of a file without a header:
    /// `movieId,title,genres` (movies.csv), `MovieID::Title::Genres` (ML-1M's README), `movie
    /// id | movie title` (ML-100K's README).
    static let moviesColumns = [
        Column(name: "movieId", names: ["movieid", "movie", "itemid", "item", "id"], required: true),
        Column(name: "title", names: ["title", "movietitle"], required: true),
        Column(name: "genres", names: ["genres", "genre"], required: true),
    ]

    /// Where each column is on a data line.
    struct ColumnMap: Equatable, Sendable {
        /// The field index of each column of `ratingsColumns` / `moviesColumns`, nil when absent.
        var index: [Int?]
        /// How many fields every data line has; nil: a file without a header, whose lines may
        /// have 3 or 4 fields (ratings) or 3 (movies).
        var fieldCount: Int?

        /// The positional map of a file without a header.
        static func positional(_ columns: [Column]) -> ColumnMap {
            ColumnMap(index: columns.indices.map { $0 }, fieldCount: nil)
        }
    }

    /// `userId`, `UserID`, `user_id` and `user id` alike: ASCII lower case, without spaces,
    /// underscores and hyphens around or inside.
    static func normalisedName(_ raw: ArraySlice<UInt8>) -> String {
        String(decoding: raw.compactMap { b -> UInt8? in
            switch b {
            case 32, 95, 45: nil
            case 65...90: b + 32
            default: b
            }
        }, as: UTF8.self)
    }

    /// True when a first line is a header: none of its fields is a number (a data line's ids
    /// are numbers; a malformed data line with numbers in it is reported as data, not dropped).
    static func isHeader(_ fields: [ArraySlice<UInt8>]) -> Bool {
        fields.allSatisfy { f in
            let bytes = Array(f)
            return parseDecimal(bytes, 0..<bytes.count) == nil
        }
    }

    /// Finds each column of `columns` in a header by name.
    ///
    /// - Throws: `RecError(.input)` at the header's line for an empty, unknown or repeated
    ///   name (two names of the same column count as a repeat), or a required column missing.
    ///   Never skipped under `invalidLines: skip`: every line is read through the header.
    static func columnMap(
        header fields: [ArraySlice<UInt8>], columns: [Column], what: String, file: String, line: Int
    ) throws -> ColumnMap {
        let expected = columns.map { $0.required ? $0.name : "optionally \($0.name)" }.joined(separator: ", ")
        let hint = "a \(what) file's header names the columns \(expected), in any order"
        var index = [Int?](repeating: nil, count: columns.count)
        for (k, field) in fields.enumerated() {
            let shown = "'\(display(field))'"
            let name = normalisedName(field)
            guard !name.isEmpty else {
                throw RecError(.input, "column \(k + 1) of the header has no name", file: file, line: line, hint: hint)
            }
            guard let c = columns.firstIndex(where: { $0.names.contains(name) }) else {
                throw RecError(.input, "unknown column \(shown) in the header (column \(k + 1))", file: file, line: line, hint: hint)
            }
            if let earlier = index[c] {
                throw RecError(.input, "the header names the \(columns[c].name) column twice: '\(display(fields[earlier]))' (column \(earlier + 1)) and \(shown) (column \(k + 1))",
                               file: file, line: line, hint: hint)
            }
            index[c] = k
        }
        for (c, column) in columns.enumerated() where column.required && index[c] == nil {
            throw RecError(.input, "the header has no \(column.name) column", file: file, line: line, hint: hint)
        }
        return ColumnMap(index: index, fieldCount: fields.count)
    }
}
