import RecCore

/// Random text of the kinds that break writers which work on `Character`s or forget a class
/// of scalar: markup and formula characters, scalars that join the next or the previous
/// character into one grapheme cluster, controls, bidi controls, and any other scalar.
public enum HostileText {
    /// Scalars that join the character after them into one grapheme cluster (prepended
    /// concatenation marks): `"\u{600}<"` is one `Character`.
    public static let prepended: [Unicode.Scalar] = [0x600, 0x601, 0x602, 0x603, 0x604, 0x605, 0x6DD, 0x70F, 0x8E2, 0x110BD, 0x110CD]
        .map { Unicode.Scalar($0)! }
    /// Bidi controls: embeddings, overrides, isolates and marks.
    public static let bidi: [Unicode.Scalar] = [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x61C]
        .map { Unicode.Scalar($0)! }
    /// Pieces that would add markup or a formula if written raw.
    public static let fragments = ["<", ">", "&", "\"", "'", "</script>", "<img src=x onerror=alert(1)>", "<!--", "-->", "&amp;", "&#60;",
                                   "=", "+", "-", "@", "\t", "\r", "\n", "\r\n", ",", "=HYPERLINK(\"http://x\")", "<svg onload=x>", "\\u{1B}"]

    /// A random string of up to `maxScalars` scalars (and fragments).
    public static func random(_ rng: inout SplitMix64, maxScalars: Int = 24) -> String {
        var out = String.UnicodeScalarView()
        for _ in 0..<rng.below(maxScalars + 1) {
            switch rng.below(12) {
            case 0: out.append(contentsOf: fragments[rng.below(fragments.count)].unicodeScalars)
            case 1: out.append(prepended[rng.below(prepended.count)])
            case 2: out.append(bidi[rng.below(bidi.count)])
            case 3: out.append(Unicode.Scalar(UInt32(0x300 + rng.below(0x70)))!)  // combining marks
            case 4: out.append(Unicode.Scalar(UInt32(rng.below(0x20)))!)  // C0
            case 5: out.append(Unicode.Scalar(UInt32(0x7F + rng.below(0x21)))!)  // DEL, C1
            case 6: out.append(["\u{200D}", "\u{200C}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{1F468}", "\u{1F1EB}", "\u{1100}", "\u{AC00}"][rng.below(9)])
            case 7: out.append(Unicode.Scalar(UInt32(0x20 + rng.below(0x5F)))!)  // printable ASCII
            default: out.append(anyScalar(&rng))
            }
        }
        return String(out)
    }

    /// Any Unicode scalar (surrogates excluded), more often from the BMP.
    public static func anyScalar(_ rng: inout SplitMix64) -> Unicode.Scalar {
        while true {
            let v = UInt32(rng.below(4) == 0 ? rng.below(0x110000) : rng.below(0x10000))
            if let s = Unicode.Scalar(v) { return s }
        }
    }
}
