import ArgumentParser
import RecPipeline
import RecCLI

@main
struct ScoreCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-score",
        abstract: "Score every user's unseen movies: topk.art and output/metrics.json.")

    @OptionGroup var options: StageOptions
    @OptionGroup var cluster: ClusterOptions

    public func run() throws { try runStage(ScoreStage(), options, cluster) }
}
