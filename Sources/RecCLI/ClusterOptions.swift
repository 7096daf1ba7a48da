import ArgumentParser
import Foundation
import Logging
import RecCore
import RecPipeline

/// Options of a stage run as part of a sharded or cluster run (`rec-pipeline --engine slurm`
/// gives them to every job it submits).
public struct ClusterOptions: ParsableArguments {
    @Option(name: .long, help: "Do only shard I of N of the users (e.g. 0/4), writing <artefact>.part-I-of-N (split, score, export).")
    public var shard: String?

    @Option(name: .long, help: "Join the parts of N shards into the stage's outputs (split, score; export publishes them).")
    var mergeShards: Int?

    @Option(name: .long, help: "Run as a job of this cluster run (no lock; skip when up to date; exit 3 if a later submission superseded it).")
    public var runId: String?

    @Option(name: .long, help: "With --run-id: the copy of the settings taken when the cluster run was submitted (rec-pipeline --engine slurm passes it); relative paths are still taken from --config's folder.")
    var submittedSettings: String?

    public init() {}

    /// The settings the stage runs with, and the bytes they were read from: a cluster job's
    /// from the copy taken at submission, so an edit of the settings file after it changes
    /// nothing the jobs do.
    func load(_ options: StageOptions) throws -> (config: PipelineConfig, bytes: [UInt8]) {
        if submittedSettings != nil && runId == nil {
            throw RecError(.config, "--submitted-settings is for the jobs of a cluster run (with --run-id)")
        }
        return try options.loadKeepingBytes(copy: submittedSettings)
    }

    /// The stage to run: `stage` itself, one shard of it, or its merge.
    func resolve(_ stage: any Stage) throws -> (any Stage, merging: (any ShardableStage, Int)?) {
        if shard != nil && mergeShards != nil { throw RecError(.config, "--shard and --merge-shards cannot be used together") }
        guard shard != nil || mergeShards != nil else { return (stage, nil) }
        guard let sharded = stage as? ShardableStage else {
            throw RecError(.config, "\(stage.executable) does not run in shards", hint: "only rec-split, rec-score and rec-export take --shard and --merge-shards")
        }
        if let shard { return (sharded.shard(try Shard.parse(shard)), nil) }
        let n = mergeShards!
        _ = try Shard.all(n)  // checks 1 ≤ n ≤ max
        return (sharded.merge(n), (sharded, n))
    }
}
