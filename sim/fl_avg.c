/* fl_avg.c - FedAvg sums and the server step (see fl_avg.h). */
#include "fl_avg.h"

#include <stdlib.h>
#include <string.h>

int fl_avg_init(fl_avg *a, size_t n, cs_err *err)
{
    memset(a, 0, sizeof *a);
    a->sum = calloc(n ? n : 1, sizeof *a->sum);
    if (!a->sum)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (FedAvg sum)");
    a->n = n;
    return 0;
}

void fl_avg_deinit(fl_avg *a)
{
    if (!a)
        return;
    free(a->sum);
    memset(a, 0, sizeof *a);
}

void fl_avg_reset(fl_avg *a)
{
    memset(a->sum, 0, a->n * sizeof *a->sum);
    a->weight = 0;
    a->count = 0;
    for (int i = 0; i < NN_TRACKED; i++)
        a->tracked_max[i] = 0;
}

void fl_avg_add(fl_avg *a, const float *state, const int64_t *tracked, double weight)
{
    CS_ASSERT(weight >= 0);
    for (size_t i = 0; i < a->n; i++)
        a->sum[i] += weight * (double)state[i];
    a->weight += weight;
    if (tracked)
        for (int i = 0; i < NN_TRACKED; i++)
            if (a->count == 0 || tracked[i] > a->tracked_max[i])
                a->tracked_max[i] = tracked[i];
    a->count++;
}

bool fl_avg_finish(const fl_avg *a, float *out, int64_t *tracked_out)
{
    if (!(a->weight > 0))
        return false;
    for (size_t i = 0; i < a->n; i++)
        out[i] = (float)(a->sum[i] / a->weight);
    if (tracked_out)
        for (int i = 0; i < NN_TRACKED; i++)
            tracked_out[i] = a->tracked_max[i];
    return true;
}

bool fl_avg_finish_step(const fl_avg *a, const float *base, double lr, double momentum, float *vel,
                        float *global, int64_t *tracked_out)
{
    CS_ASSERT(a->n == NN_STATE_FLOATS && lr > 0 && momentum >= 0 && momentum < 1);
    CS_ASSERT(vel || momentum == 0);
    if (!(a->weight > 0))
        return false;
    for (size_t i = 0; i < NN_PARAMS; i++) {
        double d = a->sum[i] / a->weight - (double)base[i];
        if (vel) {
            d += momentum * (double)vel[i];
            vel[i] = (float)d;
        }
        global[i] = (float)((double)global[i] + lr * d);
    }
    /* BN running statistics are estimates of the activations' moments, not optimisation
     * variables: they take the plain weighted mean. */
    for (size_t i = NN_PARAMS; i < NN_STATE_FLOATS; i++)
        global[i] = (float)(a->sum[i] / a->weight);
    if (tracked_out)
        for (int i = 0; i < NN_TRACKED; i++)
            tracked_out[i] = a->tracked_max[i];
    return true;
}

void fl_avg_save(const fl_avg *a, cs_buf *b)
{
    cs_ser_tag(b, "FAVG");
    cs_ser_u64(b, (uint64_t)a->n);
    cs_ser_u64(b, (uint64_t)a->count);
    cs_ser_f64(b, a->weight);
    cs_ser_i64s(b, a->tracked_max, NN_TRACKED);
    if (a->count > 0) /* after a reset the sum is all zeros */
        cs_ser_f64s(b, a->sum, a->n);
}

int fl_avg_load(fl_avg *a, cs_rd *r)
{
    cs_rd_tag(r, "FAVG");
    if (cs_rd_u64(r) != a->n && !r->failed)
        cs_rd_fail(r, "a FedAvg sum of another size");
    size_t count = (size_t)cs_rd_u64(r);
    double weight = cs_rd_f64(r);
    int64_t tmax[NN_TRACKED];
    cs_rd_i64s(r, tmax, NN_TRACKED);
    if (r->failed)
        return CS_EINVAL;
    fl_avg_reset(a);
    if (count > 0)
        cs_rd_f64s(r, a->sum, a->n);
    if (r->failed)
        return CS_EINVAL;
    a->count = count;
    a->weight = weight;
    memcpy(a->tracked_max, tmax, sizeof tmax);
    return 0;
}
