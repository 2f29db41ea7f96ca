/* sim_engine.c - array binary heap of by-value events and the dispatch loop (see sim_engine.h). */
#include "sim_engine.h"

#include "cs_ser.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sim_engine {
    sim_event *heap; /* owned: heap[0 .. n) ordered by (t_s, seq) */
    size_t n, cap;
    sim_handler_fn *handlers; /* owned: n_types */
    void **users;             /* owned array of borrowed pointers: n_types */
    uint32_t n_types;
    uint32_t *gens; /* owned: n_targets */
    uint32_t n_targets;
    uint64_t next_seq;
    double now_s;
    bool stop;
    bool interrupted;                       /* the last run stopped because *interrupt was set */
    const volatile sig_atomic_t *interrupt; /* borrowed, may be NULL: polled after every event */
    sim_engine_stats stats;
};

static bool before(const sim_event *a, const sim_event *b)
{
    if (a->t_s != b->t_s)
        return a->t_s < b->t_s;
    return a->seq < b->seq;
}

sim_engine *sim_engine_create(uint32_t n_types, uint32_t n_targets, size_t capacity, cs_err *err)
{
    sim_engine *e = calloc(1, sizeof *e);
    if (!e) {
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (event engine)");
        return NULL;
    }
    if (capacity < 16)
        capacity = 16;
    size_t bytes;
    if (cs_size_mul(capacity, sizeof(sim_event), &bytes) != 0)
        goto oom;
    e->heap = malloc(bytes);
    e->cap = capacity;
    e->handlers = calloc(n_types ? n_types : 1, sizeof *e->handlers);
    e->users = calloc(n_types ? n_types : 1, sizeof *e->users);
    e->gens = calloc(n_targets ? n_targets : 1, sizeof *e->gens);
    if (!e->heap || !e->handlers || !e->users || !e->gens)
        goto oom;
    e->n_types = n_types;
    e->n_targets = n_targets;
    return e;
oom:
    sim_engine_destroy(e);
    cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (event engine, %zu events)", capacity);
    return NULL;
}

void sim_engine_destroy(sim_engine *e)
{
    if (!e)
        return;
    free(e->heap);
    free(e->handlers);
    free(e->users);
    free(e->gens);
    free(e);
}

void sim_engine_on(sim_engine *e, uint32_t type, sim_handler_fn fn, void *user)
{
    CS_ASSERT(type < e->n_types);
    e->handlers[type] = fn;
    e->users[type] = user;
}

uint32_t sim_engine_gen(const sim_engine *e, uint32_t target)
{
    CS_ASSERT(target < e->n_targets);
    return e->gens[target];
}

void sim_engine_cancel(sim_engine *e, uint32_t target)
{
    CS_ASSERT(target < e->n_targets);
    e->gens[target]++;
}

int sim_engine_schedule(sim_engine *e, double t_s, uint32_t type, uint32_t target,
                        sim_event_data data, cs_err *err)
{
    CS_ASSERT(isfinite(t_s));
    CS_ASSERT(t_s >= e->now_s);
    CS_ASSERT(type < e->n_types);
    CS_ASSERT(target == SIM_NO_TARGET || target < e->n_targets);
    if (e->n == e->cap) {
        size_t cap2, bytes;
        if (cs_size_mul(e->cap, 2, &cap2) != 0 || cs_size_mul(cap2, sizeof(sim_event), &bytes) != 0)
            return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "event queue too large");
        sim_event *h = realloc(e->heap, bytes);
        if (!h)
            return cs_err_set(err, CS_ENOMEM, NULL, 0, 0,
                              "out of memory (event queue of %zu events)", cap2);
        e->heap = h;
        e->cap = cap2;
    }
    sim_event ev = {.t_s = t_s,
                    .seq = e->next_seq++,
                    .type = type,
                    .target = target,
                    .gen = target == SIM_NO_TARGET ? 0 : e->gens[target],
                    .u = data};
    /* Sift up. */
    size_t i = e->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&ev, &e->heap[parent]))
            break;
        e->heap[i] = e->heap[parent];
        i = parent;
    }
    e->heap[i] = ev;
    e->stats.scheduled++;
    if (e->n > e->stats.max_pending)
        e->stats.max_pending = e->n;
    return 0;
}

/* Removes heap[0]. */
static void heap_pop(sim_engine *e)
{
    CS_ASSERT(e->n > 0);
    sim_event last = e->heap[--e->n];
    size_t n = e->n, i = 0;
    if (n == 0)
        return;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const sim_event *best = &last;
        if (l < n && before(&e->heap[l], best)) {
            m = l;
            best = &e->heap[l];
        }
        if (r < n && before(&e->heap[r], best))
            m = r;
        if (m == i)
            break;
        e->heap[i] = e->heap[m];
        i = m;
    }
    e->heap[i] = last;
}

bool sim_engine_is_stale(const sim_engine *e, const sim_event *ev)
{
    if (ev->target == SIM_NO_TARGET)
        return false;
    CS_ASSERT(ev->target < e->n_targets);
    return ev->gen != e->gens[ev->target];
}

bool sim_engine_pop(sim_engine *e, sim_event *out)
{
    if (e->n == 0)
        return false;
    *out = e->heap[0];
    heap_pop(e);
    CS_ASSERT(out->t_s >= e->now_s); /* time never goes back */
    e->now_s = out->t_s;
    return true;
}

int sim_engine_run(sim_engine *e, double horizon_s, cs_err *err)
{
    e->stop = false;
    e->interrupted = false;
    while (e->n > 0 && !e->stop) {
        if (e->heap[0].t_s > horizon_s)
            break;
        sim_event ev;
        sim_engine_pop(e, &ev);
        if (sim_engine_is_stale(e, &ev)) {
            e->stats.stale++;
            continue;
        }
        sim_handler_fn fn = e->handlers[ev.type];
        CS_ASSERT(fn != NULL);
        e->stats.dispatched++;
        int rc = fn(e->users[ev.type], e, &ev, err);
        if (rc != 0)
            return rc;
        if (e->interrupt && *e->interrupt) {
            e->stop = e->interrupted = true;
            break;
        }
    }
    if (!e->stop && isfinite(horizon_s) && horizon_s > e->now_s)
        e->now_s = horizon_s;
    return 0;
}

bool sim_engine_stopped(const sim_engine *e)
{
    return e->stop;
}

void sim_engine_stop(sim_engine *e)
{
    e->stop = true;
}

double sim_engine_now(const sim_engine *e)
{
    return e->now_s;
}

size_t sim_engine_pending(const sim_engine *e)
{
    return e->n;
}

sim_engine_stats sim_engine_get_stats(const sim_engine *e)
{
    return e->stats;
}

void sim_engine_set_interrupt(sim_engine *e, const volatile sig_atomic_t *flag)
{
    e->interrupt = flag;
}

bool sim_engine_interrupted(const sim_engine *e)
{
    return e->interrupted;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

void sim_engine_save(const sim_engine *e, cs_buf *b)
{
    cs_ser_tag(b, "ENGN");
    cs_ser_u32(b, e->n_types);
    cs_ser_u32(b, e->n_targets);
    cs_ser_u64(b, e->next_seq);
    cs_ser_f64(b, e->now_s);
    cs_ser_u64(b, e->stats.scheduled);
    cs_ser_u64(b, e->stats.dispatched);
    cs_ser_u64(b, e->stats.stale);
    cs_ser_u64(b, (uint64_t)e->stats.max_pending);
    for (uint32_t i = 0; i < e->n_targets; i++)
        cs_ser_u32(b, e->gens[i]);
    /* The heap array as it is: popping it again gives the same order. Field by field, so that
     * no padding byte reaches the file. */
    cs_ser_u64(b, (uint64_t)e->n);
    for (size_t i = 0; i < e->n; i++) {
        const sim_event *ev = &e->heap[i];
        cs_ser_f64(b, ev->t_s);
        cs_ser_u64(b, ev->seq);
        cs_ser_u32(b, ev->type);
        cs_ser_u32(b, ev->target);
        cs_ser_u32(b, ev->gen);
        cs_ser_u64(b, ev->u.u64[0]);
        cs_ser_u64(b, ev->u.u64[1]);
    }
}

int sim_engine_load(sim_engine *e, cs_rd *r, cs_err *err)
{
    cs_rd_tag(r, "ENGN");
    uint32_t n_types = cs_rd_u32(r), n_targets = cs_rd_u32(r);
    if (!r->failed && (n_types != e->n_types || n_targets != e->n_targets))
        cs_rd_fail(r, "an event engine of another shape");
    uint64_t next_seq = cs_rd_u64(r);
    double now = cs_rd_f64(r);
    sim_engine_stats st;
    st.scheduled = cs_rd_u64(r);
    st.dispatched = cs_rd_u64(r);
    st.stale = cs_rd_u64(r);
    st.max_pending = (size_t)cs_rd_u64(r);
    if (r->failed)
        return CS_EINVAL;
    for (uint32_t i = 0; i < e->n_targets; i++)
        e->gens[i] = cs_rd_u32(r);
    size_t n = (size_t)cs_rd_count(r, (r->len - r->off) / 44, "more events than the file holds");
    if (r->failed)
        return CS_EINVAL;
    if (n > e->cap) {
        sim_event *h = realloc(e->heap, n * sizeof *h);
        if (!h)
            return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (event queue)");
        e->heap = h;
        e->cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        sim_event *ev = &e->heap[i];
        memset(ev, 0, sizeof *ev);
        ev->t_s = cs_rd_f64(r);
        ev->seq = cs_rd_u64(r);
        ev->type = cs_rd_u32(r);
        ev->target = cs_rd_u32(r);
        ev->gen = cs_rd_u32(r);
        ev->u.u64[0] = cs_rd_u64(r);
        ev->u.u64[1] = cs_rd_u64(r);
        if (!r->failed && (ev->type >= e->n_types || !(ev->t_s >= now) || ev->seq >= next_seq ||
                           (ev->target != SIM_NO_TARGET && ev->target >= e->n_targets)))
            cs_rd_fail(r, "an event outside the engine");
    }
    for (size_t i = 1; i < n && !r->failed; i++)
        if (before(&e->heap[i], &e->heap[(i - 1) / 2]))
            cs_rd_fail(r, "an event queue out of order");
    if (r->failed) {
        e->n = 0;
        return CS_EINVAL;
    }
    e->n = n;
    e->next_seq = next_seq;
    e->now_s = now;
    e->stats = st;
    e->stop = false;
    return 0;
}

const sim_event *sim_engine_queued(const sim_engine *e, size_t *n)
{
    *n = e->n;
    return e->heap;
}
