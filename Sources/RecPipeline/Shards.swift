import Foundation
import RecCore
import RecStore

/// One of N shards of the users: shard I of N takes the dense users
/// `⌊I·U/N⌋ ..< ⌊(I+1)·U/N⌋`, so the shards in order cover every user once, in user order,
/// and the parts they write, joined in shard order, are the rows a single run writes.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// Shards are at most this many: more would mean lists of a few users per job.
    public static let maxCount = 10_000

    public init(index: Int, count: Int) throws {
        guard count >= 1, count <= Shard.maxCount, index >= 0, index < count else {
            throw RecError(.config, "shard \(index)/\(count) does not exist", hint: "shards are I/N with 0 ≤ I < N and 1 ≤ N ≤ \(Shard.maxCount)")
        }
        self.index = index
        self.count = count
    }

    /// `I/N`, as given to `--shard`.
    public static func parse(_ text: String) throws -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw RecError(.config, "--shard '\(text)' is not of the form I/N (e.g. 0/4)")
        }
        return try Shard(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// This shard's dense users among `users`. Never overflows: count ≤ 10 000 and users
    /// come from an artefact (below 2^40 here: arrays are allocated).
    public func users(of users: Int) -> Range<Int> {
        (users * index / count)..<(users * (index + 1) / count)
    }

    /// `<path>.part-I-of-N`: this shard's part of the artefact at `path`.
    public func part(_ path: String) -> String { path + ".part-\(index)-of-\(count)" }

    /// The shard whose part `path` is (`<artefact>.part-I-of-N`), nil for any other path.
    static func ofPart(_ path: String) -> Shard? {
        guard let at = path.range(of: ".part-", options: .backwards) else { return nil }
        let fields = path[at.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count == 3, fields[1] == "of", let i = Int(fields[0]), let n = Int(fields[2]) else { return nil }
        return try? Shard(index: i, count: n)
    }

    /// The manifest name of a stage's shard: `<stage>.shard-I-of-N`.
    func manifestName(_ stage: String) -> String { "\(stage).shard-\(index)-of-\(count)" }

    /// Every shard of `count`.
    public static func all(_ count: Int) throws -> [Shard] { try (0..<count).map { try Shard(index: $0, count: count) } }
}

/// A stage whose work is per user: it runs as N shards, each writing parts of its outputs,
/// and a merge that joins the parts into exactly the bytes a single run writes.
public protocol ShardableStage: Stage {
    /// The stage set to do one shard's users (manifest `<name>.shard-I-of-N`).
    func shard(_ shard: Shard) -> any Stage
    /// The stage set to join the parts of `count` shards (the stage's own manifest).
    func merge(_ count: Int) -> any Stage
}

extension Pipeline {
    /// The stage whose settings a (shard of a) stage uses: `score.shard-0-of-4` → `score`.
    static func baseName(_ name: String) -> String {
        name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
    }
}

/// One shard's rows of a top-k list artefact: `topk.art.part-I-of-N`.
struct ListPart {
    var shard: Shard
    var users: Range<Int>
    var k: Int
    var items: [Int32]
    var scores: [Float]
    var predictedRatings: [Float]

    func write(to path: String, parallel: Parallel) throws {
        var b = ArtefactBuilder(kind: .topK)
        b.meta = ["shard": .int(shard.index), "shards": .int(shard.count), "firstUser": .int(users.lowerBound),
                  "users": .int(users.count), "k": .int(k)]
        b.add("items", items)
        b.add("scores", scores)
        b.add("predictedRatings", predictedRatings)
        try b.write(to: path, parallel: parallel)
    }

    /// The parts of `count` shards of the lists at `path`, joined in shard order.
    /// - Throws: `RecError(.artefact)` when a part is missing, of another shape, or written
    ///   for other users (other data, another k, another shard count).
    static func join(_ path: String, count: Int, users: Int, k: Int, parallel: Parallel)
        throws -> (items: [Int32], scores: [Float], predictedRatings: [Float])
    {
        var items: [Int32] = [], scores: [Float] = [], predicted: [Float] = []
        for shard in try Shard.all(count) {
            let file = shard.part(path)
            let a = try Artefact.read(file, expecting: .topK)
            let range = shard.users(of: users)
            guard a.meta("firstUser")?.intValue == range.lowerBound, a.meta("users")?.intValue == range.count,
                  a.meta("k")?.intValue == k, a.meta("shards")?.intValue == count, a.meta("shard")?.intValue == shard.index else {
                throw RecError(.artefact, "was written for other users, another k or another shard count than this run's \(users) users, k \(k), \(count) shards",
                               file: file, hint: "rerun rec-score --shard \(shard)")
            }
            let i: [Int32] = try a.array("items", parallel: parallel)
            let s: [Float] = try a.array("scores", parallel: parallel)
            let p: [Float] = try a.array("predictedRatings", parallel: parallel)
            guard i.count == range.count * k, s.count == i.count, p.count == i.count else {
                throw RecError(.artefact, "lists do not match their shape", file: file, hint: "rerun rec-score --shard \(shard)")
            }
            items += i
            scores += s
            predicted += p
        }
        return (items, scores, predicted)
    }
}

extension Runner {
    /// Whether a stage (or a shard of one, or its merge) is up to date by its own manifest.
    public static func check(_ stage: any Stage, _ c: PipelineConfig) throws -> (Bool, String) {
        Manifest.upToDate(
            previous: Manifest.read(stage: stage.name, dir: c.paths.artefacts), inputs: stage.inputs(c),
            outputs: stage.outputs(c), settings: try Pipeline.fingerprint(stage, c), version: Pipeline.version)
    }
}
