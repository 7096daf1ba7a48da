/// Well-formed UTF-8, byte by byte: the one reader behind everything that shows or checks raw
/// bytes as text (`OSPaths.escaped`, the MovieLens readers' encoding checks and messages).
public enum UTF8Sequence {
    /// The length (1–4) of the well-formed UTF-8 sequence starting at `b[i]` (before `end`), or
    /// nil where there is not one (a stray continuation byte, a truncated or overlong sequence,
    /// a surrogate, a code point above U+10FFFF), by the table of well-formed sequences of the
    /// Unicode standard (§3.9, table 3-7).
    public static func length(_ b: [UInt8], at i: Int, end: Int) -> Int? {
        let b0 = b[i]
        if b0 < 0x80 { return 1 }
        let length: Int, second: ClosedRange<UInt8>
        switch b0 {
        case 0xC2...0xDF: (length, second) = (2, 0x80...0xBF)
        case 0xE0: (length, second) = (3, 0xA0...0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (length, second) = (3, 0x80...0xBF)
        case 0xED: (length, second) = (3, 0x80...0x9F)
        case 0xF0: (length, second) = (4, 0x90...0xBF)
        case 0xF1...0xF3: (length, second) = (4, 0x80...0xBF)
        case 0xF4: (length, second) = (4, 0x80...0x8F)
        default: return nil
        }
        guard i + length <= end, second.contains(b[i + 1]) else { return nil }
        for k in 2..<length where !(0x80...0xBF).contains(b[i + k]) { return nil }
        return length
    }

    /// Walks `b`: each well-formed sequence as its text, each byte that does not start one on
    /// its own.
    public static func walk(_ b: [UInt8], text: (Substring) -> Void, invalid: (UInt8) -> Void) {
        var i = 0
        while i < b.count {
            if let n = length(b, at: i, end: b.count) {
                // Well-formed by the table above, so decoding cannot fail.
                text(Substring(String(decoding: b[i..<(i + n)], as: UTF8.self)))
                i += n
            } else {
                invalid(b[i])
                i += 1
            }
        }
    }
}
