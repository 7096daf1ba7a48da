import RecCore
import RecStore
/// Original MovieLens ids of the dense indices used inside the pipeline.
public struct IdMaps: Sendable, Equatable {
    /// `userIds[u]` is the MovieLens id of dense user `u`; ascending.
    public var userIds: [Int32]
    /// `itemIds[i]` is the MovieLens movie id of dense item `i`; ascending.
    public var itemIds: [Int32]

    public init(userIds: [Int32], itemIds: [Int32]) {
        self.userIds = userIds
        self.itemIds = itemIds
    }

    public var userCount: Int { userIds.count }
    public var itemCount: Int { itemIds.count }
}

extension IdMaps {
    /// Adds the maps to an artefact, as the sections `userIds` and `itemIds`.
    public func add(to b: inout ArtefactBuilder) {
        b.add("userIds", userIds)
        b.add("itemIds", itemIds)
    }

    /// The maps `add(to:)` wrote into `a`.
    public static func read(from a: Artefact, parallel: Parallel = Parallel(workers: 1)) throws -> IdMaps {
        IdMaps(userIds: try a.array("userIds", parallel: parallel), itemIds: try a.array("itemIds", parallel: parallel))
    }
}

/// A ratings table with dense indices, sorted by user then item.
public struct Ratings: Sendable, Equatable {
    public var users: [Int32]
    public var items: [Int32]
    public var values: [Float]
    /// Unix seconds, or -1 where the input line had no timestamp.
    public var timestamps: [Int64]
    public var ids: IdMaps

    public init(users: [Int32], items: [Int32], values: [Float], timestamps: [Int64], ids: IdMaps) {
        precondition(users.count == items.count && items.count == values.count && values.count == timestamps.count)
        self.users = users
        self.items = items
        self.values = values
        self.timestamps = timestamps
        self.ids = ids
    }

    public var count: Int { values.count }

    /// `rowStart[u] ..< rowStart[u+1]` are user `u`'s entries.
    public func userOffsets() -> [Int] {
        CountingSort.starts(of: users, buckets: ids.userCount)
    }

    /// Writes the table as an artefact of `kind` (`ratings` from ingest, `split` for parts).
    public func write(to path: String, kind: ArtefactKind, meta: [String: JSONValue], parallel: Parallel) throws {
        var b = ArtefactBuilder(kind: kind)
        b.meta = meta
        b.meta["users"] = .int(ids.userCount)
        b.meta["items"] = .int(ids.itemCount)
        b.meta["ratings"] = .int(count)
        b.add("user", users)
        b.add("item", items)
        b.add("rating", values)
        b.add("timestamp", timestamps)
        ids.add(to: &b)
        try b.write(to: path, parallel: parallel)
    }

    /// Reads a table written by `write`, checking that every index is in range.
    public static func read(_ path: String, kind: ArtefactKind, parallel: Parallel) throws -> (Ratings, Artefact) {
        let a = try Artefact.read(path, expecting: kind)
        let ids = try IdMaps.read(from: a, parallel: parallel)
        let users: [Int32] = try a.array("user", parallel: parallel), items: [Int32] = try a.array("item", parallel: parallel)
        let values: [Float] = try a.array("rating", parallel: parallel)
        let timestamps: [Int64] = try a.array("timestamp", parallel: parallel)
        // Checked before `Ratings.init`, whose precondition would trap on the same mismatch.
        guard users.count == values.count, items.count == values.count, timestamps.count == values.count else {
            throw RecError(.artefact, "columns have different lengths", file: path, hint: "rerun \(kind.producer)")
        }
        guard ids.userCount <= Ingest.maxLines, ids.itemCount <= Ingest.maxLines else {
            throw RecError(.artefact, "holds more users or movies than 32-bit indices reach", file: path, hint: "rerun \(kind.producer)")
        }
        let r = Ratings(users: users, items: items, values: values, timestamps: timestamps, ids: ids)
        let nu = Int32(ids.userCount), ni = Int32(ids.itemCount)
        var previous: (Int32, Int32) = (-1, -1)
        for k in 0..<r.count {
            let u = r.users[k], i = r.items[k]
            guard u >= 0, u < nu, i >= 0, i < ni, (u, i) > previous else {
                throw RecError(.artefact, "entry \(k) is out of range or out of order", file: path, hint: "rerun \(kind.producer)")
            }
            previous = (u, i)
        }
        return (r, a)
    }
}

/// A sparse matrix in compressed sparse row form. Never densified.
public struct CSRMatrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    /// Row `r` is `rowStart[r] ..< rowStart[r+1]` in `columns` / `values`.
    public var rowStart: [Int]
    public var columns: [Int32]
    public var values: [Float]

    public init(rows: Int, cols: Int, rowStart: [Int], columns: [Int32], values: [Float]) {
        precondition(rowStart.count == rows + 1 && columns.count == values.count && rowStart.last == columns.count)
        self.rows = rows
        self.cols = cols
        self.rowStart = rowStart
        self.columns = columns
        self.values = values
    }

    /// From a ratings table (already sorted by user, then item).
    public init(_ r: Ratings) {
        self.init(rows: r.ids.userCount, cols: r.ids.itemCount, rowStart: r.userOffsets(), columns: r.items, values: r.values)
    }

    public var nonZeros: Int { values.count }

    @inlinable public func row(_ r: Int) -> Range<Int> { rowStart[r]..<rowStart[r + 1] }

    /// The transpose (columns become rows), with each new row sorted by its column.
    public func transposed() -> CSRMatrix { transposedWithPositions().matrix }

    /// The transpose, and for each of its entries the index of the same entry in `self`
    /// (to map values computed on the transpose back).
    public func transposedWithPositions() -> (matrix: CSRMatrix, positions: [Int]) {
        let start = CountingSort.starts(of: columns, buckets: cols)
        var fill = start
        var newColumns = [Int32](repeating: 0, count: nonZeros)
        var newValues = [Float](repeating: 0, count: nonZeros)
        var positions = [Int](repeating: 0, count: nonZeros)
        for r in 0..<rows {
            for k in row(r) {
                let c = Int(columns[k])
                newColumns[fill[c]] = Int32(r)
                newValues[fill[c]] = values[k]
                positions[fill[c]] = k
                fill[c] += 1
            }
        }
        return (CSRMatrix(rows: cols, cols: rows, rowStart: start, columns: newColumns, values: newValues), positions)
    }

    /// Columns without a single entry (movies nobody rated), ascending.
    public func emptyColumns() -> [Int] {
        var seen = [Bool](repeating: false, count: cols)
        for c in columns { seen[Int(c)] = true }
        return seen.indices.filter { !seen[$0] }
    }

    /// Entries per column: each movie's number of ratings.
    public func columnCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: cols)
        for c in columns { counts[Int(c)] += 1 }
        return counts
    }

    /// The columns ordered by their entries, most first (ties: the lower index), movies
    /// nobody rated last: the popularity order of the baselines, the short head and the
    /// blocked solver's cover.
    public static func byCount(_ counts: [Int]) -> [Int] {
        counts.indices.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
    }

    /// Rows `range` as a matrix of their own (same columns).
    public func rows(_ range: Range<Int>) -> CSRMatrix {
        let lo = rowStart[range.lowerBound], hi = rowStart[range.upperBound]
        return CSRMatrix(rows: range.count, cols: cols, rowStart: rowStart[range.lowerBound...range.upperBound].map { $0 - lo },
                         columns: Array(columns[lo..<hi]), values: Array(values[lo..<hi]))
    }

    /// The rows at `picked` (in that order) as a matrix of their own (same columns).
    public func rows(at picked: [Int]) -> CSRMatrix {
        var start = [0]
        start.reserveCapacity(picked.count + 1)
        for r in picked { start.append(start.last! + row(r).count) }
        var newColumns: [Int32] = [], newValues: [Float] = []
        newColumns.reserveCapacity(start.last!)
        newValues.reserveCapacity(start.last!)
        for r in picked {
            newColumns += columns[row(r)]
            newValues += values[row(r)]
        }
        return CSRMatrix(rows: picked.count, cols: cols, rowStart: start, columns: newColumns, values: newValues)
    }

    /// The entries of both matrices (same shape, no entry in both), rows sorted by column.
    public func union(_ other: CSRMatrix) -> CSRMatrix {
        precondition(rows == other.rows && cols == other.cols)
        var start = [0], newColumns: [Int32] = [], newValues: [Float] = []
        newColumns.reserveCapacity(nonZeros + other.nonZeros)
        newValues.reserveCapacity(nonZeros + other.nonZeros)
        for r in 0..<rows {
            var a = row(r).lowerBound, b = other.row(r).lowerBound
            let aEnd = row(r).upperBound, bEnd = other.row(r).upperBound
            while a < aEnd || b < bEnd {
                if b >= bEnd || (a < aEnd && columns[a] <= other.columns[b]) {
                    newColumns.append(columns[a]); newValues.append(values[a]); a += 1
                } else {
                    newColumns.append(other.columns[b]); newValues.append(other.values[b]); b += 1
                }
            }
            start.append(newColumns.count)
        }
        return CSRMatrix(rows: rows, cols: cols, rowStart: start, columns: newColumns, values: newValues)
    }

    /// Adds the matrix to an artefact under `name.rowStart`, `name.columns`, `name.values`.
    public func add(to b: inout ArtefactBuilder, name: String) {
        b.add(name + ".rowStart", rowStart.map { Int64($0) })
        b.add(name + ".columns", columns)
        b.add(name + ".values", values)
        b.meta[name + ".shape"] = .array([.int(rows), .int(cols), .int(nonZeros)])
    }

    /// Reads a matrix written by `add(to:name:)`, checking its structure.
    public static func read(from a: Artefact, name: String, parallel: Parallel) throws -> CSRMatrix {
        guard case .array(let shape)? = a.meta(name + ".shape"), shape.count == 3,
              let rows = shape[0].intValue, let cols = shape[1].intValue else {
            throw RecError(.artefact, "has no shape for matrix '\(name)'", file: a.path, hint: "rerun \(a.kind.producer)")
        }
        let start = try a.array(name + ".rowStart", as: Int64.self, parallel: parallel).map { Int($0) }
        let columns = try a.array(name + ".columns", as: Int32.self, parallel: parallel)
        let values = try a.array(name + ".values", as: Float.self, parallel: parallel)
        let bad = RecError(.artefact, "matrix '\(name)' is malformed", file: a.path, hint: "rerun \(a.kind.producer)")
        // `start.count - 1`, not `rows + 1`: a shape of Int.max rows must throw, not overflow.
        guard rows >= 0, cols >= 0, start.count - 1 == rows, start.first == 0, start.last == columns.count, columns.count == values.count else { throw bad }
        for r in 0..<rows where start[r] > start[r + 1] { throw bad }
        for c in columns where c < 0 || Int(c) >= cols { throw bad }
        return CSRMatrix(rows: rows, cols: cols, rowStart: start, columns: columns, values: values)
    }
}

extension RandomAccessCollection where Element: Comparable {
    /// The index of `x` in this ascending collection, by binary search; nil when absent.
    /// - Complexity: O(log n).
    @inlinable
    public func sortedIndex(of x: Element) -> Index? {
        var lo = startIndex, n = count
        while n > 0 {
            let half = n / 2, mid = index(lo, offsetBy: half)
            if self[mid] < x { lo = index(after: mid); n -= half + 1 } else { n = half }
        }
        return lo != endIndex && self[lo] == x ? lo : nil
    }
}
