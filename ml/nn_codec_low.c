/* nn_codec_low.c - the low wire precisions (nn_codec.h): INT4 and ternary codes with group
 * scales, top-k selection with its index streams, and their payloads. */
#include "nn_codec.h"

#include "nn_codec_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- stochastic rounding */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) from the seed and an element index (a counter-based stream). */
static double sr_uniform(uint64_t seed, uint64_t i)
{
    return (double)(mix64(seed ^ mix64(i + 0x9E3779B97F4A7C15ull)) >> 11) * 0x1p-53;
}

/* ---------------------------------------------------------------- codes */

int nn_lowbit_quantize(const float *w, size_t n, size_t group, int qmax, bool sr, uint64_t sr_seed,
                       uint64_t index0, int8_t *q, float *scale, size_t *bad)
{
    CS_ASSERT(group >= 1 && qmax >= 1 && qmax <= 127);
    for (size_t g0 = 0, gi = 0; g0 < n; g0 += group, gi++) {
        size_t m = n - g0 < group ? n - g0 : group;
        float maxabs = 0.0f;
        for (size_t i = 0; i < m; i++) {
            float a = fabsf(w[g0 + i]);
            if (!(a <= FLT_MAX)) {
                if (bad)
                    *bad = g0 + i;
                return -1;
            }
            maxabs = a > maxabs ? a : maxabs;
        }
        float s = maxabs / (float)qmax;
        scale[gi] = s;
        if (s == 0.0f) { /* all zero, or too small for a non-zero float scale */
            memset(q + g0, 0, m);
            continue;
        }
        /* w / s in double is the exact quotient rounded once; for two floats it is never within
         * a double rounding of a half-integer without being one, so rint gives the exact
         * round-half-even and |w - q*s| <= s/2. */
        const double ds = (double)s, lim = (double)qmax;
        for (size_t i = 0; i < m; i++) {
            double x = (double)w[g0 + i] / ds, r;
            if (sr) {
                double fl = floor(x);
                r = fl + (sr_uniform(sr_seed, index0 + g0 + i) < x - fl ? 1.0 : 0.0);
            } else {
                r = rint(x);
            }
            r = r > lim ? lim : (r < -lim ? -lim : r);
            q[g0 + i] = (int8_t)r;
        }
    }
    return 0;
}

void nn_pack4(const int8_t *q, size_t n, uint8_t *out)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        out[i / 2] = (uint8_t)(((unsigned)q[i] & 0xFu) | (((unsigned)q[i + 1] & 0xFu) << 4));
    if (n % 2)
        out[n / 2] = (uint8_t)((unsigned)q[n - 1] & 0xFu);
}

int nn_unpack4(const uint8_t *in, size_t n, int8_t *q, size_t *bad_byte)
{
    for (size_t b = 0; b < (n + 1) / 2; b++) {
        unsigned lo = in[b] & 0xFu, hi = in[b] >> 4;
        bool last_half = 2 * b + 1 >= n; /* the high nibble is padding */
        if (lo == 8 || hi == 8 || (last_half && hi != 0)) {
            if (bad_byte)
                *bad_byte = b;
            return -1;
        }
        q[2 * b] = (int8_t)((int)(lo ^ 8u) - 8);
        if (!last_half)
            q[2 * b + 1] = (int8_t)((int)(hi ^ 8u) - 8);
    }
    return 0;
}

void nn_pack2(const int8_t *q, size_t n, uint8_t *out)
{
    memset(out, 0, (n + 3) / 4);
    for (size_t i = 0; i < n; i++) {
        unsigned c = q[i] == 0 ? 0u : (q[i] > 0 ? 1u : 3u);
        out[i / 4] = (uint8_t)(out[i / 4] | (c << (2 * (i % 4))));
    }
}

int nn_unpack2(const uint8_t *in, size_t n, int8_t *q, size_t *bad_byte)
{
    static const int8_t val[4] = {0, 1, 0, -1};
    for (size_t b = 0; b < (n + 3) / 4; b++) {
        unsigned byte = in[b];
        for (size_t j = 0; j < 4; j++) {
            unsigned c = (byte >> (2 * j)) & 3u;
            size_t i = 4 * b + j;
            if (c == 2 || (i >= n && c != 0)) {
                if (bad_byte)
                    *bad_byte = b;
                return -1;
            }
            if (i < n)
                q[i] = val[c];
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- top-k */

size_t nn_topk_count(double fraction, size_t n)
{
    if (n == 0)
        return 0;
    double v = fraction * (double)n, r = nearbyint(v);
    double k = fabs(v - r) <= 1e-9 * (v > 1 ? v : 1) ? r : ceil(v);
    if (k < 1)
        k = 1;
    return k >= (double)n ? n : (size_t)k;
}

static uint32_t mag_key(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u & 0x7FFFFFFFu; /* for finite floats, the order of |x| */
}

int nn_topk_select(const float *x, size_t n, size_t k, uint32_t *idx, size_t *bad)
{
    CS_ASSERT(k <= n && n <= UINT32_MAX);
    for (size_t i = 0; i < n; i++)
        if (mag_key(x[i]) >= 0x7F800000u) {
            if (bad)
                *bad = i;
            return -1;
        }
    if (k == n) {
        for (size_t i = 0; i < n; i++)
            idx[i] = (uint32_t)i;
        return 0;
    }
    if (k == 0)
        return 0;
    /* Radix selection of the k-th largest key: its top 16 bits, then its low 15. */
    enum { HI = 1 << 16, LO = 1 << 15 };
    uint32_t *hist = calloc(HI, sizeof *hist);
    if (!hist)
        return -2;
    for (size_t i = 0; i < n; i++)
        hist[mag_key(x[i]) >> 15]++;
    size_t above = 0; /* keys in buckets above b1 */
    uint32_t b1 = HI - 1;
    for (;; b1--) {
        if (above + hist[b1] >= k)
            break;
        above += hist[b1];
    }
    memset(hist, 0, LO * sizeof *hist);
    for (size_t i = 0; i < n; i++) {
        uint32_t key = mag_key(x[i]);
        if (key >> 15 == b1)
            hist[key & (LO - 1)]++;
    }
    uint32_t b2 = LO - 1;
    for (;; b2--) {
        if (above + hist[b2] >= k)
            break;
        above += hist[b2];
    }
    free(hist);
    const uint32_t thr = (b1 << 15) | b2;
    size_t take_eq = k - above, m = 0; /* of the keys equal to thr, the first take_eq */
    for (size_t i = 0; i < n; i++) {
        uint32_t key = mag_key(x[i]);
        if (key > thr || (key == thr && take_eq > 0)) {
            if (key == thr)
                take_eq--;
            idx[m++] = (uint32_t)i;
        }
    }
    CS_ASSERT(m == k);
    return 0;
}

static size_t leb_len(uint32_t v)
{
    size_t n = 1;
    while (v >= 0x80u) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t leb_put(uint8_t *p, uint32_t v)
{
    size_t n = 0;
    while (v >= 0x80u) {
        p[n++] = (uint8_t)(v | 0x80u);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* ---------------------------------------------------------------- payloads */

static const char PACK_INT4[] =
    "int4: U8 <name> holds two 4-bit two's-complement codes per byte (element 2i of the "
    "flattened weight in the low nibble of byte i, q in [-7,7], padding 0); F32 <name>.scale "
    "holds one scale per group of constsim.group_size consecutive elements (0: one group per "
    "output channel); value = q * scale";
static const char PACK_TERNARY[] =
    "ternary: U8 <name> holds four 2-bit codes per byte (element 4i of the flattened weight in "
    "bits 0-1 of byte i; 00 = 0, 01 = +1, 11 = -1, padding 0); F32 <name>.scale holds one scale "
    "per group of constsim.group_size consecutive elements (0: one group per output channel); "
    "value = q * scale";
static const char PACK_TOPK[] =
    "topk: F16 <name>.values holds the kept elements of the flattened weight in index order; "
    "their indices are U8 <name>.mask (element i in bit i%8 of byte i/8) or U8 <name>.gaps "
    "(LEB128 varints: the first index, then each index minus the previous minus 1); the other "
    "elements are 0; constsim.topk_k is the number kept over all weights";

enum { SFX = 8 }; /* longest suffix, ".values", with its NUL */

typedef struct low_view {
    size_t pos;    /* offset into the concatenated weights */
    size_t group;  /* int4/ternary: values per scale */
    size_t ng;     /* int4/ternary: groups */
    size_t spos;   /* int4/ternary: offset into the scales */
    size_t k0, kt; /* topk: its first selected index in idx[], and how many */
    size_t gaps;   /* topk: bytes of the gap stream */
    bool use_gaps; /* topk: gaps rather than the mask */
} low_view;

static size_t view_group(const nn_view *v, uint32_t group_size)
{
    return group_size ? group_size : v->count / (size_t)v->shape[0];
}

/* The weight holding concatenated index i, for error messages. */
static const nn_view *view_at(const nn_layout *l, const low_view *lv, size_t i, size_t *elem)
{
    for (size_t j = 0; j < l->n_views; j++) {
        const nn_view *v = &l->views[j];
        if (v->per_channel && i >= lv[j].pos && i < lv[j].pos + v->count) {
            *elem = i - lv[j].pos;
            return v;
        }
    }
    CS_ASSERT(!"index outside the weights");
}

int nn__encode_low(const nn_layout *l, const nn_wire *w, const float *state, const int64_t *tracked,
                   const float *base, unsigned char **buf, size_t *len, cs_err *err)
{
    const nn_precision prec = w->prec;
    const bool topk = prec == NN_PREC_TOPK;
    const int qmax = prec == NN_PREC_INT4 ? 7 : 1;
    CS_ASSERT(topk || w->group_size <= (1u << 30));
    CS_ASSERT(!topk || (w->topk_fraction > 0 && w->topk_fraction <= 1));
    size_t n_pc = 0, n_all = 0, n_scales = 0, name_bytes = 0;
    low_view *lv = calloc(l->n_views ? l->n_views : 1, sizeof *lv);
    if (!lv)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory encoding a payload");
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        if (!v->per_channel)
            continue;
        n_pc++;
        lv[i].pos = n_all;
        n_all += v->count;
        if (!topk) {
            lv[i].group = view_group(v, w->group_size);
            lv[i].ng = (v->count + lv[i].group - 1) / lv[i].group;
            lv[i].spos = n_scales;
            n_scales += lv[i].ng;
        }
        name_bytes += 2 * (strlen(v->name) + SFX) + strlen(v->name) + sizeof "constsim.shape.";
    }
    const size_t n_tensors = l->n_views + n_pc, n_meta = 5 + n_pc;
    float *d = malloc((n_all ? n_all : 1) * sizeof *d);
    int8_t *q = topk ? NULL : malloc(n_all ? n_all : 1);
    float *scales = topk ? NULL : malloc((n_scales ? n_scales : 1) * sizeof *scales);
    size_t k = topk ? nn_topk_count(w->topk_fraction, n_all) : 0;
    uint32_t *idx = topk ? malloc((k ? k : 1) * sizeof *idx) : NULL;
    nn_st_tensor *ts = calloc(n_tensors ? n_tensors : 1, sizeof *ts);
    size_t *offs = malloc((n_tensors ? n_tensors : 1) * sizeof *offs);
    nn_st_meta *meta = calloc(n_meta, sizeof *meta);
    char *names = malloc(name_bytes + 1);
    char *shapes = malloc(n_pc * 64 + 1);
    unsigned char *out = NULL;
    size_t out_len = 0;
    int rc = 0;
    if (!d || (!topk && (!q || !scales)) || (topk && !idx) || !ts || !offs || !meta || !names ||
        !shapes) {
        rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory encoding a payload");
        goto done;
    }
    /* The weights' values to encode (state - base for a delta). */
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        if (!v->per_channel)
            continue;
        const float *src = state + v->offset;
        float *dst = d + lv[i].pos;
        if (base) {
            const float *b = base + v->offset;
            for (size_t j = 0; j < v->count; j++)
                dst[j] = src[j] - b[j];
        } else {
            memcpy(dst, src, v->count * sizeof *dst);
        }
    }
    size_t bad = 0;
    int qrc = 0;
    if (topk) {
        qrc = nn_topk_select(d, n_all, k, idx, &bad);
        if (qrc == -2) {
            rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory encoding a payload");
            goto done;
        }
        for (size_t j = 0; qrc == 0 && j < k; j++)
            if (fabsf(d[idx[j]]) >= 65520.0f) { /* FP16 would make it infinite */
                size_t elem = 0;
                const nn_view *v = view_at(l, lv, idx[j], &elem);
                rc = cs_err_set(err, CS_ERANGE, NULL, 0, 0,
                                "tensor \"%s\": element %zu is %g, beyond the FP16 range of topk "
                                "values",
                                v->name, elem, (double)d[idx[j]]);
                goto done;
            }
    } else {
        for (size_t i = 0; i < l->n_views && qrc == 0; i++) {
            const nn_view *v = &l->views[i];
            if (!v->per_channel)
                continue;
            qrc =
                nn_lowbit_quantize(d + lv[i].pos, v->count, lv[i].group, qmax, w->stochastic,
                                   w->sr_seed, v->offset, q + lv[i].pos, scales + lv[i].spos, &bad);
            if (qrc)
                bad += lv[i].pos;
        }
    }
    if (qrc) {
        size_t elem = 0;
        const nn_view *v = view_at(l, lv, bad, &elem);
        rc = cs_err_set(err, CS_ERANGE, NULL, 0, 0,
                        "tensor \"%s\": element %zu is not finite, which %s cannot encode", v->name,
                        elem, nn_precision_name(prec));
        goto done;
    }
    /* The tensors. */
    char *np = names, *sp = shapes;
    size_t nt = 0, nm = 5, ki = 0;
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        nn_st_tensor *t = &ts[nt++];
        t->name = v->name;
        t->ndim = v->ndim;
        for (int dd = 0; dd < v->ndim; dd++)
            t->shape[dd] = v->shape[dd];
        if (!nn__view_is_float(v)) {
            t->dtype = NN_DTYPE_I64;
            t->nbytes = v->count * sizeof(int64_t);
            continue;
        }
        if (!v->per_channel) {
            t->dtype = NN_DTYPE_F32;
            t->nbytes = v->count * sizeof(float);
            continue;
        }
        size_t nl = strlen(v->name);
        nn_st_tensor *t2 = &ts[nt++];
        t->ndim = t2->ndim = 1;
        t2->name = np + nl + SFX; /* after t's own name when it has a suffix */
        if (topk) {
            low_view *x = &lv[i];
            x->k0 = ki;
            while (ki < k && idx[ki] < x->pos + v->count)
                ki++;
            x->kt = ki - x->k0;
            size_t prev = 0;
            for (size_t j = x->k0; j < ki; j++) {
                size_t e = idx[j] - x->pos;
                x->gaps += leb_len((uint32_t)(j == x->k0 ? e : e - prev - 1));
                prev = e;
            }
            size_t mask = (v->count + 7) / 8;
            x->use_gaps = x->gaps < mask;
            snprintf(np, nl + SFX, "%s.values", v->name);
            t->name = np;
            t->dtype = NN_DTYPE_F16;
            t->shape[0] = (int64_t)x->kt;
            t->nbytes = x->kt * sizeof(uint16_t);
            snprintf(np + nl + SFX, nl + SFX, "%s%s", v->name, x->use_gaps ? ".gaps" : ".mask");
            t2->dtype = NN_DTYPE_U8;
            t2->shape[0] = (int64_t)(x->use_gaps ? x->gaps : mask);
            t2->nbytes = (size_t)t2->shape[0];
        } else {
            size_t nb = prec == NN_PREC_INT4 ? (v->count + 1) / 2 : (v->count + 3) / 4;
            t->dtype = NN_DTYPE_U8;
            t->shape[0] = (int64_t)nb;
            t->nbytes = nb;
            snprintf(np + nl + SFX, nl + SFX, "%s.scale", v->name);
            t2->dtype = NN_DTYPE_F32;
            t2->shape[0] = (int64_t)lv[i].ng;
            t2->nbytes = lv[i].ng * sizeof(float);
        }
        np += 2 * (nl + SFX);
        /* Its shape, for readers that rebuild the tensor. */
        snprintf(np, nl + sizeof "constsim.shape.", "constsim.shape.%s", v->name);
        meta[nm].key = np;
        np += nl + sizeof "constsim.shape.";
        nn__shape_str(sp, 64, v->ndim, v->shape);
        meta[nm++].value = sp;
        sp += strlen(sp) + 1;
    }
    CS_ASSERT(nt == n_tensors && nm == n_meta && (!topk || ki == k));
    char param[32];
    if (topk)
        snprintf(param, sizeof param, "%zu", k);
    else
        snprintf(param, sizeof param, "%u", (unsigned)w->group_size);
    meta[0] = (nn_st_meta){"format", "pt"};
    meta[1] = (nn_st_meta){"constsim.precision", nn_precision_name(prec)};
    meta[2] = (nn_st_meta){"constsim.encoding", base ? "delta" : "state"};
    meta[3] = (nn_st_meta){"constsim.packing",
                           topk ? PACK_TOPK : (prec == NN_PREC_INT4 ? PACK_INT4 : PACK_TERNARY)};
    meta[4] = (nn_st_meta){topk ? "constsim.topk_k" : "constsim.group_size", param};
    rc = nn_st_write_header(ts, nt, meta, n_meta, &out, &out_len, offs, err);
    if (rc)
        goto done;
    /* The values. */
    nt = 0;
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        unsigned char *dst = out + offs[nt++];
        if (!nn__view_is_float(v)) {
            memcpy(dst, tracked + v->offset, v->count * sizeof(int64_t));
            continue;
        }
        if (!v->per_channel) {
            const float *src = state + v->offset;
            float *o = (float *)(void *)dst;
            if (base)
                for (size_t j = 0; j < v->count; j++)
                    o[j] = src[j] - base[v->offset + j];
            else
                memcpy(o, src, v->count * sizeof *o);
            continue;
        }
        unsigned char *dst2 = out + offs[nt++];
        const low_view *x = &lv[i];
        if (!topk) {
            if (prec == NN_PREC_INT4)
                nn_pack4(q + x->pos, v->count, dst);
            else
                nn_pack2(q + x->pos, v->count, dst);
            memcpy(dst2, scales + x->spos, x->ng * sizeof(float));
            continue;
        }
        uint16_t *h = (uint16_t *)(void *)dst;
        for (size_t j = 0; j < x->kt; j++)
            h[j] = nn_fp16_from_f32(d[idx[x->k0 + j]]);
        if (x->use_gaps) {
            size_t at = 0, prev = 0;
            for (size_t j = 0; j < x->kt; j++) {
                size_t e = idx[x->k0 + j] - x->pos;
                at += leb_put(dst2 + at, (uint32_t)(j == 0 ? e : e - prev - 1));
                prev = e;
            }
            CS_ASSERT(at == x->gaps);
        } else {
            memset(dst2, 0, (v->count + 7) / 8);
            for (size_t j = 0; j < x->kt; j++) {
                size_t e = idx[x->k0 + j] - x->pos;
                dst2[e / 8] = (uint8_t)(dst2[e / 8] | (1u << (e % 8)));
            }
        }
    }
    *buf = out;
    *len = out_len;
    out = NULL;
done:
    free(out);
    free(shapes);
    free(names);
    free(meta);
    free(offs);
    free(ts);
    free(idx);
    free(scales);
    free(q);
    free(d);
    free(lv);
    return rc;
}

/* ---------------------------------------------------------------- decode */

typedef struct low_plan {
    const nn_st_tensor *t;  /* the view's tensor: packed codes / topk values / the F32 or I64 */
    const nn_st_tensor *t2; /* its scales / its index stream */
    bool gaps;
} low_plan;

/* The tensor named prefix + suffix, or NULL. */
static const nn_st_tensor *find2(const nn_st_file *f, const char *prefix, const char *suffix,
                                 unsigned char *used)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s", prefix, suffix);
    long k = nn__find_tensor(f, name);
    if (k < 0)
        return NULL;
    used[k] = 1;
    return &f->tensors[k];
}

static int want_1d(const char *path, const nn_st_tensor *t, nn_dtype dt, int64_t n, cs_err *err)
{
    if (t->dtype != dt)
        return cs_err_set_at(err, CS_EINVAL, path, (long long)t->header_offset,
                             "tensor \"%s\": dtype %s, expected %s", t->name,
                             nn_dtype_name(t->dtype), nn_dtype_name(dt));
    if (!nn__shape_eq(t, 1, &n))
        return nn__shape_error(path, t, 1, &n, err);
    return 0;
}

/* Decodes the index stream of a topk tensor into idx[kt] (indices into the weight, ascending);
 * checks it against count elements. */
static int topk_indices(const char *path, const nn_st_tensor *s, bool gaps, size_t count, size_t kt,
                        uint32_t *idx, cs_err *err)
{
    const uint8_t *p = s->data;
    const long long at = (long long)s->file_offset;
    size_t m = 0;
    if (!gaps) {
        for (size_t b = 0; b < s->nbytes; b++) {
            for (unsigned j = 0; j < 8; j++) {
                if (!((p[b] >> j) & 1u))
                    continue;
                size_t e = 8 * b + j;
                if (e >= count)
                    return cs_err_set_at(err, CS_EINVAL, path, at + (long long)b,
                                         "tensor \"%s\": padding bit %u of the last byte is set",
                                         s->name, j);
                if (m == kt)
                    return cs_err_set_at(err, CS_EINVAL, path, at + (long long)b,
                                         "tensor \"%s\": more than the %zu indices of its values",
                                         s->name, kt);
                idx[m++] = (uint32_t)e;
            }
        }
    } else {
        size_t b = 0, prev = 0;
        while (b < s->nbytes) {
            size_t start = b;
            uint64_t v = 0;
            unsigned shift = 0;
            for (;;) {
                if (b >= s->nbytes)
                    return cs_err_set_at(err, CS_EINVAL, path, at + (long long)start,
                                         "tensor \"%s\": truncated varint", s->name);
                uint8_t c = p[b++];
                if (shift >= 35 || (c == 0 && shift > 0))
                    return cs_err_set_at(err, CS_EINVAL, path, at + (long long)(b - 1),
                                         "tensor \"%s\": overlong or oversized varint", s->name);
                v |= (uint64_t)(c & 0x7Fu) << shift;
                shift += 7;
                if (!(c & 0x80u))
                    break;
            }
            uint64_t e = m == 0 ? v : (uint64_t)prev + 1 + v;
            if (e >= count)
                return cs_err_set_at(err, CS_EINVAL, path, at + (long long)start,
                                     "tensor \"%s\": index %llu beyond the %zu elements", s->name,
                                     (unsigned long long)e, count);
            if (m == kt)
                return cs_err_set_at(err, CS_EINVAL, path, at + (long long)start,
                                     "tensor \"%s\": more than the %zu indices of its values",
                                     s->name, kt);
            idx[m++] = (uint32_t)e;
            prev = (size_t)e;
        }
    }
    if (m != kt)
        return cs_err_set_at(err, CS_EINVAL, path, at + (long long)s->nbytes,
                             "tensor \"%s\": %zu indices for %zu values", s->name, m, kt);
    return 0;
}

static int parse_uint_meta(const nn_st_file *f, const char *path, const char *key, uint64_t max,
                           uint64_t *out, cs_err *err)
{
    const char *s = nn_st_meta_get(f, key);
    if (!s)
        return cs_err_set_at(err, CS_EINVAL, path, 8, "__metadata__: %s is missing", key);
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end || v > max)
        return cs_err_set_at(err, CS_EINVAL, path, 8,
                             "__metadata__: %s \"%.40s\" is not an integer "
                             "in [0, %llu]",
                             key, s, (unsigned long long)max);
    *out = v;
    return 0;
}

int nn__decode_low(const nn_layout *l, const nn_st_file *f, nn_precision prec, const char *path,
                   const float *base, float *state, int64_t *tracked, cs_err *err)
{
    const bool topk = prec == NN_PREC_TOPK;
    uint64_t param = 0;
    size_t max_count = 0, k_total = 0;
    for (size_t i = 0; i < l->n_views; i++)
        if (l->views[i].per_channel && l->views[i].count > max_count)
            max_count = l->views[i].count;
    int rc = parse_uint_meta(f, path, topk ? "constsim.topk_k" : "constsim.group_size",
                             topk ? UINT32_MAX : (1u << 30), &param, err);
    if (rc)
        return rc;
    low_plan *pl = calloc(l->n_views ? l->n_views : 1, sizeof *pl);
    unsigned char *used = calloc(f->n ? f->n : 1, 1);
    int8_t *q = malloc(max_count ? max_count : 1);
    uint32_t *idx = malloc((max_count ? max_count : 1) * sizeof *idx);
    if (!pl || !used || !q || !idx) {
        rc = cs_err_set_at(err, CS_ENOMEM, path, 0, "out of memory decoding a payload");
        goto done;
    }
    /* Phase 1: every tensor present and well formed, every code and index valid. */
    for (size_t i = 0; i < l->n_views && !rc; i++) {
        const nn_view *v = &l->views[i];
        if (!v->per_channel) {
            long k = nn__find_tensor(f, v->name);
            if (k < 0) {
                rc = cs_err_set_at(err, CS_EINVAL, path, 8, "missing tensor \"%s\"", v->name);
                break;
            }
            const nn_st_tensor *t = &f->tensors[k];
            used[k] = 1;
            pl[i].t = t;
            nn_dtype want = nn__view_is_float(v) ? NN_DTYPE_F32 : NN_DTYPE_I64;
            if (t->dtype != want)
                rc = cs_err_set_at(err, CS_EINVAL, path, (long long)t->header_offset,
                                   "tensor \"%s\": dtype %s, expected %s", v->name,
                                   nn_dtype_name(t->dtype), nn_dtype_name(want));
            else if (!nn__shape_eq(t, v->ndim, v->shape))
                rc = nn__shape_error(path, t, v->ndim, v->shape, err);
            continue;
        }
        if (topk) {
            const nn_st_tensor *t = find2(f, v->name, ".values", used);
            const nn_st_tensor *mk = find2(f, v->name, ".mask", used);
            const nn_st_tensor *gp = find2(f, v->name, ".gaps", used);
            if (!t || (!mk && !gp) || (mk && gp)) {
                rc = cs_err_set_at(err, CS_EINVAL, path, 8,
                                   !t ? "missing tensor \"%s.values\""
                                      : "tensor \"%s\" needs exactly one of .mask and .gaps",
                                   v->name);
                break;
            }
            if (t->dtype != NN_DTYPE_F16 || t->ndim != 1 || t->shape[0] < 0 ||
                (uint64_t)t->shape[0] > v->count) {
                rc = cs_err_set_at(err, CS_EINVAL, path, (long long)t->header_offset,
                                   "tensor \"%s\": expected F16 values, one dimension of at most "
                                   "%zu",
                                   t->name, v->count);
                break;
            }
            const size_t kt = (size_t)t->shape[0];
            k_total += kt;
            pl[i].t = t;
            pl[i].t2 = mk ? mk : gp;
            pl[i].gaps = gp != NULL;
            if (mk && (rc = want_1d(path, mk, NN_DTYPE_U8, (int64_t)((v->count + 7) / 8), err)))
                break;
            if (gp && (gp->dtype != NN_DTYPE_U8 || gp->ndim != 1)) {
                rc = want_1d(path, gp, NN_DTYPE_U8, gp->ndim == 1 ? gp->shape[0] : 0, err);
                break;
            }
            const unsigned char *hv = t->data;
            for (size_t j = 0; j < kt; j++) {
                uint16_t h;
                memcpy(&h, hv + 2 * j, sizeof h);
                if ((h & 0x7C00u) == 0x7C00u) {
                    rc = cs_err_set_at(err, CS_EINVAL, path, (long long)(t->file_offset + 2 * j),
                                       "tensor \"%s\": value %zu is not finite", t->name, j);
                    break;
                }
            }
            if (!rc)
                rc = topk_indices(path, pl[i].t2, pl[i].gaps, v->count, kt, idx, err);
            continue;
        }
        const nn_st_tensor *t = find2(f, v->name, "", used);
        const nn_st_tensor *s = find2(f, v->name, ".scale", used);
        if (!t || !s) {
            rc = cs_err_set_at(err, CS_EINVAL, path, 8, "missing tensor \"%s%s\"", v->name,
                               t ? ".scale" : "");
            break;
        }
        pl[i].t = t;
        pl[i].t2 = s;
        size_t group = param ? (size_t)param : v->count / (size_t)v->shape[0];
        size_t ng = (v->count + group - 1) / group;
        size_t nb = prec == NN_PREC_INT4 ? (v->count + 1) / 2 : (v->count + 3) / 4;
        if ((rc = want_1d(path, t, NN_DTYPE_U8, (int64_t)nb, err)) ||
            (rc = want_1d(path, s, NN_DTYPE_F32, (int64_t)ng, err)))
            break;
        const unsigned char *sb = s->data;
        for (size_t g = 0; g < ng && !rc; g++) {
            float sc;
            memcpy(&sc, sb + g * sizeof(float), sizeof sc);
            if (!(sc >= 0.0f && sc <= FLT_MAX))
                rc = cs_err_set_at(err, CS_EINVAL, path,
                                   (long long)(s->file_offset + g * sizeof(float)),
                                   "tensor \"%s\": scale %zu is %g (scales must be finite and "
                                   ">= 0)",
                                   s->name, g, (double)sc);
        }
        size_t bad = 0;
        if (!rc && (prec == NN_PREC_INT4 ? nn_unpack4(t->data, v->count, q, &bad)
                                         : nn_unpack2(t->data, v->count, q, &bad)))
            rc = cs_err_set_at(err, CS_EINVAL, path, (long long)(t->file_offset + bad),
                               "tensor \"%s\": byte %zu holds an unused code or padding bits",
                               t->name, bad);
    }
    if (!rc && topk && k_total != param)
        rc = cs_err_set_at(err, CS_EINVAL, path, 8,
                           "__metadata__: constsim.topk_k is %llu but the tensors hold %zu values",
                           (unsigned long long)param, k_total);
    for (size_t k = 0; !rc && k < f->n; k++)
        if (!used[k])
            rc = cs_err_set_at(err, CS_EINVAL, path, (long long)f->tensors[k].header_offset,
                               "unknown tensor \"%.200s\"", f->tensors[k].name);
    if (rc)
        goto done;
    /* Phase 2: write the state (nothing can fail now). */
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        const nn_st_tensor *t = pl[i].t;
        if (!nn__view_is_float(v)) {
            memcpy(tracked + v->offset, t->data, v->count * sizeof(int64_t));
            continue;
        }
        const float *b = base ? base + v->offset : NULL;
        float *dst = state + v->offset;
        if (!v->per_channel) {
            nn__load_f32(t->data, v->count, b, dst);
            continue;
        }
        if (topk) {
            size_t kt = (size_t)t->shape[0];
            CS_ASSERT(topk_indices(path, pl[i].t2, pl[i].gaps, v->count, kt, idx, NULL) == 0);
            if (!b)
                memset(dst, 0, v->count * sizeof *dst);
            else if (b != dst)
                memcpy(dst, b, v->count * sizeof *dst);
            const unsigned char *hv = t->data;
            for (size_t j = 0; j < kt; j++) {
                uint16_t h;
                memcpy(&h, hv + 2 * j, sizeof h);
                dst[idx[j]] += nn_fp16_to_f32(h);
            }
            continue;
        }
        size_t group = param ? (size_t)param : v->count / (size_t)v->shape[0];
        if (prec == NN_PREC_INT4)
            CS_ASSERT(nn_unpack4(t->data, v->count, q, NULL) == 0);
        else
            CS_ASSERT(nn_unpack2(t->data, v->count, q, NULL) == 0);
        const unsigned char *sb = pl[i].t2->data;
        for (size_t j0 = 0, g = 0; j0 < v->count; j0 += group, g++) {
            float sc;
            memcpy(&sc, sb + g * sizeof(float), sizeof sc);
            size_t m = v->count - j0 < group ? v->count - j0 : group;
            for (size_t j = j0; j < j0 + m; j++)
                dst[j] = (b ? b[j] : 0.0f) + (float)q[j] * sc;
        }
    }
done:
    free(idx);
    free(q);
    free(used);
    free(pl);
    return rc;
}
