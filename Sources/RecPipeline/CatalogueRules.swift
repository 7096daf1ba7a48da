import Foundation
import RecCore
import RecStore
import RecData

extension PipelineConfig {
    /// The `catalogueRules` section: what may be recommended tonight, applied by `rec-score`
    /// to the served lists and similar lists only (no refit; the evaluation is unaffected).
    public struct CatalogueRulesSettings: Codable, Sendable, Equatable {
        /// A file of movie ids never to recommend (`CatalogueRules` gives the format); "" = none.
        public var exclude = ""
        /// A file of the only movie ids that may be recommended; "" = every movie.
        public var allow = ""
        /// Genres to leave out: a movie with any of them is never recommended.
        public var excludeGenres: [String] = []

        public init() {}

        /// Whether any rule is set.
        public var isEmpty: Bool { exclude.isEmpty && allow.isEmpty && excludeGenres.isEmpty }

        /// The rule files, resolved against the settings' folder (inputs of `rec-score`).
        public func files(_ c: PipelineConfig) -> [String] { [exclude, allow].filter { !$0.isEmpty }.map(c.resolve) }

        /// Checks what needs no data: genre names are not empty and given once.
        public func validate(file: String) throws {
            for (n, genre) in excludeGenres.enumerated() {
                guard !genre.isEmpty else { throw RecError(.config, "'catalogueRules.excludeGenres' holds an empty genre name", file: file) }
                guard !excludeGenres[..<n].contains(genre) else {
                    throw RecError(.config, "'catalogueRules.excludeGenres' names '\(genre)' twice", file: file)
                }
            }
        }
    }
}

/// The catalogue rules of a run, read and checked against the catalogue: which movies may be
/// recommended.
///
/// A rule file holds one MovieLens movie id per line (decimal digits, surrounding spaces and
/// a CR before the LF allowed); empty lines and lines starting with `#` are skipped. Anything
/// else, or an id that is not in the movies file, is an error naming `file:line`; a genre of
/// `excludeGenres` that no movie has is a settings error. A movie is allowed when it is on the
/// allow-list (if there is one), not on the exclude list, and has none of the excluded genres.
public struct CatalogueRules: Sendable, Equatable {
    /// For each catalogue row, whether the rules let it be recommended.
    public let allowed: [Bool]

    public init(allowed: [Bool]) { self.allowed = allowed }

    /// Reads and applies the rules of `c` to `catalogue`.
    public static func load(_ c: PipelineConfig, catalogue: Catalogue) throws -> CatalogueRules {
        let s = c.catalogueRules
        var allowed = [Bool](repeating: s.allow.isEmpty, count: catalogue.count)
        if !s.allow.isEmpty {
            for row in try ids(c.resolve(s.allow), catalogue: catalogue) { allowed[row] = true }
        }
        if !s.exclude.isEmpty {
            for row in try ids(c.resolve(s.exclude), catalogue: catalogue) { allowed[row] = false }
        }
        if !s.excludeGenres.isEmpty {
            let known = Set(catalogue.genres.joined())
            if let unknown = s.excludeGenres.first(where: { !known.contains($0) }) {
                throw RecError(.config, "'catalogueRules.excludeGenres' names '\(unknown)', which no movie has",
                               hint: "known genres: " + known.sorted().joined(separator: ", "))
            }
            let out = Set(s.excludeGenres)
            for row in 0..<catalogue.count where catalogue.genres[row].contains(where: out.contains) { allowed[row] = false }
        }
        return CatalogueRules(allowed: allowed)
    }

    /// The catalogue rows named in a rule file.
    /// - Throws: `RecError(.input)` naming `path` and the line of a malformed line or an
    ///   unknown id.
    public static func ids(_ path: String, catalogue: Catalogue) throws -> [Int] {
        let bytes = try PlainFile.read(path, kind: .input)
        var rows: [Int] = []
        // Split on bytes: "\r\n" is one Character, so a String split on "\n" would not see it.
        for (n, raw) in bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
            let line = raw.last == 13 ? raw.dropLast() : raw
            guard let text = String(validating: line, as: UTF8.self) else {
                throw RecError(.input, "is not UTF-8 text", file: path, line: n + 1)
            }
            let field = text.trimmingCharacters(in: .whitespaces)
            if field.isEmpty || field.hasPrefix("#") { continue }
            guard field.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let id = Int32(field) else {
                throw RecError(.input, "'\(field.prefix(40))' is not a movie id (one id per line; '#' starts a comment)", file: path, line: n + 1)
            }
            guard let row = catalogue.index(of: id) else {
                throw RecError(.input, "movie \(id) is not in the movies file", file: path, line: n + 1,
                               hint: "remove the line, or check the id")
            }
            rows.append(row)
        }
        return rows
    }

    /// The dense items (of `ids`) the rules leave out, ascending.
    public func excludedItems(_ ids: IdMaps, catalogue: Catalogue) -> [Int] {
        ids.itemIds.indices.filter { i in catalogue.index(of: ids.itemIds[i]).map { !allowed[$0] } ?? false }
    }
}
