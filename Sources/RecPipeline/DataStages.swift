import Foundation
import Logging
import RecCore
import RecStore
import RecData

/// Raw MovieLens files → `ratings.art` (dense indices, id maps) and `catalogue.art`.
public struct IngestStage: Stage {
    public init() {}
    public var name: String { "ingest" }
    public var executable: String { "rec-ingest" }
    public func inputs(_ c: PipelineConfig) -> [String] { [c.resolve(c.input.ratings), c.resolve(c.input.movies)] }
    public func outputs(_ c: PipelineConfig) -> [String] { [c.paths.ratings, c.paths.catalogue] }
    public func reads(_ c: PipelineConfig) -> [String] { ["input"] }

    public func run(_ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        let policy = c.input.invalidLines
        let moviesPath = c.resolve(c.input.movies), ratingsPath = c.resolve(c.input.ratings)
        // Before reading: a file larger than the memory stops here, not in a failed allocation.
        let memory = try MemoryChecks.checkIngest(c)
        ctx.logger.info("\(memory)")
        let (catalogue, movieReport) = try MovieLens.parseMovies(
            try AtomicFile.read(moviesPath), file: moviesPath, encoding: c.input.moviesEncoding, policy: policy)
        let bytes = try AtomicFile.read(ratingsPath)
        let (raw, parseReport) = try MovieLens.parseRatings(bytes, file: ratingsPath, scale: c.input.ratingScale, policy: policy, parallel: ctx.parallel)
        let result = try Ingest.build(raw, catalogue: catalogue, file: ratingsPath, policy: policy, report: parseReport, parallel: ctx.parallel)
        for (file, report) in [(moviesPath, movieReport), (ratingsPath, result.report)] where report.skippedTotal > 0 {
            ctx.logger.warning("\(file): skipped \(report.skippedTotal) invalid lines: \(report.skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
            for e in report.examples { ctx.logger.warning("  \(e)") }
        }
        let r = result.ratings
        // Recorded in ratings.art and carried along by split and build-matrix, so that train and
        // score clip to the scale of the data they were given.
        let scale = c.input.ratingScale.resolved(for: r.values)
        ctx.logger.info("rating scale \(RatingScale.fixed(lowest: Double(scale.lowerBound), highest: Double(scale.upperBound)))\(c.input.ratingScale == .auto ? " (from the data)" : "")")
        let ratingsLines = try JSONValue.from(result.report)
        let facts: [String: JSONValue] = [
            "ratingScale": RatingScale.meta(scale),
            "ratings": .int(r.count), "users": .int(r.ids.userCount), "items": .int(r.ids.itemCount),
            "movies": .int(catalogue.count), "bytesRead": .int(bytes.count),
            "withTimestamps": .int(r.timestamps.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }),
        ]
        try FileManager.default.createDirectory(atPath: c.paths.artefacts, withIntermediateDirectories: true)
        try catalogue.write(to: c.paths.catalogue, meta: ["source": .string(moviesPath)], parallel: ctx.parallel)
        try r.write(to: c.paths.ratings, kind: .ratings,
                    meta: ["source": .string(ratingsPath), "lines": ratingsLines, "ratingScale": RatingScale.meta(scale)], parallel: ctx.parallel)
        return StageResult(facts, lines: .init(ratings: result.report, movies: movieReport))
    }
}

/// `ratings.art` → `train.art`, `validation.art`, `test.art` (seeded per-user random split).
public struct SplitStage: Stage {
    public init() {}
    public var name: String { "split" }
    public var executable: String { "rec-split" }
    public func inputs(_ c: PipelineConfig) -> [String] { [c.paths.ratings] }
    public func outputs(_ c: PipelineConfig) -> [String] { [c.paths.train, c.paths.validation, c.paths.test] }
    public func reads(_ c: PipelineConfig) -> [String] { ["split"] }

    public func run(_ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        let (ratings, artefact) = try Ratings.read(c.paths.ratings, kind: .ratings, parallel: ctx.parallel)
        let parts = try Splitter.split(ratings, method: c.split.method, seed: c.split.seed,
                                       testRatio: c.split.testRatio, validationRatio: c.split.validationRatio, parallel: ctx.parallel)
        return try SplitStage.write(train: parts.train, validation: parts.validation, test: parts.test, of: ratings.count,
                                    scale: try RatingScale.read(from: artefact), ctx)
    }

    /// Checks the parts against the settings and writes them (also after a sharded split), each
    /// with the rating scale `rec-ingest` recorded.
    static func write(
        train: Ratings, validation: Ratings, test: Ratings, of total: Int, scale: ClosedRange<Float>, _ ctx: StageContext
    ) throws -> StageResult {
        let c = ctx.config
        let parts = (train: train, validation: validation, test: test)
        // Settings that hold out nothing on these data are settings errors, named here rather
        // than as an empty slice failing a metric later.
        guard parts.test.count > 0 else {
            throw RecError(.config, "'split.testRatio' \(c.split.testRatio) holds out no rating of these \(total) ratings (each user's share rounds to 0)",
                           hint: holdOutHint(mostPerUser([parts.train, parts.validation, parts.test]), keep: 1, key: "split.testRatio"))
        }
        guard c.split.validationRatio == 0 || parts.validation.count > 0 else {
            // What is left for validation: each user's ratings after the test.
            let left = mostPerUser([parts.train, parts.validation])
            let hint = left > 1
                ? holdOutHint(left, keep: 1, key: "split.validationRatio", after: " after the test") + ", or set split.validationRatio to 0"
                : "no user has more than 1 rating left after the test, and each user keeps 1 in train, so raising split.validationRatio cannot help: lower split.testRatio (a user needs 3 ratings for a test, a validation and a train one), or set split.validationRatio to 0"
            throw RecError(.config, "'split.validationRatio' \(c.split.validationRatio) holds out no rating for validation (each user's share rounds to 0)",
                           hint: hint)
        }
        let settings = try JSONValue.from(c.split)
        for (part, path, table) in [("train", c.paths.train, parts.train), ("validation", c.paths.validation, parts.validation),
                                    ("test", c.paths.test, parts.test)] {
            try table.write(to: path, kind: .split, meta: ["part": .string(part), "split": settings, "ratingScale": RatingScale.meta(scale)],
                            parallel: ctx.parallel)
        }
        return StageResult(["train": .int(parts.train.count), "validation": .int(parts.validation.count), "test": .int(parts.test.count)])
    }
}

extension SplitStage {
    /// The most ratings one user has in the parts together.
    static func mostPerUser(_ tables: [Ratings]) -> Int {
        var counts: [Int: Int] = [:]
        for table in tables { for u in table.users { counts[Int(u), default: 0] += 1 } }
        return counts.values.max() ?? 0
    }

    /// Advice for a ratio that holds out nothing, right for its cause: a user's last `keep`
    /// ratings always stay in train, so when no user has more than that no ratio can help;
    /// otherwise the ratio must reach 0.5 / (the most ratings of one user) for a share to
    /// round to 1.
    static func holdOutHint(_ most: Int, keep: Int, key: String, after: String = "") -> String {
        guard most > keep else {
            return "no user has more than \(most) rating\(most == 1 ? "" : "s")\(after) to share out, and each user keeps \(keep) in train, so raising \(key) cannot help: the split needs users with at least \(keep + 1) ratings (check input.ratings: is it the whole file?)"
        }
        // 0.5 / most, rounded up to three significant digits so that the figure given works.
        let needed = 0.5 / Double(most)
        let scale = Foundation.pow(10, 2 - (Foundation.log10(needed)).rounded(.down))
        let shown = (needed * scale).rounded(.up) / scale
        return "raise \(key) to at least \(String(format: "%g", shown)) (the user with the most ratings\(after) has \(most))"
    }
}

/// Split parts → `matrices.art`: sparse user × item matrices (CSR) of train, validation and
/// test. Never a dense utility matrix.
public struct BuildMatrixStage: Stage {
    public init() {}
    public var name: String { "build-matrix" }
    public var executable: String { "rec-build-matrix" }
    public func inputs(_ c: PipelineConfig) -> [String] { [c.paths.train, c.paths.validation, c.paths.test] }
    public func outputs(_ c: PipelineConfig) -> [String] { [c.paths.matrices] }
    public func reads(_ c: PipelineConfig) -> [String] { [] }

    public func run(_ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        var parts: [CSRMatrix] = []
        var ids: IdMaps?
        var scale: ClosedRange<Float>?
        var stats: [String: JSONValue] = [:]
        for (part, path) in [("train", c.paths.train), ("validation", c.paths.validation), ("test", c.paths.test)] {
            let (table, artefact) = try Ratings.read(path, kind: .split, parallel: ctx.parallel)
            let partScale = try RatingScale.read(from: artefact)
            if let ids, ids != table.ids || scale != partScale {
                throw RecError(.artefact, "was split from other ratings than \(c.paths.train)", file: path, hint: "rerun rec-split")
            }
            ids = table.ids
            scale = partScale
            parts.append(CSRMatrix(table))
            stats[part] = .int(table.count)
        }
        stats["users"] = .int(ids!.userCount)
        stats["items"] = .int(ids!.itemCount)
        try Matrices(train: parts[0], validation: parts[1], test: parts[2], ids: ids!, scale: scale!)
            .write(to: c.paths.matrices, meta: stats, parallel: ctx.parallel)
        return StageResult(stats)
    }
}

/// The three matrices and id maps, as read back from `matrices.art`.
public struct Matrices: Sendable {
    public var train: CSRMatrix
    public var validation: CSRMatrix
    public var test: CSRMatrix
    public var ids: IdMaps
    /// The rating scale of the data, as `rec-ingest` resolved `input.ratingScale` (`read` takes
    /// it from the artefact): predictions are clipped to it.
    public var scale: ClosedRange<Float> = RatingScale.wholeStars

    /// Every rating known before the test: train and validation. Final ranking models are
    /// fitted on it, and it is what lists are built from and what they exclude.
    public var known: CSRMatrix { validation.nonZeros == 0 ? train : train.union(validation) }

    /// Every rating: what the served models are fitted on and what the served lists exclude.
    public var all: CSRMatrix { known.union(test) }

    /// Writes the matrices and id maps as `matrices.art`, with `meta` (counts, for the log and
    /// the inspector) in its header: the one writer, which `read` reads back.
    public func write(to path: String, meta: [String: JSONValue] = [:], parallel: Parallel) throws {
        var b = ArtefactBuilder(kind: .matrices)
        train.add(to: &b, name: "train")
        validation.add(to: &b, name: "validation")
        test.add(to: &b, name: "test")
        ids.add(to: &b)
        b.meta.merge(meta) { _, new in new }
        b.meta["ratingScale"] = RatingScale.meta(scale)
        try b.write(to: path, parallel: parallel)
    }

    public static func read(_ path: String, parallel: Parallel) throws -> Matrices {
        let a = try Artefact.read(path, expecting: .matrices)
        let ids = try IdMaps.read(from: a)
        let m = Matrices(
            train: try CSRMatrix.read(from: a, name: "train", parallel: parallel),
            validation: try CSRMatrix.read(from: a, name: "validation", parallel: parallel),
            test: try CSRMatrix.read(from: a, name: "test", parallel: parallel), ids: ids, scale: try RatingScale.read(from: a))
        for x in [m.train, m.validation, m.test] where x.rows != ids.userCount || x.cols != ids.itemCount {
            throw RecError(.artefact, "matrix shapes disagree with the id maps", file: path, hint: "rerun rec-build-matrix")
        }
        return m
    }
}
