/* fl_avg.h - FedAvg (module prefix fl_): a running weighted sum of model states in double, and
 * the server step that turns it into the next global model (plain mean, or FedAvgM).
 */
#ifndef FL_AVG_H
#define FL_AVG_H

#include "cs.h"
#include "cs_ser.h"
#include "nn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A running weighted sum of model states, in double. */
typedef struct fl_avg {
    double *sum; /* owned: n */
    size_t n;
    double weight;                   /* sum of the weights added */
    int64_t tracked_max[NN_TRACKED]; /* max of the num_batches_tracked counters added */
    size_t count;                    /* states added */
} fl_avg;

int fl_avg_init(fl_avg *a, size_t n, cs_err *err);
void fl_avg_deinit(fl_avg *a); /* NULL-safe */
void fl_avg_reset(fl_avg *a);
/* sum += weight * state; tracked may be NULL. weight >= 0. */
void fl_avg_add(fl_avg *a, const float *state, const int64_t *tracked, double weight);
/* out = sum / weight (rounded to float), tracked_out (may be NULL) = the max counters. Returns
 * false (and leaves out unchanged) when nothing of positive weight was added. */
bool fl_avg_finish(const fl_avg *a, float *out, int64_t *tracked_out);
/* The server step of FedAvg in its update form (FedAvgM with server momentum, Hsu et al. 2019),
 * for the NN_PARAMS trainable floats: d = sum / weight - base (the mean change from base, the
 * model the clients started from), vel = momentum * vel + d, global += lr * vel, in double,
 * rounded to float once per element. The BN running statistics take the plain weighted mean.
 * vel may be NULL when momentum is 0. tracked_out as for fl_avg_finish. Returns false (and
 * changes nothing) when nothing of positive weight was added. */
bool fl_avg_finish_step(const fl_avg *a, const float *base, double lr, double momentum, float *vel,
                        float *global, int64_t *tracked_out);

/* Checkpoints: the running sum appended to b / restored into a sum of the same size. */
void fl_avg_save(const fl_avg *a, cs_buf *b);
int fl_avg_load(fl_avg *a, cs_rd *r);

#endif
