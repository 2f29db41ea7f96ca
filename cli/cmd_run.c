/* cmd_run.c - constsim run: federated learning over link windows, one run per wire precision,
 * the report JSON, model files and a comparison table. */
#include "cli.h"
#include "cs.h"
#include "cs_buf.h"
#include "cs_host.h"
#include "fl_ckpt.h"
#include "fl_study.h"
#include "nn.h"
#include "nn_data.h"
#include "rep.h"
#include "scn.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: constsim run SCENARIO.yaml [-o REPORT.json] [--set KEY=VALUE]... [OPTIONS]\n\n"
            "Runs the scenario: the contact plan, then one federated-learning run per entry of\n"
            "wire.precision (real training; every transfer waits for a contact and a free\n"
            "antenna), then post-training quantisation if report.ptq is true. Writes the report\n"
            "JSON (docs/report.md) and one FP32 model per run beside it\n"
            "(reports/NAME/PRECISION.safetensors for reports/NAME.json). Progress goes to\n"
            "stderr (one line per round unless stderr is a terminal); the comparison table of\n"
            "the precisions to stdout. Before the contact plan, the report path and the model\n"
            "folder are checked: a folder that cannot be created or written stops the run at\n"
            "once (exit 2).\n\n"
            "options:\n"
            "  -o FILE          report path (default: report.path, else reports/NAME.json)\n"
            "  --set KEY=VALUE  override a scenario key by its dotted path, e.g.\n"
            "                   --set federated.rounds=3 --set wire.precision=fp32,int8\n"
            "                   (repeatable; checked like values in the file)\n"
            "  --threads T      compute threads (default: all cores); the report is the\n"
            "                   same for any value\n"
            "  --no-trace       leave the event trace out of the report\n"
            "  --no-models      do not write model files\n"
            "  --resume         continue a stopped run from its checkpoint (REPORT's model\n"
            "                   folder + .ckpt, written after every aggregation); the\n"
            "                   scenario, --set values and --no-trace must be the same, and\n"
            "                   the result is what the uninterrupted run gives\n"
            "  -q, --quiet      no progress on stderr\n\n"
            "Until it finishes, REPORT holds a report whose status is \"incomplete\". SIGINT\n"
            "or SIGTERM stops the run at the next event (a second one at once), writes the\n"
            "checkpoint and prints the command that resumes it.\n\n"
            "exit status: 0 success, 1 the run failed or was stopped, 2 bad usage, a bad\n"
            "scenario or an output that cannot be written.\n");
}

typedef struct prog {
    bool tty, quiet;
    double last_draw; /* wall time of the last live training line */
    bool live;        /* a live line is on screen */
} prog;

static void clear_live(prog *p)
{
    if (p->live) {
        fputs("\r\033[K", stderr);
        p->live = false;
    }
}

static void on_progress(void *user, const fl_progress *p)
{
    prog *g = user;
    if (g->quiet)
        return;
    char t[32];
    cs_fmt_duration(t, sizeof t, p->sim_time_s);
    const char *prec = nn_precision_name(p->precision);
    switch (p->kind) {
    case FL_PROG_STAGE:
        clear_live(g);
        fprintf(stderr, "run: %s\n", p->text);
        break;
    case FL_PROG_TICK:
        if (!g->tty)
            return;
        fprintf(stderr, "\r\033[K[%s %zu/%zu] round %d/%d  trained %d/%d  reported %d/%d  sim %s",
                prec, p->run_index + 1, p->n_runs, p->round->round, p->rounds, p->trained,
                p->round->selected, p->round->reported, p->round->selected, t);
        g->live = true;
        break;
    case FL_PROG_TRAIN: {
        if (!g->tty)
            return;
        double now = cs_wall_s();
        if (now - g->last_draw < 0.2 && p->images_done < p->images_total)
            return;
        g->last_draw = now;
        fprintf(stderr,
                "\r\033[K[%s %zu/%zu] round %d/%d  trained %d/%d  reported %d/%d  sim %s  "
                "(client %d: %zu/%zu images)",
                prec, p->run_index + 1, p->n_runs, p->round->round, p->rounds, p->trained,
                p->round->selected, p->round->reported, p->round->selected, t, p->client,
                p->images_done, p->images_total);
        g->live = true;
        break;
    }
    case FL_PROG_ROUND:
        clear_live(g);
        fprintf(stderr,
                "[%s %zu/%zu] round %d/%d  clients %d/%d%s  acc %6.2f%%  loss %.4f  bytes %.1f MB"
                "  cost $%.2f  sim %s\n",
                prec, p->run_index + 1, p->n_runs, p->round->round, p->rounds, p->round->reported,
                p->round->selected, p->round->deadline_hit ? " (deadline)" : "",
                100 * p->round->accuracy, p->round->loss, (double)p->bytes_total / 1e6, p->cost_usd,
                t);
        break;
    case FL_PROG_RUN: {
        clear_live(g);
        const fl_result *r = p->result;
        char end[32];
        cs_fmt_duration(end, sizeof end, r->end_time_s);
        fprintf(stderr,
                "[%s %zu/%zu] done: %zu/%d rounds%s, accuracy %.2f%%, sim %s, %.1f s wall\n", prec,
                p->run_index + 1, p->n_runs, r->n_rounds, p->rounds,
                r->horizon_hit ? " (duration spent)" : "", 100 * r->accuracy, end, r->wall_time_s);
        break;
    }
    }
    fflush(stderr);
}

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    g_stop = 1;
    /* The next SIGINT or SIGTERM, either one, ends the process at once. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    static const char msg[] = "\nconstsim run: stopping at the next safe point to write the "
                              "checkpoint (again to quit at once)\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    errno = saved;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A closed pipe on stderr (`2>&1 | tee` whose reader went away) must not end the run
     * before it writes its checkpoint: writes fail with EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
}

/* a as one shell word. */
static void shell_word(cs_buf *b, const char *a)
{
    bool plain = a[0] != '\0';
    for (const char *c = a; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=,:+@%", *c))
            plain = false;
    if (plain) {
        cs_buf_str(b, a);
        return;
    }
    cs_buf_str(b, "'");
    for (const char *c = a; *c; c++)
        if (*c == '\'')
            cs_buf_str(b, "'\\''");
        else
            cs_buf_put(b, c, 1);
    cs_buf_str(b, "'");
}

/* The command line that resumes this run: the same arguments, with --resume. */
static char *resume_command(int argc, char **argv, const char *report_path, bool has_o)
{
    cs_buf b = {0};
    cs_buf_str(&b, "constsim run");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--resume"))
            continue;
        cs_buf_str(&b, " ");
        shell_word(&b, argv[i]);
    }
    if (!has_o) {
        cs_buf_str(&b, " -o ");
        shell_word(&b, report_path);
    }
    cs_buf_str(&b, " --resume");
    return cs_buf_take(&b);
}

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

int cmd_run(int argc, char **argv)
{
    const char *scenario = NULL, *out = NULL;
    long threads = 0;
    bool trace = true, models = true, quiet = false, resume = false;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    size_t n_sets = 0;
    if (!sets) {
        fprintf(stderr, "constsim run: out of memory\n");
        return 1;
    }
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(sets);
            return 0;
        } else if (!strcmp(a, "-o")) {
            if (!v) {
                rc = cli_usage_error("run", "-o needs a file name");
                goto done_early;
            }
            out = v, i++;
        } else if (!strcmp(a, "--set")) {
            if (!v) {
                rc = cli_usage_error("run", "--set needs KEY=VALUE");
                goto done_early;
            }
            sets[n_sets++] = v, i++;
        } else if (!strncmp(a, "--set=", 6)) {
            sets[n_sets++] = a + 6;
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_int("run", a, v, 1, 1024, &threads))
                goto done_early;
            i++;
        } else if (!strcmp(a, "--no-trace")) {
            trace = false;
        } else if (!strcmp(a, "--no-models")) {
            models = false;
        } else if (!strcmp(a, "--resume")) {
            resume = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            rc = cli_usage_error("run", "unknown option \"%s\"", a);
            goto done_early;
        } else if (!scenario) {
            scenario = a;
        } else {
            rc = cli_usage_error("run", "more than one scenario (\"%s\", \"%s\")", scenario, a);
            goto done_early;
        }
    }
    if (!scenario) {
        rc = cli_usage_error("run", "missing SCENARIO.yaml");
        goto done_early;
    }

    cs_err err;
    cs_err_clear(&err);
    scn_config *cfg = NULL;
    fl_study study;
    memset(&study, 0, sizeof study);
    sim_plan plan;
    memset(&plan, 0, sizeof plan);
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    fl_ckpt ck;
    memset(&ck, 0, sizeof ck);
    cJSON *report = NULL;
    char *table = NULL, *again = NULL;
    prog pg = {.tty = cli_progress_tty(), .quiet = quiet};
    if (scn_load(scenario, sets, n_sets, &cfg, &err) ||
        cli_check_run_outputs(cfg, out, models, &err))
        goto fail;
    if (threads <= 0)
        threads = cs_host_cpus();
    nn_set_threads((int)threads);
    const char *report_path = out ? out : cfg->report.path;
    char ckpt_path[1200];
    fl_ckpt_path(report_path, ckpt_path, sizeof ckpt_path);
    nn_blas_info blas = nn_blas_describe();
    fl_ckpt_ident ident = {.build = cs_build_version(),
                           .threads = (int)threads,
                           .blas = blas.core,
                           .conv = nn_conv_kernels(),
                           .trace = trace};
    /* Checkpoints, before any work: the one to resume must fit; none may be overwritten by a
     * fresh run by mistake. */
    if (resume) {
        if (!file_exists(ckpt_path)) {
            cs_err_set(&err, CS_EINVAL, ckpt_path, 0, 0,
                       "no checkpoint to resume from (the run of %s finished, or never wrote "
                       "one)",
                       report_path);
            goto fail;
        }
        if (fl_ckpt_read(ckpt_path, &ck, &err) || fl_ckpt_check(&ck, cfg, NULL, &ident, &err))
            goto fail;
    } else if (file_exists(ckpt_path)) {
        cs_err_set(&err, CS_EINVAL, ckpt_path, 0, 0,
                   "a checkpoint of an unfinished run writing %s is here: continue it with "
                   "--resume, or delete this file to start again",
                   report_path);
        goto fail;
    }
    if (!(again = resume_command(argc, argv, report_path, out != NULL))) {
        cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    fl_study_opts so = {.report_path = out,
                        .trace = trace,
                        .save_models = models,
                        .progress = on_progress,
                        .progress_user = &pg,
                        .checkpoint_path = ckpt_path,
                        .ident = &ident,
                        .resume = resume ? &ck : NULL,
                        .interrupt = &g_stop};
    catch_signals();
    if (!quiet) {
        fprintf(stderr,
                "run: %s (%s): %d rounds x %zu precision(s), %zu satellites, %zu stations, "
                "%d threads\n",
                cfg->name, scenario, cfg->federated.rounds, cfg->wire.n_precision,
                cfg->constellation.n_satellites, cfg->n_stations, (int)threads);
        if (resume) {
            char t[32];
            cs_fmt_duration(t, sizeof t, ck.current_t_s);
            if (ck.current[0])
                fprintf(stderr,
                        "run: resuming from %s: %d run(s) done, the %s run at %d round(s), "
                        "sim %s\n",
                        ckpt_path, ck.runs_done, ck.current, ck.current_rounds, t);
            else
                fprintf(stderr, "run: resuming from %s: %d run(s) done\n", ckpt_path, ck.runs_done);
        }
    }
    /* The contact plan and the decoded dataset, once for every precision. */
    cli_plan_progress pp;
    cli_plan_progress_init(&pp, "run");
    sim_plan_opts po = {.threads = (int)threads,
                        .progress = quiet ? NULL : cli_plan_progress_show,
                        .progress_user = &pp};
    int plan_rc = sim_plan_build_opts(cfg, &po, &plan, &err);
    cli_plan_progress_end(&pp);
    if (plan_rc)
        goto fail;
    if (resume && fl_ckpt_check(&ck, cfg, &plan, &ident, &err))
        goto fail;
    double contact_s = 0;
    sim_plan_summary(&plan, NULL, &contact_s);
    if (!quiet)
        fprintf(stderr, "run: contacts: %zu windows, %.0f s of contact over %.1f h (%.2f s)\n",
                plan.windows.n, contact_s, cfg->duration_s / 3600.0, plan.compute_wall_s);
    char root[1024];
    if (nn_data_find_root(cfg->dataset.path, root, sizeof root, &err) ||
        nn_data_load(root, (int)threads, &ds, &err))
        goto fail;
    if (!quiet)
        fprintf(stderr, "run: dataset: %zu images from %s in %.1f s\n", ds.n, ds.root,
                ds.load_wall_s);
    if (resume && fl_ckpt_check_data(&ck, &ds, &err))
        goto fail;
    if (g_stop) { /* stopped before the runs began: nothing to save */
        fprintf(stderr, "run: stopped before the runs began; nothing was written\n");
        rc = 1;
        goto stopped;
    }
    /* Until the run finishes, the report path says so (an earlier report there is replaced
     * now, so that a stopped run never leaves a complete report beside models of its own). */
    if (rep_write_incomplete(cfg, report_path, ckpt_path, again, &err))
        goto fail;
    if (fl_study_run(cfg, &plan, &ds, &so, &study, &err)) {
        if (err.code == CS_EINTR) {
            clear_live(&pg);
            fprintf(stderr,
                    "run: stopped (%s); the checkpoint is %s\n"
                    "run: continue with: %s\n",
                    err.msg, ckpt_path, again);
            rc = 1;
            goto stopped;
        }
        goto fail;
    }
    rep_machine machine;
    rep_machine_probe(&machine, (int)threads);
    if (rep_write_study(&study, &machine, NULL, &report, &err))
        goto fail;
    if (unlink(ckpt_path) != 0 && file_exists(ckpt_path))
        fprintf(stderr, "run: warning: could not remove the checkpoint %s\n", ckpt_path);
    const cJSON *one[1] = {report};
    table = rep_table(one, 1, false, true);
    if (!table) {
        cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory (table)");
        goto fail;
    }
    clear_live(&pg);
    fputs(table, stdout);
    fflush(stdout);
    if (!quiet)
        fprintf(stderr, "run: wrote %s%s%s (%.1f s)\n", study.report_path,
                models ? ", models in " : "", models ? study.model_dir : "", study.wall_s);
    rc = 0;
    goto done;
fail:
    clear_live(&pg);
    cs_err_print(&err, stderr);
    rc = cs_err_exit_code(&err);
stopped:
    if (cfg && models) { /* the output check made it: no empty model folder is left behind */
        char dir[1100];
        fl_model_dir(out ? out : cfg->report.path, dir, sizeof dir);
        rmdir(dir); /* only when empty */
    }
done:
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    free(table);
    free(again);
    cJSON_Delete(report);
    fl_ckpt_free(&ck);
    fl_study_free(&study);
    nn_data_free(&ds);
    sim_plan_free(&plan);
    scn_free(cfg);
done_early:
    free(sets);
    return rc;
}
