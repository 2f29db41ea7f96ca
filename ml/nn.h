/* nn.h - the EuroSAT CNN: model state, forward/backward, optimisers.
 *
 * The network (exactly the reference PyTorch module, 434,602 parameters, no padding):
 *   x (N,3,64,64)
 *   conv1 5x5 3->32   -> (N,32,60,60), bn1, relu, maxpool2 -> (N,32,30,30)
 *   conv2 5x5 32->64  -> (N,64,26,26), bn2, relu, maxpool2 -> (N,64,13,13)
 *   conv3 3x3 64->96  -> (N,96,11,11), bn3, relu, maxpool2 -> (N,96,5,5)   (floor)
 *   flatten (C,H,W order) -> (N,2400)
 *   fc1 2400->128, relu; fc2 128->128, relu; fc3 128->10 -> logits (N,10)
 *
 * State layout: ONE float array per model ("state") holding every trainable parameter first
 * (NN_PARAMS floats), then the BatchNorm running statistics (NN_BUFFERS floats); the three
 * num_batches_tracked counters are int64 beside it. nn_views() names every tensor with its
 * PyTorch state_dict name, shape and offset, in state_dict order, so safetensors I/O, FedAvg
 * and the wire codecs all work on the same flat vectors.
 */
#ifndef NN_H
#define NN_H

#include "cs.h"
#include "cs_ser.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NN_IN_C 3
#define NN_IN_H 64
#define NN_IN_W 64
#define NN_IN_SIZE (NN_IN_C * NN_IN_H * NN_IN_W) /* 12288 */
#define NN_CLASSES 10
#define NN_PARAMS 434602 /* trainable floats */
#define NN_BUFFERS 384   /* BN running_mean + running_var: 2 * (32 + 64 + 96) */
#define NN_STATE_FLOATS (NN_PARAMS + NN_BUFFERS)
#define NN_TRACKED 3 /* bn1..3.num_batches_tracked (int64) */

typedef enum nn_store {
    NN_STORE_PARAM,  /* trainable, in state[0 .. NN_PARAMS) */
    NN_STORE_BUFFER, /* BN running statistic, in state[NN_PARAMS .. NN_STATE_FLOATS) */
    NN_STORE_TRACKED /* int64 counter, index into the tracked array */
} nn_store;

typedef struct nn_view {
    const char *name; /* PyTorch state_dict name, e.g. "conv1.weight" (static storage) */
    nn_store store;   /* where the values live */
    size_t offset;    /* element offset into state (PARAM/BUFFER) or tracked (TRACKED) */
    size_t count;     /* number of elements */
    int ndim;         /* 0 for the scalar counters */
    int64_t shape[4]; /* PyTorch shape, e.g. {32,3,5,5} */
    bool per_channel; /* a conv/linear weight: shape[0] output channels, INT8 per-channel */
} nn_view;

/* The tensors of the model in PyTorch state_dict order (conv1.weight, conv1.bias, bn1.weight,
 * bn1.bias, bn1.running_mean, bn1.running_var, bn1.num_batches_tracked, conv2..., fc3.bias). */
const nn_view *nn_views(size_t *count);
/* The view named name, or NULL. */
const nn_view *nn_view_find(const char *name);

typedef struct nn_model nn_model; /* opaque: state, gradients and activations for max_batch */

/* Allocates a model for batches of up to max_batch images (one allocation for parameters,
 * gradients and activations). Returns NULL and fills err on failure. */
nn_model *nn_model_create(int max_batch, cs_err *err);
void nn_model_destroy(nn_model *m); /* NULL is a no-op */

/* PyTorch's default initialisation, drawn from a generator seeded with seed:
 * conv/linear weight ~ U(-b, b), b = 1/sqrt(fan_in) (kaiming_uniform with a=sqrt(5)),
 * bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BN weight 1, bias 0, running mean 0, var 1, tracked 0.
 */
void nn_model_init(nn_model *m, uint64_t seed);
/* The same initialisation into a state vector (NN_STATE_FLOATS) and its NN_TRACKED counters,
 * without a model: nn_model_init(m, seed) is this on m's state, with its gradients zeroed. */
void nn_state_init(float *state, int64_t *tracked, uint64_t seed);

float *nn_model_state(nn_model *m);     /* NN_STATE_FLOATS floats, borrowed */
int64_t *nn_model_tracked(nn_model *m); /* NN_TRACKED counters, borrowed */
float *nn_model_grads(nn_model *m);     /* NN_PARAMS floats (d loss / d param), borrowed */
int nn_model_max_batch(const nn_model *m);
size_t nn_model_bytes(const nn_model *m); /* size of the model's one allocation */

/* BatchNorm mode: training (batch statistics, running stats updated with momentum 0.1 and the
 * unbiased batch variance, tracked += 1) or evaluation (running statistics). */
void nn_model_set_training(nn_model *m, bool training);

/* Forward only. x: (n,3,64,64) normalised floats; logits: (n,10). n <= max_batch. */
void nn_model_forward(nn_model *m, const float *x, int n, float *logits);

/* Forward + softmax cross-entropy (mean over the batch) + backward: overwrites the gradients.
 * Returns the mean loss; if correct is not NULL, stores the number of correct argmax predictions.
 */
float nn_model_forward_backward(nn_model *m, const float *x, const uint8_t *labels, int n,
                                int *correct);

/* True in training mode (the default after nn_model_create, as a new PyTorch module). */
bool nn_model_training(const nn_model *m);

/* The logits (n,10) of the last forward (nn_model_forward or nn_model_forward_backward),
 * borrowed; valid until the next forward. */
const float *nn_model_logits(const nn_model *m);

/* Training FLOPs of one image (forward + backward), for simulated on-board compute time:
 * 2 * multiply-adds of every convolution and dense layer, forward, weight gradients and input
 * gradients (conv1 has none): 284,321,280. Elementwise work (BN, ReLU, pooling) is not counted. */
double nn_model_train_flops_per_image(void);

/* Threads for the training kernels (process-wide, default 1): the per-image loops of forward and
 * backward run on `threads` OpenMP threads, each calling single-threaded OpenBLAS (without OpenMP,
 * OpenBLAS itself gets `threads`). A model uses at most as many threads as it has workspaces
 * (the number of processors, or nn_threads() if larger, when it was created). Results are
 * bit-identical for the same inputs whatever the thread count: per-image work is independent,
 * and reductions over the batch run in a fixed order (conv weight gradients over fixed groups
 * of images, docs/model.md). Call it before training, not during.
 * nn_set_local_threads sets the count for the calling thread only (0: back to the process-wide
 * one), for pools of trainers that each train their own model. nn_threads() is the calling
 * thread's count. */
void nn_set_threads(int threads);
void nn_set_local_threads(int threads);
int nn_threads(void);

/* The OpenBLAS kernel set in use (e.g. "SkylakeX"). OpenBLAS 0.3.21 does not recognise recent
 * CPU models and falls back to its generic "Prescott" kernels (about 4x slower); unless
 * OPENBLAS_CORETYPE is set, the first nn_model_create or nn_set_threads then selects the
 * kernels the CPU's features allow (SkylakeX with AVX-512, Haswell with AVX2 + FMA). */
const char *nn_blas_core(void);

/* The BLAS in use, as a report states it: library "OpenBLAS", config openblas_get_config()
 * (version, build options, kernel set), core nn_blas_core(), threads openblas_get_num_threads()
 * (1 when the training loops run on OpenMP threads, else nn_threads()). The strings are the
 * library's static storage. */
typedef struct nn_blas_info {
    const char *library, *config, *core;
    int threads;
} nn_blas_info;
nn_blas_info nn_blas_describe(void);

/* The convolution kernels this process runs for the CNN's three conv layers, as reports and
 * checkpoints record them beside the BLAS kernel set: "direct-avx512" (nn_conv512.c, the CPU has
 * AVX-512 and every layer fits), "im2col-sgemm", or "mixed" if only some layers run directly.
 * Results differ in the last bits between them. Follows nn_conv_set_direct. */
const char *nn_conv_kernels(void);

/* Optimisers over the NN_PARAMS trainable floats, with PyTorch's semantics. */
typedef enum nn_opt_kind { NN_OPT_ADAM, NN_OPT_SGD } nn_opt_kind;
#define NN_OPT_KINDS 2
const char *nn_opt_kind_name(nn_opt_kind k); /* "adam", "sgd" */
typedef struct nn_opt_cfg {
    nn_opt_kind kind;
    float lr;           /* both */
    float beta1, beta2; /* adam: 0.9, 0.999 */
    float eps;          /* adam: 1e-8 */
    float momentum;     /* sgd: 0 = plain SGD */
    float weight_decay; /* both: L2 added to the gradient, as torch.optim does; default 0 */
} nn_opt_cfg;
nn_opt_cfg nn_opt_default(nn_opt_kind kind, float lr); /* PyTorch defaults for kind */

typedef struct nn_opt nn_opt; /* opaque: moment buffers and step counter */
nn_opt *nn_opt_create(const nn_opt_cfg *cfg, size_t n, cs_err *err);
void nn_opt_destroy(nn_opt *o); /* NULL is a no-op */
void nn_opt_reset(nn_opt *o);   /* zero moments and step count */
/* Changes the learning rate for the next steps (schedules); moments are kept, as when a
 * torch.optim.lr_scheduler changes param_group["lr"]. */
void nn_opt_set_lr(nn_opt *o, float lr);
/* One step: params -= update(grads). */
void nn_opt_step(nn_opt *o, float *params, const float *grads);
/* Checkpoints: the moments, step count and learning rate appended to b; load restores them into
 * an optimiser created with the same kind and size (CS_EINVAL, r failed, otherwise). */
void nn_opt_save(const nn_opt *o, cs_buf *b);
int nn_opt_load(nn_opt *o, cs_rd *r);

#endif
