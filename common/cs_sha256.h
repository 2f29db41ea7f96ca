/* cs_sha256.h - SHA-256 (FIPS 180-4), for content hashes in reports and sweep folders. */
#ifndef CS_SHA256_H
#define CS_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct cs_sha256 {
    uint32_t h[8];
    uint64_t bytes;    /* message length so far */
    uint8_t block[64]; /* pending input */
    size_t fill;       /* bytes in block */
} cs_sha256;

void cs_sha256_init(cs_sha256 *s);
void cs_sha256_update(cs_sha256 *s, const void *data, size_t len);
/* The digest; s must be initialised again before reuse. */
void cs_sha256_final(cs_sha256 *s, uint8_t out[32]);
/* The digest of data as 64 lower-case hex digits and a NUL. */
void cs_sha256_hex(const void *data, size_t len, char out[65]);
/* 32 bytes as 64 lower-case hex digits and a NUL. */
void cs_sha256_to_hex(const uint8_t digest[32], char out[65]);

#endif
