/* cmd_sweep.c - constsim sweep: every point of a grid of scenario variants as one full run,
 * sharing the decoded dataset and the contact plans, resumable, across MPI ranks
 * (docs/sweep.md). */
#include "cli.h"
#include "cli_mpi.h"
#include "cs.h"
#include "cs_host.h"
#include "cs_sha256.h"
#include "fl_study.h"
#include "nn.h"
#include "nn_data.h"
#include "rep.h"
#include "scn.h"
#include "sim_plan.h"
#include "swp.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: constsim sweep SCENARIO.yaml --set KEY=V1,V2,... [--set ...] -o DIR [OPTIONS]\n\n"
        "Runs every combination of the --set values (the Cartesian grid, the last --set varying\n"
        "fastest) as one `constsim run` each. The dataset is decoded once per process and the\n"
        "contact plan computed once per distinct orbital setup; points run longest first.\n"
        "Writes DIR/points/pNNNN.json (one report per point, atomically), DIR/sweep.json and\n"
        "DIR/sweep.csv (the aggregate; mean, sd, min, max and 95%% confidence interval over the\n"
        "seeds when seed is an axis). See docs/sweep.md.\n\n"
        "  --set KEY=V1,V2,...  one axis: any scalar scenario key and its values; a list-valued\n"
        "                   key takes one list per point, items joined by '+':\n"
        "                   --set wire.precision=fp32,int8,fp32+int8 (3 points). A single value\n"
        "                   changes every point. Every point is validated before work starts.\n"
        "  -o DIR           the sweep folder (required). Running the same command again skips\n"
        "                   the points whose report exists and retries failed ones; a different\n"
        "                   grid, scenario file or constsim version in DIR is an error\n"
        "  --jobs N         points run at once in this process (default 1), each with\n"
        "                   threads/N compute threads (lowered to the threads if larger)\n"
        "  --threads T      compute threads of this process (default: all cores; under\n"
        "                   mpirun, its share of the cores the node's ranks may use: the\n"
        "                   union of their affinity masks / ranks on the node, at most its own)\n"
        "  --models         also write each point's model files (points/pNNNN/)\n"
        "  --dry-run        validate every point and list them in the order they would run\n"
        "                   (with what DIR already holds); writes nothing\n"
        "  --no-trace       leave the event trace out of the point reports\n"
        "  -q, --quiet      no progress on stderr\n\n"
        "At the end the comparison table of the points goes to stdout (as `constsim compare\n"
        "DIR` prints it), progress and a summary line to stderr.\n\n"
        "Under `mpirun -np N constsim sweep ...` every rank takes points from a shared counter\n"
        "and writes their reports into DIR (a folder all ranks see); rank 0 writes the\n"
        "aggregate, which is the same as a serial sweep's with the same --threads.\n\n"
        "exit status: 0 every point done, 1 a point failed (recorded in sweep.json with its\n"
        "message), 2 bad usage, a bad value for some point, a DIR of another sweep, or a DIR\n"
        "that cannot be created or written (checked before any work).\n");
}

/* ---- the sweep's state ---- */

typedef struct dataset_slot {
    char root[1024];
    nn_dataset ds;
    bool loaded;
} dataset_slot;

typedef struct sweep {
    const char *scenario, *dir;
    bool trace, models, quiet, tty, dry_run;
    int jobs, threads, job_threads;
    swp_grid g;
    swp_meta meta;
    swp_point *pts;
    double *est;           /* per point: work estimate (image passes) */
    size_t *ds_of;         /* per point: index into datasets */
    uint8_t (*digest)[32]; /* per orbital setup */
    size_t n_setups;
    sim_plan *plans; /* per orbital setup, built on first use */
    bool *plan_built;
    dataset_slot *datasets;
    size_t n_datasets;
    size_t *order; /* points to run, longest first */
    size_t n_todo;
    double est_todo;
    bool *known;              /* this process knows the point's final state */
    pthread_mutex_t mu;       /* the state above and below, and MPI calls (short holds) */
    pthread_mutex_t build_mu; /* building plans and decoding datasets (long holds) */
    double t0;
    long decodes, plans_built, points_run, points_skipped;
    int rank, ranks;
    bool live; /* a live progress line is on screen */
} sweep;

static void lock(sweep *s)
{
    pthread_mutex_lock(&s->mu);
}

static void unlock(sweep *s)
{
    pthread_mutex_unlock(&s->mu);
}

static void clear_live(sweep *s)
{
    if (s->live) {
        fputs("\r\033[K", stderr);
        s->live = false;
    }
}

/* "rounds=4 clients=5": the point's values, keys shortened to their last component. */
static void point_label(const sweep *s, size_t i, char *out, size_t cap)
{
    size_t idx[64], len = 0;
    swp_point_coords(&s->g, i, idx);
    out[0] = '\0';
    for (size_t a = 0; a < s->g.n_axes && len + 1 < cap; a++) {
        const char *k = strrchr(s->g.axes[a].key, '.');
        k = k ? k + 1 : s->g.axes[a].key;
        int n =
            snprintf(out + len, cap - len, "%s%s=%s", a ? " " : "", k, s->g.axes[a].values[idx[a]]);
        len = n < 0 ? cap : len + (size_t)n;
    }
}

/* ---- files of the sweep folder ---- */

static void point_path(const sweep *s, size_t i, const char *suffix, char *out, size_t cap)
{
    char id[32];
    swp_point_id(&s->g, i, id, sizeof id);
    snprintf(out, cap, "%s/points/%s%s", s->dir, id, suffix);
}

static swp_runtime runtime_now(const sweep *s)
{
    swp_runtime rt = {.wall_time_s = cs_wall_s() - s->t0,
                      .ranks = s->ranks,
                      .threads = s->threads,
                      .jobs = s->jobs,
                      .dataset_decodes = s->decodes,
                      .contact_plans = s->plans_built,
                      .points_run = s->points_run,
                      .points_skipped = s->points_skipped};
    return rt;
}

/* sweep.json and sweep.csv from the points as this process knows them (caller holds mu or is
 * alone). */
static int write_aggregate(sweep *s, const swp_runtime *rt, cs_err *err)
{
    char path[1200];
    cJSON *j = swp_aggregate(&s->g, s->pts, &s->meta, rt);
    char *csv = swp_csv(&s->g, s->pts);
    int rc = 0;
    if (!j || !csv)
        rc = cs_err_set(err, CS_ENOMEM, s->dir, 0, 0, "out of memory (sweep aggregate)");
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/sweep.csv", s->dir);
        rc = cs_write_file_in_dir(path, csv, strlen(csv), err);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/sweep.json", s->dir);
        rc = rep_write(j, path, err);
    }
    cJSON_Delete(j);
    free(csv);
    return rc;
}

/* Reads what the folder holds about point i: a complete report of this point (done), else a
 * failure record (failed), else nothing (pending). A report of another point is an error. */
static int scan_point(sweep *s, size_t i, cs_err *err)
{
    char path[1200];
    swp_point *p = &s->pts[i];
    point_path(s, i, ".json", path, sizeof path);
    if (access(path, F_OK) == 0) {
        cJSON *r = NULL;
        int rc = rep_load(path, &r, err);
        if (rc)
            return rc;
        const cJSON *sw = cJSON_GetObjectItemCaseSensitive(r, "sweep");
        cJSON *want = swp_point_values(&s->g, i);
        bool mine = swp_json_equal(cJSON_GetObjectItemCaseSensitive(sw, "values"), want);
        cJSON_Delete(want);
        if (!mine)
            rc = cs_err_set(err, CS_EINVAL, path, 0, 0,
                            "this report is not the one of this point (its \"sweep\" values "
                            "differ): the folder holds another sweep; use another -o folder");
        if (rc == 0) {
            size_t setup = p->orbital_setup;
            rc = swp_point_from_report(r, path, p, err);
            p->orbital_setup = setup;
        }
        cJSON_Delete(r);
        return rc;
    }
    point_path(s, i, ".failed.json", path, sizeof path);
    cs_err ignore;
    if (access(path, F_OK) == 0) {
        cJSON *f = NULL;
        rep_parse_json(path, &f, &ignore); /* unreadable: still a failed point */
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(f, "message");
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(f, "exit");
        p->status = SWP_FAILED;
        snprintf(p->message, sizeof p->message, "%s",
                 cJSON_IsString(m) ? m->valuestring : "failed (unreadable failure record)");
        p->exit_code = cJSON_IsNumber(x) ? (int)x->valuedouble : 1;
        cJSON_Delete(f);
    }
    return 0;
}

/* Removes the temporary files of staged writes that a killed process left in points/ and the
 * folder: those of dead writers (.NAME.tmp-PID-XXXXXX, cs_remove_stale_temps), and, under the
 * folder's lock, points/pNNNN*.tmp* and sweep.json.tmp* / sweep.csv.tmp* of the older naming,
 * which carries no pid. */
static void remove_leftovers_in(const char *dir, const char *prefix)
{
    char path[1400];
    DIR *d = opendir(dir);
    if (!d)
        return;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, ".tmp")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
}

static void remove_leftovers(const sweep *s)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/points", s->dir);
    remove_leftovers_in(dir, "p");
    remove_leftovers_in(s->dir, "sweep.");
    cs_remove_stale_temps(dir);
    cs_remove_stale_temps(s->dir);
}

/* ---- validation: every point's scenario, before any work ---- */

static int hash_file(const char *path, char out[65], cs_err *err)
{
    unsigned char *d = NULL;
    size_t n = 0;
    int rc = cs_read_file(path, &d, &n, err);
    if (rc == 0)
        cs_sha256_hex(d, n, out);
    free(d);
    return rc;
}

static int validate(sweep *s, cs_err *err)
{
    size_t n = s->g.n_points;
    s->pts = calloc(n, sizeof *s->pts);
    s->est = calloc(n, sizeof *s->est);
    s->ds_of = calloc(n, sizeof *s->ds_of);
    s->digest = calloc(n, sizeof *s->digest);
    s->datasets = calloc(n, sizeof *s->datasets);
    s->known = calloc(n, sizeof *s->known);
    if (!s->pts || !s->est || !s->ds_of || !s->digest || !s->datasets || !s->known)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (%zu points)", n);
    cs_sha256 tles;
    cs_sha256_init(&tles);
    bool any_tle = false;
    char **tle_paths = calloc(n, sizeof *tle_paths);
    size_t n_tle_paths = 0;
    int rc = tle_paths ? 0 : cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < n && rc == 0; i++) {
        char **sets = NULL;
        scn_config *cfg = NULL;
        if ((rc = swp_point_sets(&s->g, i, &sets, err)) != 0)
            break;
        rc = scn_load(s->scenario, (const char *const *)sets, s->g.n_axes, &cfg, err);
        free(sets);
        if (rc)
            break;
        if (i == 0) {
            s->meta.scenario_name = strdup(cfg->name);
            if (!s->meta.scenario_name)
                rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
        }
        /* The orbital setup: one plan per distinct digest, numbered by first appearance. */
        uint8_t d[32];
        sim_plan_setup_digest(cfg, d);
        size_t k = 0;
        while (k < s->n_setups && memcmp(s->digest[k], d, 32) != 0)
            k++;
        if (k == s->n_setups)
            memcpy(s->digest[s->n_setups++], d, 32);
        s->pts[i].orbital_setup = k;
        /* The dataset folder: one decoding per distinct folder. */
        char root[1024];
        if (rc == 0)
            rc = nn_data_find_root(cfg->dataset.path, root, sizeof root, err);
        size_t r = 0;
        while (rc == 0 && r < s->n_datasets && strcmp(s->datasets[r].root, root) != 0)
            r++;
        if (rc == 0 && r == s->n_datasets)
            snprintf(s->datasets[s->n_datasets++].root, sizeof root, "%s", root);
        s->ds_of[i] = r;
        /* The work estimate in image passes (nominal 27,000 EuroSAT images; only the order of
         * the points and the time-left estimate use it). */
        const scn_federated *fd = &cfg->federated;
        double train = 27000.0 * (1 - cfg->dataset.test_fraction);
        double per_client = train / fd->clients;
        if (cfg->dataset.max_samples_per_client > 0 &&
            (double)cfg->dataset.max_samples_per_client < per_client)
            per_client = (double)cfg->dataset.max_samples_per_client;
        double test = 27000.0 * cfg->dataset.test_fraction;
        s->est[i] = (double)cfg->wire.n_precision * fd->rounds *
                    ((double)fd->clients_per_round * fd->local_epochs * per_client + test / 3);
        /* Every TLE file the points read, once each, in order of first use. */
        const char *tle = cfg->constellation.tle;
        bool seen = false;
        for (size_t t = 0; tle && t < n_tle_paths; t++)
            seen |= strcmp(tle_paths[t], tle) == 0;
        if (rc == 0 && tle && !seen) {
            char h[65];
            if (!(tle_paths[n_tle_paths] = strdup(tle)))
                rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
            else
                n_tle_paths++;
            if (rc == 0 && (rc = hash_file(tle, h, err)) == 0) {
                cs_sha256_update(&tles, h, 64);
                any_tle = true;
            }
        }
        scn_free(cfg);
    }
    for (size_t t = 0; t < n_tle_paths; t++)
        free(tle_paths[t]);
    free(tle_paths);
    if (rc)
        return rc;
    if ((rc = hash_file(s->scenario, s->meta.scenario_sha256, err)) != 0)
        return rc;
    if (any_tle) {
        uint8_t d[32];
        cs_sha256_final(&tles, d);
        cs_sha256_to_hex(d, s->meta.tle_sha256);
    }
    s->meta.orbital_setups = s->n_setups;
    if (!(s->plans = calloc(s->n_setups, sizeof *s->plans)) ||
        !(s->plan_built = calloc(s->n_setups, sizeof *s->plan_built)))
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
    return 0;
}

/* ---- the folder: lock, same campaign, what is done ---- */

/* Creates and locks the folder (not for a dry run), checks that an existing sweep.json is of the
 * same campaign, and reads which points are done or failed. */
static int prepare_dir(sweep *s, int *lock_fd, cs_err *err)
{
    char path[1200];
    int rc = 0;
    if (!s->dry_run) {
        /* The aggregate and a point's report can be written (bad input otherwise, exit 2). */
        snprintf(path, sizeof path, "%s/sweep.json", s->dir);
        if ((rc = cs_check_writable(path, err)) != 0)
            return rc;
        point_path(s, 0, ".json", path, sizeof path);
        if ((rc = cs_check_writable(path, err)) != 0)
            return rc;
    }
    snprintf(path, sizeof path, "%s/points", s->dir);
    if (!s->dry_run && (rc = cs_mkdir_p(path, err)) != 0)
        return rc;
    snprintf(path, sizeof path, "%s/.sweep.lock", s->dir);
    if (s->dry_run)
        ; /* looks, changes nothing */
    else if ((*lock_fd = open(path, O_RDWR | O_CREAT, 0644)) < 0)
        return cs_err_set(err, CS_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    else if (flock(*lock_fd, LOCK_EX | LOCK_NB) != 0)
        return cs_err_set(err, CS_EINVAL, s->dir, 0, 0,
                          "another constsim sweep is running in this folder (it holds %s)", path);
    snprintf(path, sizeof path, "%s/sweep.json", s->dir);
    if (access(path, F_OK) == 0) {
        cJSON *old = NULL;
        if ((rc = rep_parse_json(path, &old, err)) != 0)
            return rc;
        swp_runtime rt = runtime_now(s);
        cJSON *now = swp_aggregate(&s->g, s->pts, &s->meta, &rt);
        if (!now)
            rc = cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
        else
            rc = swp_check_same(old, path, now, err);
        cJSON_Delete(old);
        cJSON_Delete(now);
        if (rc)
            return rc;
    }
    if (!s->dry_run)
        remove_leftovers(s);
    for (size_t i = 0; i < s->g.n_points && rc == 0; i++)
        rc = scan_point(s, i, err);
    return rc;
}

/* ---- shared work: plans and datasets, computed once ---- */

static int get_plan(sweep *s, const scn_config *cfg, size_t setup, const sim_plan **out,
                    cs_err *err)
{
    pthread_mutex_lock(&s->build_mu);
    int rc = 0;
    if (!s->plan_built[setup]) {
        rc = sim_plan_build(cfg, s->job_threads, &s->plans[setup], err);
        if (rc == 0) {
            s->plan_built[setup] = true;
            lock(s);
            s->plans_built++;
            unlock(s);
        }
    }
    pthread_mutex_unlock(&s->build_mu);
    *out = &s->plans[setup];
    return rc;
}

static int get_dataset(sweep *s, size_t k, const nn_dataset **out, cs_err *err)
{
    pthread_mutex_lock(&s->build_mu);
    int rc = 0;
    dataset_slot *d = &s->datasets[k];
    if (!d->loaded) {
        rc = nn_data_load(d->root, s->threads, &d->ds, err);
        if (rc == 0) {
            d->loaded = true;
            lock(s);
            s->decodes++;
            if (!s->quiet) {
                clear_live(s);
                fprintf(stderr, "sweep: dataset: %zu images from %s in %.1f s\n", d->ds.n,
                        d->ds.root, d->ds.load_wall_s);
            }
            unlock(s);
        }
    }
    pthread_mutex_unlock(&s->build_mu);
    *out = &d->ds;
    return rc;
}

/* ---- one point ---- */

typedef struct point_prog {
    sweep *s;
    size_t i;
} point_prog;

static void on_progress(void *user, const fl_progress *p)
{
    point_prog *pp = user;
    sweep *s = pp->s;
    if (s->ranks > 1 && (s->jobs == 1 || cli_mpi_threads_ok())) {
        lock(s);        /* MPI calls one at a time */
        cli_mpi_poke(); /* keeps the counters on rank 0 answering under any transport */
        unlock(s);
    }
    if (s->quiet || !s->tty || s->jobs > 1 || p->kind != FL_PROG_ROUND)
        return;
    char id[32];
    swp_point_id(&s->g, pp->i, id, sizeof id);
    fprintf(stderr, "\r\033[Ksweep: %s [%s %zu/%zu] round %d/%d  acc %.2f%%", id,
            nn_precision_name(p->precision), p->run_index + 1, p->n_runs, p->round->round,
            p->rounds, 100 * p->round->accuracy);
    s->live = true;
}

/* Adds {"id", "index", "values"} to a point's document. */
/* {"sweep": {"id", "index", "values"}}: what a point report adds. */
static cJSON *point_name(const sweep *s, size_t i)
{
    char id[32];
    swp_point_id(&s->g, i, id, sizeof id);
    cJSON *o = cJSON_CreateObject();
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "id", id);
    cJSON_AddNumberToObject(x, "index", (double)i);
    cJSON_AddItemToObject(x, "values", swp_point_values(&s->g, i));
    cJSON_AddItemToObject(o, "sweep", x);
    return o;
}

static int run_point(sweep *s, size_t i, cs_err *err)
{
    char **sets = NULL, report_path[1200];
    scn_config *cfg = NULL;
    fl_study study;
    memset(&study, 0, sizeof study);
    cJSON *report = NULL;
    const sim_plan *plan = NULL;
    const nn_dataset *ds = NULL;
    point_path(s, i, ".json", report_path, sizeof report_path);
    int rc = swp_point_sets(&s->g, i, &sets, err);
    if (rc == 0)
        rc = scn_load(s->scenario, (const char *const *)sets, s->g.n_axes, &cfg, err);
    if (rc == 0)
        rc = get_plan(s, cfg, s->pts[i].orbital_setup, &plan, err);
    if (rc == 0)
        rc = get_dataset(s, s->ds_of[i], &ds, err);
    point_prog pp = {s, i};
    fl_study_opts so = {.report_path = report_path,
                        .trace = s->trace,
                        .save_models = s->models,
                        .progress = on_progress,
                        .progress_user = &pp};
    if (rc == 0)
        rc = fl_study_run(cfg, plan, ds, &so, &study, err);
    rep_machine machine;
    rep_machine_probe(&machine, s->job_threads);
    if (rc == 0) {
        cJSON *name = point_name(s, i);
        rc = rep_write_study(&study, &machine, name, &report, err);
        cJSON_Delete(name);
    }
    /* The summary is read back from the file just written: what a resumed sweep would read. */
    swp_point got;
    memset(&got, 0, sizeof got);
    cJSON *written = NULL;
    bool wrote = rc == 0;
    if (rc == 0)
        rc = rep_load(report_path, &written, err);
    if (rc == 0)
        rc = swp_point_from_report(written, report_path, &got, err);
    cJSON_Delete(written);
    if (rc && wrote)
        unlink(report_path); /* a report the sweep cannot read back would block a resume */
    lock(s);
    if (rc == 0) {
        got.orbital_setup = s->pts[i].orbital_setup;
        s->pts[i] = got;
        char failed[1200];
        point_path(s, i, ".failed.json", failed, sizeof failed);
        unlink(failed);
    }
    unlock(s);
    cJSON_Delete(report);
    fl_study_free(&study);
    scn_free(cfg);
    free(sets);
    return rc;
}

/* Records a failed point: DIR/points/pNNNN.failed.json and its state. */
static void record_failure(sweep *s, size_t i, const cs_err *e)
{
    char msg[sizeof s->pts[0].message], path[1200];
    if (e->path[0] && e->line > 0 && e->col > 0)
        snprintf(msg, sizeof msg, "%s:%ld:%ld: %s", e->path, e->line, e->col, e->msg);
    else if (e->path[0] && e->line > 0) /* a line without a column: a TLE set's */
        snprintf(msg, sizeof msg, "%s:%ld: %s", e->path, e->line, e->msg);
    else if (e->path[0])
        snprintf(msg, sizeof msg, "%s: %s", e->path, e->msg);
    else
        snprintf(msg, sizeof msg, "%s", e->msg);
    lock(s);
    swp_point *p = &s->pts[i];
    p->status = SWP_FAILED;
    p->n_runs = 0;
    p->exit_code = cs_err_exit_code(e);
    snprintf(p->message, sizeof p->message, "%s", msg);
    unlock(s);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    char id[32];
    swp_point_id(&s->g, i, id, sizeof id);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddNumberToObject(o, "index", (double)i);
    cJSON_AddItemToObject(o, "values", swp_point_values(&s->g, i));
    cJSON_AddStringToObject(o, "status", "failed");
    cJSON_AddNumberToObject(o, "exit", p->exit_code);
    cJSON_AddStringToObject(o, "message", p->message);
    point_path(s, i, ".failed.json", path, sizeof path);
    cs_err ignore;
    rep_write(o, path, &ignore); /* the aggregate records the failure either way */
    cJSON_Delete(o);
}

/* ---- the queue of points: a counter shared by every job and every rank ---- */

enum { Q_NEXT, Q_DONE, Q_FAILED, Q_EST };
#define EST_UNIT 1.0 /* the work counter holds estimates / EST_UNIT */

static long queue_add(sweep *s, int k, long v)
{
    lock(s); /* MPI calls one at a time */
    long old = cli_mpi_fetch_add(k, v);
    unlock(s);
    return old;
}

static void print_done(sweep *s, size_t i, double wall, bool ok, const cs_err *e)
{
    if (s->quiet)
        return;
    long done = queue_add(s, Q_DONE, 0), failed = queue_add(s, Q_FAILED, 0);
    long handed = queue_add(s, Q_NEXT, 0), est_done = queue_add(s, Q_EST, 0);
    long total = (long)s->n_todo;
    long running = (handed < total ? handed : total) - done - failed;
    double elapsed = cs_wall_s() - s->t0;
    double left = est_done > 0
                      ? elapsed * (s->est_todo / EST_UNIT - (double)est_done) / (double)est_done
                      : NAN;
    char id[32], label[256], eta[32], rank[32] = "";
    swp_point_id(&s->g, i, id, sizeof id);
    point_label(s, i, label, sizeof label);
    if (isfinite(left) && left >= 0)
        cs_fmt_duration(eta, sizeof eta, left);
    else
        snprintf(eta, sizeof eta, "?");
    if (s->ranks > 1)
        snprintf(rank, sizeof rank, " [rank %d]", s->rank);
    lock(s);
    clear_live(s);
    fprintf(stderr, "sweep%s: %s (%s) %s", rank, id, label, ok ? "done:" : "FAILED:");
    const swp_point *p = &s->pts[i];
    if (ok)
        for (size_t r = 0; r < p->n_runs; r++)
            fprintf(stderr, "%s %s %.2f%% $%.2f %d round%s", r ? ";" : "",
                    nn_precision_name(p->runs[r].precision), 100 * p->runs[r].accuracy,
                    p->runs[r].cost_usd, p->runs[r].rounds_completed,
                    p->runs[r].rounds_completed == 1 ? "" : "s");
    else
        fprintf(stderr, " %s", p->message[0] ? p->message : e->msg); /* located, as recorded */
    fprintf(stderr, " (%.1f s)  [%ld/%ld done, %ld failed, %ld running, about %s left]\n", wall,
            done, total, failed, running < 0 ? 0 : running, done + failed >= total ? "0 s" : eta);
    fflush(stderr);
    unlock(s);
}

static void *worker(void *arg)
{
    sweep *s = arg;
    for (;;) {
        long k = queue_add(s, Q_NEXT, 1);
        if (k < 0 || (size_t)k >= s->n_todo)
            return NULL;
        size_t i = s->order[k];
        double t = cs_wall_s();
        cs_err e;
        cs_err_clear(&e);
        int rc = run_point(s, i, &e);
        if (rc)
            record_failure(s, i, &e);
        lock(s);
        s->known[i] = true;
        s->points_run++;
        unlock(s);
        queue_add(s, rc ? Q_FAILED : Q_DONE, 1);
        queue_add(s, Q_EST, lround(s->est[i] / EST_UNIT));
        print_done(s, i, cs_wall_s() - t, rc == 0, &e);
        if (s->rank == 0) {
            /* The aggregate as this process knows it: a stopped sweep leaves it current. */
            lock(s);
            swp_runtime rt = runtime_now(s);
            cs_err ignore;
            write_aggregate(s, &rt, &ignore);
            unlock(s);
        }
    }
}

/* ---- the command ---- */

static int cmp_est(const void *a, const void *b, void *ctx)
{
    const double *est = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (est[x] != est[y])
        return est[x] > est[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Longest first, ties by index: a merge sort (stable, and C11's qsort takes no context). */
static void sort_longest_first(size_t *v, size_t n, const double *est, size_t *tmp)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_longest_first(v, h, est, tmp);
    sort_longest_first(v + h, n - h, est, tmp);
    size_t a = 0, b = h, k = 0;
    while (a < h && b < n)
        tmp[k++] = cmp_est(&v[a], &v[b], (void *)est) <= 0 ? v[a++] : v[b++];
    while (a < h)
        tmp[k++] = v[a++];
    while (b < n)
        tmp[k++] = v[b++];
    memcpy(v, tmp, n * sizeof *v);
}

/* --dry-run: the points in the order they would run, then the done ones. */
static void print_plan(const sweep *s)
{
    printf("%zu points, %zu orbital setup%s, %zu to run (longest first), %zu done\n", s->g.n_points,
           s->n_setups, s->n_setups == 1 ? "" : "s", s->n_todo, s->g.n_points - s->n_todo);
    printf("%-8s %-8s %5s %14s  %s\n", "id", "status", "setup", "work (images)", "values");
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < (pass == 0 ? s->n_todo : s->g.n_points); k++) {
            size_t i = pass == 0 ? s->order[k] : k;
            if (pass == 1 && s->pts[i].status != SWP_DONE)
                continue;
            char id[32], label[512];
            swp_point_id(&s->g, i, id, sizeof id);
            point_label(s, i, label, sizeof label);
            printf("%-8s %-8s %5zu %14.0f  %s\n", id, swp_status_name(s->pts[i].status),
                   s->pts[i].orbital_setup, s->est[i], label);
        }
}

/* Compute threads of this process by default: its share of the processors that the ranks on its
 * node may use (the union of their affinity masks, divided by their number), and never more than
 * its own mask allows. Bound to one core each: 1; bound to a socket shared by k ranks: the
 * socket's cores / k; not bound: the node's processors / ranks on the node. */
static int default_threads(void)
{
    uint8_t mask[1024 / 8];
    size_t covered = cs_host_cpu_mask(mask, sizeof mask);
    int allowed = cs_host_cpus_allowed();
    cli_mpi_node_or(mask, sizeof mask); /* collective: every rank on the node calls it */
    if (covered == 0) {
        int t = cs_host_cpus() / cli_mpi_local_size();
        return t < 1 ? 1 : t;
    }
    int node = 0;
    for (size_t b = 0; b < sizeof mask; b++)
        for (int k = 0; k < 8; k++)
            node += (mask[b] >> k) & 1;
    int t = node / cli_mpi_local_size();
    if (t > allowed)
        t = allowed;
    return t < 1 ? 1 : t;
}

static void sweep_free(sweep *s)
{
    for (size_t k = 0; s->plans && k < s->n_setups; k++)
        sim_plan_free(&s->plans[k]);
    for (size_t k = 0; s->datasets && k < s->n_datasets; k++)
        nn_data_free(&s->datasets[k].ds);
    free(s->plans);
    free(s->plan_built);
    free(s->datasets);
    free(s->pts);
    free(s->est);
    free(s->ds_of);
    free(s->digest);
    free(s->order);
    free(s->known);
    free((char *)s->meta.scenario_name);
    swp_grid_free(&s->g);
}

static int sweep_main(sweep *s, const char *const *axes, size_t n_axes, long threads)
{
    cs_err err;
    cs_err_clear(&err);
    int lock_fd = -1;
    int rc = swp_grid_parse(axes, n_axes, &s->g, &err);
    if (rc == 0)
        rc = validate(s, &err);
    size_t n = s->g.n_points;
    uint8_t *st = NULL;
    size_t *tmp = NULL;
    if (rc == 0 && (!(st = malloc(n)) || !(s->order = malloc(n * sizeof *s->order)) ||
                    !(tmp = malloc(n * sizeof *tmp))))
        rc = cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory (%zu points)", n);
    if (rc == 0 && s->rank == 0)
        rc = prepare_dir(s, &lock_fd, &err);
    /* Every rank agrees before any work: the worst exit code of all ranks. Rank 0 prints its
     * error; another rank prints its own when rank 0 had none (e.g. the dataset is missing on
     * that rank's node). */
    int code = rc ? cs_err_exit_code(&err) : 0;
    uint8_t first = (uint8_t)code;
    cli_mpi_bcast(&first, 1);
    int worst = (int)cli_mpi_max(code);
    if (rc && (s->rank == 0 || first == 0)) {
        clear_live(s);
        if (s->rank != 0)
            fprintf(stderr, "constsim sweep (rank %d): ", s->rank);
        cs_err_print(&err, stderr);
    }
    if (worst != 0) {
        free(st);
        free(tmp);
        if (lock_fd >= 0)
            close(lock_fd);
        return worst;
    }
    /* Every rank needs what rank 0 found in the folder. */
    for (size_t i = 0; i < n; i++)
        st[i] = (uint8_t)s->pts[i].status;
    cli_mpi_bcast(st, n);
    for (size_t i = 0; i < n; i++) {
        if (st[i] == SWP_DONE) {
            s->known[i] = true;
            s->points_skipped++;
        } else {
            s->order[s->n_todo++] = i;
            s->est_todo += s->est[i];
        }
    }
    free(st);
    sort_longest_first(s->order, s->n_todo, s->est, tmp);
    free(tmp);

    if (s->dry_run) {
        if (s->rank == 0)
            print_plan(s);
        return 0;
    }
    if (threads <= 0)
        threads = default_threads();
    s->threads = (int)threads;
    int asked = s->jobs;
    if (s->jobs > s->threads)
        s->jobs = s->threads;
    if (s->ranks > 1 && !cli_mpi_threads_ok())
        s->jobs = 1;
    if (s->jobs != asked && !s->quiet && s->rank == 0)
        fprintf(stderr, "sweep: --jobs %d lowered to %d (%s)\n", asked, s->jobs,
                s->jobs == 1 && s->ranks > 1 && !cli_mpi_threads_ok()
                    ? "this MPI library does not allow calls from several threads"
                    : "at least one compute thread per job");
    s->job_threads = s->threads / s->jobs;
    nn_set_threads(s->job_threads);
    if (!s->quiet && s->rank == 0)
        fprintf(stderr,
                "sweep: %s (%s): %zu points over %zu axes, %zu orbital setup%s; %zu done "
                "already, %zu to run on %d rank%s x %d job%s x %d thread%s\n",
                s->meta.scenario_name, s->scenario, n, s->g.n_axes, s->n_setups,
                s->n_setups == 1 ? "" : "s", n - s->n_todo, s->n_todo, s->ranks,
                s->ranks == 1 ? "" : "s", s->jobs, s->jobs == 1 ? "" : "s", s->job_threads,
                s->job_threads == 1 ? "" : "s");
    s->t0 = cs_wall_s();
    if (rc == 0 && s->rank == 0) {
        swp_runtime rt = runtime_now(s);
        rc = write_aggregate(s, &rt, &err);
        if (rc)
            cs_err_print(&err, stderr);
    }
    if (rc == 0) {
        if (s->jobs == 1) {
            worker(s);
        } else {
            pthread_t th[64];
            int started = 0;
            for (; started < s->jobs && started < 64; started++)
                if (pthread_create(&th[started], NULL, worker, s) != 0)
                    break;
            if (started == 0)
                worker(s);
            for (int k = 0; k < started; k++)
                pthread_join(th[k], NULL);
        }
    }
    /* Everyone finished: rank 0 reads what the other ranks wrote and writes the aggregate. */
    cli_mpi_wait_all();
    swp_runtime rt = runtime_now(s);
    rt.dataset_decodes = cli_mpi_sum(s->decodes);
    rt.contact_plans = cli_mpi_sum(s->plans_built);
    rt.points_run = cli_mpi_sum(s->points_run);
    rt.ranks = s->ranks;
    long failed = 0;
    if (s->rank == 0) {
        for (size_t i = 0; i < n && rc == 0; i++)
            if (!s->known[i])
                rc = scan_point(s, i, &err);
        if (rc == 0)
            rc = write_aggregate(s, &rt, &err);
        if (rc)
            cs_err_print(&err, stderr);
        for (size_t i = 0; i < n; i++)
            failed += s->pts[i].status != SWP_DONE;
        /* The comparison table of the points, as `constsim compare DIR` prints it. */
        rep_cmp cmp;
        rep_cmp_init(&cmp);
        cs_err cerr;
        char *table = rc == 0 && rep_cmp_add(&cmp, s->dir, &cerr) == 0 ? rep_cmp_table(&cmp) : NULL;
        clear_live(s);
        if (table) {
            fputs(table, stdout);
            fflush(stdout);
        }
        free(table);
        rep_cmp_deinit(&cmp);
        if (!s->quiet) {
            fprintf(stderr,
                    "sweep: %zu/%zu points done, %ld failed; %ld dataset decoding%s, %ld contact "
                    "plan%s; wrote %s/sweep.json and sweep.csv (%.1f s)\n",
                    n - (size_t)failed, n, failed, rt.dataset_decodes,
                    rt.dataset_decodes == 1 ? "" : "s", rt.contact_plans,
                    rt.contact_plans == 1 ? "" : "s", s->dir, rt.wall_time_s);
        }
    }
    uint8_t verdict[2] = {(uint8_t)(rc ? cs_err_exit_code(&err) : failed ? 1 : 0), 0};
    cli_mpi_bcast(verdict, sizeof verdict);
    if (lock_fd >= 0)
        close(lock_fd);
    return verdict[0];
}

int cmd_sweep(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    sweep s;
    memset(&s, 0, sizeof s);
    s.trace = true;
    s.jobs = 1;
    s.tty = cli_progress_tty();
    long threads = 0, jobs = 1;
    const char **axes = calloc((size_t)argc + 1, sizeof *axes);
    size_t n_axes = 0;
    if (!axes) {
        fprintf(stderr, "constsim sweep: out of memory\n");
        return 1;
    }
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-o")) {
            if (!v)
                rc = cli_usage_error("sweep", "-o needs a folder");
            s.dir = v, i++;
        } else if (!strcmp(a, "--set")) {
            if (!v)
                rc = cli_usage_error("sweep", "--set needs KEY=V1,V2,...");
            axes[n_axes++] = v, i++;
        } else if (!strncmp(a, "--set=", 6)) {
            axes[n_axes++] = a + 6;
        } else if (!strcmp(a, "--threads")) {
            rc = cli_parse_int("sweep", a, v, 1, 1024, &threads) ? 2 : 0;
            i++;
        } else if (!strcmp(a, "--jobs")) {
            rc = cli_parse_int("sweep", a, v, 1, 64, &jobs) ? 2 : 0;
            i++;
        } else if (!strcmp(a, "--dry-run")) {
            s.dry_run = true;
        } else if (!strcmp(a, "--models")) {
            s.models = true;
        } else if (!strcmp(a, "--no-trace")) {
            s.trace = false;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            s.quiet = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            rc = cli_usage_error("sweep", "unknown option \"%s\"", a);
        } else if (!s.scenario) {
            s.scenario = a;
        } else {
            rc = cli_usage_error("sweep", "more than one scenario (\"%s\", \"%s\")", s.scenario, a);
        }
    }
    if (rc == 0 && !s.scenario)
        rc = cli_usage_error("sweep", "missing SCENARIO.yaml");
    if (rc == 0 && !s.dir)
        rc = cli_usage_error("sweep", "missing -o DIR (the sweep folder)");
    if (rc == 0 && n_axes == 0)
        rc = cli_usage_error("sweep", "missing --set KEY=V1,V2,... (at least one axis)");
    if (rc) {
        free(axes);
        return rc;
    }
    if (cli_mpi_launched() && !cli_mpi_available() && cli_mpi_announced_size() > 1) {
        fprintf(stderr,
                "constsim sweep: started as one of %ld MPI tasks, but this constsim was built "
                "without MPI (install libopenmpi-dev and rebuild)\n",
                cli_mpi_announced_size());
        free(axes);
        return 2;
    }
    if (cli_mpi_init(&argc, &argv) != 0) {
        fprintf(stderr, "constsim sweep: MPI could not start\n");
        free(axes);
        return 1;
    }
    s.rank = cli_mpi_rank();
    s.ranks = cli_mpi_size();
    s.jobs = (int)jobs;
    s.meta.constsim_version = cs_build_version();
    s.meta.scenario_file = s.scenario;
    if (pthread_mutex_init(&s.mu, NULL) != 0 || pthread_mutex_init(&s.build_mu, NULL) != 0) {
        free(axes);
        return 1;
    }
    rc = sweep_main(&s, axes, n_axes, threads);
    pthread_mutex_destroy(&s.mu);
    pthread_mutex_destroy(&s.build_mu);
    sweep_free(&s);
    free(axes);
    cli_mpi_finalize();
    return rc;
}
