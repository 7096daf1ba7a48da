import Foundation
@testable import RecKit
import Testing

/// A fresh folder under the system's temporary folder, removed when the value goes away.
final class TempDir {
    let path: String

    init(_ function: String = #function) throws {
        let name = function.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        path = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("reckit-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A path inside the folder.
    func file(_ name: String) -> String { path + "/" + name }

    /// Names of everything in the folder, sorted.
    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }
}

/// Runs `body` and returns the `RecError` it threw; records an issue when it returns normally
/// or throws something else.
func recError<T>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T) -> RecError? {
    do {
        let value = try body()
        Issue.record("expected a RecError, got \(value)", sourceLocation: sourceLocation)
    } catch let e as RecError {
        return e
    } catch {
        Issue.record("expected a RecError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// Writes a file plainly, for tests that write thousands of damaged copies: no fsync, and a
/// new file rather than a truncated one (ext4 flushes a file truncated and rewritten on close).
func writePlain(_ bytes: [UInt8], to path: String) throws {
    unlink(path)
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else { throw RecError(.runtime, "cannot create", file: path) }
    defer { close(fd) }
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard n == bytes.count else { throw RecError(.runtime, "short write", file: path) }
}

/// The UTF-8 bytes of a string.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
