/* nn_internal.h - what nn_train.c needs from the model's insides (not a public header). */
#ifndef NN_INTERNAL_H
#define NN_INTERNAL_H

#include "nn.h"
#include "nn_layers.h"
#include "nn_train.h"

#include <stdint.h>

/* The model's own batch buffers, sized for max_batch: x (max_batch, 3, 64, 64), labels, logits. */
float *nn__model_xbuf(nn_model *m);
uint8_t *nn__model_ybuf(nn_model *m);
float *nn__model_logits_buf(nn_model *m);

/* The progress hook stored in the model (fn may be NULL). */
typedef struct nn__hook {
    nn_progress_fn fn; /* borrowed */
    void *user;        /* borrowed */
} nn__hook;
nn__hook *nn__model_hook(nn_model *m);

/* The inference path (nn_infer.c) runs the model's own kernels with the model's own geometry:
 * conv block l (0..2) as nn.c runs it. */
typedef struct nn__conv_block {
    nn_conv_dims dims; /* with the model's chunk_rows (the im2col/im2row block) */
    int ph, pw;        /* pooled output plane */
    size_t w_off;      /* conv weight (OC, C, KH, KW) in state */
    int ch0;           /* first channel of the block in the 192 BatchNorm channels */
} nn__conv_block;
nn__conv_block nn__conv_block_of(int l);
/* Evaluation-mode BatchNorm coefficients of block l for nn_bnrp_fwd (dims.oc floats each):
 * sub = running_mean - conv bias, scale = gamma / sqrt(running_var + eps), beta, computed as the
 * model's eval-mode forward computes them. */
void nn__bn_eval_coeffs(const float *state, int l, float *sub, float *scale, float *beta);
/* Offset in state of dense layer `layer` (0 = fc1 .. 2 = fc3): its weight, or with bias != 0 its
 * bias. */
size_t nn__dense_offset(int layer, int bias);

/* One allocation carved into 64-byte-aligned parts (the model's and the inference context's):
 * a layout function takes every part from a carve with base NULL to measure the total, then
 * again from the allocated block to place them. */
typedef struct nn__carve {
    unsigned char *base;
    size_t used;
    int overflow;
} nn__carve;

/* Reserves count elements of size bytes, 64-byte aligned; with base NULL only measures. */
static inline void *nn__carve_take(nn__carve *c, size_t count, size_t size)
{
    size_t bytes;
    if (cs_size_mul(count, size, &bytes) != 0 || bytes > SIZE_MAX / 2 - c->used - 64) {
        c->overflow = 1;
        return NULL;
    }
    const size_t at = (c->used + 63) & ~(size_t)63;
    c->used = at + bytes;
    return c->base ? c->base + at : NULL;
}

#endif
