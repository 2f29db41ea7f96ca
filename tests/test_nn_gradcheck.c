/* test_nn_gradcheck.c - gradients against central differences.
 *
 * 1. Every reference layer (nn_ref.h, double) on small, deliberately non-square shapes: the
 *    analytic backward against central differences of L = sum(r * layer(x)) with random r.
 * 2. The fast float kernels (nn_layers.h) against those references on the same small shapes.
 * 3. The whole network: the double reference path against central differences on sampled
 *    parameters, and the fast float model (nn_model_forward_backward) against the double
 *    reference path on every parameter, in training and in evaluation mode.
 */
#include "cs_rng.h"
#include "nn.h"
#include "nn_layers.h"
#include "nn_ref.h"
#include "nn_test_util.h"
#include "t.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

static cs_rng rng;

static double urand(double lo, double hi)
{
    return lo + (hi - lo) * cs_rng_uniform(&rng);
}

static double *dalloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof(double));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static float *falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static void fill(double *v, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        v[i] = urand(lo, hi);
}

static double maxabs(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* ------------------------------------------------------------ generic layer gradcheck */

/* A layer under test: out = f(in...) for the tensor being varied. */
typedef struct probe {
    void (*fwd)(struct probe *p, double *out); /* uses p->var */
    double *var;                               /* the tensor varied */
    size_t var_n;
    size_t out_n;
    const double *r; /* loss weights, out_n */
    void *ctx;
} probe;

/* Compares analytic d(sum(r*out))/d var (grad, var_n) with central differences. */
static double check_probe(probe *p, const double *grad, const char *what)
{
    double *out = dalloc(p->out_n);
    const double h = 1e-6;
    double worst = 0;
    /* Relative to the gradient's scale with a floor of 1: in double, the difference quotient's
     * rounding error is ~DBL_EPSILON * |L| / h (1e-10 for the O(1) losses here) whatever the
     * gradient's size, its truncation error O(h^2). */
    const double scale = maxabs(grad, p->var_n) > 1 ? maxabs(grad, p->var_n) : 1;
    for (size_t i = 0; i < p->var_n; i++) {
        const double v = p->var[i];
        p->var[i] = v + h;
        p->fwd(p, out);
        const double lp = dot(p->r, out, p->out_n);
        p->var[i] = v - h;
        p->fwd(p, out);
        const double lm = dot(p->r, out, p->out_n);
        p->var[i] = v;
        const double num = (lp - lm) / (2 * h);
        const double e = fabs(num - grad[i]) / scale;
        worst = e > worst ? e : worst;
    }
    free(out);
    if (!(worst <= 1e-7))
        fprintf(stderr, "%s: worst relative error %.3g\n", what, worst);
    T_TRUE(worst <= 1e-7);
    return worst;
}

/* conv */
typedef struct conv_ctx {
    int n, c, h, w, oc, kh, kw;
    double *x, *wt, *b;
} conv_ctx;

static void conv_fwd_probe(probe *p, double *out)
{
    conv_ctx *c = p->ctx;
    nn_ref_conv2d_fwd(c->n, c->c, c->h, c->w, c->oc, c->kh, c->kw, c->x, c->wt, c->b, out);
}

static void test_conv(void)
{
    conv_ctx c = {2, 3, 7, 6, 4, 3, 2, NULL, NULL, NULL};
    const int oh = c.h - c.kh + 1, ow = c.w - c.kw + 1;
    const size_t nx = (size_t)c.n * c.c * c.h * c.w, nw = (size_t)c.oc * c.c * c.kh * c.kw;
    const size_t ny = (size_t)c.n * c.oc * oh * ow;
    c.x = dalloc(nx);
    c.wt = dalloc(nw);
    c.b = dalloc(c.oc);
    fill(c.x, nx, -1, 1);
    fill(c.wt, nw, -0.5, 0.5);
    fill(c.b, c.oc, -0.5, 0.5);
    double *r = dalloc(ny), *dx = dalloc(nx), *dw = dalloc(nw), *db = dalloc(c.oc);
    fill(r, ny, -1, 1);
    nn_ref_conv2d_bwd(c.n, c.c, c.h, c.w, c.oc, c.kh, c.kw, c.x, c.wt, r, dx, dw, db);
    probe p = {conv_fwd_probe, c.x, nx, ny, r, &c};
    check_probe(&p, dx, "conv dx");
    p.var = c.wt;
    p.var_n = nw;
    check_probe(&p, dw, "conv dw");
    p.var = c.b;
    p.var_n = c.oc;
    check_probe(&p, db, "conv db");

    /* fast float kernels (both paths: CHW input as conv1, HWC input as conv2/3) against the
     * reference without bias (the model never adds the conv bias: see ml/nn.c) */
    nn_conv_dims d = nn_conv_dims_make(c.c, c.h, c.w, c.oc, c.kh, c.kw);
    T_EQ(d.oh, oh);
    T_EQ(d.ow, ow);
    float *fx = falloc(nx), *fw = falloc(nw), *fy = falloc(ny);
    float *fr = falloc(ny), *fdx = falloc(nx), *fdw = falloc(nw);
    for (size_t i = 0; i < nx; i++)
        fx[i] = (float)c.x[i];
    for (size_t i = 0; i < nw; i++)
        fw[i] = (float)c.wt[i];
    for (size_t i = 0; i < ny; i++)
        fr[i] = (float)r[i];
    double *y = dalloc(ny);
    nn_ref_conv2d_fwd(c.n, c.c, c.h, c.w, c.oc, c.kh, c.kw, c.x, c.wt, NULL, y);
    for (int v = 0; v < 4; v++) {
        const int chw = v & 1;
        d.chunk_rows = v < 2 ? d.oh : 2; /* one block; blocks of 2 rows (2, 2, 1) */
        nt_conv(&d, c.n, fx, fw, fr, fy, fdw, chw ? NULL : fdx, chw);
        /* Float against double, relative to each tensor's scale: the inputs' float rounding and
         * sums of 6..60 products, a few FLT_EPSILON; one wrong or missing product of so few
         * moves an element by several percent of the scale. */
        T_ARRAY_NEAR_REL(fy, y, ny, 1e-6, maxabs(y, ny));
        T_ARRAY_NEAR_REL(fdw, dw, nw, 1e-6, maxabs(dw, nw));
        if (!chw)
            T_ARRAY_NEAR_REL(fdx, dx, nx, 1e-6, maxabs(dx, nx));
    }
    free(c.x), free(c.wt), free(c.b), free(r), free(dx), free(dw), free(db), free(y);
    free(fx), free(fw), free(fy), free(fr), free(fdx), free(fdw);
}

/* batchnorm */
typedef struct bn_ctx {
    int n, c, hw;
    double *x, *g, *b, *rm, *rv;
    int train;
} bn_ctx;

static void bn_fwd_probe(probe *p, double *out)
{
    bn_ctx *c = p->ctx;
    if (c->train)
        nn_ref_bn_train_fwd(c->n, c->c, c->hw, c->x, c->g, c->b, 1e-5, out, NULL, NULL);
    else
        nn_ref_bn_eval_fwd(c->n, c->c, c->hw, c->x, c->g, c->b, c->rm, c->rv, 1e-5, out);
}

static void test_bn(int train)
{
    bn_ctx c = {3, 2, 5, NULL, NULL, NULL, NULL, NULL, train};
    const size_t nx = (size_t)c.n * c.c * c.hw;
    c.x = dalloc(nx);
    c.g = dalloc(c.c);
    c.b = dalloc(c.c);
    c.rm = dalloc(c.c);
    c.rv = dalloc(c.c);
    fill(c.x, nx, -2, 3);
    fill(c.g, c.c, 0.5, 1.5);
    c.g[1] = -0.7; /* a negative scale too */
    fill(c.b, c.c, -0.5, 0.5);
    fill(c.rm, c.c, -0.3, 0.3);
    fill(c.rv, c.c, 0.5, 2);
    double *r = dalloc(nx), *dx = dalloc(nx), *dg = dalloc(c.c), *db = dalloc(c.c);
    fill(r, nx, -1, 1);
    if (train)
        nn_ref_bn_train_bwd(c.n, c.c, c.hw, c.x, c.g, 1e-5, r, dx, dg, db);
    else
        nn_ref_bn_eval_bwd(c.n, c.c, c.hw, c.x, c.g, c.rm, c.rv, 1e-5, r, dx, dg, db);
    probe p = {bn_fwd_probe, c.x, nx, nx, r, &c};
    check_probe(&p, dx, train ? "bn train dx" : "bn eval dx");
    p.var = c.g;
    p.var_n = c.c;
    check_probe(&p, dg, "bn dgamma");
    p.var = c.b;
    check_probe(&p, db, "bn dbeta");
    free(c.x), free(c.g), free(c.b), free(c.rm), free(c.rv), free(r), free(dx), free(dg), free(db);
}

/* relu, maxpool, linear, softmax */
typedef struct misc_ctx {
    int n, c, h, w, in, out;
    double *x, *wt, *b;
    const uint8_t *labels;
} misc_ctx;

static void relu_probe(probe *p, double *out)
{
    nn_ref_relu_fwd(p->var_n, p->var, out);
}
static void pool_probe(probe *p, double *out)
{
    misc_ctx *c = p->ctx;
    nn_ref_maxpool2_fwd(c->n, c->c, c->h, c->w, c->x, out);
}
static void linear_probe(probe *p, double *out)
{
    misc_ctx *c = p->ctx;
    nn_ref_linear_fwd(c->n, c->in, c->out, c->x, c->wt, c->b, out);
}
static void ce_probe(probe *p, double *out)
{
    misc_ctx *c = p->ctx;
    out[0] = nn_ref_softmax_ce(c->n, c->in, c->x, c->labels, NULL);
}

/* Values with |x| >= 0.05 and pairwise gaps >= 1e-3: no kink within the difference step. */
static void fill_distinct(double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = ((double)i - (double)n / 2 + 0.5) * 0.01;
    for (size_t i = n; i > 1; i--) {
        const size_t j = (size_t)cs_rng_below(&rng, i);
        const double t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        if (fabs(v[i]) < 0.05)
            v[i] += v[i] < 0 ? -0.05 * n : 0.05 * n;
}

static void test_relu_pool_linear_ce(void)
{
    /* relu */
    const size_t nr = 40;
    double *x = dalloc(nr), *r = dalloc(nr), *dx = dalloc(nr);
    fill_distinct(x, nr);
    fill(r, nr, -1, 1);
    nn_ref_relu_bwd(nr, x, r, dx);
    probe p = {relu_probe, x, nr, nr, r, NULL};
    check_probe(&p, dx, "relu");
    free(x), free(r), free(dx);

    /* maxpool 2x2, odd plane 5x7 (floor: last row and column never win), ties */
    misc_ctx c = {2, 2, 5, 7, 0, 0, NULL, NULL, NULL, NULL};
    const size_t np = (size_t)c.n * c.c * c.h * c.w, npo = (size_t)c.n * c.c * 2 * 3;
    c.x = dalloc(np);
    fill_distinct(c.x, np);
    r = dalloc(npo);
    dx = dalloc(np);
    fill(r, npo, -1, 1);
    nn_ref_maxpool2_bwd(c.n, c.c, c.h, c.w, c.x, r, dx);
    p = (probe){pool_probe, c.x, np, npo, r, &c};
    check_probe(&p, dx, "maxpool");
    /* ties route to the first maximum in row-major window order, as PyTorch */
    double tie[4] = {1, 3, 3, 2}, dtie[4], one = 1, ytie;
    nn_ref_maxpool2_fwd(1, 1, 2, 2, tie, &ytie);
    nn_ref_maxpool2_bwd(1, 1, 2, 2, tie, &one, dtie);
    T_NEAR(ytie, 3, 0);
    T_NEAR(dtie[1], 1, 0);
    T_NEAR(dtie[2], 0, 0);
    free(c.x), free(r), free(dx);

    /* linear */
    c = (misc_ctx){3, 0, 0, 0, 5, 4, NULL, NULL, NULL, NULL};
    const size_t nxl = 15, nw = 20, ny = 12;
    c.x = dalloc(nxl);
    c.wt = dalloc(nw);
    c.b = dalloc(4);
    fill(c.x, nxl, -1, 1);
    fill(c.wt, nw, -1, 1);
    fill(c.b, 4, -1, 1);
    r = dalloc(ny);
    fill(r, ny, -1, 1);
    double *ldx = dalloc(nxl), *ldw = dalloc(nw), *ldb = dalloc(4);
    nn_ref_linear_bwd(c.n, c.in, c.out, c.x, c.wt, r, ldx, ldw, ldb);
    p = (probe){linear_probe, c.x, nxl, ny, r, &c};
    check_probe(&p, ldx, "linear dx");
    p.var = c.wt;
    p.var_n = nw;
    check_probe(&p, ldw, "linear dw");
    p.var = c.b;
    p.var_n = 4;
    check_probe(&p, ldb, "linear db");
    /* fast float linear (+ relu) against the reference */
    float fx[15], fw[20], fb[4], fy[12], fdy[12], fdx[15], fdw[20], fdb[4];
    for (int i = 0; i < 15; i++)
        fx[i] = (float)c.x[i];
    for (int i = 0; i < 20; i++)
        fw[i] = (float)c.wt[i];
    for (int i = 0; i < 4; i++)
        fb[i] = (float)c.b[i];
    double y[12], yr[12], dyr[12];
    nn_ref_linear_fwd(3, 5, 4, c.x, c.wt, c.b, y);
    nn_linear_fwd(3, 5, 4, fx, fw, fb, fy, 1);
    nn_ref_relu_fwd(12, y, yr);
    /* as the convolutions: float against double, relative to each tensor's scale */
    T_ARRAY_NEAR_REL(fy, yr, 12, 1e-6, maxabs(yr, 12));
    int masked = 0;
    for (int i = 0; i < 12; i++) {
        fdy[i] = (float)r[i];
        masked += !(y[i] > 0);
    }
    T_TRUE(masked > 0 && masked < 12); /* the relu mask matters in this example */
    nn_ref_relu_bwd(12, y, r, dyr);
    nn_ref_linear_bwd(3, 5, 4, c.x, c.wt, dyr, ldx, ldw, ldb);
    nn_linear_bwd(3, 5, 4, fx, fw, fy, fdy, fdw, fdb, fdx);
    T_ARRAY_NEAR_REL(fdx, ldx, 15, 1e-6, maxabs(ldx, 15));
    T_ARRAY_NEAR_REL(fdw, ldw, 20, 1e-6, maxabs(ldw, 20));
    T_ARRAY_NEAR_REL(fdb, ldb, 4, 1e-6, maxabs(ldb, 4));
    free(c.x), free(c.wt), free(c.b), free(r), free(ldx), free(ldw), free(ldb);

    /* softmax cross-entropy, including a row with huge logits (stability) */
    const uint8_t labels[3] = {2, 0, 4};
    c = (misc_ctx){3, 0, 0, 0, 5, 0, NULL, NULL, NULL, labels};
    c.x = dalloc(15);
    fill(c.x, 15, -3, 3);
    double *dl = dalloc(15), one1 = 1.0;
    nn_ref_softmax_ce(3, 5, c.x, labels, dl);
    p = (probe){ce_probe, c.x, 15, 1, &one1, &c};
    check_probe(&p, dl, "softmax-ce");
    float fl[15], fdl[15];
    for (int i = 0; i < 15; i++)
        fl[i] = (float)c.x[i];
    int correct = -1;
    const double lf = nn_softmax_ce(3, 5, fl, labels, fdl, &correct);
    const double lr = nn_ref_softmax_ce(3, 5, c.x, labels, dl);
    /* the float logits' rounding (FLT_EPSILON / 2 of |logit| <= 3) carried through: ~1e-7 of
     * the O(1) loss; the gradient relative to its scale */
    T_NEAR_REL(lf, lr, 1e-6, 1.0);
    T_ARRAY_NEAR_REL(fdl, dl, 15, 1e-6, maxabs(dl, 15));
    /* By hand: logits (0, d) with label 1 give loss log(1 + e^-d) and gradient
     * (1, -1) / (1 + e^d), d = big[1] - big[0] exactly (ln 3 to float precision at 1000);
     * huge logits stay finite. In double, lse - l[label] cancels 1000 down to 0.29 (12 bits of
     * 53 lost): 1e-11 relative; the gradient is rounded to float once (FLT_EPSILON / 2). */
    const float big[4] = {1000.0f, 1000.0f + (float)log(3.0), -1e30f, 88.0f};
    const uint8_t lab1[1] = {1};
    float dbig[4];
    const double lbig = nn_softmax_ce(1, 4, big, lab1, dbig, &correct);
    const double dd = (double)big[1] - (double)big[0];
    T_NEAR(dd, log(3.0), 1e-4); /* the case is the one meant */
    T_NEAR_REL(lbig, log1p(exp(-dd)), 1e-11, 0);
    T_NEAR_REL(dbig[0], 1.0 / (1.0 + exp(dd)), FLT_EPSILON, 0);
    T_NEAR_REL(dbig[1], -1.0 / (1.0 + exp(dd)), FLT_EPSILON, 0);
    T_NEAR(dbig[2], 0, 0); /* exp(-1e30 - 1001) */
    T_NEAR(dbig[3], 0, 0); /* exp(88 - 1001) underflows */
    T_EQ(correct, 1);
    free(c.x), free(dl);
}

/* ------------------------------------------------------------ fused BN + ReLU + pool */

/* The fast fused block against ref bn -> relu -> maxpool, forward and backward (training and
 * evaluation), on n images of (c, h, w) with odd h, w (floor mode). */
static void test_bnrp(int train)
{
    const int n = 3, c = 3, h = 7, w = 9, ph = 3, pw = 4;
    const size_t ny = (size_t)n * c * h * w, np = (size_t)n * c * ph * pw;
    const size_t yi = (size_t)c * h * w, pi = (size_t)c * ph * pw;
    double *y = dalloc(ny), *g = dalloc(c), *b = dalloc(c), *rm = dalloc(c), *rv = dalloc(c);
    double *conv_b = dalloc(c); /* the conv bias folded into sub in eval mode */
    fill(y, ny, -1, 2);
    fill(g, c, 0.5, 1.5);
    g[2] = -0.8;
    fill(b, c, -0.3, 0.3);
    fill(rm, c, -0.2, 0.5);
    fill(rv, c, 0.5, 1.5);
    fill(conv_b, c, -0.2, 0.2);
    /* reference: z = bn(y + conv_b), relu, pool */
    double *yb = dalloc(ny), *z = dalloc(ny), *zr = dalloc(ny), *out = dalloc(np);
    for (size_t i = 0; i < ny; i++)
        yb[i] = y[i] + conv_b[(i / (size_t)(h * w)) % c];
    double mean[3], var[3];
    if (train)
        nn_ref_bn_train_fwd(n, c, h * w, yb, g, b, 1e-5, z, mean, var);
    else
        nn_ref_bn_eval_fwd(n, c, h * w, yb, g, b, rm, rv, 1e-5, z);
    nn_ref_relu_fwd(ny, z, zr);
    nn_ref_maxpool2_fwd(n, c, h, w, zr, out);
    double *dout = dalloc(np), *dzr = dalloc(ny), *dz = dalloc(ny), *dy = dalloc(ny);
    double dg[3], db[3];
    fill(dout, np, -1, 1);
    nn_ref_maxpool2_bwd(n, c, h, w, zr, dout, dzr);
    nn_ref_relu_bwd(ny, z, dzr, dz);
    if (train)
        nn_ref_bn_train_bwd(n, c, h * w, yb, g, 1e-5, dz, dy, dg, db);
    else
        nn_ref_bn_eval_bwd(n, c, h * w, yb, g, rm, rv, 1e-5, dz, dy, dg, db);

    /* fast path: channels-last images, y without bias, coefficients as nn.c computes them */
    float *fy = falloc(ny), *fout = falloc(np), *fdout = falloc(np), *fdy = falloc(ny);
    float *tmp = falloc(ny);
    int8_t *arg = calloc(np, 1);
    float *ymax = falloc(np);
    for (size_t i = 0; i < ny; i++)
        tmp[i] = (float)y[i];
    for (int i = 0; i < n; i++)
        nn_chw_to_hwc(tmp + i * yi, c, h, w, fy + i * yi);
    for (size_t i = 0; i < np; i++)
        tmp[i] = (float)dout[i];
    for (int i = 0; i < n; i++)
        nn_chw_to_hwc(tmp + i * pi, c, ph, pw, fdout + i * pi);
    double pm[3][3], pm2[3][3], bmean[3];
    for (int i = 0; i < n; i++)
        nn_hwc_stats(fy + i * yi, h * w, c, pm[i], pm2[i]);
    float sub[3], scale[3], beta[3], istd[3], c0[3], c1[3], a[3];
    const double cnt = (double)n * h * w;
    for (int ch = 0; ch < c; ch++) {
        double mu = 0, m2 = 0, dm = 0;
        for (int i = 0; i < n; i++)
            mu += pm[i][ch] / n;
        for (int i = 0; i < n; i++)
            m2 += pm2[i][ch], dm += (pm[i][ch] - mu) * (pm[i][ch] - mu);
        const double v = (m2 + h * w * dm) / cnt;
        if (train) {
            /* The float copy of y (|y| <= 2) is off by FLT_EPSILON / 2 of |y| at most; the
             * statistics are summed in double. So the mean is within FLT_EPSILON / 2 of
             * max|y| = 2 and the variance within ~FLT_EPSILON of max|y|^2 = 4: relative with
             * those floors (not to the values, which can be near 0). */
            T_NEAR_REL(mu + conv_b[ch], mean[ch], FLT_EPSILON, 2.0);
            T_NEAR_REL(v, var[ch], 2 * FLT_EPSILON, 4.0);
        }
        bmean[ch] = train ? mu : rm[ch] - conv_b[ch];
        const double is = 1.0 / sqrt((train ? v : rv[ch]) + 1e-5);
        sub[ch] = (float)bmean[ch];
        istd[ch] = (float)is;
        scale[ch] = (float)(g[ch] * is);
        beta[ch] = (float)b[ch];
    }
    for (int i = 0; i < n; i++)
        nn_bnrp_fwd(fy + i * yi, h, w, c, sub, scale, beta, tmp + i * pi, arg + i * pi,
                    ymax + i * pi);
    for (int i = 0; i < n; i++)
        nn_hwc_to_chw(tmp + i * pi, ph, pw, c, fout + i * pi);
    /* float against double, relative to the output's scale (a few roundings per element) */
    T_ARRAY_NEAR_REL(fout, out, np, 1e-6, maxabs(out, np));
    double sdz[3] = {0}, sdzx[3] = {0};
    for (int i = 0; i < n; i++) {
        double s0[3], s1[3];
        nn_bnrp_sums(ymax + i * pi, fdout + i * pi, arg + i * pi, ph * pw, c, sub, istd, s0, s1);
        for (int ch = 0; ch < c; ch++)
            sdz[ch] += s0[ch], sdzx[ch] += s1[ch];
    }
    /* The sums' float terms (dout, and dout * (y - mean) * istd) carry a few roundings each
     * (measured: under 0.2 FLT_EPSILON of the terms' magnitudes): relative to the sum of those
     * magnitudes, which the sums may cancel well below. A missing term is ~1/36 of it. */
    double sum_dz[3] = {0}, sum_dzx[3] = {0};
    for (size_t i = 0; i < ny; i++) {
        const int ch = (int)((i / (size_t)(h * w)) % c);
        const double xm = train ? mean[ch] : rm[ch], xv = train ? var[ch] : rv[ch];
        sum_dz[ch] += fabs(dz[i]);
        sum_dzx[ch] += fabs(dz[i] * (yb[i] - xm) / sqrt(xv + 1e-5));
    }
    for (int ch = 0; ch < c; ch++) {
        T_NEAR_REL(sdz[ch], db[ch], 8 * FLT_EPSILON, sum_dz[ch]);
        T_NEAR_REL(sdzx[ch], dg[ch], 8 * FLT_EPSILON, sum_dzx[ch]);
        const double aa = g[ch] * istd[ch];
        const double k1 = train ? -aa * istd[ch] * sdzx[ch] / cnt : 0;
        const double k0 = train ? -aa * sdz[ch] / cnt - k1 * bmean[ch] : 0;
        c0[ch] = (float)k0;
        c1[ch] = (float)k1;
        a[ch] = (float)aa;
    }
    for (int i = 0; i < n; i++)
        nn_bnrp_bwd(fy + i * yi, fdout + i * pi, arg + i * pi, h, w, c, c0, c1, a, tmp + i * yi);
    for (int i = 0; i < n; i++)
        nn_hwc_to_chw(tmp + i * yi, h, w, c, fdy + i * yi);
    /* relative to dy's scale: the coefficients' float rounding and BN's cancellation */
    T_ARRAY_NEAR_REL(fdy, dy, ny, 1e-5, maxabs(dy, ny));
    free(tmp), free(ymax);
    free(y), free(g), free(b), free(rm), free(rv), free(conv_b), free(yb), free(z), free(zr);
    free(out), free(dout), free(dzr), free(dz), free(dy), free(fy), free(fout), free(fdout);
    free(fdy), free(arg);
}

/* ------------------------------------------------------------ whole network */

static void state_to_double(nn_model *m, double *s)
{
    const float *f = nn_model_state(m);
    for (size_t i = 0; i < NN_STATE_FLOATS; i++)
        s[i] = f[i];
}

/* Per-tensor error of the fast gradient against the double reference, relative to the tensor's
 * largest reference gradient. */
static void compare_grads(const float *fast, const double *ref, double tol, const char *mode)
{
    size_t nv = 0;
    const nn_view *v = nn_views(&nv);
    for (size_t i = 0; i < nv; i++) {
        if (v[i].store != NN_STORE_PARAM)
            continue;
        const bool conv_bias = strncmp(v[i].name, "conv", 4) == 0 && strstr(v[i].name, ".bias");
        const double scale = maxabs(ref + v[i].offset, v[i].count);
        double e = 0;
        for (size_t j = 0; j < v[i].count; j++) {
            const double d = fabs((double)fast[v[i].offset + j] - ref[v[i].offset + j]);
            e = d > e ? d : e;
        }
        if (conv_bias && !strcmp(mode, "train")) {
            /* BatchNorm cancels the conv bias: its gradient is exactly 0, up to rounding noise
             * on either side (~1e-16 here); within 1e-5 of the layer's weight-gradient scale
             * (a bias gradient that missed the cancellation would be of the order of the BN
             * bias gradient, ~0.1 of that scale) */
            const nn_view *w = &v[i - 1]; /* convN.weight precedes convN.bias */
            const double wscale = maxabs(ref + w->offset, w->count);
            fprintf(stderr,
                    "  %-5s %-14s max|fast - ref| %.3e, max|ref| %.3e (exactly 0; weight "
                    "%.3e)\n",
                    mode, v[i].name, e, scale, wscale);
            T_TRUE(strncmp(w->name, v[i].name, 5) == 0 && wscale > 0);
            T_NEAR_REL(e, 0.0, 1e-5, wscale);
            continue;
        }
        const double rel = e / scale;
        fprintf(stderr, "  %-5s %-14s max|g| %.3e  rel.err %.2e\n", mode, v[i].name, scale, rel);
        T_TRUE(scale > 0);
        T_ARRAY_NEAR_REL(fast + v[i].offset, ref + v[i].offset, v[i].count, tol, scale);
    }
}

/* The fast model against the double reference network, with the direct convolution kernels
 * (where this CPU has them) or with im2col/im2row + sgemm. */
static void test_network(bool direct)
{
    const int n = 3;
    fprintf(stderr, "network: %s convolutions\n",
            nn_conv_set_direct(direct) ? "direct" : "im2col/im2row + sgemm");
    cs_err err;
    nn_model *m = nn_model_create(4, &err);
    T_TRUE(m != NULL);
    if (!m)
        return;
    nn_model_init(m, 7);
    float *state = nn_model_state(m);
    /* non-trivial BN parameters and running statistics */
    for (int l = 1; l <= 3; l++) {
        char nm[32];
        snprintf(nm, sizeof nm, "bn%d.weight", l);
        const nn_view *vg = nn_view_find(nm);
        snprintf(nm, sizeof nm, "bn%d.bias", l);
        const nn_view *vb = nn_view_find(nm);
        snprintf(nm, sizeof nm, "bn%d.running_var", l);
        const nn_view *vv = nn_view_find(nm);
        snprintf(nm, sizeof nm, "bn%d.running_mean", l);
        const nn_view *vm = nn_view_find(nm);
        for (size_t j = 0; j < vg->count; j++) {
            state[vg->offset + j] = (float)urand(0.6, 1.4);
            state[vb->offset + j] = (float)urand(-0.2, 0.2);
            state[vv->offset + j] = (float)urand(0.5, 2.0);
            state[vm->offset + j] = (float)urand(-0.3, 0.3);
        }
    }
    float *x = falloc((size_t)n * NN_IN_SIZE);
    double *xd = dalloc((size_t)n * NN_IN_SIZE);
    for (size_t i = 0; i < (size_t)n * NN_IN_SIZE; i++) {
        x[i] = (float)urand(-1, 1);
        xd[i] = x[i];
    }
    const uint8_t labels[3] = {3, 9, 0};
    double *sd = dalloc(NN_STATE_FLOATS), *g = dalloc(NN_PARAMS), *buf = dalloc(NN_BUFFERS);
    double logits[30], loss = 0;
    float flog[30];

    for (int mode = 0; mode < 2; mode++) {
        const bool train = mode == 0;
        const char *mname = train ? "train" : "eval";
        state_to_double(m, sd);
        T_EQ(nn_ref_net(sd, xd, labels, n, train, &loss, logits, g, buf), 0);
        nn_model_set_training(m, train);
        int correct = -1;
        const float floss = nn_model_forward_backward(m, x, labels, n, &correct);
        /* the loss carries the logits' float error (below), which does not shrink with the
         * loss: relative with a floor of 1 */
        T_NEAR_REL(floss, loss, 1e-5, 1.0);
        T_TRUE(correct >= 0 && correct <= n);
        /* fast float vs double reference: float rounding through three conv layers, BN
         * normalisation and the backward gives ~1e-6..1e-5 of the tensor's scale; 1e-4 leaves
         * room for a rare near-tie in a pooling window resolved differently in float. */
        compare_grads(nn_model_grads(m), g, 1e-4, mname);
        /* Running statistics per tensor: 0.9 * old + 0.1 * the batch statistic of float conv
         * outputs (measured ~2e-7 of the tensor's scale). The mean can cancel to ~0 while its
         * error follows the activations: floor at 0.1 of the tensor's largest value. A biased
         * instead of unbiased variance shows as 2.3e-6 (bn1) to 1.1e-4 (bn3). */
        size_t nvb = 0;
        const nn_view *vb = nn_views(&nvb);
        for (size_t i = 0; i < nvb; i++) {
            if (vb[i].store != NN_STORE_BUFFER)
                continue;
            const double *rb = buf + (vb[i].offset - NN_PARAMS);
            T_ARRAY_NEAR_REL(state + vb[i].offset, rb, vb[i].count, 2e-6,
                             0.1 * maxabs(rb, vb[i].count));
        }
        if (train)
            for (int t = 0; t < NN_TRACKED; t++)
                T_EQ(nn_model_tracked(m)[t], 1);
        /* the eval pass then starts from the running statistics this training step left */
    }
    /* eval-mode logits */
    nn_model_set_training(m, false);
    nn_model_forward(m, x, n, flog);
    state_to_double(m, sd);
    T_EQ(nn_ref_net(sd, xd, labels, n, false, &loss, logits, NULL, NULL), 0);
    /* float against double through the whole network, relative to the logits' scale (as the
     * gradients above) */
    T_ARRAY_NEAR_REL(flog, logits, 30, 1e-4, maxabs(logits, 30));

    /* central differences on the double reference network (training mode), sampled params */
    const int nn2 = 2;
    state_to_double(m, sd);
    T_EQ(nn_ref_net(sd, xd, labels, nn2, true, &loss, NULL, g, NULL), 0);
    size_t nv = 0;
    const nn_view *v = nn_views(&nv);
    double worst = 0;
    int kinks = 0, checked = 0;
    for (size_t i = 0; i < nv; i++) {
        if (v[i].store != NN_STORE_PARAM)
            continue;
        const double scale = fmax(maxabs(g + v[i].offset, v[i].count), 1e-3);
        const int samples = v[i].count > 1000 ? 2 : 1;
        for (int s = 0; s < samples; s++) {
            const size_t j = v[i].offset + (size_t)cs_rng_below(&rng, v[i].count);
            const double p0 = sd[j], h = 1e-6;
            double lp, lm;
            sd[j] = p0 + h;
            T_EQ(nn_ref_net(sd, xd, labels, nn2, true, &lp, NULL, NULL, NULL), 0);
            sd[j] = p0 - h;
            T_EQ(nn_ref_net(sd, xd, labels, nn2, true, &lm, NULL, NULL, NULL), 0);
            sd[j] = p0;
            const double num = (lp - lm) / (2 * h);
            double e = fabs(num - g[j]) / scale;
            if (!(e < 1e-6)) {
                /* A ReLU or pooling kink within h of the point (one of ~10^5 activations moves
                 * by ~h): the loss is piecewise smooth, so the one-sided difference on the side
                 * without the kink must still match the analytic gradient (to O(h)). */
                double l0;
                T_EQ(nn_ref_net(sd, xd, labels, nn2, true, &l0, NULL, NULL, NULL), 0);
                const double ef = fabs((lp - l0) / h - g[j]) / scale;
                const double eb = fabs((l0 - lm) / h - g[j]) / scale;
                fprintf(stderr,
                        "network %s[%zu]: analytic %.10g central %.10g (kink? one-sided errors "
                        "%.2g, %.2g)\n",
                        v[i].name, j - v[i].offset, g[j], num, ef, eb);
                e = fmin(ef, eb) < 1e-5 ? fmin(ef, eb) : e;
                kinks++;
            }
            worst = fmax(worst, e);
            T_TRUE(e < 1e-5);
            checked++;
        }
    }
    T_TRUE(kinks <= 2);
    fprintf(stderr, "network central differences: %d parameters, %d kinks, worst error %.3g\n",
            checked, kinks, worst);
    free(x), free(xd), free(sd), free(g), free(buf);
    nn_model_destroy(m);
}

int main(void)
{
    cs_rng_derive(&rng, 2024, CS_RNG_SYNTH, 11);
    test_conv();
    test_bn(1);
    test_bn(0);
    test_relu_pool_linear_ce();
    test_bnrp(1);
    test_bnrp(0);
    /* both convolution paths on the same data */
    const cs_rng at = rng;
    test_network(false);
    rng = at;
    test_network(true);
    return t_done();
}
