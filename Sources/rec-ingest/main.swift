import ArgumentParser
import RecCLI
import RecStages

@main
struct IngestCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-ingest",
        abstract: "Read the ratings and movies files named in pipeline.json into ratings.art and catalogue.art.")

    @OptionGroup var options: StageOptions
    @OptionGroup(visibility: .hidden) var cluster: ClusterOptions

    func run() throws { try runStage(IngestStage(), options, cluster) }
}
