#define _GNU_SOURCE /* memmem */
/* test_codec_low.c - the low wire precisions on exact values: INT4/ternary codes and their
 * error bound, group scales, packing round trips for every length, unused codes and padding,
 * top-k selection against a brute-force sort (ties included), k from the fraction, stochastic
 * rounding, payload round trips (full and delta, mask and gap index streams) and every
 * corruption reported at its byte offset. */
#include "cs_rng.h"
#include "nn_codec.h"
#include "st_test_util.h"
#include "t.h"
#include "test_codec_layout.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nn_view small_views[SMALL_VIEWS];
static nn_layout small;

/* ---------------------------------------------------------------- codes */

static void test_hand_values(void)
{
    /* INT4: max|w| = 7 -> scale 1, q = round-half-even(w). */
    const float w[9] = {7.0f, 3.5f, -3.5f, 2.5f, 0.4f, -7.0f, 1.5f, 0.0f, -0.5f};
    const int want4[9] = {7, 4, -4, 2, 0, -7, 2, 0, 0};
    int8_t q[9];
    float s[2] = {-1, -1};
    T_EQ(nn_lowbit_quantize(w, 9, 9, 7, false, 0, 0, q, s, NULL), 0);
    T_TRUE(s[0] == 1.0f);
    for (int i = 0; i < 9; i++)
        T_EQ(q[i], want4[i]);
    /* Ternary: scale = max|w|; +-0.5 are ties to 0 (even), 0.51 goes to 1. */
    const float t[6] = {2.0f, 1.0f, -1.0f, 0.98f, -2.0f, 1.02f};
    const int want2[6] = {1, 0, 0, 0, -1, 1};
    T_EQ(nn_lowbit_quantize(t, 6, 6, 1, false, 0, 0, q, s, NULL), 0);
    T_TRUE(s[0] == 2.0f);
    for (int i = 0; i < 6; i++)
        T_EQ(q[i], want2[i]);
    /* Groups: two groups of 3 get their own scales; an all-zero group has scale 0, q 0. */
    const float g[6] = {0.0f, 0.0f, 0.0f, 1.0f, -14.0f, 7.0f};
    T_EQ(nn_lowbit_quantize(g, 6, 3, 7, false, 0, 0, q, s, NULL), 0);
    T_TRUE(s[0] == 0.0f && s[1] == 2.0f);
    T_EQ(q[0], 0);
    T_EQ(q[3], 0); /* 0.5 -> 0 */
    T_EQ(q[4], -7);
    T_EQ(q[5], 4); /* 3.5 -> 4 */
    /* A non-finite value is refused, with its index. */
    float bad[4] = {1, 2, NAN, 3};
    size_t at = 99;
    T_EQ(nn_lowbit_quantize(bad, 4, 2, 7, false, 0, 0, q, s, &at), -1);
    T_EQ_U64(at, 2);
    bad[2] = INFINITY;
    T_EQ(nn_lowbit_quantize(bad, 4, 4, 1, false, 0, 0, q, s, &at), -1);
}

/* |w - q*scale| <= scale/2 for every element, in exact (double) arithmetic, over random values
 * of many magnitudes, odd lengths and group sizes that do and do not divide the length. */
static void test_error_bound(void)
{
    enum { N = 1001 };
    float w[N], s[N];
    int8_t q[N];
    cs_rng r;
    cs_rng_derive(&r, 11, CS_RNG_SYNTH, 0);
    size_t bad = 0, checked = 0;
    const int qmaxes[2] = {7, 1};
    const size_t groups[5] = {1, 2, 7, 64, N};
    for (int trial = 0; trial < 40; trial++) {
        double mag = ldexp(1.0, (int)cs_rng_below(&r, 60) - 30);
        for (size_t i = 0; i < N; i++)
            w[i] = (float)(cs_rng_normal(&r) * mag);
        for (int qi = 0; qi < 2; qi++)
            for (int gi = 0; gi < 5; gi++) {
                size_t n = N - (size_t)trial, G = groups[gi];
                T_EQ(nn_lowbit_quantize(w, n, G, qmaxes[qi], false, 0, 0, q, s, NULL), 0);
                for (size_t i = 0; i < n; i++) {
                    double sc = s[i / G], e = fabs((double)w[i] - (double)q[i] * sc);
                    checked++;
                    if (e > sc / 2 || abs(q[i]) > qmaxes[qi])
                        bad++;
                }
                /* Each scale is the group's max|w| / qmax, and the max itself is hit. */
                for (size_t g0 = 0; g0 < n; g0 += G) {
                    float m = 0;
                    for (size_t i = g0; i < n && i < g0 + G; i++)
                        m = fmaxf(m, fabsf(w[i]));
                    if (s[g0 / G] != m / (float)qmaxes[qi])
                        bad++;
                }
            }
    }
    T_EQ_U64(bad, 0);
    T_TRUE(checked > 100000);
}

/* Stochastic rounding: one step at most, the same bits for the same seed, other bits for
 * another, and unbiased on average. */
static void test_stochastic(void)
{
    enum { N = 20000 };
    float *w = malloc(N * sizeof *w);
    int8_t *q = malloc(N), *q2 = malloc(N);
    float s, s2;
    T_TRUE(w && q && q2);
    if (!w || !q || !q2)
        return;
    w[0] = 7.0f; /* scale 1 */
    for (size_t i = 1; i < N; i++)
        w[i] = 2.3f;
    T_EQ(nn_lowbit_quantize(w, N, N, 7, true, 42, 0, q, &s, NULL), 0);
    T_TRUE(s == 1.0f);
    double sum = 0;
    size_t off = 0;
    for (size_t i = 1; i < N; i++) {
        sum += q[i];
        off += q[i] != 2 && q[i] != 3;
    }
    T_EQ_U64(off, 0);
    T_NEAR(sum / (N - 1), 2.3, 0.015); /* 0.3 of them round up: sd of the mean 0.0032 */
    T_EQ(nn_lowbit_quantize(w, N, N, 7, true, 42, 0, q2, &s2, NULL), 0);
    T_MEMEQ(q, q2, N);
    T_EQ(nn_lowbit_quantize(w, N, N, 7, true, 43, 0, q2, &s2, NULL), 0);
    T_TRUE(memcmp(q, q2, N) != 0);
    /* Exact codes stay exact. */
    for (size_t i = 1; i < N; i++)
        w[i] = (float)((int)(i % 15) - 7);
    T_EQ(nn_lowbit_quantize(w, N, N, 7, true, 5, 0, q, &s, NULL), 0);
    off = 0;
    for (size_t i = 1; i < N; i++)
        off += q[i] != (int)(i % 15) - 7;
    T_EQ_U64(off, 0);
    free(w);
    free(q);
    free(q2);
}

static void test_packing(void)
{
    cs_rng r;
    cs_rng_derive(&r, 3, CS_RNG_SYNTH, 0);
    int8_t q[64], back[64];
    uint8_t p[64];
    size_t bad = 0;
    for (size_t n = 0; n <= 37; n++) {
        for (size_t i = 0; i < n; i++)
            q[i] = (int8_t)((int)cs_rng_below(&r, 15) - 7);
        memset(p, 0xEE, sizeof p);
        nn_pack4(q, n, p);
        size_t at = 0;
        memset(back, 0x55, sizeof back);
        T_EQ(nn_unpack4(p, n, back, &at), 0);
        bad += n && memcmp(q, back, n) != 0;
        bad += p[(n + 1) / 2] != 0xEE; /* writes (n + 1) / 2 bytes only */
        if (n % 2) {
            T_EQ(p[n / 2] >> 4, 0); /* padding nibble */
            uint8_t c[64];
            memcpy(c, p, sizeof c);
            c[n / 2] |= 0x10;
            T_EQ(nn_unpack4(c, n, back, &at), -1);
            T_EQ_U64(at, n / 2);
        }
        if (n) { /* the unused code 1000 in either nibble of the last byte */
            uint8_t c[64];
            memcpy(c, p, sizeof c);
            size_t b = (n - 1) / 2;
            c[b] = (uint8_t)((c[b] & 0xF0u) | 0x8u);
            T_EQ(nn_unpack4(c, n, back, &at), -1);
            T_EQ_U64(at, b);
        }
        for (size_t i = 0; i < n; i++)
            q[i] = (int8_t)((int)cs_rng_below(&r, 3) - 1);
        memset(p, 0xEE, sizeof p);
        nn_pack2(q, n, p);
        T_EQ(nn_unpack2(p, n, back, &at), 0);
        bad += n && memcmp(q, back, n) != 0;
        bad += p[(n + 3) / 4] != 0xEE;
        if (n % 4) {
            uint8_t c[64];
            memcpy(c, p, sizeof c);
            c[n / 4] |= (uint8_t)(1u << (2 * (n % 4))); /* a padding code set */
            T_EQ(nn_unpack2(c, n, back, &at), -1);
            T_EQ_U64(at, n / 4);
        }
        if (n) { /* the unused code 10 */
            uint8_t c[64];
            memcpy(c, p, sizeof c);
            size_t i = n - 1;
            c[i / 4] = (uint8_t)((c[i / 4] & ~(3u << (2 * (i % 4)))) | (2u << (2 * (i % 4))));
            T_EQ(nn_unpack2(c, n, back, &at), -1);
            T_EQ_U64(at, i / 4);
        }
    }
    T_EQ_U64(bad, 0);
    /* The documented bit layout. */
    const int8_t a[3] = {-1, 7, -7};
    nn_pack4(a, 3, p);
    T_EQ(p[0], 0x7F);
    T_EQ(p[1], 0x09);
    const int8_t b[5] = {1, -1, 0, 1, -1};
    nn_pack2(b, 5, p);
    T_EQ(p[0], 0x4D); /* 01 | 11<<2 | 00<<4 | 01<<6 */
    T_EQ(p[1], 0x03);
}

/* ---------------------------------------------------------------- top-k */

typedef struct kv {
    float a;
    uint32_t i;
} kv;

static int kv_cmp(const void *x, const void *y)
{
    const kv *p = x, *q = y;
    if (p->a != q->a)
        return p->a > q->a ? -1 : 1;
    return p->i < q->i ? -1 : (p->i > q->i);
}

static int u32_cmp(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : (a > b);
}

static void test_topk_select(void)
{
    enum { N = 3000 };
    float *x = malloc(N * sizeof *x);
    kv *s = malloc(N * sizeof *s);
    uint32_t *idx = malloc(N * sizeof *idx), *want = malloc(N * sizeof *want);
    T_TRUE(x && s && idx && want);
    if (!x || !s || !idx || !want)
        return;
    cs_rng r;
    cs_rng_derive(&r, 8, CS_RNG_SYNTH, 0);
    size_t bad = 0, cases = 0;
    for (int trial = 0; trial < 60; trial++) {
        size_t n = 1 + cs_rng_below(&r, N);
        int kind = trial % 3; /* 0: continuous, 1: a few values (many ties), 2: +-0 and tiny */
        for (size_t i = 0; i < n; i++) {
            if (kind == 0)
                x[i] = (float)cs_rng_normal(&r);
            else if (kind == 1)
                x[i] = (float)((int)cs_rng_below(&r, 7) - 3) * 0.25f;
            else
                x[i] = cs_rng_below(&r, 2) ? -0.0f : FLT_TRUE_MIN * (float)cs_rng_below(&r, 3);
        }
        for (size_t i = 0; i < n; i++)
            s[i] = (kv){fabsf(x[i]), (uint32_t)i};
        qsort(s, n, sizeof *s, kv_cmp);
        const size_t ks[4] = {0, 1, n / 3, n};
        for (int ki = 0; ki < 4; ki++) {
            size_t k = ks[ki];
            for (size_t j = 0; j < k; j++)
                want[j] = s[j].i;
            qsort(want, k, sizeof *want, u32_cmp);
            T_EQ(nn_topk_select(x, n, k, idx, NULL), 0);
            cases++;
            bad += k && memcmp(idx, want, k * sizeof *idx) != 0;
        }
    }
    T_EQ_U64(bad, 0);
    T_EQ_U64(cases, 240);
    /* Ties at the threshold go to the lower indices; -0 ties +0. */
    const float t[8] = {0.5f, -1.0f, 0.5f, 0.0f, -0.5f, 1.0f, -0.0f, 0.5f};
    T_EQ(nn_topk_select(t, 8, 4, idx, NULL), 0);
    T_EQ(idx[0], 0);
    T_EQ(idx[1], 1);
    T_EQ(idx[2], 2);
    T_EQ(idx[3], 5);
    T_EQ(nn_topk_select(t, 8, 7, idx, NULL), 0);
    /* of 0 and -0 (indices 3, 6) 3 is taken: 0,1,2,3,4,5,7 */
    T_EQ(idx[3], 3);
    T_EQ(idx[5], 5);
    T_EQ(idx[6], 7);
    float nb[3] = {1, NAN, 2};
    size_t at = 0;
    T_EQ(nn_topk_select(nb, 3, 1, idx, &at), -1);
    T_EQ_U64(at, 1);
    /* k from the fraction: ceil, exact products not rounded up, at least 1. */
    T_EQ_U64(nn_topk_count(0.01, 433760), 4338);
    T_EQ_U64(nn_topk_count(0.1, 433760), 43376);
    T_EQ_U64(nn_topk_count(0.3, 10), 3);
    T_EQ_U64(nn_topk_count(1.0, 433760), 433760);
    T_EQ_U64(nn_topk_count(1e-9, 100), 1);
    T_EQ_U64(nn_topk_count(0.5, 0), 0);
    free(x);
    free(s);
    free(idx);
    free(want);
}

/* ---------------------------------------------------------------- payloads */

static const nn_view *find_view(const nn_layout *l, const char *name)
{
    for (size_t i = 0; i < l->n_views; i++)
        if (strcmp(l->views[i].name, name) == 0)
            return &l->views[i];
    return NULL;
}

/* int4/ternary payloads decode to exactly q * scale (+ base) per element, with the documented
 * tensors, metadata and bytes; the other floats are exact. */
static void test_lowbit_payloads(void)
{
    float state[256], base[256], back[256];
    int64_t tracked[4], tback[4];
    layout_random_state(&small, 21, state, tracked);
    layout_random_state(&small, 22, base, tback);
    const nn_precision precs[2] = {NN_PREC_INT4, NN_PREC_TERNARY};
    const uint32_t groups[3] = {0, 5, 1000};
    size_t bad = 0;
    for (int pi = 0; pi < 2; pi++)
        for (int gi = 0; gi < 3; gi++)
            for (int delta = 0; delta < 2; delta++) {
                nn_wire w = nn_wire_of(precs[pi]);
                w.group_size = groups[gi];
                const float *b = delta ? base : NULL;
                unsigned char *buf = NULL;
                size_t len = 0;
                cs_err e;
                T_EQ(nn_codec_encode_wire(&small, &w, state, tracked, b, &buf, &len, &e), 0);
                nn_st_file f;
                T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
                T_STREQ(nn_st_meta_get(&f, "constsim.precision"), nn_precision_name(precs[pi]));
                T_STREQ(nn_st_meta_get(&f, "constsim.encoding"), delta ? "delta" : "state");
                T_STREQ(nn_st_meta_get(&f, "constsim.shape.c.weight"), "[4,3,2,2]");
                T_TRUE(nn_st_meta_get(&f, "constsim.packing") != NULL);
                nn_precision got = NN_PREC_FP32;
                memset(back, 0, sizeof back);
                T_EQ(nn_codec_decode_with(&small, buf, len, "p", b, back, tback, &got, &e), 0);
                T_EQ(got, precs[pi]);
                T_EQ(tback[0], tracked[0]);
                const int qmax = precs[pi] == NN_PREC_INT4 ? 7 : 1;
                for (size_t i = 0; i < small.n_views; i++) {
                    const nn_view *v = &small.views[i];
                    if (v->store == NN_STORE_TRACKED)
                        continue;
                    if (!v->per_channel) {
                        for (size_t j = 0; j < v->count; j++) {
                            size_t k = v->offset + j;
                            float d = delta ? state[k] - base[k] : state[k];
                            bad += back[k] != (delta ? base[k] + d : d);
                        }
                        continue;
                    }
                    size_t G = groups[gi] ? groups[gi] : v->count / (size_t)v->shape[0];
                    const nn_st_tensor *t = nn_st_find(&f, v->name);
                    char sn[64];
                    snprintf(sn, sizeof sn, "%s.scale", v->name);
                    const nn_st_tensor *st = nn_st_find(&f, sn);
                    T_TRUE(t && st && t->dtype == NN_DTYPE_U8 && st->dtype == NN_DTYPE_F32);
                    if (!t || !st)
                        continue;
                    T_EQ_U64(t->nbytes, qmax == 7 ? (v->count + 1) / 2 : (v->count + 3) / 4);
                    T_EQ_U64(st->nbytes / 4, (v->count + G - 1) / G);
                    float d[64];
                    int8_t q[64];
                    float sc[64];
                    for (size_t j = 0; j < v->count; j++) {
                        size_t k = v->offset + j;
                        d[j] = delta ? state[k] - base[k] : state[k];
                    }
                    T_EQ(nn_lowbit_quantize(d, v->count, G, qmax, false, 0, 0, q, sc, NULL), 0);
                    T_MEMEQ(sc, st->data, st->nbytes);
                    for (size_t j = 0; j < v->count; j++) {
                        size_t k = v->offset + j;
                        float want = (float)q[j] * sc[j / G];
                        if (delta)
                            want = base[k] + want;
                        bad += back[k] != want;
                        bad += fabs((double)d[j] - (double)q[j] * sc[j / G]) > sc[j / G] / 2;
                    }
                }
                nn_st_free(&f);
                free(buf);
            }
    T_EQ_U64(bad, 0);
}

static size_t leb_bytes(size_t v)
{
    size_t n = 1;
    for (; v >= 128; v >>= 7)
        n++;
    return n;
}

/* topk payloads: exactly the k largest weight values (over every weight together) as FP16, the
 * index stream that is fewer bytes, the rest 0 (or the base). */
static void test_topk_payloads(void)
{
    float state[256], base[256], back[256], d[72];
    int64_t tracked[4], tback[4];
    layout_random_state(&small, 31, state, tracked);
    layout_random_state(&small, 32, base, tback);
    const nn_view *cw = find_view(&small, "c.weight"), *fw = find_view(&small, "fc.weight");
    const size_t n_all = cw->count + fw->count; /* 48 + 24 */
    const double fracs[4] = {0.01, 0.1, 0.5, 1.0};
    size_t bad = 0, saw_mask = 0, saw_gaps = 0;
    for (int fi = 0; fi < 4; fi++)
        for (int delta = 0; delta < 2; delta++) {
            nn_wire w = nn_wire_of(NN_PREC_TOPK);
            w.topk_fraction = fracs[fi];
            const float *b = delta ? base : NULL;
            for (size_t j = 0; j < cw->count; j++)
                d[j] = state[cw->offset + j] - (b ? b[cw->offset + j] : 0.0f);
            for (size_t j = 0; j < fw->count; j++)
                d[cw->count + j] = state[fw->offset + j] - (b ? b[fw->offset + j] : 0.0f);
            size_t k = nn_topk_count(fracs[fi], n_all);
            uint32_t idx[72];
            T_EQ(nn_topk_select(d, n_all, k, idx, NULL), 0);
            bool kept[72] = {false};
            for (size_t j = 0; j < k; j++)
                kept[idx[j]] = true;
            unsigned char *buf = NULL;
            size_t len = 0;
            cs_err e;
            T_EQ(nn_codec_encode_wire(&small, &w, state, tracked, b, &buf, &len, &e), 0);
            nn_st_file f;
            T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
            char kk[32];
            snprintf(kk, sizeof kk, "%zu", k);
            T_STREQ(nn_st_meta_get(&f, "constsim.topk_k"), kk);
            /* Per weight: the stream chosen is the shorter one. */
            const nn_view *ws[2] = {cw, fw};
            for (int wi = 0; wi < 2; wi++) {
                size_t pos = wi ? cw->count : 0, cnt = ws[wi]->count, kt = 0, gaps = 0, prev = 0;
                for (size_t j = 0; j < cnt; j++)
                    if (kept[pos + j]) {
                        gaps += leb_bytes(kt ? j - prev - 1 : j);
                        prev = j;
                        kt++;
                    }
                char nm[64];
                snprintf(nm, sizeof nm, "%s.values", ws[wi]->name);
                const nn_st_tensor *vt = nn_st_find(&f, nm);
                T_TRUE(vt && vt->dtype == NN_DTYPE_F16 && vt->nbytes == 2 * kt);
                snprintf(nm, sizeof nm, "%s.%s", ws[wi]->name,
                         gaps < (cnt + 7) / 8 ? "gaps" : "mask");
                const nn_st_tensor *it = nn_st_find(&f, nm);
                T_TRUE(it && it->nbytes == (gaps < (cnt + 7) / 8 ? gaps : (cnt + 7) / 8));
                if (gaps < (cnt + 7) / 8)
                    saw_gaps++;
                else
                    saw_mask++;
            }
            T_TRUE(nn_st_find(&f, "c.weight") == NULL);
            nn_precision got;
            T_EQ(nn_codec_decode_with(&small, buf, len, "p", b, back, tback, &got, &e), 0);
            T_EQ(got, NN_PREC_TOPK);
            for (size_t j = 0; j < n_all; j++) {
                size_t k2 = j < cw->count ? cw->offset + j : fw->offset + (j - cw->count);
                float v = kept[j] ? nn_fp16_to_f32(nn_fp16_from_f32(d[j])) : 0.0f;
                bad += back[k2] != (b ? b[k2] + v : v);
            }
            nn_st_free(&f);
            free(buf);
        }
    T_EQ_U64(bad, 0);
    T_TRUE(saw_mask > 0 && saw_gaps > 0);
}

/* Decodes bytes that must fail with CS_EINVAL at offset want_off, message containing msg, and
 * leave the state alone. */
static void expect_fail(const unsigned char *buf, size_t len, long long want_off, const char *msg,
                        const float *base, int line)
{
    float back[256];
    int64_t tb[4];
    memset(back, 0x5A, sizeof back);
    float before[256];
    memcpy(before, back, sizeof back);
    cs_err e;
    cs_err_clear(&e);
    int rc = nn_codec_decode_with(&small, buf, len, "bad", base, back, tb, NULL, &e);
    if (rc != CS_EINVAL || e.offset != want_off || !strstr(e.msg, msg) ||
        memcmp(back, before, sizeof back) != 0) {
        fprintf(stderr, "%s:%d: rc %d offset %lld (want %lld) msg \"%s\" (want \"%s\")\n", __FILE__,
                line, rc, e.offset, want_off, e.msg, msg);
        T_TRUE(0);
    } else {
        T_TRUE(1);
    }
}

static void test_corruptions(void)
{
    float state[256], base[256];
    int64_t tracked[4];
    layout_random_state(&small, 41, state, tracked);
    layout_random_state(&small, 42, base, tracked);
    cs_err e;
    unsigned char *buf = NULL, *c = NULL;
    size_t len = 0;
    nn_st_file f;
    /* INT4: an unused nibble in each byte of c.weight, at that byte. */
    nn_wire w = nn_wire_of(NN_PREC_INT4);
    w.group_size = 5;
    T_EQ(nn_codec_encode_wire(&small, &w, state, tracked, NULL, &buf, &len, &e), 0);
    T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
    c = malloc(len);
    const nn_st_tensor *t = nn_st_find(&f, "fc.weight");
    for (size_t b = 0; t && b < t->nbytes; b++) {
        memcpy(c, buf, len);
        c[t->file_offset + b] = (unsigned char)((c[t->file_offset + b] & 0x0F) | 0x80);
        expect_fail(c, len, (long long)(t->file_offset + b), "unused code", NULL, __LINE__);
    }
    /* A negative scale. */
    const nn_st_tensor *st = nn_st_find(&f, "c.weight.scale");
    memcpy(c, buf, len);
    float m1 = -1.0f;
    memcpy(c + st->file_offset + 4, &m1, 4);
    expect_fail(c, len, (long long)(st->file_offset + 4), "scale 1", NULL, __LINE__);
    /* A group size that does not match the scales' count: the shape error. */
    nn_st_free(&f);
    free(buf);
    free(c);
    /* Ternary: the unused code 10, and odd-length padding (fc.weight has 24: none; c.weight 48).
     */
    w = nn_wire_of(NN_PREC_TERNARY);
    w.group_size = 7;
    T_EQ(nn_codec_encode_wire(&small, &w, state, tracked, base, &buf, &len, &e), 0);
    T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
    c = malloc(len);
    t = nn_st_find(&f, "c.weight");
    for (size_t b = 0; t && b < t->nbytes; b++) {
        memcpy(c, buf, len);
        c[t->file_offset + b] = (unsigned char)((c[t->file_offset + b] & 0xFC) | 0x2);
        expect_fail(c, len, (long long)(t->file_offset + b), "unused code", base, __LINE__);
    }
    nn_st_free(&f);
    free(buf);
    free(c);
    /* topk: a mask with a padding bit or a popcount other than the values', gaps overlong,
     * beyond the tensor or more than the values, a non-finite value, k in the metadata. */
    w = nn_wire_of(NN_PREC_TOPK);
    w.topk_fraction = 0.5; /* c.weight: dense enough for the mask */
    T_EQ(nn_codec_encode_wire(&small, &w, state, tracked, base, &buf, &len, &e), 0);
    T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
    c = malloc(len);
    const nn_st_tensor *mk = nn_st_find(&f, "c.weight.mask");
    const nn_st_tensor *fm = nn_st_find(&f, "fc.weight.mask");
    T_TRUE(mk != NULL || fm != NULL);
    if (!mk)
        mk = fm;
    if (mk) {
        const char *vn = mk == fm ? "fc.weight.values" : "c.weight.values";
        const nn_st_tensor *vt = nn_st_find(&f, vn);
        /* Clearing a set bit: fewer indices than values, reported at the stream's end. */
        size_t b0 = 0;
        while (b0 < mk->nbytes && !buf[mk->file_offset + b0])
            b0++;
        memcpy(c, buf, len);
        unsigned char byte = c[mk->file_offset + b0];
        c[mk->file_offset + b0] = (unsigned char)(byte & (byte - 1));
        expect_fail(c, len, (long long)(mk->file_offset + mk->nbytes), "indices for", base,
                    __LINE__);
        /* Setting a clear bit: more indices than values, at that byte. */
        size_t b1 = 0;
        while (b1 < mk->nbytes && buf[mk->file_offset + b1] == 0xFF)
            b1++;
        if (b1 < mk->nbytes) {
            memcpy(c, buf, len);
            byte = c[mk->file_offset + b1];
            c[mk->file_offset + b1] = (unsigned char)(byte | (byte + 1));
            cs_err e2;
            float back[256];
            int64_t tb[4];
            T_EQ(nn_codec_decode_with(&small, c, len, "bad", base, back, tb, NULL, &e2), CS_EINVAL);
            T_TRUE(e2.offset >= (long long)(mk->file_offset + b1) &&
                   e2.offset < (long long)(mk->file_offset + mk->nbytes));
            T_CONTAINS(e2.msg, "more than");
        }
        /* A non-finite value. */
        memcpy(c, buf, len);
        uint16_t inf = 0x7C00;
        memcpy(c + vt->file_offset + 2, &inf, 2);
        expect_fail(c, len, (long long)(vt->file_offset + 2), "not finite", base, __LINE__);
    }
    nn_st_free(&f);
    free(buf);
    free(c);
    w.topk_fraction = 0.05; /* sparse: gap streams */
    T_EQ(nn_codec_encode_wire(&small, &w, state, tracked, base, &buf, &len, &e), 0);
    T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
    c = malloc(len);
    const nn_st_tensor *gp = nn_st_find(&f, "c.weight.gaps");
    if (!gp)
        gp = nn_st_find(&f, "fc.weight.gaps");
    T_TRUE(gp != NULL && gp->nbytes >= 1);
    if (gp && gp->nbytes >= 1) {
        /* The last gap made to point beyond the tensor. */
        memcpy(c, buf, len);
        c[gp->file_offset + gp->nbytes - 1] = 0x7F;
        expect_fail(c, len, (long long)(gp->file_offset + gp->nbytes - 1), "beyond", base,
                    __LINE__);
        /* A continuation bit on the last byte: truncated varint, at its first byte. */
        memcpy(c, buf, len);
        c[gp->file_offset + gp->nbytes - 1] |= 0x80;
        expect_fail(c, len, (long long)(gp->file_offset + gp->nbytes - 1), "truncated varint", base,
                    __LINE__);
    }
    /* k in the metadata against the values: patch the digits in the header. */
    const char *kmeta = nn_st_meta_get(&f, "constsim.topk_k");
    char want[32];
    snprintf(want, sizeof want, "\"constsim.topk_k\":\"%s\"", kmeta);
    memcpy(c, buf, len);
    char *hit = memmem(c, f.data_start, want, strlen(want));
    T_TRUE(hit != NULL);
    if (hit) {
        char *digit = hit + strlen("\"constsim.topk_k\":\"");
        *digit = *digit == '9' ? '1' : (char)(*digit + 1);
        expect_fail(c, len, 8, "constsim.topk_k", base, __LINE__);
    }
    nn_st_free(&f);
    free(buf);
    free(c);
}

/* Every truncation of a low-precision payload, full and delta, fails at the byte the reader
 * owes and leaves the state alone. */
static void test_truncations(void)
{
    float state[256], base[256], back[256];
    int64_t tracked[4], tb[4];
    layout_random_state(&small, 51, state, tracked);
    layout_random_state(&small, 52, base, tb);
    size_t bad = 0;
    for (int p = NN_PREC_INT4; p <= NN_PREC_TOPK; p++)
        for (int delta = 0; delta < 2; delta++) {
            nn_wire w = nn_wire_of((nn_precision)p);
            w.group_size = 3;
            w.topk_fraction = 0.2;
            unsigned char *buf = NULL;
            size_t len = 0;
            cs_err e;
            const float *b = delta ? base : NULL;
            T_EQ(nn_codec_encode_wire(&small, &w, state, tracked, b, &buf, &len, &e), 0);
            nn_st_file f;
            T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
            for (size_t l = 0; l < len; l++) {
                memset(back, 0x5A, sizeof back);
                cs_err_clear(&e);
                const char *msg = NULL;
                long long want = st_truncation_offset(&f, l, &msg);
                int rc = nn_codec_decode_with(&small, buf, l, "t", b, back, tb, NULL, &e);
                uint32_t u;
                memcpy(&u, &back[0], 4);
                if (rc != CS_EINVAL || e.offset != want || !strstr(e.msg, msg) || u != 0x5A5A5A5Au)
                    bad++;
            }
            nn_st_free(&f);
            free(buf);
        }
    T_EQ_U64(bad, 0);
}

/* The real model's payload sizes: INT4 and ternary per output channel and per group. */
static void test_model_sizes(void)
{
    nn_layout l = nn_layout_model();
    float *state = malloc(NN_STATE_FLOATS * sizeof *state);
    int64_t tracked[NN_TRACKED];
    T_TRUE(state != NULL);
    if (!state)
        return;
    layout_random_state(&l, 61, state, tracked);
    unsigned char *buf = NULL;
    size_t fp32 = 0, len = 0;
    cs_err e;
    T_EQ(nn_codec_encode_with(&l, NN_PREC_FP32, state, tracked, NULL, &buf, &fp32, &e), 0);
    free(buf);
    const nn_precision ps[3] = {NN_PREC_INT4, NN_PREC_TERNARY, NN_PREC_TOPK};
    for (int i = 0; i < 3; i++) {
        nn_wire w = nn_wire_of(ps[i]);
        T_EQ(nn_codec_encode_wire(&l, &w, state, tracked, NULL, &buf, &len, &e), 0);
        fprintf(stderr, "%s (defaults): %zu bytes, %.2fx smaller than fp32 (%zu)\n",
                nn_precision_name(ps[i]), len, (double)fp32 / (double)len, fp32);
        free(buf);
    }
    /* INT4 at 1/2 byte per weight plus a scale per 256: above 7x, as docs/formats.md says. */
    nn_wire w = nn_wire_of(NN_PREC_INT4);
    T_EQ(nn_codec_encode_wire(&l, &w, state, tracked, NULL, &buf, &len, &e), 0);
    T_TRUE((double)fp32 / (double)len > 7.0);
    free(buf);
    free(state);
}

int main(void)
{
    small = layout_build(small_spec, SMALL_VIEWS, small_views);
    test_hand_values();
    test_error_bound();
    test_stochastic();
    test_packing();
    test_topk_select();
    test_lowbit_payloads();
    test_topk_payloads();
    test_corruptions();
    test_truncations();
    test_model_sizes();
    return t_done();
}
