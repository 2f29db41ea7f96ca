/* nn_ptq.h - post-training quantisation of one FP32 model state: each wire precision encoded,
 * decoded (dequantised) as a receiver would, and evaluated. Used by `constsim quantize` and by
 * the simulator's `report.ptq`. */
#ifndef NN_PTQ_H
#define NN_PTQ_H

#include "nn.h"
#include "nn_codec.h"
#include "nn_data.h"

#include <stddef.h>

/* The precisions studied: fp32, fp16, int8, int4 and ternary (rows indexed by nn_precision; the
 * int4/ternary rows use nn_wire_of()'s group size). topk is a way to send updates, not a model. */
#define NN_PTQ_ROWS (NN_PREC_TERNARY + 1)

typedef struct nn_ptq_row {
    double accuracy, loss;    /* on the evaluated images, decoded model */
    size_t file_bytes;        /* payload (= model file) bytes in this precision */
    double compression_ratio; /* fp32 file_bytes / file_bytes */
    double accuracy_drop_pct; /* (fp32 accuracy - accuracy) * 100: positive = lost */
    unsigned char *payload;   /* owned: the serialised file contents (nn_ptq_free) */
} nn_ptq_row;

/* Runs the study of state/tracked on images idx[0..n) of ds: each precision encoded, decoded
 * and evaluated on the inference path (nn_infer.h, one context of nn_infer_default_batch() for
 * all). work may be NULL; if not, the decoded states are written into it (its state is
 * overwritten, it is left in evaluation mode) and nothing else of it is used. rows is indexed by
 * nn_precision. */
int nn_ptq_run(nn_model *work, const float *state, const int64_t *tracked, const nn_dataset *ds,
               const uint32_t *idx, size_t n, nn_ptq_row rows[NN_PTQ_ROWS], cs_err *err);
/* Frees the payloads (NULL-safe). */
void nn_ptq_free(nn_ptq_row rows[NN_PTQ_ROWS]);

#endif
