import CXXHash
import Foundation
import RecCore

/// The only door to xxHash: XXH3-64, used for artefact checksums and stage manifests.
public enum Hash {
    /// XXH3-64 of a buffer.
    public static func xxh3(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        XXH3_64bits(bytes.baseAddress, bytes.count)
    }

    public static func xxh3(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { xxh3($0) }
    }

    /// XXH3-64 of the buffers one after the other, as if joined (without joining them).
    public static func xxh3(parts: [[UInt8]]) -> UInt64 {
        guard let state = XXH3_createState() else {
            // Out of memory for a few hundred bytes of state: join after all.
            return xxh3(parts.flatMap { $0 })
        }
        defer { XXH3_freeState(state) }
        XXH3_64bits_reset(state)
        for part in parts { _ = part.withUnsafeBytes { XXH3_64bits_update(state, $0.baseAddress, $0.count) } }
        return XXH3_64bits_digest(state)
    }

    /// XXH3-64 of a whole file, streamed in 4 MiB blocks, as 16 hex digits.
    /// - Throws: `RecError(.input)` naming the file when it is missing or not a regular file
    ///   (a folder, a FIFO, `/dev/zero`: see `PlainFile`), so that stamping never hangs.
    public static func fileHex(_ path: String) throws -> String {
        let (fd, _) = try PlainFile.open(path, kind: .input)
        defer { close(fd) }
        guard let state = XXH3_createState() else { throw RecError(.runtime, "xxhash: out of memory") }
        defer { XXH3_freeState(state) }
        XXH3_64bits_reset(state)
        var block = [UInt8](repeating: 0, count: 4 << 20)
        while true {
            let n = block.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RecError(.input, "cannot read: \(String(cString: strerror(errno)))", file: path)
            }
            if n == 0 { break }
            _ = block.withUnsafeBytes { XXH3_64bits_update(state, $0.baseAddress, n) }
        }
        return hex(XXH3_64bits_digest(state))
    }

    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
