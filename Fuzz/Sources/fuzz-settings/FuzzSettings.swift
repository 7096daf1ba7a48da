import Foundation
import RecCore
import RecData
import RecPipeline

/// libFuzzer entry: the bytes as a settings file (`PipelineConfig.parse(bytes:)`: JSON
/// decoding, the duplicate-key scan, the overlay on the defaults, the range checks), then the
/// folder checks of what parsed, and the duplicate-key scan alone on the raw bytes (which
/// the parser only reaches with valid JSON).
///
/// A `RecError` is a correct answer; a trap, a sanitizer report, any other error, or settings
/// that parse but do not survive a round trip through JSON are findings.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = JSONDuplicateKeys.first(in: bytes)
    var config: PipelineConfig
    do {
        config = try PipelineConfig.parse(bytes: bytes, file: "fuzz.json")
    } catch is RecError {
        return 0
    } catch {
        preconditionFailure("parse threw something other than a RecError: \(error)")
    }
    // What parsed is valid and means the same after encoding and parsing again.
    do {
        try config.validate(file: "fuzz.json")
        let again = try PipelineConfig.parse(bytes: Array(JSON.encode(config)), file: "again.json")
        precondition(again == config, "settings changed in a round trip through JSON")
    } catch {
        preconditionFailure("parsed settings failed again: \(error)")
    }
    exerciseNumbers(config)
    // Folder checks on whatever paths the bytes gave, from a folder that does not exist.
    config.baseDirectory = "/nonexistent-rec-fuzz"
    do { try config.checkFolders(file: "fuzz.json") } catch is RecError {} catch {
        preconditionFailure("checkFolders threw something other than a RecError: \(error)")
    }
    return 0
}

/// What the stages do with the numbers of accepted settings, where a value that validation let
/// through would trap or turn non-finite: the 32-bit floats of the rating scale, the optimiser
/// and EASE, the memory limit in bytes, the worker count, the split sizes.
func exerciseNumbers(_ c: PipelineConfig) {
    if case .fixed(let lo, let hi) = c.input.ratingScale {
        precondition(Float(lo).isFinite && Float(hi).isFinite && Float(lo) < Float(hi), "rating scale \(lo)...\(hi) accepted")
    }
    var autoencoders = [c.ratingModel.settings]
    if case .choice(let choice) = c.ratingModel {
        autoencoders += (choice.candidates + choice.largeDataCandidates).filter(\.isAutoencoder).map(\.settings)
    }
    if case .userAutoencoder(let a) = c.rankingModel { autoencoders.append(a) }
    for s in autoencoders {
        precondition(Float(s.learningRate).isFinite && Float(s.learningRate) > 0, "learningRate \(s.learningRate) accepted")
        precondition(Float(s.weightDecay).isFinite, "weightDecay \(s.weightDecay) accepted")
    }
    if case .ease(let e) = c.rankingModel {
        precondition(([e.lambda] + e.lambdaGrid).allSatisfy { Float($0).isFinite && $0 > 0 }, "lambda \(e.lambda) accepted")
    }
    precondition(MemoryPlan.limit(settingGB: c.memoryLimitGB).bytes >= 0)
    precondition(Parallel.resolve(c.workers).workers >= 1)
    for n in [1, 2, 1_000, Int(Int32.max)] {
        let (test, validation) = Splitter.counts(n, c.split.testRatio, c.split.validationRatio)
        precondition(test >= 0 && validation >= 0 && test + validation < max(n, 2))
    }
}
