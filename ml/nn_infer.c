/* nn_infer.c - evaluation-mode forward of the CNN without training buffers (nn_infer.h).
 *
 * One image at a time per thread, depth-first, in that thread's scratch (channels-last inside,
 * as the model):
 *   x (CHW) -conv1-> y -bnrp1-> p -conv2-> y -bnrp2-> p -conv3-> y -bnrp3-> p -> flat row (CHW)
 * y holds the largest conv output (conv1's 60x60x32), p the largest pooled one (30x30x32); each
 * stage overwrites a buffer whose contents the next stage no longer needs. The fused kernel's
 * argmax and y-at-argmax outputs (kept for backward in training) go to a scratch that is never
 * read. Then fc1, fc2, fc3 over the batch on the calling thread (one sgemm each; <1% of the
 * FLOPs). Every image's work depends on that image alone and the dense layers run on one
 * thread, so the logits do not depend on the thread count or on which thread takes which image:
 * images are handed out dynamically (one at a time, ~1 ms each), so a thread whose core is
 * shared with other work does not hold the batch back.
 */
#include "nn_infer.h"

#include "nn_internal.h"
#include "nn_layers.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define N_BLOCKS 3
#define N_CH 192 /* BatchNorm channels: 32 + 64 + 96 */
#define FLAT 2400
#define H_FC 128

struct nn_infer {
    int batch;
    int slots;    /* per-thread scratch areas */
    void *mem;    /* owned: the one allocation everything below lives in */
    size_t bytes; /* its size */

    nn__conv_block blk[N_BLOCKS];
    /* weights, prepared by nn_infer_load */
    float *wpack[N_BLOCKS];    /* conv weights packed for the kernels (nn_conv_pack) */
    float *sub, *scale, *beta; /* N_CH each: evaluation-mode BN for nn_bnrp_fwd */
    float *fw[3], *fb[3];      /* fc1..fc3 weights and biases */
    /* per slot */
    size_t slot_floats;                                 /* floats per slot (x, col, y, p, ymax) */
    float *slot;                                        /* slots * slot_floats */
    int8_t *slot_arg;                                   /* slots * p_floats */
    size_t x_at, col_at, y_at, p_at, ymax_at, p_floats; /* offsets inside a slot */
    /* per batch */
    float *flat, *h1, *h2; /* (batch, 2400), (batch, 128) x 2 */
    float *logits;         /* (batch, 10) */
    uint8_t *labels;       /* batch */
};

static size_t round_up(size_t n)
{
    return (n + 15) & ~(size_t)15; /* 64-byte multiples of floats */
}

int nn_infer_default_batch(void)
{
    long l2 = -1;
#ifdef _SC_LEVEL2_CACHE_SIZE
    l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    if (l2 <= 0)
        l2 = 1L << 20; /* unknown: assume 1 MiB, as most current x86 cores have at least */
    const long weights = (long)sizeof(float) * (2400L * H_FC + H_FC + H_FC * H_FC + H_FC +
                                                H_FC * NN_CLASSES + NN_CLASSES);
    const long row = (long)sizeof(float) * (FLAT + 2 * H_FC + NN_CLASSES);
    long b = (l2 - weights) / row;
    b -= b % 16;
    return b < 16 ? 16 : b > 256 ? 256 : (int)b;
}

static void layout(nn_infer *f, nn__carve *c)
{
    const size_t b = (size_t)f->batch, s = (size_t)f->slots;
    for (int l = 0; l < N_BLOCKS; l++)
        f->wpack[l] =
            nn__carve_take(c, nn_conv_pack_floats(&f->blk[l].dims, l == 0), sizeof(float));
    f->sub = nn__carve_take(c, N_CH, sizeof(float));
    f->scale = nn__carve_take(c, N_CH, sizeof(float));
    f->beta = nn__carve_take(c, N_CH, sizeof(float));
    static const int fin[3] = {FLAT, H_FC, H_FC}, fout[3] = {H_FC, H_FC, NN_CLASSES};
    for (int l = 0; l < 3; l++) {
        f->fw[l] = nn__carve_take(c, (size_t)fin[l] * fout[l], sizeof(float));
        f->fb[l] = nn__carve_take(c, (size_t)fout[l], sizeof(float));
    }
    size_t nslot;
    if (cs_size_mul(s, f->slot_floats, &nslot) != 0) {
        c->overflow = 1;
        return;
    }
    f->slot = nn__carve_take(c, nslot, sizeof(float));
    size_t narg;
    if (cs_size_mul(s, f->p_floats, &narg) != 0) {
        c->overflow = 1;
        return;
    }
    f->slot_arg = nn__carve_take(c, narg, sizeof(int8_t));
    size_t nflat, nh, nl;
    if (cs_size_mul(b, FLAT, &nflat) || cs_size_mul(b, H_FC, &nh) ||
        cs_size_mul(b, NN_CLASSES, &nl)) {
        c->overflow = 1;
        return;
    }
    f->flat = nn__carve_take(c, nflat, sizeof(float));
    f->h1 = nn__carve_take(c, nh, sizeof(float));
    f->h2 = nn__carve_take(c, nh, sizeof(float));
    f->logits = nn__carve_take(c, nl, sizeof(float));
    f->labels = nn__carve_take(c, b, sizeof(uint8_t));
}

nn_infer *nn_infer_create(int batch, cs_err *err)
{
    if (batch == 0)
        batch = nn_infer_default_batch();
    if (batch < 1 || batch > (1 << 20)) {
        cs_err_set(err, CS_EINVAL, NULL, 0, 0, "inference batch size %d out of range [1, %d]",
                   batch, 1 << 20);
        return NULL;
    }
    (void)nn_blas_core(); /* the BLAS kernel and thread setup, as nn_model_create does */
    nn_infer *f = calloc(1, sizeof *f);
    if (!f) {
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory for the inference context");
        return NULL;
    }
    f->batch = batch;
    int slots = 1;
#ifdef _OPENMP
    slots = omp_get_num_procs();
#endif
    if (slots < nn_threads())
        slots = nn_threads();
    f->slots = slots < 1 ? 1 : slots > 256 ? 256 : slots;

    /* One slot: the input image, the largest unfolded block, conv output and pooled output. */
    size_t col = 0, y = 0, p = 0;
    for (int l = 0; l < N_BLOCKS; l++) {
        f->blk[l] = nn__conv_block_of(l);
        const nn_conv_dims *d = &f->blk[l].dims;
        const size_t sc = nn_conv_scratch(d), sy = (size_t)d->oc * nn_conv_p(d);
        const size_t sp = (size_t)d->oc * f->blk[l].ph * f->blk[l].pw;
        col = sc > col ? sc : col;
        y = sy > y ? sy : y;
        p = sp > p ? sp : p;
    }
    CS_ASSERT((size_t)f->blk[2].dims.oc * f->blk[2].ph * f->blk[2].pw == FLAT);
    f->p_floats = round_up(p);
    f->x_at = 0;
    f->col_at = f->x_at + round_up(NN_IN_SIZE);
    f->y_at = f->col_at + round_up(col);
    f->p_at = f->y_at + round_up(y);
    f->ymax_at = f->p_at + f->p_floats;
    f->slot_floats = f->ymax_at + f->p_floats;

    nn__carve c = {NULL, 0, 0};
    layout(f, &c);
    void *mem = NULL;
    if (c.overflow || posix_memalign(&mem, 64, c.used) != 0 || !mem) {
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0,
                   "out of memory for the inference context (batch %d, %d threads)", batch,
                   f->slots);
        free(f);
        return NULL;
    }
    memset(mem, 0, c.used);
    f->mem = mem;
    f->bytes = c.used;
    nn__carve c2 = {mem, 0, 0};
    layout(f, &c2);
    CS_ASSERT(!c2.overflow && c2.used == c.used);
    return f;
}

void nn_infer_destroy(nn_infer *f)
{
    if (!f)
        return;
    free(f->mem);
    free(f);
}

int nn_infer_batch(const nn_infer *f)
{
    return f->batch;
}

size_t nn_infer_bytes(const nn_infer *f)
{
    return f->bytes;
}

void nn_infer_load(nn_infer *f, const float *state)
{
    for (int l = 0; l < N_BLOCKS; l++) {
        nn_conv_pack(&f->blk[l].dims, l == 0, state + f->blk[l].w_off, f->wpack[l]);
        const int ch0 = f->blk[l].ch0;
        nn__bn_eval_coeffs(state, l, f->sub + ch0, f->scale + ch0, f->beta + ch0);
    }
    static const int fin[3] = {FLAT, H_FC, H_FC}, fout[3] = {H_FC, H_FC, NN_CLASSES};
    for (int l = 0; l < 3; l++) {
        memcpy(f->fw[l], state + nn__dense_offset(l, 0), sizeof(float) * (size_t)fin[l] * fout[l]);
        memcpy(f->fb[l], state + nn__dense_offset(l, 1), sizeof(float) * (size_t)fout[l]);
    }
}

/* Image i of the batch: its normalised input x (CHW), through the conv blocks, into row i of
 * flat. t is the thread's slot. */
static void image_forward(nn_infer *f, const float *x, int i, int t)
{
    float *s = f->slot + (size_t)t * f->slot_floats;
    float *col = s + f->col_at, *y = s + f->y_at, *p = s + f->p_at, *ymax = s + f->ymax_at;
    int8_t *arg = f->slot_arg + (size_t)t * f->p_floats;
    for (int l = 0; l < N_BLOCKS; l++) {
        const nn__conv_block *b = &f->blk[l];
        const nn_conv_dims *d = &b->dims;
        nn_conv_forward(d, l == 0, l == 0 ? x : p, f->wpack[l], y, col);
        nn_bnrp_fwd(y, d->oh, d->ow, d->oc, f->sub + b->ch0, f->scale + b->ch0, f->beta + b->ch0, p,
                    arg, ymax);
    }
    const nn__conv_block *b3 = &f->blk[N_BLOCKS - 1];
    nn_hwc_to_chw(p, b3->ph, b3->pw, b3->dims.oc, f->flat + (size_t)i * FLAT);
}

static int slot_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int run_threads(const nn_infer *f, int n)
{
    int t = nn_threads() < f->slots ? nn_threads() : f->slots;
    return t > n ? n : t < 1 ? 1 : t;
}

static void dense(nn_infer *f, int n)
{
    nn_linear_fwd(n, FLAT, H_FC, f->flat, f->fw[0], f->fb[0], f->h1, 1);
    nn_linear_fwd(n, H_FC, H_FC, f->h1, f->fw[1], f->fb[1], f->h2, 1);
    nn_linear_fwd(n, H_FC, NN_CLASSES, f->h2, f->fw[2], f->fb[2], f->logits, 0);
}

void nn_infer_forward(nn_infer *f, const float *x, int n, float *logits)
{
    CS_ASSERT(n >= 1 && n <= f->batch);
    const int nt = run_threads(f, n);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(nt)
#endif
    for (int i = 0; i < n; i++)
        image_forward(f, x + (size_t)i * NN_IN_SIZE, i, slot_id());
    (void)nt;
    dense(f, n);
    memcpy(logits, f->logits, sizeof(float) * (size_t)n * NN_CLASSES);
}

/* A batch of dataset images: each normalised into its thread's slot, then forward. */
static void batch_from_dataset(nn_infer *f, const nn_dataset *ds, const uint32_t *idx, int n)
{
    const int nt = run_threads(f, n);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(nt)
#endif
    for (int i = 0; i < n; i++) {
        const int t = slot_id();
        float *x = f->slot + (size_t)t * f->slot_floats + f->x_at;
        nn_data_batch(ds, idx + i, 1, x, f->labels + i);
        image_forward(f, x, i, t);
    }
    (void)nt;
    dense(f, n);
}

int nn_infer_evaluate(nn_infer *f, const nn_dataset *ds, const uint32_t *idx, size_t n,
                      nn_progress_fn progress, void *user, double *accuracy, double *mean_loss)
{
    if (!f || !ds || !idx || n == 0)
        return CS_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= ds->n || ds->labels[idx[i]] >= NN_CLASSES)
            return CS_EINVAL;
    const size_t batch = (size_t)f->batch;
    double loss_sum = 0;
    size_t correct = 0;
    for (size_t at = 0; at < n; at += batch) {
        const size_t nb = n - at < batch ? n - at : batch;
        batch_from_dataset(f, ds, idx + at, (int)nb);
        int right = 0;
        loss_sum +=
            nn_softmax_ce((int)nb, NN_CLASSES, f->logits, f->labels, NULL, &right) * (double)nb;
        correct += (size_t)right;
        if (progress) {
            const size_t done = at + nb;
            const nn_progress p = {NN_PHASE_EVAL, done, n, loss_sum / (double)done,
                                   (double)correct / (double)done};
            progress(user, &p);
        }
    }
    if (accuracy)
        *accuracy = (double)correct / (double)n;
    if (mean_loss)
        *mean_loss = loss_sum / (double)n;
    return 0;
}

int nn_infer_evaluate_state(nn_infer *f, const float *state, const nn_dataset *ds,
                            const uint32_t *idx, size_t n, double *accuracy, double *mean_loss)
{
    if (!f || !state)
        return CS_EINVAL;
    nn_infer_load(f, state);
    return nn_infer_evaluate(f, ds, idx, n, NULL, NULL, accuracy, mean_loss);
}
