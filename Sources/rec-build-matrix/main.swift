import ArgumentParser
import RecCLI
import RecStages

@main
struct BuildMatrixCommand: RecCommand {
    static let configuration = CommandConfiguration(
        commandName: "rec-build-matrix",
        abstract: "Build the sparse (CSR) user x movie matrices of the split parts: matrices.art.")

    @OptionGroup var options: StageOptions
    @OptionGroup(visibility: .hidden) var cluster: ClusterOptions

    func run() throws { try runStage(BuildMatrixStage(), options, cluster) }
}
