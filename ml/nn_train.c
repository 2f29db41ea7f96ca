/* nn_train.c - an epoch of minibatch training and evaluation over dataset indices. */
#include "nn_train.h"

#include "nn_infer.h"
#include "nn_internal.h"
#include "nn_layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void nn_train_set_progress(nn_model *m, nn_progress_fn fn, void *user)
{
    nn__hook *h = nn__model_hook(m);
    h->fn = fn;
    h->user = fn ? user : NULL;
}

static int check_indices(const nn_dataset *ds, const uint32_t *idx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= ds->n || ds->labels[idx[i]] >= NN_CLASSES)
            return CS_EINVAL;
    return 0;
}

static void report(nn_model *m, nn_phase phase, size_t done, size_t total, double loss_sum,
                   size_t correct)
{
    nn__hook *h = nn__model_hook(m);
    if (!h->fn)
        return;
    nn_progress p = {phase, done, total, done ? loss_sum / (double)done : 0.0,
                     done ? (double)correct / (double)done : 0.0};
    h->fn(h->user, &p);
}

int nn_train_epoch(nn_model *m, nn_opt *o, const nn_dataset *ds, const uint32_t *idx, size_t n,
                   int batch, cs_rng *shuffle_rng, nn_epoch_stats *out)
{
    return nn_train_epoch_aug(m, o, ds, idx, n, batch, shuffle_rng, NULL, out);
}

int nn_train_epoch_aug(nn_model *m, nn_opt *o, const nn_dataset *ds, const uint32_t *idx, size_t n,
                       int batch, cs_rng *shuffle_rng, cs_rng *augment_rng, nn_epoch_stats *out)
{
    if (!m || !o || !ds || !idx || n == 0 || batch < 1 || batch > nn_model_max_batch(m))
        return CS_EINVAL;
    if (check_indices(ds, idx, n) != 0)
        return CS_EINVAL;
    size_t bytes;
    if (cs_size_mul(n, sizeof(uint32_t), &bytes) != 0)
        return CS_ENOMEM;
    uint32_t *order = malloc(bytes);
    if (!order)
        return CS_ENOMEM;
    memcpy(order, idx, bytes);
    if (shuffle_rng)
        cs_rng_shuffle_u32(shuffle_rng, order, n);

    const double t0 = cs_wall_s();
    nn_model_set_training(m, true);
    float *x = nn__model_xbuf(m);
    uint8_t *y = nn__model_ybuf(m);
    float *params = nn_model_state(m);
    const float *grads = nn_model_grads(m);
    double loss_sum = 0;
    size_t correct = 0, batches = 0;
    for (size_t at = 0; at < n; at += (size_t)batch) {
        const size_t nb = n - at < (size_t)batch ? n - at : (size_t)batch;
        if (augment_rng)
            nn_data_batch_flip(ds, order + at, nb, x, y, augment_rng);
        else
            nn_data_batch(ds, order + at, nb, x, y);
        int right = 0;
        const float loss = nn_model_forward_backward(m, x, y, (int)nb, &right);
        nn_opt_step(o, params, grads);
        loss_sum += (double)loss * (double)nb;
        correct += (size_t)right;
        batches++;
        report(m, NN_PHASE_TRAIN, at + nb, n, loss_sum, correct);
    }
    free(order);
    if (out) {
        out->mean_loss = loss_sum / (double)n;
        out->accuracy = (double)correct / (double)n;
        out->images = n;
        out->batches = batches;
        out->wall_s = cs_wall_s() - t0;
    }
    return 0;
}

int nn_evaluate(nn_model *m, const nn_dataset *ds, const uint32_t *idx, size_t n, double *accuracy,
                double *mean_loss)
{
    if (!m || !ds || !idx || n == 0)
        return CS_EINVAL;
    if (check_indices(ds, idx, n) != 0)
        return CS_EINVAL;
    /* The inference path with the model's weights, in batches of NN_INFER_EVAL_BATCH (the progress
     * hook's granularity); the model's own buffers and mode are left alone. */
    cs_err err;
    cs_err_clear(&err);
    nn_infer *f = nn_infer_create(NN_INFER_EVAL_BATCH, &err);
    if (!f)
        return CS_ENOMEM;
    nn_infer_load(f, nn_model_state(m));
    const nn__hook *h = nn__model_hook(m);
    const int rc = nn_infer_evaluate(f, ds, idx, n, h->fn, h->user, accuracy, mean_loss);
    nn_infer_destroy(f);
    return rc;
}

const char *nn_schedule_name(nn_schedule s)
{
    static const char *const names[NN_SCHEDULES] = {"constant", "cosine", "wsd"};
    CS_ASSERT((unsigned)s < NN_SCHEDULES);
    return names[s];
}

double nn_schedule_lr(nn_schedule s, double lr, double decay_fraction, int step, int steps)
{
    if (s == NN_SCHED_COSINE && steps > 0)
        return lr * 0.5 * (1.0 + cos(M_PI * (double)step / (double)steps));
    if (s == NN_SCHED_WSD && steps > 0) {
        int d = cs_fraction_count(decay_fraction, steps);
        int j = step - (steps - d);
        return j < 0 ? lr : lr * (double)(d - j) / (double)(d + 1);
    }
    return lr;
}
