/* fuzz.h - what the libFuzzer harnesses share (docs/fuzz.md).
 *
 * Each harness feeds one parser the input bytes through its from-memory entry point, then uses
 * what it accepted the way the program does; broken invariants go to CS_ASSERT, which aborts, so
 * libFuzzer keeps the input as a crash. Harnesses print nothing, write no files and keep no state
 * between inputs. Inputs are read from the source tree only where a parser follows a path named
 * in its input (a scenario's TLE file, a sweep's point reports): FUZZ_DATA_DIR is tests/data.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include "cs.h"

#include <stddef.h>
#include <stdint.h>

#ifndef FUZZ_DATA_DIR
#error "FUZZ_DATA_DIR (the source tree's tests/data) must be defined by the build"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The images of the hand-made dataset of the eval list harness (fuzz_eval_list.c), sorted
 * byte-wise as nn_data_load orders them; fuzz_seeds.c writes lists of them. */
static const char *const fuzz_list_paths[] = {
    "AnnualCrop/AnnualCrop_1.jpg", "AnnualCrop/AnnualCrop_2.jpg", "Forest/Forest_1.jpg",
    "Forest/Forest_10.jpg",        "Forest/Forest_2.jpg",         "Highway/Highway_1.jpg",
    "SeaLake/SeaLake_1.jpg",       "SeaLake/SeaLake_3000.jpg",
};
#define FUZZ_LIST_PATHS (sizeof fuzz_list_paths / sizeof fuzz_list_paths[0])

#endif
