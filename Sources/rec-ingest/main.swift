import ArgumentParser
import RecPipeline
import RecCLI

@main
struct IngestCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-ingest",
        abstract: "Read the ratings and movies files named in pipeline.json into ratings.art and catalogue.art.")

    @OptionGroup var options: StageOptions
    @OptionGroup(visibility: .hidden) var cluster: ClusterOptions

    public func run() throws { try runStage(IngestStage(), options, cluster) }
}
