/* nn_ref.c - naive double-precision reference kernels and the whole network (test oracle). */
#include "nn_ref.h"

#include "cs.h"
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void nn_ref_conv2d_fwd(int n, int c, int h, int w, int oc, int kh, int kw, const double *x,
                       const double *wt, const double *b, double *y)
{
    const int oh = h - kh + 1, ow = w - kw + 1;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < oc; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double s = b ? b[o] : 0.0;
                    for (int ci = 0; ci < c; ci++)
                        for (int ki = 0; ki < kh; ki++)
                            for (int kj = 0; kj < kw; kj++)
                                s += wt[((size_t)(o * c + ci) * kh + ki) * kw + kj] *
                                     x[((size_t)(i * c + ci) * h + oy + ki) * w + ox + kj];
                    y[((size_t)(i * oc + o) * oh + oy) * ow + ox] = s;
                }
}

void nn_ref_conv2d_bwd(int n, int c, int h, int w, int oc, int kh, int kw, const double *x,
                       const double *wt, const double *dy, double *dx, double *dw, double *db)
{
    const int oh = h - kh + 1, ow = w - kw + 1;
    memset(dw, 0, sizeof(double) * (size_t)oc * c * kh * kw);
    if (db)
        memset(db, 0, sizeof(double) * (size_t)oc);
    if (dx)
        memset(dx, 0, sizeof(double) * (size_t)n * c * h * w);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < oc; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    const double g = dy[((size_t)(i * oc + o) * oh + oy) * ow + ox];
                    if (db)
                        db[o] += g;
                    for (int ci = 0; ci < c; ci++)
                        for (int ki = 0; ki < kh; ki++)
                            for (int kj = 0; kj < kw; kj++) {
                                const size_t wi = ((size_t)(o * c + ci) * kh + ki) * kw + kj;
                                const size_t xi =
                                    ((size_t)(i * c + ci) * h + oy + ki) * w + ox + kj;
                                dw[wi] += g * x[xi];
                                if (dx)
                                    dx[xi] += g * wt[wi];
                            }
                }
}

static double bn_at(const double *x, int c, int hw, int i, int ch, int j)
{
    return x[((size_t)i * c + ch) * hw + j];
}

static void bn_moments(int n, int c, int hw, const double *x, int ch, double *mean, double *var)
{
    const double m = (double)n * hw;
    double s = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < hw; j++)
            s += bn_at(x, c, hw, i, ch, j);
    const double mu = s / m;
    double v = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < hw; j++) {
            const double d = bn_at(x, c, hw, i, ch, j) - mu;
            v += d * d;
        }
    *mean = mu;
    *var = v / m;
}

void nn_ref_bn_train_fwd(int n, int c, int hw, const double *x, const double *gamma,
                         const double *beta, double eps, double *y, double *mean, double *var)
{
    for (int ch = 0; ch < c; ch++) {
        double mu, v;
        bn_moments(n, c, hw, x, ch, &mu, &v);
        const double is = 1.0 / sqrt(v + eps);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                const size_t k = ((size_t)i * c + ch) * hw + j;
                y[k] = (x[k] - mu) * is * gamma[ch] + beta[ch];
            }
        if (mean)
            mean[ch] = mu;
        if (var)
            var[ch] = v;
    }
}

void nn_ref_bn_train_bwd(int n, int c, int hw, const double *x, const double *gamma, double eps,
                         const double *dy, double *dx, double *dgamma, double *dbeta)
{
    const double m = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double mu, v;
        bn_moments(n, c, hw, x, ch, &mu, &v);
        const double is = 1.0 / sqrt(v + eps);
        /* dxhat = dy * gamma; dx = is/m * (m*dxhat - sum(dxhat) - xhat * sum(dxhat*xhat)) */
        double sd = 0, sdx = 0, sdy = 0, sdyx = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                const size_t k = ((size_t)i * c + ch) * hw + j;
                const double xh = (x[k] - mu) * is, dxh = dy[k] * gamma[ch];
                sd += dxh;
                sdx += dxh * xh;
                sdy += dy[k];
                sdyx += dy[k] * xh;
            }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                const size_t k = ((size_t)i * c + ch) * hw + j;
                const double xh = (x[k] - mu) * is, dxh = dy[k] * gamma[ch];
                dx[k] = is / m * (m * dxh - sd - xh * sdx);
            }
        dgamma[ch] = sdyx;
        dbeta[ch] = sdy;
    }
}

void nn_ref_bn_eval_fwd(int n, int c, int hw, const double *x, const double *gamma,
                        const double *beta, const double *rmean, const double *rvar, double eps,
                        double *y)
{
    for (int ch = 0; ch < c; ch++) {
        const double is = 1.0 / sqrt(rvar[ch] + eps);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                const size_t k = ((size_t)i * c + ch) * hw + j;
                y[k] = (x[k] - rmean[ch]) * is * gamma[ch] + beta[ch];
            }
    }
}

void nn_ref_bn_eval_bwd(int n, int c, int hw, const double *x, const double *gamma,
                        const double *rmean, const double *rvar, double eps, const double *dy,
                        double *dx, double *dgamma, double *dbeta)
{
    for (int ch = 0; ch < c; ch++) {
        const double is = 1.0 / sqrt(rvar[ch] + eps);
        double sdy = 0, sdyx = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                const size_t k = ((size_t)i * c + ch) * hw + j;
                sdy += dy[k];
                sdyx += dy[k] * (x[k] - rmean[ch]) * is;
                dx[k] = dy[k] * gamma[ch] * is;
            }
        dgamma[ch] = sdyx;
        dbeta[ch] = sdy;
    }
}

void nn_ref_relu_fwd(size_t n, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : 0.0;
}

void nn_ref_relu_bwd(size_t n, const double *x, const double *dy, double *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0 ? dy[i] : 0.0;
}

/* Index (in the plane) of the first maximum of window (py, px). */
static size_t pool_argmax(const double *plane, int w, int py, int px)
{
    size_t best = (size_t)(2 * py) * w + 2 * px;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            const size_t k = (size_t)(2 * py + dy) * w + 2 * px + dx;
            if (plane[k] > plane[best])
                best = k;
        }
    return best;
}

void nn_ref_maxpool2_fwd(int n, int c, int h, int w, const double *x, double *y)
{
    const int ph = h / 2, pw = w / 2;
    for (size_t pl = 0; pl < (size_t)n * c; pl++) {
        const double *xp = x + pl * h * w;
        for (int py = 0; py < ph; py++)
            for (int px = 0; px < pw; px++)
                y[(pl * ph + py) * pw + px] = xp[pool_argmax(xp, w, py, px)];
    }
}

void nn_ref_maxpool2_bwd(int n, int c, int h, int w, const double *x, const double *dy, double *dx)
{
    const int ph = h / 2, pw = w / 2;
    memset(dx, 0, sizeof(double) * (size_t)n * c * h * w);
    for (size_t pl = 0; pl < (size_t)n * c; pl++) {
        const double *xp = x + pl * h * w;
        for (int py = 0; py < ph; py++)
            for (int px = 0; px < pw; px++)
                dx[pl * h * w + pool_argmax(xp, w, py, px)] += dy[(pl * ph + py) * pw + px];
    }
}

void nn_ref_linear_fwd(int n, int in, int out, const double *x, const double *w, const double *b,
                       double *y)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int j = 0; j < in; j++)
                s += x[(size_t)i * in + j] * w[(size_t)o * in + j];
            y[(size_t)i * out + o] = s;
        }
}

void nn_ref_linear_bwd(int n, int in, int out, const double *x, const double *w, const double *dy,
                       double *dx, double *dw, double *db)
{
    memset(dw, 0, sizeof(double) * (size_t)out * in);
    memset(db, 0, sizeof(double) * (size_t)out);
    if (dx)
        memset(dx, 0, sizeof(double) * (size_t)n * in);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            const double g = dy[(size_t)i * out + o];
            db[o] += g;
            for (int j = 0; j < in; j++) {
                dw[(size_t)o * in + j] += g * x[(size_t)i * in + j];
                if (dx)
                    dx[(size_t)i * in + j] += g * w[(size_t)o * in + j];
            }
        }
}

double nn_ref_softmax_ce(int n, int k, const double *logits, const uint8_t *labels, double *dlogits)
{
    double total = 0;
    for (int i = 0; i < n; i++) {
        const double *l = logits + (size_t)i * k;
        double mx = l[0];
        for (int j = 1; j < k; j++)
            mx = l[j] > mx ? l[j] : mx;
        double se = 0;
        for (int j = 0; j < k; j++)
            se += exp(l[j] - mx);
        const double lse = mx + log(se);
        total += lse - l[labels[i]];
        if (dlogits)
            for (int j = 0; j < k; j++)
                dlogits[(size_t)i * k + j] = (exp(l[j] - lse) - (j == labels[i])) / n;
    }
    return total / n;
}

/* ---------------------------------------------------------------- the whole network */

typedef struct ref_block {
    const char *conv_w, *conv_b, *bn_w, *bn_b, *rm, *rv;
    int c, h, oc, k;
} ref_block;

static const ref_block ref_blocks[3] = {
    {"conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
     3, 64, 32, 5},
    {"conv2.weight", "conv2.bias", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var",
     32, 30, 64, 5},
    {"conv3.weight", "conv3.bias", "bn3.weight", "bn3.bias", "bn3.running_mean", "bn3.running_var",
     64, 13, 96, 3},
};

static size_t off(const char *name)
{
    const nn_view *v = nn_view_find(name);
    CS_ASSERT(v && v->store != NN_STORE_TRACKED);
    return v->offset;
}

int nn_ref_net(const double *state, const double *x, const uint8_t *labels, int n, bool training,
               double *loss, double *logits, double *grads, double *buffers)
{
    CS_ASSERT(n >= 1);
    const double eps = 1e-5, mom = 0.1;
    /* per block: input, conv out, bn out, relu out, pool out; sizes per image */
    size_t in_sz[4], conv_sz[3];
    for (int l = 0; l < 3; l++) {
        const ref_block *b = &ref_blocks[l];
        const int oh = b->h - b->k + 1;
        in_sz[l] = (size_t)b->c * b->h * b->h;
        conv_sz[l] = (size_t)b->oc * oh * oh;
        in_sz[l + 1] = (size_t)b->oc * (oh / 2) * (oh / 2);
    }
    const size_t N = (size_t)n;
    size_t total = 0;
    for (int l = 0; l < 3; l++)
        total += 3 * conv_sz[l] * N + in_sz[l + 1] * N;
    total += 6 * 128 * N + 2 * 10 * N + 2 * in_sz[1] * N + 3 * conv_sz[0] * N;
    double *mem = calloc(total, sizeof(double));
    if (!mem)
        return CS_ENOMEM;
    double *cur = mem;
#define TAKE(cnt) (cur += (cnt), cur - (cnt))
    double *yc[3], *yb[3], *yr[3], *yp[3];
    for (int l = 0; l < 3; l++) {
        yc[l] = TAKE(conv_sz[l] * N);
        yb[l] = TAKE(conv_sz[l] * N);
        yr[l] = TAKE(conv_sz[l] * N);
        yp[l] = TAKE(in_sz[l + 1] * N);
    }
    double *f1 = TAKE(128 * N), *r1 = TAKE(128 * N), *f2 = TAKE(128 * N), *r2 = TAKE(128 * N);
    double *lg = TAKE(10 * N), *dlg = TAKE(10 * N);
    double *d1 = TAKE(128 * N), *d2 = TAKE(128 * N);
    /* gradients of pooled outputs: block 1's is the largest */
    double *dflat = TAKE(in_sz[1] * N), *dtmp = TAKE(in_sz[1] * N);
    double *ga = TAKE(conv_sz[0] * N), *gb = TAKE(conv_sz[0] * N), *gc = TAKE(conv_sz[0] * N);
    CS_ASSERT((size_t)(cur - mem) <= total);
#undef TAKE

    const double *in = x;
    for (int l = 0; l < 3; l++) {
        const ref_block *b = &ref_blocks[l];
        const int oh = b->h - b->k + 1;
        nn_ref_conv2d_fwd(n, b->c, b->h, b->h, b->oc, b->k, b->k, in, state + off(b->conv_w),
                          state + off(b->conv_b), yc[l]);
        if (training) {
            double mean[96], var[96];
            nn_ref_bn_train_fwd(n, b->oc, oh * oh, yc[l], state + off(b->bn_w),
                                state + off(b->bn_b), eps, yb[l], mean, var);
            if (buffers) {
                const double cnt = (double)n * oh * oh;
                for (int c = 0; c < b->oc; c++) {
                    buffers[off(b->rm) - NN_PARAMS + c] =
                        (1 - mom) * state[off(b->rm) + c] + mom * mean[c];
                    buffers[off(b->rv) - NN_PARAMS + c] =
                        (1 - mom) * state[off(b->rv) + c] + mom * var[c] * cnt / (cnt - 1);
                }
            }
        } else {
            nn_ref_bn_eval_fwd(n, b->oc, oh * oh, yc[l], state + off(b->bn_w), state + off(b->bn_b),
                               state + off(b->rm), state + off(b->rv), eps, yb[l]);
            if (buffers)
                for (int c = 0; c < b->oc; c++) {
                    buffers[off(b->rm) - NN_PARAMS + c] = state[off(b->rm) + c];
                    buffers[off(b->rv) - NN_PARAMS + c] = state[off(b->rv) + c];
                }
        }
        nn_ref_relu_fwd(conv_sz[l] * N, yb[l], yr[l]);
        nn_ref_maxpool2_fwd(n, b->oc, oh, oh, yr[l], yp[l]);
        in = yp[l];
    }
    nn_ref_linear_fwd(n, 2400, 128, yp[2], state + off("fc1.weight"), state + off("fc1.bias"), f1);
    nn_ref_relu_fwd(128 * N, f1, r1);
    nn_ref_linear_fwd(n, 128, 128, r1, state + off("fc2.weight"), state + off("fc2.bias"), f2);
    nn_ref_relu_fwd(128 * N, f2, r2);
    nn_ref_linear_fwd(n, 128, 10, r2, state + off("fc3.weight"), state + off("fc3.bias"), lg);
    *loss = nn_ref_softmax_ce(n, 10, lg, labels, dlg);
    if (logits)
        memcpy(logits, lg, sizeof(double) * 10 * N);

    if (grads) {
        double *g = grads;
        nn_ref_linear_bwd(n, 128, 10, r2, state + off("fc3.weight"), dlg, d2, g + off("fc3.weight"),
                          g + off("fc3.bias"));
        nn_ref_relu_bwd(128 * N, f2, d2, d2);
        nn_ref_linear_bwd(n, 128, 128, r1, state + off("fc2.weight"), d2, d1, g + off("fc2.weight"),
                          g + off("fc2.bias"));
        nn_ref_relu_bwd(128 * N, f1, d1, d1);
        nn_ref_linear_bwd(n, 2400, 128, yp[2], state + off("fc1.weight"), d1, dflat,
                          g + off("fc1.weight"), g + off("fc1.bias"));
        const double *dpool = dflat;
        for (int l = 2; l >= 0; l--) {
            const ref_block *b = &ref_blocks[l];
            const int oh = b->h - b->k + 1;
            const size_t cs = conv_sz[l] * N;
            nn_ref_maxpool2_bwd(n, b->oc, oh, oh, yr[l], dpool, ga);
            nn_ref_relu_bwd(cs, yb[l], ga, gb);
            if (training)
                nn_ref_bn_train_bwd(n, b->oc, oh * oh, yc[l], state + off(b->bn_w), eps, gb, gc,
                                    g + off(b->bn_w), g + off(b->bn_b));
            else
                nn_ref_bn_eval_bwd(n, b->oc, oh * oh, yc[l], state + off(b->bn_w),
                                   state + off(b->rm), state + off(b->rv), eps, gb, gc,
                                   g + off(b->bn_w), g + off(b->bn_b));
            const double *inp = l == 0 ? x : yp[l - 1];
            double *dx = l == 0 ? NULL : dtmp;
            nn_ref_conv2d_bwd(n, b->c, b->h, b->h, b->oc, b->k, b->k, inp, state + off(b->conv_w),
                              gc, dx, g + off(b->conv_w), g + off(b->conv_b));
            if (l > 0) {
                /* dtmp holds d(pooled output of block l-1); keep it for the next block */
                memcpy(dflat, dtmp, sizeof(double) * in_sz[l] * N);
                dpool = dflat;
            }
        }
    }
    free(mem);
    return 0;
}
