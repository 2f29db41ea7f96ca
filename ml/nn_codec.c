/* nn_codec.c - payload encode/decode in FP32, FP16 and INT8 over a tensor layout (the low
 * precisions in nn_codec_low.c), model files. */
#include "nn_codec.h"

#include "nn_codec_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *nn_precision_name(nn_precision p)
{
    switch (p) {
    case NN_PREC_FP32:
        return "fp32";
    case NN_PREC_FP16:
        return "fp16";
    case NN_PREC_INT8:
        return "int8";
    case NN_PREC_INT4:
        return "int4";
    case NN_PREC_TERNARY:
        return "ternary";
    case NN_PREC_TOPK:
        return "topk";
    case NN_PREC_ADAPTIVE:
        return "adaptive";
    }
    CS_ASSERT(!"unknown precision");
}

int nn_precision_parse(const char *s, nn_precision *out)
{
    for (int p = 0; p < NN_PRECISIONS; p++)
        if (strcmp(s, nn_precision_name((nn_precision)p)) == 0) {
            *out = (nn_precision)p;
            return 0;
        }
    return -1;
}

bool nn_precision_is_low(nn_precision p)
{
    return p == NN_PREC_INT4 || p == NN_PREC_TERNARY || p == NN_PREC_TOPK;
}

nn_wire nn_wire_of(nn_precision p)
{
    nn_wire w = {
        .prec = p, .group_size = NN_WIRE_GROUP_DEFAULT, .topk_fraction = NN_WIRE_TOPK_DEFAULT};
    return w;
}

/* ---------------------------------------------------------------- INT8 */

int nn_int8_quantize(const float *w, size_t rows, size_t cols, int8_t *q, float *scale,
                     size_t *bad_row)
{
    for (size_t r = 0; r < rows; r++) {
        const float *wr = w + r * cols;
        int8_t *qr = q + r * cols;
        /* max |w| over the bit patterns without the sign: for non-negative floats the integer
         * order is the numeric order, and inf/NaN patterns are the largest (vectorises). */
        uint32_t maxbits = 0;
        for (size_t c = 0; c < cols; c++) {
            uint32_t u;
            memcpy(&u, &wr[c], sizeof u);
            u &= 0x7FFFFFFFu;
            maxbits = u > maxbits ? u : maxbits;
        }
        float maxabs;
        memcpy(&maxabs, &maxbits, sizeof maxabs);
        if (maxbits >= 0x7F800000u) {
            if (bad_row)
                *bad_row = r;
            return -1;
        }
        float s = maxabs / 127.0f;
        scale[r] = s;
        if (s == 0.0f) { /* all-zero channel (or one too small for a non-zero float scale) */
            memset(qr, 0, cols);
            continue;
        }
        /* q must be the round-half-even of the exact quotient w / scale. In double, w * (1/scale)
         * is within 2^-44 of it (|w/scale| <= 127.5, two roundings of 2^-53), so its rounding is
         * right unless it lies within 2^-30 of a half-integer; those few are redone with the
         * exact division (w / scale in double is the true quotient rounded once). Then
         * |w - q*scale| <= scale/2 holds exactly. */
        double ds = (double)s, inv = 1.0 / ds;
        int near_tie = 0;
        for (size_t c = 0; c < cols; c++) {
            double x = (double)wr[c] * inv;
            double r8 = rint(x);
            near_tie |= fabs(x - r8) > 0.5 - 0x1p-30;
            r8 = r8 > 127.0 ? 127.0 : (r8 < -127.0 ? -127.0 : r8);
            qr[c] = (int8_t)r8;
        }
        if (!near_tie)
            continue;
        for (size_t c = 0; c < cols; c++) {
            double x = (double)wr[c] * inv;
            if (fabs(x - rint(x)) > 0.5 - 0x1p-30) {
                double r8 = rint((double)wr[c] / ds);
                r8 = r8 > 127.0 ? 127.0 : (r8 < -127.0 ? -127.0 : r8);
                qr[c] = (int8_t)r8;
            }
        }
    }
    return 0;
}

void nn_int8_dequantize(const int8_t *q, const float *scale, size_t rows, size_t cols, float *w)
{
    for (size_t r = 0; r < rows; r++) {
        float s = scale[r];
        for (size_t c = 0; c < cols; c++)
            w[r * cols + c] = (float)q[r * cols + c] * s;
    }
}

/* ---------------------------------------------------------------- layout */

bool nn__view_is_float(const nn_view *v)
{
    return v->store == NN_STORE_PARAM || v->store == NN_STORE_BUFFER;
}

/* Layouts are program data: a bad one is a bug. */
static void layout_assert(const nn_layout *l)
{
    CS_ASSERT(l && (l->views || l->n_views == 0));
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        CS_ASSERT(v->name && v->name[0]);
        CS_ASSERT(v->ndim >= 0 && v->ndim <= 4);
        size_t count = 1;
        for (int d = 0; d < v->ndim; d++) {
            CS_ASSERT(v->shape[d] >= 0);
            CS_ASSERT(cs_size_mul(count, (size_t)v->shape[d], &count) == 0);
        }
        CS_ASSERT(count == v->count);
        size_t limit = nn__view_is_float(v) ? l->state_floats : l->n_tracked;
        CS_ASSERT(v->offset <= limit && v->count <= limit - v->offset);
        if (v->per_channel)
            CS_ASSERT(nn__view_is_float(v) && v->ndim >= 1 && v->shape[0] >= 1);
    }
}

static size_t view_rows(const nn_view *v)
{
    return (size_t)v->shape[0];
}

/* ---------------------------------------------------------------- encode */

static const char SCALE_SUFFIX[] = ".scale";

enum { CHUNK = 1024 }; /* floats per step when a delta is converted on the fly */

int nn_codec_encode_with(const nn_layout *l, nn_precision prec, const float *state,
                         const int64_t *tracked, const float *base, unsigned char **buf,
                         size_t *len, cs_err *err)
{
    nn_wire w = nn_wire_of(prec);
    return nn_codec_encode_wire(l, &w, state, tracked, base, buf, len, err);
}

int nn_codec_encode_wire(const nn_layout *l, const nn_wire *w, const float *state,
                         const int64_t *tracked, const float *base, unsigned char **buf,
                         size_t *len, cs_err *err)
{
    layout_assert(l);
    CS_ASSERT((int)w->prec >= 0 && (int)w->prec < NN_CODECS);
    *buf = NULL;
    *len = 0;
    if (nn_precision_is_low(w->prec))
        return nn__encode_low(l, w, state, tracked, base, buf, len, err);
    const nn_precision prec = w->prec;
    size_t n_pc = 0, name_bytes = 0, max_cols = 0;
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        if (prec == NN_PREC_INT8 && v->per_channel) {
            n_pc++;
            name_bytes += strlen(v->name) + sizeof SCALE_SUFFIX;
            size_t cols = v->count / view_rows(v);
            max_cols = cols > max_cols ? cols : max_cols;
        }
    }
    size_t n_tensors = l->n_views + n_pc;
    nn_st_tensor *ts = calloc(n_tensors ? n_tensors : 1, sizeof *ts);
    size_t *offs = malloc((n_tensors ? n_tensors : 1) * sizeof *offs);
    char *names = malloc(name_bytes ? name_bytes : 1);
    float *rowbuf = NULL;
    unsigned char *out = NULL;
    size_t out_len = 0;
    int rc = 0;
    if (base && n_pc > 0)
        rowbuf = malloc(max_cols * sizeof *rowbuf);
    if (!ts || !offs || !names || (base && n_pc > 0 && !rowbuf)) {
        rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory encoding a payload");
        goto done;
    }
    /* The tensors (no data yet): each view, and after an INT8 weight its scales. */
    char *np = names;
    size_t nt = 0;
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        nn_st_tensor *t = &ts[nt++];
        t->name = v->name;
        t->ndim = v->ndim;
        for (int d = 0; d < v->ndim; d++)
            t->shape[d] = v->shape[d];
        if (!nn__view_is_float(v)) {
            t->dtype = NN_DTYPE_I64;
            t->nbytes = v->count * sizeof(int64_t);
        } else if (prec == NN_PREC_FP16) {
            t->dtype = NN_DTYPE_F16;
            t->nbytes = v->count * sizeof(uint16_t);
        } else if (prec == NN_PREC_INT8 && v->per_channel) {
            t->dtype = NN_DTYPE_I8;
            t->nbytes = v->count;
            nn_st_tensor *s = &ts[nt++];
            size_t nl = strlen(v->name);
            memcpy(np, v->name, nl);
            memcpy(np + nl, SCALE_SUFFIX, sizeof SCALE_SUFFIX);
            s->name = np;
            np += nl + sizeof SCALE_SUFFIX;
            s->dtype = NN_DTYPE_F32;
            s->ndim = 1;
            s->shape[0] = v->shape[0];
            s->nbytes = view_rows(v) * sizeof(float);
        } else {
            t->dtype = NN_DTYPE_F32;
            t->nbytes = v->count * sizeof(float);
        }
    }
    CS_ASSERT(nt == n_tensors);
    const nn_st_meta meta[] = {
        {"format", "pt"},
        {"constsim.precision", nn_precision_name(prec)},
        {"constsim.encoding", base ? "delta" : "state"},
    };
    rc = nn_st_write_header(ts, nt, meta, sizeof meta / sizeof meta[0], &out, &out_len, offs, err);
    if (rc)
        goto done;
    /* The values, written in place (offsets are aligned to the element size). */
    nt = 0;
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        const nn_st_tensor *t = &ts[nt];
        unsigned char *dst = out + offs[nt++];
        if (!nn__view_is_float(v)) {
            memcpy(dst, tracked + v->offset, v->count * sizeof(int64_t));
            continue;
        }
        const float *src = state + v->offset;
        const float *b = base ? base + v->offset : NULL;
        if (t->dtype == NN_DTYPE_F32) {
            if (!b) {
                memcpy(dst, src, v->count * sizeof(float));
            } else {
                float *d = (float *)(void *)dst;
                for (size_t k = 0; k < v->count; k++)
                    d[k] = src[k] - b[k];
            }
        } else if (t->dtype == NN_DTYPE_F16) {
            uint16_t *h = (uint16_t *)(void *)dst;
            if (!b) {
                nn_fp16_encode(src, h, v->count);
            } else {
                float tmp[CHUNK];
                for (size_t k = 0; k < v->count; k += CHUNK) {
                    size_t m = v->count - k < CHUNK ? v->count - k : CHUNK;
                    for (size_t j = 0; j < m; j++)
                        tmp[j] = src[k + j] - b[k + j];
                    nn_fp16_encode(tmp, h + k, m);
                }
            }
        } else {
            size_t rows = view_rows(v), cols = v->count / rows, bad = 0;
            int8_t *q = (int8_t *)dst;
            float *scale = (float *)(void *)(out + offs[nt++]);
            int qrc = 0;
            if (w->stochastic) {
                for (size_t r = 0; r < rows && qrc == 0; r++) {
                    const float *x = src + r * cols;
                    if (b) {
                        for (size_t c = 0; c < cols; c++)
                            rowbuf[c] = src[r * cols + c] - b[r * cols + c];
                        x = rowbuf;
                    }
                    size_t bad_i = 0;
                    qrc = nn_lowbit_quantize(x, cols, cols, 127, true, w->sr_seed,
                                             v->offset + r * cols, q + r * cols, scale + r, &bad_i);
                    bad = r;
                }
            } else if (!b) {
                qrc = nn_int8_quantize(src, rows, cols, q, scale, &bad);
            } else {
                for (size_t r = 0; r < rows && qrc == 0; r++) {
                    for (size_t c = 0; c < cols; c++)
                        rowbuf[c] = src[r * cols + c] - b[r * cols + c];
                    qrc = nn_int8_quantize(rowbuf, 1, cols, q + r * cols, scale + r, NULL);
                    bad = r;
                }
            }
            if (qrc != 0) {
                rc = cs_err_set(err, CS_ERANGE, NULL, 0, 0,
                                "tensor \"%s\": output channel %zu holds a non-finite value, "
                                "which INT8 cannot encode",
                                v->name, bad);
                goto done;
            }
        }
    }
    *buf = out;
    *len = out_len;
    out = NULL;
done:
    free(out);
    free(rowbuf);
    free(names);
    free(offs);
    free(ts);
    return rc;
}

/* ---------------------------------------------------------------- decode */

typedef struct plan {
    const nn_st_tensor *t;     /* the view's tensor */
    const nn_st_tensor *scale; /* INT8: its scales */
} plan;

long nn__find_tensor(const nn_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return (long)i;
    return -1;
}

void nn__shape_str(char *out, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = 0;
    n += (size_t)snprintf(out + n, cap - n, "[");
    for (int d = 0; d < ndim && n < cap; d++)
        n += (size_t)snprintf(out + n, cap - n, d ? ",%lld" : "%lld", (long long)shape[d]);
    if (n < cap)
        snprintf(out + n, cap - n, "]");
}

bool nn__shape_eq(const nn_st_tensor *t, int ndim, const int64_t *shape)
{
    if (t->ndim != ndim)
        return false;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d])
            return false;
    return true;
}

int nn__shape_error(const char *path, const nn_st_tensor *t, int ndim, const int64_t *shape,
                    cs_err *err)
{
    char got[128], want[128];
    nn__shape_str(got, sizeof got, t->ndim, t->shape);
    nn__shape_str(want, sizeof want, ndim, shape);
    return cs_err_set_at(err, CS_EINVAL, path, (long long)t->header_offset,
                         "tensor \"%s\": shape %s, expected %s", t->name, got, want);
}

/* Loads n little-endian floats from possibly unaligned bytes; adds base if not NULL. */
void nn__load_f32(const unsigned char *src, size_t n, const float *base, float *dst)
{
    if (!base) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    float tmp[1024];
    for (size_t i = 0; i < n; i += 1024) {
        size_t k = n - i < 1024 ? n - i : 1024;
        memcpy(tmp, src + i * sizeof(float), k * sizeof(float));
        for (size_t j = 0; j < k; j++)
            dst[i + j] = base[i + j] + tmp[j];
    }
}

void nn__load_f16(const unsigned char *src, size_t n, const float *base, float *dst)
{
    if (!base && ((uintptr_t)src % _Alignof(uint16_t)) == 0) {
        nn_fp16_decode((const uint16_t *)(const void *)src, dst, n);
        return;
    }
    uint16_t tmp[1024];
    float f[1024];
    for (size_t i = 0; i < n; i += 1024) {
        size_t k = n - i < 1024 ? n - i : 1024;
        memcpy(tmp, src + i * sizeof(uint16_t), k * sizeof(uint16_t));
        if (!base) {
            nn_fp16_decode(tmp, dst + i, k);
            continue;
        }
        nn_fp16_decode(tmp, f, k);
        for (size_t j = 0; j < k; j++)
            dst[i + j] = base[i + j] + f[j];
    }
}

static void load_i8(const nn_st_tensor *t, const nn_st_tensor *st, const float *base, float *dst)
{
    const int8_t *q = t->data;
    const unsigned char *sb = st->data;
    size_t rows = (size_t)st->shape[0], cols = rows ? t->nbytes / rows : 0;
    for (size_t r = 0; r < rows; r++) {
        float s;
        memcpy(&s, sb + r * sizeof(float), sizeof s);
        const int8_t *qr = q + r * cols;
        float *o = dst + r * cols;
        if (base) {
            const float *b = base + r * cols;
            for (size_t c = 0; c < cols; c++)
                o[c] = b[c] + (float)qr[c] * s;
        } else {
            for (size_t c = 0; c < cols; c++)
                o[c] = (float)qr[c] * s;
        }
    }
}

int nn_codec_decode_with(const nn_layout *l, const unsigned char *buf, size_t len, const char *path,
                         const float *base, float *state, int64_t *tracked, nn_precision *prec,
                         cs_err *err)
{
    layout_assert(l);
    nn_st_file f;
    int rc = nn_st_parse(buf, len, path, &f, err);
    if (rc)
        return rc;
    plan *plans = calloc(l->n_views ? l->n_views : 1, sizeof *plans);
    unsigned char *used = calloc(f.n ? f.n : 1, 1);
    char *sname = NULL;
    if (!plans || !used) {
        rc = cs_err_set_at(err, CS_ENOMEM, path, 0, "out of memory decoding a payload");
        goto done;
    }
    const char *enc = nn_st_meta_get(&f, "constsim.encoding");
    bool delta = false;
    if (enc) {
        if (strcmp(enc, "delta") == 0)
            delta = true;
        else if (strcmp(enc, "state") != 0) {
            rc = cs_err_set_at(err, CS_EINVAL, path, 8,
                               "__metadata__: unknown constsim.encoding \"%.40s\"", enc);
            goto done;
        }
    }
    if (delta && !base) {
        rc = cs_err_set_at(err, CS_EINVAL, path, 8,
                           "this is a delta payload: decoding it needs the base state");
        goto done;
    }
    if (!delta && base) {
        rc = cs_err_set_at(err, CS_EINVAL, path, 8,
                           "a base state was given but this is not a delta payload");
        goto done;
    }
    const char *mprec = nn_st_meta_get(&f, "constsim.precision");
    nn_precision low;
    if (mprec && nn_precision_parse(mprec, &low) == 0 && nn_precision_is_low(low)) {
        rc = nn__decode_low(l, &f, low, path, base, state, tracked, err);
        if (rc == 0 && prec)
            *prec = low;
        goto done;
    }
    bool any_i8 = false, any_f16 = false;
    /* Phase 1: every view's tensor present, with an accepted dtype and the right shape. */
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        long k = nn__find_tensor(&f, v->name);
        if (k < 0) {
            rc = cs_err_set_at(err, CS_EINVAL, path, 8, "missing tensor \"%s\"", v->name);
            goto done;
        }
        const nn_st_tensor *t = &f.tensors[k];
        used[k] = 1;
        plans[i].t = t;
        long long at = (long long)t->header_offset;
        if (!nn__view_is_float(v)) {
            if (t->dtype != NN_DTYPE_I64) {
                rc =
                    cs_err_set_at(err, CS_EINVAL, path, at, "tensor \"%s\": dtype %s, expected I64",
                                  v->name, nn_dtype_name(t->dtype));
                goto done;
            }
            if (!nn__shape_eq(t, v->ndim, v->shape)) {
                rc = nn__shape_error(path, t, v->ndim, v->shape, err);
                goto done;
            }
            continue;
        }
        if (!nn__shape_eq(t, v->ndim, v->shape)) {
            rc = nn__shape_error(path, t, v->ndim, v->shape, err);
            goto done;
        }
        if (t->dtype == NN_DTYPE_F32)
            continue;
        if (t->dtype == NN_DTYPE_F16) {
            any_f16 = true;
            continue;
        }
        if (t->dtype != NN_DTYPE_I8 || !v->per_channel) {
            rc = cs_err_set_at(err, CS_EINVAL, path, at, "tensor \"%s\": dtype %s, expected %s",
                               v->name, nn_dtype_name(t->dtype),
                               v->per_channel ? "F32, F16 or I8" : "F32 or F16");
            goto done;
        }
        any_i8 = true;
        free(sname);
        size_t nl = strlen(v->name);
        sname = malloc(nl + sizeof SCALE_SUFFIX);
        if (!sname) {
            rc = cs_err_set_at(err, CS_ENOMEM, path, 0, "out of memory");
            goto done;
        }
        memcpy(sname, v->name, nl);
        memcpy(sname + nl, SCALE_SUFFIX, sizeof SCALE_SUFFIX);
        long ks = nn__find_tensor(&f, sname);
        if (ks < 0) {
            rc = cs_err_set_at(err, CS_EINVAL, path, at,
                               "tensor \"%s\" is I8 but its scales \"%s\" are missing", v->name,
                               sname);
            goto done;
        }
        const nn_st_tensor *st = &f.tensors[ks];
        used[ks] = 1;
        plans[i].scale = st;
        if (st->dtype != NN_DTYPE_F32) {
            rc = cs_err_set_at(err, CS_EINVAL, path, (long long)st->header_offset,
                               "tensor \"%s\": dtype %s, expected F32", sname,
                               nn_dtype_name(st->dtype));
            goto done;
        }
        int64_t want = v->shape[0];
        if (!nn__shape_eq(st, 1, &want)) {
            rc = nn__shape_error(path, st, 1, &want, err);
            goto done;
        }
        const unsigned char *sb = st->data;
        for (size_t r = 0; r < (size_t)want; r++) {
            float s;
            memcpy(&s, sb + r * sizeof(float), sizeof s);
            if (!(s >= 0.0f && s <= FLT_MAX)) {
                rc = cs_err_set_at(err, CS_EINVAL, path,
                                   (long long)(st->file_offset + r * sizeof(float)),
                                   "tensor \"%s\": scale %zu is %g (scales must be finite and "
                                   ">= 0)",
                                   sname, r, (double)s);
                goto done;
            }
        }
    }
    for (size_t k = 0; k < f.n; k++)
        if (!used[k]) {
            rc = cs_err_set_at(err, CS_EINVAL, path, (long long)f.tensors[k].header_offset,
                               "unknown tensor \"%.200s\"", f.tensors[k].name);
            goto done;
        }
    /* Phase 2: write the state. */
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        const nn_st_tensor *t = plans[i].t;
        if (!nn__view_is_float(v)) {
            memcpy(tracked + v->offset, t->data, v->count * sizeof(int64_t));
            continue;
        }
        const float *b = base ? base + v->offset : NULL;
        float *dst = state + v->offset;
        if (t->dtype == NN_DTYPE_F32)
            nn__load_f32(t->data, v->count, b, dst);
        else if (t->dtype == NN_DTYPE_F16)
            nn__load_f16(t->data, v->count, b, dst);
        else
            load_i8(t, plans[i].scale, b, dst);
    }
    if (prec)
        *prec = any_i8 ? NN_PREC_INT8 : (any_f16 ? NN_PREC_FP16 : NN_PREC_FP32);
done:
    free(sname);
    free(used);
    free(plans);
    nn_st_free(&f);
    return rc;
}

/* ---------------------------------------------------------------- files */

int nn_codec_save_with(const nn_layout *l, const char *path, nn_precision prec, const float *state,
                       const int64_t *tracked, cs_err *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = nn_codec_encode_with(l, prec, state, tracked, NULL, &buf, &len, err);
    if (rc) {
        if (err && !err->path[0])
            snprintf(err->path, sizeof err->path, "%s", path);
        return rc;
    }
    rc = cs_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

int nn_codec_load_with(const nn_layout *l, const char *path, float *state, int64_t *tracked,
                       nn_precision *prec, cs_err *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = cs_read_file(path, &buf, &len, err);
    if (rc)
        return rc;
    rc = nn_codec_load_buf_with(l, buf, len, path, state, tracked, prec, err);
    free(buf);
    return rc;
}

int nn_codec_load_buf_with(const nn_layout *l, const unsigned char *buf, size_t len,
                           const char *path, float *state, int64_t *tracked, nn_precision *prec,
                           cs_err *err)
{
    /* Decoded aside first: a file with a non-finite value leaves state unchanged. */
    float *tmp = malloc((l->state_floats ? l->state_floats : 1) * sizeof *tmp);
    if (!tmp)
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (model)");
    memcpy(tmp, state, l->state_floats * sizeof *tmp);
    int64_t tr[64];
    CS_ASSERT(l->n_tracked <= sizeof tr / sizeof tr[0]);
    memcpy(tr, tracked, l->n_tracked * sizeof *tr);
    int rc = nn_codec_decode_with(l, buf, len, path, NULL, tmp, tr, prec, err);
    for (size_t v = 0; rc == 0 && v < l->n_views; v++) {
        const nn_view *w = &l->views[v];
        if (w->store == NN_STORE_TRACKED)
            continue;
        for (size_t i = 0; i < w->count; i++)
            if (!isfinite(tmp[w->offset + i])) {
                rc = cs_err_set(err, CS_EINVAL, path, 0, 0,
                                "tensor %s: element %zu is %s; a model must hold finite values",
                                w->name, i, isnan(tmp[w->offset + i]) ? "NaN" : "infinite");
                break;
            }
    }
    if (rc == 0) {
        memcpy(state, tmp, l->state_floats * sizeof *tmp);
        memcpy(tracked, tr, l->n_tracked * sizeof *tr);
    }
    free(tmp);
    return rc;
}
