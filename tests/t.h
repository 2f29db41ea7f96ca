/* t.h - the test helper: checks that print file:line and both values, and a failure count
 * that becomes the exit code. Never use assert() in tests (NDEBUG removes it).
 *
 *   int main(void) { T_EQ(1 + 1, 2); T_NEAR(x, 0.5, 1e-6); return t_done(); }
 */
#ifndef T_H
#define T_H

#include <math.h>
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
