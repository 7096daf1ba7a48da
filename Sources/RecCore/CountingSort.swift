/// The first half of a counting sort, shared by every place that groups entries by a small
/// integer key (a user, an item): where each key's group starts once the entries are grouped.
package enum CountingSort {
    /// `start` with `buckets + 1` values: the entries of key `b` go to `start[b] ..< start[b + 1]`.
    /// Filling each group in entry order (a copy of `start` as the write cursors) makes the sort
    /// stable.
    /// - Precondition: every key is in `0 ..< buckets`.
    package static func starts(of keys: [Int32], buckets: Int) -> [Int] {
        var start = [Int](repeating: 0, count: buckets + 1)
        for key in keys { start[Int(key) + 1] += 1 }
        for b in 0..<buckets { start[b + 1] += start[b] }
        return start
    }
}
