/* test_codec_torch.c - model files against PyTorch: writes FP32/FP16/INT8 files of a random state
 * of the real model's size, runs bench/torch_load_check.py (load_state_dict(strict=True), torch's
 * own float16 conversion and a numpy INT8 quantisation as oracles), then reads back the FP32 file
 * the script wrote from the torch module and compares it bit for bit. Label golden; exits 77
 * (skip) when /usr/bin/python3 with torch is not available. */
#include "cs_rng.h"
#include "nn_codec.h"
#include "t.h"
#include "test_codec_layout.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"

int main(void)
{
    if (access(PYTHON, X_OK) != 0 ||
        system(PYTHON " -c 'import torch, numpy' > /dev/null 2>&1") != 0) {
        fprintf(stderr, "skipped: %s with torch and numpy is not available\n", PYTHON);
        return 77;
    }
    const char *src = getenv("CONSTSIM_SOURCE_DIR");
    char script[1024];
    snprintf(script, sizeof script, "%s/bench/torch_load_check.py", src ? src : ".");

    static nn_view views[CNN_VIEWS];
    nn_layout l = layout_build(cnn_spec, CNN_VIEWS, views);
    float *state = malloc(l.state_floats * sizeof *state);
    float *back = malloc(l.state_floats * sizeof *back);
    int64_t tracked[3] = {1234, 0, 9876543210LL}, tb[3] = {0};
    if (!state || !back)
        return 1;
    cs_rng r;
    cs_rng_derive(&r, 2024, CS_RNG_SYNTH, 3);
    for (size_t i = 0; i < l.state_floats; i++)
        state[i] = (float)(cs_rng_normal(&r) * 0.05);
    /* BN running variances positive; one weight channel all zero; a few values that exercise
     * FP16 rounding (ties, subnormals, overflow) */
    for (size_t i = 0; i < l.n_views; i++)
        if (strstr(views[i].name, "running_var"))
            for (size_t k = 0; k < views[i].count; k++)
                state[views[i].offset + k] = 0.5f + (float)cs_rng_uniform(&r);
    for (size_t k = 0; k < 128; k++)
        state[views[23].offset + 5 * 128 + k] = 0.0f; /* fc2.weight channel 5 */
    state[1] = 1.0f + 0x1p-11f;
    state[2] = 0x1p-25f;
    state[3] = 3.0f * 0x1p-26f;
    state[4] = 70000.0f;
    state[5] = -65520.0f;
    T_STREQ(views[23].name, "fc2.weight");

    char dir[] = "/tmp/cs_test_codec_torch_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char paths[NN_PREC_INT8 + 1][256], out[256], cmd[4096];
    cs_err e;
    for (int p = 0; p <= NN_PREC_INT8; p++) {
        snprintf(paths[p], sizeof paths[p], "%s/m_%s.safetensors", dir,
                 nn_precision_name((nn_precision)p));
        T_EQ(nn_codec_save_with(&l, paths[p], (nn_precision)p, state, tracked, &e), 0);
    }
    snprintf(out, sizeof out, "%s/from_torch.safetensors", dir);
    snprintf(cmd, sizeof cmd, PYTHON " %s %s --fp16 %s --int8 %s --out %s", script, paths[0],
             paths[1], paths[2], out);
    fprintf(stderr, "%s\n", cmd);
    int st = system(cmd);
    T_TRUE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    nn_precision prec;
    T_EQ(nn_codec_load_with(&l, out, back, tb, &prec, &e), 0);
    if (e.code)
        cs_err_print(&e, stderr);
    T_EQ(prec, NN_PREC_FP32);
    T_MEMEQ(back, state, l.state_floats * sizeof(float));
    T_MEMEQ(tb, tracked, sizeof tracked);

    /* The low precisions, read by bench/lowbit_check.py with numpy alone from docs/formats.md:
     * the defaults (group 256, top 1%: gap streams), then group 0 (per output channel) and top
     * 30% (masks). */
    char script2[1024], low[3][256], ref[256];
    snprintf(script2, sizeof script2, "%s/bench/lowbit_check.py", src ? src : ".");
    /* within FP16's range, which topk values must be (70000 would be refused) */
    state[4] = 60000.0f;
    state[5] = -65000.0f;
    snprintf(ref, sizeof ref, "%s/m_ref.safetensors", dir);
    T_EQ(nn_codec_save_with(&l, ref, NN_PREC_FP32, state, tracked, &e), 0);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 3; i++) {
            nn_wire w = nn_wire_of((nn_precision)(NN_PREC_INT4 + i));
            if (pass) {
                w.group_size = 0;
                w.topk_fraction = 0.3;
            }
            snprintf(low[i], sizeof low[i], "%s/m_%s.safetensors", dir, nn_precision_name(w.prec));
            unsigned char *buf = NULL;
            size_t len = 0;
            T_EQ(nn_codec_encode_wire(&l, &w, state, tracked, NULL, &buf, &len, &e), 0);
            T_EQ(cs_write_file_atomic(low[i], buf, len, &e), 0);
            free(buf);
        }
        snprintf(cmd, sizeof cmd, PYTHON " %s %s --int4 %s --ternary %s --topk %s", script2, ref,
                 low[0], low[1], low[2]);
        fprintf(stderr, "%s\n", cmd);
        st = system(cmd);
        T_TRUE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    for (int i = 0; i < 3; i++)
        unlink(low[i]);
    unlink(ref);

    for (int p = 0; p <= NN_PREC_INT8; p++)
        unlink(paths[p]);
    unlink(out);
    rmdir(dir);
    free(state);
    free(back);
    return t_done();
}
