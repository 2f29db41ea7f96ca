/* test_codec_layout.h - layouts built by the codec tests themselves: a small one, and the CNN's
 * table written out independently from the shapes documented in ml/nn.h (parameters first in
 * state_dict order, then the BN buffers, then the int64 counters). */
#ifndef TEST_CODEC_LAYOUT_H
#define TEST_CODEC_LAYOUT_H

#include "cs_rng.h"
#include "nn_codec.h"

#include <string.h>

/* A random state over l: floats N(0, 0.1^2), counters in [1, 100000] (seeded). */
static inline void layout_random_state(const nn_layout *l, uint64_t seed, float *state,
                                       int64_t *tracked)
{
    cs_rng r;
    cs_rng_derive(&r, seed, CS_RNG_SYNTH, 0);
    for (size_t i = 0; i < l->state_floats; i++)
        state[i] = (float)(cs_rng_normal(&r) * 0.1);
    for (size_t i = 0; i < l->n_tracked; i++)
        tracked[i] = (int64_t)cs_rng_below(&r, 100000) + 1;
}

typedef struct lspec {
    const char *name;
    nn_store store;
    int ndim;
    int64_t shape[4];
    bool per_channel;
} lspec;

/* Fills views[] from spec[] with offsets: params then buffers in the float state, counters in
 * the tracked array. */
static inline nn_layout layout_build(const lspec *spec, size_t n, nn_view *views)
{
    size_t n_param = 0, n_buf = 0, n_trk = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = 1;
        for (int d = 0; d < spec[i].ndim; d++)
            c *= (size_t)spec[i].shape[d];
        if (spec[i].store == NN_STORE_PARAM)
            n_param += c;
        else if (spec[i].store == NN_STORE_BUFFER)
            n_buf += c;
        else
            n_trk += c;
    }
    size_t p = 0, b = n_param, t = 0;
    for (size_t i = 0; i < n; i++) {
        nn_view *v = &views[i];
        memset(v, 0, sizeof *v);
        v->name = spec[i].name;
        v->store = spec[i].store;
        v->ndim = spec[i].ndim;
        size_t c = 1;
        for (int d = 0; d < spec[i].ndim; d++) {
            v->shape[d] = spec[i].shape[d];
            c *= (size_t)spec[i].shape[d];
        }
        v->count = c;
        v->per_channel = spec[i].per_channel;
        size_t *cur = spec[i].store == NN_STORE_PARAM    ? &p
                      : spec[i].store == NN_STORE_BUFFER ? &b
                                                         : &t;
        v->offset = *cur;
        *cur += c;
    }
    nn_layout l = {views, n, n_param + n_buf, n_trk};
    return l;
}

#define P NN_STORE_PARAM
#define B NN_STORE_BUFFER
#define K NN_STORE_TRACKED

static const lspec small_spec[] = {
    {"c.weight", P, 4, {4, 3, 2, 2}, true},
    {"c.bias", P, 1, {4}, false},
    {"bn.weight", P, 1, {4}, false},
    {"bn.bias", P, 1, {4}, false},
    {"bn.running_mean", B, 1, {4}, false},
    {"bn.running_var", B, 1, {4}, false},
    {"bn.num_batches_tracked", K, 0, {0}, false},
    {"fc.weight", P, 2, {3, 8}, true},
    {"fc.bias", P, 1, {3}, false},
};
#define SMALL_VIEWS (sizeof small_spec / sizeof small_spec[0])

static const lspec cnn_spec[] = {
    {"conv1.weight", P, 4, {32, 3, 5, 5}, true},
    {"conv1.bias", P, 1, {32}, false},
    {"bn1.weight", P, 1, {32}, false},
    {"bn1.bias", P, 1, {32}, false},
    {"bn1.running_mean", B, 1, {32}, false},
    {"bn1.running_var", B, 1, {32}, false},
    {"bn1.num_batches_tracked", K, 0, {0}, false},
    {"conv2.weight", P, 4, {64, 32, 5, 5}, true},
    {"conv2.bias", P, 1, {64}, false},
    {"bn2.weight", P, 1, {64}, false},
    {"bn2.bias", P, 1, {64}, false},
    {"bn2.running_mean", B, 1, {64}, false},
    {"bn2.running_var", B, 1, {64}, false},
    {"bn2.num_batches_tracked", K, 0, {0}, false},
    {"conv3.weight", P, 4, {96, 64, 3, 3}, true},
    {"conv3.bias", P, 1, {96}, false},
    {"bn3.weight", P, 1, {96}, false},
    {"bn3.bias", P, 1, {96}, false},
    {"bn3.running_mean", B, 1, {96}, false},
    {"bn3.running_var", B, 1, {96}, false},
    {"bn3.num_batches_tracked", K, 0, {0}, false},
    {"fc1.weight", P, 2, {128, 2400}, true},
    {"fc1.bias", P, 1, {128}, false},
    {"fc2.weight", P, 2, {128, 128}, true},
    {"fc2.bias", P, 1, {128}, false},
    {"fc3.weight", P, 2, {10, 128}, true},
    {"fc3.bias", P, 1, {10}, false},
};
#define CNN_VIEWS (sizeof cnn_spec / sizeof cnn_spec[0])

#undef P
#undef B
#undef K

#endif
