/* fuzz_seeds.c - writes the binary seeds that tests/data does not hold: `fuzz_seeds DIR` fills
 * DIR/codec (mode byte + payloads of the small test layout in FP32, FP16 and INT8, full and
 * delta), DIR/st (the same payloads as plain safetensors files, plus files of every dtype, a
 * scalar and an empty tensor) and DIR/eval_list (image lists of the eval list harness's
 * dataset). scripts/fuzz.sh runs it into the working corpus; nothing binary is kept in the
 * repository. Deterministic: the same bytes every time.
 */
#include "cs.h"
#include "fuzz.h"
#include "nn_codec.h"
#include "nn_st.h"
#include "test_codec_layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;

static void put(const char *sub, const char *name, const void *a, size_t na, const void *b,
                size_t nb)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    unsigned char *buf = malloc(na + nb + 1);
    CS_ASSERT(buf);
    memcpy(buf, a, na);
    if (nb)
        memcpy(buf + na, b, nb);
    cs_err err;
    if (cs_write_file_in_dir(path, buf, na + nb, &err) != 0) {
        cs_err_print(&err, stderr);
        exit(1);
    }
    free(buf);
}

static void codec_seeds(void)
{
    nn_view views[SMALL_VIEWS];
    nn_layout l = layout_build(small_spec, SMALL_VIEWS, views);
    float state[128], base[128];
    int64_t tracked[4] = {3, 0, 0, 0};
    CS_ASSERT(l.state_floats <= 128);
    for (size_t i = 0; i < l.state_floats; i++) {
        state[i] = 0.0625f * (float)((int)(i % 17) - 8);
        base[i] = state[i] - 0.03125f * (float)(i % 5);
    }
    for (int p = 0; p < NN_CODECS; p++)
        for (int delta = 0; delta < 2; delta++) {
            unsigned char *buf = NULL;
            size_t len = 0;
            cs_err err;
            int rc = nn_codec_encode_with(&l, (nn_precision)p, state, tracked, delta ? base : NULL,
                                          &buf, &len, &err);
            CS_ASSERT(rc == 0);
            char name[64];
            snprintf(name, sizeof name, "%s-%s", nn_precision_name((nn_precision)p),
                     delta ? "delta" : "full");
            unsigned char mode = (unsigned char)(delta ? 1 : 0);
            put("codec", name, &mode, 1, buf, len);
            if (!delta) {
                mode = 4; /* the model loader */
                snprintf(name, sizeof name, "%s-model", nn_precision_name((nn_precision)p));
                put("codec", name, &mode, 1, buf, len);
            }
            snprintf(name, sizeof name, "%s-%s.safetensors", nn_precision_name((nn_precision)p),
                     delta ? "delta" : "full");
            put("st", name, buf, len, NULL, 0);
            free(buf);
        }
}

static void st_seeds(void)
{
    static const unsigned char bytes[64] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    nn_st_tensor t[5] = {
        {.name = "f32", .dtype = NN_DTYPE_F32, .ndim = 2, .shape = {2, 3}, .nbytes = 24},
        {.name = "f16", .dtype = NN_DTYPE_F16, .ndim = 1, .shape = {3}, .nbytes = 6},
        {.name = "i8", .dtype = NN_DTYPE_I8, .ndim = 3, .shape = {1, 2, 2}, .nbytes = 4},
        {.name = "i64", .dtype = NN_DTYPE_I64, .ndim = 0, .nbytes = 8},
        {.name = "empty", .dtype = NN_DTYPE_F32, .ndim = 2, .shape = {0, 4}, .nbytes = 0},
    };
    for (int i = 0; i < 5; i++)
        t[i].data = bytes;
    nn_st_meta meta[2] = {{"format", "pt"}, {"note", "a \"quoted\" value\n"}};
    unsigned char *buf = NULL;
    size_t len = 0;
    cs_err err;
    CS_ASSERT(nn_st_write(t, 5, meta, 2, &buf, &len, &err) == 0);
    put("st", "dtypes.safetensors", buf, len, NULL, 0);
    free(buf);
    CS_ASSERT(nn_st_write(t + 3, 1, NULL, 0, &buf, &len, &err) == 0);
    put("st", "scalar.safetensors", buf, len, NULL, 0);
    free(buf);
    CS_ASSERT(nn_st_write(NULL, 0, meta, 1, &buf, &len, &err) == 0);
    put("st", "no-tensors.safetensors", buf, len, NULL, 0);
    free(buf);
}

static void list_seeds(void)
{
    char text[2048];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "# images\n\n");
    for (size_t i = 0; i < FUZZ_LIST_PATHS; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, i % 2 ? "  %s\r\n" : "%s\t\n",
                              fuzz_list_paths[i]);
    put("eval_list", "all.list", text, n, NULL, 0);
    const char *one = "Forest/Forest_10.jpg";
    put("eval_list", "one.list", one, strlen(one), NULL, 0);
    const char *bad = "Forest/Forest_1.jpg\nForest/Forest_11.jpg\n";
    put("eval_list", "bad.list", bad, strlen(bad), NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds DIR\n");
        return 2;
    }
    dir = argv[1];
    codec_seeds();
    st_seeds();
    list_seeds();
    return 0;
}
