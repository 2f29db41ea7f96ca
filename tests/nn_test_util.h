/* nn_test_util.h - test helpers for the CNN kernels: the fast convolution and fused block
 * (channels-last inside, see ml/nn_layers.h) driven in PyTorch's NCHW layouts, so that they can
 * be compared with the reference kernels of ml/nn_ref.h element by element. */
#ifndef NN_TEST_UTIL_H
#define NN_TEST_UTIL_H

#include "nn_layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void *nt_alloc(size_t bytes)
{
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* n images, NCHW: y = conv(x) (no bias), dw = d/dw of sum(dy * y) (PyTorch layout), and if dx is
 * not NULL dx likewise. chw selects the conv1 path (CHW input, no dx); otherwise the HWC path. */
static inline void nt_conv(const nn_conv_dims *d, int n, const float *x, const float *w,
                           const float *dy, float *y, float *dw, float *dx, int chw)
{
    const int k = nn_conv_k(d), p = nn_conv_p(d);
    const size_t xi = (size_t)d->c * d->h * d->w, yi = (size_t)d->oc * p;
    float *col = nt_alloc(sizeof(float) * nn_conv_scratch(d));
    float *xh = nt_alloc(sizeof(float) * xi), *yh = nt_alloc(sizeof(float) * yi);
    float *dyh = nt_alloc(sizeof(float) * yi), *dxh = nt_alloc(sizeof(float) * xi);
    float *wh = nt_alloc(sizeof(float) * (size_t)d->oc * k);
    float *dwh = nt_alloc(sizeof(float) * (size_t)d->oc * k);
    nn_conv_weight_to_hwc(d, w, wh);
    for (int i = 0; i < n; i++) {
        nn_chw_to_hwc(dy + i * yi, d->oc, d->oh, d->ow, dyh);
        if (chw) {
            nn_conv_chw_fwd(d, x + i * xi, w, yh, col);
            nn_conv_chw_bwd(d, x + i * xi, dyh, dwh, col); /* (K, OC) */
        } else {
            nn_chw_to_hwc(x + i * xi, d->c, d->h, d->w, xh);
            nn_conv_hwc_fwd(d, xh, wh, yh, col);
            nn_conv_hwc_bwd(d, xh, wh, dyh, dwh, dx ? dxh : NULL, col);
            if (dx)
                nn_hwc_to_chw(dxh, d->h, d->w, d->c, dx + i * xi);
        }
        nn_hwc_to_chw(yh, d->oh, d->ow, d->oc, y + i * yi);
    }
    if (chw) {
        for (int o = 0; o < d->oc; o++)
            for (int j = 0; j < k; j++)
                dw[(size_t)o * k + j] = dwh[(size_t)j * d->oc + o];
    } else {
        memset(dw, 0, sizeof(float) * (size_t)d->oc * k);
        nn_conv_weight_add_from_hwc(d, dwh, dw);
    }
    free(col), free(xh), free(yh), free(dyh), free(dxh), free(wh), free(dwh);
}

#endif
