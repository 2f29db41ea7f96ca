/* t_png.h - a small PNG reader for tests: 8-bit RGB (colour type 2) and RGBA (6, alpha dropped),
 * non-interlaced, all five row filters, any number of IDAT chunks; every chunk's CRC checked.
 * Prints why it refuses a file to stderr and returns -1; on success 0 with *rgb malloc'd
 * (w * h * 3 bytes, caller frees).
 *
 * What the last read saw, for tests that need to know which paths they exercised:
 *   t_png_filters_seen[f]  rows with filter type f (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth)
 *   t_png_idat_chunks      IDAT chunks
 *   t_png_colour_type      IHDR colour type
 */
#ifndef T_PNG_H
#define T_PNG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static long t_png_filters_seen[5];
static int t_png_idat_chunks;
static int t_png_colour_type;

static unsigned long t_png_u32_(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

static int t_png_fail_(const char *path, const char *why, unsigned char *file, unsigned char *z)
{
    fprintf(stderr, "t_png_read: %s: %s\n", path, why);
    free(file);
    free(z);
    return -1;
}

static int t_png_paeth_(int a, int b, int c)
{
    const int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static int t_png_read(const char *path, int *w, int *h, unsigned char **rgb)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    *rgb = NULL;
    memset(t_png_filters_seen, 0, sizeof t_png_filters_seen);
    t_png_idat_chunks = 0;
    t_png_colour_type = -1;

    FILE *f = fopen(path, "rb");
    if (!f)
        return t_png_fail_(path, "cannot open", NULL, NULL);
    size_t cap = 1 << 16, n = 0;
    unsigned char *file = malloc(cap);
    for (;;) {
        if (!file) {
            fclose(f);
            return t_png_fail_(path, "out of memory", NULL, NULL);
        }
        n += fread(file + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        unsigned char *g = realloc(file, cap);
        if (!g)
            free(file);
        file = g;
    }
    fclose(f);
    if (n < 8 || memcmp(file, sig, 8) != 0)
        return t_png_fail_(path, "no PNG signature", file, NULL);

    unsigned long iw = 0, ih = 0;
    int ctype = -1, seen_iend = 0;
    unsigned char *z = NULL;
    size_t z_len = 0;
    for (size_t o = 8; o < n && !seen_iend;) {
        if (n - o < 12)
            return t_png_fail_(path, "truncated chunk header", file, z);
        const unsigned long len = t_png_u32_(file + o);
        const unsigned char *type = file + o + 4, *data = file + o + 8;
        if (len > n - o - 12)
            return t_png_fail_(path, "chunk longer than the file", file, z);
        const unsigned long crc = crc32(crc32(0L, Z_NULL, 0), type, (uInt)(len + 4));
        if (crc != t_png_u32_(data + len))
            return t_png_fail_(path, "bad chunk CRC", file, z);
        if (memcmp(type, "IHDR", 4) == 0) {
            if (len != 13)
                return t_png_fail_(path, "IHDR length", file, z);
            iw = t_png_u32_(data);
            ih = t_png_u32_(data + 4);
            ctype = data[9];
            if (data[8] != 8 || (ctype != 2 && ctype != 6) || data[10] || data[11] || data[12])
                return t_png_fail_(path, "not 8-bit RGB/RGBA, non-interlaced", file, z);
            if (iw == 0 || ih == 0 || iw > (1u << 16) || ih > (1u << 16))
                return t_png_fail_(path, "size out of the range tests use", file, z);
        } else if (memcmp(type, "IDAT", 4) == 0) {
            unsigned char *g = realloc(z, z_len + len + 1);
            if (!g)
                return t_png_fail_(path, "out of memory", file, z);
            z = g;
            memcpy(z + z_len, data, len);
            z_len += len;
            t_png_idat_chunks++;
        } else if (memcmp(type, "IEND", 4) == 0) {
            seen_iend = 1;
        } else if (!(type[0] & 0x20)) {
            return t_png_fail_(path, "unknown critical chunk", file, z);
        }
        o += 12 + len;
    }
    if (ctype < 0 || !seen_iend || !z)
        return t_png_fail_(path, "missing IHDR, IDAT or IEND", file, z);

    const size_t bpp = ctype == 6 ? 4 : 3, stride = iw * bpp, raw_len = ih * (stride + 1);
    unsigned char *raw = malloc(raw_len + 1);
    unsigned char *out = malloc(iw * ih * 3);
    uLongf got = raw_len;
    if (!raw || !out || uncompress(raw, &got, z, z_len) != Z_OK || got != raw_len) {
        free(raw);
        free(out);
        return t_png_fail_(path, "zlib stream does not inflate to the image size", file, z);
    }
    for (size_t y = 0; y < ih; y++) {
        unsigned char *row = raw + y * (stride + 1) + 1;
        const unsigned char *up = y ? row - (stride + 1) : NULL;
        const int ft = row[-1];
        if (ft > 4) {
            free(raw);
            free(out);
            return t_png_fail_(path, "bad filter type", file, z);
        }
        t_png_filters_seen[ft]++;
        for (size_t i = 0; i < stride; i++) {
            const int a = i >= bpp ? row[i - bpp] : 0, b = up ? up[i] : 0,
                      c = (up && i >= bpp) ? up[i - bpp] : 0;
            const int pred = ft == 0   ? 0
                             : ft == 1 ? a
                             : ft == 2 ? b
                             : ft == 3 ? (a + b) / 2
                                       : t_png_paeth_(a, b, c);
            row[i] = (unsigned char)(row[i] + pred);
        }
        for (size_t x = 0; x < iw; x++)
            memcpy(out + (y * iw + x) * 3, row + x * bpp, 3);
    }
    free(raw);
    free(file);
    free(z);
    t_png_colour_type = ctype;
    *w = (int)iw;
    *h = (int)ih;
    *rgb = out;
    return 0;
}

#endif
