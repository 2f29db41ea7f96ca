/* cmd_run.c - constsim run: federated learning over link windows, one run per wire precision,
 * the report JSON, model files and a comparison table. */
#include "cli.h"
#include "cs.h"
#include "cs_host.h"
#include "fl_study.h"
#include "nn.h"
#include "nn_data.h"
#include "rep.h"
#include "scn.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
            "the precisions to stdout.\n\n"
            "options:\n"
            "  -o FILE          report path (default: report.path, else reports/NAME.json)\n"
            "  --set KEY=VALUE  override a scenario key by its dotted path, e.g.\n"
            "                   --set federated.rounds=3 --set wire.precision=fp32,int8\n"
            "                   (repeatable; checked like values in the file)\n"
            "  --threads T      compute threads (default: all cores)\n"
            "  --no-trace       leave the event trace out of the report\n"
            "  --no-models      do not write model files\n"
            "  -q, --quiet      no progress on stderr\n\n"
            "exit status: 0 success, 1 the run failed, 2 bad usage or a bad scenario.\n");
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

int cmd_run(int argc, char **argv)
{
    const char *scenario = NULL, *out = NULL;
    long threads = 0;
    bool trace = true, models = true, quiet = false;
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
    cJSON *report = NULL;
    char *table = NULL;
    prog pg = {.tty = cli_progress_tty(), .quiet = quiet};
    if (scn_load(scenario, sets, n_sets, &cfg, &err))
        goto fail;
    if (threads <= 0)
        threads = cs_host_cpus();
    nn_set_threads((int)threads);
    fl_study_opts so = {.report_path = out,
                        .trace = trace,
                        .save_models = models,
                        .progress = on_progress,
                        .progress_user = &pg};
    if (!quiet)
        fprintf(stderr,
                "run: %s (%s): %d rounds x %zu precision(s), %zu satellites, %zu stations, "
                "%d threads\n",
                cfg->name, scenario, cfg->federated.rounds, cfg->wire.n_precision,
                cfg->constellation.n_satellites, cfg->n_stations, (int)threads);
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
    if (fl_study_run(cfg, &plan, &ds, &so, &study, &err))
        goto fail;
    rep_machine machine;
    rep_machine_probe(&machine, (int)threads);
    if (!(report = rep_build_on(&study, &machine, &err)) ||
        rep_write(report, study.report_path, &err))
        goto fail;
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
done:
    free(table);
    cJSON_Delete(report);
    fl_study_free(&study);
    nn_data_free(&ds);
    sim_plan_free(&plan);
    scn_free(cfg);
done_early:
    free(sets);
    return rc;
}
