import Foundation
import RecCore
import RecStore
import RecModels

/// The memory plans of the stages that hold models (`rec-train`, `rec-score`), from the data's
/// size and the settings, checked before they allocate: at the start of each of those stages,
/// and by the runner as soon as `ratings.art` exists, before any later stage runs.
enum MemoryChecks {
    /// The sizes a plan depends on.
    struct DataSize: Sendable, Equatable {
        var users: Int
        /// Movies with a rating (the matrices' columns).
        var items: Int
        var ratings: Int

        /// From `ratings.art`'s header alone (its meta holds the three counts).
        public static func read(ratingsArtefact path: String) throws -> DataSize {
            let header = try Artefact.readHeader(path, expecting: .ratings)
            guard let users = header.meta["users"]?.intValue, let items = header.meta["items"]?.intValue,
                  let ratings = header.meta["ratings"]?.intValue, users >= 0, items >= 0, ratings >= 0 else {
                throw RecError(.artefact, "has no user, movie or rating count", file: path, hint: "rerun rec-ingest")
            }
            return DataSize(users: users, items: items, ratings: ratings)
        }
    }

    /// The ratings as the stages hold them: the three matrices (4-byte column and value per
    /// rating, an 8-byte row start per user), and the unions built from them.
    static func dataParts(_ d: DataSize, unions: Int) -> [MemoryPlan.Part] {
        [MemoryPlan.Part("the ratings: train, validation and test matrices and \(unions) unions of them",
                         bytes: MemoryPlan.sum([MemoryPlan.product(d.ratings, 8 * (1 + unions)), MemoryPlan.product(d.users, 24)]))]
    }

    /// `rec-train`: the matrices, then one fit at a time (each fit's memory is freed before the
    /// next): the larger of the rating model's and the ranking model's.
    static func trainPlan(_ c: PipelineConfig, _ d: DataSize) -> MemoryPlan {
        let s = c.ratingModel.settings
        let itemBased = c.ratingModel.isItemBased
        let validation = c.evaluation.enabled && c.split.validationRatio > 0
        var rating = Autoencoder.memoryParts(items: itemBased ? d.users : d.items, hidden: s.hidden, batchSize: s.batchSize,
                                             optimizer: s.optimizer, validation: validation, ratings: d.ratings)
        if itemBased { rating.append(MemoryPlan.Part("ratingModel: the transposed matrices", bytes: MemoryPlan.product(d.ratings, 16))) }
        rating += ratingSetParts(c, d)
        var ranking: [MemoryPlan.Part] = []
        switch c.rankingModel {
        case .ease(let e):
            ranking = EASE.memoryParts(items: d.items, ratedItems: d.items, nonZeros: d.ratings, solver: easeSolver(e))
        case .userAutoencoder(let a):
            ranking = Autoencoder.memoryParts(items: d.items, hidden: a.hidden, batchSize: a.batchSize, optimizer: a.optimizer,
                                              validation: validation, ratings: d.ratings, setting: "rankingModel")
        case .choice(let s):
            ranking = choiceTrainParts(s, d, workers: Parallel.resolve(c.workers).workers)
        case .ratingModel, .popularity:
            break
        }
        return MemoryPlan(step: "rec-train", parts: dataParts(d, unions: 2) + MemoryPlan.larger(rating, ranking))
    }

    /// `rec-score`: the matrices and their unions, the rating predictions of every slice, both
    /// models, and the lists (one score block per worker, never users × movies).
    /// - Parameter listUsers: the users whose lists this run builds (a shard's share; all of
    ///   them when nil).
    static func scorePlan(_ c: PipelineConfig, _ d: DataSize, listUsers: Int? = nil) -> MemoryPlan {
        let s = c.ratingModel.settings
        let itemBased = c.ratingModel.isItemBased
        var parts = dataParts(d, unions: 3)
        parts.append(MemoryPlan.Part("predicted ratings of every slice", bytes: MemoryPlan.product(d.ratings, 8)))
        parts += Autoencoder.scoringParts(items: itemBased ? d.users : d.items, hidden: s.hidden) + ratingSetParts(c, d)
        switch c.rankingModel {
        case .ease(let e): parts += EASE.scoringParts(items: d.items, ratedItems: d.items, solver: easeSolver(e))
        case .userAutoencoder(let a): parts += Autoencoder.scoringParts(items: d.items, hidden: a.hidden, setting: "rankingModel")
        case .choice(let s): parts += choiceScoreParts(s, d, workers: Parallel.resolve(c.workers).workers)
        case .ratingModel, .popularity: break
        }
        let workers = Parallel.resolve(c.workers).workers
        let users = listUsers ?? d.users
        // Two parts, each with the setting that shrinks it: the lists grow with k, the score
        // blocks with the number of workers (`TopK.listBytes` is their sum).
        let blocks = TopK.listBytes(users: 0, items: d.items, k: c.score.k, workers: workers)
        let lists = MemoryPlan.sum([MemoryPlan.product(users, c.score.k, 8), MemoryPlan.product(users, c.score.k, 12, 2)])
        parts.append(MemoryPlan.Part("the lists (\(c.score.k) per user, evaluation and serving)", bytes: lists, setting: "score.k"))
        parts.append(MemoryPlan.Part("one score block per worker (\(workers) workers)", bytes: blocks,
                                     setting: "workers (or --workers)"))
        return MemoryPlan(step: "rec-score", parts: parts)
    }

    /// The stages whose model fits or lists have a memory plan.
    enum Step: Sendable { case train, score }

    /// Checks the plan of the stage `step` (`rec-score`'s lists are built for `listUsers`
    /// users, all when nil).
    /// - Returns: a line for the log: the planned peak and the limit.
    @discardableResult
    public static func check(_ c: PipelineConfig, step: Step, _ d: DataSize, listUsers: Int? = nil) throws -> String {
        let plan: MemoryPlan
        switch step {
        case .train:
            try checkSteps(c, d)
            plan = trainPlan(c, d)
        case .score:
            plan = scorePlan(c, d, listUsers: listUsers)
        }
        let limit = MemoryPlan.limit(settingGB: c.memoryLimitGB)
        try plan.check(limit)
        return "memory: about \(MemoryPlan.format(plan.bytes)) planned at the peak (limit \(MemoryPlan.format(limit.bytes)), \(limit.source))"
    }

    /// Bytes `rec-ingest` holds per rating besides the files' text: the parsed columns twice
    /// (per chunk and joined, 24 bytes each), the sort's indices and the dense table
    /// (about 30 more). MovieLens-25M (678 MB of text, 25 million ratings) peaked at 2.2 GB,
    /// 61 bytes per rating above the text; 80 leaves room for the estimate's error.
    static let ingestBytesPerRating = 80

    /// `rec-ingest`: the two files' text, held while they are parsed, and `ratingLines` ratings.
    static func ingestPlan(ratingsBytes: Int, ratingLines: Int, moviesBytes: Int) -> MemoryPlan {
        MemoryPlan(step: "rec-ingest", parts: [
            MemoryPlan.Part("the ratings file's text", bytes: ratingsBytes),
            MemoryPlan.Part("about \(ratingLines) ratings as parsed, sorted and indexed",
                            bytes: MemoryPlan.product(ratingLines, ingestBytesPerRating)),
            MemoryPlan.Part("the movies file's text and the catalogue", bytes: MemoryPlan.product(moviesBytes, 4)),
        ])
    }

    /// `rec-ingest`'s plan for the files `c` names, from their sizes (see `checkIngest`).
    static func ingestPlan(_ c: PipelineConfig) throws -> MemoryPlan {
        let (ratingsBytes, lines) = try estimateLines(c.resolve(c.input.ratings))
        let (fd, moviesBytes) = try PlainFile.open(c.resolve(c.input.movies))
        close(fd)
        return ingestPlan(ratingsBytes: ratingsBytes, ratingLines: lines, moviesBytes: moviesBytes)
    }

    /// Checks `rec-ingest`'s plan before it reads the files: their sizes, and the number of
    /// ratings estimated from the line ends in the ratings file's first MiB (exact when the
    /// file is no larger).
    /// - Returns: a line for the log, as `check`.
    /// - Throws: `RecError(.config)` as `MemoryPlan.check`, naming the ratings file; a missing
    ///   or unsuitable file as `PlainFile.open` does.
    @discardableResult
    static func checkIngest(_ c: PipelineConfig) throws -> String {
        let ratingsPath = c.resolve(c.input.ratings)
        let plan = try ingestPlan(c)
        let ratingsBytes = plan.parts[0].bytes
        let limit = MemoryPlan.limit(settingGB: c.memoryLimitGB)
        do {
            try plan.check(limit)
        } catch var e as RecError {
            e.file = ratingsPath
            e.message += " (\(MemoryPlan.format(ratingsBytes)) of ratings text)"
            throw e
        }
        return "memory: about \(MemoryPlan.format(plan.bytes)) planned at the peak (limit \(MemoryPlan.format(limit.bytes)), \(limit.source))"
    }

    /// A text file's size and its number of lines, estimated from the line ends in its first
    /// MiB (counted exactly when the file is no larger), without reading the rest.
    static func estimateLines(_ path: String, sample: Int = 1 << 20) throws -> (bytes: Int, lines: Int) {
        let (fd, size) = try PlainFile.open(path)
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: min(size, sample))
        var filled = 0
        while filled < buffer.count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, $0.count - filled, off_t(filled)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            filled += n
        }
        let ends = buffer[0..<filled].reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
        guard filled < size, filled > 0 else { return (size, ends + 1) }
        return (size, Int((Double(size) * Double(ends + 1) / Double(filled)).rounded(.up)))
    }

    /// Most optimiser steps of one fit: the optimiser counts each row's steps in 32 bits.
    static let maxSteps = Int(Int32.max)

    /// The optimiser steps of each autoencoder fit (epochs × batches of rows per epoch) must
    /// fit the optimiser's 32-bit step counts.
    /// - Throws: `RecError(.config)` naming the section's `epochs` and `batchSize`.
    static func checkSteps(_ c: PipelineConfig, _ d: DataSize) throws {
        var fits = [("ratingModel", c.ratingModel.settings, c.ratingModel.isItemBased ? d.items : d.users)]
        if case .userAutoencoder(let a) = c.rankingModel { fits.append(("rankingModel", a, d.users)) }
        for (section, s, rows) in fits {
            let batches = rows / s.batchSize + (rows % s.batchSize == 0 ? 0 : 1)
            let steps = MemoryPlan.product(s.epochs, batches)
            guard steps <= maxSteps else {
                throw RecError(.config, "'\(section).epochs' \(s.epochs) × \(batches) batches of \(s.batchSize) rows = \(steps == Int.max ? "too many" : "\(steps)") optimiser steps, more than the \(maxSteps) the optimiser counts",
                               hint: "lower \(section).epochs or raise \(section).batchSize")
            }
        }
    }

    /// Both stages' plans, from `ratings.art`'s header: what the runner checks before running
    /// the stages after ingest.
    static func checkAll(_ c: PipelineConfig) throws {
        let d = try DataSize.read(ratingsArtefact: c.paths.ratings)
        for step in [Step.train, .score] { try check(c, step: step, d) }
    }
}

extension MemoryChecks.DataSize {
    /// The sizes of the matrices a stage has read.
    init(_ m: Matrices) {
        self.init(users: m.ids.userCount, items: m.ids.itemCount, ratings: m.train.nonZeros + m.validation.nonZeros + m.test.nonZeros)
    }
}
