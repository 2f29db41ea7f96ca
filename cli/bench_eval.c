/* bench_eval.c - constsim bench eval: inference throughput of the CNN on real EuroSAT images.
 *
 * N images spread over the dataset (image i*n/N of the n images in loader order: class folders,
 * then file names, byte-wise), decoded and normalised before the clock starts; the model (a file,
 * or the fixed-seed initialisation) sent through the wire codec of --precision and decoded as a
 * receiver does, once; then batches of B images through the inference path (nn_infer_forward),
 * each batch timed, W untimed warm-up batches first. bench/torch_eval_bench.py does the same in
 * PyTorch on the same files. Prints one JSON object; images_per_s = B / median batch time.
 */
#include "cli.h"
#include "cs.h"
#include "cs_host.h"
#include "nn.h"
#include "nn_codec.h"
#include "nn_data.h"
#include "nn_infer.h"
#include "nn_layers.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: constsim bench eval [--threads T] [--images N] [--batch B]\n"
            "                           [--precision fp32|fp16|int8] [--data DIR] [--model FILE]\n"
            "                           [--warmup W]\n\n"
            "Inference throughput of the EuroSAT CNN (evaluation mode, the inference path) on N\n"
            "real images spread over the dataset, decoded and normalised before timing. The\n"
            "model's weights go through the wire codec of the precision and are decoded once,\n"
            "as a receiver does (int8: per-channel INT8 weights dequantised to FP32); inference\n"
            "then runs in FP32. Prints one JSON object: images_per_s (batch / median batch\n"
            "time), ms_per_batch (median), threads, batch, precision, accuracy, loss.\n\n"
            "options:\n"
            "  --threads T      compute threads (default: all processors)\n"
            "  --images N       images (default 2048; at most the dataset's)\n"
            "  --batch B        images per batch (default %d: the inference batch that fits\n"
            "                   the L2 cache)\n"
            "  --precision P    fp32 (default), fp16 or int8\n"
            "  --data DIR       EuroSAT folder (default: $CONSTSIM_DATA, data/eurosat,\n"
            "                   ../shared/eurosat)\n"
            "  --model FILE     a model file (any precision; default: the initialisation of\n"
            "                   seed 1)\n"
            "  --warmup W       untimed batches first (default 3)\n",
            nn_infer_default_batch());
}

typedef struct opts {
    long threads, images, batch, warmup;
    nn_precision prec;
    const char *data, *model;
} opts;

static int parse(int argc, char **argv, opts *o)
{
    const char *cmd = "bench eval";
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return cli_usage_error(cmd, "%s needs a value", a);
        long *dst = !strcmp(a, "--threads")  ? &o->threads
                    : !strcmp(a, "--images") ? &o->images
                    : !strcmp(a, "--batch")  ? &o->batch
                    : !strcmp(a, "--warmup") ? &o->warmup
                                             : NULL;
        if (dst) {
            const long lo = dst == &o->warmup ? 0 : 1;
            const long hi = dst == &o->threads ? 256 : dst == &o->batch ? 4096 : 1000000;
            if (cli_parse_int(cmd, a, v, lo, hi, dst) != 0)
                return 2;
        } else if (!strcmp(a, "--precision")) {
            if (nn_precision_parse(v, &o->prec) != 0)
                return cli_usage_error(cmd, "--precision: expected fp32, fp16 or int8, got \"%s\"",
                                       v);
        } else if (!strcmp(a, "--data")) {
            o->data = v;
        } else if (!strcmp(a, "--model")) {
            o->model = v;
        } else {
            return cli_usage_error(cmd, "unknown option \"%s\"", a);
        }
    }
    return 0;
}

/* The model's state as a receiver of precision prec has it: encoded, then decoded. */
static int model_state(const opts *o, float *state, int64_t *tracked, cs_err *err)
{
    nn_precision file_prec = NN_PREC_FP32;
    if (o->model) {
        if (nn_state_load(o->model, state, tracked, &file_prec, err))
            return err->code;
        if (file_prec != NN_PREC_FP32 && file_prec != o->prec)
            return cs_err_set(err, CS_EINVAL, o->model, 0, 0,
                              "this is an %s model; --precision %s needs an FP32 (or %s) file",
                              nn_precision_name(file_prec), nn_precision_name(o->prec),
                              nn_precision_name(o->prec));
    } else {
        nn_model *m = nn_model_create(1, err);
        if (!m)
            return err->code;
        nn_model_init(m, 1);
        memcpy(state, nn_model_state(m), NN_STATE_FLOATS * sizeof *state);
        memcpy(tracked, nn_model_tracked(m), NN_TRACKED * sizeof *tracked);
        nn_model_destroy(m);
    }
    if (o->prec == file_prec)
        return 0;
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = nn_codec_encode(o->prec, state, tracked, NULL, &buf, &len, err);
    if (!rc)
        rc = nn_codec_decode(buf, len, NULL, state, tracked, NULL, err);
    free(buf);
    return rc;
}

int bench_eval(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    opts o = {cs_host_cpus(), 2048, nn_infer_default_batch(), 3, NN_PREC_FP32, NULL, NULL};
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;

    cs_err err;
    cs_err_clear(&err);
    nn_set_threads((int)o.threads);
    nn_dataset ds = {0};
    float *state = NULL, *x = NULL, *logits = NULL;
    uint32_t *idx = NULL;
    uint8_t *labels = NULL;
    double *times = NULL;
    nn_infer *f = NULL;
    int64_t tracked[NN_TRACKED];
    char root[1024];
    rc = 1;

    if (!(state = malloc(NN_STATE_FLOATS * sizeof *state))) {
        cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    /* The model first: a bad file is found before the dataset is decoded. */
    if (model_state(&o, state, tracked, &err) ||
        nn_data_find_root(o.data, root, sizeof root, &err) ||
        nn_data_load(root, (int)o.threads, &ds, &err))
        goto fail;
    const size_t n = (size_t)o.images < ds.n ? (size_t)o.images : ds.n;
    const size_t b = (size_t)o.batch < n ? (size_t)o.batch : n;
    const size_t batches = (n + b - 1) / b;
    size_t nx;
    if (cs_size_mul(n, NN_IN_SIZE * sizeof(float), &nx) == 0) {
        x = malloc(nx);
        logits = malloc(n * NN_CLASSES * sizeof *logits);
        idx = malloc(n * sizeof *idx);
        labels = malloc(n);
        times = malloc(batches * sizeof *times);
    }
    if (!x || !logits || !idx || !labels || !times) {
        cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory for %zu images", n);
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)(i * ds.n / n);
    nn_data_batch(&ds, idx, n, x, labels);
    if (!(f = nn_infer_create((int)b, &err)))
        goto fail;
    nn_infer_load(f, state);

    /* Warm-up batches (untimed) from the start of the set, then one timed pass over it. */
    for (long w = 0; w < o.warmup; w++) {
        const size_t at = ((size_t)w % batches) * b, nb = n - at < b ? n - at : b;
        nn_infer_forward(f, x + at * NN_IN_SIZE, (int)nb, logits + at * NN_CLASSES);
    }
    double total = 0;
    for (size_t k = 0; k < batches; k++) {
        const size_t at = k * b, nb = n - at < b ? n - at : b;
        const double t0 = cs_wall_s();
        nn_infer_forward(f, x + at * NN_IN_SIZE, (int)nb, logits + at * NN_CLASSES);
        const double dt = cs_wall_s() - t0;
        total += dt;
        times[k] = dt / (double)nb * (double)b; /* a partial last batch scaled to a full one */
    }
    int right = 0;
    const double loss = nn_softmax_ce((int)n, NN_CLASSES, logits, labels, NULL, &right);
    const double med = cli_median(times, batches); /* sorts: times[0] is the fastest */

    char cpu[256];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "framework", "constsim");
    cJSON_AddStringToObject(j, "precision", nn_precision_name(o.prec));
    cJSON_AddStringToObject(
        j, "compute",
        o.prec == NN_PREC_FP32 ? "fp32" : "fp32 (weights decoded once from the wire format)");
    cJSON_AddNumberToObject(j, "images_per_s", (double)b / med);
    cJSON_AddNumberToObject(j, "images_per_s_pass", (double)n / total);
    cJSON_AddNumberToObject(j, "ms_per_batch", med * 1e3);
    cJSON_AddNumberToObject(j, "ms_per_batch_min", times[0] * 1e3);
    cJSON_AddNumberToObject(j, "threads", (double)o.threads);
    cJSON_AddNumberToObject(j, "batch", (double)b);
    cJSON_AddNumberToObject(j, "batches", (double)batches);
    cJSON_AddNumberToObject(j, "warmup", (double)o.warmup);
    cJSON_AddNumberToObject(j, "images", (double)n);
    cJSON_AddStringToObject(j, "first_image", ds.paths[idx[0]]);
    cJSON_AddStringToObject(j, "last_image", ds.paths[idx[n - 1]]);
    cJSON_AddNumberToObject(j, "accuracy", (double)right / (double)n);
    cJSON_AddNumberToObject(j, "loss", loss);
    cJSON_AddStringToObject(j, "model", o.model ? o.model : "init seed 1");
    cJSON_AddNumberToObject(j, "context_mib", (double)nn_infer_bytes(f) / (1 << 20));
    cJSON_AddStringToObject(j, "blas_core", nn_blas_core());
    cJSON_AddStringToObject(j, "cpu", cs_host_cpu_model(cpu, sizeof cpu));
    cli_print_json(j);
    rc = 0;
    goto done;
fail:
    cs_err_print(&err, stderr);
    rc = cs_err_exit_code(&err);
done:
    nn_infer_destroy(f);
    free(times);
    free(labels);
    free(idx);
    free(logits);
    free(x);
    free(state);
    nn_data_free(&ds);
    return rc;
}
