/* nn_data_batch_flip: every output image is one of the four flips of nn_data_batch's image,
 * all four occur, labels follow, and the draws are reproducible. */
#include "cs_rng.h"
#include "nn_data.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

#define PIX (3 * 64 * 64)

/* Which flip turns a (normalised, CHW) into b: 0 none, 1 left-right, 2 top-bottom, 3 both,
 * -1 none of them. */
static int which_flip(const float *a, const float *b)
{
    for (int f = 0; f < 4; f++) {
        int same = 1;
        for (int c = 0; c < 3 && same; c++)
            for (int r = 0; r < 64 && same; r++)
                for (int k = 0; k < 64; k++) {
                    int rr = (f & 2) ? 63 - r : r, kk = (f & 1) ? 63 - k : k;
                    if (a[(c * 64 + rr) * 64 + kk] != b[(c * 64 + r) * 64 + k]) {
                        same = 0;
                        break;
                    }
                }
        if (same)
            return f;
    }
    return -1;
}

int main(void)
{
    enum { N = 5 };
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = N;
    ds.pixels = malloc((size_t)N * PIX);
    ds.labels = malloc(N);
    cs_rng g;
    cs_rng_seed(&g, 3);
    for (size_t i = 0; i < (size_t)N * PIX; i++)
        ds.pixels[i] = (uint8_t)cs_rng_below(&g, 256);
    for (int i = 0; i < N; i++)
        ds.labels[i] = (uint8_t)(i * 2);

    uint32_t idx[N] = {4, 0, 2, 1, 3};
    float *plain = malloc(sizeof(float) * N * PIX), *fl = malloc(sizeof(float) * N * PIX),
          *again = malloc(sizeof(float) * N * PIX);
    uint8_t y[N], y2[N];
    nn_data_batch(&ds, idx, N, plain, y);
    int seen[4] = {0};
    cs_rng r, r2;
    cs_rng_seed(&r, 11);
    for (int trial = 0; trial < 20; trial++) {
        cs_rng_seed(&r2, 100 + (uint64_t)trial);
        cs_rng r3 = r2;
        nn_data_batch_flip(&ds, idx, N, fl, y2, &r2);
        nn_data_batch_flip(&ds, idx, N, again, NULL, &r3);
        T_MEMEQ(fl, again, sizeof(float) * N * PIX);
        for (int b = 0; b < N; b++) {
            int f = which_flip(plain + (size_t)b * PIX, fl + (size_t)b * PIX);
            T_TRUE(f >= 0);
            if (f >= 0)
                seen[f]++;
            T_EQ(y2[b], y[b]);
        }
    }
    for (int f = 0; f < 4; f++)
        T_TRUE(seen[f] > 5); /* 100 draws: each flip expected 25 times */
    free(plain);
    free(fl);
    free(again);
    free(ds.pixels);
    free(ds.labels);
    return t_done();
}
