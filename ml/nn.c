/* nn.c - the EuroSAT CNN: state views, one-allocation model, forward and backward over a batch,
 * initialisation, thread and BLAS setup.
 *
 * Activations are channels-last (H,W,C) per image (see nn_layers.h). Data flow of one
 * training step (n images, per-image loops spread over threads):
 *   A: y1 = conv1(x)        (x is CHW, y1 HWC)        + per-image channel stats of y1
 *   B: p1 = bnrp1(y1); y2 = conv2(p1)                  + stats of y2
 *   C: p2 = bnrp2(y2); y3 = conv3(p2)                  + stats of y3
 *   D: p3 = bnrp3(y3); flat = p3 in C,H,W order (the row of fc1, as PyTorch's flatten)
 *   fc1, relu, fc2, relu, fc3, softmax-CE (whole batch, one sgemm per layer)
 *   backward: fc3..fc1 -> dflat -> dp3 (HWC); D': per-image BN sums of block 3;
 *   C': dy3, conv3 weight grad and dp2, sums of block 2; B': dy2, conv2 grads, dp1, sums of
 *   block 1; A': dy1, conv1 weight grad.
 * Between loops, per-channel statistics are reduced over images in index order (serial, tiny),
 * so BN results do not depend on the thread count. Conv weight gradients are accumulated per
 * thread and summed in thread order. The convolution bias never enters y: BatchNorm removes any
 * per-channel constant in training, so the bias only shifts the running mean (and enters
 * evaluation through sub = running_mean - bias).
 */
#include "nn.h"

#include "cs_rng.h"
#include "nn_internal.h"
#include "nn_layers.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---------------------------------------------------------------- views */

#define V_PARAM(nm, off, cnt, nd, s0, s1, s2, s3, pc)                                              \
    {                                                                                              \
        nm, NN_STORE_PARAM, off, cnt, nd, {s0, s1, s2, s3}, pc                                     \
    }
#define V_BUF(nm, off, cnt)                                                                        \
    {                                                                                              \
        nm, NN_STORE_BUFFER, NN_PARAMS + (off), cnt, 1, {cnt, 0, 0, 0}, false                      \
    }
#define V_TRK(nm, idx)                                                                             \
    {                                                                                              \
        nm, NN_STORE_TRACKED, idx, 1, 0, {0, 0, 0, 0}, false                                       \
    }

/* Parameter offsets (floats into state). */
enum {
    OFF_C1W = 0,
    OFF_C1B = 2400,
    OFF_BN1W = 2432,
    OFF_BN1B = 2464,
    OFF_C2W = 2496,
    OFF_C2B = 53696,
    OFF_BN2W = 53760,
    OFF_BN2B = 53824,
    OFF_C3W = 53888,
    OFF_C3B = 109184,
    OFF_BN3W = 109280,
    OFF_BN3B = 109376,
    OFF_F1W = 109472,
    OFF_F1B = 416672,
    OFF_F2W = 416800,
    OFF_F2B = 433184,
    OFF_F3W = 433312,
    OFF_F3B = 434592,
    OFF_END = 434602,
};
_Static_assert(OFF_END == NN_PARAMS, "parameter layout");

static const nn_view views[] = {
    V_PARAM("conv1.weight", OFF_C1W, 2400, 4, 32, 3, 5, 5, true),
    V_PARAM("conv1.bias", OFF_C1B, 32, 1, 32, 0, 0, 0, false),
    V_PARAM("bn1.weight", OFF_BN1W, 32, 1, 32, 0, 0, 0, false),
    V_PARAM("bn1.bias", OFF_BN1B, 32, 1, 32, 0, 0, 0, false),
    V_BUF("bn1.running_mean", 0, 32),
    V_BUF("bn1.running_var", 32, 32),
    V_TRK("bn1.num_batches_tracked", 0),
    V_PARAM("conv2.weight", OFF_C2W, 51200, 4, 64, 32, 5, 5, true),
    V_PARAM("conv2.bias", OFF_C2B, 64, 1, 64, 0, 0, 0, false),
    V_PARAM("bn2.weight", OFF_BN2W, 64, 1, 64, 0, 0, 0, false),
    V_PARAM("bn2.bias", OFF_BN2B, 64, 1, 64, 0, 0, 0, false),
    V_BUF("bn2.running_mean", 64, 64),
    V_BUF("bn2.running_var", 128, 64),
    V_TRK("bn2.num_batches_tracked", 1),
    V_PARAM("conv3.weight", OFF_C3W, 55296, 4, 96, 64, 3, 3, true),
    V_PARAM("conv3.bias", OFF_C3B, 96, 1, 96, 0, 0, 0, false),
    V_PARAM("bn3.weight", OFF_BN3W, 96, 1, 96, 0, 0, 0, false),
    V_PARAM("bn3.bias", OFF_BN3B, 96, 1, 96, 0, 0, 0, false),
    V_BUF("bn3.running_mean", 192, 96),
    V_BUF("bn3.running_var", 288, 96),
    V_TRK("bn3.num_batches_tracked", 2),
    V_PARAM("fc1.weight", OFF_F1W, 307200, 2, 128, 2400, 0, 0, true),
    V_PARAM("fc1.bias", OFF_F1B, 128, 1, 128, 0, 0, 0, false),
    V_PARAM("fc2.weight", OFF_F2W, 16384, 2, 128, 128, 0, 0, true),
    V_PARAM("fc2.bias", OFF_F2B, 128, 1, 128, 0, 0, 0, false),
    V_PARAM("fc3.weight", OFF_F3W, 1280, 2, 10, 128, 0, 0, true),
    V_PARAM("fc3.bias", OFF_F3B, 10, 1, 10, 0, 0, 0, false),
};
#define N_VIEWS (sizeof views / sizeof views[0])

const nn_view *nn_views(size_t *count)
{
    if (count)
        *count = N_VIEWS;
    return views;
}

const nn_view *nn_view_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_VIEWS; i++)
        if (strcmp(views[i].name, name) == 0)
            return &views[i];
    return NULL;
}

/* ---------------------------------------------------------------- the conv blocks */

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1
#define N_CH 192 /* 32 + 64 + 96 BatchNorm channels */

typedef struct block {
    int c, h, w, oc, k;   /* input C,H,W; output channels; kernel size */
    int oh, ow, ph, pw;   /* conv output, pooled output */
    size_t w_off, b_off;  /* conv weight and bias in state */
    size_t g_off, be_off; /* BN weight and bias in state */
    size_t rm_off, rv_off;
    int ch0;      /* first channel in the N_CH per-channel arrays */
    size_t dw0;   /* offset of this conv's weight in a thread's dw partial */
    size_t whwc0; /* offset of its packed weights in w_hwc (nn_conv_pack) */
} block;

static const block blocks[3] = {
    {3, 64, 64, 32, 5, 60, 60, 30, 30, OFF_C1W, OFF_C1B, OFF_BN1W, OFF_BN1B, NN_PARAMS + 0,
     NN_PARAMS + 32, 0, 0, 2 * (51200 + 55296)},
    {32, 30, 30, 64, 5, 26, 26, 13, 13, OFF_C2W, OFF_C2B, OFF_BN2W, OFF_BN2B, NN_PARAMS + 64,
     NN_PARAMS + 128, 32, 2400, 0},
    {64, 13, 13, 96, 3, 11, 11, 5, 5, OFF_C3W, OFF_C3B, OFF_BN3W, OFF_BN3B, NN_PARAMS + 192,
     NN_PARAMS + 288, 96, 2400 + 51200, 2 * 51200},
};
/* a thread's conv weight-gradient partials: conv1 transposed (K, OC), conv2/3 in the layout of
 * nn_conv_backward (direct kernels: (KH,KW,C,OC); GEMM: (OC,KH,KW,C)) */
#define DW_FLOATS (2400 + 51200 + 55296)
/* The batch's images are split into at most GRAD_GROUPS contiguous groups (as evenly as the
 * batch allows, whatever the thread count); each group accumulates its conv weight gradients in
 * image order into its own partial, and the partials are summed in group order. Threads take
 * whole groups, so the gradients are the same bits for any thread count. 8 groups keep up to 8
 * threads busy and cost 8 x 427 KiB. */
#define GRAD_GROUPS 8
#define WHWC_FLOATS (2 * (51200 + 55296) + 2400) /* nn_conv_pack_floats of conv2, conv3, conv1 */
#define COL_FLOATS (800 * 8 * 26) /* the largest im2row block: conv2, 8 output rows */
#define DY_FLOATS (32 * 60 * 60)  /* the largest conv output of one image: conv1 */
#define Y1 (32 * 60 * 60)
#define Y2 (64 * 26 * 26)
#define Y3 (96 * 11 * 11)
#define P1 (32 * 30 * 30)
#define P2 (64 * 13 * 13)
#define P3 (96 * 5 * 5)
#define H_FC 128
_Static_assert(P3 == 2400, "flatten size");

/* Output rows per im2col/im2row block, so that the unfolded block (K x rows*OW floats: 88, 650
 * and 272 KiB) stays in L2 while its GEMMs run; measured best on AVX-512 OpenBLAS kernels. */
static const int chunk_rows_of[3] = {5, 8, 11};

static nn_conv_dims block_dims(const block *b)
{
    nn_conv_dims d = nn_conv_dims_make(b->c, b->h, b->w, b->oc, b->k, b->k);
    d.chunk_rows = chunk_rows_of[b - blocks];
    return d;
}

/* ---------------------------------------------------------------- threads and BLAS */

static int g_threads = 1;
static _Thread_local int tl_threads; /* nn_set_local_threads; 0: g_threads */
static pthread_once_t g_blas_once = PTHREAD_ONCE_INIT;

/* Exported by DYNAMIC_ARCH builds of OpenBLAS (weak: absent elsewhere, then nothing happens). */
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

static void blas_apply_threads(void)
{
#ifdef _OPENMP
    openblas_set_num_threads(1);
#else
    openblas_set_num_threads(g_threads);
#endif
}

static void blas_setup_once(void)
{
    const char *core = openblas_get_corename();
    if (!getenv("OPENBLAS_CORETYPE") && gotoblas_dynamic_init && gotoblas_dynamic_quit && core &&
        strcmp(core, "Prescott") == 0) {
        /* The generic fallback on a CPU this OpenBLAS does not know: pick by features. */
        const char *want = NULL;
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
            want = "SkylakeX";
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            want = "Haswell";
        if (want && setenv("OPENBLAS_CORETYPE", want, 1) == 0) {
            gotoblas_dynamic_quit();
            gotoblas_dynamic_init();
            unsetenv("OPENBLAS_CORETYPE");
        }
    }
    blas_apply_threads();
}

static void blas_setup(void)
{
    pthread_once(&g_blas_once, blas_setup_once);
}

void nn_set_threads(int threads)
{
    blas_setup();
    g_threads = threads < 1 ? 1 : threads > 256 ? 256 : threads;
    blas_apply_threads();
}

void nn_set_local_threads(int threads)
{
    blas_setup();
    tl_threads = threads < 1 ? 0 : threads > 256 ? 256 : threads;
}

int nn_threads(void)
{
    return tl_threads ? tl_threads : g_threads;
}

const char *nn_blas_core(void)
{
    blas_setup();
    return openblas_get_corename();
}

nn_blas_info nn_blas_describe(void)
{
    blas_setup();
    return (nn_blas_info){.library = "OpenBLAS",
                          .config = openblas_get_config(),
                          .core = openblas_get_corename(),
                          .threads = openblas_get_num_threads()};
}

const char *nn_conv_kernels(void)
{
    int direct = 0;
    for (int l = 0; l < 3; l++) {
        const nn_conv_dims d = block_dims(&blocks[l]);
        direct += nn_conv_direct(&d, l == 0);
    }
    return direct == 3 ? "direct-avx512" : direct == 0 ? "im2col-sgemm" : "mixed";
}

/* ---------------------------------------------------------------- the model */

struct nn_model {
    int max_batch;
    int slots; /* per-thread workspaces */
    bool training;
    void *block;  /* owned: the one allocation everything below lives in */
    size_t bytes; /* its size */

    float *state;     /* NN_STATE_FLOATS */
    int64_t *tracked; /* NN_TRACKED */
    float *grads;     /* NN_PARAMS */

    /* activations for max_batch images */
    float *y[3];         /* conv outputs (without bias): Y1, Y2, Y3 per image */
    float *p[3];         /* pooled outputs: P1, P2, P3 per image */
    int8_t *arg[3];      /* argmax per pooled output */
    float *ymax[3];      /* conv output at the argmax, per pooled output */
    float *dp[3];        /* gradients of the pooled outputs */
    float *flat, *dflat; /* fc1 input (n, 2400) in C,H,W order, and its gradient */
    float *w_hwc;        /* conv weights packed for the kernels (nn_conv_pack) by each forward */
    float *h1, *h2;      /* fc1, fc2 outputs after relu (n, 128) */
    float *dh1, *dh2;
    float *logits, *dlogits; /* (n, 10) */
    const float *x;          /* borrowed: the input of the last forward */

    /* per image, per BN channel (n, N_CH) */
    double *img_mean, *img_m2, *img_sdz, *img_sdzx;
    /* per BN channel: batch statistics and kernel coefficients */
    double *mean; /* batch mean of y (without bias) */
    float *sub, *scale, *istd, *beta_f, *c0, *c1, *ca;

    /* per thread slot */
    float *ws_col; /* slots * COL_FLOATS */
    float *ws_dy;  /* slots * DY_FLOATS */
    float *ws_dw;  /* GRAD_GROUPS * DW_FLOATS: conv weight gradients per group of images */

    /* batch buffers for nn_train / nn_evaluate */
    float *xbuf;   /* max_batch * NN_IN_SIZE */
    uint8_t *ybuf; /* max_batch */
    float *lbuf;   /* max_batch * NN_CLASSES */
    nn__hook hook;
};

static void model_layout(nn_model *m, nn__carve *c)
{
    const size_t b = (size_t)m->max_batch, s = (size_t)m->slots;
    m->state = nn__carve_take(c, NN_STATE_FLOATS, sizeof(float));
    m->tracked = nn__carve_take(c, NN_TRACKED, sizeof(int64_t));
    m->grads = nn__carve_take(c, NN_PARAMS, sizeof(float));
    static const size_t ysz[3] = {Y1, Y2, Y3}, psz[3] = {P1, P2, P3};
    for (int l = 0; l < 3; l++) {
        size_t ny, np;
        if (cs_size_mul(b, ysz[l], &ny) || cs_size_mul(b, psz[l], &np)) {
            c->overflow = 1;
            return;
        }
        m->y[l] = nn__carve_take(c, ny, sizeof(float));
        m->p[l] = nn__carve_take(c, np, sizeof(float));
        m->arg[l] = nn__carve_take(c, np, sizeof(int8_t));
        m->ymax[l] = nn__carve_take(c, np, sizeof(float));
        m->dp[l] = nn__carve_take(c, np, sizeof(float));
    }
    size_t nh, nl, nch;
    if (cs_size_mul(b, H_FC, &nh) || cs_size_mul(b, NN_CLASSES, &nl) ||
        cs_size_mul(b, N_CH, &nch)) {
        c->overflow = 1;
        return;
    }
    size_t nflat;
    if (cs_size_mul(b, P3, &nflat)) {
        c->overflow = 1;
        return;
    }
    m->flat = nn__carve_take(c, nflat, sizeof(float));
    m->dflat = nn__carve_take(c, nflat, sizeof(float));
    m->w_hwc = nn__carve_take(c, WHWC_FLOATS, sizeof(float));
    m->h1 = nn__carve_take(c, nh, sizeof(float));
    m->h2 = nn__carve_take(c, nh, sizeof(float));
    m->dh1 = nn__carve_take(c, nh, sizeof(float));
    m->dh2 = nn__carve_take(c, nh, sizeof(float));
    m->logits = nn__carve_take(c, nl, sizeof(float));
    m->dlogits = nn__carve_take(c, nl, sizeof(float));
    m->img_mean = nn__carve_take(c, nch, sizeof(double));
    m->img_m2 = nn__carve_take(c, nch, sizeof(double));
    m->img_sdz = nn__carve_take(c, nch, sizeof(double));
    m->img_sdzx = nn__carve_take(c, nch, sizeof(double));
    m->mean = nn__carve_take(c, N_CH, sizeof(double));
    m->sub = nn__carve_take(c, N_CH, sizeof(float));
    m->scale = nn__carve_take(c, N_CH, sizeof(float));
    m->istd = nn__carve_take(c, N_CH, sizeof(float));
    m->beta_f = nn__carve_take(c, N_CH, sizeof(float));
    m->c0 = nn__carve_take(c, N_CH, sizeof(float));
    m->c1 = nn__carve_take(c, N_CH, sizeof(float));
    m->ca = nn__carve_take(c, N_CH, sizeof(float));
    size_t ncol, ndy, ndw, nx;
    if (cs_size_mul(s, COL_FLOATS, &ncol) || cs_size_mul(s, DY_FLOATS, &ndy) ||
        cs_size_mul(GRAD_GROUPS, DW_FLOATS, &ndw) || cs_size_mul(b, NN_IN_SIZE, &nx)) {
        c->overflow = 1;
        return;
    }
    m->ws_col = nn__carve_take(c, ncol, sizeof(float));
    m->ws_dy = nn__carve_take(c, ndy, sizeof(float));
    m->ws_dw = nn__carve_take(c, ndw, sizeof(float));
    m->xbuf = nn__carve_take(c, nx, sizeof(float));
    m->ybuf = nn__carve_take(c, b, sizeof(uint8_t));
    m->lbuf = nn__carve_take(c, nl, sizeof(float));
}

nn_model *nn_model_create(int max_batch, cs_err *err)
{
    if (max_batch < 1 || max_batch > (1 << 20)) {
        cs_err_set(err, CS_EINVAL, NULL, 0, 0, "model batch size %d out of range [1, %d]",
                   max_batch, 1 << 20);
        return NULL;
    }
    blas_setup();
    nn_model *m = calloc(1, sizeof *m);
    if (!m) {
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory for the model");
        return NULL;
    }
    m->max_batch = max_batch;
    int slots = 1;
#ifdef _OPENMP
    slots = omp_get_num_procs();
#endif
    if (slots < nn_threads())
        slots = nn_threads();
    m->slots = slots < 1 ? 1 : slots > 256 ? 256 : slots;
    m->training = true;
    for (int l = 0; l < 3; l++) {
        const nn_conv_dims d = block_dims(&blocks[l]);
        CS_ASSERT(nn_conv_scratch(&d) <= COL_FLOATS &&
                  blocks[l].whwc0 + nn_conv_pack_floats(&d, l == 0) <= WHWC_FLOATS);
    }

    nn__carve c = {NULL, 0, 0};
    model_layout(m, &c);
    if (c.overflow) {
        free(m);
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "model for batch %d: size overflow", max_batch);
        return NULL;
    }
    void *mem = NULL;
    if (posix_memalign(&mem, 64, c.used) != 0 || !mem) {
        free(m);
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory for the model (%zu MiB for batch %d)",
                   c.used >> 20, max_batch);
        return NULL;
    }
    memset(mem, 0, c.used);
    m->block = mem;
    m->bytes = c.used;
    nn__carve c2 = {mem, 0, 0};
    model_layout(m, &c2);
    CS_ASSERT(!c2.overflow && c2.used == c.used);
    return m;
}

void nn_model_destroy(nn_model *m)
{
    if (!m)
        return;
    free(m->block);
    free(m);
}

float *nn_model_state(nn_model *m)
{
    return m->state;
}
int64_t *nn_model_tracked(nn_model *m)
{
    return m->tracked;
}
float *nn_model_grads(nn_model *m)
{
    return m->grads;
}
int nn_model_max_batch(const nn_model *m)
{
    return m->max_batch;
}
size_t nn_model_bytes(const nn_model *m)
{
    return m->bytes;
}
void nn_model_set_training(nn_model *m, bool training)
{
    m->training = training;
}
bool nn_model_training(const nn_model *m)
{
    return m->training;
}
const float *nn_model_logits(const nn_model *m)
{
    return m->logits;
}
float *nn__model_xbuf(nn_model *m)
{
    return m->xbuf;
}
uint8_t *nn__model_ybuf(nn_model *m)
{
    return m->ybuf;
}
float *nn__model_logits_buf(nn_model *m)
{
    return m->lbuf;
}
nn__hook *nn__model_hook(nn_model *m)
{
    return &m->hook;
}

void nn_state_init(float *s, int64_t *tracked, uint64_t seed)
{
    cs_rng r;
    cs_rng_derive(&r, seed, CS_RNG_INIT, 0);
    /* Views in state order; a weight's fan-in also bounds the bias that follows it. */
    double bound = 0;
    for (size_t i = 0; i < N_VIEWS; i++) {
        const nn_view *v = &views[i];
        if (v->store != NN_STORE_PARAM)
            continue;
        const bool is_bn = strncmp(v->name, "bn", 2) == 0;
        if (is_bn) {
            const bool weight = strstr(v->name, ".weight") != NULL;
            for (size_t j = 0; j < v->count; j++)
                s[v->offset + j] = weight ? 1.0f : 0.0f;
            continue;
        }
        if (v->per_channel)
            bound = 1.0 / sqrt((double)(v->count / (size_t)v->shape[0]));
        CS_ASSERT(bound > 0);
        for (size_t j = 0; j < v->count; j++)
            s[v->offset + j] = (float)((2.0 * cs_rng_uniform(&r) - 1.0) * bound);
    }
    for (int l = 0; l < 3; l++) {
        const block *b = &blocks[l];
        for (int c = 0; c < b->oc; c++) {
            s[b->rm_off + c] = 0.0f;
            s[b->rv_off + c] = 1.0f;
        }
    }
    for (int t = 0; t < NN_TRACKED; t++)
        tracked[t] = 0;
}

void nn_model_init(nn_model *m, uint64_t seed)
{
    nn_state_init(m->state, m->tracked, seed);
    memset(m->grads, 0, sizeof(float) * NN_PARAMS);
}

double nn_model_train_flops_per_image(void)
{
    double macs_fwd = 0, macs_dx = 0;
    for (int l = 0; l < 3; l++) {
        const block *b = &blocks[l];
        const double macs = (double)b->oc * b->c * b->k * b->k * b->oh * b->ow;
        macs_fwd += macs;
        if (l > 0)
            macs_dx += macs;
    }
    const double fc = 2400.0 * H_FC + (double)H_FC * H_FC + (double)H_FC * NN_CLASSES;
    macs_fwd += fc;
    macs_dx += fc;
    /* forward, weight gradients (same count as forward), input gradients */
    return 2.0 * (2.0 * macs_fwd + macs_dx);
}

/* ---------------------------------------------------------------- forward */

static int run_threads(const nn_model *m, int n)
{
    const int want = nn_threads();
    int t = want < m->slots ? want : m->slots;
    return t > n ? n : t;
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Batch statistics of block l from the per-image stats; the coefficients of the fused
 * forward; the running statistics update (training). */
static void block_stats_train(nn_model *m, int l, int n)
{
    const block *b = &blocks[l];
    const double p = (double)b->oh * b->ow, cnt = p * n;
    float *s = m->state;
    for (int c = 0; c < b->oc; c++) {
        const int ch = b->ch0 + c;
        double mean = 0;
        for (int i = 0; i < n; i++)
            mean += m->img_mean[(size_t)i * N_CH + ch];
        mean /= n;
        double m2 = 0, dm2 = 0;
        for (int i = 0; i < n; i++) {
            const double d = m->img_mean[(size_t)i * N_CH + ch] - mean;
            m2 += m->img_m2[(size_t)i * N_CH + ch];
            dm2 += d * d;
        }
        const double var = (m2 + p * dm2) / cnt; /* biased: used to normalise */
        const double istd = 1.0 / sqrt(var + BN_EPS);
        const double gamma = s[b->g_off + c];
        m->mean[ch] = mean;
        m->sub[ch] = (float)mean;
        m->istd[ch] = (float)istd;
        m->scale[ch] = (float)(gamma * istd);
        m->beta_f[ch] = s[b->be_off + c];
        const double unbiased = cnt > 1 ? var * cnt / (cnt - 1) : var;
        const double bias = s[b->b_off + c];
        s[b->rm_off + c] =
            (float)((1.0 - BN_MOMENTUM) * s[b->rm_off + c] + BN_MOMENTUM * (mean + bias));
        s[b->rv_off + c] = (float)((1.0 - BN_MOMENTUM) * s[b->rv_off + c] + BN_MOMENTUM * unbiased);
    }
    m->tracked[l] += 1;
}

/* Evaluation-mode BatchNorm of channel c of block b: y + bias - running_mean =
 * y - (running_mean - bias), times 1 / sqrt(running_var + eps). */
static void bn_eval_channel(const float *s, const block *b, int c, double *sub, double *istd)
{
    *istd = 1.0 / sqrt((double)s[b->rv_off + c] + BN_EPS);
    *sub = (double)s[b->rm_off + c] - (double)s[b->b_off + c];
}

static void block_stats_eval(nn_model *m, int l)
{
    const block *b = &blocks[l];
    const float *s = m->state;
    for (int c = 0; c < b->oc; c++) {
        const int ch = b->ch0 + c;
        double sub, istd;
        bn_eval_channel(s, b, c, &sub, &istd);
        m->mean[ch] = sub;
        m->sub[ch] = (float)sub;
        m->istd[ch] = (float)istd;
        m->scale[ch] = (float)(s[b->g_off + c] * istd);
        m->beta_f[ch] = s[b->be_off + c];
    }
}

static void block_stats(nn_model *m, int l, int n)
{
    if (m->training)
        block_stats_train(m, l, n);
    else
        block_stats_eval(m, l);
}

/* Loop body: pooled output of block l-1 for image i (l >= 1), then conv of block l and its stats.
 * l == 3 pools block 2 and writes the flattened row of fc1. */
static void forward_image(nn_model *m, int l, int i, int t)
{
    float *col = m->ws_col + (size_t)t * COL_FLOATS;
    const float *in = NULL;
    if (l > 0) {
        const block *pb = &blocks[l - 1];
        const size_t psz = (size_t)pb->oc * pb->ph * pb->pw, ysz = (size_t)pb->oc * pb->oh * pb->ow;
        float *pi = m->p[l - 1] + i * psz;
        nn_bnrp_fwd(m->y[l - 1] + i * ysz, pb->oh, pb->ow, pb->oc, m->sub + pb->ch0,
                    m->scale + pb->ch0, m->beta_f + pb->ch0, pi, m->arg[l - 1] + i * psz,
                    m->ymax[l - 1] + i * psz);
        in = pi;
        if (l == 3) {
            nn_hwc_to_chw(pi, pb->ph, pb->pw, pb->oc, m->flat + i * psz);
            return;
        }
    }
    const block *b = &blocks[l];
    const nn_conv_dims d = block_dims(b);
    const size_t ysz = (size_t)b->oc * b->oh * b->ow;
    float *yi = m->y[l] + i * ysz;
    if (l == 0)
        nn_conv_forward(&d, true, m->x + (size_t)i * NN_IN_SIZE, m->w_hwc + b->whwc0, yi, col);
    else
        nn_conv_forward(&d, false, in, m->w_hwc + b->whwc0, yi, col);
    if (m->training)
        nn_hwc_stats(yi, b->oh * b->ow, b->oc, m->img_mean + (size_t)i * N_CH + b->ch0,
                     m->img_m2 + (size_t)i * N_CH + b->ch0);
}

static void forward(nn_model *m, const float *x, int n)
{
    CS_ASSERT(n >= 1 && n <= m->max_batch);
    m->x = x;
    const int nt = run_threads(m, n);
    for (int l = 0; l < 3; l++) {
        const nn_conv_dims d = block_dims(&blocks[l]);
        nn_conv_pack(&d, l == 0, m->state + blocks[l].w_off, m->w_hwc + blocks[l].whwc0);
    }
    for (int l = 0; l <= 3; l++) {
        if (l > 0)
            block_stats(m, l - 1, n);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
        for (int i = 0; i < n; i++)
            forward_image(m, l, i, thread_id());
    }
    (void)nt;
    const float *s = m->state;
    nn_linear_fwd(n, P3, H_FC, m->flat, s + OFF_F1W, s + OFF_F1B, m->h1, 1);
    nn_linear_fwd(n, H_FC, H_FC, m->h1, s + OFF_F2W, s + OFF_F2B, m->h2, 1);
    nn_linear_fwd(n, H_FC, NN_CLASSES, m->h2, s + OFF_F3W, s + OFF_F3B, m->logits, 0);
}

void nn_model_forward(nn_model *m, const float *x, int n, float *logits)
{
    forward(m, x, n);
    memcpy(logits, m->logits, sizeof(float) * (size_t)n * NN_CLASSES);
}

/* ---------------------------------------------------------------- backward */

/* Per-channel sums of block l over the batch -> BN parameter grads, conv bias grad, and the
 * coefficients of dy = c0 + c1 * y + a * dz. */
static void block_coeffs(nn_model *m, int l, int n)
{
    const block *b = &blocks[l];
    const double cnt = (double)b->oh * b->ow * n;
    const float *s = m->state;
    float *g = m->grads;
    for (int c = 0; c < b->oc; c++) {
        const int ch = b->ch0 + c;
        double sdz = 0, sdzx = 0;
        for (int i = 0; i < n; i++) {
            sdz += m->img_sdz[(size_t)i * N_CH + ch];
            sdzx += m->img_sdzx[(size_t)i * N_CH + ch];
        }
        const double istd = m->istd[ch];
        const double a = (double)s[b->g_off + c] * istd;
        double c0 = 0, c1 = 0;
        if (m->training) {
            c1 = -a * istd * sdzx / cnt;
            c0 = -a * sdz / cnt - c1 * m->mean[ch];
        }
        g[b->g_off + c] = (float)sdzx;
        g[b->be_off + c] = (float)sdz;
        /* sum of dy over the batch: cnt*c0 + c1*sum(y) + a*sdz, and sum(y) = cnt*mean in
         * training (so this is 0 up to rounding: BN removes the conv bias); a*sdz in eval. */
        g[b->b_off + c] =
            (float)(m->training ? cnt * c0 + c1 * cnt * m->mean[ch] + a * sdz : a * sdz);
        m->c0[ch] = (float)c0;
        m->c1[ch] = (float)c1;
        m->ca[ch] = (float)a;
    }
}

/* BN sums of block l for image i from dp[l]. */
static void sums_image(nn_model *m, int l, int i)
{
    const block *b = &blocks[l];
    const size_t psz = (size_t)b->oc * b->ph * b->pw;
    nn_bnrp_sums(m->ymax[l] + i * psz, m->dp[l] + i * psz, m->arg[l] + i * psz, b->ph * b->pw,
                 b->oc, m->sub + b->ch0, m->istd + b->ch0, m->img_sdz + (size_t)i * N_CH + b->ch0,
                 m->img_sdzx + (size_t)i * N_CH + b->ch0);
}

/* Loop body: dy of block l for image i, the conv weight grad, and for l >= 1 the gradient of
 * the previous block's pooled output with its BN sums. */
static void backward_image(nn_model *m, int l, int i, int t, int grp)
{
    const block *b = &blocks[l];
    const nn_conv_dims d = block_dims(b);
    const size_t ysz = (size_t)b->oc * b->oh * b->ow, psz = (size_t)b->oc * b->ph * b->pw;
    float *dy = m->ws_dy + (size_t)t * DY_FLOATS;
    nn_bnrp_bwd(m->y[l] + i * ysz, m->dp[l] + i * psz, m->arg[l] + i * psz, b->oh, b->ow, b->oc,
                m->c0 + b->ch0, m->c1 + b->ch0, m->ca + b->ch0, dy);
    float *dw = m->ws_dw + (size_t)grp * DW_FLOATS + b->dw0;
    float *col = m->ws_col + (size_t)t * COL_FLOATS;
    if (l == 0) {
        nn_conv_backward(&d, true, m->x + (size_t)i * NN_IN_SIZE, m->w_hwc + b->whwc0, dy, dw, NULL,
                         col);
        return;
    }
    const block *pb = &blocks[l - 1];
    const size_t ipsz = (size_t)pb->oc * pb->ph * pb->pw;
    nn_conv_backward(&d, false, m->p[l - 1] + i * ipsz, m->w_hwc + b->whwc0, dy, dw,
                     m->dp[l - 1] + i * ipsz, col);
    sums_image(m, l - 1, i);
}

/* Block 3's pooled gradient from fc1 (C,H,W order) to HWC, and its BN sums. */
static void unflatten_image(nn_model *m, int i)
{
    const block *b = &blocks[2];
    const size_t psz = (size_t)b->oc * b->ph * b->pw;
    nn_chw_to_hwc(m->dflat + i * psz, b->oc, b->ph, b->pw, m->dp[2] + i * psz);
    sums_image(m, 2, i);
}

static void backward(nn_model *m, int n)
{
    const int nt = run_threads(m, n);
    const float *s = m->state;
    float *g = m->grads;
    nn_linear_bwd(n, H_FC, NN_CLASSES, m->h2, s + OFF_F3W, NULL, m->dlogits, g + OFF_F3W,
                  g + OFF_F3B, m->dh2);
    nn_linear_bwd(n, H_FC, H_FC, m->h1, s + OFF_F2W, m->h2, m->dh2, g + OFF_F2W, g + OFF_F2B,
                  m->dh1);
    nn_linear_bwd(n, P3, H_FC, m->flat, s + OFF_F1W, m->h1, m->dh1, g + OFF_F1W, g + OFF_F1B,
                  m->dflat);
    const int groups = n < GRAD_GROUPS ? n : GRAD_GROUPS;
    const int gt = nt < groups ? nt : groups;
    memset(m->ws_dw, 0, sizeof(float) * (size_t)groups * DW_FLOATS);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (int i = 0; i < n; i++)
        unflatten_image(m, i);
    for (int l = 2; l >= 0; l--) {
        block_coeffs(m, l, n);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(gt)
#endif
        for (int grp = 0; grp < groups; grp++) {
            const int t = thread_id();
            const int i0 = (int)((long)grp * n / groups), i1 = (int)((long)(grp + 1) * n / groups);
            for (int i = i0; i < i1; i++)
                backward_image(m, l, i, t, grp);
        }
    }
    (void)gt;
    /* conv weight grads: group partials summed in group order into group 0's, then back to
     * PyTorch's layout */
    float *acc = m->ws_dw;
    for (int t = 1; t < groups; t++) {
        const float *pt = m->ws_dw + (size_t)t * DW_FLOATS;
        for (size_t j = 0; j < DW_FLOATS; j++)
            acc[j] += pt[j];
    }
    const block *b1 = &blocks[0];
    const int k1 = b1->c * b1->k * b1->k;
    for (int o = 0; o < b1->oc; o++)
        for (int k = 0; k < k1; k++)
            g[b1->w_off + (size_t)o * k1 + k] = acc[b1->dw0 + (size_t)k * b1->oc + o];
    for (int l = 1; l < 3; l++) {
        const block *b = &blocks[l];
        const nn_conv_dims d = block_dims(b);
        memset(g + b->w_off, 0, sizeof(float) * (size_t)b->oc * nn_conv_k(&d));
        nn_conv_grad_add(&d, false, acc + b->dw0, g + b->w_off);
    }
}

float nn_model_forward_backward(nn_model *m, const float *x, const uint8_t *labels, int n,
                                int *correct)
{
    forward(m, x, n);
    const double loss = nn_softmax_ce(n, NN_CLASSES, m->logits, labels, m->dlogits, correct);
    backward(m, n);
    return (float)loss;
}

/* ---------------------------------------------------------------- for the inference path */

nn__conv_block nn__conv_block_of(int l)
{
    CS_ASSERT(l >= 0 && l < 3);
    const block *b = &blocks[l];
    return (nn__conv_block){block_dims(b), b->ph, b->pw, b->w_off, b->ch0};
}

void nn__bn_eval_coeffs(const float *state, int l, float *sub, float *scale, float *beta)
{
    CS_ASSERT(l >= 0 && l < 3);
    const block *b = &blocks[l];
    for (int c = 0; c < b->oc; c++) {
        double sb, istd;
        bn_eval_channel(state, b, c, &sb, &istd);
        sub[c] = (float)sb;
        scale[c] = (float)(state[b->g_off + c] * istd);
        beta[c] = state[b->be_off + c];
    }
}

size_t nn__dense_offset(int layer, int bias)
{
    static const size_t off[3][2] = {{OFF_F1W, OFF_F1B}, {OFF_F2W, OFF_F2B}, {OFF_F3W, OFF_F3B}};
    CS_ASSERT(layer >= 0 && layer < 3);
    return off[layer][bias != 0];
}
