/* cmd_quantize.c - constsim quantize: post-training quantisation study of one FP32 model. */
#include "cli.h"
#include "cs.h"
#include "fl.h"
#include "nn.h"
#include "nn_codec.h"
#include "nn_data.h"
#include "nn_ptq.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(
        f, "usage: constsim quantize MODEL.safetensors [--data DIR] [-o DIR] [OPTIONS]\n\n"
           "Post-training quantisation study of one FP32 model: writes it as FP32, FP16, INT8,\n"
           "INT4 and ternary files (<stem>_fp32.safetensors, _fp16, _int8, _int4, _ternary; the\n"
           "last two with a scale per 256 weights, docs/formats.md), evaluates each on the test\n"
           "split (with the dequantised weights a receiver would use), prints accuracy, loss, "
           "accuracy\n"
           "drop in points vs FP32, file size, compression ratio and the communication cost of\n"
           "federated rounds, and writes quantization_comparison.json into the output folder.\n\n"
           "options:\n"
           "  -o DIR               output folder (default: the model's folder; created if needed)\n"
           "  --clients N          clients per round for the cost analysis (default 10)\n"
           "  --rounds R           rounds for the cost analysis (default 10)\n"
           "  --cost-per-mb USD    price per MB moved, MB = 10^6 bytes (default 5)\n");
    cli_data_usage(f, "evaluation batch (default 256)");
    fprintf(
        f, "\nCost model: every round sends the model to each client and back, so one round moves\n"
           "file_bytes x 2 x clients bytes; the total is that times rounds; cost = bytes / 10^6 x\n"
           "USD per MB.\n");
}

typedef struct ptq_row {
    char path[2048];
    size_t file_bytes;
    double accuracy, loss;
    double ratio, drop_pts;
    double bytes_round, bytes_total, cost_round, cost_total, saving_usd, saving_pct;
} ptq_row;

/* dir of path ("." if none) and the file name without a .safetensors extension. */
static void split_path(const char *path, char *dir, size_t dcap, char *stem, size_t scap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, dcap, ".");
    else if (slash == path)
        snprintf(dir, dcap, "/");
    else
        snprintf(dir, dcap, "%.*s", (int)(slash - path), path);
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(base);
    const char *ext = ".safetensors";
    size_t el = strlen(ext);
    if (n > el && strcmp(base + n - el, ext) == 0)
        n -= el;
    snprintf(stem, scap, "%.*s", (int)n, base);
}

static cJSON *row_json(const ptq_row *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "accuracy", r->accuracy);
    cJSON_AddNumberToObject(o, "loss", r->loss);
    cJSON_AddNumberToObject(o, "file_bytes", (double)r->file_bytes);
    cJSON_AddNumberToObject(o, "compression_ratio", r->ratio);
    cJSON_AddNumberToObject(o, "accuracy_drop_pct", r->drop_pts);
    cJSON_AddStringToObject(o, "path", r->path);
    return o;
}

static cJSON *cost_json(const ptq_row *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "file_bytes", (double)r->file_bytes);
    cJSON_AddNumberToObject(o, "bytes_per_round", r->bytes_round);
    cJSON_AddNumberToObject(o, "bytes_total", r->bytes_total);
    cJSON_AddNumberToObject(o, "cost_per_round_usd", r->cost_round);
    cJSON_AddNumberToObject(o, "cost_total_usd", r->cost_total);
    cJSON_AddNumberToObject(o, "savings_vs_fp32_usd", r->saving_usd);
    cJSON_AddNumberToObject(o, "savings_vs_fp32_pct", r->saving_pct);
    return o;
}

int cmd_quantize(int argc, char **argv)
{
    const char *model_path = NULL, *out_dir_opt = NULL;
    long clients = 10, rounds = 10;
    double cost_per_mb = 5.0;
    cli_data_opts d = cli_data_defaults(256);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = cli_data_opt("quantize", argc, argv, &i, &d);
        if (k < 0)
            return 2;
        if (k > 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-o") && v) {
            out_dir_opt = v, i++;
        } else if (!strcmp(a, "--clients")) {
            if (cli_parse_int("quantize", a, v, 1, 1000000, &clients))
                return 2;
            i++;
        } else if (!strcmp(a, "--rounds")) {
            if (cli_parse_int("quantize", a, v, 1, 1000000, &rounds))
                return 2;
            i++;
        } else if (!strcmp(a, "--cost-per-mb")) {
            if (cli_parse_double("quantize", a, v, 0.0, 1e12, &cost_per_mb))
                return 2;
            i++;
        } else if (a[0] != '-' && !model_path) {
            model_path = a;
        } else {
            return cli_usage_error("quantize", "unknown or incomplete argument \"%s\"", a);
        }
    }
    if (!model_path)
        return cli_usage_error("quantize", "missing MODEL.safetensors");

    cs_err err;
    cs_err_clear(&err);
    int rc = 1;
    nn_dataset ds = {0};
    uint32_t *train = NULL, *test = NULL;
    size_t n_train = 0, n_test = 0;
    nn_model *m = NULL;
    float *state0 = NULL;
    int64_t tracked0[NN_TRACKED];
    nn_ptq_row study[NN_PTQ_ROWS] = {{0}};
    cJSON *j = NULL;
    char *txt = NULL;
    char dir[1024], stem[512], json_path[1200];
    ptq_row rows[NN_PTQ_ROWS];
    memset(rows, 0, sizeof rows);

    m = nn_model_create((int)d.batch, &err);
    if (!m)
        goto fail;
    nn_precision in_prec = NN_PREC_FP32;
    if (nn_model_load(m, model_path, &in_prec, &err))
        goto fail;
    if (in_prec != NN_PREC_FP32) {
        cs_err_set(&err, CS_EINVAL, model_path, 0, 0,
                   "this is an %s model; quantize starts from an FP32 model",
                   nn_precision_name(in_prec));
        goto fail;
    }
    state0 = malloc(NN_STATE_FLOATS * sizeof *state0);
    if (!state0) {
        cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    memcpy(state0, nn_model_state(m), NN_STATE_FLOATS * sizeof *state0);
    memcpy(tracked0, nn_model_tracked(m), sizeof tracked0);

    split_path(model_path, dir, sizeof dir, stem, sizeof stem);
    if (out_dir_opt)
        snprintf(dir, sizeof dir, "%s", out_dir_opt);
    /* The output folder (created if needed) is checked before the dataset is decoded. */
    snprintf(json_path, sizeof json_path, "%s/quantization_comparison.json", dir);
    if (cs_check_writable(json_path, &err))
        goto fail;
    /* Each precision as the receiver sees it: encoded, decoded (dequantised), evaluated. */
    if (cli_data_open(&d, &ds, &train, &n_train, &test, &n_test, &err) ||
        nn_ptq_run(m, state0, tracked0, &ds, test, n_test, study, &err))
        goto fail;
    for (int p = 0; p < NN_PTQ_ROWS; p++) {
        ptq_row *r = &rows[p];
        snprintf(r->path, sizeof r->path, "%s/%s_%s.safetensors", dir, stem,
                 nn_precision_name((nn_precision)p));
        if (cs_write_file_in_dir(r->path, study[p].payload, study[p].file_bytes, &err))
            goto fail;
        r->file_bytes = study[p].file_bytes;
        r->accuracy = study[p].accuracy;
        r->loss = study[p].loss;
        r->ratio = study[p].compression_ratio;
        r->drop_pts = study[p].accuracy_drop_pct;
    }
    /* The study: a station that charges per MB only, billed by the simulator's own rule. */
    const scn_station price = {.cost_per_mb = cost_per_mb};
    for (int p = 0; p < NN_PTQ_ROWS; p++) {
        ptq_row *r = &rows[p];
        uint64_t round_bytes = (uint64_t)r->file_bytes * 2 * (uint64_t)clients;
        r->bytes_round = (double)round_bytes;
        r->bytes_total = r->bytes_round * (double)rounds;
        r->cost_round = fl_bill_add(0, &price, round_bytes, 0);
        r->cost_total = fl_bill_add(0, &price, round_bytes * (uint64_t)rounds, 0);
    }
    for (int p = 0; p < NN_PTQ_ROWS; p++) {
        ptq_row *r = &rows[p];
        r->saving_usd = rows[0].cost_total - r->cost_total;
        r->saving_pct = rows[0].bytes_total > 0
                            ? 100.0 * (rows[0].bytes_total - r->bytes_total) / rows[0].bytes_total
                            : 0.0;
    }

    printf("Post-training quantisation of %s\n", model_path);
    printf("  parameters: %d trainable (+%d BatchNorm statistics, %d counters)\n", NN_PARAMS,
           NN_BUFFERS, NN_TRACKED);
    printf("  theoretical sizes: fp32 %d B (params x 4), fp16 %d B (x 2), int8 %d B (x 1), int4 "
           "%d B (x 1/2), ternary %d B (x 1/4)\n",
           NN_PARAMS * 4, NN_PARAMS * 2, NN_PARAMS, NN_PARAMS / 2, NN_PARAMS / 4);
    printf("  test split: %zu images of %s (seed %ld, test fraction %g)\n\n", n_test, ds.root,
           d.seed, d.test_fraction);
    for (int p = 0; p < NN_PTQ_ROWS; p++)
        printf("  %s: loss %.4f  accuracy %.2f%%  file %zu B  %s\n",
               nn_precision_name((nn_precision)p), rows[p].loss, 100.0 * rows[p].accuracy,
               rows[p].file_bytes, rows[p].path);
    printf("\n  %-9s %9s %11s %12s %11s\n", "precision", "accuracy", "drop (pts)", "size (B)",
           "compression");
    for (int p = 0; p < NN_PTQ_ROWS; p++)
        printf("  %-9s %8.2f%% %11.2f %12zu %10.2fx\n", nn_precision_name((nn_precision)p),
               100.0 * rows[p].accuracy, rows[p].drop_pts, rows[p].file_bytes, rows[p].ratio);
    printf("\nCommunication cost: %ld clients x %ld rounds, model sent to each client and back "
           "every round, $%.2f per MB (10^6 bytes)\n",
           clients, rounds, cost_per_mb);
    printf("  %-9s %14s %12s %16s %12s %12s %8s\n", "precision", "bytes/round", "USD/round",
           "bytes total", "USD total", "saving USD", "saving");
    for (int p = 0; p < NN_PTQ_ROWS; p++)
        printf("  %-9s %14.0f %12.2f %16.0f %12.2f %12.2f %7.1f%%\n",
               nn_precision_name((nn_precision)p), rows[p].bytes_round, rows[p].cost_round,
               rows[p].bytes_total, rows[p].cost_total, rows[p].saving_usd, rows[p].saving_pct);

    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "constsim-ptq/1");
    cJSON_AddStringToObject(j, "constsim_version", CONSTSIM_VERSION);
    cJSON_AddStringToObject(j, "model", model_path);
    cJSON_AddNumberToObject(j, "parameters", NN_PARAMS);
    cJSON *th = cJSON_AddObjectToObject(j, "theoretical_bytes");
    cJSON_AddNumberToObject(th, "fp32", NN_PARAMS * 4.0);
    cJSON_AddNumberToObject(th, "fp16", NN_PARAMS * 2.0);
    cJSON_AddNumberToObject(th, "int8", NN_PARAMS * 1.0);
    cJSON_AddNumberToObject(th, "int4", NN_PARAMS * 0.5);
    cJSON_AddNumberToObject(th, "ternary", NN_PARAMS * 0.25);
    cJSON *dj = cJSON_AddObjectToObject(j, "dataset");
    cJSON_AddStringToObject(dj, "root", ds.root);
    cJSON_AddNumberToObject(dj, "test_images", (double)n_test);
    cJSON_AddNumberToObject(dj, "seed", (double)d.seed);
    cJSON_AddNumberToObject(dj, "test_fraction", d.test_fraction);
    for (int p = 0; p < NN_PTQ_ROWS; p++)
        cJSON_AddItemToObject(j, nn_precision_name((nn_precision)p), row_json(&rows[p]));
    cJSON *cj = cJSON_AddObjectToObject(j, "communication");
    cJSON_AddNumberToObject(cj, "clients", (double)clients);
    cJSON_AddNumberToObject(cj, "rounds", (double)rounds);
    cJSON_AddNumberToObject(cj, "cost_per_mb_usd", cost_per_mb);
    cJSON_AddNumberToObject(cj, "bytes_per_mb", 1e6);
    cJSON_AddNumberToObject(cj, "transfers_per_client_per_round", 2);
    for (int p = 0; p < NN_PTQ_ROWS; p++)
        cJSON_AddItemToObject(cj, nn_precision_name((nn_precision)p), cost_json(&rows[p]));
    txt = cJSON_Print(j);
    if (!txt) {
        cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    size_t tl = strlen(txt);
    txt[tl] = '\n'; /* replaces the terminator: written with its length */
    if (cs_write_file_in_dir(json_path, txt, tl + 1, &err))
        goto fail;
    printf("\nwrote %s\n", json_path);
    rc = 0;
    goto done;
fail:
    cs_err_print(&err, stderr);
    rc = cs_err_exit_code(&err);
done:
    if (txt)
        cJSON_free(txt);
    cJSON_Delete(j);
    nn_ptq_free(study);
    free(state0);
    nn_model_destroy(m);
    free(train);
    free(test);
    nn_data_free(&ds);
    return rc;
}
