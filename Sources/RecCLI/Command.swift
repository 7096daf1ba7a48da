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
/// Stop signals are handled from the start (`StopSignals`); a run that a signal is stopping
/// never exits by this path (`RunState.endRun` parks it; the signal's handler ends the process).
public protocol RecCommand: ParsableCommand {}

extension RecCommand {
    public static func main() {
        StopSignals.install(label: configuration.commandName ?? "rec")
        do {
            var command = try parseAsRoot()
            try command.run()
            RunState.shared.endRun()
        } catch let e as RecError {
            RunState.shared.endRun()
            FileHandle.standardError.write(Data("\(configuration.commandName ?? "rec"): \(e.description)\n".utf8))
            Foundation.exit(ExitCodes.code(for: e.kind))
        } catch {
            RunState.shared.endRun()
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ExitCodes.usage)
            }
            exit(withError: error)
        }
    }
}
