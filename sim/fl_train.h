/* fl_train.h - the clients' local trainings on a pool of worker threads (module prefix fl_).
 *
 * A client's local training is a pure function of what it is given when it starts: the global
 * model it received (copied at submission), its partition, its random streams, its learning
 * rate and its kept optimiser state. Its result (the encoded update, the optimiser state) is
 * therefore the same bits whichever worker runs it and whatever else runs beside it, because the
 * CNN's kernels give the same bits for any thread count (nn.h). The event loop stays
 * single-threaded: a run submits a training at the event where it starts and waits for it at
 * the event that needs its result (the end of the training), so trainings that overlap in
 * simulated time run at the same time on the workers.
 *
 * Each worker owns one model (created once, at its first training), one optimiser for clients
 * whose optimiser state is reset every round, and the copy of the base model. The kernel threads
 * of each batch follow the load (fl_trainer_create). Library code: nothing here prints.
 */
#ifndef FL_TRAIN_H
#define FL_TRAIN_H

#include "cs.h"
#include "cs_rng.h"
#include "nn.h"
#include "nn_codec.h"
#include "nn_data.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One local training. The caller fills the inputs, submits it, and must wait for it
 * (fl_trainer_wait) before reading the outputs, reusing the job or freeing what it borrows. */
typedef struct fl_train_job {
    /* inputs, borrowed until the job is waited for */
    const nn_dataset *ds;
    const uint32_t *idx; /* the client's images */
    size_t n;
    int batch, epochs;
    cs_rng shuffle, augment; /* copied at submission */
    bool use_augment;        /* draw flips from augment */
    nn_opt *opt;             /* the client's own optimiser (kept state), or NULL: the worker's */
    nn_opt_cfg opt_cfg;      /* the worker's optimiser, reset for this training (opt NULL) */
    float lr;
    nn_wire wire; /* the update's precision and its parameters */
    bool delta;   /* encode state - base */
    /* Error feedback (NULL: off): the client's residual (NN_STATE_FLOATS), borrowed and updated
     * by the job. The update encodes state - base + resid, and resid becomes what the payload
     * dropped of that (docs/simulation.md, "Error feedback"). Needs delta. */
    float *resid;
    /* Adaptive runs (non-NULL): the trained state and counters are copied here (borrowed,
     * NN_STATE_FLOATS and NN_TRACKED) and not encoded: the run encodes the update when it knows
     * the contact it will take (docs/simulation.md, "Adaptive precision"). */
    float *keep;
    int64_t *keep_tracked;
    unsigned char **out; /* the client's update buffer, grown as needed */
    size_t *out_len, *out_cap;
    /* the trainer's (read with fl_trainer_progress, or after the wait) */
    atomic_size_t images_done; /* images trained so far, over every epoch */
    int state;                 /* 0 free, 1 queued or running, 2 done */
    int rc;
    cs_err err;
} fl_train_job;

typedef struct fl_trainer fl_trainer;

/* A pool training models of batch size max_batch on `threads` cores, for up to `parallel`
 * trainings at once: min(threads, parallel) workers (at least 1). Before every batch a training
 * takes threads / (trainings in flight) kernel threads (at least 1), so that one training alone
 * uses every core and several share them. NULL on failure (err set). */
fl_trainer *fl_trainer_create(int threads, int parallel, int max_batch, cs_err *err);
void fl_trainer_destroy(fl_trainer *t); /* waits for every submitted job; NULL-safe */
int fl_trainer_workers(const fl_trainer *t);
int fl_trainer_threads(const fl_trainer *t);
int fl_trainer_max_batch(const fl_trainer *t);

/* Submits job, starting from base/tracked (copied before it returns). Blocks while every worker
 * is busy. Returns 0 (the job's own failure is returned by fl_trainer_wait). */
int fl_trainer_submit(fl_trainer *t, fl_train_job *job, const float *base, const int64_t *tracked,
                      cs_err *err);

/* Waits for job; calls poll(user) about every 0.25 s while waiting (poll may be NULL) from the
 * calling thread. Returns the job's result, copying its error into err. A job never submitted
 * returns 0 at once. */
int fl_trainer_wait(fl_trainer *t, fl_train_job *job, void (*poll)(void *user), void *user,
                    cs_err *err);

#endif
