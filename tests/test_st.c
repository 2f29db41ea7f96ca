/* test_st.c - safetensors: hand-made reference bytes, writer output, round trips of every dtype,
 * broken headers (each with its message and byte offset), every truncation and random byte
 * flips (run it under ASan/UBSan: -DCONSTSIM_SANITIZE=ON). */
#include "t.h"
#include "cs_rng.h"
#include "nn_st.h"
#include "st_test_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A file from a header string (padded with spaces to a multiple of 8 if pad) and data bytes. */
static unsigned char *make_file(const char *header, int pad, const void *data, size_t dlen,
                                size_t *len)
{
    size_t hl = strlen(header);
    size_t hp = pad ? (hl + 7) / 8 * 8 : hl;
    *len = 8 + hp + dlen;
    unsigned char *b = malloc(*len ? *len : 1);
    if (!b)
        abort();
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hp >> (8 * i));
    memcpy(b + 8, header, hl);
    memset(b + 8 + hl, ' ', hp - hl);
    if (dlen)
        memcpy(b + 8 + hp, data, dlen);
    return b;
}

/* A reference file written by hand from the format description. */
static void test_hand_made(void)
{
    const char *h = "{\"__metadata__\":{\"format\":\"pt\"},"
                    "\"b\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[8,11]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    const unsigned char data[11] = {0x00, 0x00, 0x80, 0x3F, /* 1.0f */
                                    0x00, 0x00, 0x00, 0xC0, /* -2.0f */
                                    0x01, 0xFF, 0x7F};      /* 1, -1, 127 */
    size_t len;
    unsigned char *b = make_file(h, 1, data, sizeof data, &len);
    nn_st_file f;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(nn_st_parse(b, len, "hand.safetensors", &f, &e), 0);
    T_EQ(f.n, 2);
    T_STREQ(nn_st_meta_get(&f, "format"), "pt");
    const nn_st_tensor *a = nn_st_find(&f, "a"), *bt = nn_st_find(&f, "b");
    T_TRUE(a && bt);
    if (a && bt) {
        float v[2];
        memcpy(v, a->data, 8);
        T_TRUE(v[0] == 1.0f && v[1] == -2.0f);
        T_EQ(a->dtype, NN_DTYPE_F32);
        T_EQ(a->ndim, 1);
        T_EQ(a->shape[0], 2);
        T_EQ_U64(a->file_offset, f.data_start);
        const int8_t *q = bt->data;
        T_EQ(q[0], 1);
        T_EQ(q[1], -1);
        T_EQ(q[2], 127);
        T_EQ_U64(bt->header_offset, 8 + (size_t)(strstr(h, "\"b\"") - h));
    }
    T_EQ(f.data_start % 8, 0);
    nn_st_free(&f);
    free(b);
}

/* The writer's exact bytes for a small case, spelled out by hand. */
static void test_writer_bytes(void)
{
    const int64_t cnt = 5;
    const float w[2] = {1.0f, -2.0f};
    const int8_t q[3] = {1, -1, 127};
    nn_st_tensor t[3] = {
        {.name = "w", .dtype = NN_DTYPE_F32, .ndim = 2, .shape = {1, 2}, .data = w, .nbytes = 8},
        {.name = "q", .dtype = NN_DTYPE_I8, .ndim = 1, .shape = {3}, .data = q, .nbytes = 3},
        {.name = "n", .dtype = NN_DTYPE_I64, .ndim = 0, .data = &cnt, .nbytes = 8},
    };
    const nn_st_meta meta[1] = {{"format", "pt"}};
    unsigned char *buf = NULL;
    size_t len = 0;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(nn_st_write(t, 3, meta, 1, &buf, &len, &e), 0);
    /* I64 first, then F32, then I8 in the data section; header in the given order. */
    const char *want_h = "{\"__metadata__\":{\"format\":\"pt\"},"
                         "\"w\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[8,16]},"
                         "\"q\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[16,19]},"
                         "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}";
    size_t hl = strlen(want_h), hp = (hl + 7) / 8 * 8;
    T_EQ_U64(len, 8 + hp + 19);
    if (buf && len == 8 + hp + 19) {
        uint64_t n = 0;
        for (int i = 0; i < 8; i++)
            n |= (uint64_t)buf[i] << (8 * i);
        T_EQ(n, hp);
        T_MEMEQ(buf + 8, want_h, hl);
        for (size_t i = hl; i < hp; i++)
            T_EQ(buf[8 + i], ' ');
        const unsigned char want_d[19] = {5,    0,    0,    0,    0,    0,    0,
                                          0,    0x00, 0x00, 0x80, 0x3F, 0x00, 0x00,
                                          0x00, 0xC0, 0x01, 0xFF, 0x7F};
        T_MEMEQ(buf + 8 + hp, want_d, 19);
    }
    free(buf);

    /* writer errors */
    nn_st_tensor dup[2] = {t[0], t[0]};
    T_EQ(nn_st_write(dup, 2, NULL, 0, &buf, &len, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "duplicate tensor name \"w\"");
    T_TRUE(buf == NULL);
    nn_st_tensor wrong = t[0];
    wrong.nbytes = 12;
    T_EQ(nn_st_write(&wrong, 1, NULL, 0, &buf, &len, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "12 bytes given, the shape needs 8");
    wrong = t[0];
    wrong.name = "__metadata__";
    T_EQ(nn_st_write(&wrong, 1, NULL, 0, &buf, &len, &e), CS_EINVAL);
    wrong = t[0];
    wrong.ndim = 9;
    T_EQ(nn_st_write(&wrong, 1, NULL, 0, &buf, &len, &e), CS_EINVAL);
    /* no tensors at all: a valid empty file */
    T_EQ(nn_st_write(NULL, 0, NULL, 0, &buf, &len, &e), 0);
    T_EQ_U64(len, 16);
    nn_st_file f;
    T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
    T_EQ(f.n, 0);
    nn_st_free(&f);
    free(buf);
}

/* Every dtype, scalar, empty and 4-D tensors, escaped names, metadata; written then parsed. */
static unsigned char *sample_file(size_t *len)
{
    static float f32[2 * 3 * 2 * 2];
    static uint16_t f16[7];
    static int8_t i8[5] = {-127, -1, 0, 1, 127};
    static int64_t i64[2] = {INT64_MIN, INT64_MAX};
    static int64_t scalar = 123456789012345;
    for (int i = 0; i < 24; i++)
        f32[i] = (float)i * 0.25f - 3.0f;
    for (int i = 0; i < 7; i++)
        f16[i] = (uint16_t)(0x3C00 + 17 * i);
    nn_st_tensor t[6] = {
        {.name = "conv.weight",
         .dtype = NN_DTYPE_F32,
         .ndim = 4,
         .shape = {2, 3, 2, 2},
         .data = f32,
         .nbytes = sizeof f32},
        {.name = "half",
         .dtype = NN_DTYPE_F16,
         .ndim = 1,
         .shape = {7},
         .data = f16,
         .nbytes = sizeof f16},
        {.name = "q\"uote\\d",
         .dtype = NN_DTYPE_I8,
         .ndim = 2,
         .shape = {1, 5},
         .data = i8,
         .nbytes = 5},
        {.name = "longs",
         .dtype = NN_DTYPE_I64,
         .ndim = 1,
         .shape = {2},
         .data = i64,
         .nbytes = 16},
        {.name = "bn.num_batches_tracked",
         .dtype = NN_DTYPE_I64,
         .ndim = 0,
         .data = &scalar,
         .nbytes = 8},
        {.name = "empty",
         .dtype = NN_DTYPE_F32,
         .ndim = 2,
         .shape = {0, 4},
         .data = NULL,
         .nbytes = 0},
    };
    const nn_st_meta meta[2] = {{"format", "pt"}, {"note", "tab\there \"q\" \xc3\xa9"}};
    unsigned char *buf = NULL;
    cs_err e;
    cs_err_clear(&e);
    if (nn_st_write(t, 6, meta, 2, &buf, len, &e) != 0) {
        fprintf(stderr, "sample_file: %s\n", e.msg);
        abort();
    }
    return buf;
}

static void test_round_trip(void)
{
    size_t len;
    unsigned char *buf = sample_file(&len);
    nn_st_file f;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
    T_EQ(f.n, 6);
    T_STREQ(nn_st_meta_get(&f, "note"), "tab\there \"q\" \xc3\xa9");
    const nn_st_tensor *t = nn_st_find(&f, "conv.weight");
    T_TRUE(t && t->ndim == 4 && t->shape[0] == 2 && t->shape[3] == 2 && t->nbytes == 96);
    if (t) {
        float v[24];
        memcpy(v, t->data, sizeof v);
        T_TRUE(v[0] == -3.0f && v[23] == 2.75f);
        T_EQ(t->file_offset % 4, 0);
    }
    t = nn_st_find(&f, "half");
    T_TRUE(t && t->dtype == NN_DTYPE_F16 && t->nbytes == 14);
    if (t) {
        uint16_t h[7];
        memcpy(h, t->data, sizeof h);
        T_EQ(h[6], 0x3C00 + 17 * 6);
        T_EQ(t->file_offset % 2, 0);
    }
    t = nn_st_find(&f, "q\"uote\\d");
    T_TRUE(t && t->dtype == NN_DTYPE_I8 && ((const int8_t *)t->data)[0] == -127);
    t = nn_st_find(&f, "longs");
    T_TRUE(t && t->dtype == NN_DTYPE_I64);
    if (t) {
        int64_t v[2];
        memcpy(v, t->data, sizeof v);
        T_TRUE(v[0] == INT64_MIN && v[1] == INT64_MAX);
        T_EQ(t->file_offset % 8, 0);
    }
    t = nn_st_find(&f, "bn.num_batches_tracked");
    T_TRUE(t && t->ndim == 0 && t->nbytes == 8);
    t = nn_st_find(&f, "empty");
    T_TRUE(t && t->nbytes == 0 && t->shape[0] == 0 && t->shape[1] == 4);
    /* compact header: no space before the padding, padded to a multiple of 8 */
    size_t hl = f.data_start - 8;
    T_EQ(f.data_start % 8, 0);
    size_t last = hl;
    while (last > 0 && buf[8 + last - 1] == ' ')
        last--;
    T_EQ(buf[8 + last - 1], '}');
    T_TRUE(hl - last < 8);
    size_t spaces = 0;
    for (size_t i = 0; i < last; i++)
        spaces += buf[8 + i] == ' ';
    T_EQ(spaces, 2); /* the two inside the metadata value */
    nn_st_free(&f);
    free(buf);
}

typedef struct bad_case {
    const char *header; /* padded with spaces */
    size_t dlen;        /* data bytes (zeros) */
    const char *msg;    /* expected in the message */
    const char *at;     /* the error is at 8 + the first occurrence of this in the header */
    long long offset; /* or, when at is NULL, this offset (-2: 8 + header length + value of dlen) */
} bad_case;

static void test_bad_headers(void)
{
    const bad_case cases[] = {
        {"[]", 0, "header does not start with '{'", NULL, 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4,
         "invalid JSON in the header", NULL, -1},
        {"{\"a\":1} x", 0, "unexpected bytes after the header's JSON object", NULL, 8 + 8},
        {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor \"a\": missing dtype",
         "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "tensor \"a\": unknown dtype \"Q8\"", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
         "unsupported dtype \"BF16\"", "\"a\"", 0},
        {"{\"a\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype is not a string",
         "\"a\"", 0},
        {"{\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\","
         "\"data_offsets\":[4,8]}}",
         8, "tensor \"a\": missing shape", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
         "shape[0] is not a non-negative integer", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
         "shape[0] is not a non-negative integer", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", 4,
         "shape is not an array", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
         "9 dimensions (at most 8)", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[9007199254740992,9007199254740992],"
         "\"data_offsets\":[0,4]}}",
         4, "byte size overflows", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing data_offsets", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
         "data_offsets must be [begin, end]", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "begin after end",
         "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
         "data_offsets [0, 8] go beyond the data section (4 bytes)", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
         "shape needs 8 bytes of F32, data_offsets [0, 4] hold 4", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4,
         "tensor \"a\": unknown field \"extra\"", "\"a\"", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "duplicate tensor name \"a\"",
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4", 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "tensor \"b\": data_offsets [4, 8] overlap another tensor", NULL, -2 - 4},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "data bytes [4, 8) belong to no tensor (gap before \"b\")", NULL, -2 - 4},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 6,
         "2 bytes at the end of the data section belong to no tensor", NULL, -2 - 4},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
         "data bytes [0, 4) belong to no tensor", NULL, -2},
        {"{\"__metadata__\":{\"k\":1},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,"
         "4]}}",
         4, "__metadata__: the value of \"k\" is not a string", "\"__metadata__\"", 0},
        {"{\"__metadata__\":[],\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "__metadata__ is not an object", "\"__metadata__\"", 0},
        {"{\"a\":[1,2]}", 0, "tensor \"a\": expected an object", "\"a\"", 0},
        {"{\"ok\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"q\\\"x\":{\"dtype\":"
         "\"Q8\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "unknown dtype \"Q8\"", "\"q\\\"x\"", 0}, /* an escaped key */
        {"{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "tensor with an empty name", "\"\"", 0},
        {"{\"a\x01\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "control character in the header", "\x01", 0},
        {"{\"a\xc3\x28\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "invalid UTF-8 in the header", "\xc3", 0},
        {"{\"a\xed\xa0\x80\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "invalid UTF-8 in the header", "\xed", 0}, /* a UTF-16 surrogate */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        unsigned char zeros[16] = {0};
        size_t len;
        unsigned char *b = make_file(c->header, 1, zeros, c->dlen, &len);
        nn_st_file f;
        cs_err e;
        cs_err_clear(&e);
        int rc = nn_st_parse(b, len, "bad.safetensors", &f, &e);
        size_t hp = (strlen(c->header) + 7) / 8 * 8;
        long long want = c->offset;
        if (c->at)
            want = 8 + (long long)(strstr(c->header, c->at) - c->header);
        else if (c->offset <= -2)
            want = 8 + (long long)hp + (-2 - c->offset);
        t_checks++;
        if (rc != CS_EINVAL || !strstr(e.msg, c->msg) || (want >= 0 && e.offset != want) ||
            e.offset < 0 || strcmp(e.path, "bad.safetensors") != 0) {
            t_failures++;
            fprintf(stderr,
                    "bad case %zu: rc %d, offset %lld (want %lld), msg \"%s\" (want \"%s\")\n", i,
                    rc, e.offset, want, e.msg, c->msg);
        }
        T_TRUE(f.tensors == NULL && f.n == 0);
        free(b);
    }
    /* header length field problems */
    size_t len;
    unsigned char *b = make_file("{}", 1, NULL, 0, &len);
    nn_st_file f;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(nn_st_parse(b, len, NULL, &f, &e), 0);
    nn_st_free(&f);
    b[0] = 9; /* 9 > 8 header bytes present */
    T_EQ(nn_st_parse(b, len, NULL, &f, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "header length 9 goes beyond the end of the file (16 bytes)");
    T_EQ(e.offset, 0);
    b[0] = 0;
    b[7] = 0x80; /* 2^63 */
    T_EQ(nn_st_parse(b, len, NULL, &f, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "goes beyond the end of the file");
    b[7] = 0;
    b[0] = 1;
    T_EQ(nn_st_parse(b, len, NULL, &f, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "too short for a JSON object");
    T_EQ(e.offset, 8);
    T_EQ(nn_st_parse(b, 5, NULL, &f, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "file is 5 bytes, too short for the 8-byte header length");
    T_EQ(e.offset, 0);
    free(b);
}

/* Every prefix of a valid file is rejected with CS_EINVAL at exactly the offset the reader
 * owes (st_test_util.h); each prefix is its own allocation so that ASan sees any read past its
 * end. */
static void test_truncations(void)
{
    size_t len;
    unsigned char *full = sample_file(&len);
    nn_st_file ff;
    cs_err e;
    T_EQ(nn_st_parse(full, len, NULL, &ff, &e), 0);
    size_t failures = 0, exact = 0;
    for (size_t l = 0; l < len; l++) {
        unsigned char *p = malloc(l ? l : 1);
        if (!p)
            abort();
        memcpy(p, full, l);
        nn_st_file f;
        cs_err_clear(&e);
        const char *msg = NULL;
        const long long want = st_truncation_offset(&ff, l, &msg);
        const int rc = nn_st_parse(p, l, NULL, &f, &e);
        if (rc != 0) {
            failures++;
            if (rc == CS_EINVAL && e.offset == want && strstr(e.msg, msg))
                exact++;
            else if (failures - exact <= 5)
                fprintf(stderr, "cut at %zu of %zu: rc %d offset %lld (want %lld) msg \"%s\"\n", l,
                        len, rc, e.offset, want, e.msg);
        } else {
            nn_st_free(&f);
        }
        free(p);
    }
    T_EQ_U64(failures, len);
    T_EQ_U64(exact, len);
    nn_st_free(&ff);
    free(full);
}

/* Random byte flips: parse must either succeed or fail with a located message, never crash. */
static void test_flips(void)
{
    size_t len;
    unsigned char *full = sample_file(&len);
    cs_rng r;
    cs_rng_derive(&r, 99, CS_RNG_SYNTH, 1);
    unsigned char *p = malloc(len);
    if (!p)
        abort();
    size_t failed = 0, located = 0, ok = 0, trials = 20000;
    for (size_t k = 0; k < trials; k++) {
        memcpy(p, full, len);
        int flips = 1 + (int)cs_rng_below(&r, 3);
        for (int j = 0; j < flips; j++) {
            /* mostly the header (where the structure is), sometimes anywhere */
            size_t at = cs_rng_below(&r, 4) ? cs_rng_below(&r, 8 + 200) : cs_rng_below(&r, len);
            p[at] ^= (unsigned char)(1u << cs_rng_below(&r, 8));
        }
        nn_st_file f;
        cs_err e;
        cs_err_clear(&e);
        if (nn_st_parse(p, len, NULL, &f, &e) != 0) {
            failed++;
            located += e.offset >= 0 && (size_t)e.offset <= len && e.msg[0] != '\0';
        } else {
            ok++;
            /* whatever parsed is inside the buffer */
            for (size_t i = 0; i < f.n; i++)
                T_TRUE(f.tensors[i].file_offset + f.tensors[i].nbytes <= len);
            nn_st_free(&f);
        }
    }
    fprintf(stderr, "flips: %zu trials, %zu rejected, %zu accepted\n", trials, failed, ok);
    T_EQ(located, failed);
    T_TRUE(failed > trials / 2);
    free(p);
    free(full);
}

/* Many tensors with escaped names: parsing stays linear and every entry's header offset points
 * at its own key. */
static void test_many_tensors(void)
{
    enum { N = 20000 };
    static nn_st_tensor t[N];
    static char names[N][16];
    static int8_t v[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "n\"%d", i);
        t[i] = (nn_st_tensor){
            .name = names[i], .dtype = NN_DTYPE_I8, .ndim = 0, .data = &v[i], .nbytes = 1};
        v[i] = (int8_t)i;
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(nn_st_write(t, N, NULL, 0, &buf, &len, &e), 0);
    nn_st_file f;
    double t0 = cs_wall_s();
    T_EQ(nn_st_parse(buf, len, NULL, &f, &e), 0);
    double dt = cs_wall_s() - t0;
    fprintf(stderr, "many tensors: %d parsed in %.3f s\n", N, dt);
    T_EQ(f.n, N);
    size_t bad = 0;
    char want[24];
    for (size_t i = 0; i < f.n; i++) {
        int k = snprintf(want, sizeof want, "\"n\\\"%zu\"", i); /* "n\"i" as written */
        if (memcmp(buf + f.tensors[i].header_offset, want, (size_t)k) != 0)
            bad++;
        if (((const int8_t *)f.tensors[i].data)[0] != (int8_t)i)
            bad++;
    }
    T_EQ(bad, 0);
    T_TRUE(dt < 5.0);
    nn_st_free(&f);
    free(buf);
}

int main(void)
{
    test_hand_made();
    test_writer_bytes();
    test_round_trip();
    test_bad_headers();
    test_truncations();
    test_flips();
    test_many_tensors();
    return t_done();
}
