/* fl_study.c - a whole scenario over a borrowed contact plan and dataset: split, partitions,
 * one FL run per wire precision, PTQ and model files (see fl_study.h). */
#include "fl_study.h"

#include "fl_train.h"

#include "fl_ckpt.h"

#include "nn_ptq.h"
#include "nn_train.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_model_dir(const char *report_path, char *out, size_t cap)
{
    size_t n = strlen(report_path);
    if (n > 5 && strcmp(report_path + n - 5, ".json") == 0)
        snprintf(out, cap, "%.*s", (int)(n - 5), report_path);
    else
        snprintf(out, cap, "%s.models", report_path);
}

static void stage(const fl_study_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void stage(const fl_study_opts *o, const char *fmt, ...)
{
    if (!o->progress)
        return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fl_progress p = {.kind = FL_PROG_STAGE, .text = text};
    o->progress(o->progress_user, &p);
}

void fl_study_free(fl_study *s)
{
    if (!s)
        return;
    fl_trainer_destroy(s->trainer);
    free(s->train);
    free(s->test);
    fl_partitions_free(&s->parts);
    for (size_t i = 0; i < NN_PRECISIONS; i++) {
        fl_result_free(&s->runs[i]);
        free(s->ptq_payload[i]);
    }
    memset(s, 0, sizeof *s);
}

static int check_path(const char *path, size_t cap, cs_err *err)
{
    if (strlen(path) + 1 >= cap)
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "path too long (at most %zu bytes)", cap - 2);
    return 0;
}

/* Post-training quantisation of the final model of run src. */
static int ptq_run(fl_study *s, const fl_study_opts *o, size_t src, cs_err *err)
{
    const fl_result *r = &s->runs[src];
    s->ptq_source_run = src;
    nn_ptq_row rows[NN_PTQ_ROWS];
    int rc = nn_ptq_run(NULL, r->state, r->tracked, s->ds, s->test, s->n_test, rows, err);
    for (int p = 0; p < NN_PTQ_ROWS && !rc; p++) {
        fl_ptq_entry *e = &s->ptq[p];
        e->precision = (nn_precision)p;
        e->accuracy = rows[p].accuracy;
        e->loss = rows[p].loss;
        e->file_bytes = rows[p].file_bytes;
        e->compression_ratio = rows[p].compression_ratio;
        e->accuracy_drop_pct = rows[p].accuracy_drop_pct;
        e->path[0] = '\0';
        e->sha256[0] = '\0';
        if (o->save_models) { /* written with the report (rep_write_study) */
            snprintf(e->path, sizeof e->path, "%s/ptq-%s.safetensors", s->model_dir,
                     nn_precision_name((nn_precision)p));
            free(s->ptq_payload[p]);
            s->ptq_payload[p] = rows[p].payload;
            rows[p].payload = NULL;
        }
    }
    nn_ptq_free(rows);
    if (rc)
        return rc;
    s->has_ptq = true;
    stage(o,
          "ptq: fp32 %.2f%%, fp16 %.2f%%, int8 %.2f%%, int4 %.2f%%, ternary %.2f%% (final model "
          "of the %s run)",
          100 * s->ptq[0].accuracy, 100 * s->ptq[1].accuracy, 100 * s->ptq[2].accuracy,
          100 * s->ptq[3].accuracy, 100 * s->ptq[4].accuracy, nn_precision_name(r->precision));
    return 0;
}

int fl_study_check_plan(const scn_config *cfg, const sim_plan *plan, cs_err *err)
{
    const char *why = NULL;
    if (plan->jd_epoch != cfg->epoch_jd)
        why = "another epoch";
    else if (plan->duration_s != cfg->duration_s)
        why = "another duration";
    else if (plan->n_sats != cfg->constellation.n_satellites)
        why = "another number of satellites";
    else if (plan->n_stations != cfg->n_stations)
        why = "another number of ground stations";
    for (size_t k = 0; !why && k < cfg->n_stations; k++) {
        const scn_station *s = &cfg->stations[k];
        const orb_station *o = &plan->stations[k];
        if (o->lat_deg != s->lat_deg || o->lon_deg != s->lon_deg || o->alt_m != s->alt_m ||
            o->min_elevation_deg != s->min_elevation_deg)
            why = "a ground station elsewhere or with another elevation mask";
    }
    if (why)
        return cs_err_set(err, CS_EINVAL, cfg->file, 0, 0,
                          "the contact plan was computed for %s than this scenario", why);
    return 0;
}

int fl_study_begin(const scn_config *cfg, const sim_plan *plan, const nn_dataset *ds,
                   const fl_study_opts *opts, fl_study *out, cs_err *err)
{
    memset(out, 0, sizeof *out);
    out->cfg = cfg;
    out->plan = plan;
    out->ds = ds;
    out->t0_wall_s = cs_wall_s();
    const char *rp = opts->report_path ? opts->report_path : cfg->report.path;
    int rc;
    if ((rc = check_path(rp, sizeof out->model_dir - 20, err)) ||
        (rc = fl_study_check_plan(cfg, plan, err)))
        return rc;
    snprintf(out->report_path, sizeof out->report_path, "%s", rp);
    fl_model_dir(rp, out->model_dir, sizeof out->model_dir);

    /* Split and partitions. */
    if ((rc = nn_data_split(ds, cfg->dataset.test_fraction, cfg->seed, &out->train, &out->n_train,
                            &out->test, &out->n_test, err)))
        return rc;
    if ((rc = fl_partition(ds, out->train, out->n_train, (size_t)cfg->federated.clients,
                           cfg->dataset.partition, cfg->dataset.alpha,
                           cfg->dataset.max_samples_per_client, cfg->seed, &out->parts, err)))
        return rc;
    size_t lo = (size_t)-1, hi = 0;
    for (size_t c = 0; c < out->parts.n_clients; c++) {
        size_t n = out->parts.off[c + 1] - out->parts.off[c];
        lo = n < lo ? n : lo;
        hi = n > hi ? n : hi;
    }
    stage(opts,
          "split: %zu train, %zu test; partitions: %zu clients (%s), %zu..%zu images each, %zu in "
          "all",
          out->n_train, out->n_test, out->parts.n_clients,
          scn_partition_name(cfg->dataset.partition), lo, hi, out->parts.off[out->parts.n_clients]);

    out->save_models = opts->save_models;
    if (!(out->trainer =
              fl_trainer_create(opts->threads > 0 ? opts->threads : nn_threads(),
                                cfg->federated.clients_per_round, cfg->federated.batch_size, err)))
        return err->code ? err->code : CS_ENOMEM;
    return 0;
}

void fl_study_env(const fl_study *s, const fl_study_opts *opts, size_t i, fl_env *env)
{
    *env = (fl_env){.cfg = s->cfg,
                    .plan = s->plan,
                    .ds = s->ds,
                    .test = s->test,
                    .n_test = s->n_test,
                    .parts = &s->parts,
                    .trace = opts->trace,
                    .trainer = s->trainer,
                    .progress = opts->progress,
                    .progress_user = opts->progress_user,
                    .observe = opts->observe,
                    .observe_user = opts->observe_user,
                    .run_index = i,
                    .n_runs = s->cfg->wire.n_precision};
}

int fl_study_add_run(fl_study *s, const fl_study_opts *opts, fl_result *res, cs_err *err)
{
    size_t i = s->n_runs;
    CS_ASSERT(i < s->cfg->wire.n_precision && res->precision == s->cfg->wire.precision[i]);
    s->runs[i] = *res;
    memset(res, 0, sizeof *res);
    s->n_runs = i + 1;
    (void)err;
    snprintf(s->model_paths[i], sizeof s->model_paths[i], "%s/%s.safetensors", s->model_dir,
             nn_precision_name(s->runs[i].precision));
    s->model_sha256[i][0] = '\0';
    if (!opts->save_models)
        s->model_paths[i][0] = '\0';
    return 0;
}

int fl_study_finish(fl_study *s, const fl_study_opts *opts, cs_err *err)
{
    if (s->cfg->report.ptq && s->n_runs > 0) {
        size_t src = 0;
        for (size_t i = 0; i < s->n_runs; i++)
            if (s->runs[i].precision == NN_PREC_FP32) {
                src = i;
                break;
            }
        int rc = ptq_run(s, opts, src, err);
        if (rc)
            return rc;
    }
    s->wall_s = cs_wall_s() - s->t0_wall_s;
    return 0;
}

typedef struct ckpt_ctx {
    fl_study *s;
    const fl_study_opts *o;
} ckpt_ctx;

static int on_checkpoint(void *user, const fl_run *r, cs_err *err)
{
    const ckpt_ctx *c = user;
    return fl_ckpt_write(c->o->checkpoint_path, c->s, c->o->ident, r, err);
}

/* Restores the finished runs of opts->resume into s; leaves *rd at the record of the run in
 * progress (*has_cur) */
static int resume_results(fl_study *s, const fl_study_opts *o, cs_rd *rd, bool *has_cur,
                          cs_err *err)
{
    const fl_ckpt *c = o->resume;
    *rd = fl_ckpt_body(c);
    cs_rd_tag(rd, "STDY");
    size_t n = (size_t)cs_rd_count(rd, s->cfg->wire.n_precision, "more runs than the scenario has");
    for (size_t i = 0; i < n && !rd->failed; i++) {
        fl_result res;
        int rc = fl_result_load(&res, s->cfg, rd, err);
        if (rc == CS_EINVAL && rd->failed)
            break;
        if (rc)
            return rc;
        if (res.precision != s->cfg->wire.precision[i]) {
            fl_result_free(&res);
            cs_rd_fail(rd, "a run of another precision than the scenario's");
            break;
        }
        if ((rc = fl_study_add_run(s, o, &res, err)))
            return rc;
    }
    *has_cur = cs_rd_bool(rd);
    if (!rd->failed && *has_cur && s->n_runs >= s->cfg->wire.n_precision)
        cs_rd_fail(rd, "a run in progress after the last one");
    return rd->failed ? fl_ckpt_refuse(c, rd, err) : 0;
}

/* The end mark of a checkpoint's body, and nothing after it. */
static int end_of_checkpoint(const fl_ckpt *c, cs_rd *rd, cs_err *err)
{
    cs_rd_tag(rd, "SEND");
    if (!rd->failed && rd->off != rd->len)
        cs_rd_fail(rd, "bytes after the end of the records");
    return rd->failed ? fl_ckpt_refuse(c, rd, err) : 0;
}

static bool stop_requested(const fl_study_opts *o, cs_err *err)
{
    if (!o->checkpoint_path || !o->interrupt || !*o->interrupt)
        return false;
    cs_err_set(err, CS_EINTR, NULL, 0, 0, "interrupted between runs");
    return true;
}

int fl_study_run(const scn_config *cfg, const sim_plan *plan, const nn_dataset *ds,
                 const fl_study_opts *opts, fl_study *out, cs_err *err)
{
    int rc = fl_study_begin(cfg, plan, ds, opts, out, err);
    ckpt_ctx ctx = {out, opts};
    cs_rd rd = {0};
    bool has_cur = false;
    if (!rc && opts->resume)
        rc = resume_results(out, opts, &rd, &has_cur, err);
    if (!rc && opts->resume && !has_cur)
        rc = end_of_checkpoint(opts->resume, &rd, err);
    for (size_t i = out->n_runs; !rc && i < cfg->wire.n_precision; i++) {
        if (i > 0 && stop_requested(opts, err)) { /* between runs: the checkpoint is written */
            rc = CS_EINTR;
            break;
        }
        fl_env env;
        fl_study_env(out, opts, i, &env);
        if (opts->checkpoint_path) {
            env.checkpoint = on_checkpoint;
            env.checkpoint_user = &ctx;
        }
        env.interrupt = opts->interrupt;
        fl_run *r = fl_run_begin(&env, cfg->wire.precision[i], err);
        if (!r) {
            rc = err->code ? err->code : CS_EFAIL;
            break;
        }
        if (has_cur) { /* the run in progress in the checkpoint */
            has_cur = false;
            if ((rc = fl_run_load(r, &rd, err)) == 0)
                rc = end_of_checkpoint(opts->resume, &rd, err);
            if (rc) {
                if (rd.failed)
                    rc = fl_ckpt_refuse(opts->resume, &rd, err);
                fl_run_destroy(r);
                break;
            }
        }
        rc = fl_run_advance(r, cfg->duration_s, err);
        if (rc == CS_EINTR && opts->checkpoint_path) {
            cs_err keep = *err;
            if ((rc = fl_ckpt_write(opts->checkpoint_path, out, opts->ident, r, err)) == 0) {
                *err = keep;
                rc = CS_EINTR;
            }
        }
        if (rc) {
            fl_run_destroy(r);
            break;
        }
        fl_result res;
        if (!(rc = fl_run_end(r, &res, err)) && !(rc = fl_study_add_run(out, opts, &res, err)) &&
            opts->checkpoint_path)
            rc = fl_ckpt_write(opts->checkpoint_path, out, opts->ident, NULL, err);
    }
    if (!rc && out->n_runs > 0 && stop_requested(opts, err))
        rc = CS_EINTR; /* before PTQ: the checkpoint after the last run is written */
    return rc ? rc : fl_study_finish(out, opts, err);
}
