// AVX-512 versions of two per-lane kernels of RecKernels (`Kernels.gatherAccumulate`,
// `Kernels.adam`), chosen at run time when the CPU has AVX-512F (`rec_have_avx512`).
//
// Why C: Swift has no per-function target attribute, and the kernel module is compiled for
// Haswell (AVX2) so that it runs on any x86-64 CPU of the last ten years. Clang's
// `target("avx512f")` compiles just these functions for AVX-512.
//
// Same bits as the Swift AVX2 kernels: every output lane goes through exactly the same
// operations in the same order (the kernels have no sum across lanes), only more lanes per
// instruction. Fused multiply-adds are written out as intrinsics; nothing else may be fused
// (FP_CONTRACT OFF), so `a + b·c` stays a rounded product then a rounded sum, as in Swift.
// KernelsTests compares each with its Swift twin bit for bit.
#include "CKernelSupport.h"

#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

int rec_have_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

#define AVX512 __attribute__((target("avx512f")))

/* One pass over the list with NV accumulators of 16 lanes over out[0 ..< 16·(NV−1) + lanes of
   `last`]: every row is read once, front to back (the AVX2 kernel reads a row in three passes
   of at most 72 floats, and each pass misses the cache again for rows that are not in it). */
static inline __attribute__((always_inline)) AVX512 void
gather_pass(float *out, const float *rows, long stride, const int32_t *index, const float *coeff, long count,
            const int nv, __mmask16 last) {
    __m512 acc[16];
#pragma clang loop unroll(full)
    for (int v = 0; v < nv - 1; v++) acc[v] = _mm512_loadu_ps(out + 16 * v);
    acc[nv - 1] = _mm512_maskz_loadu_ps(last, out + 16 * (nv - 1));
    for (long k = 0; k < count; k++) {
        const __m512 c = _mm512_set1_ps(coeff[k]);
        const float *r = rows + (long)index[k] * stride;
#pragma clang loop unroll(full)
        for (int v = 0; v < nv - 1; v++) acc[v] = _mm512_fmadd_ps(c, _mm512_loadu_ps(r + 16 * v), acc[v]);
        acc[nv - 1] = _mm512_fmadd_ps(c, _mm512_maskz_loadu_ps(last, r + 16 * (nv - 1)), acc[nv - 1]);
    }
#pragma clang loop unroll(full)
    for (int v = 0; v < nv - 1; v++) _mm512_storeu_ps(out + 16 * v, acc[v]);
    _mm512_mask_storeu_ps(out + 16 * (nv - 1), last, acc[nv - 1]);
}

#define PASS(N) case N: gather_pass(out + j, rows + j, stride, index, coeff, count, N, last); break;

AVX512 void rec_gather_accumulate_avx512(float *out, long d, const float *rows, long stride, const int32_t *index,
                                         const float *coeff, long count) {
    /* The vector part: the first d − d mod 8 outputs, as the AVX2 kernel's SIMD8 lanes (fused
       multiply-adds); passes of at most 16 registers (256 outputs), which with the
       broadcast coefficient and a load stay within the 32 registers. */
    const long vectorEnd = d & ~7L;
    long j = 0;
    while (j < vectorEnd) {
        const long left = vectorEnd - j;
        const int nv = left >= 256 ? 16 : (int)((left + 15) / 16);
        const long width = left >= 256 ? 256 : left;
        const __mmask16 last = (width % 16) ? (__mmask16)0x00FF : (__mmask16)0xFFFF;
        switch (nv) {
            PASS(1) PASS(2) PASS(3) PASS(4) PASS(5) PASS(6) PASS(7) PASS(8)
            PASS(9) PASS(10) PASS(11) PASS(12) PASS(13) PASS(14) PASS(15) PASS(16)
        }
        j += width;
    }
    /* The last d mod 8 outputs: the AVX2 kernel's scalar tail, a product then a sum. */
    for (; j < d; j++) {
        float a = out[j];
        for (long k = 0; k < count; k++) a += coeff[k] * rows[(long)index[k] * stride + j];
        out[j] = a;
    }
}

/* Adam over n elements; the operations of `Kernels.adam`'s SIMD8 lanes, which its scalar tail
   repeats, so a masked last vector gives the tail's bits too. */
AVX512 void rec_adam_avx512(long n, float *p, float *g, float *m, float *v, float stepSize, float beta1, float beta2,
                            float sqrtBias2, float eps, float weightDecay) {
    const __m512 b1 = _mm512_set1_ps(beta1), b1c = _mm512_set1_ps(1 - beta1);
    const __m512 b2 = _mm512_set1_ps(beta2), b2c = _mm512_set1_ps(1 - beta2);
    const __m512 wd = _mm512_set1_ps(weightDecay), step = _mm512_set1_ps(stepSize);
    const __m512 invBias2 = _mm512_set1_ps(1 / sqrtBias2), e = _mm512_set1_ps(eps);
    for (long j = 0; j < n; j += 16) {
        const __mmask16 k = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
        __m512 pv = _mm512_maskz_loadu_ps(k, p + j);
        __m512 gv = _mm512_maskz_loadu_ps(k, g + j);
        gv = _mm512_fmadd_ps(wd, pv, gv);
        const __m512 mv = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_maskz_loadu_ps(k, m + j)), _mm512_mul_ps(b1c, gv));
        const __m512 vv = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_maskz_loadu_ps(k, v + j)), _mm512_mul_ps(_mm512_mul_ps(b2c, gv), gv));
        const __m512 den = _mm512_add_ps(_mm512_mul_ps(_mm512_sqrt_ps(vv), invBias2), e);
        pv = _mm512_sub_ps(pv, _mm512_div_ps(_mm512_mul_ps(step, mv), den));
        _mm512_mask_storeu_ps(m + j, k, mv);
        _mm512_mask_storeu_ps(v + j, k, vv);
        _mm512_mask_storeu_ps(p + j, k, pv);
        _mm512_mask_storeu_ps(g + j, k, _mm512_setzero_ps());
    }
}

#else

int rec_have_avx512(void) { return 0; }
void rec_gather_accumulate_avx512(float *out, long d, const float *rows, long stride, const int32_t *index,
                                  const float *coeff, long count) { __builtin_trap(); }
void rec_adam_avx512(long n, float *p, float *g, float *m, float *v, float stepSize, float beta1, float beta2,
                     float sqrtBias2, float eps, float weightDecay) { __builtin_trap(); }

#endif
