/* fl.h - one federated-learning run over link windows (module prefix fl_).
 *
 * A run is FedAvg in one wire precision over a borrowed contact plan, dataset and partitions:
 * rounds, client sampling, real local training, the model transfers (fl_link.h), aggregation
 * (fl_avg.h), evaluation, per-round and per-station accounting, an event trace. It can be driven
 * in time slices (fl_run_begin / fl_run_advance / fl_run_end), and an observer receives read-only
 * snapshots of its state; fl_run is the batch path, the same loop in one slice. The whole
 * scenario (every precision, PTQ, model files) is the study (fl_study.h). docs/simulation.md
 * states every rule.
 *
 * Library code: nothing here prints. Progress goes to an optional hook.
 */
#ifndef FL_H
#define FL_H

#include "cs.h"
#include "fl_link.h"
#include "fl_part.h"
#include "nn_codec.h"
#include "nn_data.h"
#include "scn.h"
#include "sim_engine.h"
#include "sim_plan.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    FL_TR_LINK_START,      /* granted: sat, station, antenna, bytes = left, value = t_data_s */
    FL_TR_LINK_END,        /* ended: sat, station, antenna, bytes moved, value = fl_seg_end */
    FL_TR_TRAIN_START,     /* sat, bytes = images (samples * epochs), value = simulated seconds */
    FL_TR_TRAIN_END,       /* sat */
    FL_TR_UPDATE,          /* an update reached the server in time: sat, value = samples */
    FL_TR_LATE,            /* an update reached the server after its round closed: sat */
    FL_TR_AGGREGATE,       /* round closed: value = updates aggregated */
    FL_TR_EVAL,            /* the new global model evaluated: value = accuracy */
    FL_TR_WAIT,            /* sat starts waiting for the round's global model (selected and free) */
    FL_TR_CANCEL, /* sat's uplink abandoned as its round closed: value = 1 in a session, else 0 */
    /* sat selected for the round: one event per selected client, in ascending order, right after
     * ROUND_START; value = 1 if it is still busy with an earlier round (deferred), else 0 */
    FL_TR_SELECT,
    FL_TR_KINDS
} fl_trace_kind;

typedef struct fl_trace_event {
    double t_s;
    uint8_t kind;         /* fl_trace_kind */
    uint8_t dir;          /* fl_dir for LINK_* events, else 0 */
    int32_t round;        /* 1-based, 0 if none */
    int32_t sat, station; /* -1 if none */
    int32_t antenna;      /* LINK_* events: the station's antenna (fl_segment.antenna), else -1 */
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
    nn_precision precision;           /* TICK, ROUND, RUN */
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
    nn_precision precision;
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
    bool traced;           /* the event trace was recorded (fl_env.trace) */
    fl_trace_event *trace; /* owned: the event trace */
    size_t n_trace;
    bool trace_truncated;   /* memory ran out: the trace holds the first n_trace events only */
    uint64_t trace_dropped; /* events not stored */
    sim_engine_stats engine;
} fl_result;

void fl_result_free(fl_result *r); /* NULL-safe; leaves r zeroed */

/* The bill rule, the one home of what a station charges (the run, the report and
 * `constsim quantize` call it): bytes * cost_per_mb / 1e6 for the bytes it moved, then
 * contact_minutes * cost_per_minute for the contact minutes started. Returns acc plus the two
 * terms, added to acc in that order, so that a sum over stations in station order is the same
 * double wherever it is computed. */
double fl_bill_add(double acc, const scn_station *s, uint64_t bytes, uint64_t contact_minutes);

/* The cost of one round's (or any) per-station use: fl_bill_add over the stations in order,
 * from 0. use has cfg->n_stations entries. */
double fl_cost_usd(const scn_config *cfg, const fl_station_use *use);

/* ---- snapshots ------------------------------------------------------------------------------- */

/* What a client (a satellite) is doing. */
typedef enum fl_client_state {
    FL_CLIENT_IDLE = 0,      /* not in the open round (or waiting to be freed for it) */
    FL_CLIENT_RECEIVING = 1, /* waiting for or receiving the global model */
    FL_CLIENT_TRAINING = 2,  /* local training (simulated time) */
    FL_CLIENT_SENDING = 3,   /* waiting for or sending its update */
} fl_client_state;

const char *fl_client_state_name(fl_client_state s); /* "idle", "receiving", ... */

typedef struct fl_client_view {
    fl_client_state state;
    int round;            /* 1-based round of the work in progress, 0 when idle */
    bool selected;        /* selected in the open round */
    bool reported;        /* idle, its update for the open round delivered */
    size_t n_samples;     /* images of its partition */
    uint64_t bytes_left;  /* of its transfer in progress (0 when none) */
    uint64_t bytes_moved; /* by all its sessions so far, both directions */
} fl_client_view;

/* A read-only picture of a run at one simulated time. Every pointer is borrowed from the run and
 * valid only until the run advances again (an observer copies what it keeps). */
typedef struct fl_snapshot {
    double t_s; /* simulated seconds since the epoch */
    nn_precision precision;
    size_t run_index, n_runs; /* as in fl_env */
    int rounds_total;         /* federated.rounds */
    int rounds_done;          /* rounds aggregated */
    bool round_open;          /* rounds[rounds_done] is the open round */
    bool finished;            /* every round done, or the duration spent */
    const fl_round *rounds;   /* rounds_done closed rounds (+1 open); accuracy of each closed */
    double accuracy, loss;    /* of the current global model: the last closed round's, or the
                                 initial model's before any */
    uint64_t bytes_to_sat, bytes_to_ground; /* every session so far, open round included */
    double cost_usd;                        /* of every round so far, open round included */
    size_t n_clients;
    const fl_client_view *clients; /* n_clients, in client (satellite) order */
    size_t n_sessions;
    const fl_segment *sessions; /* links open now (fl_links_sessions), in satellite order */
    size_t n_stations;
    const uint64_t *station_bytes; /* n_stations: bytes each moved so far, both directions */
} fl_snapshot;

/* Called with a snapshot at the end of every fl_run_advance slice and after every round closes
 * (at the aggregation time). It must not call back into the run. */
typedef void (*fl_observer_fn)(void *user, const fl_snapshot *s);

/* ---- one run --------------------------------------------------------------------------------- */

/* Everything the runs of one scenario share. All borrowed. */
struct fl_run;
typedef struct fl_env {
    const scn_config *cfg;
    const sim_plan *plan; /* of cfg's constellation and stations, over cfg->duration_s */
    const nn_dataset *ds;
    const uint32_t *test;
    size_t n_test;
    const fl_partitions *parts;
    bool trace; /* record the event trace */
    /* The clients' trainings run on this pool (fl_train.h); NULL: the run makes its own with
     * fl_trainer_create(nn_threads(), clients_per_round, ...). Results do not depend on it. */
    struct fl_trainer *trainer;
    fl_progress_fn progress; /* may be NULL */
    void *progress_user;
    fl_observer_fn observe; /* may be NULL */
    void *observe_user;
    size_t run_index, n_runs; /* passed through to progress and snapshots */
    /* Checkpoints (may be NULL): called after every aggregation, between two events (a safe
     * point where fl_run_save captures everything the run needs to continue). An error stops
     * the run with it. */
    int (*checkpoint)(void *user, const struct fl_run *r, cs_err *err);
    void *checkpoint_user;
    /* Polled after every event (may be NULL): when set, fl_run_advance returns CS_EINTR at that
     * safe point; the run stays valid (fl_run_save, then fl_run_destroy). */
    const volatile sig_atomic_t *interrupt;
} fl_env;

typedef struct fl_run fl_run; /* opaque: a run in progress */

/* Starts a run in wire precision prec at simulated time 0: the initial global model is
 * nn_model_init with the seed derived from (seed, CS_RNG_INIT, 0), the same for every precision;
 * the first round opens at t = 0 when the run first advances. env and everything it points to
 * are borrowed for the life of the run. NULL (err filled) on failure. */
fl_run *fl_run_begin(const fl_env *env, nn_precision prec, cs_err *err);

/* Runs every event up to simulated time t_s (capped at cfg->duration_s; events at exactly t_s
 * run), then calls the observer. A run that finished (every round aggregated, or the duration
 * spent) stays where it stopped. Slicing does not change the run: any sequence of slices ends in
 * the same state as one slice to the duration. */
int fl_run_advance(fl_run *r, double t_s, cs_err *err);

bool fl_run_finished(const fl_run *r);
nn_precision fl_run_precision(const fl_run *r);
int fl_run_rounds_done(const fl_run *r);
double fl_run_now(const fl_run *r); /* simulated seconds */

/* The run's state now, in buffers the run owns (valid until it advances or snapshots again). */
void fl_run_snapshot(fl_run *r, fl_snapshot *out);

/* Ends the run at its current time: transfers in progress are abandoned, the records move to
 * out, and r is destroyed (also on failure). A run ended before it finished reports the rounds
 * it completed and its open round as unfinished. */
int fl_run_end(fl_run *r, fl_result *out, cs_err *err);

/* Abandons a run without a result (NULL is a no-op). */
void fl_run_destroy(fl_run *r);

/* Checkpoints. fl_run_save appends the whole state of a run stopped between two events (at an
 * env->checkpoint call or after CS_EINTR): the global model and what the clients decoded, the
 * server momentum, the FedAvg sum, every client's state, pending update and optimiser (when
 * kept), the round and station records, the trace, the event queue and the links. Random
 * streams are not saved: every draw derives its stream from (seed, purpose, id) where it is
 * used, and none is live between events. fl_run_load restores such a record into a run just
 * begun (fl_run_begin) with the same env and precision; the run then continues as the saved one
 * would have. CS_EINVAL (r failed: offset and reason) when the record does not fit. */
void fl_run_save(const fl_run *r, cs_buf *b);
int fl_run_load(fl_run *r, cs_rd *rd, cs_err *err);

/* A finished run's result, saved and restored the same way (out is filled; fl_result_free). */
void fl_result_save(const fl_result *res, cs_buf *b);
int fl_result_load(fl_result *out, const scn_config *cfg, cs_rd *rd, cs_err *err);

/* The batch path: begin, advance to cfg->duration_s, end. */
int fl_run_batch(const fl_env *env, nn_precision prec, fl_result *out, cs_err *err);

#endif
