/* viz_live.c - the runs of a study side by side for the live view: one fl_run per wire
 * precision, all advanced to the same simulated time in slices (in a thread of their own, or in
 * the caller's), each slice published as a viz_status the view copies. Slicing never changes a
 * run (fl.h), so the report of a view that ran to the end is the report of `constsim run`. */
#include "viz_internal.h"

#include "fl.h"
#include "fl_study.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The longest slice: the view gets a new status at least this often in simulated time. */
#define SLICE_MAX_S 600.0

/* What a run's observer is told: which run it watches. */
typedef struct run_watch {
    viz_live *l; /* borrowed */
    size_t i;
} run_watch;

struct viz_live {
    fl_study *study;           /* borrowed */
    const fl_study_opts *opts; /* borrowed */
    size_t n_runs;
    fl_env env[NN_PRECISIONS];
    fl_run *run[NN_PRECISIONS]; /* owned until stop */
    run_watch watch[NN_PRECISIONS];
    int fill_rc; /* a failure of the observer (out of memory), returned by the next step */
    cs_err fill_err;
    viz_status work; /* the sim side's status */
    viz_status pub;  /* the published copy (under mu) */
    bool threaded;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    double allow_s, reached_s;
    bool quit, done, failed; /* done: every run finished (the time still advances) */
    int rc;
    cs_err err;
};

/* The view status of run i from its snapshot (the sim side's `work`). */
static int fill(viz_live *l, size_t i, const fl_snapshot *s, cs_err *err)
{
    viz_run *v = &l->work.runs[i];
    v->precision = s->precision;
    v->rounds_total = s->rounds_total;
    v->round_open = s->round_open;
    v->finished = s->finished;
    if (s->rounds_done == 0)
        v->accuracy0 = s->accuracy;
    v->rounds_done = 0;
    for (int k = 0; k < s->rounds_done; k++) {
        int rc = viz__run_curve_push(v, s->rounds[k].t_end_s, s->rounds[k].accuracy, err);
        if (rc)
            return rc;
    }
    v->bytes = s->bytes_to_sat + s->bytes_to_ground;
    v->cost_usd = s->cost_usd;
    for (size_t c = 0; c < s->n_clients; c++) {
        const fl_client_view *cv = &s->clients[c];
        v->sat_state[c] = cv->reported ? VIZ_SAT_DONE : (uint8_t)cv->state; /* same order */
        v->sat_station[c] = -1;
        v->sat_bytes[c] = cv->bytes_moved;
    }
    for (size_t k = 0; k < s->n_sessions; k++)
        v->sat_station[s->sessions[k].sat] = (int32_t)s->sessions[k].station;
    memcpy(v->st_bytes, s->station_bytes, s->n_stations * sizeof *v->st_bytes);
    return 0;
}

/* The runs' observer: called by fl_run_advance at the end of every slice (and after every
 * aggregation), in the thread that advances the runs. */
static void on_snapshot(void *user, const fl_snapshot *s)
{
    run_watch *w = user;
    if (!w->l->fill_rc)
        w->l->fill_rc = fill(w->l, w->i, s, &w->l->fill_err);
}

/* The end of the next slice towards target. */
static double slice_end(const viz_live *l, double target)
{
    double t = target < l->reached_s + SLICE_MAX_S ? target : l->reached_s + SLICE_MAX_S;
    return t > 0 ? t : 0;
}

/* Advances every run to t and publishes the status (called without mu held). */
static int step(viz_live *l, double t, cs_err *err)
{
    bool all = true;
    for (size_t i = 0; i < l->n_runs; i++) {
        int rc = fl_run_advance(l->run[i], t, err); /* the observer fills work.runs[i] */
        if (!rc && (rc = l->fill_rc))
            *err = l->fill_err;
        if (rc)
            return rc;
        all = all && fl_run_finished(l->run[i]);
    }
    l->work.t_s = t;
    pthread_mutex_lock(&l->mu);
    int rc = viz_status_copy(&l->pub, &l->work, err);
    l->reached_s = t;
    l->done = all || t >= l->study->cfg->duration_s;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static void *thread_main(void *arg)
{
    viz_live *l = arg;
    cs_err err;
    cs_err_clear(&err);
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->quit && l->allow_s <= l->reached_s)
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->quit)
            break;
        double t = slice_end(l, l->allow_s);
        pthread_mutex_unlock(&l->mu);
        int rc = step(l, t, &err);
        pthread_mutex_lock(&l->mu);
        if (rc) {
            l->rc = rc;
            l->err = err;
            l->failed = true;
            break;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int viz_live_status_init(const viz_live *l, viz_status *out, cs_err *err)
{
    return viz_status_init(out, l->study->plan->n_sats, l->study->plan->n_stations, l->n_runs, err);
}

static void destroy(viz_live *l)
{
    for (size_t i = 0; i < l->n_runs; i++)
        fl_run_destroy(l->run[i]);
    viz_status_free(&l->work);
    viz_status_free(&l->pub);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

viz_live *viz_live_start(fl_study *study, const fl_study_opts *opts, bool threaded, cs_err *err)
{
    viz_live *l = calloc(1, sizeof *l);
    if (!l) {
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (live view)");
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->study = study;
    l->opts = opts;
    l->threaded = threaded;
    size_t n = study->cfg->wire.n_precision;
    if (viz_status_init(&l->work, study->plan->n_sats, study->plan->n_stations, n, err) ||
        viz_status_init(&l->pub, study->plan->n_sats, study->plan->n_stations, n, err))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        fl_study_env(study, opts, i, &l->env[i]);
        /* The view is the runs' observer (which also makes them evaluate the initial model). */
        l->watch[i] = (run_watch){l, i};
        l->env[i].observe = on_snapshot;
        l->env[i].observe_user = &l->watch[i];
        if (!(l->run[i] = fl_run_begin(&l->env[i], study->cfg->wire.precision[i], err)))
            goto fail;
        l->n_runs = i + 1;
    }
    /* The status at t = 0, before any event. */
    for (size_t i = 0; i < n; i++) {
        fl_snapshot snap;
        fl_run_snapshot(l->run[i], &snap);
        if (fill(l, i, &snap, err))
            goto fail;
    }
    if (viz_status_copy(&l->pub, &l->work, err))
        goto fail;
    l->reached_s = -1; /* events at t = 0 have not run yet */
    if (threaded && pthread_create(&l->th, NULL, thread_main, l) != 0) {
        cs_err_set(err, CS_EIO, NULL, 0, 0, "cannot start the simulation thread");
        goto fail;
    }
    return l;
fail:
    destroy(l);
    return NULL;
}

int viz_live_allow(viz_live *l, double t_s, cs_err *err)
{
    double end = l->study->cfg->duration_s;
    t_s = t_s < end ? t_s : end;
    if (!l->threaded) {
        while (!l->failed && l->reached_s < t_s) {
            int rc = step(l, slice_end(l, t_s), err);
            if (rc) {
                l->rc = rc;
                l->err = *err;
                l->failed = true;
                return rc;
            }
        }
        return 0;
    }
    pthread_mutex_lock(&l->mu);
    if (l->failed) {
        *err = l->err;
        int rc = l->rc;
        pthread_mutex_unlock(&l->mu);
        return rc;
    }
    if (t_s > l->allow_s || l->allow_s == 0) {
        l->allow_s = t_s;
        pthread_cond_signal(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    return 0;
}

bool viz_live_latest(viz_live *l, viz_status *out)
{
    cs_err err;
    pthread_mutex_lock(&l->mu);
    bool ok = viz_status_copy(out, &l->pub, &err) == 0;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

double viz_live_reached(viz_live *l)
{
    pthread_mutex_lock(&l->mu);
    double t = l->reached_s;
    pthread_mutex_unlock(&l->mu);
    return t;
}

bool viz_live_done(viz_live *l)
{
    pthread_mutex_lock(&l->mu);
    bool d = l->done;
    pthread_mutex_unlock(&l->mu);
    return d;
}

int viz_live_stop(viz_live *l, bool keep, cs_err *err)
{
    if (l->threaded) {
        pthread_mutex_lock(&l->mu);
        l->quit = true;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->th, NULL);
    }
    int rc = l->rc;
    if (rc)
        *err = l->err;
    for (size_t i = 0; i < l->n_runs; i++) {
        fl_run *r = l->run[i];
        l->run[i] = NULL;
        if (rc || !keep) {
            fl_run_destroy(r);
            continue;
        }
        fl_result res;
        memset(&res, 0, sizeof res);
        if ((rc = fl_run_end(r, &res, err)) ||
            (rc = fl_study_add_run(l->study, l->opts, &res, err)))
            fl_result_free(&res);
    }
    destroy(l);
    return rc;
}
