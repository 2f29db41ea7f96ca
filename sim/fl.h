/* fl.h - federated learning over link windows (module prefix fl_).
 *
 * Three layers, each usable on its own (docs/simulation.md states every rule precisely):
 *
 *   links    transfers between the ground and satellites over contact windows: antennas per
 *            station (FIFO), setup time at the start of every session, resume or restart across
 *            contacts, integer bytes, started contact minutes. Driven by a sim_engine.
 *   run      one FedAvg run in one wire precision: rounds, client sampling, real local training,
 *            the update transfers, aggregation, evaluation, per-round and per-station accounting,
 *            an event trace.
 *   study    a whole scenario: contact plan once, dataset decoded once, partitions once, one run
 *            per wire precision, PTQ, model files.
 *
 * Library code: nothing here prints. Progress goes to an optional hook.
 */
#ifndef FL_H
#define FL_H

#include "cs.h"
#include "nn.h"
#include "nn_codec.h"
#include "nn_data.h"
#include "orbits.h"
#include "scn.h"
#include "sim_engine.h"
#include "sim_plan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- partitions ------------------------------------------------------------------------------ */

typedef struct fl_partitions {
    uint32_t
        *idx;    /* owned: image indices (into the dataset), client after client, each ascending */
    size_t *off; /* owned: n_clients + 1 offsets into idx; client c holds idx[off[c] .. off[c+1]) */
    size_t n_clients;
    int draws; /* Dirichlet: proportion draws needed (redrawn while a client is too small); IID 0 */
} fl_partitions;

/* Splits the train indices train[0..n_train) (ascending) over n_clients clients, seeded by
 * (seed, CS_RNG_PARTITION, .):
 *   iid        a seeded shuffle cut into n_clients contiguous parts whose sizes differ by <= 1;
 *   dirichlet  per class, proportions p ~ Dir(alpha, ..., alpha) over the clients, the class's
 *              shuffled images cut at floor(cumsum(p) * n_class); redrawn (all classes) while a
 *              client holds fewer than min(10, n_train / n_clients) images, at most 1000 draws.
 * Then each client keeps at most max_per_client images (0 = all): a seeded random subset.
 * CS_EINVAL if n_train < n_clients or the Dirichlet draws never satisfy the minimum. */
int fl_partition(const nn_dataset *ds, const uint32_t *train, size_t n_train, size_t n_clients,
                 scn_partition kind, double alpha, long max_per_client, uint64_t seed,
                 fl_partitions *out, cs_err *err);
void fl_partitions_free(fl_partitions *p); /* NULL-safe; leaves p zeroed */

/* ---- FedAvg ---------------------------------------------------------------------------------- */

/* A running weighted sum of model states, in double. */
typedef struct fl_avg {
    double *sum; /* owned: n */
    size_t n;
    double weight;                   /* sum of the weights added */
    int64_t tracked_max[NN_TRACKED]; /* max of the num_batches_tracked counters added */
    size_t count;                    /* states added */
} fl_avg;

int fl_avg_init(fl_avg *a, size_t n, cs_err *err);
void fl_avg_deinit(fl_avg *a); /* NULL-safe */
void fl_avg_reset(fl_avg *a);
/* sum += weight * state; tracked may be NULL. weight >= 0. */
void fl_avg_add(fl_avg *a, const float *state, const int64_t *tracked, double weight);
/* out = sum / weight (rounded to float), tracked_out (may be NULL) = the max counters. Returns
 * false (and leaves out unchanged) when nothing of positive weight was added. */
bool fl_avg_finish(const fl_avg *a, float *out, int64_t *tracked_out);
/* The server step of FedAvg in its update form (FedAvgM with server momentum, Hsu et al. 2019),
 * for the NN_PARAMS trainable floats: d = sum / weight - base (the mean change from base, the
 * model the clients started from), vel = momentum * vel + d, global += lr * vel, in double,
 * rounded to float once per element. The BN running statistics take the plain weighted mean.
 * vel may be NULL when momentum is 0. tracked_out as for fl_avg_finish. Returns false (and
 * changes nothing) when nothing of positive weight was added. */
bool fl_avg_finish_step(const fl_avg *a, const float *base, double lr, double momentum, float *vel,
                        float *global, int64_t *tracked_out);

/* ---- links ----------------------------------------------------------------------------------- */

typedef enum fl_dir {
    FL_UP = 0,   /* ground -> satellite (the global model), at the station's uplink_mbps */
    FL_DOWN = 1, /* satellite -> ground (a client update), at the station's downlink_mbps */
} fl_dir;

typedef enum fl_seg_end {
    FL_SEG_DONE = 0,   /* the session delivered the rest of the payload */
    FL_SEG_CUT = 1,    /* the contact ended first */
    FL_SEG_CANCEL = 2, /* abandoned (fl_links_cancel, fl_links_finish) */
} fl_seg_end;

/* One session: an antenna of a station serving one satellite for one transfer within one window. */
typedef struct fl_segment {
    uint32_t sat, station;
    int antenna;    /* index of the station's antenna */
    size_t window;  /* index into the setup's windows */
    double setup_s; /* acquisition time paid: setup_s, or 0 when the antenna continued the
                       contact it served last (same satellite, same window) */
    fl_dir dir;
    int32_t tag;      /* the transfer's tag (the FL run uses the 0-based round) */
    double t_grant_s; /* the antenna was granted: setup starts */
    double t_data_s;  /* bytes start to flow: t_grant_s + this session's setup_s */
    double t_end_s;   /* the session ended (0 in on_start) */
    uint64_t bytes;   /* bytes moved (0 in on_start) */
    uint64_t left;    /* bytes of the transfer still to move when the session started */
    uint64_t total;   /* the transfer's payload size */
    bool whole;       /* a complete payload moved in this one session */
    fl_seg_end end;
    uint64_t minutes; /* started contact minutes billed to this session: a contact is an antenna
                         tracking one satellite in one window, from the grant that paid the setup
                         to the end of its last session (gaps between its sessions included); it
                         costs ceil(duration / 60) minutes, billed as they start, each session
                         adding the minutes started since the contact's previous session */
} fl_segment;

typedef struct fl_link_hooks {
    void *user; /* borrowed, passed to the hooks */
    /* A session began (may be NULL). */
    int (*on_start)(void *user, const fl_segment *s, cs_err *err);
    /* A session ended (may be NULL); called before on_done. */
    int (*on_segment)(void *user, const fl_segment *s, cs_err *err);
    /* A transfer was delivered at t_s (may be NULL). The hook may request the satellite's next
     * transfer. */
    int (*on_done)(void *user, uint32_t sat, fl_dir dir, int32_t tag, double t_s, cs_err *err);
} fl_link_hooks;

typedef struct fl_station_link {
    double uplink_mbps, downlink_mbps; /* > 0: 10^6 bit/s; bytes/s = mbps * 1e6 / 8 */
    int antennas;                      /* >= 1 */
} fl_station_link;

#define FL_LINK_EVENT_TYPES 3

typedef struct fl_link_setup {
    const orb_window *windows; /* borrowed: sorted by t_start_s; windows of sat >= n_sats ignored */
    size_t n_windows;
    uint32_t n_sats, n_stations;
    const fl_station_link *stations; /* borrowed: n_stations */
    double setup_s;                  /* >= 0 */
    bool resume;
    uint32_t type_base;   /* uses event types type_base .. type_base + FL_LINK_EVENT_TYPES - 1 */
    uint32_t target_base; /* uses targets target_base .. target_base + n_sats - 1 */
    fl_link_hooks hooks;
} fl_link_setup;

typedef struct fl_links fl_links; /* opaque */

/* Registers the link handlers on e (which must have room for the types and targets above). The
 * setup's arrays are borrowed for the life of the links. */
fl_links *fl_links_create(sim_engine *e, const fl_link_setup *s, cs_err *err);
void fl_links_destroy(fl_links *l); /* NULL is a no-op */
/* Schedules the first window opening; call once before sim_engine_run. */
int fl_links_start(fl_links *l, cs_err *err);
/* Starts a transfer of bytes (> 0) for sat (which must have none in progress) at the engine's
 * current time: it queues (FIFO) at every station whose window with sat is open, and takes the
 * first antenna granted. An antenna is granted only if more than its setup time is left in the
 * window; one still pointed at this contact (it served sat last, in the same window) needs no
 * setup, any other setup_s. */
int fl_links_request(fl_links *l, uint32_t sat, fl_dir dir, uint64_t bytes, int32_t tag,
                     cs_err *err);
/* Abandons sat's transfer now (a session in progress ends as FL_SEG_CANCEL). No-op if none. */
int fl_links_cancel(fl_links *l, uint32_t sat, cs_err *err);
/* Abandons every transfer at the engine's current time (end of a run). */
int fl_links_finish(fl_links *l, cs_err *err);
bool fl_links_busy(const fl_links *l, uint32_t sat);       /* has a transfer */
bool fl_links_in_session(const fl_links *l, uint32_t sat); /* holds an antenna */
/* Started minutes of a contact of dt_s seconds: 0 for dt_s <= 0, else ceil(dt_s / 60) with a
 * 1e-9 minute tolerance (60.0000000001 s is one minute). */
uint64_t fl_minutes_started(double dt_s);

/* ---- one FL run ------------------------------------------------------------------------------ */

typedef struct fl_station_use {
    uint64_t bytes_to_sat, bytes_to_ground;
    uint64_t transfers_to_sat, transfers_to_ground; /* sessions that moved a whole payload */
    uint64_t partial_bytes_to_sat, partial_bytes_to_ground; /* bytes of all other sessions */
    uint64_t sessions;                                      /* antenna grants */
    uint64_t contact_minutes; /* started minutes, summed over sessions */
} fl_station_use;

typedef struct fl_round {
    int round;                 /* 1-based */
    double t_start_s, t_end_s; /* opened; aggregated (the unfinished round: the run's end) */
    int selected, reported;    /* clients sampled; updates aggregated */
    int late;                  /* updates that arrived after the round closed (dropped) */
    int uplinks_cancelled;     /* global-model transfers abandoned when the round closed */
    int deferred;              /* selected clients still busy with an earlier round at its start */
    bool deadline_hit;         /* closed by the deadline, not by the last report */
    double accuracy, loss;     /* of the aggregated global model on the test split */
    double samples;            /* sum of the sample counts aggregated */
    uint64_t bytes_to_sat, bytes_to_ground;
    uint64_t contact_minutes;
    double cost_usd; /* sum over stations, in station order, of
                        bytes * cost_per_mb / 1e6 + contact_minutes * cost_per_minute */
} fl_round;

typedef enum fl_trace_kind {
    FL_TR_ROUND_START = 0, /* round opened: value = clients selected */
    FL_TR_LINK_START,      /* antenna granted: sat, station, bytes = bytes left, value = t_data_s */
    FL_TR_LINK_END,        /* session ended: sat, station, bytes moved, value = fl_seg_end */
    FL_TR_TRAIN_START,     /* sat, bytes = images (samples * epochs), value = simulated seconds */
    FL_TR_TRAIN_END,       /* sat */
    FL_TR_UPDATE,          /* an update reached the server in time: sat, value = samples */
    FL_TR_LATE,            /* an update reached the server after its round closed: sat */
    FL_TR_AGGREGATE,       /* round closed: value = updates aggregated */
    FL_TR_EVAL,            /* the new global model evaluated: value = accuracy */
    FL_TR_KINDS
} fl_trace_kind;

typedef struct fl_trace_event {
    double t_s;
    uint8_t kind;         /* fl_trace_kind */
    uint8_t dir;          /* fl_dir for LINK_* events, else 0 */
    int32_t round;        /* 1-based, 0 if none */
    int32_t sat, station; /* -1 if none */
    int64_t bytes;
    double value;
} fl_trace_event;

const char *fl_trace_kind_name(fl_trace_kind k); /* "round_start", "link_start", ... */

/* What a run is told about its progress (kind says which fields are set). */
typedef enum fl_progress_kind {
    FL_PROG_STAGE, /* text: a stage of the study finished (contacts, dataset, partitions) */
    FL_PROG_TICK,  /* round/trained/reported/sim_time_s: a client trained or reported */
    FL_PROG_TRAIN, /* round/client/images_done/images_total: a batch of local training ran */
    FL_PROG_ROUND, /* round: a round closed */
    FL_PROG_RUN,   /* run: a run finished */
} fl_progress_kind;

struct fl_result;
typedef struct fl_progress {
    fl_progress_kind kind;
    const char *text;                 /* STAGE */
    scn_precision precision;          /* TICK, ROUND, RUN */
    size_t run_index, n_runs;         /* TICK, ROUND, RUN */
    int rounds;                       /* federated.rounds */
    const fl_round *round;            /* ROUND: the closed round; TICK: the open one */
    int trained;                      /* TICK: clients of the open round done training */
    int client;                       /* TRAIN: the client training */
    size_t images_done, images_total; /* TRAIN: of this client's local training */
    double sim_time_s;                /* TICK, ROUND, RUN */
    uint64_t bytes_total;             /* ROUND: all bytes of the run so far (completed rounds) */
    double cost_usd;                  /* ROUND: cost of the run so far (completed rounds) */
    const struct fl_result *result;   /* RUN */
} fl_progress;

typedef void (*fl_progress_fn)(void *user, const fl_progress *p);

typedef struct fl_result {
    scn_precision precision;
    size_t payload_bytes; /* one serialised model in this precision (nn_codec_encode's length) */
    size_t payload_bytes_fp32; /* the same in fp32 (compression_ratio = fp32 / this) */
    fl_round *rounds;          /* owned: the completed rounds */
    size_t n_rounds;
    bool has_unfinished; /* a round was open when the run ended (not counted in totals) */
    fl_round unfinished;
    size_t n_stations;
    fl_station_use
        *use; /* owned: (n_rounds + 1) x n_stations; row n_rounds: the unfinished round */
    fl_station_use *station_totals; /* owned: n_stations, all rows added (unfinished included) */
    /* Totals over the completed rounds (what the report's `final` holds): */
    uint64_t bytes_to_sat, bytes_to_ground, contact_minutes;
    double cost_usd; /* sum of rounds[].cost_usd in round order */
    int updates_received, updates_late;
    double accuracy, loss; /* of the final global model (the initial one if no round completed) */
    double sim_time_s;     /* time of the last aggregation (0 if none) */
    double end_time_s;     /* when the run stopped: the last aggregation or the horizon */
    bool horizon_hit;      /* stopped by the scenario duration */
    double wall_time_s;
    float *state; /* owned: the final global model (NN_STATE_FLOATS) */
    int64_t tracked[NN_TRACKED];
    fl_trace_event *trace; /* owned */
    size_t n_trace;
    sim_engine_stats engine;
} fl_result;

void fl_result_free(fl_result *r); /* NULL-safe; leaves r zeroed */

/* Everything the runs of one scenario share. All borrowed. */
typedef struct fl_env {
    const scn_config *cfg;
    const sim_plan *plan;
    const nn_dataset *ds;
    const uint32_t *test;
    size_t n_test;
    const fl_partitions *parts;
    bool trace;              /* record the event trace */
    fl_progress_fn progress; /* may be NULL */
    void *progress_user;
    size_t run_index, n_runs; /* passed through to progress */
} fl_env;

/* One FL run in wire precision prec. The initial global model is nn_model_init with the seed
 * derived from (seed, CS_RNG_INIT, 0); the same for every precision. */
int fl_run(const fl_env *env, scn_precision prec, fl_result *out, cs_err *err);

/* The cost of one round's (or any) per-station use: sum over stations in order of
 * bytes * cost_per_mb / 1e6 + contact_minutes * cost_per_minute. */
/* The learning rate of the local training in round `round` (0-based) of `rounds`:
 * optimizer.lr, or lr * (1 + cos(pi * round / rounds)) / 2 with schedule cosine. */
double fl_round_lr(const scn_optimizer_cfg *o, int round, int rounds);
double fl_cost_usd(const scn_config *cfg, const fl_station_use *use);

/* ---- a whole scenario ------------------------------------------------------------------------ */

typedef struct fl_ptq_entry {
    nn_precision precision;
    double accuracy, loss;
    size_t file_bytes;
    double compression_ratio; /* fp32 file_bytes / file_bytes */
    double accuracy_drop_pct; /* (fp32 accuracy - accuracy) * 100 */
    char path[1100];          /* "" when not saved */
} fl_ptq_entry;

typedef struct fl_study_opts {
    int threads;             /* compute threads (contacts, decoding, training); <= 0: 1 */
    const char *report_path; /* NULL: cfg->report.path */
    bool trace;              /* record the event trace (default in the CLI: true) */
    bool save_models;        /* write the model files */
    fl_progress_fn progress; /* may be NULL */
    void *progress_user;
} fl_study_opts;

typedef struct fl_study {
    const scn_config *cfg;  /* borrowed */
    sim_plan plan;          /* owned */
    nn_dataset ds;          /* owned */
    uint32_t *train, *test; /* owned */
    size_t n_train, n_test;
    fl_partitions parts; /* owned */
    fl_result runs[SCN_PREC_COUNT];
    size_t n_runs;
    char report_path[1024];
    char model_dir[1024];                   /* the report path without ".json" */
    char model_paths[SCN_PREC_COUNT][1100]; /* one FP32 model per run ("" when not saved) */
    bool has_ptq;
    size_t ptq_source_run; /* the run whose final model was quantised (the fp32 one if any) */
    fl_ptq_entry ptq[NN_PRECISIONS];
    double plan_wall_s, data_wall_s, wall_s;
} fl_study;

/* Runs the scenario: plan, dataset, partitions, every precision, PTQ (cfg->report.ptq), model
 * files (opts->save_models). On failure returns the error; the study is freed by fl_study_free. */
int fl_study_run(const scn_config *cfg, const fl_study_opts *opts, fl_study *out, cs_err *err);
void fl_study_free(fl_study *s); /* NULL-safe */

/* The model folder of a report path: "reports/x.json" -> "reports/x" (else path + ".models"). */
void fl_model_dir(const char *report_path, char *out, size_t cap);

#endif
