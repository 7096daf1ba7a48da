#ifndef C_KERNEL_SUPPORT_H
#define C_KERNEL_SUPPORT_H

/* What Swift cannot say itself: a software prefetch hint (GCC/Clang builtin). Static inline,
   so calls compile to one prefetch instruction in the Swift kernels that use them. */

/** Asks for the cache line holding `p` ahead of a read. Never faults, whatever `p` is. */
static inline void rec_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/** Asks for the cache line holding `p` ahead of a write. Never faults, whatever `p` is. */
static inline void rec_prefetch_write(const void *p) { __builtin_prefetch(p, 1, 3); }

/** Eight floats: Swift imports this clang vector type as SIMD8<Float>. */
typedef float rec_float8 __attribute__((ext_vector_type(8)));

/** Lane-wise square root, IEEE-exact (llvm.sqrt: one vsqrtps on AVX). Swift's
    `SIMD8<Float>.squareRoot()` compiled to a scalar square root per lane with a branch around
    each (seen in `perf annotate` of the Adam kernel: a third of its cycles). */
static inline rec_float8 rec_sqrt8(rec_float8 x) {
#if __has_builtin(__builtin_elementwise_sqrt)
    return __builtin_elementwise_sqrt(x);
#else
    /* Older clang: lane by lane, the same bits. */
    rec_float8 r;
    for (int i = 0; i < 8; i++) r[i] = __builtin_sqrtf(x[i]);
    return r;
#endif
}

/* AVX-512 kernels (Kernels512.c), the same bits as their Swift AVX2 twins; call them only
   when rec_have_avx512() returns 1. */
#include <stdint.h>
int rec_have_avx512(void);
void rec_gather_accumulate_avx512(float *out, long d, const float *rows, long stride, const int32_t *index,
                                  const float *coeff, long count);
void rec_adam_avx512(long n, float *p, float *g, float *m, float *v, float stepSize, float beta1, float beta2,
                     float sqrtBias2, float eps, float weightDecay);

#endif
