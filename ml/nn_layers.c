/* nn_layers.c - fast float kernels: im2col + OpenBLAS sgemm convolutions, fused
 * BatchNorm + ReLU + max-pool, dense layers, softmax cross-entropy. See nn_layers.h. */
#include "nn_layers.h"

#include "cs.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

nn_conv_dims nn_conv_dims_make(int c, int h, int w, int oc, int kh, int kw)
{
    CS_ASSERT(c > 0 && oc > 0 && kh > 0 && kw > 0 && h >= kh && w >= kw);
    nn_conv_dims d = {c, h, w, oc, kh, kw, h - kh + 1, w - kw + 1};
    return d;
}

void nn_im2col(const nn_conv_dims *d, const float *restrict x, float *restrict col)
{
    const int ow = d->ow, oh = d->oh, w = d->w, p = oh * ow;
    for (int ci = 0; ci < d->c; ci++) {
        const float *xc = x + (size_t)ci * d->h * w;
        for (int ki = 0; ki < d->kh; ki++)
            for (int kj = 0; kj < d->kw; kj++) {
                float *dst = col + (size_t)((ci * d->kh + ki) * d->kw + kj) * p;
                const float *src = xc + (size_t)ki * w + kj;
                for (int oy = 0; oy < oh; oy++)
                    memcpy(dst + (size_t)oy * ow, src + (size_t)oy * w, sizeof(float) * ow);
            }
    }
}

void nn_col2im(const nn_conv_dims *d, const float *restrict col, float *restrict dx)
{
    const int ow = d->ow, oh = d->oh, w = d->w, p = oh * ow;
    memset(dx, 0, sizeof(float) * (size_t)d->c * d->h * w);
    for (int ci = 0; ci < d->c; ci++) {
        float *xc = dx + (size_t)ci * d->h * w;
        for (int ki = 0; ki < d->kh; ki++)
            for (int kj = 0; kj < d->kw; kj++) {
                const float *src = col + (size_t)((ci * d->kh + ki) * d->kw + kj) * p;
                float *dst = xc + (size_t)ki * w + kj;
                for (int oy = 0; oy < oh; oy++) {
                    float *restrict drow = dst + (size_t)oy * w;
                    const float *restrict srow = src + (size_t)oy * ow;
                    for (int ox = 0; ox < ow; ox++)
                        drow[ox] += srow[ox];
                }
            }
    }
}

void nn_conv_fwd(const nn_conv_dims *d, const float *x, const float *w, const float *bias, float *y,
                 float *col)
{
    const int k = nn_conv_k(d), p = nn_conv_p(d);
    nn_im2col(d, x, col);
    /* y (OC, P) = w (OC, K) * col (K, P) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->oc, p, k, 1.0f, w, k, col, p, 0.0f, y,
                p);
    if (bias)
        for (int o = 0; o < d->oc; o++) {
            float *yo = y + (size_t)o * p;
            const float b = bias[o];
            for (int i = 0; i < p; i++)
                yo[i] += b;
        }
}

void nn_conv_bwd(const nn_conv_dims *d, const float *x, const float *w, const float *dy, float *dw,
                 float *dx, float *col)
{
    const int k = nn_conv_k(d), p = nn_conv_p(d);
    nn_im2col(d, x, col);
    /* dw (OC, K) += dy (OC, P) * col (K, P)^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->oc, k, p, 1.0f, dy, p, col, p, 1.0f, dw,
                k);
    if (dx) {
        /* dcol (K, P) = w (OC, K)^T * dy (OC, P), then scatter back to the image */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, p, d->oc, 1.0f, w, k, dy, p, 0.0f,
                    col, p);
        nn_col2im(d, col, dx);
    }
}

void nn_plane_stats(const float *y, int c, int p, double *mean, double *m2)
{
    enum { L = 8 };
    for (int ch = 0; ch < c; ch++) {
        const float *restrict yc = y + (size_t)ch * p;
        double acc[L] = {0};
        int i = 0;
        for (; i + L <= p; i += L)
            for (int l = 0; l < L; l++)
                acc[l] += (double)yc[i + l];
        double s = 0;
        for (; i < p; i++)
            s += (double)yc[i];
        for (int l = 0; l < L; l++)
            s += acc[l];
        const double m = s / p;
        double acc2[L] = {0};
        i = 0;
        for (; i + L <= p; i += L)
            for (int l = 0; l < L; l++) {
                const double t = (double)yc[i + l] - m;
                acc2[l] += t * t;
            }
        double s2 = 0;
        for (; i < p; i++) {
            const double t = (double)yc[i] - m;
            s2 += t * t;
        }
        for (int l = 0; l < L; l++)
            s2 += acc2[l];
        mean[ch] = m;
        m2[ch] = s2;
    }
}

void nn_bnrp_fwd(const float *y, int c, int h, int w, const float *sub, const float *scale,
                 const float *beta, float *out, int8_t *arg)
{
    const int ph = h / 2, pw = w / 2;
    for (int ch = 0; ch < c; ch++) {
        const float m = sub[ch], s = scale[ch], b = beta[ch];
        const float *yc = y + (size_t)ch * h * w;
        float *oc = out + (size_t)ch * ph * pw;
        int8_t *ac = arg + (size_t)ch * ph * pw;
        for (int py = 0; py < ph; py++) {
            const float *restrict r0 = yc + (size_t)(2 * py) * w;
            const float *restrict r1 = r0 + w;
            float *restrict orow = oc + (size_t)py * pw;
            int8_t *restrict arow = ac + (size_t)py * pw;
            for (int px = 0; px < pw; px++) {
                const float v0 = (r0[2 * px] - m) * s + b;
                const float v1 = (r0[2 * px + 1] - m) * s + b;
                const float v2 = (r1[2 * px] - m) * s + b;
                const float v3 = (r1[2 * px + 1] - m) * s + b;
                /* first maximum in PyTorch's scan order, strict comparisons */
                float best = v0;
                int k = 0;
                k = v1 > best ? 1 : k;
                best = v1 > best ? v1 : best;
                k = v2 > best ? 2 : k;
                best = v2 > best ? v2 : best;
                k = v3 > best ? 3 : k;
                best = v3 > best ? v3 : best;
                const int keep = best > 0.0f;
                orow[px] = keep ? best : 0.0f;
                arow[px] = (int8_t)(keep ? k : -1);
            }
        }
    }
}

void nn_bnrp_sums(const float *y, const float *dout, const int8_t *arg, int c, int h, int w,
                  const float *sub, const float *istd, double *sdz, double *sdzx)
{
    const int ph = h / 2, pw = w / 2;
    for (int ch = 0; ch < c; ch++) {
        const float *yc = y + (size_t)ch * h * w;
        const float *dc = dout + (size_t)ch * ph * pw;
        const int8_t *ac = arg + (size_t)ch * ph * pw;
        const double m = sub[ch];
        double s0 = 0, s1 = 0;
        for (int py = 0; py < ph; py++)
            for (int px = 0; px < pw; px++) {
                const int i = py * pw + px, k = ac[i];
                if (k < 0)
                    continue;
                const double g = dc[i];
                const double yv = yc[(size_t)(2 * py + (k >> 1)) * w + 2 * px + (k & 1)];
                s0 += g;
                s1 += g * (yv - m);
            }
        sdz[ch] = s0;
        sdzx[ch] = s1 * istd[ch];
    }
}

void nn_bnrp_bwd(const float *y, const float *dout, const int8_t *arg, int c, int h, int w,
                 const float *c0, const float *c1, const float *a, float *dy)
{
    const int ph = h / 2, pw = w / 2, p = h * w;
    for (int ch = 0; ch < c; ch++) {
        const float *restrict yc = y + (size_t)ch * p;
        float *restrict dc = dy + (size_t)ch * p;
        const float k0 = c0[ch], k1 = c1[ch], ka = a[ch];
        for (int i = 0; i < p; i++)
            dc[i] = k0 + k1 * yc[i];
        const float *gc = dout + (size_t)ch * ph * pw;
        const int8_t *ac = arg + (size_t)ch * ph * pw;
        for (int py = 0; py < ph; py++)
            for (int px = 0; px < pw; px++) {
                const int i = py * pw + px, k = ac[i];
                if (k >= 0)
                    dc[(size_t)(2 * py + (k >> 1)) * w + 2 * px + (k & 1)] += ka * gc[i];
            }
    }
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
