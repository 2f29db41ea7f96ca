/* nn_layers.c - fast float kernels: im2col + OpenBLAS sgemm convolutions, fused
 * BatchNorm + ReLU + max-pool, dense layers, softmax cross-entropy. See nn_layers.h. */
#include "nn_layers.h"

#include "cs.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

nn_conv_dims nn_conv_dims_make(int c, int h, int w, int oc, int kh, int kw)
{
    CS_ASSERT(c > 0 && oc > 0 && kh > 0 && kw > 0 && h >= kh && w >= kw);
    nn_conv_dims d = {c, h, w, oc, kh, kw, h - kh + 1, w - kw + 1, h - kh + 1};
    return d;
}

void nn_chw_to_hwc(const float *restrict x, int c, int h, int w, float *restrict out)
{
    const size_t p = (size_t)h * w;
    for (size_t i = 0; i < p; i++)
        for (int ch = 0; ch < c; ch++)
            out[i * c + ch] = x[ch * p + i];
}

void nn_hwc_to_chw(const float *restrict x, int h, int w, int c, float *restrict out)
{
    const size_t p = (size_t)h * w;
    for (int ch = 0; ch < c; ch++)
        for (size_t i = 0; i < p; i++)
            out[ch * p + i] = x[i * c + ch];
}

void nn_im2col(const nn_conv_dims *d, const float *restrict x, int oy0, int oy1,
               float *restrict col)
{
    const int ow = d->ow, w = d->w, pb = (oy1 - oy0) * ow;
    for (int ci = 0; ci < d->c; ci++) {
        const float *xc = x + (size_t)ci * d->h * w;
        for (int ki = 0; ki < d->kh; ki++)
            for (int kj = 0; kj < d->kw; kj++) {
                float *dst = col + (size_t)((ci * d->kh + ki) * d->kw + kj) * pb;
                const float *src = xc + (size_t)(oy0 + ki) * w + kj;
                for (int oy = 0; oy < oy1 - oy0; oy++) {
                    float *restrict drow = dst + (size_t)oy * ow;
                    const float *restrict srow = src + (size_t)oy * w;
                    for (int ox = 0; ox < ow; ox++)
                        drow[ox] = srow[ox];
                }
            }
    }
}

void nn_im2row(const nn_conv_dims *d, const float *restrict x, int oy0, int oy1,
               float *restrict row)
{
    const int c = d->c, run = d->kw * c, k = nn_conv_k(d);
    for (int oy = oy0; oy < oy1; oy++)
        for (int ox = 0; ox < d->ow; ox++) {
            float *r = row + (size_t)((oy - oy0) * d->ow + ox) * k;
            for (int ki = 0; ki < d->kh; ki++) {
                float *restrict dst = r + (size_t)ki * run;
                const float *restrict src = x + ((size_t)(oy + ki) * d->w + ox) * c;
                for (int j = 0; j < run; j++)
                    dst[j] = src[j];
            }
        }
}

void nn_row2im_add(const nn_conv_dims *d, const float *restrict row, int oy0, int oy1,
                   float *restrict dx)
{
    const int c = d->c, run = d->kw * c, k = nn_conv_k(d);
    for (int oy = oy0; oy < oy1; oy++)
        for (int ox = 0; ox < d->ow; ox++) {
            const float *r = row + (size_t)((oy - oy0) * d->ow + ox) * k;
            for (int ki = 0; ki < d->kh; ki++) {
                const float *restrict src = r + (size_t)ki * run;
                float *restrict dst = dx + ((size_t)(oy + ki) * d->w + ox) * c;
                for (int j = 0; j < run; j++)
                    dst[j] += src[j];
            }
        }
}

void nn_conv_weight_to_hwc(const nn_conv_dims *d, const float *restrict w, float *restrict w_hwc)
{
    for (int o = 0; o < d->oc; o++)
        for (int ci = 0; ci < d->c; ci++)
            for (int ki = 0; ki < d->kh; ki++)
                for (int kj = 0; kj < d->kw; kj++)
                    w_hwc[((size_t)(o * d->kh + ki) * d->kw + kj) * d->c + ci] =
                        w[((size_t)(o * d->c + ci) * d->kh + ki) * d->kw + kj];
}

void nn_conv_weight_add_from_hwc(const nn_conv_dims *d, const float *restrict w_hwc,
                                 float *restrict w)
{
    for (int o = 0; o < d->oc; o++)
        for (int ci = 0; ci < d->c; ci++)
            for (int ki = 0; ki < d->kh; ki++)
                for (int kj = 0; kj < d->kw; kj++)
                    w[((size_t)(o * d->c + ci) * d->kh + ki) * d->kw + kj] +=
                        w_hwc[((size_t)(o * d->kh + ki) * d->kw + kj) * d->c + ci];
}

size_t nn_conv_scratch(const nn_conv_dims *d)
{
    return (size_t)nn_conv_k(d) * d->chunk_rows * d->ow;
}

static int chunk_rows(const nn_conv_dims *d)
{
    CS_ASSERT(d->chunk_rows >= 1 && d->chunk_rows <= d->oh);
    return d->chunk_rows;
}

void nn_conv_chw_fwd(const nn_conv_dims *d, const float *x, const float *w, float *y, float *col)
{
    const int k = nn_conv_k(d), step = chunk_rows(d);
    for (int oy0 = 0; oy0 < d->oh; oy0 += step) {
        const int oy1 = oy0 + step < d->oh ? oy0 + step : d->oh, pb = (oy1 - oy0) * d->ow;
        nn_im2col(d, x, oy0, oy1, col);
        /* y block (Pb, OC) = col (K, Pb)^T * w (OC, K)^T */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, pb, d->oc, k, 1.0f, col, pb, w, k, 0.0f,
                    y + (size_t)oy0 * d->ow * d->oc, d->oc);
    }
}

void nn_conv_chw_bwd(const nn_conv_dims *d, const float *x, const float *dy, float *dw_t,
                     float *col)
{
    const int k = nn_conv_k(d), step = chunk_rows(d);
    for (int oy0 = 0; oy0 < d->oh; oy0 += step) {
        const int oy1 = oy0 + step < d->oh ? oy0 + step : d->oh, pb = (oy1 - oy0) * d->ow;
        nn_im2col(d, x, oy0, oy1, col);
        /* dw_t (K, OC) += col (K, Pb) * dy block (Pb, OC) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, d->oc, pb, 1.0f, col, pb,
                    dy + (size_t)oy0 * d->ow * d->oc, d->oc, 1.0f, dw_t, d->oc);
    }
}

void nn_conv_hwc_fwd(const nn_conv_dims *d, const float *x, const float *w_hwc, float *y,
                     float *row)
{
    const int k = nn_conv_k(d), step = chunk_rows(d);
    for (int oy0 = 0; oy0 < d->oh; oy0 += step) {
        const int oy1 = oy0 + step < d->oh ? oy0 + step : d->oh, pb = (oy1 - oy0) * d->ow;
        nn_im2row(d, x, oy0, oy1, row);
        /* y block (Pb, OC) = row (Pb, K) * w_hwc (OC, K)^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, pb, d->oc, k, 1.0f, row, k, w_hwc, k,
                    0.0f, y + (size_t)oy0 * d->ow * d->oc, d->oc);
    }
}

void nn_conv_hwc_bwd(const nn_conv_dims *d, const float *x, const float *w_hwc, const float *dy,
                     float *dw_hwc, float *dx, float *row)
{
    const int k = nn_conv_k(d), step = chunk_rows(d);
    if (dx)
        memset(dx, 0, sizeof(float) * (size_t)d->h * d->w * d->c);
    for (int oy0 = 0; oy0 < d->oh; oy0 += step) {
        const int oy1 = oy0 + step < d->oh ? oy0 + step : d->oh, pb = (oy1 - oy0) * d->ow;
        const float *dyb = dy + (size_t)oy0 * d->ow * d->oc;
        nn_im2row(d, x, oy0, oy1, row);
        /* dw_hwc (OC, K) += dy block (Pb, OC)^T * row (Pb, K) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d->oc, k, pb, 1.0f, dyb, d->oc, row, k,
                    1.0f, dw_hwc, k);
        if (dx) {
            /* drow (Pb, K) = dy block (Pb, OC) * w_hwc (OC, K), scattered back to the image */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, pb, k, d->oc, 1.0f, dyb, d->oc,
                        w_hwc, k, 0.0f, row, k);
            nn_row2im_add(d, row, oy0, oy1, dx);
        }
    }
}

/* ---- the model's convolutions: direct kernels or GEMM ---- */

static pthread_once_t g_direct_once = PTHREAD_ONCE_INIT;
static bool g_direct_cpu; /* the CPU runs the direct kernels */
static bool g_direct = true;

static void direct_detect(void)
{
    g_direct_cpu = nn_conv512_available();
}

bool nn_conv_set_direct(bool on)
{
    pthread_once(&g_direct_once, direct_detect);
    g_direct = on;
    return on && g_direct_cpu;
}

bool nn_conv_direct(const nn_conv_dims *d, bool chw)
{
    pthread_once(&g_direct_once, direct_detect);
    return g_direct && g_direct_cpu && nn_conv512_fits(d, chw);
}

void nn_conv_pack(const nn_conv_dims *d, bool chw, const float *w, float *pack)
{
    if (nn_conv_direct(d, chw))
        nn_conv512_pack(d, chw, w, pack);
    else if (chw)
        memcpy(pack, w, sizeof(float) * (size_t)d->oc * nn_conv_k(d));
    else
        nn_conv_weight_to_hwc(d, w, pack);
}

void nn_conv_forward(const nn_conv_dims *d, bool chw, const float *x, const float *pack, float *y,
                     float *col)
{
    if (nn_conv_direct(d, chw))
        nn_conv512_fwd(d, chw, x, pack, y);
    else if (chw)
        nn_conv_chw_fwd(d, x, pack, y, col);
    else
        nn_conv_hwc_fwd(d, x, pack, y, col);
}

void nn_conv_backward(const nn_conv_dims *d, bool chw, const float *x, const float *pack,
                      const float *dy, float *dw, float *dx, float *col)
{
    CS_ASSERT(!chw || !dx);
    if (nn_conv_direct(d, chw))
        nn_conv512_bwd(d, chw, x, pack, dy, dw, dx);
    else if (chw)
        nn_conv_chw_bwd(d, x, dy, dw, col);
    else
        nn_conv_hwc_bwd(d, x, pack, dy, dw, dx, col);
}

void nn_conv_grad_add(const nn_conv_dims *d, bool chw, const float *dw, float *w)
{
    if (chw || nn_conv_direct(d, chw))
        nn_conv512_grad_add(d, chw, dw, w); /* (K, OC) */
    else
        nn_conv_weight_add_from_hwc(d, dw, w);
}

void nn_hwc_stats(const float *restrict y, int p, int c, double *restrict mean, double *restrict m2)
{
    /* One pass over deviations from the first pixel (a sample of the distribution, so the
     * shifted sums do not cancel badly), accumulated in double. */
    for (int ch = 0; ch < c; ch++)
        mean[ch] = m2[ch] = 0.0;
    for (int i = 1; i < p; i++) {
        const float *restrict yi = y + (size_t)i * c;
        for (int ch = 0; ch < c; ch++) {
            const double t = (double)yi[ch] - (double)y[ch];
            mean[ch] += t;
            m2[ch] += t * t;
        }
    }
    for (int ch = 0; ch < c; ch++) {
        const double s = mean[ch];
        mean[ch] = (double)y[ch] + s / p;
        m2[ch] = fmax(m2[ch] - s * s / p, 0.0);
    }
}

/* One pooling window across the channels: q0..q3 are its four pixels (row-major order). The
 * first maximum in PyTorch's scan order with strict comparisons = this pairwise tournament (ties
 * keep the earlier element at every stage). isgreater is a quiet compare, so the compiler may
 * if-convert and vectorise. */
static inline void bnrp_window(const float *restrict q0, const float *restrict q1,
                               const float *restrict q2, const float *restrict q3,
                               const float *restrict sub, const float *restrict scale,
                               const float *restrict beta, float *restrict o, int8_t *restrict a,
                               float *restrict ym, int c)
{
    for (int ch = 0; ch < c; ch++) {
        const float m = sub[ch], s = scale[ch], b = beta[ch];
        const float y0 = q0[ch], y1 = q1[ch], y2 = q2[ch], y3 = q3[ch];
        const float v0 = (y0 - m) * s + b, v1 = (y1 - m) * s + b;
        const float v2 = (y2 - m) * s + b, v3 = (y3 - m) * s + b;
        const int u = isgreater(v1, v0), l = isgreater(v3, v2);
        const float m01 = u ? v1 : v0, m23 = l ? v3 : v2;
        const float y01 = u ? y1 : y0, y23 = l ? y3 : y2;
        const int lower = isgreater(m23, m01);
        const float best = lower ? m23 : m01;
        const int k = lower ? 2 + l : u;
        const int keep = isgreater(best, 0.0f);
        o[ch] = keep ? best : 0.0f;
        a[ch] = (int8_t)(keep ? k : -1);
        ym[ch] = lower ? y23 : y01;
    }
}

void nn_bnrp_fwd(const float *y, int h, int w, int c, const float *sub, const float *scale,
                 const float *beta, float *out, int8_t *arg, float *ymax)
{
    const int ph = h / 2, pw = w / 2;
    for (int py = 0; py < ph; py++)
        for (int px = 0; px < pw; px++) {
            const float *q0 = y + ((size_t)(2 * py) * w + 2 * px) * c;
            const size_t at = ((size_t)py * pw + px) * c;
            bnrp_window(q0, q0 + c, q0 + (size_t)w * c, q0 + (size_t)w * c + c, sub, scale, beta,
                        out + at, arg + at, ymax + at, c);
        }
}

void nn_bnrp_sums(const float *restrict ymax, const float *restrict dout,
                  const int8_t *restrict arg, int np, int c, const float *restrict sub,
                  const float *restrict istd, double *restrict sdz, double *restrict sdzx)
{
    for (int ch = 0; ch < c; ch++)
        sdz[ch] = sdzx[ch] = 0.0;
    for (int i = 0; i < np; i++) {
        const size_t at = (size_t)i * c;
        for (int ch = 0; ch < c; ch++) {
            const float gm = dout[at + ch] * (float)(arg[at + ch] >= 0); /* a multiply keeps it
                                                                            vectorised */
            sdz[ch] += (double)gm;
            sdzx[ch] += (double)(gm * (ymax[at + ch] - sub[ch]));
        }
    }
    for (int ch = 0; ch < c; ch++)
        sdzx[ch] *= istd[ch];
}

/* dy of n pixels that no pooling window covers (floor mode): c0 + c1 * y. */
static void bnrp_bwd_plain(const float *y, int n, int c, const float *restrict c0,
                           const float *restrict c1, float *dy)
{
    for (int i = 0; i < n; i++) {
        const float *restrict yi = y + (size_t)i * c;
        float *restrict di = dy + (size_t)i * c;
        for (int ch = 0; ch < c; ch++)
            di[ch] = c0[ch] + c1[ch] * yi[ch];
    }
}

void nn_bnrp_bwd(const float *y, const float *dout, const int8_t *arg, int h, int w, int c,
                 const float *restrict c0, const float *restrict c1, const float *restrict a,
                 float *dy)
{
    const int ph = h / 2, pw = w / 2;
    for (int py = 0; py < ph; py++) {
        for (int px = 0; px < pw; px++) {
            const size_t at = ((size_t)py * pw + px) * c;
            const float *restrict g = dout + at;
            const int8_t *restrict ar = arg + at;
            for (int q = 0; q < 4; q++) {
                const size_t pos = ((size_t)(2 * py + (q >> 1)) * w + 2 * px + (q & 1)) * c;
                const float *restrict yq = y + pos;
                float *restrict dq = dy + pos;
                for (int ch = 0; ch < c; ch++)
                    dq[ch] = c0[ch] + c1[ch] * yq[ch] + (ar[ch] == q ? a[ch] * g[ch] : 0.0f);
            }
        }
        if (w & 1) /* the last column of both rows */
            for (int r = 0; r < 2; r++) {
                const size_t pos = ((size_t)(2 * py + r) * w + w - 1) * c;
                bnrp_bwd_plain(y + pos, 1, c, c0, c1, dy + pos);
            }
    }
    if (h & 1) /* the last row */
        bnrp_bwd_plain(y + (size_t)(h - 1) * w * c, w, c, c0, c1, dy + (size_t)(h - 1) * w * c);
}

void nn_linear_fwd(int n, int in, int out, const float *x, const float *w, const float *b, float *y,
                   int relu)
{
    /* y (n, out) = x (n, in) * w (out, in)^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in, 0.0f, y,
                out);
    for (int i = 0; i < n; i++) {
        float *yi = y + (size_t)i * out;
        for (int o = 0; o < out; o++) {
            const float v = yi[o] + b[o];
            yi[o] = relu && !(v > 0.0f) ? 0.0f : v;
        }
    }
}

void nn_linear_bwd(int n, int in, int out, const float *x, const float *w, const float *y_relu,
                   float *dy, float *dw, float *db, float *dx)
{
    if (y_relu)
        for (size_t i = 0; i < (size_t)n * out; i++)
            if (!(y_relu[i] > 0.0f))
                dy[i] = 0.0f;
    /* dw (out, in) = dy (n, out)^T * x (n, in) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in, 0.0f, dw,
                in);
    for (int o = 0; o < out; o++) {
        double s = 0;
        for (int i = 0; i < n; i++)
            s += dy[(size_t)i * out + o];
        db[o] = (float)s;
    }
    if (dx) /* dx (n, in) = dy (n, out) * w (out, in) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, w, in,
                    0.0f, dx, in);
}

double nn_softmax_ce(int n, int k, const float *logits, const uint8_t *labels, float *dlogits,
                     int *correct)
{
    double total = 0;
    int right = 0;
    for (int i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * k;
        int best = 0;
        for (int j = 1; j < k; j++)
            if (l[j] > l[best])
                best = j;
        const double mx = l[best];
        double se = 0;
        for (int j = 0; j < k; j++)
            se += exp((double)l[j] - mx);
        const double lse = mx + log(se);
        CS_ASSERT(labels[i] < k);
        total += lse - (double)l[labels[i]];
        right += best == labels[i];
        if (dlogits) {
            float *d = dlogits + (size_t)i * k;
            for (int j = 0; j < k; j++) {
                const double pj = exp((double)l[j] - lse);
                d[j] = (float)((pj - (j == labels[i] ? 1.0 : 0.0)) / n);
            }
        }
    }
    if (correct)
        *correct = right;
    return n > 0 ? total / n : 0.0;
}
