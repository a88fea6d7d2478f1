#include <stddef.h>
#include <stdint.h>

/* libFuzzer's driver, for a program that has its own main (the fuzz targets do:
 * SwiftPM links every executable with main pointing at the module's entry point).
 * It parses libFuzzer's flags from argv and calls UserCb with each input; the
 * library comes with -sanitize=fuzzer, so nothing is linked here. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
