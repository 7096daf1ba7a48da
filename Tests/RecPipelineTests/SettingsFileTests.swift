import Foundation
import Testing
@testable import RecCore
@testable import RecPipeline

/// The settings file as bytes: duplicate keys, a missing file, and the two folders.
@Suite struct SettingsFileTests {
    // MARK: - Duplicate keys

    @Test(arguments: [
        (#"{"a": 1, "a": 2}"#, "a", 1),
        ("{\n  \"score\": {\"k\": 3},\n  \"workers\": 1,\n  \"score\": {\"k\": 7}\n}", "score", 4),
        ("{\"ratingModel\": {\n\"epochs\": 3,\n\"hidden\": [1, 2],\n\"epochs\": 4}}", "ratingModel.epochs", 4),
        (#"{"x": [{"a": 1}, {"b": 2, "b": 3}]}"#, "x[1].b", 1),
        (#"{"a": 1, "\u0061": 2}"#, "a", 1),
        (#"{"\ud83d\ude00": 1, "😀": 2}"#, "😀", 1),
        ("{\"k\": \"line\\nbreak \\\" quote\",\n\"k\": 2}", "k", 2),
    ])
    func duplicateKeys_findsTheSecondWithPathAndLine(c: (json: String, path: String, line: Int)) throws {
        let found = try #require(JSONDuplicateKeys.first(in: Array(c.json.utf8)))
        #expect(found.path == c.path)
        #expect(found.line == c.line)
    }

    @Test(arguments: [
        #"{"a": {"k": 1}, "b": {"k": 1}}"#,  // the same key in two objects
        #"[{"a": 1}, {"a": 2}]"#,  // objects in an array
        #"{"a": "\"a\": 1, \"a\": 2", "b": ["a", "a"]}"#,  // keys inside strings, equal string values
        #"{"a\\": 1, "a": 2, "A": 3, "a ": 4}"#,  // keys that only look alike
        #"{"x": {}, "y": [], "z": {"x": {"x": null}}}"#,
    ])
    func duplicateKeys_noneWhenEveryObjectHasDistinctKeys(json: String) {
        #expect(JSONDuplicateKeys.first(in: Array(json.utf8)) == nil)
    }

    @Test func duplicateKeys_onDeepNestingAndGarbage_neverTraps() {
        let deep = Array(String(repeating: "[{\"a\":", count: 200_000).utf8)
        #expect(JSONDuplicateKeys.first(in: deep) == nil)
        let garbage: [[UInt8]] = [[], Array("}}]]\"".utf8), Array("{\"a\":1,\"a".utf8), Array("{\"\\u12".utf8), [0x22, 0x5C],
                                  Array("{\"\\ud800\":1,\"\\ud800\":2}".utf8)]
        for g in garbage { _ = JSONDuplicateKeys.first(in: g) }
        #expect(JSONDuplicateKeys.first(in: Array("{\"\\ud800\":1,\"\\ud800\":2}".utf8))?.path == "\u{FFFD}")
    }

    @Test func parseBytes_duplicateKey_isASettingsErrorNamingKeyAndLine() throws {
        let json = "{\n  \"split\": {\"seed\": 1,\n    \"seed\": 2}\n}"
        let e = try #require(recError { try PipelineConfig.parse(bytes: Array(json.utf8), file: "p.json") })
        #expect(e.kind == .config)
        #expect(e.description.hasPrefix("p.json:3: 'split.seed' is given twice"), "\(e.description)")
    }

    @Test func parseBytes_withoutDuplicates_equalsParsingTheDecodedValue() throws {
        let json = #"{"split": {"seed": 5}, "score": {"k": 4}, "ratingModel": {"hidden": [8, 4]}}"#
        let viaBytes = try PipelineConfig.parse(bytes: Array(json.utf8))
        #expect(viaBytes.split.seed == 5 && viaBytes.score.k == 4 && viaBytes.ratingModel.settings.hidden == [8, 4])
        #expect(viaBytes == (try PipelineConfig.parse(JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)))))
    }

    // MARK: - The file itself

    @Test func load_missingRelativePath_isASettingsErrorNamingFileAndWorkingFolder() throws {
        let e = try #require(recError { try PipelineConfig.load("surely-not-here-\(UUID().uuidString).json") })
        let cwd = FileManager.default.currentDirectoryPath
        #expect(e.kind == .config)
        #expect(e.message == "settings file not found")
        #expect(e.file?.hasPrefix(cwd + "/surely-not-here-") == true)
        #expect(e.hint?.contains("relative to the working folder \(cwd)") == true)
    }

    @Test func load_settingsPathIsAFolderOrAFIFO_isASettingsErrorNamingIt() throws {
        let dir = try TempDir()
        let e = try #require(recError { try PipelineConfig.load(dir.path) })
        #expect(e.kind == .config && e.file == dir.path && e.message.contains("is a folder"))
        #expect(mkfifo(dir.file("fifo.json"), 0o644) == 0)
        let f = try #require(recError { try PipelineConfig.load(dir.file("fifo.json")) })
        #expect(f.kind == .config && f.message.contains("FIFO"))
    }

    // MARK: - Folders

    static func folders(_ artefacts: String, _ output: String, in dir: TempDir) throws -> PipelineConfig {
        try writePlain(Array(#"{"artefactDir": "\#(artefacts)", "outputDir": "\#(output)"}"#.utf8), to: dir.file("pipeline.json"))
        return try PipelineConfig.load(dir.file("pipeline.json"))
    }

    @Test(arguments: [
        ("output", "output", "are the same folder"),
        ("./output/", "output", "are the same folder"),
        ("out/../output", "output/.", "are the same folder"),
        ("output", "output/exports", "the output folder is inside the artefact folder"),
        ("output/artefacts", "output/artefacts/manifests", "the output folder is inside the artefact folder"),
        ("output/metrics.json", "output", "the artefact folder takes the name of an export"),
        ("output/recommendations.csv/deeper", "output", "the artefact folder takes the name of an export"),
        ("/", "output", "the output folder is inside the artefact folder"),
    ])
    func checkFolders_overlappingFolders_areRefused(c: (artefacts: String, output: String, says: String)) throws {
        let dir = try TempDir()
        let e = try #require(recError { try Self.folders(c.artefacts, c.output, in: dir) })
        #expect(e.kind == .config && e.file == dir.file("pipeline.json"))
        #expect(e.message.contains(c.says), "\(e.message)")
        #expect(e.message.contains("'artefactDir'") && e.message.contains("'outputDir'"))
    }

    @Test(arguments: [("output/artefacts", "output"), ("art", "output"), ("output/artefacts-2", "output"),
                      ("shared/artefacts", "shared-out"), ("/tmp/somewhere-art", "output")])
    func checkFolders_separateFolders_areAccepted(c: (artefacts: String, output: String)) throws {
        let dir = try TempDir()
        let config = try Self.folders(c.artefacts, c.output, in: dir)
        #expect(config.artefactDir == c.artefacts && config.outputDir == c.output)
    }

    @Test func checkFolders_artefactDirLinkedToOutputDir_isRefused() throws {
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.file("real"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link"), withDestinationPath: "real")
        let e = try #require(recError { try Self.folders("link", "real", in: dir) })
        #expect(e.message.contains("are the same folder"))
        let inside = try #require(recError { try Self.folders("link", "real/out", in: dir) })
        #expect(inside.message.contains("the output folder is inside the artefact folder"))
    }

    @Test(arguments: ["artefactDir", "outputDir"])
    func checkFolders_folderThatIsAFile_isRefusedNamingTheFile(key: String) throws {
        let dir = try TempDir()
        try writePlain(bytes("x"), to: dir.file("plain"))
        for value in ["plain", "plain/below", "plain/below/deeper"] {
            let json = key == "artefactDir" ? #"{"artefactDir": "\#(value)"}"# : #"{"outputDir": "\#(value)"}"#
            try writePlain(Array(json.utf8), to: dir.file("pipeline.json"))
            let e = try #require(recError { try PipelineConfig.load(dir.file("pipeline.json")) })
            #expect(e.kind == .config)
            #expect(e.message == "'\(key)' is \(dir.file(value)), but \(dir.file("plain")) is a file, not a folder", "\(e.message)")
        }
    }
}
