/// Test helpers for the kernel module: a seeded generator and buffers of exact size.
///
/// RecKernelsTests depends only on RecKernels, so this is a local copy of SplitMix64 rather
/// than RecKit's.
struct Seeded: RandomNumberGenerator {
    var state: UInt64

    init(_ seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    mutating func signed() -> Float { Float.random(in: -1..<1, using: &self) }

    mutating func floats(_ n: Int, in range: Range<Float> = -1..<1) -> [Float] {
        (0..<n).map { _ in Float.random(in: range, using: &self) }
    }

    mutating func doubles(_ n: Int) -> [Double] {
        (0..<n).map { _ in Double.random(in: -1..<1, using: &self) }
    }
}

/// `|actual - expected| <= 1e-5 · (1 + magnitude)`, where `magnitude` is the sum of the
/// absolute values of the terms that made `expected`: summation order may differ between a
/// kernel and its twin, and the rounding error scales with the terms, not with their sum.
func close(_ actual: Float, _ expected: Float, magnitude: Float, relative: Float = 1e-5) -> Bool {
    abs(actual - expected) <= relative * (1 + magnitude)
}
