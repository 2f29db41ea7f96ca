/* nn_fp16.c - IEEE 754 binary16 <-> binary32: a portable bit-exact converter and an F16C path
 * (chosen at run time) that gives identical bits. */
#include "nn_codec.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define NN_HAVE_X86 1
#else
#define NN_HAVE_X86 0
#endif

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t nn_fp16_from_f32(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u) {
        if (ax == 0x7F800000u)
            return sign | 0x7C00u; /* inf */
        /* NaN: top 10 payload bits, quiet bit set. */
        return (uint16_t)(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
    }
    if (ax >= 0x477FF000u) /* >= 65520 = 65504 + half an ulp: the tie goes to even, i.e. inf */
        return sign | 0x7C00u;
    if (ax >= 0x38800000u) { /* >= 2^-14: a normal half */
        /* Rebias the exponent (127 -> 15) and drop 13 mantissa bits, rounding to nearest even.
         * A carry out of the mantissa correctly bumps the exponent. */
        uint32_t h = (ax - 0x38000000u) >> 13;
        uint32_t rem = ax & 0x1FFFu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
            h++;
        return (uint16_t)(sign | h);
    }
    /* Subnormal half: value = m * 2^-24. */
    uint32_t e = ax >> 23;
    if (e < 102) /* below 2^-25: rounds to zero (2^-25 itself is the tie, handled below) */
        return sign;
    uint32_t mant = (ax & 0x7FFFFFu) | 0x800000u; /* value = mant * 2^(e-150) */
    uint32_t shift = 126 - e;                     /* 14 .. 24 */
    uint32_t m = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    uint32_t halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (m & 1u)))
        m++; /* may become 0x400, the smallest normal: still the right encoding */
    return (uint16_t)(sign | m);
}

float nn_fp16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1Fu;
    uint32_t m = h & 0x3FFu;
    if (e == 0x1F) {
        if (m == 0)
            return f32_from_bits(sign | 0x7F800000u);
        return f32_from_bits(sign | 0x7FC00000u | (m << 13)); /* NaN, made quiet */
    }
    if (e == 0) {
        /* zero or subnormal: m * 2^-24, exact in float */
        float v = (float)m * 0x1p-24f;
        return f32_from_bits(sign | f32_bits(v));
    }
    return f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
}

void nn_fp16_encode_portable(const float *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = nn_fp16_from_f32(src[i]);
}

void nn_fp16_decode_portable(const uint16_t *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = nn_fp16_to_f32(src[i]);
}

#if NN_HAVE_X86
__attribute__((target("avx,f16c"))) static void encode_f16c(const float *src, uint16_t *dst,
                                                            size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(src + i);
        __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(void *)(dst + i), h);
    }
    for (; i < n; i++) {
        __m128i h = _mm_cvtps_ph(_mm_set_ss(src[i]), _MM_FROUND_TO_NEAREST_INT);
        dst[i] = (uint16_t)_mm_extract_epi16(h, 0);
    }
}

__attribute__((target("avx,f16c"))) static void decode_f16c(const uint16_t *src, float *dst,
                                                            size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    for (; i < n; i++) {
        __m128 v = _mm_cvtph_ps(_mm_cvtsi32_si128(src[i]));
        dst[i] = _mm_cvtss_f32(v);
    }
}
#endif

bool nn_fp16_have_f16c(void)
{
#if NN_HAVE_X86
    static int have = -1; /* computed once; every thread computes the same value */
    int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
    if (h < 0) {
        /* CPUID.1:ECX: OSXSAVE (27), AVX (28), F16C (29); and the OS saves the YMM state
         * (XCR0 bits 1 and 2). Read directly: clang 14's __builtin_cpu_supports knows no
         * "f16c". */
        unsigned a, b, c, d;
        h = 0;
        if (__get_cpuid(1, &a, &b, &c, &d) && (c >> 27 & 7u) == 7u) {
            unsigned lo, hi;
            __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            (void)hi;
            h = (lo & 6u) == 6u;
        }
        __atomic_store_n(&have, h, __ATOMIC_RELAXED);
    }
    return h != 0;
#else
    return false;
#endif
}

void nn_fp16_encode_f16c(const float *src, uint16_t *dst, size_t n)
{
    CS_ASSERT(nn_fp16_have_f16c());
#if NN_HAVE_X86
    encode_f16c(src, dst, n);
#else
    (void)src;
    (void)dst;
    (void)n;
#endif
}

void nn_fp16_decode_f16c(const uint16_t *src, float *dst, size_t n)
{
    CS_ASSERT(nn_fp16_have_f16c());
#if NN_HAVE_X86
    decode_f16c(src, dst, n);
#else
    (void)src;
    (void)dst;
    (void)n;
#endif
}

void nn_fp16_encode(const float *src, uint16_t *dst, size_t n)
{
    if (nn_fp16_have_f16c())
        nn_fp16_encode_f16c(src, dst, n);
    else
        nn_fp16_encode_portable(src, dst, n);
}

void nn_fp16_decode(const uint16_t *src, float *dst, size_t n)
{
    if (nn_fp16_have_f16c())
        nn_fp16_decode_f16c(src, dst, n);
    else
        nn_fp16_decode_portable(src, dst, n);
}
