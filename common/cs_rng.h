/* cs_rng.h - seeded random streams. Every random draw in constsim comes from a generator derived
 * from (scenario seed, purpose, id), so runs are reproducible and streams independent.
 * Generator: xoshiro256** seeded through splitmix64 (Blackman & Vigna). */
#ifndef CS_RNG_H
#define CS_RNG_H

#include <stdint.h>

typedef struct cs_rng {
    uint64_t s[4];
} cs_rng;

/* Purposes (extend as needed; values are part of reproducibility - never renumber). */
enum {
    CS_RNG_INIT = 1,      /* model initialisation */
    CS_RNG_SPLIT = 2,     /* train/test split */
    CS_RNG_PARTITION = 3, /* client partitions */
    CS_RNG_SHUFFLE = 4,   /* per-epoch batch order */
    CS_RNG_SAMPLE = 5,    /* client sampling per round */
    CS_RNG_SYNTH = 6,     /* synthetic data (benchmarks, tests) */
    CS_RNG_AUGMENT = 7,   /* data augmentation (flips) */
    CS_RNG_WIRE = 8,      /* stochastic rounding of payloads */
};

void cs_rng_seed(cs_rng *r, uint64_t seed);
/* A stream for (seed, purpose, id). */
void cs_rng_derive(cs_rng *r, uint64_t seed, uint64_t purpose, uint64_t id);
uint64_t cs_rng_u64(cs_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double cs_rng_uniform(cs_rng *r);
/* Uniform float in [0, 1) with 24 random bits. */
float cs_rng_uniformf(cs_rng *r);
/* Uniform integer in [0, n), unbiased (n >= 1). */
uint64_t cs_rng_below(cs_rng *r, uint64_t n);
/* Standard normal (Box-Muller, no cached second value: reproducible call by call). */
double cs_rng_normal(cs_rng *r);
/* Gamma(shape, 1) for shape > 0 (Marsaglia-Tsang), for Dirichlet partitions. */
double cs_rng_gamma(cs_rng *r, double shape);
/* Fisher-Yates shuffle of n uint32 values. */
void cs_rng_shuffle_u32(cs_rng *r, uint32_t *v, uint64_t n);

#endif
