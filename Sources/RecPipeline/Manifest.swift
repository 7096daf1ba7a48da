import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RecCore
import RecStore

/// A file as a stage saw it: XXH3-64 of its bytes, and its size.
public struct FileStamp: Codable, Sendable, Equatable {
    /// XXH3-64, 16 hex digits (`Hash.fileHex`).
    var hash: String
    public var bytes: Int

    public init(hash: String, bytes: Int) {
        self.hash = hash
        self.bytes = bytes
    }
}

/// What one run of a stage consumed and produced: `<artefactDir>/manifests/<stage>.json`.
///
/// Typical use inside a runner:
/// ```
/// var record = try StageRecord.begin(stage: "rec-split", version: v, settings: s, inputs: ins)
/// ... run the stage ...
/// try record.finish(outputs: outs, stats: stats, skipped: report.skipped)
/// try Manifest.write(record, dir: artefactDir)
/// ```
public struct StageRecord: Codable, Sendable, Equatable {
    public var stage: String
    /// Version string of the program that ran the stage.
    public var version: String
    /// The settings this stage uses (only those: a change elsewhere must not rerun it).
    public var settings: JSONValue
    /// Path → stamp, taken before the stage ran.
    public var inputs: [String: FileStamp]
    /// Path → stamp, taken after the stage wrote them.
    public var outputs: [String: FileStamp]
    /// Row counts and other free-form figures.
    public var stats: JSONValue
    /// Skipped input lines per reason (`LineReport.skipped`).
    public var skipped: [String: Int]
    /// Start time, ISO 8601 UTC.
    public var started: String
    public var seconds: Double
    public var success: Bool

    public init(
        stage: String, version: String, settings: JSONValue, inputs: [String: FileStamp],
        outputs: [String: FileStamp] = [:], stats: JSONValue = .object([:]), skipped: [String: Int] = [:],
        started: Date = Date(), seconds: Double = 0, success: Bool = false
    ) {
        self.stage = stage
        self.version = version
        self.settings = settings
        self.inputs = inputs
        self.outputs = outputs
        self.stats = stats
        self.skipped = skipped
        self.started = started.ISO8601Format()
        self.seconds = seconds
        self.success = success
    }

    /// Starts a record: stamps the inputs (before the stage can read them) and notes the time.
    public static func begin(stage: String, version: String, settings: JSONValue, inputs: [String]) throws -> StageRecord {
        StageRecord(stage: stage, version: version, settings: settings, inputs: try Manifest.stamps(inputs))
    }

    /// Completes a record after the stage ran: stamps the outputs and measures the time.
    public mutating func finish(outputs: [String], stats: JSONValue = .object([:]), skipped: [String: Int] = [:], success: Bool = true) throws {
        self.outputs = try Manifest.stamps(outputs)
        self.stats = stats
        self.skipped = skipped
        self.success = success
        if let start = try? Date(started, strategy: .iso8601) {
            seconds = max(0, Date().timeIntervalSince(start))
        }
    }
}

/// Reads, writes and checks stage records, so that a runner reruns only what is out of date.
public enum Manifest {
    /// `<dir>/manifests/<stage>.json`.
    public static func path(stage: String, dir: String) -> String {
        directory(dir) + "/\(stage).json"
    }

    /// `<dir>/manifests`: the folder that holds the records.
    public static func directory(_ dir: String) -> String {
        (dir.hasSuffix("/") ? dir : dir + "/") + "manifests"
    }

    /// The last record of a stage; nil when there is none or it cannot be read (a damaged
    /// manifest only means the stage runs again).
    public static func read(stage: String, dir: String) -> StageRecord? {
        guard let bytes = try? PlainFile.read(path(stage: stage, dir: dir)) else { return nil }
        return try? JSONDecoder().decode(StageRecord.self, from: Data(bytes))
    }

    /// Writes a record atomically (a killed run leaves the old record or the new one).
    public static func write(_ record: StageRecord, dir: String) throws {
        let file = path(stage: record.stage, dir: dir)
        let text: String
        do {
            text = try JSON.encodeString(record, pretty: true) + "\n"
        } catch {
            throw RecError(.runtime, "cannot encode the manifest (non-finite number in stats?): \(error)", file: file)
        }
        try AtomicFile.write(text, to: file)
    }

    /// Stamps of existing files.
    /// - Throws: `RecError(.runtime)` when a file is missing or unreadable.
    static func stamps(_ paths: [String]) throws -> [String: FileStamp] {
        var out: [String: FileStamp] = [:]
        for p in paths {
            guard let s = try stamp(p) else { throw RecError(.runtime, "file not found, cannot record it", file: p) }
            out[p] = s
        }
        return out
    }

    /// The stamp of a file, nil when it does not exist. Hashes are cached within the process,
    /// keyed by device, inode, size and modification time, so checking the same unchanged file
    /// twice in one run costs one hash and a `stat`.
    public static func stamp(_ path: String) throws -> FileStamp? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw RecError(.runtime, "cannot stat: \(String(cString: strerror(errno)))", file: path)
        }
        #if canImport(Darwin)
        let mtime = (Int64(st.st_mtimespec.tv_sec), Int64(st.st_mtimespec.tv_nsec))
        #else
        let mtime = (Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec))
        #endif
        let key = HashCache.Key(path: path, device: UInt64(st.st_dev), inode: UInt64(st.st_ino),
                                size: Int64(st.st_size), seconds: mtime.0, nanoseconds: mtime.1)
        if let hit = HashCache.shared[key] { return hit }
        let result = FileStamp(hash: try Hash.fileHex(path), bytes: Int(st.st_size))
        // Modification times tick coarsely (a few ms on Linux): a file rewritten in place with
        // the same size within one tick would keep its key. Only files left alone for a while
        // are cached; the others are hashed again next time.
        if Date().timeIntervalSince1970 - Double(mtime.0) > 2 {
            HashCache.shared[key] = result
        }
        return result
    }

    /// Whether a stage can be skipped: its last run succeeded with this program version, these
    /// settings and inputs that still hash the same, and its outputs are still what it wrote.
    ///
    /// The runner also reruns a stage when any stage before it reran, and on `--force`; this
    /// function only looks at the one stage.
    /// - Returns: `(true, "up to date")`, or false and the first reason found, for the log.
    /// - Complexity: one `stat` per file, plus one hash per file not seen unchanged before in
    ///   this process.
    static func upToDate(
        previous: StageRecord?, inputs: [String], outputs: [String], settings: JSONValue, version: String
    ) -> (Bool, reason: String) {
        guard let why = staleness(of: previous, inputs: inputs, outputs: outputs, settings: settings, version: version) else {
            return (true, "up to date")
        }
        let reason = switch why {
        case .noRecord: "no record of a previous run"
        case .failed: "the previous run did not succeed"
        case .version(let recorded): "program version changed (\(recorded) → \(version))"
        case .settings(let key): key.isEmpty ? "settings changed" : "setting \(key) changed"
        case .inputNotRecorded(let path): "input \(path) is new"
        case .inputMissing(let path): "input \(path) is missing"
        case .inputChanged(let path): "input \(path) changed"
        case .inputDropped(let path): "input \(path) is no longer used"
        case .outputNotRecorded(let path): "output \(path) was not recorded"
        case .outputChanged(let path): "output \(path) was changed or removed"
        }
        return (false, reason)
    }

    /// Why a stage's record no longer vouches for what it made: the one test behind both the
    /// runner's skip (`upToDate`) and the check of a stage run by hand (`Runner.checkUpstream`),
    /// which word it each for their readers.
    enum Staleness: Equatable {
        case noRecord
        /// The recorded run did not succeed.
        case failed
        /// Made by another program version (the recorded one).
        case version(String)
        /// Made under other settings: the dotted path of the first setting that differs ("" for
        /// the whole).
        case settings(String)
        /// An input the record does not list.
        case inputNotRecorded(String)
        case inputMissing(String)
        case inputChanged(String)
        /// A recorded input the stage no longer reads.
        case inputDropped(String)
        case outputNotRecorded(String)
        /// An output that is missing or not the file the stage wrote.
        case outputChanged(String)
    }

    /// The first reason `record` no longer vouches for `outputs`, made from `inputs` under
    /// `settings` by `version`; nil when it does. Checked in this order: the record, its
    /// success, the version, the settings, each input, inputs no longer read, each output.
    /// - Throws: only when hashing a file that exists fails.
    static func staleness(
        of record: StageRecord?, inputs: [String], outputs: [String], settings: JSONValue, version: String
    ) -> Staleness? {
        guard let record else { return .noRecord }
        guard record.success else { return .failed }
        guard record.version == version else { return .version(record.version) }
        if let key = firstDifference(record.settings, settings, at: "") { return .settings(key) }
        for path in inputs {
            guard let recorded = record.inputs[path] else { return .inputNotRecorded(path) }
            guard let now = try? stamp(path) else { return .inputMissing(path) }
            guard now == recorded else { return .inputChanged(path) }
        }
        if let dropped = record.inputs.keys.sorted().first(where: { !inputs.contains($0) }) { return .inputDropped(dropped) }
        for path in outputs {
            guard let recorded = record.outputs[path] else { return .outputNotRecorded(path) }
            guard let now = try? stamp(path), now == recorded else { return .outputChanged(path) }
        }
        return nil
    }

    /// Dotted path of the first key (in sorted order) whose values differ, "" for the root;
    /// nil when equal. Numbers compare by value, so `1` and `1.0` are the same setting.
    static func firstDifference(_ a: JSONValue, _ b: JSONValue, at path: String) -> String? {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            for key in Set(x.keys).union(y.keys).sorted() {
                let sub = path.isEmpty ? key : path + "." + key
                guard let u = x[key], let v = y[key] else { return sub }
                if let d = firstDifference(u, v, at: sub) { return d }
            }
            return nil
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return path }
            for (i, (u, v)) in zip(x, y).enumerated() {
                if let d = firstDifference(u, v, at: "\(path)[\(i)]") { return d }
            }
            return nil
        case (.int, .double), (.double, .int):
            return a.doubleValue == b.doubleValue ? nil : path
        default:
            return a == b ? nil : path
        }
    }
}

/// Hashes of files already read in this process.
final class HashCache: Sendable {
    struct Key: Hashable {
        var path: String
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var seconds: Int64
        var nanoseconds: Int64
    }

    static let shared = HashCache()
    private let stamps = Locked<[Key: FileStamp]>([:])

    subscript(key: Key) -> FileStamp? {
        get { stamps.withLock { $0[key] } }
        set { stamps.withLock { $0[key] = newValue } }
    }
}
