import Foundation

/// A JSON value, for the free-form parts of artefact headers, manifests and metrics.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d): return Int(exactly: d)  // nil when fractional or out of range (1e300)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// Converts any Encodable value (settings structs, say) to a JSONValue.
    public static func from<T: Encodable>(_ value: T) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSON.encode(value))
    }
}

/// Deterministic JSON: sorted keys, so that the same content always gives the same bytes.
public enum JSON {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .throw
        do {
            return try encoder.encode(value)
        } catch EncodingError.invalidValue(let bad, let context) {
            // JSON has no infinity or NaN: name the value and where it sits rather than let a
            // raw EncodingError reach the person running the pipeline.
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            throw RecError(.runtime, "cannot write \(bad) as JSON at '\(path.hasPrefix(".") ? String(path.dropFirst()) : path)': JSON has no infinite or NaN numbers",
                           hint: "a setting or a model produced a non-finite figure; check the settings' numbers and the training loss")
        }
    }

    public static func encodeString<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        String(decoding: try encode(value, pretty: pretty), as: UTF8.self)
    }
}

/// Duplicate keys in JSON text. Foundation's decoder keeps one of two values given for the
/// same key without a word (the first; Python's `json` keeps the last), so a settings file
/// that says `"epochs"` twice would run with a value its reader may not expect.
public enum JSONDuplicateKeys {
    /// The first key that appears twice in one object, as a dotted path from the top
    /// (`ratingModel.epochs`, `a[2].b` inside arrays), with the 1-based line of its second
    /// appearance; nil when there is none.
    ///
    /// Meant for text that already decoded as JSON; on anything else it returns some answer
    /// or nil but never traps. Keys are compared after unescaping, as Swift strings compare
    /// (canonically equivalent spellings are one key, as they are in a decoded dictionary).
    /// - Complexity: one pass over the bytes; no recursion, whatever the nesting depth.
    public static func first(in bytes: [UInt8]) -> (path: String, line: Int)? {
        struct Container {
            var isObject: Bool
            var keys: Set<String> = []
            var expectKey: Bool
            var currentKey: String?
            var index = 0
        }
        // The open containers, outermost first; a path is built only for the answer, so deep
        // nesting costs linear time.
        var stack: [Container] = []
        var line = 1
        var i = 0
        func path(to key: String) -> String {
            var out = ""
            for c in stack.dropLast() {
                if c.isObject { out = join(out, c.currentKey ?? "") } else { out += "[\(c.index)]" }
            }
            return join(out, key)
        }
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\n"):
                line += 1
                i += 1
            case UInt8(ascii: "{"):
                stack.append(Container(isObject: true, expectKey: true))
                i += 1
            case UInt8(ascii: "["):
                stack.append(Container(isObject: false, expectKey: false))
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
                i += 1
            case UInt8(ascii: ","):
                if !stack.isEmpty {
                    if stack[stack.count - 1].isObject { stack[stack.count - 1].expectKey = true } else { stack[stack.count - 1].index += 1 }
                }
                i += 1
            case UInt8(ascii: "\""):
                let keyLine = line
                let (text, end) = string(bytes, from: i + 1, line: &line)
                i = end
                if let top = stack.last, top.isObject, top.expectKey {
                    if top.keys.contains(text) { return (path(to: text), keyLine) }
                    stack[stack.count - 1].keys.insert(text)
                    stack[stack.count - 1].currentKey = text
                    stack[stack.count - 1].expectKey = false
                }
            default:
                i += 1
            }
        }
        return nil
    }

    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    /// Decodes a JSON string body starting just after its opening quote.
    /// - Returns: the text and the index just after the closing quote (or the end).
    private static func string(_ b: [UInt8], from start: Int, line: inout Int) -> (String, Int) {
        var out: [UInt8] = []
        var i = start
        var pendingHigh: UInt32?
        func append(_ scalar: UInt32) {
            let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
            out += Array(String(Character(s)).utf8)
        }
        func flushHigh() {
            if pendingHigh != nil { append(0xFFFD); pendingHigh = nil }
        }
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { flushHigh(); return (String(decoding: out, as: UTF8.self), i + 1) }
            if c == UInt8(ascii: "\n") { line += 1 }
            guard c == UInt8(ascii: "\\"), i + 1 < b.count else {
                flushHigh()
                out.append(c)
                i += 1
                continue
            }
            let e = b[i + 1]
            i += 2
            if e == UInt8(ascii: "u") {
                var value: UInt32 = 0
                var digits = 0
                while digits < 4, i < b.count, let d = hexValue(b[i]) {
                    value = value << 4 | d
                    digits += 1
                    i += 1
                }
                if (0xD800...0xDBFF).contains(value) {
                    flushHigh()
                    pendingHigh = value
                } else if (0xDC00...0xDFFF).contains(value), let high = pendingHigh {
                    pendingHigh = nil
                    append(0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00))
                } else {
                    flushHigh()
                    append(value)
                }
                continue
            }
            flushHigh()
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            default: out.append(e)  // \" \\ \/ and anything a decoder would have refused
            }
        }
        flushHigh()
        return (String(decoding: out, as: UTF8.self), i)
    }

    private static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
