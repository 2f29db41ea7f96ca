/* test_nn_golden.c - PyTorch equivalence: one training step of the C model against the same
 * step of the equivalent torch module (tests/torch_ref.py, torch 1.13).
 *
 * The C side writes an initialised state (with non-trivial BN parameters, running statistics
 * and counters) and a batch to a temporary file; torch_ref.py loads them into
 * torch.nn modules, runs forward + cross-entropy + backward + one torch.optim.Adam step in train
 * mode, then an eval-mode forward, and writes everything back. Compared here:
 *   loss, logits, every parameter gradient, BN running statistics, num_batches_tracked, the
 *   parameters after the Adam step, our Adam applied to torch's gradients, and eval-mode logits.
 * Exit code 77 (ctest SKIP) only when torch cannot be imported.
 */
#include "cs.h"
#include "cs_rng.h"
#include "nn.h"
#include "t.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { N = 16 };
static const float LR = 1e-3f;

typedef struct golden {
    float loss;
    float logits[N * NN_CLASSES];
    float *grads; /* NN_PARAMS */
    float buffers[NN_BUFFERS];
    int64_t tracked[NN_TRACKED];
    float *params; /* NN_PARAMS */
    float eval_logits[N * NN_CLASSES];
} golden;

static int write_input(const char *path, const float *state, const int64_t *tracked, const float *x,
                       const uint8_t *labels)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    const int32_t n = N;
    int ok = fwrite("NNGOLDI1", 1, 8, f) == 8;
    ok = ok && fwrite(&n, 4, 1, f) == 1 && fwrite(&LR, 4, 1, f) == 1;
    ok = ok && fwrite(state, sizeof(float), NN_STATE_FLOATS, f) == NN_STATE_FLOATS;
    ok = ok && fwrite(tracked, sizeof(int64_t), NN_TRACKED, f) == NN_TRACKED;
    ok = ok && fwrite(x, sizeof(float), (size_t)N * NN_IN_SIZE, f) == (size_t)N * NN_IN_SIZE;
    ok = ok && fwrite(labels, 1, N, f) == N;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int read_output(const char *path, golden *g)
{
    unsigned char *d = NULL;
    size_t len = 0;
    cs_err err;
    if (cs_read_file(path, &d, &len, &err) != 0)
        return -1;
    const size_t want =
        8 + 4 + 4 * (2 * N * NN_CLASSES + 2 * NN_PARAMS + NN_BUFFERS) + 8 * NN_TRACKED;
    if (len != want || memcmp(d, "NNGOLDO1", 8) != 0) {
        fprintf(stderr, "golden output: %zu bytes (want %zu) or bad magic\n", len, want);
        free(d);
        return -1;
    }
    size_t at = 8;
#define GET(dst, bytes) (memcpy((dst), d + at, (bytes)), at += (bytes))
    GET(&g->loss, 4);
    GET(g->logits, sizeof g->logits);
    GET(g->grads, sizeof(float) * NN_PARAMS);
    GET(g->buffers, sizeof g->buffers);
    GET(g->tracked, sizeof g->tracked);
    GET(g->params, sizeof(float) * NN_PARAMS);
    GET(g->eval_logits, sizeof g->eval_logits);
#undef GET
    free(d);
    return at == len ? 0 : -1;
}

static double maxabs(const float *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

static bool is_conv_bias(const nn_view *v)
{
    return strncmp(v->name, "conv", 4) == 0 && strstr(v->name, ".bias") != NULL;
}

/* The weight of the layer whose bias v is ("conv2.bias" -> "conv2.weight"). */
static const nn_view *weight_of(const nn_view *bias)
{
    char name[32];
    snprintf(name, sizeof name, "%.*s.weight", (int)(strstr(bias->name, ".bias") - bias->name),
             bias->name);
    return nn_view_find(name);
}

int main(void)
{
    const char *src = getenv("CONSTSIM_SOURCE_DIR");
    char script[1200];
    snprintf(script, sizeof script, "%s/tests/torch_ref.py", src && *src ? src : ".");
    char dir[] = "/tmp/cs_nn_golden_XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp failed\n");
        return 1;
    }
    char in_path[128], out_path[128];
    snprintf(in_path, sizeof in_path, "%s/in.bin", dir);
    snprintf(out_path, sizeof out_path, "%s/out.bin", dir);

    cs_err err;
    nn_model *m = nn_model_create(N, &err);
    T_TRUE(m != NULL);
    if (!m)
        return t_done();
    nn_model_init(m, 42);
    fprintf(stderr, "OpenBLAS core: %s\n", nn_blas_core());
    float *state = nn_model_state(m);
    cs_rng r;
    cs_rng_derive(&r, 42, CS_RNG_SYNTH, 1);
    /* BN parameters and statistics away from their defaults, so every term is exercised */
    size_t nv = 0;
    const nn_view *v = nn_views(&nv);
    for (size_t i = 0; i < nv; i++) {
        if (strncmp(v[i].name, "bn", 2) != 0 || v[i].store == NN_STORE_TRACKED)
            continue;
        const bool var = strstr(v[i].name, "running_var") != NULL;
        const bool weight = strstr(v[i].name, ".weight") != NULL;
        for (size_t j = 0; j < v[i].count; j++) {
            const double u = cs_rng_uniform(&r);
            state[v[i].offset + j] = (float)(var      ? 0.5 + 1.5 * u
                                             : weight ? 0.6 + 0.8 * u
                                                      : 0.4 * u - 0.2);
        }
    }
    int64_t *tracked = nn_model_tracked(m);
    for (int t = 0; t < NN_TRACKED; t++)
        tracked[t] = 5 + t;
    float *x = malloc(sizeof(float) * N * NN_IN_SIZE);
    uint8_t labels[N];
    float *state0 = malloc(sizeof(float) * NN_STATE_FLOATS);
    golden g;
    g.grads = malloc(sizeof(float) * NN_PARAMS);
    g.params = malloc(sizeof(float) * NN_PARAMS);
    if (!x || !state0 || !g.grads || !g.params)
        return 1;
    for (size_t i = 0; i < (size_t)N * NN_IN_SIZE; i++)
        x[i] = 2.0f * cs_rng_uniformf(&r) - 1.0f;
    for (int i = 0; i < N; i++)
        labels[i] = (uint8_t)(i % NN_CLASSES);
    memcpy(state0, state, sizeof(float) * NN_STATE_FLOATS);
    int64_t tracked0[NN_TRACKED];
    memcpy(tracked0, tracked, sizeof tracked0);

    T_EQ(write_input(in_path, state, tracked, x, labels), 0);
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s'", script, in_path, out_path);
    const int st = system(cmd);
    const int code = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code == 77 || code == 127) {
        fprintf(stderr, "SKIP: torch cannot be imported by /usr/bin/python3 (needed for the "
                        "PyTorch golden comparison)\n");
        unlink(in_path);
        rmdir(dir);
        return 77;
    }
    T_EQ(code, 0);
    if (code != 0 || read_output(out_path, &g) != 0) {
        T_TRUE(!"torch_ref.py produced no usable output");
        return t_done();
    }
    unlink(in_path);
    unlink(out_path);
    rmdir(dir);

    /* ---- the training forward + backward */
    nn_model_set_training(m, true);
    int correct = 0;
    const float loss = nn_model_forward_backward(m, x, labels, N, &correct);
    fprintf(stderr, "loss: constsim %.8f  torch %.8f\n", loss, g.loss);
    /* the loss inherits the logits' error (~1e-6, below), which does not shrink with the loss:
     * relative with a floor of 1 */
    T_NEAR_REL(loss, g.loss, 2e-6, 1.0);
    const float *lg = nn_model_logits(m);
    const double lscale = maxabs(g.logits, N * NN_CLASSES);
    double lerr = 0;
    T_MAX_REL_ERR(lerr, lg, g.logits, N * NN_CLASSES, lscale);
    fprintf(stderr, "logits: max|diff| / max|logit| %.3g (scale %.3g)\n", lerr, lscale);
    /* Relative to the logits' scale: float sums over K = 75..2400 products per layer in another
     * order than torch's (measured ~1e-6 of the scale); a missing term or a wrong sign moves
     * logits by a good fraction of the scale. */
    T_ARRAY_NEAR_REL(lg, g.logits, N * NN_CLASSES, 1e-5, lscale);

    /* Gradients, per tensor. Elementwise |ours - torch| <= 1e-4 * |torch| + 1e-5 * max|torch|:
     * a relative tolerance of 1e-4, with a floor at 1e-5 of the tensor's scale for elements that
     * are near zero by cancellation. The conv biases are the exception: BatchNorm subtracts the
     * batch mean, so their true gradient is exactly 0 (PyTorch's values are float rounding
     * noise, ~1e-6 of the layer's weight gradients or less); on both sides they must stay below
     * 1e-4 of the same layer's weight-gradient scale. A bias gradient that missed BN's
     * cancellation would be of the order of the BN bias gradient, ~0.1 of that scale. */
    const float *gr = nn_model_grads(m);
    for (size_t i = 0; i < nv; i++) {
        if (v[i].store != NN_STORE_PARAM)
            continue;
        const float *a = gr + v[i].offset, *b = g.grads + v[i].offset;
        const double scale = maxabs(b, v[i].count);
        if (is_conv_bias(&v[i])) {
            const nn_view *w = weight_of(&v[i]);
            T_TRUE(w != NULL);
            const double wscale = w ? maxabs(g.grads + w->offset, w->count) : 0;
            fprintf(stderr,
                    "  %-13s torch max|g| %.2e, ours %.2e (exactly 0 in exact arithmetic; "
                    "weight max|g| %.2e)\n",
                    v[i].name, scale, maxabs(a, v[i].count), wscale);
            T_TRUE(wscale > 0);
            T_NEAR_REL(scale, 0.0, 1e-4, wscale);
            T_NEAR_REL(maxabs(a, v[i].count), 0.0, 1e-4, wscale);
            continue;
        }
        double worst = 0, worst_ratio = 0;
        size_t bad = 0;
        for (size_t j = 0; j < v[i].count; j++) {
            const double d = fabs((double)a[j] - b[j]);
            const double tol = 1e-4 * fabs(b[j]) + 1e-5 * scale;
            worst = fmax(worst, d / scale);
            worst_ratio = fmax(worst_ratio, d / tol);
            bad += !(d <= tol);
        }
        fprintf(stderr, "  %-13s max|g| %.3e  max|diff|/max|g| %.2e  (%.2f of tolerance)\n",
                v[i].name, scale, worst, worst_ratio);
        T_TRUE(scale > 0);
        T_EQ(bad, 0);
    }

    /* running statistics (computed from the batch before the step), per tensor, and counters */
    for (size_t i = 0; i < nv; i++) {
        if (v[i].store != NN_STORE_BUFFER)
            continue;
        const float *a = state + v[i].offset, *b = g.buffers + (v[i].offset - NN_PARAMS);
        const double scale = maxabs(b, v[i].count);
        double e = 0;
        T_MAX_REL_ERR(e, a, b, v[i].count, 0.1 * scale);
        fprintf(stderr, "  %-17s max %.3e  max|diff| / max(|ref|, 0.1 max) %.2e\n", v[i].name,
                scale, e);
        /* 0.9 * old + 0.1 * the batch statistic: a few float roundings (measured up to 4e-7
         * over OpenBLAS kernel sets). The batch mean's error scales with the activations, not
         * with the mean, which can cancel to ~0: floor at 0.1 of the tensor's largest value.
         * A biased instead of unbiased variance shows as 3.6e-6 (bn2) and 1.6e-5 (bn3). */
        T_ARRAY_NEAR_REL(a, b, v[i].count, 2e-6, 0.1 * scale);
    }
    for (int t = 0; t < NN_TRACKED; t++) {
        T_EQ(tracked[t], g.tracked[t]);
        T_EQ(tracked[t], tracked0[t] + 1);
    }

    /* ---- the Adam step */
    nn_opt_cfg cfg = nn_opt_default(NN_OPT_ADAM, LR);
    nn_opt *o = nn_opt_create(&cfg, NN_PARAMS, &err);
    T_TRUE(o != NULL);
    if (!o)
        return t_done();
    nn_opt_step(o, state, gr);
    /* The first Adam step moves each parameter by lr * g / (|g| + eps) ~ lr * sign(g). Where
     * both gradients are clearly away from zero the results agree to float precision; where
     * |g| is within our gradient error of zero (and for the conv biases, whose gradient is
     * noise) the sign itself is undetermined, so only |step| <= lr is required there.
     * Float rounding alone (see "our Adam on torch's gradients" below for the count) stays
     * within 8 * FLT_EPSILON * max(|p|, lr). A wrong sign or bias correction moves p by ~lr. */
    size_t undetermined = 0, determined = 0, pbad = 0;
    double perr = 0, pratio = 0, sens_max = 0;
    for (size_t i = 0; i < nv; i++) {
        if (v[i].store != NN_STORE_PARAM)
            continue;
        const double scale = maxabs(g.grads + v[i].offset, v[i].count);
        for (size_t j = v[i].offset; j < v[i].offset + v[i].count; j++) {
            const double d = fabs((double)state[j] - g.params[j]);
            const bool both_zero = g.grads[j] == 0.0f && gr[j] == 0.0f; /* e.g. dead inputs */
            const double round = 8 * FLT_EPSILON * fmax(fabs(g.params[j]), LR);
            if (is_conv_bias(&v[i]) || (fabs(g.grads[j]) < 1e-4 * scale && !both_zero)) {
                undetermined++;
                /* each side moved by at most lr, up to the roundings */
                T_TRUE(d <= 2.0 * LR + round);
                T_TRUE(fabs((double)state[j] - state0[j]) <=
                       LR + 8 * FLT_EPSILON * fmax(fabs(state0[j]), LR));
                continue;
            }
            /* The step is lr * g / (|g| + eps): its sensitivity to a gradient error dg is
             * lr * eps / (|g| + eps)^2 * dg, and dg is bounded by the gradient tolerance above;
             * 1.5x that, plus the float roundings. Where both gradients are exactly 0 neither
             * side moves. */
            determined++;
            const double ag = fabs(g.grads[j]), eps = 1e-8;
            const double dg = 1e-4 * ag + 1e-5 * scale;
            const double sens = both_zero ? 0 : 1.5 * LR * eps / ((ag + eps) * (ag + eps)) * dg;
            const double tol = sens + round;
            sens_max = fmax(sens_max, sens);
            perr = fmax(perr, d);
            pratio = fmax(pratio, d / tol);
            pbad += !(d <= tol);
        }
    }
    fprintf(stderr,
            "after Adam: %zu parameters agree to %.3g (%.2f of their tolerance, largest "
            "sensitivity allowance %.3g); %zu with |g| < 1e-4 max|g| (sign undetermined) within "
            "2 lr\n",
            determined, perr, pratio, sens_max, undetermined);
    T_EQ(pbad, 0);
    /* As a whole: the gradient-sensitivity part within 2e-3 of lr (the step is proportional to
     * lr; the allowance above reaches that only for |g| near 1e-4 max|g| of the least-scaled
     * tensors), plus the rounding of the largest parameter. */
    const double pmax = maxabs(g.params, NN_PARAMS);
    T_TRUE(perr <= 2e-3 * LR + 8 * FLT_EPSILON * pmax);
    T_TRUE(undetermined < NN_PARAMS / 200);

    /* our Adam on torch's own gradients: the optimiser alone, elementwise */
    nn_opt_reset(o);
    float *p2 = malloc(sizeof(float) * NN_PARAMS);
    memcpy(p2, state0, sizeof(float) * NN_PARAMS);
    nn_opt_step(o, p2, g.grads);
    double oerr = 0, orel = 0;
    for (size_t j = 0; j < NN_PARAMS; j++)
        oerr = fmax(oerr, fabs((double)p2[j] - g.params[j]));
    T_MAX_REL_ERR(orel, p2, g.params, NN_PARAMS, LR);
    fprintf(stderr,
            "Adam on torch's gradients: max|diff| %.3g, max|diff| / max(|p|, lr) %.3g "
            "(%.2f FLT_EPSILON)\n",
            oerr, orel, orel / FLT_EPSILON);
    /* The same gradients, so only the roundings differ: half an ulp of p on each side
     * (ulp(p) <= FLT_EPSILON * |p|), and each side's step lr * m / (sqrt(v) / bc2 + eps) goes
     * through ~7 float roundings in its own order (torch's bias corrections are in double),
     * up to 3.5 FLT_EPSILON of |step| <= lr per side (measured: 3 FLT_EPSILON at most).
     * 8 * FLT_EPSILON * max(|p|, lr) bounds both. A wrong sign or bias correction is off by
     * ~lr, i.e. 1e4 times more. */
    T_ARRAY_NEAR_REL(p2, g.params, NN_PARAMS, 8 * FLT_EPSILON, LR);

    /* ---- eval mode on torch's post-step state: running statistics and the conv bias in use */
    memcpy(state, g.params, sizeof(float) * NN_PARAMS);
    memcpy(state + NN_PARAMS, g.buffers, sizeof(float) * NN_BUFFERS);
    nn_model_set_training(m, false);
    float elog[N * NN_CLASSES];
    nn_model_forward(m, x, N, elog);
    const double escale = maxabs(g.eval_logits, N * NN_CLASSES);
    double eerr = 0;
    T_MAX_REL_ERR(eerr, elog, g.eval_logits, N * NN_CLASSES, escale);
    fprintf(stderr, "eval logits: max|diff| / max|logit| %.3g (scale %.3g)\n", eerr, escale);
    /* as the training-mode logits above: relative to the logits' scale */
    T_ARRAY_NEAR_REL(elog, g.eval_logits, N * NN_CLASSES, 1e-5, escale);
    for (int t = 0; t < NN_TRACKED; t++)
        T_EQ(tracked[t], g.tracked[t]); /* eval leaves the counters alone */

    free(p2);
    free(x);
    free(state0);
    free(g.grads);
    free(g.params);
    nn_opt_destroy(o);
    nn_model_destroy(m);
    return t_done();
}
