/* test_nn_unit.c - the CNN engine: fast kernels against the double oracle on the real layer
 * shapes, the parameter count and the views table, initialisation, Adam and SGD against hand
 * computed steps, BN mode semantics, thread determinism, the training epoch and evaluation.
 */
#include "t.h"
#include "cs_rng.h"
#include "nn.h"
#include "nn_data.h"
#include "nn_infer.h"
#include "nn_layers.h"
#include "nn_ref.h"
#include "nn_test_util.h"
#include "nn_train.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

static cs_rng rng;

static void *xalloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static double maxabs_d(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* max |a - b| / max |b| */
static double rel_err(const float *a, const double *b, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e = fmax(e, fabs((double)a[i] - b[i]));
    return e / fmax(maxabs_d(b, n), 1e-30);
}

/* ------------------------------------------------------------ kernels on the real shapes */

static void conv_real(const char *name, int c, int h, int oc, int k, bool want_dx, int chunk)
{
    const int n = 2;
    nn_conv_dims d = nn_conv_dims_make(c, h, h, oc, k, k);
    d.chunk_rows = chunk; /* as the model runs it (blocks of output rows, a partial last one) */
    const size_t nx = (size_t)n * c * h * h, nw = (size_t)oc * c * k * k;
    const size_t ny = (size_t)n * oc * d.oh * d.ow;
    double *x = xalloc(nx * 8), *w = xalloc(nw * 8), *b = xalloc(oc * 8), *y = xalloc(ny * 8);
    double *dy = xalloc(ny * 8), *dx = xalloc(nx * 8), *dw = xalloc(nw * 8), *db = xalloc(oc * 8);
    float *fx = xalloc(nx * 4), *fw = xalloc(nw * 4), *fy = xalloc(ny * 4);
    float *fdy = xalloc(ny * 4), *fdx = xalloc(nx * 4), *fdw = xalloc(nw * 4);
    const double bound = 1.0 / sqrt((double)c * k * k);
    for (size_t i = 0; i < nx; i++)
        fx[i] = (float)(x[i] = 2 * cs_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < nw; i++)
        fw[i] = (float)(w[i] = bound * (2 * cs_rng_uniform(&rng) - 1));
    for (int i = 0; i < oc; i++)
        b[i] = bound * (2 * cs_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < ny; i++)
        fdy[i] = (float)(dy[i] = 2 * cs_rng_uniform(&rng) - 1);
    nn_ref_conv2d_fwd(n, c, h, h, oc, k, k, x, w, NULL, y);
    nn_ref_conv2d_bwd(n, c, h, h, oc, k, k, x, w, dy, dx, dw, db);
    nt_conv(&d, n, fx, fw, fdy, fy, fdw, want_dx ? fdx : NULL, !want_dx);
    const double ey = rel_err(fy, y, ny), ew = rel_err(fdw, dw, nw);
    const double ex = want_dx ? rel_err(fdx, dx, nx) : 0;
    fprintf(stderr, "%s: y %.2e  dw %.2e  dx %.2e (relative to max)\n", name, ey, ew, ex);
    /* Relative to each tensor's largest value: float sums of K = 75..800 products (dw: 2 * OH *
     * OW) in OpenBLAS's blocking, ~1e-7 of the scale (FLT_EPSILON * sqrt(K) for random signs);
     * 2e-6 leaves room for any kernel's order. One missing or wrong product of K moves an
     * element by ~1/K of the scale, 1e-3 or more. */
    T_ARRAY_NEAR_REL(fy, y, ny, 2e-6, maxabs_d(y, ny));
    T_ARRAY_NEAR_REL(fdw, dw, nw, 2e-6, maxabs_d(dw, nw));
    if (want_dx)
        T_ARRAY_NEAR_REL(fdx, dx, nx, 2e-6, maxabs_d(dx, nx));
    free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db);
    free(fx), free(fw), free(fy), free(fdy), free(fdx), free(fdw);
}

static void fc1_real(void)
{
    const int n = 4, in = 2400, out = 128;
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    double *x = xalloc(nx * 8), *w = xalloc(nw * 8), *b = xalloc(out * 8), *y = xalloc(ny * 8);
    double *dy = xalloc(ny * 8), *dx = xalloc(nx * 8), *dw = xalloc(nw * 8), *db = xalloc(out * 8);
    float *fx = xalloc(nx * 4), *fw = xalloc(nw * 4), *fb = xalloc(out * 4), *fy = xalloc(ny * 4);
    float *fdy = xalloc(ny * 4), *fdx = xalloc(nx * 4), *fdw = xalloc(nw * 4),
          *fdb = xalloc(out * 4);
    for (size_t i = 0; i < nx; i++)
        fx[i] = (float)(x[i] = cs_rng_uniform(&rng));
    for (size_t i = 0; i < nw; i++)
        fw[i] = (float)(w[i] = 0.02 * (2 * cs_rng_uniform(&rng) - 1));
    for (int i = 0; i < out; i++)
        fb[i] = (float)(b[i] = 0.02 * (2 * cs_rng_uniform(&rng) - 1));
    for (size_t i = 0; i < ny; i++)
        fdy[i] = (float)(dy[i] = 2 * cs_rng_uniform(&rng) - 1);
    nn_ref_linear_fwd(n, in, out, x, w, b, y);
    nn_ref_linear_bwd(n, in, out, x, w, dy, dx, dw, db);
    nn_linear_fwd(n, in, out, fx, fw, fb, fy, 0);
    nn_linear_bwd(n, in, out, fx, fw, NULL, fdy, fdw, fdb, fdx);
    fprintf(stderr, "fc1: y %.2e dw %.2e db %.2e dx %.2e\n", rel_err(fy, y, ny),
            rel_err(fdw, dw, nw), rel_err(fdb, db, out), rel_err(fdx, dx, nx));
    /* as the convolutions: relative to each tensor's scale (K = 2400 for y, 4 for dw and db) */
    T_ARRAY_NEAR_REL(fy, y, ny, 2e-6, maxabs_d(y, ny));
    T_ARRAY_NEAR_REL(fdw, dw, nw, 2e-6, maxabs_d(dw, nw));
    T_ARRAY_NEAR_REL(fdb, db, out, 2e-6, maxabs_d(db, out));
    T_ARRAY_NEAR_REL(fdx, dx, nx, 2e-6, maxabs_d(dx, nx));
    free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db);
    free(fx), free(fw), free(fb), free(fy), free(fdy), free(fdx), free(fdw), free(fdb);
}

/* The fused pooling on exact ties, zeros and negatives: the first maximum in row-major window
 * order wins (PyTorch's strict '>' scan), and a window whose maximum is <= 0 routes nothing. */
static void pool_ties(void)
{
    /* one channel, 2 rows x 12 columns = 6 windows; window k is {r0[2k], r0[2k+1], r1[2k],
     * r1[2k+1]} */
    static const float r0[12] = {1, 3, 5, 5, 2, 1, -1, -2, 0, 0, 7, 1};
    static const float r1[12] = {3, 2, 5, 5, 4, 4, -3, -1, 0, -1, 1, 7};
    float y[24], out[6], ymax[6];
    int8_t arg[6];
    for (int j = 0; j < 12; j++) {
        y[j] = r0[j];
        y[12 + j] = r1[j];
    }
    const float sub = 0.0f, scale = 1.0f, beta = 0.0f;
    nn_bnrp_fwd(y, 2, 12, 1, &sub, &scale, &beta, out, arg, ymax);
    static const int want_arg[6] = {1, 0, 2, -1, -1, 0}; /* 5: 7, 1, 1, 7 -> the first 7 */
    static const float want_out[6] = {3, 5, 4, 0, 0, 7};
    for (int k = 0; k < 6; k++) {
        T_EQ(arg[k], want_arg[k]);
        T_NEAR(out[k], want_out[k], 0);
        if (arg[k] >= 0)
            T_NEAR(ymax[k], want_out[k], 0);
    }
    /* a negative scale flips the order: the minimum of y becomes the maximum of z */
    const float neg = -1.0f;
    nn_bnrp_fwd(y, 2, 12, 1, &sub, &neg, &beta, out, arg, ymax);
    T_EQ(arg[3], 2); /* y = -1, -2, -3, -1 -> z = 1, 2, 3, 1 */
    T_NEAR(out[3], 3, 0);
    T_NEAR(ymax[3], -3, 0);
    /* backward routes dout only to those positions */
    float dout[6] = {1, 2, 3, 4, 5, 6}, dy[24];
    const float zero = 0.0f, one = 1.0f;
    nn_bnrp_fwd(y, 2, 12, 1, &sub, &scale, &beta, out, arg, ymax);
    nn_bnrp_bwd(y, dout, arg, 2, 12, 1, &zero, &zero, &one, dy);
    float want_dy[24] = {0};
    want_dy[1] = 1;      /* window 0: (0,1) */
    want_dy[2] = 2;      /* window 1: (0,0) of the window */
    want_dy[12 + 4] = 3; /* window 2: (1,0) */
    want_dy[10] = 6;     /* window 5: (0,0) */
    for (int j = 0; j < 24; j++)
        T_NEAR(dy[j], want_dy[j], 0);
}

/* ------------------------------------------------------------ views and parameter count */

static void test_views(void)
{
    static const struct {
        const char *name;
        int ndim;
        int64_t shape[4];
    } want[] = {
        {"conv1.weight", 4, {32, 3, 5, 5}},
        {"conv1.bias", 1, {32}},
        {"bn1.weight", 1, {32}},
        {"bn1.bias", 1, {32}},
        {"bn1.running_mean", 1, {32}},
        {"bn1.running_var", 1, {32}},
        {"bn1.num_batches_tracked", 0, {0}},
        {"conv2.weight", 4, {64, 32, 5, 5}},
        {"conv2.bias", 1, {64}},
        {"bn2.weight", 1, {64}},
        {"bn2.bias", 1, {64}},
        {"bn2.running_mean", 1, {64}},
        {"bn2.running_var", 1, {64}},
        {"bn2.num_batches_tracked", 0, {0}},
        {"conv3.weight", 4, {96, 64, 3, 3}},
        {"conv3.bias", 1, {96}},
        {"bn3.weight", 1, {96}},
        {"bn3.bias", 1, {96}},
        {"bn3.running_mean", 1, {96}},
        {"bn3.running_var", 1, {96}},
        {"bn3.num_batches_tracked", 0, {0}},
        {"fc1.weight", 2, {128, 2400}},
        {"fc1.bias", 1, {128}},
        {"fc2.weight", 2, {128, 128}},
        {"fc2.bias", 1, {128}},
        {"fc3.weight", 2, {10, 128}},
        {"fc3.bias", 1, {10}},
    };
    size_t nv = 0;
    const nn_view *v = nn_views(&nv);
    T_EQ(nv, sizeof want / sizeof want[0]);
    size_t params = 0, buffers = 0, tracked = 0;
    for (size_t i = 0; i < nv && i < sizeof want / sizeof want[0]; i++) {
        T_STREQ(v[i].name, want[i].name);
        T_EQ(v[i].ndim, want[i].ndim);
        size_t prod = 1;
        for (int d = 0; d < v[i].ndim; d++) {
            T_EQ(v[i].shape[d], want[i].shape[d]);
            prod *= (size_t)v[i].shape[d];
        }
        T_EQ_U64(v[i].count, prod);
        T_TRUE(nn_view_find(want[i].name) == &v[i]);
        const bool is_weight = v[i].ndim >= 2;
        T_EQ(v[i].per_channel, is_weight);
        /* offsets contiguous within each store, in state_dict order */
        if (v[i].store == NN_STORE_PARAM) {
            T_EQ_U64(v[i].offset, params);
            params += v[i].count;
        } else if (v[i].store == NN_STORE_BUFFER) {
            T_EQ_U64(v[i].offset, NN_PARAMS + buffers);
            buffers += v[i].count;
        } else {
            T_EQ_U64(v[i].offset, tracked);
            tracked++;
        }
        const bool stat = strstr(want[i].name, "running_") != NULL;
        T_EQ(v[i].store == NN_STORE_BUFFER, stat);
    }
    T_EQ(params, 434602);
    T_EQ(NN_PARAMS, 434602);
    T_EQ(buffers, NN_BUFFERS);
    T_EQ(tracked, NN_TRACKED);
    T_TRUE(nn_view_find("fc4.weight") == NULL);
    T_TRUE(nn_view_find(NULL) == NULL);
    /* 2 * multiply-adds of forward, weight grads and input grads (conv1 has no input grad) */
    T_NEAR(nn_model_train_flops_per_image(), 284321280.0, 0.5);
}

/* ------------------------------------------------------------ initialisation */

static void test_init(void)
{
    cs_err err;
    T_TRUE(nn_model_create(0, &err) == NULL);
    T_EQ(err.code, CS_EINVAL);
    nn_model *a = nn_model_create(2, &err), *b = nn_model_create(2, &err);
    T_TRUE(a && b);
    if (!a || !b)
        return;
    T_EQ(nn_model_max_batch(a), 2);
    T_TRUE(nn_model_training(a)); /* like a new torch module */
    nn_model_init(a, 5);
    nn_model_init(b, 5);
    T_MEMEQ(nn_model_state(a), nn_model_state(b), sizeof(float) * NN_STATE_FLOATS);
    nn_model_init(b, 6);
    T_TRUE(memcmp(nn_model_state(a), nn_model_state(b), sizeof(float) * NN_PARAMS) != 0);
    const float *s = nn_model_state(a);
    size_t nv = 0;
    const nn_view *v = nn_views(&nv);
    double fan_in = 0;
    for (size_t i = 0; i < nv; i++) {
        if (v[i].store == NN_STORE_TRACKED) {
            T_EQ(nn_model_tracked(a)[v[i].offset], 0);
            continue;
        }
        const float *t = s + v[i].offset;
        const bool bn = strncmp(v[i].name, "bn", 2) == 0;
        if (bn) {
            const float want =
                strstr(v[i].name, ".weight") || strstr(v[i].name, "running_var") ? 1.0f : 0.0f;
            size_t bad = 0;
            for (size_t j = 0; j < v[i].count; j++)
                bad += t[j] != want;
            T_EQ(bad, 0);
            continue;
        }
        if (v[i].per_channel)
            fan_in = (double)(v[i].count / (size_t)v[i].shape[0]);
        const double bound = 1.0 / sqrt(fan_in);
        double mean = 0, sq = 0, mx = 0;
        for (size_t j = 0; j < v[i].count; j++) {
            mean += t[j];
            sq += (double)t[j] * t[j];
            mx = fmax(mx, fabs(t[j]));
        }
        mean /= v[i].count;
        const double var = sq / v[i].count - mean * mean, cnt = (double)v[i].count;
        T_TRUE(mx <= bound);
        /* U(-b, b): mean 0 (sd b/sqrt(3n)), variance b^2/3 (sd ~ b^2 * 0.3/sqrt(n)); 5 sd */
        T_TRUE(fabs(mean) < 5 * bound / sqrt(3 * cnt));
        if (cnt >= 1000) {
            T_TRUE(fabs(var / (bound * bound / 3) - 1) < 5 * 0.9 / sqrt(cnt));
            T_TRUE(mx > 0.99 * bound); /* the range is really used */
        }
    }
    nn_model_destroy(a);
    nn_model_destroy(b);
    nn_model_destroy(NULL);
}

/* ------------------------------------------------------------ optimisers by hand */

static const float G[3][3] = {{0.5f, -1.0f, 2.0f}, {0.5f, 1.0f, -1.0f}, {-0.25f, 0.0f, 1.0f}};

static double opt_worst = 0; /* the largest relative error run_opt saw */

static void run_opt(const nn_opt_cfg *cfg, const double want[3][3], const char *name)
{
    cs_err err;
    nn_opt *o = nn_opt_create(cfg, 3, &err);
    T_TRUE(o != NULL);
    if (!o)
        return;
    for (int rep = 0; rep < 2; rep++) { /* the second run checks nn_opt_reset */
        float p[3] = {1.0f, -2.0f, 0.5f};
        for (int t = 0; t < 3; t++) {
            nn_opt_step(o, p, G[t]);
            for (int i = 0; i < 3; i++) {
                /* Three float steps from |p0| <= 2 in float constants (0.9f, 0.999f, ...): a
                 * few roundings of FLT_EPSILON each, of the trajectory's O(1) scale, also where
                 * it passes near 0 (floor 1); the hand values carry 9 decimals. A wrong bias
                 * correction, momentum or weight decay is off by 1e-3 or more. */
                const double tol = 4 * FLT_EPSILON; /* measured: under 1 FLT_EPSILON */
                const double e = fabs(p[i] - want[t][i]) / fmax(fabs(want[t][i]), 1.0);
                opt_worst = fmax(opt_worst, e);
                if (!(e <= tol))
                    fprintf(stderr, "%s step %d p[%d] = %.9f, want %.9f\n", name, t + 1, i, p[i],
                            want[t][i]);
                T_NEAR_REL(p[i], want[t][i], tol, 1.0);
            }
        }
        nn_opt_reset(o);
    }
    nn_opt_destroy(o);
}

static void test_opt(void)
{
    /* Adam, lr 0.1, betas (0.9, 0.999), eps 1e-8; p0 = (1, -2, 0.5), grads G[t].
     * Step 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2, p -= 0.1 g / (|g| + 1e-8):
     *   (0.9, -1.9, 0.4) (to 1e-8).
     * Step 2, p[1] (g = -1 then 1): m = 0.9 * -0.1 + 0.1 = 0.01, v = 0.999 * 0.001 + 0.001
     *   = 0.001999; m_hat = 0.01 / 0.19 = 0.0526316, v_hat = 0.001999 / 0.001999 = 1
     *   -> p = -1.9 - 0.1 * 0.0526316 = -1.9052632.
     * The rest the same way (torch.optim.Adam gives the same to 1e-7). */
    const double adam[3][3] = {{0.900000002, -1.900000001, 0.400000000},
                               {0.800000004, -1.905263159, 0.373366297},
                               {0.748434665, -1.909331595, 0.328475967}};
    nn_opt_cfg c = nn_opt_default(NN_OPT_ADAM, 0.1f);
    /* the defaults are the float constants themselves: exact */
    T_NEAR(c.beta1, 0.9f, 0);
    T_NEAR(c.beta2, 0.999f, 0);
    T_NEAR(c.eps, 1e-8f, 0);
    T_NEAR(c.weight_decay, 0, 0);
    run_opt(&c, adam, "adam");
    /* Adam with weight_decay 0.1: g += 0.1 p before the moments. Step 2, p[0]:
     * g1 = 0.5 + 0.1 = 0.6, g2 = 0.5 + 0.09 = 0.59; m = 0.054 + 0.059 = 0.113, m_hat = 0.5947368;
     * v = 0.999 * 0.00036 + 0.001 * 0.3481 = 0.00070774, v_hat = 0.3540470, sqrt = 0.5950185
     * -> p = 0.9 - 0.1 * 0.5947368 / 0.5950185 = 0.8000473. */
    const double adam_wd[3][3] = {{0.900000002, -1.900000001, 0.400000000},
                                  {0.800047340, -1.886117753, 0.370895146},
                                  {0.736974624, -1.867217511, 0.323817007}};
    c.weight_decay = 0.1f;
    run_opt(&c, adam_wd, "adam wd");
    /* SGD lr 0.1, momentum 0.9, weight_decay 0.01, dampening 0. p[0]:
     * step 1: d = 0.5 + 0.01 = 0.51, buffer = d (first step), p = 1 - 0.051 = 0.949;
     * step 2: d = 0.5 + 0.00949 = 0.50949, buffer = 0.459 + 0.50949 = 0.96849,
     *         p = 0.949 - 0.096849 = 0.852151;
     * step 3: d = -0.25 + 0.00852151 = -0.24147849, buffer = 0.871641 - 0.24147849 = 0.63016251,
     *         p = 0.852151 - 0.063016251 = 0.789134749. */
    const double sgd_m[3][3] = {{0.949000000, -1.898000000, 0.299500000},
                                {0.852151000, -1.904302000, 0.218750500},
                                {0.789134749, -1.908069498, 0.045857199}};
    c = nn_opt_default(NN_OPT_SGD, 0.1f);
    T_NEAR(c.momentum, 0, 0);
    c.momentum = 0.9f;
    c.weight_decay = 0.01f;
    run_opt(&c, sgd_m, "sgd momentum");
    /* plain SGD: p -= 0.1 g */
    const double sgd[3][3] = {{0.95, -1.9, 0.3}, {0.9, -2.0, 0.4}, {0.925, -2.0, 0.3}};
    c = nn_opt_default(NN_OPT_SGD, 0.1f);
    run_opt(&c, sgd, "sgd");
    fprintf(stderr, "optimisers by hand: worst relative error %.3g (%.2f FLT_EPSILON)\n", opt_worst,
            opt_worst / FLT_EPSILON);
    /* Adam over 16-element blocks plus a tail (the vector path) against the same arithmetic in
     * scalar float, in PyTorch's order, element by element and bit for bit. */
    {
        enum { N = 37 };
        cs_err e2;
        nn_opt_cfg ca = nn_opt_default(NN_OPT_ADAM, 0.01f);
        ca.weight_decay = 0.05f;
        nn_opt *o = nn_opt_create(&ca, N, &e2);
        T_TRUE(o != NULL);
        float p[N], q[N], g[N], m[N] = {0}, v[N] = {0};
        for (int i = 0; i < N; i++)
            p[i] = q[i] = (float)(cs_rng_uniform(&rng) - 0.5);
        size_t same = 0;
        for (int t = 1; o && t <= 3; t++) {
            for (int i = 0; i < N; i++)
                g[i] = (float)(cs_rng_uniform(&rng) - 0.5) * (i % 5 == 0 ? 1e-6f : 1.0f);
            nn_opt_step(o, p, g);
            const float step = (float)((double)0.01f / (1.0 - pow((double)0.9f, t)));
            const float bc2 = (float)sqrt(1.0 - pow((double)0.999f, t));
            for (int i = 0; i < N; i++) {
                const float gi = g[i] + 0.05f * q[i];
                m[i] = m[i] * 0.9f + gi * (1.0f - 0.9f);
                v[i] = v[i] * 0.999f + (1.0f - 0.999f) * gi * gi;
                q[i] = q[i] + (-step) * (m[i] / (sqrtf(v[i]) / bc2 + 1e-8f));
            }
        }
        for (int i = 0; i < N; i++)
            same += memcmp(&p[i], &q[i], sizeof(float)) == 0;
        T_EQ(same, N);
        nn_opt_destroy(o);
    }
    cs_err err;
    c.lr = -1;
    T_TRUE(nn_opt_create(&c, 3, &err) == NULL);
    T_EQ(err.code, CS_EINVAL);
    nn_opt_destroy(NULL);
}

/* ------------------------------------------------------------ model behaviour */

static void fill_batch(float *x, uint8_t *y, int n, uint64_t seed)
{
    cs_rng r;
    cs_rng_derive(&r, seed, CS_RNG_SYNTH, 3);
    for (size_t i = 0; i < (size_t)n * NN_IN_SIZE; i++)
        x[i] = 2.0f * cs_rng_uniformf(&r) - 1.0f;
    for (int i = 0; i < n; i++)
        y[i] = (uint8_t)cs_rng_below(&r, NN_CLASSES);
}

static void test_modes_and_threads(void)
{
    enum { B = 6 };
    cs_err err;
    float *x = xalloc(sizeof(float) * B * NN_IN_SIZE);
    uint8_t y[B];
    fill_batch(x, y, B, 1);
    nn_model *m[4];
    for (int k = 0; k < 4; k++) {
        nn_set_threads(k < 2 ? 1 : k); /* workspaces for at least k threads */
        m[k] = nn_model_create(B, &err);
        T_TRUE(m[k] != NULL);
        if (!m[k])
            return;
        nn_model_init(m[k], 9);
    }
    /* eval-mode forward leaves state and counters alone; train-mode forward updates them */
    float *s = nn_model_state(m[0]);
    float *copy = xalloc(sizeof(float) * NN_STATE_FLOATS);
    memcpy(copy, s, sizeof(float) * NN_STATE_FLOATS);
    float logits[B * NN_CLASSES];
    nn_model_set_training(m[0], false);
    T_TRUE(!nn_model_training(m[0]));
    nn_model_forward(m[0], x, B, logits);
    T_MEMEQ(copy, s, sizeof(float) * NN_STATE_FLOATS);
    T_EQ(nn_model_tracked(m[0])[0], 0);
    T_MEMEQ(logits, nn_model_logits(m[0]), sizeof logits);
    nn_model_set_training(m[0], true);
    nn_model_forward(m[0], x, B, logits);
    T_MEMEQ(copy, s, sizeof(float) * NN_PARAMS);
    T_TRUE(memcmp(copy + NN_PARAMS, s + NN_PARAMS, sizeof(float) * NN_BUFFERS) != 0);
    for (int t = 0; t < NN_TRACKED; t++)
        T_EQ(nn_model_tracked(m[0])[t], 1);
    /* running_var at momentum 0.1 from 1: 0.9 + 0.1 * unbiased var, always positive */
    for (int i = 0; i < NN_BUFFERS; i++)
        T_TRUE(isfinite(s[NN_PARAMS + i]));
    memcpy(s, copy, sizeof(float) * NN_STATE_FLOATS);
    nn_model_tracked(m[0])[0] = nn_model_tracked(m[0])[1] = nn_model_tracked(m[0])[2] = 0;

    /* Any thread count -> bit-identical steps: BN statistics are reduced per image in index
     * order, conv weight gradients over fixed groups of images in group order. m[1] repeats
     * m[0] with 1 thread, m[2] runs with 2 threads and m[3] with 3 (uneven: 6 groups over 3
     * threads, 2 each; 8 groups of a batch of 13 over 3 threads, 3/3/2). */
    float loss[4];
    for (int k = 0; k < 4; k++) {
        nn_set_threads(k < 2 ? 1 : k);
        loss[k] = nn_model_forward_backward(m[k], x, y, B, NULL);
    }
    nn_set_threads(1);
    for (int k = 1; k < 4; k++) {
        T_MEMEQ(nn_model_grads(m[0]), nn_model_grads(m[k]), sizeof(float) * NN_PARAMS);
        T_MEMEQ(nn_model_state(m[0]), nn_model_state(m[k]), sizeof(float) * NN_STATE_FLOATS);
        T_TRUE(loss[0] == loss[k]);
    }
    /* a batch of 13 (more images than groups, uneven groups), 1 to 4 threads */
    {
        enum { B2 = 13 };
        float *x2 = xalloc(sizeof(float) * B2 * NN_IN_SIZE);
        uint8_t y2[B2];
        fill_batch(x2, y2, B2, 3);
        nn_set_threads(4);
        nn_model *m2 = nn_model_create(B2, &err);
        T_TRUE(m2 != NULL);
        float *g_ref = xalloc(sizeof(float) * NN_PARAMS);
        for (int t = 1; m2 && t <= 4; t++) {
            nn_model_init(m2, 5);
            nn_set_threads(t);
            nn_model_forward_backward(m2, x2, y2, B2, NULL);
            if (t == 1)
                memcpy(g_ref, nn_model_grads(m2), sizeof(float) * NN_PARAMS);
            else
                T_MEMEQ(g_ref, nn_model_grads(m2), sizeof(float) * NN_PARAMS);
        }
        /* the calling thread's own count (nn_set_local_threads) overrides the process's */
        if (m2) {
            nn_set_threads(1);
            nn_set_local_threads(3);
            T_EQ(nn_threads(), 3);
            nn_model_init(m2, 5);
            nn_model_forward_backward(m2, x2, y2, B2, NULL);
            T_MEMEQ(g_ref, nn_model_grads(m2), sizeof(float) * NN_PARAMS);
            nn_set_local_threads(0);
            T_EQ(nn_threads(), 1);
        }
        nn_model_destroy(m2);
        free(g_ref);
        free(x2);
    }
    /* a second step with 2 threads repeats itself exactly */
    nn_set_threads(2);
    float *g2 = nn_model_grads(m[2]);
    float *g2copy = xalloc(sizeof(float) * NN_PARAMS);
    memcpy(g2copy, g2, sizeof(float) * NN_PARAMS);
    nn_model_set_training(m[2], true);
    nn_model_forward_backward(m[2], x, y, B, NULL);
    T_MEMEQ(g2copy, nn_model_grads(m[2]), sizeof(float) * NN_PARAMS);
    nn_set_threads(1);
    T_EQ(nn_threads(), 1);
    T_TRUE(strlen(nn_blas_core()) > 0);
    fprintf(stderr, "OpenBLAS core: %s\n", nn_blas_core());
    free(g2copy);
    free(copy);
    free(x);
    for (int k = 0; k < 4; k++)
        nn_model_destroy(m[k]);
}

/* ------------------------------------------------------------ training epoch and evaluation */

typedef struct prog {
    int calls;
    size_t last_done, last_total;
    nn_phase phase;
} prog;

static void on_progress(void *user, const nn_progress *p)
{
    prog *g = user;
    g->calls++;
    g->last_done = p->done;
    g->last_total = p->total;
    g->phase = p->phase;
}

/* A learnable toy dataset: class c has a bright square at a class-dependent position. */
static void make_dataset(nn_dataset *ds, size_t n)
{
    memset(ds, 0, sizeof *ds);
    ds->n = n;
    ds->pixels = xalloc(n * NN_IN_SIZE);
    ds->labels = xalloc(n);
    cs_rng r;
    cs_rng_derive(&r, 77, CS_RNG_SYNTH, 4);
    for (size_t i = 0; i < n; i++) {
        const int c = (int)(i % NN_CLASSES);
        ds->labels[i] = (uint8_t)c;
        uint8_t *px = ds->pixels + i * NN_IN_SIZE;
        for (int j = 0; j < NN_IN_SIZE; j++)
            px[j] = (uint8_t)cs_rng_below(&r, 100);
        const int oy = 4 + 25 * (c / 5), ox = 4 + 11 * (c % 5);
        for (int ch = 0; ch < 3; ch++)
            for (int yy = oy; yy < oy + 10; yy++)
                for (int xx = ox; xx < ox + 10; xx++)
                    px[(ch * 64 + yy) * 64 + xx] = 250;
    }
}

static void test_train(void)
{
    enum { N = 40, BATCH = 16 };
    nn_dataset ds;
    make_dataset(&ds, N);
    uint32_t idx[N];
    for (uint32_t i = 0; i < N; i++)
        idx[i] = i;
    cs_err err;
    nn_model *m[2];
    nn_opt *o[2];
    nn_opt_cfg cfg = nn_opt_default(NN_OPT_ADAM, 1e-3f);
    for (int k = 0; k < 2; k++) {
        m[k] = nn_model_create(BATCH, &err);
        o[k] = nn_opt_create(&cfg, NN_PARAMS, &err);
        T_TRUE(m[k] && o[k]);
        if (!m[k] || !o[k])
            return;
        nn_model_init(m[k], 3);
    }
    prog pg = {0, 0, 0, NN_PHASE_EVAL};
    nn_train_set_progress(m[0], on_progress, &pg);
    cs_rng sh[2];
    cs_rng_derive(&sh[0], 3, CS_RNG_SHUFFLE, 0);
    cs_rng_derive(&sh[1], 3, CS_RNG_SHUFFLE, 0);
    nn_epoch_stats st[2], first = {0};
    for (int ep = 0; ep < 6; ep++) {
        for (int k = 0; k < 2; k++)
            T_EQ(nn_train_epoch(m[k], o[k], &ds, idx, N, BATCH, &sh[k], &st[k]), 0);
        if (ep == 0)
            first = st[0];
        T_EQ(st[0].images, N);
        T_EQ(st[0].batches, 3); /* 16 + 16 + 8: the last partial batch is kept */
        T_TRUE(st[0].mean_loss == st[1].mean_loss);
        T_TRUE(st[0].accuracy >= 0 && st[0].accuracy <= 1);
    }
    fprintf(stderr, "toy training: loss %.4f -> %.4f, accuracy %.2f -> %.2f\n", first.mean_loss,
            st[0].mean_loss, first.accuracy, st[0].accuracy);
    T_TRUE(st[0].mean_loss < 0.5 * first.mean_loss);
    T_EQ(pg.calls, 6 * 3);
    T_EQ(pg.last_done, N);
    T_EQ(pg.last_total, N);
    T_TRUE(pg.phase == NN_PHASE_TRAIN);
    /* same seeds -> the same model, bit for bit */
    T_MEMEQ(nn_model_state(m[0]), nn_model_state(m[1]), sizeof(float) * NN_STATE_FLOATS);
    for (int t = 0; t < NN_TRACKED; t++)
        T_EQ(nn_model_tracked(m[0])[t], 6 * 3);

    double acc = -1, loss = -1;
    pg.calls = 0;
    T_EQ(nn_evaluate(m[0], &ds, idx, N, &acc, &loss), 0);
    T_EQ(pg.calls, (N + NN_INFER_EVAL_BATCH - 1) / NN_INFER_EVAL_BATCH);
    T_TRUE(pg.phase == NN_PHASE_EVAL);
    T_TRUE(nn_model_training(m[0])); /* restored */
    fprintf(stderr, "toy evaluation: accuracy %.3f loss %.4f\n", acc, loss);
    T_TRUE(acc > 0.5 && acc <= 1.0);
    T_TRUE(loss > 0 && loss < first.mean_loss);
    /* evaluation agrees with a direct eval-mode forward + softmax-CE */
    nn_model_set_training(m[1], false);
    float x[BATCH * NN_IN_SIZE], lg[BATCH * NN_CLASSES];
    uint8_t y[BATCH];
    double total = 0;
    int right = 0;
    for (int at = 0; at < N; at += BATCH) {
        const int nb = N - at < BATCH ? N - at : BATCH;
        nn_data_batch(&ds, idx + at, (size_t)nb, x, y);
        nn_model_forward(m[1], x, nb, lg);
        int c = 0;
        total += nn_softmax_ce(nb, NN_CLASSES, lg, y, NULL, &c) * nb;
        right += c;
    }
    /* the same float forward, its dense layers on other batches (last bits of a logit) */
    T_NEAR_REL(loss, total / N, 1e-6, 0);
    T_NEAR(acc, (double)right / N, 0);

    /* bad arguments */
    T_EQ(nn_train_epoch(m[0], o[0], &ds, idx, N, BATCH + 1, NULL, NULL), CS_EINVAL);
    T_EQ(nn_train_epoch(m[0], o[0], &ds, idx, 0, BATCH, NULL, NULL), CS_EINVAL);
    uint32_t bad[2] = {0, N};
    T_EQ(nn_train_epoch(m[0], o[0], &ds, bad, 2, BATCH, NULL, NULL), CS_EINVAL);
    T_EQ(nn_evaluate(m[0], &ds, bad, 2, &acc, &loss), CS_EINVAL);
    nn_train_set_progress(m[0], NULL, NULL);
    for (int k = 0; k < 2; k++) {
        nn_opt_destroy(o[k]);
        nn_model_destroy(m[k]);
    }
    free(ds.pixels);
    free(ds.labels);
}

int main(void)
{
    cs_rng_derive(&rng, 99, CS_RNG_SYNTH, 0);
    conv_real("conv1", 3, 64, 32, 5, false, 7);
    conv_real("conv2", 32, 30, 64, 5, true, 8);
    conv_real("conv3", 64, 13, 96, 3, true, 11);
    fc1_real();
    pool_ties();
    test_views();
    test_init();
    test_opt();
    test_modes_and_threads();
    test_train();
    return t_done();
}
