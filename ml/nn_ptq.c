/* nn_ptq.c - post-training quantisation study: encode, decode as a receiver, evaluate on the
 * inference path (one context for every precision). */
#include "nn_ptq.h"

#include "nn_infer.h"

#include <stdlib.h>
#include <string.h>

int nn_ptq_run(nn_model *work, const float *state, const int64_t *tracked, const nn_dataset *ds,
               const uint32_t *idx, size_t n, nn_ptq_row rows[NN_PTQ_ROWS], cs_err *err)
{
    memset(rows, 0, NN_PTQ_ROWS * sizeof *rows);
    float *own = NULL;
    int64_t own_tracked[NN_TRACKED];
    if (!work && !(own = malloc(NN_STATE_FLOATS * sizeof *own)))
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory for the decoded model");
    float *dec = work ? nn_model_state(work) : own;
    int64_t *dec_tracked = work ? nn_model_tracked(work) : own_tracked;
    nn_infer *f = nn_infer_create(NN_INFER_EVAL_BATCH, err);
    int rc = f ? 0 : (err->code ? err->code : CS_ENOMEM);
    for (int p = 0; p < NN_PTQ_ROWS && !rc; p++) {
        nn_precision prec = (nn_precision)p;
        nn_ptq_row *r = &rows[p];
        rc = nn_codec_encode(prec, state, tracked, NULL, &r->payload, &r->file_bytes, err);
        if (!rc)
            rc = nn_codec_decode(r->payload, r->file_bytes, NULL, dec, dec_tracked, NULL, err);
        if (!rc) {
            rc = nn_infer_evaluate_state(f, dec, ds, idx, n, &r->accuracy, &r->loss);
            if (rc)
                cs_err_set(err, rc, NULL, 0, 0, "evaluation of the %s model failed",
                           nn_precision_name(prec));
        }
    }
    nn_infer_destroy(f);
    free(own);
    if (work)
        nn_model_set_training(work, false);
    if (rc) {
        nn_ptq_free(rows);
        return rc;
    }
    for (int p = 0; p < NN_PTQ_ROWS; p++) {
        rows[p].compression_ratio = (double)rows[0].file_bytes / (double)rows[p].file_bytes;
        rows[p].accuracy_drop_pct = 100.0 * (rows[0].accuracy - rows[p].accuracy);
    }
    return 0;
}

void nn_ptq_free(nn_ptq_row rows[NN_PTQ_ROWS])
{
    if (!rows)
        return;
    for (int p = 0; p < NN_PTQ_ROWS; p++) {
        free(rows[p].payload);
        rows[p].payload = NULL;
    }
}
