/// The one error type that reaches a person: what went wrong, where, and what to do about it.
///
/// Stages throw it; executables print `description` on stderr and exit with `kind.exitCode`.
public struct RecError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// A raw input file (ratings, movies) is malformed.
        case input
        /// An artefact is missing, truncated, corrupted or of another version.
        case artefact
        /// `pipeline.json` or a command-line value is wrong.
        case config
        /// Another run holds the lock.
        case locked
        /// Numerical trouble (non-finite loss) or an I/O failure.
        case runtime
        /// The run's evaluation fell short of `qualityGate`: nothing was published.
        case qualityGate
    }

    public var kind: Kind
    public var message: String
    /// The file the problem is in, when there is one.
    public var file: String?
    /// 1-based line number inside `file`, for text inputs.
    public var line: Int?
    /// What the person reading it can do.
    public var hint: String?

    public init(_ kind: Kind, _ message: String, file: String? = nil, line: Int? = nil, hint: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.line = line
        self.hint = hint
    }

    public var description: String {
        var text = ""
        if let file {
            text += file
            if let line { text += ":\(line)" }
            text += ": "
        }
        text += message
        if let hint { text += " (\(hint))" }
        return text
    }
}
