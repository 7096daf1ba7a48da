import Testing
@testable import RecCore
@testable import RecData

@Suite struct SplitterTests {
    /// A random ratings table: `users` users with MovieLens ids spread out, 1 to 60 ratings each
    /// (a few with exactly 1 and 2), over 300 items.
    static func table(users: Int = 700, seed: UInt64 = 5) -> Ratings {
        var rng = SplitMix64(seed: seed)
        var ids: [Int32] = []
        var next: Int32 = 0
        for _ in 0..<users { next += Int32(1 + rng.below(5)); ids.append(next) }
        let itemIds = (1...300).map { Int32($0 * 3) }
        var u: [Int32] = [], i: [Int32] = [], v: [Float] = [], t: [Int64] = []
        for user in 0..<users {
            let n = user % 50 == 0 ? 1 + user % 100 / 50 : 1 + rng.below(60)
            var items = Set<Int32>()
            while items.count < n { items.insert(Int32(rng.below(300))) }
            for item in items.sorted() {
                u.append(Int32(user)); i.append(item); v.append(Float(1 + rng.below(5))); t.append(Int64(rng.below(1_000_000)))
            }
        }
        return Ratings(users: u, items: i, values: v, timestamps: t, ids: IdMaps(userIds: ids, itemIds: itemIds))
    }

    /// Each part as user id -> set of "movie id/rating/timestamp".
    static func byUser(_ r: Ratings) -> [Int32: Set<String>] {
        var out: [Int32: Set<String>] = [:]
        for k in 0..<r.count {
            out[r.ids.userIds[Int(r.users[k])], default: []].insert("\(r.ids.itemIds[Int(r.items[k])])/\(r.values[k])/\(r.timestamps[k])")
        }
        return out
    }

    static func split(_ r: Ratings, seed: UInt64 = 42, test: Double = 0.25, validation: Double = 0.1, workers: Int = 1) -> Splitter.Parts {
        try! Splitter.split(r, seed: seed, testRatio: test, validationRatio: validation, parallel: Parallel(workers: workers))
    }

    @Test func split_sameSeed_givesTheSameParts() {
        let r = Self.table()
        let a = Self.split(r), b = Self.split(r)
        #expect(a.train == b.train && a.validation == b.validation && a.test == b.test)
    }

    @Test func split_anotherSeed_givesOtherParts() {
        let r = Self.table()
        let a = Self.split(r, seed: 42), b = Self.split(r, seed: 43)
        #expect(a.test != b.test)
        #expect(a.test.count == b.test.count)  // sizes depend on counts only
    }

    @Test(arguments: [2, 3, 4, 8])
    func split_anyWorkerCount_givesTheSamePartsAsOne(workers: Int) {
        let r = Self.table()
        let one = Self.split(r, workers: 1), many = Self.split(r, workers: workers)
        #expect(one.train == many.train && one.validation == many.validation && one.test == many.test)
    }

    @Test(arguments: [(0.25, 0.0), (0.25, 0.1), (0.2, 0.5), (0.9, 0.9), (0.01, 0.01)])
    func split_partitionsEachUserExactly_withSizesFromCounts(ratios: (Double, Double)) {
        let r = Self.table()
        let parts = Self.split(r, test: ratios.0, validation: ratios.1, workers: 3)
        let all = Self.byUser(r)
        let (train, validation, test) = (Self.byUser(parts.train), Self.byUser(parts.validation), Self.byUser(parts.test))
        #expect(parts.train.count + parts.validation.count + parts.test.count == r.count)
        for (user, ratings) in all {
            let tr = train[user] ?? [], va = validation[user] ?? [], te = test[user] ?? []
            #expect(tr.union(va).union(te) == ratings, "user \(user) lost or gained ratings")
            #expect(tr.isDisjoint(with: va) && tr.isDisjoint(with: te) && va.isDisjoint(with: te), "user \(user) overlaps")
            let (nt, nv) = Splitter.counts(ratings.count, ratios.0, ratios.1)
            #expect(te.count == nt && va.count == nv && tr.count == ratings.count - nt - nv, "user \(user) sizes")
            #expect(tr.count >= 1, "user \(user) has no train rating")
        }
        // Every part is still a valid table: sorted by user, then item, with the same id maps.
        for part in [parts.train, parts.validation, parts.test] {
            #expect(part.ids == r.ids)
            for k in part.users.indices.dropFirst() {
                #expect((part.users[k - 1], part.items[k - 1]) < (part.users[k], part.items[k]))
            }
        }
    }

    @Test func split_userDoesNotDependOnOtherUsers() {
        let full = Self.table(users: 600, seed: 11)
        // Keep every third user, with new dense indices (and fewer items).
        let keepUsers = Set((0..<600).filter { $0 % 3 == 0 }.map { full.ids.userIds[$0] })
        var u: [Int32] = [], i: [Int32] = [], v: [Float] = [], t: [Int64] = []
        let userIds = full.ids.userIds.filter { keepUsers.contains($0) }
        let rows = (0..<full.count).filter { keepUsers.contains(full.ids.userIds[Int(full.users[$0])]) }
        let itemIds = Array(Set(rows.map { full.ids.itemIds[Int(full.items[$0])] })).sorted()
        for k in rows {
            u.append(Int32(userIds.firstIndex(of: full.ids.userIds[Int(full.users[k])])!))
            i.append(Int32(itemIds.firstIndex(of: full.ids.itemIds[Int(full.items[k])])!))
            v.append(full.values[k]); t.append(full.timestamps[k])
        }
        let fewer = Ratings(users: u, items: i, values: v, timestamps: t, ids: IdMaps(userIds: userIds, itemIds: itemIds))

        let a = Self.split(full, workers: 2), b = Self.split(fewer, workers: 1)
        for (pa, pb) in [(a.train, b.train), (a.validation, b.validation), (a.test, b.test)] {
            let ua = Self.byUser(pa), ub = Self.byUser(pb)
            for user in keepUsers { #expect(ua[user] == ub[user], "user \(user) changed") }
        }
    }

    @Test(arguments: [
        (0, 0.25, 0.1, 0, 0), (1, 0.25, 0.1, 0, 0), (2, 0.25, 0.0, 1, 0), (2, 0.9, 0.9, 1, 0), (3, 0.25, 0.5, 1, 1),
        (4, 0.25, 0.0, 1, 0), (20, 0.25, 0.1, 5, 2), (20, 0.25, 0.0, 5, 0), (10, 0.99, 0.5, 9, 0), (7, 0.5, 0.5, 4, 2),
    ])
    func counts_givesRoundedSizesAndLeavesOneForTrain(c: (n: Int, test: Double, validation: Double, t: Int, v: Int)) {
        let (t, v) = Splitter.counts(c.n, c.test, c.validation)
        #expect(t == c.t && v == c.v)
        #expect(c.n == 0 || c.n - t - v >= 1)
    }
}
