import Foundation
import RecCore

/// The size and seed of a synthetic MovieLens-shaped data set.
public struct SynthSettings: Sendable, Equatable {
    public var users: Int
    /// Movies in the catalogue (movies file).
    public var movies: Int
    /// Movies with at least one rating (each of them gets at least one); at most `movies`.
    public var ratedMovies: Int
    public var ratings: Int
    public var seed: UInt64
    /// Ratings every user has at least (MovieLens keeps users with 20 or more).
    var minimumPerUser = 20

    public init(users: Int, movies: Int, ratedMovies: Int, ratings: Int, seed: UInt64 = 1) {
        self.users = users
        self.movies = movies
        self.ratedMovies = ratedMovies
        self.ratings = ratings
        self.seed = seed
    }

    /// The shapes of the MovieLens releases the benchmark imitates: `1M`, `5M` (the 5M data of
    /// issue 11: 32,500 users × 20,000 rated movies) and `25M` (ML-25M: 162,541 users, 59,047
    /// rated movies of 62,423, 25,000,095 ratings).
    public static func preset(_ name: String, seed: UInt64 = 1) -> SynthSettings? {
        switch name.uppercased() {
        case "1M": SynthSettings(users: 6040, movies: 3883, ratedMovies: 3706, ratings: 1_000_209, seed: seed)
        case "5M": SynthSettings(users: 32_500, movies: 21_000, ratedMovies: 20_000, ratings: 5_000_000, seed: seed)
        case "25M": SynthSettings(users: 162_541, movies: 62_423, ratedMovies: 59_047, ratings: 25_000_095, seed: seed)
        default: nil
        }
    }

    /// The most ratings one user can get: 60 % of the rated movies (ML-25M's heaviest user
    /// rated 54 % of them), and never fewer than the minimum.
    var maximumPerUser: Int { max(minimumPerUser, ratedMovies * 3 / 5) }

    /// Checks that the sizes can be met.
    public func validate() throws {
        func bad(_ what: String) -> RecError { RecError(.config, what) }
        guard users >= 1, movies >= 1, ratedMovies >= 1 else { throw bad("users, movies and rated movies must be at least 1") }
        guard ratedMovies <= movies else { throw bad("rated movies (\(ratedMovies)) cannot exceed movies (\(movies))") }
        guard users <= Int(Int32.max), movies <= Int(Int32.max) / 2 else { throw bad("users and movies must fit 32-bit ids") }
        guard ratedMovies >= minimumPerUser else {
            throw bad("at least \(minimumPerUser) rated movies are needed for every user to rate \(minimumPerUser)")
        }
        guard ratedMovies <= users * (minimumPerUser / 2) else {
            throw bad("too few users: each rated movie is first given to a user, at most \(minimumPerUser / 2) per user")
        }
        let (low, o1) = users.multipliedReportingOverflow(by: minimumPerUser)
        let (high, o2) = users.multipliedReportingOverflow(by: maximumPerUser)
        guard !o1, !o2, ratings >= max(low, ratedMovies), ratings <= high else {
            throw bad("ratings must be between \(max(low, ratedMovies)) (\(minimumPerUser) per user, one per rated movie) and \(high) (\(maximumPerUser) per user) for these sizes")
        }
    }
}

/// A MovieLens-shaped data set drawn from a seeded model, written in the MovieLens formats.
///
/// What it reproduces (measured by `Summary` on the 25M preset):
/// - popularity: the movie of popularity rank r is drawn with weight (r + 201)^-2.3, which
///   gives ML-25M's head (the most rated movie is rated by about 45 % of the users) and its
///   long tail (half the rated movies have fewer than 10 ratings); every rated movie has at
///   least one rating;
/// - users: 20 + a log-normal count (σ = 1.3) scaled to the total, so a few users have more
///   than 5,000 ratings and every user has at least 20;
/// - structure for a ranking model to find: movies fall in clusters of about 250 (each with
///   one to three genres); every user has two to six favourite clusters and draws most of
///   their movies from them, the rest from the global popularity, and rates favourites higher;
/// - ratings: user bias + movie quality + affinity + noise, on half stars for 60 % of the
///   users and whole stars for the others (mean about 3.5, 4.0 the most common);
/// - timestamps: each user rates within an active period between 1995 and 2019.
///
/// Everything depends only on the settings: each user's draws come from a generator of their
/// own (seed, user), so users are generated in parallel chunks with the same bytes for any
/// number of workers.
public struct SyntheticMovieLens: Sendable {
    public let settings: SynthSettings
    /// Ratings per user.
    public let counts: [Int]
    /// Catalogue index (0-based; movie id = index + 1) of each popularity rank; the first
    /// `ratedMovies` are the rated movies.
    let catalogueOfRank: [Int32]
    /// Cluster of each popularity rank.
    let clusterOfRank: [Int32]
    /// Quality (added to every rating) of each popularity rank.
    let qualityOfRank: [Float]
    /// Genres of each cluster.
    let clusterGenres: [[String]]
    /// Popularity ranks of each cluster, and their draw tables.
    let clusterTables: [AliasTable]
    let clusterMembers: [[Int32]]
    let global: AliasTable
    /// Draw weight of each popularity rank, their sum, and the sum per cluster.
    let weight: [Double]
    let globalMass: Double
    let clusterMass: [Double]
    /// Movies (popularity ranks) each user is given before drawing, so every rated movie has a
    /// rating: user u's are `forced[forcedStart[u] ..< forcedStart[u + 1]]`.
    let forcedStart: [Int]
    let forced: [Int32]

    /// The genres of MovieLens, with the share of clusters that lead with each.
    static let genres: [(String, Double)] = [
        ("Drama", 0.22), ("Comedy", 0.16), ("Thriller", 0.07), ("Romance", 0.07), ("Action", 0.07), ("Horror", 0.06),
        ("Documentary", 0.05), ("Crime", 0.05), ("Adventure", 0.04), ("Sci-Fi", 0.04), ("Children", 0.03),
        ("Animation", 0.03), ("Mystery", 0.03), ("Fantasy", 0.02), ("War", 0.02), ("Western", 0.02), ("Musical", 0.01),
        ("Film-Noir", 0.01),
    ]

    /// Draw weight of popularity rank r (0-based): (r + 201)^-2.3. Tuned on the 25M preset
    /// so that half the rated movies get fewer than 10 ratings and the most rated one about
    /// 74,000 (ML-25M: 81,491), with each user rating a movie at most once.
    static func popularity(rank r: Int) -> Double { pow(Double(r) + 201, -2.3) }

    /// First and last timestamp of ML-25M (1995-01-09, 2019-11-21).
    static let firstTime: Int64 = 789_652_009, lastTime: Int64 = 1_574_327_703

    public init(_ settings: SynthSettings) throws {
        try settings.validate()
        self.settings = settings
        let s = settings
        var rng = SplitMix64(seed: s.seed, stream: 0x5EED_0001)

        // Movies: a random catalogue index per popularity rank; clusters of about 250.
        var catalogue = (0..<Int32(s.movies)).map { $0 }
        rng.shuffle(&catalogue)
        catalogueOfRank = catalogue
        let clusterCount = max(8, s.ratedMovies / 250)
        clusterOfRank = (0..<s.ratedMovies).map { _ in Int32(rng.below(clusterCount)) }
        qualityOfRank = (0..<s.ratedMovies).map { r in
            Float(0.45 * rng.gaussian() + 0.35 * (0.5 - Double(r) / Double(s.ratedMovies)))
        }
        let genreTable = AliasTable(weights: SyntheticMovieLens.genres.map(\.1))
        clusterGenres = (0..<clusterCount).map { _ in
            var g: [String] = []
            for _ in 0..<(1 + rng.below(3)) {
                let name = SyntheticMovieLens.genres[genreTable.draw(&rng)].0
                if !g.contains(name) { g.append(name) }
            }
            return g.sorted()
        }
        let weights = (0..<s.ratedMovies).map { r in SyntheticMovieLens.popularity(rank: r) }
        global = AliasTable(weights: weights)
        weight = weights
        globalMass = weights.reduce(0, +)
        var mass = [Double](repeating: 0, count: clusterCount)
        for r in 0..<s.ratedMovies { mass[Int(clusterOfRank[r])] += weights[r] }
        clusterMass = mass
        var members = [[Int32]](repeating: [], count: clusterCount)
        for r in 0..<s.ratedMovies { members[Int(clusterOfRank[r])].append(Int32(r)) }
        clusterMembers = members
        clusterTables = members.map { m in AliasTable(weights: m.map { weights[Int($0)] }) }

        // Ratings per user: 20 + log-normal, scaled to the total, capped.
        counts = SyntheticMovieLens.userCounts(s, &rng)

        // Every rated movie goes to one user first (at most half of any user's ratings).
        var forcedCount = [Int](repeating: 0, count: s.users)
        var owner = [Int32](repeating: 0, count: s.ratedMovies)
        for r in 0..<s.ratedMovies {
            var u = rng.below(s.users)
            while forcedCount[u] * 2 >= counts[u] { u = (u + 1) % s.users }
            forcedCount[u] += 1
            owner[r] = Int32(u)
        }
        var start = [Int](repeating: 0, count: s.users + 1)
        for u in 0..<s.users { start[u + 1] = start[u] + forcedCount[u] }
        var fill = start
        var list = [Int32](repeating: 0, count: s.ratedMovies)
        for r in 0..<s.ratedMovies {
            let u = Int(owner[r])
            list[fill[u]] = Int32(r)
            fill[u] += 1
        }
        forcedStart = start
        forced = list
    }

    /// 20 + exp(N(μ, 1.3²)) per user, scaled so the counts add up to `ratings` exactly and
    /// capped at `maximumPerUser`.
    static func userCounts(_ s: SynthSettings, _ rng: inout SplitMix64) -> [Int] {
        let raw = (0..<s.users).map { _ in exp(1.3 * rng.gaussian()) }
        let extra = Double(s.ratings - s.users * s.minimumPerUser)
        let total = raw.reduce(0, +)
        let cap = s.maximumPerUser
        var counts = raw.map { min(cap, s.minimumPerUser + Int(($0 / total * extra).rounded(.down))) }
        var missing = s.ratings - counts.reduce(0, +)
        // The remainder (and whatever the cap cut) one at a time, heaviest users first, so the
        // tail keeps its shape; validate() guarantees there is room.
        let order = (0..<s.users).sorted { raw[$0] != raw[$1] ? raw[$0] > raw[$1] : $0 < $1 }
        while missing > 0 {
            var placed = false
            for u in order where missing > 0 && counts[u] < cap {
                counts[u] += 1
                missing -= 1
                placed = true
            }
            if !placed { break }
        }
        return counts
    }

    /// One user's ratings: (catalogue index, rating in half stars 1…10, timestamp), sorted by
    /// catalogue index. Every draw comes from the user's own generator, in a fixed order: the
    /// taste, the movies, then each movie's rating and time.
    /// - Parameter scratch: buffers reused from user to user (one per thread).
    func userRatings(_ u: Int, scratch: inout Scratch) -> [(movie: Int32, halfStars: UInt8, time: Int64)] {
        var rng = SplitMix64(seed: settings.seed, stream: UInt64(u) &+ 0x1000)
        let n = counts[u]
        let t = taste(ratings: n, &rng)
        let picks = drawMovies(u, count: n, taste: t, &rng, scratch: &scratch)
        var out = picks.map { r -> (movie: Int32, halfStars: UInt8, time: Int64) in
            scratch.taken[Int(r)] = false
            let liked = t.likes(clusterOfRank[Int(r)])
            let value = 3.52 + t.bias + Double(qualityOfRank[Int(r)]) + (liked ? 0.5 : -0.2) + 0.75 * rng.gaussian()
            let stars = t.halfStars ? min(10, max(1, (value * 2).rounded())) : 2 * min(5, max(1, value.rounded()))
            let time = Int64(t.begin + rng.unitDouble() * t.span)
            return (catalogueOfRank[Int(r)], UInt8(stars), time)
        }
        out.sort { $0.movie < $1.movie }
        return out
    }

    /// What one user likes, how they rate and when.
    struct Taste {
        /// Two to six favourite clusters, whose movies are 1 + `tilt` times as likely to be
        /// drawn as the others (tilt 15…60); movies in them otherwise keep the global
        /// popularity, so every movie's expected count stays proportional to its weight.
        var favourites: [Int32]
        var tilt: Double
        /// The favourite clusters' masses, summed in `favourites` order.
        var cumulative: [Double]
        /// The chance that a draw comes from a favourite cluster.
        var towardsFavourites: Double
        /// Added to every rating.
        var bias: Double
        /// Rates in half stars (else whole stars).
        var halfStars: Bool
        /// The user's ratings fall in [begin, begin + span) seconds.
        var begin: Double
        var span: Double

        func likes(_ cluster: Int32) -> Bool { favourites.contains(cluster) }
    }

    /// The user's taste, the first draws of their generator.
    func taste(ratings n: Int, _ rng: inout SplitMix64) -> Taste {
        var favourites: [Int32] = []
        for _ in 0..<(2 + rng.below(5)) {
            let c = Int32(rng.below(clusterTables.count))
            if !favourites.contains(c) { favourites.append(c) }
        }
        let tilt = 15 + 45 * rng.unitDouble()
        var cumulative: [Double] = []
        for c in favourites { cumulative.append((cumulative.last ?? 0) + clusterMass[Int(c)]) }
        let favouriteMass = tilt * cumulative[cumulative.count - 1]
        let bias = 0.4 * rng.gaussian()
        let halfStars = rng.unitDouble() < 0.6
        let span = Double(min(SyntheticMovieLens.lastTime - SyntheticMovieLens.firstTime - 3600,
                              Int64(3600 + Double(n) * 86_400 * 2 * (0.1 + 0.9 * rng.unitDouble()))))
        let begin = Double(SyntheticMovieLens.firstTime)
            + rng.unitDouble() * (Double(SyntheticMovieLens.lastTime - SyntheticMovieLens.firstTime) - span)
        return Taste(favourites: favourites, tilt: tilt, cumulative: cumulative,
                     towardsFavourites: favouriteMass / (globalMass + favouriteMass), bias: bias, halfStars: halfStars, begin: begin, span: span)
    }

    /// The user's `n` movies by popularity rank, marked in `scratch.taken`: the ones every
    /// movie needs from someone (`forced`) first, then draws from the taste's mixture, and
    /// when draws keep hitting taken movies the rest exactly without replacement.
    func drawMovies(_ u: Int, count n: Int, taste t: Taste, _ rng: inout SplitMix64, scratch: inout Scratch) -> [Int32] {
        var picks: [Int32] = []
        picks.reserveCapacity(n)
        for r in forced[forcedStart[u]..<forcedStart[u + 1]] where !scratch.taken[Int(r)] {
            scratch.taken[Int(r)] = true
            picks.append(r)
        }
        drawing: while picks.count < n {
            var r = -1
            for _ in 0..<24 {
                let candidate: Int
                if rng.unitDouble() < t.towardsFavourites {
                    let x = rng.unitDouble() * t.cumulative[t.cumulative.count - 1]
                    let c = Int(t.favourites[t.cumulative.firstIndex { x < $0 } ?? (t.favourites.count - 1)])
                    candidate = Int(clusterMembers[c][clusterTables[c].draw(&rng)])
                } else {
                    candidate = global.draw(&rng)
                }
                if !scratch.taken[candidate] { r = candidate; break }
            }
            guard r >= 0 else {
                // A heavy user who has taken most of the mass of their distribution: the rest
                // drawn exactly without replacement (Efraimidis–Spirakis keys log(u) / w over
                // the movies not taken; the largest keys win).
                var count = 0
                for candidate in 0..<settings.ratedMovies where !scratch.taken[candidate] {
                    let w = weight[candidate] * (t.likes(clusterOfRank[candidate]) ? 1 + t.tilt : 1)
                    scratch.keys[count] = log(1 - rng.unitDouble()) / w
                    scratch.ranks[count] = Int32(candidate)
                    count += 1
                }
                let chosen = selectLargest(n - picks.count, keys: &scratch.keys, ranks: &scratch.ranks, count: count)
                for k in 0..<chosen {
                    scratch.taken[Int(scratch.ranks[k])] = true
                    picks.append(scratch.ranks[k])
                }
                break drawing
            }
            scratch.taken[r] = true
            picks.append(Int32(r))
        }
        return picks
    }

    /// Buffers one thread reuses from user to user: allocating them per user costs more in
    /// page faults than the drawing itself.
    struct Scratch {
        /// Flags by popularity rank; all false between users.
        var taken: [Bool]
        var keys: [Double]
        var ranks: [Int32]

        public init(ratedMovies: Int) {
            taken = [Bool](repeating: false, count: ratedMovies)
            keys = [Double](repeating: 0, count: ratedMovies)
            ranks = [Int32](repeating: 0, count: ratedMovies)
        }
    }

    /// The output formats.
    public enum Format: String, Sendable, CaseIterable {
        /// ML-25M: `ratings.csv` (`userId,movieId,rating,timestamp` with a header, `4.0`,
        /// `3.5`) and `movies.csv` (`movieId,title,genres`, RFC 4180 quoting).
        case csv
        /// ML-1M: `ratings.dat` (`UserID::MovieID::Rating::Timestamp`, half stars as `3.5`)
        /// and `movies.dat` (`MovieID::Title (year)::Genre|Genre`).
        case dat
    }

    /// Movie id, title and genres of catalogue index `c`.
    func title(_ c: Int) -> String {
        let id = c + 1
        let year = 1920 + c * 100 / max(settings.movies, 1)
        let title: String
        switch id % 13 {
        case 3: title = "Movie \(id), The (\(year))"
        case 7: title = "Say \"Movie\" \(id) (\(year))"
        default: title = "Synthetic Movie \(id) (\(year))"
        }
        return title
    }

    /// Genres by catalogue index (unrated movies get a cluster too, by their rank).
    var genresOfCatalogue: [[String]] {
        var g = [[String]](repeating: [], count: settings.movies)
        for (rank, c) in catalogueOfRank.enumerated() {
            g[Int(c)] = clusterGenres[rank < settings.ratedMovies ? Int(clusterOfRank[rank]) : rank % clusterGenres.count]
        }
        return g
    }

    /// The movies file.
    public func moviesFile(_ format: Format) -> [UInt8] {
        var out = format == .csv ? "movieId,title,genres\n" : ""
        let genres = genresOfCatalogue
        for c in 0..<settings.movies {
            let id = c + 1
            let title = title(c)
            let g = genres[c].isEmpty ? "(no genres listed)" : genres[c].joined(separator: "|")
            if format == .csv {
                let quoted = title.contains(",") || title.contains("\"") ? "\"" + title.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : title
                out += "\(id),\(quoted),\(g)\n"
            } else {
                out += "\(id)::\(title)::\(g)\n"
            }
        }
        return Array(out.utf8)
    }

    /// Writes the ratings file, users in order, generated `usersPerBlock` at a time in
    /// parallel chunks and appended to `sink` in order (so memory holds one block).
    /// - Returns: what was written, for the summary.
    public func writeRatings(_ format: Format, parallel: Parallel, usersPerBlock: Int = 8192,
                             sink: ([UInt8]) throws -> Void) rethrows -> Summary {
        if format == .csv { try sink(Array("userId,movieId,rating,timestamp\n".utf8)) }
        var summary = Summary(settings: settings)
        let separator: [UInt8] = format == .csv ? [44] : [58, 58]
        for first in stride(from: 0, to: settings.users, by: usersPerBlock) {
            let block = first..<min(first + usersPerBlock, settings.users)
            let parts: [(bytes: [UInt8], summary: Summary)] = parallel.mapChunks(count: block.count, chunkSize: 256) { chunk in
                var scratch = Scratch(ratedMovies: settings.ratedMovies)
                var bytes: [UInt8] = []
                bytes.reserveCapacity(chunk.reduce(0) { $0 + counts[first + $1] } * 28)
                var part = Summary(settings: settings, empty: true)
                for local in chunk {
                    let u = first + local
                    let rows = userRatings(u, scratch: &scratch)
                    part.add(user: u, rows)
                    for row in rows {
                        appendDecimal(&bytes, u + 1)
                        bytes += separator
                        appendDecimal(&bytes, Int(row.movie) + 1)
                        bytes += separator
                        appendDecimal(&bytes, Int(row.halfStars / 2))
                        bytes += row.halfStars % 2 == 0 ? [46, 48] : [46, 53] // ".0" / ".5"
                        bytes += separator
                        appendDecimal(&bytes, Int(row.time))
                        bytes.append(10)
                    }
                }
                return (bytes, part)
            }
            for part in parts {
                try sink(part.bytes)
                summary.merge(part.summary)
            }
        }
        return summary
    }

    /// What a generated file holds, for the log and for tests.
    public struct Summary: Sendable {
        public let settings: SynthSettings
        public var ratings = 0
        var minimumPerUser = Int.max
        var maximumPerUser = 0
        var usersAbove5000 = 0
        var halfStarRatings = 0
        /// Count of ratings by half stars (index 1…10).
        var histogram = [Int](repeating: 0, count: 11)
        var perMovie: [Int]
        var ratingSum = 0.0

        init(settings: SynthSettings, empty: Bool = false) {
            self.settings = settings
            perMovie = [Int](repeating: 0, count: settings.movies)
        }

        mutating func add(user: Int, _ rows: [(movie: Int32, halfStars: UInt8, time: Int64)]) {
            ratings += rows.count
            minimumPerUser = min(minimumPerUser, rows.count)
            maximumPerUser = max(maximumPerUser, rows.count)
            if rows.count > 5000 { usersAbove5000 += 1 }
            for r in rows {
                histogram[Int(r.halfStars)] += 1
                if r.halfStars % 2 == 1 { halfStarRatings += 1 }
                perMovie[Int(r.movie)] += 1
                ratingSum += Double(r.halfStars) / 2
            }
        }

        mutating func merge(_ o: Summary) {
            ratings += o.ratings
            minimumPerUser = min(minimumPerUser, o.minimumPerUser)
            maximumPerUser = max(maximumPerUser, o.maximumPerUser)
            usersAbove5000 += o.usersAbove5000
            halfStarRatings += o.halfStarRatings
            for i in histogram.indices { histogram[i] += o.histogram[i] }
            for i in perMovie.indices { perMovie[i] += o.perMovie[i] }
            ratingSum += o.ratingSum
        }

        public var ratedMovies: Int { perMovie.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } }
        /// Share of the rated movies with fewer than 10 ratings.
        var shareOfRatedMoviesBelow10: Double {
            Double(perMovie.reduce(0) { $0 + ($1 > 0 && $1 < 10 ? 1 : 0) }) / Double(max(ratedMovies, 1))
        }
        var mostRatedMovie: Int { perMovie.max() ?? 0 }
        public var meanRating: Double { ratingSum / Double(max(ratings, 1)) }

        public var text: String {
            let shares = (1...10).map { String(format: "%.1f:%.1f%%", Double($0) / 2, 100 * Double(histogram[$0]) / Double(max(ratings, 1))) }
            return """
                users \(settings.users), rated movies \(ratedMovies) of \(settings.movies), ratings \(ratings)
                ratings per user: min \(minimumPerUser), max \(maximumPerUser), users above 5,000: \(usersAbove5000)
                rated movies below 10 ratings: \(String(format: "%.1f", 100 * shareOfRatedMoviesBelow10)) %, most rated movie: \(mostRatedMovie) ratings
                mean rating \(String(format: "%.3f", meanRating)); \(shares.joined(separator: " "))
                """
        }
    }
}

/// Moves the `m` largest keys (ties: lower rank first) of `keys[0..<count]` to the front, in
/// no particular order, carrying `ranks` along (quickselect with a median-of-three pivot and
/// Lomuto partitions: linear on average, and deterministic).
/// - Returns: min(m, count).
func selectLargest(_ m: Int, keys: inout [Double], ranks: inout [Int32], count: Int) -> Int {
    guard m < count else { return count }
    @inline(__always) func before(_ i: Int, _ j: Int) -> Bool {
        keys[i] != keys[j] ? keys[i] > keys[j] : ranks[i] < ranks[j]
    }
    @inline(__always) func swap(_ i: Int, _ j: Int) { keys.swapAt(i, j); ranks.swapAt(i, j) }
    var lo = 0, hi = count - 1
    while lo < hi {
        let mid = lo + (hi - lo) / 2
        if before(mid, lo) { swap(mid, lo) }
        if before(hi, lo) { swap(hi, lo) }
        if before(hi, mid) { swap(hi, mid) }
        // The median of the three as the pivot, at hi; [lo, store) ends up before it.
        swap(mid, hi)
        var store = lo
        for i in lo..<hi where before(i, hi) {
            swap(i, store)
            store += 1
        }
        swap(store, hi)
        if store == m - 1 || store == m { return m }
        if store < m { lo = store + 1 } else { hi = store - 1 }
    }
    return m
}

/// Appends the decimal digits of a non-negative integer.
@inline(__always)
func appendDecimal(_ out: inout [UInt8], _ value: Int) {
    var v = value
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var n = 0
    withUnsafeMutableBytes(of: &digits) { d in
        repeat {
            d[n] = UInt8(48 + v % 10)
            v /= 10
            n += 1
        } while v > 0
        for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
    }
}

/// Walker's alias method (Vose's construction): draws index i with probability
/// weights[i] / Σ weights in O(1).
struct AliasTable: Sendable {
    let probability: [Double]
    let alias: [Int32]

    init(weights: [Double]) {
        let n = weights.count
        let total = weights.reduce(0, +)
        var scaled = weights.map { $0 * Double(n) / total }
        var p = [Double](repeating: 1, count: n), a = [Int32](repeating: 0, count: n)
        var small: [Int] = [], large: [Int] = []
        for i in 0..<n { if scaled[i] < 1 { small.append(i) } else { large.append(i) } }
        while let s = small.popLast() {
            guard let l = large.popLast() else { p[s] = 1; continue }
            p[s] = scaled[s]
            a[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 { small.append(l) } else { large.append(l) }
        }
        for l in large { p[l] = 1 }
        probability = p
        alias = a
    }

    func draw(_ rng: inout SplitMix64) -> Int {
        let i = rng.below(probability.count)
        return rng.unitDouble() < probability[i] ? i : Int(alias[i])
    }
}

extension SplitMix64 {
    /// Uniform Double in [0, 1) with 53 random bits.
    @inlinable mutating func unitDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Standard normal (Box–Muller, one of the pair).
    mutating func gaussian() -> Double {
        let u1 = 1 - unitDouble(), u2 = unitDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
