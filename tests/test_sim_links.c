/* test_sim_links.c - transfers over hand-made contact plans whose answers are worked out by hand:
 * setup time, a transfer cut by the end of a contact and resumed (or restarted) at the next one,
 * antenna contention (FIFO), contact continuation without setup, the antenna a new contact takes,
 * cancellation, two stations in view at once, started minutes. Rates: 8 Mbit/s = 1e6 bytes/s, so
 * bytes and seconds agree. */
#include "fl_link.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

#define MAXSEG 32

typedef struct log {
    fl_segment seg[MAXSEG];
    size_t n_seg;
    double done_t[8]; /* per sat: last delivery time, -1 none */
    int done_n[8];
    int starts;
    /* a follow-up request made from on_done */
    int follow_sat;
    uint64_t follow_bytes;
    fl_links *l;
} log_t;

static int on_start(void *user, const fl_segment *s, cs_err *err)
{
    (void)s;
    (void)err;
    ((log_t *)user)->starts++;
    return 0;
}

static int on_seg(void *user, const fl_segment *s, cs_err *err)
{
    (void)err;
    log_t *g = user;
    if (g->n_seg < MAXSEG)
        g->seg[g->n_seg++] = *s;
    return 0;
}

static int on_done(void *user, uint32_t sat, fl_dir dir, int32_t tag, double t, cs_err *err)
{
    (void)dir;
    (void)tag;
    log_t *g = user;
    g->done_t[sat] = t;
    g->done_n[sat]++;
    if ((int)sat == g->follow_sat) {
        g->follow_sat = -1;
        return fl_links_request(g->l, sat, FL_DOWN, g->follow_bytes, 7, err);
    }
    return 0;
}

/* A "request" event: u64[0] = sat, u64[1] = bytes. */
enum { EV_REQ = FL_LINK_EVENT_TYPES, EV_CANCEL, EV_N };

typedef struct world {
    sim_engine *e;
    fl_links *l;
    log_t log;
} world;

static int on_req(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    (void)e;
    world *w = user;
    return fl_links_request(w->l, (uint32_t)ev->u.u64[0], FL_UP, ev->u.u64[1], 0, err);
}

static int on_cancel(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    (void)e;
    world *w = user;
    return fl_links_cancel(w->l, (uint32_t)ev->u.u64[0], err);
}

static orb_window W(uint32_t sat, uint32_t st, double a, double b)
{
    orb_window w = {.sat = sat, .station = st, .t_start_s = a, .t_end_s = b};
    w.t_max_s = (a + b) / 2;
    return w;
}

static void world_init(world *w, const orb_window *wins, size_t n, uint32_t n_sats,
                       const fl_station_link *st, uint32_t n_st, double setup, bool resume)
{
    cs_err err;
    cs_err_clear(&err);
    memset(w, 0, sizeof *w);
    w->log.follow_sat = -1;
    for (int i = 0; i < 8; i++)
        w->log.done_t[i] = -1;
    w->e = sim_engine_create(EV_N, n_sats, 0, &err);
    fl_link_setup s = {.windows = wins,
                       .n_windows = n,
                       .n_sats = n_sats,
                       .n_stations = n_st,
                       .stations = st,
                       .setup_s = setup,
                       .resume = resume,
                       .hooks = {&w->log, on_start, on_seg, on_done}};
    w->l = fl_links_create(w->e, &s, &err);
    w->log.l = w->l;
    T_TRUE(w->e && w->l);
    sim_engine_on(w->e, EV_REQ, on_req, w);
    sim_engine_on(w->e, EV_CANCEL, on_cancel, w);
    T_EQ(fl_links_start(w->l, &err), 0);
}

static void req(world *w, double t, uint32_t sat, uint64_t bytes)
{
    cs_err err;
    sim_event_data d = {{sat, bytes}};
    T_EQ(sim_engine_schedule(w->e, t, EV_REQ, SIM_NO_TARGET, d, &err), 0);
}

static void run(world *w, double horizon)
{
    cs_err err;
    cs_err_clear(&err);
    T_EQ(sim_engine_run(w->e, horizon, &err), 0);
}

static void world_free(world *w)
{
    fl_links_destroy(w->l);
    sim_engine_destroy(w->e);
}

static const fl_station_link ONE = {8, 8, 1}; /* 1e6 B/s both ways, 1 antenna */

static void test_single(void)
{
    /* 5e6 bytes, setup 10 s, window [100, 200], request at 0: grant 100, data 110, done 115. */
    orb_window wins[] = {W(0, 0, 100, 200)};
    world w;
    world_init(&w, wins, 1, 1, &ONE, 1, 10, true);
    req(&w, 0, 0, 5000000);
    run(&w, 1000);
    T_EQ(w.log.n_seg, 1);
    fl_segment s = w.log.seg[0];
    T_NEAR(s.t_grant_s, 100, 1e-9);
    T_NEAR(s.t_data_s, 110, 1e-9);
    T_NEAR(s.t_end_s, 115, 1e-9);
    T_EQ(s.bytes, 5000000);
    T_TRUE(s.whole);
    T_EQ(s.end, FL_SEG_DONE);
    T_EQ(s.minutes, 1);
    T_NEAR(s.setup_s, 10, 0);
    T_NEAR(w.log.done_t[0], 115, 1e-9);
    world_free(&w);
}

static void test_resume(bool resume)
{
    /* Window 1 [100, 113]: data 110..113 moves 3e6 of 5e6 bytes, cut. Window 2 [200, 300]:
     * resume: 2e6 left, data from 210, done 212; restart: 5e6 again, done 215. */
    orb_window wins[] = {W(0, 0, 100, 113), W(0, 0, 200, 300)};
    world w;
    world_init(&w, wins, 2, 1, &ONE, 1, 10, resume);
    req(&w, 50, 0, 5000000);
    run(&w, 1000);
    T_EQ(w.log.n_seg, 2);
    fl_segment a = w.log.seg[0], b = w.log.seg[1];
    T_EQ(a.end, FL_SEG_CUT);
    T_EQ(a.bytes, 3000000);
    T_NEAR(a.t_end_s, 113, 1e-9);
    T_TRUE(!a.whole);
    T_EQ(a.minutes, 1);
    T_EQ(b.end, FL_SEG_DONE);
    T_NEAR(b.t_grant_s, 200, 1e-9);
    T_NEAR(b.setup_s, 10, 0); /* a new contact: setup again */
    if (resume) {
        T_EQ(b.bytes, 2000000);
        T_EQ(b.left, 2000000);
        T_TRUE(!b.whole);
        T_NEAR(w.log.done_t[0], 212, 1e-9);
    } else {
        T_EQ(b.bytes, 5000000);
        T_TRUE(b.whole); /* the restarted transfer went through in one session */
        T_NEAR(w.log.done_t[0], 215, 1e-9);
    }
    T_EQ(w.log.done_n[0], 1);
    world_free(&w);
}

static void test_setup_too_long(void)
{
    /* The first window has 8 s (< setup 10 s) left when the request comes: skipped. A window with
     * exactly setup_s left is skipped too (no byte could flow). */
    orb_window wins[] = {W(0, 0, 100, 110), W(0, 0, 150, 160), W(0, 0, 200, 300)};
    world w;
    world_init(&w, wins, 3, 1, &ONE, 1, 10, true);
    req(&w, 102, 0, 1000000);
    run(&w, 1000);
    T_EQ(w.log.n_seg, 1);
    T_NEAR(w.log.seg[0].t_grant_s, 200, 1e-9);
    T_NEAR(w.log.done_t[0], 211, 1e-9);
    T_EQ(w.log.starts, 1);
    world_free(&w);
}

static void test_contention(int antennas)
{
    /* Two satellites over one station, windows [100, 200] both; requests at 0 (sat 0 first).
     * 1 antenna: sat 0 served 100..115; sat 1 waits, granted at 115, data 125, done 130.
     * 2 antennas: both done at 115. */
    orb_window wins[] = {W(0, 0, 100, 200), W(1, 0, 100, 200)};
    fl_station_link st = {8, 8, antennas};
    world w;
    world_init(&w, wins, 2, 2, &st, 1, 10, true);
    req(&w, 0, 0, 5000000);
    req(&w, 0, 1, 5000000);
    run(&w, 1000);
    T_EQ(w.log.n_seg, 2);
    T_NEAR(w.log.done_t[0], 115, 1e-9);
    if (antennas == 1) {
        T_NEAR(w.log.seg[1].t_grant_s, 115, 1e-9);
        T_NEAR(w.log.done_t[1], 130, 1e-9);
        T_EQ(w.log.seg[1].antenna, 0);
    } else {
        T_NEAR(w.log.done_t[1], 115, 1e-9);
        T_EQ(w.log.seg[0].antenna + w.log.seg[1].antenna, 1); /* antennas 0 and 1 */
    }
    world_free(&w);
}

static void test_fifo(void)
{
    /* One antenna; sat 0 holds it 100..115 (5e6 B); sat 2 starts waiting at 101, sat 1 at 102:
     * FIFO gives it to sat 2 at 115 (done 130), then sat 1 (granted 130, done 145). */
    orb_window wins[] = {W(0, 0, 100, 400), W(2, 0, 101, 400), W(1, 0, 102, 400)};
    fl_station_link st = {8, 8, 1};
    world w;
    world_init(&w, wins, 3, 3, &st, 1, 10, true);
    req(&w, 0, 1, 5000000);
    req(&w, 0, 0, 5000000);
    req(&w, 0, 2, 5000000);
    run(&w, 1000);
    T_EQ(w.log.n_seg, 3);
    T_NEAR(w.log.done_t[0], 115, 1e-9);
    T_NEAR(w.log.done_t[2], 130, 1e-9);
    T_NEAR(w.log.done_t[1], 145, 1e-9);
    world_free(&w);
}

static void test_continuation_and_cancel(void)
{
    /* Sat 0 receives 5e6 B in [100, 200] (done 115) and at once asks to send 3e6 B back. Sat 1
     * (window [100, 300]) has waited for the single antenna since 100, so FIFO serves it first:
     * granted 115, setup 10, data from 125; cancelled at 130.5 after 5,500,000 bytes. Then sat 0
     * gets the antenna, which served sat 1 last: setup again, data 140.5, done 143.5. */
    orb_window wins[] = {W(0, 0, 100, 200), W(1, 0, 100, 300)};
    world w;
    world_init(&w, wins, 2, 2, &ONE, 1, 10, true);
    w.log.follow_sat = 0;
    w.log.follow_bytes = 3000000;
    req(&w, 0, 0, 5000000);
    req(&w, 0, 1, 9000000);
    cs_err err;
    sim_event_data d = {{1, 0}};
    sim_engine_schedule(w.e, 130.5, EV_CANCEL, SIM_NO_TARGET, d, &err);
    run(&w, 1000);
    T_EQ(w.log.n_seg, 3);
    fl_segment s0 = w.log.seg[0], s1 = w.log.seg[1], s2 = w.log.seg[2];
    T_EQ(s0.sat, 0);
    T_NEAR(s0.t_end_s, 115, 1e-9);
    T_EQ(s1.sat, 1);
    T_EQ(s1.end, FL_SEG_CANCEL);
    T_NEAR(s1.t_grant_s, 115, 1e-9);
    T_NEAR(s1.t_end_s, 130.5, 1e-9);
    T_EQ(s1.bytes, 5500000); /* (130.5 - 125) * 1e6 */
    T_EQ(s1.minutes, 1);
    T_EQ(s2.sat, 0);
    T_EQ(s2.dir, FL_DOWN);
    T_EQ(s2.tag, 7);
    T_NEAR(s2.t_grant_s, 130.5, 1e-9);
    T_NEAR(s2.setup_s, 10, 0);
    T_NEAR(w.log.done_t[0], 143.5, 1e-9);
    T_EQ(w.log.done_n[1], 0);
    T_TRUE(!fl_links_busy(w.l, 1));
    world_free(&w);

    /* Alone, the follow-up continues the contact: no setup, done at 118, no new minute. */
    orb_window one[] = {W(0, 0, 100, 200)};
    world_init(&w, one, 1, 1, &ONE, 1, 10, true);
    w.log.follow_sat = 0;
    w.log.follow_bytes = 3000000;
    req(&w, 0, 0, 5000000);
    run(&w, 1000);
    T_EQ(w.log.n_seg, 2);
    T_NEAR(w.log.seg[1].t_grant_s, 115, 1e-9);
    T_NEAR(w.log.seg[1].setup_s, 0, 0);
    T_NEAR(w.log.seg[1].t_end_s, 118, 1e-9);
    T_EQ(w.log.seg[0].minutes, 1);
    T_EQ(w.log.seg[1].minutes, 0); /* the contact 100..118 started one minute, already billed */
    world_free(&w);

    /* A contact that continues past a minute boundary: 5e6 B (100..115), then 50e6 B from 115
     * without setup (done 165): the contact 100..165 started 2 minutes, 1 billed per session. */
    world_init(&w, one, 1, 1, &ONE, 1, 10, true);
    w.log.follow_sat = 0;
    w.log.follow_bytes = 50000000;
    req(&w, 0, 0, 5000000);
    run(&w, 1000);
    T_EQ(w.log.n_seg, 2);
    T_NEAR(w.log.seg[1].t_end_s, 165, 1e-9);
    T_EQ(w.log.seg[0].minutes, 1);
    T_EQ(w.log.seg[1].minutes, 1);
    world_free(&w);
}

/* Contact minutes with and without setup on one antenna. Sat 0's contact [100, 200]: 5e6 bytes,
 * then a follow-up of 3e6 continuing the same contact; sat 1's contact [1000, 1100] on the same
 * antenna much later: 2e6 bytes. Each contact starts 1 minute, so 2 minutes in all, whatever the
 * setup: the second contact is a new one (its start is its own grant, not sat 0's). */
static void test_minutes_per_contact(double setup)
{
    orb_window wins[] = {W(0, 0, 100, 200), W(1, 0, 1000, 1100)};
    world w;
    world_init(&w, wins, 2, 2, &ONE, 1, setup, true);
    w.log.follow_sat = 0;
    w.log.follow_bytes = 3000000;
    req(&w, 0, 0, 5000000);
    req(&w, 0, 1, 2000000);
    run(&w, 5000);
    T_EQ(w.log.n_seg, 3);
    uint64_t minutes = 0;
    for (size_t i = 0; i < w.log.n_seg; i++)
        minutes += w.log.seg[i].minutes;
    T_EQ(minutes, 2);
    const fl_segment *a = &w.log.seg[0], *b = &w.log.seg[1], *c = &w.log.seg[2];
    T_EQ(a->sat, 0);
    T_EQ(a->minutes, 1);
    T_NEAR(a->t_end_s, 105 + setup, 1e-9);
    T_EQ(b->sat, 0); /* the follow-up continues the contact: no setup, nothing more to bill */
    T_NEAR(b->setup_s, 0, 0);
    T_EQ(b->minutes, 0);
    T_NEAR(b->t_end_s, 108 + setup, 1e-9);
    T_EQ(c->sat, 1); /* a new contact on the same antenna */
    T_NEAR(c->setup_s, setup, 0);
    T_NEAR(c->t_grant_s, 1000, 1e-9);
    T_EQ(c->minutes, 1);
    world_free(&w);
}

/* Antenna choice at a station with 2 antennas (setup 10 s, 1e6 B/s). An antenna keeps tracking
 * the contact it served last; a new contact takes an antenna tracking nothing open, so that the
 * tracked satellite can still continue its contact. Sat 0 ([100, 500]) receives 5e6 B on
 * antenna 0 (grant 100, done 115). Sat 1 ([100, 500]) asks for 2e6 B at 120: it takes the idle
 * antenna 1 (data 130, done 132), not antenna 0. Sat 0 comes back at 150 with 3e6 B and continues
 * its contact on antenna 0: no setup, done 153, and no new minute (the contact 100..153 started
 * one, billed with its first session). Taking the first free antenna instead, sat 1 would have
 * broken sat 0's contact and sat 0 would have paid a new setup (done 163) and a third minute.
 * The minutes are the same with setup 0: the policy, not the setup time, decides. */
static void test_antenna_idle_first(double setup)
{
    orb_window wins[] = {W(0, 0, 100, 500), W(1, 0, 100, 500)};
    fl_station_link st = {8, 8, 2};
    world w;
    world_init(&w, wins, 2, 2, &st, 1, setup, true);
    req(&w, 0, 0, 5000000);
    req(&w, 120, 1, 2000000);
    req(&w, 150, 0, 3000000);
    run(&w, 1000);
    T_EQ(w.log.n_seg, 3);
    const fl_segment *a = &w.log.seg[0], *b = &w.log.seg[1], *c = &w.log.seg[2];
    T_EQ(a->sat, 0);
    T_EQ(a->antenna, 0);
    T_EQ(a->minutes, 1);
    T_EQ(b->sat, 1);
    T_EQ(b->antenna, 1); /* the idle antenna, not the one still pointed at sat 0 */
    T_NEAR(b->setup_s, setup, 0);
    T_NEAR(b->t_end_s, 122 + setup, 1e-9);
    T_EQ(b->minutes, 1);
    T_EQ(c->sat, 0);
    T_EQ(c->antenna, 0);
    T_NEAR(c->setup_s, 0, 0); /* sat 0's contact continues */
    T_NEAR(c->t_grant_s, 150, 1e-9);
    T_NEAR(c->t_end_s, 153, 1e-9);
    T_EQ(c->minutes, 0);
    T_EQ(a->minutes + b->minutes + c->minutes, 2);
    world_free(&w);
}

/* When every free antenna still tracks an open contact, the new contact takes the one whose
 * window closes first (lowest index on equal ends); an antenna whose contact's window has closed
 * tracks nothing. 2 antennas, setup 10 s.
 * (a) Sat 0 ([100, 500]) on antenna 0 and sat 1 ([100, 300]) on antenna 1, both 100..115. Sat 2
 *     asks at 120: both antennas track open contacts; sat 1's closes first, so sat 2 takes
 *     antenna 1 (done 132). Sat 0 at 155 continues on antenna 0 (no setup, done 156).
 * (b) The same with sat 1's window [100, 130]: at 140 antenna 1 tracks a closed window, so sat 2
 *     takes it (done 152) even though antenna 0 comes first; sat 0 again continues on antenna 0. */
static void test_antenna_closes_first(double sat1_end)
{
    orb_window wins[] = {W(0, 0, 100, 500), W(1, 0, 100, sat1_end), W(2, 0, 100, 500)};
    fl_station_link st = {8, 8, 2};
    world w;
    world_init(&w, wins, 3, 3, &st, 1, 10, true);
    double t2 = sat1_end > 140 ? 120 : 140;
    req(&w, 0, 0, 5000000);
    req(&w, 0, 1, 5000000);
    req(&w, t2, 2, 2000000);
    req(&w, 155, 0, 1000000);
    run(&w, 1000);
    T_EQ(w.log.n_seg, 4);
    const fl_segment *s = w.log.seg;
    T_EQ(s[0].sat, 0);
    T_EQ(s[0].antenna, 0);
    T_EQ(s[1].sat, 1);
    T_EQ(s[1].antenna, 1);
    T_EQ(s[2].sat, 2);
    T_EQ(s[2].antenna, 1);
    T_NEAR(s[2].setup_s, 10, 0);
    T_NEAR(s[2].t_end_s, t2 + 12, 1e-9);
    T_EQ(s[3].sat, 0);
    T_EQ(s[3].antenna, 0);
    T_NEAR(s[3].setup_s, 0, 0);
    T_NEAR(s[3].t_end_s, 156, 1e-9);
    T_EQ(s[3].minutes, 0); /* the contact 100..156 started one minute, billed at 115 */
    world_free(&w);
}

static void test_two_stations(void)
{
    /* Station 0 (1 antenna) serves sat 1 from 99 (data 109, done 114). Sat 0 sees station 0 from
     * 100 (antenna busy: it queues) and station 1 (uplink 16 Mbit/s = 2e6 B/s) from 105, where
     * it is served at once: data 115, 5e6 B in 2.5 s, done 117.5. */
    orb_window wins[] = {W(1, 0, 99, 300), W(0, 0, 100, 300), W(0, 1, 105, 300)};
    fl_station_link st[2] = {{8, 8, 1}, {16, 8, 1}};
    world w;
    world_init(&w, wins, 3, 2, st, 2, 10, true);
    req(&w, 0, 1, 5000000);
    req(&w, 0, 0, 5000000);
    run(&w, 1000);
    T_EQ(w.log.n_seg, 2);
    T_NEAR(w.log.done_t[1], 114, 1e-9);
    T_EQ(w.log.seg[1].sat, 0);
    T_EQ(w.log.seg[1].station, 1);
    T_NEAR(w.log.done_t[0], 117.5, 1e-9);
    world_free(&w);
}

static void test_finish_and_minutes(void)
{
    /* A transfer in progress at the end of the run is abandoned with the bytes moved so far. */
    orb_window wins[] = {W(0, 0, 0, 1000)};
    world w;
    world_init(&w, wins, 1, 1, &ONE, 1, 0, true);
    req(&w, 0, 0, 500000000); /* 500 s */
    run(&w, 130.25);
    cs_err err;
    T_EQ(fl_links_finish(w.l, &err), 0);
    T_EQ(w.log.n_seg, 1);
    T_EQ(w.log.seg[0].end, FL_SEG_CANCEL);
    T_EQ(w.log.seg[0].bytes, 130250000);
    T_EQ(w.log.seg[0].minutes, 3); /* 130.25 s: minutes 1, 2 and 3 started */
    world_free(&w);

    T_EQ(fl_minutes_started(0), 0);
    T_EQ(fl_minutes_started(-1), 0);
    T_EQ(fl_minutes_started(0.001), 1);
    T_EQ(fl_minutes_started(60), 1);
    T_EQ(fl_minutes_started(60.5), 2);
    T_EQ(fl_minutes_started(120), 2);
    T_EQ(fl_minutes_started(3600), 60);
}

int main(void)
{
    test_single();
    test_resume(true);
    test_resume(false);
    test_setup_too_long();
    test_contention(1);
    test_contention(2);
    test_fifo();
    test_continuation_and_cancel();
    test_two_stations();
    test_finish_and_minutes();
    test_minutes_per_contact(0);
    test_minutes_per_contact(10);
    test_antenna_idle_first(10);
    test_antenna_idle_first(0);
    test_antenna_closes_first(300);
    test_antenna_closes_first(130);
    return t_done();
}
