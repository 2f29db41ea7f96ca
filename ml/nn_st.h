/* nn_st.h - safetensors images in memory: write a list of tensors, parse and validate a buffer.
 *
 * The format (https://github.com/huggingface/safetensors), as written here:
 *   bytes [0, 8)        N, the header length, unsigned 64-bit little-endian
 *   bytes [8, 8+N)      the header: a compact UTF-8 JSON object (no spaces), padded with spaces so
 *                       that 8+N is a multiple of 8:
 *                         {"__metadata__":{"format":"pt",...},
 *                          "conv1.weight":{"dtype":"F32","shape":[32,3,5,5],"data_offsets":[0,9600]},...}
 *                       __metadata__ is optional and maps strings to strings. data_offsets are
 *                       [begin, end) byte offsets relative to the start of the data section.
 *   bytes [8+N, end)    the data section: every tensor's raw little-endian values, row-major.
 * Header entries keep the caller's order; in the data section the writer places tensors with the
 * larger element size first (stable), so every tensor is aligned to its element size.
 *
 * The parser accepts any valid file with the dtypes below: the data section must be covered
 * exactly by the tensors (no gaps, no overlaps, nothing left over), names must be unique, every
 * shape must match its byte size. Every error carries a byte offset into the file (cs_err.offset):
 * the header position of the offending entry, or the data position for data-section errors.
 * The parser never reads outside [buf, buf+len).
 */
#ifndef NN_ST_H
#define NN_ST_H

#include "cs.h"

#include <stddef.h>
#include <stdint.h>

typedef enum nn_dtype {
    NN_DTYPE_F32, /* "F32": IEEE binary32 */
    NN_DTYPE_F16, /* "F16": IEEE binary16 */
    NN_DTYPE_I8,  /* "I8":  int8 */
    NN_DTYPE_I64, /* "I64": int64 */
    NN_DTYPE_U8,  /* "U8":  uint8 (packed INT4/ternary codes, top-k index streams) */
} nn_dtype;

#define NN_ST_MAX_DIMS 8

/* Bytes per element (4, 2, 1, 8, 1). */
size_t nn_dtype_size(nn_dtype t);
/* The safetensors name ("F32", "F16", "I8", "I64", "U8"). */
const char *nn_dtype_name(nn_dtype t);

typedef struct nn_st_tensor {
    const char *name; /* borrowed (writer input) / into nn_st_file.strings (parser) */
    nn_dtype dtype;
    int ndim;                      /* 0 for a scalar, at most NN_ST_MAX_DIMS */
    int64_t shape[NN_ST_MAX_DIMS]; /* each >= 0 */
    const void *data;              /* borrowed: nbytes raw little-endian bytes, any alignment */
    size_t nbytes;                 /* product(shape) * nn_dtype_size(dtype) */
    size_t file_offset;            /* parser: absolute byte offset of the data in the file */
    size_t header_offset;          /* parser: byte offset of the entry's key in the file */
} nn_st_tensor;

typedef struct nn_st_meta {
    const char *key;   /* borrowed */
    const char *value; /* borrowed */
} nn_st_meta;

/* Writes a safetensors image of the n tensors (and the n_meta metadata strings, if any) into a
 * malloc'd buffer (*buf, *len; the caller frees). Fails with CS_EINVAL on an invalid tensor
 * (empty or duplicate name, a name starting "__metadata__", nbytes not matching the shape,
 * ndim out of range) and CS_ENOMEM on overflow/allocation failure. */
int nn_st_write(const nn_st_tensor *tensors, size_t n, const nn_st_meta *meta, size_t n_meta,
                unsigned char **buf, size_t *len, cs_err *err);

/* The same layout without copying data: writes the length and header into a malloc'd buffer of
 * the full file size and stores each tensor's absolute data offset in offsets[i] (aligned to its
 * element size, as is the buffer); the tensors' data pointers are ignored and the caller must
 * fill every data byte. For writers that produce tensor values in place. */
int nn_st_write_header(const nn_st_tensor *tensors, size_t n, const nn_st_meta *meta, size_t n_meta,
                       unsigned char **buf, size_t *len, size_t *offsets, cs_err *err);

typedef struct nn_st_file {
    nn_st_tensor *tensors; /* owned: n tensors in header order; data points into the buffer */
    size_t n;
    nn_st_meta *meta; /* owned: n_meta metadata pairs (strings in `strings`) */
    size_t n_meta;
    char *strings;            /* owned: storage for names, keys and values */
    const unsigned char *buf; /* borrowed: the parsed buffer (must outlive this struct) */
    size_t len;
    size_t data_start; /* 8 + header length */
} nn_st_file;

/* Parses and validates buf[0..len). path only labels errors (may be NULL). On success fills out
 * (free with nn_st_free); on failure returns CS_EINVAL (or CS_ENOMEM) with err->offset set, and
 * out is left empty. */
int nn_st_parse(const unsigned char *buf, size_t len, const char *path, nn_st_file *out,
                cs_err *err);
void nn_st_free(nn_st_file *f); /* NULL-safe; leaves f zeroed */

/* The tensor named name, or NULL. */
const nn_st_tensor *nn_st_find(const nn_st_file *f, const char *name);
/* The metadata value for key, or NULL. */
const char *nn_st_meta_get(const nn_st_file *f, const char *key);

#endif
