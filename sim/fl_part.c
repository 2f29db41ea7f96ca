/* fl_part.c - IID and Dirichlet partitions of the train split (see fl_part.h). */
#include "fl_part.h"

#include "cs_rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

void fl_partitions_free(fl_partitions *p)
{
    if (!p)
        return;
    free(p->idx);
    free(p->off);
    memset(p, 0, sizeof *p);
}

/* Dirichlet draw: fills owner[] (client of each position of by_class) and per-client counts. */
static bool dirichlet_draw(cs_rng *rng, uint32_t *by_class, const size_t *class_off,
                           size_t n_clients, double alpha, double *p, size_t *counts,
                           uint32_t *owner)
{
    memset(counts, 0, n_clients * sizeof *counts);
    for (int c = 0; c < NN_DATA_CLASSES; c++) {
        size_t a = class_off[c], n_c = class_off[c + 1] - a;
        cs_rng_shuffle_u32(rng, by_class + a, n_c);
        double sum = 0;
        for (size_t k = 0; k < n_clients; k++) {
            p[k] = cs_rng_gamma(rng, alpha);
            sum += p[k];
        }
        if (!(sum > 0) || !isfinite(sum))
            return false;
        double cum = 0;
        size_t start = 0;
        for (size_t k = 0; k < n_clients; k++) {
            cum += p[k] / sum;
            size_t end = k + 1 == n_clients ? n_c : (size_t)floor(cum * (double)n_c);
            if (end > n_c)
                end = n_c;
            if (end < start)
                end = start;
            for (size_t i = start; i < end; i++)
                owner[a + i] = (uint32_t)k;
            counts[k] += end - start;
            start = end;
        }
    }
    return true;
}

int fl_partition(const nn_dataset *ds, const uint32_t *train, size_t n_train, size_t n_clients,
                 scn_partition kind, double alpha, long max_per_client, uint64_t seed,
                 fl_partitions *out, cs_err *err)
{
    memset(out, 0, sizeof *out);
    if (n_clients == 0 || n_train < n_clients)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "the train split has %zu images, fewer than the %zu clients", n_train,
                          n_clients);
    int rc = CS_ENOMEM;
    uint32_t *pool = malloc(n_train * sizeof *pool);
    uint32_t *owner = malloc(n_train * sizeof *owner);
    size_t *counts = calloc(n_clients, sizeof *counts);
    double *p = malloc(n_clients * sizeof *p);
    out->idx = malloc(n_train * sizeof *out->idx);
    out->off = calloc(n_clients + 1, sizeof *out->off);
    if (!pool || !owner || !counts || !p || !out->idx || !out->off)
        goto oom;
    out->n_clients = n_clients;

    if (kind == SCN_PART_IID) {
        memcpy(pool, train, n_train * sizeof *pool);
        cs_rng rng;
        cs_rng_derive(&rng, seed, CS_RNG_PARTITION, 0);
        cs_rng_shuffle_u32(&rng, pool, n_train);
        size_t base = n_train / n_clients, extra = n_train % n_clients, at = 0;
        for (size_t k = 0; k < n_clients; k++) {
            counts[k] = base + (k < extra ? 1 : 0);
            for (size_t i = 0; i < counts[k]; i++)
                owner[at + i] = (uint32_t)k;
            at += counts[k];
        }
    } else {
        /* Group by class (train is ascending, so each class stays ascending before shuffling). */
        size_t class_off[NN_DATA_CLASSES + 1] = {0};
        for (size_t i = 0; i < n_train; i++) {
            uint8_t y = ds->labels[train[i]];
            CS_ASSERT(y < NN_DATA_CLASSES);
            class_off[y + 1]++;
        }
        for (int c = 0; c < NN_DATA_CLASSES; c++)
            class_off[c + 1] += class_off[c];
        size_t fill[NN_DATA_CLASSES];
        memcpy(fill, class_off, sizeof fill);
        for (size_t i = 0; i < n_train; i++)
            pool[fill[ds->labels[train[i]]]++] = train[i];
        size_t need = n_train / n_clients < 10 ? n_train / n_clients : 10;
        cs_rng rng;
        cs_rng_derive(&rng, seed, CS_RNG_PARTITION, 1);
        bool ok = false;
        int draw = 0;
        /* Each draw starts from the same class order, so a draw depends on the stream only. */
        uint32_t *sorted = malloc(n_train * sizeof *sorted);
        if (!sorted)
            goto oom;
        memcpy(sorted, pool, n_train * sizeof *pool);
        while (!ok && draw < 1000) {
            draw++;
            memcpy(pool, sorted, n_train * sizeof *pool);
            if (!dirichlet_draw(&rng, pool, class_off, n_clients, alpha, p, counts, owner))
                continue;
            ok = true;
            for (size_t k = 0; k < n_clients; k++)
                if (counts[k] < need)
                    ok = false;
        }
        free(sorted);
        out->draws = draw;
        if (!ok) {
            rc = cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                            "dataset.alpha %g: 1000 Dirichlet draws all left a client with fewer "
                            "than %zu images; raise alpha or lower federated.clients",
                            alpha, need);
            goto fail;
        }
    }

    /* Gather per client, cap, sort. */
    for (size_t k = 0; k < n_clients; k++)
        out->off[k + 1] = out->off[k] + counts[k];
    memset(counts, 0, n_clients * sizeof *counts);
    for (size_t i = 0; i < n_train; i++) {
        uint32_t k = owner[i];
        out->idx[out->off[k] + counts[k]++] = pool[i];
    }
    size_t w = 0;
    size_t prev_off = 0;
    for (size_t k = 0; k < n_clients; k++) {
        uint32_t *src = out->idx + prev_off;
        size_t n = out->off[k + 1] - prev_off;
        prev_off = out->off[k + 1];
        if (max_per_client > 0 && n > (size_t)max_per_client) {
            cs_rng rng;
            cs_rng_derive(&rng, seed, CS_RNG_PARTITION, 1000000 + (uint64_t)k);
            cs_rng_shuffle_u32(&rng, src, n);
            n = (size_t)max_per_client;
        }
        memmove(out->idx + w, src, n * sizeof *src);
        qsort(out->idx + w, n, sizeof *src, cmp_u32);
        out->off[k] = w;
        w += n;
    }
    out->off[n_clients] = w;
    rc = 0;
    goto done;
oom:
    rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (partitions)");
fail:
    fl_partitions_free(out);
done:
    free(pool);
    free(owner);
    free(counts);
    free(p);
    return rc;
}
