/* sim_plan.c - satellites, stations and the contact plan of a scenario (see sim_plan.h). */
#include "sim_plan.h"

#include "cs_sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sim_sats_build(const scn_config *cfg, orb_sat **sats, size_t *n, cs_err *err)
{
    *sats = NULL;
    *n = 0;
    const scn_constellation *k = &cfg->constellation;
    orb_prop_kind prop = k->propagator;
    int rc;
    if (k->has_walker) {
        orb_walker w = {k->walker.altitude_km, k->walker.inclination_deg, k->walker.satellites,
                        k->walker.planes,      k->walker.phasing,         k->walker.raan0_deg};
        rc = orb_walker_build(&w, cfg->epoch_jd, prop, sats, n, err);
    } else {
        /* The loader kept the selected sets, in order: build them all, without reading the file. */
        rc = orb_sats_from_tle(k->tles, k->n_tles, NULL, 0, prop, sats, n, err);
    }
    if (rc != 0) {
        free(*sats);
        *sats = NULL;
        *n = 0;
        return rc;
    }
    return 0;
}

int sim_stations_build(const scn_config *cfg, orb_station **st, size_t *n, cs_err *err)
{
    size_t bytes;
    *st = NULL;
    *n = 0;
    if (cs_size_mul(cfg->n_stations, sizeof(orb_station), &bytes) != 0 ||
        !(*st = calloc(1, bytes ? bytes : 1)))
        return cs_err_set(err, CS_ENOMEM, cfg->file, 0, 0, "out of memory");
    for (size_t i = 0; i < cfg->n_stations; i++) {
        const scn_station *s = &cfg->stations[i];
        orb_station *o = &(*st)[i];
        snprintf(o->name, sizeof o->name, "%s", s->name);
        o->lat_deg = s->lat_deg;
        o->lon_deg = s->lon_deg;
        o->alt_m = s->alt_m;
        o->min_elevation_deg = s->min_elevation_deg;
    }
    *n = cfg->n_stations;
    return 0;
}

/* Satellite i of cfg could not be propagated (err holds the orbits' message): bad input, at
 * the TLE set's line 1, or at the Walker shell. */
static int propagation_error(const scn_config *cfg, size_t i, cs_err *err)
{
    const scn_constellation *k = &cfg->constellation;
    char msg[sizeof err->msg];
    const char *m = err->msg;
    if (strncmp(m, "contacts: ", 10) == 0)
        m += 10;
    snprintf(msg, sizeof msg, "%s", m);
    if (k->has_walker || i >= k->n_tles)
        return scn_error(cfg, k->at.walker, "constellation.walker", err, "%s", msg);
    char epoch[40];
    orb_time_format_iso(k->tles[i].el.jd_epoch, epoch, sizeof epoch);
    return cs_err_set(err, CS_EINVAL, k->tle, k->tles[i].line, 0,
                      "%s (the set's epoch is %s, the scenario's %s)", msg, epoch, cfg->epoch_iso);
}

int sim_plan_build_opts(const scn_config *cfg, const sim_plan_opts *o, sim_plan *plan, cs_err *err)
{
    static const sim_plan_opts defaults = {0};
    if (!o)
        o = &defaults;
    memset(plan, 0, sizeof *plan);
    plan->jd_epoch = cfg->epoch_jd;
    plan->duration_s = cfg->duration_s;
    int rc = sim_sats_build(cfg, &plan->sats, &plan->n_sats, err);
    if (rc == 0)
        rc = sim_stations_build(cfg, &plan->stations, &plan->n_stations, err);
    if (rc == 0) {
        long failed = -1;
        orb_contacts_opts co = {.threads = o->threads,
                                .progress = o->progress,
                                .progress_user = o->progress_user,
                                .failed_sat = &failed};
        double t0 = cs_wall_s();
        rc = orb_contacts_compute_opts(plan->sats, plan->n_sats, plan->stations, plan->n_stations,
                                       cfg->epoch_jd, cfg->duration_s, &co, &plan->windows, err);
        plan->compute_wall_s = cs_wall_s() - t0;
        if (rc == CS_ERANGE && failed >= 0)
            rc = propagation_error(cfg, (size_t)failed, err);
    }
    if (rc != 0)
        sim_plan_free(plan);
    return rc;
}

int sim_plan_build(const scn_config *cfg, int threads, sim_plan *plan, cs_err *err)
{
    sim_plan_opts o = {.threads = threads};
    return sim_plan_build_opts(cfg, &o, plan, err);
}

void sim_plan_free(sim_plan *plan)
{
    if (!plan)
        return;
    free(plan->sats);
    free(plan->stations);
    orb_windows_free(&plan->windows);
    memset(plan, 0, sizeof *plan);
}

void sim_plan_summary(const sim_plan *plan, sim_station_summary *per_station, double *total_s)
{
    if (per_station)
        memset(per_station, 0, plan->n_stations * sizeof *per_station);
    double total = 0;
    for (size_t i = 0; i < plan->windows.n; i++) {
        const orb_window *w = &plan->windows.w[i];
        double d = w->t_end_s - w->t_start_s;
        total += d;
        CS_ASSERT(w->station < plan->n_stations);
        if (per_station) {
            per_station[w->station].windows++;
            per_station[w->station].total_s += d;
        }
    }
    if (total_s)
        *total_s = total;
}

/* Hex-float text of each value: exact, and the same for equal doubles. */
static void digest_doubles(cs_sha256 *s, const double *v, size_t n)
{
    char buf[40];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(buf, sizeof buf, "%a;", v[i]);
        cs_sha256_update(s, buf, (size_t)len);
    }
}

static void digest_ints(cs_sha256 *s, const long *v, size_t n)
{
    char buf[32];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(buf, sizeof buf, "%ld;", v[i]);
        cs_sha256_update(s, buf, (size_t)len);
    }
}

void sim_plan_setup_digest(const scn_config *cfg, uint8_t out[32])
{
    cs_sha256 s;
    cs_sha256_init(&s);
    const scn_constellation *k = &cfg->constellation;
    double when[2] = {cfg->epoch_jd, cfg->duration_s};
    digest_doubles(&s, when, 2);
    long prop = (long)k->propagator;
    digest_ints(&s, &prop, 1);
    if (k->has_walker) {
        const scn_walker *w = &k->walker;
        cs_sha256_update(&s, "walker;", 7);
        double d[3] = {w->altitude_km, w->inclination_deg, w->raan0_deg};
        long n[3] = {w->satellites, w->planes, w->phasing};
        digest_doubles(&s, d, 3);
        digest_ints(&s, n, 3);
    } else {
        cs_sha256_update(&s, "tle;", 4);
        for (size_t i = 0; i < k->n_tles; i++) {
            const orb_elements *e = &k->tles[i].el;
            long num = e->satnum;
            double d[9] = {e->jd_epoch, e->bstar, e->ndot,     e->nddot,   e->incl_rad,
                           e->raan_rad, e->ecc,   e->argp_rad, e->n_radmin};
            digest_ints(&s, &num, 1);
            digest_doubles(&s, d, 9);
            digest_doubles(&s, &e->mean_anom_rad, 1);
        }
    }
    cs_sha256_update(&s, "stations;", 9);
    for (size_t i = 0; i < cfg->n_stations; i++) {
        const scn_station *st = &cfg->stations[i];
        double d[4] = {st->lat_deg, st->lon_deg, st->alt_m, st->min_elevation_deg};
        digest_doubles(&s, d, 4);
    }
    cs_sha256_final(&s, out);
}
