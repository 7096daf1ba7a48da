import Foundation
import RecKit

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
    // Folder checks on whatever paths the bytes gave, from a folder that does not exist.
    config.baseDirectory = "/nonexistent-rec-fuzz"
    do { try config.checkFolders(file: "fuzz.json") } catch is RecError {} catch {
        preconditionFailure("checkFolders threw something other than a RecError: \(error)")
    }
    return 0
}
