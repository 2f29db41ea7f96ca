/* nn_train.h - training epochs and evaluation of the CNN over an in-memory EuroSAT dataset.
 *
 * Library code: nothing here prints. A progress hook lets a caller (the CLI) draw progress.
 * Determinism: an epoch depends only on the model state, the optimiser state, the index list,
 * the batch size, the shuffle generator's state and nn_threads().
 */
#ifndef NN_TRAIN_H
#define NN_TRAIN_H

#include "cs_rng.h"
#include "nn.h"
#include "nn_data.h"

#include <stddef.h>
#include <stdint.h>

typedef struct nn_epoch_stats {
    double mean_loss; /* mean cross-entropy per image over the epoch (training-mode forward) */
    double accuracy;  /* fraction of images whose training-mode argmax was the label */
    size_t images;    /* images seen (= n) */
    size_t batches;   /* optimiser steps taken */
    double wall_s;    /* wall-clock duration (informational only) */
} nn_epoch_stats;

typedef enum nn_phase { NN_PHASE_TRAIN, NN_PHASE_EVAL } nn_phase;

typedef struct nn_progress {
    nn_phase phase;
    size_t done;      /* images processed so far in this call */
    size_t total;     /* images in this call */
    double mean_loss; /* over the images done so far */
    double accuracy;  /* over the images done so far */
} nn_progress;

/* Called after every batch, from the calling thread. */
typedef void (*nn_progress_fn)(void *user, const nn_progress *p);

/* Installs (or with fn NULL removes) the progress hook of m; fn and user are borrowed. */
void nn_train_set_progress(nn_model *m, nn_progress_fn fn, void *user);

/* One epoch over the images idx[0..n) of ds, in training mode: if shuffle_rng is not NULL the
 * order is a Fisher-Yates shuffle drawn from it (else idx order), batches of `batch` images (the
 * last partial batch is kept), each normalised by nn_data_batch into the model's own buffer,
 * forward + backward + one optimiser step on nn_model_state(m). Leaves m in training mode.
 * Returns 0, CS_EINVAL (batch < 1 or > max_batch, n == 0, an index out of range) or CS_ENOMEM
 * (the per-epoch order array). out may be NULL. */
int nn_train_epoch(nn_model *m, nn_opt *o, const nn_dataset *ds, const uint32_t *idx, size_t n,
                   int batch, cs_rng *shuffle_rng, nn_epoch_stats *out);

/* The same with augmentation: when augment_rng is not NULL every training image is randomly
 * flipped (nn_data_batch_flip, drawing from augment_rng). */
int nn_train_epoch_aug(nn_model *m, nn_opt *o, const nn_dataset *ds, const uint32_t *idx, size_t n,
                       int batch, cs_rng *shuffle_rng, cs_rng *augment_rng, nn_epoch_stats *out);

/* Accuracy and mean cross-entropy per image of m on idx[0..n), evaluation mode (running BN
 * statistics), in batches of NN_INFER_EVAL_BATCH (one progress call each). Runs the inference path
 * (nn_infer.h) on a context created for the call from m's state: the logits are those of
 * nn_model_forward in evaluation mode; m's buffers and training flag are not touched. Returns
 * 0, CS_EINVAL (n == 0, an index out of range) or CS_ENOMEM. accuracy / mean_loss may be NULL.
 * To evaluate many states, create one nn_infer and call nn_infer_evaluate_state instead. */
int nn_evaluate(nn_model *m, const nn_dataset *ds, const uint32_t *idx, size_t n, double *accuracy,
                double *mean_loss);

/* Learning-rate schedules over a run of `steps` steps (epochs of `constsim train`, rounds of a
 * federated run). */
typedef enum nn_schedule {
    NN_SCHED_CONSTANT = 0, /* lr at every step */
    NN_SCHED_COSINE = 1,   /* lr * (1 + cos(pi * step / steps)) / 2 */
    NN_SCHED_WSD = 2,      /* warmup-stable-decay without warmup: lr, then the last
                              d = cs_fraction_count(decay_fraction, steps) steps decay linearly,
                              step steps - d + j taking lr * (d - j) / (d + 1) */
} nn_schedule;
#define NN_SCHEDULES 3
const char *nn_schedule_name(nn_schedule s); /* "constant", "cosine", "wsd" */

/* The learning rate of step `step` (0-based) of `steps`; lr itself when steps <= 0.
 * decay_fraction (0 < f <= 1) is read by NN_SCHED_WSD only. */
double nn_schedule_lr(nn_schedule s, double lr, double decay_fraction, int step, int steps);

#endif
