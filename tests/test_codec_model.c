/* test_codec_model.c - the codecs on the CNN itself: nn_layout_model() (from nn_views()) against
 * the table written out from ml/nn.h's documentation, nn_model_save/load in every precision, and
 * the payload sizes of the real model. */
#include "nn.h"
#include "nn_codec.h"
#include "t.h"
#include "test_codec_layout.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_layout_matches(void)
{
    static nn_view mine[CNN_VIEWS];
    nn_layout want = layout_build(cnn_spec, CNN_VIEWS, mine);
    nn_layout got = nn_layout_model();
    T_EQ_U64(got.n_views, want.n_views);
    T_EQ_U64(got.state_floats, want.state_floats);
    T_EQ_U64(got.n_tracked, want.n_tracked);
    if (got.n_views != want.n_views)
        return;
    for (size_t i = 0; i < got.n_views; i++) {
        const nn_view *a = &got.views[i], *b = &want.views[i];
        T_STREQ(a->name, b->name);
        T_EQ(a->store, b->store);
        T_EQ_U64(a->offset, b->offset);
        T_EQ_U64(a->count, b->count);
        T_EQ(a->ndim, b->ndim);
        for (int d = 0; d < b->ndim; d++)
            T_EQ(a->shape[d], b->shape[d]);
        T_EQ(a->per_channel, b->per_channel);
    }
}

static void test_model_files(void)
{
    cs_err e;
    cs_err_clear(&e);
    nn_model *a = nn_model_create(1, &e), *b = nn_model_create(1, &e);
    T_TRUE(a && b);
    if (!a || !b)
        return;
    nn_model_init(a, 11);
    float *sa = nn_model_state(a);
    for (size_t i = 0; i < NN_BUFFERS; i++)
        sa[NN_PARAMS + i] = 0.25f + 0.001f * (float)i;
    nn_model_tracked(a)[0] = 5;
    nn_model_tracked(a)[2] = 1LL << 40;
    char dir[] = "/tmp/cs_test_codec_model_XXXXXX";
    T_TRUE(mkdtemp(dir) != NULL);
    size_t sizes[NN_PREC_INT8 + 1];
    for (int p = 0; p <= NN_PREC_INT8; p++) {
        nn_precision prec = (nn_precision)p, got = (nn_precision)-1;
        char path[256];
        snprintf(path, sizeof path, "%s/m_%s.safetensors", dir, nn_precision_name(prec));
        T_EQ(nn_model_save(a, path, prec, &e), 0);
        nn_model_init(b, 99);
        T_EQ(nn_model_load(b, path, &got, &e), 0);
        T_EQ(got, prec);
        /* the loaded state is the decode of the payload nn_codec_encode makes */
        unsigned char *buf = NULL;
        T_EQ(nn_codec_encode(prec, sa, nn_model_tracked(a), NULL, &buf, &sizes[p], &e), 0);
        float *want = malloc(NN_STATE_FLOATS * sizeof *want);
        int64_t tw[NN_TRACKED];
        T_EQ(nn_codec_decode(buf, sizes[p], NULL, want, tw, NULL, &e), 0);
        T_MEMEQ(want, nn_model_state(b), NN_STATE_FLOATS * sizeof *want);
        T_EQ(nn_model_tracked(b)[2], 1LL << 40);
        if (prec == NN_PREC_FP32)
            T_MEMEQ(sa, nn_model_state(b), NN_STATE_FLOATS * sizeof *sa);
        free(want);
        free(buf);
        unlink(path);
    }
    rmdir(dir);
    fprintf(stderr, "real model payloads: fp32 %zu, fp16 %zu, int8 %zu bytes; ratios %.3f, %.3f\n",
            sizes[0], sizes[1], sizes[2], (double)sizes[0] / (double)sizes[1],
            (double)sizes[0] / (double)sizes[2]);
    T_TRUE((double)sizes[0] / (double)sizes[2] >= 3.8);
    T_TRUE((double)sizes[0] / (double)sizes[1] >= 1.99);
    nn_model_destroy(a);
    nn_model_destroy(b);
}

int main(void)
{
    test_layout_matches();
    test_model_files();
    return t_done();
}
