/* nn_codec.h - wire codecs and model files: the model state as a safetensors image in FP32,
 * FP16 or INT8 (docs/formats.md).
 *
 * A payload (what crosses a link) and a model file (what is saved) are the same bytes: a
 * safetensors image (nn_st.h) holding one tensor per nn_views() entry, named and shaped as in
 * the PyTorch state_dict:
 *   fp32  every float tensor F32;
 *   fp16  every float tensor F16 (IEEE binary16, round-to-nearest-even), BN buffers included;
 *   int8  every conv/linear weight (nn_view.per_channel) as I8 "<name>" plus F32 "<name>.scale"
 *         [out_channels]: scale = max|w| / 127 per output channel, q = round-half-even(w / scale)
 *         clamped to [-127, 127], an all-zero channel has scale 0 and q = 0; the receiver uses
 *         q * scale (in float). Biases and BN tensors stay F32.
 * The num_batches_tracked counters are I64 scalars in every precision. The header's
 * __metadata__ holds {"format":"pt","constsim.precision":"fp16","constsim.encoding":"state"}
 * ("delta" for a delta payload).
 *
 * Delta payloads carry (state - base) for the float tensors in the chosen precision and are
 * decoded by adding onto the same base; the counters are always sent as absolute values.
 */
#ifndef NN_CODEC_H
#define NN_CODEC_H

#include "cs.h"
#include "nn.h"
#include "nn_st.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum nn_precision {
    NN_PREC_FP32 = 0,
    NN_PREC_FP16 = 1,
    NN_PREC_INT8 = 2,
} nn_precision;
#define NN_PRECISIONS 3

/* "fp32", "fp16", "int8". */
const char *nn_precision_name(nn_precision p);
/* Parses "fp32"/"fp16"/"int8"; returns 0, or -1 if s is none of them. */
int nn_precision_parse(const char *s, nn_precision *out);

/* ---- FP16 (IEEE 754 binary16) ---------------------------------------------------------------
 * float -> half rounds to nearest, ties to even; values >= 65520 in magnitude become +-inf;
 * subnormal halves are produced and read exactly; NaN stays NaN with its sign and the top 10
 * payload bits, made quiet (as the F16C instructions do). half -> float is exact (NaN made quiet).
 */
uint16_t nn_fp16_from_f32(float f);
float nn_fp16_to_f32(uint16_t h);
/* Array conversions, using F16C when the CPU has it (bit-identical to the portable code). */
void nn_fp16_encode(const float *src, uint16_t *dst, size_t n);
void nn_fp16_decode(const uint16_t *src, float *dst, size_t n);
/* The two implementations, for tests and benchmarks. The _f16c ones require
 * nn_fp16_have_f16c(). */
void nn_fp16_encode_portable(const float *src, uint16_t *dst, size_t n);
void nn_fp16_decode_portable(const uint16_t *src, float *dst, size_t n);
bool nn_fp16_have_f16c(void);
void nn_fp16_encode_f16c(const float *src, uint16_t *dst, size_t n);
void nn_fp16_decode_f16c(const uint16_t *src, float *dst, size_t n);

/* ---- INT8, symmetric, one scale per row (output channel) ------------------------------------
 * Quantises w (rows x cols, row-major) into q and scale[rows]. Returns 0, or -1 if a weight is
 * not finite (then *bad_row, if not NULL, is the first such row and q/scale are incomplete). */
int nn_int8_quantize(const float *w, size_t rows, size_t cols, int8_t *q, float *scale,
                     size_t *bad_row);
/* w = q * scale[row] (computed in float). */
void nn_int8_dequantize(const int8_t *q, const float *scale, size_t rows, size_t cols, float *w);

/* ---- payloads -------------------------------------------------------------------------------
 * A layout: the tensor table over a flat float state and an int64 counter array. The CNN's is
 * nn_layout_model(); tests may build their own. Views must lie inside the arrays, and a
 * per_channel view needs ndim >= 1 and shape[0] >= 1. */
typedef struct nn_layout {
    const nn_view *views; /* borrowed */
    size_t n_views;
    size_t state_floats; /* length of the state array */
    size_t n_tracked;    /* length of the counter array */
} nn_layout;

nn_layout nn_layout_model(void); /* nn_views(), NN_STATE_FLOATS, NN_TRACKED */

/* Encodes state (l->state_floats floats) and tracked (l->n_tracked counters) into a payload in
 * precision prec: a malloc'd buffer (*buf, *len; the caller frees). With base != NULL the float
 * tensors carry state - base (a delta payload). Fails with CS_ERANGE naming the tensor if an
 * INT8 weight channel holds a non-finite value, CS_ENOMEM on allocation failure. */
int nn_codec_encode_with(const nn_layout *l, nn_precision prec, const float *state,
                         const int64_t *tracked, const float *base, unsigned char **buf,
                         size_t *len, cs_err *err);

/* Decodes a payload in any of the three precisions (detected from the dtypes; *prec, if not
 * NULL, is int8 if any weight is I8, else fp16 if any float tensor is F16, else fp32) into
 * state and tracked, dequantising. A delta payload needs base (state may equal base: the delta
 * is added in place); a full payload needs base == NULL. path labels errors (may be NULL).
 * Every error has a byte offset; missing, unknown or mis-shaped tensors are errors naming the
 * tensor. On failure state and tracked are left unchanged. */
int nn_codec_decode_with(const nn_layout *l, const unsigned char *buf, size_t len, const char *path,
                         const float *base, float *state, int64_t *tracked, nn_precision *prec,
                         cs_err *err);

/* The same for the CNN (nn_layout_model()). */
int nn_codec_encode(nn_precision prec, const float *state, const int64_t *tracked,
                    const float *base, unsigned char **buf, size_t *len, cs_err *err);
int nn_codec_decode(const unsigned char *buf, size_t len, const float *base, float *state,
                    int64_t *tracked, nn_precision *prec, cs_err *err);

/* ---- model files: payloads on disk (written atomically) ------------------------------------ */
int nn_codec_save_with(const nn_layout *l, const char *path, nn_precision prec, const float *state,
                       const int64_t *tracked, cs_err *err);
/* Loads a model file: nn_codec_decode_with of its bytes, refused (CS_EINVAL naming the tensor
 * and the element; state and tracked unchanged) when a weight or statistic is NaN or infinite. */
int nn_codec_load_with(const nn_layout *l, const char *path, float *state, int64_t *tracked,
                       nn_precision *prec, cs_err *err);
/* Same, from the len bytes of a model file in memory; path only labels errors (may be NULL).
 * nn_codec_load_with reads the file and calls this. */
int nn_codec_load_buf_with(const nn_layout *l, const unsigned char *buf, size_t len,
                           const char *path, float *state, int64_t *tracked, nn_precision *prec,
                           cs_err *err);

/* The CNN's state arrays. */
int nn_state_save(const char *path, nn_precision prec, const float *state, const int64_t *tracked,
                  cs_err *err);
int nn_state_load(const char *path, float *state, int64_t *tracked, nn_precision *prec,
                  cs_err *err);

/* A model's state (nn_model_state / nn_model_tracked). */
int nn_model_save(nn_model *m, const char *path, nn_precision prec, cs_err *err);
int nn_model_load(nn_model *m, const char *path, nn_precision *prec, cs_err *err);

#endif
