/* st_test_util.h - what nn_st_parse owes a damaged file, for the safetensors and codec tests. */
#ifndef ST_TEST_UTIL_H
#define ST_TEST_UTIL_H

#include "nn_st.h"

/* The error offset nn_st_parse owes the first l bytes of the valid file f (as parsed), with a
 * part of its message in *msg: shorter than the length field, 0; shorter than the header, 0
 * (the length field now points past the end); otherwise the key of the first tensor, in header
 * order, whose data the cut reaches. */
static inline long long st_truncation_offset(const nn_st_file *f, size_t l, const char **msg)
{
    if (l < 8) {
        *msg = "too short for the 8-byte header length";
        return 0;
    }
    if (l < f->data_start) {
        *msg = "goes beyond the end of the file";
        return 0;
    }
    *msg = "go beyond the data section";
    const nn_st_tensor *first = NULL;
    for (size_t i = 0; i < f->n; i++) {
        const nn_st_tensor *t = &f->tensors[i];
        if (t->file_offset + t->nbytes > l && (!first || t->header_offset < first->header_offset))
            first = t;
    }
    return first ? (long long)first->header_offset : -99;
}

#endif
