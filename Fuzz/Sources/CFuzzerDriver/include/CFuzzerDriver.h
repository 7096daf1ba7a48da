#ifndef CFUZZERDRIVER_H
#define CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver, from the toolchain's libclang_rt.fuzzer (linked by -sanitize=fuzzer).
///
/// SwiftPM links every executable with `--defsym main=<module>_main`, so libFuzzer's own
/// `main` cannot be the entry point: each target's main.swift calls this instead.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// Leak reports to ignore (see CFuzzerDriver.c).
const char *__lsan_default_suppressions(void);

#endif
