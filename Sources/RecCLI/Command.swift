import ArgumentParser
import Foundation
import RecCore
import RecStore

/// What every executable of the project is: a `ParsableCommand` whose `main` keeps the
/// documented exit codes, in this one place.
///
/// swift-argument-parser exits with 64 (`EX_USAGE`) on a command-line error (`--bogus`,
/// `--workers abc`, a failed `validate()`); the README promises 2 for every usage error, as for
/// a settings error. A `RecError` that reaches here (an executable that did not catch it) is
/// printed and exits with its kind's code, not swift-argument-parser's 1 with the type dumped.
/// Stop signals are handled from the start (`StopSignals`); a run that a signal is stopping
/// never exits by this path (`RunState.endRun` parks it; the signal's handler ends the process).
/// Every message printed here goes through `VisibleText.escape` (see `printError`).
public protocol RecCommand: ParsableCommand {}

extension RecCommand {
    public static func main() {
        StopSignals.install(label: configuration.commandName ?? "rec")
        do {
            // Paths arrive as bytes; stop before anything reads or writes when they are not
            // UTF-8, rather than work on the repaired text (another folder).
            try OSPaths.checkProcess()
            var command = try parseAsRoot()
            try command.run()
            RunState.shared.endRun()
        } catch let e as RecError {
            RunState.shared.endRun()
            printError("\(configuration.commandName ?? "rec"): \(e.description)")
            Foundation.exit(ExitCodes.code(for: e.kind))
        } catch {
            RunState.shared.endRun()
            let code = exitCode(for: error)
            if code == .validationFailure {
                printError(fullMessage(for: error), multiline: true)
                Foundation.exit(ExitCodes.usage)
            }
            // Help and version requests print as swift-argument-parser does; any other error's
            // message may quote a path or an argument, so it is escaped like the rest.
            if code.isSuccess { exit(withError: error) }
            let message = fullMessage(for: error)
            if !message.isEmpty { printError(message, multiline: true) }
            Foundation.exit(code.rawValue)
        }
    }
}

/// Prints a message for a person on stderr with its control and bidi characters escaped
/// (`VisibleText`): the one way the executables print an error outside the log.
/// - Parameter multiline: keep line feeds (swift-argument-parser's usage text); otherwise the
///   message is one line, whatever a quoted path holds.
public func printError(_ message: String, multiline: Bool = false) {
    FileHandle.standardError.write(Data((VisibleText.escape(message, keepingLineFeeds: multiline) + "\n").utf8))
}
