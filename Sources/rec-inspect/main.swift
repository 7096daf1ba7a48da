import ArgumentParser
import Foundation
import RecPipeline
import RecCLI
import RecCore

@main
struct InspectCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-inspect",
        abstract: "Print an artefact's header (kind, version, shape, sizes), or its contents as CSV.")

    @Argument(help: "An artefact file (.art).")
    var file: String

    @Flag(help: "Dump the contents as CSV with a header row (train/test parts: user_id,movie_id,rating).")
    var csv = false

    public func run() throws {
        do {
            let a = try Inspect.open(file)
            let text = csv ? try Inspect.csv(a, parallel: Parallel.resolve(0)) : Inspect.header(a)
            // Piped, the dump is data and stays exact; on a terminal, titles from the input must
            // not act on it, so their control and bidi characters are shown escaped.
            FileHandle.standardOutput.write(Data((isatty(STDOUT_FILENO) == 1 ? VisibleText.escape(text, keepingLineFeeds: true) : text).utf8))
        } catch let e as RecError {
            printError("rec-inspect: \(e.description)")
            throw ExitCode(ExitCodes.code(for: e.kind))
        }
    }
}
