import Foundation
import Testing
@testable import RecCore
@testable import RecStore
@testable import RecPipeline
import RecTestSupport

@Suite final class ManifestTests {
    let home: TempDir
    let dir: String
    let input: String
    let output: String
    let settings: JSONValue = .object([
        "split": .object(["seed": .int(42), "testRatio": .double(0.25)]),
        "input": .object(["invalidLines": .string("error"), "ratingScale": .array([.int(1), .int(5)])]),
        "strict": .bool(true),
    ])

    init() throws {
        home = try TempDir(prefix: "manifest")
        dir = home.path
        input = dir + "/ratings.dat"
        output = dir + "/ratings.art"
        try AtomicFile.write("1::1::5::978300760\n", to: input)
    }

    /// Runs a pretend stage: stamps the input, writes the output, records it all.
    private func runStage(version: String = "1.0") throws -> StageRecord {
        var record = try StageRecord.begin(stage: "rec-ingest", version: version, settings: settings, inputs: [input])
        try AtomicFile.write("artefact bytes", to: output)
        try record.finish(outputs: [output], stats: .object(["ratings": .int(1)]), skipped: ["bad-rating": 2])
        try Manifest.write(record, dir: dir)
        return record
    }

    private func check(_ previous: StageRecord?, settings: JSONValue? = nil, version: String = "1.0",
                       inputs: [String]? = nil) -> (Bool, reason: String) {
        Manifest.upToDate(previous: previous, inputs: inputs ?? [input], outputs: [output],
                          settings: settings ?? self.settings, version: version)
    }

    /// Overwrites a file in place: same inode, maybe the same size and modification tick.
    private func overwriteInPlace(_ path: String, _ text: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    @Test func writeThenRead_givesTheSameRecord() throws {
        let record = try runStage()
        let read = try #require(Manifest.read(stage: "rec-ingest", dir: dir))
        #expect(read == record)
        #expect(read.success && read.skipped == ["bad-rating": 2] && read.stats["ratings"] == .int(1))
        #expect(read.inputs[input] == FileStamp(hash: try Hash.fileHex(input), bytes: 19))
        #expect(read.outputs[output]?.bytes == 14)
        #expect(FileManager.default.fileExists(atPath: dir + "/manifests/rec-ingest.json"))
    }

    @Test func read_whenAbsent_isNil() {
        #expect(Manifest.read(stage: "rec-train", dir: dir) == nil)
    }

    @Test func read_whenJSONIsDamaged_isNil() throws {
        _ = try runStage()
        let path = Manifest.path(stage: "rec-ingest", dir: dir)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try AtomicFile.write(String(text.prefix(text.count / 2)), to: path)
        #expect(Manifest.read(stage: "rec-ingest", dir: dir) == nil)
        try AtomicFile.write("{\"stage\": \"rec-ingest\"}", to: path)
        #expect(Manifest.read(stage: "rec-ingest", dir: dir) == nil)
    }

    @Test func write_whenStatsAreNotFinite_throwsRuntime() throws {
        var record = try runStage()
        record.stats = .object(["loss": .double(.nan)])
        #expect(throws: RecError.self) { try Manifest.write(record, dir: dir) }
    }

    @Test func upToDate_afterASuccessfulRun_isTrue() throws {
        _ = try runStage()
        let (ok, reason) = check(Manifest.read(stage: "rec-ingest", dir: dir))
        #expect(ok)
        #expect(reason == "up to date")
    }

    @Test func upToDate_withoutRecord_isFalse() {
        let (ok, reason) = check(nil)
        #expect(!ok)
        #expect(reason == "no record of a previous run")
    }

    @Test func upToDate_whenPreviousRunFailed_isFalse() throws {
        var record = try runStage()
        record.success = false
        #expect(check(record) == (false, "the previous run did not succeed"))
    }

    @Test func upToDate_whenVersionDiffers_isFalse() throws {
        let record = try runStage(version: "1.0")
        #expect(check(record, version: "1.1") == (false, "program version changed (1.0 → 1.1)"))
    }

    @Test func upToDate_whenSettingsDiffer_namesFirstDifferingKey() throws {
        let record = try runStage()
        var changed = settings
        if case .object(var top) = changed, case .object(var split) = top["split"] {
            split["seed"] = .int(7)
            split["testRatio"] = .double(0.2)
            top["split"] = .object(split)
            changed = .object(top)
        }
        #expect(check(record, settings: changed) == (false, "setting split.seed changed"))

        var added = settings
        if case .object(var top) = added { top["extra"] = .int(1); added = .object(top) }
        #expect(check(record, settings: added) == (false, "setting extra changed"))

        var scale = settings
        if case .object(var top) = scale {
            top["input"] = .object(["invalidLines": .string("error"), "ratingScale": .array([.int(0), .int(5)])])
            scale = .object(top)
        }
        #expect(check(record, settings: scale) == (false, "setting input.ratingScale[0] changed"))
        #expect(check(record, settings: .int(3)) == (false, "settings changed"))
    }

    @Test func upToDate_whenNumbersAreSpelledDifferently_isTrue() throws {
        _ = try runStage()
        var same = settings
        if case .object(var top) = same {
            top["input"] = .object(["invalidLines": .string("error"), "ratingScale": .array([.double(1), .double(5)])])
            same = .object(top)
        }
        #expect(check(Manifest.read(stage: "rec-ingest", dir: dir), settings: same).0)
    }

    @Test func settings_survive_theJSONRoundTrip() throws {
        // 0 and 1 must come back as numbers, not as booleans; 0.25 as a double.
        let tricky: JSONValue = .object(["zero": .int(0), "one": .int(1), "yes": .bool(true), "ratio": .double(0.25)])
        var record = try runStage()
        record.settings = tricky
        try Manifest.write(record, dir: dir)
        #expect(Manifest.read(stage: "rec-ingest", dir: dir)?.settings == tricky)
    }

    @Test func upToDate_whenInputChanged_isFalse() throws {
        let record = try runStage()
        try AtomicFile.write("1::1::4::978300760\n", to: input)
        #expect(check(record) == (false, "input \(input) changed"))
    }

    @Test func upToDate_whenInputRewrittenInPlaceWithSameSize_isFalse() throws {
        let record = try runStage()
        #expect(check(record).0)
        try overwriteInPlace(input, "1::1::3::978300760\n")
        #expect(check(record) == (false, "input \(input) changed"))
    }

    @Test func upToDate_whenInputIsMissingNewOrDropped_isFalse() throws {
        let record = try runStage()
        let other = dir + "/movies.dat"
        try AtomicFile.write("1::Toy Story (1995)::Animation\n", to: other)
        #expect(check(record, inputs: [input, other]) == (false, "input \(other) is new"))
        #expect(check(record, inputs: []) == (false, "input \(input) is no longer used"))
        try FileManager.default.removeItem(atPath: input)
        #expect(check(record) == (false, "input \(input) is missing"))
    }

    @Test func upToDate_whenOutputRemoved_isFalse() throws {
        let record = try runStage()
        try FileManager.default.removeItem(atPath: output)
        #expect(check(record) == (false, "output \(output) was changed or removed"))
    }

    @Test func upToDate_whenOutputChanged_isFalse() throws {
        let record = try runStage()
        try overwriteInPlace(output, "artefact BYTES")
        #expect(check(record) == (false, "output \(output) was changed or removed"))
    }

    @Test func upToDate_whenOutputWasNotRecorded_isFalse() throws {
        var record = try runStage()
        record.outputs = [:]
        #expect(check(record) == (false, "output \(output) was not recorded"))
    }

    @Test func stamps_ofMissingFile_throws() {
        #expect(throws: RecError.self) { _ = try Manifest.stamps([dir + "/nope"]) }
    }

    @Test func stamp_ofUnchangedOldFile_isCached_andStaysCorrect() throws {
        let old = dir + "/old.bin"
        try AtomicFile.write("old content", to: old)
        // An old modification time makes the file cacheable.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: old)
        let first = try #require(try Manifest.stamp(old))
        #expect(try Manifest.stamp(old) == first)
        // A rewrite gives a new modification time (and inode), so the cache does not answer.
        try AtomicFile.write("new content", to: old)
        #expect(try Manifest.stamp(old)?.hash == (try Hash.fileHex(old)))
        #expect(try Manifest.stamp(old) != first)
    }

    @Test func upToDate_overTenFilesOfFourMegabytes_takesWellUnderASecond() throws {
        var inputs: [String] = []
        var outputs: [String] = []
        var words = [UInt64](repeating: 0, count: (4 << 20) / 8)
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for k in words.indices {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            words[k] = x
        }
        for i in 0..<10 {
            words[0] = UInt64(i)
            let path = dir + "/file\(i).bin"
            try words.withUnsafeBytes { try AtomicFile.write($0, to: path) }
            if i < 5 { inputs.append(path) } else { outputs.append(path) }
        }
        var record = try StageRecord.begin(stage: "rec-big", version: "1", settings: settings, inputs: inputs)
        try record.finish(outputs: outputs)
        try Manifest.write(record, dir: dir)
        let clock = ContinuousClock()
        let start = clock.now
        let (ok, _) = Manifest.upToDate(previous: Manifest.read(stage: "rec-big", dir: dir), inputs: inputs,
                                        outputs: outputs, settings: settings, version: "1")
        let elapsed = clock.now - start
        #expect(ok)
        #expect(elapsed < .milliseconds(500), "check took \(elapsed)")
    }
}
