import Foundation
import RecTestSupport
import Testing
@testable import RecCore
@testable import RecEval


/// Text from the data never adds markup to the report: whatever a title holds, the page has
/// the same elements and attributes as with a plain title, and the title reads back exactly.
@Suite struct ReportMarkupTests {
    // MARK: - A strict HTML tokenizer, written apart from the code under test

    enum Token: Equatable {
        case start(String, [String: String])
        case end(String)
        case text(String)
        case comment(String)
    }

    /// Elements whose content is text up to their end tag (raw text and RCDATA).
    static let rawText: Set<String> = ["script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"]

    /// Tokenizes as an HTML5 parser does for the purposes here: `<` then an ASCII letter
    /// opens a tag, `</` then a letter closes one, `<!` and `<?` open comments and
    /// declarations; attribute values quoted with either quote or unquoted; the content of a
    /// raw-text element runs to its end tag. Works on scalars, as a browser does.
    static func tokenize(_ html: String) -> [Token] {
        let s = Array(html.unicodeScalars)
        var tokens: [Token] = [], text = String.UnicodeScalarView(), i = 0
        func isLetter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
        func isSpace(_ c: Unicode.Scalar) -> Bool { [" ", "\t", "\n", "\u{C}", "\r"].contains(c) }
        // Every markup token has a text before it, empty or not, so that two pages with the
        // same markup have their texts at the same places.
        func flush() { tokens.append(.text(String(text))); text = String.UnicodeScalarView() }
        func read(until stop: (Unicode.Scalar) -> Bool) -> String {
            var out = String.UnicodeScalarView()
            while i < s.count, !stop(s[i]) { out.append(s[i]); i += 1 }
            return String(out)
        }
        func starts(_ p: String, at j: Int) -> Bool {
            let p = Array(p.unicodeScalars)
            return j + p.count <= s.count && zip(s[j..<(j + p.count)], p).allSatisfy { String($0).lowercased() == String($1) }
        }
        while i < s.count {
            guard s[i] == "<", i + 1 < s.count else { text.append(s[i]); i += 1; continue }
            let next = s[i + 1]
            if isLetter(next) {
                flush()
                i += 1
                let name = read { isSpace($0) || $0 == "/" || $0 == ">" }.lowercased()
                var attributes: [String: String] = [:]
                while i < s.count, s[i] != ">" {
                    if isSpace(s[i]) || s[i] == "/" { i += 1; continue }
                    let first = s[i]; i += 1
                    let attribute = (String(first) + read { isSpace($0) || $0 == "/" || $0 == ">" || $0 == "=" }).lowercased()
                    while i < s.count, isSpace(s[i]) { i += 1 }
                    var value = ""
                    if i < s.count, s[i] == "=" {
                        i += 1
                        while i < s.count, isSpace(s[i]) { i += 1 }
                        if i < s.count, s[i] == "\"" || s[i] == "'" {
                            let quote = s[i]; i += 1
                            value = read { $0 == quote }; i += 1
                        } else {
                            value = read { isSpace($0) || $0 == ">" }
                        }
                    }
                    attributes[attribute] = attributes[attribute] ?? value
                }
                i += 1
                tokens.append(.start(name, attributes))
                if rawText.contains(name) {
                    var body = String.UnicodeScalarView()
                    while i < s.count, !(starts("</" + name, at: i) && (i + name.count + 2 >= s.count || [">", "/", " ", "\t", "\n", "\u{C}", "\r"].contains(s[i + name.count + 2]))) {
                        body.append(s[i]); i += 1
                    }
                    tokens.append(.text(String(body)))
                }
            } else if next == "/", i + 2 < s.count, isLetter(s[i + 2]) {
                flush()
                i += 2
                let name = read { isSpace($0) || $0 == "/" || $0 == ">" }.lowercased()
                _ = read { $0 == ">" }; i += 1
                tokens.append(.end(name))
            } else if next == "!" || next == "?" || next == "/" {
                flush()
                if starts("<!--", at: i) {
                    i += 4
                    var body = String.UnicodeScalarView()
                    while i < s.count, !starts("-->", at: i) { body.append(s[i]); i += 1 }
                    i += 3
                    tokens.append(.comment(String(body)))
                } else {
                    i += 2
                    tokens.append(.comment(read { $0 == ">" })); i += 1
                }
            } else {
                text.append(s[i]); i += 1
            }
        }
        flush()
        return tokens
    }

    /// Decodes the five references the report writes, scalar by scalar; nil when a `&`
    /// starts anything else (a raw `&` from the data would).
    static func unescape(_ text: String) -> [Unicode.Scalar]? {
        let s = Array(text.unicodeScalars)
        let references: [([Unicode.Scalar], Unicode.Scalar)] = [("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'")]
            .map { (Array($0.0.unicodeScalars), $0.1) }
        var out: [Unicode.Scalar] = [], i = 0
        while i < s.count {
            guard s[i] == "&" else { out.append(s[i]); i += 1; continue }
            guard let (reference, scalar) = references.first(where: { i + $0.0.count <= s.count && Array(s[i..<(i + $0.0.count)]) == $0.0 }) else { return nil }
            out.append(scalar)
            i += reference.count
        }
        return out
    }

    /// `text` with every `marker` replaced by `replacement`, scalar by scalar (String's own
    /// search compares grapheme clusters, which a title's combining marks would join).
    static func replacing(_ marker: String, with replacement: String, in text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let m = Array(marker.unicodeScalars)
        var out: [Unicode.Scalar] = [], i = 0
        while i < text.count {
            if i + m.count <= text.count, Array(text[i..<(i + m.count)]) == m {
                out += replacement.unicodeScalars
                i += m.count
            } else {
                out.append(text[i]); i += 1
            }
        }
        return out
    }

    @Test func tokenizer_seesMarkupThatABrowserWouldSee() {
        func tokenize(_ html: String) -> [Token] { Self.tokenize(html).filter { $0 != .text("") } }
        #expect(tokenize("<p class=\"a\">x &lt; <b>y</b></p>") == [.start("p", ["class": "a"]), .text("x &lt; "), .start("b", [:]), .text("y"), .end("b"), .end("p")])
        #expect(tokenize("\u{600}<img src=x onerror=alert(1)>") == [.text("\u{600}"), .start("img", ["src": "x", "onerror": "alert(1)"])])
        #expect(tokenize("<title>a <b> c</title>") == [.start("title", [:]), .text("a <b> c"), .end("title")])
        #expect(tokenize("a < b <!-- c -->") == [.text("a < b "), .comment(" c ")])
        #expect(Self.unescape("a &amp;lt; b") == Array("a &lt; b".unicodeScalars) && Self.unescape("a & b") == nil)
        #expect(Self.unescape("&\u{301}") == nil && Self.unescape("&lt;\u{301}") == Array("<\u{301}".unicodeScalars))
    }

    // MARK: - The property

    /// Example users whose every title is `title(slot)`.
    static func examples(_ title: (Int) -> String) -> [ExampleUser] {
        (0..<3).map { u in
            ExampleUser(userId: u + 1,
                        favourites: (0..<2).map { (title: title(u * 10 + $0), rating: Float(5 - $0)) },
                        recommendations: (0..<3).map { (title: title(u * 10 + 5 + $0), score: 0.5, predictedRating: 4) })
        }
    }

    /// A marker that the plain page holds where the hostile page holds title `slot`.
    static func marker(_ slot: Int) -> String { "[[T\(slot)]]" }

    /// Checks that the page made with `titles` has exactly the markup of the page made with
    /// the markers, and that each text reads back, unescaped, as the plain page's text with
    /// the markers replaced by their titles.
    static func check(plain: String, hostile: String, titles: [Int: String], _ comment: @autoclosure () -> String) {
        let a = tokenize(plain), b = tokenize(hostile)
        func markup(_ t: [Token]) -> [Token] { t.filter { if case .text = $0 { false } else { true } } }
        #expect(markup(a) == markup(b), "markup differs for \(comment())")
        guard markup(a) == markup(b) else { return }
        // The same markup puts the texts at the same places: compare them one by one.
        let textsA = a.compactMap { if case .text(let t) = $0 { t } else { nil } }
        let textsB = b.compactMap { if case .text(let t) = $0 { t } else { nil } }
        #expect(textsA.count == textsB.count, "\(comment())")
        // A text holding "[[S" shows other data re-encoded (settings as JSON): only its markup counts.
        for (ta, tb) in zip(textsA, textsB) where !ta.contains("[[S") {
            guard var expected = unescape(ta) else { Issue.record("a raw & in \(ta.debugDescription)"); continue }
            for (slot, title) in titles { expected = replacing(marker(slot), with: title, in: expected) }
            #expect(unescape(tb) == expected, "text \(tb.debugDescription) for \(comment())")
        }
    }

    @Test(arguments: 0..<6)
    func html_withArbitraryTitles_addsNoElementOrAttribute_andShowsEachTitleExactly(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &+ 1_000)
        let metrics = sampleMetrics(validation: seed % 2 == 0, epochs: 3)
        for _ in 0..<40 {
            var titles: [Int: String] = [:]
            titles[99] = HostileText.random(&rng)
            for u in 0..<3 {
                for slot in [0, 1, 5, 6, 7] { titles[u * 10 + slot] = HostileText.random(&rng) }
            }
            let plain = Report.html(metrics: metrics, examples: Self.examples(Self.marker), title: Self.marker(99))
            let hostile = Report.html(metrics: metrics, examples: Self.examples { titles[$0]! }, title: titles[99]!)
            Self.check(plain: plain, hostile: hostile, titles: titles, titles.values.map(\.debugDescription).joined(separator: ", "))
        }
    }

    @Test(arguments: 0..<3)
    func html_servingOnly_withArbitraryTitleAndSettings_addsNoMarkup(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &+ 2_000)
        let served = Served(ratings: 10, users: 2, items: 3, rows: 4, choices: .object([:]))
        for _ in 0..<100 {
            let title = HostileText.random(&rng), setting = HostileText.random(&rng)
            let plain = Report.html(servingOnly: ServingOnlyMetrics(served: served, settings: .object(["path": .string("[[S]]")])), title: Self.marker(0))
            let hostile = Report.html(servingOnly: ServingOnlyMetrics(served: served, settings: .object(["path": .string(setting)])), title: title)
            Self.check(plain: plain, hostile: hostile, titles: [0: title], "\(title.debugDescription), \(setting.debugDescription)")
        }
    }

    /// The case that broke escaping by `Character`: U+0600 joins the `<` after it into one
    /// grapheme cluster, which is not equal to "<".
    @Test(arguments: HostileText.prepended)
    func escape_ofAPrependedMarkBeforeATag_escapesTheTag(mark: Unicode.Scalar) {
        let title = String(Character(mark)) + "<img src=x onerror=alert(1)>"
        let page = Report.html(metrics: sampleMetrics(), examples: Self.examples { _ in title }, title: title)
        #expect(!page.contains("<img"))
        #expect(page.contains(String(Character(mark)) + "&lt;img src=x onerror=alert(1)&gt;"))
        #expect(!Self.tokenize(page).contains { if case .start("img", _) = $0 { true } else { false } })
    }
}
