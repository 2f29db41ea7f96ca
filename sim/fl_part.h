/* fl_part.h - the clients' shares of the train split (module prefix fl_): IID or Dirichlet
 * non-IID partitions, seeded, with an optional cap per client (docs/simulation.md).
 */
#ifndef FL_PART_H
#define FL_PART_H

#include "cs.h"
#include "nn_data.h"
#include "scn.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fl_partitions {
    uint32_t
        *idx;    /* owned: image indices (into the dataset), client after client, each ascending */
    size_t *off; /* owned: n_clients + 1 offsets into idx; client c holds idx[off[c] .. off[c+1]) */
    size_t n_clients;
    int draws; /* Dirichlet: proportion draws needed (redrawn while a client is too small); IID 0 */
} fl_partitions;

/* Splits the train indices train[0..n_train) (ascending) over n_clients clients, seeded by
 * (seed, CS_RNG_PARTITION, .):
 *   iid        a seeded shuffle cut into n_clients contiguous parts whose sizes differ by <= 1;
 *   dirichlet  per class, proportions p ~ Dir(alpha, ..., alpha) over the clients, the class's
 *              shuffled images cut at floor(cumsum(p) * n_class); redrawn (all classes) while a
 *              client holds fewer than min(10, n_train / n_clients) images, at most 1000 draws.
 * Then each client keeps at most max_per_client images (0 = all): a seeded random subset.
 * CS_EINVAL if n_train < n_clients or the Dirichlet draws never satisfy the minimum. */
int fl_partition(const nn_dataset *ds, const uint32_t *train, size_t n_train, size_t n_clients,
                 scn_partition kind, double alpha, long max_per_client, uint64_t seed,
                 fl_partitions *out, cs_err *err);
void fl_partitions_free(fl_partitions *p); /* NULL-safe; leaves p zeroed */

#endif
