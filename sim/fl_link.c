/* fl_link.c - transfers over contact windows: antennas, FIFO queues, setup time, resume
 * (see fl_link.h and docs/simulation.md).
 *
 * State: the windows of the client satellites (a filtered copy of the plan's order), which of
 * them are open, one FIFO queue of (satellite, window) per station, and per satellite its
 * transfer and its session. Events: a window opens (the next opening is scheduled from it, so the
 * heap holds one pending opening at a time), a window closes, a transfer completes.
 */
#include "fl_link.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { EV_WIN_OPEN = 0, EV_WIN_CLOSE = 1, EV_XFER_DONE = 2 };

typedef struct qentry {
    uint32_t sat;
    size_t win; /* index into the setup's windows */
} qentry;

typedef struct antenna {
    bool busy;
    bool has_last; /* last_sat/last_win: the contact it tracked last */
    uint32_t last_sat;
    size_t last_win;
    double contact_start_s;  /* acquisition of that contact (its first session's grant) */
    uint64_t contact_billed; /* started minutes of that contact billed so far */
} antenna;

typedef struct station_state {
    int free;     /* antennas not serving anyone */
    antenna *ant; /* owned: the station's antennas */
    qentry *q;    /* owned: FIFO, q[0] is the head */
    size_t q_len; /* <= n_sats: a satellite waits at most once per station */
} station_state;

typedef struct sat_state {
    bool active; /* has a transfer */
    fl_dir dir;
    int32_t tag;
    uint64_t total, left;
    bool split; /* an earlier session moved part of this transfer (resume) */
    bool in_session;
    size_t sess_win;
    int sess_ant;      /* antenna index at the station */
    double sess_setup; /* setup paid by this session: setup_s, or 0 when continuing a contact */
    double t_grant, t_data, t_done;
    uint64_t sess_left; /* left when the session started */
} sat_state;

struct fl_links {
    sim_engine *e; /* borrowed */
    fl_link_setup s;
    size_t *wins; /* owned: indices of the windows of sats < n_sats, in plan order */
    size_t n_wins;
    bool *open;        /* owned: per setup window */
    size_t *open_list; /* owned: open windows, in opening order */
    size_t n_open;
    station_state *st; /* owned: n_stations */
    sat_state *sat;    /* owned: n_sats */
    bool finishing;    /* fl_links_finish: no more grants */
};

uint64_t fl_minutes_started(double dt_s)
{
    if (!(dt_s > 0))
        return 0;
    double m = ceil(dt_s / 60.0 - 1e-9);
    return m < 1 ? 1 : (uint64_t)m;
}

static double rate_Bps(const fl_links *l, uint32_t station, fl_dir dir)
{
    const fl_station_link *k = &l->s.stations[station];
    return (dir == FL_UP ? k->uplink_mbps : k->downlink_mbps) * 1e6 / 8.0;
}

static const orb_window *win(const fl_links *l, size_t w)
{
    return &l->s.windows[w];
}

static void queue_remove_at(station_state *k, size_t i)
{
    memmove(&k->q[i], &k->q[i + 1], (k->q_len - i - 1) * sizeof k->q[0]);
    k->q_len--;
}

/* Removes sat from every queue (it got an antenna or gave up). */
static void unqueue_all(fl_links *l, uint32_t sat)
{
    for (uint32_t k = 0; k < l->s.n_stations; k++) {
        station_state *st = &l->st[k];
        for (size_t i = 0; i < st->q_len; i++)
            if (st->q[i].sat == sat) {
                queue_remove_at(st, i);
                break;
            }
    }
}

/* The window of the contact antenna an still tracks, or NULL when it tracks none that could go
 * on: it never served anyone, or that window has closed (or ends now). */
static const orb_window *tracked_open(const fl_links *l, const antenna *an, double now)
{
    if (!an->has_last || !l->open[an->last_win])
        return NULL;
    const orb_window *ow = win(l, an->last_win);
    return ow->t_end_s > now ? ow : NULL;
}

/* The free antenna of station k that serves (sat, w), in this order of preference:
 *   1. the one still pointed at this contact (it served sat last, in window w): the contact
 *      continues (*continues true, no setup);
 *   2. else the lowest-index one tracking no open contact, which acquires a new contact
 *      (*setup_s = the scenario's setup), so that no other satellite loses its contact;
 *   3. else the one whose tracked contact's window closes first (the lowest index on equal
 *      ends): the contact with the least time left to continue in.
 * The grant decides whether a contact continues, not the setup time: with setup 0 a new contact
 * still starts its own billing. docs/simulation.md, "Which antenna". */
static int pick_antenna(const fl_links *l, uint32_t k, uint32_t sat, size_t w, double *setup_s,
                        bool *continues)
{
    const station_state *st = &l->st[k];
    double now = sim_engine_now(l->e);
    int idle = -1, soonest = -1;
    double soonest_end_s = 0;
    for (int a = 0; a < l->s.stations[k].antennas; a++) {
        const antenna *an = &st->ant[a];
        if (an->busy)
            continue;
        if (an->has_last && an->last_sat == sat && an->last_win == w) {
            *setup_s = 0;
            *continues = true;
            return a;
        }
        const orb_window *tw = tracked_open(l, an, now);
        if (!tw) {
            if (idle < 0)
                idle = a;
        } else if (soonest < 0 || tw->t_end_s < soonest_end_s) {
            soonest = a;
            soonest_end_s = tw->t_end_s;
        }
    }
    CS_ASSERT(idle >= 0 || soonest >= 0);
    *setup_s = l->s.setup_s;
    *continues = false;
    return idle >= 0 ? idle : soonest;
}

/* sat's session (which it holds) as a segment at time now, moved bytes moved, ending as how. */
static fl_segment session_segment(const fl_links *l, uint32_t sat, double now, uint64_t moved,
                                  fl_seg_end how)
{
    const sat_state *s = &l->sat[sat];
    return (fl_segment){.sat = sat,
                        .station = win(l, s->sess_win)->station,
                        .antenna = s->sess_ant,
                        .window = s->sess_win,
                        .setup_s = s->sess_setup,
                        .dir = s->dir,
                        .tag = s->tag,
                        .t_grant_s = s->t_grant,
                        .t_data_s = s->t_data,
                        .t_end_s = now,
                        .bytes = moved,
                        .left = s->left,
                        .total = s->total,
                        .end = how};
}

static int start_session(fl_links *l, uint32_t sat, size_t w, int ant, double setup_s,
                         bool continues, cs_err *err)
{
    sat_state *s = &l->sat[sat];
    const orb_window *ow = win(l, w);
    double now = sim_engine_now(l->e);
    station_state *k = &l->st[ow->station];
    CS_ASSERT(k->free > 0 && !k->ant[ant].busy && s->active && !s->in_session);
    unqueue_all(l, sat);
    k->free--;
    antenna *an = &k->ant[ant];
    if (!continues) { /* a new contact: its minutes count from this grant */
        an->contact_start_s = now;
        an->contact_billed = 0;
    }
    an->busy = true;
    an->has_last = true;
    an->last_sat = sat;
    an->last_win = w;
    s->in_session = true;
    s->sess_win = w;
    s->sess_ant = ant;
    s->sess_setup = setup_s;
    s->t_grant = now;
    s->t_data = now + setup_s;
    s->sess_left = s->left;
    s->t_done = s->t_data + (double)s->left / rate_Bps(l, ow->station, s->dir);
    if (s->t_done <= ow->t_end_s) {
        sim_event_data d = {{0}};
        int rc = sim_engine_schedule(l->e, s->t_done, l->s.type_base + EV_XFER_DONE,
                                     l->s.target_base + sat, d, err);
        if (rc)
            return rc;
    }
    if (l->s.hooks.on_start) {
        fl_segment seg = session_segment(l, sat, 0, 0, FL_SEG_DONE);
        return l->s.hooks.on_start(l->s.hooks.user, &seg, err);
    }
    return 0;
}

/* Hands free antennas of station k to the head of its queue. */
static int try_grant(fl_links *l, uint32_t k, cs_err *err)
{
    station_state *st = &l->st[k];
    double now = sim_engine_now(l->e);
    while (!l->finishing && st->free > 0 && st->q_len > 0) {
        qentry q = st->q[0];
        queue_remove_at(st, 0);
        CS_ASSERT(l->open[q.win] && l->sat[q.sat].active && !l->sat[q.sat].in_session);
        double setup_s;
        bool continues;
        int ant = pick_antenna(l, k, q.sat, q.win, &setup_s, &continues);
        if (!(win(l, q.win)->t_end_s - now > setup_s))
            continue; /* too little of this contact left: no bytes could flow */
        int rc = start_session(l, q.sat, q.win, ant, setup_s, continues, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Joins the queues of every open window of sat with more than setup_s left, then lets those
 * stations grant. */
static int seek(fl_links *l, uint32_t sat, cs_err *err)
{
    double now = sim_engine_now(l->e);
    uint32_t touched[64];
    size_t n_touched = 0;
    bool overflow = false;
    for (size_t i = 0; i < l->n_open; i++) {
        size_t w = l->open_list[i];
        const orb_window *ow = win(l, w);
        if (ow->sat != sat || !(ow->t_end_s > now))
            continue;
        station_state *st = &l->st[ow->station];
        CS_ASSERT(st->q_len < l->s.n_sats);
        st->q[st->q_len++] = (qentry){sat, w};
        if (n_touched < sizeof touched / sizeof touched[0])
            touched[n_touched++] = ow->station;
        else
            overflow = true;
    }
    if (overflow) {
        for (uint32_t k = 0; k < l->s.n_stations && !l->sat[sat].in_session; k++) {
            int rc = try_grant(l, k, err);
            if (rc)
                return rc;
        }
        return 0;
    }
    for (size_t i = 0; i < n_touched && !l->sat[sat].in_session; i++) {
        int rc = try_grant(l, touched[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Bytes of sat's session delivered by now: whole bytes only, never more than were left. */
static uint64_t bytes_moved(const fl_links *l, const sat_state *s, double now)
{
    double dt = now - s->t_data;
    double b = dt > 0 ? floor(dt * rate_Bps(l, win(l, s->sess_win)->station, s->dir)) : 0;
    return b >= (double)s->left ? s->left : (uint64_t)b;
}

/* Ends sat's session at the current time. */
static int end_session(fl_links *l, uint32_t sat, fl_seg_end how, cs_err *err)
{
    sat_state *s = &l->sat[sat];
    CS_ASSERT(s->in_session);
    double now = sim_engine_now(l->e);
    const orb_window *ow = win(l, s->sess_win);
    uint32_t k = ow->station;
    uint64_t moved;
    if (how != FL_SEG_CANCEL && s->t_done <= now) {
        how = FL_SEG_DONE;
        moved = s->left;
    } else {
        moved = bytes_moved(l, s, now);
        if (moved == s->left && how == FL_SEG_CUT)
            how = FL_SEG_DONE; /* rounding: the last byte made it */
    }
    fl_segment seg = session_segment(l, sat, now, moved, how);
    seg.whole = how == FL_SEG_DONE && !s->split && moved == s->total;
    /* Started minutes of the contact so far, less those billed to its earlier sessions. */
    antenna *an = &l->st[k].ant[s->sess_ant];
    uint64_t started = fl_minutes_started(now - an->contact_start_s);
    CS_ASSERT(started >= an->contact_billed);
    seg.minutes = started - an->contact_billed;
    an->contact_billed = started;
    /* The pending completion event (if any) is void now. */
    sim_engine_cancel(l->e, l->s.target_base + sat);
    s->in_session = false;
    l->st[k].free++;
    l->st[k].ant[s->sess_ant].busy = false;
    bool done = false;
    if (how == FL_SEG_DONE) {
        s->active = false;
        s->left = 0;
        done = true;
    } else if (how == FL_SEG_CANCEL) {
        s->active = false;
    } else if (l->s.resume) {
        s->left -= moved;
        s->split = s->split || moved > 0;
    } else {
        s->left = s->total; /* restart at the next contact: the bytes moved are lost */
        s->split = false;
    }
    int rc = 0;
    if (l->s.hooks.on_segment)
        rc = l->s.hooks.on_segment(l->s.hooks.user, &seg, err);
    if (!rc && done && l->s.hooks.on_done)
        rc = l->s.hooks.on_done(l->s.hooks.user, sat, seg.dir, seg.tag, now, err);
    if (!rc && how == FL_SEG_CUT && s->active && !s->in_session)
        rc = seek(l, sat, err); /* another station may be in view */
    if (!rc)
        rc = try_grant(l, k, err);
    return rc;
}

static int on_win_open(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    fl_links *l = user;
    size_t i = (size_t)ev->u.u64[0];
    size_t w = l->wins[i];
    const orb_window *ow = win(l, w);
    l->open[w] = true;
    l->open_list[l->n_open++] = w;
    sim_event_data d = {{0}};
    d.u64[0] = i;
    int rc =
        sim_engine_schedule(e, ow->t_end_s, l->s.type_base + EV_WIN_CLOSE, SIM_NO_TARGET, d, err);
    if (rc)
        return rc;
    if (i + 1 < l->n_wins) {
        d.u64[0] = i + 1;
        rc = sim_engine_schedule(e, win(l, l->wins[i + 1])->t_start_s, l->s.type_base + EV_WIN_OPEN,
                                 SIM_NO_TARGET, d, err);
        if (rc)
            return rc;
    }
    sat_state *s = &l->sat[ow->sat];
    if (s->active && !s->in_session && ow->t_end_s > sim_engine_now(e)) {
        station_state *st = &l->st[ow->station];
        CS_ASSERT(st->q_len < l->s.n_sats);
        st->q[st->q_len++] = (qentry){ow->sat, w};
        return try_grant(l, ow->station, err);
    }
    return 0;
}

static int on_win_close(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    (void)e;
    fl_links *l = user;
    size_t w = l->wins[(size_t)ev->u.u64[0]];
    const orb_window *ow = win(l, w);
    l->open[w] = false;
    for (size_t i = 0; i < l->n_open; i++)
        if (l->open_list[i] == w) {
            memmove(&l->open_list[i], &l->open_list[i + 1],
                    (l->n_open - i - 1) * sizeof l->open_list[0]);
            l->n_open--;
            break;
        }
    station_state *st = &l->st[ow->station];
    for (size_t i = 0; i < st->q_len; i++)
        if (st->q[i].win == w) {
            queue_remove_at(st, i);
            break;
        }
    sat_state *s = &l->sat[ow->sat];
    if (s->in_session && s->sess_win == w)
        return end_session(l, ow->sat, FL_SEG_CUT, err);
    return 0;
}

static int on_xfer_done(void *user, sim_engine *e, const sim_event *ev, cs_err *err)
{
    (void)e;
    fl_links *l = user;
    uint32_t sat = ev->target - l->s.target_base;
    CS_ASSERT(sat < l->s.n_sats && l->sat[sat].in_session);
    return end_session(l, sat, FL_SEG_DONE, err);
}

fl_links *fl_links_create(sim_engine *e, const fl_link_setup *s, cs_err *err)
{
    CS_ASSERT(s->setup_s >= 0 && s->n_sats > 0 && s->n_stations > 0);
    fl_links *l = calloc(1, sizeof *l);
    if (!l)
        goto oom;
    l->e = e;
    l->s = *s;
    size_t nw = s->n_windows ? s->n_windows : 1;
    l->wins = malloc(nw * sizeof *l->wins);
    l->open = calloc(nw, sizeof *l->open);
    l->open_list = malloc(nw * sizeof *l->open_list);
    l->st = calloc(s->n_stations, sizeof *l->st);
    l->sat = calloc(s->n_sats, sizeof *l->sat);
    if (!l->wins || !l->open || !l->open_list || !l->st || !l->sat)
        goto oom;
    for (uint32_t k = 0; k < s->n_stations; k++) {
        CS_ASSERT(s->stations[k].antennas >= 1);
        CS_ASSERT(s->stations[k].uplink_mbps > 0 && s->stations[k].downlink_mbps > 0);
        l->st[k].free = s->stations[k].antennas;
        l->st[k].q = malloc(s->n_sats * sizeof *l->st[k].q);
        l->st[k].ant = calloc((size_t)s->stations[k].antennas, sizeof *l->st[k].ant);
        if (!l->st[k].q || !l->st[k].ant)
            goto oom;
    }
    for (size_t i = 0; i < s->n_windows; i++) {
        const orb_window *ow = &s->windows[i];
        CS_ASSERT(i == 0 || ow->t_start_s >= s->windows[i - 1].t_start_s);
        CS_ASSERT(ow->station < s->n_stations);
        if (ow->sat < s->n_sats)
            l->wins[l->n_wins++] = i;
    }
    sim_engine_on(e, s->type_base + EV_WIN_OPEN, on_win_open, l);
    sim_engine_on(e, s->type_base + EV_WIN_CLOSE, on_win_close, l);
    sim_engine_on(e, s->type_base + EV_XFER_DONE, on_xfer_done, l);
    return l;
oom:
    fl_links_destroy(l);
    cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (links)");
    return NULL;
}

void fl_links_destroy(fl_links *l)
{
    if (!l)
        return;
    if (l->st)
        for (uint32_t k = 0; k < l->s.n_stations; k++) {
            free(l->st[k].q);
            free(l->st[k].ant);
        }
    free(l->st);
    free(l->sat);
    free(l->wins);
    free(l->open);
    free(l->open_list);
    free(l);
}

int fl_links_start(fl_links *l, cs_err *err)
{
    if (l->n_wins == 0)
        return 0;
    double t = win(l, l->wins[0])->t_start_s;
    double now = sim_engine_now(l->e);
    sim_event_data d = {{0}};
    return sim_engine_schedule(l->e, t > now ? t : now, l->s.type_base + EV_WIN_OPEN, SIM_NO_TARGET,
                               d, err);
}

int fl_links_request(fl_links *l, uint32_t sat, fl_dir dir, uint64_t bytes, int32_t tag,
                     cs_err *err)
{
    CS_ASSERT(sat < l->s.n_sats && bytes > 0);
    sat_state *s = &l->sat[sat];
    CS_ASSERT(!s->active);
    *s = (sat_state){.active = true, .dir = dir, .tag = tag, .total = bytes, .left = bytes};
    return seek(l, sat, err);
}

int fl_links_cancel(fl_links *l, uint32_t sat, cs_err *err)
{
    CS_ASSERT(sat < l->s.n_sats);
    sat_state *s = &l->sat[sat];
    if (!s->active)
        return 0;
    if (s->in_session)
        return end_session(l, sat, FL_SEG_CANCEL, err);
    unqueue_all(l, sat);
    s->active = false;
    return 0;
}

int fl_links_finish(fl_links *l, cs_err *err)
{
    l->finishing = true;
    for (uint32_t i = 0; i < l->s.n_sats; i++) {
        int rc = fl_links_cancel(l, i, err);
        if (rc)
            return rc;
    }
    return 0;
}

bool fl_links_busy(const fl_links *l, uint32_t sat)
{
    CS_ASSERT(sat < l->s.n_sats);
    return l->sat[sat].active;
}

void fl_links_transfer(const fl_links *l, uint32_t sat, fl_dir *dir, int32_t *tag)
{
    CS_ASSERT(sat < l->s.n_sats);
    *dir = l->sat[sat].dir;
    *tag = l->sat[sat].active ? l->sat[sat].tag : -1;
}

bool fl_links_in_session(const fl_links *l, uint32_t sat)
{
    CS_ASSERT(sat < l->s.n_sats);
    return l->sat[sat].in_session;
}

uint64_t fl_links_left(const fl_links *l, uint32_t sat)
{
    CS_ASSERT(sat < l->s.n_sats);
    const sat_state *s = &l->sat[sat];
    if (!s->active)
        return 0;
    return s->in_session ? s->left - bytes_moved(l, s, sim_engine_now(l->e)) : s->left;
}

size_t fl_links_sessions(const fl_links *l, fl_segment *out, size_t cap)
{
    double now = sim_engine_now(l->e);
    size_t n = 0;
    for (uint32_t i = 0; i < l->s.n_sats; i++) {
        const sat_state *s = &l->sat[i];
        if (!s->in_session)
            continue;
        if (n < cap) {
            out[n] = session_segment(l, i, now, bytes_moved(l, s, now), FL_SEG_CUT);
        }
        n++;
    }
    return n;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

void fl_links_save(const fl_links *l, cs_buf *b)
{
    cs_ser_tag(b, "LINK");
    cs_ser_u32(b, l->s.n_sats);
    cs_ser_u32(b, l->s.n_stations);
    cs_ser_u64(b, (uint64_t)l->n_wins);
    cs_ser_bool(b, l->finishing);
    cs_ser_u64(b, (uint64_t)l->n_open);
    for (size_t i = 0; i < l->n_open; i++)
        cs_ser_u64(b, (uint64_t)l->open_list[i]); /* open[] follows from the list */
    for (uint32_t k = 0; k < l->s.n_stations; k++) {
        const station_state *st = &l->st[k];
        cs_ser_u32(b, (uint32_t)st->free);
        for (int a = 0; a < l->s.stations[k].antennas; a++) {
            const antenna *an = &st->ant[a];
            cs_ser_bool(b, an->busy);
            cs_ser_bool(b, an->has_last);
            cs_ser_u32(b, an->last_sat);
            cs_ser_u64(b, (uint64_t)an->last_win);
            cs_ser_f64(b, an->contact_start_s);
            cs_ser_u64(b, an->contact_billed);
        }
        cs_ser_u64(b, (uint64_t)st->q_len);
        for (size_t i = 0; i < st->q_len; i++) {
            cs_ser_u32(b, st->q[i].sat);
            cs_ser_u64(b, (uint64_t)st->q[i].win);
        }
    }
    for (uint32_t i = 0; i < l->s.n_sats; i++) {
        const sat_state *s = &l->sat[i];
        cs_ser_bool(b, s->active);
        cs_ser_u32(b, (uint32_t)s->dir);
        cs_ser_u32(b, (uint32_t)s->tag);
        cs_ser_u64(b, s->total);
        cs_ser_u64(b, s->left);
        cs_ser_bool(b, s->split);
        cs_ser_bool(b, s->in_session);
        cs_ser_u64(b, (uint64_t)s->sess_win);
        cs_ser_u32(b, (uint32_t)s->sess_ant);
        cs_ser_f64(b, s->sess_setup);
        cs_ser_f64(b, s->t_grant);
        cs_ser_f64(b, s->t_data);
        cs_ser_f64(b, s->t_done);
        cs_ser_u64(b, s->sess_left);
    }
}

int fl_links_load(fl_links *l, cs_rd *r, cs_err *err)
{
    (void)err;
    cs_rd_tag(r, "LINK");
    uint32_t n_sats = cs_rd_u32(r), n_st = cs_rd_u32(r);
    uint64_t n_wins = cs_rd_u64(r);
    if (!r->failed && (n_sats != l->s.n_sats || n_st != l->s.n_stations || n_wins != l->n_wins))
        cs_rd_fail(r, "links of another constellation or contact plan");
    l->finishing = cs_rd_bool(r);
    size_t nw = l->s.n_windows;
    memset(l->open, 0, (nw ? nw : 1) * sizeof *l->open);
    l->n_open = (size_t)cs_rd_count(r, nw, "more open windows than the plan has");
    for (size_t i = 0; i < l->n_open && !r->failed; i++) {
        size_t w = (size_t)cs_rd_u64(r);
        if (w >= nw || l->open[w] || l->s.windows[w].sat >= l->s.n_sats)
            cs_rd_fail(r, "an open window outside the plan");
        else
            l->open[w] = true, l->open_list[i] = w;
    }
    for (uint32_t k = 0; k < l->s.n_stations && !r->failed; k++) {
        station_state *st = &l->st[k];
        int n_ant = l->s.stations[k].antennas;
        st->free = (int)cs_rd_u32(r);
        int busy = 0;
        for (int a = 0; a < n_ant; a++) {
            antenna *an = &st->ant[a];
            an->busy = cs_rd_bool(r);
            an->has_last = cs_rd_bool(r);
            an->last_sat = cs_rd_u32(r);
            an->last_win = (size_t)cs_rd_u64(r);
            an->contact_start_s = cs_rd_f64(r);
            an->contact_billed = cs_rd_u64(r);
            busy += an->busy;
            if (an->has_last && (an->last_sat >= n_sats || an->last_win >= nw))
                cs_rd_fail(r, "an antenna tracking a contact outside the plan");
        }
        if (st->free < 0 || st->free + busy != n_ant)
            cs_rd_fail(r, "a station whose free antennas do not add up");
        st->q_len = (size_t)cs_rd_count(r, l->s.n_sats, "a station queue longer than the fleet");
        for (size_t i = 0; i < st->q_len && !r->failed; i++) {
            st->q[i].sat = cs_rd_u32(r);
            st->q[i].win = (size_t)cs_rd_u64(r);
            if (st->q[i].sat >= n_sats || st->q[i].win >= nw || !l->open[st->q[i].win] ||
                l->s.windows[st->q[i].win].station != k ||
                l->s.windows[st->q[i].win].sat != st->q[i].sat)
                cs_rd_fail(r, "a queued request outside the open windows");
        }
    }
    for (uint32_t i = 0; i < l->s.n_sats && !r->failed; i++) {
        sat_state *s = &l->sat[i];
        s->active = cs_rd_bool(r);
        uint32_t dir = cs_rd_u32(r);
        s->dir = dir == FL_DOWN ? FL_DOWN : FL_UP;
        s->tag = (int32_t)cs_rd_u32(r);
        s->total = cs_rd_u64(r);
        s->left = cs_rd_u64(r);
        s->split = cs_rd_bool(r);
        s->in_session = cs_rd_bool(r);
        s->sess_win = (size_t)cs_rd_u64(r);
        s->sess_ant = (int)cs_rd_u32(r);
        s->sess_setup = cs_rd_f64(r);
        s->t_grant = cs_rd_f64(r);
        s->t_data = cs_rd_f64(r);
        s->t_done = cs_rd_f64(r);
        s->sess_left = cs_rd_u64(r);
        if (dir > 1 || s->left > s->total ||
            (s->in_session &&
             (s->sess_win >= nw || s->sess_ant < 0 ||
              s->sess_ant >= l->s.stations[l->s.windows[s->sess_win].station].antennas)))
            cs_rd_fail(r, "a transfer outside the plan");
        else if (s->in_session &&
                 (!s->active || !l->open[s->sess_win] || l->s.windows[s->sess_win].sat != i))
            cs_rd_fail(r, "a session on a window that is not this satellite's open one");
    }
    /* Sessions hold busy antennas, one each. */
    for (uint32_t i = 0; i < l->s.n_sats && !r->failed; i++) {
        const sat_state *s = &l->sat[i];
        if (!s->in_session)
            continue;
        const antenna *an = &l->st[l->s.windows[s->sess_win].station].ant[s->sess_ant];
        if (!an->busy || an->last_sat != i || an->last_win != s->sess_win)
            cs_rd_fail(r, "a session without its antenna");
    }
    /* The queued events of the links: window openings and closings of the plan (one opening
     * pending at a time), completions of sessions in progress. */
    size_t n_ev;
    const sim_event *ev = sim_engine_queued(l->e, &n_ev);
    int opens = 0;
    for (size_t i = 0; i < n_ev && !r->failed; i++) {
        if (ev[i].type < l->s.type_base || ev[i].type >= l->s.type_base + FL_LINK_EVENT_TYPES ||
            sim_engine_is_stale(l->e, &ev[i]))
            continue;
        uint32_t t = ev[i].type - l->s.type_base;
        uint64_t idx = ev[i].u.u64[0];
        if (t == EV_WIN_OPEN) {
            if (idx >= l->n_wins || ++opens > 1 || l->open[l->wins[idx]])
                cs_rd_fail(r, "a window opening outside the plan");
        } else if (t == EV_WIN_CLOSE) {
            if (idx >= l->n_wins || !l->open[l->wins[idx]])
                cs_rd_fail(r, "a window closing that is not open");
        } else {
            uint32_t sat = ev[i].target - l->s.target_base;
            if (ev[i].target < l->s.target_base || sat >= n_sats || !l->sat[sat].in_session)
                cs_rd_fail(r, "a transfer completing without a session");
        }
    }
    return r->failed ? CS_EINVAL : 0;
}
