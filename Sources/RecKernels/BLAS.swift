import COpenBLAS
import Foundation

/// The only door to OpenBLAS (and the LAPACK routines it carries). Swapping in another BLAS
/// (Accelerate on macOS) touches this file only.
///
/// All matrices are row-major and dense, `Float` unless the name says `Double`.
public enum BLAS {
    /// Runs `body` with OpenBLAS held to one thread inside each call, as every caller needs
    /// while Dispatch runs its own workers: one BLAS thread per Dispatch worker measured
    /// 1.5–1.65× faster on two workers than nesting both (2-core Zen 3, sgemm 6040×200×3706),
    /// and a Cholesky split over two threads changes its last bits.
    ///
    /// OpenBLAS's thread count is one setting for the whole process, so callers are counted:
    /// the first in sets 1, the last out gives back the count it found. Calls that overlap on
    /// other threads (the tests run many at once) never restore it under one another.
    public static func singleThreaded<T>(_ body: () throws -> T) rethrows -> T {
        singleThreadedCallers.withLock { state in
            if state.callers == 0 {
                state.saved = openblas_get_num_threads()
                openblas_set_num_threads(1)
            }
            state.callers += 1
        }
        defer {
            singleThreadedCallers.withLock { state in
                state.callers -= 1
                if state.callers == 0 { openblas_set_num_threads(state.saved) }
            }
        }
        return try body()
    }

    /// Callers inside `singleThreaded` now, and the count to give back when the last leaves.
    private static let singleThreadedCallers = ThreadCountState()

    /// OpenBLAS's thread count now (for tests).
    static var threads: Int { Int(openblas_get_num_threads()) }

    /// OpenBLAS's kernel set, as it names it (`Haswell`, `SkylakeX`, …; `OPENBLAS_CORETYPE`
    /// chooses it at start).
    public static var kernels: String { String(cString: openblas_get_corename()) }

    /// C ← alpha · op(A) · op(B) + beta · C.
    ///
    /// Shapes: op(A) is (m, k), op(B) is (k, n), C is (m, n); `lda`, `ldb`, `ldc` are the row
    /// strides of A, B, C as stored.
    @inlinable
    public static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Inverts a symmetric positive-definite n×n matrix in place (Cholesky: potrf then potri).
    /// Both triangles hold the inverse on return.
    /// - Returns: false when the matrix is not positive definite.
    public static func invertSPD(_ a: UnsafeMutablePointer<Double>, n: Int) -> Bool {
        var uplo: CChar = 76 // "L": column-major lower = row-major upper; the matrix is symmetric.
        var size = Int32(n), lda = Int32(n), info: Int32 = 0
        dpotrf_(&uplo, &size, a, &lda, &info)
        guard info == 0 else { return false }
        dpotri_(&uplo, &size, a, &lda, &info)
        guard info == 0 else { return false }
        // potri fills one triangle (row-major upper): mirror it into the lower one.
        for i in 0..<n {
            for j in (i + 1)..<max(i + 1, n) { a[j * n + i] = a[i * n + j] }
        }
        return true
    }

    // MARK: - Blocks of a row-major matrix (the tiled EASE solve)
    //
    // Each takes a block inside a larger row-major matrix: a pointer to its first element and
    // the row stride `ld` of the matrix it sits in. Only the triangle named is read or written.

    /// Cholesky factor of a symmetric positive-definite n×n block, in place: its lower
    /// triangle becomes L with A = L·Lᵀ (spotrf; the strict upper triangle is left alone).
    /// - Returns: false when the block is not positive definite.
    public static func choleskyLower(_ a: UnsafeMutablePointer<Float>, n: Int, ld: Int) -> Bool {
        var uplo: CChar = 85 // "U": column-major upper = row-major lower.
        var size = Int32(n), lda = Int32(ld), info: Int32 = 0
        spotrf_(&uplo, &size, a, &lda, &info)
        return info == 0
    }

    /// Inverse of an upper-triangular n×n block (non-unit diagonal), in place (strtri).
    /// - Returns: false when the block is singular.
    public static func invertUpperTriangular(_ a: UnsafeMutablePointer<Float>, n: Int, ld: Int) -> Bool {
        var uplo: CChar = 76, diag: CChar = 78 // "L" (column-major lower = row-major upper), "N"
        var size = Int32(n), lda = Int32(ld), info: Int32 = 0
        strtri_(&uplo, &diag, &size, a, &lda, &info)
        return info == 0
    }

    /// B ← alpha · B · op(L)⁻¹ with L lower triangular (n×n, non-unit diagonal) and B m×n:
    /// op(L) = Lᵀ when `transposeL` (strsm, right side).
    public static func solveRightLower(
        m: Int, n: Int, alpha: Float = 1, transposeL: Bool, l: UnsafePointer<Float>, ldl: Int,
        b: UnsafeMutablePointer<Float>, ldb: Int
    ) {
        guard m > 0, n > 0 else { return }
        cblas_strsm(CblasRowMajor, CblasRight, CblasLower, transposeL ? CblasTrans : CblasNoTrans, CblasNonUnit,
                    Int32(m), Int32(n), alpha, l, Int32(ldl), b, Int32(ldb))
    }
}

/// `BLAS.singleThreaded`'s count of callers, behind a lock (RecKernels sits below RecCore's
/// `Locked`, so it keeps its own).
final class ThreadCountState: @unchecked Sendable {
    struct State {
        var callers = 0
        var saved: Int32 = 1
    }

    private let lock = NSLock()
    private var state = State()

    func withLock(_ body: (inout State) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        body(&state)
    }
}
