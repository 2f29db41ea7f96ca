/* fl.c - one FL run over the contact plan, driven in time slices (see fl.h and
 * docs/simulation.md).
 */
#include "fl.h"

#include "cs_rng.h"
#include "fl_avg.h"
#include "fl_train.h"
#include "nn_infer.h"
#include "nn_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double fl_bill_add(double acc, const scn_station *s, uint64_t bytes, uint64_t contact_minutes)
{
    acc += (double)bytes * s->cost_per_mb / 1e6;
    acc += (double)contact_minutes * s->cost_per_minute;
    return acc;
}

double fl_cost_usd(const scn_config *cfg, const fl_station_use *use)
{
    double cost = 0;
    for (size_t k = 0; k < cfg->n_stations; k++)
        cost = fl_bill_add(cost, &cfg->stations[k], use[k].bytes_to_sat + use[k].bytes_to_ground,
                           use[k].contact_minutes);
    return cost;
}

const char *fl_client_state_name(fl_client_state st)
{
    static const char *const names[] = {"idle", "receiving", "training", "sending"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

const char *fl_trace_kind_name(fl_trace_kind k)
{
    static const char *const names[FL_TR_KINDS] = {
        "round_start", "link_start", "link_end", "train_start", "train_end",     "update",
        "late",        "aggregate",  "eval",     "uplink_wait", "uplink_cancel", "select"};
    return (unsigned)k < FL_TR_KINDS ? names[k] : "?";
}

void fl_result_free(fl_result *r)
{
    if (!r)
        return;
    free(r->rounds);
    free(r->use);
    free(r->station_totals);
    free(r->state);
    free(r->trace);
    memset(r, 0, sizeof *r);
}

/* ---- one run --------------------------------------------------------------------------------- */

enum {
    EV_ROUND_START = FL_LINK_EVENT_TYPES,
    EV_TRAIN_DONE,
    EV_DEADLINE,
    EV_TYPES,
};

typedef struct client {
    fl_client_state state;
    int work_round;        /* 0-based round of the work in progress */
    int queued_round;      /* selected while busy: starts when free, if still open; -1 */
    int reported_round;    /* 0-based round of its last update that arrived in time; -1 */
    uint64_t bytes_moved;  /* every session's bytes, both directions */
    unsigned char *update; /* owned: the encoded update (allocated once, on first use) */
    size_t update_len, update_cap;
    size_t update_expect; /* bytes its update's transfer carries */
    size_t n_samples;
    fl_train_job job; /* its local training (fl_train.h), in flight while state is training */
    /* The low precisions (nn_precision_is_low): broadcasts are deltas against the model the
     * client holds, of which the ground keeps this copy (allocated at its first selection). */
    float *held; /* owned: NN_STATE_FLOATS, valid when has_held */
    int64_t held_tracked[NN_TRACKED];
    bool has_held;
    unsigned char *bcast; /* owned: its broadcast of the round it is receiving */
    size_t bcast_len;
    nn_precision bcast_prec; /* that broadcast's */
    float *resid; /* owned: error feedback, what its updates' payloads dropped (NN_STATE_FLOATS) */
    float *trained; /* owned, adaptive runs: its trained state, encoded at "training done" */
    int64_t trained_tracked[NN_TRACKED];
} client;

struct fl_run {
    const fl_env *env;     /* borrowed */
    const scn_config *cfg; /* borrowed: env->cfg */
    nn_precision prec;
    nn_wire wire;  /* prec with the scenario's wire parameters */
    bool low;      /* nn_precision_is_low(prec): per-client delta broadcasts */
    bool ef;       /* wire.error_feedback */
    bool adaptive; /* prec is NN_PREC_ADAPTIVE: each transfer takes one of allowed[] */
    nn_precision allowed[NN_CODECS]; /* wire.adaptive, largest payload (most precise) first */
    size_t n_allowed;
    float *abase; /* adaptive: an update's base shifted by the residual (NN_STATE_FLOATS) */
    sim_engine *e;
    fl_links *links;
    nn_infer *inf;           /* the global model's evaluations (inference path) */
    fl_trainer *trainer;     /* env->trainer, or own_trainer */
    fl_trainer *own_trainer; /* owned when env->trainer is NULL */
    nn_opt_cfg opt_cfg;
    nn_opt **copt; /* one per client with optimizer.state keep, else NULL */
    float *vel;    /* server momentum (NN_STATE_FLOATS) when server_momentum > 0, else NULL */
    bool step;     /* aggregate as a server step from sent (fl_avg_finish_step) */
    uint32_t n_clients, n_st;
    uint32_t server_target; /* engine target id of the server (its round deadline) */
    client *clients;        /* owned: n_clients */
    fl_station_link *st_link;
    float *global; /* the server's FP32 global model */
    int64_t global_tracked[NN_TRACKED];
    float *sent; /* the global as the clients decode it this round (base of deltas) */
    int64_t sent_tracked[NN_TRACKED];
    unsigned char *gpay; /* the encoded global of this round */
    size_t gpay_len;
    float *scratch; /* a decoded update */
    int64_t scratch_tracked[NN_TRACKED];
    fl_avg avg;
    uint32_t *perm; /* n_clients */
    uint32_t *sel;  /* selected clients of the open round, ascending */
    bool *chosen;   /* n_clients: selected in the last round started */
    int n_sel;
    int cur; /* 0-based index of the last round started, -1 before */
    bool open;
    int trained, rounds_done;
    fl_round *rounds;    /* every round started */
    fl_station_use *use; /* rows of n_st per started round */
    size_t cap_rounds;
    uint32_t train_client; /* for training progress: the client waited for */
    fl_trace_event *trace;
    size_t n_trace, cap_trace;
    uint64_t trace_dropped; /* events not stored because memory ran out */
    double flops_img;
    bool finished;           /* every round done, or the duration spent */
    bool horizon_hit;        /* finished by the duration */
    double accuracy0, loss0; /* the initial global model (for snapshots before round 1) */
    bool have_eval0;
    bool links_done;    /* transfers abandoned once the run finished (fl_links_finish) */
    bool ckpt_due;      /* a round closed: the loop pauses after this event for env->checkpoint */
    double wall_before; /* wall seconds spent before a resume (fl_run_load) */
    fl_client_view *views;                    /* owned: n_clients, for snapshots */
    fl_segment *sessions;                     /* owned: n_clients, for snapshots */
    uint64_t *station_bytes;                  /* owned: n_st, for snapshots */
    size_t payload_bytes, payload_bytes_fp32; /* of the initial model */
    size_t update_bytes; /* of every client update (its values do not change its length) */
    double wall0;
};

/* Records an event (antenna -1); returns it, or NULL when the trace is off or it was lost. */
static fl_trace_event *trace_add(fl_run *r, fl_trace_kind kind, int dir, int round1, int64_t sat,
                                 int64_t station, int64_t bytes, double value)
{
    if (!r->env->trace)
        return NULL;
    if (r->trace_dropped > 0) {
        r->trace_dropped++;
        return NULL;
    }
    if (r->n_trace == r->cap_trace) {
        size_t cap = r->cap_trace ? 2 * r->cap_trace : 1024;
        fl_trace_event *t = cap <= SIZE_MAX / sizeof *t ? realloc(r->trace, cap * sizeof *t) : NULL;
        if (!t) {
            r->trace_dropped = 1; /* the trace stays a complete prefix; the report flags it */
            return NULL;
        }
        r->trace = t;
        r->cap_trace = cap;
    }
    fl_trace_event *t = &r->trace[r->n_trace++];
    *t = (fl_trace_event){.t_s = sim_engine_now(r->e),
                          .kind = (uint8_t)kind,
                          .dir = (uint8_t)dir,
                          .round = round1,
                          .sat = (int32_t)sat,
                          .station = (int32_t)station,
                          .antenna = -1,
                          .bytes = bytes,
                          .value = value};
    return t;
}

static void progress(fl_run *r, fl_progress *p)
{
    if (!r->env->progress)
        return;
    p->precision = r->prec;
    p->run_index = r->env->run_index;
    p->n_runs = r->env->n_runs;
    p->rounds = r->cfg->federated.rounds;
    p->sim_time_s = sim_engine_now(r->e);
    r->env->progress(r->env->progress_user, p);
}

/* Called while the loop waits for client r->train_client's training. */
static void on_train_poll(void *user)
{
    fl_run *r = user;
    const client *cl = &r->clients[r->train_client];
    fl_progress p = {.kind = FL_PROG_TRAIN,
                     .round = &r->rounds[r->cur],
                     .trained = r->trained,
                     .client = (int)r->train_client,
                     .images_done = atomic_load(&cl->job.images_done),
                     .images_total = (size_t)r->cfg->federated.local_epochs * cl->n_samples};
    progress(r, &p);
}

static void tick(fl_run *r)
{
    fl_progress p = {.kind = FL_PROG_TICK, .round = &r->rounds[r->cur], .trained = r->trained};
    progress(r, &p);
}

static int on_link_start(void *user, const fl_segment *s, cs_err *err)
{
    (void)err;
    fl_run *r = user;
    fl_trace_event *t = trace_add(r, FL_TR_LINK_START, s->dir, s->tag + 1, s->sat, s->station,
                                  (int64_t)s->left, s->t_data_s);
    if (t)
        t->antenna = s->antenna;
    return 0;
}

static int on_link_segment(void *user, const fl_segment *s, cs_err *err)
{
    (void)err;
    fl_run *r = user;
    CS_ASSERT(s->tag >= 0 && s->tag <= r->cur);
    fl_station_use *u = &r->use[(size_t)s->tag * r->n_st + s->station];
    fl_round *rd = &r->rounds[s->tag];
    if (s->dir == FL_UP) {
        u->bytes_to_sat += s->bytes;
        rd->bytes_to_sat += s->bytes;
        if (s->whole)
            u->transfers_to_sat++;
        else
            u->partial_bytes_to_sat += s->bytes;
    } else {
        u->bytes_to_ground += s->bytes;
        rd->bytes_to_ground += s->bytes;
        if (s->whole)
            u->transfers_to_ground++;
        else
            u->partial_bytes_to_ground += s->bytes;
    }
    u->sessions++;
    u->contact_minutes += s->minutes;
    r->clients[s->sat].bytes_moved += s->bytes;
    rd->contact_minutes += s->minutes;
    fl_trace_event *t = trace_add(r, FL_TR_LINK_END, s->dir, s->tag + 1, s->sat, s->station,
                                  (int64_t)s->bytes, (double)s->end);
    if (t)
        t->antenna = s->antenna;
    return 0;
}

static int fail_nomem(cs_err *err, const char *what);

/* The encoding of a payload in precision p for client c in the open round (dir 0: the broadcast
 * to it, 1: its update), with the seed of its stochastic rounding. */
static nn_wire wire_as(const fl_run *r, nn_precision p, uint32_t c, int dir)
{
    nn_wire w = r->wire;
    w.prec = p;
    w.stochastic = r->cfg->wire.stochastic_rounding &&
                   (p == NN_PREC_INT8 || p == NN_PREC_INT4 || p == NN_PREC_TERNARY);
    if (w.stochastic) {
        cs_rng g;
        cs_rng_derive(&g, r->cfg->seed, CS_RNG_WIRE,
                      ((uint64_t)(r->cur + 1) << 33) | ((uint64_t)c << 1) | (uint64_t)dir);
        w.sr_seed = cs_rng_u64(&g);
    }
    return w;
}

/* Adaptive runs: the bytes client c's next session in direction dir could move if it started at
 * once: of the window with c that is open now or opens first (the larger if two start together),
 * its station's rate x (what is left of it - links.setup_s). 0 when no window is left. Antenna
 * queues are not foreseen. */
static double contact_bytes(const fl_run *r, uint32_t c, fl_dir dir)
{
    const double now = sim_engine_now(r->e);
    const orb_windows *ws = &r->env->plan->windows;
    double best_t = INFINITY, cap = 0;
    for (size_t i = 0; i < ws->n; i++) {
        const orb_window *w = &ws->w[i];
        if (w->t_start_s > best_t)
            break; /* sorted by start: none opens earlier */
        if (w->sat != c || w->t_end_s <= now)
            continue;
        double t0 = w->t_start_s > now ? w->t_start_s : now;
        const fl_station_link *s = &r->st_link[w->station];
        double mbps = dir == FL_UP ? s->uplink_mbps : s->downlink_mbps;
        double b = mbps * 1e6 / 8 * (w->t_end_s - t0 - r->cfg->links.setup_s);
        if (t0 < best_t || b > cap) {
            best_t = t0;
            cap = b;
        }
    }
    return cap > 0 ? cap : 0;
}

/* Adaptive runs: state encoded against base in every allowed precision, keeping the first
 * (the most precise) whose bytes fit contact_bytes(), else the smallest, which resumes over
 * later contacts. *buf is replaced. */
static int encode_adaptive(fl_run *r, uint32_t c, fl_dir dir, const float *state,
                           const int64_t *tracked, const float *base, unsigned char **buf,
                           size_t *len, nn_precision *prec, cs_err *err)
{
    const double cap = contact_bytes(r, c, dir);
    unsigned char *keep = NULL;
    size_t keep_len = 0;
    nn_precision keep_prec = r->allowed[0];
    for (size_t i = 0; i < r->n_allowed; i++) {
        nn_wire w = wire_as(r, r->allowed[i], c, dir == FL_UP ? 0 : 1);
        unsigned char *b = NULL;
        size_t n = 0;
        int rc = nn_codec_encode_model(&w, state, tracked, base, &b, &n, err);
        if (rc) {
            free(keep);
            return rc;
        }
        /* the first that fits wins; failing all, the last (smallest) */
        free(keep);
        keep = b;
        keep_len = n;
        keep_prec = w.prec;
        if ((double)n <= cap)
            break;
    }
    free(*buf);
    *buf = keep;
    *len = keep_len;
    *prec = keep_prec;
    return 0;
}

/* Adaptive runs: client c's update from its trained state (its training joined), against the
 * model it started from shifted by its residual (error feedback), in the precision its contact
 * fits; the residual becomes what that payload dropped. */
static int encode_update_adaptive(fl_run *r, uint32_t c, nn_precision *prec, cs_err *err)
{
    client *cl = &r->clients[c];
    memcpy(r->abase, cl->held, NN_STATE_FLOATS * sizeof *r->abase);
    if (cl->resid)
        for (size_t i = 0; i < NN_STATE_FLOATS; i++)
            r->abase[i] -= cl->resid[i];
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = encode_adaptive(r, c, FL_DOWN, cl->trained, cl->trained_tracked, r->abase, &buf, &len,
                             prec, err);
    if (rc)
        return rc;
    if (cl->resid) {
        int64_t tr[NN_TRACKED];
        if ((rc = nn_codec_decode(buf, len, r->abase, r->scratch, tr, NULL, err))) {
            free(buf);
            return rc;
        }
        for (size_t i = 0; i < NN_STATE_FLOATS; i++)
            cl->resid[i] = cl->trained[i] - r->scratch[i];
    }
    if (len > cl->update_cap) {
        unsigned char *nb = realloc(cl->update, len);
        if (!nb) {
            free(buf);
            return fail_nomem(err, "client update");
        }
        cl->update = nb;
        cl->update_cap = len;
    }
    memcpy(cl->update, buf, len);
    cl->update_len = len;
    free(buf);
    return 0;
}

/* Low precisions: the broadcast to client c, the global as a delta against the model it holds
 * (its first, a full INT8 state). What compression drops stays in global - held and goes with
 * the next broadcast: the server's error feedback. */
static int encode_broadcast(fl_run *r, uint32_t c, cs_err *err)
{
    client *cl = &r->clients[c];
    if (!cl->held && !(cl->held = malloc(NN_STATE_FLOATS * sizeof *cl->held)))
        return fail_nomem(err, "the model a client holds");
    unsigned char *buf = NULL;
    size_t len = 0;
    const int bc = r->cfg->wire.broadcast;
    nn_wire w = cl->has_held ? wire_as(r, bc < 0 ? r->prec : (nn_precision)bc, c, 0)
                             : nn_wire_of(NN_PREC_INT8);
    if (cl->has_held && r->adaptive)
        return encode_adaptive(r, c, FL_UP, r->global, r->global_tracked, cl->held, &cl->bcast,
                               &cl->bcast_len, &cl->bcast_prec, err);
    int rc = nn_codec_encode_model(&w, r->global, r->global_tracked, cl->has_held ? cl->held : NULL,
                                   &buf, &len, err);
    if (rc)
        return rc;
    free(cl->bcast);
    cl->bcast = buf;
    cl->bcast_len = len;
    cl->bcast_prec = w.prec;
    return 0;
}

static int start_uplink(fl_run *r, uint32_t c, cs_err *err)
{
    client *cl = &r->clients[c];
    CS_ASSERT(cl->state == FL_CLIENT_IDLE && r->open);
    int rc;
    if (r->low && (rc = encode_broadcast(r, c, err)))
        return rc;
    cl->state = FL_CLIENT_RECEIVING;
    cl->work_round = r->cur;
    /* The transfer's bytes and precision (a low precision's first broadcast is INT8). */
    size_t len = r->low ? cl->bcast_len : r->gpay_len;
    nn_precision p = r->low ? cl->bcast_prec : r->prec;
    trace_add(r, FL_TR_WAIT, 0, r->cur + 1, c, -1, (int64_t)len, (double)p);
    return fl_links_request(r->links, c, FL_UP, len, r->cur, err);
}

/* Starts the local training of client c on the global it received (fl_train.h). The encoded
 * update is waited for when the simulation needs its contents: when it reaches the server
 * (join_training), at a checkpoint or at the end of a slice. Its length, which the downlink
 * needs earlier, is fixed by the precision and payload kind (update_bytes). */
static int join_training(fl_run *r, uint32_t c, cs_err *err);

static int train_client(fl_run *r, uint32_t c, cs_err *err)
{
    const fl_env *env = r->env;
    const scn_federated *f = &r->cfg->federated;
    client *cl = &r->clients[c];
    fl_train_job *j = &cl->job;
    j->ds = env->ds;
    j->idx = env->parts->idx + env->parts->off[c];
    j->n = cl->n_samples;
    j->batch = f->batch_size;
    j->epochs = f->local_epochs;
    const uint64_t stream = ((uint64_t)(r->cur + 1) << 32) | c;
    cs_rng_derive(&j->shuffle, r->cfg->seed, CS_RNG_SHUFFLE, stream);
    cs_rng_derive(&j->augment, r->cfg->seed, CS_RNG_AUGMENT, stream);
    j->use_augment = r->cfg->dataset.augment == SCN_AUG_FLIP;
    j->opt = r->copt ? r->copt[c] : NULL;
    j->opt_cfg = r->opt_cfg;
    const scn_optimizer_cfg *o = &f->optimizer;
    j->lr = (float)nn_schedule_lr(o->schedule, o->lr, o->decay_fraction, r->cur, f->rounds);
    j->wire = wire_as(r, r->adaptive ? NN_PREC_FP32 : r->prec, c, 1);
    j->delta = r->cfg->wire.payload == SCN_PAYLOAD_DELTA;
    j->out = &cl->update;
    j->out_len = &cl->update_len;
    j->out_cap = &cl->update_cap;
    int rc = join_training(r, c, err); /* none in flight: its last update has arrived */
    if (rc)
        return rc;
    if (r->ef && !cl->resid && !(cl->resid = calloc(NN_STATE_FLOATS, sizeof *cl->resid)))
        return fail_nomem(err, "error feedback");
    j->resid = r->ef && !r->adaptive ? cl->resid : NULL;
    j->keep = NULL;
    j->keep_tracked = NULL;
    if (r->adaptive) { /* encoded at "training done", when its contact is known */
        if (!cl->trained && !(cl->trained = malloc(NN_STATE_FLOATS * sizeof *cl->trained)))
            return fail_nomem(err, "a trained state");
        j->keep = cl->trained;
        j->keep_tracked = cl->trained_tracked;
    }
    if (r->low) { /* it trains from the model it holds, the broadcast decoded onto it */
        if ((rc = nn_codec_decode(cl->bcast, cl->bcast_len, cl->has_held ? cl->held : NULL,
                                  cl->held, cl->held_tracked, NULL, err)))
            return rc;
        cl->has_held = true;
        return fl_trainer_submit(r->trainer, j, cl->held, cl->held_tracked, err);
    }
    return fl_trainer_submit(r->trainer, j, r->sent, r->sent_tracked, err);
}

/* Waits for client c's training to finish (its update is then in cl->update). */
static int join_training(fl_run *r, uint32_t c, cs_err *err)
{
    client *cl = &r->clients[c];
    if (cl->job.state == 0)
        return 0;
    r->train_client = c;
    cs_err e = {0};
    int rc = fl_trainer_wait(r->trainer, &cl->job, r->env->progress ? on_train_poll : NULL, r, &e);
    if (rc) {
        if (e.code)
            *err = e;
        else
            cs_err_set(err, rc, NULL, 0, 0,
                       "local training of client %u failed in round %d (code %d)", c,
                       cl->work_round + 1, rc);
    }
    return rc;
}

/* Waits for every training in flight (before a checkpoint, a slice's end, the run's end). */
static int join_all(fl_run *r, cs_err *err)
{
    int first = 0;
    for (uint32_t c = 0; c < r->n_clients; c++) {
        int rc = join_training(r, c, err);
        if (rc && !first)
            first = rc;
    }
    return first;
}

static int round_start(fl_run *r, cs_err *err);
static void observe(fl_run *r);

static int evaluate_global(fl_run *r, double *acc, double *loss, cs_err *err)
{
    int rc = nn_infer_evaluate_state(r->inf, r->global, r->env->ds, r->env->test, r->env->n_test,
                                     acc, loss);
    if (rc)
        return cs_err_set(err, rc, NULL, 0, 0, "evaluation of the global model failed (code %d)",
                          rc);
    return 0;
}

/* Bytes moved and cost of every round started so far (the open one included), in round order.
 * Returns the cost. */
static double so_far(const fl_run *r, uint64_t *to_sat, uint64_t *to_ground)
{
    double cost = 0;
    *to_sat = *to_ground = 0;
    for (int i = 0; i <= r->cur; i++) {
        *to_sat += r->rounds[i].bytes_to_sat;
        *to_ground += r->rounds[i].bytes_to_ground;
        cost += fl_cost_usd(r->cfg, &r->use[(size_t)i * r->n_st]);
    }
    return cost;
}

static int close_round(fl_run *r, bool deadline, cs_err *err)
{
    fl_round *rd = &r->rounds[r->cur];
    int rc;
    CS_ASSERT(r->open);
    sim_engine_cancel(r->e, r->server_target); /* the deadline, if pending */
    rd->t_end_s = sim_engine_now(r->e);
    rd->deadline_hit = deadline;
    /* Uplinks of this round: the server stops sending. Waiting ones first, so that antennas freed
     * by the others do not go to a transfer about to be abandoned. */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t c = 0; c < r->n_clients; c++) {
            client *cl = &r->clients[c];
            if (cl->queued_round == r->cur)
                cl->queued_round = -1;
            if (cl->state != FL_CLIENT_RECEIVING || cl->work_round != r->cur)
                continue;
            if (fl_links_in_session(r->links, c) != (pass == 1))
                continue;
            if ((rc = fl_links_cancel(r->links, c, err)))
                return rc;
            trace_add(r, FL_TR_CANCEL, 0, r->cur + 1, c, -1, 0, pass);
            cl->state = FL_CLIENT_IDLE;
            rd->uplinks_cancelled++;
        }
    r->open = false;
    const scn_federated *f = &r->cfg->federated;
    if (r->step ? fl_avg_finish_step(&r->avg, r->sent, f->server_lr, f->server_momentum, r->vel,
                                     r->global, r->global_tracked)
                : fl_avg_finish(&r->avg, r->global, r->global_tracked))
        rd->samples = r->avg.weight;
    trace_add(r, FL_TR_AGGREGATE, 0, rd->round, -1, -1, 0, (double)rd->reported);
    if ((rc = evaluate_global(r, &rd->accuracy, &rd->loss, err)))
        return rc;
    trace_add(r, FL_TR_EVAL, 0, rd->round, -1, -1, 0, rd->accuracy);
    r->rounds_done++;
    uint64_t to_sat, to_ground;
    fl_progress p = {.kind = FL_PROG_ROUND, .round = rd};
    p.cost_usd = so_far(r, &to_sat, &to_ground);
    p.bytes_total = to_sat + to_ground;
    progress(r, &p);
    if (r->rounds_done >= r->cfg->federated.rounds) {
        r->finished = true;
        sim_engine_stop(r->e);
    }
    observe(r);
    if (r->env->checkpoint) {
        r->ckpt_due = true; /* the loop returns after this event, a safe point */
        sim_engine_stop(r->e);
    }
    return r->finished ? 0 : round_start(r, err);
}

static int on_link_done(void *user, uint32_t c, fl_dir dir, int32_t tag, double t_s, cs_err *err)
{
    fl_run *r = user;
    client *cl = &r->clients[c];
    int rc;
    if (dir == FL_UP) {
        CS_ASSERT(cl->state == FL_CLIENT_RECEIVING && tag == r->cur && r->open);
        double images = (double)cl->n_samples * r->cfg->federated.local_epochs;
        double dur = r->flops_img * images / (r->cfg->federated.compute_gflops * 1e9);
        trace_add(r, FL_TR_TRAIN_START, 0, tag + 1, c, -1, (int64_t)images, dur);
        if ((rc = train_client(r, c, err)))
            return rc;
        cl->state = FL_CLIENT_TRAINING;
        sim_event_data d = {{0}};
        d.u64[0] = (uint64_t)tag;
        return sim_engine_schedule(r->e, t_s + dur, EV_TRAIN_DONE, r->n_clients + c, d, err);
    }
    CS_ASSERT(cl->state == FL_CLIENT_SENDING && tag == cl->work_round);
    if ((rc = join_training(r, c, err)))
        return rc;
    if (cl->update_len != cl->update_expect)
        return cs_err_set(err, CS_EFAIL, NULL, 0, 0,
                          "the update of client %u in round %d is %zu bytes, not the %zu bytes "
                          "its transfer carried",
                          c, tag + 1, cl->update_len, cl->update_expect);
    cl->state = FL_CLIENT_IDLE;
    bool close = false;
    if (r->open && tag == r->cur) {
        const float *base = r->cfg->wire.payload == SCN_PAYLOAD_DELTA ? r->sent : NULL;
        if ((rc = nn_codec_decode(cl->update, cl->update_len, base, r->scratch, r->scratch_tracked,
                                  NULL, err)))
            return rc;
        fl_avg_add(&r->avg, r->scratch, r->scratch_tracked, (double)cl->n_samples);
        r->rounds[r->cur].reported++;
        cl->reported_round = r->cur;
        trace_add(r, FL_TR_UPDATE, 0, tag + 1, c, -1, 0, (double)cl->n_samples);
        close = r->rounds[r->cur].reported == r->rounds[r->cur].selected;
    } else {
        r->rounds[tag].late++;
        trace_add(r, FL_TR_LATE, 0, tag + 1, c, -1, 0, (double)cl->n_samples);
    }
    if (cl->queued_round >= 0) {
        int q = cl->queued_round;
        cl->queued_round = -1;
        if (r->open && q == r->cur && (rc = start_uplink(r, c, err)))
            return rc;
    }
    tick(r);
    return close ? close_round(r, false, err) : 0;
}

static int on_train_done(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    (void)e;
    fl_run *r = user;
    uint32_t c = ev->target - r->n_clients;
    client *cl = &r->clients[c];
    CS_ASSERT(c < r->n_clients && cl->state == FL_CLIENT_TRAINING);
    cl->state = FL_CLIENT_SENDING;
    /* The update's length does not depend on its values (the training may still be running),
     * except for topk, whose index stream does. */
    cl->update_expect = r->update_bytes;
    nn_precision up = r->prec;
    if (r->prec == NN_PREC_TOPK || r->adaptive) {
        int rc = join_training(r, c, err);
        if (rc || (r->adaptive && (rc = encode_update_adaptive(r, c, &up, err))))
            return rc;
        cl->update_expect = cl->update_len;
    }
    trace_add(r, FL_TR_TRAIN_END, 0, cl->work_round + 1, c, -1, (int64_t)cl->update_expect,
              (double)up);
    if (cl->work_round == r->cur && r->open)
        r->trained++;
    tick(r);
    return fl_links_request(r->links, c, FL_DOWN, cl->update_expect, cl->work_round, err);
}

static int on_deadline(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    (void)e;
    fl_run *r = user;
    CS_ASSERT(r->open && (int)ev->u.u64[0] == r->cur);
    return close_round(r, true, err);
}

/* Room for need round records (capacity doubles from 16, up to federated.rounds + 1). */
static int grow_rounds(fl_run *r, size_t need, cs_err *err)
{
    if (need <= r->cap_rounds)
        return 0;
    size_t cap = r->cap_rounds ? 2 * r->cap_rounds : 16;
    while (cap < need)
        cap *= 2;
    size_t max = (size_t)r->cfg->federated.rounds + 1;
    if (cap > max)
        cap = max;
    CS_ASSERT(cap >= need);
    fl_round *rd = realloc(r->rounds, cap * sizeof *rd);
    if (rd)
        r->rounds = rd;
    size_t rows;
    if (!rd || cs_size_mul(cap, r->n_st, &rows) != 0)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (round records)");
    fl_station_use *u = realloc(r->use, rows * sizeof *u);
    if (!u)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (round records)");
    r->use = u;
    memset(r->rounds + r->cap_rounds, 0, (cap - r->cap_rounds) * sizeof *rd);
    memset(r->use + r->cap_rounds * r->n_st, 0, (cap - r->cap_rounds) * r->n_st * sizeof *u);
    r->cap_rounds = cap;
    return 0;
}

static int round_start(fl_run *r, cs_err *err)
{
    const scn_federated *f = &r->cfg->federated;
    int rc;
    if ((rc = grow_rounds(r, (size_t)r->cur + 2, err)))
        return rc;
    r->cur++;
    r->open = true;
    r->trained = 0;
    fl_round *rd = &r->rounds[r->cur];
    rd->round = r->cur + 1;
    rd->t_start_s = sim_engine_now(r->e);
    /* Sample clients_per_round clients: a partial Fisher-Yates shuffle, then ascending. */
    cs_rng rng;
    cs_rng_derive(&rng, r->cfg->seed, CS_RNG_SAMPLE, (uint64_t)rd->round);
    for (uint32_t i = 0; i < r->n_clients; i++)
        r->perm[i] = i;
    r->n_sel = f->clients_per_round;
    for (int i = 0; i < r->n_sel; i++) {
        uint64_t j = (uint64_t)i + cs_rng_below(&rng, r->n_clients - (uint64_t)i);
        uint32_t t = r->perm[i];
        r->perm[i] = r->perm[j];
        r->perm[j] = t;
    }
    /* The selection in ascending client order. */
    memset(r->chosen, 0, r->n_clients * sizeof *r->chosen);
    for (int i = 0; i < r->n_sel; i++)
        r->chosen[r->perm[i]] = true;
    for (uint32_t c = 0, n = 0; c < r->n_clients; c++)
        if (r->chosen[c])
            r->sel[n++] = c;
    rd->selected = r->n_sel;
    /* The global model on the wire, and as the clients will decode it (low precisions: each
     * client's broadcast is its own, made when it starts, and updates add to the global). */
    free(r->gpay);
    r->gpay = NULL;
    r->gpay_len = 0;
    if (r->low) {
        memcpy(r->sent, r->global, NN_STATE_FLOATS * sizeof *r->sent);
        memcpy(r->sent_tracked, r->global_tracked, sizeof r->sent_tracked);
    } else if ((rc = nn_codec_encode(r->prec, r->global, r->global_tracked, NULL, &r->gpay,
                                     &r->gpay_len, err)) ||
               (rc = nn_codec_decode(r->gpay, r->gpay_len, NULL, r->sent, r->sent_tracked, NULL,
                                     err))) {
        return rc;
    }
    fl_avg_reset(&r->avg);
    trace_add(r, FL_TR_ROUND_START, 0, rd->round, -1, -1, 0, (double)r->n_sel);
    for (int i = 0; i < r->n_sel; i++) /* the selection, and who of it is deferred (below) */
        trace_add(r, FL_TR_SELECT, 0, rd->round, r->sel[i], -1, 0,
                  r->clients[r->sel[i]].state != FL_CLIENT_IDLE);
    if (f->round_deadline_s > 0) {
        sim_event_data d = {{0}};
        d.u64[0] = (uint64_t)r->cur;
        if ((rc = sim_engine_schedule(r->e, rd->t_start_s + f->round_deadline_s, EV_DEADLINE,
                                      r->server_target, d, err)))
            return rc;
    }
    for (int i = 0; i < r->n_sel; i++) {
        uint32_t c = r->sel[i];
        if (r->clients[c].state == FL_CLIENT_IDLE) {
            if ((rc = start_uplink(r, c, err)))
                return rc;
        } else {
            r->clients[c].queued_round = r->cur;
            rd->deferred++;
        }
    }
    return 0;
}

static int on_round_start(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    (void)e;
    (void)ev;
    return round_start(user, err);
}

void fl_run_destroy(fl_run *r)
{
    if (!r)
        return;
    if (r->trainer && r->clients) { /* trainings in flight borrow the clients' buffers */
        cs_err ignored;
        join_all(r, &ignored);
    }
    fl_trainer_destroy(r->own_trainer);
    sim_engine_destroy(r->e);
    fl_links_destroy(r->links);
    nn_infer_destroy(r->inf);
    if (r->copt)
        for (uint32_t c = 0; c < r->n_clients; c++)
            nn_opt_destroy(r->copt[c]);
    free(r->copt);
    free(r->vel);
    if (r->clients)
        for (uint32_t c = 0; c < r->n_clients; c++) {
            free(r->clients[c].update);
            free(r->clients[c].held);
            free(r->clients[c].bcast);
            free(r->clients[c].resid);
            free(r->clients[c].trained);
        }
    free(r->clients);
    free(r->st_link);
    free(r->global);
    free(r->sent);
    free(r->scratch);
    free(r->abase);
    free(r->gpay);
    fl_avg_deinit(&r->avg);
    free(r->perm);
    free(r->sel);
    free(r->chosen);
    free(r->rounds);
    free(r->use);
    free(r->trace);
    free(r->views);
    free(r->sessions);
    free(r->station_bytes);
    free(r);
}

static nn_opt_cfg opt_cfg(const scn_optimizer_cfg *o)
{
    nn_opt_cfg c = nn_opt_default(o->name, (float)o->lr);
    if (o->name == NN_OPT_SGD)
        c.momentum = (float)o->momentum;
    c.weight_decay = (float)o->weight_decay;
    return c;
}

/* Moves the run's records into out. */
static int run_result(fl_run *r, fl_result *out, cs_err *err)
{
    size_t n_done = (size_t)r->rounds_done, n_st = r->n_st;
    out->n_stations = n_st;
    out->n_rounds = n_done;
    out->rounds = calloc(n_done ? n_done : 1, sizeof *out->rounds);
    out->use = calloc((n_done + 1) * n_st, sizeof *out->use);
    out->station_totals = calloc(n_st, sizeof *out->station_totals);
    out->state = malloc(NN_STATE_FLOATS * sizeof *out->state);
    if (!out->rounds || !out->use || !out->station_totals || !out->state)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (run result)");
    if (n_done)
        memcpy(out->rounds, r->rounds, n_done * sizeof *out->rounds);
    if (n_done)
        memcpy(out->use, r->use, n_done * n_st * sizeof *out->use);
    if (r->open) {
        CS_ASSERT((size_t)r->cur == n_done);
        out->has_unfinished = true;
        out->unfinished = r->rounds[r->cur];
        out->unfinished.t_end_s = sim_engine_now(r->e);
        memcpy(out->use + n_done * n_st, r->use + n_done * n_st, n_st * sizeof *out->use);
        out->unfinished.cost_usd = fl_cost_usd(r->cfg, out->use + n_done * n_st);
    }
    for (size_t i = 0; i < n_done; i++) {
        fl_round *rd = &out->rounds[i];
        rd->cost_usd = fl_cost_usd(r->cfg, out->use + i * n_st);
        out->bytes_to_sat += rd->bytes_to_sat;
        out->bytes_to_ground += rd->bytes_to_ground;
        out->contact_minutes += rd->contact_minutes;
        out->cost_usd += rd->cost_usd;
        out->updates_received += rd->reported;
        out->updates_late += rd->late;
    }
    for (size_t i = 0; i <= n_done; i++)
        for (size_t k = 0; k < n_st; k++) {
            const fl_station_use *u = &out->use[i * n_st + k];
            fl_station_use *t = &out->station_totals[k];
            t->bytes_to_sat += u->bytes_to_sat;
            t->bytes_to_ground += u->bytes_to_ground;
            t->transfers_to_sat += u->transfers_to_sat;
            t->transfers_to_ground += u->transfers_to_ground;
            t->partial_bytes_to_sat += u->partial_bytes_to_sat;
            t->partial_bytes_to_ground += u->partial_bytes_to_ground;
            t->sessions += u->sessions;
            t->contact_minutes += u->contact_minutes;
        }
    memcpy(out->state, r->global, NN_STATE_FLOATS * sizeof *out->state);
    memcpy(out->tracked, r->global_tracked, sizeof r->global_tracked);
    out->sim_time_s = n_done ? out->rounds[n_done - 1].t_end_s : 0;
    out->end_time_s = sim_engine_now(r->e);
    out->traced = r->env->trace;
    out->trace = r->trace;
    out->n_trace = r->n_trace;
    out->trace_truncated = r->trace_dropped > 0;
    out->trace_dropped = r->trace_dropped;
    r->trace = NULL;
    out->engine = sim_engine_get_stats(r->e);
    return 0;
}

/* ---- snapshots ------------------------------------------------------------------------------- */

void fl_run_snapshot(fl_run *r, fl_snapshot *out)
{
    memset(out, 0, sizeof *out);
    out->t_s = sim_engine_now(r->e);
    out->precision = r->prec;
    out->run_index = r->env->run_index;
    out->n_runs = r->env->n_runs;
    out->rounds_total = r->cfg->federated.rounds;
    out->rounds_done = r->rounds_done;
    out->round_open = r->open;
    out->finished = r->finished;
    out->rounds = r->rounds;
    if (r->rounds_done > 0) {
        out->accuracy = r->rounds[r->rounds_done - 1].accuracy;
        out->loss = r->rounds[r->rounds_done - 1].loss;
    } else {
        out->accuracy = r->accuracy0;
        out->loss = r->loss0;
    }
    out->cost_usd = so_far(r, &out->bytes_to_sat, &out->bytes_to_ground);
    for (uint32_t c = 0; c < r->n_clients; c++) {
        const client *cl = &r->clients[c];
        r->views[c] = (fl_client_view){
            .state = cl->state,
            .round = cl->state == FL_CLIENT_IDLE ? 0 : cl->work_round + 1,
            .selected = r->open && r->chosen[c],
            .reported = r->open && cl->state == FL_CLIENT_IDLE && cl->reported_round == r->cur,
            .n_samples = cl->n_samples,
            .bytes_left = fl_links_left(r->links, c),
            .bytes_moved = cl->bytes_moved,
        };
    }
    for (uint32_t k = 0; k < r->n_st; k++) {
        uint64_t b = 0;
        for (int i = 0; i <= r->cur; i++) {
            const fl_station_use *u = &r->use[(size_t)i * r->n_st + k];
            b += u->bytes_to_sat + u->bytes_to_ground;
        }
        r->station_bytes[k] = b;
    }
    out->n_stations = r->n_st;
    out->station_bytes = r->station_bytes;
    out->n_clients = r->n_clients;
    out->clients = r->views;
    out->n_sessions = fl_links_sessions(r->links, r->sessions, r->n_clients);
    out->sessions = r->sessions;
}

static void observe(fl_run *r)
{
    if (!r->env->observe)
        return;
    fl_snapshot s;
    fl_run_snapshot(r, &s);
    r->env->observe(r->env->observe_user, &s);
}

/* ---- begin / advance / end ------------------------------------------------------------------ */

static int fail_nomem(cs_err *err, const char *what)
{
    return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (%s)", what);
}

static int run_setup(fl_run *r, cs_err *err)
{
    const fl_env *env = r->env;
    const scn_config *cfg = r->cfg;
    int rc;
    r->n_clients = (uint32_t)cfg->federated.clients;
    r->n_st = (uint32_t)cfg->n_stations;
    CS_ASSERT(env->parts->n_clients == r->n_clients && env->plan->n_stations == r->n_st);
    /* Engine targets: clients' links 0 .. n-1, their training n .. 2n-1, the server 2n. */
    r->server_target = 2 * r->n_clients;
    r->flops_img = nn_model_train_flops_per_image();

    if (!(r->e = sim_engine_create(EV_TYPES, 2 * r->n_clients + 1, 256, err)))
        return err->code ? err->code : CS_ENOMEM;
    r->clients = calloc(r->n_clients, sizeof *r->clients);
    r->st_link = calloc(r->n_st, sizeof *r->st_link);
    r->global = malloc(NN_STATE_FLOATS * sizeof(float));
    r->sent = malloc(NN_STATE_FLOATS * sizeof(float));
    r->scratch = malloc(NN_STATE_FLOATS * sizeof(float));
    r->perm = malloc(r->n_clients * sizeof *r->perm);
    r->sel = malloc(r->n_clients * sizeof *r->sel);
    r->chosen = calloc(r->n_clients, sizeof *r->chosen);
    r->views = calloc(r->n_clients, sizeof *r->views);
    r->sessions = calloc(r->n_clients, sizeof *r->sessions);
    r->station_bytes = calloc(r->n_st ? r->n_st : 1, sizeof *r->station_bytes);
    if (!r->clients || !r->st_link || !r->global || !r->sent || !r->scratch || !r->perm ||
        !r->sel || !r->chosen || !r->views || !r->sessions || !r->station_bytes)
        return fail_nomem(err, "FL run");
    if ((rc = fl_avg_init(&r->avg, NN_STATE_FLOATS, err)))
        return rc;
    for (uint32_t c = 0; c < r->n_clients; c++) {
        r->clients[c].queued_round = -1;
        r->clients[c].reported_round = -1;
        r->clients[c].n_samples = env->parts->off[c + 1] - env->parts->off[c];
    }
    for (uint32_t k = 0; k < r->n_st; k++)
        r->st_link[k] =
            (fl_station_link){cfg->stations[k].uplink_mbps, cfg->stations[k].downlink_mbps,
                              cfg->stations[k].antennas};
    fl_link_setup ls = {.windows = env->plan->windows.w,
                        .n_windows = env->plan->windows.n,
                        .n_sats = r->n_clients,
                        .n_stations = r->n_st,
                        .stations = r->st_link,
                        .setup_s = cfg->links.setup_s,
                        .resume = cfg->links.resume,
                        .type_base = 0,
                        .target_base = 0,
                        .hooks = {.user = r,
                                  .on_start = on_link_start,
                                  .on_segment = on_link_segment,
                                  .on_done = on_link_done}};
    if (!(r->links = fl_links_create(r->e, &ls, err)))
        return err->code ? err->code : CS_ENOMEM;
    sim_engine_on(r->e, EV_ROUND_START, on_round_start, r);
    sim_engine_on(r->e, EV_TRAIN_DONE, on_train_done, r);
    sim_engine_on(r->e, EV_DEADLINE, on_deadline, r);

    if (!(r->inf = nn_infer_create(NN_INFER_EVAL_BATCH, err)))
        return err->code ? err->code : CS_ENOMEM;
    r->trainer = env->trainer;
    if (!r->trainer) {
        if (!(r->trainer = r->own_trainer = fl_trainer_create(
                  nn_threads(), cfg->federated.clients_per_round, cfg->federated.batch_size, err)))
            return err->code ? err->code : CS_ENOMEM;
    }
    CS_ASSERT(fl_trainer_max_batch(r->trainer) >= cfg->federated.batch_size);
    nn_opt_cfg oc = opt_cfg(&cfg->federated.optimizer);
    r->opt_cfg = oc;
    if (cfg->federated.optimizer.state == SCN_OPT_STATE_KEEP) {
        if (!(r->copt = calloc(r->n_clients, sizeof *r->copt)))
            return fail_nomem(err, "client optimisers");
        for (uint32_t c = 0; c < r->n_clients; c++)
            if (!(r->copt[c] = nn_opt_create(&oc, NN_PARAMS, err)))
                return err->code ? err->code : CS_ENOMEM;
    }
    r->step = cfg->wire.payload == SCN_PAYLOAD_DELTA || cfg->federated.server_lr != 1.0 ||
              cfg->federated.server_momentum > 0;
    if (cfg->federated.server_momentum > 0 && !(r->vel = calloc(NN_STATE_FLOATS, sizeof *r->vel)))
        return fail_nomem(err, "server momentum");
    cs_rng init;
    cs_rng_derive(&init, cfg->seed, CS_RNG_INIT, 0);
    nn_state_init(r->global, r->global_tracked, cs_rng_u64(&init));
    /* Payload sizes of the initial model in this precision and in FP32. */
    r->wire = nn_wire_of(r->prec);
    r->wire.group_size = cfg->wire.group_size;
    r->wire.topk_fraction = cfg->wire.topk_fraction;
    r->wire.stochastic =
        cfg->wire.stochastic_rounding &&
        (r->prec == NN_PREC_INT8 || r->prec == NN_PREC_INT4 || r->prec == NN_PREC_TERNARY);
    r->adaptive = r->prec == NN_PREC_ADAPTIVE;
    r->low = nn_precision_is_low(r->prec) || r->adaptive;
    r->ef = cfg->wire.error_feedback;
    CS_ASSERT(cfg->wire.payload == SCN_PAYLOAD_DELTA || (!r->low && !r->ef)); /* scn.c */
    unsigned char *buf = NULL;
    if (r->adaptive) {
        /* allowed[]: wire.adaptive by the initial model's payload size, largest first (ties in
         * the given order); the run's payload_bytes is the largest's. */
        size_t sz[NN_CODECS];
        r->n_allowed = cfg->wire.n_adaptive;
        for (size_t i = 0; i < r->n_allowed; i++) {
            nn_wire w = wire_as(r, cfg->wire.adaptive[i], 0, 0);
            if ((rc = nn_codec_encode_model(&w, r->global, r->global_tracked, NULL, &buf, &sz[i],
                                            err)))
                return rc;
            free(buf);
            buf = NULL;
            r->allowed[i] = cfg->wire.adaptive[i];
            for (size_t j = i; j > 0 && sz[j] > sz[j - 1]; j--) {
                size_t ts = sz[j];
                sz[j] = sz[j - 1];
                sz[j - 1] = ts;
                nn_precision tp = r->allowed[j];
                r->allowed[j] = r->allowed[j - 1];
                r->allowed[j - 1] = tp;
            }
        }
        r->wire = wire_as(r, r->allowed[0], 0, 0);
        if (!(r->abase = malloc(NN_STATE_FLOATS * sizeof *r->abase)))
            return fail_nomem(err, "adaptive updates");
    }
    if ((rc = nn_codec_encode_model(&r->wire, r->global, r->global_tracked, NULL, &buf,
                                    &r->payload_bytes, err)))
        return rc;
    free(buf);
    buf = NULL;
    if ((rc = nn_codec_encode(NN_PREC_FP32, r->global, r->global_tracked, NULL, &buf,
                              &r->payload_bytes_fp32, err)))
        return rc;
    free(buf);
    buf = NULL;
    if ((rc = nn_codec_encode_model(&r->wire, r->global, r->global_tracked,
                                    cfg->wire.payload == SCN_PAYLOAD_DELTA ? r->global : NULL, &buf,
                                    &r->update_bytes, err)))
        return rc;
    free(buf);
    sim_engine_set_interrupt(r->e, env->interrupt);
    sim_event_data d = {{0}};
    if ((rc = fl_links_start(r->links, err)) ||
        (rc = sim_engine_schedule(r->e, 0, EV_ROUND_START, SIM_NO_TARGET, d, err)))
        return rc;
    return 0;
}

fl_run *fl_run_begin(const fl_env *env, nn_precision prec, cs_err *err)
{
    fl_run *r = calloc(1, sizeof *r);
    if (!r) {
        fail_nomem(err, "FL run");
        return NULL;
    }
    r->wall0 = cs_wall_s();
    r->env = env;
    r->cfg = env->cfg;
    r->prec = prec;
    r->cur = -1;
    int rc = run_setup(r, err);
    if (rc == 0 && env->observe) {
        /* Snapshots before the first aggregation show the initial model's accuracy. */
        rc = evaluate_global(r, &r->accuracy0, &r->loss0, err);
        r->have_eval0 = rc == 0;
    }
    if (rc) {
        if (err && err->code == 0)
            cs_err_set(err, CS_EFAIL, NULL, 0, 0, "the FL run could not start (code %d)", rc);
        fl_run_destroy(r);
        return NULL;
    }
    return r;
}

int fl_run_advance(fl_run *r, double t_s, cs_err *err)
{
    double duration = r->cfg->duration_s;
    double horizon = t_s < duration ? t_s : duration;
    if (!r->finished && horizon >= sim_engine_now(r->e)) {
        for (;;) {
            int rc = sim_engine_run(r->e, horizon, err);
            /* Wherever the loop stops, no training stays in flight: the run can be saved. */
            if (rc || (rc = join_all(r, err)))
                return rc;
            if (r->ckpt_due) { /* between two events, after an aggregation */
                r->ckpt_due = false;
                if ((rc = r->env->checkpoint(r->env->checkpoint_user, r, err)))
                    return rc;
            }
            if (sim_engine_interrupted(r->e))
                return cs_err_set(err, CS_EINTR, NULL, 0, 0, "interrupted at simulated time %.3f s",
                                  sim_engine_now(r->e));
            if (r->finished || !sim_engine_stopped(r->e))
                break;
        }
        if (!r->finished && horizon >= duration) {
            r->finished = true;
            r->horizon_hit = true;
        }
    }
    /* A finished run abandons its transfers where it stopped (as fl_run_end would at the same
     * time), so that its snapshots show no session still open. */
    if (r->finished && !r->links_done) {
        r->links_done = true;
        int rc = fl_links_finish(r->links, err);
        if (rc)
            return rc;
    }
    observe(r);
    return 0;
}

bool fl_run_finished(const fl_run *r)
{
    return r->finished;
}

nn_precision fl_run_precision(const fl_run *r)
{
    return r->prec;
}

int fl_run_rounds_done(const fl_run *r)
{
    return r->rounds_done;
}

double fl_run_now(const fl_run *r)
{
    return sim_engine_now(r->e);
}

int fl_run_end(fl_run *r, fl_result *out, cs_err *err)
{
    memset(out, 0, sizeof *out);
    out->precision = r->prec;
    out->horizon_hit = r->horizon_hit;
    int rc;
    out->payload_bytes = r->payload_bytes;
    out->payload_bytes_fp32 = r->payload_bytes_fp32;
    if ((!r->links_done && (rc = fl_links_finish(r->links, err))) || (rc = run_result(r, out, err)))
        goto fail;
    if (out->n_rounds > 0) {
        out->accuracy = out->rounds[out->n_rounds - 1].accuracy;
        out->loss = out->rounds[out->n_rounds - 1].loss;
    } else if (r->have_eval0) {
        out->accuracy = r->accuracy0;
        out->loss = r->loss0;
    } else if ((rc = evaluate_global(r, &out->accuracy, &out->loss, err))) {
        goto fail;
    }
    out->wall_time_s = r->wall_before + (cs_wall_s() - r->wall0);
    fl_progress p = {.kind = FL_PROG_RUN,
                     .precision = r->prec,
                     .run_index = r->env->run_index,
                     .n_runs = r->env->n_runs,
                     .rounds = r->cfg->federated.rounds,
                     .sim_time_s = out->end_time_s,
                     .result = out};
    const fl_env *env = r->env;
    fl_run_destroy(r);
    if (env->progress)
        env->progress(env->progress_user, &p);
    return 0;
fail:
    fl_run_destroy(r);
    fl_result_free(out);
    return rc ? rc : CS_EFAIL;
}

int fl_run_batch(const fl_env *env, nn_precision prec, fl_result *out, cs_err *err)
{
    memset(out, 0, sizeof *out);
    fl_run *r = fl_run_begin(env, prec, err);
    if (!r)
        return err && err->code ? err->code : CS_EFAIL;
    int rc = fl_run_advance(r, env->cfg->duration_s, err);
    if (rc) {
        fl_run_destroy(r);
        return rc;
    }
    return fl_run_end(r, out, err);
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

static void save_round(cs_buf *b, const fl_round *x)
{
    cs_ser_u32(b, (uint32_t)x->round);
    cs_ser_f64(b, x->t_start_s);
    cs_ser_f64(b, x->t_end_s);
    cs_ser_u32(b, (uint32_t)x->selected);
    cs_ser_u32(b, (uint32_t)x->reported);
    cs_ser_u32(b, (uint32_t)x->late);
    cs_ser_u32(b, (uint32_t)x->uplinks_cancelled);
    cs_ser_u32(b, (uint32_t)x->deferred);
    cs_ser_bool(b, x->deadline_hit);
    cs_ser_f64(b, x->accuracy);
    cs_ser_f64(b, x->loss);
    cs_ser_f64(b, x->samples);
    cs_ser_u64(b, x->bytes_to_sat);
    cs_ser_u64(b, x->bytes_to_ground);
    cs_ser_u64(b, x->contact_minutes);
    cs_ser_f64(b, x->cost_usd);
}

static void load_round(cs_rd *r, fl_round *x)
{
    memset(x, 0, sizeof *x);
    x->round = (int)cs_rd_u32(r);
    x->t_start_s = cs_rd_f64(r);
    x->t_end_s = cs_rd_f64(r);
    x->selected = (int)cs_rd_u32(r);
    x->reported = (int)cs_rd_u32(r);
    x->late = (int)cs_rd_u32(r);
    x->uplinks_cancelled = (int)cs_rd_u32(r);
    x->deferred = (int)cs_rd_u32(r);
    x->deadline_hit = cs_rd_bool(r);
    x->accuracy = cs_rd_f64(r);
    x->loss = cs_rd_f64(r);
    x->samples = cs_rd_f64(r);
    x->bytes_to_sat = cs_rd_u64(r);
    x->bytes_to_ground = cs_rd_u64(r);
    x->contact_minutes = cs_rd_u64(r);
    x->cost_usd = cs_rd_f64(r);
}

static void save_use(cs_buf *b, const fl_station_use *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cs_ser_u64(b, u[i].bytes_to_sat);
        cs_ser_u64(b, u[i].bytes_to_ground);
        cs_ser_u64(b, u[i].transfers_to_sat);
        cs_ser_u64(b, u[i].transfers_to_ground);
        cs_ser_u64(b, u[i].partial_bytes_to_sat);
        cs_ser_u64(b, u[i].partial_bytes_to_ground);
        cs_ser_u64(b, u[i].sessions);
        cs_ser_u64(b, u[i].contact_minutes);
    }
}

static void load_use(cs_rd *r, fl_station_use *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        u[i].bytes_to_sat = cs_rd_u64(r);
        u[i].bytes_to_ground = cs_rd_u64(r);
        u[i].transfers_to_sat = cs_rd_u64(r);
        u[i].transfers_to_ground = cs_rd_u64(r);
        u[i].partial_bytes_to_sat = cs_rd_u64(r);
        u[i].partial_bytes_to_ground = cs_rd_u64(r);
        u[i].sessions = cs_rd_u64(r);
        u[i].contact_minutes = cs_rd_u64(r);
    }
}

enum { TRACE_EVENT_BYTES = 8 + 1 + 1 + 4 + 4 + 4 + 4 + 8 + 8 };

static void save_trace(cs_buf *b, const fl_trace_event *t, size_t n, uint64_t dropped)
{
    cs_ser_tag(b, "TRCE");
    cs_ser_u64(b, (uint64_t)n);
    cs_ser_u64(b, dropped);
    for (size_t i = 0; i < n; i++) {
        cs_ser_f64(b, t[i].t_s);
        cs_ser_u8(b, t[i].kind);
        cs_ser_u8(b, t[i].dir);
        cs_ser_u32(b, (uint32_t)t[i].round);
        cs_ser_u32(b, (uint32_t)t[i].sat);
        cs_ser_u32(b, (uint32_t)t[i].station);
        cs_ser_u32(b, (uint32_t)t[i].antenna);
        cs_ser_i64(b, t[i].bytes);
        cs_ser_f64(b, t[i].value);
    }
}

/* A trace into a malloc'd array (*out NULL when empty). */
static int load_trace(cs_rd *r, fl_trace_event **out, size_t *n_out, uint64_t *dropped, cs_err *err)
{
    cs_rd_tag(r, "TRCE");
    size_t n = (size_t)cs_rd_count(r, (r->len - r->off) / TRACE_EVENT_BYTES,
                                   "more trace events than the file holds");
    *dropped = cs_rd_u64(r);
    *out = NULL;
    *n_out = 0;
    if (r->failed)
        return CS_EINVAL;
    fl_trace_event *t = n ? malloc(n * sizeof *t) : NULL;
    if (n && !t)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (trace)");
    for (size_t i = 0; i < n; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].t_s = cs_rd_f64(r);
        t[i].kind = cs_rd_u8(r);
        t[i].dir = cs_rd_u8(r);
        t[i].round = (int32_t)cs_rd_u32(r);
        t[i].sat = (int32_t)cs_rd_u32(r);
        t[i].station = (int32_t)cs_rd_u32(r);
        t[i].antenna = (int32_t)cs_rd_u32(r);
        t[i].bytes = cs_rd_i64(r);
        t[i].value = cs_rd_f64(r);
        if (!r->failed && t[i].kind >= FL_TR_KINDS)
            cs_rd_fail(r, "a trace event of an unknown kind");
    }
    if (r->failed) {
        free(t);
        return CS_EINVAL;
    }
    *out = t;
    *n_out = n;
    return 0;
}

void fl_run_save(const fl_run *r, cs_buf *b)
{
    for (uint32_t c = 0; c < r->n_clients; c++) /* saved between slices only (fl_run_advance) */
        CS_ASSERT(r->clients[c].job.state == 0);
    cs_ser_tag(b, "FRUN");
    cs_ser_u32(b, (uint32_t)r->prec);
    cs_ser_u32(b, r->n_clients);
    cs_ser_u32(b, r->n_st);
    cs_ser_f64(b, r->wall_before + (cs_wall_s() - r->wall0));
    cs_ser_u64(b, (uint64_t)(r->cur + 1)); /* rounds started */
    cs_ser_bool(b, r->open);
    cs_ser_u32(b, (uint32_t)r->trained);
    cs_ser_u32(b, (uint32_t)r->rounds_done);
    cs_ser_bool(b, r->finished);
    cs_ser_bool(b, r->horizon_hit);
    cs_ser_bool(b, r->links_done);
    cs_ser_bool(b, r->have_eval0);
    cs_ser_f64(b, r->accuracy0);
    cs_ser_f64(b, r->loss0);
    cs_ser_u64(b, (uint64_t)r->payload_bytes);
    cs_ser_u64(b, (uint64_t)r->payload_bytes_fp32);
    cs_ser_u32(b, (uint32_t)r->n_sel);
    for (int i = 0; i < r->n_sel; i++)
        cs_ser_u32(b, r->sel[i]);
    for (int i = 0; i <= r->cur; i++)
        save_round(b, &r->rounds[i]);
    save_use(b, r->use, (size_t)(r->cur + 1) * r->n_st);
    cs_ser_tag(b, "MODL");
    cs_ser_f32s(b, r->global, NN_STATE_FLOATS);
    cs_ser_i64s(b, r->global_tracked, NN_TRACKED);
    cs_ser_f32s(b, r->sent, NN_STATE_FLOATS);
    cs_ser_i64s(b, r->sent_tracked, NN_TRACKED);
    cs_ser_blob(b, r->gpay, r->gpay ? r->gpay_len : 0);
    cs_ser_bool(b, r->vel != NULL);
    if (r->vel)
        cs_ser_f32s(b, r->vel, NN_STATE_FLOATS);
    fl_avg_save(&r->avg, b);
    cs_ser_tag(b, "CLNT");
    for (uint32_t c = 0; c < r->n_clients; c++) {
        const client *cl = &r->clients[c];
        cs_ser_u32(b, (uint32_t)cl->state);
        cs_ser_u32(b, (uint32_t)cl->work_round);
        cs_ser_u32(b, (uint32_t)cl->queued_round);
        cs_ser_u32(b, (uint32_t)cl->reported_round);
        cs_ser_u64(b, cl->bytes_moved);
        cs_ser_u64(b, (uint64_t)cl->n_samples);
        cs_ser_blob(b, cl->update, cl->update ? cl->update_len : 0);
        cs_ser_bool(b, r->copt != NULL);
        if (r->copt)
            nn_opt_save(r->copt[c], b);
        if (r->low || r->ef) { /* the per-client wire state (absent from other runs) */
            cs_ser_u64(b, (uint64_t)cl->update_expect);
            cs_ser_bool(b, cl->has_held);
            if (cl->has_held) {
                cs_ser_f32s(b, cl->held, NN_STATE_FLOATS);
                cs_ser_i64s(b, cl->held_tracked, NN_TRACKED);
            }
            cs_ser_blob(b, cl->bcast, cl->bcast ? cl->bcast_len : 0);
            cs_ser_bool(b, cl->resid != NULL);
            if (cl->resid)
                cs_ser_f32s(b, cl->resid, NN_STATE_FLOATS);
            if (r->adaptive) { /* a training joined but not yet encoded */
                cs_ser_bool(b, cl->trained != NULL);
                if (cl->trained) {
                    cs_ser_f32s(b, cl->trained, NN_STATE_FLOATS);
                    cs_ser_i64s(b, cl->trained_tracked, NN_TRACKED);
                }
            }
        }
    }
    save_trace(b, r->trace, r->n_trace, r->trace_dropped);
    sim_engine_save(r->e, b);
    fl_links_save(r->links, b);
    cs_ser_tag(b, "REND");
}

int fl_run_load(fl_run *r, cs_rd *rd, cs_err *err)
{
    int rc;
    cs_rd_tag(rd, "FRUN");
    uint32_t prec = cs_rd_u32(rd), n_clients = cs_rd_u32(rd), n_st = cs_rd_u32(rd);
    if (!rd->failed && (prec != (uint32_t)r->prec || n_clients != r->n_clients || n_st != r->n_st))
        cs_rd_fail(rd, "a run of another precision, fleet or set of stations");
    double wall = cs_rd_f64(rd);
    size_t started = (size_t)cs_rd_count(rd, (uint64_t)r->cfg->federated.rounds,
                                         "more rounds started than the scenario has");
    bool open = cs_rd_bool(rd);
    int trained = (int)cs_rd_u32(rd), rounds_done = (int)cs_rd_u32(rd);
    bool finished = cs_rd_bool(rd), horizon_hit = cs_rd_bool(rd), links_done = cs_rd_bool(rd);
    bool have_eval0 = cs_rd_bool(rd);
    double acc0 = cs_rd_f64(rd), loss0 = cs_rd_f64(rd);
    size_t pay = (size_t)cs_rd_u64(rd), pay32 = (size_t)cs_rd_u64(rd);
    uint32_t n_sel = cs_rd_u32(rd);
    if (!rd->failed && (n_sel > r->n_clients || rounds_done < 0 || (size_t)rounds_done > started ||
                        (open && (size_t)rounds_done + 1 != started) ||
                        (!open && (size_t)rounds_done != started) || pay != r->payload_bytes ||
                        pay32 != r->payload_bytes_fp32))
        cs_rd_fail(rd, "a run whose rounds or payloads do not add up");
    if (rd->failed)
        return CS_EINVAL;
    memset(r->chosen, 0, r->n_clients * sizeof *r->chosen);
    for (uint32_t i = 0; i < n_sel && !rd->failed; i++) {
        uint32_t c = cs_rd_u32(rd);
        if (c >= r->n_clients || r->chosen[c] || (i > 0 && c <= r->sel[i - 1]))
            cs_rd_fail(rd, "a selection of clients out of order");
        else
            r->sel[i] = c, r->chosen[c] = true;
    }
    if (rd->failed)
        return CS_EINVAL;
    if (started > 0 && (rc = grow_rounds(r, started, err)))
        return rc;
    for (size_t i = 0; i < started; i++)
        load_round(rd, &r->rounds[i]);
    load_use(rd, r->use, started * r->n_st);
    cs_rd_tag(rd, "MODL");
    cs_rd_f32s(rd, r->global, NN_STATE_FLOATS);
    cs_rd_i64s(rd, r->global_tracked, NN_TRACKED);
    cs_rd_f32s(rd, r->sent, NN_STATE_FLOATS);
    cs_rd_i64s(rd, r->sent_tracked, NN_TRACKED);
    size_t glen;
    const void *g = cs_rd_blob(rd, &glen);
    bool has_vel = cs_rd_bool(rd);
    if (!rd->failed && has_vel != (r->vel != NULL))
        cs_rd_fail(rd, "a run with another server momentum setting");
    if (r->vel)
        cs_rd_f32s(rd, r->vel, NN_STATE_FLOATS);
    if (rd->failed)
        return CS_EINVAL;
    free(r->gpay);
    r->gpay = NULL;
    r->gpay_len = 0;
    if (glen) {
        if (!(r->gpay = malloc(glen)))
            return fail_nomem(err, "global payload");
        memcpy(r->gpay, g, glen);
        r->gpay_len = glen;
    }
    if ((rc = fl_avg_load(&r->avg, rd)))
        return rc;
    cs_rd_tag(rd, "CLNT");
    for (uint32_t c = 0; c < r->n_clients && !rd->failed; c++) {
        client *cl = &r->clients[c];
        uint32_t st = cs_rd_u32(rd);
        cl->state = st <= FL_CLIENT_SENDING ? (fl_client_state)st : FL_CLIENT_IDLE;
        cl->work_round = (int)cs_rd_u32(rd);
        cl->queued_round = (int)cs_rd_u32(rd);
        cl->reported_round = (int)cs_rd_u32(rd);
        cl->bytes_moved = cs_rd_u64(rd);
        uint64_t n_samples = cs_rd_u64(rd);
        size_t ulen;
        const void *u = cs_rd_blob(rd, &ulen);
        bool has_opt = cs_rd_bool(rd);
        if (!rd->failed &&
            (st > FL_CLIENT_SENDING || n_samples != cl->n_samples || has_opt != (r->copt != NULL) ||
             cl->work_round < 0 || (size_t)cl->work_round > started || cl->queued_round < -1 ||
             cl->reported_round < -1))
            cs_rd_fail(rd, "a client that does not fit this run");
        if (rd->failed)
            break;
        if (ulen > cl->update_cap) {
            unsigned char *nb = realloc(cl->update, ulen);
            if (!nb)
                return fail_nomem(err, "client update");
            cl->update = nb;
            cl->update_cap = ulen;
        }
        if (ulen)
            memcpy(cl->update, u, ulen);
        cl->update_len = ulen;
        if (r->copt && (rc = nn_opt_load(r->copt[c], rd)))
            return rc;
        cl->update_expect = r->update_bytes;
        if (r->low || r->ef) {
            cl->update_expect = (size_t)cs_rd_u64(rd);
            cl->has_held = cs_rd_bool(rd);
            if (r->low && !cl->held && !(cl->held = malloc(NN_STATE_FLOATS * sizeof *cl->held)))
                return fail_nomem(err, "the model a client holds");
            if (cl->has_held) {
                cs_rd_f32s(rd, cl->held, NN_STATE_FLOATS);
                cs_rd_i64s(rd, cl->held_tracked, NN_TRACKED);
            }
            size_t blen;
            const void *bc = cs_rd_blob(rd, &blen);
            free(cl->bcast);
            cl->bcast = NULL;
            cl->bcast_len = 0;
            if (!rd->failed && blen) {
                if (!(cl->bcast = malloc(blen)))
                    return fail_nomem(err, "client broadcast");
                memcpy(cl->bcast, bc, blen);
                cl->bcast_len = blen;
            }
            bool has_resid = cs_rd_bool(rd);
            if (!rd->failed && has_resid) {
                if (!cl->resid && !(cl->resid = calloc(NN_STATE_FLOATS, sizeof *cl->resid)))
                    return fail_nomem(err, "error feedback");
                cs_rd_f32s(rd, cl->resid, NN_STATE_FLOATS);
            }
            if (r->adaptive && cs_rd_bool(rd) && !rd->failed) {
                if (!cl->trained && !(cl->trained = malloc(NN_STATE_FLOATS * sizeof *cl->trained)))
                    return fail_nomem(err, "a trained state");
                cs_rd_f32s(rd, cl->trained, NN_STATE_FLOATS);
                cs_rd_i64s(rd, cl->trained_tracked, NN_TRACKED);
            }
        }
    }
    if (rd->failed)
        return CS_EINVAL;
    free(r->trace);
    r->trace = NULL;
    r->n_trace = r->cap_trace = 0;
    if ((rc = load_trace(rd, &r->trace, &r->n_trace, &r->trace_dropped, err)))
        return rc;
    r->cap_trace = r->n_trace;
    if ((rc = sim_engine_load(r->e, rd, err)) || (rc = fl_links_load(r->links, rd, err)))
        return rc;
    cs_rd_tag(rd, "REND");
    if (rd->failed)
        return CS_EINVAL;
    /* What the records say must hold together: each client's state and its transfer, the run's
     * own queued events. */
    for (uint32_t c = 0; c < r->n_clients && !rd->failed && !links_done; c++) {
        const client *cl = &r->clients[c];
        bool busy = fl_links_busy(r->links, c);
        fl_dir dir;
        int32_t tag;
        fl_links_transfer(r->links, c, &dir, &tag);
        bool ok = cl->state == FL_CLIENT_IDLE       ? !busy
                  : cl->state == FL_CLIENT_TRAINING ? !busy
                  : cl->state == FL_CLIENT_RECEIVING
                      ? busy && dir == FL_UP && tag == cl->work_round && open &&
                            (size_t)tag + 1 == started
                      : busy && dir == FL_DOWN && tag == cl->work_round;
        if (!ok || (cl->state == FL_CLIENT_SENDING && cl->update_len == 0))
            cs_rd_fail(rd, "a client whose state does not match its transfer");
    }
    size_t n_ev;
    const sim_event *ev = sim_engine_queued(r->e, &n_ev);
    for (size_t i = 0; i < n_ev && !rd->failed; i++) {
        if (sim_engine_is_stale(r->e, &ev[i]))
            continue;
        if (ev[i].type == EV_TRAIN_DONE) {
            uint32_t c = ev[i].target - r->n_clients;
            if (ev[i].target < r->n_clients || c >= r->n_clients ||
                r->clients[c].state != FL_CLIENT_TRAINING)
                cs_rd_fail(rd, "a training ending for a client not training");
        } else if (ev[i].type == EV_DEADLINE) {
            if (ev[i].target != r->server_target || !open || ev[i].u.u64[0] + 1 != started)
                cs_rd_fail(rd, "a deadline of a round that is not open");
        } else if (ev[i].type == EV_ROUND_START && started > 0) {
            cs_rd_fail(rd, "a first round starting again");
        }
    }
    for (uint32_t c = 0; c < r->n_clients && !rd->failed; c++)
        if (r->clients[c].state == FL_CLIENT_TRAINING) {
            bool pending = false;
            for (size_t i = 0; i < n_ev; i++)
                pending =
                    pending || (ev[i].type == EV_TRAIN_DONE && ev[i].target == r->n_clients + c &&
                                !sim_engine_is_stale(r->e, &ev[i]));
            if (!pending)
                cs_rd_fail(rd, "a client training with no end of training queued");
        }
    if (rd->failed)
        return CS_EINVAL;
    r->cur = (int)started - 1;
    r->open = open;
    r->trained = trained;
    r->rounds_done = rounds_done;
    r->n_sel = (int)n_sel;
    r->finished = finished;
    r->horizon_hit = horizon_hit;
    r->links_done = links_done;
    r->have_eval0 = have_eval0;
    r->accuracy0 = acc0;
    r->loss0 = loss0;
    r->wall_before = wall;
    r->wall0 = cs_wall_s();
    r->ckpt_due = false;
    return 0;
}

void fl_result_save(const fl_result *x, cs_buf *b)
{
    cs_ser_tag(b, "RSLT");
    cs_ser_u32(b, (uint32_t)x->precision);
    cs_ser_u64(b, (uint64_t)x->payload_bytes);
    cs_ser_u64(b, (uint64_t)x->payload_bytes_fp32);
    cs_ser_u64(b, (uint64_t)x->n_rounds);
    cs_ser_u64(b, (uint64_t)x->n_stations);
    for (size_t i = 0; i < x->n_rounds; i++)
        save_round(b, &x->rounds[i]);
    cs_ser_bool(b, x->has_unfinished);
    save_round(b, &x->unfinished);
    save_use(b, x->use, (x->n_rounds + 1) * x->n_stations);
    save_use(b, x->station_totals, x->n_stations);
    cs_ser_u64(b, x->bytes_to_sat);
    cs_ser_u64(b, x->bytes_to_ground);
    cs_ser_u64(b, x->contact_minutes);
    cs_ser_f64(b, x->cost_usd);
    cs_ser_u32(b, (uint32_t)x->updates_received);
    cs_ser_u32(b, (uint32_t)x->updates_late);
    cs_ser_f64(b, x->accuracy);
    cs_ser_f64(b, x->loss);
    cs_ser_f64(b, x->sim_time_s);
    cs_ser_f64(b, x->end_time_s);
    cs_ser_bool(b, x->horizon_hit);
    cs_ser_f64(b, x->wall_time_s);
    cs_ser_f32s(b, x->state, NN_STATE_FLOATS);
    cs_ser_i64s(b, x->tracked, NN_TRACKED);
    cs_ser_bool(b, x->traced);
    cs_ser_bool(b, x->trace_truncated);
    save_trace(b, x->trace, x->n_trace, x->trace_dropped);
    cs_ser_u64(b, x->engine.scheduled);
    cs_ser_u64(b, x->engine.dispatched);
    cs_ser_u64(b, x->engine.stale);
    cs_ser_u64(b, (uint64_t)x->engine.max_pending);
}

int fl_result_load(fl_result *x, const scn_config *cfg, cs_rd *r, cs_err *err)
{
    memset(x, 0, sizeof *x);
    cs_rd_tag(r, "RSLT");
    uint32_t prec = cs_rd_u32(r);
    x->precision = prec < NN_PRECISIONS ? (nn_precision)prec : NN_PREC_FP32;
    x->payload_bytes = (size_t)cs_rd_u64(r);
    x->payload_bytes_fp32 = (size_t)cs_rd_u64(r);
    x->n_rounds = (size_t)cs_rd_count(r, (uint64_t)cfg->federated.rounds,
                                      "more rounds than the scenario has");
    x->n_stations = (size_t)cs_rd_u64(r);
    if (!r->failed && (prec >= NN_PRECISIONS || x->n_stations != cfg->n_stations))
        cs_rd_fail(r, "a run result of another precision or set of stations");
    if (r->failed)
        return CS_EINVAL;
    size_t n_st = x->n_stations;
    x->rounds = calloc(x->n_rounds ? x->n_rounds : 1, sizeof *x->rounds);
    x->use = calloc((x->n_rounds + 1) * n_st, sizeof *x->use);
    x->station_totals = calloc(n_st, sizeof *x->station_totals);
    x->state = malloc(NN_STATE_FLOATS * sizeof *x->state);
    if (!x->rounds || !x->use || !x->station_totals || !x->state) {
        fl_result_free(x);
        return fail_nomem(err, "run result");
    }
    for (size_t i = 0; i < x->n_rounds; i++)
        load_round(r, &x->rounds[i]);
    x->has_unfinished = cs_rd_bool(r);
    load_round(r, &x->unfinished);
    load_use(r, x->use, (x->n_rounds + 1) * n_st);
    load_use(r, x->station_totals, n_st);
    x->bytes_to_sat = cs_rd_u64(r);
    x->bytes_to_ground = cs_rd_u64(r);
    x->contact_minutes = cs_rd_u64(r);
    x->cost_usd = cs_rd_f64(r);
    x->updates_received = (int)cs_rd_u32(r);
    x->updates_late = (int)cs_rd_u32(r);
    x->accuracy = cs_rd_f64(r);
    x->loss = cs_rd_f64(r);
    x->sim_time_s = cs_rd_f64(r);
    x->end_time_s = cs_rd_f64(r);
    x->horizon_hit = cs_rd_bool(r);
    x->wall_time_s = cs_rd_f64(r);
    cs_rd_f32s(r, x->state, NN_STATE_FLOATS);
    cs_rd_i64s(r, x->tracked, NN_TRACKED);
    x->traced = cs_rd_bool(r);
    x->trace_truncated = cs_rd_bool(r);
    int rc = r->failed ? CS_EINVAL : load_trace(r, &x->trace, &x->n_trace, &x->trace_dropped, err);
    x->engine.scheduled = cs_rd_u64(r);
    x->engine.dispatched = cs_rd_u64(r);
    x->engine.stale = cs_rd_u64(r);
    x->engine.max_pending = (size_t)cs_rd_u64(r);
    if (!rc && r->failed)
        rc = CS_EINVAL;
    if (rc)
        fl_result_free(x);
    return rc;
}
