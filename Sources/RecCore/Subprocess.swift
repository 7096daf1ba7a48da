import Foundation

/// Runs another program and collects what it prints: the one way the stages and benchmarks
/// start a subprocess (Slurm's commands, the torch comparison).
public enum Subprocess {
    public struct Result {
        public var status: Int32
        public var output: String
        public var errors: String
    }

    /// Runs `program` (looked up in PATH by `/usr/bin/env`) with `arguments` and waits for it.
    ///
    /// stdout is read from a pipe while the program runs; stderr goes to an unlinked temporary
    /// file, so that a program that fills one stream while the other is being read cannot block
    /// (two pipes read one after the other can), and no file is left behind.
    /// - Throws: `RecError(.runtime)` when the temporary file cannot be made; the error of
    ///   `Process.run` when the program cannot be started.
    public static func run(_ program: String, _ arguments: [String]) throws -> Result {
        var template = Array((FileManager.default.temporaryDirectory.path + "/rec-subprocess-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw RecError(.runtime, "cannot create a temporary file for \(program)'s errors: \(String(cString: strerror(errno)))")
        }
        unlink(template)
        let errorFile = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = errorFile
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try errorFile.seek(toOffset: 0)
        let errors = errorFile.readDataToEndOfFile()
        return Result(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self),
                      errors: String(decoding: errors, as: UTF8.self))
    }
}
