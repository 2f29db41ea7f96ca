/* swp.h - sweeps (module prefix swp_): the grid of scenario variants that `constsim sweep` runs,
 * the summary of each point read back from its report, and the aggregate (sweep.json,
 * sweep.csv) with the replicate statistics. The format is docs/sweep.md.
 *
 * Library code: nothing here prints, runs or schedules; cli/cmd_sweep.c does.
 */
#ifndef SWP_H
#define SWP_H

#include "cs.h"
#include "nn_codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

#define SWP_FORMAT "constsim-sweep/1"
#define SWP_MAX_AXES 64

typedef struct swp_axis {
    char *key;     /* owned: the dotted scenario key */
    char **values; /* owned: n_values values as written (a list's items joined by '+') */
    size_t n_values;
    bool is_list; /* scn_key_is_list(key): '+' separates a point's list items */
} swp_axis;

typedef struct swp_grid {
    swp_axis *axes; /* owned */
    size_t n_axes;
    size_t n_points; /* product of the axes' value counts */
    int seed_axis;   /* index of the "seed" axis, -1 when there is none */
} swp_grid;

/* The grid of the --set arguments args[0..n) ("KEY=V1,V2,..."), in that order. CS_EINVAL
 * (path "--set", naming the argument) for a missing '=', an empty key or value, a key given
 * twice, a repeated value on one axis (the same text or the same number), more than
 * SWP_MAX_AXES axes, or more than 1,000,000 points. The values themselves are
 * checked by loading each point's scenario (swp_point_sets). */
int swp_grid_parse(const char *const *args, size_t n, swp_grid *g, cs_err *err);
void swp_grid_free(swp_grid *g); /* NULL-safe */

/* The value index on each axis of point i (the last axis varies fastest): idx[0..n_axes). */
void swp_point_coords(const swp_grid *g, size_t i, size_t *idx);
/* "p0007": the point's id, zero-padded to the width of the largest index (at least 4). */
void swp_point_id(const swp_grid *g, size_t i, char *out, size_t cap);
/* The --set arguments of point i, one "KEY=VALUE" per axis ('+' in a list value becomes ','),
 * as one malloc'd array of pointers into the same block (free(*sets) frees all). */
int swp_point_sets(const swp_grid *g, size_t i, char ***sets, cs_err *err);
/* The point's values, {"KEY": value, ...} (numbers when the text is a plain number). */
struct cJSON *swp_point_values(const swp_grid *g, size_t i);

typedef enum swp_status { SWP_PENDING, SWP_DONE, SWP_FAILED } swp_status;
const char *swp_status_name(swp_status s);

/* One run of a point: the figures of the report's runs[].final. */
typedef struct swp_run {
    nn_precision precision;
    double accuracy, loss;
    uint64_t bytes_to_sat, bytes_to_ground, bytes_total;
    double cost_usd;
    int rounds_completed;
    double sim_time_s, wall_time_s;
} swp_run;

typedef struct swp_point {
    swp_status status;
    char message[1400]; /* failed: why ("FILE:LINE:COL: message" when it has a place) */
    int exit_code;      /* failed: the exit status `constsim run` would give (1 or 2) */
    size_t orbital_setup;
    int threads; /* done: the compute threads of its run (the report's machine.threads), 0 if
                    not recorded */
    swp_run runs[NN_PRECISIONS];
    size_t n_runs;
} swp_point;

/* Fills p (status SWP_DONE) from a point report (docs/report.md); CS_EINVAL naming path when a
 * field is missing or does not fit. */
int swp_point_from_report(const struct cJSON *report, const char *path, swp_point *p, cs_err *err);

/* What the aggregate says about the sweep as a whole (docs/sweep.md). */
typedef struct swp_meta {
    const char *constsim_version;
    const char *scenario_file, *scenario_name;
    char scenario_sha256[65];
    char tle_sha256[65]; /* "" for a Walker constellation */
    size_t orbital_setups;
} swp_meta;

/* This invocation: docs/sweep.md "runtime". */
typedef struct swp_runtime {
    double wall_time_s;
    int ranks, threads, jobs;
    long dataset_decodes, contact_plans, points_run, points_skipped;
} swp_runtime;

/* sweep.json: the grid, every point (pts[0..g->n_points)) and the replicate statistics. NULL
 * when out of memory. */
struct cJSON *swp_aggregate(const swp_grid *g, const swp_point *pts, const swp_meta *meta,
                            const swp_runtime *rt);
/* sweep.csv as text. NULL when out of memory. */
char *swp_csv(const swp_grid *g, const swp_point *pts);

/* The two-sided 95% quantile of Student's t with dof degrees of freedom (dof >= 1). */
double swp_t975(int dof);

/* True when a and b print the same once read back from text (raw numbers built in memory and
 * numbers parsed from a file compare by value); false for NULL. */
bool swp_json_equal(const struct cJSON *a, const struct cJSON *b);

/* Compares the campaign of an existing sweep.json (old) with the new one's grid and meta: 0 when
 * the same; else CS_EINVAL with err naming path and what changed (the grid, the scenario file,
 * the TLE file or the constsim version, old and new values). */
int swp_check_same(const struct cJSON *old, const char *path, const struct cJSON *now, cs_err *err);

#endif
