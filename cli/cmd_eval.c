/* cmd_eval.c - constsim eval: accuracy and loss of a saved model. */
#include "cli.h"
#include "cs.h"
#include "nn.h"
#include "nn_codec.h"
#include "nn_data.h"
#include "nn_infer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: constsim eval MODEL.safetensors [--data DIR] [--list FILE] [OPTIONS]\n\n"
        "Accuracy and mean cross-entropy per image of a saved model (FP32, FP16 or INT8 file;\n"
        "INT8 is evaluated with the dequantised weights) on the test split, or on the images\n"
        "listed in FILE (paths relative to the data folder, one per line; blank lines and lines\n"
        "starting with # are ignored; every entry is checked against the data folder before\n"
        "the dataset is decoded). Runs the inference path (no training buffers). Prints JSON\n"
        "with accuracy, loss, images.\n\n"
        "options:\n"
        "  --list FILE          evaluate these images instead of the test split\n");
    char batch_help[96];
    snprintf(batch_help, sizeof batch_help,
             "evaluation batch (default %d, as reports evaluate; %d fits this L2 cache)",
             NN_INFER_EVAL_BATCH, nn_infer_default_batch());
    cli_data_usage(f, batch_help);
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *list = NULL;
    cli_data_opts d = cli_data_defaults(NN_INFER_EVAL_BATCH);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = cli_data_opt("eval", argc, argv, &i, &d);
        if (k < 0)
            return 2;
        if (k > 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--list") && v) {
            list = v, i++;
        } else if (a[0] != '-' && !model_path) {
            model_path = a;
        } else {
            return cli_usage_error("eval", "unknown or incomplete argument \"%s\"", a);
        }
    }
    if (!model_path)
        return cli_usage_error("eval", "missing MODEL.safetensors");

    cs_err err;
    cs_err_clear(&err);
    int rc = 1;
    nn_dataset ds = {0};
    uint32_t *train = NULL, *test = NULL, *idx = NULL;
    size_t n_train = 0, n_test = 0, n = 0;
    nn_infer *f = NULL;
    float *state = NULL;
    int64_t tracked[NN_TRACKED];
    nn_precision prec = NN_PREC_FP32;

    state = malloc(NN_STATE_FLOATS * sizeof *state);
    if (!state) {
        cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    if (nn_state_load(model_path, state, tracked, &prec, &err))
        goto fail;
    if (list) {
        /* The list is read and checked against the folder before the dataset is decoded. */
        char root[1024];
        if (nn_data_find_root(d.data, root, sizeof root, &err) ||
            nn_data_list_check(root, list, &err))
            goto fail;
    }
    if (cli_data_open(&d, &ds, list ? NULL : &train, &n_train, &test, &n_test, &err))
        goto fail;
    if (list) {
        if (nn_data_list_read(&ds, list, &idx, &n, &err))
            goto fail;
    } else {
        idx = test;
        test = NULL;
        n = n_test;
    }
    /* after cli_data_open, which sets the threads the context is sized for */
    if (!(f = nn_infer_create((int)d.batch, &err)))
        goto fail;
    double acc = 0, loss = 0;
    if (nn_infer_evaluate_state(f, state, &ds, idx, n, &acc, &loss) != 0) {
        cs_err_set(&err, CS_EFAIL, model_path, 0, 0, "evaluation failed");
        goto fail;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", model_path);
    cJSON_AddStringToObject(j, "precision", nn_precision_name(prec));
    cJSON_AddNumberToObject(j, "accuracy", acc);
    cJSON_AddNumberToObject(j, "loss", loss);
    cJSON_AddNumberToObject(j, "images", (double)n);
    cli_print_json(j);
    rc = 0;
    goto done;
fail:
    cs_err_print(&err, stderr);
    rc = cs_err_exit_code(&err);
done:
    nn_infer_destroy(f);
    free(state);
    free(idx);
    free(train);
    free(test);
    nn_data_free(&ds);
    return rc;
}
