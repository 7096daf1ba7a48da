import Foundation
import RecKit

/// A large file written piece by piece under a temporary name and renamed into place when
/// complete, so a killed run never leaves half a file under the real name.
public enum StreamingFile {
    /// Calls `body` with a sink that appends bytes to the file; renames it into place when
    /// `body` returns, removes it when `body` throws.
    public static func write<T>(to path: String, _ body: (([UInt8]) throws -> Void) throws -> T) throws -> T {
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        guard let file = fopen(temp, "wb") else {
            throw RecError(.runtime, "cannot create: \(String(cString: strerror(errno)))", file: temp)
        }
        var closed = false
        defer {
            if !closed { fclose(file); unlink(temp) }
        }
        let result = try body { bytes in
            let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            guard written == bytes.count else { throw RecError(.runtime, "cannot write: \(String(cString: strerror(errno)))", file: path) }
        }
        closed = true
        guard fflush(file) == 0, fsync(fileno(file)) == 0, fclose(file) == 0 else {
            unlink(temp)
            throw RecError(.runtime, "cannot flush to disk", file: path)
        }
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw RecError(.runtime, "cannot rename into place: \(reason)", file: path)
        }
        return result
    }
}
