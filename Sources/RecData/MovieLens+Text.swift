extension MovieLens {
    // MARK: - UTF-8

    /// The length of the well-formed UTF-8 sequence at `i` (1 for ASCII), or nil when the bytes
    /// there are not one (a stray continuation byte, a truncated or overlong sequence, a
    /// surrogate, a code point above U+10FFFF), by the table of well-formed sequences of the
    /// Unicode standard (§3.9, table 3-7).
    static func utf8SequenceLength(_ b: [UInt8], at i: Int, end: Int) -> Int? {
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

    /// True when `range` holds at least one well-formed multi-byte UTF-8 sequence: what makes
    /// `auto` read a movies file as UTF-8. ISO-8859-1 text almost never holds one (a letter
    /// from 0xC2–0xF4 followed by a byte from 0x80–0xBF, which are control characters there);
    /// the ML-1M and ML-100K files hold none.
    static func hasMultiByteUTF8(_ b: [UInt8], _ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        while i < range.upperBound {
            if b[i] >= 0x80, let n = utf8SequenceLength(b, at: i, end: range.upperBound) {
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
            guard let n = utf8SequenceLength(b, at: i, end: range.upperBound) else { return i }
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
        let b = Array(raw.prefix(40))
        var out = ""
        var i = 0
        while i < b.count {
            if let n = utf8SequenceLength(b, at: i, end: b.count),
               let s = String(validating: b[i..<(i + n)], as: UTF8.self) {
                let scalar = s.unicodeScalars.first!
                out += isControl(scalar) || scalar == "\u{FEFF}" ? "<\(describe(scalar).prefix(6))>" : s
                i += n
            } else {
                out += "<0x" + (b[i] < 16 ? "0" : "") + String(b[i], radix: 16, uppercase: true) + ">"
                i += 1
            }
        }
        return out + (raw.count > 40 ? "…" : "")
    }
}
