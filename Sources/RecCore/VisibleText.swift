/// Text for a terminal or a log: characters that a terminal or a log viewer would act on
/// instead of showing are written as visible escapes.
///
/// Titles, file names and field values quoted in messages come from input files; a raw ESC
/// could recolour or rewrite the terminal, a CR or LF could forge a log line, and a bidi
/// override could make a message read backwards. So every message is passed through
/// `escape` where it is printed (the log handler, the error printer, the stdout summary).
public enum VisibleText {
    /// `s` with every scalar that `needsEscape` picks written as `\u{HEX}` (uppercase hex,
    /// as Swift writes it); everything else unchanged.
    /// - Parameter keepingLineFeeds: leave LF as it is (multi-line text for stdout, such as
    ///   the metrics table); a log line escapes it so that one event stays one line.
    public static func escape(_ s: String, keepingLineFeeds: Bool = false) -> String {
        guard s.unicodeScalars.contains(where: { needsEscape($0) && !(keepingLineFeeds && $0 == "\n") }) else { return s }
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if needsEscape(scalar) && !(keepingLineFeeds && scalar == "\n") {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Whether a scalar must not reach a terminal or a log as it is: the C0 controls (TAB, LF
    /// and CR included), DEL, the C1 controls, the line and paragraph separators (U+2028,
    /// U+2029: line breaks to many viewers), and the bidi controls (the embeddings and
    /// overrides U+202A–U+202E, the isolates U+2066–U+2069, and the marks U+200E, U+200F,
    /// U+061C), which reorder the text around them.
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F || v == 0x061C
    }
}
