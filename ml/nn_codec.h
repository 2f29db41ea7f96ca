/* nn_codec.h - wire codecs and model files: the model state as a safetensors image in FP32,
 * FP16, INT8, INT4, ternary or top-k (docs/formats.md).
 *
 * A payload (what crosses a link) and a model file (what is saved) are the same bytes: a
 * safetensors image (nn_st.h) holding the tensors of nn_views(), named as in the PyTorch
 * state_dict:
 *   fp32     every float tensor F32;
 *   fp16     every float tensor F16 (IEEE binary16, round-to-nearest-even), BN buffers included;
 *   int8     every conv/linear weight (nn_view.per_channel) as I8 "<name>" plus F32 "<name>.scale"
 *            [out_channels]: scale = max|w| / 127 per output channel, q = round-half-even(w /
 *            scale) clamped to [-127, 127], an all-zero channel has scale 0 and q = 0; the
 *            receiver uses q * scale (in float). Biases and BN tensors stay F32.
 *   int4     every weight as U8 "<name>" (two 4-bit two's-complement codes per byte, element 2i
 *            in the low nibble of byte i, q in [-7, 7]) plus F32 "<name>.scale" [groups]: scale
 *            = max|w| / 7 over each group of nn_wire.group_size consecutive values of the
 *            flattened tensor (0: one group per output channel);
 *   ternary  the same with 2-bit codes (00 = 0, 01 = +1, 11 = -1; element 4i in the lowest bits
 *            of byte i) and scale = max|w| per group;
 *   topk     of all the weights' values together, the k = ceil(topk_fraction x N) largest in
 *            magnitude (ties: the lower index in layout order first) as F16 "<name>.values"
 *            [k_t] in index order per tensor, with their positions as U8 "<name>.mask" (one bit
 *            per element, element i in bit i % 8 of byte i / 8) or U8 "<name>.gaps" (LEB128
 *            varints: the first index, then each index minus the previous minus 1), whichever
 *            is fewer bytes; the other values are 0.
 * Unused codes (the INT4 nibble 1000, the ternary 10), non-zero padding bits and malformed
 * index streams are errors. The integer codecs may round stochastically (nn_wire.stochastic:
 * q = floor(x) + (u < x - floor(x)), u uniform from a hash of the seed and the element's state
 * index, so the same seed gives the same bits). The num_batches_tracked counters are I64
 * scalars in every precision. The header's __metadata__ holds {"format":"pt",
 * "constsim.precision":"fp16","constsim.encoding":"state"} ("delta" for a delta payload), and
 * for the three low precisions "constsim.packing" (a description), "constsim.group_size" or
 * "constsim.topk_k", and "constsim.shape.<name>" (the weight's shape, e.g. "[32,3,5,5]").
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
    NN_PREC_INT4 = 3,
    NN_PREC_TERNARY = 4,
    NN_PREC_TOPK = 5,
    NN_PREC_ADAPTIVE = 6, /* a run kind, not a codec: each transfer picks one (sim/fl.c) */
} nn_precision;
#define NN_CODECS 6     /* the codecs: fp32 .. topk */
#define NN_PRECISIONS 7 /* what wire.precision lists: the codecs and adaptive */

/* "fp32", "fp16", "int8", "int4", "ternary", "topk", "adaptive". */
const char *nn_precision_name(nn_precision p);
/* Parses one of those names; returns 0, or -1 if s is none of them. */
int nn_precision_parse(const char *s, nn_precision *out);
/* True for int4, ternary and topk: payloads meant for deltas (docs/simulation.md). */
bool nn_precision_is_low(nn_precision p);

/* How a payload is encoded: the precision and the low precisions' parameters. */
typedef struct nn_wire {
    nn_precision prec;
    uint32_t group_size;  /* int4/ternary: values per scale; 0: one scale per output channel */
    double topk_fraction; /* topk: the fraction of the weights' values kept, in (0, 1] */
    bool stochastic;      /* int8/int4/ternary: stochastic rounding */
    uint64_t sr_seed;     /* its seed */
} nn_wire;
#define NN_WIRE_GROUP_DEFAULT 256u  /* docs/results.md, "Group size" */
#define NN_WIRE_TOPK_DEFAULT 0.01   /* 1% */
nn_wire nn_wire_of(nn_precision p); /* p with the default parameters, deterministic rounding */

/* ---- INT4 / ternary, symmetric, one scale per group -----------------------------------------
 * Quantises the n values w into codes q in [-qmax, qmax] (qmax 7 for INT4, 1 for ternary) and
 * one scale per group of `group` consecutive values (the last may be shorter): scale = max|w| /
 * qmax, q = round-half-even(w / scale) (|w - q*scale| <= scale/2), or with sr the stochastic
 * rounding above using sr_seed and the element index index0 + i. An all-zero group has scale 0.
 * Returns 0, or -1 if a value is not finite (*bad = its index). */
int nn_lowbit_quantize(const float *w, size_t n, size_t group, int qmax, bool sr, uint64_t sr_seed,
                       uint64_t index0, int8_t *q, float *scale, size_t *bad);
/* Packs n codes: 4 bits each (two's complement, element 2i in the low nibble of byte i) or 2
 * bits (element 4i lowest); the padding bits of the last byte are 0. */
void nn_pack4(const int8_t *q, size_t n, uint8_t *out); /* (n + 1) / 2 bytes */
void nn_pack2(const int8_t *q, size_t n, uint8_t *out); /* (n + 3) / 4 bytes */
/* Unpacks n codes; returns 0, or -1 at the first byte holding an unused code (INT4 -8, ternary
 * 10) or non-zero padding (*bad_byte = its index). */
int nn_unpack4(const uint8_t *in, size_t n, int8_t *q, size_t *bad_byte);
int nn_unpack2(const uint8_t *in, size_t n, int8_t *q, size_t *bad_byte);

/* ---- top-k ---------------------------------------------------------------------------------
 * The k largest |x[i]| of n finite values, ties broken by the lower index, as their indices in
 * ascending order (idx[k]). Returns 0, or -1 if a value is not finite (*bad = its index). */
int nn_topk_select(const float *x, size_t n, size_t k, uint32_t *idx, size_t *bad);
/* k = ceil(fraction * n), within [min(1, n), n]. */
size_t nn_topk_count(double fraction, size_t n);

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
/* The same with the precision's parameters (nn_wire_of(prec) gives the defaults). */
int nn_codec_encode_wire(const nn_layout *l, const nn_wire *w, const float *state,
                         const int64_t *tracked, const float *base, unsigned char **buf,
                         size_t *len, cs_err *err);

/* Decodes a payload in any precision (the low ones named by the metadata, the others detected
 * from the dtypes; *prec, if not NULL, is the metadata's low precision, else int8 if any weight
 * is I8, else fp16 if any float tensor is F16, else fp32) into
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
int nn_codec_encode_model(const nn_wire *w, const float *state, const int64_t *tracked,
                          const float *base, unsigned char **buf, size_t *len, cs_err *err);

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
