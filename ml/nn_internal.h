/* nn_internal.h - what nn_train.c needs from the model's insides (not a public header). */
#ifndef NN_INTERNAL_H
#define NN_INTERNAL_H

#include "nn.h"
#include "nn_train.h"

/* The model's own batch buffers, sized for max_batch: x (max_batch, 3, 64, 64), labels, logits. */
float *nn__model_xbuf(nn_model *m);
uint8_t *nn__model_ybuf(nn_model *m);
float *nn__model_logits_buf(nn_model *m);

/* The progress hook stored in the model (fn may be NULL). */
typedef struct nn__hook {
    nn_progress_fn fn; /* borrowed */
    void *user;        /* borrowed */
} nn__hook;
nn__hook *nn__model_hook(nn_model *m);

#endif
