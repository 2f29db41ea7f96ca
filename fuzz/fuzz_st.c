/* fuzz_st.c - the safetensors reader (ml/nn_st.h).
 *
 * The input is parsed as a safetensors file. What is accepted must hold what the header
 * promises: every tensor's bytes inside the buffer and inside the data section, its size the
 * product of its shape, names findable. Every data byte is then read (for ASan) and the tensors
 * and metadata are written again with nn_st_write: when the writer takes them (it refuses some
 * names the format allows, such as names with control characters), its output must parse back
 * to the same tensors.
 */
#include "fuzz.h"
#include "nn_st.h"

#include <stdlib.h>
#include <string.h>

static volatile unsigned char sink; /* every data byte is read into it */

static void check_file(const nn_st_file *f, const unsigned char *buf, size_t len)
{
    CS_ASSERT(f->buf == buf && f->len == len && f->data_start >= 10 && f->data_start <= len);
    size_t covered = 0;
    for (size_t i = 0; i < f->n; i++) {
        const nn_st_tensor *t = &f->tensors[i];
        CS_ASSERT(t->name && t->name[0] && t->ndim >= 0 && t->ndim <= NN_ST_MAX_DIMS);
        size_t count = 1, nbytes = 0; /* the parser refuses shapes whose products overflow */
        for (int d = 0; d < t->ndim; d++)
            CS_ASSERT(t->shape[d] >= 0 && cs_size_mul(count, (size_t)t->shape[d], &count) == 0);
        CS_ASSERT(cs_size_mul(count, nn_dtype_size(t->dtype), &nbytes) == 0 && nbytes == t->nbytes);
        CS_ASSERT(t->file_offset >= f->data_start && t->file_offset <= len &&
                  t->nbytes <= len - t->file_offset);
        CS_ASSERT((const unsigned char *)t->data == buf + t->file_offset);
        CS_ASSERT(t->header_offset >= 8 && t->header_offset < f->data_start);
        CS_ASSERT(nn_st_find(f, t->name) == t);
        for (size_t k = 0; k < t->nbytes; k++)
            sink ^= ((const unsigned char *)t->data)[k];
        covered += t->nbytes;
    }
    CS_ASSERT(covered == len - f->data_start);
    for (size_t i = 0; i < f->n_meta; i++)
        CS_ASSERT(f->meta[i].key && f->meta[i].value && nn_st_meta_get(f, f->meta[i].key));
}

static void round_trip(const nn_st_file *f)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    cs_err err;
    if (nn_st_write(f->tensors, f->n, f->meta, f->n_meta, &buf, &len, &err) != 0) {
        CS_ASSERT(buf == NULL && err.code == CS_EINVAL);
        return;
    }
    nn_st_file g;
    int rc = nn_st_parse(buf, len, "rewritten", &g, &err);
    CS_ASSERT(rc == 0);
    CS_ASSERT(g.n == f->n && g.n_meta == f->n_meta);
    for (size_t i = 0; i < f->n; i++) {
        const nn_st_tensor *a = &f->tensors[i], *b = &g.tensors[i];
        CS_ASSERT(strcmp(a->name, b->name) == 0 && a->dtype == b->dtype && a->ndim == b->ndim);
        CS_ASSERT(memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof a->shape[0]) == 0);
        CS_ASSERT(a->nbytes == b->nbytes &&
                  (a->nbytes == 0 || !memcmp(a->data, b->data, a->nbytes)));
        CS_ASSERT(b->file_offset % nn_dtype_size(b->dtype) == 0);
    }
    for (size_t i = 0; i < f->n_meta; i++)
        CS_ASSERT(!strcmp(f->meta[i].key, g.meta[i].key) &&
                  !strcmp(f->meta[i].value, g.meta[i].value));
    nn_st_free(&g);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_st_file f;
    cs_err err;
    if (nn_st_parse(data, size, "fuzz.safetensors", &f, &err) != 0) {
        CS_ASSERT(f.tensors == NULL && f.n == 0 && err.code != 0 && err.offset >= 0 &&
                  (size_t)err.offset <= size);
        return 0;
    }
    check_file(&f, data, size);
    round_trip(&f);
    nn_st_free(&f);
    return 0;
}
