/* fuzz_eval_list.c - the image list of `constsim eval --list` (nn_data_list_parse, ml/nn_data.h)
 * against a hand-made dataset of the paths in fuzz.h (no images: the list names paths only).
 * Every index returned must name an image of the dataset.
 */
#include "fuzz.h"
#include "nn_data.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.paths = (char **)fuzz_list_paths;
    ds.n = FUZZ_LIST_PATHS;
    strcpy(ds.root, "data/eurosat");
    uint32_t *idx = NULL;
    size_t n = 0;
    cs_err err;
    if (nn_data_list_parse(&ds, "fuzz.list", (const char *)data, size, &idx, &n, &err) != 0) {
        CS_ASSERT(idx == NULL && n == 0 && err.msg[0]);
        return 0;
    }
    CS_ASSERT(idx && n >= 1);
    for (size_t i = 0; i < n; i++)
        CS_ASSERT(idx[i] < ds.n);
    free(idx);
    return 0;
}
