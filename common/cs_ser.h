/* cs_ser.h - binary records for checkpoints: fixed-width values appended to a cs_buf, and a
 * bounds-checked reader that reports the byte offset of what it could not read.
 *
 * Values are written in the machine's byte order (checkpoints are read back by the same build on
 * the same kind of machine; the checkpoint header records the byte order and refuses another).
 * Doubles and floats are stored as their bits, so they read back exactly.
 *
 *   cs_buf b = {0};
 *   cs_ser_u32(&b, n); cs_ser_f64s(&b, x, n);
 *   ...
 *   cs_rd r = cs_rd_init(b.p, b.len);
 *   uint32_t n = cs_rd_u32(&r); cs_rd_f64s(&r, x, n);
 *   if (r.failed) ...r.fail_at is the offset, r.why what was expected...
 *
 * Reader errors are sticky like cs_buf's: after the first failure every read returns zeros. */
#ifndef CS_SER_H
#define CS_SER_H

#include "cs_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void cs_ser_u8(cs_buf *b, uint8_t v);
void cs_ser_u32(cs_buf *b, uint32_t v);
void cs_ser_u64(cs_buf *b, uint64_t v);
void cs_ser_i64(cs_buf *b, int64_t v);
void cs_ser_f64(cs_buf *b, double v);
void cs_ser_bool(cs_buf *b, bool v);
void cs_ser_bytes(cs_buf *b, const void *p, size_t n);   /* raw, no length */
void cs_ser_blob(cs_buf *b, const void *p, size_t n);    /* u64 length, then the bytes */
void cs_ser_f32s(cs_buf *b, const float *p, size_t n);   /* raw */
void cs_ser_f64s(cs_buf *b, const double *p, size_t n);  /* raw */
void cs_ser_i64s(cs_buf *b, const int64_t *p, size_t n); /* raw */
void cs_ser_tag(cs_buf *b, const char tag[4]);           /* a 4-byte section mark */

typedef struct cs_rd {
    const unsigned char *p;
    size_t len, off;
    bool failed;
    size_t fail_at;  /* offset of the first read that failed */
    const char *why; /* what that read expected (static text) */
} cs_rd;

cs_rd cs_rd_init(const void *p, size_t len);
uint8_t cs_rd_u8(cs_rd *r);
uint32_t cs_rd_u32(cs_rd *r);
uint64_t cs_rd_u64(cs_rd *r);
int64_t cs_rd_i64(cs_rd *r);
double cs_rd_f64(cs_rd *r);
bool cs_rd_bool(cs_rd *r); /* a byte that must be 0 or 1 */
void cs_rd_bytes(cs_rd *r, void *out, size_t n);
void cs_rd_f32s(cs_rd *r, float *out, size_t n);
void cs_rd_f64s(cs_rd *r, double *out, size_t n);
void cs_rd_i64s(cs_rd *r, int64_t *out, size_t n);
/* A blob's bytes, borrowed from the reader's buffer (NULL and *n = 0 on failure). */
const void *cs_rd_blob(cs_rd *r, size_t *n);
/* Reads a section mark; a different one fails the reader. */
void cs_rd_tag(cs_rd *r, const char tag[4]);
/* A u64 that must be <= max (a count read back before it sizes an array). */
uint64_t cs_rd_count(cs_rd *r, uint64_t max, const char *what);
/* Fails the reader at the current offset with why (static text), unless it failed already. */
void cs_rd_fail(cs_rd *r, const char *why);

#endif
