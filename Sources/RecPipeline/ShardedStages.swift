import Foundation
import RecCore
import RecStore
import RecData

// The split and the export, by shard: each shard does a range of users (`Shard.users`) and
// writes `<artefact>.part-I-of-N`; the merge joins the parts in shard order and writes the
// stage's own outputs with the writer a single run uses, so the bytes are the same.
// (The score stage's shards are ScoreStage(lists:).)

extension SplitStage: ShardableStage {
    public func shard(_ shard: Shard) -> any Stage { SplitShard(shardOf: shard) }
    public func merge(_ count: Int) -> any Stage { SplitMerge(count: count) }
}

/// `rec-split --shard I/N`: one shard's users' train, validation and test ratings. A user's
/// split depends on the seed and the user's id only (`Splitter`), so shards need nothing of
/// each other.
struct SplitShard: Stage {
    let shardOf: Shard
    var name: String { shardOf.manifestName("split") }
    var executable: String { "rec-split" }
    func inputs(_ c: PipelineConfig) -> [String] { SplitStage().inputs(c) }
    func outputs(_ c: PipelineConfig) -> [String] { SplitStage().outputs(c).map { shardOf.part($0) } }
    func reads(_ c: PipelineConfig) -> [String] { SplitStage().reads(c) }

    public func run(_ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        let (all, _) = try Ratings.read(c.paths.ratings, kind: .ratings, parallel: ctx.parallel)
        let users = shardOf.users(of: all.ids.userCount)
        let offsets = all.userOffsets()
        let rows = offsets[users.lowerBound]..<offsets[users.upperBound]
        let mine = Ratings(users: Array(all.users[rows]), items: Array(all.items[rows]), values: Array(all.values[rows]),
                           timestamps: Array(all.timestamps[rows]), ids: all.ids)
        let parts = try Splitter.split(mine, method: c.split.method, seed: c.split.seed,
                                       testRatio: c.split.testRatio, validationRatio: c.split.validationRatio, parallel: ctx.parallel)
        let meta: [String: JSONValue] = ["shard": .int(shardOf.index), "shards": .int(shardOf.count), "firstUser": .int(users.lowerBound),
                                         "shardUsers": .int(users.count)]
        for (path, table) in zip(outputs(c), [parts.train, parts.validation, parts.test]) {
            try table.write(to: path, kind: .split, meta: meta, parallel: ctx.parallel)
        }
        return StageResult(["users": .int(users.count), "firstUser": .int(users.lowerBound), "train": .int(parts.train.count),
                            "validation": .int(parts.validation.count), "test": .int(parts.test.count)])
    }
}

/// `rec-split --merge-shards N`: the shards' parts joined into train, validation and test.
struct SplitMerge: Stage {
    let count: Int
    var name: String { "split" }
    var executable: String { "rec-split" }
    // An impossible shard count has no parts to list; running the merge reports it.
    func inputs(_ c: PipelineConfig) -> [String] {
        SplitStage().inputs(c) + ((try? Shard.all(count)) ?? []).flatMap { s in SplitStage().outputs(c).map { s.part($0) } }
    }
    func outputs(_ c: PipelineConfig) -> [String] { SplitStage().outputs(c) }
    func reads(_ c: PipelineConfig) -> [String] { SplitStage().reads(c) }

    public func run(_ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        let (all, artefact) = try Ratings.read(c.paths.ratings, kind: .ratings, parallel: ctx.parallel)
        var joined: [Ratings] = []
        for path in outputs(c) {
            var users: [Int32] = [], items: [Int32] = [], values: [Float] = [], stamps: [Int64] = []
            for shard in try Shard.all(count) {
                let file = shard.part(path)
                let (part, a) = try Ratings.read(file, kind: .split, parallel: ctx.parallel)
                let range = shard.users(of: all.ids.userCount)
                guard part.ids == all.ids, a.meta("firstUser")?.intValue == range.lowerBound, a.meta("shardUsers")?.intValue == range.count,
                      part.users.allSatisfy({ range.contains(Int($0)) }) else {
                    throw RecError(.artefact, "was split from other ratings or for another shard count than \(c.paths.ratings) in \(count) shards",
                                   file: file, hint: "rerun rec-split --shard \(shard)")
                }
                users += part.users
                items += part.items
                values += part.values
                stamps += part.timestamps
            }
            joined.append(Ratings(users: users, items: items, values: values, timestamps: stamps, ids: all.ids))
        }
        return try SplitStage.write(train: joined[0], validation: joined[1], test: joined[2], of: all.count,
                                    scale: try RatingScale.read(from: artefact), ctx)
    }
}

extension ExportStage: ShardableStage {
    public func shard(_ shard: Shard) -> any Stage { ExportShard(shardOf: shard) }
    public func merge(_ count: Int) -> any Stage { ExportMerge(count: count) }

    /// Where a shard's rows of an export wait for the publish: beside the artefacts.
    static func staged(_ output: String, _ c: PipelineConfig) -> String {
        c.paths.artefacts + "/" + URL(fileURLWithPath: output).lastPathComponent
    }
}

/// `rec-export --shard I/N`: one shard's users' rows of recommendations.csv (no header) and
/// recommendations.jsonl, staged beside the artefacts for the publish.
struct ExportShard: Stage {
    let shardOf: Shard
    var name: String { shardOf.manifestName("export") }
    var executable: String { "rec-export" }
    func inputs(_ c: PipelineConfig) -> [String] { [c.paths.topK, c.paths.catalogue, c.paths.explanations] }
    func outputs(_ c: PipelineConfig) -> [String] {
        [c.paths.recommendationsCSV, c.paths.recommendationsJSONL].map { shardOf.part(ExportStage.staged($0, c)) }
    }
    func reads(_ c: PipelineConfig) -> [String] { ExportStage().reads(c) }

    public func run(_ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        let (lists, _) = try TopKLists.read(c.paths.topK, parallel: ctx.parallel)
        let catalogue = try Catalogue.read(c.paths.catalogue, parallel: ctx.parallel)
        let explained = try Explanations.read(c.paths.explanations, matching: lists, parallel: ctx.parallel)
        let users = shardOf.users(of: lists.ids.userCount)
        let cells = (users.lowerBound * lists.k)..<(users.upperBound * lists.k)
        let mine = TopKLists(k: lists.k, items: Array(lists.items[cells]), scores: Array(lists.scores[cells]),
                             predictedRatings: Array(lists.predictedRatings[cells]),
                             ids: IdMaps(userIds: Array(lists.ids.userIds[users]), itemIds: lists.ids.itemIds))
        let (csv, jsonl) = try RecommendationExport.render(mine, catalogue: catalogue, parallel: ctx.parallel, cells: c.export.csvCells,
                                                           because: Array(explained.because[cells]))
        let rows = Array(csv.dropFirst(RecommendationExport.csvHeader.utf8.count))
        let out = outputs(c)
        try AtomicFile.write(rows, to: out[0])
        try AtomicFile.write(jsonl, to: out[1])
        return StageResult(["users": .int(users.count), "firstUser": .int(users.lowerBound), "csvBytes": .int(rows.count), "jsonlBytes": .int(jsonl.count)])
    }
}

/// `rec-export --merge-shards N`: the publish. Joins the shards' rows in shard order behind
/// the header and publishes them with the staged metrics and report as one set, through the
/// quality gate, exactly as `rec-export` does.
struct ExportMerge: Stage {
    let count: Int
    var name: String { "export" }
    var executable: String { "rec-export" }
    // An impossible shard count has no parts to list; running the merge reports it.
    func inputs(_ c: PipelineConfig) -> [String] {
        ExportStage().inputs(c) + ((try? Shard.all(count)) ?? []).flatMap { ExportShard(shardOf: $0).outputs(c) }
    }
    func outputs(_ c: PipelineConfig) -> [String] { ExportStage().outputs(c) }
    func reads(_ c: PipelineConfig) -> [String] { ExportStage().reads(c) }

    public func run(_ ctx: StageContext) throws -> StageResult {
        let c = ctx.config
        var csv = Array(RecommendationExport.csvHeader.utf8), jsonl: [UInt8] = []
        for shard in try Shard.all(count) {
            let parts = ExportShard(shardOf: shard).outputs(c)
            csv += try AtomicFile.read(parts[0])
            jsonl += try AtomicFile.read(parts[1])
        }
        // The similar lists are small: rendered here, once, for the one publish.
        let (lists, _) = try TopKLists.read(c.paths.topK, parallel: ctx.parallel)
        let explained = try Explanations.read(c.paths.explanations, matching: lists, parallel: ctx.parallel)
        let catalogue = try Catalogue.read(c.paths.catalogue, parallel: ctx.parallel)
        let similar = try SimilarExport.render(explained, catalogue: catalogue, parallel: ctx.parallel, cells: c.export.csvCells)
        return try ExportStage.publish(csv: csv, jsonl: jsonl, similar: similar, ctx)
    }
}
