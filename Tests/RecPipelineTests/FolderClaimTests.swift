import Foundation
import RecTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif
@testable import RecCore
@testable import RecStore
@testable import RecPipeline

/// A folder belongs to one configuration: claims, refusals, hand-overs, and what counts as the
/// same settings file.
@Suite struct FolderClaimTests {
    typealias Role = FolderClaim.Role

    /// A settings file at `name` in `dir` and its identity.
    func settings(_ dir: TempDir, _ name: String, _ text: String = "{}\n") throws -> SettingsFileIdentity {
        try text.write(toFile: dir.file(name), atomically: false, encoding: .utf8)
        return try #require(SettingsFileIdentity.of(dir.file(name)))
    }

    func makeFolder(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Paths that name `folder` (which exists, inside `dir`) without being its plain path: a
    /// symbolic link, `..`, a trailing slash, doubled slashes, `.`.
    func aliases(of folder: String, in dir: TempDir) throws -> [String] {
        let name = URL(fileURLWithPath: folder).lastPathComponent
        let link = dir.file("link-to-\(name)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: folder)
        let parent = URL(fileURLWithPath: folder).deletingLastPathComponent().path
        return [folder, link, folder + "/", folder + "/../" + name, parent + "//" + name, parent + "/./" + name + "//",
                link + "/../" + name]
    }

    @Test func claim_ofFreeFolders_writesMarkersNamingTheSettingsFileAndRole() throws {
        let dir = try TempDir()
        let a = try settings(dir, "a.json")
        let folders: [(path: String, role: Role)] = [(dir.file("art"), .artefactDir), (dir.file("out"), .outputDir)]
        for f in folders { try makeFolder(f.path) }
        let notes = try FolderClaim.check(folders, owner: a, takeOver: false, claim: true)
        #expect(notes.count == 2)
        for (path, role) in folders {
            let marker = try #require(try FolderClaim.read(path))
            #expect(marker.role == role && marker.owner == a && marker.settingsFile == a.path)
            let id = try #require(FileIdentity.of(dir.file("a.json")))
            #expect(marker.device == id.device && marker.inode == id.inode)
            #expect(!marker.claimId.isEmpty && !marker.claimed.isEmpty)
        }
        // A second claim by the same file writes nothing new.
        let before = try folders.map { try AtomicFile.read(FolderClaim.markerPath($0.path)) }
        #expect(try FolderClaim.check(folders, owner: a, takeOver: false, claim: true).isEmpty)
        #expect(try folders.map { try AtomicFile.read(FolderClaim.markerPath($0.path)) } == before)
    }

    /// Every combination of the two roles, every path to the folder: another configuration is
    /// refused, with a message naming the folder, the owner's settings file and its role and
    /// how to hand it over, and the marker is left as it was.
    @Test func folderOfAnotherConfiguration_isRefused_inEitherRole_byAnyPathToIt() throws {
        let dir = try TempDir()
        let a = try settings(dir, "a.json"), b = try settings(dir, "b.json")
        for claimedAs in Role.allCases {
            for usedAs in Role.allCases {
                let folder = dir.file("f-\(claimedAs)-\(usedAs)")
                try makeFolder(folder)
                try FolderClaim.check([(folder, claimedAs)], owner: a, takeOver: false, claim: true)
                let marker = try AtomicFile.read(FolderClaim.markerPath(folder))
                for path in try aliases(of: folder, in: dir) {
                    for claim in [false, true] {
                        let e = try #require(recError { try FolderClaim.check([(path, usedAs)], owner: b, takeOver: false, claim: claim) })
                        #expect(e.kind == .config, "\(e)")
                        #expect(e.message.contains("'\(usedAs.rawValue)' (\(path))") && e.message.contains(a.path)
                                && e.message.contains("as the \(claimedAs.rawValue) of"), "\(e)")
                        #expect(e.hint?.contains("--take-over") == true && e.hint?.contains(FolderClaim.fileName) == true, "\(e)")
                        #expect(e.message.contains("the settings file \(b.path)"), "\(e)")
                        #expect(try AtomicFile.read(FolderClaim.markerPath(folder)) == marker, "\(path): the marker changed")
                    }
                }
                // A configuration built in code (no settings file) is refused too.
                #expect(recError { try FolderClaim.check([(folder, usedAs)], owner: nil, takeOver: false, claim: true) }?.kind == .config)
            }
        }
    }

    @Test func takeOver_handsTheFolderOver_andTheFormerOwnerIsThenRefused() throws {
        let dir = try TempDir()
        let a = try settings(dir, "a.json"), b = try settings(dir, "b.json")
        let folder = dir.file("shared")
        try makeFolder(folder)
        try FolderClaim.check([(folder, .artefactDir)], owner: a, takeOver: false, claim: true)
        let first = try #require(try FolderClaim.read(folder))
        // Checking with --take-over (a dry run, or before the lock) writes nothing.
        try FolderClaim.check([(folder, .outputDir)], owner: b, takeOver: true, claim: false)
        #expect(try FolderClaim.read(folder) == first)
        let notes = try FolderClaim.check([(folder, .outputDir)], owner: b, takeOver: true, claim: true)
        #expect(notes.count == 1 && notes[0].contains(a.path) && notes[0].contains(b.path), "\(notes)")
        let now = try #require(try FolderClaim.read(folder))
        #expect(now.owner == b && now.role == .outputDir && now.claimId != first.claimId)
        let e = try #require(recError { try FolderClaim.check([(folder, .artefactDir)], owner: a, takeOver: false, claim: true) })
        #expect(e.kind == .config && e.message.contains(b.path) && e.message.contains("as the outputDir of"), "\(e)")
        // The manual way: without the marker the folder is free again.
        try FileManager.default.removeItem(atPath: FolderClaim.markerPath(folder))
        try FolderClaim.check([(folder, .artefactDir)], owner: a, takeOver: false, claim: true)
        #expect(try FolderClaim.read(folder)?.owner == a)
    }

    /// The same settings file however it was changed or reached keeps its folders, and the
    /// marker follows it; a copy, or a file both moved and replaced, is another configuration.
    @Test(arguments: ["edited in place", "replaced by an editor", "moved", "symbolic link", "hard link", "copy", "moved and replaced"])
    func sameSettingsFile_changedOrReachedAnotherWay_ownsItsFolders_aCopyDoesNot(change: String) throws {
        let dir = try TempDir()
        let original = try settings(dir, "pipeline.json", #"{"score": {"k": 6}}"#)
        let folders: [(path: String, role: Role)] = [(dir.file("art"), .artefactDir), (dir.file("out"), .outputDir)]
        for f in folders { try makeFolder(f.path) }
        try FolderClaim.check(folders, owner: original, takeOver: false, claim: true)
        let path = dir.file("pipeline.json")
        var now = path
        let owns: Bool
        switch change {
        case "edited in place":
            let h = try #require(FileHandle(forWritingAtPath: path))
            try h.truncate(atOffset: 0)
            try h.write(contentsOf: Data(#"{"score": {"k": 9}}"#.utf8))
            try h.close()
            owns = true
        case "replaced by an editor":
            try #"{"score": {"k": 9}}"#.write(toFile: path + ".swp", atomically: false, encoding: .utf8)
            #expect(rename(path + ".swp", path) == 0)
            owns = true
        case "moved":
            now = dir.file("renamed.json")
            #expect(rename(path, now) == 0)
            owns = true
        case "symbolic link":
            now = dir.file("current.json")
            try FileManager.default.createSymbolicLink(atPath: now, withDestinationPath: "pipeline.json")
            owns = true
        case "hard link":
            now = dir.file("hard.json")
            #expect(link(path, now) == 0)
            owns = true
        case "copy":
            now = dir.file("copy.json")
            try FileManager.default.copyItem(atPath: path, toPath: now)
            owns = false
        default:  // moved, then a new file written at the new place
            now = dir.file("renamed.json")
            #expect(rename(path, now) == 0)
            try #"{"score": {"k": 9}}"#.write(toFile: now + ".swp", atomically: false, encoding: .utf8)
            #expect(rename(now + ".swp", now) == 0)
            owns = false
        }
        let identity = try #require(SettingsFileIdentity.of(now))
        #expect(identity.isSameConfiguration(as: original) == owns)
        if owns {
            try FolderClaim.check(folders, owner: identity, takeOver: false, claim: true)
            for (folder, role) in folders {
                let marker = try #require(try FolderClaim.read(folder))
                #expect(marker.role == role && marker.owner == identity, "the marker follows the settings file")
            }
            // The original path still owns them after an edit (only the inode moved on).
            if ["edited in place", "replaced by an editor"].contains(change) {
                let edited = try #require(SettingsFileIdentity.of(path))
                try FolderClaim.check(folders, owner: edited, takeOver: false, claim: false)
            }
        } else {
            let e = try #require(recError { try FolderClaim.check(folders, owner: identity, takeOver: false, claim: true) })
            #expect(e.kind == .config && e.message.contains(original.path), "\(e)")
        }
    }

    /// Inside another configuration's artefact folder, at any depth and by any path, nothing of
    /// another configuration may go; inside its output folder, nothing under the name of a file
    /// it publishes there. Other folders nested in an output folder (`output/ml-25m`) are fine.
    @Test func folderInsideAnotherConfigurationsArtefactFolder_orInPlaceOfItsExports_isRefused() throws {
        let dir = try TempDir()
        let a = try settings(dir, "a.json"), b = try settings(dir, "b.json")
        let art = dir.file("a-art"), out = dir.file("a-out")
        for f in [art, out] { try makeFolder(f) }
        try FolderClaim.check([(art, .artefactDir), (out, .outputDir)], owner: a, takeOver: false, claim: true)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link"), withDestinationPath: art)
        var refused = [art + "/b", art + "/b/c/d", dir.file("link/b"), art + "/manifests", out + "/../a-art/x"]
        refused += (PipelineConfig.exportNames + [RunLock.fileName, FolderClaim.fileName]).map { out + "/" + $0 }
        for folder in refused {
            for role in Role.allCases {
                for takeOver in [false, true] {
                    let e = try #require(recError { try FolderClaim.check([(folder, role)], owner: b, takeOver: takeOver, claim: true) }, "\(folder)")
                    #expect(e.kind == .config && e.message.contains("'\(role.rawValue)' (\(folder))") && e.message.contains(a.path), "\(e)")
                    #expect(e.file == FolderClaim.markerPath(folder.contains("a-art") || folder.contains("link") ? art : out), "\(e)")
                }
            }
            #expect(!FileManager.default.fileExists(atPath: FolderClaim.markerPath(folder)))
        }
        for folder in [out + "/ml-25m", out + "/ml-25m/artefacts", out + "/metrics", dir.path, dir.file("elsewhere")] {
            try FolderClaim.check([(folder, .outputDir)], owner: b, takeOver: false, claim: false)
        }
        // The owner itself may nest its folders as its settings allow.
        try FolderClaim.check([(out + "/artefacts", .artefactDir), (art + "/sub", .outputDir)], owner: a, takeOver: false, claim: false)
    }

    @Test func sameConfigurationInTheOtherRole_keepsTheFolder_andTheMarkerSaysItsNewRole() throws {
        let dir = try TempDir()
        let a = try settings(dir, "a.json")
        let folder = dir.file("f")
        try makeFolder(folder)
        try FolderClaim.check([(folder, .artefactDir)], owner: a, takeOver: false, claim: true)
        let notes = try FolderClaim.check([(folder, .outputDir)], owner: a, takeOver: false, claim: true)
        #expect(notes.count == 1 && notes[0].contains("was its artefactDir"), "\(notes)")
        #expect(try FolderClaim.read(folder)?.role == .outputDir)
    }

    /// A marker that is not one of ours is never followed nor trusted: a settings error naming
    /// it, unless the folder is taken over, which replaces it.
    @Test(arguments: ["garbage", "empty", "wrong version", "symbolic link", "folder", "FIFO", "too big", "JSON of another kind"])
    func damagedMarker_isRefusedNamingIt_andTakeOverReplacesIt(kind: String) throws {
        let dir = try TempDir()
        let a = try settings(dir, "a.json"), b = try settings(dir, "b.json")
        let folder = dir.file("f"), other = dir.file("other")
        try makeFolder(folder)
        try makeFolder(other)
        try FolderClaim.check([(other, .outputDir)], owner: b, takeOver: false, claim: true)
        let path = FolderClaim.markerPath(folder)
        var valid = try JSON.encodeString(FolderClaim.Marker(role: .outputDir, owner: a))
        switch kind {
        case "garbage": try Data([0xFF, 0x00, 0x7B, 0x22]).write(to: URL(fileURLWithPath: path))
        case "empty": try Data().write(to: URL(fileURLWithPath: path))
        case "wrong version":
            valid = valid.replacingOccurrences(of: "\"version\":1", with: "\"version\":2")
            try valid.write(toFile: path, atomically: false, encoding: .utf8)
        case "symbolic link": try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: FolderClaim.markerPath(other))
        case "folder": try makeFolder(path)
        case "FIFO": #expect(mkfifo(path, 0o644) == 0)
        case "too big": try Data(repeating: 0x20, count: FolderClaim.maxMarkerBytes + 1).write(to: URL(fileURLWithPath: path))
        default: try #"{"runId": "x", "shards": 2}"#.write(toFile: path, atomically: false, encoding: .utf8)
        }
        for owner in [a, b] {
            let e = try #require(recError { try FolderClaim.check([(folder, .artefactDir)], owner: owner, takeOver: false, claim: true) })
            #expect(e.kind == .config && e.file == path && e.hint?.contains("--take-over") == true, "\(e)")
        }
        if kind == "folder" {
            // A folder in the marker's place cannot be replaced: an error, never a crash.
            #expect(recError { try FolderClaim.check([(folder, .artefactDir)], owner: a, takeOver: true, claim: true) } != nil)
            return
        }
        try FolderClaim.check([(folder, .artefactDir)], owner: a, takeOver: true, claim: true)
        #expect(try FolderClaim.read(folder)?.owner == a)
        // The marker another folder holds, which the link pointed at, is untouched.
        #expect(try FolderClaim.read(other)?.owner == b)
    }

    @Test func configurationBuiltInCode_usesFreeFolders_butClaimsNone() throws {
        let dir = try TempDir()
        let folder = dir.file("f")
        try makeFolder(folder)
        #expect(try FolderClaim.check([(folder, .outputDir)], owner: nil, takeOver: false, claim: true).isEmpty)
        #expect(try FolderClaim.read(folder) == nil)
    }

    @Test func loadedSettings_carryTheirFilesIdentity() throws {
        let dir = try TempDir()
        try #"{"score": {"k": 4}}"#.write(toFile: dir.file("pipeline.json"), atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link.json"), withDestinationPath: "pipeline.json")
        let direct = try PipelineConfig.load(dir.file("pipeline.json"))
        let linked = try PipelineConfig.load(dir.file("link.json"))
        let id = try #require(direct.settingsFile)
        #expect(id == linked.settingsFile)
        #expect(id.path.hasSuffix("/pipeline.json") && !id.path.contains("/../"))
        #expect(FileIdentity(device: id.device, inode: id.inode) == FileIdentity.of(dir.file("pipeline.json")))
    }
}
