/* sim_plan.h - from a scenario config to the satellites, stations and contact plan.
 *
 * The simulator and `constsim contacts` share this: satellites from the Walker shell or the TLE
 * sets the loader kept in the config (no file is read here), stations in config order, windows
 * over [0, duration_s] from the epoch.
 * Indices in the plan's windows (sat, station) index sats[] and stations[] here, and
 * stations[] has the order of cfg->stations.
 */
#ifndef SIM_PLAN_H
#define SIM_PLAN_H

#include "cs.h"
#include "orbits.h"
#include "scn.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sim_plan {
    orb_sat *sats; /* owned: n_sats satellites, Walker order or select/TLE-file order */
    size_t n_sats;
    orb_station *stations; /* owned: n_stations, same order as cfg->stations */
    size_t n_stations;
    orb_windows windows;   /* owned: the contact windows, sorted by (t_start_s, sat, station) */
    double jd_epoch;       /* the scenario epoch (UTC Julian date) */
    double duration_s;     /* the scenario duration */
    double compute_wall_s; /* wall-clock seconds spent in orb_contacts_compute */
} sim_plan;

typedef struct sim_station_summary {
    size_t windows;
    double total_s; /* summed window durations */
} sim_station_summary;

/* Satellites of cfg (caller frees *sats). */
int sim_sats_build(const scn_config *cfg, orb_sat **sats, size_t *n, cs_err *err);

/* Stations of cfg as orb_station, same order (caller frees *st). */
int sim_stations_build(const scn_config *cfg, orb_station **st, size_t *n, cs_err *err);

/* Satellites, stations and contact windows. threads <= 1: the calling thread only. On failure
 * plan is left zeroed. A satellite that cannot be propagated over the scenario (a TLE set that
 * decays, or whose epoch is too far from the scenario's) is bad input, CS_EINVAL: for a TLE
 * constellation at the TLE file and the line of the set's line 1, for a Walker shell at the
 * scenario's constellation.walker. */
int sim_plan_build(const scn_config *cfg, int threads, sim_plan *plan, cs_err *err);

/* What sim_plan_build_opts takes; zeroed: one thread, no progress. */
typedef struct sim_plan_opts {
    int threads;                       /* <= 1: the calling thread only */
    orb_contacts_progress_fn progress; /* NULL, or called during the window search (orbits.h:
                                          on the calling thread, pairs searched of all pairs) */
    void *progress_user;               /* borrowed, handed to progress */
} sim_plan_opts;

/* sim_plan_build with options (o may be NULL). */
int sim_plan_build_opts(const scn_config *cfg, const sim_plan_opts *o, sim_plan *plan, cs_err *err);

/* The digest of cfg's orbital setup: everything a contact plan depends on (epoch, duration,
 * propagator, the Walker shell or every TLE set's elements, the stations' places and elevation
 * masks, in order) and nothing else. Two configs with the same digest have the same plan, so a
 * sweep computes one plan per distinct digest. */
void sim_plan_setup_digest(const scn_config *cfg, uint8_t out[32]);

/* Frees everything plan owns and zeroes it; NULL is a no-op. */
void sim_plan_free(sim_plan *plan);

/* Per-station window counts and contact seconds (per_station: plan->n_stations entries, may be
 * NULL) and the total contact seconds over all windows (total_s may be NULL). */
void sim_plan_summary(const sim_plan *plan, sim_station_summary *per_station, double *total_s);

#endif
