/* test_t.c - the typed checks of t.h themselves: each must pass on agreeing values and fail on
 * the smallest disagreement it exists to catch. Failures here are expected and counted, then
 * taken back out of the total. */
#include "t.h"

#include <float.h>
#include <stdint.h>

static int wrong = 0; /* checks that did not behave */

/* Runs one check and requires it to fail (want_fail) or pass. */
#define EXPECT(want_fail, check)                                                                   \
    do {                                                                                           \
        const int t_before_ = t_failures;                                                          \
        if (want_fail)                                                                             \
            fprintf(stderr, "(expected failure follows)\n");                                       \
        check;                                                                                     \
        const int t_failed_ = t_failures > t_before_;                                              \
        t_failures = t_before_;                                                                    \
        if (t_failed_ != (want_fail)) {                                                            \
            wrong++;                                                                               \
            fprintf(stderr, "%s:%d: %s should have %s\n", __FILE__, __LINE__, #check,              \
                    (want_fail) ? "failed" : "passed");                                            \
        }                                                                                          \
    } while (0)

static float next_up(float f)
{
    return nextafterf(f, INFINITY);
}

int main(void)
{
    /* T_EQ_U64: the full unsigned range */
    EXPECT(0, T_EQ_U64(UINT64_MAX, 0xFFFFFFFFFFFFFFFFull));
    EXPECT(1, T_EQ_U64(UINT64_MAX, UINT64_MAX - 1));
    EXPECT(1, T_EQ_U64((size_t)1 << 40, 0));

    /* T_MEMEQ: a difference in the last byte only */
    const unsigned char a[5] = {1, 2, 3, 4, 5}, b[5] = {1, 2, 3, 4, 6};
    EXPECT(0, T_MEMEQ(a, b, 4));
    EXPECT(1, T_MEMEQ(a, b, 5));
    EXPECT(0, T_MEMEQ(a, b, 0));
    EXPECT(1, T_MEMEQ(a, NULL, 1));

    /* T_NEAR_REL: relative above the floor, absolute (rel * floor) below it */
    EXPECT(0, T_NEAR_REL(1000.001, 1000.0, 1e-6, 1e-3));
    EXPECT(1, T_NEAR_REL(1000.002, 1000.0, 1e-6, 1e-3));
    EXPECT(0, T_NEAR_REL(1e-9, 0.0, 1e-6, 1e-3)); /* 1e-9 <= 1e-6 * 1e-3 */
    EXPECT(1, T_NEAR_REL(2e-9, 0.0, 1e-6, 1e-3));
    EXPECT(0, T_NEAR_REL(0.0, 0.0, 0, 0));
    EXPECT(1, T_NEAR_REL(1e-300, 0.0, 1, 0));
    EXPECT(1, T_NEAR_REL(NAN, 1.0, 1, 1));
    EXPECT(1, T_NEAR_REL(-1.0, 1.0, 1.5, 0)); /* a wrong sign: relative error 2 */

    /* T_ARRAY_NEAR_REL: one bad element among good ones; a NaN; scale-relative floor */
    float fa[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    const double db[4] = {1.0, 2.0, 3.0, 4.0};
    EXPECT(0, T_ARRAY_NEAR_REL(fa, db, 4, 0, 0));
    fa[2] = next_up(3.0f);
    EXPECT(1, T_ARRAY_NEAR_REL(fa, db, 4, FLT_EPSILON / 4, 0));
    EXPECT(0, T_ARRAY_NEAR_REL(fa, db, 4, FLT_EPSILON, 0));
    fa[1] = NAN;
    EXPECT(1, T_ARRAY_NEAR_REL(fa, db, 4, 1, 1));
    double worst = 0;
    T_MAX_REL_ERR(worst, fa, db, 4, 0);
    EXPECT(0, T_TRUE(isnan(worst)));
    const double small[3] = {1e-12, -1.0, 0.5}, ref[3] = {0.0, -1.0, 0.5};
    EXPECT(0, T_ARRAY_NEAR_REL(small, ref, 3, 1e-9, 1.0)); /* 1e-12 <= 1e-9 * max|ref| */
    EXPECT(1, T_ARRAY_NEAR_REL(small, ref, 3, 1e-9, 0.0)); /* relative to 0 itself */
    T_MAX_REL_ERR(worst, small, ref, 3, 1.0);
    EXPECT(0, T_NEAR(worst, 1e-12, 1e-24));

    /* T_NEAR_ULPS: adjacent floats, across zero, NaN */
    EXPECT(0, T_NEAR_ULPS(1.0f, next_up(1.0f), 1));
    EXPECT(1, T_NEAR_ULPS(1.0f, next_up(next_up(1.0f)), 1));
    EXPECT(0, T_NEAR_ULPS(0.0f, -0.0f, 0));
    EXPECT(0, T_NEAR_ULPS(-FLT_TRUE_MIN, FLT_TRUE_MIN, 2));
    EXPECT(1, T_NEAR_ULPS(-FLT_TRUE_MIN, FLT_TRUE_MIN, 1));
    EXPECT(1, T_NEAR_ULPS(1.0f, -1.0f, 1000000));
    EXPECT(1, T_NEAR_ULPS(NAN, NAN, 1000000));

    T_EQ(wrong, 0);
    return t_done();
}
