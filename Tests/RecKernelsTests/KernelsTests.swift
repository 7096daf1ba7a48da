import Testing
@testable import RecKernels

/// Every SIMD kernel against its plain twin, on widths that are and are not multiples of the
/// SIMD width (8) and of the register block (32), so every tail loop runs.
@Suite struct KernelsTests {
    /// 1...70 covers no full block, one block plus tails, two blocks plus tails.
    static let widths = Array(1...70)
    /// Guard values written past the end of every output: a kernel must never touch them.
    static let canary: Float = 12345.5
    static let canaries = 9

    /// 96 and 127: one 64-block then a 32-block and tails; 72, 136 and 200 (the seed's
    /// width): a last block of 72; 203: 64-blocks, then 32, 8 and 3.
    @Test(arguments: widths + [72, 96, 127, 136, 200, 203])
    func gatherAccumulate_matchesReference(d: Int) {
        var rng = Seeded(UInt64(1000 + d))
        for count in [0, 1, 2, 7, 8, 9, 31, 33, 50, Int.random(in: 0...50, using: &rng)] {
            // A wider matrix than d (stride > d) checks that rows are addressed by stride.
            let stride = d + Int.random(in: 0...5, using: &rng)
            let rowCount = 1 + Int.random(in: 0...60, using: &rng)
            let rows = rng.floats(rowCount * stride)
            // Repeated indices are allowed (an item can appear twice in a gather list).
            let index = (0..<count).map { _ in Int32(Int.random(in: 0..<rowCount, using: &rng)) }
            let coeff = rng.floats(count, in: -3..<3)
            let start = rng.floats(d)
            var fast = start + Array(repeating: Self.canary, count: Self.canaries)
            var slow = start
            fast.withUnsafeMutableBufferPointer { out in
                Kernels.gatherAccumulate(out: out.baseAddress!, d: d, rows: rows, stride: stride,
                                         index: index, coeff: coeff, count: count)
            }
            slow.withUnsafeMutableBufferPointer { out in
                Reference.gatherAccumulate(out: out.baseAddress!, d: d, rows: rows, stride: stride,
                                           index: index, coeff: coeff, count: count)
            }
            for j in 0..<d {
                let magnitude = abs(start[j]) + (0..<count).reduce(Float(0)) {
                    $0 + abs(coeff[$1] * rows[Int(index[$1]) * stride + j])
                }
                #expect(close(fast[j], slow[j], magnitude: magnitude), "d=\(d) count=\(count) j=\(j): \(fast[j]) vs \(slow[j])")
            }
            #expect(fast[d...].allSatisfy { $0 == Self.canary }, "wrote past out[\(d - 1)]")
        }
    }

    @Test(arguments: widths)
    func gatherDot_matchesReference(d: Int) {
        var rng = Seeded(UInt64(2000 + d))
        // 29 and 31: eight-row blocks, a four-row block and single rows; 50: past the
        // prefetch distance.
        for count in [0, 1, 5, 8, 17, 29, 31, 50, Int.random(in: 0...50, using: &rng)] {
            let stride = d + Int.random(in: 0...5, using: &rng)
            let rowCount = 1 + Int.random(in: 0...60, using: &rng)
            let rows = rng.floats(rowCount * stride)
            let x = rng.floats(d)
            let bias = rng.floats(rowCount)
            let index = (0..<count).map { _ in Int32(Int.random(in: 0..<rowCount, using: &rng)) }
            var fast = [Float](repeating: 0, count: count) + Array(repeating: Self.canary, count: Self.canaries)
            var slow = [Float](repeating: 0, count: count)
            fast.withUnsafeMutableBufferPointer { out in
                Kernels.gatherDot(out: out.baseAddress!, x: x, d: d, rows: rows, stride: stride, bias: bias,
                                  index: index, count: count)
            }
            slow.withUnsafeMutableBufferPointer { out in
                Reference.gatherDot(out: out.baseAddress!, x: x, d: d, rows: rows, stride: stride, bias: bias,
                                    index: index, count: count)
            }
            for k in 0..<count {
                let i = Int(index[k])
                let magnitude = abs(bias[i]) + (0..<d).reduce(Float(0)) { $0 + abs(rows[i * stride + $1] * x[$1]) }
                #expect(close(fast[k], slow[k], magnitude: magnitude), "d=\(d) count=\(count) k=\(k): \(fast[k]) vs \(slow[k])")
            }
            #expect(fast[count...].allSatisfy { $0 == Self.canary }, "wrote past out[\(count - 1)]")
        }
    }

    @Test(arguments: [0] + widths + [127, 128, 129, 1000, 1001])
    func dot_matchesReference(n: Int) {
        var rng = Seeded(UInt64(3000 + n))
        let a = rng.floats(n), b = rng.floats(n)
        let fast = Kernels.dot(a, b, n)
        let slow = Reference.dot(a, b, n)
        let magnitude = zip(a, b).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
        #expect(close(fast, slow, magnitude: magnitude), "n=\(n): \(fast) vs \(slow)")
    }

    @Test func dot_whenLengthIsZero_isZero() {
        let a: [Float] = [1, 2, 3]
        #expect(Kernels.dot(a, a, 0) == 0)
    }

    @Test(arguments: [0] + widths)
    func axpy_matchesPlainLoop(n: Int) {
        var rng = Seeded(UInt64(4000 + n))
        let x = rng.floats(n), start = rng.floats(n)
        let alpha = rng.signed() * 4
        var fast = start + Array(repeating: Self.canary, count: Self.canaries)
        fast.withUnsafeMutableBufferPointer { Kernels.axpy(n, alpha, x, $0.baseAddress!) }
        // RecKernels has no Reference.axpy: the twin is this loop.
        for j in 0..<n {
            let expected = start[j] + alpha * x[j]
            #expect(close(fast[j], expected, magnitude: abs(start[j]) + abs(alpha * x[j])), "n=\(n) j=\(j)")
        }
        #expect(fast[n...].allSatisfy { $0 == Self.canary })
    }

    struct AdamSettings: Sendable, CustomTestStringConvertible {
        var stepSize: Float, beta1: Float, beta2: Float, sqrtBias2: Float, eps: Float, weightDecay: Float
        var testDescription: String { "step \(stepSize) wd \(weightDecay) sqrtBias2 \(sqrtBias2)" }
    }

    static let adamSettings = [
        AdamSettings(stepSize: 0.001, beta1: 0.9, beta2: 0.999, sqrtBias2: 1, eps: 1e-8, weightDecay: 0),
        // First step: bias corrections are far from 1.
        AdamSettings(stepSize: 0.01 / (1 - 0.9), beta1: 0.9, beta2: 0.999, sqrtBias2: (1 - 0.999 as Float).squareRoot(),
                     eps: 1e-8, weightDecay: 0.01),
        AdamSettings(stepSize: 0.5, beta1: 0.5, beta2: 0.75, sqrtBias2: 0.3, eps: 1e-3, weightDecay: 0.2),
    ]

    @Test(arguments: [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70], adamSettings)
    func adam_matchesReference(n: Int, s: AdamSettings) {
        var rng = Seeded(UInt64(5000 + n))
        let p0 = rng.floats(n), g = rng.floats(n), m0 = rng.floats(n, in: -0.1..<0.1)
        let v0 = rng.floats(n, in: 0..<0.01)
        var (pf, mf, vf) = (p0 + [Self.canary], m0 + [Self.canary], v0 + [Self.canary])
        var (pr, mr, vr) = (p0, m0, v0)
        // Three steps, so that state written by one step is read by the next.
        for _ in 0..<3 {
            // The gradient is consumed (zeroed) by a step: each step gets a fresh copy.
            var (gf, gr) = (g + [Self.canary], g)
            pf.withUnsafeMutableBufferPointer { p in mf.withUnsafeMutableBufferPointer { m in vf.withUnsafeMutableBufferPointer { v in
                gf.withUnsafeMutableBufferPointer { gp in
                    Kernels.adam(n, p: p.baseAddress!, g: gp.baseAddress!, m: m.baseAddress!, v: v.baseAddress!, stepSize: s.stepSize,
                                 beta1: s.beta1, beta2: s.beta2, sqrtBias2: s.sqrtBias2, eps: s.eps, weightDecay: s.weightDecay)
                }
            } } }
            pr.withUnsafeMutableBufferPointer { p in mr.withUnsafeMutableBufferPointer { m in vr.withUnsafeMutableBufferPointer { v in
                gr.withUnsafeMutableBufferPointer { gp in
                    Reference.adam(n, p: p.baseAddress!, g: gp.baseAddress!, m: m.baseAddress!, v: v.baseAddress!, stepSize: s.stepSize,
                                   beta1: s.beta1, beta2: s.beta2, sqrtBias2: s.sqrtBias2, eps: s.eps, weightDecay: s.weightDecay)
                }
            } } }
            #expect(gf.prefix(n).allSatisfy { $0 == 0 } && gf[n] == Self.canary)
            #expect(gr.allSatisfy { $0 == 0 })
        }
        for j in 0..<n {
            #expect(close(pf[j], pr[j], magnitude: abs(pr[j]) + s.stepSize), "p[\(j)]: \(pf[j]) vs \(pr[j])")
            #expect(close(mf[j], mr[j], magnitude: abs(mr[j])), "m[\(j)]")
            #expect(close(vf[j], vr[j], magnitude: abs(vr[j])), "v[\(j)]")
        }
        #expect(pf[n] == Self.canary && mf[n] == Self.canary && vf[n] == Self.canary)
    }

    @Test(arguments: [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70], [Float(0), 0.05])
    func rmsprop_matchesReference(n: Int, weightDecay: Float) {
        var rng = Seeded(UInt64(6000 + n))
        let p0 = rng.floats(n), g = rng.floats(n), s0 = rng.floats(n, in: 0..<0.01)
        let lr: Float = 0.01, alpha: Float = 0.99, eps: Float = 1e-8
        var (pf, sf) = (p0 + [Self.canary], s0 + [Self.canary])
        var (pr, sr) = (p0, s0)
        for _ in 0..<3 {
            var (gf, gr) = (g + [Self.canary], g)
            pf.withUnsafeMutableBufferPointer { p in sf.withUnsafeMutableBufferPointer { s in gf.withUnsafeMutableBufferPointer { gp in
                Kernels.rmsprop(n, p: p.baseAddress!, g: gp.baseAddress!, s: s.baseAddress!, lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay)
            } } }
            pr.withUnsafeMutableBufferPointer { p in sr.withUnsafeMutableBufferPointer { s in gr.withUnsafeMutableBufferPointer { gp in
                Reference.rmsprop(n, p: p.baseAddress!, g: gp.baseAddress!, s: s.baseAddress!, lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay)
            } } }
            #expect(gf.prefix(n).allSatisfy { $0 == 0 } && gf[n] == Self.canary)
            #expect(gr.allSatisfy { $0 == 0 })
        }
        for j in 0..<n {
            // One RMSprop step moves p by about lr / (1 - alpha)^(1/2) at most.
            #expect(close(pf[j], pr[j], magnitude: abs(pr[j]) + lr * 10), "p[\(j)]: \(pf[j]) vs \(pr[j])")
            #expect(close(sf[j], sr[j], magnitude: abs(sr[j])), "s[\(j)]")
        }
        #expect(pf[n] == Self.canary && sf[n] == Self.canary)
    }
}

/// The lazy optimiser updates one row at a time what the dense one updates in one call: an
/// element's result must not depend on where its range starts (tail loop = SIMD lane).
@Suite struct OptimiserKernelSplitTests {
    static let splits: [[Int]] = [[70], [1, 69], [3, 8, 59], [200], [7, 7, 7, 7, 172], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]

    @Test(arguments: splits.indices, [Float(0), 0.3])
    func adam_rowByRow_equalsOneCall(split index: Int, weightDecay: Float) {
        let parts = Self.splits[index]
        let n = parts.reduce(0, +)
        var rng = Seeded(UInt64(7000 + index))
        let p0 = rng.floats(n), g = rng.floats(n), m0 = rng.floats(n, in: -0.1..<0.1), v0 = rng.floats(n, in: 0..<0.01)
        var (pa, ma, va, ga) = (p0, m0, v0, g)
        var (pb, mb, vb, gb) = (p0, m0, v0, g)
        let stepSize: Float = 0.003 / (1 - 0.9 * 0.9), sqrtBias2: Float = (1 - 0.999 * 0.999 as Float).squareRoot()
        Kernels.adam(n, p: &pa, g: &ga, m: &ma, v: &va, stepSize: stepSize, beta1: 0.9, beta2: 0.999, sqrtBias2: sqrtBias2,
                     eps: 1e-8, weightDecay: weightDecay)
        var start = 0
        for part in parts {
            pb.withUnsafeMutableBufferPointer { p in gb.withUnsafeMutableBufferPointer { gp in
                mb.withUnsafeMutableBufferPointer { m in vb.withUnsafeMutableBufferPointer { v in
                    Kernels.adam(part, p: p.baseAddress! + start, g: gp.baseAddress! + start, m: m.baseAddress! + start,
                                 v: v.baseAddress! + start, stepSize: stepSize, beta1: 0.9, beta2: 0.999, sqrtBias2: sqrtBias2,
                                 eps: 1e-8, weightDecay: weightDecay)
                } }
            } }
            start += part
        }
        #expect(pa == pb && ma == mb && va == vb && ga == gb)
        #expect(pa != p0, "the step moved the parameters")
    }

    @Test(arguments: splits.indices, [Float(0), 0.3])
    func rmsprop_rowByRow_equalsOneCall(split index: Int, weightDecay: Float) {
        let parts = Self.splits[index]
        let n = parts.reduce(0, +)
        var rng = Seeded(UInt64(8000 + index))
        let p0 = rng.floats(n), g = rng.floats(n), s0 = rng.floats(n, in: 0..<0.01)
        var (pa, sa, ga) = (p0, s0, g)
        var (pb, sb, gb) = (p0, s0, g)
        Kernels.rmsprop(n, p: &pa, g: &ga, s: &sa, lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: weightDecay)
        var start = 0
        for part in parts {
            pb.withUnsafeMutableBufferPointer { p in gb.withUnsafeMutableBufferPointer { gp in sb.withUnsafeMutableBufferPointer { s in
                Kernels.rmsprop(part, p: p.baseAddress! + start, g: gp.baseAddress! + start, s: s.baseAddress! + start, lr: 0.01,
                                alpha: 0.99, eps: 1e-8, weightDecay: weightDecay)
            } } }
            start += part
        }
        #expect(pa == pb && sa == sb && ga == gb)
        #expect(pa != p0)
    }
}

@Suite struct SigmoidKernelTests {
    @Test(arguments: [0, 1, 7, 8, 9, 200, 203])
    func sigmoid_matchesLibmWithinThreeUlps(n: Int) {
        var rng = Seeded(UInt64(9000 + n))
        for spread: Float in [0.5, 8, 40, 120] {
            let x = rng.floats(n).map { $0 * spread }
            var fast = x + [KernelsTests.canary], slow = x
            fast.withUnsafeMutableBufferPointer { Kernels.sigmoid($0.baseAddress!, n) }
            slow.withUnsafeMutableBufferPointer { Reference.sigmoid($0.baseAddress!, n) }
            for j in 0..<n {
                // Relative to the value, and absolutely below 1e-30 where libm underflows to 0.
                #expect(abs(fast[j] - slow[j]) <= 3 * slow[j].ulp + 1e-30, "x = \(x[j]): \(fast[j]) vs \(slow[j])")
            }
            #expect(fast[n] == KernelsTests.canary, "wrote past the end")
        }
    }

    @Test func sigmoid_atTheEdges() {
        var v: [Float] = [0, -0.0, .infinity, -.infinity, 88.3, 1000, -87.3, -1000, .nan]
        v.withUnsafeMutableBufferPointer { Kernels.sigmoid($0.baseAddress!, $0.count) }
        #expect(v[0] == 0.5 && v[1] == 0.5)
        #expect(v[2] == 1 && v[4] == 1 && v[5] == 1)
        #expect(v[3] >= 0 && v[3] < 1e-37 && v[7] >= 0 && v[7] < 1e-37)
        #expect(v[6] > 0 && v[6] < 1e-37)
        #expect(v[8].isNaN, "a diverged value must stay visible")
    }

    @Test func sigmoid_oneByOne_equalsOneCall() {
        var rng = Seeded(9500)
        let x = rng.floats(37).map { $0 * 20 }
        var bulk = x, single = x
        bulk.withUnsafeMutableBufferPointer { Kernels.sigmoid($0.baseAddress!, 37) }
        single.withUnsafeMutableBufferPointer { p in for j in 0..<37 { Kernels.sigmoid(p.baseAddress! + j, 1) } }
        #expect(bulk == single)
    }
}

@Suite struct OutputLayerKernelTests {
    /// The fused kernel must give exactly what its three-step twin gives: the dots, the
    /// errors, then the gradient gathered over all entries.
    @Test(arguments: [1, 7, 8, 9, 33, 64, 70, 200])
    func outputLayer_equalsDotsThenErrorsThenGather_bitForBit(d: Int) {
        var rng = Seeded(UInt64(9700 + d))
        for count in [0, 1, 3, 4, 5, 8, 12, 13, 29, 40] {
            let stride = d + Int.random(in: 0...3, using: &rng)
            let rowCount = 1 + Int.random(in: 0...50, using: &rng)
            let rows = rng.floats(rowCount * stride), x = rng.floats(d), bias = rng.floats(rowCount)
            let index = (0..<count).map { _ in Int32(Int.random(in: 0..<rowCount, using: &rng)) }
            let target = rng.floats(count, in: 1..<5)
            let g0 = rng.floats(d)
            let scale: Float = 0.37
            var coeff = [Float](repeating: 0, count: count), g = g0
            let sum = coeff.withUnsafeMutableBufferPointer { c in g.withUnsafeMutableBufferPointer { gp in
                Kernels.outputLayer(coeff: c.baseAddress!, g: gp.baseAddress!, x: x, d: d, rows: rows, stride: stride, bias: bias,
                                    index: index, target: target, scale: scale, count: count)
            } }
            var twin = [Float](repeating: 0, count: count), gTwin = g0
            twin.withUnsafeMutableBufferPointer { Kernels.gatherDot(out: $0.baseAddress!, x: x, d: d, rows: rows, stride: stride, bias: bias, index: index, count: count) }
            var sumTwin = 0.0
            for k in 0..<count {
                let e = twin[k] - target[k]
                sumTwin += Double(e * e)
                twin[k] = scale * e
            }
            gTwin.withUnsafeMutableBufferPointer {
                Kernels.gatherAccumulate(out: $0.baseAddress!, d: d, rows: rows, stride: stride, index: index, coeff: twin, count: count)
            }
            #expect(sum == sumTwin && coeff == twin && g == gTwin, "d=\(d) count=\(count)")
            if count > 0 { #expect(g != g0) }
        }
    }
}
