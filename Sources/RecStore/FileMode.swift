import Foundation

/// Permission bits of a file, written in settings as an octal string (`"0640"`, or `"640"`).
/// Only the permission bits 0000–0777: no set-user-ID, set-group-ID or sticky bit.
public struct FileMode: Codable, Sendable, Equatable, CustomStringConvertible {
    let bits: mode_t

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
