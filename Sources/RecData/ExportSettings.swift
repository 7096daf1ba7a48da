import Foundation
import RecCore
import RecStore

/// The `export` section: how `rec-export` writes the four exports.
public struct ExportSettings: Codable, Sendable, Equatable {
    /// How a text cell of `recommendations.csv` is written (see `CSVCells`).
    public var csvCells = CSVCells.spreadsheetSafe
    /// The permissions of an export that does not exist yet; nil: 0666 less the umask.
    /// An export that is replaced keeps the mode (and, where the process may set it, the
    /// group) of the file it replaces.
    public var fileMode: FileMode?

    public init() {}

    enum CodingKeys: String, CodingKey { case csvCells, fileMode }

    /// Every key is written, `null` included, so that the defaults list every setting.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(csvCells, forKey: .csvCells)
        try c.encode(fileMode, forKey: .fileMode)
    }
}

/// How `recommendations.csv` writes a text cell (title, genres, and any text column to come).
///
/// A spreadsheet takes a cell that starts with `=`, `+`, `-`, `@`, TAB or CR for a formula and
/// runs it when the file is opened ("CSV injection"). `spreadsheetSafe` (the default) writes
/// such a cell quoted, with a single quote `'` before its text, as OWASP advises: a spreadsheet
/// shows the text and runs nothing. `exact` writes every cell as it is, for database loads.
/// Either way the JSON lines carry the exact text.
public enum CSVCells: String, SettingChoice {
    case spreadsheetSafe = "spreadsheet-safe"
    case exact

    public static var quotesNames: Bool { true }
}
