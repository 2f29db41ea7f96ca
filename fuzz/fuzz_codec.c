/* fuzz_codec.c - the wire-payload decoder and the model loader (ml/nn_codec.h).
 *
 * Input: one mode byte, then a payload. Mode bit 0: a delta payload (decoded onto a fixed base
 * state); bit 1: the CNN's layout (nn_codec_decode) instead of the small test layout of
 * tests/test_codec_layout.h, whose payloads are small enough to mutate quickly; bit 2: the model
 * loader (nn_codec_load_buf_with: no base, finite values only). The decoder must leave the state
 * unchanged when it refuses a payload; a full payload it accepts must survive an FP32 encode and
 * decode bit for bit; a model the loader accepts holds finite values only.
 */
#include "fuzz.h"
#include "nn_codec.h"
#include "test_codec_layout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MODE_DELTA = 1, MODE_CNN = 2, MODE_LOADER = 4 };

static nn_view small_views[SMALL_VIEWS];
static nn_layout small;
static float *cnn_state, *cnn_base;

static void fill(float *x, size_t n, float bias)
{
    for (size_t i = 0; i < n; i++)
        x[i] = bias + 0.125f * (float)(i % 13) - 0.75f;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    small = layout_build(small_spec, SMALL_VIEWS, small_views);
    cnn_state = malloc(NN_STATE_FLOATS * sizeof *cnn_state);
    cnn_base = malloc(NN_STATE_FLOATS * sizeof *cnn_base);
    CS_ASSERT(cnn_state && cnn_base);
    fill(cnn_base, NN_STATE_FLOATS, 0.0f);
    return 0;
}

/* An accepted full payload encoded again in FP32 decodes to the same bits. */
static void fp32_round_trip(const nn_layout *l, const float *state, const int64_t *tracked)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    cs_err err;
    CS_ASSERT(nn_codec_encode_with(l, NN_PREC_FP32, state, tracked, NULL, &buf, &len, &err) == 0);
    float *again = malloc(l->state_floats * sizeof *again);
    int64_t tr[64];
    CS_ASSERT(again && l->n_tracked <= 64);
    nn_precision p;
    CS_ASSERT(nn_codec_decode_with(l, buf, len, NULL, NULL, again, tr, &p, &err) == 0);
    CS_ASSERT(p == NN_PREC_FP32);
    CS_ASSERT(memcmp(again, state, l->state_floats * sizeof *again) == 0);
    CS_ASSERT(memcmp(tr, tracked, l->n_tracked * sizeof *tr) == 0);
    free(again);
    free(buf);
}

static void small_layout(unsigned mode, const unsigned char *p, size_t n)
{
    float state[128], before[128], base[128];
    int64_t tracked[4] = {7, 7, 7, 7}, tr_before[4];
    CS_ASSERT(small.state_floats <= 128 && small.n_tracked <= 4);
    fill(state, small.state_floats, 1.0f);
    fill(base, small.state_floats, -1.0f);
    memcpy(before, state, sizeof state);
    memcpy(tr_before, tracked, sizeof tracked);
    nn_precision prec = (nn_precision)-1;
    cs_err err;
    int rc;
    if (mode & MODE_LOADER)
        rc = nn_codec_load_buf_with(&small, p, n, "fuzz.safetensors", state, tracked, &prec, &err);
    else
        rc = nn_codec_decode_with(&small, p, n, "fuzz.safetensors", mode & MODE_DELTA ? base : NULL,
                                  state, tracked, &prec, &err);
    if (rc != 0) {
        CS_ASSERT(err.code == rc && err.msg[0]);
        CS_ASSERT(memcmp(state, before, sizeof state) == 0);
        CS_ASSERT(memcmp(tracked, tr_before, sizeof tracked) == 0);
        return;
    }
    CS_ASSERT((int)prec >= 0 && (int)prec < NN_CODECS);
    if (mode & MODE_LOADER)
        for (size_t i = 0; i < small.state_floats; i++)
            CS_ASSERT(isfinite(state[i]));
    if (!(mode & MODE_DELTA) || (mode & MODE_LOADER))
        fp32_round_trip(&small, state, tracked);
}

static void cnn_layout(unsigned mode, const unsigned char *p, size_t n)
{
    int64_t tracked[NN_TRACKED] = {0};
    nn_precision prec;
    cs_err err;
    int rc;
    if (mode & MODE_LOADER) {
        nn_layout l = nn_layout_model();
        rc = nn_codec_load_buf_with(&l, p, n, NULL, cnn_state, tracked, &prec, &err);
    } else {
        rc = nn_codec_decode(p, n, mode & MODE_DELTA ? cnn_base : NULL, cnn_state, tracked, &prec,
                             &err);
    }
    CS_ASSERT(rc == 0 || (err.code == rc && err.msg[0]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    if (mode & MODE_CNN)
        cnn_layout(mode, data + 1, size - 1);
    else
        small_layout(mode, data + 1, size - 1);
    return 0;
}
