import ArgumentParser
import RecCLI
import RecStages

@main
struct ScoreCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-score",
        abstract: "Score every user's unseen movies: topk.art and output/metrics.json.")

    @OptionGroup var options: StageOptions
    @OptionGroup var cluster: ClusterOptions

    func run() throws { try runStage(ScoreStage(), options, cluster) }
}
