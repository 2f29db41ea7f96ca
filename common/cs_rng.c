#include "cs_rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void cs_rng_seed(cs_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

void cs_rng_derive(cs_rng *r, uint64_t seed, uint64_t purpose, uint64_t id)
{
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (purpose * 0xd1b54a32d192ed03ULL);
    h = splitmix64(&x);
    x = h ^ (id * 0x8cb92ba72f3d8dd7ULL);
    cs_rng_seed(r, splitmix64(&x));
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t cs_rng_u64(cs_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double cs_rng_uniform(cs_rng *r)
{
    return (double)(cs_rng_u64(r) >> 11) * 0x1.0p-53;
}

float cs_rng_uniformf(cs_rng *r)
{
    return (float)(cs_rng_u64(r) >> 40) * 0x1.0p-24f;
}

uint64_t cs_rng_below(cs_rng *r, uint64_t n)
{
    /* Rejection on the top of the range (Lemire's threshold). */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = cs_rng_u64(r);
        if (x >= threshold)
            return x % n;
    }
}

double cs_rng_normal(cs_rng *r)
{
    double u1 = cs_rng_uniform(r);
    double u2 = cs_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double cs_rng_gamma(cs_rng *r, double shape)
{
    if (shape < 1.0) {
        /* Boost: Gamma(a) = Gamma(a+1) * U^(1/a). */
        double u = cs_rng_uniform(r);
        return cs_rng_gamma(r, shape + 1.0) * pow(u > 0 ? u : 1e-300, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = cs_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0);
        v = v * v * v;
        double u = cs_rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x)
            return d * v;
        if (log(u > 0 ? u : 1e-300) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v;
    }
}

void cs_rng_shuffle_u32(cs_rng *r, uint32_t *v, uint64_t n)
{
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = cs_rng_below(r, i);
        uint32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}
