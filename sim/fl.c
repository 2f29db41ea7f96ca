/* fl.c - partitions, FedAvg, costs and one FL run over the contact plan (see fl.h and
 * docs/simulation.md).
 */
#include "fl.h"

#include "cs_rng.h"
#include "nn_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- partitions ------------------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

void fl_partitions_free(fl_partitions *p)
{
    if (!p)
        return;
    free(p->idx);
    free(p->off);
    memset(p, 0, sizeof *p);
}

/* Dirichlet draw: fills owner[] (client of each position of by_class) and per-client counts. */
static bool dirichlet_draw(cs_rng *rng, uint32_t *by_class, const size_t *class_off,
                           size_t n_clients, double alpha, double *p, size_t *counts,
                           uint32_t *owner)
{
    memset(counts, 0, n_clients * sizeof *counts);
    for (int c = 0; c < NN_DATA_CLASSES; c++) {
        size_t a = class_off[c], n_c = class_off[c + 1] - a;
        cs_rng_shuffle_u32(rng, by_class + a, n_c);
        double sum = 0;
        for (size_t k = 0; k < n_clients; k++) {
            p[k] = cs_rng_gamma(rng, alpha);
            sum += p[k];
        }
        if (!(sum > 0) || !isfinite(sum))
            return false;
        double cum = 0;
        size_t start = 0;
        for (size_t k = 0; k < n_clients; k++) {
            cum += p[k] / sum;
            size_t end = k + 1 == n_clients ? n_c : (size_t)floor(cum * (double)n_c);
            if (end > n_c)
                end = n_c;
            if (end < start)
                end = start;
            for (size_t i = start; i < end; i++)
                owner[a + i] = (uint32_t)k;
            counts[k] += end - start;
            start = end;
        }
    }
    return true;
}

int fl_partition(const nn_dataset *ds, const uint32_t *train, size_t n_train, size_t n_clients,
                 scn_partition kind, double alpha, long max_per_client, uint64_t seed,
                 fl_partitions *out, cs_err *err)
{
    memset(out, 0, sizeof *out);
    if (n_clients == 0 || n_train < n_clients)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "the train split has %zu images, fewer than the %zu clients", n_train,
                          n_clients);
    int rc = CS_ENOMEM;
    uint32_t *pool = malloc(n_train * sizeof *pool);
    uint32_t *owner = malloc(n_train * sizeof *owner);
    size_t *counts = calloc(n_clients, sizeof *counts);
    double *p = malloc(n_clients * sizeof *p);
    out->idx = malloc(n_train * sizeof *out->idx);
    out->off = calloc(n_clients + 1, sizeof *out->off);
    if (!pool || !owner || !counts || !p || !out->idx || !out->off)
        goto oom;
    out->n_clients = n_clients;

    if (kind == SCN_PART_IID) {
        memcpy(pool, train, n_train * sizeof *pool);
        cs_rng rng;
        cs_rng_derive(&rng, seed, CS_RNG_PARTITION, 0);
        cs_rng_shuffle_u32(&rng, pool, n_train);
        size_t base = n_train / n_clients, extra = n_train % n_clients, at = 0;
        for (size_t k = 0; k < n_clients; k++) {
            counts[k] = base + (k < extra ? 1 : 0);
            for (size_t i = 0; i < counts[k]; i++)
                owner[at + i] = (uint32_t)k;
            at += counts[k];
        }
    } else {
        /* Group by class (train is ascending, so each class stays ascending before shuffling). */
        size_t class_off[NN_DATA_CLASSES + 1] = {0};
        for (size_t i = 0; i < n_train; i++) {
            uint8_t y = ds->labels[train[i]];
            CS_ASSERT(y < NN_DATA_CLASSES);
            class_off[y + 1]++;
        }
        for (int c = 0; c < NN_DATA_CLASSES; c++)
            class_off[c + 1] += class_off[c];
        size_t fill[NN_DATA_CLASSES];
        memcpy(fill, class_off, sizeof fill);
        for (size_t i = 0; i < n_train; i++)
            pool[fill[ds->labels[train[i]]]++] = train[i];
        size_t need = n_train / n_clients < 10 ? n_train / n_clients : 10;
        cs_rng rng;
        cs_rng_derive(&rng, seed, CS_RNG_PARTITION, 1);
        bool ok = false;
        int draw = 0;
        /* Each draw starts from the same class order, so a draw depends on the stream only. */
        uint32_t *sorted = malloc(n_train * sizeof *sorted);
        if (!sorted)
            goto oom;
        memcpy(sorted, pool, n_train * sizeof *pool);
        while (!ok && draw < 1000) {
            draw++;
            memcpy(pool, sorted, n_train * sizeof *pool);
            if (!dirichlet_draw(&rng, pool, class_off, n_clients, alpha, p, counts, owner))
                continue;
            ok = true;
            for (size_t k = 0; k < n_clients; k++)
                if (counts[k] < need)
                    ok = false;
        }
        free(sorted);
        out->draws = draw;
        if (!ok) {
            rc = cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                            "dataset.alpha %g: 1000 Dirichlet draws all left a client with fewer "
                            "than %zu images; raise alpha or lower federated.clients",
                            alpha, need);
            goto fail;
        }
    }

    /* Gather per client, cap, sort. */
    for (size_t k = 0; k < n_clients; k++)
        out->off[k + 1] = out->off[k] + counts[k];
    memset(counts, 0, n_clients * sizeof *counts);
    for (size_t i = 0; i < n_train; i++) {
        uint32_t k = owner[i];
        out->idx[out->off[k] + counts[k]++] = pool[i];
    }
    size_t w = 0;
    size_t prev_off = 0;
    for (size_t k = 0; k < n_clients; k++) {
        uint32_t *src = out->idx + prev_off;
        size_t n = out->off[k + 1] - prev_off;
        prev_off = out->off[k + 1];
        if (max_per_client > 0 && n > (size_t)max_per_client) {
            cs_rng rng;
            cs_rng_derive(&rng, seed, CS_RNG_PARTITION, 1000000 + (uint64_t)k);
            cs_rng_shuffle_u32(&rng, src, n);
            n = (size_t)max_per_client;
        }
        memmove(out->idx + w, src, n * sizeof *src);
        qsort(out->idx + w, n, sizeof *src, cmp_u32);
        out->off[k] = w;
        w += n;
    }
    out->off[n_clients] = w;
    rc = 0;
    goto done;
oom:
    rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (partitions)");
fail:
    fl_partitions_free(out);
done:
    free(pool);
    free(owner);
    free(counts);
    free(p);
    return rc;
}

/* ---- FedAvg ---------------------------------------------------------------------------------- */

int fl_avg_init(fl_avg *a, size_t n, cs_err *err)
{
    memset(a, 0, sizeof *a);
    a->sum = calloc(n ? n : 1, sizeof *a->sum);
    if (!a->sum)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (FedAvg sum)");
    a->n = n;
    return 0;
}

void fl_avg_deinit(fl_avg *a)
{
    if (!a)
        return;
    free(a->sum);
    memset(a, 0, sizeof *a);
}

void fl_avg_reset(fl_avg *a)
{
    memset(a->sum, 0, a->n * sizeof *a->sum);
    a->weight = 0;
    a->count = 0;
    for (int i = 0; i < NN_TRACKED; i++)
        a->tracked_max[i] = 0;
}

void fl_avg_add(fl_avg *a, const float *state, const int64_t *tracked, double weight)
{
    CS_ASSERT(weight >= 0);
    for (size_t i = 0; i < a->n; i++)
        a->sum[i] += weight * (double)state[i];
    a->weight += weight;
    if (tracked)
        for (int i = 0; i < NN_TRACKED; i++)
            if (a->count == 0 || tracked[i] > a->tracked_max[i])
                a->tracked_max[i] = tracked[i];
    a->count++;
}

bool fl_avg_finish(const fl_avg *a, float *out, int64_t *tracked_out)
{
    if (!(a->weight > 0))
        return false;
    for (size_t i = 0; i < a->n; i++)
        out[i] = (float)(a->sum[i] / a->weight);
    if (tracked_out)
        for (int i = 0; i < NN_TRACKED; i++)
            tracked_out[i] = a->tracked_max[i];
    return true;
}

bool fl_avg_finish_step(const fl_avg *a, const float *base, double lr, double momentum, float *vel,
                        float *global, int64_t *tracked_out)
{
    CS_ASSERT(a->n == NN_STATE_FLOATS && lr > 0 && momentum >= 0 && momentum < 1);
    CS_ASSERT(vel || momentum == 0);
    if (!(a->weight > 0))
        return false;
    for (size_t i = 0; i < NN_PARAMS; i++) {
        double d = a->sum[i] / a->weight - (double)base[i];
        if (vel) {
            d += momentum * (double)vel[i];
            vel[i] = (float)d;
        }
        global[i] = (float)((double)global[i] + lr * d);
    }
    /* BN running statistics are estimates of the activations' moments, not optimisation
     * variables: they take the plain weighted mean. */
    for (size_t i = NN_PARAMS; i < NN_STATE_FLOATS; i++)
        global[i] = (float)(a->sum[i] / a->weight);
    if (tracked_out)
        for (int i = 0; i < NN_TRACKED; i++)
            tracked_out[i] = a->tracked_max[i];
    return true;
}

double fl_cost_usd(const scn_config *cfg, const fl_station_use *use)
{
    double cost = 0;
    for (size_t k = 0; k < cfg->n_stations; k++) {
        const scn_station *s = &cfg->stations[k];
        double bytes = (double)(use[k].bytes_to_sat + use[k].bytes_to_ground);
        double term = bytes * s->cost_per_mb / 1e6;
        cost += term;
        term = (double)use[k].contact_minutes * s->cost_per_minute;
        cost += term;
    }
    return cost;
}

const char *fl_trace_kind_name(fl_trace_kind k)
{
    static const char *const names[FL_TR_KINDS] = {"round_start", "link_start", "link_end",
                                                   "train_start", "train_end",  "update",
                                                   "late",        "aggregate",  "eval"};
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

typedef enum cl_state { CL_IDLE, CL_UP, CL_TRAIN, CL_DOWN } cl_state;

typedef struct client {
    cl_state state;
    int work_round;        /* 0-based round of the work in progress */
    int queued_round;      /* selected while busy: starts when free, if still open; -1 */
    unsigned char *update; /* owned: the encoded update (allocated once, on first use) */
    size_t update_len, update_cap;
    size_t n_samples;
} client;

typedef struct run {
    const fl_env *env;
    const scn_config *cfg;
    scn_precision prec;
    nn_precision nprec;
    sim_engine *e;
    fl_links *links;
    nn_model *m;
    nn_opt *opt;   /* shared by the clients when their state is reset every round */
    nn_opt **copt; /* one per client with optimizer.state keep, else NULL */
    float *vel;    /* server momentum (NN_STATE_FLOATS) when server_momentum > 0, else NULL */
    bool step;     /* aggregate as a server step from g_sent (fl_avg_finish_step) */
    uint32_t n_clients, n_st, t_server;
    client *cl;
    fl_station_link *st_link;
    float *global; /* the server's FP32 global model */
    int64_t gtr[NN_TRACKED];
    float *sent; /* the global as the clients decode it this round (base of deltas) */
    int64_t str[NN_TRACKED];
    unsigned char *gpay; /* the encoded global of this round */
    size_t gpay_len;
    float *scratch;
    int64_t scr_tr[NN_TRACKED];
    fl_avg avg;
    uint32_t *perm; /* n_clients */
    uint32_t *sel;  /* selected clients of the open round, ascending */
    int n_sel;
    int cur; /* 0-based index of the last round started, -1 before */
    bool open;
    int trained, rounds_done;
    fl_round *rounds;    /* every round started */
    fl_station_use *use; /* rows of n_st per started round */
    size_t cap_rounds;
    int train_client, train_epoch; /* for training progress */
    fl_trace_event *trace;
    size_t n_trace, cap_trace;
    bool trace_oom;
    double flops_img;
} run;

static void trace_add(run *r, fl_trace_kind kind, int dir, int round1, int64_t sat, int64_t station,
                      int64_t bytes, double value)
{
    if (!r->env->trace || r->trace_oom)
        return;
    if (r->n_trace == r->cap_trace) {
        size_t cap = r->cap_trace ? 2 * r->cap_trace : 1024;
        fl_trace_event *t = realloc(r->trace, cap * sizeof *t);
        if (!t) {
            r->trace_oom = true;
            return;
        }
        r->trace = t;
        r->cap_trace = cap;
    }
    r->trace[r->n_trace++] = (fl_trace_event){.t_s = sim_engine_now(r->e),
                                              .kind = (uint8_t)kind,
                                              .dir = (uint8_t)dir,
                                              .round = round1,
                                              .sat = (int32_t)sat,
                                              .station = (int32_t)station,
                                              .bytes = bytes,
                                              .value = value};
}

static void progress(run *r, fl_progress *p)
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

static void on_nn_progress(void *user, const nn_progress *np)
{
    run *r = user;
    if (np->phase != NN_PHASE_TRAIN)
        return;
    const client *k = &r->cl[r->train_client];
    fl_progress p = {.kind = FL_PROG_TRAIN,
                     .round = &r->rounds[r->cur],
                     .trained = r->trained,
                     .client = r->train_client,
                     .images_done = (size_t)r->train_epoch * k->n_samples + np->done,
                     .images_total = (size_t)r->cfg->federated.local_epochs * k->n_samples};
    progress(r, &p);
}

static void tick(run *r)
{
    fl_progress p = {.kind = FL_PROG_TICK, .round = &r->rounds[r->cur], .trained = r->trained};
    progress(r, &p);
}

static int on_link_start(void *user, const fl_segment *s, cs_err *err)
{
    (void)err;
    run *r = user;
    trace_add(r, FL_TR_LINK_START, s->dir, s->tag + 1, s->sat, s->station, (int64_t)s->left,
              s->t_data_s);
    return 0;
}

static int on_link_segment(void *user, const fl_segment *s, cs_err *err)
{
    (void)err;
    run *r = user;
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
    rd->contact_minutes += s->minutes;
    trace_add(r, FL_TR_LINK_END, s->dir, s->tag + 1, s->sat, s->station, (int64_t)s->bytes,
              (double)s->end);
    return 0;
}

static int start_uplink(run *r, uint32_t c, cs_err *err)
{
    client *k = &r->cl[c];
    CS_ASSERT(k->state == CL_IDLE && r->open);
    k->state = CL_UP;
    k->work_round = r->cur;
    return fl_links_request(r->links, c, FL_UP, r->gpay_len, r->cur, err);
}

double fl_round_lr(const scn_optimizer_cfg *o, int round, int rounds)
{
    if (o->schedule == SCN_SCHED_COSINE && rounds > 0)
        return o->lr * 0.5 * (1.0 + cos(M_PI * (double)round / (double)rounds));
    if (o->schedule == SCN_SCHED_WSD && rounds > 0) {
        int d = scn_fraction_count(o->decay_fraction, rounds);
        int j = round - (rounds - d);
        return j < 0 ? o->lr : o->lr * (double)(d - j) / (double)(d + 1);
    }
    return o->lr;
}

/* Local training of client c on the global it received; stores the encoded update. */
static int train_client(run *r, uint32_t c, cs_err *err)
{
    const fl_env *env = r->env;
    const scn_federated *f = &r->cfg->federated;
    client *k = &r->cl[c];
    const uint32_t *idx = env->parts->idx + env->parts->off[c];
    float *st = nn_model_state(r->m);
    int64_t *tr = nn_model_tracked(r->m);
    memcpy(st, r->sent, NN_STATE_FLOATS * sizeof *st);
    memcpy(tr, r->str, sizeof r->str);
    nn_opt *opt = r->copt ? r->copt[c] : r->opt;
    if (!r->copt)
        nn_opt_reset(opt);
    nn_opt_set_lr(opt, (float)fl_round_lr(&f->optimizer, r->cur, f->rounds));
    const uint64_t stream = ((uint64_t)(r->cur + 1) << 32) | c;
    cs_rng shuffle, aug;
    cs_rng_derive(&shuffle, r->cfg->seed, CS_RNG_SHUFFLE, stream);
    cs_rng_derive(&aug, r->cfg->seed, CS_RNG_AUGMENT, stream);
    cs_rng *augp = r->cfg->dataset.augment == SCN_AUG_FLIP ? &aug : NULL;
    for (int ep = 0; ep < f->local_epochs; ep++) {
        int rc = nn_train_epoch_aug(r->m, opt, env->ds, idx, k->n_samples, f->batch_size, &shuffle,
                                    augp, NULL);
        if (rc)
            return cs_err_set(err, rc, NULL, 0, 0,
                              "local training of client %u failed in round %d (code %d)", c,
                              r->cur + 1, rc);
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    const float *base = r->cfg->wire.payload == SCN_PAYLOAD_DELTA ? r->sent : NULL;
    int rc = nn_codec_encode(r->nprec, st, tr, base, &buf, &len, err);
    if (rc)
        return rc;
    if (len > k->update_cap) {
        unsigned char *b = realloc(k->update, len);
        if (!b) {
            free(buf);
            return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (client update)");
        }
        k->update = b;
        k->update_cap = len;
    }
    memcpy(k->update, buf, len);
    k->update_len = len;
    free(buf);
    return 0;
}

static int round_start(run *r, cs_err *err);

static int evaluate_global(run *r, double *acc, double *loss, cs_err *err)
{
    memcpy(nn_model_state(r->m), r->global, NN_STATE_FLOATS * sizeof(float));
    memcpy(nn_model_tracked(r->m), r->gtr, sizeof r->gtr);
    int rc = nn_evaluate(r->m, r->env->ds, r->env->test, r->env->n_test, acc, loss);
    if (rc)
        return cs_err_set(err, rc, NULL, 0, 0, "evaluation of the global model failed (code %d)",
                          rc);
    return 0;
}

static int close_round(run *r, bool deadline, cs_err *err)
{
    fl_round *rd = &r->rounds[r->cur];
    int rc;
    CS_ASSERT(r->open);
    sim_engine_cancel(r->e, r->t_server); /* the deadline, if pending */
    rd->t_end_s = sim_engine_now(r->e);
    rd->deadline_hit = deadline;
    /* Uplinks of this round: the server stops sending. Waiting ones first, so that antennas freed
     * by the others do not go to a transfer about to be abandoned. */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t c = 0; c < r->n_clients; c++) {
            client *k = &r->cl[c];
            if (k->queued_round == r->cur)
                k->queued_round = -1;
            if (k->state != CL_UP || k->work_round != r->cur)
                continue;
            if (fl_links_in_session(r->links, c) != (pass == 1))
                continue;
            if ((rc = fl_links_cancel(r->links, c, err)))
                return rc;
            k->state = CL_IDLE;
            rd->uplinks_cancelled++;
        }
    r->open = false;
    const scn_federated *f = &r->cfg->federated;
    if (r->step ? fl_avg_finish_step(&r->avg, r->sent, f->server_lr, f->server_momentum, r->vel,
                                     r->global, r->gtr)
                : fl_avg_finish(&r->avg, r->global, r->gtr))
        rd->samples = r->avg.weight;
    trace_add(r, FL_TR_AGGREGATE, 0, rd->round, -1, -1, 0, (double)rd->reported);
    if ((rc = evaluate_global(r, &rd->accuracy, &rd->loss, err)))
        return rc;
    trace_add(r, FL_TR_EVAL, 0, rd->round, -1, -1, 0, rd->accuracy);
    r->rounds_done++;
    fl_progress p = {.kind = FL_PROG_ROUND, .round = rd};
    for (int i = 0; i <= r->cur; i++) {
        p.bytes_total += r->rounds[i].bytes_to_sat + r->rounds[i].bytes_to_ground;
        p.cost_usd += fl_cost_usd(r->cfg, &r->use[(size_t)i * r->n_st]);
    }
    progress(r, &p);
    if (r->rounds_done >= r->cfg->federated.rounds) {
        sim_engine_stop(r->e);
        return 0;
    }
    return round_start(r, err);
}

static int on_link_done(void *user, uint32_t c, fl_dir dir, int32_t tag, double t_s, cs_err *err)
{
    run *r = user;
    client *k = &r->cl[c];
    int rc;
    if (dir == FL_UP) {
        CS_ASSERT(k->state == CL_UP && tag == r->cur && r->open);
        double images = (double)k->n_samples * r->cfg->federated.local_epochs;
        double dur = r->flops_img * images / (r->cfg->federated.compute_gflops * 1e9);
        trace_add(r, FL_TR_TRAIN_START, 0, tag + 1, c, -1, (int64_t)images, dur);
        if ((rc = train_client(r, c, err)))
            return rc;
        k->state = CL_TRAIN;
        sim_event_data d = {{0}};
        d.u64[0] = (uint64_t)tag;
        return sim_engine_schedule(r->e, t_s + dur, EV_TRAIN_DONE, r->n_clients + c, d, err);
    }
    CS_ASSERT(k->state == CL_DOWN && tag == k->work_round);
    k->state = CL_IDLE;
    bool close = false;
    if (r->open && tag == r->cur) {
        const float *base = r->cfg->wire.payload == SCN_PAYLOAD_DELTA ? r->sent : NULL;
        if ((rc =
                 nn_codec_decode(k->update, k->update_len, base, r->scratch, r->scr_tr, NULL, err)))
            return rc;
        fl_avg_add(&r->avg, r->scratch, r->scr_tr, (double)k->n_samples);
        r->rounds[r->cur].reported++;
        trace_add(r, FL_TR_UPDATE, 0, tag + 1, c, -1, 0, (double)k->n_samples);
        close = r->rounds[r->cur].reported == r->rounds[r->cur].selected;
    } else {
        r->rounds[tag].late++;
        trace_add(r, FL_TR_LATE, 0, tag + 1, c, -1, 0, (double)k->n_samples);
    }
    if (k->queued_round >= 0) {
        int q = k->queued_round;
        k->queued_round = -1;
        if (r->open && q == r->cur && (rc = start_uplink(r, c, err)))
            return rc;
    }
    tick(r);
    return close ? close_round(r, false, err) : 0;
}

static int on_train_done(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    (void)e;
    run *r = user;
    uint32_t c = ev->target - r->n_clients;
    client *k = &r->cl[c];
    CS_ASSERT(c < r->n_clients && k->state == CL_TRAIN);
    k->state = CL_DOWN;
    trace_add(r, FL_TR_TRAIN_END, 0, k->work_round + 1, c, -1, 0, 0);
    if (k->work_round == r->cur && r->open)
        r->trained++;
    tick(r);
    return fl_links_request(r->links, c, FL_DOWN, k->update_len, k->work_round, err);
}

static int on_deadline(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    (void)e;
    run *r = user;
    CS_ASSERT(r->open && (int)ev->u.u64[0] == r->cur);
    return close_round(r, true, err);
}

static int grow_rounds(run *r, cs_err *err)
{
    if ((size_t)r->cur + 1 < r->cap_rounds)
        return 0;
    size_t cap = r->cap_rounds ? 2 * r->cap_rounds : 16;
    size_t max = (size_t)r->cfg->federated.rounds + 1;
    if (cap > max)
        cap = max;
    CS_ASSERT(cap > (size_t)r->cur + 1);
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

static int round_start(run *r, cs_err *err)
{
    const scn_federated *f = &r->cfg->federated;
    int rc;
    if ((rc = grow_rounds(r, err)))
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
    memcpy(r->sel, r->perm, (size_t)r->n_sel * sizeof *r->sel);
    qsort(r->sel, (size_t)r->n_sel, sizeof *r->sel, cmp_u32);
    rd->selected = r->n_sel;
    /* The global model on the wire, and as the clients will decode it. */
    free(r->gpay);
    r->gpay = NULL;
    if ((rc = nn_codec_encode(r->nprec, r->global, r->gtr, NULL, &r->gpay, &r->gpay_len, err)))
        return rc;
    if ((rc = nn_codec_decode(r->gpay, r->gpay_len, NULL, r->sent, r->str, NULL, err)))
        return rc;
    fl_avg_reset(&r->avg);
    trace_add(r, FL_TR_ROUND_START, 0, rd->round, -1, -1, 0, (double)r->n_sel);
    if (f->round_deadline_s > 0) {
        sim_event_data d = {{0}};
        d.u64[0] = (uint64_t)r->cur;
        if ((rc = sim_engine_schedule(r->e, rd->t_start_s + f->round_deadline_s, EV_DEADLINE,
                                      r->t_server, d, err)))
            return rc;
    }
    for (int i = 0; i < r->n_sel; i++) {
        uint32_t c = r->sel[i];
        if (r->cl[c].state == CL_IDLE) {
            if ((rc = start_uplink(r, c, err)))
                return rc;
        } else {
            r->cl[c].queued_round = r->cur;
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

static void run_free(run *r)
{
    sim_engine_destroy(r->e);
    fl_links_destroy(r->links);
    nn_model_destroy(r->m);
    nn_opt_destroy(r->opt);
    if (r->copt)
        for (uint32_t c = 0; c < r->n_clients; c++)
            nn_opt_destroy(r->copt[c]);
    free(r->copt);
    free(r->vel);
    if (r->cl)
        for (uint32_t c = 0; c < r->n_clients; c++)
            free(r->cl[c].update);
    free(r->cl);
    free(r->st_link);
    free(r->global);
    free(r->sent);
    free(r->scratch);
    free(r->gpay);
    fl_avg_deinit(&r->avg);
    free(r->perm);
    free(r->sel);
    free(r->rounds);
    free(r->use);
    free(r->trace);
}

static nn_opt_cfg opt_cfg(const scn_optimizer_cfg *o)
{
    nn_opt_cfg c = nn_opt_default(o->name == SCN_OPT_SGD ? NN_OPT_SGD : NN_OPT_ADAM, (float)o->lr);
    if (o->name == SCN_OPT_SGD)
        c.momentum = (float)o->momentum;
    c.weight_decay = (float)o->weight_decay;
    return c;
}

/* Moves the run's records into out. */
static int run_result(run *r, fl_result *out, cs_err *err)
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
    memcpy(out->tracked, r->gtr, sizeof r->gtr);
    out->sim_time_s = n_done ? out->rounds[n_done - 1].t_end_s : 0;
    out->end_time_s = sim_engine_now(r->e);
    out->trace = r->trace;
    out->n_trace = r->n_trace;
    r->trace = NULL;
    out->engine = sim_engine_get_stats(r->e);
    return 0;
}

int fl_run(const fl_env *env, scn_precision prec, fl_result *out, cs_err *err)
{
    double wall0 = cs_wall_s();
    const scn_config *cfg = env->cfg;
    memset(out, 0, sizeof *out);
    out->precision = prec;
    run r = {.env = env, .cfg = cfg, .prec = prec, .cur = -1};
    int rc = CS_ENOMEM;
    r.nprec = prec == SCN_PREC_FP16   ? NN_PREC_FP16
              : prec == SCN_PREC_INT8 ? NN_PREC_INT8
                                      : NN_PREC_FP32;
    r.n_clients = (uint32_t)cfg->federated.clients;
    r.n_st = (uint32_t)cfg->n_stations;
    CS_ASSERT(env->parts->n_clients == r.n_clients && env->plan->n_stations == r.n_st);
    r.t_server = 2 * r.n_clients;
    r.flops_img = nn_model_train_flops_per_image();

    r.e = sim_engine_create(EV_TYPES, 2 * r.n_clients + 1, 256, err);
    if (!r.e)
        goto fail;
    r.cl = calloc(r.n_clients, sizeof *r.cl);
    r.st_link = calloc(r.n_st, sizeof *r.st_link);
    r.global = malloc(NN_STATE_FLOATS * sizeof(float));
    r.sent = malloc(NN_STATE_FLOATS * sizeof(float));
    r.scratch = malloc(NN_STATE_FLOATS * sizeof(float));
    r.perm = malloc(r.n_clients * sizeof *r.perm);
    r.sel = malloc(r.n_clients * sizeof *r.sel);
    if (!r.cl || !r.st_link || !r.global || !r.sent || !r.scratch || !r.perm || !r.sel) {
        rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (FL run)");
        goto fail;
    }
    if ((rc = fl_avg_init(&r.avg, NN_STATE_FLOATS, err)))
        goto fail;
    for (uint32_t c = 0; c < r.n_clients; c++) {
        r.cl[c].queued_round = -1;
        r.cl[c].n_samples = env->parts->off[c + 1] - env->parts->off[c];
    }
    for (uint32_t k = 0; k < r.n_st; k++)
        r.st_link[k] = (fl_station_link){cfg->stations[k].uplink_mbps,
                                         cfg->stations[k].downlink_mbps, cfg->stations[k].antennas};
    fl_link_setup ls = {.windows = env->plan->contacts.w,
                        .n_windows = env->plan->contacts.n,
                        .n_sats = r.n_clients,
                        .n_stations = r.n_st,
                        .stations = r.st_link,
                        .setup_s = cfg->links.setup_s,
                        .resume = cfg->links.resume,
                        .type_base = 0,
                        .target_base = 0,
                        .hooks = {.user = &r,
                                  .on_start = on_link_start,
                                  .on_segment = on_link_segment,
                                  .on_done = on_link_done}};
    r.links = fl_links_create(r.e, &ls, err);
    if (!r.links) {
        rc = err ? err->code : CS_ENOMEM;
        goto fail;
    }
    sim_engine_on(r.e, EV_ROUND_START, on_round_start, &r);
    sim_engine_on(r.e, EV_TRAIN_DONE, on_train_done, &r);
    sim_engine_on(r.e, EV_DEADLINE, on_deadline, &r);

    r.m = nn_model_create(cfg->federated.batch_size, err);
    if (!r.m) {
        rc = err ? err->code : CS_ENOMEM;
        goto fail;
    }
    if (env->progress)
        nn_train_set_progress(r.m, on_nn_progress, &r);
    nn_opt_cfg oc = opt_cfg(&cfg->federated.optimizer);
    r.opt = nn_opt_create(&oc, NN_PARAMS, err);
    if (!r.opt) {
        rc = err ? err->code : CS_ENOMEM;
        goto fail;
    }
    if (cfg->federated.optimizer.state == SCN_OPT_STATE_KEEP) {
        r.copt = calloc(r.n_clients, sizeof *r.copt);
        if (!r.copt) {
            rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (client optimisers)");
            goto fail;
        }
        for (uint32_t c = 0; c < r.n_clients; c++)
            if (!(r.copt[c] = nn_opt_create(&oc, NN_PARAMS, err))) {
                rc = err ? err->code : CS_ENOMEM;
                goto fail;
            }
    }
    r.step = cfg->wire.payload == SCN_PAYLOAD_DELTA || cfg->federated.server_lr != 1.0 ||
             cfg->federated.server_momentum > 0;
    if (cfg->federated.server_momentum > 0 && !(r.vel = calloc(NN_STATE_FLOATS, sizeof *r.vel))) {
        rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (server momentum)");
        goto fail;
    }
    cs_rng init;
    cs_rng_derive(&init, cfg->seed, CS_RNG_INIT, 0);
    nn_model_init(r.m, cs_rng_u64(&init));
    memcpy(r.global, nn_model_state(r.m), NN_STATE_FLOATS * sizeof(float));
    memcpy(r.gtr, nn_model_tracked(r.m), sizeof r.gtr);
    {
        unsigned char *buf = NULL;
        size_t len = 0;
        if ((rc = nn_codec_encode(r.nprec, r.global, r.gtr, NULL, &buf, &len, err)))
            goto fail;
        free(buf);
        out->payload_bytes = len;
        if ((rc = nn_codec_encode(NN_PREC_FP32, r.global, r.gtr, NULL, &buf, &len, err)))
            goto fail;
        free(buf);
        out->payload_bytes_fp32 = len;
    }

    sim_event_data d = {{0}};
    if ((rc = fl_links_start(r.links, err)) ||
        (rc = sim_engine_schedule(r.e, 0, EV_ROUND_START, SIM_NO_TARGET, d, err)))
        goto fail;
    if ((rc = sim_engine_run(r.e, cfg->duration_s, err)))
        goto fail;
    out->horizon_hit = !sim_engine_stopped(r.e);
    if ((rc = fl_links_finish(r.links, err)))
        goto fail;
    if ((rc = run_result(&r, out, err)))
        goto fail;
    if (out->n_rounds > 0) {
        out->accuracy = out->rounds[out->n_rounds - 1].accuracy;
        out->loss = out->rounds[out->n_rounds - 1].loss;
    } else if ((rc = evaluate_global(&r, &out->accuracy, &out->loss, err))) {
        goto fail;
    }
    run_free(&r);
    out->wall_time_s = cs_wall_s() - wall0;
    fl_progress p = {.kind = FL_PROG_RUN,
                     .precision = prec,
                     .run_index = env->run_index,
                     .n_runs = env->n_runs,
                     .rounds = cfg->federated.rounds,
                     .sim_time_s = out->end_time_s,
                     .result = out};
    if (env->progress)
        env->progress(env->progress_user, &p);
    return 0;
fail:
    if (rc == 0)
        rc = CS_EFAIL;
    run_free(&r);
    fl_result_free(out);
    return rc;
}
