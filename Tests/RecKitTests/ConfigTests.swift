import Foundation
@testable import RecKit
import Testing

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
        #expect(c == expected)
        #expect(c.input.ratings == "data/ml-1m/ratings.dat")
        #expect(c.input.moviesEncoding == "auto" && c.input.invalidLines == "error" && c.input.ratingScale == [1, 5])
        #expect(c.split.seed == 42 && c.split.testRatio == 0.25 && c.split.validationRatio == 0)
        #expect(c.ratingModel.type == "user-autoencoder" && c.ratingModel.hidden == [200, 100, 200])
        #expect(c.rankingModel.type == "rating-model")
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
        #expect(c.input.invalidLines == "skip" && c.input.ratingScale == [0.5, 10])
        #expect(c.input.ratings == PipelineConfig().input.ratings)
        #expect(c.split.seed == 7 && c.split.validationRatio == 0.1 && c.split.testRatio == 0.25)
        #expect(c.ratingModel.hidden == [64] && c.ratingModel.learningRate == 0.01 && c.ratingModel.epochs == 3)
        #expect(c.ratingModel.activation == "sigmoid" && c.ratingModel.batchSize == 64)
        #expect(c.rankingModel.type == "ease" && c.rankingModel.lambda == 250)
        #expect(c.rankingModel.hidden == [200, 100, 200])
        #expect(c.score.k == 20 && c.workers == 2)
    }

    @Test(arguments: [
        (#"{"inputs": {}}"#, "unknown setting 'inputs'"),
        (#"{"input": {"ratingz": "x"}}"#, "unknown setting 'input.ratingz'"),
        (#"{"ratingModel": {"hiddenLayers": [1]}}"#, "unknown setting 'ratingModel.hiddenLayers'"),
        (#"{"baseDirectory": "/"}"#, "unknown setting 'baseDirectory'"),
    ])
    func load_unknownKey_throwsNamingTheKeyPath(c: (json: String, message: String)) throws {
        let e = try Self.error(c.json)
        #expect(e.message == c.message)
        #expect(e.hint?.hasPrefix("known here: ") == true)
    }

    @Test func load_unknownKey_hintListsTheKnownKeysOfThatObject() throws {
        let e = try Self.error(#"{"split": {"sead": 1}}"#)
        #expect(e.hint == "known here: seed, testRatio, validationRatio")
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
        (#"{"input": {"ratingScale": [5, 1]}}"#, "'input.ratingScale' must be [lowest, highest]"),
        (#"{"input": {"ratingScale": [1, 2, 3]}}"#, "'input.ratingScale' must be [lowest, highest]"),
        (#"{"input": {"invalidLines": "ignore"}}"#, "'input.invalidLines' must be \"error\" or \"skip\""),
        (#"{"input": {"moviesEncoding": "cp1252"}}"#, "'input.moviesEncoding' must be"),
        (#"{"split": {"testRatio": 0}}"#, "'split.testRatio' must be between 0 and 1"),
        (#"{"split": {"testRatio": 1}}"#, "'split.testRatio' must be between 0 and 1"),
        (#"{"split": {"validationRatio": 1}}"#, "'split.validationRatio' must be at least 0 and below 1"),
        (#"{"split": {"validationRatio": -0.1}}"#, "'split.validationRatio'"),
        (#"{"workers": -1}"#, "'workers' must be 0 (all cores) or more"),
        (#"{"score": {"k": 0}}"#, "'score.k' must be at least 1"),
        (#"{"ratingModel": {"type": "ease"}}"#, "'ratingModel.type' must be one of user-autoencoder, item-autoencoder"),
        (#"{"rankingModel": {"type": "svd"}}"#, "'rankingModel.type' must be one of"),
        (#"{"ratingModel": {"hidden": []}}"#, "'ratingModel.hidden' must be positive sizes"),
        (#"{"ratingModel": {"hidden": [10, 0]}}"#, "'ratingModel.hidden' must be positive sizes"),
        (#"{"ratingModel": {"activation": "gelu"}}"#, "'ratingModel.activation'"),
        (#"{"rankingModel": {"optimizer": "sgd"}}"#, "'rankingModel.optimizer' must be adam or rmsprop"),
        (#"{"ratingModel": {"optimizerUpdates": "sparse"}}"#, "'ratingModel.optimizerUpdates' must be lazy or dense"),
        (#"{"ratingModel": {"learningRate": 0}}"#, "'ratingModel': learningRate > 0"),
        (#"{"ratingModel": {"weightDecay": -1}}"#, "'ratingModel': learningRate > 0"),
        (#"{"ratingModel": {"batchSize": 0}}"#, "'ratingModel': learningRate > 0"),
        (#"{"ratingModel": {"epochs": 0}}"#, "'ratingModel': learningRate > 0"),
        (#"{"ratingModel": {"inputDropout": 1}}"#, "'ratingModel.inputDropout' must be in [0, 1)"),
        (#"{"rankingModel": {"lambda": -5}}"#, "'rankingModel': earlyStoppingPatience and lambda must be >= 0"),
        (#"{"ratingModel": {"earlyStoppingPatience": 3}}"#, "early stopping and lambdaGrid need a validation slice"),
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
        original.ratingModel.hidden = [7, 5]
        original.input.ratingScale = [0.5, 5]
        let json = try JSONValue.from(original)
        #expect(try PipelineConfig.parse(json) == original)
    }
}
