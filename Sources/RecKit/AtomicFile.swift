import Foundation

/// Files appear whole or not at all: written to a temporary name in the same folder, flushed
/// to disk, then renamed over the destination. A run killed at any moment leaves either the old
/// file or the new one, never half of one.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write($0, to: path) }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        try write(to: path) { try $0(bytes) }
    }

    /// Writes a file from several buffers in order, without joining them first (an artefact of
    /// a large model is written as its header and its compressed frames).
    public static func write(parts: [[UInt8]], to path: String) throws {
        try write(to: path) { append in
            for part in parts { try part.withUnsafeBytes { try append($0) } }
        }
    }

    /// The temporary file, flush and rename around `body`, which appends bytes with the
    /// function it is given.
    private static func write(to path: String, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw RecError(.runtime, "cannot create the folder \(dir)", file: path)
        }
        // Unique per call, not only per process: two threads writing the same file must not
        // share (and truncate) one temporary file.
        let temp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt64.random(in: 0 ... .max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw RecError(.runtime, "cannot create: \(String(cString: strerror(errno)))", file: temp) }
        do {
            try body { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw RecError(.runtime, "cannot write: \(String(cString: strerror(errno)))", file: path)
                    }
                    offset += n
                }
            }
        } catch {
            close(fd); unlink(temp)
            throw error
        }
        if fsync(fd) != 0 || close(fd) != 0 {
            unlink(temp)
            throw RecError(.runtime, "cannot flush to disk", file: path)
        }
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw RecError(.runtime, "cannot rename into place: \(reason)", file: path)
        }
        syncDirectory(dir)
    }

    /// Writes several files as one step: every file is written and flushed under a temporary
    /// name first, and only then are they all renamed into place, back to back. A failure
    /// before the renames leaves every destination as it was; a kill during them (a few
    /// microseconds) leaves each file whole, old or new.
    public static func writeAll(_ files: [(path: String, bytes: [UInt8])]) throws {
        var temps: [(temp: String, path: String)] = []
        defer { for t in temps { unlink(t.temp) } }
        for f in files {
            let dir = URL(fileURLWithPath: f.path).deletingLastPathComponent().path
            let temp = dir + "/.publish-" + URL(fileURLWithPath: f.path).lastPathComponent
            try write(f.bytes, to: temp)
            temps.append((temp, f.path))
        }
        for (i, t) in temps.enumerated() {
            guard rename(t.temp, t.path) == 0 else {
                let reason = String(cString: strerror(errno))
                temps.removeFirst(i)
                throw RecError(.runtime, "cannot rename into place: \(reason)", file: t.path)
            }
        }
        for dir in Set(temps.map { URL(fileURLWithPath: $0.path).deletingLastPathComponent().path }) { syncDirectory(dir) }
        temps.removeAll()
    }

    /// Whether a file name is one of the temporary names used above (`.NAME.tmp-…`,
    /// `.publish-NAME`), which only a killed writer can leave behind.
    public static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && (name.contains(".tmp-") || name.hasPrefix(".publish-"))
    }

    /// Makes a rename durable: flushes the folder's entry table.
    public static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Reads a whole file, with a clear error naming it. Straight into the array (no
    /// intermediate `Data`), so reading a file takes its size in memory once, not twice.
    public static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if !FileManager.default.fileExists(atPath: path) {
                throw RecError(.input, "file not found", file: path)
            }
            throw RecError(.input, "cannot read file: \(String(cString: strerror(errno)))", file: path)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            // Not a regular file (a pipe, a device): read it in blocks.
            var bytes: [UInt8] = []
            var block = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = block.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; throw RecError(.input, "cannot read file: \(String(cString: strerror(errno)))", file: path) }
                if n == 0 { return bytes }
                bytes += block[0..<n]
            }
        }
        let size = Int(info.st_size)
        var failure: Int32 = 0
        var bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var offset = 0
            while offset < size {
                let n = Foundation.read(fd, buffer.baseAddress! + offset, size - offset)
                if n < 0 { if errno == EINTR { continue }; failure = errno; break }
                if n == 0 { break } // the file shrank while being read
                offset += n
            }
            count = offset
        }
        guard failure == 0 else { throw RecError(.input, "cannot read file: \(String(cString: strerror(failure)))", file: path) }
        // The file grew while being read: take the rest too.
        var tail = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = tail.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += tail[0..<n]
        }
        return bytes
    }
}
