import ArgumentParser
import RecPipeline
import RecCLI

@main
struct ExportCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-export",
        abstract: "Write output/recommendations.csv and output/recommendations.jsonl from topk.art.")

    @OptionGroup var options: StageOptions
    @OptionGroup var cluster: ClusterOptions

    public func run() throws { try runStage(ExportStage(), options, cluster) }
}
