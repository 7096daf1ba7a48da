import ArgumentParser
import RecPipeline
import RecCLI

@main
struct TrainCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-train",
        abstract: "Train the rating model (and the ranking model) on matrices.art: model.art.")

    @OptionGroup var options: StageOptions
    @OptionGroup(visibility: .hidden) var cluster: ClusterOptions

    public func run() throws { try runStage(TrainStage(), options, cluster) }
}
