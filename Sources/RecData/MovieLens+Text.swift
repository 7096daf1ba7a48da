import RecCore

extension MovieLens {
    // MARK: - UTF-8

    /// True when `range` holds at least one well-formed multi-byte UTF-8 sequence: what makes
    /// `auto` read a movies file as UTF-8. ISO-8859-1 text almost never holds one (a letter
    /// from 0xC2–0xF4 followed by a byte from 0x80–0xBF, which are control characters there);
    /// the ML-1M and ML-100K files hold none.
    static func hasMultiByteUTF8(_ b: [UInt8], _ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        while i < range.upperBound {
            if b[i] >= 0x80, let n = UTF8Sequence.length(b, at: i, end: range.upperBound) {
                if n > 1 { return true }
            }
            i += 1
        }
        return false
    }

    /// The first byte of `range` that does not start or continue a well-formed UTF-8 sequence.
    static func firstInvalidUTF8(_ b: [UInt8], _ range: Range<Int>) -> Int? {
        var i = range.lowerBound
        while i < range.upperBound {
            guard let n = UTF8Sequence.length(b, at: i, end: range.upperBound) else { return i }
            i += n
        }
        return nil
    }

    /// For a file read as UTF-8: the first bad byte of each line that has one, by 1-based line,
    /// as `(column, byte)` with the column counted in bytes from 1.
    static func invalidUTF8Lines(_ b: [UInt8], from start: Int) -> [Int: (column: Int, byte: UInt8)] {
        var found: [Int: (column: Int, byte: UInt8)] = [:]
        var line = lineNumber(b, at: start)
        forEachLine(b, start..<b.count) { l in
            if let i = firstInvalidUTF8(b, l) {
                var lineStart = l.lowerBound
                while lineStart > 0, b[lineStart - 1] != 10 { lineStart -= 1 }
                found[line] = (i - lineStart + 1, b[i])
            }
            line += 1
        }
        return found
    }

    // MARK: - Control characters

    /// C0 controls (U+0000–U+001F: NUL, tab, line feed, carriage return…), DEL (U+007F) and C1
    /// controls (U+0080–U+009F). None belongs in a title or a genre: exports are one line per
    /// row, and loaders cut or refuse text holding them (sqlite3 stops at NUL, PostgreSQL's
    /// COPY refuses it).
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (0x7F...0x9F).contains(s.value)
    }

    /// The first control character of `text` and its 1-based position in characters (scalars).
    static func firstControl(_ text: String) -> (scalar: Unicode.Scalar, position: Int)? {
        for (k, s) in text.unicodeScalars.enumerated() where isControl(s) { return (s, k + 1) }
        return nil
    }

    /// `U+0009 (tab)`: a code point as messages name it.
    static func describe(_ s: Unicode.Scalar) -> String {
        let code = String(s.value, radix: 16, uppercase: true)
        let name: String? = switch s.value {
        case 0x00: "NUL"
        case 0x09: "tab"
        case 0x0A: "line feed"
        case 0x0D: "carriage return"
        case 0x1B: "escape"
        case 0x7F: "delete"
        default: nil
        }
        return "U+" + String(repeating: "0", count: max(0, 4 - code.count)) + code + (name.map { " (\($0))" } ?? "")
    }

    // MARK: - Text in messages

    /// Bytes of an input field as a message shows them: UTF-8 text as it is, a control
    /// character or an invisible byte order mark as `<U+0000>` / `<U+FEFF>`, and a byte that is
    /// not UTF-8 as `<0xE9>`, so that a message never carries raw control bytes to a terminal
    /// or a log. At most 40 bytes, then `…`.
    static func display<C: Collection>(_ raw: C) -> String where C.Element == UInt8 {
        var out = ""
        UTF8Sequence.walk(Array(raw.prefix(40)), text: { s in
            let scalar = s.unicodeScalars.first!
            out += isControl(scalar) || scalar == "\u{FEFF}" ? "<\(describe(scalar).prefix(6))>" : s
        }, invalid: { byte in
            out += "<0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true) + ">"
        })
        return out + (raw.count > 40 ? "…" : "")
    }
}
