import Foundation

extension PipelineConfig {
    /// The `export` section: how `rec-export` writes the four exports.
    public struct Export: Codable, Sendable, Equatable {
        /// How a text cell of `recommendations.csv` is written (see `CSVCells`).
        public var csvCells = CSVCells.spreadsheetSafe
        /// The permissions of an export that does not exist yet; nil: 0666 less the umask.
        /// An export that is replaced keeps the mode (and, where the process may set it, the
        /// group) of the file it replaces.
        public var fileMode: FileMode?

        public init() {}

        enum CodingKeys: String, CodingKey { case csvCells, fileMode }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            csvCells = try c.decode(CSVCells.self, forKey: .csvCells)
            fileMode = try c.decodeIfPresent(FileMode.self, forKey: .fileMode)
        }

        /// Every key is written, `null` included, so that the defaults list every setting.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(csvCells, forKey: .csvCells)
            try c.encode(fileMode, forKey: .fileMode)
        }
    }
}

/// How `recommendations.csv` writes a text cell (title, genres, and any text column to come).
///
/// A spreadsheet takes a cell that starts with `=`, `+`, `-`, `@`, TAB or CR for a formula and
/// runs it when the file is opened ("CSV injection"). `spreadsheetSafe` (the default) writes
/// such a cell quoted, with a single quote `'` before its text, as OWASP advises: a spreadsheet
/// shows the text and runs nothing. `exact` writes every cell as it is, for database loads.
/// Either way the JSON lines carry the exact text.
public enum CSVCells: String, Codable, Sendable, Equatable, CaseIterable {
    case spreadsheetSafe = "spreadsheet-safe"
    case exact

    static let invalidMessage = "'export.csvCells' must be \"spreadsheet-safe\" or \"exact\""

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let s = try? c.decode(String.self), let value = CSVCells(rawValue: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: Self.invalidMessage)
        }
        self = value
    }
}

/// Permission bits of a file, written in settings as an octal string (`"0640"`, or `"640"`).
/// Only the permission bits 0000–0777: no set-user-ID, set-group-ID or sticky bit.
public struct FileMode: Codable, Sendable, Equatable, CustomStringConvertible {
    public let bits: mode_t

    /// nil when `bits` has more than the permission bits.
    public init?(bits: mode_t) {
        guard bits & ~0o777 == 0 else { return nil }
        self.bits = bits
    }

    /// `"0640"` or `"640"`: three octal digits, optionally behind a 0; nil otherwise.
    public init?(parsing text: String) {
        let digits = Array(text.utf8)
        guard digits.count == 3 || (digits.count == 4 && digits[0] == UInt8(ascii: "0")),
              digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "7")).contains($0) }) else { return nil }
        self.init(bits: digits.reduce(0) { $0 << 3 | mode_t($1 - UInt8(ascii: "0")) })
    }

    static let invalidMessage = "'export.fileMode' must be null (new files get 0666 less the umask) or the permission bits as an octal string from \"0000\" to \"0777\", such as \"0640\""

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let s = try? c.decode(String.self), let mode = FileMode(parsing: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: Self.invalidMessage)
        }
        self = mode
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// Four octal digits: `0640`.
    public var description: String {
        let octal = String(bits, radix: 8)
        return String(repeating: "0", count: max(0, 4 - octal.count)) + octal
    }
}
