import ArgumentParser
import RecCLI
import RecStages

@main
struct SplitCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-split",
        abstract: "Split ratings.art into train.art, validation.art and test.art (seeded, per user).")

    @OptionGroup var options: StageOptions
    @OptionGroup var cluster: ClusterOptions

    func run() throws { try runStage(SplitStage(), options, cluster) }
}
