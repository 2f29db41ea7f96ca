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
#ifdef __AVX512F__
#include <immintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

struct nn_opt {
    nn_opt_cfg cfg;
    size_t n;
    long step; /* steps taken */
    float *m;  /* owned: adam first moment or sgd momentum buffer (n) */
    float *v;  /* owned: adam second moment (n), NULL for sgd */
};

const char *nn_opt_kind_name(nn_opt_kind k)
{
    static const char *const names[NN_OPT_KINDS] = {"adam", "sgd"};
    CS_ASSERT((unsigned)k < NN_OPT_KINDS);
    return names[k];
}

nn_opt_cfg nn_opt_default(nn_opt_kind kind, float lr)
{
    nn_opt_cfg c = {kind, lr, 0.9f, 0.999f, 1e-8f, 0.0f, 0.0f};
    return c;
}

void nn_opt_set_lr(nn_opt *o, float lr)
{
    CS_ASSERT(o && lr >= 0.0f);
    o->cfg.lr = lr;
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

typedef struct adam_k {
    float b1, b2, one_b1, one_b2; /* betas and 1 - betas */
    float bc2_sqrt, eps, step_size, wd;
} adam_k;

static inline void adam_one(float *p, const float *g, float *m, float *v, long i, const adam_k *k)
{
    const float gi = k->wd != 0.0f ? g[i] + k->wd * p[i] : g[i];
    m[i] = m[i] * k->b1 + gi * k->one_b1;
    v[i] = v[i] * k->b2 + k->one_b2 * gi * gi;
    const float denom = sqrtf(v[i]) / k->bc2_sqrt + k->eps;
    p[i] = p[i] + (-k->step_size) * (m[i] / denom);
}

/* 16 elements from i. With AVX-512 the same operations in the same order (IEEE sqrt and
 * division, no fused multiply-add), so the results are bit-identical to adam_one; the compiler
 * cannot vectorise sqrtf itself without -fno-math-errno. */
static inline void adam_16(float *p, const float *g, float *m, float *v, long i, const adam_k *k)
{
#ifdef __AVX512F__
    const __m512 gv = _mm512_loadu_ps(g + i), pv = _mm512_loadu_ps(p + i);
    const __m512 gi =
        k->wd != 0.0f ? _mm512_add_ps(gv, _mm512_mul_ps(_mm512_set1_ps(k->wd), pv)) : gv;
    const __m512 mv = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(m + i), _mm512_set1_ps(k->b1)),
                                    _mm512_mul_ps(gi, _mm512_set1_ps(k->one_b1)));
    const __m512 vv =
        _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(v + i), _mm512_set1_ps(k->b2)),
                      _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(k->one_b2), gi), gi));
    const __m512 denom = _mm512_add_ps(
        _mm512_div_ps(_mm512_sqrt_ps(vv), _mm512_set1_ps(k->bc2_sqrt)), _mm512_set1_ps(k->eps));
    _mm512_storeu_ps(m + i, mv);
    _mm512_storeu_ps(v + i, vv);
    _mm512_storeu_ps(p + i, _mm512_add_ps(pv, _mm512_mul_ps(_mm512_set1_ps(-k->step_size),
                                                            _mm512_div_ps(mv, denom))));
#else
    for (long j = i; j < i + 16; j++)
        adam_one(p, g, m, v, j, k);
#endif
}

static void adam_step(nn_opt *o, float *restrict p, const float *restrict g)
{
    const nn_opt_cfg *c = &o->cfg;
    const double t = (double)o->step;
    /* The scalars PyTorch computes in Python (double) and hands to the float kernels. */
    const adam_k k = {c->beta1,
                      c->beta2,
                      1.0f - c->beta1,
                      1.0f - c->beta2,
                      (float)sqrt(1.0 - pow(c->beta2, t)),
                      c->eps,
                      (float)(c->lr / (1.0 - pow(c->beta1, t))),
                      c->weight_decay};
    float *m = o->m, *v = o->v;
    const long n = (long)o->n, blocks = n / 16;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nn_threads()) if (n >= PAR_MIN)
#endif
    for (long b = 0; b < blocks; b++)
        adam_16(p, g, m, v, b * 16, &k);
    for (long i = blocks * 16; i < n; i++)
        adam_one(p, g, m, v, i, &k);
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

/* ---- checkpoints ----------------------------------------------------------------------------- */

void nn_opt_save(const nn_opt *o, cs_buf *b)
{
    cs_ser_tag(b, "OPTM");
    cs_ser_u32(b, (uint32_t)o->cfg.kind);
    cs_ser_u64(b, (uint64_t)o->n);
    cs_ser_i64(b, (int64_t)o->step);
    cs_ser_f32s(b, &o->cfg.lr, 1);
    cs_ser_f32s(b, o->m, o->n);
    if (o->v)
        cs_ser_f32s(b, o->v, o->n);
}

int nn_opt_load(nn_opt *o, cs_rd *r)
{
    cs_rd_tag(r, "OPTM");
    uint32_t kind = cs_rd_u32(r);
    uint64_t n = cs_rd_u64(r);
    if (!r->failed && (kind != (uint32_t)o->cfg.kind || n != o->n))
        cs_rd_fail(r, "an optimiser of another kind or size");
    int64_t step = cs_rd_i64(r);
    if (!r->failed && step < 0)
        cs_rd_fail(r, "a negative optimiser step count");
    float lr;
    cs_rd_f32s(r, &lr, 1);
    cs_rd_f32s(r, o->m, o->n);
    if (o->v)
        cs_rd_f32s(r, o->v, o->n);
    if (r->failed)
        return CS_EINVAL;
    o->step = (long)step;
    o->cfg.lr = lr;
    return 0;
}
