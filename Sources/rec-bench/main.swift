import ArgumentParser
import Foundation
import RecCore
import RecCLI
import RecBench
import RecSynth
import RecModels

@main
struct BenchCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-bench",
        abstract: "Measure ingest, training, scoring and the whole pipeline on the data pipeline.json names.",
        discussion: "Works in a scratch folder; the real outputs are left alone. Prints one figure a line.")

    @OptionGroup var options: StageOptions

    @Option(help: "Epochs of the straightforward dense implementation (equal to the configured epochs to compare test RMSE).")
    var denseEpochs = 3

    @Option(help: "Benchmark EASE alone on this matrices.art (from rec-build-matrix) instead: fit, lists and NDCG@10 per solver.")
    var easeMatrices: String?

    @Option(help: "With --ease-matrices: the solvers to compare, comma-separated: exact, or a number of movies for the blocked solver (e.g. exact,8000,12000).")
    var easeSolvers = "12000"

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

    public func run() throws {
        let logger = makeLogger("rec-bench", quiet: options.quiet)
        do {
            if let easeMatrices {
                let c = try options.load()
                guard case .ease(let s) = c.rankingModel else { throw RecError(.config, "--ease-matrices needs an EASE ranking model in the settings") }
                let solvers = try easeSolvers.split(separator: ",").map { item -> EASE.Solver in
                    if item == "exact" { return .exact }
                    guard let n = Int(item), n >= 1 else { throw RecError(.config, "--ease-solvers: '\(item)' is neither exact nor a number of movies") }
                    return .blocked(maxItems: n)
                }
                try EASEBenchmark(matricesPath: easeMatrices, solvers: solvers, lambda: s.lambda, weighting: s.weighting,
                                  workers: c.workers).run { print(VisibleText.escape($0, keepingLineFeeds: true)) }
                return
            }
            let config = try options.load()
            let report = if let synthetic {
                try SyntheticBenchmark(config: config, shape: try SyntheticRatings.settings(parsing: synthetic, seed: syntheticSeed),
                                       epochs: syntheticEpochs, logger: logger).run()
            } else {
                try {
                    var b = Benchmark(config: config, denseEpochs: denseEpochs, logger: logger)
                    b.torch = TorchComparison(python: torchPython, script: torchScript)
                    return try b.run()
                }()
            }
            FileHandle.standardOutput.write(Data(VisibleText.escape(report, keepingLineFeeds: true).utf8))
        } catch let e as RecError {
            logger.error("\(e.description)")
            throw ExitCode(ExitCodes.code(for: e.kind))
        }
    }
}
