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

    @Option(help: "Instead of the data: time epochs on a generated heavy-tailed matrix of this shape, USERSxITEMSxRATINGS (e.g. 162541x59047x25000000, MovieLens-25M's), with the configured rating model.")
    var synthetic: String?

    @Option(help: "Epochs to time with --synthetic.")
    var syntheticEpochs = 2

    @Option(help: "Seed of the --synthetic matrix.")
    var syntheticSeed: UInt64 = 25

    @Option(help: "The Python that runs the PyTorch comparison (skipped, saying so, when it cannot import torch).")
    var torchPython = "python3"

    @Option(help: "The PyTorch rewrite of the seed's model.")
    var torchScript = "scripts/bench_torch.py"

    func run() throws {
        let logger = makeLogger("rec-bench", quiet: options.quiet)
        do {
            let config = try options.load()
            let report = if let synthetic {
                try SyntheticBenchmark(config: config, shape: try SyntheticRatings.Shape(parsing: synthetic), epochs: syntheticEpochs,
                                       seed: syntheticSeed, logger: logger).run()
            } else {
                try {
                    var b = Benchmark(config: config, denseEpochs: denseEpochs, logger: logger)
                    b.torch = TorchComparison(python: torchPython, script: torchScript)
                    return try b.run()
                }()
            }
            FileHandle.standardOutput.write(Data(report.utf8))
        } catch let e as RecError {
            logger.error("\(e.description)")
            throw ExitCode(ExitCodes.code(for: e.kind))
        }
    }
}
