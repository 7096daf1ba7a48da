import ArgumentParser
import RecCLI
import RecStages

@main
struct ExportCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-export",
        abstract: "Write output/recommendations.csv and output/recommendations.jsonl from topk.art.")

    @OptionGroup var options: StageOptions
    @OptionGroup var cluster: ClusterOptions

    func run() throws { try runStage(ExportStage(), options, cluster) }
}
