import Foundation
import Testing
@testable import RecCore
@testable import RecPipeline

/// Incremental runs equal runs from scratch, for every setting the configuration type has.
///
/// The keys are enumerated from the encoded configuration of two base settings (together
/// every model type's keys), so a setting added later is covered without touching this file;
/// a key for which `alternative` knows no other valid value fails the test.
@Suite struct IncrementalRunTests {
    /// The base settings: the fixture's (user autoencoder + EASE) and one with the other model
    /// types' keys (item autoencoder + a user autoencoder for the lists).
    static let bases: [String: [String: JSONValue]] = {
        var other = PipelineFixture.baseSettings
        other["ratingModel"] = .object(["type": .string("item-autoencoder"), "hidden": .array([.int(6)]), "epochs": .int(2), "batchSize": .int(8)])
        other["rankingModel"] = .object(["type": .string("user-autoencoder"), "hidden": .array([.int(7)]), "epochs": .int(2), "batchSize": .int(8)])
        var choice = PipelineFixture.baseSettings
        choice["rankingModel"] = .object(["type": .string("choice"), "blendStep": .double(0.5)])
        return ["ease": PipelineFixture.baseSettings, "autoencoders": other, "choice": choice]
    }()

    struct Case: CustomTestStringConvertible, Sendable {
        let base: String
        let key: [String]
        var testDescription: String { "\(base): \(key.joined(separator: "."))" }
    }

    /// Every leaf key of every base's full configuration (defaults included).
    static func cases() -> [Case] {
        bases.keys.sorted().flatMap { name -> [Case] in
            let config = try! PipelineConfig.parse(.object(bases[name]!))
            return leaves(try! JSONValue.from(config)).map { Case(base: name, key: $0) }
        }
    }

    static func leaves(_ v: JSONValue, _ path: [String] = []) -> [[String]] {
        guard case .object(let o) = v else { return [path] }
        return o.keys.sorted().flatMap { leaves(o[$0]!, path + [$0]) }
    }

    static func value(_ v: JSONValue, at path: [String]) -> JSONValue? {
        path.reduce(v as JSONValue?) { $0?[$1] }
    }

    static func setting(_ v: JSONValue, _ path: [String], to new: JSONValue) -> JSONValue {
        guard let head = path.first else { return new }
        var o: [String: JSONValue] = [:]
        if case .object(let existing) = v { o = existing }
        o[head] = setting(o[head] ?? .object([:]), Array(path.dropFirst()), to: new)
        return .object(o)
    }

    /// Another valid value for a key; files it names are created in `fixture`. nil: unknown.
    static func alternative(_ key: [String], _ current: JSONValue, fixture: PipelineFixture) throws -> JSONValue? {
        let name = key.joined(separator: ".")
        switch name {
        case "input.ratings", "input.movies":
            let copy = "copy-of-" + key[1] + ".dat"
            try FileManager.default.copyItem(atPath: fixture.file(key[1] == "ratings" ? "ratings.dat" : "movies.dat"), toPath: fixture.file(copy))
            return .string(copy)
        case "input.moviesEncoding": return .string("latin1")
        case "input.invalidLines": return .string("skip")
        case "input.ratingScale": return .array([.double(0.5), .double(5)])
        case "artefactDir": return .string("elsewhere/artefacts")
        case "outputDir": return .string("elsewhere-output")
        case "monitoring.textfile": return .string("textfile/rec.prom")
        case "slurm.partition": return .string("batch")
        case "slurm.timeLimit": return .string("02:00:00")
        case "slurm.memoryPerTask": return .string("2G")
        case "slurm.extraOptions": return .array([.string("--account=recsys")])
        case "slurm.binDirectory": return .string("/opt/rec/bin")
        case "split.method": return .string("temporal")
        case "split.testRatio", "split.validationRatio": return .double((current.doubleValue ?? 0) + 0.05)
        case "ratingModel.learningRateDecay", "rankingModel.learningRateDecay": return .double(0.9)
        case "ratingModel.inputDropout", "rankingModel.inputDropout": return .double(0.1)
        case "ratingModel.weightDecay", "rankingModel.weightDecay": return .double(0.001)
        case "ratingModel.activation", "rankingModel.activation": return .string(current.stringValue == "tanh" ? "sigmoid" : "tanh")
        case "ratingModel.optimizer", "rankingModel.optimizer": return .string(current.stringValue == "adam" ? "rmsprop" : "adam")
        case "ratingModel.optimizerUpdates", "rankingModel.optimizerUpdates": return .string(current.stringValue == "lazy" ? "dense" : "lazy")
        case "rankingModel.weighting": return .string(current.stringValue == "rating" ? "binary" : "rating")
        case "rankingModel.lambdaGrid": return .array([.double(10), .double(40)])
        case "rankingModel.solver": return .string(current.stringValue == "blocked" ? "exact" : "blocked")
        case "rankingModel.maxItems": return .int(20) // below the fixture's movies: the cover changes
        case "rankingModel.candidates": return .array([.string("dlae"), .string("ease")])
        case "rankingModel.easeLambdas", "rankingModel.dlaeLambdas": return .array([.double(10), .double(40)])
        case "rankingModel.dlaeDropouts": return .array([.double(0.25)])
        case "rankingModel.blendMembers": return .array([.string("ease"), .string("popularity")])
        case "rankingModel.blendStep": return .double(0.25)
        case "memoryLimitGB": return .double(64)
        case "export.csvCells": return .string(current.stringValue == "exact" ? "spreadsheet-safe" : "exact")
        case "export.fileMode": return .string("0640")
        case "catalogueRules.exclude":
            try Data("# withdrawn\n2\n9\n".utf8).write(to: URL(fileURLWithPath: fixture.file("exclude.txt")))
            return .string("exclude.txt")
        case "catalogueRules.allow":
            try Data((1...20).map { "\($0)\n" }.joined().utf8).write(to: URL(fileURLWithPath: fixture.file("allow.txt")))
            return .string("allow.txt")
        case "catalogueRules.excludeGenres": return .array([.string("Comedy")])
        case "ratingModel.hidden", "rankingModel.hidden": return .array([.int(5)])
        case "ratingModel.type", "rankingModel.type":
            return nil // replaced as a whole section by `changed`
        default: break
        }
        switch current {
        case .null: return .double(name.hasPrefix("qualityGate.max") ? 100 : 0) // a bound every run passes
        case .bool(let b): return .bool(!b)
        case .int(let i): return .int(i + 1)
        case .double(let d): return .double(d == 0 ? 0.05 : d * 1.5)
        default: return nil
        }
    }

    /// The base settings with one key changed; nil when no other valid value is known.
    static func changed(_ c: Case, fixture: PipelineFixture) throws -> [String: JSONValue]? {
        var user = JSONValue.object(bases[c.base]!)
        let full = try JSONValue.from(try PipelineConfig.parse(user))
        if c.key.last == "type" {
            // Another type, with its own (small) settings: the other keys would not belong to it.
            let section = c.key[0]
            let current = value(full, at: c.key)?.stringValue
            let other: JSONValue = section == "ratingModel"
                ? .object(["type": .string(current == "user-autoencoder" ? "item-autoencoder" : "user-autoencoder"), "hidden": .array([.int(6)]),
                           "epochs": .int(2), "batchSize": .int(8)])
                : .object(["type": .string(current == "popularity" ? "ease" : "popularity")])
            user = setting(user, [section], to: other)
            // An item autoencoder cannot rank by itself.
            if section == "ratingModel", case .string("rating-model")? = value(full, at: ["rankingModel", "type"]) {
                user = setting(user, ["rankingModel"], to: .object(["type": .string("popularity")]))
            }
        } else {
            guard let current = value(full, at: c.key), let new = try alternative(c.key, current, fixture: fixture) else { return nil }
            user = setting(user, c.key, to: new)
            if c.key.last == "earlyStoppingPatience" || c.key.last == "lambdaGrid" {
                user = setting(user, ["split", "validationRatio"], to: .double(0.1))
            }
            // A choice needs a validation slice: without one, a fixed model.
            if c.base == "choice", c.key == ["evaluation", "enabled"] {
                user = setting(user, ["rankingModel", "candidates"], to: .array([.string("dlae")]))
            }
        }
        guard case .object(let o) = user else { return nil }
        return o
    }

    @Test(arguments: cases())
    func changingOneSetting_thenRerunning_equalsAForcedRunFromScratch(_ c: Case) throws {
        let fixture = try PipelineFixture(settings: Self.bases[c.base]!)
        try fixture.run()
        let before = try fixture.exports()
        let changed = try #require(try Self.changed(c, fixture: fixture), "no other valid value known for \(c.key.joined(separator: "."))")
        #expect(changed != Self.bases[c.base]!, "the change must change the settings")
        try fixture.write(changed)
        let outcomes = try fixture.run()

        if Pipeline.operationalSettings.contains(c.key[0]), !["artefactDir", "outputDir"].contains(c.key[0]) {
            // A setting that cannot change outputs reruns nothing and changes no byte.
            #expect(outcomes.allSatisfy { !$0.ran }, "reran: \(outcomes.filter(\.ran).map(\.stage))")
            #expect(try fixture.exports() == before)
        }
        let fresh = try PipelineFixture(settings: Self.bases[c.base]!)
        try fresh.write(try #require(try Self.changed(c, fixture: fresh)))
        try fresh.run(force: true)
        let incremental = try fixture.exports(), scratch = try fresh.exports()
        for (name, (a, b)) in zip(PipelineFixture.exports, zip(incremental, scratch)) {
            #expect(a == b, "\(name) differs after changing \(c.key.joined(separator: "."))")
        }
    }

    @Test func everySettingKeyIsCovered_andTheCountIsNamed() {
        let keys = Set(Self.cases().map { $0.key.joined(separator: ".") })
        // Every model type's own keys appear under some base.
        for k in ["rankingModel.lambda", "rankingModel.lambdaGrid", "rankingModel.weighting", "rankingModel.hidden",
                  "ratingModel.hidden", "ratingModel.inputDropout", "qualityGate.minNDCG", "split.method", "evaluation.enabled", "workers",
                  "export.csvCells", "export.fileMode"] {
            #expect(keys.contains(k), "\(k) is not enumerated")
        }
        #expect(keys.count >= 35, "only \(keys.count) keys")
    }

    /// How the exports are written matters to rec-export alone: a change reruns it and nothing
    /// before it, and metrics.json's settings (rec-score's fingerprint) do not list it.
    @Test func exportSection_isInTheExportStagesFingerprintOnly() throws {
        let c = try PipelineConfig.parse(.object(PipelineFixture.baseSettings))
        for stage in Pipeline.stages {
            #expect((try Pipeline.fingerprint(stage, c)["export"] != nil) == (stage.name == "export"), "\(stage.name)")
        }
    }

    @Test func fingerprints_coverEverySettingSection_exceptOperationalOnes() throws {
        let c = try PipelineConfig.parse(.object(PipelineFixture.baseSettings))
        guard case .object(let all) = try JSONValue.from(c), case .object(let last) = try Pipeline.fingerprint(Pipeline.stages.last!, c) else {
            Issue.record("not objects"); return
        }
        #expect(Set(last.keys) == Set(all.keys).subtracting(Pipeline.operationalSettings))
        // Each stage's fingerprint holds every earlier stage's.
        var previous: Set<String> = []
        for stage in Pipeline.stages {
            guard case .object(let f) = try Pipeline.fingerprint(stage, c) else { continue }
            #expect(previous.isSubset(of: Set(f.keys)), "\(stage.name)")
            previous = Set(f.keys)
        }
    }
}
