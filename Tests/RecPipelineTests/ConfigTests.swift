import Foundation
import Testing
@testable import RecCore
@testable import RecModels
@testable import RecPipeline

@Suite struct ConfigTests {
    /// Writes `json` as `pipeline.json` in a fresh folder and loads it.
    static func load(_ json: String, in dir: TempDir, sub: String = "") throws -> PipelineConfig {
        let folder = sub.isEmpty ? dir.path : dir.file(sub)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try writePlain(Array(json.utf8), to: folder + "/pipeline.json")
        return try PipelineConfig.load(folder + "/pipeline.json")
    }

    static func error(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> RecError {
        let dir = try TempDir()
        let e = try #require(recError(sourceLocation: sourceLocation) { try load(json, in: dir) }, sourceLocation: sourceLocation)
        #expect(e.kind == .config, sourceLocation: sourceLocation)
        #expect(e.file == dir.path + "/pipeline.json", sourceLocation: sourceLocation)
        return e
    }

    @Test func load_emptyObject_givesTheDefaults() throws {
        let dir = try TempDir()
        let c = try Self.load("{}", in: dir)
        var expected = PipelineConfig()
        expected.baseDirectory = dir.path
        expected.settingsFile = SettingsFileIdentity.of(dir.path + "/pipeline.json")
        #expect(c == expected)
        #expect(c.input.ratings == "data/ml-1m/ratings.dat")
        #expect(c.input.moviesEncoding == .auto && c.input.invalidLines == .error && c.input.ratingScale == .auto)
        #expect(c.split.seed == 42 && c.split.testRatio == 0.25 && c.split.validationRatio == 0)
        #expect(c.ratingModel.type == "user-autoencoder" && c.ratingModel.settings.hidden == [200, 100, 200])
        #expect(c.rankingModel == .ratingModel)
        #expect(c.split.method == .random && c.evaluation.enabled && c.qualityGate.maxNDCGDrop == 0.1 && c.qualityGate.minNDCG == nil)
        #expect(c.score.k == 10 && c.workers == 0)
    }

    @Test func load_overridesNestedKeys_andKeepsTheirSiblings() throws {
        let dir = try TempDir()
        let c = try Self.load("""
            {"input": {"invalidLines": "skip", "ratingScale": [0.5, 10]},
             "split": {"seed": 7, "validationRatio": 0.1},
             "ratingModel": {"hidden": [64], "learningRate": 0.01, "epochs": 3, "earlyStoppingPatience": 2},
             "rankingModel": {"type": "ease", "lambda": 250},
             "score": {"k": 20}, "workers": 2}
            """, in: dir)
        #expect(c.input.invalidLines == .skip && c.input.ratingScale == .fixed(lowest: 0.5, highest: 10))
        #expect(c.input.ratings == PipelineConfig().input.ratings)
        #expect(c.split.seed == 7 && c.split.validationRatio == 0.1 && c.split.testRatio == 0.25)
        let s = c.ratingModel.settings
        #expect(s.hidden == [64] && s.learningRate == 0.01 && s.epochs == 3)
        #expect(s.activation == .sigmoid && s.batchSize == 64)
        guard case .ease(let e) = c.rankingModel else { Issue.record("not EASE: \(c.rankingModel)"); return }
        #expect(e.lambda == 250 && e.weighting == .binary && e.lambdaGrid.isEmpty)
        #expect(c.score.k == 20 && c.workers == 2)
    }

    @Test(arguments: [
        (#"{"inputs": {}}"#, "unknown setting 'inputs'"),
        (#"{"input": {"ratingz": "x"}}"#, "unknown setting 'input.ratingz'"),
        (#"{"ratingModel": {"hiddenLayers": [1]}}"#, "unknown setting 'ratingModel.hiddenLayers' for type user-autoencoder"),
        // A key of another model type is an error, not silently ignored.
        (#"{"rankingModel": {"type": "popularity", "lambda": 300}}"#, "unknown setting 'rankingModel.lambda' for type popularity"),
        (#"{"rankingModel": {"type": "ease", "hidden": [10]}}"#, "unknown setting 'rankingModel.hidden' for type ease"),
        (#"{"ratingModel": {"lambda": 10}}"#, "unknown setting 'ratingModel.lambda' for type user-autoencoder"),
        (#"{"rankingModel": {"lambda": 10}}"#, "unknown setting 'rankingModel.lambda' for type rating-model"),
        (#"{"baseDirectory": "/"}"#, "unknown setting 'baseDirectory'"),
    ])
    func load_unknownKey_throwsNamingTheKeyPath(c: (json: String, message: String)) throws {
        let e = try Self.error(c.json)
        #expect(e.message == c.message)
        #expect(e.hint?.hasPrefix("known here: ") == true)
    }

    @Test func load_unknownKey_hintListsTheKnownKeysOfThatObject() throws {
        let e = try Self.error(#"{"split": {"sead": 1}}"#)
        #expect(e.hint == "known here: method, seed, testRatio, validationRatio")
    }

    @Test(arguments: [
        (#"{"workers": "four"}"#, "'workers'"),
        // Foundation names no key for numbers that do not fit their type: RecKit finds it.
        (#"{"ratingModel": {"epochs": 2.5}}"#, "'ratingModel.epochs' does not fit its type"),
        (#"{"workers": 1, "split": {"testRatio": 0.3, "seed": 0.5}}"#, "'split.seed' does not fit its type"),
        (#"{"split": {"seed": -1}}"#, "'split.seed' does not fit its type"),
        (#"{"workers": 1e300}"#, "'workers' does not fit its type"),
        (#"{"ratingModel": {"hidden": 200}}"#, "'ratingModel.hidden'"),
        (#"{"ratingModel": {"hidden": ["a"]}}"#, "'ratingModel.hidden"),
        (#"{"input": {"ratingScale": "1-5"}}"#, "'input.ratingScale'"),
        (#"{"input": {"ratings": 3}}"#, "'input.ratings'"),
        (#"{"score": {"k": null}}"#, "'score.k'"),
        (#"{"split": 5}"#, "'split' must be an object"),
        (#"[1, 2]"#, "'(top level)' must be an object"),
    ])
    func load_wrongType_throwsNamingTheKeyPath(c: (json: String, fragment: String)) throws {
        let e = try Self.error(c.json)
        #expect(e.message.contains(c.fragment), "\(e.message)")
    }

    @Test func load_invalidJSON_throwsConfigError() throws {
        let e = try Self.error(#"{"workers": 1,,}"#)
        #expect(e.message.hasPrefix("not valid JSON"))
    }

    @Test func load_missingFile_throwsNamingIt() throws {
        let dir = try TempDir()
        let e = try #require(recError { try PipelineConfig.load(dir.file("nope.json")) })
        #expect(e.file == dir.file("nope.json"))
        #expect(e.kind == .input || e.kind == .config)
    }

    @Test(arguments: [
        (#"{"input": {"ratingScale": [5, 1]}}"#, "'input.ratingScale' must be \"auto\" or [lowest, highest] with lowest < highest"),
        (#"{"input": {"ratingScale": [1, 1]}}"#, "'input.ratingScale' must be \"auto\" or [lowest, highest]"),
        (#"{"input": {"ratingScale": [1, 2, 3]}}"#, "'input.ratingScale' must be \"auto\" or [lowest, highest]"),
        (#"{"input": {"ratingScale": "automatic"}}"#, "'input.ratingScale' must be \"auto\" or [lowest, highest]"),
        (#"{"input": {"ratingScale": {"lowest": 1}}}"#, "'input.ratingScale' must be \"auto\" or [lowest, highest]"),
        (#"{"input": {"invalidLines": "ignore"}}"#, "'input.invalidLines' must be \"error\" or \"skip\""),
        (#"{"input": {"moviesEncoding": "cp1252"}}"#, "'input.moviesEncoding' must be"),
        (#"{"split": {"testRatio": 0}}"#, "'split.testRatio' must be between 0 and 1"),
        (#"{"split": {"testRatio": 1}}"#, "'split.testRatio' must be between 0 and 1"),
        (#"{"split": {"validationRatio": 1}}"#, "'split.validationRatio' must be at least 0 and below 1"),
        (#"{"split": {"validationRatio": -0.1}}"#, "'split.validationRatio'"),
        (#"{"workers": -1}"#, "'workers' must be 0 (all cores) to 1024"),
        (#"{"workers": 3000000000}"#, "'workers' must be 0 (all cores) to 1024"),
        (#"{"score": {"k": 0}}"#, "'score.k' must be 1 to 10000"),
        (#"{"score": {"k": 4611686018427387904}}"#, "'score.k' must be 1 to 10000"),
        (#"{"score": {"k": 1e9}}"#, "'score.k' must be 1 to 10000"),
        (#"{"ratingModel": {"batchSize": 9223372036854775807}}"#, "'ratingModel.batchSize' must be 1 to"),
        (#"{"ratingModel": {"hidden": [4611686018427387904]}}"#, "'ratingModel.hidden' must be 1 to 16 layer widths"),
        (#"{"ratingModel": {"hidden": [1e9]}}"#, "'ratingModel.hidden' must be 1 to 16 layer widths"),
        (#"{"ratingModel": {"epochs": 5, "earlyStoppingPatience": 6}, "split": {"validationRatio": 0.1}}"#, "'ratingModel.earlyStoppingPatience' must be 0"),
        (#"{"ratingModel": {"learningRate": 1e400}}"#, "not valid JSON"),
        (#"{"split": {"method": "latest"}}"#, "'split.method' must be"),
        (#"{"qualityGate": {"minNDCG": -1}}"#, "'qualityGate.minNDCG' must be null"),
        (#"{"rankingModel": {"type": "ease", "lambda": 0}}"#, "'rankingModel.lambda' must be a number above 0"),
        (#"{"rankingModel": {"type": "ease", "lambdaGrid": [100, -1]}}"#, "'rankingModel.lambdaGrid' must hold"),
        (#"{"rankingModel": {"type": "ease", "weighting": "log"}}"#, "'rankingModel.weighting' must be binary or rating"),
        (#"{"ratingModel": {"type": "item-autoencoder"}}"#, "'rankingModel.type' rating-model needs a user-based rating model"),
        (#"{"evaluation": {"enabled": false}, "split": {"validationRatio": 0.1}, "rankingModel": {"type": "ease", "lambdaGrid": [1, 2]}}"#, "'rankingModel.lambdaGrid' chooses on the validation slice"),
        (#"{"ratingModel": {"type": "ease"}}"#, "'ratingModel.type' must be one of user-autoencoder, item-autoencoder"),
        (#"{"rankingModel": {"type": "svd"}}"#, "'rankingModel.type' must be one of"),
        (#"{"ratingModel": {"hidden": []}}"#, "'ratingModel.hidden' must be 1 to 16 layer widths"),
        (#"{"ratingModel": {"hidden": [10, 0]}}"#, "'ratingModel.hidden' must be 1 to 16 layer widths"),
        (#"{"ratingModel": {"activation": "gelu"}}"#, "'ratingModel.activation'"),
        (#"{"rankingModel": {"type": "user-autoencoder", "optimizer": "sgd"}}"#, "'rankingModel.optimizer' must be adam or rmsprop"),
        (#"{"ratingModel": {"optimizerUpdates": "sparse"}}"#, "'ratingModel.optimizerUpdates' must be lazy or dense"),
        (#"{"ratingModel": {"learningRate": 0}}"#, "'ratingModel.learningRate' must be a number above 0"),
        (#"{"ratingModel": {"weightDecay": -1}}"#, "'ratingModel.weightDecay' must be a number, 0 or more"),
        (#"{"ratingModel": {"batchSize": 0}}"#, "'ratingModel.batchSize' must be 1 to"),
        (#"{"ratingModel": {"epochs": 0}}"#, "'ratingModel.epochs' must be 1 to"),
        (#"{"ratingModel": {"inputDropout": 1}}"#, "'ratingModel.inputDropout' must be in [0, 1)"),
        (#"{"rankingModel": {"type": "ease", "lambda": -5}}"#, "'rankingModel.lambda' must be a number above 0"),
        (#"{"ratingModel": {"earlyStoppingPatience": 3}}"#, "early stopping, lambdaGrid and a choice of ranking model need a validation slice"),
    ])
    func load_valueOutOfRange_throws(c: (json: String, message: String)) throws {
        let e = try Self.error(c.json)
        #expect(e.message.hasPrefix(c.message), "\(e.message)")
    }

    @Test func load_resolvesRelativePathsAgainstTheConfigFolder() throws {
        let dir = try TempDir()
        let c = try Self.load(#"{"artefactDir": "art", "outputDir": "/abs/out", "input": {"ratings": "../data/r.dat"}}"#, in: dir, sub: "conf")
        #expect(c.baseDirectory == dir.file("conf"))
        #expect(c.resolve(c.artefactDir) == dir.file("conf/art"))
        #expect(c.resolve(c.input.ratings) == dir.file("data/r.dat"))
        #expect(c.resolve(c.input.movies) == dir.file("conf/data/ml-1m/movies.dat"))
        #expect(c.resolve(c.outputDir) == "/abs/out")
        #expect(c.paths.ratings == dir.file("conf/art/ratings.art"))
        #expect(c.paths.report == "/abs/out/report.html")
    }

    @Test func load_throughAPathWithDotDot_resolvesAgainstTheRealFolder() throws {
        let dir = try TempDir()
        _ = try Self.load("{}", in: dir, sub: "a/b")
        let c = try PipelineConfig.load(dir.file("a/b/../b/pipeline.json"))
        #expect(c.resolve("x") == dir.file("a/b/x"))
    }

    @Test func parse_roundTripsThroughJSON() throws {
        var original = PipelineConfig()
        original.split.seed = 99
        var s = AutoencoderSettings()
        s.hidden = [7, 5]
        original.ratingModel = .itemAutoencoder(s)
        var e = EASESettings()
        e.lambdaGrid = [1, 2]
        original.rankingModel = .ease(e)
        original.qualityGate.minNDCG = 0.2
        original.split.validationRatio = 0.1
        original.input.ratingScale = .fixed(lowest: 0.5, highest: 5)
        let json = try JSONValue.from(original)
        #expect(try PipelineConfig.parse(json) == original)
    }
}
