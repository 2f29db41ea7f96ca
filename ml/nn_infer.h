/* nn_infer.h - the CNN's inference path: evaluation-mode forward without training buffers.
 *
 * An inference context holds one copy of a model's weights, prepared once per load (the conv
 * weights packed for the model's convolution kernels, the evaluation-mode BatchNorm
 * coefficients computed),
 * one scratch per thread for one image's activations, and the dense layers' rows for one batch.
 * Each image runs depth-first through the three conv blocks in its thread's scratch (about
 * 1.4 MiB, which stays in L2); its flattened row joins the batch, and the dense layers run as one
 * sgemm each over the batch. The kernels are the model's own (nn_layers.h, same blocking), so
 * the logits are bit-identical to nn_model_forward of a model in evaluation mode with the same
 * state, for any thread count.
 *
 * init once / evaluate many: nn_infer_create, then nn_infer_load (or nn_infer_evaluate_state)
 * for every state to evaluate; nothing is allocated after nn_infer_create.
 */
#ifndef NN_INFER_H
#define NN_INFER_H

#include "cs.h"
#include "nn.h"
#include "nn_data.h"
#include "nn_train.h"

#include <stddef.h>
#include <stdint.h>

typedef struct nn_infer nn_infer; /* opaque: weights, per-thread scratch, batch rows */

/* The batch of every evaluation whose figures are reported: a run's global model every round,
 * the PTQ study, nn_evaluate (constsim train) and constsim eval's default. The dense layers'
 * sgemm can round a row differently for another batch (last bits of the loss), so this is fixed
 * rather than chosen by the cache, and a report does not depend on the machine's L2 size. */
#define NN_INFER_EVAL_BATCH 64

/* The batch nn_infer_create(0) chooses (for throughput, e.g. constsim bench eval): the largest
 * multiple of 16 (at least 16, at most 256) whose flattened rows (2400 floats each) fit in one
 * core's L2 cache beside the dense layers' weights (1.3 MB), so that fc1's sgemm reads both from
 * L2. */
int nn_infer_default_batch(void);

/* A context for batches of up to batch images (0: nn_infer_default_batch()), with scratch for
 * as many threads as there are processors (or nn_threads(), if larger). Returns NULL and fills
 * err on failure. Its weights are zero until nn_infer_load. */
nn_infer *nn_infer_create(int batch, cs_err *err);
void nn_infer_destroy(nn_infer *f); /* NULL is a no-op */

int nn_infer_batch(const nn_infer *f);
size_t nn_infer_bytes(const nn_infer *f); /* the context's one allocation */

/* Copies the weights of state (NN_STATE_FLOATS floats, the nn_views() layout) into f and
 * prepares them for evaluation mode. The num_batches_tracked counters never enter an
 * evaluation-mode forward, so none are taken. state is not kept. */
void nn_infer_load(nn_infer *f, const float *state);

/* Evaluation-mode logits (n, 10) of the normalised images x (n, 3, 64, 64), 1 <= n <= batch.
 * The per-image work runs on min(nn_threads(), scratch slots, n) OpenMP threads. */
void nn_infer_forward(nn_infer *f, const float *x, int n, float *logits);

/* Accuracy and mean cross-entropy per image of the loaded weights on images idx[0..n) of ds:
 * batches of nn_infer_batch(f) images, each normalised (nn_data_batch) in its thread's scratch.
 * If progress is not NULL it is called after every batch (phase NN_PHASE_EVAL) from the calling
 * thread. Returns 0 or CS_EINVAL (n == 0, an index or label out of range). accuracy / mean_loss
 * may be NULL. */
int nn_infer_evaluate(nn_infer *f, const nn_dataset *ds, const uint32_t *idx, size_t n,
                      nn_progress_fn progress, void *user, double *accuracy, double *mean_loss);

/* nn_infer_load(f, state), then nn_infer_evaluate without progress: one call per evaluation of
 * a state vector (e.g. a federated run's global model every round) with a context created once. */
int nn_infer_evaluate_state(nn_infer *f, const float *state, const nn_dataset *ds,
                            const uint32_t *idx, size_t n, double *accuracy, double *mean_loss);

#endif
