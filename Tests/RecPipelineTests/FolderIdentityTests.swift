import Foundation
import RecTestSupport
import Testing
@testable import RecPipeline

/// Folders are compared by identity (device, inode), not by the text of their paths: two paths
/// to one folder never make a run wait for its own lock, and overlapping folders are refused
/// however they are reached.
@Suite(.serialized) struct FolderIdentityTests {
    /// The ways a path can name `folder` (which exists, in `dir`) other than its plain path, by
    /// name: a symbolic link to it, a link to its parent, `..`, a trailing slash, doubled
    /// slashes, `.`, and a bind mount where this system allows one. Call `done` after.
    static func aliases(of folder: String, in dir: TempDir) throws -> (paths: [(form: String, path: String)], done: () -> Void) {
        let name = URL(fileURLWithPath: folder).lastPathComponent
        let parent = URL(fileURLWithPath: folder).deletingLastPathComponent().path
        let tag = UUID().uuidString.prefix(8)
        let link = dir.file("link-\(tag)"), parentLink = dir.file("parent-link-\(tag)")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: folder)
        try FileManager.default.createSymbolicLink(atPath: parentLink, withDestinationPath: parent)
        var paths: [(String, String)] = [
            ("symbolic link", link), ("link to the parent", parentLink + "/" + name), ("..", folder + "/../" + name),
            ("trailing slash", folder + "/"), ("//", parent + "//" + name), ("/./", parent + "/./" + name + "/."),
            ("link then ..", link + "/../" + name),
        ]
        var mounts: [BindMount] = []
        if let bind = BindMount.make(folder, on: dir.file("bind-\(tag)")) {
            mounts.append(bind)
            paths.append(("bind mount", bind.target))
        }
        return (paths, { for m in mounts { m.unmount() } })
    }

    /// Runs `body` on another thread; false when it has not returned within `seconds` (the
    /// thread is then left waiting: the test has failed).
    func finishes(within seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            body()
            done.signal()
        }
        return done.wait(timeout: .now() + seconds) == .success
    }

    @Test func lockDirectories_twoPathsToOneFolder_lockItOnce_andNeverWaitForThemselves() throws {
        let dir = try TempDir()
        let folder = dir.file("out")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (aliases, done) = try Self.aliases(of: folder, in: dir)
        defer { withExtendedLifetime(dir) { done() } }
        #expect(aliases.count >= 7)
        for (form, alias) in aliases {
            for order in [[folder, alias], [alias, folder], [alias, alias + "/", folder]] {
                let count = Counter()
                let returned = finishes(within: 10) {
                    guard let locks = try? RunLock.acquire(directories: order, wait: true) else { return }
                    count.set(locks.count)
                    for lock in locks { lock.release() }
                }
                #expect(returned, "\(form): a run waited for its own lock (\(order))")
                #expect(count.value == 1, "\(form): \(count.value) locks for one folder (\(order))")
            }
        }
    }

    @Test func lockDirectories_takeTheFoldersInIdentityOrder_whateverTheOrderGiven() throws {
        let dir = try TempDir()
        var folders: [String] = []
        for name in ["d", "b", "a", "c", "e"] {
            folders.append(dir.file(name))
            try FileManager.default.createDirectory(atPath: dir.file(name), withIntermediateDirectories: true)
        }
        let expected = folders.sorted { FileIdentity.of($0)! < FileIdentity.of($1)! }.map(RunLock.lockPath(directory:))
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<10 {
            let locks = try RunLock.acquire(directories: folders.shuffled(using: &rng), wait: false)
            #expect(locks.map(\.path) == expected)
            for lock in locks { lock.release() }
        }
    }

    /// For every path to the artefact folder: the same folder, a folder inside it as the
    /// output, and an artefact folder named as an export inside the output folder are refused.
    @Test func checkFolders_overlappingFoldersReachedByAnyPath_areRefused() throws {
        let dir = try TempDir()
        let art = dir.file("art"), out = dir.file("out")
        for folder in [art, out] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let (artAliases, doneArt) = try Self.aliases(of: art, in: dir)
        let (outAliases, doneOut) = try Self.aliases(of: out, in: dir)
        defer { withExtendedLifetime(dir) { doneArt(); doneOut() } }
        var cases: [(String, String, String, String)] = []
        for (form, alias) in artAliases {
            cases.append((form, art, alias, "are the same folder"))
            cases.append((form, alias, art, "are the same folder"))
            cases.append((form, art, alias + "/exports", "the output folder is inside the artefact folder"))
            cases.append((form, alias, art + "/exports/deeper", "the output folder is inside the artefact folder"))
        }
        for (form, alias) in outAliases {
            for export in ["metrics.json", "recommendations.csv", RunLock.fileName, FolderClaim.fileName] {
                cases.append((form, alias + "/" + export, out, "the artefact folder takes the name of an export"))
                cases.append((form, out + "/" + export + "/deeper", alias, "the artefact folder takes the name of an export"))
            }
        }
        for (form, artefacts, output, says) in cases {
            var c = PipelineConfig()
            (c.artefactDir, c.outputDir) = (artefacts, output)
            let e = recError { try c.checkFolders(file: "p.json") }
            #expect(e?.kind == .config && e?.message.contains(says) == true, "\(form): \(artefacts) / \(output): \(String(describing: e))")
        }
        // Separate folders, and the artefact folder inside the output folder under a path of
        // its own, stay accepted.
        for (form, alias) in outAliases {
            for (artefacts, output) in [(alias + "/artefacts", out), (art, alias), (out + "/artefacts", alias)] {
                var c = PipelineConfig()
                (c.artefactDir, c.outputDir) = (artefacts, output)
                #expect(throws: Never.self, "\(form): \(artefacts) / \(output)") { try c.checkFolders() }
            }
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var stored = 0
        var value: Int { lock.lock(); defer { lock.unlock() }; return stored }
        func set(_ v: Int) { lock.lock(); stored = v; lock.unlock() }
    }
}
