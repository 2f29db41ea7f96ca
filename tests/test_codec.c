/* test_codec.c - payloads over a layout: FP32/FP16/INT8 round trips, the tensors each precision
 * writes, delta payloads, decode errors (missing/unknown/mis-shaped tensors, bad scales, every
 * truncation), model files on disk, and the sizes of the real model in each precision. */
#include "cs_rng.h"
#include "nn_codec.h"
#include "st_test_util.h"
#include "t.h"
#include "test_codec_layout.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static nn_view small_views[SMALL_VIEWS];
static nn_layout small;

static const nn_view *find_view(const nn_layout *l, const char *name)
{
    for (size_t i = 0; i < l->n_views; i++)
        if (strcmp(l->views[i].name, name) == 0)
            return &l->views[i];
    return NULL;
}

/* Half an ulp of the float x: what rounding a real value to x can cost (normal or subnormal). */
static double half_ulp(float x)
{
    return 0.5 * fmax(FLT_EPSILON * fabs((double)x), FLT_TRUE_MIN);
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* The tensors of a payload as written: dtype per name. */
static void check_dtypes(const unsigned char *buf, size_t len, nn_precision prec)
{
    nn_st_file f;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
    T_STREQ(nn_st_meta_get(&f, "format"), "pt");
    T_STREQ(nn_st_meta_get(&f, "constsim.precision"), nn_precision_name(prec));
    size_t want_n = small.n_views;
    for (size_t i = 0; i < small.n_views; i++) {
        const nn_view *v = &small.views[i];
        const nn_st_tensor *t = nn_st_find(&f, v->name);
        T_TRUE(t != NULL);
        if (!t)
            continue;
        nn_dtype want = NN_DTYPE_F32;
        if (v->store == NN_STORE_TRACKED)
            want = NN_DTYPE_I64;
        else if (prec == NN_PREC_FP16)
            want = NN_DTYPE_F16;
        else if (prec == NN_PREC_INT8 && v->per_channel)
            want = NN_DTYPE_I8;
        T_EQ(t->dtype, want);
        T_EQ(t->ndim, v->ndim);
        if (want == NN_DTYPE_I8) {
            char sn[64];
            snprintf(sn, sizeof sn, "%s.scale", v->name);
            const nn_st_tensor *s = nn_st_find(&f, sn);
            T_TRUE(s && s->dtype == NN_DTYPE_F32 && s->ndim == 1 && s->shape[0] == v->shape[0]);
            want_n++;
        }
    }
    T_EQ_U64(f.n, want_n);
    nn_st_free(&f);
}

static void test_round_trips(void)
{
    float state[256], back[256];
    int64_t tracked[4], tback[4];
    T_TRUE(small.state_floats <= 256 && small.n_tracked <= 4);
    layout_random_state(&small, 1, state, tracked);
    /* make one fc channel all zeros and give one conv channel a huge value */
    const nn_view *fw = find_view(&small, "fc.weight"), *cw = find_view(&small, "c.weight");
    for (size_t j = 0; j < 8; j++)
        state[fw->offset + 8 + j] = 0.0f;
    state[cw->offset + 5] = 1e6f;
    for (int p = 0; p <= NN_PREC_INT8; p++) {
        nn_precision prec = (nn_precision)p, got = (nn_precision)-1;
        unsigned char *buf = NULL;
        size_t len = 0;
        cs_err e;
        cs_err_clear(&e);
        T_EQ(nn_codec_encode_with(&small, prec, state, tracked, NULL, &buf, &len, &e), 0);
        check_dtypes(buf, len, prec);
        memset(back, 0xAB, sizeof back);
        memset(tback, 0, sizeof tback);
        T_EQ(nn_codec_decode_with(&small, buf, len, "p", NULL, back, tback, &got, &e), 0);
        T_EQ(got, prec);
        T_EQ(tback[0], tracked[0]);
        size_t bad = 0;
        for (size_t i = 0; i < small.n_views; i++) {
            const nn_view *v = &small.views[i];
            if (v->store == NN_STORE_TRACKED)
                continue;
            size_t rows = v->per_channel ? (size_t)v->shape[0] : 1, cols = v->count / rows;
            for (size_t r = 0; r < rows; r++) {
                float m = 0.0f;
                for (size_t c = 0; c < cols; c++)
                    m = fmaxf(m, fabsf(state[v->offset + r * cols + c]));
                float scale = m / 127.0f;
                for (size_t c = 0; c < cols; c++) {
                    size_t k = v->offset + r * cols + c;
                    float want;
                    if (prec == NN_PREC_FP32 || (prec == NN_PREC_INT8 && !v->per_channel))
                        want = state[k];
                    else if (prec == NN_PREC_FP16)
                        want = nn_fp16_to_f32(nn_fp16_from_f32(state[k]));
                    else {
                        /* INT8: half a quantisation step, plus the rounding of q * scale to
                         * float (half an ulp of the result) */
                        double err = fabs((double)back[k] - (double)state[k]);
                        if (isnan(back[k]) || err > 0.5 * (double)scale + half_ulp(back[k]))
                            bad++;
                        continue;
                    }
                    if (bits(back[k]) != bits(want))
                        bad++;
                }
            }
        }
        T_EQ(bad, 0);
        if (prec == NN_PREC_INT8) {
            for (size_t j = 0; j < 8; j++)
                T_TRUE(back[fw->offset + 8 + j] == 0.0f);
            T_TRUE(back[cw->offset + 5] == 1e6f); /* 127 * (1e6/127) */
        }
        free(buf);
    }
}

/* INT8 payload bytes against a quantisation computed here from the definition. */
static void test_int8_payload_values(void)
{
    float state[256];
    int64_t tracked[4];
    layout_random_state(&small, 2, state, tracked);
    unsigned char *buf = NULL;
    size_t len = 0;
    cs_err e;
    T_EQ(nn_codec_encode_with(&small, NN_PREC_INT8, state, tracked, NULL, &buf, &len, &e), 0);
    nn_st_file f;
    T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
    const nn_view *v = find_view(&small, "fc.weight");
    const nn_st_tensor *q = nn_st_find(&f, "fc.weight"), *s = nn_st_find(&f, "fc.weight.scale");
    T_TRUE(q && s);
    if (q && s) {
        size_t bad = 0;
        for (size_t r = 0; r < 3; r++) {
            double m = 0;
            for (size_t c = 0; c < 8; c++)
                m = fmax(m, fabs((double)state[v->offset + r * 8 + c]));
            float sc;
            memcpy(&sc, (const unsigned char *)s->data + 4 * r, 4);
            if (sc != (float)(m / 127.0))
                bad++;
            for (size_t c = 0; c < 8; c++) {
                double x = (double)state[v->offset + r * 8 + c] / (double)sc;
                double want = nearbyint(x); /* default rounding mode: half to even */
                if (((const int8_t *)q->data)[r * 8 + c] != (int8_t)want)
                    bad++;
            }
        }
        T_EQ(bad, 0);
    }
    nn_st_free(&f);
    free(buf);
}

static void test_delta(void)
{
    float state[256], base[256], back[256];
    int64_t tracked[4], tback[4];
    layout_random_state(&small, 3, state, tracked);
    layout_random_state(&small, 4, base, tracked);
    tracked[0] = 777;
    for (int p = 0; p <= NN_PREC_INT8; p++) {
        nn_precision prec = (nn_precision)p;
        unsigned char *buf = NULL;
        size_t len = 0;
        cs_err e;
        cs_err_clear(&e);
        T_EQ(nn_codec_encode_with(&small, prec, state, tracked, base, &buf, &len, &e), 0);
        nn_st_file f;
        T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
        T_STREQ(nn_st_meta_get(&f, "constsim.encoding"), "delta");
        nn_st_free(&f);
        /* needs the base; a full payload refuses one */
        T_EQ(nn_codec_decode_with(&small, buf, len, "d", NULL, back, tback, NULL, &e), CS_EINVAL);
        T_CONTAINS(e.msg, "delta payload");
        T_EQ(nn_codec_decode_with(&small, buf, len, "d", base, back, tback, NULL, &e), 0);
        T_EQ(tback[0], 777);
        size_t bad = 0;
        for (size_t i = 0; i < small.n_views; i++) {
            const nn_view *v = &small.views[i];
            if (v->store == NN_STORE_TRACKED)
                continue;
            const size_t cols = v->per_channel ? v->count / (size_t)v->shape[0] : v->count;
            float dmax = 0.0f; /* of the current output channel */
            for (size_t c = 0; c < v->count; c++) {
                size_t k = v->offset + c;
                float d = state[k] - base[k];
                if (c % cols == 0) {
                    dmax = 0.0f;
                    for (size_t j = 0; j < cols; j++)
                        dmax = fmaxf(dmax, fabsf(state[k + j] - base[k + j]));
                }
                if (prec == NN_PREC_FP32 || (prec == NN_PREC_INT8 && !v->per_channel)) {
                    if (back[k] != base[k] + d)
                        bad++;
                } else if (prec == NN_PREC_FP16) {
                    if (back[k] != base[k] + nn_fp16_to_f32(nn_fp16_from_f32(d)))
                        bad++;
                } else {
                    /* INT8 delta, per output channel: half a step of max|d| / 127, plus the
                     * roundings of d, of q * scale and of base + q * scale (half an ulp each,
                     * of values no larger than |state| + |base|) */
                    const double err = fabs((double)back[k] - (double)state[k]);
                    const double tol = 0.5 * (double)(dmax / 127.0f) +
                                       3 * half_ulp(fabsf(state[k]) + fabsf(base[k]));
                    if (!(err <= tol))
                        bad++;
                }
            }
        }
        T_EQ(bad, 0);
        /* in place: state == base */
        float inplace[256];
        memcpy(inplace, base, sizeof inplace);
        T_EQ(nn_codec_decode_with(&small, buf, len, "d", inplace, inplace, tback, NULL, &e), 0);
        T_MEMEQ(inplace, back, small.state_floats * sizeof(float));
        free(buf);
    }
    /* a full payload refuses a base */
    unsigned char *buf = NULL;
    size_t len = 0;
    cs_err e;
    T_EQ(nn_codec_encode_with(&small, NN_PREC_FP32, state, tracked, NULL, &buf, &len, &e), 0);
    T_EQ(nn_codec_decode_with(&small, buf, len, "d", base, back, tback, NULL, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "not a delta payload");
    free(buf);
}

/* A payload built by hand from the small layout's tensors with one change. */
typedef enum mutation {
    M_DROP,         /* leave out tensor `name` */
    M_EXTRA,        /* add an F32 tensor `name` */
    M_SHAPE,        /* give `name` shape [count] */
    M_I8_NO_SCALE,  /* `name` as I8 without its scales */
    M_I8_SCALE_BAD, /* `name` as I8 with scale[1] = value */
    M_I8_SCALE_F16, /* `name` as I8 with F16 scales */
    M_I8,           /* `name` as I8 with good scales (only valid for per_channel) */
    M_TRACKED_F32,  /* the counter as an F32 scalar (4 bytes) */
} mutation;

static unsigned char *mutated_payload(mutation m, const char *name, float value, size_t *len)
{
    static float state[256];
    static int64_t tracked[4];
    static int8_t q[256];
    static float scales[16];
    static uint16_t h[16];
    layout_random_state(&small, 5, state, tracked);
    nn_st_tensor ts[32];
    size_t n = 0;
    char sname[64];
    snprintf(sname, sizeof sname, "%s.scale", name);
    for (size_t i = 0; i < small.n_views; i++) {
        const nn_view *v = &small.views[i];
        bool target = strcmp(v->name, name) == 0;
        if (target && m == M_DROP)
            continue;
        nn_st_tensor *t = &ts[n++];
        memset(t, 0, sizeof *t);
        t->name = v->name;
        t->ndim = v->ndim;
        memcpy(t->shape, v->shape, sizeof v->shape);
        if (v->store == NN_STORE_TRACKED) {
            t->dtype = NN_DTYPE_I64;
            t->data = tracked + v->offset;
            t->nbytes = 8;
            if (target && m == M_TRACKED_F32) { /* the dtype alone: shape [] kept */
                t->dtype = NN_DTYPE_F32;
                t->nbytes = 4;
            }
            continue;
        }
        t->dtype = NN_DTYPE_F32;
        t->data = state + v->offset;
        t->nbytes = v->count * 4;
        if (!target)
            continue;
        if (m == M_SHAPE) {
            t->ndim = 1;
            t->shape[0] = (int64_t)v->count;
        } else if (m == M_I8_NO_SCALE || m == M_I8_SCALE_BAD || m == M_I8_SCALE_F16 || m == M_I8) {
            size_t rows = (size_t)v->shape[0];
            for (size_t k = 0; k < v->count; k++)
                q[k] = (int8_t)(k % 255 - 127);
            for (size_t r = 0; r < rows; r++)
                scales[r] = 0.01f;
            t->dtype = NN_DTYPE_I8;
            t->data = q;
            t->nbytes = v->count;
            if (m == M_I8_NO_SCALE)
                continue;
            nn_st_tensor *s = &ts[n++];
            memset(s, 0, sizeof *s);
            s->name = sname;
            s->ndim = 1;
            s->shape[0] = (int64_t)rows;
            s->dtype = NN_DTYPE_F32;
            s->data = scales;
            s->nbytes = rows * 4;
            if (m == M_I8_SCALE_BAD)
                scales[1] = value;
            if (m == M_I8_SCALE_F16) {
                s->dtype = NN_DTYPE_F16;
                s->data = h;
                s->nbytes = rows * 2;
            }
        }
    }
    if (m == M_EXTRA) {
        nn_st_tensor *t = &ts[n++];
        memset(t, 0, sizeof *t);
        t->name = name;
        t->dtype = NN_DTYPE_F32;
        t->ndim = 1;
        t->shape[0] = 2;
        t->data = state;
        t->nbytes = 8;
    }
    unsigned char *buf = NULL;
    cs_err e;
    if (nn_st_write(ts, n, NULL, 0, &buf, len, &e) != 0) {
        fprintf(stderr, "mutated_payload: %s\n", e.msg);
        abort();
    }
    return buf;
}

/* Decodes a payload with one mutation; it must fail with CS_EINVAL, the message, the path and
 * exactly the byte offset expected, leaving the state alone. The offset is that of tensor
 * at_key's key in the header if at_key is given, else byte data_byte of tensor at_data's data
 * if at_data is given, else 8 (the header as a whole). */
static void expect_decode_error(mutation m, const char *name, float value, const char *msg,
                                const char *at_key, const char *at_data, size_t data_byte, int line)
{
    size_t len;
    unsigned char *buf = mutated_payload(m, name, value, &len);
    float state[256];
    int64_t tracked[4];
    for (size_t i = 0; i < 256; i++)
        state[i] = -42.0f;
    tracked[0] = -42;
    long long want_off = 8;
    if (at_key || at_data) {
        nn_st_file f;
        cs_err pe;
        want_off = -99; /* the tensor is missing from the payload */
        if (nn_st_parse(buf, len, NULL, &f, &pe) == 0) {
            const nn_st_tensor *t = nn_st_find(&f, at_key ? at_key : at_data);
            if (t)
                want_off =
                    at_key ? (long long)t->header_offset : (long long)(t->file_offset + data_byte);
            nn_st_free(&f);
        }
    }
    cs_err e;
    cs_err_clear(&e);
    int rc =
        nn_codec_decode_with(&small, buf, len, "m.safetensors", NULL, state, tracked, NULL, &e);
    t_checks++;
    if (rc != CS_EINVAL || !strstr(e.msg, msg) || e.offset != want_off ||
        strcmp(e.path, "m.safetensors") != 0) {
        t_failures++;
        fprintf(stderr,
                "%s:%d: rc %d (want %d) offset %lld (want %lld) path \"%s\" msg \"%s\" (want "
                "\"%s\")\n",
                __FILE__, line, rc, CS_EINVAL, e.offset, want_off, e.path, e.msg, msg);
    }
    size_t touched = 0;
    for (size_t i = 0; i < 256; i++)
        touched += state[i] != -42.0f;
    T_EQ(touched, 0);
    T_EQ(tracked[0], -42);
    free(buf);
}
#define EXPECT_ERR(m, name, value, msg, at)                                                        \
    expect_decode_error(m, name, value, msg, at, NULL, 0, __LINE__)
#define EXPECT_ERR_DATA(m, name, value, msg, tensor, byte)                                         \
    expect_decode_error(m, name, value, msg, NULL, tensor, byte, __LINE__)

/* Each case changes one thing of a valid payload. */
static void test_decode_errors(void)
{
    EXPECT_ERR(M_DROP, "fc.bias", 0, "missing tensor \"fc.bias\"", NULL);
    EXPECT_ERR(M_DROP, "bn.num_batches_tracked", 0, "missing tensor \"bn.num_batches_tracked\"",
               NULL);
    EXPECT_ERR(M_EXTRA, "fc2.weight", 0, "unknown tensor \"fc2.weight\"", "fc2.weight");
    EXPECT_ERR(M_EXTRA, "c.bias.scale", 0, "unknown tensor \"c.bias.scale\"", "c.bias.scale");
    EXPECT_ERR(M_SHAPE, "c.weight", 0, "tensor \"c.weight\": shape [48], expected [4,3,2,2]",
               "c.weight");
    EXPECT_ERR(M_SHAPE, "fc.weight", 0, "tensor \"fc.weight\": shape [24], expected [3,8]",
               "fc.weight");
    /* a bias as I8: alone, and as a complete I8 encoding with its scales */
    EXPECT_ERR(M_I8_NO_SCALE, "c.bias", 0, "tensor \"c.bias\": dtype I8, expected F32 or F16",
               "c.bias");
    EXPECT_ERR(M_I8, "c.bias", 0, "tensor \"c.bias\": dtype I8, expected F32 or F16", "c.bias");
    EXPECT_ERR(M_I8_NO_SCALE, "fc.weight", 0,
               "tensor \"fc.weight\" is I8 but its scales \"fc.weight.scale\" are missing",
               "fc.weight");
    EXPECT_ERR(M_I8_SCALE_F16, "fc.weight", 0,
               "tensor \"fc.weight.scale\": dtype F16, expected F32", "fc.weight.scale");
    /* a bad scale: the error points at its four bytes */
    EXPECT_ERR_DATA(M_I8_SCALE_BAD, "fc.weight", -1.0f, "tensor \"fc.weight.scale\": scale 1 is -1",
                    "fc.weight.scale", 4);
    EXPECT_ERR_DATA(M_I8_SCALE_BAD, "fc.weight", NAN, "scale 1 is nan", "fc.weight.scale", 4);
    EXPECT_ERR_DATA(M_I8_SCALE_BAD, "fc.weight", INFINITY, "scale 1 is inf", "fc.weight.scale", 4);
    EXPECT_ERR_DATA(M_I8_SCALE_BAD, "fc.weight", -0x1p-149f, "scale 1 is -1.4013e-45",
                    "fc.weight.scale", 4);
    EXPECT_ERR(M_TRACKED_F32, "bn.num_batches_tracked", 0,
               "tensor \"bn.num_batches_tracked\": dtype F32, expected I64",
               "bn.num_batches_tracked");
}

/* A hand-made INT8 file with good scales decodes to q * scale; a bad scale's error points at
 * that scale's bytes. */
static void test_decode_accepts(void)
{
    size_t len;
    unsigned char *buf = mutated_payload(M_I8, "fc.weight", 0, &len);
    float state[256];
    int64_t tracked[4];
    cs_err e;
    nn_precision p;
    T_EQ(nn_codec_decode_with(&small, buf, len, NULL, NULL, state, tracked, &p, &e), 0);
    T_EQ(p, NN_PREC_INT8);
    const nn_view *v = find_view(&small, "fc.weight");
    size_t bad = 0;
    for (size_t k = 0; k < v->count; k++)
        bad += state[v->offset + k] != (float)(int8_t)(k % 255 - 127) * 0.01f;
    T_EQ(bad, 0);
    free(buf);

    buf = mutated_payload(M_I8_SCALE_BAD, "fc.weight", -1.0f, &len);
    nn_st_file f;
    T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
    const nn_st_tensor *s = nn_st_find(&f, "fc.weight.scale");
    T_EQ(nn_codec_decode_with(&small, buf, len, NULL, NULL, state, tracked, &p, &e), CS_EINVAL);
    T_TRUE(s != NULL);
    if (s)
        T_EQ(e.offset, s->file_offset + 4);
    nn_st_free(&f);
    free(buf);
}

/* Every truncation of a payload fails with CS_EINVAL at exactly the byte the reader owes (see
 * st_truncation_offset) and leaves the state alone. */
static void test_truncations(void)
{
    float state[256], back[256];
    int64_t tracked[4], tback[4];
    layout_random_state(&small, 6, state, tracked);
    for (int p = 0; p < NN_CODECS; p++) {
        unsigned char *buf = NULL;
        size_t len = 0;
        cs_err e;
        T_EQ(nn_codec_encode_with(&small, (nn_precision)p, state, tracked, NULL, &buf, &len, &e),
             0);
        nn_st_file f;
        T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
        size_t bad = 0, untouched = 0;
        for (size_t l = 0; l < len; l++) {
            unsigned char *cut = malloc(l ? l : 1);
            if (!cut)
                abort();
            memcpy(cut, buf, l);
            memset(back, 0x5A, sizeof back);
            cs_err_clear(&e);
            const char *msg = NULL;
            const long long want = st_truncation_offset(&f, l, &msg);
            const int rc = nn_codec_decode_with(&small, cut, l, "t", NULL, back, tback, NULL, &e);
            if (rc != CS_EINVAL || e.offset != want || !strstr(e.msg, msg) ||
                strcmp(e.path, "t") != 0) {
                if (bad++ < 5)
                    fprintf(stderr,
                            "%s: cut at %zu of %zu: rc %d (want %d) offset %lld (want %lld) "
                            "msg \"%s\" (want \"%s\")\n",
                            nn_precision_name((nn_precision)p), l, len, rc, CS_EINVAL, e.offset,
                            want, e.msg, msg);
            }
            size_t touched = 0;
            for (size_t i = 0; i < 256; i++)
                touched += bits(back[i]) != 0x5A5A5A5Au;
            untouched += touched == 0;
            free(cut);
        }
        T_EQ_U64(bad, 0);
        T_EQ_U64(untouched, len);
        nn_st_free(&f);
        free(buf);
    }
}

static void test_non_finite_int8(void)
{
    float state[256];
    int64_t tracked[4];
    layout_random_state(&small, 7, state, tracked);
    const nn_view *v = find_view(&small, "fc.weight");
    state[v->offset + 2 * 8 + 3] = NAN;
    unsigned char *buf = NULL;
    size_t len = 0;
    cs_err e;
    T_EQ(nn_codec_encode_with(&small, NN_PREC_INT8, state, tracked, NULL, &buf, &len, &e),
         CS_ERANGE);
    T_CONTAINS(e.msg, "tensor \"fc.weight\": output channel 2 holds a non-finite value");
    T_TRUE(buf == NULL);
    /* FP32 and FP16 carry it */
    T_EQ(nn_codec_encode_with(&small, NN_PREC_FP16, state, tracked, NULL, &buf, &len, &e), 0);
    float back[256];
    int64_t tb[4];
    T_EQ(nn_codec_decode_with(&small, buf, len, NULL, NULL, back, tb, NULL, &e), 0);
    T_TRUE(isnan(back[v->offset + 19]));
    free(buf);
}

static void test_files(void)
{
    char dir[] = "/tmp/cs_test_codec_XXXXXX";
    T_TRUE(mkdtemp(dir) != NULL);
    float state[256], back[256], want[256];
    int64_t tracked[4], tback[4], twant[4];
    layout_random_state(&small, 8, state, tracked);
    char path[256];
    for (int p = 0; p <= NN_PREC_INT8; p++) {
        nn_precision prec = (nn_precision)p, got;
        snprintf(path, sizeof path, "%s/m_%s.safetensors", dir, nn_precision_name(prec));
        cs_err e;
        cs_err_clear(&e);
        T_EQ(nn_codec_save_with(&small, path, prec, state, tracked, &e), 0);
        unsigned char *buf = NULL, *file = NULL;
        size_t len = 0, flen = 0;
        T_EQ(nn_codec_encode_with(&small, prec, state, tracked, NULL, &buf, &len, &e), 0);
        T_EQ(cs_read_file(path, &file, &flen, &e), 0);
        T_EQ_U64(flen, len); /* a file is a payload */
        T_MEMEQ(file, buf, len);
        T_EQ(nn_codec_decode_with(&small, buf, len, NULL, NULL, want, twant, NULL, &e), 0);
        T_EQ(nn_codec_load_with(&small, path, back, tback, &got, &e), 0);
        T_EQ(got, prec);
        T_MEMEQ(back, want, small.state_floats * 4);
        T_EQ(tback[0], tracked[0]);
        /* Damaged files, one damage each: the error names the file and the byte. A '#' for the
         * header's first ':' (a byte inside a string would only rename a metadata key, which
         * readers ignore): the JSON parser stops at it. */
        const unsigned char *colon = file ? memchr(file + 8, ':', flen - 8) : NULL;
        T_TRUE(colon != NULL);
        const size_t at = colon ? (size_t)(colon - file) : 8;
        const unsigned char saved = file ? file[at] : 0;
        if (file)
            file[at] = '#';
        T_EQ(cs_write_file_atomic(path, file, flen, &e), 0);
        T_EQ(nn_codec_load_with(&small, path, back, tback, &got, &e), CS_EINVAL);
        T_STREQ(e.path, path);
        T_CONTAINS(e.msg, "invalid JSON in the header");
        T_EQ(e.offset, at);
        if (file)
            file[at] = saved;
        /* the file cut in half (inside the header for this small layout): the reader's
         * truncation error, as test_truncations has it */
        nn_st_file sf;
        T_EQ(nn_st_parse(file, flen, NULL, &sf, &e), 0);
        const char *tmsg = NULL;
        const long long toff = st_truncation_offset(&sf, flen / 2, &tmsg);
        nn_st_free(&sf);
        T_EQ(cs_write_file_atomic(path, file, flen / 2, &e), 0);
        T_EQ(nn_codec_load_with(&small, path, back, tback, &got, &e), CS_EINVAL);
        T_STREQ(e.path, path);
        T_CONTAINS(e.msg, tmsg);
        T_EQ(e.offset, toff);
        unlink(path);
        free(buf);
        free(file);
    }
    /* A file holding NaN or an infinity (FP32 and FP16 carry them) is refused, naming the
     * tensor and the element; state and tracked are left as they were. */
    for (int p = 0; p < 2; p++) {
        for (int k = 0; k < 2; k++) {
            float bad[256];
            memcpy(bad, state, sizeof bad);
            const nn_view *w = &small.views[k == 0 ? 0 : 1];
            size_t el = w->count - 1;
            bad[w->offset + el] = k == 0 ? NAN : -INFINITY;
            snprintf(path, sizeof path, "%s/bad.safetensors", dir);
            cs_err e;
            cs_err_clear(&e);
            T_EQ(nn_codec_save_with(&small, path, (nn_precision)p, bad, tracked, &e), 0);
            float keep[256];
            int64_t tkeep[4] = {7, 7, 7, 7};
            for (int i = 0; i < 256; i++)
                keep[i] = (float)i;
            T_EQ(nn_codec_load_with(&small, path, keep, tkeep, NULL, &e), CS_EINVAL);
            T_STREQ(e.path, path);
            T_CONTAINS(e.msg, w->name);
            T_CONTAINS(e.msg, k == 0 ? "is NaN" : "is infinite");
            char elem[32];
            snprintf(elem, sizeof elem, "element %zu ", el);
            T_CONTAINS(e.msg, elem);
            T_TRUE(keep[0] == 0.0f && keep[255] == 255.0f && tkeep[0] == 7);
            unlink(path);
        }
    }
    cs_err e;
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    T_EQ(nn_codec_load_with(&small, path, back, tback, NULL, &e), CS_EINVAL);
    T_STREQ(e.path, path);
    snprintf(path, sizeof path, "%s/no/such/dir/m.safetensors", dir);
    T_EQ(nn_codec_save_with(&small, path, NN_PREC_FP32, state, tracked, &e), CS_EIO);
    rmdir(dir);
}

/* The real model's table: sizes per precision (the JSON header must stay compact). */
static void test_real_sizes(void)
{
    static nn_view views[CNN_VIEWS];
    nn_layout l = layout_build(cnn_spec, CNN_VIEWS, views);
    T_EQ_U64(l.state_floats, NN_STATE_FLOATS);
    T_EQ_U64(l.n_tracked, NN_TRACKED);
    float *state = malloc(l.state_floats * sizeof *state);
    float *back = malloc(l.state_floats * sizeof *back);
    int64_t tracked[3], tb[3];
    T_TRUE(state && back);
    if (!state || !back)
        return;
    layout_random_state(&l, 9, state, tracked);
    size_t sizes[NN_PREC_INT8 + 1];
    for (int p = 0; p <= NN_PREC_INT8; p++) {
        unsigned char *buf = NULL;
        cs_err e;
        T_EQ(nn_codec_encode_with(&l, (nn_precision)p, state, tracked, NULL, &buf, &sizes[p], &e),
             0);
        T_EQ(nn_codec_decode_with(&l, buf, sizes[p], NULL, NULL, back, tb, NULL, &e), 0);
        uint64_t hl = 0;
        for (int i = 0; i < 8; i++)
            hl |= (uint64_t)buf[i] << (8 * i);
        fprintf(stderr, "%s: %zu bytes (header %llu)\n", nn_precision_name((nn_precision)p),
                sizes[p], (unsigned long long)hl);
        T_TRUE(hl < 3000);
        free(buf);
    }
    /* data bytes exactly: 4 per float (+24 counters); 2 per float; 1 per weight + 4 per scale
     * and per remaining float */
    size_t weights = 2400 + 51200 + 55296 + 307200 + 16384 + 1280,
           channels = 32 + 64 + 96 + 128 + 128 + 10;
    T_TRUE(sizes[0] > NN_STATE_FLOATS * 4 + 24 && sizes[0] < NN_STATE_FLOATS * 4 + 24 + 3000);
    T_TRUE(sizes[1] > NN_STATE_FLOATS * 2 + 24 && sizes[1] < NN_STATE_FLOATS * 2 + 24 + 3000);
    size_t i8_data = weights + 4 * channels + 4 * (NN_STATE_FLOATS - weights) + 24;
    T_TRUE(sizes[2] > i8_data && sizes[2] < i8_data + 3000);
    double r16 = (double)sizes[0] / (double)sizes[1], r8 = (double)sizes[0] / (double)sizes[2];
    fprintf(stderr, "compression: fp16 %.3fx, int8 %.3fx\n", r16, r8);
    T_TRUE(r16 >= 1.99);
    T_TRUE(r8 >= 3.8);
    free(state);
    free(back);
}

int main(void)
{
    small = layout_build(small_spec, SMALL_VIEWS, small_views);
    test_round_trips();
    test_int8_payload_values();
    test_delta();
    test_decode_errors();
    test_decode_accepts();
    test_truncations();
    test_non_finite_int8();
    test_files();
    test_real_sizes();
    return t_done();
}
