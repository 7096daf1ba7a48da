import Foundation

/// A bind mount of one folder on another (`mount --bind`), for tests of folders reached by two
/// paths. Needs root and a system that lets it mount: `make` returns nil where it cannot, and
/// the test then covers the same code with symbolic links only.
public final class BindMount {
    public let target: String

    private init(target: String) { self.target = target }

    /// Mounts `source` on `target` (created if missing); nil when mounting is not allowed here.
    public static func make(_ source: String, on target: String) -> BindMount? {
        try? FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        guard run("/usr/bin/mount", ["--bind", source, target]) else { return nil }
        return BindMount(target: target)
    }

    /// Unmounts, lazily (`umount -l`): detached at once even while a file in it is still open,
    /// as after a failed test. Call it before the folders are removed.
    public func unmount() {
        _ = BindMount.run("/usr/bin/umount", ["-l", target])
    }

    private static func run(_ tool: String, _ arguments: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: tool) else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}
