/* scn.h - scenario files: one YAML document -> a validated, immutable scn_config.
 *
 * The format is ../shared/spec/SCENARIO.md plus the extensions in docs/scenario.md. The file is
 * parsed with libyaml's document API, then `--set KEY=VALUE` overrides are applied to the node
 * tree, then every section is converted and validated. Overrides therefore go through exactly the
 * same checks as values written in the file.
 *
 * Every value remembers where it came from (scn_loc): a 1-based line and column in the file, or
 * the index of the --set argument that gave it, or, for defaults, the location of the enclosing
 * mapping. Later stages (the simulator) report semantic errors through scn_error(), which formats
 * them like the loader's own errors:
 *   scenarios/x.yaml:12:14: error: constellation.walker.planes: expected an integer >= 1, got "six"
 *   --set: error: federated.rounds=abc: expected an integer >= 1, got "abc"
 *
 * Ownership: scn_load allocates the whole config; scn_free releases it (NULL is a no-op). Nothing
 * in the config points into memory owned by anyone else.
 */
#ifndef SCN_H
#define SCN_H

#include "cs.h"
#include "nn.h"
#include "nn_codec.h"
#include "nn_train.h"
#include "orbits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* Where a value came from. */
typedef struct scn_loc {
    long line;       /* 1-based line in the scenario file; 0 when from --set */
    long col;        /* 1-based column; 0 when from --set */
    int set;         /* index of the --set argument that gave the value; -1 for the file */
    bool is_default; /* not written: line/col/set are those of the enclosing mapping */
} scn_loc;

typedef enum scn_payload { SCN_PAYLOAD_WEIGHTS, SCN_PAYLOAD_DELTA } scn_payload;
typedef enum scn_partition { SCN_PART_IID, SCN_PART_DIRICHLET } scn_partition;
typedef enum scn_strategy { SCN_STRATEGY_FEDAVG } scn_strategy;
/* Extension: what happens to a client's optimiser state between rounds. */
typedef enum scn_opt_state { SCN_OPT_STATE_RESET, SCN_OPT_STATE_KEEP } scn_opt_state;
typedef enum scn_augment { SCN_AUG_NONE, SCN_AUG_FLIP } scn_augment;

/* Lower-case names as written in scenario files ("delta", "dirichlet", ...). The value sets that
 * other layers own are theirs, with their names: propagators are orbits' orb_prop_kind
 * (orb_prop_name: "sgp4", "j2", "kepler"), wire precisions ml's nn_precision (nn_precision_name:
 * "fp32", "fp16", "int8"), optimisers nn_opt_kind (nn_opt_kind_name) and learning-rate schedules
 * nn_schedule (nn_schedule_name). */
const char *scn_payload_name(scn_payload p);
const char *scn_partition_name(scn_partition p);
const char *scn_opt_state_name(scn_opt_state s);
const char *scn_augment_name(scn_augment a);
const char *scn_strategy_name(scn_strategy s);

/* constellation.walker: Walker-delta i: T/P/F. */
typedef struct scn_walker {
    double altitude_km;     /* (100, 50000] */
    double inclination_deg; /* [0, 180] */
    int satellites;         /* T >= 1 */
    int planes;             /* P in [1, T], T % P == 0 */
    int phasing;            /* F in [0, P-1] */
    double raan0_deg;       /* [-360, 360], default 0 */
    struct {
        scn_loc self, altitude_km, inclination_deg, satellites, planes, phasing, raan0_deg;
    } at;
} scn_walker;

typedef struct scn_constellation {
    bool has_walker;      /* true: walker below; false: tle */
    scn_walker walker;    /* valid when has_walker */
    char *tle;            /* owned; NULL for walker. Resolved: relative to the scenario's folder */
    char *tle_as_written; /* owned; NULL for walker */
    char **select;        /* owned: n_select owned names (TLE title lines), in the given order */
    scn_loc *select_at;   /* owned: n_select locations */
    size_t n_select;      /* 0: every set in the TLE file */
    orb_tle *tles;        /* owned: n_tles sets read from the file by the loader (the only time it
                             is read): the selected ones in select order, else all in file order.
                             NULL for walker */
    size_t n_tles;
    orb_prop_kind propagator; /* default ORB_PROP_SGP4 */
    size_t n_satellites;      /* T for walker; n_tles for tle */
    struct {
        scn_loc self, walker, tle, select, propagator;
    } at;
} scn_constellation;

typedef struct scn_station {
    char name[64];            /* unique within the scenario, 1..63 bytes */
    double lat_deg;           /* [-90, 90] */
    double lon_deg;           /* [-180, 180] */
    double alt_m;             /* [-500, 9000], default 0 */
    double min_elevation_deg; /* [0, 90), default 10 */
    double uplink_mbps;       /* > 0: ground -> satellite, megabits (10^6 bit) per second */
    double downlink_mbps;     /* > 0: satellite -> ground */
    double cost_per_mb;       /* >= 0 USD per 10^6 bytes, default 0 */
    double cost_per_minute;   /* >= 0 USD per started minute of contact used, default 0 */
    int antennas;             /* [1, 1000], default 1: satellites served at once */
    struct {
        scn_loc self, name, lat_deg, lon_deg, alt_m, min_elevation_deg, uplink_mbps, downlink_mbps,
            cost_per_mb, cost_per_minute, antennas;
    } at;
} scn_station;

typedef struct scn_links {
    double setup_s; /* >= 0, default 0: acquisition time lost at the start of every contact */
    bool resume;    /* default true */
    struct {
        scn_loc self, setup_s, resume;
    } at;
} scn_links;

typedef struct scn_optimizer_cfg {
    nn_opt_kind name;      /* default adam */
    double lr;             /* > 0, default 0.001 */
    double momentum;       /* [0, 1), sgd only, default 0 */
    double weight_decay;   /* >= 0, default 0 */
    nn_schedule schedule;  /* extension: lr over the rounds, default constant */
    double decay_fraction; /* extension: (0, 1], default 0.3: share of decay rounds for wsd */
    scn_opt_state state;   /* extension: reset each round (default) or kept on the satellite */
    struct {
        scn_loc self, name, lr, momentum, weight_decay, schedule, decay_fraction, state;
    } at;
} scn_optimizer_cfg;

typedef struct scn_federated {
    int rounds;            /* required, [1, 1000000] */
    int clients;           /* [1, n_satellites], default n_satellites */
    int clients_per_round; /* [1, clients], resolved: ceil(f * clients) for a fraction */
    double clients_per_round_fraction; /* the fraction as written, 0 when a count was given */
    scn_strategy strategy;             /* fedavg */
    double round_deadline_s; /* > 0; 0 = none (wait for every selected client), the default */
    int local_epochs;        /* [1, 1000], default 1 */
    int batch_size;          /* [1, 65536], default 32 */
    scn_optimizer_cfg optimizer;
    double compute_gflops;  /* > 0, default 20 */
    double server_lr;       /* extension: > 0, default 1 (plain FedAvg) */
    double server_momentum; /* extension: [0, 1), default 0 (plain FedAvg) */
    struct {
        scn_loc self, rounds, clients, clients_per_round, strategy, round_deadline, local_epochs,
            batch_size, optimizer, compute_gflops, server_lr, server_momentum;
    } at;
} scn_federated;

typedef struct scn_wire {
    nn_precision precision[NN_PRECISIONS]; /* distinct, in the given order */
    size_t n_precision;                    /* 1..NN_PRECISIONS, default [fp32] */
    scn_payload payload;                   /* default weights */
    uint32_t group_size;      /* extension: int4/ternary values per scale, 0 per output channel */
    double topk_fraction;     /* extension: topk's kept fraction, (0, 1], default 0.01 */
    bool error_feedback;      /* extension: clients carry what compression dropped, default false */
    bool stochastic_rounding; /* extension: int8/int4/ternary round stochastically (seeded) */
    nn_precision adaptive[NN_CODECS]; /* extension: what an adaptive run may send, distinct */
    size_t n_adaptive;                /* default [fp32, int8, int4, topk] */
    int broadcast; /* extension: low precisions' broadcasts in this nn_precision; -1 (default):
                      the run's own */
    struct {
        scn_loc self, precision, payload, group_size, topk_fraction, error_feedback,
            stochastic_rounding, adaptive, broadcast;
        scn_loc precision_items[NN_PRECISIONS];
    } at;
} scn_wire;

typedef struct scn_dataset {
    char name[32];               /* "eurosat" (the only one) */
    char *path;                  /* owned; NULL: the default lookup (see nn_data_find_root) */
    double test_fraction;        /* (0, 1), default 0.2 */
    scn_partition partition;     /* default iid */
    double alpha;                /* > 0, default 0.5: Dirichlet concentration */
    long max_samples_per_client; /* >= 0, 0 = no cap (default) */
    scn_augment augment;         /* extension: training-time flips, default none */
    struct {
        scn_loc self, name, path, test_fraction, partition, alpha, max_samples_per_client, augment;
    } at;
} scn_dataset;

typedef struct scn_report {
    char *path; /* owned; never NULL: default "reports/<name>.json" */
    bool ptq;   /* default false */
    struct {
        scn_loc self, path, ptq;
    } at;
} scn_report;

typedef struct scn_config {
    char *file;  /* owned: the scenario path as given to scn_load */
    char **sets; /* owned: copies of the --set arguments, in order */
    size_t n_sets;
    char name[64];      /* [A-Za-z0-9._-], 1..63 bytes */
    char *description;  /* owned; NULL when absent */
    uint64_t seed;      /* [0, 2^53 - 1], default 1 */
    char epoch_iso[64]; /* as written */
    double epoch_jd;    /* Julian date, UTC */
    double duration_s;  /* > 0 */
    scn_constellation constellation;
    scn_station *stations; /* owned: n_stations >= 1 */
    size_t n_stations;
    scn_links links;
    scn_federated federated;
    scn_wire wire;
    scn_dataset dataset;
    scn_report report;
    struct {
        scn_loc self, name, description, seed, epoch, duration, constellation, ground_stations,
            links, federated, wire, dataset, report;
    } at;
} scn_config;

/* Loads and validates the scenario at path, after applying sets[0..n_sets) ("KEY=VALUE", KEY a
 * dotted path such as federated.rounds or ground_stations.0.cost_per_mb; list-valued keys take
 * a comma list: wire.precision=fp16,int8). On success *out owns a new config. On failure returns
 * CS_EINVAL (bad input), CS_EIO or CS_ENOMEM with err filled and *out NULL. */
int scn_load(const char *path, const char *const *sets, size_t n_sets, scn_config **out,
             cs_err *err);

/* Same, from text in memory; label stands for the file name in errors and for resolving the
 * TLE path (its folder). text need not be NUL-terminated. */
int scn_load_text(const char *label, const char *text, size_t len, const char *const *sets,
                  size_t n_sets, scn_config **out, cs_err *err);

void scn_free(scn_config *c);

/* Fills err with a compiler-style error at loc (file line/col, or the --set argument), with
 * keypath (may be NULL or "") before the message. Returns CS_EINVAL. For semantic errors found
 * after loading. */
int scn_error(const scn_config *c, scn_loc loc, const char *keypath, cs_err *err, const char *fmt,
              ...) __attribute__((format(printf, 5, 6)));

/* True when KEY (dotted, list indices as numbers) names a list-valued key, whose --set value is
 * a comma list (wire.precision, constellation.select). */
bool scn_key_is_list(const char *key);

/* Parses a duration: a number of seconds ("90", "1.5") or a number with a unit s, m, h or d
 * ("90s", "45m", "1.5h", "3d"). Returns 0 and sets *out_s, or -1 if text is not a duration
 * (negative values are not durations). */
int scn_duration_parse(const char *text, double *out_s);

/* The effective configuration (after --set) as a new cJSON object for the report's `scenario`
 * field; caller owns it (cJSON_Delete). NULL when out of memory. */
struct cJSON *scn_to_json(const scn_config *c);

#endif
