/* nn_opt.c - Adam and SGD (with momentum) with the semantics of torch.optim (PyTorch 1.13,
 * single-tensor path), elementwise in float like PyTorch's CPU kernels:
 *
 * Adam, step t (starting at 1), g = grad + weight_decay * p:
 *   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g * g
 *   p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * SGD, g = grad + weight_decay * p; with momentum mu > 0 (dampening 0, not Nesterov):
 *   b = g at the first step, else b = mu * b + g;   p -= lr * b      (without momentum p -= lr*g)
 */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct nn_opt {
    nn_opt_cfg cfg;
    size_t n;
    long step; /* steps taken */
    float *m;  /* owned: adam first moment or sgd momentum buffer (n) */
    float *v;  /* owned: adam second moment (n), NULL for sgd */
};

nn_opt_cfg nn_opt_default(nn_opt_kind kind, float lr)
{
    nn_opt_cfg c = {kind, lr, 0.9f, 0.999f, 1e-8f, 0.0f, 0.0f};
    return c;
}

nn_opt *nn_opt_create(const nn_opt_cfg *cfg, size_t n, cs_err *err)
{
    if (!cfg || n == 0 || (cfg->kind != NN_OPT_ADAM && cfg->kind != NN_OPT_SGD)) {
        cs_err_set(err, CS_EINVAL, NULL, 0, 0, "optimiser: bad configuration");
        return NULL;
    }
    if (!(cfg->lr >= 0.0f) || !(cfg->weight_decay >= 0.0f)) {
        cs_err_set(err, CS_EINVAL, NULL, 0, 0, "optimiser: lr %g and weight_decay %g must be >= 0",
                   (double)cfg->lr, (double)cfg->weight_decay);
        return NULL;
    }
    if (cfg->kind == NN_OPT_ADAM &&
        (!(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f) || !(cfg->beta2 >= 0.0f && cfg->beta2 < 1.0f) ||
         !(cfg->eps >= 0.0f))) {
        cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                   "optimiser: adam needs 0 <= beta1, beta2 < 1 and eps >= 0 (got %g, %g, %g)",
                   (double)cfg->beta1, (double)cfg->beta2, (double)cfg->eps);
        return NULL;
    }
    if (cfg->kind == NN_OPT_SGD && !(cfg->momentum >= 0.0f)) {
        cs_err_set(err, CS_EINVAL, NULL, 0, 0, "optimiser: sgd momentum %g must be >= 0",
                   (double)cfg->momentum);
        return NULL;
    }
    size_t bytes;
    const size_t arrays = cfg->kind == NN_OPT_ADAM ? 2 : 1;
    if (cs_size_mul(n, arrays * sizeof(float), &bytes) != 0) {
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "optimiser: %zu parameters overflow", n);
        return NULL;
    }
    nn_opt *o = calloc(1, sizeof *o);
    float *buf = calloc(1, bytes);
    if (!o || !buf) {
        free(o);
        free(buf);
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "optimiser: out of memory for %zu parameters", n);
        return NULL;
    }
    o->cfg = *cfg;
    o->n = n;
    o->m = buf;
    o->v = cfg->kind == NN_OPT_ADAM ? buf + n : NULL;
    return o;
}

void nn_opt_destroy(nn_opt *o)
{
    if (!o)
        return;
    free(o->m);
    free(o);
}

void nn_opt_reset(nn_opt *o)
{
    memset(o->m, 0, sizeof(float) * o->n);
    if (o->v)
        memset(o->v, 0, sizeof(float) * o->n);
    o->step = 0;
}

/* Elementwise, so splitting the range over threads changes nothing in the results. */
#define PAR_MIN 65536

static void adam_step(nn_opt *o, float *restrict p, const float *restrict g)
{
    const nn_opt_cfg *c = &o->cfg;
    const double t = (double)o->step;
    /* The scalars PyTorch computes in Python (double) and hands to the float kernels. */
    const float step_size = (float)(c->lr / (1.0 - pow(c->beta1, t)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(c->beta2, t));
    const float b1 = c->beta1, b2 = c->beta2, one_b1 = 1.0f - c->beta1, one_b2 = 1.0f - c->beta2;
    const float eps = c->eps, wd = c->weight_decay;
    float *restrict m = o->m, *restrict v = o->v;
    const long n = (long)o->n;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nn_threads()) if (n >= PAR_MIN)
#endif
    for (long i = 0; i < n; i++) {
        const float gi = wd != 0.0f ? g[i] + wd * p[i] : g[i];
        m[i] = m[i] * b1 + gi * one_b1;
        v[i] = v[i] * b2 + one_b2 * gi * gi;
        const float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] = p[i] + (-step_size) * (m[i] / denom);
    }
}

static void sgd_step(nn_opt *o, float *restrict p, const float *restrict g)
{
    const nn_opt_cfg *c = &o->cfg;
    const float lr = c->lr, wd = c->weight_decay, mu = c->momentum;
    float *restrict b = o->m;
    const int first = o->step == 1;
    const long n = (long)o->n;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nn_threads()) if (n >= PAR_MIN)
#endif
    for (long i = 0; i < n; i++) {
        float d = wd != 0.0f ? g[i] + wd * p[i] : g[i];
        if (mu != 0.0f) {
            b[i] = first ? d : b[i] * mu + d;
            d = b[i];
        }
        p[i] = p[i] + (-lr) * d;
    }
}

void nn_opt_step(nn_opt *o, float *params, const float *grads)
{
    o->step++;
    if (o->cfg.kind == NN_OPT_ADAM)
        adam_step(o, params, grads);
    else
        sgd_step(o, params, grads);
}
