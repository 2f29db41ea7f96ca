/* t.h - the test helper: checks that print file:line and both values, and a failure count
 * that becomes the exit code. Never use assert() in tests (NDEBUG removes it).
 *
 *   int main(void) { T_EQ(1 + 1, 2); T_NEAR(x, 0.5, 1e-6); return t_done(); }
 */
#ifndef T_H
#define T_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int t_failures = 0;
static int t_checks = 0;

#define T_FAIL_(...)                                                                               \
    do {                                                                                           \
        t_failures++;                                                                              \
        fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__);                              \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
    } while (0)

#define T_TRUE(c)                                                                                  \
    do {                                                                                           \
        t_checks++;                                                                                \
        if (!(c))                                                                                  \
            T_FAIL_("%s", #c);                                                                     \
    } while (0)

/* Integers (compared as long long). */
#define T_EQ(a, b)                                                                                 \
    do {                                                                                           \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                                    \
        t_checks++;                                                                                \
        if (t_a_ != t_b_)                                                                          \
            T_FAIL_("%s == %s: %lld != %lld", #a, #b, t_a_, t_b_);                                 \
    } while (0)

/* Doubles, absolute tolerance; NaN never passes. */
#define T_NEAR(a, b, tol)                                                                          \
    do {                                                                                           \
        double t_a_ = (double)(a), t_b_ = (double)(b), t_t_ = (double)(tol);                       \
        t_checks++;                                                                                \
        if (!(fabs(t_a_ - t_b_) <= t_t_))                                                          \
            T_FAIL_("%s ~ %s: %.12g vs %.12g (diff %.3g > tol %.3g)", #a, #b, t_a_, t_b_,          \
                    fabs(t_a_ - t_b_), t_t_);                                                      \
    } while (0)

/* Unsigned 64-bit integers (sizes, byte counts, offsets), printed as unsigned. */
#define T_EQ_U64(a, b)                                                                             \
    do {                                                                                           \
        unsigned long long t_a_ = (uint64_t)(a), t_b_ = (uint64_t)(b);                             \
        t_checks++;                                                                                \
        if (t_a_ != t_b_)                                                                          \
            T_FAIL_("%s == %s: %llu != %llu", #a, #b, t_a_, t_b_);                                 \
    } while (0)

/* n bytes at a and b are equal; prints the first differing offset and both bytes there. */
#define T_MEMEQ(a, b, n)                                                                           \
    do {                                                                                           \
        const unsigned char *t_a_ = (const unsigned char *)(a);                                    \
        const unsigned char *t_b_ = (const unsigned char *)(b);                                    \
        const size_t t_n_ = (size_t)(n);                                                           \
        t_checks++;                                                                                \
        if (!t_a_ || !t_b_) {                                                                      \
            T_FAIL_("memeq(%s, %s, %s): null pointer", #a, #b, #n);                                \
        } else if (memcmp(t_a_, t_b_, t_n_) != 0) {                                                \
            size_t t_i_ = 0;                                                                       \
            while (t_a_[t_i_] == t_b_[t_i_])                                                       \
                t_i_++;                                                                            \
            T_FAIL_("memeq(%s, %s, %zu): first difference at byte %zu: 0x%02x != 0x%02x", #a, #b,  \
                    t_n_, t_i_, t_a_[t_i_], t_b_[t_i_]);                                           \
        }                                                                                          \
    } while (0)

/* Doubles, relative: |a - b| <= rel * max(|b|, floor), b the reference. The floor is the
 * magnitude below which the error is no longer proportional to |b| (cancellation, values near
 * zero): state it, and the reason for rel, at the call. NaN never passes. */
static inline double t_rel_err_(double a, double b, double floor)
{
    const double d = fabs(a - b), s = fmax(fabs(b), floor);
    return d == 0 ? 0 : d / s; /* inf when s == 0 < d; NaN stays NaN */
}

#define T_NEAR_REL(a, b, rel, floor)                                                               \
    do {                                                                                           \
        const double t_a_ = (double)(a), t_b_ = (double)(b), t_r_ = (double)(rel);                 \
        const double t_f_ = (double)(floor), t_e_ = t_rel_err_(t_a_, t_b_, t_f_);                  \
        t_checks++;                                                                                \
        if (!(t_e_ <= t_r_))                                                                       \
            T_FAIL_("%s ~ %s: %.12g vs %.12g (relative error %.3g > tol %.3g, floor %.3g)", #a,    \
                    #b, t_a_, t_b_, t_e_, t_r_, t_f_);                                             \
    } while (0)

/* Arrays of n (float or double) elements: T_NEAR_REL on every element. Prints the number of
 * failing elements and the worst one. With floor = max|b| the check is relative to the
 * array's scale: max |a - b| <= rel * max|b|. */
#define T_ARRAY_NEAR_REL(a, b, n, rel, floor)                                                      \
    do {                                                                                           \
        const size_t t_n_ = (size_t)(n);                                                           \
        const double t_r_ = (double)(rel), t_f_ = (double)(floor);                                 \
        size_t t_bad_ = 0, t_w_ = 0;                                                               \
        double t_we_ = -1;                                                                         \
        t_checks++;                                                                                \
        for (size_t t_i_ = 0; t_i_ < t_n_; t_i_++) {                                               \
            const double t_e_ = t_rel_err_((double)(a)[t_i_], (double)(b)[t_i_], t_f_);            \
            t_bad_ += !(t_e_ <= t_r_);                                                             \
            if (!isnan(t_we_) && !(t_e_ <= t_we_))                                                 \
                t_we_ = t_e_, t_w_ = t_i_;                                                         \
        }                                                                                          \
        if (t_bad_)                                                                                \
            T_FAIL_("%s ~ %s: %zu of %zu elements off; worst [%zu] %.12g vs %.12g (relative "      \
                    "error %.3g > tol %.3g, floor %.3g)",                                          \
                    #a, #b, t_bad_, t_n_, t_w_, (double)(a)[t_w_], (double)(b)[t_w_], t_we_, t_r_, \
                    t_f_);                                                                         \
    } while (0)

/* Sets the double out to the worst relative error T_ARRAY_NEAR_REL would see (for a report
 * line); NaN if an element is NaN. Not a check. */
#define T_MAX_REL_ERR(out, a, b, n, floor)                                                         \
    do {                                                                                           \
        double t_m_ = 0;                                                                           \
        for (size_t t_i_ = 0; t_i_ < (size_t)(n); t_i_++) {                                        \
            const double t_e_ = t_rel_err_((double)(a)[t_i_], (double)(b)[t_i_], (floor));         \
            if (!isnan(t_m_) && !(t_e_ <= t_m_))                                                   \
                t_m_ = t_e_;                                                                       \
        }                                                                                          \
        (out) = t_m_;                                                                              \
    } while (0)

/* Floats: at most n units in the last place apart (adjacent floats are 1 apart, +0 and -0 are
 * 0 apart); NaN never passes. */
static inline uint64_t t_ulps_f_(float a, float b)
{
    if (isnan(a) || isnan(b))
        return UINT64_MAX;
    uint32_t ua, ub;
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    /* map the sign-magnitude bit patterns to one ordered integer line */
    const int64_t ia = (ua >> 31) ? -(int64_t)(ua & 0x7FFFFFFFu) : (int64_t)ua;
    const int64_t ib = (ub >> 31) ? -(int64_t)(ub & 0x7FFFFFFFu) : (int64_t)ub;
    return (uint64_t)(ia > ib ? ia - ib : ib - ia);
}

#define T_NEAR_ULPS(a, b, n)                                                                       \
    do {                                                                                           \
        const float t_a_ = (a), t_b_ = (b);                                                        \
        const uint64_t t_u_ = t_ulps_f_(t_a_, t_b_), t_n_ = (uint64_t)(n);                         \
        t_checks++;                                                                                \
        if (!(t_u_ <= t_n_))                                                                       \
            T_FAIL_("%s ~ %s: %.9g vs %.9g (%llu ulps apart > %llu)", #a, #b, (double)t_a_,        \
                    (double)t_b_, (unsigned long long)t_u_, (unsigned long long)t_n_);             \
    } while (0)

#define T_STREQ(a, b)                                                                              \
    do {                                                                                           \
        const char *t_a_ = (a), *t_b_ = (b);                                                       \
        t_checks++;                                                                                \
        if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0)                                             \
            T_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, t_a_ ? t_a_ : "(null)",                  \
                    t_b_ ? t_b_ : "(null)");                                                       \
    } while (0)

/* Substring check. */
#define T_CONTAINS(hay, needle)                                                                    \
    do {                                                                                           \
        const char *t_h_ = (hay), *t_n_ = (needle);                                                \
        t_checks++;                                                                                \
        if (!t_h_ || !t_n_ || !strstr(t_h_, t_n_))                                                 \
            T_FAIL_("\"%s\" does not contain \"%s\"", t_h_ ? t_h_ : "(null)", t_n_);               \
    } while (0)

/* Ends the test: prints a summary, returns the exit code (1 if anything failed or nothing ran). */
static inline int t_done(void)
{
    if (t_checks == 0) {
        fprintf(stderr, "no checks ran\n");
        return 1;
    }
    fprintf(stderr, "%d checks, %d failed\n", t_checks, t_failures);
    return t_failures ? 1 : 0;
}

#endif
