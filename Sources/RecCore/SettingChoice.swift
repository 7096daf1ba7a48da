import Foundation

/// A setting that takes one of a few names (`"sigmoid"`, `"adam"`, …), held as an enum case.
///
/// Decoded once, from its JSON string: any other value (or a value that is not a string) is a
/// decoding error naming the key and the accepted names, which `PipelineConfig.parse` turns
/// into a settings error. Encoded as its name, so the settings' JSON form (and with it every
/// fingerprint and `metrics.json`'s `settings` block) is the string the file holds.
public protocol SettingChoice: RawRepresentable<String>, CaseIterable, Codable, Sendable {
    /// Whether the message quotes the accepted names (`"error" or "skip"`), as the messages of
    /// the `input` and `split` sections do.
    static var quotesNames: Bool { get }
}

extension SettingChoice {
    public static var quotesNames: Bool { false }

    /// The accepted names as a phrase: `a, b or c`.
    public static var acceptedNames: String {
        let names = allCases.map { quotesNames ? "\"\($0.rawValue)\"" : $0.rawValue }
        return names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let name = try? c.decode(String.self)
        guard let name, let value = Self(rawValue: name) else {
            let key = decoder.codingPath.map(\.stringValue).joined(separator: ".")
            let given = name.map { ", not \"\(VisibleText.escape($0))\"" } ?? ""
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(key)' must be \(Self.acceptedNames)\(given)")
        }
        self = value
    }
}
