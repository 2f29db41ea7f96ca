/* viz_status.c - the picture of the runs at one time (viz_status), shared by the live and the
 * replayed view. */
#include "viz_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *viz_sat_state_name(viz_sat_state s)
{
    static const char *const names[VIZ_SAT_STATES] = {"idle", "receiving", "training", "sending",
                                                      "done"};
    return (unsigned)s < VIZ_SAT_STATES ? names[s] : "?";
}

void viz_status_free(viz_status *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < NN_PRECISIONS; i++) {
        viz_run *r = &s->runs[i];
        free(r->curve_t_s);
        free(r->curve_acc);
        free(r->sat_state);
        free(r->sat_station);
        free(r->sat_bytes);
        free(r->st_bytes);
    }
    memset(s, 0, sizeof *s);
}

int viz_status_init(viz_status *s, size_t n_sats, size_t n_stations, size_t n_runs, cs_err *err)
{
    memset(s, 0, sizeof *s);
    CS_ASSERT(n_runs <= NN_PRECISIONS);
    s->n_sats = n_sats;
    s->n_stations = n_stations;
    s->n_runs = n_runs;
    size_t ns = n_sats ? n_sats : 1, nt = n_stations ? n_stations : 1;
    for (size_t i = 0; i < n_runs; i++) {
        viz_run *r = &s->runs[i];
        r->accuracy0 = NAN;
        r->sat_state = calloc(ns, sizeof *r->sat_state);
        r->sat_station = malloc(ns * sizeof *r->sat_station);
        r->sat_bytes = calloc(ns, sizeof *r->sat_bytes);
        r->st_bytes = calloc(nt, sizeof *r->st_bytes);
        if (!r->sat_state || !r->sat_station || !r->sat_bytes || !r->st_bytes) {
            viz_status_free(s);
            return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (view status)");
        }
        for (size_t c = 0; c < n_sats; c++)
            r->sat_station[c] = -1;
    }
    return 0;
}

/* Room for n curve points. */
static int curve_reserve(viz_run *r, size_t n, cs_err *err)
{
    if (n <= r->cap_curve)
        return 0;
    size_t cap = r->cap_curve ? r->cap_curve : 16;
    while (cap < n)
        cap *= 2;
    double *t = realloc(r->curve_t_s, cap * sizeof *t);
    if (t)
        r->curve_t_s = t;
    double *a = t ? realloc(r->curve_acc, cap * sizeof *a) : NULL;
    if (a)
        r->curve_acc = a;
    if (!t || !a)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (accuracy curve)");
    r->cap_curve = cap;
    return 0;
}

int viz__run_curve_push(viz_run *r, double t_s, double acc, cs_err *err)
{
    int rc = curve_reserve(r, (size_t)r->rounds_done + 1, err);
    if (rc)
        return rc;
    r->curve_t_s[r->rounds_done] = t_s;
    r->curve_acc[r->rounds_done] = acc;
    r->rounds_done++;
    return 0;
}

int viz_status_copy(viz_status *dst, const viz_status *src, cs_err *err)
{
    CS_ASSERT(dst->n_sats == src->n_sats && dst->n_stations == src->n_stations &&
              dst->n_runs == src->n_runs);
    dst->t_s = src->t_s;
    for (size_t i = 0; i < src->n_runs; i++) {
        viz_run *d = &dst->runs[i];
        const viz_run *s = &src->runs[i];
        int rc = curve_reserve(d, (size_t)s->rounds_done, err);
        if (rc)
            return rc;
        if (s->rounds_done > 0) {
            memcpy(d->curve_t_s, s->curve_t_s, (size_t)s->rounds_done * sizeof *d->curve_t_s);
            memcpy(d->curve_acc, s->curve_acc, (size_t)s->rounds_done * sizeof *d->curve_acc);
        }
        d->precision = s->precision;
        d->rounds_total = s->rounds_total;
        d->rounds_done = s->rounds_done;
        d->round_open = s->round_open;
        d->finished = s->finished;
        d->accuracy0 = s->accuracy0;
        d->bytes = s->bytes;
        d->cost_usd = s->cost_usd;
        memcpy(d->sat_state, s->sat_state, src->n_sats * sizeof *d->sat_state);
        memcpy(d->sat_station, s->sat_station, src->n_sats * sizeof *d->sat_station);
        memcpy(d->sat_bytes, s->sat_bytes, src->n_sats * sizeof *d->sat_bytes);
        memcpy(d->st_bytes, s->st_bytes, src->n_stations * sizeof *d->st_bytes);
    }
    return 0;
}
