import Foundation
import Testing
@testable import RecCore

/// The one UTF-8 reader against Swift's own validation, on random bytes biased towards the
/// edges of the table (leads, continuations, surrogates, overlongs, truncated ends).
@Suite struct UTF8SequenceTests {
    static func randomBytes(_ rng: inout SplitMix64) -> [UInt8] {
        let interesting: [UInt8] = [0x00, 0x1F, 0x41, 0x5C, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                    0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        return (0..<rng.below(24)).map { _ in rng.below(3) == 0 ? UInt8(rng.below(256)) : interesting[rng.below(interesting.count)] }
    }

    /// The escaping as it was written before the shared reader (the longest valid prefix by
    /// `String(validating:)`, then one byte escaped; quadratic, but plain), with one fix the
    /// comparison found: its backslashes are doubled scalar by scalar.
    static func referenceEscaped(_ bytes: [UInt8]) -> String {
        var out = ""
        var rest = bytes[...]
        while !rest.isEmpty {
            var valid = rest.endIndex
            while valid > rest.startIndex, String(validating: rest[rest.startIndex..<valid], as: UTF8.self) == nil { valid -= 1 }
            if valid > rest.startIndex {
                // Backslashes doubled scalar by scalar: String's own replacement works on
                // grapheme clusters, and misses a backslash followed by a combining mark.
                for scalar in String(validating: rest[rest.startIndex..<valid], as: UTF8.self)!.unicodeScalars {
                    out.unicodeScalars.append(contentsOf: scalar == "\\" ? ["\\", "\\"] : [scalar])
                }
                rest = rest[valid...]
            } else {
                out += "\\x" + (rest.first! < 16 ? "0" : "") + String(rest.first!, radix: 16, uppercase: true)
                rest = rest.dropFirst()
            }
        }
        return out
    }

    @Test(arguments: 0..<40)
    func length_agreesWithSwiftsValidation(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed))
        for _ in 0..<200 {
            let b = Self.randomBytes(&rng)
            for i in b.indices {
                let n = UTF8Sequence.length(b, at: i, end: b.count)
                // Well-formed: exactly one scalar of that length; no shorter or longer prefix is one scalar.
                let lengths = (1...min(4, b.count - i)).filter { k in
                    String(validating: b[i..<(i + k)], as: UTF8.self).map { $0.unicodeScalars.count == 1 } ?? false
                }
                #expect(n == lengths.first, "\(b[i...].prefix(4).map { String($0, radix: 16) })")
            }
        }
    }

    /// A backslash followed by a combining mark is one grapheme cluster; it is still doubled,
    /// so that an escaped name never reads as another one.
    @Test func escaped_doublesABackslashBeforeACombiningMark() {
        let name = Array("a\\\u{0350}\\x41".utf8) + [0xE9]
        #expect(OSPaths.escaped(name) == "a\\\\\u{0350}\\\\x41\\xE9")
    }

    @Test(arguments: 0..<40)
    func escaped_equalsTheReference_andWalkCoversEveryByte(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) + 1000)
        for _ in 0..<200 {
            let b = Self.randomBytes(&rng)
            #expect(OSPaths.escaped(b) == Self.referenceEscaped(b), "\(b.map { String($0, radix: 16) })")
            var rebuilt: [UInt8] = []
            UTF8Sequence.walk(b, text: { rebuilt += Array($0.utf8) }, invalid: { rebuilt.append($0) })
            #expect(rebuilt == b)
        }
    }
}
