import ArgumentParser
import Foundation
import RecCLI
import RecKit
import RecStages

@main
struct InspectCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-inspect",
        abstract: "Print an artefact's header (kind, version, shape, sizes), or its contents as CSV.")

    @Argument(help: "An artefact file (.art).")
    var file: String

    @Flag(help: "Dump the contents as CSV with a header row (train/test parts: user_id,movie_id,rating).")
    var csv = false

    func run() throws {
        do {
            let a = try Inspect.open(file)
            let text = csv ? try Inspect.csv(a, parallel: Parallel.resolve(0)) : Inspect.header(a)
            FileHandle.standardOutput.write(Data(text.utf8))
        } catch let e as RecError {
            FileHandle.standardError.write(Data("rec-inspect: \(e.description)\n".utf8))
            throw ExitCode(ExitCodes.code(for: e.kind))
        }
    }
}
