/* test_nn_infer.c - the inference path (ml/nn_infer.h) against the training model's
 * evaluation-mode forward, on the real shapes (3x64x64 in, 10 logits out).
 *
 * The inference path calls the model's own kernels with the model's blocking and the same
 * BatchNorm coefficients, so when the dense layers see the same rows per sgemm as the model's
 * forward (the same batch partition) the logits must be equal bit for bit, for every thread count
 * (1, 2, 3). With another partition OpenBLAS may take another kernel for the dense layers (its
 * small-matrix path depends on M) and sum fc1's 2400 products in another order: the logits then
 * agree to 1e-5 of the row's largest logit (float rounding of 2400-term sums, observed ~3e-7),
 * accuracy equal, the loss to 1e-6 relative.
 *
 *   test_nn_infer            synthetic images and a toy dataset
 *   test_nn_infer eurosat    the same checks on 300 real EuroSAT images after 8 training steps
 *                            (exit 77, SKIP, without the dataset)
 */
#include "cs_rng.h"
#include "nn.h"
#include "nn_codec.h"
#include "nn_data.h"
#include "nn_infer.h"
#include "nn_layers.h"
#include "nn_ptq.h"
#include "nn_train.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

static void *xalloc(size_t bytes)
{
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* A model with non-trivial evaluation-mode BatchNorm: running means and variances drawn at
 * random (var in [0.5, 2)), BN weights and biases moved off 1 and 0. */
static nn_model *make_model(int batch, uint64_t seed)
{
    cs_err err;
    nn_model *m = nn_model_create(batch, &err);
    if (!m) {
        cs_err_print(&err, stderr);
        exit(1);
    }
    nn_model_init(m, seed);
    float *s = nn_model_state(m);
    cs_rng r;
    cs_rng_derive(&r, seed, CS_RNG_SYNTH, 11);
    size_t nv;
    const nn_view *v = nn_views(&nv);
    for (size_t i = 0; i < nv; i++) {
        const bool rm = strstr(v[i].name, "running_mean") != NULL;
        const bool rv = strstr(v[i].name, "running_var") != NULL;
        const bool bn = strncmp(v[i].name, "bn", 2) == 0 && v[i].store == NN_STORE_PARAM;
        for (size_t j = 0; j < v[i].count && (rm || rv || bn); j++) {
            const float u = cs_rng_uniformf(&r);
            float *p = &s[v[i].offset + j];
            *p = rm ? 0.2f * (u - 0.5f) : rv ? 0.5f + 1.5f * u : *p + 0.3f * (u - 0.5f);
        }
    }
    nn_model_set_training(m, false);
    return m;
}

static nn_infer *make_infer(int batch)
{
    cs_err err;
    nn_infer *f = nn_infer_create(batch, &err);
    if (!f) {
        cs_err_print(&err, stderr);
        exit(1);
    }
    return f;
}

/* Synthetic normalised images: uniform in [-1, 1). */
static float *make_images(int n, uint64_t seed)
{
    float *x = xalloc(sizeof(float) * (size_t)n * NN_IN_SIZE);
    cs_rng r;
    cs_rng_derive(&r, seed, CS_RNG_SYNTH, 12);
    for (size_t i = 0; i < (size_t)n * NN_IN_SIZE; i++)
        x[i] = 2.0f * cs_rng_uniformf(&r) - 1.0f;
    return x;
}

/* Logits of n images equal to the reference's within tol of each row's largest magnitude. */
static void near_logits(const float *got, const float *ref, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++) {
        double mx = 0;
        for (int j = 0; j < NN_CLASSES; j++)
            mx = fmax(mx, fabs((double)ref[i * NN_CLASSES + j]));
        for (int j = 0; j < NN_CLASSES; j++)
            T_NEAR(got[i * NN_CLASSES + j], ref[i * NN_CLASSES + j], tol * mx);
    }
}

/* Logits of the inference path in chunks of `chunk` images. */
static void infer_logits(nn_infer *f, const float *x, int n, int chunk, float *logits)
{
    for (int at = 0; at < n; at += chunk) {
        const int nb = n - at < chunk ? n - at : chunk;
        nn_infer_forward(f, x + (size_t)at * NN_IN_SIZE, nb, logits + (size_t)at * NN_CLASSES);
    }
}

static void test_forward(void)
{
    enum { N = 7 };
    nn_set_threads(3); /* contexts and models get at least 3 scratch slots */
    nn_model *m = make_model(N, 5);
    float *x = make_images(N, 5);
    float ref[N * NN_CLASSES], got[N * NN_CLASSES];
    nn_set_threads(1);
    nn_model_forward(m, x, N, ref);
    double mag = 0;
    for (int i = 0; i < N * NN_CLASSES; i++)
        mag += (double)ref[i] * ref[i];
    T_TRUE(mag > 0); /* the comparison compares something */

    nn_set_threads(3);
    nn_infer *f = make_infer(16);
    nn_infer_load(f, nn_model_state(m));
    T_EQ(nn_infer_batch(f), 16);
    T_TRUE(nn_infer_bytes(f) > 0);
    static const int chunks[] = {7, 4, 3, 1};
    for (int t = 1; t <= 3; t++) {
        nn_set_threads(t);
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            memset(got, 0xff, sizeof got);
            infer_logits(f, x, N, chunks[c], got);
            if (chunks[c] == N) /* the model's partition: its bits */
                T_MEMEQ(got, ref, sizeof ref);
            else
                near_logits(got, ref, N, 1e-5);
        }
    }
    /* the model's own forward, on 2 and 3 threads, gives the same logits too (the reference is
     * thread-independent, as the inference path) */
    for (int t = 2; t <= 3; t++) {
        nn_set_threads(t);
        nn_model_forward(m, x, N, got);
        T_MEMEQ(got, ref, sizeof ref);
    }
    /* loading another state replaces every weight: a second model's logits */
    nn_model *m2 = make_model(N, 6);
    nn_set_threads(2);
    nn_model_forward(m2, x, N, ref);
    nn_infer_load(f, nn_model_state(m2));
    infer_logits(f, x, N, N, got);
    T_MEMEQ(got, ref, sizeof ref);

    nn_infer_destroy(f);
    nn_model_destroy(m2);
    nn_model_destroy(m);
    free(x);
    nn_set_threads(1);
}

static void test_create(void)
{
    cs_err err;
    const int b = nn_infer_default_batch();
    fprintf(stderr, "default inference batch %d\n", b);
    T_TRUE(b >= 16 && b <= 256 && b % 16 == 0);
    nn_infer *f = nn_infer_create(0, &err);
    T_TRUE(f != NULL);
    if (f) {
        T_EQ(nn_infer_batch(f), b);
        /* no training buffers: weights, per-thread scratch (~1.4 MiB) and the batch rows */
        fprintf(stderr, "inference context (batch %d): %.2f MiB\n", b,
                (double)nn_infer_bytes(f) / (1 << 20));
    }
    nn_infer_destroy(f);
    T_TRUE(nn_infer_create(-1, &err) == NULL);
    T_EQ(err.code, CS_EINVAL);
    nn_infer_destroy(NULL);
}

typedef struct prog {
    int calls;
    size_t last_done;
} prog;

static void on_progress(void *user, const nn_progress *p)
{
    prog *g = user;
    g->calls++;
    g->last_done = p->done;
    T_TRUE(p->phase == NN_PHASE_EVAL);
}

/* Reference evaluation: the training model's eval-mode forward in batches of its max_batch. */
static void model_eval(nn_model *m, const nn_dataset *ds, const uint32_t *idx, size_t n,
                       float *logits, double *acc, double *loss)
{
    const int b = nn_model_max_batch(m);
    float *x = xalloc(sizeof(float) * (size_t)b * NN_IN_SIZE);
    uint8_t *y = xalloc((size_t)b);
    double total = 0;
    size_t right = 0;
    for (size_t at = 0; at < n; at += (size_t)b) {
        const size_t nb = n - at < (size_t)b ? n - at : (size_t)b;
        nn_data_batch(ds, idx + at, nb, x, y);
        nn_model_forward(m, x, (int)nb, logits + at * NN_CLASSES);
        int c = 0;
        total +=
            nn_softmax_ce((int)nb, NN_CLASSES, logits + at * NN_CLASSES, y, NULL, &c) * (double)nb;
        right += (size_t)c;
    }
    *acc = (double)right / (double)n;
    *loss = total / (double)n;
    free(x);
    free(y);
}

/* The inference path's logits of dataset images (normalised as nn_data_batch does). */
static void infer_eval_logits(nn_infer *f, const nn_dataset *ds, const uint32_t *idx, size_t n,
                              float *logits)
{
    float *x = xalloc(sizeof(float) * n * NN_IN_SIZE);
    nn_data_batch(ds, idx, n, x, NULL);
    infer_logits(f, x, (int)n, nn_infer_batch(f), logits);
    free(x);
}

/* Every check of evaluation on (ds, idx[0..n)) with model m as the reference. */
static void check_evaluation(nn_model *m, const nn_dataset *ds, const uint32_t *idx, size_t n)
{
    float *ref = xalloc(sizeof(float) * n * NN_CLASSES);
    float *got = xalloc(sizeof(float) * n * NN_CLASSES);
    double racc, rloss;
    nn_set_threads(1);
    model_eval(m, ds, idx, n, ref, &racc, &rloss);
    fprintf(stderr, "reference evaluation of %zu images: accuracy %.4f loss %.6f\n", n, racc,
            rloss);
    nn_set_threads(3);
    nn_infer *fb[2] = {make_infer(nn_model_max_batch(m)), make_infer(0)};
    for (int k = 0; k < 2; k++) {
        const int b = nn_infer_batch(fb[k]);
        for (int t = 1; t <= 3; t++) {
            nn_set_threads(t);
            double acc = -1, loss = -1;
            prog pg = {0, 0};
            nn_infer_load(fb[k], nn_model_state(m));
            T_EQ(nn_infer_evaluate(fb[k], ds, idx, n, on_progress, &pg, &acc, &loss), 0);
            T_EQ(pg.calls, (int)((n + (size_t)b - 1) / (size_t)b));
            T_EQ(pg.last_done, n);
            const bool same = b == nn_model_max_batch(m); /* the model's partition */
            T_NEAR(acc, racc, 0);
            if (same)
                T_TRUE(loss == rloss); /* the same logits, summed in the same groups */
            else
                T_NEAR_REL(loss, rloss, 1e-6, 0);
            double acc2 = -1, loss2 = -1;
            T_EQ(nn_infer_evaluate_state(fb[k], nn_model_state(m), ds, idx, n, &acc2, &loss2), 0);
            T_TRUE(acc2 == acc && loss2 == loss);
            memset(got, 0xff, sizeof(float) * n * NN_CLASSES);
            infer_eval_logits(fb[k], ds, idx, n, got);
            if (same)
                T_MEMEQ(got, ref, sizeof(float) * n * NN_CLASSES);
            else
                near_logits(got, ref, n, 1e-5);
        }
    }
    /* nn_evaluate is the inference path in batches of NN_INFER_EVAL_BATCH: those bits */
    nn_infer *fe = make_infer(NN_INFER_EVAL_BATCH);
    double eacc = -1, eloss = -1;
    T_EQ(nn_infer_evaluate_state(fe, nn_model_state(m), ds, idx, n, &eacc, &eloss), 0);
    nn_infer_destroy(fe);
    for (int t = 1; t <= 3; t++) {
        nn_set_threads(t);
        double acc = -1, loss = -1;
        nn_model_set_training(m, true);
        T_EQ(nn_evaluate(m, ds, idx, n, &acc, &loss), 0);
        T_TRUE(nn_model_training(m)); /* not touched */
        T_TRUE(acc == eacc && loss == eloss);
        nn_model_set_training(m, false);
    }
    nn_infer_destroy(fb[0]);
    nn_infer_destroy(fb[1]);
    free(ref);
    free(got);
    nn_set_threads(1);
}

/* PTQ on the inference path: without a work model, and with one (its state gets the decoded
 * weights), the same rows; FP32 equal to the reference evaluation. */
static void check_ptq(nn_model *m, const nn_dataset *ds, const uint32_t *idx, size_t n)
{
    cs_err err;
    cs_err_clear(&err);
    nn_ptq_row a[NN_PTQ_ROWS], b[NN_PTQ_ROWS];
    nn_set_threads(2);
    T_EQ(nn_ptq_run(NULL, nn_model_state(m), nn_model_tracked(m), ds, idx, n, a, &err), 0);
    nn_model *work = nn_model_create(4, &err);
    T_TRUE(work != NULL);
    if (!work)
        return;
    T_EQ(nn_ptq_run(work, nn_model_state(m), nn_model_tracked(m), ds, idx, n, b, &err), 0);
    T_TRUE(!nn_model_training(work));
    for (int p = 0; p < NN_PTQ_ROWS; p++) {
        T_TRUE(a[p].accuracy == b[p].accuracy && a[p].loss == b[p].loss);
        T_EQ_U64(a[p].file_bytes, b[p].file_bytes);
        fprintf(stderr, "ptq %s: accuracy %.4f loss %.6f\n", nn_precision_name((nn_precision)p),
                a[p].accuracy, a[p].loss);
    }
    /* the work model holds the last (ternary) decoding */
    float *dec = xalloc(sizeof(float) * NN_STATE_FLOATS);
    int64_t tr[NN_TRACKED];
    T_EQ(nn_codec_decode(b[NN_PTQ_ROWS - 1].payload, b[NN_PTQ_ROWS - 1].file_bytes, NULL, dec, tr, NULL,
                         &err),
         0);
    T_MEMEQ(dec, nn_model_state(work), sizeof(float) * NN_STATE_FLOATS);
    double racc, rloss;
    float *lg = xalloc(sizeof(float) * n * NN_CLASSES);
    model_eval(m, ds, idx, n, lg, &racc, &rloss);
    T_TRUE(a[NN_PREC_FP32].accuracy == racc);
    T_NEAR_REL(a[NN_PREC_FP32].loss, rloss, 1e-6, 0); /* another batch partition, as above */
    free(lg);
    free(dec);
    nn_ptq_free(a);
    nn_ptq_free(b);
    nn_model_destroy(work);
    nn_set_threads(1);
}

/* A toy dataset: uint8 pixels at random, labels in turn. */
static void make_dataset(nn_dataset *ds, size_t n)
{
    memset(ds, 0, sizeof *ds);
    ds->n = n;
    ds->pixels = xalloc(n * NN_IN_SIZE);
    ds->labels = xalloc(n);
    cs_rng r;
    cs_rng_derive(&r, 31, CS_RNG_SYNTH, 13);
    for (size_t i = 0; i < n; i++) {
        ds->labels[i] = (uint8_t)(i % NN_CLASSES);
        for (int j = 0; j < NN_IN_SIZE; j++)
            ds->pixels[i * NN_IN_SIZE + j] = (uint8_t)cs_rng_below(&r, 256);
    }
}

static void test_evaluate(void)
{
    enum { N = 45, BATCH = 8 };
    nn_dataset ds;
    make_dataset(&ds, N);
    uint32_t idx[N];
    for (uint32_t i = 0; i < N; i++)
        idx[i] = (uint32_t)((i * 7) % N); /* not in order */
    nn_set_threads(3);
    nn_model *m = make_model(BATCH, 9);
    check_evaluation(m, &ds, idx, N);
    check_ptq(m, &ds, idx, N);

    /* bad arguments */
    nn_infer *f = make_infer(8);
    double acc, loss;
    uint32_t bad[2] = {0, N};
    T_EQ(nn_infer_evaluate(f, &ds, bad, 2, NULL, NULL, &acc, &loss), CS_EINVAL);
    T_EQ(nn_infer_evaluate(f, &ds, idx, 0, NULL, NULL, &acc, &loss), CS_EINVAL);
    T_EQ(nn_infer_evaluate_state(f, NULL, &ds, idx, N, &acc, &loss), CS_EINVAL);
    T_EQ(nn_evaluate(m, &ds, bad, 2, &acc, &loss), CS_EINVAL);
    ds.labels[3] = NN_CLASSES;
    T_EQ(nn_infer_evaluate(f, &ds, idx, N, NULL, NULL, &acc, &loss), CS_EINVAL);
    nn_infer_destroy(f);
    nn_model_destroy(m);
    free(ds.pixels);
    free(ds.labels);
}

static int test_eurosat(void)
{
    char root[1024];
    cs_err err;
    if (nn_data_find_root(NULL, root, sizeof root, &err) != 0) {
        fprintf(stderr, "SKIP: EuroSAT not found: %s\n", err.msg);
        return 77;
    }
    nn_dataset ds;
    if (nn_data_load(root, 2, &ds, &err) != 0) {
        cs_err_print(&err, stderr);
        return 1;
    }
    enum { N = 300, TRAIN = 256, BATCH = 32 };
    uint32_t idx[N], tr[TRAIN];
    for (size_t i = 0; i < N; i++) /* spread over all classes */
        idx[i] = (uint32_t)(i * ds.n / N);
    for (size_t i = 0; i < TRAIN; i++)
        tr[i] = (uint32_t)(i * ds.n / TRAIN + 7);
    nn_set_threads(3);
    nn_model *m = nn_model_create(BATCH, &err);
    nn_opt_cfg cfg = nn_opt_default(NN_OPT_ADAM, 1e-3f);
    nn_opt *o = nn_opt_create(&cfg, NN_PARAMS, &err);
    T_TRUE(m && o);
    if (!m || !o)
        return t_done();
    nn_model_init(m, 1);
    nn_set_threads(2);
    cs_rng sh;
    cs_rng_derive(&sh, 1, CS_RNG_SHUFFLE, 0);
    T_EQ(nn_train_epoch(m, o, &ds, tr, TRAIN, BATCH, &sh, NULL), 0); /* 8 steps: real BN stats */
    nn_model_set_training(m, false);
    check_evaluation(m, &ds, idx, N);
    check_ptq(m, &ds, idx, N);
    nn_opt_destroy(o);
    nn_model_destroy(m);
    nn_data_free(&ds);
    return t_done();
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "eurosat") == 0)
        return test_eurosat();
    test_create();
    /* on both convolution paths: the model's kernels are the inference path's */
    for (int direct = 1; direct >= 0; direct--) {
        fprintf(stderr, "%s convolutions\n",
                nn_conv_set_direct(direct) ? "direct" : "im2col/im2row + sgemm");
        test_forward();
        test_evaluate();
    }
    nn_conv_set_direct(true);
    return t_done();
}
