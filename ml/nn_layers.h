/* nn_layers.h - the fast float kernels of the CNN, one image (or one batch for the dense layers)
 * at a time. The model (nn.c) runs them in per-image loops spread over threads; tests run them
 * against the double-precision oracle of nn_ref.h.
 *
 * Layouts. Inside the model, activations are channels-last ("HWC": one image = H*W pixels of C
 * contiguous channels), so BatchNorm, ReLU and pooling run over contiguous channel vectors and
 * the convolution GEMMs get long, cache-friendly shapes. The network's input (CHW, as PyTorch)
 * and the flatten before fc1 (C,H,W order, as PyTorch) are converted at the edges. Parameters
 * keep PyTorch's layouts; conv2/conv3 weights are permuted to (OC, KH, KW, C) per forward.
 *
 * Convolutions are stride 1 without padding ("valid"): OH = H - KH + 1, OW = W - KW + 1,
 * P = OH*OW output pixels, K = C*KH*KW.
 *   CHW input (conv1): col = im2col(x), (K, P), rows in PyTorch weight order (ci, ki, kj):
 *     col[(ci*KH + ki)*KW + kj][oy*OW + ox] = x[ci][oy + ki][ox + kj]
 *   HWC input (conv2, conv3): row = im2row(x), (P, K), columns in (ki, kj, ci) order - for each
 *     output pixel and kernel row, KW*C contiguous input floats:
 *     row[oy*OW + ox][(ki*KW + kj)*C + ci] = x[oy + ki][ox + kj][ci]
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nn_conv_dims {
    int c, h, w;    /* input channels and plane */
    int oc;         /* output channels */
    int kh, kw;     /* kernel */
    int oh, ow;     /* output plane: h - kh + 1, w - kw + 1 */
    int chunk_rows; /* output rows per im2col/im2row block (1..oh): the convolutions run block
                     * by block so that the unfolded matrix stays in cache */
} nn_conv_dims;

/* Fills the derived fields (oh, ow) and chunk_rows = oh (one block). */
nn_conv_dims nn_conv_dims_make(int c, int h, int w, int oc, int kh, int kw);
static inline int nn_conv_k(const nn_conv_dims *d)
{
    return d->c * d->kh * d->kw;
}
static inline int nn_conv_p(const nn_conv_dims *d)
{
    return d->oh * d->ow;
}

/* Layout conversions of one image: (c,h,w) <-> (h,w,c). */
void nn_chw_to_hwc(const float *x, int c, int h, int w, float *out);
void nn_hwc_to_chw(const float *x, int h, int w, int c, float *out);

/* The block of output rows [oy0, oy1), Pb = (oy1 - oy0) * OW pixels:
 * CHW x -> col (K, Pb). */
void nn_im2col(const nn_conv_dims *d, const float *x, int oy0, int oy1, float *col);
/* HWC x -> row (Pb, K). */
void nn_im2row(const nn_conv_dims *d, const float *x, int oy0, int oy1, float *row);
/* dx (H,W,C) += the transpose of im2row applied to row (Pb, K). */
void nn_row2im_add(const nn_conv_dims *d, const float *row, int oy0, int oy1, float *dx);

/* Conv weight (OC, C, KH, KW) <-> (OC, KH, KW, C). The second adds into w. */
void nn_conv_weight_to_hwc(const nn_conv_dims *d, const float *w, float *w_hwc);
void nn_conv_weight_add_from_hwc(const nn_conv_dims *d, const float *w_hwc, float *w);

/* Scratch (col / row) needed by the convolutions below: K * chunk_rows * OW floats. */
size_t nn_conv_scratch(const nn_conv_dims *d);
/* CHW input, one image: y (P, OC) = im2col(x)^T * w^T, w (OC, K) as PyTorch. */
void nn_conv_chw_fwd(const nn_conv_dims *d, const float *x, const float *w, float *y, float *col);
/* Its weight gradient, transposed: dw_t (K, OC) += im2col(x) * dy, dy (P, OC). */
void nn_conv_chw_bwd(const nn_conv_dims *d, const float *x, const float *dy, float *dw_t,
                     float *col);
/* HWC input, one image: y (P, OC) = im2row(x) * w_hwc^T. */
void nn_conv_hwc_fwd(const nn_conv_dims *d, const float *x, const float *w_hwc, float *y,
                     float *row);
/* Backward: dw_hwc (OC, K) += dy^T * im2row(x); if dx is not NULL, dx (H,W,C) =
 * row2im(dy * w_hwc). */
void nn_conv_hwc_bwd(const nn_conv_dims *d, const float *x, const float *w_hwc, const float *dy,
                     float *dw_hwc, float *dx, float *row);

/* Direct AVX-512 convolutions (nn_conv512.c), one image, the same maths as the GEMM kernels
 * above without the unfolded copy: register tiles of output pixels x output channels (forward),
 * kernel positions x output channels (weight gradient), output pixels x input channels (input
 * gradient, added tap by tap). Call only if nn_conv512_available() and nn_conv512_fits().
 * chw selects conv1's CHW input (no input gradient); otherwise the input is HWC. y and dy are
 * (P, OC) as above. Positions k run in PyTorch order (ci, ki, kj) for CHW input and in
 * im2row order (ki, kj, ci) for HWC input.
 *   pack: wf (K, OC), wf[k][o] = w[o][k]; for HWC then wd (KH*KW, OC, C),
 *     wd[ki*KW + kj][o][ci] = w[o][ci][ki][kj]  (nn_conv512_pack_floats floats)
 *   dw: (K, OC), added to (nn_conv512_grad_add adds it to a PyTorch-layout gradient) */
bool nn_conv512_available(void);
bool nn_conv512_fits(const nn_conv_dims *d, bool chw);
static inline size_t nn_conv512_pack_floats(const nn_conv_dims *d, bool chw)
{
    return (size_t)(chw ? 1 : 2) * d->oc * nn_conv_k(d);
}
void nn_conv512_pack(const nn_conv_dims *d, bool chw, const float *w, float *pack);
void nn_conv512_grad_add(const nn_conv_dims *d, bool chw, const float *dw, float *w);
void nn_conv512_fwd(const nn_conv_dims *d, bool chw, const float *x, const float *pack, float *y);
/* dw += the weight gradient; if dx is not NULL (HWC only), dx (H,W,C) = the input gradient. */
void nn_conv512_bwd(const nn_conv_dims *d, bool chw, const float *x, const float *pack,
                    const float *dy, float *dw, float *dx);

/* The convolutions as the model runs them: the direct kernels where the CPU and the shape allow
 * (and nn_conv_set_direct has not turned them off), else the im2col/im2row + sgemm kernels.
 * Weights are packed once per forward into nn_conv_pack_floats floats (the upper bound of both
 * paths); the weight gradient dw (OC * K floats) is accumulated in the path's own layout and
 * added to a PyTorch-layout gradient by nn_conv_grad_add. col is the GEMM path's scratch
 * (nn_conv_scratch floats). For chw, dw is (K, OC) on both paths. */
bool nn_conv_direct(const nn_conv_dims *d, bool chw);
/* Turns the direct kernels on (where available) or off for every later call; returns whether
 * they are on. Not thread-safe: call it between training steps. */
bool nn_conv_set_direct(bool on);
static inline size_t nn_conv_pack_floats(const nn_conv_dims *d, bool chw)
{
    return nn_conv512_pack_floats(d, chw);
}
void nn_conv_pack(const nn_conv_dims *d, bool chw, const float *w, float *pack);
void nn_conv_forward(const nn_conv_dims *d, bool chw, const float *x, const float *pack, float *y,
                     float *col);
/* dw += the weight gradient; if dx is not NULL (HWC only), dx = the input gradient. */
void nn_conv_backward(const nn_conv_dims *d, bool chw, const float *x, const float *pack,
                      const float *dy, float *dw, float *dx, float *col);
void nn_conv_grad_add(const nn_conv_dims *d, bool chw, const float *dw, float *w);

/* Per-channel statistics of one image's conv output y (P, C): mean[c] and
 * m2[c] = sum over pixels of (y - mean[c])^2 (two passes, in cache). */
void nn_hwc_stats(const float *y, int p, int c, double *mean, double *m2);

/* Fused BN + ReLU + 2x2 max-pool, one image: y (H,W,C) -> out (H/2,W/2,C), arg (H/2,W/2,C),
 * and ymax (H/2,W/2,C): y at the argmax (kept for backward, so that it need not read y again). */
void nn_bnrp_fwd(const float *y, int h, int w, int c, const float *sub, const float *scale,
                 const float *beta, float *out, int8_t *arg, float *ymax);
/* Per-channel sums for backward over np pooled pixels of one image: sdz[c] = sum(dout at kept
 * maxima), sdzx[c] = sum(dout * (ymax - sub[c]) * istd[c]). Overwrites sdz, sdzx. */
void nn_bnrp_sums(const float *ymax, const float *dout, const int8_t *arg, int np, int c,
                  const float *sub, const float *istd, double *sdz, double *sdzx);
/* dy (H,W,C) = c0 + c1 * y + a * (dout routed to its argmax). */
void nn_bnrp_bwd(const float *y, const float *dout, const int8_t *arg, int h, int w, int c,
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
