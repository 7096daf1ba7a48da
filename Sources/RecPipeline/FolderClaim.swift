import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RecCore
import RecStore

/// What names one file or folder whatever the path to it: its device and inode. Two paths
/// (a symbolic link, `..`, a doubled or trailing slash, a bind mount) name the same folder
/// exactly when their identities are equal; their texts need not be.
struct FileIdentity: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var device: UInt64
    var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// The identity of what `path` names, symbolic links followed; nil when nothing is there
    /// (or it cannot be reached).
    public static func of(_ path: String) -> FileIdentity? {
        var st = stat()
        guard !path.utf8.contains(0), stat(path, &st) == 0 else { return nil }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    public static func < (a: FileIdentity, b: FileIdentity) -> Bool {
        (a.device, a.inode) < (b.device, b.inode)
    }

    public var description: String { "device \(device), inode \(inode)" }
}

/// The settings file a configuration was loaded from: its real path (symbolic links resolved)
/// and its identity.
///
/// Two settings files are one configuration when either matches: the same real path (the
/// file was edited, even by an editor that writes a new file and renames it over the old one,
/// or is reached through a symbolic link), or the same device and inode (the file was moved
/// or renamed, or is a hard link). A copy at another path is another configuration.
public struct SettingsFileIdentity: Codable, Sendable, Equatable {
    /// The real path, symbolic links resolved.
    public var path: String
    public var device: UInt64
    var inode: UInt64

    public init(path: String, device: UInt64, inode: UInt64) {
        self.path = path
        self.device = device
        self.inode = inode
    }

    /// The identity of the settings file at `path`; nil when it cannot be resolved.
    public static func of(_ path: String) -> SettingsFileIdentity? {
        guard let id = FileIdentity.of(path), let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return SettingsFileIdentity(path: String(cString: p), device: id.device, inode: id.inode)
    }

    /// Whether `other` is the same configuration: the same real path, or the same file.
    func isSameConfiguration(as other: SettingsFileIdentity) -> Bool {
        path == other.path || (device == other.device && inode == other.inode)
    }
}

/// A folder belongs to one configuration: `<folder>/.rec-owner.json` names the settings file
/// that claimed it and in which role (`artefactDir` or `outputDir`).
///
/// Two configurations that shared a folder would overwrite each other's published files (a
/// set of lists of one beside the metrics of the other, a k=6 folder published with k=9
/// lists), and the locks only make them take turns. So a run claims both of its folders under
/// their locks, and a run of another configuration is refused with a settings error naming the
/// folder, the settings file that claimed it and the role, until the folder is handed over
/// (`--take-over`, or deleting the marker). A folder without a marker (one made before markers
/// existed, or a fresh one) is claimed by the first configuration that runs in it.
///
/// The marker is written atomically (temporary name, flush, rename) while the folder's lock
/// is held, so two runs can never both claim one folder. The same configuration in another
/// role (its settings changed so that its old artefact folder is now its output folder) is
/// its own; the folder checks of the settings decide whether one configuration's two folders
/// may overlap.
public enum FolderClaim {
    /// File name of the marker in each claimed folder.
    static let fileName = ".rec-owner.json"
    /// Largest marker read; anything bigger is not one of ours.
    static let maxMarkerBytes = 65_536

    /// Which folder of a configuration a folder is.
    public enum Role: String, Codable, Sendable, CaseIterable {
        case artefactDir, outputDir
    }

    /// The content of `.rec-owner.json`.
    public struct Marker: Codable, Sendable, Equatable {
        /// Format of the marker.
        public var version = 1
        public var role: Role
        /// The owning settings file's real path, device and inode.
        public var settingsFile: String
        public var device: UInt64
        var inode: UInt64
        /// A fresh id for each claim, and when and where it was made.
        var claimId: String
        public var claimed: String
        var host: String

        public var owner: SettingsFileIdentity { SettingsFileIdentity(path: settingsFile, device: device, inode: inode) }

        public init(role: Role, owner: SettingsFileIdentity, claimId: String = FolderClaim.newClaimId(), claimed: Date = Date()) {
            self.role = role
            settingsFile = owner.path
            device = owner.device
            inode = owner.inode
            self.claimId = claimId
            self.claimed = claimed.ISO8601Format()
            host = RunLock.hostName()
        }
    }

    /// A configuration's two folders and their roles.
    public static func folders(_ c: PipelineConfig) -> [(path: String, role: Role)] {
        [(c.paths.artefacts, .artefactDir), (c.paths.output, .outputDir)]
    }

    /// `<folder>/.rec-owner.json`.
    static func markerPath(_ folder: String) -> String {
        (folder.hasSuffix("/") ? folder : folder + "/") + fileName
    }

    /// Checks that each folder is free or already this configuration's and, with `claim`,
    /// claims it: writes a marker where there is none, where the role or the settings file's
    /// path or inode changed (the file was moved, or replaced by an editor), and where
    /// `takeOver` hands over another configuration's folder.
    ///
    /// `claim` must only be true while the run holds the folders' locks. Without it nothing is
    /// written: a run checks before it waits for a lock (so a foreign folder is refused at
    /// once), a dry run checks only, and a cluster job checks against the configuration that
    /// submitted it (`owner` from the cluster run's record, whatever settings file it reads).
    ///
    /// - Parameters:
    ///   - folders: the folders and their roles (`folders(_:)`).
    ///   - owner: the settings file of the configuration that runs; nil for one built in
    ///     code, which can use free folders but claims none.
    ///   - takeOver: hand another configuration's folders over to this one.
    ///   - claim: write the markers (under the locks only).
    /// - Returns: what was claimed or taken over, one line each, for the log.
    /// - Throws: `RecError(.config)` naming the folder, the settings file that claimed it and
    ///   its role, or a marker that cannot be read; `RecError(.runtime)` when a marker cannot
    ///   be written.
    @discardableResult
    public static func check(_ folders: [(path: String, role: Role)], owner: SettingsFileIdentity?,
                             takeOver: Bool, claim: Bool) throws -> [String] {
        var notes: [String] = []
        for (folder, role) in folders {
            try checkEnclosing(folder, role: role, owner: owner)
            let path = markerPath(folder)
            let marker: Marker?
            do {
                marker = try read(folder)
            } catch let e as RecError where takeOver {
                // A damaged marker is replaced by the configuration that takes the folder over.
                if claim, let owner {
                    try write(Marker(role: role, owner: owner), folder: folder)
                    notes.append("\(path) \(e.message); replaced by the claim of \(owner.path) as its \(role.rawValue)")
                }
                continue
            }
            guard let marker else {
                if claim, let owner {
                    try write(Marker(role: role, owner: owner), folder: folder)
                    notes.append("claimed \(folder) as the \(role.rawValue) of \(owner.path)")
                }
                continue
            }
            if let owner, marker.owner.isSameConfiguration(as: owner) {
                guard claim, marker.role != role || marker.owner != owner else { continue }
                var next = Marker(role: role, owner: owner)
                if marker.role == role { (next.claimId, next.claimed) = (marker.claimId, marker.claimed) }
                try write(next, folder: folder)
                if marker.role != role {
                    notes.append("\(folder): now the \(role.rawValue) of \(owner.path) (was its \(marker.role.rawValue))")
                }
                continue
            }
            guard takeOver else { throw refusal(folder: folder, role: role, marker: marker, owner: owner) }
            if claim, let owner {
                try write(Marker(role: role, owner: owner), folder: folder)
                notes.append("took \(folder) over from \(marker.settingsFile) (its \(marker.role.rawValue)) as the \(role.rawValue) of \(owner.path)")
            }
        }
        return notes
    }

    /// Names a configuration writes directly in its output folder.
    static let outputNames: Set<String> = Set(PipelineConfig.exportNames + [RunLock.fileName, fileName])

    /// Refuses a folder inside another configuration's artefact folder (whatever its name, that
    /// folder's content is the other configuration's), or directly inside another
    /// configuration's output folder under the name of a file published there. Folders are
    /// found along the path with symbolic links resolved; an ancestor's marker that cannot be
    /// read is no claim.
    static func checkEnclosing(_ folder: String, role: Role, owner: SettingsFileIdentity?) throws {
        var parts = try PipelineConfig.canonicalFolder(folder).path.split(separator: "/").map(String.init)
        var depth = 0
        while let name = parts.popLast() {
            depth += 1
            let parent = "/" + parts.joined(separator: "/")
            guard let marker = try? read(parent) else { continue } // unreadable: no claim (see above)
            if let owner, marker.owner.isSameConfiguration(as: owner) { continue }
            let inside: String
            if marker.role == .artefactDir {
                inside = "is inside \(parent), which was claimed as the artefactDir of \(marker.settingsFile) on \(marker.claimed): its content is that configuration's"
            } else if depth == 1 && outputNames.contains(name) {
                inside = "would take the place of \(name) in \(parent), which was claimed as the outputDir of \(marker.settingsFile) on \(marker.claimed)"
            } else {
                continue
            }
            throw RecError(.config, "'\(role.rawValue)' (\(folder)) \(inside)", file: markerPath(parent),
                           hint: "give this configuration folders of its own, outside the other configuration's")
        }
    }

    /// The error for a folder another configuration claimed.
    static func refusal(folder: String, role: Role, marker: Marker, owner: SettingsFileIdentity?) -> RecError {
        let this = owner.map { "the settings file \($0.path)" } ?? "this configuration"
        let cross = marker.role == role ? "" : " (this configuration would use it as its \(role.rawValue))"
        return RecError(
            .config,
            "'\(role.rawValue)' (\(folder)) belongs to another configuration: it was claimed as the \(marker.role.rawValue) of \(marker.settingsFile) on \(marker.claimed)\(cross); a folder serves one configuration, and \(this) would overwrite its files",
            file: markerPath(folder),
            hint: "give this configuration folders of its own; to hand the folder over to it, run it once with --take-over, or delete \(markerPath(folder))")
    }

    /// The marker of `folder`, or nil when it has none.
    /// - Throws: `RecError(.config)` naming the marker when it is not a regular file of ours
    ///   (a symbolic link, a folder, a FIFO, too big, not a marker's JSON).
    public static func read(_ folder: String) throws -> Marker? {
        let path = markerPath(folder)
        var st = stat()
        guard lstat(path, &st) == 0 else {
            let err = errno
            if err == ENOENT || err == ENOTDIR { return nil }
            throw damaged(path, "cannot be read: \(String(cString: strerror(err)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw damaged(path, "is \(PlainFile.describe(mode: st.st_mode)), not an owner marker") }
        guard Int(st.st_size) <= maxMarkerBytes else { throw damaged(path, "is \(st.st_size) bytes, not an owner marker") }
        let bytes: [UInt8]
        do { bytes = try PlainFile.read(path, kind: .config) } catch let e as RecError { throw damaged(path, e.message) }
        guard bytes.count <= maxMarkerBytes, let marker = try? JSONDecoder().decode(Marker.self, from: Data(bytes)), marker.version == 1 else {
            throw damaged(path, "is not an owner marker this program reads")
        }
        return marker
    }

    static func damaged(_ path: String, _ what: String) -> RecError {
        RecError(.config, "\(what); it should name the settings file that owns this folder", file: path,
                 hint: "if the folder is this configuration's, delete it or run with --take-over")
    }

    /// Writes a marker atomically.
    static func write(_ marker: Marker, folder: String) throws {
        try AtomicFile.write(try JSON.encodeString(marker, pretty: true) + "\n", to: markerPath(folder))
    }

    /// A fresh claim id: the time and randomness.
    public static func newClaimId() -> String {
        Date().ISO8601Format().filter { $0.isNumber } + "-" + String(UInt32.random(in: 0 ... .max), radix: 16)
    }
}
