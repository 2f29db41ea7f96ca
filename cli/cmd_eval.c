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
    fprintf(
        f,
        "usage: constsim eval MODEL.safetensors [--data DIR] [--list FILE] [OPTIONS]\n\n"
        "Accuracy and mean cross-entropy per image of a saved model (FP32, FP16 or INT8 file;\n"
        "INT8 is evaluated with the dequantised weights) on the test split, or on the images\n"
        "listed in FILE (paths relative to the data folder, one per line; blank lines and lines\n"
        "starting with # are ignored; every entry is checked against the data folder before\n"
        "the dataset is decoded). Prints JSON with accuracy, loss, images.\n\n"
        "options:\n"
        "  --list FILE          evaluate these images instead of the test split\n");
    cli_data_usage(f, "evaluation batch (default 256)");
}

/* The entries of a list file: pointers into its text, with their lines. */
typedef struct image_list {
    unsigned char *text; /* owned: the file, entries cut out in place */
    char **entry;        /* owned array; the strings point into text */
    long *line;          /* 1-based line of each entry (blank and comment lines counted) */
    size_t n;
} image_list;

static void list_free(image_list *l)
{
    free(l->text);
    free(l->entry);
    free(l->line);
    memset(l, 0, sizeof *l);
}

/* Reads the list file and checks every entry against the dataset folder root on the file
 * system, before anything is decoded (nn_data_check_path). Errors name the file and the
 * entry's line. */
static int read_list(const char *path, const char *root, image_list *l, cs_err *err)
{
    memset(l, 0, sizeof *l);
    size_t len = 0;
    if (cs_read_file(path, &l->text, &len, err))
        return err->code;
    size_t cap = 0;
    int rc = 0;
    char *const end = (char *)l->text + len;
    long line = 0;
    for (char *s = (char *)l->text; rc == 0 && s < end; line++) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        char *next = nl ? nl + 1 : end;
        if (nl)
            *nl = '\0';
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s != '\0' && *s != '#') {
            char why[1200];
            if (nn_data_check_path(root, s, why, sizeof why) != 0) {
                rc = cs_err_set(err, CS_EINVAL, path, line + 1, 1,
                                "\"%s\" is not an image of the dataset at %s: %s", s, root, why);
                break;
            }
            if (l->n == cap) {
                size_t nc = cap ? 2 * cap : 1024;
                char **ne = realloc(l->entry, nc * sizeof *ne);
                if (ne)
                    l->entry = ne;
                long *nli = ne ? realloc(l->line, nc * sizeof *nli) : NULL;
                if (nli)
                    l->line = nli;
                if (!ne || !nli) {
                    rc = cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
                    break;
                }
                cap = nc;
            }
            l->entry[l->n] = s;
            l->line[l->n++] = line + 1;
        }
        s = next;
    }
    if (rc == 0 && l->n == 0)
        rc = cs_err_set(err, CS_EINVAL, path, 0, 0, "lists no images");
    if (rc)
        list_free(l);
    return rc;
}

/* The checked entries as indices of the decoded ds. */
static int list_indices(const char *path, const image_list *l, const nn_dataset *ds, uint32_t **out,
                        cs_err *err)
{
    uint32_t *idx = malloc(l->n * sizeof *idx);
    if (!idx)
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
    for (size_t i = 0; i < l->n; i++) {
        long k = nn_data_find_path(ds, l->entry[i]);
        if (k < 0) { /* the folder changed between the check and the decoding */
            free(idx);
            return cs_err_set(err, CS_EINVAL, path, l->line[i], 1,
                              "\"%s\" is not an image of the dataset at %s", l->entry[i], ds->root);
        }
        idx[i] = (uint32_t)k;
    }
    *out = idx;
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *list = NULL;
    cli_data_opts d = cli_data_defaults(256);
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
    nn_model *m = NULL;
    nn_precision prec = NN_PREC_FP32;
    image_list entries = {0};

    m = nn_model_create((int)d.batch, &err);
    if (!m || nn_model_load(m, model_path, &prec, &err))
        goto fail;
    if (list) {
        /* The list is read and checked against the folder before the dataset is decoded. */
        char root[1024];
        if (nn_data_find_root(d.data, root, sizeof root, &err) ||
            read_list(list, root, &entries, &err))
            goto fail;
    }
    if (cli_data_open(&d, &ds, list ? NULL : &train, &n_train, &test, &n_test, &err))
        goto fail;
    if (list) {
        if (list_indices(list, &entries, &ds, &idx, &err))
            goto fail;
        n = entries.n;
    } else {
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
    cli_print_json(j);
    rc = 0;
    goto done;
fail:
    cs_err_print(&err, stderr);
    rc = cs_err_exit_code(&err);
done:
    list_free(&entries);
    nn_model_destroy(m);
    free(idx);
    free(train);
    free(test);
    nn_data_free(&ds);
    return rc;
}
