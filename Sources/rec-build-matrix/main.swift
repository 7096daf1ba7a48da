import ArgumentParser
import RecPipeline
import RecCLI

@main
struct BuildMatrixCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-build-matrix",
        abstract: "Build the sparse (CSR) user x movie matrices of the split parts: matrices.art.")

    @OptionGroup var options: StageOptions
    @OptionGroup(visibility: .hidden) var cluster: ClusterOptions

    public func run() throws { try runStage(BuildMatrixStage(), options, cluster) }
}
