/* cs_ser.c - binary records for checkpoints (see cs_ser.h). */
#include "cs_ser.h"

#include <string.h>

void cs_ser_bytes(cs_buf *b, const void *p, size_t n)
{
    cs_buf_put(b, p, n);
}

void cs_ser_u8(cs_buf *b, uint8_t v)
{
    cs_buf_put(b, (const char *)&v, 1);
}

void cs_ser_u32(cs_buf *b, uint32_t v)
{
    cs_buf_put(b, (const char *)&v, sizeof v);
}

void cs_ser_u64(cs_buf *b, uint64_t v)
{
    cs_buf_put(b, (const char *)&v, sizeof v);
}

void cs_ser_i64(cs_buf *b, int64_t v)
{
    cs_buf_put(b, (const char *)&v, sizeof v);
}

void cs_ser_f64(cs_buf *b, double v)
{
    cs_buf_put(b, (const char *)&v, sizeof v);
}

void cs_ser_bool(cs_buf *b, bool v)
{
    cs_ser_u8(b, v ? 1 : 0);
}

void cs_ser_blob(cs_buf *b, const void *p, size_t n)
{
    cs_ser_u64(b, (uint64_t)n);
    cs_buf_put(b, p, n);
}

/* n values of size bytes each, raw. */
static void put_array(cs_buf *b, const void *p, size_t n, size_t size)
{
    if (n > SIZE_MAX / size) {
        b->failed = true;
        return;
    }
    cs_buf_put(b, p, n * size);
}

void cs_ser_f32s(cs_buf *b, const float *p, size_t n)
{
    put_array(b, p, n, sizeof *p);
}

void cs_ser_f64s(cs_buf *b, const double *p, size_t n)
{
    put_array(b, p, n, sizeof *p);
}

void cs_ser_i64s(cs_buf *b, const int64_t *p, size_t n)
{
    put_array(b, p, n, sizeof *p);
}

void cs_ser_tag(cs_buf *b, const char tag[4])
{
    cs_buf_put(b, tag, 4);
}

cs_rd cs_rd_init(const void *p, size_t len)
{
    return (cs_rd){.p = p, .len = len};
}

void cs_rd_fail(cs_rd *r, const char *why)
{
    if (r->failed)
        return;
    r->failed = true;
    r->fail_at = r->off;
    r->why = why;
}

/* The next n bytes, or NULL (reader failed) when fewer are left. */
static const unsigned char *take(cs_rd *r, size_t n, const char *why)
{
    if (r->failed)
        return NULL;
    if (n > r->len - r->off) {
        cs_rd_fail(r, why);
        return NULL;
    }
    const unsigned char *q = r->p + r->off;
    r->off += n;
    return q;
}

void cs_rd_bytes(cs_rd *r, void *out, size_t n)
{
    const unsigned char *q = take(r, n, "the file ends early");
    if (q)
        memcpy(out, q, n);
    else if (n)
        memset(out, 0, n);
}

uint8_t cs_rd_u8(cs_rd *r)
{
    uint8_t v;
    cs_rd_bytes(r, &v, sizeof v);
    return v;
}

uint32_t cs_rd_u32(cs_rd *r)
{
    uint32_t v;
    cs_rd_bytes(r, &v, sizeof v);
    return v;
}

uint64_t cs_rd_u64(cs_rd *r)
{
    uint64_t v;
    cs_rd_bytes(r, &v, sizeof v);
    return v;
}

int64_t cs_rd_i64(cs_rd *r)
{
    int64_t v;
    cs_rd_bytes(r, &v, sizeof v);
    return v;
}

double cs_rd_f64(cs_rd *r)
{
    double v;
    cs_rd_bytes(r, &v, sizeof v);
    return v;
}

bool cs_rd_bool(cs_rd *r)
{
    size_t at = r->off;
    uint8_t v = cs_rd_u8(r);
    if (v > 1 && !r->failed) {
        r->off = at;
        cs_rd_fail(r, "a flag that is neither 0 nor 1");
    }
    return v == 1;
}

static void rd_array(cs_rd *r, void *out, size_t n, size_t size)
{
    if (n > SIZE_MAX / size) {
        cs_rd_fail(r, "an array too large");
        return;
    }
    cs_rd_bytes(r, out, n * size);
}

void cs_rd_f32s(cs_rd *r, float *out, size_t n)
{
    rd_array(r, out, n, sizeof *out);
}

void cs_rd_f64s(cs_rd *r, double *out, size_t n)
{
    rd_array(r, out, n, sizeof *out);
}

void cs_rd_i64s(cs_rd *r, int64_t *out, size_t n)
{
    rd_array(r, out, n, sizeof *out);
}

const void *cs_rd_blob(cs_rd *r, size_t *n)
{
    size_t at = r->off;
    uint64_t len = cs_rd_u64(r);
    if (!r->failed && len > r->len - r->off) {
        r->off = at;
        cs_rd_fail(r, "a block longer than the file");
    }
    const unsigned char *q = take(r, r->failed ? 0 : (size_t)len, "the file ends early");
    *n = r->failed ? 0 : (size_t)len;
    return r->failed ? NULL : q;
}

void cs_rd_tag(cs_rd *r, const char tag[4])
{
    size_t at = r->off;
    const unsigned char *q = take(r, 4, "the file ends early");
    if (q && memcmp(q, tag, 4) != 0) {
        r->off = at;
        cs_rd_fail(r, "another section than expected");
    }
}

uint64_t cs_rd_count(cs_rd *r, uint64_t max, const char *what)
{
    size_t at = r->off;
    uint64_t v = cs_rd_u64(r);
    if (!r->failed && v > max) {
        r->off = at;
        cs_rd_fail(r, what);
        return 0;
    }
    return v;
}
