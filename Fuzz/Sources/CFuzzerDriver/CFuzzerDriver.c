#include "CFuzzerDriver.h"

/// LeakSanitizer suppressions built into both fuzz targets (read by the sanitizer runtime).
///
/// swift-foundation (Swift 6.3.1, Linux) leaks the 4 KiB buffer of every empty file read with
/// FileManager.contents(atPath:): its zero-size path mallocs a buffer for files like /proc ones
/// and the empty Data never frees it. Not our code, and harmless outside a fuzzer, where every
/// empty input would otherwise be reported as a leak.
const char *__lsan_default_suppressions(void) {
    return "leak:readBytesFromFile\n";
}
