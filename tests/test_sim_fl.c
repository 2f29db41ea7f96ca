#define _GNU_SOURCE
/* test_sim_fl.c - whole FL runs (fl_run_batch, and the same run in time slices) on a hand-made
 * contact plan and a tiny synthetic dataset, with every round time, byte count, minute and cost
 * worked out by hand.
 *
 * Setup: one station, 1 antenna, 8 Mbit/s both ways (1e6 bytes/s), setup 10 s, $1/MB and
 * $0.50 per started minute; two clients whose windows are both [100, 200]; 4 images per client;
 * compute_gflops chosen so that training takes 1 s (0.25 s per image). The FP32 payload is
 * P = 1,742,096 bytes, so a transfer takes 1.742096 s of data after its setup. */
#include "cs_rng.h"
#include "fl.h"
#include "nn_train.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

#define P 1742096.0
#define TP (P / 1e6) /* transfer seconds */

static const char *yaml_fmt =
    "name: fl-test\n"
    "seed: 3\n"
    "epoch: 2026-01-01T00:00:00Z\n"
    "duration: 1000\n"
    "constellation:\n"
    "  walker: {altitude_km: 550, inclination_deg: 53, satellites: 2, planes: 2, phasing: 0}\n"
    "ground_stations:\n"
    "  - {name: A, lat_deg: 0, lon_deg: 0, uplink_mbps: 8, downlink_mbps: 8, cost_per_mb: 1.0,\n"
    "     cost_per_minute: 0.5, antennas: 1}\n"
    "links: {setup_s: 10, resume: true}\n"
    "federated:\n"
    "  rounds: 2\n"
    "  clients: 2\n"
    "  clients_per_round: 2\n"
    "%s"
    "  local_epochs: 1\n"
    "  batch_size: 4\n"
    "  optimizer: %s\n"
    "  compute_gflops: 1.13728512\n" /* 284,321,280 FLOPs per image / 0.25 s */
    "wire: {precision: [fp32], payload: %s}\n"
    "dataset: {name: eurosat, max_samples_per_client: 0}\n";

typedef struct fixture {
    scn_config *cfg;
    nn_dataset ds;
    uint32_t train[8], test[8];
    fl_partitions parts;
    orb_window win[2];
    sim_plan plan;
} fixture;

static int setup_opt(fixture *f, const char *deadline_line, const char *payload, const char *opt)
{
    memset(f, 0, sizeof *f);
    char yaml[2048];
    snprintf(yaml, sizeof yaml, yaml_fmt, deadline_line, opt, payload);
    cs_err err;
    cs_err_clear(&err);
    if (scn_load_text("fl-test.yaml", yaml, strlen(yaml), NULL, 0, &f->cfg, &err) != 0) {
        cs_err_print(&err, stderr);
        return -1;
    }
    /* 16 synthetic images: 8 train, 8 test. */
    f->ds.n = 16;
    f->ds.pixels = malloc(16 * NN_IN_SIZE);
    f->ds.labels = malloc(16);
    for (size_t i = 0; i < 16 * (size_t)NN_IN_SIZE; i++)
        f->ds.pixels[i] = (uint8_t)((i * 2654435761u) >> 24);
    for (int i = 0; i < 16; i++)
        f->ds.labels[i] = (uint8_t)(i % 10);
    for (uint32_t i = 0; i < 8; i++) {
        f->train[i] = i;
        f->test[i] = 8 + i;
    }
    if (fl_partition(&f->ds, f->train, 8, 2, SCN_PART_IID, 0.5, 0, 3, &f->parts, &err) != 0)
        return -1;
    f->win[0] = (orb_window){.sat = 0, .station = 0, .t_start_s = 100, .t_end_s = 200};
    f->win[1] = (orb_window){.sat = 1, .station = 0, .t_start_s = 100, .t_end_s = 200};
    f->plan.windows.w = f->win;
    f->plan.windows.n = 2;
    f->plan.n_stations = 1;
    f->plan.n_sats = 2;
    f->plan.duration_s = 1000;
    return 0;
}

static int setup(fixture *f, const char *deadline_line, const char *payload)
{
    return setup_opt(f, deadline_line, payload, "{name: sgd, lr: 0.01}");
}

static void teardown(fixture *f)
{
    scn_free(f->cfg);
    free(f->ds.pixels);
    free(f->ds.labels);
    fl_partitions_free(&f->parts);
}

/* The run's environment over the fixture: its plan, data and partitions, 8 test images, trace. */
static fl_env fixture_env(const fixture *f)
{
    return (fl_env){.cfg = f->cfg,
                    .plan = &f->plan,
                    .ds = &f->ds,
                    .test = f->test,
                    .n_test = 8,
                    .parts = &f->parts,
                    .trace = true,
                    .n_runs = 1};
}

static int run(fixture *f, fl_result *r)
{
    fl_env env = fixture_env(f);
    cs_err err;
    cs_err_clear(&err);
    int rc = fl_run_batch(&env, NN_PREC_FP32, r, &err);
    if (rc)
        cs_err_print(&err, stderr);
    return rc;
}

/* Both clients report in both rounds. The single antenna serves the queue in FIFO order; every
 * grant goes to a satellite other than the antenna's previous one, so each pays the 10 s setup. */
static void test_all_report(const char *payload)
{
    fixture f;
    T_EQ(setup(&f, "", payload), 0);
    fl_result r;
    T_EQ(run(&f, &r), 0);
    T_EQ(r.payload_bytes, 1742096);
    T_EQ(r.n_rounds, 2);
    T_TRUE(!r.has_unfinished);
    T_TRUE(!r.horizon_hit);
    /* Round 1. sat0 up: grant 100, data 110, done 110+TP; trains until 111+TP; sat1 (queued at
     * 100) gets the antenna at 110+TP: data 120+TP, done 120+2TP, trains until 121+2TP. sat0's
     * downlink (queued at 111+TP) is next: grant 120+2TP, done 130+3TP (first update). sat1's
     * downlink: grant 130+3TP, done 140+4TP: the round closes. */
    double t1 = 140 + 4 * TP;
    T_NEAR(r.rounds[0].t_end_s, t1, 1e-6);
    T_EQ(r.rounds[0].reported, 2);
    T_EQ(r.rounds[0].selected, 2);
    T_TRUE(!r.rounds[0].deadline_hit);
    T_EQ(r.rounds[0].bytes_to_sat, 2 * 1742096);
    T_EQ(r.rounds[0].bytes_to_ground, 2 * 1742096);
    /* four contacts (each a different satellite from the antenna's previous one), each < 60 s */
    T_EQ(r.rounds[0].contact_minutes, 4);
    T_NEAR(r.rounds[0].cost_usd, 4 * P / 1e6 + 4 * 0.5, 1e-12);
    T_NEAR(r.rounds[0].samples, 8, 0);
    /* Round 2 starts at t1; the windows are still open. sat0 up: grant t1 (setup: the antenna
     * served sat1 last), done t1+10+TP, trains 1 s; sat1 up: grant t1+10+TP, done t1+20+2TP;
     * sat0 down: grant t1+20+2TP, done t1+30+3TP; sat1 down: done t1+40+4TP. */
    double t2 = t1 + 40 + 4 * TP;
    T_NEAR(r.rounds[1].t_start_s, t1, 1e-6);
    T_NEAR(r.rounds[1].t_end_s, t2, 1e-6);
    T_EQ(r.rounds[1].reported, 2);
    T_EQ(r.rounds[1].contact_minutes, 4);
    T_NEAR(r.sim_time_s, t2, 1e-6);
    T_EQ(r.bytes_to_sat, 4 * 1742096);
    T_EQ(r.bytes_to_ground, 4 * 1742096);
    T_NEAR(r.cost_usd, r.rounds[0].cost_usd + r.rounds[1].cost_usd, 0);
    T_EQ(r.station_totals[0].transfers_to_sat, 4);
    T_EQ(r.station_totals[0].transfers_to_ground, 4);
    T_EQ(r.station_totals[0].sessions, 8);
    T_EQ(r.updates_late, 0);
    /* the trace: 2 round starts, 8 link starts and ends, 4 trainings, 4 updates, 2 evals */
    int n[FL_TR_KINDS] = {0};
    for (size_t i = 0; i < r.n_trace; i++)
        n[r.trace[i].kind]++;
    T_EQ(n[FL_TR_ROUND_START], 2);
    T_EQ(n[FL_TR_LINK_START], 8);
    T_EQ(n[FL_TR_LINK_END], 8);
    T_EQ(n[FL_TR_TRAIN_START], 4);
    T_EQ(n[FL_TR_UPDATE], 4);
    T_EQ(n[FL_TR_EVAL], 2);
    T_EQ(n[FL_TR_SELECT], 4); /* both clients in both rounds, none deferred */
    for (size_t i = 0; i < r.n_trace; i++) {
        const fl_trace_event *e = &r.trace[i];
        /* train_start records the simulated duration: 4 images * 0.25 s */
        if (e->kind == FL_TR_TRAIN_START)
            T_NEAR(e->value, 1.0, 1e-12);
        /* sessions name the station's one antenna; nothing else names one */
        bool link = e->kind == FL_TR_LINK_START || e->kind == FL_TR_LINK_END;
        T_EQ(e->antenna, link ? 0 : -1);
        if (e->kind == FL_TR_SELECT) {
            /* sat 0 then sat 1, right after their round's round_start */
            T_TRUE(i >= 1);
            const fl_trace_event *p = &r.trace[i - 1];
            T_EQ(e->sat, p->kind == FL_TR_ROUND_START ? 0 : 1);
            T_EQ(p->round, e->round);
            T_NEAR(e->value, 0, 0);
        }
    }
    fl_result_free(&r);
    teardown(&f);
}

/* A 120 s deadline. Round 1 (0..120): sat0 is served as above (up done 110+TP, trained at
 * 111+TP, its downlink queued); sat1's uplink was granted at 110+TP but its data would only start
 * at 120+TP: at the deadline it is abandoned with 0 bytes (one started minute billed). No update
 * arrived: the global model stays. The freed antenna goes to sat0's downlink (grant 120, setup,
 * done 130+TP): a late update of round 1.
 * Round 2 (from 120): sat0 is still busy (deferred), sat1 requests at once and queues behind
 * sat0's late downlink: granted 130+TP (setup), done 140+2TP, trains until 141+2TP; sat0's
 * uplink starts when its late update is delivered (130+TP) and queues behind sat1: granted
 * 140+2TP, done 150+3TP, trains until 151+3TP; sat1's downlink (queued at 141+2TP): granted
 * 150+3TP, done 160+4TP; sat0's downlink: granted 160+4TP, done 170+5TP: round 2 closes. */
static void test_deadline_late(void)
{
    fixture f;
    T_EQ(setup(&f, "  round_deadline: 120\n", "weights"), 0);
    fl_result r;
    T_EQ(run(&f, &r), 0);
    T_EQ(r.n_rounds, 2);
    const fl_round *a = &r.rounds[0], *b = &r.rounds[1];
    T_NEAR(a->t_end_s, 120, 0);
    T_TRUE(a->deadline_hit);
    T_EQ(a->reported, 0);
    T_EQ(a->late, 1);
    T_EQ(a->uplinks_cancelled, 1);
    T_EQ(a->bytes_to_sat, 1742096);    /* sat0's whole uplink; sat1's abandoned with 0 bytes */
    T_EQ(a->bytes_to_ground, 1742096); /* the late update, billed to round 1 */
    /* contacts: sat0 100..110+TP, sat1 110+TP..120, sat0 120..130+TP: 3 minutes */
    T_EQ(a->contact_minutes, 3);
    T_NEAR(a->samples, 0, 0);
    T_NEAR(b->t_start_s, 120, 0);
    T_EQ(b->deferred, 1);
    /* the trace names round 2's selection: sat 0 deferred (value 1), sat 1 not */
    int sel2 = 0;
    for (size_t i = 0; i < r.n_trace; i++)
        if (r.trace[i].kind == FL_TR_SELECT && r.trace[i].round == 2) {
            T_NEAR(r.trace[i].t_s, 120, 0);
            T_NEAR(r.trace[i].value, r.trace[i].sat == 0 ? 1 : 0, 0);
            sel2++;
        }
    T_EQ(sel2, 2);
    T_EQ(b->reported, 2);
    T_TRUE(!b->deadline_hit);
    T_NEAR(b->t_end_s, 170 + 5 * TP, 1e-6);
    T_EQ(b->bytes_to_sat, 2 * 1742096);
    T_EQ(b->bytes_to_ground, 2 * 1742096);
    T_EQ(r.updates_late, 1);
    T_EQ(r.updates_received, 2);
    /* Round 1 aggregated nothing: its accuracy is the initial model's, equal to an evaluation of
     * the initial model in a run that never completes a round (below). */
    double acc1 = a->accuracy, loss1 = a->loss;
    fl_result_free(&r);
    teardown(&f);

    /* Duration 50 s: no window ever opens; the first round is unfinished at the horizon. */
    T_EQ(setup(&f, "", "weights"), 0);
    f.cfg->duration_s = 50;
    T_EQ(run(&f, &r), 0);
    T_EQ(r.n_rounds, 0);
    T_TRUE(r.has_unfinished);
    T_TRUE(r.horizon_hit);
    T_NEAR(r.end_time_s, 50, 0);
    T_NEAR(r.unfinished.t_end_s, 50, 0);
    T_EQ(r.unfinished.bytes_to_sat, 0);
    T_NEAR(r.accuracy, acc1, 0);
    T_NEAR(r.loss, loss1, 0);
    fl_result_free(&r);
    teardown(&f);
}

/* Extensions: each client's Adam state kept across rounds, and the server step with momentum and a
 * server learning rate. The whole run is replayed here with the ML layer directly (same streams,
 * one optimiser per client, the FedAvgM formulas of docs/simulation.md) and must match the
 * simulator's final model bit for bit; a replay that resets the optimisers must not. */
static void replay(fixture *f, bool keep, double slr, double smom, float *g, int64_t *gtr)
{
    cs_err err;
    const scn_federated *fc = &f->cfg->federated;
    nn_model *m = nn_model_create(fc->batch_size, &err);
    nn_opt_cfg oc = nn_opt_default(NN_OPT_ADAM, (float)fc->optimizer.lr);
    nn_opt *opt[2] = {nn_opt_create(&oc, NN_PARAMS, &err), nn_opt_create(&oc, NN_PARAMS, &err)};
    float *w[2] = {malloc(NN_STATE_FLOATS * sizeof(float)),
                   malloc(NN_STATE_FLOATS * sizeof(float))};
    float *vel = calloc(NN_STATE_FLOATS, sizeof(float));
    int64_t wtr[2][NN_TRACKED];
    cs_rng init;
    cs_rng_derive(&init, f->cfg->seed, CS_RNG_INIT, 0);
    nn_model_init(m, cs_rng_u64(&init));
    memcpy(g, nn_model_state(m), NN_STATE_FLOATS * sizeof(float));
    memcpy(gtr, nn_model_tracked(m), NN_TRACKED * sizeof *gtr);
    for (int r = 0; r < fc->rounds; r++) {
        for (uint32_t c = 0; c < 2; c++) {
            memcpy(nn_model_state(m), g, NN_STATE_FLOATS * sizeof(float));
            memcpy(nn_model_tracked(m), gtr, NN_TRACKED * sizeof *gtr);
            if (!keep)
                nn_opt_reset(opt[c]);
            nn_opt_set_lr(opt[c],
                          (float)nn_schedule_lr(fc->optimizer.schedule, fc->optimizer.lr,
                                                fc->optimizer.decay_fraction, r, fc->rounds));
            cs_rng sh;
            cs_rng_derive(&sh, f->cfg->seed, CS_RNG_SHUFFLE, ((uint64_t)(r + 1) << 32) | c);
            const uint32_t *idx = f->parts.idx + f->parts.off[c];
            size_t n = f->parts.off[c + 1] - f->parts.off[c];
            T_EQ(nn_train_epoch_aug(m, opt[c], &f->ds, idx, n, fc->batch_size, &sh, NULL, NULL), 0);
            memcpy(w[c], nn_model_state(m), NN_STATE_FLOATS * sizeof(float));
            memcpy(wtr[c], nn_model_tracked(m), NN_TRACKED * sizeof *gtr);
        }
        for (size_t i = 0; i < NN_STATE_FLOATS; i++) { /* 4 images each: equal weights */
            double mean = (4.0 * w[0][i] + 4.0 * w[1][i]) / 8.0, d = mean - (double)g[i];
            d += smom * (double)vel[i];
            vel[i] = (float)d;
            g[i] = i < NN_PARAMS ? (float)((double)g[i] + slr * d) : (float)mean;
        }
        for (int i = 0; i < NN_TRACKED; i++)
            gtr[i] = wtr[0][i] > wtr[1][i] ? wtr[0][i] : wtr[1][i];
    }
    free(vel);
    free(w[0]);
    free(w[1]);
    nn_opt_destroy(opt[0]);
    nn_opt_destroy(opt[1]);
    nn_model_destroy(m);
}

static void test_kept_state_server_momentum(void)
{
    fixture f;
    T_EQ(setup_opt(&f, "  server_lr: 1.5\n  server_momentum: 0.5\n", "weights",
                   "{name: adam, lr: 0.01, state: keep}"),
         0);
    T_EQ(f.cfg->federated.optimizer.state, SCN_OPT_STATE_KEEP);
    T_NEAR(f.cfg->federated.server_lr, 1.5, 0);
    T_NEAR(f.cfg->federated.server_momentum, 0.5, 0);
    fl_result r;
    T_EQ(run(&f, &r), 0);
    T_EQ(r.n_rounds, 2);
    float *g = malloc(NN_STATE_FLOATS * sizeof(float));
    int64_t gtr[NN_TRACKED];
    replay(&f, true, 1.5, 0.5, g, gtr);
    T_TRUE(memcmp(g, r.state, NN_STATE_FLOATS * sizeof(float)) == 0);
    T_TRUE(memcmp(gtr, r.tracked, sizeof gtr) == 0);
    replay(&f, false, 1.5, 0.5, g, gtr); /* resetting the optimisers is a different run */
    T_TRUE(memcmp(g, r.state, NN_STATE_FLOATS * sizeof(float)) != 0);
    replay(&f, true, 1.0, 0.0, g, gtr); /* so is plain FedAvg */
    T_TRUE(memcmp(g, r.state, NN_STATE_FLOATS * sizeof(float)) != 0);
    free(g);
    fl_result_free(&r);
    teardown(&f);
}

/* ---- the run in time slices ------------------------------------------------------------------ */

typedef struct watch {
    int calls;
    double last_t;
    int last_done;
    int rounds; /* federated.rounds of the scenario */
    bool ordered, consistent, saw_session, saw_training, finished;
} watch;

static void on_snapshot(void *user, const fl_snapshot *s)
{
    watch *w = user;
    if (w->calls > 0 && (s->t_s < w->last_t || s->rounds_done < w->last_done))
        w->ordered = false;
    w->calls++;
    w->last_t = s->t_s;
    w->last_done = s->rounds_done;
    w->finished = s->finished;
    if (s->n_clients != 2 || s->n_sessions > 1 || s->rounds_total != w->rounds ||
        s->rounds_done > s->rounds_total)
        w->consistent = false;
    for (size_t i = 0; i < s->n_sessions; i++) {
        const fl_segment *g = &s->sessions[i];
        const fl_client_view *v = &s->clients[g->sat];
        w->saw_session = true;
        /* a session moves the client's transfer: receiving on the uplink, sending on the
         * downlink, and never more bytes than are left */
        if (v->state != (g->dir == FL_UP ? FL_CLIENT_RECEIVING : FL_CLIENT_SENDING) ||
            g->bytes > g->left || g->t_end_s != s->t_s || v->bytes_left != g->left - g->bytes)
            w->consistent = false;
    }
    for (size_t c = 0; c < s->n_clients; c++)
        if (s->clients[c].state == FL_CLIENT_TRAINING)
            w->saw_training = true;
}

static bool same_rounds(const fl_round *a, const fl_round *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].round != b[i].round || a[i].t_start_s != b[i].t_start_s ||
            a[i].t_end_s != b[i].t_end_s || a[i].selected != b[i].selected ||
            a[i].reported != b[i].reported || a[i].late != b[i].late ||
            a[i].uplinks_cancelled != b[i].uplinks_cancelled || a[i].deferred != b[i].deferred ||
            a[i].deadline_hit != b[i].deadline_hit || a[i].accuracy != b[i].accuracy ||
            a[i].loss != b[i].loss || a[i].samples != b[i].samples ||
            a[i].bytes_to_sat != b[i].bytes_to_sat ||
            a[i].bytes_to_ground != b[i].bytes_to_ground ||
            a[i].contact_minutes != b[i].contact_minutes || a[i].cost_usd != b[i].cost_usd)
            return false;
    return true;
}

static bool same_trace(const fl_result *a, const fl_result *b)
{
    if (a->n_trace != b->n_trace)
        return false;
    for (size_t i = 0; i < a->n_trace; i++) {
        const fl_trace_event *x = &a->trace[i], *y = &b->trace[i];
        if (x->t_s != y->t_s || x->kind != y->kind || x->dir != y->dir || x->round != y->round ||
            x->sat != y->sat || x->station != y->station || x->antenna != y->antenna ||
            x->bytes != y->bytes || x->value != y->value)
            return false;
    }
    return true;
}

/* The same run advanced in slices of `step` seconds (irregular ones when step < 0) gives the
 * same result as the batch path, and the observer sees ordered, consistent snapshots. */
static void check_slices(const char *deadline_line, const char *set, double step)
{
    fixture f;
    T_EQ(setup(&f, deadline_line, "weights"), 0);
    if (set) {
        const char *sets[1] = {set};
        scn_config *c = NULL;
        char yaml[2048];
        snprintf(yaml, sizeof yaml, yaml_fmt, deadline_line, "{name: sgd, lr: 0.01}", "weights");
        cs_err e;
        cs_err_clear(&e);
        T_EQ(scn_load_text("fl-test.yaml", yaml, strlen(yaml), sets, 1, &c, &e), 0);
        scn_free(f.cfg);
        f.cfg = c;
    }
    fl_result batch, sliced;
    T_EQ(run(&f, &batch), 0);

    watch w = {.ordered = true, .consistent = true, .rounds = f.cfg->federated.rounds};
    fl_env env = fixture_env(&f);
    env.observe = on_snapshot;
    env.observe_user = &w;
    cs_err err;
    cs_err_clear(&err);
    fl_run *r = fl_run_begin(&env, NN_PREC_FP32, &err);
    T_TRUE(r != NULL);
    if (!r) {
        cs_err_print(&err, stderr);
        fl_result_free(&batch);
        teardown(&f);
        return;
    }
    double t = 0;
    int slices = 0;
    cs_rng rng;
    cs_rng_derive(&rng, 11, CS_RNG_SHUFFLE, 0);
    while (!fl_run_finished(r) && slices < 100000) {
        t += step > 0 ? step : 0.001 + 40.0 * (double)cs_rng_below(&rng, 1000) / 1000.0;
        T_EQ(fl_run_advance(r, t, &err), 0);
        T_TRUE(fl_run_now(r) <= t || fl_run_finished(r));
        slices++;
    }
    T_TRUE(fl_run_finished(r));
    T_TRUE(slices > 5);
    double end_t = fl_run_now(r);
    T_EQ(fl_run_advance(r, end_t + 500, &err), 0); /* a finished run stays where it stopped */
    T_NEAR(fl_run_now(r), end_t, 0);
    T_EQ(fl_run_end(r, &sliced, &err), 0);

    T_EQ(sliced.n_rounds, batch.n_rounds);
    T_TRUE(sliced.n_rounds == batch.n_rounds &&
           same_rounds(sliced.rounds, batch.rounds, batch.n_rounds));
    T_EQ(sliced.has_unfinished, batch.has_unfinished);
    if (batch.has_unfinished)
        T_TRUE(same_rounds(&sliced.unfinished, &batch.unfinished, 1));
    T_EQ(sliced.horizon_hit, batch.horizon_hit);
    T_NEAR(sliced.end_time_s, batch.end_time_s, 0);
    T_NEAR(sliced.sim_time_s, batch.sim_time_s, 0);
    T_NEAR(sliced.cost_usd, batch.cost_usd, 0);
    T_NEAR(sliced.accuracy, batch.accuracy, 0);
    T_TRUE(same_trace(&sliced, &batch));
    T_TRUE(!sliced.trace_truncated && sliced.trace_dropped == 0);
    T_MEMEQ(sliced.state, batch.state, NN_STATE_FLOATS * sizeof(float));
    T_MEMEQ(sliced.tracked, batch.tracked, sizeof batch.tracked);
    T_EQ_U64(sliced.station_totals[0].bytes_to_sat, batch.station_totals[0].bytes_to_sat);
    T_EQ_U64(sliced.station_totals[0].bytes_to_ground, batch.station_totals[0].bytes_to_ground);
    T_EQ_U64(sliced.station_totals[0].sessions, batch.station_totals[0].sessions);
    T_EQ_U64(sliced.station_totals[0].contact_minutes, batch.station_totals[0].contact_minutes);
    T_EQ_U64(sliced.engine.dispatched, batch.engine.dispatched);

    T_TRUE(w.ordered);
    T_TRUE(w.consistent);
    T_TRUE(w.saw_session);
    if (step > 0 && step <= 0.5) /* training lasts 1 s: a slice ends inside it */
        T_TRUE(w.saw_training);
    T_TRUE(w.finished);
    /* one snapshot per slice, one per closed round, one for the advance past the end */
    T_EQ(w.calls, slices + (int)batch.n_rounds + 1);
    fl_result_free(&batch);
    fl_result_free(&sliced);
    teardown(&f);
}

static void test_slices(void)
{
    check_slices("", NULL, 7);
    check_slices("", NULL, 0.5);
    check_slices("", NULL, -1);
    check_slices("  round_deadline: 120\n", NULL, 3);
    /* more rounds than the windows allow: the duration ends the run with a round open */
    check_slices("", "federated.rounds=5", 13);
    check_slices("  round_deadline: 120\n", "federated.rounds=5", -1);
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

typedef struct saves {
    cs_buf b[64];
    int n;
    int calls; /* of the checkpoint hook */
} saves;

static int on_ckpt(void *user, const fl_run *r, cs_err *err)
{
    (void)err;
    saves *s = user;
    s->calls++;
    if (s->n < 64)
        fl_run_save(r, &s->b[s->n++]);
    return 0;
}

/* The run saved at every aggregation (the checkpoint hook) and at the end of every slice of
 * `step` seconds, then every saved state restored into a new run and finished: each gives the
 * batch run's result exactly (records, trace, engine counters, final model). */
static void check_restore(const char *fed_lines, const char *payload, const char *opt, double step)
{
    fixture f;
    T_EQ(setup_opt(&f, fed_lines, payload, opt), 0);
    fl_result batch;
    T_EQ(run(&f, &batch), 0);
    saves sv;
    memset(&sv, 0, sizeof sv);
    fl_env env = fixture_env(&f);
    env.checkpoint = on_ckpt;
    env.checkpoint_user = &sv;
    cs_err err;
    cs_err_clear(&err);
    fl_run *r = fl_run_begin(&env, NN_PREC_FP32, &err);
    T_TRUE(r != NULL);
    int stride = (int)(f.cfg->duration_s / step / 40) + 1, slice = 0;
    for (double t = 0; r && !fl_run_finished(r); t += step, slice++) {
        T_EQ(fl_run_advance(r, t, &err), 0);
        if (slice % stride == 0 && sv.n < 60)
            fl_run_save(r, &sv.b[sv.n++]); /* between events: a slice's end */
    }
    T_EQ(sv.calls, (int)batch.n_rounds);
    fl_result whole;
    T_EQ(fl_run_end(r, &whole, &err), 0);
    T_TRUE(same_trace(&whole, &batch));
    fl_result_free(&whole);
    T_TRUE(sv.n > (int)batch.n_rounds + 3);
    fl_env quiet = env;
    quiet.checkpoint = NULL;
    for (int i = 0; i < sv.n; i++) {
        T_TRUE(!sv.b[i].failed);
        fl_run *q = fl_run_begin(&quiet, NN_PREC_FP32, &err);
        cs_rd rd = cs_rd_init(sv.b[i].p, sv.b[i].len);
        T_EQ(fl_run_load(q, &rd, &err), 0);
        T_EQ(rd.off, rd.len); /* the record read to its end */
        fl_result res;
        T_EQ(fl_run_advance(q, f.cfg->duration_s, &err), 0);
        T_EQ(fl_run_end(q, &res, &err), 0);
        T_EQ(res.n_rounds, batch.n_rounds);
        T_TRUE(res.n_rounds == batch.n_rounds &&
               same_rounds(res.rounds, batch.rounds, batch.n_rounds));
        T_TRUE(same_trace(&res, &batch));
        T_MEMEQ(res.state, batch.state, NN_STATE_FLOATS * sizeof(float));
        T_MEMEQ(res.tracked, batch.tracked, sizeof batch.tracked);
        T_NEAR(res.cost_usd, batch.cost_usd, 0);
        T_EQ_U64(res.engine.dispatched, batch.engine.dispatched);
        T_EQ_U64(res.engine.scheduled, batch.engine.scheduled);
        T_EQ_U64(res.engine.stale, batch.engine.stale);
        T_EQ_U64(res.station_totals[0].contact_minutes, batch.station_totals[0].contact_minutes);
        /* the result record reads back as it was written */
        cs_buf rb = {0};
        fl_result_save(&res, &rb);
        cs_rd rr = cs_rd_init(rb.p, rb.len);
        fl_result back;
        T_EQ(fl_result_load(&back, f.cfg, &rr, &err), 0);
        cs_buf rb2 = {0};
        fl_result_save(&back, &rb2);
        T_TRUE(rb.len == rb2.len && memcmp(rb.p, rb2.p, rb.len) == 0);
        /* a record cut anywhere is refused, with the offset where it ends */
        for (size_t cut = 0; cut < rb.len; cut += rb.len / 7 + 1) {
            cs_rd short_rd = cs_rd_init(rb.p, cut);
            fl_result bad;
            T_EQ(fl_result_load(&bad, f.cfg, &short_rd, &err), CS_EINVAL);
            T_TRUE(short_rd.failed && short_rd.fail_at <= cut);
        }
        cs_buf_free(&rb);
        cs_buf_free(&rb2);
        fl_result_free(&back);
        fl_result_free(&res);
    }
    /* a record whose queued events point outside the plan (the window index of every event set
     * to 10^12, as a crafted file could) is refused, not used as an index */
    for (int i = 0; i < sv.n; i++) {
        cs_buf *b = &sv.b[i];
        char *e = memmem(b->p, b->len, "ENGN", 4);
        T_TRUE(e != NULL);
        if (!e)
            break;
        uint32_t n_targets;
        memcpy(&n_targets, e + 8, 4);
        size_t at = (size_t)(e - b->p) + 4 + 4 + 4 + 8 + 8 + 4 * 8 + 4 * (size_t)n_targets;
        uint64_t n_ev;
        memcpy(&n_ev, b->p + at, 8);
        char *copy = malloc(b->len);
        memcpy(copy, b->p, b->len);
        const uint64_t huge = 1000000000000ull;
        for (uint64_t k = 0; k < n_ev; k++)
            memcpy(copy + at + 8 + 44 * k + 28, &huge, 8);
        fl_run *q = fl_run_begin(&quiet, NN_PREC_FP32, &err);
        cs_rd rd = cs_rd_init(copy, b->len);
        int rc = fl_run_load(q, &rd, &err);
        /* refused when an event of the links is queued (one always is before the end) */
        if (n_ev > 0 && !fl_run_finished(q))
            T_EQ(rc, CS_EINVAL);
        fl_run_destroy(q);
        free(copy);
    }
    /* a run record of another precision is refused */
    fl_run *q = fl_run_begin(&quiet, NN_PREC_INT8, &err);
    cs_rd rd = cs_rd_init(sv.b[0].p, sv.b[0].len);
    T_EQ(fl_run_load(q, &rd, &err), CS_EINVAL);
    T_TRUE(rd.failed && rd.why && strstr(rd.why, "precision"));
    fl_run_destroy(q);
    for (int i = 0; i < sv.n; i++)
        cs_buf_free(&sv.b[i]);
    fl_result_free(&batch);
    teardown(&f);
}

static void test_restore(void)
{
    check_restore("", "weights", "{name: sgd, lr: 0.01}", 9);
    check_restore("  round_deadline: 120\n  server_momentum: 0.5\n", "delta",
                  "{name: adam, lr: 0.01, state: keep}", 0.7);
}

int main(void)
{
    nn_set_threads(1);
    test_restore();
    test_kept_state_server_momentum();
    test_all_report("weights");
    test_all_report("delta");
    test_deadline_late();
    test_slices();
    return t_done();
}
