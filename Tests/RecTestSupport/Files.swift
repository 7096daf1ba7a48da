import Foundation
import RecCore

/// Writes a file plainly, for tests that write thousands of damaged copies: no fsync, and a
/// new file rather than a truncated one (ext4 flushes a file truncated and rewritten on close).
public func writePlain(_ bytes: [UInt8], to path: String) throws {
    unlink(path)
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else { throw RecError(.runtime, "cannot create", file: path) }
    defer { close(fd) }
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard n == bytes.count else { throw RecError(.runtime, "short write", file: path) }
}

/// The UTF-8 bytes of a string.
public func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
