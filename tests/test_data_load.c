/* test_data_load.c - nn_data_load on fixture folders written here with libjpeg: a good set with
 * known colours (decoded values checked within JPEG error), then one folder per failure, each
 * with the exact error it must produce; image lists (nn_data_list_parse) on a hand-made dataset.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "nn_data.h"
#include "t.h"

#include <stdio.h>

#include <errno.h>
#include <ftw.h>
#include <jpeglib.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const names[NN_DATA_CLASSES] = {
    "AnnualCrop", "Forest",        "HerbaceousVegetation", "Highway", "Industrial",
    "Pasture",    "PermanentCrop", "Residential",          "River",   "SeaLake"};

static char base[512]; /* the temporary folder of this test */

/* ---- writing fixtures ---------------------------------------------------------------------- */

/* Encodes w x h pixels (interleaved, `comps` = 1 or 3) at quality 100, 4:4:4, to memory. */
static unsigned char *jpeg_encode(const uint8_t *px, int w, int h, int comps, unsigned long *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *out = NULL;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = comps == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    c.comp_info[0].h_samp_factor = 1;
    c.comp_info[0].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * (size_t)w * (size_t)comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return out;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write fixture %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* Writes a JPEG; keep < len bytes of it (0 = all) to make a truncated file. */
static void write_jpeg(const char *path, const uint8_t *px, int w, int h, int comps, size_t keep)
{
    unsigned long len = 0;
    unsigned char *data = jpeg_encode(px, w, h, comps, &len);
    write_bytes(path, data, keep ? keep : len);
    free(data);
}

static void write_flat(const char *path, int r, int g, int b)
{
    uint8_t px[64 * 64 * 3];
    for (int i = 0; i < 64 * 64; i++) {
        px[3 * i] = (uint8_t)r;
        px[3 * i + 1] = (uint8_t)g;
        px[3 * i + 2] = (uint8_t)b;
    }
    write_jpeg(path, px, 64, 64, 3, 0);
}

/* R high on the left half, G high on the top half, B constant: tells x from y and R from G. */
static void write_quadrants(const char *path)
{
    uint8_t px[64 * 64 * 3];
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = px + 3 * (y * 64 + x);
            p[0] = x < 32 ? 240 : 16;
            p[1] = y < 32 ? 240 : 16;
            p[2] = 128;
        }
    write_jpeg(path, px, 64, 64, 3, 0);
}

static void path_join(char *out, size_t cap, const char *a, const char *b)
{
    if ((size_t)snprintf(out, cap, "%s/%s", a, b) >= cap) {
        fprintf(stderr, "fixture path too long\n");
        exit(1);
    }
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mkdir %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

static int flat_r(int c)
{
    return 20 * c + 5;
}
static int flat_g(int c)
{
    return 250 - 20 * c;
}
static int flat_b(int k)
{
    return 60 + 40 * k;
}

/* A fixture under base/name: class c holds `per_class` flat images x_1.jpeg, x_10.jpg, x_2.jpg
 * (byte order) of colour (flat_r(c), flat_g(c), flat_b(k)) for k = 0, 1, 2. */
static void make_fixture(char *root, size_t cap, const char *name, int per_class)
{
    static const char *const files[3] = {"x_1.jpeg", "x_10.jpg", "x_2.jpg"};
    path_join(root, cap, base, name);
    make_dir(root);
    for (int c = 0; c < NN_DATA_CLASSES; c++) {
        char dir[1024], f[1200];
        path_join(dir, sizeof dir, root, names[c]);
        make_dir(dir);
        for (int k = 0; k < per_class; k++) {
            path_join(f, sizeof f, dir, files[k]);
            write_flat(f, flat_r(c), flat_g(c), flat_b(k));
        }
    }
}

static void fixture_file(char *out, size_t cap, const char *root, const char *rel)
{
    path_join(out, cap, root, rel);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* ---- checks ---------------------------------------------------------------------------------- */

static int pix(const nn_dataset *ds, size_t i, int ch, int y, int x)
{
    return ds->pixels[i * 12288 + (size_t)ch * 4096 + (size_t)y * 64 + (size_t)x];
}

static void test_good(void)
{
    char root[1024], f[1200];
    make_fixture(root, sizeof root, "good", 3);
    /* Extras that must be ignored: files and folders beside the classes (including a bogus
     * SHA256SUMS: the checksum list is never read), non-JPEG files, hidden files, folders named
     * like images. Plus one structured image in Forest. */
    fixture_file(f, sizeof f, root, "SHA256SUMS");
    write_bytes(f, "not a checksum list\n", 20);
    fixture_file(f, sizeof f, root, "README.txt");
    write_bytes(f, "hello\n", 6);
    fixture_file(f, sizeof f, root, "Other");
    make_dir(f);
    fixture_file(f, sizeof f, root, "Other/junk.jpg");
    write_bytes(f, "junk", 4);
    fixture_file(f, sizeof f, root, "Forest/notes.txt");
    write_bytes(f, "junk", 4);
    fixture_file(f, sizeof f, root, "Forest/.hidden.jpg");
    write_bytes(f, "junk", 4);
    fixture_file(f, sizeof f, root, "Forest/folder.jpg");
    make_dir(f);
    fixture_file(f, sizeof f, root, "Forest/y_quad.JPG");
    write_quadrants(f);

    nn_dataset ds;
    cs_err err;
    cs_err_clear(&err);
    int rc = nn_data_load(root, 1, &ds, &err);
    if (rc)
        cs_err_print(&err, stderr);
    T_EQ(rc, 0);
    if (rc)
        return;
    T_EQ(ds.n, 31);
    T_STREQ(ds.root, root);
    for (int c = 0; c < NN_DATA_CLASSES; c++)
        T_STREQ(ds.class_names[c], names[c]);
    T_STREQ(ds.paths[0], "AnnualCrop/x_1.jpeg");
    T_STREQ(ds.paths[1], "AnnualCrop/x_10.jpg");
    T_STREQ(ds.paths[2], "AnnualCrop/x_2.jpg");
    T_STREQ(ds.paths[3], "Forest/x_1.jpeg");
    T_STREQ(ds.paths[6], "Forest/y_quad.JPG");
    T_STREQ(ds.paths[7], "HerbaceousVegetation/x_1.jpeg");
    T_STREQ(ds.paths[30], "SeaLake/x_2.jpg");
    T_EQ(ds.labels[0], 0);
    T_EQ(ds.labels[6], 1);
    T_EQ(ds.labels[7], 2);
    T_EQ(ds.labels[30], 9);

    /* Flat colours: every pixel within 3 of the encoded value (quality 100, 4:4:4). */
    int worst = 0;
    for (size_t i = 0; i < ds.n; i++) {
        if (i == 6)
            continue;
        int c = ds.labels[i];
        int k = (int)((i - (i > 6 ? 1 : 0)) % 3); /* x_1, x_10, x_2 -> k = 0, 1, 2 */
        int want[3] = {flat_r(c), flat_g(c), flat_b(k)};
        for (int ch = 0; ch < 3; ch++)
            for (int p = 0; p < 4096; p++) {
                int d = abs((int)ds.pixels[i * 12288 + (size_t)ch * 4096 + (size_t)p] - want[ch]);
                if (d > worst)
                    worst = d;
            }
    }
    T_TRUE(worst <= 3);
    T_NEAR(pix(&ds, 0, 0, 0, 0), 5, 3); /* spot checks */
    T_NEAR(pix(&ds, 29, 1, 31, 31), 70, 3);
    T_NEAR(pix(&ds, 29, 2, 63, 0), 100, 3);

    /* Quadrants, CHW: plane 0 = R (high where x < 32), plane 1 = G (high where y < 32). */
    T_NEAR(pix(&ds, 6, 0, 4, 4), 240, 3);
    T_NEAR(pix(&ds, 6, 0, 4, 60), 16, 3);
    T_NEAR(pix(&ds, 6, 0, 60, 4), 240, 3);
    T_NEAR(pix(&ds, 6, 1, 4, 60), 240, 3);
    T_NEAR(pix(&ds, 6, 1, 60, 4), 16, 3);
    T_NEAR(pix(&ds, 6, 1, 60, 60), 16, 3);
    T_NEAR(pix(&ds, 6, 2, 40, 20), 128, 3);

    T_EQ(nn_data_find_path(&ds, "Forest/y_quad.JPG"), 6);
    T_EQ(nn_data_find_path(&ds, "AnnualCrop/x_1.jpeg"), 0);
    T_EQ(nn_data_find_path(&ds, "SeaLake/x_2.jpg"), 30);
    T_EQ(nn_data_find_path(&ds, "Forest/notes.txt"), -1);
    T_EQ(nn_data_find_path(&ds, "forest/x_1.jpeg"), -1);

    /* Same result whatever the thread count. */
    int counts[] = {2, 3, 0, 64};
    for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
        nn_dataset d2;
        rc = nn_data_load(root, counts[t], &d2, &err);
        T_EQ(rc, 0);
        if (rc)
            continue;
        T_EQ(d2.n, ds.n);
        T_MEMEQ(d2.pixels, ds.pixels, ds.n * 12288);
        T_MEMEQ(d2.labels, ds.labels, ds.n);
        for (size_t i = 0; i < ds.n; i++)
            if (strcmp(d2.paths[i], ds.paths[i]) != 0)
                T_STREQ(d2.paths[i], ds.paths[i]);
        nn_data_free(&d2);
    }

    nn_data_free(&ds);
    T_TRUE(ds.pixels == NULL && ds.labels == NULL && ds.paths == NULL && ds.n == 0);
    nn_data_free(&ds); /* twice is fine */
    nn_data_free(NULL);
}

/* Loads root with `threads` and checks the error: code, path (root + "/" + rel, or root when rel
 * is NULL) and the exact message. The dataset must come back zeroed. */
static void expect_error(const char *root, int threads, int code, const char *rel, const char *msg)
{
    nn_dataset ds;
    cs_err err;
    cs_err_clear(&err);
    memset(&ds, 0x5a, sizeof ds);
    int rc = nn_data_load(root, threads, &ds, &err);
    T_EQ(rc, code);
    T_EQ(err.code, code);
    char want[1200];
    if (rel)
        path_join(want, sizeof want, root, rel);
    else
        snprintf(want, sizeof want, "%s", root);
    T_STREQ(err.path, want);
    T_STREQ(err.msg, msg);
    T_TRUE(ds.pixels == NULL && ds.labels == NULL && ds.paths == NULL && ds.n == 0);
    if (rc == 0)
        nn_data_free(&ds);
}

static void noise(uint8_t *px, size_t n)
{
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        px[i] = (uint8_t)(s >> 24);
    }
}

static void test_errors(void)
{
    char root[1024], f[1200];
    static uint8_t px[64 * 64 * 3];

    /* Truncated: a noisy image (so most of the file is entropy-coded data) cut in half. */
    make_fixture(root, sizeof root, "truncated", 1);
    fixture_file(f, sizeof f, root, "River/x_1.jpeg");
    noise(px, sizeof px);
    unsigned long len = 0;
    free(jpeg_encode(px, 64, 64, 3, &len));
    T_TRUE(len > 4000);
    write_jpeg(f, px, 64, 64, 3, len / 2);
    expect_error(root, 1, CS_EINVAL, "River/x_1.jpeg",
                 "cannot decode JPEG: Premature end of JPEG file");
    expect_error(root, 2, CS_EINVAL, "River/x_1.jpeg",
                 "cannot decode JPEG: Premature end of JPEG file");

    /* Garbage bytes. */
    make_fixture(root, sizeof root, "garbage", 1);
    fixture_file(f, sizeof f, root, "Industrial/x_1.jpeg");
    write_bytes(f, "this is not a JPEG", 18);
    expect_error(root, 1, CS_EINVAL, "Industrial/x_1.jpeg",
                 "cannot decode JPEG: Not a JPEG file: starts with 0x74 0x68");

    /* An empty file. */
    make_fixture(root, sizeof root, "emptyfile", 1);
    fixture_file(f, sizeof f, root, "Pasture/x_1.jpeg");
    write_bytes(f, "", 0);
    expect_error(root, 1, CS_EINVAL, "Pasture/x_1.jpeg", "cannot decode JPEG: Empty input file");

    /* A marker in the middle of the entropy-coded data. */
    make_fixture(root, sizeof root, "marker", 1);
    fixture_file(f, sizeof f, root, "Highway/x_1.jpeg");
    {
        unsigned char *data = jpeg_encode(px, 64, 64, 3, &len);
        data[len / 2] = 0xFF;
        data[len / 2 + 1] = 0xD9; /* EOI */
        write_bytes(f, data, len);
        free(data);
    }
    expect_error(root, 1, CS_EINVAL, "Highway/x_1.jpeg",
                 "cannot decode JPEG: Corrupt JPEG data: premature end of data segment");

    /* 32x32. */
    make_fixture(root, sizeof root, "small", 1);
    fixture_file(f, sizeof f, root, "Forest/x_1.jpeg");
    write_jpeg(f, px, 32, 32, 3, 0);
    expect_error(root, 1, CS_EINVAL, "Forest/x_1.jpeg", "image is 32x32 pixels, expected 64x64");

    /* 64x48. */
    make_fixture(root, sizeof root, "wide", 1);
    fixture_file(f, sizeof f, root, "SeaLake/x_1.jpeg");
    write_jpeg(f, px, 64, 48, 3, 0);
    expect_error(root, 1, CS_EINVAL, "SeaLake/x_1.jpeg", "image is 64x48 pixels, expected 64x64");

    /* Grayscale: rejected (EuroSAT RGB has none; converting would hide a wrong folder). */
    make_fixture(root, sizeof root, "gray", 1);
    fixture_file(f, sizeof f, root, "Residential/x_1.jpeg");
    write_jpeg(f, px, 64, 64, 1, 0);
    expect_error(root, 1, CS_EINVAL, "Residential/x_1.jpeg",
                 "image has 1 colour component (grayscale), expected 3 (RGB)");

    /* A missing class folder. */
    make_fixture(root, sizeof root, "missing", 1);
    fixture_file(f, sizeof f, root, "Highway/x_1.jpeg");
    T_EQ(remove(f), 0);
    fixture_file(f, sizeof f, root, "Highway");
    T_EQ(remove(f), 0);
    expect_error(root, 1, CS_EINVAL, "Highway",
                 "missing class folder \"Highway\": a EuroSAT folder holds the 10 class folders "
                 "AnnualCrop, Forest, HerbaceousVegetation, Highway, Industrial, Pasture, "
                 "PermanentCrop, Residential, River, SeaLake");

    /* A class that is a file, not a folder. */
    write_bytes(f, "x", 1);
    expect_error(root, 1, CS_EINVAL, "Highway", "class \"Highway\" is not a folder");

    /* An empty class folder (non-image files do not count). */
    make_fixture(root, sizeof root, "emptyclass", 1);
    fixture_file(f, sizeof f, root, "PermanentCrop/x_1.jpeg");
    T_EQ(remove(f), 0);
    fixture_file(f, sizeof f, root, "PermanentCrop/readme.txt");
    write_bytes(f, "x", 1);
    expect_error(root, 1, CS_EINVAL, "PermanentCrop",
                 "class folder \"PermanentCrop\" holds no .jpg/.jpeg images");

    /* A nonexistent root, a root that is a file. */
    path_join(root, sizeof root, base, "does-not-exist");
    expect_error(root, 1, CS_EINVAL, NULL, "dataset folder: does not exist");
    path_join(root, sizeof root, base, "afile");
    write_bytes(root, "x", 1);
    expect_error(root, 1, CS_EINVAL, NULL, "dataset folder: not a folder");

    /* Negative thread count. */
    make_fixture(root, sizeof root, "threads", 1);
    {
        nn_dataset ds;
        cs_err err;
        cs_err_clear(&err);
        T_EQ(nn_data_load(root, -1, &ds, &err), CS_EINVAL);
        T_STREQ(err.msg, "decode threads must be >= 0 (0 = all cores), got -1");
    }

    /* Several bad files: the first in file order is reported, whatever the thread count. The
     * bad ones sit in Forest (x_10.jpg, x_2.jpg), Pasture and SeaLake; AnnualCrop is good. */
    make_fixture(root, sizeof root, "several", 3);
    const char *bad[] = {"Forest/x_2.jpg", "Pasture/x_1.jpeg", "SeaLake/x_10.jpg"};
    for (size_t i = 0; i < 3; i++) {
        fixture_file(f, sizeof f, root, bad[i]);
        write_bytes(f, "garbage!", 8);
    }
    fixture_file(f, sizeof f, root, "Forest/x_10.jpg");
    write_jpeg(f, px, 32, 32, 3, 0);
    int threads[] = {1, 2, 3, 8, 0};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++)
        expect_error(root, threads[t], CS_EINVAL, "Forest/x_10.jpg",
                     "image is 32x32 pixels, expected 64x64");
}

/* ---- image lists (nn_data_list_parse: constsim eval --list) ------------------------------- */

static void expect_list_error(const nn_dataset *ds, const char *text, size_t len, long line,
                              long col, const char *msg)
{
    uint32_t *idx = (uint32_t *)&idx; /* must come back NULL */
    size_t n = 99;
    cs_err err;
    cs_err_clear(&err);
    T_EQ(nn_data_list_parse(ds, "l.txt", text, len, &idx, &n, &err), CS_EINVAL);
    T_TRUE(idx == NULL && n == 0);
    T_STREQ(err.path, "l.txt");
    T_EQ(err.line, line);
    T_EQ(err.col, col);
    T_STREQ(err.msg, msg);
}

static void test_list(void)
{
    char *paths[] = {"AnnualCrop/a.jpg", "Forest/b.jpg", "Forest/c.jpg"};
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.paths = paths;
    ds.n = 3;
    snprintf(ds.root, sizeof ds.root, "data/x");
    uint32_t *idx = NULL;
    size_t n = 0;
    cs_err err;
    /* comments, blank lines, blanks around entries, CRLF, repeats, no final line end; the text
     * goes on past len */
    const char text[] = "# list\r\n\n  Forest/c.jpg\t\r\nAnnualCrop/a.jpg\n\t#x\nForest/c.jpgXX";
    T_EQ(nn_data_list_parse(&ds, "l.txt", text, sizeof text - 3, &idx, &n, &err), 0);
    T_EQ(n, 3);
    if (n == 3) {
        T_EQ(idx[0], 2);
        T_EQ(idx[1], 0);
        T_EQ(idx[2], 2);
    }
    free(idx);
    const char bad[] = "Forest/b.jpg\n# c\n\n Forest/d.jpg \nForest/c.jpg\n";
    expect_list_error(&ds, bad, strlen(bad), 4, 1,
                      "\"Forest/d.jpg\" is not an image of the dataset at data/x");
    expect_list_error(&ds, "# only\n\n", 8, 0, 0, "lists no images");
    expect_list_error(&ds, "", 0, 0, 0, "lists no images");
    /* a NUL byte is refused, not taken as the end of the entry */
    const char nul[] = "Forest/b.jpg\nForest/c.jpg\0x\n";
    expect_list_error(&ds, nul, sizeof nul - 1, 2, 13, "NUL byte in an image list (binary file?)");
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/constsim-data-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(base)) {
        fprintf(stderr, "mkdtemp %s: %s\n", base, strerror(errno));
        return 1;
    }
    test_good();
    test_errors();
    test_list();
    nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return t_done();
}
