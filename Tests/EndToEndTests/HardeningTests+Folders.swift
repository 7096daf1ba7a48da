import Foundation
import Testing
@testable import RecPipeline

/// A folder belongs to one configuration: another settings file using it, in either role and
/// by any path, is refused by every executable with code 2 before it writes anything; the
/// same settings file keeps its folders however it is edited, moved or linked; `--take-over`
/// (or deleting the marker) hands a folder over.
extension HardeningTests {
    static let folderExecutables = ["rec-ingest", "rec-split", "rec-build-matrix", "rec-train", "rec-score", "rec-export", "rec-pipeline"]

    /// Every file under `dir` (the lock files aside: a run that ends empties its lock) and its bytes.
    func snapshot(_ dir: String) -> [String: Data] {
        var files: [String: Data] = [:]
        let walker = FileManager.default.enumerator(atPath: dir)
        while let name = walker?.nextObject() as? String {
            guard !name.hasSuffix(RunLock.fileName), let data = FileManager.default.contents(atPath: dir + "/" + name) else { continue }
            files[name] = data
        }
        return files
    }

    /// The largest rank in a published CSV (the k it was made with).
    func publishedK(_ dir: String) throws -> Int? {
        parseCSV(try read(dir + "/recommendations.csv")).dropFirst().compactMap { Int($0[1]) }.max()
    }

    /// A settings file's real path, as the markers and messages name it.
    func realPath(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().path }

    @Test func secondConfigurationOnTheFirstsArtefactFolder_isRefusedWithCode2ByEveryExecutable_andNothingOfTheFirstChanges() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        #expect(try run("rec-pipeline", ["--config", f.configPath, "--quiet"]).status == 0)
        let before = snapshot(f.path("output"))
        #expect(before[FolderClaim.fileName] != nil && before["artefacts/" + FolderClaim.fileName] != nil)
        // Only outputDir and k differ: the artefact folder is the default, shared.
        let other = try writeConfig(f, "other.json") { $0["outputDir"] = "elsewhere"; $0["score"] = ["k": 3] }
        for exe in Self.folderExecutables {
            for extra in exe == "rec-pipeline" ? [[], ["--wait"], ["--force"], ["--dry-run"]] : [[], ["--wait"]] {
                let r = try run(exe, ["--config", other] + extra)
                #expect(r.status == 2, "\(exe) \(extra): \(r.status) \(r.stderr)")
                for says in ["'artefactDir' (\(f.path("output/artefacts")))", realPath(f.configPath), "as the artefactDir of", "--take-over",
                             f.path("output/artefacts/" + FolderClaim.fileName)] {
                    #expect(r.stderr.contains(says), "\(exe) \(extra) does not say \(says): \(r.stderr)")
                }
            }
        }
        #expect(snapshot(f.path("output")) == before, "the first configuration's files changed")
        #expect(!FileManager.default.fileExists(atPath: f.path("elsewhere")), "a refused run made its output folder")
    }

    /// One configuration's output folder as another's, its artefact folder as another's output
    /// folder or the other way round, or a folder inside its artefact folder, by its path or
    /// another path to it.
    @Test func folderOfOneConfiguration_inEitherRole_isRefused_byAnyPathToIt() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        #expect(try run("rec-pipeline", ["--config", f.configPath, "--quiet"]).status == 0)
        try FileManager.default.createSymbolicLink(atPath: f.path("link-to-output"), withDestinationPath: f.path("output"))
        let before = snapshot(f.path("output"))
        let cases: [(artefacts: String, output: String, key: String, claimedAs: String)] = [
            ("b-artefacts", "output", "outputDir", "outputDir"),
            ("b-artefacts", "link-to-output", "outputDir", "outputDir"),
            ("b-artefacts", "output/artefacts", "outputDir", "artefactDir"),
            ("b-artefacts", "link-to-output/artefacts/", "outputDir", "artefactDir"),
            ("b-artefacts", "b-artefacts/../output/artefacts", "outputDir", "artefactDir"),
            ("output", "b-output", "artefactDir", "outputDir"),
            ("link-to-output", "b-output", "artefactDir", "outputDir"),
            ("./output//", "b-output", "artefactDir", "outputDir"),
            // Inside the other configuration's artefact folder: its content is that configuration's.
            ("b-artefacts", "output/artefacts/b-output", "outputDir", "artefactDir"),
            ("link-to-output/artefacts/deep/b-artefacts", "b-output", "artefactDir", "artefactDir"),
        ]
        for c in cases {
            let b = try writeConfig(f, "b.json") { $0["artefactDir"] = c.artefacts; $0["outputDir"] = c.output }
            for exe in ["rec-pipeline", "rec-score"] {
                let r = try run(exe, ["--config", b])
                #expect(r.status == 2, "\(exe), \(c): \(r.stderr)")
                #expect(r.stderr.contains("'\(c.key)'") && r.stderr.contains("as the \(c.claimedAs) of \(realPath(f.configPath))"), "\(c): \(r.stderr)")
            }
        }
        #expect(snapshot(f.path("output")) == before, "the first configuration's files changed")
        for folder in ["b-artefacts", "b-output"] {
            #expect(!FileManager.default.fileExists(atPath: f.path(folder + "/recommendations.csv")))
            #expect(!FileManager.default.fileExists(atPath: f.path(folder + "/ratings.art")))
        }
    }

    @Test func takeOver_handsTheFoldersOver_theFormerOwnerIsThenRefused_andDeletingTheMarkersFreesThem() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        #expect(try run("rec-pipeline", ["--config", f.configPath, "--quiet"]).status == 0)
        #expect(try publishedK(f.path("output")) == 5)
        // A second settings file for the same two folders (a copy, then edited).
        let b = try writeConfig(f, "b.json") { $0["score"] = ["k": 3] }
        #expect(try run("rec-pipeline", ["--config", b]).status == 2)
        #expect(try publishedK(f.path("output")) == 5, "a refused run published")
        let taken = try run("rec-pipeline", ["--config", b, "--take-over"])
        #expect(taken.status == 0, "\(taken.stderr)")
        #expect(taken.stderr.contains("took \(f.path("output")) over from \(realPath(f.configPath))"), "\(taken.stderr)")
        #expect(try publishedK(f.path("output")) == 3)
        for folder in ["output", "output/artefacts"] {
            let marker = try #require(try FolderClaim.read(f.path(folder)))
            #expect(marker.settingsFile == realPath(b))
        }
        // The former owner is refused now, naming the new one; so is its stage run by hand.
        for exe in ["rec-pipeline", "rec-export"] {
            let r = try run(exe, ["--config", f.configPath])
            #expect(r.status == 2 && r.stderr.contains(realPath(b)), "\(exe): \(r.stderr)")
        }
        #expect(try publishedK(f.path("output")) == 3)
        // The manual way: deleting the markers frees the folders for the next run.
        for folder in ["output", "output/artefacts"] { try FileManager.default.removeItem(atPath: f.path(folder + "/" + FolderClaim.fileName)) }
        let back = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try publishedK(f.path("output")) == 5)
        #expect(try FolderClaim.read(f.path("output"))?.settingsFile == realPath(f.configPath))
        #expect(try run("rec-score", ["--config", b]).status == 2)
    }

    /// The same settings file, edited in place, replaced by an editor that writes a new file,
    /// reached through a symbolic link or moved, keeps its folders; a copy of it does not.
    @Test func sameSettingsFile_editedReplacedLinkedOrMoved_keepsItsFolders_aCopyDoesNot() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        // Absolute folders, so that the moved file names the same ones.
        try f.setConfig { $0["artefactDir"] = f.path("output/artefacts"); $0["outputDir"] = f.path("output") }
        #expect(try run("rec-pipeline", ["--config", f.configPath, "--quiet"]).status == 0)
        func settings(k: Int) throws -> Data {
            var c = try JSONSerialization.jsonObject(with: bytes(f.configPath)) as! [String: Any]
            c["score"] = ["k": k]
            return try JSONSerialization.data(withJSONObject: c, options: [.sortedKeys])
        }
        // Edited in place (same inode).
        let inPlace = try settings(k: 3)
        let h = try #require(FileHandle(forWritingAtPath: f.configPath))
        try h.truncate(atOffset: 0)
        try h.write(contentsOf: inPlace)
        try h.close()
        var r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(r.status == 0, "edited in place: \(r.stderr)")
        #expect(try publishedK(f.path("output")) == 3)
        // Replaced as vim and most editors save: a new file renamed over the old one.
        try settings(k: 4).write(to: URL(fileURLWithPath: f.path("pipeline.json.swp")))
        #expect(rename(f.path("pipeline.json.swp"), f.configPath) == 0)
        r = try run("rec-pipeline", ["--config", f.configPath, "--quiet"])
        #expect(r.status == 0, "replaced: \(r.stderr)")
        #expect(try publishedK(f.path("output")) == 4)
        // Through a symbolic link.
        try FileManager.default.createSymbolicLink(atPath: f.path("current.json"), withDestinationPath: "pipeline.json")
        r = try run("rec-score", ["--config", f.path("current.json"), "--quiet"])
        #expect(r.status == 0, "linked: \(r.stderr)")
        // Moved into another folder.
        try FileManager.default.createDirectory(atPath: f.path("etc"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.path(f.ratingsName), toPath: f.path("etc/" + f.ratingsName))
        try FileManager.default.copyItem(atPath: f.path(f.moviesName), toPath: f.path("etc/" + f.moviesName))
        #expect(rename(f.configPath, f.path("etc/pipeline.json")) == 0)
        r = try run("rec-pipeline", ["--config", f.path("etc/pipeline.json"), "--quiet"])
        #expect(r.status == 0, "moved: \(r.stderr)")
        #expect(try FolderClaim.read(f.path("output"))?.settingsFile == realPath(f.path("etc/pipeline.json")), "the marker follows the file")
        // A copy is another configuration.
        try FileManager.default.copyItem(atPath: f.path("etc/pipeline.json"), toPath: f.path("etc/copy.json"))
        r = try run("rec-pipeline", ["--config", f.path("etc/copy.json")])
        #expect(r.status == 2 && r.stderr.contains(realPath(f.path("etc/pipeline.json"))), "copy: \(r.stderr)")
    }

    /// Two paths to one folder as artefactDir and outputDir (a symbolic link, `..`, a bind
    /// mount where this system allows one): a settings error at once, even with --wait, never
    /// a run waiting for its own lock.
    @Test func artefactAndOutputFolderOneFolderByTwoPaths_isRefusedAtOnce_evenWithWait() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        try FileManager.default.createDirectory(atPath: f.path("output"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: f.path("alias"), withDestinationPath: "output")
        var cases = [("alias", "output"), ("output", "alias/"), ("alias/../output", "output"), ("output//", "./alias")]
        let mountPoint = f.path("bound")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mounted = (try? runTool("mount", ["--bind", f.path("output"), mountPoint]))?.status == 0
        defer { if mounted { _ = try? runTool("umount", ["-l", mountPoint]) } }
        if mounted { cases += [("bound", "output"), ("output", "bound"), ("bound", "alias/artefacts-out")] }
        for (artefacts, output) in cases {
            try f.setConfig { $0["artefactDir"] = artefacts; $0["outputDir"] = output }
            for exe in ["rec-pipeline", "rec-ingest"] {
                let (r, timedOut) = try runBounded(exe, ["--config", f.configPath, "--wait"])
                #expect(!timedOut, "\(exe), \(artefacts) / \(output): hung")
                #expect(r.status == 2 && r.stderr.contains("artefactDir") && r.stderr.contains("outputDir"), "\(exe), \(artefacts) / \(output): \(r.stderr)")
            }
        }
        // The artefact folder inside the output folder reached through another path is the
        // usual layout: it runs, with --wait, to the end.
        try f.setConfig { $0["artefactDir"] = mounted ? "bound/artefacts" : "alias/artefacts"; $0["outputDir"] = "output" }
        let (r, timedOut) = try runBounded("rec-pipeline", ["--config", f.configPath, "--wait", "--quiet"], seconds: 120)
        #expect(!timedOut && r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: f.path("output/recommendations.csv")))
    }
}
