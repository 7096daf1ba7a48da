import ArgumentParser
import Foundation
import RecCLI
import RecKit
import RecStages

@main
struct BenchCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-bench",
        abstract: "Measure ingest, training, scoring and the whole pipeline on the data pipeline.json names.",
        discussion: "Works in a scratch folder; the real outputs are left alone. Prints one figure a line.")

    @OptionGroup var options: StageOptions

    @Option(help: "Epochs of the straightforward dense implementation (equal to the configured epochs to compare test RMSE).")
    var denseEpochs = 3

    func run() throws {
        let logger = makeLogger("rec-bench", quiet: options.quiet)
        do {
            let report = try Benchmark(config: try options.load(), denseEpochs: denseEpochs, logger: logger).run()
            FileHandle.standardOutput.write(Data(report.utf8))
        } catch let e as RecError {
            logger.error("\(e.description)")
            throw ExitCode(ExitCodes.code(for: e.kind))
        }
    }
}
