/* test_int8.c - symmetric per-channel INT8: scale = max|w|/127, round half to even, error bound,
 * zero channels, one huge value, non-finite weights. */
#include "cs_rng.h"
#include "nn_codec.h"
#include "t.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_hand_values(void)
{
    /* max|w| = 127 -> scale exactly 1: q is w rounded half to even. */
    const float w[10] = {127.0f, 2.5f, 3.5f, -2.5f, 0.5f, 1.5f, 126.5f, -127.0f, 0.49f, -0.51f};
    const int want[10] = {127, 2, 4, -2, 0, 2, 126, -127, 0, -1};
    int8_t q[10];
    float s = -1.0f;
    T_EQ(nn_int8_quantize(w, 1, 10, q, &s, NULL), 0);
    T_TRUE(s == 1.0f);
    for (int i = 0; i < 10; i++)
        T_EQ(q[i], want[i]);
    /* max|w| = 2.54 -> scale 0.02 (float): 1.27 -> 63.5 would be a tie only in exact decimal. */
    const float w2[4] = {-2.54f, 1.0f, 0.0f, 2.54f};
    int8_t q2[4];
    float s2;
    T_EQ(nn_int8_quantize(w2, 1, 4, q2, &s2, NULL), 0);
    T_TRUE(s2 == 2.54f / 127.0f);
    T_EQ(q2[0], -127);
    T_EQ(q2[1], 50); /* 1 / 0.02 = 50 */
    T_EQ(q2[2], 0);
    T_EQ(q2[3], 127);
}

/* Exact ties at many scales: max|w| = 127 * m * 2^e gives scale m * 2^e exactly (m odd, small),
 * and w = (k + 1/2) * m * 2^e is a float lying exactly half-way between two steps; q must be the
 * even neighbour. With m != 1 the reciprocal of the scale is inexact, which is where a
 * multiply-only rounding would go wrong. */
static void test_exact_ties(void)
{
    static const int ms[] = {1, 3, 5, 7, 11, 13, 25, 99, 127, 1001, 4095};
    float w[255];
    int8_t q[255];
    size_t bad = 0, cases = 0;
    for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
        for (int e = -30; e <= 30; e++) {
            float s, m = (float)ms[mi];
            w[0] = ldexpf(127.0f * m, e);
            for (int k = -127; k < 127; k++)
                w[k + 128] = ldexpf(((float)k + 0.5f) * m, e);
            T_EQ(nn_int8_quantize(w, 1, 255, q, &s, NULL), 0);
            if (s != ldexpf(m, e))
                bad++;
            for (int k = -127; k < 127; k++) {
                int want = (k % 2 == 0) ? k : k + 1; /* k + 1/2 -> the even one of k, k + 1 */
                cases++;
                if (q[k + 128] != want)
                    bad++;
            }
        }
    T_EQ(bad, 0);
    T_EQ(cases, 11 * 61 * 254);
}

static void test_random_bound(void)
{
    cs_rng r;
    cs_rng_derive(&r, 7, CS_RNG_SYNTH, 8);
    const size_t rows = 96, cols = 577;
    float *w = malloc(rows * cols * sizeof *w), *back = malloc(rows * cols * sizeof *back);
    int8_t *q = malloc(rows * cols);
    float scale[96];
    T_TRUE(w && back && q);
    if (!w || !back || !q)
        return;
    for (size_t i = 0; i < rows; i++) {
        double mag = pow(10.0, (double)((int)(i % 13) - 8)); /* 1e-8 .. 1e4 per channel */
        for (size_t j = 0; j < cols; j++)
            w[i * cols + j] = (float)(cs_rng_normal(&r) * mag);
    }
    T_EQ(nn_int8_quantize(w, rows, cols, q, scale, NULL), 0);
    nn_int8_dequantize(q, scale, rows, cols, back);
    size_t bad_bound = 0, bad_scale = 0, bad_range = 0, bad_deq = 0, bad_max = 0, bad_q = 0;
    for (size_t i = 0; i < rows; i++) {
        float m = 0.0f;
        for (size_t j = 0; j < cols; j++)
            m = fmaxf(m, fabsf(w[i * cols + j]));
        if (scale[i] != m / 127.0f)
            bad_scale++;
        int qmax = 0;
        for (size_t j = 0; j < cols; j++) {
            size_t k = i * cols + j;
            /* exact real-number bound, evaluated in double (q*scale is exact in double) */
            if (fabs((double)w[k] - (double)q[k] * (double)scale[i]) > 0.5 * (double)scale[i])
                bad_bound++;
            if (q[k] == INT8_MIN)
                bad_range++;
            if (back[k] != (float)q[k] * scale[i])
                bad_deq++;
            if (q[k] != (int8_t)nearbyint((double)w[k] / (double)scale[i])) /* the definition */
                bad_q++;
            qmax = abs(q[k]) > qmax ? abs(q[k]) : qmax;
        }
        if (qmax != 127)
            bad_max++;
    }
    T_EQ(bad_bound, 0);
    T_EQ(bad_scale, 0);
    T_EQ(bad_range, 0);
    T_EQ(bad_deq, 0);
    T_EQ(bad_max, 0);
    T_EQ(bad_q, 0);
    free(w);
    free(back);
    free(q);
}

static void test_zero_and_huge(void)
{
    /* row 0 all zeros (one negative zero), row 1 one huge value, row 2 tiny (scale underflows) */
    float w[3][5] = {{0.0f, -0.0f, 0.0f, 0.0f, 0.0f},
                     {1e30f, 1.0f, -3e29f, -1e30f, 4e27f},
                     {1e-44f, -1e-44f, 0.0f, 0.0f, 0.0f}};
    int8_t q[15];
    float s[3], back[15];
    memset(q, 99, sizeof q);
    T_EQ(nn_int8_quantize(&w[0][0], 3, 5, q, s, NULL), 0);
    nn_int8_dequantize(q, s, 3, 5, back);
    T_TRUE(s[0] == 0.0f);
    for (int j = 0; j < 5; j++) {
        T_EQ(q[j], 0);
        T_TRUE(back[j] == 0.0f && !isnan(back[j]));
    }
    T_TRUE(s[1] == 1e30f / 127.0f);
    T_EQ(q[5], 127);
    T_EQ(q[6], 0);
    T_EQ(q[7], -38); /* -3e29 / (1e30/127) = -38.1 */
    T_EQ(q[8], -127);
    T_EQ(q[9], 1); /* 4e27 / 7.874e27 = 0.508 */
    for (int j = 5; j < 10; j++) {
        T_TRUE(isfinite(back[j]));
        /* half a step, plus the rounding of q * scale to float: half an ulp of the result (at
         * 1e30 that is 4e22, more than the 1e-6 of a step allowed for it before) */
        T_NEAR(back[j], w[1][j - 5],
               0.5 * (double)s[1] + 0.5 * FLT_EPSILON * fabs((double)back[j]));
    }
    T_TRUE(s[2] == 0.0f);
    for (int j = 10; j < 15; j++)
        T_TRUE(back[j] == 0.0f);
}

static void test_non_finite(void)
{
    float w[3][4] = {{1, 2, 3, 4}, {1, 2, 3, 4}, {1, NAN, 3, 4}};
    int8_t q[12];
    float s[3];
    size_t bad = 99;
    T_EQ(nn_int8_quantize(&w[0][0], 3, 4, q, s, &bad), -1);
    T_EQ(bad, 2);
    w[2][1] = 2.0f;
    w[1][3] = -INFINITY;
    T_EQ(nn_int8_quantize(&w[0][0], 3, 4, q, s, &bad), -1);
    T_EQ(bad, 1);
    w[1][3] = 4.0f;
    T_EQ(nn_int8_quantize(&w[0][0], 3, 4, q, s, &bad), 0);
}

int main(void)
{
    test_hand_values();
    test_exact_ties();
    test_random_bound();
    test_zero_and_huge();
    test_non_finite();
    return t_done();
}
