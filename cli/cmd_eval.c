/* cmd_eval.c - constsim eval: accuracy and loss of a saved model. */
#include "cli.h"
#include "cs.h"
#include "nn.h"
#include "nn_codec.h"
#include "nn_data.h"
#include "nn_train.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: constsim eval MODEL.safetensors [--data DIR] [--list FILE] [OPTIONS]\n\n"
            "Accuracy and mean cross-entropy per image of a saved model (FP32, FP16 or INT8 file;\n"
            "INT8 is evaluated with the dequantised weights) on the test split, or on the images\n"
            "listed in FILE (paths relative to the data folder, one per line; blank lines and lines\n"
            "starting with # are ignored). Prints JSON with accuracy, loss, images.\n\n"
            "options:\n"
            "  --data DIR           EuroSAT folder (default: $CONSTSIM_DATA, data/eurosat,\n"
            "                       ../shared/eurosat)\n"
            "  --list FILE          evaluate these images instead of the test split\n"
            "  --seed S             split seed (default 1, as constsim train)\n"
            "  --test-fraction F    test share of each class (default 0.2)\n"
            "  --batch B            evaluation batch (default 256)\n"
            "  --threads T          compute threads (default: all cores)\n");
}

/* Reads the list file into indices of ds. */
static int read_list(const char *path, const nn_dataset *ds, uint32_t **out, size_t *n,
                     cs_err *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    if (cs_read_file(path, &buf, &len, err))
        return err->code;
    size_t cap = 1024, cnt = 0;
    uint32_t *idx = malloc(cap * sizeof *idx);
    if (!idx) {
        free(buf);
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
    }
    long line = 0;
    char *save = NULL;
    for (char *s = strtok_r((char *)buf, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
        line++;
        size_t l = strlen(s);
        while (l > 0 && (s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t'))
            s[--l] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        long k = nn_data_find_path(ds, s);
        if (k < 0) {
            free(idx);
            free(buf);
            return cs_err_set(err, CS_EINVAL, path, line, 1,
                              "\"%s\" is not an image of the dataset at %s", s, ds->root);
        }
        if (cnt == cap) {
            uint32_t *ni = realloc(idx, 2 * cap * sizeof *idx);
            if (!ni) {
                free(idx);
                free(buf);
                return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
            }
            idx = ni;
            cap *= 2;
        }
        idx[cnt++] = (uint32_t)k;
    }
    free(buf);
    if (cnt == 0) {
        free(idx);
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "lists no images");
    }
    *out = idx;
    *n = cnt;
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *list = NULL;
    long seed = 1, batch = 256, threads = 0;
    double test_fraction = 0.2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--data") && v) {
            data = v, i++;
        } else if (!strcmp(a, "--list") && v) {
            list = v, i++;
        } else if (!strcmp(a, "--seed")) {
            if (cli_parse_int("eval", a, v, 0, 0x7fffffffL, &seed))
                return 2;
            i++;
        } else if (!strcmp(a, "--batch")) {
            if (cli_parse_int("eval", a, v, 1, 4096, &batch))
                return 2;
            i++;
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_int("eval", a, v, 0, 1024, &threads))
                return 2;
            i++;
        } else if (!strcmp(a, "--test-fraction")) {
            if (cli_parse_double("eval", a, v, 1e-9, 1 - 1e-9, &test_fraction))
                return 2;
            i++;
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
    nn_model *m = NULL;
    char root[1024];
    nn_precision prec = NN_PREC_FP32;

    if (threads == 0)
        threads = cli_cpu_count();
    nn_set_threads((int)threads);
    m = nn_model_create((int)batch, &err);
    if (!m || nn_model_load(m, model_path, &prec, &err))
        goto fail;
    if (nn_data_find_root(data, root, sizeof root, &err) ||
        nn_data_load(root, (int)threads, &ds, &err))
        goto fail;
    if (list) {
        if (read_list(list, &ds, &idx, &n, &err))
            goto fail;
    } else {
        if (nn_data_split(&ds, test_fraction, (uint64_t)seed, &train, &n_train, &test, &n_test,
                          &err))
            goto fail;
        idx = test;
        test = NULL;
        n = n_test;
    }
    double acc = 0, loss = 0;
    if (nn_evaluate(m, &ds, idx, n, &acc, &loss) != 0) {
        cs_err_set(&err, CS_EFAIL, model_path, 0, 0, "evaluation failed");
        goto fail;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", model_path);
    cJSON_AddStringToObject(j, "precision", nn_precision_name(prec));
    cJSON_AddNumberToObject(j, "accuracy", acc);
    cJSON_AddNumberToObject(j, "loss", loss);
    cJSON_AddNumberToObject(j, "images", (double)n);
    char *txt = cJSON_PrintUnformatted(j);
    if (txt)
        printf("%s\n", txt);
    cJSON_free(txt);
    cJSON_Delete(j);
    rc = 0;
    goto done;
fail:
    cs_err_print(&err, stderr);
    rc = cs_err_exit_code(&err);
done:
    nn_model_destroy(m);
    free(idx);
    free(train);
    free(test);
    nn_data_free(&ds);
    return rc;
}
