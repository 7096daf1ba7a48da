import Testing
@testable import RecKernels

/// The AVX-512 kernels against their AVX2 twins, bit for bit: a model trained on a CPU with
/// AVX-512 must be the same as one trained without. Runs only where the CPU has AVX-512 (the
/// other tests of `Kernels` then exercise the AVX2 kernels alone).
@Suite(.enabled(if: Kernels.wide, "the CPU has no AVX-512"))
struct WideKernelsTests {
    /// Widths below, at and above each boundary of the AVX-512 kernel: one 16-lane register, a
    /// half register (8), the scalar tail (d mod 8), a full pass of 16 registers (256) and
    /// several passes (520 = 256 + 256 + 8).
    @Test(arguments: Array(1...40) + [63, 64, 65, 72, 100, 127, 136, 200, 203, 255, 256, 257, 263, 300, 520])
    func gatherAccumulate_sameBitsAsAVX2(d: Int) {
        var rng = Seeded(UInt64(9000 + d))
        for count in [0, 1, 2, 7, 31, 50] {
            let stride = d + Int.random(in: 0...5, using: &rng)
            let rowCount = 1 + Int.random(in: 0...40, using: &rng)
            let rows = rng.floats(rowCount * stride)
            let index = (0..<count).map { _ in Int32(Int.random(in: 0..<rowCount, using: &rng)) }
            let coeff = rng.floats(count, in: -3..<3)
            let start = rng.floats(d) + Array(repeating: 12345.5, count: 17)
            var wide = start, narrow = start
            wide.withUnsafeMutableBufferPointer {
                Kernels.gatherAccumulate(out: $0.baseAddress!, d: d, rows: rows, stride: stride, index: index, coeff: coeff, count: count)
            }
            narrow.withUnsafeMutableBufferPointer {
                Kernels.gatherAccumulate8(out: $0.baseAddress!, d: d, rows: rows, stride: stride, index: index, coeff: coeff, count: count)
            }
            #expect(wide.map(\.bitPattern) == narrow.map(\.bitPattern), "d=\(d) count=\(count)")
            if count > 0 { #expect(wide != start, "d=\(d) count=\(count): nothing was added") }
        }
    }

    @Test(arguments: [1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 200, 401], KernelsTests.adamSettings)
    func adam_sameBitsAsAVX2(n: Int, s: KernelsTests.AdamSettings) {
        var rng = Seeded(UInt64(9500 + n))
        let canaries = Array(repeating: Float(12345.5), count: 17)
        let p0 = rng.floats(n) + canaries, g = rng.floats(n) + canaries
        let m0 = rng.floats(n, in: -0.1..<0.1) + canaries, v0 = rng.floats(n, in: 0..<0.01) + canaries
        var (pw, mw, vw) = (p0, m0, v0), (pn, mn, vn) = (p0, m0, v0)
        // Three steps, so that state written by one step is read by the next.
        for _ in 0..<3 {
            var (gw, gn) = (g, g)
            Kernels.adam(n, p: &pw, g: &gw, m: &mw, v: &vw, stepSize: s.stepSize, beta1: s.beta1, beta2: s.beta2,
                         sqrtBias2: s.sqrtBias2, eps: s.eps, weightDecay: s.weightDecay)
            Kernels.adam8(n, p: &pn, g: &gn, m: &mn, v: &vn, stepSize: s.stepSize, beta1: s.beta1, beta2: s.beta2,
                          sqrtBias2: s.sqrtBias2, eps: s.eps, weightDecay: s.weightDecay)
            #expect(gw.map(\.bitPattern) == gn.map(\.bitPattern) && gw.prefix(n).allSatisfy { $0 == 0 })
        }
        #expect(pw.map(\.bitPattern) == pn.map(\.bitPattern), "p, n=\(n)")
        #expect(mw.map(\.bitPattern) == mn.map(\.bitPattern), "m, n=\(n)")
        #expect(vw.map(\.bitPattern) == vn.map(\.bitPattern), "v, n=\(n)")
        #expect(pw != p0, "the steps moved the parameters")
    }
}
