/* test_fp16.c - IEEE binary16 conversions: exact bit patterns, all 65,536 halves, an independent
 * nearest-value oracle, and the F16C path against the portable one.
 * With the argument --exhaustive, also every one of the 2^32 floats (label slow): portable
 * against F16C, so on a CPU without F16C that run exits 77 (ctest: skipped) before anything. */
#include "cs_rng.h"
#include "nn_codec.h"
#include "t.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static float fbits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t bitsf(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* The value of a finite half from the definition (sign, 5-bit exponent, 10-bit fraction). */
static double half_value(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp((double)m, -24) : ldexp((double)(1024 + m), e - 25);
    return s ? -v : v;
}

/* Oracle: the nearest half by search over the ordered positive halves, ties to the even pattern;
 * values at or beyond 65520 (the midpoint between 65504 and 2^16) round to infinity. */
static uint16_t ref_from_f32(float f)
{
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    if (isnan(f))
        return 0xFFFF; /* not used for NaN */
    double a = fabs((double)f);
    if (a >= 65520.0)
        return sign | 0x7C00;
    unsigned lo = 0, hi = 0x7BFF; /* largest k with value(k) <= a */
    while (lo < hi) {
        unsigned mid = (lo + hi + 1) / 2;
        if (half_value((uint16_t)mid) <= a)
            lo = mid;
        else
            hi = mid - 1;
    }
    double vlo = half_value((uint16_t)lo);
    double vhi = lo == 0x7BFF ? 65536.0 : half_value((uint16_t)(lo + 1));
    unsigned k;
    if (a - vlo < vhi - a)
        k = lo;
    else if (a - vlo > vhi - a)
        k = lo + 1;
    else
        k = (lo % 2 == 0) ? lo : lo + 1;
    return (uint16_t)(sign | k);
}

static void check_one(float f, uint16_t want, int line)
{
    uint16_t got = nn_fp16_from_f32(f);
    t_checks++;
    if (got != want) {
        t_failures++;
        fprintf(stderr, "line %d: fp16(%a = 0x%08x) = 0x%04x, want 0x%04x\n", line, (double)f,
                bitsf(f), got, want);
    }
    if (nn_fp16_have_f16c()) {
        uint16_t hw;
        nn_fp16_encode_f16c(&f, &hw, 1);
        T_EQ(hw, want);
    }
    if (!isnan(f))
        T_EQ(ref_from_f32(f), want);
}
#define CHECK(f, want) check_one((f), (want), __LINE__)

static void test_exact_values(void)
{
    CHECK(1.0f, 0x3C00);
    CHECK(-2.0f, 0xC000);
    CHECK(65504.0f, 0x7BFF);
    CHECK(65505.0f, 0x7BFF);
    CHECK(65519.99f, 0x7BFF);
    CHECK(65520.0f, 0x7C00); /* tie between 0x7BFF and 2^16: even -> inf */
    CHECK(-65520.0f, 0xFC00);
    CHECK(65536.0f, 0x7C00);
    CHECK(1e10f, 0x7C00);
    CHECK(0x1p-24f, 0x0001); /* smallest subnormal */
    CHECK(0x1p-25f, 0x0000); /* tie between 0 and 2^-24: even -> 0 */
    CHECK(-0x1p-25f, 0x8000);
    CHECK(fbits(0x33000001u), 0x0001);     /* just above 2^-25 */
    CHECK(3.0f * 0x1p-26f, 0x0001);        /* 0.75 * 2^-24 */
    CHECK(1.5f * 0x1p-24f, 0x0002);        /* tie 1|2 -> 2 */
    CHECK(2.5f * 0x1p-24f, 0x0002);        /* tie 2|3 -> 2 */
    CHECK(1023.0f * 0x1p-24f, 0x03FF);     /* largest subnormal */
    CHECK(1023.5f * 0x1p-24f, 0x0400);     /* tie 0x3FF|0x400 -> 0x400 */
    CHECK(0x1p-14f, 0x0400);               /* smallest normal */
    CHECK(1.0f + 0x1p-11f, 0x3C00);        /* tie -> even 0x3C00 */
    CHECK(1.0f + 3.0f * 0x1p-11f, 0x3C02); /* tie 0x3C01|0x3C02 -> 0x3C02 */
    CHECK(1.0f + 0x1p-11f + 0x1p-23f, 0x3C01);
    CHECK(0.1f, 0x2E66);
    CHECK(1.0f / 3.0f, 0x3555);
    CHECK(0.0f, 0x0000);
    CHECK(-0.0f, 0x8000);
    CHECK(1e-40f, 0x0000); /* float subnormal */
    CHECK(-1e-40f, 0x8000);
    CHECK(INFINITY, 0x7C00);
    CHECK(-INFINITY, 0xFC00);
    /* NaN: sign and top payload bits kept, quiet bit set. */
    CHECK(fbits(0x7FC00000u), 0x7E00);
    CHECK(fbits(0xFFC00000u), 0xFE00);
    CHECK(fbits(0x7FC02000u), 0x7E01);
    CHECK(fbits(0x7F800001u), 0x7E00); /* signalling, payload below the kept bits */
    CHECK(fbits(0x7FA00000u), 0x7F00); /* signalling, top payload bit kept */
    CHECK(fbits(0xFFFFFFFFu), 0xFFFF);

    /* half -> float */
    T_TRUE(nn_fp16_to_f32(0x3C00) == 1.0f);
    T_TRUE(nn_fp16_to_f32(0x7BFF) == 65504.0f);
    T_TRUE(nn_fp16_to_f32(0x0001) == 0x1p-24f);
    T_TRUE(nn_fp16_to_f32(0x03FF) == 1023.0f * 0x1p-24f);
    T_TRUE(nn_fp16_to_f32(0x0400) == 0x1p-14f);
    T_TRUE(nn_fp16_to_f32(0x3555) == 0.333251953125f);
    T_EQ(bitsf(nn_fp16_to_f32(0x8000)), 0x80000000u);
    T_TRUE(nn_fp16_to_f32(0x7C00) == INFINITY);
    T_TRUE(nn_fp16_to_f32(0xFC00) == -INFINITY);
    T_EQ(bitsf(nn_fp16_to_f32(0x7E00)), 0x7FC00000u);
    T_EQ(bitsf(nn_fp16_to_f32(0xFE01)), 0xFFC02000u);
    T_EQ(bitsf(nn_fp16_to_f32(0x7C01)), 0x7FC02000u); /* signalling -> quiet, payload kept */
}

static void test_all_halves(void)
{
    int bad_value = 0, bad_trip = 0, bad_nan = 0, bad_hw = 0;
    for (uint32_t u = 0; u < 65536; u++) {
        uint16_t h = (uint16_t)u;
        float f = nn_fp16_to_f32(h);
        int e = (h >> 10) & 31, m = h & 1023;
        if (e == 31 && m != 0) {
            /* NaN: stays NaN, sign kept, payload kept, quiet bit set (as IEEE conversion does) */
            uint16_t back = nn_fp16_from_f32(f);
            if (!isnan(f) || back != (h | 0x0200) || (bitsf(f) >> 31) != (uint32_t)(h >> 15))
                bad_nan++;
        } else {
            double want = e == 31 ? (h >> 15 ? -INFINITY : INFINITY) : half_value(h);
            if ((double)f != want || !signbit(f) != !signbit(want))
                bad_value++;
            if (nn_fp16_from_f32(f) != h)
                bad_trip++;
        }
        if (nn_fp16_have_f16c()) {
            float fh;
            uint16_t hh, hp = nn_fp16_from_f32(f);
            nn_fp16_decode_f16c(&h, &fh, 1);
            nn_fp16_encode_f16c(&f, &hh, 1);
            if (bitsf(fh) != bitsf(f) || hh != hp)
                bad_hw++;
        }
    }
    T_EQ(bad_value, 0);
    T_EQ(bad_trip, 0);
    T_EQ(bad_nan, 0);
    T_EQ(bad_hw, 0);
    /* the array forms agree with the scalar ones, including odd lengths and tails */
    uint16_t hs[65536 + 3], back[65536 + 3];
    float fs[65536 + 3];
    for (uint32_t u = 0; u < 65536 + 3; u++)
        hs[u] = (uint16_t)(u * 40503u);
    nn_fp16_decode(hs, fs, 65536 + 3);
    nn_fp16_encode(fs, back, 65536 + 3);
    int bad = 0;
    for (uint32_t u = 0; u < 65536 + 3; u++)
        if (bitsf(fs[u]) != bitsf(nn_fp16_to_f32(hs[u])) || back[u] != nn_fp16_from_f32(fs[u]))
            bad++;
    T_EQ(bad, 0);
}

/* Random floats: raw bit patterns (every class), values in the half range, and values within a
 * few float ulps of a half-way point. Portable vs F16C on all; the oracle on a subset. */
static void test_random(size_t n)
{
    cs_rng r;
    cs_rng_derive(&r, 12345, CS_RNG_SYNTH, 16);
    const size_t chunk = 1 << 16;
    float *f = malloc(chunk * sizeof *f);
    uint16_t *a = malloc(chunk * sizeof *a), *b = malloc(chunk * sizeof *b);
    T_TRUE(f && a && b);
    if (!f || !a || !b)
        return;
    size_t bad_hw = 0, bad_ref = 0, ref_checked = 0;
    for (size_t done = 0; done < n; done += chunk) {
        size_t k = n - done < chunk ? n - done : chunk;
        for (size_t i = 0; i < k; i++) {
            uint64_t x = cs_rng_u64(&r);
            switch (x % 3) {
            case 0:
                f[i] = fbits((uint32_t)(x >> 32));
                break;
            case 1:
                f[i] = (float)((cs_rng_uniform(&r) * 2.0 - 1.0) * 70000.0);
                break;
            default: { /* near a midpoint between two adjacent finite halves */
                uint16_t h = (uint16_t)((x >> 8) & 0x7BFE);
                double mid = 0.5 * (half_value(h) + half_value((uint16_t)(h + 1)));
                uint32_t mb = bitsf((float)mid);
                int d = (int)((x >> 40) % 5) - 2;
                f[i] = fbits(mb + (uint32_t)d);
                if ((x >> 50) & 1)
                    f[i] = -f[i];
            }
            }
        }
        nn_fp16_encode_portable(f, a, k);
        if (nn_fp16_have_f16c()) {
            nn_fp16_encode_f16c(f, b, k);
            for (size_t i = 0; i < k; i++)
                bad_hw += a[i] != b[i];
        }
        for (size_t i = 0; i < k; i += 7) {
            if (isnan(f[i]))
                continue;
            ref_checked++;
            bad_ref += ref_from_f32(f[i]) != a[i];
        }
    }
    fprintf(stderr, "random: %zu floats, %zu checked against the oracle, f16c %s\n", n, ref_checked,
            nn_fp16_have_f16c() ? "compared" : "not available");
    T_EQ(bad_hw, 0);
    T_EQ(bad_ref, 0);
    T_TRUE(ref_checked > n / 10);
    free(f);
    free(a);
    free(b);
}

/* Every float: portable vs F16C (needs F16C: main skips without it). */
static void test_exhaustive(void)
{
    const size_t chunk = 1 << 20;
    float *f = malloc(chunk * sizeof *f);
    uint16_t *a = malloc(chunk * 2), *b = malloc(chunk * 2);
    T_TRUE(f && a && b);
    if (!f || !a || !b)
        return;
    uint64_t bad = 0;
    for (uint64_t base = 0; base < (1ull << 32); base += chunk) {
        for (size_t i = 0; i < chunk; i++)
            f[i] = fbits((uint32_t)(base + i));
        nn_fp16_encode_portable(f, a, chunk);
        nn_fp16_encode_f16c(f, b, chunk);
        bad += memcmp(a, b, chunk * 2) != 0;
    }
    T_EQ_U64(bad, 0); /* chunks of 2^20 floats with a difference */
    free(f);
    free(a);
    free(b);
}

int main(int argc, char **argv)
{
    const bool exhaustive = argc > 1 && strcmp(argv[1], "--exhaustive") == 0;
    fprintf(stderr, "f16c: %s\n", nn_fp16_have_f16c() ? "yes" : "no");
    if (exhaustive && !nn_fp16_have_f16c()) {
        fprintf(stderr, "SKIP: the exhaustive comparison is against F16C, which this CPU lacks "
                        "(__builtin_cpu_supports(\"f16c\") and \"avx\")\n");
        return 77;
    }
    test_exact_values();
    test_all_halves();
    test_random(10 * 1000 * 1000);
    if (exhaustive)
        test_exhaustive();
    return t_done();
}
