import Testing
@testable import RecCore
@testable import RecModels
@testable import RecPipeline

/// The score stage's pieces: the bias fallback, the predicted ratings beside each list, the
/// ratings lists are built from, and the exclusion of movies nobody rated.
@Suite struct PredictionTests {
    /// 6 users × 7 movies. User 2 has no train rating; movie 4 has none either (user 5 rates
    /// it only in validation).
    static let train = matrix(rows: 6, cols: 7, [
        (0, 0, 5), (0, 1, 3), (0, 6, 4), (1, 0, 2), (1, 2, 4), (1, 3, 5), (3, 1, 1), (3, 5, 4),
        (4, 0, 4), (4, 2, 3), (4, 5, 2), (4, 6, 5), (5, 3, 3),
    ])

    // MARK: WithBiasFallback

    @Test func withBiasFallback_unseenUserOrMovie_predictsTheBiasModel_elseTheBase() {
        let model = Autoencoder(items: 7, hidden: [5], activation: .sigmoid, seed: 4)
        let base = UserAutoencoderRatings(model)
        let bias = UserItemBias.fit(Self.train)
        // Every user asks for several movies; the unseen user and the unseen movie among them.
        let queries = matrix(rows: 6, cols: 7, [
            (0, 2, 0), (0, 4, 0), (1, 1, 0), (1, 4, 0), (1, 5, 0), (2, 0, 0), (2, 3, 0), (2, 4, 0),
            (3, 0, 0), (3, 6, 0), (4, 1, 0), (4, 4, 0), (5, 0, 0), (5, 6, 0),
        ])
        let p = WithBiasFallback(base: base, fallback: bias).predict(train: Self.train, queries: queries, parallel: Parallel(workers: 2))
        let plain = base.predict(train: Self.train, queries: queries, parallel: Parallel(workers: 1))
        var fallbacks = 0
        for (t, (u, i, _)) in entries(queries).enumerated() {
            if u == 2 || i == 4 {
                let expected = bias.predict(user: Int32(u), item: Int32(i))
                #expect(p[t] == expected, "user \(u), movie \(i)")
                #expect(abs(plain[t] - expected) > 1e-3, "the base must differ for the check to mean something")
                fallbacks += 1
            } else {
                #expect(p[t] == plain[t], "user \(u), movie \(i)")
            }
        }
        #expect(fallbacks == 6)
        // The unseen user's prediction is μ + the movie's bias; the unseen movie's, μ + the user's.
        #expect(bias.predict(user: 2, item: 0) == bias.mean + bias.itemBias[0])
        #expect(bias.predict(user: 0, item: 4) == bias.mean + bias.userBias[0])
    }

    // MARK: predictedRatings

    /// Each list slot gets the rating model's prediction for that (user, movie), clipped to the
    /// scale, whatever the order of the list; padding (-1) gets 0.
    @Test func predictedRatings_alignWithTheListSlots_andAreClipped() {
        let ids = denseIds(users: 6, items: 7)
        let m = Matrices(train: Self.train, validation: matrix(rows: 6, cols: 7, []), test: matrix(rows: 6, cols: 7, []), ids: ids)
        // Biases large enough that some predictions leave the scale 1…5.
        let bias = UserItemBias(mean: 3, userBias: [2.5, -0.5, 0, -2.5, 1, 0.25], itemBias: [0.5, -1, 0.75, 1.5, -0.25, 0, 0.1])
        let k = 3
        let items: [Int32] = [6, 2, 4, 5, 1, -1, 0, 3, 6, 2, 4, 0, -1, -1, -1, 4, 1, 2]
        let out = ScoreStage().predictedRatings(bias, m, input: Self.train, items: items, k: k, scale: 1...5, parallel: Parallel(workers: 2))
        #expect(out.count == items.count)
        for u in 0..<6 {
            for r in 0..<k {
                let item = items[u * k + r]
                let expected = item < 0 ? 0 : min(max(bias.predict(user: Int32(u), item: item), 1), 5)
                #expect(out[u * k + r] == expected, "user \(u) rank \(r)")
            }
        }
        #expect(out.contains(5) && out.contains(1), "some predictions were clipped")
    }

    // MARK: Matrices

    @Test func known_isTrainAndValidation() {
        let m = randomSlices(users: 20, items: 11, density: 0.5, shares: (0.6, 0.2), seed: 5)
        let key = { (e: (Int, Int, Float)) in "\(e.0),\(e.1),\(e.2)" }
        #expect(m.validation.nonZeros > 0)
        let known = m.known
        #expect(entries(known).map(key) == entries(matrix(rows: 20, cols: 11, entries(m.train) + entries(m.validation))).map(key))
        #expect(Set(entries(known).map(key)).isDisjoint(with: entries(m.test).map(key)))
        let noValidation = Matrices(train: m.train, validation: matrix(rows: 20, cols: 11, []), test: m.test, ids: m.ids)
        #expect(noValidation.known == m.train)
    }

    @Test func all_isEveryRatingOfTheThreeSlices() {
        let m = randomSlices(users: 20, items: 11, density: 0.5, shares: (0.5, 0.2), seed: 6)
        let key = { (e: (Int, Int, Float)) in "\(e.0),\(e.1),\(e.2)" }
        #expect(m.test.nonZeros > 0)
        let expected = matrix(rows: 20, cols: 11, entries(m.train) + entries(m.validation) + entries(m.test))
        #expect(entries(m.all).map(key) == entries(expected).map(key))
        let noValidation = Matrices(train: m.train, validation: matrix(rows: 20, cols: 11, []), test: m.test, ids: m.ids)
        #expect(entries(noValidation.all).map(key) == entries(matrix(rows: 20, cols: 11, entries(m.train) + entries(m.test))).map(key))
    }

    // MARK: lists

    /// Movies nobody rated are never listed; the lists hold each user's best other movies in
    /// the order of the model's scores. k = 2 leaves every user at least k candidates.
    @Test func rankedLists_leaveOutColdMovies() throws {
        let ease = try EASE.fit(Self.train, lambda: 1, parallel: Parallel(workers: 1))
        let cold = Self.train.emptyColumns()
        #expect(cold == [4])
        let k = 2
        let lists = rankedLists(ease, input: Self.train, excluding: cold, k: k, ids: denseIds(users: 6, items: 7), parallel: Parallel(workers: 2))
        var scores = [Float](repeating: 0, count: 6 * 7)
        scores.withUnsafeMutableBufferPointer { ease.scores(users: 0..<6, input: Self.train, into: $0.baseAddress!) }
        for u in 0..<6 {
            let seen = Set(Self.train.columns[Self.train.row(u)])
            // The reference: the unseen, non-cold movies by score, ties by lower index.
            let expected = (0..<7).map(Int32.init).filter { !seen.contains($0) && $0 != 4 }
                .sorted { (scores[u * 7 + Int($0)], -$0) > (scores[u * 7 + Int($1)], -$1) }.prefix(k)
            #expect(Array(lists.items[(u * k)..<((u + 1) * k)]) == Array(expected), "user \(u)")
        }
    }

    /// A user with fewer than k candidates gets a padded list (-1), as `TopK.all` documents;
    /// the cold movies must not fill it. They do today: `ExcludingColdItems` scores them
    /// -infinity, and `TopK.select` still returns -infinity items when it runs short, so user 4
    /// (candidates 1 and 3) gets [1, 3, 4, -1, …] with the cold movie 4 scored 0.
    @Test func rankedLists_whenAUserHasFewerCandidatesThanK_listsNoColdMovie() throws {
        let ease = try EASE.fit(Self.train, lambda: 1, parallel: Parallel(workers: 1))
        let lists = rankedLists(ease, input: Self.train, excluding: [4], k: 7, ids: denseIds(users: 6, items: 7), parallel: Parallel(workers: 1))
        let user4 = Array(lists.items[28..<35])
        #expect(Set(user4.prefix(2)) == [1, 3])
        #expect(!lists.items.contains(4), "user 4's list: \(user4)")
        #expect(user4.dropFirst(2).allSatisfy { $0 == -1 }, "user 4's list: \(user4)")
    }
}
