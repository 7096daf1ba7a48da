import CZstd
import RecCore

/// The only door to libzstd. Every frame is written with zstd's content checksum, so a
/// decompression also verifies the bytes.
enum Zstd {
    /// libzstd's version as `major.minor.patch`.
    public static var version: String {
        let n = Int(ZSTD_versionNumber())
        return "\(n / 10000).\(n / 100 % 100).\(n % 100)"
    }

    /// Compresses `bytes` into one frame with a content checksum.
    static func compress(_ bytes: UnsafeRawBufferPointer, level: Int32) throws -> [UInt8] {
        guard let ctx = ZSTD_createCCtx() else { throw RecError(.runtime, "zstd: cannot allocate a compression context") }
        defer { ZSTD_freeCCtx(ctx) }
        try check(ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level))
        try check(ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1))
        try check(ZSTD_CCtx_setPledgedSrcSize(ctx, UInt64(bytes.count)))
        let bound = ZSTD_compressBound(bytes.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_compress2(ctx, dst.baseAddress, bound, bytes.baseAddress, bytes.count)
        }
        try check(written)
        out.removeSubrange(written...)
        return out
    }

    /// Decompresses one frame that must hold exactly `into.count` bytes.
    static func decompress(_ frame: UnsafeRawBufferPointer, into: UnsafeMutableRawBufferPointer) throws {
        let declared = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        // ZSTD_CONTENTSIZE_ERROR / _UNKNOWN are the two largest UInt64 values.
        guard declared < UInt64.max - 1 else { throw RecError(.artefact, "zstd frame header is damaged") }
        guard declared == UInt64(into.count) else {
            throw RecError(.artefact, "zstd frame holds \(declared) bytes, expected \(into.count)")
        }
        guard let ctx = ZSTD_createDCtx() else { throw RecError(.runtime, "zstd: cannot allocate a decompression context") }
        defer { ZSTD_freeDCtx(ctx) }
        let n = ZSTD_decompressDCtx(ctx, into.baseAddress, into.count, frame.baseAddress, frame.count)
        if ZSTD_isError(n) != 0 {
            throw RecError(.artefact, "zstd: " + String(cString: ZSTD_getErrorName(n)))
        }
        guard n == into.count else { throw RecError(.artefact, "zstd frame decompressed to \(n) bytes, expected \(into.count)") }
    }

    private static func check(_ code: Int) throws {
        if ZSTD_isError(code) != 0 {
            throw RecError(.runtime, "zstd: " + String(cString: ZSTD_getErrorName(code)))
        }
    }
}
