/// A settings check that failed; `PipelineConfig.validate` adds the file.
public struct ConfigProblem: Error {
    public let message: String
    public init(_ message: String) { self.message = message }
}
