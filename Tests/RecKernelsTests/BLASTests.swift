import Foundation
import Testing
@testable import RecKernels
import RecTestSupport

@Suite struct BLASTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        var m: Int, n: Int, k: Int
        var testDescription: String { "\(m)x\(k) · \(k)x\(n)" }
    }

    /// Odd sizes (no multiple of a blocking factor), thin and square ones.
    static let shapes = [
        Shape(m: 1, n: 1, k: 1), Shape(m: 3, n: 5, k: 7), Shape(m: 7, n: 1, k: 13), Shape(m: 1, n: 9, k: 2),
        Shape(m: 17, n: 33, k: 31), Shape(m: 65, n: 3, k: 70), Shape(m: 37, n: 41, k: 1),
    ]

    /// Row-major transpose of an (r, c) matrix.
    static func transpose(_ a: [Float], rows r: Int, cols c: Int) -> [Float] {
        var t = [Float](repeating: 0, count: a.count)
        for i in 0..<r { for j in 0..<c { t[j * r + i] = a[i * c + j] } }
        return t
    }

    @Test(arguments: shapes, [(false, false), (true, false), (false, true), (true, true)])
    func gemm_matchesReferenceMatmul(shape: Shape, transposes: (Bool, Bool)) {
        let (m, n, k) = (shape.m, shape.n, shape.k)
        let (transA, transB) = transposes
        var rng = Seeded(UInt64(m * 10_000 + n * 100 + k))
        let a = rng.floats(m * k), b = rng.floats(k * n)  // op(A) (m, k), op(B) (k, n), row-major
        let c0 = rng.floats(m * n)
        // As stored: A is (k, m) when transposed. Pad every row by 3 so that lda/ldb/ldc differ
        // from the logical widths.
        let pad = 3
        func stored(_ x: [Float], rows: Int, cols: Int, trans: Bool) -> ([Float], Int) {
            let (data, r, c) = trans ? (Self.transpose(x, rows: rows, cols: cols), cols, rows) : (x, rows, cols)
            var out = [Float](repeating: .nan, count: r * (c + pad))
            for i in 0..<r { for j in 0..<c { out[i * (c + pad) + j] = data[i * c + j] } }
            return (out, c + pad)
        }
        let (sa, lda) = stored(a, rows: m, cols: k, trans: transA)
        let (sb, ldb) = stored(b, rows: k, cols: n, trans: transB)
        let ldc = n + pad
        var c = [Float](repeating: -7, count: m * ldc)
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = c0[i * n + j] } }
        let alpha: Float = 0.75, beta: Float = -0.5
        c.withUnsafeMutableBufferPointer { cp in
            BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: sa, lda: lda, b: sb, ldb: ldb,
                      beta: beta, c: cp.baseAddress!, ldc: ldc)
        }
        let ab = Reference.matmul(a, b, m: m, k: k, n: n)
        for i in 0..<m {
            for j in 0..<n {
                let expected = alpha * ab[i * n + j] + beta * c0[i * n + j]
                let magnitude = (0..<k).reduce(abs(beta * c0[i * n + j])) { $0 + abs(alpha * a[i * k + $1] * b[$1 * n + j]) }
                #expect(close(c[i * ldc + j], expected, magnitude: magnitude), "C[\(i),\(j)]: \(c[i * ldc + j]) vs \(expected)")
            }
            // The padding of C's rows is not C.
            #expect(c[(i * ldc + n)..<(i * ldc + ldc)].allSatisfy { $0 == -7 })
        }
    }

    @Test func gemm_whenMOrNIsZero_doesNothing() {
        var c: [Float] = [5]
        c.withUnsafeMutableBufferPointer { cp in
            BLAS.gemm(m: 0, n: 1, k: 1, a: [1], lda: 1, b: [1], ldb: 1, c: cp.baseAddress!, ldc: 1)
            BLAS.gemm(m: 1, n: 0, k: 1, a: [1], lda: 1, b: [1], ldb: 1, c: cp.baseAddress!, ldc: 1)
        }
        #expect(c == [5])
    }

    /// k = 0: op(A)·op(B) is the zero matrix, so C becomes beta·C (the row strides of the empty
    /// A and B are 0, as a caller computing them from k would pass).
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemm_whenKIsZero_scalesCByBeta(transposes: (Bool, Bool)) {
        let (m, n) = (2, 3)
        var c: [Float] = [1, 2, 3, 4, 5, 6]
        let empty: [Float] = [0]
        c.withUnsafeMutableBufferPointer { cp in
            BLAS.gemm(transA: transposes.0, transB: transposes.1, m: m, n: n, k: 0, a: empty,
                      lda: transposes.0 ? m : 0, b: empty, ldb: transposes.1 ? 0 : n, beta: 0.5, c: cp.baseAddress!, ldc: n)
        }
        #expect(c == [0.5, 1, 1.5, 2, 2.5, 3])
    }

    @Test(arguments: [1, 2, 3, 5, 8, 17, 33, 64])
    func invertSPD_givesSymmetricInverse(n: Int) throws {
        let a = randomSPD(n, seed: UInt64(n), shift: Double(n))
        var inv = a
        let ok = inv.withUnsafeMutableBufferPointer { BLAS.invertSPD($0.baseAddress!, n: n) }
        try #require(ok)
        for i in 0..<n {
            for j in 0..<n {
                #expect(inv[i * n + j] == inv[j * n + i], "not symmetric at (\(i), \(j)): \(inv[i * n + j]) vs \(inv[j * n + i])")
            }
        }
        // A · A⁻¹ = I, and A⁻¹ · A = I: uses both triangles of the result.
        for i in 0..<n {
            for j in 0..<n {
                let right = (0..<n).reduce(0.0) { $0 + a[i * n + $1] * inv[$1 * n + j] }
                let left = (0..<n).reduce(0.0) { $0 + inv[i * n + $1] * a[$1 * n + j] }
                let identity = i == j ? 1.0 : 0.0
                #expect(abs(right - identity) < 1e-9, "(A·A⁻¹)[\(i),\(j)] = \(right)")
                #expect(abs(left - identity) < 1e-9, "(A⁻¹·A)[\(i),\(j)] = \(left)")
            }
        }
    }

    @Test func invertSPD_whenNotPositiveDefinite_returnsFalse() {
        // Eigenvalues 3 and -1.
        var a: [Double] = [1, 2, 2, 1]
        let ok = a.withUnsafeMutableBufferPointer { BLAS.invertSPD($0.baseAddress!, n: 2) }
        #expect(!ok)
    }

    @Test func invertSPD_ofDiagonal_isReciprocal() throws {
        var a: [Double] = [2, 0, 0, 0, 4, 0, 0, 0, 0.5]
        let ok = a.withUnsafeMutableBufferPointer { BLAS.invertSPD($0.baseAddress!, n: 3) }
        try #require(ok)
        let expected: [Double] = [0.5, 0, 0, 0, 0.25, 0, 0, 0, 2]
        #expect(zip(a, expected).allSatisfy { abs($0 - $1) <= 1e-15 * (1 + abs($1)) }, "\(a)")
    }
}

/// OpenBLAS's thread count is one setting for the process: overlapping callers on different
/// threads must not give it back under one another.
@Suite struct SingleThreadedTests {
    /// A enters, B enters, A leaves while B is still inside: B must still run on one thread
    /// (a save-and-restore per call gave the count back to A's saved value here).
    @Test(arguments: 0..<5)
    func overlappingCallers_keepOneThreadUntilTheLastLeaves(round: Int) {
        let aInside = DispatchSemaphore(value: 0), aLeft = DispatchSemaphore(value: 0), bInside = DispatchSemaphore(value: 0)
        let seen = Seen()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            BLAS.singleThreaded {
                seen.add(BLAS.threads)
                aInside.signal()
                bInside.wait()
            }
            aLeft.signal()
        }
        DispatchQueue.global().async(group: group) {
            aInside.wait()
            BLAS.singleThreaded {
                bInside.signal()
                aLeft.wait()
                seen.add(BLAS.threads)
            }
        }
        group.wait()
        #expect(seen.values == [1, 1])
    }

    /// The counts each caller saw, written from two threads.
    final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var seen: [Int] = []
        func add(_ n: Int) { lock.lock(); seen.append(n); lock.unlock() }
        var values: [Int] { lock.lock(); defer { lock.unlock() }; return seen }
    }
}
