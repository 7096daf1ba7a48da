import CKernelSupport
import Foundation

/// The hot loops of training and scoring: SIMD versions for speed, each beside a plain
/// reference twin (`Reference`) that tests compare it with.
///
/// Pointers, not arrays: callers hold the buffers and take pointers once per chunk.
/// `SIMD8<Float>` with `loadUnaligned`; this module is compiled for the host's vector unit on
/// x86_64 (see Package.swift), otherwise every lane becomes a libm call.
public enum Kernels {
    /// Asks the cache for the `bytes` at `p` ahead of use (one hint per 64-byte line): rows of
    /// parameters scattered over ~100 MB are fetched while earlier rows are computed on. A
    /// hint only: never faults, changes no result.
    @inlinable @inline(__always)
    public static func prefetch(_ p: UnsafeRawPointer, bytes: Int, forWriting: Bool = false) {
        var offset = 0
        while offset < bytes {
            if forWriting { rec_prefetch_write(p + offset) } else { rec_prefetch(p + offset) }
            offset += 64
        }
    }

    /// The CPU has AVX-512F: `gatherAccumulate` and `adam` run their AVX-512 versions (the
    /// same bits as the AVX2 ones). `REC_KERNELS=avx2` in the environment keeps AVX2, for
    /// benchmarks that compare the two.
    public static let wide: Bool = rec_have_avx512() == 1 && ProcessInfo.processInfo.environment["REC_KERNELS"] != "avx2"

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Lane-wise square root in one vector instruction (see `rec_sqrt8`); the same bits as
    /// `Float.squareRoot()` lane by lane (IEEE square root is exactly rounded).
    @inline(__always)
    static func sqrt8(_ v: SIMD8<Float>) -> SIMD8<Float> { rec_sqrt8(v) }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Sparse gather-accumulate: `out[0..<d] += Σ_k coeff[k] · rows[index[k] · stride ..< + d]`.
    ///
    /// This is the first layer's forward pass (a user's ratings times the weight rows of the
    /// rated items) and the output layer's backward pass. Every output is summed over the list
    /// in list order, one fused multiply-add per entry (plain multiply and add for the last
    /// d mod 8 outputs).
    /// - Complexity: O(count · d).
    ///
    /// With AVX-512 (`wide`) the C kernel `rec_gather_accumulate_avx512` does the same
    /// operations lane for lane, in one pass over each row; else `gatherAccumulate8`.
    @inline(__always)
    public static func gatherAccumulate(
        out: UnsafeMutablePointer<Float>, d: Int, rows: UnsafePointer<Float>, stride: Int,
        index: UnsafePointer<Int32>, coeff: UnsafePointer<Float>, count: Int
    ) {
        if wide {
            rec_gather_accumulate_avx512(out, d, rows, stride, index, coeff, count)
        } else {
            gatherAccumulate8(out: out, d: d, rows: rows, stride: stride, index: index, coeff: coeff, count: count)
        }
    }

    /// `gatherAccumulate` with AVX2's eight lanes: the kernel on CPUs without AVX-512, and the
    /// twin the AVX-512 kernel is tested against bit for bit. Register-blocked: 64 outputs at a
    /// time (then 32, 8, 1) stay in registers while the whole list is streamed.
    static func gatherAccumulate8(
        out: UnsafeMutablePointer<Float>, d: Int, rows: UnsafePointer<Float>, stride: Int,
        index: UnsafePointer<Int32>, coeff: UnsafePointer<Float>, count: Int
    ) {
        var j = 0
        // 8 accumulators, the broadcast coefficient and a load fit AVX2's 16 registers; per
        // list entry that is 8 multiply-adds for one index load and one broadcast (measured on
        // a 59,047 × 200 matrix with MovieLens-25M-like indices: 12.2 vs 15.4 ns an entry).
        // When 72 outputs are left, they go in one pass of 9 accumulators rather than 64 and
        // then 8: a pass of one accumulator waits on each multiply-add's latency (perf annotate
        // at width 200: that last pass of 8 took a ninth of the kernel's time).
        while j + 64 <= d {
            if d - j == 72 {
                var a0 = load8(out + j), a1 = load8(out + j + 8), a2 = load8(out + j + 16), a3 = load8(out + j + 24)
                var a4 = load8(out + j + 32), a5 = load8(out + j + 40), a6 = load8(out + j + 48), a7 = load8(out + j + 56)
                var a8 = load8(out + j + 64)
                for k in 0..<count {
                    let c = SIMD8<Float>(repeating: coeff[k])
                    let r = rows + (Int(index[k]) &* stride &+ j)
                    a0.addProduct(c, load8(r)); a1.addProduct(c, load8(r + 8))
                    a2.addProduct(c, load8(r + 16)); a3.addProduct(c, load8(r + 24))
                    a4.addProduct(c, load8(r + 32)); a5.addProduct(c, load8(r + 40))
                    a6.addProduct(c, load8(r + 48)); a7.addProduct(c, load8(r + 56))
                    a8.addProduct(c, load8(r + 64))
                }
                store8(a0, out + j); store8(a1, out + j + 8); store8(a2, out + j + 16); store8(a3, out + j + 24)
                store8(a4, out + j + 32); store8(a5, out + j + 40); store8(a6, out + j + 48); store8(a7, out + j + 56)
                store8(a8, out + j + 64)
                j += 72
                break
            }
            var a0 = load8(out + j), a1 = load8(out + j + 8), a2 = load8(out + j + 16), a3 = load8(out + j + 24)
            var a4 = load8(out + j + 32), a5 = load8(out + j + 40), a6 = load8(out + j + 48), a7 = load8(out + j + 56)
            for k in 0..<count {
                let c = SIMD8<Float>(repeating: coeff[k])
                let r = rows + Int(index[k]) * stride + j
                a0.addProduct(c, load8(r)); a1.addProduct(c, load8(r + 8))
                a2.addProduct(c, load8(r + 16)); a3.addProduct(c, load8(r + 24))
                a4.addProduct(c, load8(r + 32)); a5.addProduct(c, load8(r + 40))
                a6.addProduct(c, load8(r + 48)); a7.addProduct(c, load8(r + 56))
            }
            store8(a0, out + j); store8(a1, out + j + 8); store8(a2, out + j + 16); store8(a3, out + j + 24)
            store8(a4, out + j + 32); store8(a5, out + j + 40); store8(a6, out + j + 48); store8(a7, out + j + 56)
            j += 64
        }
        while j + 32 <= d {
            var a0 = load8(out + j), a1 = load8(out + j + 8), a2 = load8(out + j + 16), a3 = load8(out + j + 24)
            for k in 0..<count {
                let c = SIMD8<Float>(repeating: coeff[k])
                let r = rows + Int(index[k]) * stride + j
                a0.addProduct(c, load8(r)); a1.addProduct(c, load8(r + 8))
                a2.addProduct(c, load8(r + 16)); a3.addProduct(c, load8(r + 24))
            }
            store8(a0, out + j); store8(a1, out + j + 8); store8(a2, out + j + 16); store8(a3, out + j + 24)
            j += 32
        }
        while j + 8 <= d {
            var a0 = load8(out + j)
            for k in 0..<count {
                a0.addProduct(SIMD8<Float>(repeating: coeff[k]), load8(rows + Int(index[k]) * stride + j))
            }
            store8(a0, out + j)
            j += 8
        }
        while j < d {
            var a = out[j]
            for k in 0..<count { a += coeff[k] * rows[Int(index[k]) * stride + j] }
            out[j] = a
            j += 1
        }
    }

    /// Entries ahead whose rows `gatherDot` asks the cache for.
    static let prefetchAhead = 16

    /// Sparse dots: `out[k] = bias[index[k]] + dot(rows[index[k] · stride ..< + d], x)`.
    ///
    /// The output layer evaluated only at a user's observed items.
    /// - Complexity: O(count · d).
    public static func gatherDot(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, d: Int, rows: UnsafePointer<Float>, stride: Int,
        bias: UnsafePointer<Float>, index: UnsafePointer<Int32>, count: Int
    ) {
        // Eight rows at a time (eight independent sums keep both FMA units busy; four left
        // them waiting on each sum's latency), then four, then one by one. Rows are scattered
        // over the whole matrix and mostly not in cache: the rows `prefetchAhead` entries on
        // are requested while these are summed. Measured on a 59,047 × 200 matrix with
        // MovieLens-25M-like lists, evicted between batches: 15 instead of 27 ns an entry.
        // A row's sum is the same in the eight- and four-row blocks (one accumulator over j).
        prefetchFirstRows(rows, stride: stride, d: d, index: index, count: count)
        var k = 0
        while k < count {
            k += dotBlock(out: out, x: x, d: d, rows: rows, stride: stride, bias: bias, index: index, count: count, at: k)
        }
    }

    /// The masked output layer of one row, in one pass over its weight rows: the predictions
    /// `ŷ_k = bias[i_k] + dot(rows[i_k], x)` at the row's targets, the scaled errors
    /// `coeff[k] = scale · (ŷ_k − target[k])`, and the gradient flowing back,
    /// `g[0..<d] += Σ_k coeff[k] · rows[i_k]`. Returns `Σ_k (ŷ_k − target[k])²` (in Double,
    /// in k order).
    ///
    /// The same arithmetic as `gatherDot`, the loop over the errors, then `gatherAccumulate`
    /// (the reference twin, tested bit for bit), but each block of rows is added into `g`
    /// while it is still in L1: the rows are fetched from memory once instead of twice.
    public static func outputLayer(
        coeff: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, d: Int,
        rows: UnsafePointer<Float>, stride: Int, bias: UnsafePointer<Float>, index: UnsafePointer<Int32>,
        target: UnsafePointer<Float>, scale: Float, count: Int
    ) -> Double {
        prefetchFirstRows(rows, stride: stride, d: d, index: index, count: count)
        var sum = 0.0
        var k = 0
        while k < count {
            let n = dotBlock(out: coeff, x: x, d: d, rows: rows, stride: stride, bias: bias, index: index, count: count, at: k)
            for m in k..<(k + n) {
                let e = coeff[m] - target[m]
                sum += Double(e * e)
                coeff[m] = scale * e
            }
            gatherAccumulate(out: g, d: d, rows: rows, stride: stride, index: index + k, coeff: coeff + k, count: n)
            k += n
        }
        return sum
    }

    /// Asks for the rows of the first `prefetchAhead` entries.
    @inline(__always)
    static func prefetchFirstRows(_ rows: UnsafePointer<Float>, stride: Int, d: Int, index: UnsafePointer<Int32>, count: Int) {
        for a in 0..<min(prefetchAhead, count) { prefetch(rows + Int(index[a]) * stride, bytes: d * 4) }
    }

    /// The dots of the block of entries starting at `k` (eight, else four, else one, as the
    /// remaining count allows) into `out[k...]`; prefetches the rows `prefetchAhead` entries
    /// on. Returns the block's size.
    @inline(__always)
    static func dotBlock(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, d: Int, rows: UnsafePointer<Float>, stride: Int,
        bias: UnsafePointer<Float>, index: UnsafePointer<Int32>, count: Int, at k: Int
    ) -> Int {
        let ahead = Kernels.prefetchAhead
        if k + 8 <= count {
            for a in (k + ahead)..<max(k + ahead, min(k + ahead + 8, count)) { prefetch(rows + Int(index[a]) * stride, bytes: d * 4) }
            let i0 = Int(index[k]), i1 = Int(index[k + 1]), i2 = Int(index[k + 2]), i3 = Int(index[k + 3])
            let i4 = Int(index[k + 4]), i5 = Int(index[k + 5]), i6 = Int(index[k + 6]), i7 = Int(index[k + 7])
            let r0 = rows + i0 * stride, r1 = rows + i1 * stride, r2 = rows + i2 * stride, r3 = rows + i3 * stride
            let r4 = rows + i4 * stride, r5 = rows + i5 * stride, r6 = rows + i6 * stride, r7 = rows + i7 * stride
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
            var j = 0
            while j + 8 <= d {
                let xv = load8(x + j)
                a0.addProduct(load8(r0 + j), xv); a1.addProduct(load8(r1 + j), xv)
                a2.addProduct(load8(r2 + j), xv); a3.addProduct(load8(r3 + j), xv)
                a4.addProduct(load8(r4 + j), xv); a5.addProduct(load8(r5 + j), xv)
                a6.addProduct(load8(r6 + j), xv); a7.addProduct(load8(r7 + j), xv)
                j += 8
            }
            var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
            var s4 = a4.sum(), s5 = a5.sum(), s6 = a6.sum(), s7 = a7.sum()
            while j < d {
                let xj = x[j]
                s0 += r0[j] * xj; s1 += r1[j] * xj; s2 += r2[j] * xj; s3 += r3[j] * xj
                s4 += r4[j] * xj; s5 += r5[j] * xj; s6 += r6[j] * xj; s7 += r7[j] * xj
                j += 1
            }
            out[k] = bias[i0] + s0; out[k + 1] = bias[i1] + s1; out[k + 2] = bias[i2] + s2; out[k + 3] = bias[i3] + s3
            out[k + 4] = bias[i4] + s4; out[k + 5] = bias[i5] + s5; out[k + 6] = bias[i6] + s6; out[k + 7] = bias[i7] + s7
            return 8
        }
        if k + 4 <= count {
            let i0 = Int(index[k]), i1 = Int(index[k + 1]), i2 = Int(index[k + 2]), i3 = Int(index[k + 3])
            let r0 = rows + i0 * stride, r1 = rows + i1 * stride, r2 = rows + i2 * stride, r3 = rows + i3 * stride
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var j = 0
            while j + 8 <= d {
                let xv = load8(x + j)
                a0.addProduct(load8(r0 + j), xv); a1.addProduct(load8(r1 + j), xv)
                a2.addProduct(load8(r2 + j), xv); a3.addProduct(load8(r3 + j), xv)
                j += 8
            }
            var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
            while j < d {
                let xj = x[j]
                s0 += r0[j] * xj; s1 += r1[j] * xj; s2 += r2[j] * xj; s3 += r3[j] * xj
                j += 1
            }
            out[k] = bias[i0] + s0; out[k + 1] = bias[i1] + s1; out[k + 2] = bias[i2] + s2; out[k + 3] = bias[i3] + s3
            return 4
        }
        let i = Int(index[k])
        out[k] = bias[i] + dot(rows + i * stride, x, d)
        return 1
    }

    /// `dot(a, b)` over `n` floats with four SIMD8 accumulators.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var j = 0
        while j + 32 <= n {
            s0.addProduct(load8(a + j), load8(b + j)); s1.addProduct(load8(a + j + 8), load8(b + j + 8))
            s2.addProduct(load8(a + j + 16), load8(b + j + 16)); s3.addProduct(load8(a + j + 24), load8(b + j + 24))
            j += 32
        }
        while j + 8 <= n {
            s0.addProduct(load8(a + j), load8(b + j))
            j += 8
        }
        var s = ((s0 + s1) + (s2 + s3)).sum()
        while j < n {
            s += a[j] * b[j]
            j += 1
        }
        return s
    }

    /// The logistic function in place, `p[j] = 1 / (1 + e^(−p[j]))`, eight at a time.
    ///
    /// e^x is Cephes' single-precision exponential (x = n·ln 2 + r with n = round(x·log2 e),
    /// a degree-7 polynomial in r, 2^n put in the exponent bits), so it runs in AVX registers
    /// instead of one libm call per element: measured 3× faster than `expf` on 102,400 values,
    /// within 2.3 float ulps of it on ±30. x is clamped to [−87.3, 88.3] (no overflow of 2^n):
    /// below −87.3 the result is 1/(1 + 2^126) ≈ 0 rather than 0. NaN stays NaN. The last
    /// n mod 8 values go through the same eight-lane code, so a value's result does not depend
    /// on where it sits.
    public static func sigmoid(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        var j = 0
        while j + 8 <= n {
            store8(1 / (1 + exp8(-load8(p + j))), p + j)
            j += 8
        }
        if j < n {
            var v = SIMD8<Float>()
            for k in 0..<(n - j) { v[k] = p[j + k] }
            v = 1 / (1 + exp8(-v))
            for k in 0..<(n - j) { p[j + k] = v[k] }
        }
    }

    /// e^x for eight lanes (Cephes `expf`); see `sigmoid`.
    @inline(__always)
    static func exp8(_ x0: SIMD8<Float>) -> SIMD8<Float> {
        // Clamped with masks (pointwiseMin/Max and clamped(...) are not inlined into vector
        // instructions); a NaN compares false and passes through.
        let hi = SIMD8<Float>(repeating: 88.3), lo = SIMD8<Float>(repeating: -87.3)
        var x = x0.replacing(with: hi, where: x0 .> hi)
        x.replace(with: lo, where: x .< lo)
        // n = round(x·log2 e) by adding 1.5·2^23: the sum's low mantissa bits hold n.
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let t = x * 1.442_695_04 + magic
        let fx = t - magic
        x = x - fx * 0.693_359_375
        x = x - fx * -2.121_944_4e-4
        let z = x * x
        var y = SIMD8<Float>(repeating: 1.987_569_15e-4)
        y = y * x + 1.398_199_950_7e-3
        y = y * x + 8.333_451_907_3e-3
        y = y * x + 4.166_579_589_4e-2
        y = y * x + 1.666_666_545_9e-1
        y = y * x + 5.000_000_120_1e-1
        y = y * z + x + 1
        let n = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
        return y * unsafeBitCast((n &+ 127) &<< 23, to: SIMD8<Float>.self)
    }

    /// `y[0..<n] += alpha · x[0..<n]`.
    public static func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let a = SIMD8<Float>(repeating: alpha)
        var j = 0
        while j + 8 <= n {
            var v = load8(y + j)
            v.addProduct(a, load8(x + j))
            store8(v, y + j)
            j += 8
        }
        while j < n {
            y[j] += alpha * x[j]
            j += 1
        }
    }

    /// Adam step over a parameter range, with PyTorch's L2 `weight_decay` (added to the
    /// gradient) and bias correction folded into `stepSize` and `sqrtBias2`. The gradient is
    /// consumed: set to zero, ready for the next batch.
    /// `g += wd·p; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²; p -= stepSize · m / (√v + eps)`.
    ///
    /// The tail loop does, element by element, exactly the operations of a SIMD lane (fused
    /// `g + wd·p`, multiplication by `1/sqrtBias2`), so an element's result does not depend on
    /// where the range starts: updating a buffer in one call or row by row gives the same bits
    /// (the lazy optimiser relies on it; `adam_rowByRow_equalsOneCall` checks it).
    /// - Parameters:
    ///   - stepSize: `lr / (1 - β1^t)`.
    ///   - sqrtBias2: `√(1 - β2^t)`; the denominator is `√v / sqrtBias2 + eps`.
    ///
    /// With AVX-512 (`wide`) the C kernel `rec_adam_avx512` does the same operations lane for
    /// lane, sixteen at a time; else `adam8`.
    @inline(__always)
    public static func adam(
        _ n: Int, p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, stepSize: Float, beta1: Float, beta2: Float, sqrtBias2: Float,
        eps: Float, weightDecay: Float
    ) {
        if wide {
            rec_adam_avx512(n, p, g, m, v, stepSize, beta1, beta2, sqrtBias2, eps, weightDecay)
        } else {
            adam8(n, p: p, g: g, m: m, v: v, stepSize: stepSize, beta1: beta1, beta2: beta2, sqrtBias2: sqrtBias2, eps: eps,
                  weightDecay: weightDecay)
        }
    }

    /// `adam` with AVX2's eight lanes: the kernel on CPUs without AVX-512, and the twin the
    /// AVX-512 kernel is tested against bit for bit.
    static func adam8(
        _ n: Int, p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, stepSize: Float, beta1: Float, beta2: Float, sqrtBias2: Float,
        eps: Float, weightDecay: Float
    ) {
        let b1 = SIMD8<Float>(repeating: beta1), b1c = SIMD8<Float>(repeating: 1 - beta1)
        let b2 = SIMD8<Float>(repeating: beta2), b2c = SIMD8<Float>(repeating: 1 - beta2)
        let wd = SIMD8<Float>(repeating: weightDecay), step = SIMD8<Float>(repeating: stepSize)
        let invBias2 = SIMD8<Float>(repeating: 1 / sqrtBias2), e = SIMD8<Float>(repeating: eps)
        var j = 0
        while j + 8 <= n {
            var pv = load8(p + j)
            var gv = load8(g + j)
            gv.addProduct(wd, pv)
            let mv = b1 * load8(m + j) + b1c * gv
            let vv = b2 * load8(v + j) + b2c * gv * gv
            pv -= step * mv / (sqrt8(vv) * invBias2 + e)
            store8(mv, m + j); store8(vv, v + j); store8(pv, p + j); store8(.zero, g + j)
            j += 8
        }
        let invBias2Scalar = 1 / sqrtBias2
        while j < n {
            let gj = g[j].addingProduct(weightDecay, p[j])
            let mj = beta1 * m[j] + (1 - beta1) * gj
            let vj = beta2 * v[j] + (1 - beta2) * gj * gj
            p[j] -= stepSize * mj / (vj.squareRoot() * invBias2Scalar + eps)
            m[j] = mj
            v[j] = vj
            g[j] = 0
            j += 1
        }
    }

    /// RMSprop step (PyTorch's, no momentum, not centred); consumes (zeroes) the gradient:
    /// `g += wd·p; s = α·s + (1-α)·g²; p -= lr · g / (√s + eps)`. As in `adam`, the tail loop
    /// repeats a SIMD lane's operations exactly.
    public static func rmsprop(
        _ n: Int, p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
        lr: Float, alpha: Float, eps: Float, weightDecay: Float
    ) {
        let a = SIMD8<Float>(repeating: alpha), ac = SIMD8<Float>(repeating: 1 - alpha)
        let wd = SIMD8<Float>(repeating: weightDecay), rate = SIMD8<Float>(repeating: lr), e = SIMD8<Float>(repeating: eps)
        var j = 0
        while j + 8 <= n {
            var pv = load8(p + j)
            var gv = load8(g + j)
            gv.addProduct(wd, pv)
            let sv = a * load8(s + j) + ac * gv * gv
            pv -= rate * gv / (sqrt8(sv) + e)
            store8(sv, s + j); store8(pv, p + j); store8(.zero, g + j)
            j += 8
        }
        while j < n {
            let gj = g[j].addingProduct(weightDecay, p[j])
            let sj = alpha * s[j] + (1 - alpha) * gj * gj
            p[j] -= lr * gj / (sj.squareRoot() + eps)
            s[j] = sj
            g[j] = 0
            j += 1
        }
    }
}

/// Plain loops computing exactly what `Kernels` computes, for tests. Kept obviously correct
/// rather than fast.
package enum Reference {
    package static func gatherAccumulate(
        out: UnsafeMutablePointer<Float>, d: Int, rows: UnsafePointer<Float>, stride: Int,
        index: UnsafePointer<Int32>, coeff: UnsafePointer<Float>, count: Int
    ) {
        for k in 0..<count {
            for j in 0..<d { out[j] += coeff[k] * rows[Int(index[k]) * stride + j] }
        }
    }

    package static func gatherDot(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, d: Int, rows: UnsafePointer<Float>, stride: Int,
        bias: UnsafePointer<Float>, index: UnsafePointer<Int32>, count: Int
    ) {
        for k in 0..<count {
            let i = Int(index[k])
            var s: Float = 0
            for j in 0..<d { s += rows[i * stride + j] * x[j] }
            out[k] = bias[i] + s
        }
    }

    package static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s: Float = 0
        for j in 0..<n { s += a[j] * b[j] }
        return s
    }

    /// The logistic function with libm's `expf`.
    package static func sigmoid(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for j in 0..<n { p[j] = 1 / (1 + expf(-p[j])) }
    }

    package static func adam(
        _ n: Int, p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, stepSize: Float, beta1: Float, beta2: Float, sqrtBias2: Float,
        eps: Float, weightDecay: Float
    ) {
        for j in 0..<n {
            let gj = g[j] + weightDecay * p[j]
            m[j] = beta1 * m[j] + (1 - beta1) * gj
            v[j] = beta2 * v[j] + (1 - beta2) * gj * gj
            p[j] -= stepSize * m[j] / (v[j].squareRoot() / sqrtBias2 + eps)
            g[j] = 0
        }
    }

    package static func rmsprop(
        _ n: Int, p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
        lr: Float, alpha: Float, eps: Float, weightDecay: Float
    ) {
        for j in 0..<n {
            let gj = g[j] + weightDecay * p[j]
            s[j] = alpha * s[j] + (1 - alpha) * gj * gj
            p[j] -= lr * gj / (s[j].squareRoot() + eps)
            g[j] = 0
        }
    }

    /// `C = A · B` for row-major dense matrices, (m, k) · (k, n).
    package static func matmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for t in 0..<k { s += a[i * k + t] * b[t * n + j] }
                c[i * n + j] = s
            }
        }
        return c
    }
}
