import Foundation
import Testing
@testable import RecCore
@testable import RecData
@testable import RecModels
@testable import RecPipeline

/// Every numeric setting, given extreme and edge values as JSON text: the settings either
/// load and every number is usable where the stages convert it (32-bit floats, byte counts,
/// split sizes, JSON for the manifests and metrics.json), or loading stops with a settings
/// error naming the key. Never a trap, never another error.
@Suite struct SettingsNumbersTests {
    /// Numbers as written in a file: beyond Double and Int64, subnormal, negative zero, the
    /// edges of Int32, Int64 and Float, and strings that look like numbers.
    static let values = [
        "1e308", "-1e308", "1e309", "3.5e38", "-0", "0", "-1", "1", "0.5", "5e-324", "1e-50", "2147483648",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "123456789012345678901234567890",
        "1e19", "1000000001", "65537", "\"NaN\"", "\"inf\"", "null",
    ]

    /// Settings whose sections hold every numeric key: the default types, and the model types
    /// whose keys the defaults lack.
    static let bases: [String] = [
        "{}",
        #"{"rankingModel": {"type": "ease"}}"#,
        #"{"rankingModel": {"type": "user-autoencoder"}, "ratingModel": {"type": "item-autoencoder"}}"#,
        #"{"rankingModel": {"type": "choice"}, "split": {"validationRatio": 0.1}}"#,
    ]

    /// (key path, JSON value) of every number under `v`; array elements as `path[i]`.
    static func numbers(_ v: JSONValue, _ path: [String] = []) -> [[String]] {
        switch v {
        case .object(let o): return o.keys.sorted().flatMap { numbers(o[$0]!, path + [$0]) }
        case .array(let a): return a.indices.flatMap { numbers(a[$0], path + ["[\($0)]"]) }
        case .int, .double: return [path]
        default: return []
        }
    }

    /// `base` with the value at `path` replaced by the raw JSON text `text`.
    static func settingsText(_ base: JSONValue, _ path: [String], _ text: String) throws -> String {
        let marker = "\"@@VALUE@@\""
        func put(_ v: JSONValue, _ rest: ArraySlice<String>) -> JSONValue {
            guard let key = rest.first else { return .string("@@VALUE@@") }
            switch v {
            case .object(var o): o[key] = put(o[key]!, rest.dropFirst()); return .object(o)
            case .array(var a): let i = Int(key.dropFirst().dropLast())!; a[i] = put(a[i], rest.dropFirst()); return .array(a)
            default: return v
            }
        }
        return try JSON.encodeString(put(base, path[...])).replacingOccurrences(of: marker, with: text)
    }

    /// What the stages do with the numbers of loaded settings; a trap here fails the run.
    func exercise(_ c: PipelineConfig) throws {
        #expect(throws: Never.self) { _ = try JSON.encode(c) }
        let again = try PipelineConfig.parse(bytes: Array(JSON.encode(c)))
        #expect(again == c, "round trip")
        if case .fixed(let lo, let hi) = c.input.ratingScale {
            #expect(Float(lo).isFinite && Float(hi).isFinite && Float(lo) < Float(hi))
        }
        for s in [c.ratingModel.settings] + ({ if case .userAutoencoder(let a) = c.rankingModel { [a] } else { [] } }()) {
            #expect(Float(s.learningRate).isFinite && Float(s.learningRate) > 0 && Float(s.weightDecay).isFinite)
            #expect(s.learningRateDecay > 0 && s.inputDropout >= 0 && s.inputDropout < 1)
        }
        if case .ease(let e) = c.rankingModel {
            #expect(([e.lambda] + e.lambdaGrid).allSatisfy { Float($0).isFinite && $0 > 0 })
        }
        if case .choice(let s) = c.rankingModel {
            #expect((s.easeLambdas + s.dlaeLambdas).allSatisfy { Float($0).isFinite && $0 > 0 })
            #expect(s.dlaeDropouts.allSatisfy { ($0 / (1 - $0)).isFinite && $0 >= 0 } && RankingChoiceSettings.blendSteps.contains(s.blendDivisions))
        }
        #expect(MemoryPlan.limit(settingGB: c.memoryLimitGB).bytes >= 0)
        #expect(Parallel.resolve(c.workers).workers >= 1)
        for n in [1, 2, 7, 1_000, Int(Int32.max)] {
            let (test, validation) = Splitter.counts(n, c.split.testRatio, c.split.validationRatio)
            #expect(test >= 0 && validation >= 0 && test + validation < max(n, 2))
        }
        for bound in [c.qualityGate.minNDCG, c.qualityGate.maxRMSE, c.qualityGate.maxNDCGDrop, c.qualityGate.maxRMSERise] {
            if let bound { #expect(bound.isFinite && bound >= 0) }
        }
        let ml25m = MemoryChecks.DataSize(users: 162_541, items: 59_047, ratings: 25_000_095)
        #expect(MemoryChecks.trainPlan(c, ml25m).bytes > 0 && MemoryChecks.scorePlan(c, ml25m).bytes > 0)
    }

    @Test(arguments: SettingsNumbersTests.bases)
    func everyNumericSetting_withExtremeValues_loadsUsableOrNamesTheKey(baseText: String) throws {
        var checked = 0, refused = 0
        do {
            let base = try JSONValue.from(try PipelineConfig.parse(bytes: Array(baseText.utf8)))
            for path in Self.numbers(base) {
                let key = path.filter { !$0.hasPrefix("[") }.joined(separator: ".")
                for value in Self.values {
                    let text = try Self.settingsText(base, path, value)
                    checked += 1
                    do {
                        try exercise(try PipelineConfig.parse(bytes: Array(text.utf8), file: "numbers.json"))
                    } catch let e as RecError {
                        refused += 1
                        #expect(e.kind == .config, "\(key) = \(value): \(e)")
                        #expect(e.file == "numbers.json")
                        // The key, or (for a two-number scale or a list) the setting that holds it.
                        #expect(e.message.contains("'\(key)"), "\(key) = \(value): \(e.message)")
                    } catch {
                        Issue.record("\(key) = \(value): not a RecError: \(error)")
                    }
                }
            }
        }
        // Both outcomes happen: the values are not all refused, nor all accepted.
        #expect(checked > 200 && refused > checked / 3 && refused < checked, "\(refused) of \(checked) refused")
    }

    /// The two named cases: a rating scale beyond 32-bit floats, and one whose bounds round to
    /// the same float.
    @Test func ratingScale_beyondFloats_isASettingsError() throws {
        for scale in ["[-1e308, 1e308]", "[0, 1e39]", "[1, 1.00000001]", "[-1000001, 5]", "[1e-320, 2e-320]"] {
            let e = #expect(throws: RecError.self) { try PipelineConfig.parse(bytes: Array(#"{"input": {"ratingScale": \#(scale)}}"#.utf8)) }
            #expect(e?.kind == .config && e?.message.contains("'input.ratingScale'") == true, "\(scale)")
        }
        let ok = try PipelineConfig.parse(bytes: Array(#"{"input": {"ratingScale": [-1000000, 1000000]}}"#.utf8))
        #expect(ok.input.ratingScale == .fixed(lowest: -1_000_000, highest: 1_000_000))
    }

    /// JSON has no infinity: encoding one is a RecError naming where it sits, not an
    /// EncodingError.
    @Test func jsonEncode_ofANonFiniteNumber_isARecErrorNamingThePath() {
        struct Figures: Encodable { var ndcg: [String: Double] }
        for bad in [Double.infinity, -.infinity, .nan] {
            let e = #expect(throws: RecError.self) { try JSON.encode(Figures(ndcg: ["at10": bad])) }
            #expect(e?.message.contains("'ndcg.at10'") == true, "\(String(describing: e?.message))")
        }
    }

    /// `--workers` goes through the same check as the setting.
    @Test func workers_optionAndSetting_shareOneCheck() throws {
        for n in [-5, -1, 0, 1, 1_024, 1_025, 99_999, Int.max] {
            let setting = Result { try PipelineConfig.parse(bytes: Array(#"{"workers": \#(n)}"#.utf8)) }
            let option = Result { try PipelineConfig.checkWorkers(n, name: "--workers") }
            switch (setting, option) {
            case (.success, .success): #expect((0...PipelineConfig.maxWorkers).contains(n))
            case (.failure(let a), .failure(let b)):
                #expect((a as? RecError)?.message.contains("'workers'") == true)
                #expect((b as? RecError)?.message.contains("--workers") == true && (b as? RecError)?.kind == .config)
            default: Issue.record("workers \(n): the setting and the option disagree")
            }
        }
    }
}
