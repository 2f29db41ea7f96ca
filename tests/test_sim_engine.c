/* test_sim_engine.c - the event heap: order by (t, seq), FIFO ties, growth, cancellation by
 * generation, horizon, stop, handler errors. */
#include "cs_rng.h"
#include "sim_engine.h"
#include "t.h"

#include <stdlib.h>

typedef struct rec {
    double t[4096];
    uint64_t id[4096];
    size_t n;
    int fail_at; /* id that returns an error, -1 none */
    int stop_at;
} rec;

static int on_any(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    rec *r = user;
    if (r->n < 4096) {
        r->t[r->n] = ev->t_s;
        r->id[r->n] = ev->u.u64[0];
        r->n++;
    }
    if ((int)ev->u.u64[0] == r->fail_at)
        return cs_err_set(err, CS_EFAIL, NULL, 0, 0, "handler failed at %d", r->fail_at);
    if ((int)ev->u.u64[0] == r->stop_at)
        sim_engine_stop(e);
    return 0;
}

/* A handler that schedules a follow-up 1 s later, up to id 5. */
static int on_chain(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    int rc = on_any(user, e, ev, err);
    if (rc || ev->u.u64[0] >= 5)
        return rc;
    sim_event_data d = {{ev->u.u64[0] + 1, 0}};
    return sim_engine_schedule(e, ev->t_s + 1, 1, SIM_NO_TARGET, d, err);
}

static sim_event_data id(uint64_t i)
{
    sim_event_data d = {{i, 0}};
    return d;
}

static void test_order_and_growth(void)
{
    cs_err err;
    cs_err_clear(&err);
    sim_engine *e = sim_engine_create(1, 0, 4, &err); /* tiny: forces growth */
    T_TRUE(e != NULL);
    static rec r;
    r = (rec){.fail_at = -1, .stop_at = -1};
    sim_engine_on(e, 0, on_any, &r);
    cs_rng g;
    cs_rng_seed(&g, 7);
    /* 3000 events at random times with many exact ties (times on a 1/4 s grid). */
    double times[3000];
    for (int i = 0; i < 3000; i++) {
        times[i] = (double)cs_rng_below(&g, 400) / 4.0;
        T_EQ(sim_engine_schedule(e, times[i], 0, SIM_NO_TARGET, id((uint64_t)i), &err), 0);
    }
    T_EQ(sim_engine_pending(e), 3000);
    T_EQ(sim_engine_run(e, 1e9, &err), 0);
    T_EQ(r.n, 3000);
    int bad_order = 0, bad_fifo = 0;
    for (size_t i = 1; i < r.n; i++) {
        if (r.t[i] < r.t[i - 1])
            bad_order++;
        if (r.t[i] == r.t[i - 1] && r.id[i] < r.id[i - 1])
            bad_fifo++; /* equal times: insertion order */
    }
    T_EQ(bad_order, 0);
    T_EQ(bad_fifo, 0);
    /* Every event came out exactly once, with its own time. */
    int seen_wrong = 0;
    for (size_t i = 0; i < r.n; i++)
        if (r.t[i] != times[r.id[i]])
            seen_wrong++;
    T_EQ(seen_wrong, 0);
    sim_engine_stats st = sim_engine_get_stats(e);
    T_EQ(st.scheduled, 3000);
    T_EQ(st.dispatched, 3000);
    T_EQ(st.max_pending, 3000);
    sim_engine_destroy(e);
}

static void test_fifo_ties_exact(void)
{
    cs_err err;
    sim_engine *e = sim_engine_create(1, 0, 0, &err);
    static rec r;
    r = (rec){.fail_at = -1, .stop_at = -1};
    sim_engine_on(e, 0, on_any, &r);
    /* Scheduled out of time order; ties at t=5 must come out 10, 11, 12, 13. */
    sim_engine_schedule(e, 5, 0, SIM_NO_TARGET, id(10), &err);
    sim_engine_schedule(e, 9, 0, SIM_NO_TARGET, id(20), &err);
    sim_engine_schedule(e, 5, 0, SIM_NO_TARGET, id(11), &err);
    sim_engine_schedule(e, 1, 0, SIM_NO_TARGET, id(0), &err);
    sim_engine_schedule(e, 5, 0, SIM_NO_TARGET, id(12), &err);
    sim_engine_schedule(e, 5, 0, SIM_NO_TARGET, id(13), &err);
    T_EQ(sim_engine_run(e, 100, &err), 0);
    uint64_t want[] = {0, 10, 11, 12, 13, 20};
    T_EQ(r.n, 6);
    for (size_t i = 0; i < 6 && i < r.n; i++)
        T_EQ(r.id[i], want[i]);
    sim_engine_destroy(e);
}

static void test_cancel(void)
{
    cs_err err;
    sim_engine *e = sim_engine_create(1, 3, 0, &err);
    static rec r;
    r = (rec){.fail_at = -1, .stop_at = -1};
    sim_engine_on(e, 0, on_any, &r);
    T_EQ(sim_engine_gen(e, 1), 0);
    sim_engine_schedule(e, 1, 0, 1, id(1), &err); /* target 1, gen 0 */
    sim_engine_schedule(e, 2, 0, 2, id(2), &err); /* target 2 */
    sim_engine_schedule(e, 3, 0, SIM_NO_TARGET, id(3), &err);
    sim_engine_cancel(e, 1); /* voids id 1 */
    T_EQ(sim_engine_gen(e, 1), 1);
    sim_engine_schedule(e, 4, 0, 1, id(4), &err); /* target 1, gen 1: live */
    sim_engine_schedule(e, 5, 0, 0, id(5), &err);
    sim_engine_cancel(e, 0);
    sim_engine_cancel(e, 0); /* twice: still stale */
    T_EQ(sim_engine_run(e, 100, &err), 0);
    uint64_t want[] = {2, 3, 4};
    T_EQ(r.n, 3);
    for (size_t i = 0; i < 3 && i < r.n; i++)
        T_EQ(r.id[i], want[i]);
    sim_engine_stats st = sim_engine_get_stats(e);
    T_EQ(st.stale, 2);
    T_EQ(st.dispatched, 3);
    sim_engine_destroy(e);
}

static void test_horizon_stop_error(void)
{
    cs_err err;
    cs_err_clear(&err);
    sim_engine *e = sim_engine_create(2, 0, 0, &err);
    static rec r;
    r = (rec){.fail_at = -1, .stop_at = -1};
    sim_engine_on(e, 0, on_any, &r);
    sim_engine_on(e, 1, on_chain, &r);
    /* Horizon: t = 10 runs (inclusive), t = 10.5 stays queued; the clock moves to the horizon. */
    sim_engine_schedule(e, 10, 0, SIM_NO_TARGET, id(100), &err);
    sim_engine_schedule(e, 10.5, 0, SIM_NO_TARGET, id(101), &err);
    T_EQ(sim_engine_run(e, 10, &err), 0);
    T_EQ(r.n, 1);
    T_EQ(sim_engine_pending(e), 1);
    T_NEAR(sim_engine_now(e), 10, 0);
    T_TRUE(!sim_engine_stopped(e));
    /* Resume past it; the queue empties and the clock moves to the new horizon. */
    T_EQ(sim_engine_run(e, 20, &err), 0);
    T_EQ(r.n, 2);
    T_NEAR(sim_engine_now(e), 20, 0);
    /* Handlers scheduling events: a chain 0..5 at 21..26, stopped by the handler of id 3. */
    r.stop_at = 3;
    sim_engine_schedule(e, 21, 1, SIM_NO_TARGET, id(0), &err);
    T_EQ(sim_engine_run(e, 100, &err), 0);
    T_TRUE(sim_engine_stopped(e));
    T_NEAR(sim_engine_now(e), 24, 0); /* stop: the clock stays at the last event */
    T_EQ(r.n, 6);
    T_EQ(r.id[r.n - 1], 3);
    /* An error stops the loop and is returned as is. */
    r.stop_at = -1;
    r.fail_at = 4;
    T_EQ(sim_engine_run(e, 100, &err), CS_EFAIL);
    T_CONTAINS(err.msg, "handler failed at 4");
    T_NEAR(sim_engine_now(e), 25, 0);
    T_EQ(sim_engine_pending(e), 0); /* id 5 was never scheduled */
    /* pop without dispatch */
    sim_event ev;
    T_TRUE(!sim_engine_pop(e, &ev));
    sim_engine_schedule(e, 30, 0, SIM_NO_TARGET, id(9), &err);
    T_TRUE(sim_engine_pop(e, &ev));
    T_EQ(ev.u.u64[0], 9);
    T_NEAR(ev.t_s, 30, 0);
    sim_engine_destroy(e);
    sim_engine_destroy(NULL);
}

int main(void)
{
    test_order_and_growth();
    test_fifo_ties_exact();
    test_cancel();
    test_horizon_stop_error();
    return t_done();
}
