/* bench_codec.c - constsim bench codec: encode + decode time of the wire codecs on a random state
 * of the real model's size. */
#include "cli.h"
#include "cs.h"
#include "cs_rng.h"
#include "nn.h"
#include "nn_codec.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: constsim bench codec [--repeats N] [--seed S]\n\n"
               "Encodes and decodes one model state (random values of the real size, fixed seed)\n"
               "in each wire precision, full and delta payloads, and prints one JSON object with\n"
               "the median times in microseconds, also per 100k parameters.\n\n"
               "options:\n"
               "  --repeats N   timed repetitions per measurement (default 50; one warm-up more)\n"
               "  --seed S      seed of the random state (default 1)\n");
}

int bench_codec(int argc, char **argv)
{
    long repeats = 50, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--repeats")) {
            if (cli_parse_int("bench codec", a, v, 1, 100000, &repeats))
                return 2;
            i++;
        } else if (!strcmp(a, "--seed")) {
            if (cli_parse_int("bench codec", a, v, 0, 0x7fffffffL, &seed))
                return 2;
            i++;
        } else {
            return cli_usage_error("bench codec", "unknown or incomplete argument \"%s\"", a);
        }
    }
    cs_err err;
    cs_err_clear(&err);
    float *state = malloc(NN_STATE_FLOATS * sizeof *state);
    float *base = malloc(NN_STATE_FLOATS * sizeof *base);
    float *out = malloc(NN_STATE_FLOATS * sizeof *out);
    double *enc_us = malloc((size_t)repeats * sizeof *enc_us);
    double *dec_us = malloc((size_t)repeats * sizeof *dec_us);
    if (!state || !base || !out || !enc_us || !dec_us) {
        fprintf(stderr, "constsim bench codec: out of memory\n");
        free(state), free(base), free(out), free(enc_us), free(dec_us);
        return 1;
    }
    int64_t tracked[NN_TRACKED] = {100, 100, 100}, tout[NN_TRACKED];
    cs_rng r;
    cs_rng_derive(&r, (uint64_t)seed, CS_RNG_SYNTH, 0);
    for (size_t i = 0; i < NN_STATE_FLOATS; i++) {
        state[i] = (float)(cs_rng_normal(&r) * 0.05);
        base[i] = state[i] + (float)(cs_rng_normal(&r) * 0.001);
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "benchmark", "codec");
    cJSON_AddNumberToObject(j, "parameters", NN_PARAMS);
    cJSON_AddNumberToObject(j, "state_floats", NN_STATE_FLOATS);
    cJSON_AddNumberToObject(j, "repeats", (double)repeats);
    cJSON_AddBoolToObject(j, "f16c", nn_fp16_have_f16c());
    cJSON *res = cJSON_AddArrayToObject(j, "results");
    int rc = 0;
    const double per_100k = (double)NN_PARAMS / 1e5;
    double worst = 0.0;
    for (int delta = 0; delta < 2 && rc == 0; delta++) {
        for (int p = 0; p < NN_CODECS && rc == 0; p++) {
            nn_precision prec = (nn_precision)p;
            const float *b = delta ? base : NULL;
            size_t len = 0;
            for (long k = -1; k < repeats; k++) { /* k = -1: warm-up */
                unsigned char *buf = NULL;
                double t0 = cs_wall_s();
                if (nn_codec_encode(prec, state, tracked, b, &buf, &len, &err)) {
                    rc = 1;
                    break;
                }
                double t1 = cs_wall_s();
                if (nn_codec_decode(buf, len, b, out, tout, NULL, &err)) {
                    free(buf);
                    rc = 1;
                    break;
                }
                double t2 = cs_wall_s();
                free(buf);
                if (k >= 0) {
                    enc_us[k] = 1e6 * (t1 - t0);
                    dec_us[k] = 1e6 * (t2 - t1);
                }
            }
            if (rc)
                break;
            double e = cli_median(enc_us, (size_t)repeats), d = cli_median(dec_us, (size_t)repeats);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "precision", nn_precision_name(prec));
            cJSON_AddStringToObject(o, "payload", delta ? "delta" : "state");
            cJSON_AddNumberToObject(o, "payload_bytes", (double)len);
            cJSON_AddNumberToObject(o, "encode_us", e);
            cJSON_AddNumberToObject(o, "decode_us", d);
            cJSON_AddNumberToObject(o, "encode_decode_us", e + d);
            cJSON_AddNumberToObject(o, "encode_decode_us_per_100k_params", (e + d) / per_100k);
            cJSON_AddItemToArray(res, o);
            if ((e + d) / per_100k > worst)
                worst = (e + d) / per_100k;
        }
    }
    if (rc == 0) {
        cJSON_AddNumberToObject(j, "worst_us_per_100k_params", worst);
        char *txt = cJSON_Print(j);
        if (txt)
            printf("%s\n", txt);
        cJSON_free(txt);
    } else {
        cs_err_print(&err, stderr);
    }
    cJSON_Delete(j);
    free(state), free(base), free(out), free(enc_us), free(dec_us);
    return rc;
}
