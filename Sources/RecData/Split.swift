import RecCore
/// A seeded random split of every user's ratings into train, validation and test.
///
/// Each user's ratings are shuffled by a generator seeded from (seed, MovieLens user id), so a
/// user's split does not depend on the other users, on chunking or on the number of workers.
/// Per user: `round(n · testRatio)` go to test, then `round(rest · validationRatio)` to
/// validation, always leaving at least one rating in train. Every user is in train; users with
/// enough ratings are in test too (every ML-1M user: each has at least 20).
///
/// The temporal split holds out each user's latest ratings instead: sorted by timestamp (ties
/// by movie index), the last `round(n · testRatio)` are the test, the `round(rest ·
/// validationRatio)` before them the validation, the earlier ones train — trained on the past,
/// judged on what came after.
public enum Splitter {
    public enum Method: String, SettingChoice {
        case random, temporal

        public static var quotesNames: Bool { true }
    }

    public struct Parts: Sendable {
        public var train: Ratings
        public var validation: Ratings
        public var test: Ratings
    }

    /// - Throws: `RecError(.config)` for a temporal split of ratings without timestamps.
    public static func split(
        _ r: Ratings, method: Method = .random, seed: UInt64, testRatio: Double, validationRatio: Double, parallel: Parallel
    ) throws -> Parts {
        if method == .temporal, let missing = r.timestamps.firstIndex(where: { $0 < 0 }) {
            throw RecError(.config, "'split.method' temporal needs a timestamp on every rating; user \(r.ids.userIds[Int(r.users[missing])]) rated movie \(r.ids.itemIds[Int(r.items[missing])]) without one (\(r.timestamps.reduce(0) { $0 + ($1 < 0 ? 1 : 0) }) of \(r.count) ratings have none)",
                           hint: "use 'split.method': \"random\", or a ratings file with timestamps (4-field ML-1M, ML-100K u.data, the CSV releases)")
        }
        let offsets = r.userOffsets()
        struct Chunk { var parts: [[Int]] = [[], [], []] }
        let chunks: [Chunk] = parallel.mapChunks(count: r.ids.userCount, chunkSize: 256) { users in
            var c = Chunk()
            for u in users {
                let entries = Array(offsets[u]..<offsets[u + 1])
                let (test, validation) = counts(entries.count, testRatio, validationRatio)
                var shuffled = entries
                switch method {
                case .random:
                    var rng = SplitMix64(seed: seed, stream: UInt64(UInt32(bitPattern: r.ids.userIds[u])))
                    rng.shuffle(&shuffled)
                case .temporal:
                    // Latest first, so that the same slicing as the random split takes them.
                    shuffled.sort { r.timestamps[$0] != r.timestamps[$1] ? r.timestamps[$0] > r.timestamps[$1] : r.items[$0] > r.items[$1] }
                }
                c.parts[2] += shuffled[0..<test].sorted()
                c.parts[1] += shuffled[test..<(test + validation)].sorted()
                c.parts[0] += shuffled[(test + validation)...].sorted()
            }
            return c
        }
        func take(_ p: Int) -> Ratings {
            let idx = chunks.flatMap { $0.parts[p] }
            return Ratings(users: idx.map { r.users[$0] }, items: idx.map { r.items[$0] }, values: idx.map { r.values[$0] },
                           timestamps: idx.map { r.timestamps[$0] }, ids: r.ids)
        }
        return Parts(train: take(0), validation: take(1), test: take(2))
    }

    /// (test, validation) sizes for a user with `n` ratings; train keeps at least one.
    public static func counts(_ n: Int, _ testRatio: Double, _ validationRatio: Double) -> (Int, Int) {
        let test = min(Int((Double(n) * testRatio).rounded()), max(n - 1, 0))
        let validation = min(Int((Double(n - test) * validationRatio).rounded()), max(n - test - 1, 0))
        return (test, validation)
    }
}
