/* test_codec_quantize.c - constsim quantize end to end on a tiny synthetic EuroSAT-shaped folder:
 * the files it writes, quantization_comparison.json recomputed from the file sizes (ratios,
 * drops, the cost formula), the accuracies against constsim eval of the same files, and the
 * errors for a non-FP32 input. Needs $CONSTSIM_EXE (set by ctest). */
#include "cs.h"
#include "cs_rng.h"
#include "nn.h"
#include "nn_codec.h"
#include "t.h"

#include <cjson/cJSON.h>
#include <jpeglib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *classes[10] = {"AnnualCrop", "Forest",  "HerbaceousVegetation", "Highway",
                                  "Industrial", "Pasture", "PermanentCrop",        "Residential",
                                  "River",      "SeaLake"};

static int write_jpeg(const char *path, const unsigned char *rgb)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = 64;
    c.image_height = 64;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < 64) {
        JSAMPROW row = (JSAMPROW)(rgb + c.next_scanline * 64 * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return fclose(f);
}

static int make_dataset(const char *root, int per_class)
{
    cs_rng r;
    cs_rng_derive(&r, 5, CS_RNG_SYNTH, 77);
    unsigned char rgb[64 * 64 * 3];
    char path[1024];
    for (int k = 0; k < 10; k++) {
        snprintf(path, sizeof path, "%s/%s", root, classes[k]);
        if (mkdir(path, 0755) != 0)
            return -1;
        for (int i = 0; i < per_class; i++) {
            for (int p = 0; p < 64 * 64; p++)
                for (int ch = 0; ch < 3; ch++)
                    rgb[3 * p + ch] =
                        (unsigned char)((k * 25 + ch * 60 + (p % 64) + (int)cs_rng_below(&r, 40)) %
                                        256);
            snprintf(path, sizeof path, "%s/%s/%s_%d.jpg", root, classes[k], classes[k], i + 1);
            if (write_jpeg(path, rgb) != 0)
                return -1;
        }
    }
    return 0;
}

/* Runs cmd, captures stdout+stderr into out (malloc'd), returns the exit status (or -1). */
static int run(const char *cmd, char **out)
{
    *out = NULL;
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        pclose(p);
        return -1;
    }
    size_t got;
    while ((got = fread(buf + n, 1, cap - 1 - n, p)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    buf[n] = '\0';
    *out = buf;
    int st = pclose(p);
    return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int main(void)
{
    const char *exe = getenv("CONSTSIM_EXE");
    if (!exe || access(exe, X_OK) != 0) {
        fprintf(stderr, "CONSTSIM_EXE is not set to the constsim executable\n");
        return 1;
    }
    char dir[] = "/tmp/cs_test_quantize_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char data[600], out[600], model[600], cmd[4096];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(out, sizeof out, "%s/out/sub", dir);
    snprintf(model, sizeof model, "%s/net.safetensors", dir);
    T_EQ(mkdir(data, 0755), 0);
    T_EQ(make_dataset(data, 4), 0);

    /* an FP32 model: the default initialisation with BN statistics made non-trivial */
    cs_err e;
    cs_err_clear(&e);
    nn_model *m = nn_model_create(1, &e);
    T_TRUE(m != NULL);
    if (!m)
        return t_done();
    nn_model_init(m, 3);
    float *s = nn_model_state(m);
    for (size_t i = 0; i < NN_BUFFERS / 2; i++) {
        s[NN_PARAMS + i] = 0.01f * (float)(i % 7); /* running means ... */
    }
    nn_model_tracked(m)[1] = 42;
    T_EQ(nn_model_save(m, model, NN_PREC_FP32, &e), 0);

    /* the study: 3 clients, 4 rounds, $2.5/MB; test fraction 0.25 -> 1 image per class */
    char *txt = NULL;
    snprintf(cmd, sizeof cmd,
             "%s quantize %s --data %s -o %s --clients 3 --rounds 4 --cost-per-mb 2.5 "
             "--threads 1 --test-fraction 0.25 --seed 7 2>&1",
             exe, model, data, out);
    int st = run(cmd, &txt);
    T_EQ(st, 0);
    if (st != 0 && txt)
        fprintf(stderr, "%s\n", txt);
    T_CONTAINS(txt, "Communication cost");
    free(txt);

    char jpath[800];
    snprintf(jpath, sizeof jpath, "%s/quantization_comparison.json", out);
    unsigned char *jbuf = NULL;
    size_t jlen = 0;
    T_EQ(cs_read_file(jpath, &jbuf, &jlen, &e), 0);
    cJSON *j = jbuf ? cJSON_Parse((const char *)jbuf) : NULL;
    T_TRUE(j != NULL);
    if (!j)
        return t_done();
    static const char *precs[5] = {"fp32", "fp16", "int8", "int4", "ternary"};
    const cJSON *row[5], *cost[5];
    const cJSON *comm = cJSON_GetObjectItemCaseSensitive(j, "communication");
    T_TRUE(comm != NULL);
    T_EQ(num(j, "parameters"), 434602);
    T_EQ(num(cJSON_GetObjectItemCaseSensitive(j, "theoretical_bytes"), "int8"), 434602);
    T_EQ(num(cJSON_GetObjectItemCaseSensitive(j, "dataset"), "test_images"), 10);
    T_EQ(num(comm, "clients"), 3);
    T_EQ(num(comm, "rounds"), 4);
    T_NEAR(num(comm, "cost_per_mb_usd"), 2.5, 0);
    for (int p = 0; p < 5; p++) {
        row[p] = cJSON_GetObjectItemCaseSensitive(j, precs[p]);
        cost[p] = cJSON_GetObjectItemCaseSensitive(comm, precs[p]);
        T_TRUE(row[p] && cost[p]);
        if (!row[p] || !cost[p])
            return t_done();
    }
    double fp32_bytes = num(row[0], "file_bytes"), fp32_acc = num(row[0], "accuracy");
    double fp32_cost = num(cost[0], "cost_total_usd");
    for (int p = 0; p < 5; p++) {
        const cJSON *pj = cJSON_GetObjectItemCaseSensitive(row[p], "path");
        T_TRUE(cJSON_IsString(pj));
        if (!cJSON_IsString(pj))
            continue;
        const char *path = pj->valuestring;
        char want_path[800];
        snprintf(want_path, sizeof want_path, "%s/net_%s.safetensors", out, precs[p]);
        T_STREQ(path, want_path);
        double bytes = num(row[p], "file_bytes");
        T_EQ(file_size(path), (long long)bytes);
        /* Derived numbers: the same double formulas as the report's, maybe in another order,
         * printed by cJSON to 15-17 digits: 1e-12 of the value, with a floor of 1 (percent,
         * dollars) where a difference can cancel to 0. */
        T_NEAR_REL(num(row[p], "compression_ratio"), fp32_bytes / bytes, 1e-12, 0);
        double acc = num(row[p], "accuracy"), loss = num(row[p], "loss");
        T_TRUE(acc >= 0 && acc <= 1);
        T_TRUE(isfinite(loss) && loss > 0);
        T_NEAR_REL(num(row[p], "accuracy_drop_pct"), 100.0 * (fp32_acc - acc), 1e-12, 1.0);
        /* the cost formula from the file size */
        double per_round = bytes * 2 * 3, total = per_round * 4;
        T_NEAR(num(cost[p], "file_bytes"), bytes, 0);
        T_NEAR(num(cost[p], "bytes_per_round"), per_round, 0);
        T_NEAR(num(cost[p], "bytes_total"), total, 0);
        T_NEAR_REL(num(cost[p], "cost_per_round_usd"), per_round / 1e6 * 2.5, 1e-12, 0);
        T_NEAR_REL(num(cost[p], "cost_total_usd"), total / 1e6 * 2.5, 1e-12, 0);
        T_NEAR_REL(num(cost[p], "savings_vs_fp32_usd"), fp32_cost - total / 1e6 * 2.5, 1e-12, 1.0);
        T_NEAR_REL(num(cost[p], "savings_vs_fp32_pct"), 100.0 * (1.0 - bytes / fp32_bytes), 1e-12,
                   1.0);

        /* the same file through constsim eval gives the same accuracy and loss */
        snprintf(cmd, sizeof cmd,
                 "%s eval %s --data %s --threads 1 --test-fraction 0.25 --seed 7 2>/dev/null", exe,
                 path, data);
        st = run(cmd, &txt);
        T_EQ(st, 0);
        cJSON *ej = txt ? cJSON_Parse(txt) : NULL;
        T_TRUE(ej != NULL);
        if (ej) {
            /* the same decode and forward: equal up to the printing */
            T_NEAR(num(ej, "accuracy"), acc, 1e-12);
            T_NEAR_REL(num(ej, "loss"), loss, 1e-9, 0);
            T_EQ(num(ej, "images"), 10);
            const cJSON *pr = cJSON_GetObjectItemCaseSensitive(ej, "precision");
            T_STREQ(cJSON_IsString(pr) ? pr->valuestring : NULL, precs[p]);
        }
        cJSON_Delete(ej);
        free(txt);
    }
    T_NEAR(num(row[0], "accuracy_drop_pct"), 0.0, 0);
    T_NEAR(num(cost[0], "savings_vs_fp32_usd"), 0.0, 0);
    T_TRUE(num(row[2], "file_bytes") * 3.8 <= fp32_bytes);
    T_TRUE(num(row[1], "file_bytes") * 1.99 <= fp32_bytes);

    /* the fp32 output holds the input state exactly */
    float *back = malloc(NN_STATE_FLOATS * sizeof *back);
    int64_t tb[NN_TRACKED];
    nn_precision prec;
    char p32[800];
    snprintf(p32, sizeof p32, "%s/net_fp32.safetensors", out);
    T_EQ(nn_state_load(p32, back, tb, &prec, &e), 0);
    T_MEMEQ(back, s, NN_STATE_FLOATS * sizeof *back);
    T_EQ(tb[1], 42);
    free(back);

    /* errors: an INT8 input, a missing model, a missing dataset */
    snprintf(cmd, sizeof cmd, "%s quantize %s/net_int8.safetensors --data %s -o %s 2>&1", exe, out,
             data, out);
    st = run(cmd, &txt);
    T_EQ(st, 2);
    T_CONTAINS(txt, "net_int8.safetensors: error: this is an int8 model; quantize starts from an "
                    "FP32 model");
    free(txt);
    snprintf(cmd, sizeof cmd, "%s quantize %s/none.safetensors --data %s 2>&1", exe, dir, data);
    st = run(cmd, &txt);
    T_EQ(st, 2); /* a missing input is bad input */
    T_CONTAINS(txt, "none.safetensors: error: cannot open");
    free(txt);
    snprintf(cmd, sizeof cmd, "%s quantize %s --clients 0 2>&1", exe, model);
    st = run(cmd, &txt);
    T_EQ(st, 2);
    T_CONTAINS(txt, "--clients");
    free(txt);

    cJSON_Delete(j);
    free(jbuf);
    nn_model_destroy(m);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    T_EQ(system(cmd), 0);
    return t_done();
}
