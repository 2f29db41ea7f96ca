/* sim_engine.h - the discrete-event core: a priority queue of by-value events and a dispatch loop.
 *
 * Events live by value in one array binary heap ordered by (t_s, seq): seq is an insertion
 * counter, so events at equal times pop in the order they were scheduled (FIFO ties). The heap
 * array grows by doubling; nothing is allocated per event.
 *
 * Handlers are registered per event type (a small integer indexing the handler table).
 * Cancellation is by generation: every target (satellite, station, the server: ids chosen by the
 * caller, 0 .. n_targets-1) has a generation counter; an event records its target's generation
 * when scheduled, and the loop skips it silently if the generation changed since
 * (sim_engine_cancel bumps it). Events with target SIM_NO_TARGET are never stale.
 *
 * The loop (sim_engine_run) pops the earliest event, asserts that time never goes back, skips
 * stale events, dispatches, and stops when the next event lies beyond the horizon (it stays
 * queued), when the queue is empty, when a handler calls sim_engine_stop, or on the first handler
 * error (returned as is). Events at exactly the horizon still run.
 *
 * Ownership: the engine owns its heap, handler table and generation array; the handlers' `user`
 * pointers are borrowed. Single-threaded.
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include "cs.h"
#include "cs_ser.h"

#include <signal.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_NO_TARGET UINT32_MAX

/* Payload carried by value. */
typedef union sim_event_data {
    uint64_t u64[2];
    int64_t i64[2];
    uint32_t u32[4];
    double f64[2];
} sim_event_data;

typedef struct sim_event {
    double t_s;      /* simulated seconds since the scenario epoch */
    uint64_t seq;    /* insertion counter: equal times pop in FIFO order */
    uint32_t type;   /* index into the handler table */
    uint32_t target; /* satellite / station / client id, or SIM_NO_TARGET */
    uint32_t gen;    /* the target's generation when scheduled */
    sim_event_data u;
} sim_event;

typedef struct sim_engine sim_engine; /* opaque */

/* A handler: returns 0, or a negative CS_E* code (with err filled) to stop the loop. */
typedef int (*sim_handler_fn)(void *user, sim_engine *e, const sim_event *ev, cs_err *err);

/* An engine with n_types handler slots and n_targets generation counters (both may be 0), the
 * heap sized for capacity events at first (0: a small default). NULL and err filled on failure. */
sim_engine *sim_engine_create(uint32_t n_types, uint32_t n_targets, size_t capacity, cs_err *err);
void sim_engine_destroy(sim_engine *e); /* NULL is a no-op */

/* Installs fn (called with user, borrowed) for events of type (type < n_types). An event
 * without a handler is a bug. */
void sim_engine_on(sim_engine *e, uint32_t type, sim_handler_fn fn, void *user);

/* Schedules an event of type for target at t_s (>= now, finite), carrying data. Returns 0 or
 * CS_ENOMEM (the heap could not grow). */
int sim_engine_schedule(sim_engine *e, double t_s, uint32_t type, uint32_t target,
                        sim_event_data data, cs_err *err);

/* Makes every event already scheduled for target stale. */
void sim_engine_cancel(sim_engine *e, uint32_t target);
uint32_t sim_engine_gen(const sim_engine *e, uint32_t target);

/* Runs until the horizon, an empty queue, sim_engine_stop or a handler error (returned). When
 * it stops because the next event lies beyond the horizon or the queue is empty, the clock
 * advances to the horizon (time passes with nothing happening); sim_engine_stopped() tells the
 * cases apart. */
int sim_engine_run(sim_engine *e, double horizon_s, cs_err *err);

/* Asks the loop to return after the current handler (it may be resumed with sim_engine_run). */
void sim_engine_stop(sim_engine *e);
/* True when the last sim_engine_run returned because of sim_engine_stop. */
bool sim_engine_stopped(const sim_engine *e);

/* Pops the earliest event into *out without dispatching (stale ones included); false if empty.
 * For tests and tools; advances now. */
bool sim_engine_pop(sim_engine *e, sim_event *out);

double sim_engine_now(const sim_engine *e); /* time of the last event popped (0 at first) */
size_t sim_engine_pending(const sim_engine *e);
bool sim_engine_is_stale(const sim_engine *e, const sim_event *ev);

/* Polls *flag (borrowed; NULL: none) after every event the loop dispatches: when it is set, the
 * loop returns as if sim_engine_stop had been called, between two events (a safe point), and
 * sim_engine_interrupted() is true. For SIGINT/SIGTERM handlers that set a sig_atomic_t. */
void sim_engine_set_interrupt(sim_engine *e, const volatile sig_atomic_t *flag);
bool sim_engine_interrupted(const sim_engine *e); /* the last run stopped because of the flag */

/* Checkpoints: the engine's state (clock, insertion counter, generations, statistics and the
 * queued events, in heap order) appended to b; sim_engine_load restores it into an engine
 * created with the same n_types and n_targets (handlers stay as installed). Between events
 * only. Load returns CS_EINVAL with r failed (its offset and reason) on a record that does not
 * fit. */
void sim_engine_save(const sim_engine *e, cs_buf *b);
int sim_engine_load(sim_engine *e, cs_rd *r, cs_err *err);
/* The queued events, in heap order (not time order), for checking a loaded queue. */
const sim_event *sim_engine_queued(const sim_engine *e, size_t *n);

typedef struct sim_engine_stats {
    uint64_t scheduled;  /* events scheduled */
    uint64_t dispatched; /* events handed to handlers */
    uint64_t stale;      /* events skipped as cancelled */
    size_t max_pending;  /* high-water mark of the heap */
} sim_engine_stats;
sim_engine_stats sim_engine_get_stats(const sim_engine *e);

#endif
