import Foundation
import Testing
import RecCore

/// A fresh folder under the system's temporary folder, removed when the value goes away.
public final class TempDir {
    public let path: String

    /// - Parameter prefix: starts the folder's name (say, the test target's), then the
    ///   calling function's name.
    public init(prefix: String = "rec", _ function: String = #function) throws {
        let name = function.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        path = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("\(prefix)-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A path inside the folder.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Names of everything in the folder, sorted.
    public func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }
}

/// Runs `body` and returns the `RecError` it threw; records an issue when it returns normally
/// or throws something else.
public func recError<T>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T) -> RecError? {
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
