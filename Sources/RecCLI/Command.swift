import ArgumentParser
import Foundation
import RecKit

/// What every executable of the project is: a `ParsableCommand` whose `main` keeps the
/// documented exit codes, in this one place.
///
/// swift-argument-parser exits with 64 (`EX_USAGE`) on a command-line error (`--bogus`,
/// `--workers abc`, a failed `validate()`); the README promises 2 for every usage error, as for
/// a settings error. A `RecError` that reaches here (an executable that did not catch it) is
/// printed and exits with its kind's code, not swift-argument-parser's 1 with the type dumped.
public protocol RecCommand: ParsableCommand {}

extension RecCommand {
    public static func main() {
        do {
            // Paths arrive as bytes; stop before anything reads or writes when they are not
            // UTF-8, rather than work on the repaired text (another folder).
            try OSPaths.checkProcess()
            var command = try parseAsRoot()
            try command.run()
        } catch let e as RecError {
            FileHandle.standardError.write(Data("\(configuration.commandName ?? "rec"): \(e.description)\n".utf8))
            Foundation.exit(ExitCodes.code(for: e.kind))
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ExitCodes.usage)
            }
            exit(withError: error)
        }
    }
}
