/* nn_codec.c - payload encode/decode in FP32, FP16 and INT8 over a tensor layout, model files. */
#include "nn_codec.h"

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

/* ---------------------------------------------------------------- INT8 */

int nn_int8_quantize(const float *w, size_t rows, size_t cols, int8_t *q, float *scale,
                     size_t *bad_row)
{
    for (size_t r = 0; r < rows; r++) {
        const float *wr = w + r * cols;
        int8_t *qr = q + r * cols;
        float maxabs = 0.0f;
        int bad = 0;
        for (size_t c = 0; c < cols; c++) {
            float a = fabsf(wr[c]);
            bad |= !(a <= FLT_MAX);
            maxabs = a > maxabs ? a : maxabs;
        }
        if (bad) {
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
        /* w / scale in double is the exact quotient of the two floats rounded once, so q is the
         * round-half-even of the true quotient and |w - q*scale| <= scale/2 holds exactly. */
        double ds = (double)s;
        for (size_t c = 0; c < cols; c++) {
            double v = rint((double)wr[c] / ds);
            v = v > 127.0 ? 127.0 : (v < -127.0 ? -127.0 : v);
            qr[c] = (int8_t)v;
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

static bool view_is_float(const nn_view *v)
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
        size_t limit = view_is_float(v) ? l->state_floats : l->n_tracked;
        CS_ASSERT(v->offset <= limit && v->count <= limit - v->offset);
        if (v->per_channel)
            CS_ASSERT(view_is_float(v) && v->ndim >= 1 && v->shape[0] >= 1);
    }
}

static size_t view_rows(const nn_view *v)
{
    return (size_t)v->shape[0];
}

/* ---------------------------------------------------------------- encode */

static const char SCALE_SUFFIX[] = ".scale";

int nn_codec_encode_with(const nn_layout *l, nn_precision prec, const float *state,
                         const int64_t *tracked, const float *base, unsigned char **buf,
                         size_t *len, cs_err *err)
{
    layout_assert(l);
    *buf = NULL;
    *len = 0;
    size_t n_float = 0, n_i8 = 0, n_scales = 0, n_pc = 0, name_bytes = 0;
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        if (!view_is_float(v))
            continue;
        n_float += v->count;
        if (prec == NN_PREC_INT8 && v->per_channel) {
            n_i8 += v->count;
            n_scales += view_rows(v);
            n_pc++;
            name_bytes += strlen(v->name) + sizeof SCALE_SUFFIX;
        }
    }
    /* Scratch: delta floats | scales | fp16 halves | int8 values (in decreasing alignment). */
    size_t n_delta = base ? n_float : 0;
    size_t n_half = prec == NN_PREC_FP16 ? n_float : 0;
    size_t b_delta, b_scales, b_half, total = 0;
    if (cs_size_mul(n_delta, sizeof(float), &b_delta) ||
        cs_size_mul(n_scales, sizeof(float), &b_scales) ||
        cs_size_mul(n_half, sizeof(uint16_t), &b_half))
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "model too large to encode");
    total = b_delta + b_scales + b_half + n_i8; /* each bounded by the state size: no overflow */
    size_t n_tensors = l->n_views + n_pc;
    unsigned char *scratch = malloc(total ? total : 1);
    nn_st_tensor *ts = calloc(n_tensors ? n_tensors : 1, sizeof *ts);
    char *names = malloc(name_bytes ? name_bytes : 1);
    int rc = 0;
    if (!scratch || !ts || !names) {
        rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory encoding a payload");
        goto done;
    }
    float *delta = (float *)(void *)scratch;
    float *scales = (float *)(void *)(scratch + b_delta);
    uint16_t *half = (uint16_t *)(void *)(scratch + b_delta + b_scales);
    int8_t *i8 = (int8_t *)(scratch + b_delta + b_scales + b_half);
    char *np = names;
    size_t nt = 0;
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        nn_st_tensor *t = &ts[nt++];
        t->name = v->name;
        t->ndim = v->ndim;
        for (int d = 0; d < v->ndim; d++)
            t->shape[d] = v->shape[d];
        if (!view_is_float(v)) {
            t->dtype = NN_DTYPE_I64;
            t->data = tracked + v->offset;
            t->nbytes = v->count * sizeof(int64_t);
            continue;
        }
        const float *src = state + v->offset;
        if (base) {
            const float *b = base + v->offset;
            for (size_t k = 0; k < v->count; k++)
                delta[k] = src[k] - b[k];
            src = delta;
            delta += v->count;
        }
        if (prec == NN_PREC_FP16) {
            nn_fp16_encode(src, half, v->count);
            t->dtype = NN_DTYPE_F16;
            t->data = half;
            t->nbytes = v->count * sizeof(uint16_t);
            half += v->count;
        } else if (prec == NN_PREC_INT8 && v->per_channel) {
            size_t rows = view_rows(v), cols = v->count / rows, bad = 0;
            if (nn_int8_quantize(src, rows, cols, i8, scales, &bad) != 0) {
                rc = cs_err_set(err, CS_ERANGE, NULL, 0, 0,
                                "tensor \"%s\": output channel %zu holds a non-finite value, "
                                "which INT8 cannot encode",
                                v->name, bad);
                goto done;
            }
            t->dtype = NN_DTYPE_I8;
            t->data = i8;
            t->nbytes = v->count;
            i8 += v->count;
            nn_st_tensor *s = &ts[nt++];
            size_t nl = strlen(v->name);
            memcpy(np, v->name, nl);
            memcpy(np + nl, SCALE_SUFFIX, sizeof SCALE_SUFFIX);
            s->name = np;
            np += nl + sizeof SCALE_SUFFIX;
            s->dtype = NN_DTYPE_F32;
            s->ndim = 1;
            s->shape[0] = (int64_t)rows;
            s->data = scales;
            s->nbytes = rows * sizeof(float);
            scales += rows;
        } else {
            t->dtype = NN_DTYPE_F32;
            t->data = src;
            t->nbytes = v->count * sizeof(float);
        }
    }
    CS_ASSERT(nt == n_tensors);
    const nn_st_meta meta[] = {
        {"format", "pt"},
        {"constsim.precision", nn_precision_name(prec)},
        {"constsim.encoding", base ? "delta" : "state"},
    };
    rc = nn_st_write(ts, nt, meta, sizeof meta / sizeof meta[0], buf, len, err);
done:
    free(names);
    free(ts);
    free(scratch);
    return rc;
}

/* ---------------------------------------------------------------- decode */

typedef struct plan {
    const nn_st_tensor *t;     /* the view's tensor */
    const nn_st_tensor *scale; /* INT8: its scales */
} plan;

static long find_tensor(const nn_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return (long)i;
    return -1;
}

static void shape_str(char *out, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = 0;
    n += (size_t)snprintf(out + n, cap - n, "[");
    for (int d = 0; d < ndim && n < cap; d++)
        n += (size_t)snprintf(out + n, cap - n, d ? ",%lld" : "%lld", (long long)shape[d]);
    if (n < cap)
        snprintf(out + n, cap - n, "]");
}

static bool shape_eq(const nn_st_tensor *t, int ndim, const int64_t *shape)
{
    if (t->ndim != ndim)
        return false;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d])
            return false;
    return true;
}

static int shape_error(const nn_st_file *f, const char *path, const nn_st_tensor *t, int ndim,
                       const int64_t *shape, cs_err *err)
{
    (void)f;
    char got[128], want[128];
    shape_str(got, sizeof got, t->ndim, t->shape);
    shape_str(want, sizeof want, ndim, shape);
    return cs_err_set_at(err, CS_EINVAL, path, (long long)t->header_offset,
                         "tensor \"%s\": shape %s, expected %s", t->name, got, want);
}

/* Loads n little-endian floats from possibly unaligned bytes; adds base if not NULL. */
static void load_f32(const unsigned char *src, size_t n, const float *base, float *dst)
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

static void load_f16(const unsigned char *src, size_t n, const float *base, float *dst)
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
    bool any_i8 = false, any_f16 = false;
    /* Phase 1: every view's tensor present, with an accepted dtype and the right shape. */
    for (size_t i = 0; i < l->n_views; i++) {
        const nn_view *v = &l->views[i];
        long k = find_tensor(&f, v->name);
        if (k < 0) {
            rc = cs_err_set_at(err, CS_EINVAL, path, 8, "missing tensor \"%s\"", v->name);
            goto done;
        }
        const nn_st_tensor *t = &f.tensors[k];
        used[k] = 1;
        plans[i].t = t;
        long long at = (long long)t->header_offset;
        if (!view_is_float(v)) {
            if (t->dtype != NN_DTYPE_I64) {
                rc =
                    cs_err_set_at(err, CS_EINVAL, path, at, "tensor \"%s\": dtype %s, expected I64",
                                  v->name, nn_dtype_name(t->dtype));
                goto done;
            }
            if (!shape_eq(t, v->ndim, v->shape)) {
                rc = shape_error(&f, path, t, v->ndim, v->shape, err);
                goto done;
            }
            continue;
        }
        if (!shape_eq(t, v->ndim, v->shape)) {
            rc = shape_error(&f, path, t, v->ndim, v->shape, err);
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
        long ks = find_tensor(&f, sname);
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
        if (!shape_eq(st, 1, &want)) {
            rc = shape_error(&f, path, st, 1, &want, err);
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
        if (!view_is_float(v)) {
            memcpy(tracked + v->offset, t->data, v->count * sizeof(int64_t));
            continue;
        }
        const float *b = base ? base + v->offset : NULL;
        float *dst = state + v->offset;
        if (t->dtype == NN_DTYPE_F32)
            load_f32(t->data, v->count, b, dst);
        else if (t->dtype == NN_DTYPE_F16)
            load_f16(t->data, v->count, b, dst);
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
    rc = nn_codec_decode_with(l, buf, len, path, NULL, state, tracked, prec, err);
    free(buf);
    return rc;
}
