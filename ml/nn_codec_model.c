/* nn_codec_model.c - the codecs and model files for the CNN's own layout (nn_views()). */
#include "nn_codec.h"

nn_layout nn_layout_model(void)
{
    nn_layout l;
    l.views = nn_views(&l.n_views);
    l.state_floats = NN_STATE_FLOATS;
    l.n_tracked = NN_TRACKED;
    return l;
}

int nn_codec_encode(nn_precision prec, const float *state, const int64_t *tracked,
                    const float *base, unsigned char **buf, size_t *len, cs_err *err)
{
    nn_layout l = nn_layout_model();
    return nn_codec_encode_with(&l, prec, state, tracked, base, buf, len, err);
}

int nn_codec_encode_model(const nn_wire *w, const float *state, const int64_t *tracked,
                          const float *base, unsigned char **buf, size_t *len, cs_err *err)
{
    nn_layout l = nn_layout_model();
    return nn_codec_encode_wire(&l, w, state, tracked, base, buf, len, err);
}

int nn_codec_decode(const unsigned char *buf, size_t len, const float *base, float *state,
                    int64_t *tracked, nn_precision *prec, cs_err *err)
{
    nn_layout l = nn_layout_model();
    return nn_codec_decode_with(&l, buf, len, NULL, base, state, tracked, prec, err);
}

int nn_state_save(const char *path, nn_precision prec, const float *state, const int64_t *tracked,
                  cs_err *err)
{
    nn_layout l = nn_layout_model();
    return nn_codec_save_with(&l, path, prec, state, tracked, err);
}

int nn_state_load(const char *path, float *state, int64_t *tracked, nn_precision *prec, cs_err *err)
{
    nn_layout l = nn_layout_model();
    return nn_codec_load_with(&l, path, state, tracked, prec, err);
}

int nn_model_save(nn_model *m, const char *path, nn_precision prec, cs_err *err)
{
    return nn_state_save(path, prec, nn_model_state(m), nn_model_tracked(m), err);
}

int nn_model_load(nn_model *m, const char *path, nn_precision *prec, cs_err *err)
{
    return nn_state_load(path, nn_model_state(m), nn_model_tracked(m), prec, err);
}
