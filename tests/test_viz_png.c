/* test_viz_png.c - viz/viz_png.c: screenshots read back by tests/t_png.h on odd sizes with random
 * pixels, row pitch and dropped alpha, filters that pay off on smooth images, and errors.
 * With --pil (label golden): Python PIL reads the same files to the same pixels, and
 * tests/t_png.h reads PNGs made in Python (PIL's encoder; a writer cycling through all five row
 * filters whose files PIL checks), RGB and RGBA, with several IDAT chunks; exits 77 when
 * /usr/bin/python3 or PIL is missing. */
#include "cs.h"
#include "cs_rng.h"
#include "t.h"
#include "t_png.h"
#include "viz_internal.h"

#include <stdlib.h>
#include <sys/stat.h>

#define PYTHON "/usr/bin/python3"

/* ARGB pixels, h rows of pitch; random, alpha random too (it must be dropped). */
static uint32_t *random_image(int h, int pitch, uint64_t id)
{
    cs_rng r;
    cs_rng_derive(&r, 2026, CS_RNG_SYNTH, id);
    uint32_t *px = malloc((size_t)pitch * h * sizeof *px);
    for (size_t i = 0; i < (size_t)pitch * h; i++)
        px[i] = (uint32_t)cs_rng_u64(&r);
    return px;
}

/* The RGB bytes the PNG must hold. */
static unsigned char *expected_rgb(const uint32_t *px, int w, int h, int pitch)
{
    unsigned char *rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint32_t p = px[(size_t)y * pitch + x];
            unsigned char *o = rgb + ((size_t)y * w + x) * 3;
            o[0] = (unsigned char)(p >> 16), o[1] = (unsigned char)(p >> 8),
            o[2] = (unsigned char)p;
        }
    return rgb;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void round_trip(const char *dir, int w, int h, int pitch, uint64_t id)
{
    char path[600];
    snprintf(path, sizeof path, "%s/sub/rt_%dx%d.png", dir, w, h); /* sub/ is created */
    uint32_t *px = random_image(h, pitch, id);
    unsigned char *want = expected_rgb(px, w, h, pitch), *got = NULL;
    cs_err e;
    cs_err_clear(&e);
    T_EQ(viz__png_write(path, px, w, h, pitch, &e), 0);
    int rw = 0, rh = 0;
    T_EQ(t_png_read(path, &rw, &rh, &got), 0);
    T_EQ(rw, w);
    T_EQ(rh, h);
    T_EQ(t_png_colour_type, 2);
    if (got && rw == w && rh == h)
        T_MEMEQ(got, want, (size_t)w * h * 3);
    free(got);
    free(want);
    free(px);
}

/* A smooth image (gradients): the row filters must make it much smaller than the raw pixels,
 * and the reader must see Sub or Up rows. */
static void smooth(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/smooth.png", dir);
    const int w = 1280, h = 720;
    uint32_t *px = malloc((size_t)w * h * sizeof *px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            px[(size_t)y * w + x] = 0xFF000000u | (uint32_t)(x * 255 / w) << 16 |
                                    (uint32_t)(y * 255 / h) << 8 | (uint32_t)((x + y) & 255);
    cs_err e;
    cs_err_clear(&e);
    T_EQ(viz__png_write(path, px, w, h, w, &e), 0);
    unsigned char *got = NULL, *want = expected_rgb(px, w, h, w);
    int rw, rh;
    T_EQ(t_png_read(path, &rw, &rh, &got), 0);
    if (got)
        T_MEMEQ(got, want, (size_t)w * h * 3);
    T_TRUE(t_png_filters_seen[1] + t_png_filters_seen[2] > 0);
    const long size = file_size(path);
    fprintf(stderr, "1280x720 gradient: %ld bytes (raw RGB %d)\n", size, w * h * 3);
    T_TRUE(size > 0 && size < w * h * 3 / 50);
    free(got);
    free(want);
    free(px);
}

static void errors(const char *dir)
{
    char path[600];
    uint32_t px[4] = {0};
    cs_err e;
    snprintf(path, sizeof path, "%s/bad.png", dir);
    cs_err_clear(&e);
    T_EQ(viz__png_write(path, px, 0, 2, 2, &e), CS_EINVAL);
    T_STREQ(e.path, path);
    cs_err_clear(&e);
    T_EQ(viz__png_write(path, px, 2, 2, 1, &e), CS_EINVAL);
    T_CONTAINS(e.msg, "pitch");
    T_TRUE(file_size(path) < 0); /* nothing written */
    /* the target is a folder: the rename fails and names the target */
    snprintf(path, sizeof path, "%s/sub", dir);
    cs_err_clear(&e);
    T_EQ(viz__png_write(path, px, 2, 2, 2, &e), CS_EIO);
    T_STREQ(e.path, path);
}

/* Runs the PIL script: "read in.png out.rgb" or "write w h MODE in.raw out.png". */
static int pil(const char *script, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, PYTHON " %s %s", script, args);
    return system(cmd);
}

static unsigned char *read_all(const char *path, size_t *n)
{
    unsigned char *d = NULL;
    cs_err e;
    if (cs_read_file(path, &d, n, &e) != 0)
        return NULL;
    return d;
}

static void write_all(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    T_TRUE(f && fwrite(d, 1, n, f) == n);
    if (f)
        fclose(f);
}

/* PIL as a second reader and as a second writer; "filters" writes rows with each of the five
 * filter types in turn (PIL's own encoder never picks Average) and has PIL check the file. */
static const char PIL_SCRIPT[] =
    "import sys, struct, zlib\n"
    "from PIL import Image\n"
    "cmd = sys.argv[1]\n"
    "if cmd == 'read':\n"
    "    im = Image.open(sys.argv[2])\n"
    "    im.load()\n"
    "    if im.mode != 'RGB':\n"
    "        sys.exit('mode %s, expected RGB' % im.mode)\n"
    "    open(sys.argv[3], 'wb').write(im.tobytes())\n"
    "    sys.exit(0)\n"
    "w, h, mode = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]\n"
    "raw = open(sys.argv[5], 'rb').read()\n"
    "if cmd == 'write':\n"
    "    Image.frombytes(mode, (w, h), raw).save(sys.argv[6])\n"
    "    sys.exit(0)\n"
    "# 'filters': rows filtered None, Sub, Up, Average, Paeth in turn, IDAT in 997-byte chunks\n"
    "bpp = 4 if mode == 'RGBA' else 3\n"
    "stride = w * bpp\n"
    "out = bytearray()\n"
    "prev = bytes(stride)\n"
    "for y in range(h):\n"
    "    row = raw[y * stride:(y + 1) * stride]\n"
    "    ft = y % 5\n"
    "    out.append(ft)\n"
    "    for i in range(stride):\n"
    "        a = row[i - bpp] if i >= bpp else 0\n"
    "        b = prev[i]\n"
    "        c = prev[i - bpp] if i >= bpp else 0\n"
    "        if ft == 0:\n"
    "            p = 0\n"
    "        elif ft == 1:\n"
    "            p = a\n"
    "        elif ft == 2:\n"
    "            p = b\n"
    "        elif ft == 3:\n"
    "            p = (a + b) // 2\n"
    "        else:\n"
    "            q = a + b - c\n"
    "            pa, pb, pc = abs(q - a), abs(q - b), abs(q - c)\n"
    "            p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)\n"
    "        out.append((row[i] - p) & 255)\n"
    "    prev = row\n"
    "def chunk(t, d):\n"
    "    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))\n"
    "z = zlib.compress(bytes(out), 9)\n"
    "png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 6 if bpp == "
    "4 else 2, 0, 0, 0))\n"
    "for o in range(0, len(z), 997):\n"
    "    png += chunk(b'IDAT', z[o:o + 997])\n"
    "png += chunk(b'IEND', b'')\n"
    "open(sys.argv[6], 'wb').write(png)\n"
    "im = Image.open(sys.argv[6])\n"
    "if im.mode != mode or im.tobytes() != raw:\n"
    "    sys.exit('PIL reads the filtered PNG differently')\n";

/* Our PNG of w x h random pixels, read by PIL. */
static void pil_reads(const char *dir, const char *script, int w, int h, int pitch)
{
    char png[600], rgb[600], args[1400];
    snprintf(png, sizeof png, "%s/ours_%dx%d.png", dir, w, h);
    snprintf(rgb, sizeof rgb, "%s/ours_%dx%d.rgb", dir, w, h);
    uint32_t *px = random_image(h, pitch, 100 + (uint64_t)w);
    unsigned char *want = expected_rgb(px, w, h, pitch);
    cs_err e;
    cs_err_clear(&e);
    T_EQ(viz__png_write(png, px, w, h, pitch, &e), 0);
    snprintf(args, sizeof args, "read %s %s", png, rgb);
    T_EQ(pil(script, args), 0);
    size_t n = 0;
    unsigned char *got = read_all(rgb, &n);
    T_EQ_U64(n, (size_t)w * h * 3);
    if (got && n == (size_t)w * h * 3)
        T_MEMEQ(got, want, n);
    free(got);
    free(want);
    free(px);
}

/* Bytes (bpp per pixel) in which adaptive filtering finds use for most filter types: bands of
 * noise (None), horizontal ramps (Sub), rows repeating the row above (Up), the mean of the left
 * and upper neighbours below a noise row (Average), a smooth bowl (Paeth). */
static unsigned char *pattern(int w, int h, int bpp)
{
    cs_rng r;
    cs_rng_derive(&r, 2026, CS_RNG_SYNTH, 7);
    unsigned char *d = malloc((size_t)w * h * bpp);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < bpp; c++) {
                unsigned char *o = d + ((size_t)y * w + x) * bpp + c;
                const int a = x ? o[-bpp] : 0, b = y ? o[-(ptrdiff_t)w * bpp] : 0;
                switch ((y / 8) % 5) {
                case 0:
                    o[0] = (unsigned char)cs_rng_u64(&r);
                    break;
                case 1:
                    o[0] = (unsigned char)(3 * x + 50 * c);
                    break;
                case 2:
                    o[0] = y % 8 ? (unsigned char)b : (unsigned char)cs_rng_u64(&r);
                    break;
                case 3: /* below a noise row, exactly the Average prediction */
                    o[0] = y % 8 ? (unsigned char)((a + b) / 2) : (unsigned char)cs_rng_u64(&r);
                    break;
                default:
                    o[0] = (unsigned char)((x * x + y * y) / 97 + 40 * c + (x * y) % 3);
                }
            }
    return d;
}

/* A PNG of a pattern from PIL's encoder (cmd "write") or from the script's filter-cycling writer
 * ("filters"), read by t_png.h; adds the filter types and IDAT chunks seen. */
static void pil_writes(const char *dir, const char *script, const char *cmd, int w, int h, int rgba,
                       long *seen, int *max_idat)
{
    const int bpp = rgba ? 4 : 3;
    char raw[600], png[600], args[1400];
    snprintf(raw, sizeof raw, "%s/pil_%dx%d.raw", dir, w, h);
    snprintf(png, sizeof png, "%s/pil_%dx%d.png", dir, w, h);
    unsigned char *d = pattern(w, h, bpp);
    write_all(raw, d, (size_t)w * h * bpp);
    snprintf(args, sizeof args, "%s %d %d %s %s %s", cmd, w, h, rgba ? "RGBA" : "RGB", raw, png);
    T_EQ(pil(script, args), 0);
    unsigned char *got = NULL;
    int rw = 0, rh = 0;
    T_EQ(t_png_read(png, &rw, &rh, &got), 0);
    T_EQ(t_png_colour_type, rgba ? 6 : 2);
    if (got && rw == w && rh == h) {
        unsigned char *want = malloc((size_t)w * h * 3);
        for (size_t i = 0; i < (size_t)w * h; i++)
            memcpy(want + 3 * i, d + bpp * i, 3);
        T_MEMEQ(got, want, (size_t)w * h * 3);
        free(want);
    }
    for (int f = 0; f < 5; f++)
        seen[f] += t_png_filters_seen[f];
    if (t_png_idat_chunks > *max_idat)
        *max_idat = t_png_idat_chunks;
    free(got);
    free(d);
}

static int golden(const char *dir)
{
    if (system(PYTHON " -c 'import PIL.Image' > /dev/null 2>&1") != 0) {
        fprintf(stderr, "skipping: " PYTHON " with PIL is not available\n");
        return 77;
    }
    char script[600];
    snprintf(script, sizeof script, "%s/pil_png.py", dir);
    write_all(script, PIL_SCRIPT, strlen(PIL_SCRIPT));
    pil_reads(dir, script, 3, 5, 3);
    pil_reads(dir, script, 1281, 721, 1290);

    long seen[5] = {0};
    int max_idat = 0;
    pil_writes(dir, script, "write", 301, 203, 0, seen, &max_idat);
    pil_writes(dir, script, "write", 1281, 721, 1, seen, &max_idat);
    pil_writes(dir, script, "filters", 67, 41, 0, seen, &max_idat);
    pil_writes(dir, script, "filters", 53, 29, 1, seen, &max_idat);
    fprintf(stderr,
            "PNGs read: rows by filter None %ld, Sub %ld, Up %ld, Average %ld, Paeth %ld; "
            "up to %d IDAT chunks\n",
            seen[0], seen[1], seen[2], seen[3], seen[4], max_idat);
    for (int f = 0; f < 5; f++)
        T_TRUE(seen[f] > 0); /* else the reader's filter f went untested */
    T_TRUE(max_idat > 1);
    return 0;
}

int main(int argc, char **argv)
{
    const int with_pil = argc > 1 && strcmp(argv[1], "--pil") == 0;
    char dir[] = "/tmp/cs_viz_png_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    int rc = 0;
    if (with_pil) {
        rc = golden(dir);
    } else {
        round_trip(dir, 3, 5, 3, 1);
        round_trip(dir, 1281, 721, 1281 + 7, 2);
        round_trip(dir, 1, 1, 1, 3);
        smooth(dir);
        errors(dir);
    }
    char cmd[64 + sizeof dir];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (rc == 77)
        return t_failures ? 1 : 77; /* skipped: no checks ran, which t_done() counts as failure */
    return t_done();
}
