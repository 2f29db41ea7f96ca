/* nn_codec_internal.h - helpers shared by the payload codecs (nn_codec.c, nn_codec_low.c). */
#ifndef NN_CODEC_INTERNAL_H
#define NN_CODEC_INTERNAL_H

#include "nn_codec.h"

#include <stdbool.h>
#include <stddef.h>

bool nn__view_is_float(const nn_view *v);
/* Index of the tensor named name in f, or -1. */
long nn__find_tensor(const nn_st_file *f, const char *name);
bool nn__shape_eq(const nn_st_tensor *t, int ndim, const int64_t *shape);
/* "shape [..], expected [..]" at the tensor's header offset; returns CS_EINVAL. */
int nn__shape_error(const char *path, const nn_st_tensor *t, int ndim, const int64_t *shape,
                    cs_err *err);
/* "[32,3,5,5]" into out. */
void nn__shape_str(char *out, size_t cap, int ndim, const int64_t *shape);
/* n little-endian F32/F16 values from possibly unaligned bytes into dst, plus base if not NULL. */
void nn__load_f32(const unsigned char *src, size_t n, const float *base, float *dst);
void nn__load_f16(const unsigned char *src, size_t n, const float *base, float *dst);

/* The low precisions' payloads (nn_codec_low.c): w->prec is int4, ternary or topk. */
int nn__encode_low(const nn_layout *l, const nn_wire *w, const float *state, const int64_t *tracked,
                   const float *base, unsigned char **buf, size_t *len, cs_err *err);
/* Decodes parsed file f whose metadata names low precision prec (arguments as for
 * nn_codec_decode_with; the encoding was checked against base). */
int nn__decode_low(const nn_layout *l, const nn_st_file *f, nn_precision prec, const char *path,
                   const float *base, float *state, int64_t *tracked, cs_err *err);

#endif
