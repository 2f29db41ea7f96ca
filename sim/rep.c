/* rep.c - the report JSON (docs/report.md), atomic writing, loading, the comparison table. */
#include "rep.h"

#include "cs_buf.h"
#include "cs_host.h"
#include "cs_sha256.h"
#include "nn_codec.h"
#include "nn_ptq.h"
#include "rep_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Builders that remember a failed allocation in *ok (checked once at the end). */
typedef struct jb {
    bool ok;
} jb;

static cJSON *chk(jb *b, cJSON *x)
{
    if (!x)
        b->ok = false;
    return x;
}

cJSON *rep_number(double x)
{
    char buf[40];
    cs_fmt_double(buf, sizeof buf, x);
    return cJSON_CreateRaw(buf);
}

static void num(jb *b, cJSON *o, const char *k, double x)
{
    if (!o)
        return;
    cJSON *n = chk(b, rep_number(x));
    if (n && !cJSON_AddItemToObject(o, k, n)) {
        cJSON_Delete(n);
        b->ok = false;
    }
}

static void u64(jb *b, cJSON *o, const char *k, uint64_t x)
{
    CS_ASSERT(x <= (1ull << 53)); /* exact in a JSON number */
    num(b, o, k, (double)x);
}

static void str(jb *b, cJSON *o, const char *k, const char *s)
{
    if (o)
        chk(b, cJSON_AddStringToObject(o, k, s));
}

static void boolean(jb *b, cJSON *o, const char *k, bool v)
{
    if (o)
        chk(b, cJSON_AddBoolToObject(o, k, v));
}

static void null_item(jb *b, cJSON *o, const char *k)
{
    if (o)
        chk(b, cJSON_AddNullToObject(o, k));
}

static cJSON *obj(jb *b, cJSON *o, const char *k)
{
    return o ? chk(b, cJSON_AddObjectToObject(o, k)) : NULL;
}

static cJSON *arr(jb *b, cJSON *o, const char *k)
{
    return o ? chk(b, cJSON_AddArrayToObject(o, k)) : NULL;
}

static cJSON *push_obj(jb *b, cJSON *a)
{
    if (!a)
        return NULL;
    cJSON *o = chk(b, cJSON_CreateObject());
    if (o && !cJSON_AddItemToArray(a, o)) {
        cJSON_Delete(o);
        b->ok = false;
        return NULL;
    }
    return o;
}

static void push(jb *b, cJSON *a, cJSON *item)
{
    if (!item) {
        b->ok = false;
        return;
    }
    if (!a || !cJSON_AddItemToArray(a, item)) {
        cJSON_Delete(item);
        b->ok = false;
    }
}

static void station_use_json(jb *b, cJSON *o, const char *name, const fl_station_use *u)
{
    str(b, o, "station", name);
    u64(b, o, "bytes_to_sat", u->bytes_to_sat);
    u64(b, o, "bytes_to_ground", u->bytes_to_ground);
    u64(b, o, "transfers_to_sat", u->transfers_to_sat);
    u64(b, o, "transfers_to_ground", u->transfers_to_ground);
    u64(b, o, "partial_bytes_to_sat", u->partial_bytes_to_sat);
    u64(b, o, "partial_bytes_to_ground", u->partial_bytes_to_ground);
    u64(b, o, "sessions", u->sessions);
    u64(b, o, "contact_minutes", u->contact_minutes);
}

static void round_json(jb *b, cJSON *o, const fl_study *s, const fl_round *rd,
                       const fl_station_use *use, bool finished)
{
    num(b, o, "round", rd->round);
    num(b, o, "sim_time_s", rd->t_end_s);
    num(b, o, "start_s", rd->t_start_s);
    num(b, o, "clients_selected", rd->selected);
    num(b, o, "clients_reported", rd->reported);
    num(b, o, "late_updates", rd->late);
    num(b, o, "uplinks_cancelled", rd->uplinks_cancelled);
    num(b, o, "deferred", rd->deferred);
    if (finished) {
        boolean(b, o, "deadline_hit", rd->deadline_hit);
        num(b, o, "samples", rd->samples);
        num(b, o, "accuracy", rd->accuracy);
        num(b, o, "loss", rd->loss);
    }
    u64(b, o, "bytes_to_sat", rd->bytes_to_sat);
    u64(b, o, "bytes_to_ground", rd->bytes_to_ground);
    u64(b, o, "contact_minutes", rd->contact_minutes);
    num(b, o, "cost_usd", rd->cost_usd);
    cJSON *st = arr(b, o, "stations");
    for (size_t k = 0; k < s->cfg->n_stations; k++)
        station_use_json(b, push_obj(b, st), s->cfg->stations[k].name, &use[k]);
}

static const char *trace_event_name(const fl_trace_event *t)
{
    if (t->kind == FL_TR_LINK_START)
        return t->dir == FL_UP ? "up_start" : "down_start";
    if (t->kind == FL_TR_LINK_END)
        return t->dir == FL_UP ? "up_end" : "down_end";
    return fl_trace_kind_name((fl_trace_kind)t->kind);
}

static void trace_json(jb *b, cJSON *run, const fl_result *r)
{
    cJSON *t = obj(b, run, "trace");
    cJSON *f = arr(b, t, "fields");
    static const char *const fields[] = {"t_s",     "event", "round", "sat",
                                         "station", "bytes", "value", "antenna"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        push(b, f, cJSON_CreateString(fields[i]));
    u64(b, t, "events_recorded", r->n_trace);
    /* The run could not store every event (out of memory): say so rather than cut silently. */
    boolean(b, t, "truncated", r->trace_truncated);
    u64(b, t, "events_dropped", r->trace_dropped);
    cJSON *ev = arr(b, t, "events");
    for (size_t i = 0; i < r->n_trace && b->ok; i++) {
        const fl_trace_event *e = &r->trace[i];
        cJSON *row = cJSON_CreateArray();
        push(b, ev, row);
        if (!b->ok)
            break;
        push(b, row, rep_number(e->t_s));
        push(b, row, cJSON_CreateString(trace_event_name(e)));
        push(b, row, rep_number(e->round));
        push(b, row, rep_number(e->sat));
        push(b, row, rep_number(e->station));
        push(b, row, rep_number((double)e->bytes));
        push(b, row, rep_number(e->value));
        push(b, row,
             rep_number(e->antenna)); /* last: readers of the first seven columns still work */
    }
}

static const fl_result *fp32_run(const fl_study *s)
{
    for (size_t i = 0; i < s->n_runs; i++)
        if (s->runs[i].precision == NN_PREC_FP32)
            return &s->runs[i];
    return NULL;
}

double rep__drop_pct(double fp32_accuracy, double accuracy)
{
    return (fp32_accuracy - accuracy) * 100.0;
}

static void run_json(jb *b, cJSON *o, const fl_study *s, size_t ri)
{
    const fl_result *r = &s->runs[ri];
    const fl_result *ref = fp32_run(s);
    size_t n_st = s->cfg->n_stations;
    str(b, o, "precision", nn_precision_name(r->precision));
    u64(b, o, "payload_bytes", r->payload_bytes);
    num(b, o, "compression_ratio", (double)r->payload_bytes_fp32 / (double)r->payload_bytes);
    cJSON *rounds = arr(b, o, "rounds");
    for (size_t i = 0; i < r->n_rounds; i++)
        round_json(b, push_obj(b, rounds), s, &r->rounds[i], &r->use[i * n_st], true);
    if (r->has_unfinished)
        round_json(b, obj(b, o, "unfinished_round"), s, &r->unfinished, &r->use[r->n_rounds * n_st],
                   false);
    else
        null_item(b, o, "unfinished_round");

    cJSON *f = obj(b, o, "final");
    num(b, f, "accuracy", r->accuracy);
    num(b, f, "loss", r->loss);
    if (ref)
        num(b, f, "accuracy_drop_pct", rep__drop_pct(ref->accuracy, r->accuracy));
    else
        null_item(b, f, "accuracy_drop_pct");
    u64(b, f, "bytes_to_sat", r->bytes_to_sat);
    u64(b, f, "bytes_to_ground", r->bytes_to_ground);
    u64(b, f, "bytes_total", r->bytes_to_sat + r->bytes_to_ground);
    num(b, f, "cost_usd", r->cost_usd);
    num(b, f, "rounds_completed", (double)r->n_rounds);
    num(b, f, "sim_time_s", r->sim_time_s);
    num(b, f, "wall_time_s", r->wall_time_s);
    if (s->model_paths[ri][0])
        str(b, f, "model_path", s->model_paths[ri]);
    else
        null_item(b, f, "model_path"); /* --no-models */
    if (s->model_sha256[ri][0])
        str(b, f, "model_sha256", s->model_sha256[ri]);
    else
        null_item(b, f, "model_sha256");
    u64(b, f, "contact_minutes", r->contact_minutes);
    num(b, f, "updates_received", r->updates_received);
    num(b, f, "updates_late", r->updates_late);
    num(b, f, "end_time_s", r->end_time_s);
    boolean(b, f, "horizon_hit", r->horizon_hit);

    cJSON *st = arr(b, o, "stations");
    for (size_t k = 0; k < n_st; k++) {
        cJSON *so = push_obj(b, st);
        const fl_station_use *u = &r->station_totals[k];
        const scn_station *cs = &s->cfg->stations[k];
        station_use_json(b, so, cs->name, u);
        num(b, so, "cost_usd",
            fl_bill_add(0, cs, u->bytes_to_sat + u->bytes_to_ground, u->contact_minutes));
    }
    cJSON *e = obj(b, o, "engine");
    u64(b, e, "events_scheduled", r->engine.scheduled);
    u64(b, e, "events_dispatched", r->engine.dispatched);
    u64(b, e, "events_stale", r->engine.stale);
    u64(b, e, "max_pending", r->engine.max_pending);
    if (r->traced)
        trace_json(b, o, r);
}

static void ptq_json(jb *b, cJSON *root, const fl_study *s)
{
    if (!s->has_ptq) {
        null_item(b, root, "ptq");
        return;
    }
    cJSON *p = obj(b, root, "ptq");
    str(b, p, "source_run", nn_precision_name(s->runs[s->ptq_source_run].precision));
    for (int i = 0; i < NN_PTQ_ROWS; i++) {
        const fl_ptq_entry *e = &s->ptq[i];
        cJSON *o = obj(b, p, nn_precision_name(e->precision));
        num(b, o, "accuracy", e->accuracy);
        num(b, o, "loss", e->loss);
        u64(b, o, "file_bytes", e->file_bytes);
        num(b, o, "compression_ratio", e->compression_ratio);
        num(b, o, "accuracy_drop_pct", e->accuracy_drop_pct);
        if (e->path[0])
            str(b, o, "path", e->path);
        else
            null_item(b, o, "path");
        if (e->sha256[0])
            str(b, o, "sha256", e->sha256);
        else
            null_item(b, o, "sha256");
    }
}

void rep_machine_probe(rep_machine *m, int threads)
{
    memset(m, 0, sizeof *m);
    m->constsim_version = cs_build_version();
    m->threads = threads;
    m->blas = nn_blas_describe();
    m->conv = nn_conv_kernels();
    cs_host_cpu_model(m->cpu, sizeof m->cpu);
    m->cores = cs_host_cpus();
}

static const char *or_unknown(const char *s)
{
    return s && s[0] ? s : "unknown";
}

static void machine_json(jb *b, cJSON *o, const rep_machine *m)
{
    str(b, o, "constsim_version", or_unknown(m->constsim_version));
    num(b, o, "threads", m->threads);
    num(b, o, "cores", m->cores);
    str(b, o, "cpu", or_unknown(m->cpu));
    cJSON *bl = obj(b, o, "blas");
    str(b, bl, "library", or_unknown(m->blas.library));
    str(b, bl, "config", or_unknown(m->blas.config));
    str(b, bl, "core", or_unknown(m->blas.core));
    num(b, bl, "threads", m->blas.threads);
    str(b, o, "conv_kernels", or_unknown(m->conv));
}

cJSON *rep_build(const fl_study *s, cs_err *err)
{
    return rep_build_on(s, NULL, err);
}

cJSON *rep_build_on(const fl_study *s, const rep_machine *machine, cs_err *err)
{
    jb b = {true};
    const scn_config *cfg = s->cfg;
    rep_machine probed;
    if (!machine) {
        rep_machine_probe(&probed, nn_threads());
        machine = &probed;
    }
    cJSON *root = chk(&b, cJSON_CreateObject());
    str(&b, root, "format", REP_FORMAT);
    str(&b, root, "status", "complete");
    str(&b, root, "constsim_version", CONSTSIM_VERSION);
    machine_json(&b, obj(&b, root, "machine"), machine);
    cJSON *sc = scn_to_json(cfg);
    if (!sc || !root || !cJSON_AddItemToObject(root, "scenario", sc)) {
        cJSON_Delete(sc);
        b.ok = false;
    }

    cJSON *m = obj(&b, root, "model");
    str(&b, m, "name", "eurosat-cnn");
    num(&b, m, "parameters", NN_PARAMS);
    num(&b, m, "buffers", NN_BUFFERS);
    num(&b, m, "train_flops_per_image", nn_model_train_flops_per_image());

    cJSON *d = obj(&b, root, "dataset");
    str(&b, d, "root", s->ds->root);
    u64(&b, d, "images", s->ds->n);
    u64(&b, d, "train", s->n_train);
    u64(&b, d, "test", s->n_test);
    str(&b, d, "partition", scn_partition_name(cfg->dataset.partition));
    num(&b, d, "dirichlet_draws", s->parts.draws);
    cJSON *cs = arr(&b, d, "client_samples");
    for (size_t c = 0; c < s->parts.n_clients; c++)
        push(&b, cs, rep_number((double)(s->parts.off[c + 1] - s->parts.off[c])));
    num(&b, d, "wall_time_s", s->ds->load_wall_s);

    cJSON *c = obj(&b, root, "contacts");
    sim_station_summary *per = calloc(s->plan->n_stations ? s->plan->n_stations : 1, sizeof *per);
    double total_s = 0;
    if (!per)
        b.ok = false;
    else
        sim_plan_summary(s->plan, per, &total_s);
    u64(&b, c, "windows", s->plan->windows.n);
    num(&b, c, "total_s", total_s);
    size_t client_windows = 0;
    for (size_t i = 0; i < s->plan->windows.n; i++)
        if (s->plan->windows.w[i].sat < (uint32_t)cfg->federated.clients)
            client_windows++;
    u64(&b, c, "client_windows", client_windows);
    cJSON *ps = arr(&b, c, "per_station");
    for (size_t k = 0; per && k < s->plan->n_stations; k++) {
        cJSON *o = push_obj(&b, ps);
        str(&b, o, "station", cfg->stations[k].name);
        u64(&b, o, "windows", per[k].windows);
        num(&b, o, "total_s", per[k].total_s);
    }
    free(per);
    num(&b, c, "compute_wall_s", s->plan->compute_wall_s);

    cJSON *runs = arr(&b, root, "runs");
    for (size_t i = 0; i < s->n_runs; i++)
        run_json(&b, push_obj(&b, runs), s, i);
    ptq_json(&b, root, s);
    num(&b, root, "wall_time_s", s->wall_s);
    if (!b.ok) {
        cJSON_Delete(root);
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (report)");
        return NULL;
    }
    return root;
}

/* j as the text of a report file (formatted, ending in a newline); NULL when out of memory. */
static char *report_text(const cJSON *j, size_t *len)
{
    char *text = cJSON_Print(j);
    if (!text)
        return NULL;
    *len = strlen(text);
    text[*len] = '\n'; /* replaces the terminator: written with its length */
    *len += 1;
    return text;
}

int rep_write(const cJSON *j, const char *path, cs_err *err)
{
    size_t len;
    char *text = report_text(j, &len);
    if (!text)
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (report text)");
    int rc = cs_write_file_in_dir(path, text, len, err);
    cJSON_free(text);
    return rc;
}

int rep_write_incomplete(const scn_config *cfg, const char *path, const char *checkpoint,
                         const char *resume, cs_err *err)
{
    jb b = {true};
    cJSON *root = chk(&b, cJSON_CreateObject());
    str(&b, root, "format", REP_FORMAT);
    str(&b, root, "status", "incomplete");
    str(&b, root, "constsim_version", CONSTSIM_VERSION);
    str(&b, root, "note",
        "the run writing this report has not finished (it is running, or was stopped); the "
        "complete report replaces this file");
    if (checkpoint)
        str(&b, root, "checkpoint", checkpoint);
    else
        null_item(&b, root, "checkpoint");
    if (resume)
        str(&b, root, "resume_command", resume);
    else
        null_item(&b, root, "resume_command");
    cJSON *sc = scn_to_json(cfg);
    if (!sc || !root || !cJSON_AddItemToObject(root, "scenario", sc)) {
        cJSON_Delete(sc);
        b.ok = false;
    }
    int rc = b.ok ? rep_write(root, path, err)
                  : cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (report)");
    cJSON_Delete(root);
    return rc;
}

typedef struct staged {
    char tmp[1200];
    const char *path;
} staged;

/* Stages data for path as staged file *n (++); computes its SHA-256 into hex when not NULL. */
static int stage(staged *st, size_t *n, const char *path, const void *data, size_t len, char *hex,
                 cs_err *err)
{
    if (hex)
        cs_sha256_hex(data, len, hex);
    st[*n].path = path;
    st[*n].tmp[0] = '\0';
    int rc = cs_stage_file(path, data, len, st[*n].tmp, sizeof st[*n].tmp, err);
    if (rc == 0)
        (*n)++;
    return rc;
}

int rep_write_study(fl_study *s, const rep_machine *m, const cJSON *extra, cJSON **out, cs_err *err)
{
    *out = NULL;
    staged st[2 * NN_PRECISIONS + 1];
    size_t n = 0;
    int rc = 0;
    char *text = NULL;
    cJSON *j = NULL;
    if (s->save_models) {
        if ((rc = cs_mkdir_p(s->model_dir, err)))
            goto fail;
        for (size_t i = 0; i < s->n_runs; i++) {
            unsigned char *buf = NULL;
            size_t len = 0;
            const fl_result *r = &s->runs[i];
            if ((rc = nn_codec_encode(NN_PREC_FP32, r->state, r->tracked, NULL, &buf, &len, err)))
                goto fail;
            rc = stage(st, &n, s->model_paths[i], buf, len, s->model_sha256[i], err);
            free(buf);
            if (rc)
                goto fail;
        }
        for (int p = 0; s->has_ptq && p < NN_PTQ_ROWS; p++) {
            fl_ptq_entry *e = &s->ptq[p];
            if (e->path[0] && s->ptq_payload[p] &&
                (rc = stage(st, &n, e->path, s->ptq_payload[p], e->file_bytes, e->sha256, err)))
                goto fail;
        }
    }
    size_t len;
    if (!(j = rep_build_on(s, m, err))) {
        rc = err->code ? err->code : CS_ENOMEM;
        goto fail;
    }
    const cJSON *x;
    cJSON_ArrayForEach(x, extra)
    {
        cJSON *dup = cJSON_Duplicate(x, true);
        if (!dup || !cJSON_AddItemToObject(j, x->string, dup)) {
            cJSON_Delete(dup);
            rc = cs_err_set(err, CS_ENOMEM, s->report_path, 0, 0, "out of memory (report)");
            goto fail;
        }
    }
    if (!(text = report_text(j, &len))) {
        rc = cs_err_set(err, CS_ENOMEM, s->report_path, 0, 0, "out of memory (report text)");
        goto fail;
    }
    if ((rc = stage(st, &n, s->report_path, text, len, NULL, err)))
        goto fail;
    /* The models first, the report last: a report on disk always names models that are there. */
    for (size_t i = 0; i < n; i++) {
        if ((rc = cs_commit_file(st[i].tmp, st[i].path, err)))
            goto fail;
        st[i].tmp[0] = '\0';
    }
    cJSON_free(text);
    *out = j;
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        cs_discard_file(st[i].tmp);
    if (s->save_models)
        rmdir(s->model_dir); /* only when empty: no folder without models is left behind */
    cJSON_free(text);
    cJSON_Delete(j);
    return rc;
}

int rep_parse_json(const char *path, cJSON **out, cs_err *err)
{
    *out = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = cs_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    rc = rep_parse_json_text(path, (const char *)data, len, out, err);
    free(data);
    return rc;
}

int rep_parse_json_text(const char *path, const char *text, size_t len, cJSON **out, cs_err *err)
{
    *out = NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!j) {
        long long off = end ? (long long)(end - text) : 0;
        return cs_err_set_at(err, CS_EINVAL, path, off, "not valid JSON");
    }
    /* cJSON stops after the value: only blanks may follow */
    size_t pos = (size_t)(end - text);
    while (pos < len &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
        pos++;
    if (pos < len) {
        cJSON_Delete(j);
        return cs_err_set_at(err, CS_EINVAL, path, (long long)pos,
                             "not valid JSON: text after the JSON value");
    }
    *out = j;
    return 0;
}

int rep_check_report(const cJSON *j, const char *path, cs_err *err)
{
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, REP_FORMAT) != 0)
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "not a constsim report (\"format\" is not \"%s\")", REP_FORMAT);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
    if (cJSON_IsString(status) && strcmp(status->valuestring, "complete") != 0) {
        const cJSON *how = cJSON_GetObjectItemCaseSensitive(j, "resume_command");
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "an incomplete report (status \"%s\"): its run has not finished%s%s",
                          status->valuestring, cJSON_IsString(how) ? "; continue it with: " : "",
                          cJSON_IsString(how) ? how->valuestring : "");
    }
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "runs")))
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "report without a \"runs\" array");
    return 0;
}

int rep_load(const char *path, cJSON **out, cs_err *err)
{
    *out = NULL;
    cJSON *j = NULL;
    int rc = rep_parse_json(path, &j, err);
    if (rc)
        return rc;
    if ((rc = rep_check_report(j, path, err))) {
        cJSON_Delete(j);
        return rc;
    }
    *out = j;
    return 0;
}

/* ---- the table ------------------------------------------------------------------------------- */

double rep__num(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(x))
        return x->valuedouble;
    if (cJSON_IsRaw(x) && x->valuestring) {
        char *end = NULL;
        double v = strtod(x->valuestring, &end);
        if (end != x->valuestring && *end == '\0')
            return v;
    }
    return NAN;
}

const char *rep__str(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : "?";
}

char *rep_table(const cJSON *const *reports, size_t n, bool with_scenario, bool with_wall)
{
    cs_buf s = {0};
    if (with_scenario)
        cs_buf_printf(&s, "%-24s ", "scenario");
    cs_buf_printf(&s, "%-9s %9s %8s %11s %8s %12s %12s %7s %10s", "precision", "accuracy", "drop",
                  "payload", "compress", "bytes", "cost", "rounds", "sim time");
    if (with_wall)
        cs_buf_printf(&s, " %10s", "wall time");
    cs_buf_printf(&s, "\n");
    for (size_t i = 0; i < n; i++) {
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(reports[i], "scenario");
        const cJSON *runs = cJSON_GetObjectItemCaseSensitive(reports[i], "runs");
        const cJSON *run;
        cJSON_ArrayForEach(run, runs)
        {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(run, "final");
            if (with_scenario)
                cs_buf_printf(&s, "%-24.24s ", rep__str(sc, "name"));
            double drop = rep__num(f, "accuracy_drop_pct");
            char drop_s[32], sim_s[32], wall_s[32];
            if (isnan(drop))
                snprintf(drop_s, sizeof drop_s, "-");
            else
                snprintf(drop_s, sizeof drop_s, "%+.2f", drop);
            cs_fmt_duration(sim_s, sizeof sim_s, rep__num(f, "sim_time_s"));
            cs_fmt_duration(wall_s, sizeof wall_s, rep__num(f, "wall_time_s"));
            double comp = rep__num(run, "compression_ratio");
            char comp_s[32];
            if (isnan(comp))
                snprintf(comp_s, sizeof comp_s, "-");
            else
                snprintf(comp_s, sizeof comp_s, "%.2fx", comp);
            cs_buf_printf(&s, "%-9s %8.2f%% %8s %8.3f MB %8s %9.2f MB %12.2f %7.0f %10s",
                          rep__str(run, "precision"), 100 * rep__num(f, "accuracy"), drop_s,
                          rep__num(run, "payload_bytes") / 1e6, comp_s,
                          rep__num(f, "bytes_total") / 1e6, rep__num(f, "cost_usd"),
                          rep__num(f, "rounds_completed"), sim_s);
            if (with_wall)
                cs_buf_printf(&s, " %10s", wall_s);
            cs_buf_printf(&s, "\n");
        }
    }
    return cs_buf_take(&s);
}

/* The BLAS kernel set and the convolution kernels of a report's machine ("SkylakeX +
 * direct-avx512"; reports from before conv_kernels give the BLAS set alone); false without a
 * machine. (The thread count does not change results, docs/simulation.md.) */
static bool machine_key(const cJSON *r, char *out, size_t cap)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "machine");
    if (!cJSON_IsObject(m))
        return false;
    const char *core = rep__str(cJSON_GetObjectItemCaseSensitive(m, "blas"), "core");
    const cJSON *conv = cJSON_GetObjectItemCaseSensitive(m, "conv_kernels");
    if (cJSON_IsString(conv))
        snprintf(out, cap, "%s + %s", core, conv->valuestring);
    else
        snprintf(out, cap, "%s", core);
    return true;
}

bool rep_machine_note(const cJSON *const *reports, size_t n, char *out, size_t cap)
{
    char seen[8][96];
    size_t n_seen = 0, more = 0;
    for (size_t i = 0; i < n; i++) {
        char key[96];
        if (!machine_key(reports[i], key, sizeof key))
            continue;
        bool known = false;
        for (size_t k = 0; k < n_seen && !known; k++)
            known = strcmp(seen[k], key) == 0;
        if (known)
            continue;
        if (n_seen < sizeof seen / sizeof seen[0])
            snprintf(seen[n_seen++], sizeof seen[0], "%s", key);
        else
            more++;
    }
    if (n_seen < 2)
        return false;
    size_t len = (size_t)snprintf(
        out, cap, "note: the reports ran with different BLAS or convolution kernels (");
    for (size_t k = 0; k < n_seen && len < cap; k++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", k ? "; " : "", seen[k]);
    if (len < cap)
        snprintf(out + len, cap - len, "%s): their figures can differ", more ? "; ..." : "");
    return true;
}
