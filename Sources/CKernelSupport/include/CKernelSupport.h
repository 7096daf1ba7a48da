#ifndef C_KERNEL_SUPPORT_H
#define C_KERNEL_SUPPORT_H

/* What Swift cannot say itself: a software prefetch hint (GCC/Clang builtin). Static inline,
   so calls compile to one prefetch instruction in the Swift kernels that use them. */

/** Asks for the cache line holding `p` ahead of a read. Never faults, whatever `p` is. */
static inline void rec_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/** Asks for the cache line holding `p` ahead of a write. Never faults, whatever `p` is. */
static inline void rec_prefetch_write(const void *p) { __builtin_prefetch(p, 1, 3); }

#endif
