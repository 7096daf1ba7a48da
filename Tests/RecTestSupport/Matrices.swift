import RecCore

/// A random symmetric positive-definite matrix: MᵀM / n + shift · I, in Double.
public func randomSPD(_ n: Int, seed: UInt64, shift: Double = 0.5) -> [Double] {
    var rng = SplitMix64(seed: seed)
    let m = (0..<(n * n)).map { _ in Double(rng.unitFloat()) - 0.5 }
    var a = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0..<n {
            var s = 0.0
            for k in 0..<n { s += m[k * n + i] * m[k * n + j] }
            a[i * n + j] = s / Double(n) + (i == j ? shift : 0)
        }
    }
    return a
}
