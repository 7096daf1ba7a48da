import RecCore
import RecStore
/// The `input.ratingScale` setting: which ratings are valid, and what predictions are clipped
/// to.
///
/// - `auto` (the default) takes the scale from the data, as the MovieLens releases define it:
///   a valid rating is a whole or half star from 0.5 to 5; the scale is 1–5 when every rating
///   is a whole star (ML-100K, ML-1M) and 0.5–5 when any is a half star (ML-10M, ML-20M and
///   later, ml-latest).
/// - `[lowest, highest]` accepts any rating in that range (fractions included) and is the
///   scale whatever the data hold.
///
/// In JSON: `"auto"` or a two-number array.
public enum RatingScale: Sendable, Equatable, Codable, CustomStringConvertible {
    case auto
    case fixed(lowest: Double, highest: Double)

    /// The MovieLens scales `auto` chooses between.
    public static let wholeStars: ClosedRange<Float> = 1...5
    public static let halfStars: ClosedRange<Float> = 0.5...5

    /// Largest magnitude of a fixed scale's bounds: ratings, predictions and the scale itself
    /// are held as 32-bit floats, which hold every whole number up to 2^24 exactly; any rating
    /// scale in use is far inside it.
    static let maxMagnitude = 1_000_000.0

    public static let invalidMessage = "'input.ratingScale' must be \"auto\" or [lowest, highest] with lowest < highest, both between -1000000 and 1000000"

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            guard s == "auto" else { throw DecodingError.dataCorruptedError(in: c, debugDescription: Self.invalidMessage) }
            self = .auto
        } else if let a = try? c.decode([Double].self), a.count == 2 {
            self = .fixed(lowest: a[0], highest: a[1])
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: Self.invalidMessage)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .auto: try c.encode("auto")
        case .fixed(let lo, let hi): try c.encode([lo, hi])
        }
    }

    /// Whether the bounds of a fixed scale make a range (auto always does).
    public var isValid: Bool {
        guard case .fixed(let lo, let hi) = self else { return true }
        return lo.isFinite && hi.isFinite && abs(lo) <= Self.maxMagnitude && abs(hi) <= Self.maxMagnitude && Float(lo) < Float(hi)
    }

    public var description: String {
        switch self {
        case .auto: "auto"
        case .fixed(let lo, let hi): "\(Self.format(lo))–\(Self.format(hi))"
        }
    }

    /// What a parser checks each rating against: a range, and for `auto` whole or half steps.
    struct Check: Sendable {
        let lowest: Double
        let highest: Double
        let halfSteps: Bool

        @inline(__always) func accepts(_ r: Double) -> Bool {
            r >= lowest && r <= highest && (!halfSteps || (r * 2).rounded(.towardZero) == r * 2)
        }

        /// Why `r` (as written: `text`) is not accepted.
        func problem(_ text: String, _ r: Double) -> String {
            guard halfSteps else {
                return "rating \(text) is outside the scale \(RatingScale.format(lowest))–\(RatingScale.format(highest))"
            }
            let other = "set input.ratingScale to [lowest, highest] for a scale other than MovieLens's"
            if r < lowest || r > highest {
                return "rating \(text) is outside the scale 0.5–5 of MovieLens's whole and half stars (\(other))"
            }
            return "rating \(text) is not a whole or half star (\(other))"
        }
    }

    var check: Check {
        switch self {
        case .auto: Check(lowest: Double(Self.halfStars.lowerBound), highest: Double(Self.halfStars.upperBound), halfSteps: true)
        case .fixed(let lo, let hi): Check(lowest: lo, highest: hi, halfSteps: false)
        }
    }

    /// The scale of these (accepted) ratings: the fixed range, or for `auto` 1–5 when every
    /// rating is a whole star and 0.5–5 otherwise.
    public func resolved(for values: [Float]) -> ClosedRange<Float> {
        switch self {
        case .fixed(let lo, let hi):
            return Float(lo)...Float(hi)
        case .auto:
            let whole = values.allSatisfy { $0 == $0.rounded(.towardZero) }
            return whole ? Self.wholeStars : Self.halfStars
        }
    }

    /// The resolved scale as artefacts record it (`"ratingScale": [lowest, highest]`).
    public static func meta(_ scale: ClosedRange<Float>) -> JSONValue {
        .array([.double(Double(scale.lowerBound)), .double(Double(scale.upperBound))])
    }

    /// The resolved scale recorded in an artefact by `rec-ingest` and carried along by every
    /// later data stage.
    public static func read(from a: Artefact) throws -> ClosedRange<Float> {
        guard case .array(let v)? = a.meta("ratingScale"), v.count == 2, let lo = v[0].doubleValue, let hi = v[1].doubleValue,
              Float(lo).isFinite, Float(hi).isFinite, Float(lo) < Float(hi) else {
            throw RecError(.artefact, "records no rating scale (written by an older version, or damaged)", file: a.path,
                           hint: "rerun from rec-ingest: rec-pipeline --from ingest")
        }
        return Float(lo)...Float(hi)
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}
