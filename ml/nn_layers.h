/* nn_layers.h - the fast float kernels of the CNN, one image (or one batch for the dense layers)
 * at a time. The model (nn.c) runs them in per-image loops spread over threads; tests run them
 * against the double-precision oracle of nn_ref.h.
 *
 * Conventions: tensors are row-major, images CHW (one image = C planes of H*W floats).
 * Convolutions are stride 1 without padding ("valid"): OH = H - KH + 1, OW = W - KW + 1.
 * The convolution weight is [OC, C, KH, KW] (PyTorch), i.e. a row-major [OC, K] matrix with
 * K = C*KH*KW, which is exactly the row order of the im2col matrix:
 *   col[(ci*KH + ki)*KW + kj][oy*OW + ox] = x[ci][oy + ki][ox + kj]        col: (K, OH*OW)
 *
 * The BatchNorm + ReLU + 2x2 max-pool block is fused ("bnrp"). Forward per channel c:
 *   z = (y - sub[c]) * scale[c] + beta[c];  out = maxpool2(relu(z))  (floor mode)
 * with sub = batch mean and scale = gamma/sqrt(var + eps) in training, sub = running_mean - bias
 * and scale = gamma/sqrt(running_var + eps) in evaluation. arg[] keeps, per pooled output, the
 * position of the first maximum in its window (0..3 = dy*2 + dx) or -1 when relu zeroed the
 * output, so backward routes the gradient exactly as PyTorch's relu + max_pool2d do (ReLU and
 * max commute, so pooling z first and clamping once gives the same values and argmax).
 * Backward: with dz the pooled gradient routed to its argmax (zero elsewhere),
 *   dy = c0[c] + c1[c] * y + a[c] * dz
 * where (training, M = values per channel over the batch, xhat = (y - mean) * istd)
 *   a = gamma * istd,  c1 = -a * istd * sum(dz * xhat) / M,  c0 = -a * sum(dz) / M - c1 * mean
 * and in evaluation c0 = c1 = 0. nn_bnrp_sums gives the per-image sums sum(dz), sum(dz * xhat).
 */
#ifndef NN_LAYERS_H
#define NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_conv_dims {
    int c, h, w; /* input channels and plane */
    int oc;      /* output channels */
    int kh, kw;  /* kernel */
    int oh, ow;  /* output plane: h - kh + 1, w - kw + 1 */
} nn_conv_dims;

/* Fills the derived fields (oh, ow). */
nn_conv_dims nn_conv_dims_make(int c, int h, int w, int oc, int kh, int kw);
static inline int nn_conv_k(const nn_conv_dims *d)
{
    return d->c * d->kh * d->kw;
}
static inline int nn_conv_p(const nn_conv_dims *d)
{
    return d->oh * d->ow;
}

/* x (C,H,W) -> col (K, OH*OW). */
void nn_im2col(const nn_conv_dims *d, const float *x, float *col);
/* dx (C,H,W) = the transpose of im2col applied to col (K, OH*OW): overwrites dx. */
void nn_col2im(const nn_conv_dims *d, const float *col, float *dx);

/* One image: y (OC, OH*OW) = w (OC, K) * im2col(x) [+ bias]. col: K*OH*OW floats of scratch.
 * bias may be NULL. */
void nn_conv_fwd(const nn_conv_dims *d, const float *x, const float *w, const float *bias, float *y,
                 float *col);
/* One image, backward: dw (OC, K) += dy (OC, OH*OW) * im2col(x)^T, and if dx is not NULL,
 * dx (C,H,W) = col2im(w^T * dy). col: K*OH*OW floats of scratch. */
void nn_conv_bwd(const nn_conv_dims *d, const float *x, const float *w, const float *dy, float *dw,
                 float *dx, float *col);

/* Per-channel statistics of one image's conv output y (C, P): mean[c] and m2[c] =
 * sum((y - mean[c])^2) over the plane (two passes, in cache). */
void nn_plane_stats(const float *y, int c, int p, double *mean, double *m2);

/* Fused BN + ReLU + 2x2 max-pool, one image: y (C,H,W) -> out (C,H/2,W/2), arg (C,H/2,W/2). */
void nn_bnrp_fwd(const float *y, int c, int h, int w, const float *sub, const float *scale,
                 const float *beta, float *out, int8_t *arg);
/* Per-channel sums for backward, one image: sdz[c] = sum(dout at kept maxima),
 * sdzx[c] = sum(dout * (y_argmax - sub[c]) * istd[c]). Overwrites sdz, sdzx. */
void nn_bnrp_sums(const float *y, const float *dout, const int8_t *arg, int c, int h, int w,
                  const float *sub, const float *istd, double *sdz, double *sdzx);
/* dy (C,H,W) = c0 + c1 * y + a * (dout routed to its argmax). */
void nn_bnrp_bwd(const float *y, const float *dout, const int8_t *arg, int c, int h, int w,
                 const float *c0, const float *c1, const float *a, float *dy);

/* Dense layer over a batch: y (n, out) = x (n, in) * w^T + b, w (out, in); relu optional. */
void nn_linear_fwd(int n, int in, int out, const float *x, const float *w, const float *b, float *y,
                   int relu);
/* Backward. If y_relu is not NULL, the layer had a ReLU with output y_relu and dy is masked in
 * place (dy = 0 where y_relu <= 0). dw (out, in) and db (out) are overwritten; dx (n, in) too,
 * if not NULL. */
void nn_linear_bwd(int n, int in, int out, const float *x, const float *w, const float *y_relu,
                   float *dy, float *dw, float *db, float *dx);

/* Softmax cross-entropy, mean over the batch; computed stably (log-sum-exp around the row
 * maximum) in double. dlogits (n, k) = (softmax - onehot) / n, if not NULL. correct (if not
 * NULL) gets the number of rows whose first maximum is the label. Returns the mean loss. */
double nn_softmax_ce(int n, int k, const float *logits, const uint8_t *labels, float *dlogits,
                     int *correct);

#endif
