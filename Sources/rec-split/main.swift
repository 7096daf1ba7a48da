import ArgumentParser
import RecPipeline
import RecCLI

@main
struct SplitCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-split",
        abstract: "Split ratings.art into train.art, validation.art and test.art (seeded, per user).")

    @OptionGroup var options: StageOptions
    @OptionGroup var cluster: ClusterOptions

    public func run() throws { try runStage(SplitStage(), options, cluster) }
}
