/* viz_png.c - screenshots as 8-bit RGB PNG (ISO/IEC 15948): signature, IHDR, IDAT chunks of a
 * zlib stream of filtered rows, IEND; CRC-32 per chunk (zlib's crc32). Each row gets the filter
 * among None, Sub and Up with the smallest sum of |byte as signed|, the usual heuristic
 * (PNG spec, "Filter selection"). */
#include "viz_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PNG_IDAT_MAX (1u << 30) /* chunk lengths must stay below 2^31 */

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Writes a chunk (length, type, data, CRC of type and data) at p; returns the bytes written. */
static size_t put_chunk(unsigned char *p, const char type[4], const unsigned char *data, size_t len)
{
    put_u32(p, (uint32_t)len);
    memcpy(p + 4, type, 4);
    if (len)
        memcpy(p + 8, data, len);
    uLong crc = crc32(0L, p + 4, 4);
    crc = crc32_z(crc, p + 8, len);
    put_u32(p + 8 + len, (uint32_t)crc);
    return 12 + len;
}

static uint64_t cost(const unsigned char *f, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += f[i] < 128 ? f[i] : 256u - f[i];
    return s;
}

int viz__png_write(const char *path, const uint32_t *argb, int w, int h, int pitch_px, cs_err *err)
{
    if (!argb || w < 1 || h < 1 || pitch_px < w)
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "cannot write a %d x %d image with a pitch of %d pixels", w, h, pitch_px);
    /* a row is its filter byte and 3 bytes per pixel; w < 2^31 keeps 3 w + 1 in a size_t */
    size_t rgb_bytes = 3 * (size_t)w, row_bytes = rgb_bytes + 1, raw_bytes, scratch;
    if (cs_size_mul(row_bytes, (size_t)h, &raw_bytes) || cs_size_mul(rgb_bytes, 4, &scratch) ||
        raw_bytes > SIZE_MAX - scratch || (uLong)raw_bytes != raw_bytes)
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "%d x %d image: size overflow", w, h);

    /* raw filtered rows, then the current and previous rows in RGB, then 2 candidate rows */
    unsigned char *raw = malloc(raw_bytes + scratch);
    if (!raw)
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (%zu bytes)", raw_bytes);
    unsigned char *cur = raw + raw_bytes, *prev = cur + rgb_bytes;
    unsigned char *f_sub = prev + rgb_bytes, *f_up = f_sub + rgb_bytes;
    memset(prev, 0, rgb_bytes); /* the row above the first is zero */
    for (int y = 0; y < h; y++) {
        const uint32_t *src = argb + (size_t)y * (size_t)pitch_px;
        for (int x = 0; x < w; x++) {
            cur[3 * x] = (unsigned char)(src[x] >> 16);
            cur[3 * x + 1] = (unsigned char)(src[x] >> 8);
            cur[3 * x + 2] = (unsigned char)src[x];
        }
        for (size_t i = 0; i < rgb_bytes; i++) {
            f_sub[i] = (unsigned char)(cur[i] - (i >= 3 ? cur[i - 3] : 0));
            f_up[i] = (unsigned char)(cur[i] - prev[i]);
        }
        const uint64_t c_none = cost(cur, rgb_bytes), c_sub = cost(f_sub, rgb_bytes),
                       c_up = cost(f_up, rgb_bytes);
        unsigned char *dst = raw + (size_t)y * row_bytes;
        if (c_sub <= c_up && c_sub < c_none) {
            dst[0] = 1;
            memcpy(dst + 1, f_sub, rgb_bytes);
        } else if (c_up < c_none) {
            dst[0] = 2;
            memcpy(dst + 1, f_up, rgb_bytes);
        } else {
            dst[0] = 0;
            memcpy(dst + 1, cur, rgb_bytes);
        }
        unsigned char *t = prev;
        prev = cur, cur = t;
    }

    uLongf z_len = compressBound((uLong)raw_bytes);
    unsigned char *z = malloc(z_len);
    if (!z) {
        free(raw);
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (%lu bytes)",
                          (unsigned long)z_len);
    }
    const int zrc = compress2(z, &z_len, raw, (uLong)raw_bytes, 6);
    free(raw);
    if (zrc != Z_OK) {
        free(z);
        return cs_err_set(err, zrc == Z_MEM_ERROR ? CS_ENOMEM : CS_EFAIL, path, 0, 0,
                          "zlib compress2 failed (%d)", zrc);
    }

    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13];
    put_u32(ihdr, (uint32_t)w);
    put_u32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type: RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    const size_t n_idat = z_len / PNG_IDAT_MAX + 1;
    const size_t cap = 8 + (12 + sizeof ihdr) + (12 * n_idat + z_len) + 12;
    unsigned char *out = malloc(cap);
    if (!out) {
        free(z);
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (%zu bytes)", cap);
    }
    size_t n = 0;
    memcpy(out, sig, 8);
    n += 8;
    n += put_chunk(out + n, "IHDR", ihdr, sizeof ihdr);
    for (size_t o = 0; o < z_len; o += PNG_IDAT_MAX) {
        const size_t len = z_len - o < PNG_IDAT_MAX ? z_len - o : PNG_IDAT_MAX;
        n += put_chunk(out + n, "IDAT", z + o, len);
    }
    n += put_chunk(out + n, "IEND", NULL, 0);
    free(z);
    CS_ASSERT(n <= cap);
    const int rc = cs_write_file_in_dir(path, out, n, err);
    free(out);
    return rc;
}
