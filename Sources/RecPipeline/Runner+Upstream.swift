import Foundation
import Logging
import RecCore
import RecStore

/// The check every stage passes before it runs, however it is started (its executable, the
/// runner, a Slurm job): what it reads must be what the stages before it make under the
/// settings and the program it is started with.
///
/// For every file a stage reads that another stage writes, the writer's manifest must hold:
/// it succeeded, with this program version, under the settings that writer has now
/// (`Pipeline.fingerprint` of the current settings), the file is still the one it recorded,
/// and the files the writer itself read still are what it recorded. The same holds for the
/// writers of those files, up to `rec-ingest` and the raw ratings and movies files, so a
/// stage never joins its results to a chain that a change of settings, data or program has
/// left behind. The runner runs stale stages first, so it never meets this check; a stage
/// run by hand on a stale chain is refused with a settings error (exit code 2) that names
/// the stage to run first, and a damaged artefact is the artefact error its reader gives.
extension Runner {
    /// Runs one stage as its executable does (`rec-score`, `rec-split --shard 0/4`, …): under
    /// the same locks and folder claims as rec-pipeline, so a stage rerun by hand never runs
    /// into a nightly run nor writes into another configuration's folders, and refused when
    /// what it reads is stale (`execute`).
    /// - Returns: what the stage reported, and its seconds.
    public static func runAlone(_ stage: any Stage, _ ctx: StageContext, wait: Bool, takeOver: Bool = false) throws -> (StageResult, Double) {
        let locks = try lock(ctx.config, wait: wait, takeOver: takeOver, logger: ctx.logger)
        defer { for lock in locks.reversed() { lock.release() } }
        ctx.logger.info("\(stage.name): started with \(ctx.parallel.workers) workers")
        return try execute(stage, ctx)
    }

    /// One stale link of the chain: the stage that must run again, and why.
    struct StaleLink {
        /// The stage (or shard of a stage) whose output cannot be used as it is.
        var producer: any Stage
        /// The file the problem is seen on.
        var file: String
        var reason: String
        /// Set when the file is a damaged artefact (not a replaced one).
        var damage: RecError?
    }

    /// Refuses to run `stage` when what it reads is stale.
    /// - Throws: `RecError(.config)` naming the file, the reason and the stages to run first;
    ///   the reader's `RecError(.artefact)` when a file is a damaged artefact.
    static func checkUpstream(of stage: any Stage, _ c: PipelineConfig) throws {
        let links = try staleLinks(of: stage, c)
        guard let from = links.map({ position($0.producer) }).min() else { return }
        let earliest = links.filter { position($0.producer) == from }
        if let damage = earliest.lazy.compactMap(\.damage).first { throw damage }
        let first = earliest[0]
        // The commands to run, in order: the earliest stale stage (every stale shard of it),
        // the stages between, and this one (a merge as `--merge-shards N`).
        var firsts: [String] = []
        for link in earliest where !firsts.contains(command(link.producer)) { firsts.append(command(link.producer)) }
        let to = position(stage)
        let between = from + 1 < to ? Pipeline.stages[(from + 1)..<to].map(\.executable) : []
        let merge = stage.inputs(c).lazy.compactMap(Shard.ofPart).first.map { " --merge-shards \($0.count)" } ?? ""
        let then = between + [command(stage) + merge].filter { !firsts.contains($0) }
        let use = stage.inputs(c).contains(first.file) ? "so \(command(stage) + merge) cannot use it" : "and \(command(stage) + merge) reads what was made from it"
        throw RecError(.config, "\(first.reason), \(use)", file: first.file,
                       hint: "run \(firsts.joined(separator: ", ")) first" + (then.isEmpty ? "" : ", then " + then.joined(separator: ", "))
                           + "; or rec-pipeline, which reruns whatever is out of date")
    }

    /// Every stale link upstream of `stage`: each file read on the way checked once against
    /// its writer's record, and each writer's own inputs followed once.
    static func staleLinks(of stage: any Stage, _ c: PipelineConfig) throws -> [StaleLink] {
        var links: [StaleLink] = []
        var visited: Set<String> = [], seen: Set<String> = []
        var pending = stage.inputs(c)
        while !pending.isEmpty {
            let file = pending.removeFirst()
            guard seen.insert(file).inserted, let producer = Pipeline.producer(of: file, c) else { continue }
            if let link = try staleness(of: producer, reading: file, c) { links.append(link) }
            if visited.insert(producer.name).inserted { pending += producer.inputs(c) }
        }
        return links
    }

    /// Whether `file`, as `producer` wrote it, can be read now; nil when it can: the producer's
    /// record checked as the runner checks it (`Manifest.staleness`), with the file itself
    /// named before any of the producer's inputs.
    static func staleness(of producer: any Stage, reading file: String, _ c: PipelineConfig) throws -> StaleLink? {
        let by = command(producer)
        func stale(_ reason: String) -> StaleLink { StaleLink(producer: producer, file: file, reason: reason) }
        let record = Manifest.read(stage: producer.name, dir: c.paths.artefacts)
        let why = Manifest.staleness(of: record, inputs: producer.inputs(c), outputs: [file],
                                     settings: try Pipeline.fingerprint(producer, c), version: Pipeline.version)
        switch why {
        case nil: return nil
        case .noRecord: return stale("has no record of being made by \(by) (no readable \(Manifest.path(stage: producer.name, dir: c.paths.artefacts)))")
        case .failed: return stale("was made by a run of \(by) that did not succeed")
        case .version(let recorded): return stale("was made by \(by) of program version \(recorded); this is \(Pipeline.version)")
        case .settings(let key): return stale("was made by \(by) under other settings (\(key.isEmpty ? "settings" : "setting \(key)") changed)")
        case .inputNotRecorded, .inputMissing, .inputChanged, .inputDropped, .outputNotRecorded, .outputChanged: break
        }
        let now = try Manifest.stamp(file)
        if now == nil || record?.outputs[file] != now {
            var link = stale(now == nil ? "is missing (\(by) makes it)" : "is not the file \(by) wrote: it was replaced or changed since")
            link.damage = now == nil ? nil : damage(file, producer)
            return link
        }
        func name(_ input: String) -> String { URL(fileURLWithPath: input).lastPathComponent }
        return switch why {
        case .inputMissing(let input): stale("was made by \(by) from \(name(input)), which is missing now")
        case .inputChanged(let input): stale("was made by \(by) from \(name(input)), which has changed since")
        case .inputNotRecorded(let input): stale("was made by \(by) from other files than \(input)")
        // A recorded input the producer no longer reads does not make what it wrote unusable
        // (a merged stage records its shards' files); only the runner reruns for it. The file
        // itself was checked just above.
        case nil, .inputDropped, .noRecord, .failed, .version, .settings, .outputNotRecorded, .outputChanged: nil
        }
    }

    /// The error an artefact reader gives for `file`, when it is a damaged artefact.
    static func damage(_ file: String, _ producer: any Stage) -> RecError? {
        guard file.hasSuffix(".art") || file.contains(".art.part-") else { return nil }
        // The kind the file says it is: a sound artefact of another kind is a replaced file,
        // not a damaged one.
        var kind = ArtefactKind.ratings
        if let handle = FileHandle(forReadingAtPath: file) {
            let head = [UInt8]((try? handle.read(upToCount: 12)) ?? Data())
            try? handle.close()
            if head.count == 12 { kind = ArtefactKind(rawValue: UInt16(head[10]) | UInt16(head[11]) << 8) ?? kind }
        }
        do {
            _ = try Artefact.read(file, expecting: kind)
            return nil
        } catch var e as RecError where e.kind == .artefact {
            e.hint = "rerun \(command(producer)) to write it again"
            return e
        } catch {
            return nil
        }
    }

    /// A stage's place in the pipeline (a shard or merge takes its stage's).
    static func position(_ stage: any Stage) -> Int {
        Pipeline.stages.firstIndex { $0.name == Pipeline.baseName(stage.name) } ?? Pipeline.stages.count
    }

    /// The command that runs `stage`: its executable, with `--shard I/N` for a shard.
    static func command(_ stage: any Stage) -> String {
        guard let at = stage.name.range(of: ".shard-"), let shard = Shard.ofPart(".part-" + stage.name[at.upperBound...]) else {
            return stage.executable
        }
        return "\(stage.executable) --shard \(shard)"
    }
}

extension Pipeline {
    /// The stage (or shard of a stage) that writes `path`; nil for a file no stage writes.
    static func producer(of path: String, _ c: PipelineConfig) -> (any Stage)? {
        if let stage = stages.first(where: { $0.outputs(c).contains(path) }) { return stage }
        guard let shard = Shard.ofPart(path) else { return nil }
        return stages.lazy.compactMap { ($0 as? ShardableStage)?.shard(shard) }.first { $0.outputs(c).contains(path) }
    }
}
