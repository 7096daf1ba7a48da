import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Paths as the operating system gives them: bytes, which Swift's `String` holds only when
/// they are valid UTF-8.
///
/// Swift repairs invalid UTF-8 silently: `CommandLine.arguments`, `getcwd` through Foundation,
/// `String(cString:)` of a `realpath` result all turn a byte such as 0xE9 (`é` in ISO-8859-1)
/// into U+FFFD, and a path built from the repaired text names another folder, which the
/// pipeline would then create and fill. So every path that comes from the system as bytes
/// passes through here, and bytes that are not valid UTF-8 stop the program with a settings
/// error (exit code 2) that shows them escaped (`caf\xE9`), before anything is created or
/// written.
public enum OSPaths {
    /// Bytes shown as text: valid UTF-8 as it is, every byte of an invalid sequence as `\xHH`,
    /// a backslash as `\\` (so that the escaped form is never mistaken for a name).
    static func escaped<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = ""
        UTF8Sequence.walk(Array(bytes), text: { out += $0 == "\\" ? "\\\\" : $0 },
                          invalid: { out += "\\x" + String($0, radix: 16, uppercase: true).leftPadded(to: 2) })
        return out
    }

    /// The bytes as a `String`, or a settings error naming them (escaped) and `what` they are.
    /// - Parameter what: what the path is, for the message (`the working folder`, `--config`).
    public static func string<C: Collection>(_ bytes: C, what: String) throws -> String where C.Element == UInt8 {
        if let s = String(validating: Array(bytes), as: UTF8.self) { return s }
        throw RecError(.config, "\(what) '\(escaped(bytes))' is not valid UTF-8 (each \\xHH is a byte that is not)",
                       hint: "rename the folder to a UTF-8 name (`convmv -f latin1 -t utf8 --notest NAME` does), or run from a folder whose path is UTF-8: paths are taken as UTF-8 text, never repaired")
    }

    /// A C string from the system (a `realpath` result, say), checked as `string(_:what:)`.
    public static func string(cString: UnsafePointer<CChar>, what: String) throws -> String {
        try string(UnsafeRawBufferPointer(start: cString, count: strlen(cString)), what: what)
    }

    /// The process's own arguments, as bytes, checked: what `CommandLine.arguments` would
    /// otherwise repair.
    /// - Throws: `RecError(.config)` naming the first argument that is not UTF-8.
    static func checkArguments() throws {
        let argv = CommandLine.unsafeArgv
        var previous: String?
        for i in 0..<Int(CommandLine.argc) {
            guard let p = argv[i] else { continue }
            let option = previous.flatMap { $0.hasPrefix("--") ? " (after \($0))" : nil } ?? ""
            previous = try string(cString: p, what: i == 0 ? "the program's path" : "argument \(i)\(option)")
        }
    }

    /// The working folder, read as bytes (`getcwd`), or a settings error when it is not UTF-8:
    /// every relative path (`--config pipeline.json`, the default) is taken from it.
    @discardableResult
    static func workingFolder() throws -> String {
        var size = Int(PATH_MAX) + 1
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            if getcwd(&buffer, size) != nil {
                return try buffer.withUnsafeBufferPointer { try string(cString: $0.baseAddress!, what: "the working folder") }
            }
            guard errno == ERANGE, size < 1 << 20 else {
                throw RecError(.runtime, "cannot read the working folder: \(String(cString: strerror(errno)))")
            }
            size *= 2
        }
    }

    /// The folder of the running executable (`/proc/self/exe`, symbolic links resolved), checked
    /// as `string(_:what:)`; nil where the system does not say.
    public static func executableFolder() throws -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let path = try buffer.withUnsafeBufferPointer { try string(cString: $0.baseAddress!, what: "the program's folder") }
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    /// What every executable checks first, before it reads settings or writes anything: its
    /// arguments and the working folder are UTF-8.
    public static func checkProcess() throws {
        try checkArguments()
        try workingFolder()
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
