import Foundation
import Testing
@testable import RecCore

@Suite struct VisibleTextTests {
    /// What must never reach a terminal or a log raw, by the Unicode database rather than by
    /// the ranges the formatter lists: general category Cc, the bidi controls, and the line
    /// and paragraph separators.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.properties.generalCategory == .control || s.properties.isBidiControl || s.properties.generalCategory == .lineSeparator
            || s.properties.generalCategory == .paragraphSeparator
    }

    /// Undoes `escape`: every `\u{HEX}` back to its scalar. Scalar by scalar: String's own
    /// search compares grapheme clusters, and a `}` followed by a combining mark is one.
    static func unescape(_ s: String) -> [Unicode.Scalar] {
        let s = Array(s.unicodeScalars)
        var out: [Unicode.Scalar] = [], i = 0
        while i < s.count {
            if i + 3 < s.count, s[i] == "\\", s[i + 1] == "u", s[i + 2] == "{", let close = s[(i + 3)...].firstIndex(of: "}"),
               let v = UInt32(String(String.UnicodeScalarView(s[(i + 3)..<close])), radix: 16), let scalar = Unicode.Scalar(v) {
                out.append(scalar)
                i = close + 1
            } else {
                out.append(s[i]); i += 1
            }
        }
        return out
    }

    /// Line feeds of a string, as scalars.
    static func lineFeeds(_ s: String) -> Int { s.unicodeScalars.filter { $0 == "\n" }.count }

    @Test(arguments: 0..<8)
    func escape_ofArbitraryText_leavesNoControlScalar_andUndoesExactly(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed))
        for _ in 0..<2_000 {
            // Without backslashes, so that the escapes are the only `\u{` and undo exactly.
            let text = String(String.UnicodeScalarView(HostileText.random(&rng).unicodeScalars.filter { $0 != "\\" }))
            let line = VisibleText.escape(text)
            #expect(!line.unicodeScalars.contains(where: Self.isControl), "\(line.debugDescription)")
            #expect(Self.unescape(line) == Array(text.unicodeScalars), "\(text.debugDescription)")
            // Multi-line text for stdout keeps its line feeds, and only them.
            let multi = VisibleText.escape(text, keepingLineFeeds: true)
            #expect(!multi.unicodeScalars.contains { Self.isControl($0) && $0 != "\n" }, "\(multi.debugDescription)")
            #expect(Self.lineFeeds(multi) == Self.lineFeeds(text) && Self.lineFeeds(line) == 0)
            #expect(Self.unescape(multi) == Array(text.unicodeScalars))
            // Text with nothing to escape comes out as it went in.
            if !text.unicodeScalars.contains(where: Self.isControl) { #expect(Array(line.unicodeScalars) == Array(text.unicodeScalars)) }
        }
    }

    @Test func escape_ofEveryScalar_escapesExactlyTheControls() {
        for v in UInt32(0)...0x3000 {
            guard let s = Unicode.Scalar(v) else { continue }
            let out = VisibleText.escape(String(Character(s)))
            #expect((out != String(Character(s))) == Self.isControl(s), "U+\(String(v, radix: 16))")
        }
    }

    @Test(arguments: [
        ("plain text, é 日本 🎬", "plain text, é 日本 🎬"),
        ("\u{1B}[31mred\u{1B}[0m", "\\u{1B}[31mred\\u{1B}[0m"),
        ("line\nforged 2026-11-30T04:39:11Z rec-train info: ok", "line\\u{A}forged 2026-11-30T04:39:11Z rec-train info: ok"),
        ("over\rwrite", "over\\u{D}write"), ("tab\there", "tab\\u{9}here"), ("\u{7F}\u{85}\u{9B}", "\\u{7F}\\u{85}\\u{9B}"),
        ("abc\u{202E}fed.exe", "abc\\u{202E}fed.exe"), ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"), ("a\u{2028}b", "a\\u{2028}b"),
        ("\u{0}", "\\u{0}"),
    ])
    func escape_writesControlsAsSwiftEscapes(c: (input: String, expected: String)) {
        #expect(VisibleText.escape(c.input) == c.expected)
    }
}
