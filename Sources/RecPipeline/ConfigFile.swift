import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RecCore
import RecStore

/// The settings file as bytes on disk: reading it, refusing duplicate keys, and the checks of
/// the two folders that need the file's location.
extension PipelineConfig {
    /// Largest settings file read: far above any real one (the repository's are under 2 kB).
    static let maxSettingsBytes = 1 << 20

    /// Reads the settings file. A missing or unsuitable file is a settings error (exit code
    /// 2) naming the path it looked at and, for a relative path, the folder it was taken from.
    static func readSettingsFile(_ path: String) throws -> [UInt8] {
        let absolute = URL(fileURLWithPath: path).standardized.path
        func located(_ error: RecError) -> RecError {
            var e = error
            if e.message == "file not found" { e.message = "settings file not found" }
            e.file = absolute
            if !path.hasPrefix("/") {
                let cwd = FileManager.default.currentDirectoryPath
                e.hint = "--config \(path) was taken relative to the working folder \(cwd); pass --config PATH"
            }
            return e
        }
        // A settings file is a few kB: a huge one is refused before its size sizes a buffer.
        let size: Int
        do {
            let (fd, bytes) = try PlainFile.open(path, kind: .config)
            close(fd)
            size = bytes
        } catch let e as RecError {
            throw located(e)
        }
        guard size <= maxSettingsBytes else {
            throw RecError(.config, "is \(size) bytes, more than a settings file may be (\(maxSettingsBytes) bytes)", file: absolute)
        }
        do {
            return try PlainFile.read(path, kind: .config)
        } catch let e as RecError {
            throw located(e)
        }
    }

    /// Settings from the bytes of a settings file: JSON, no key given twice in one object,
    /// then as `parse(_:file:)`. The paths stay relative (see `load` for the folder).
    /// - Throws: `RecError(.config)` naming `file` (and the line of a duplicate key).
    public static func parse(bytes: [UInt8], file: String = "pipeline.json") throws -> PipelineConfig {
        let user: JSONValue
        do {
            user = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw RecError(.config, "not valid JSON: \(describeJSONError(error))", file: file)
        }
        if let duplicate = JSONDuplicateKeys.first(in: bytes) {
            throw RecError(.config, "'\(duplicate.path)' is given twice", file: file, line: duplicate.line,
                           hint: "keep one: JSON readers disagree on which one counts")
        }
        return try parse(user, file: file)
    }

    /// Foundation's message for a JSON syntax error (it names no position).
    static func describeJSONError(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let c) = error { return c.debugDescription }
        // Valid JSON syntax whose value no JSON type of Swift holds: a number beyond a Double's
        // range (1e309), or a string with an unpaired surrogate escape (\ud800).
        if case DecodingError.typeMismatch(_, let c) = error, !c.codingPath.isEmpty {
            let path = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return "'\(path.hasPrefix(".") ? String(path.dropFirst()) : path)' cannot be read: a number beyond ±1.8e308, or text with an unpaired \\u surrogate escape"
        }
        return "\(error)"
    }

    /// The file names `rec-export` publishes in the output folder.
    static let exportNames = ["recommendations.csv", "recommendations.jsonl", "metrics.json", "report.html"]

    /// Checks the two folders once the settings file's folder is known: each must be a folder
    /// (or not exist yet, below a folder), and they must not overlap so that a stage's files
    /// sit among the exports. `artefactDir` inside `outputDir` (the default,
    /// `output/artefacts`) is fine, unless it takes an export's name; the same folder, or
    /// `outputDir` inside `artefactDir`, is refused: `rec-score` keeps the next metrics and
    /// report in `artefactDir` until `rec-export` publishes them, and a run killed between the
    /// two would leave them beside the previous run's recommendations.
    /// - Throws: `RecError(.config)` naming the setting, its path and `file`.
    public func checkFolders(file: String = "pipeline.json") throws {
        let folders = [("artefactDir", resolve(artefactDir)), ("outputDir", resolve(outputDir))]
        var real: [String] = []
        for (key, path) in folders {
            guard !path.utf8.contains(0), path.utf8.count < Int(PATH_MAX) else {
                throw RecError(.config, "'\(key)' is not a usable path (a NUL character, or longer than \(PATH_MAX) bytes)", file: file)
            }
            let canonical: String, notAFolder: String?
            do {
                (canonical, notAFolder) = try PipelineConfig.canonicalFolder(path)
            } catch var e as RecError {
                e.message = "'\(key)' is \(path), but " + e.message
                e.file = file
                throw e
            }
            if let notAFolder {
                throw RecError(.config, "'\(key)' is \(path), but \(notAFolder) is a file, not a folder", file: file)
            }
            real.append(canonical)
        }
        let (art, out) = (real[0], real[1])
        let names = "'artefactDir' (\(folders[0].1)) and 'outputDir' (\(folders[1].1))"
        let hint = "give the artefacts a folder of their own, such as the default output/artefacts"
        // By path and by identity (device, inode): two paths can name one folder (a bind
        // mount), and a folder's parents are found by identity along the path.
        let (artID, outID) = (FileIdentity.of(art), FileIdentity.of(out))
        if art == out || (artID != nil && artID == outID) {
            throw RecError(.config, "\(names) are the same folder: the staged metrics would sit among the exports", file: file, hint: hint)
        }
        if out.hasPrefix(art + "/") || art == "/" || (artID != nil && PipelineConfig.ancestors(out).contains { $0.id == artID }) {
            throw RecError(.config, "\(names): the output folder is inside the artefact folder", file: file, hint: hint)
        }
        var first: String?
        if art.hasPrefix(out + "/") || out == "/" {
            first = art.dropFirst(out == "/" ? 1 : out.count + 1).split(separator: "/").first.map(String.init) ?? ""
        } else if let outID, let below = PipelineConfig.ancestors(art).first(where: { $0.id == outID })?.child {
            first = below
        }
        if let first, PipelineConfig.exportNames.contains(first) || first == RunLock.fileName || first == FolderClaim.fileName
            || AtomicFile.isTemporary(first) {
            throw RecError(.config, "\(names): the artefact folder takes the name of an export", file: file, hint: hint)
        }
    }

    /// The existing folders that hold a canonical path (its parent, its parent's parent, … the
    /// root), nearest first, each with its identity and the name of its child on the path.
    static func ancestors(_ canonical: String) -> [(id: FileIdentity, child: String)] {
        var parts = canonical.split(separator: "/").map(String.init)
        var out: [(FileIdentity, String)] = []
        while let child = parts.popLast() {
            if let id = FileIdentity.of("/" + parts.joined(separator: "/")) { out.append((id, child)) }
        }
        return out
    }

    /// A folder's path with every symbolic link of its existing part resolved and `.`/`..`
    /// removed, and the first existing part that is not a folder, if any.
    /// - Throws: `RecError(.config)` when the real path is not UTF-8.
    static func canonicalFolder(_ path: String) throws -> (path: String, notAFolder: String?) {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let parts = absolute.split(separator: "/").map(String.init)
        // The longest prefix that exists (the root always does); the rest is applied as text,
        // as `mkdir -p` will create it.
        for n in stride(from: parts.count, through: 0, by: -1) {
            let prefix = "/" + parts[0..<n].joined(separator: "/")
            guard let p = realpath(prefix, nil) else { continue }
            defer { free(p) }
            // A symbolic link may lead to a folder whose name is not UTF-8.
            let base = try OSPaths.string(cString: p, what: "the real path of \(prefix)")
            var st = stat()
            if stat(base, &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR { return (base, prefix) }
            var out = base.split(separator: "/").map(String.init)
            for part in parts[n...] where part != "." {
                if part == ".." { _ = out.popLast() } else { out.append(part) }
            }
            return ("/" + out.joined(separator: "/"), nil)
        }
        return (absolute, nil)
    }
}
