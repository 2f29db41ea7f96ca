/* cmd_train.c - constsim train: the centralised baseline on the EuroSAT train split. */
#include "cli.h"
#include "cs.h"
#include "cs_rng.h"
#include "nn.h"
#include "nn_codec.h"
#include "nn_data.h"
#include "nn_train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: constsim train [--data DIR] [--epochs N] [-o MODEL.safetensors] [OPTIONS]\n\n"
        "Trains the EuroSAT CNN centrally on the train split and evaluates it on the test split\n"
        "after every epoch. Per-epoch lines go to stderr; a JSON summary to stdout.\n\n"
        "options:\n"
        "  --epochs N           epochs (default 10)\n"
        "  -o FILE              model file to write, FP32 safetensors\n"
        "                       (default reports/train/model.safetensors; checked before the\n"
        "                       dataset is decoded: exit 2 when it cannot be written)\n"
        "  --optimizer NAME     adam (default) or sgd\n"
        "  --lr LR              learning rate (default 0.001)\n"
        "  --momentum M         sgd momentum (default 0.9)\n"
        "  --schedule NAME      learning rate over the epochs: cosine (default; lr x\n"
        "                       (1 + cos(pi e / N)) / 2 in epoch e = 0..N-1) or constant\n"
        "  --augment NAME       none (default) or flip (random left-right and top-bottom\n"
        "                       flips of every training image)\n"
        "  --max-train N        use only the first N images of the shuffled train split\n"
        "                       (default: all)\n");
    cli_data_usage(f, "batch size (default 32)");
    fprintf(f, "The seed also draws the initialisation, the batch order and the flips.\n");
}

typedef struct progress_ctx {
    bool tty;
    int epoch, epochs;
    double t0;
} progress_ctx;

static void on_progress(void *user, const nn_progress *p)
{
    progress_ctx *c = user;
    if (!c->tty)
        return;
    double el = cs_wall_s() - c->t0;
    double rate = el > 0 ? (double)p->done / el : 0;
    if (p->phase == NN_PHASE_TRAIN)
        fprintf(stderr, "\r  epoch %d/%d  train %5zu/%zu  loss %.4f  acc %5.1f%%  %6.0f img/s ",
                c->epoch, c->epochs, p->done, p->total, p->mean_loss, 100.0 * p->accuracy, rate);
    else
        fprintf(stderr, "\r  epoch %d/%d  evaluating %5zu/%zu                              ",
                c->epoch, c->epochs, p->done, p->total);
    fflush(stderr);
}

int cmd_train(int argc, char **argv)
{
    const char *out = "reports/train/model.safetensors", *opt_name = "adam";
    const char *schedule = "cosine", *augment = "none";
    long epochs = 10, max_train = 0;
    double lr = 0.001, momentum = 0.9;
    cli_data_opts d = cli_data_defaults(32);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = cli_data_opt("train", argc, argv, &i, &d);
        if (k < 0)
            return 2;
        if (k > 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-o") && v) {
            out = v, i++;
        } else if (!strcmp(a, "--optimizer") && v) {
            opt_name = v, i++;
            if (strcmp(v, "adam") && strcmp(v, "sgd"))
                return cli_usage_error("train", "--optimizer: expected adam or sgd, got \"%s\"", v);
        } else if (!strcmp(a, "--schedule") && v) {
            schedule = v, i++;
            if (strcmp(v, "cosine") && strcmp(v, "constant"))
                return cli_usage_error("train",
                                       "--schedule: expected cosine or constant, got \"%s\"", v);
        } else if (!strcmp(a, "--augment") && v) {
            augment = v, i++;
            if (strcmp(v, "flip") && strcmp(v, "none"))
                return cli_usage_error("train", "--augment: expected flip or none, got \"%s\"", v);
        } else if (!strcmp(a, "--epochs")) {
            if (cli_parse_int("train", a, v, 1, 100000, &epochs))
                return 2;
            i++;
        } else if (!strcmp(a, "--max-train")) {
            if (cli_parse_int("train", a, v, 0, 100000000, &max_train))
                return 2;
            i++;
        } else if (!strcmp(a, "--lr")) {
            if (cli_parse_double("train", a, v, 1e-12, 10, &lr))
                return 2;
            i++;
        } else if (!strcmp(a, "--momentum")) {
            if (cli_parse_double("train", a, v, 0, 1, &momentum))
                return 2;
            i++;
        } else {
            return cli_usage_error("train", "unknown or incomplete argument \"%s\"", a);
        }
    }

    cs_err err;
    cs_err_clear(&err);
    int rc = 1;
    nn_dataset ds = {0};
    uint32_t *train = NULL, *test = NULL;
    size_t n_train = 0, n_test = 0;
    nn_model *m = NULL;
    nn_opt *opt = NULL;
    double t_start = cs_wall_s();
    const long batch = d.batch, seed = d.seed;

    /* The output is checked before the dataset is decoded and the model trained. */
    if (cs_check_writable(out, &err) ||
        cli_data_open(&d, &ds, &train, &n_train, &test, &n_test, &err))
        goto fail;
    if (max_train > 0 && (size_t)max_train < n_train) {
        /* A seeded subset, kept stratified in expectation: shuffle, keep the first N. */
        cs_rng r;
        cs_rng_derive(&r, (uint64_t)seed, CS_RNG_SAMPLE, 0);
        cs_rng_shuffle_u32(&r, train, n_train);
        n_train = (size_t)max_train;
    }
    fprintf(stderr, "train: %zu images from %s (%zu train, %zu test), decoded in %.1f s\n", ds.n,
            ds.root, n_train, n_test, cs_wall_s() - t_start);

    m = nn_model_create((int)batch, &err);
    if (!m)
        goto fail;
    nn_model_init(m, (uint64_t)seed);
    nn_opt_cfg cfg = nn_opt_default(!strcmp(opt_name, "sgd") ? NN_OPT_SGD : NN_OPT_ADAM, (float)lr);
    if (cfg.kind == NN_OPT_SGD)
        cfg.momentum = (float)momentum;
    opt = nn_opt_create(&cfg, NN_PARAMS, &err);
    if (!opt)
        goto fail;

    progress_ctx pc = {.tty = cli_progress_tty(), .epochs = (int)epochs};
    nn_train_set_progress(m, on_progress, &pc);
    cs_rng shuffle, aug;
    cs_rng_derive(&shuffle, (uint64_t)seed, CS_RNG_SHUFFLE, 0);
    cs_rng_derive(&aug, (uint64_t)seed, CS_RNG_AUGMENT, 0);
    const bool cosine = !strcmp(schedule, "cosine"), flip = !strcmp(augment, "flip");
    double acc = 0, loss = 0;
    for (int e = 1; e <= epochs; e++) {
        pc.epoch = e;
        pc.t0 = cs_wall_s();
        nn_epoch_stats st;
        double lr_e = nn_schedule_lr(cosine ? NN_SCHED_COSINE : NN_SCHED_CONSTANT, lr, 1.0, e - 1,
                                     (int)epochs);
        nn_opt_set_lr(opt, (float)lr_e);
        if (nn_train_epoch_aug(m, opt, &ds, train, n_train, (int)batch, &shuffle,
                               flip ? &aug : NULL, &st) != 0) {
            cs_err_set(&err, CS_EFAIL, NULL, 0, 0, "training epoch %d failed", e);
            goto fail;
        }
        double t_train = cs_wall_s() - pc.t0;
        pc.t0 = cs_wall_s();
        if (nn_evaluate(m, &ds, test, n_test, &acc, &loss) != 0) {
            cs_err_set(&err, CS_EFAIL, NULL, 0, 0, "evaluation after epoch %d failed", e);
            goto fail;
        }
        if (pc.tty)
            fputs("\r\033[K", stderr);
        fprintf(
            stderr,
            "epoch %2d/%ld  lr %.2e  train loss %.4f  train acc %6.2f%%  test loss %.4f  test acc "
            "%6.2f%%  (%.1f s, %.0f img/s)\n",
            e, epochs, lr_e, st.mean_loss, 100.0 * st.accuracy, loss, 100.0 * acc, t_train,
            t_train > 0 ? (double)n_train / t_train : 0.0);
    }
    nn_train_set_progress(m, NULL, NULL);

    /* Create the output folder, then write the model atomically. */
    if (cs_mkdir_parent(out, &err) || nn_model_save(m, out, NN_PREC_FP32, &err))
        goto fail;
    double wall = cs_wall_s() - t_start;
    fprintf(stderr, "train: wrote %s (test accuracy %.2f%%, %.1f s)\n", out, 100.0 * acc, wall);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "epochs", (double)epochs);
    cJSON_AddNumberToObject(j, "train_images", (double)n_train);
    cJSON_AddNumberToObject(j, "test_images", (double)n_test);
    cJSON_AddNumberToObject(j, "test_accuracy", acc);
    cJSON_AddNumberToObject(j, "test_loss", loss);
    cJSON_AddNumberToObject(j, "wall_time_s", wall);
    cJSON_AddNumberToObject(j, "threads", nn_threads());
    cJSON_AddNumberToObject(j, "seed", (double)seed);
    cJSON_AddStringToObject(j, "schedule", schedule);
    cJSON_AddStringToObject(j, "augment", augment);
    cJSON_AddStringToObject(j, "model_path", out);
    cli_print_json(j);
    rc = 0;
    goto done;
fail:
    cs_err_print(&err, stderr);
    rc = cs_err_exit_code(&err);
done:
    nn_opt_destroy(opt);
    nn_model_destroy(m);
    free(train);
    free(test);
    nn_data_free(&ds);
    return rc;
}
