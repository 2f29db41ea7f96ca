/* test_data_eurosat.c - the real EuroSAT RGB set at $CONSTSIM_SHARED/eurosat (label `data`).
 *
 *   test_data_eurosat [THREADS]     (default 0 = all online CPUs)
 *
 * Prints the decode time on stdout. The reference pixel values come from an independent decode
 * with PIL 9.4 (/usr/bin/python3), images as numpy (H, W, C) transposed to (C, H, W):
 *
 *   a = np.asarray(Image.open(rel).convert('RGB')).transpose(2, 0, 1).copy()
 *   fnv1a64(a.tobytes()), int(a.sum()), a[0,0,0], a[1,10,20], a[2,63,63]
 *
 * and per-class byte sums over every image of each class folder.
 */
#include "t.h"
#include "nn_data.h"

#include <stdlib.h>

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

typedef struct ref_image {
    const char *rel;
    uint64_t fnv;
    long long sum;
    int r00, g_10_20, b_63_63; /* R at (0,0), G at (y=10,x=20), B at (63,63) */
} ref_image;

static const ref_image refs[] = {
    {"AnnualCrop/AnnualCrop_1.jpg", 0x1c3fae2600656750ULL, 1275495, 149, 96, 105},
    {"Forest/Forest_1000.jpg", 0x208b779e52a69561ULL, 692462, 33, 58, 74},
    {"Highway/Highway_2500.jpg", 0x5339ea39d931d7c1ULL, 1280250, 128, 110, 150},
    {"River/River_17.jpg", 0xca302a738b2b44beULL, 806033, 38, 78, 80},
    {"SeaLake/SeaLake_3000.jpg", 0xbc6b430cce0fa229ULL, 657450, 33, 55, 75},
};

static const char *const names[NN_DATA_CLASSES] = {
    "AnnualCrop", "Forest",        "HerbaceousVegetation", "Highway", "Industrial",
    "Pasture",    "PermanentCrop", "Residential",          "River",   "SeaLake"};
static const size_t counts[NN_DATA_CLASSES] = {3000, 3000, 3000, 2500, 2500,
                                               2000, 2500, 3000, 2500, 3000};
static const long long class_sums[NN_DATA_CLASSES] = {
    4507110123LL, 2209093683LL, 3696793396LL, 2950128451LL, 3923387346LL,
    2003240197LL, 3606232132LL, 3893609787LL, 2565625463LL, 2580592387LL};

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    const char *shared = getenv("CONSTSIM_SHARED");
    char root[1024];
    snprintf(root, sizeof root, "%s/eurosat", shared && shared[0] ? shared : "../shared");

    nn_dataset ds;
    cs_err err;
    cs_err_clear(&err);
    double t0 = cs_wall_s();
    int rc = nn_data_load(root, threads, &ds, &err);
    double dt = cs_wall_s() - t0;
    if (rc != 0)
        cs_err_print(&err, stderr);
    T_EQ(rc, 0);
    if (rc != 0)
        return t_done();
    printf("decoded %zu images from %s with %d thread(s) in %.2f s (%.0f images/s)\n", ds.n, root,
           threads, dt, (double)ds.n / dt);

    T_EQ(ds.n, 27000);
    T_STREQ(ds.root, root);
    size_t seen[NN_DATA_CLASSES] = {0};
    long long sums[NN_DATA_CLASSES] = {0};
    for (size_t i = 0; i < ds.n; i++) {
        int c = ds.labels[i];
        if (c >= NN_DATA_CLASSES) {
            T_TRUE(c < NN_DATA_CLASSES);
            break;
        }
        seen[c]++;
        const uint8_t *p = ds.pixels + i * 12288;
        for (size_t k = 0; k < 12288; k++)
            sums[c] += p[k];
    }
    for (int c = 0; c < NN_DATA_CLASSES; c++) {
        T_STREQ(ds.class_names[c], names[c]);
        T_EQ(seen[c], counts[c]);
        T_EQ(sums[c], class_sums[c]);
    }
    /* Ordering: by class, then byte-wise by file name. */
    T_STREQ(ds.paths[0], "AnnualCrop/AnnualCrop_1.jpg");
    T_STREQ(ds.paths[1], "AnnualCrop/AnnualCrop_10.jpg");
    T_STREQ(ds.paths[2], "AnnualCrop/AnnualCrop_100.jpg");
    T_STREQ(ds.paths[ds.n - 1], "SeaLake/SeaLake_999.jpg");
    for (size_t i = 1; i < ds.n; i++)
        if (strcmp(ds.paths[i - 1], ds.paths[i]) >= 0) {
            T_TRUE(strcmp(ds.paths[i - 1], ds.paths[i]) < 0);
            break;
        }

    for (size_t r = 0; r < sizeof refs / sizeof refs[0]; r++) {
        long idx = nn_data_find_path(&ds, refs[r].rel);
        T_TRUE(idx >= 0);
        if (idx < 0)
            continue;
        T_STREQ(ds.paths[idx], refs[r].rel);
        const uint8_t *p = ds.pixels + (size_t)idx * 12288;
        long long s = 0;
        for (size_t k = 0; k < 12288; k++)
            s += p[k];
        uint64_t h = fnv1a64(p, 12288);
        if (h != refs[r].fnv)
            fprintf(stderr, "%s: fnv %#llx, PIL %#llx\n", refs[r].rel, (unsigned long long)h,
                    (unsigned long long)refs[r].fnv);
        T_TRUE(h == refs[r].fnv);
        T_EQ(s, refs[r].sum);
        T_EQ(p[0], refs[r].r00);
        T_EQ(p[4096 + 10 * 64 + 20], refs[r].g_10_20);
        T_EQ(p[2 * 4096 + 63 * 64 + 63], refs[r].b_63_63);
    }
    T_EQ(nn_data_find_path(&ds, "Forest/Forest_0.jpg"), -1);

    uint32_t *tr = NULL, *te = NULL;
    size_t ntr = 0, nte = 0;
    rc = nn_data_split(&ds, 0.2, 42, &tr, &ntr, &te, &nte, &err);
    T_EQ(rc, 0);
    T_EQ(ntr, 21600);
    T_EQ(nte, 5400);
    /* Batch normalisation speed over the train split, batches of 32 (printed, not checked). */
    float *x = malloc((size_t)32 * 12288 * sizeof *x);
    uint8_t y[32];
    T_TRUE(x != NULL);
    double tb = cs_wall_s();
    for (size_t b = 0; x && b + 32 <= ntr; b += 32)
        nn_data_batch(&ds, tr + b, 32, x, y);
    tb = cs_wall_s() - tb;
    printf("nn_data_batch: %zu images in %.3f s (%.0f images/s, %.2f GB/s of floats written)\n",
           ntr / 32 * 32, tb, (double)(ntr / 32 * 32) / tb,
           (double)(ntr / 32 * 32) * 12288 * 4 / tb / 1e9);
    free(x);

    size_t te_per[NN_DATA_CLASSES] = {0};
    for (size_t i = 0; i < nte; i++)
        te_per[ds.labels[te[i]]]++;
    for (int c = 0; c < NN_DATA_CLASSES; c++)
        T_EQ(te_per[c], counts[c] / 5);
    free(tr);
    free(te);

    nn_data_free(&ds);
    T_TRUE(ds.pixels == NULL && ds.n == 0);
    return t_done();
}
