/* test_nn_conv512.c - the direct AVX-512 convolutions (ml/nn_conv512.c) against the double
 * reference convolution of ml/nn_ref.c: forward, weight gradient (accumulated over two images,
 * as the model does) and input gradient, on the model's three layer shapes and on small odd ones
 * (every tile width, one output pixel, non-square kernels, 16 and 48 channels); then the whole
 * model with the direct kernels against the im2col/im2row + sgemm path. Skips (77) on a CPU
 * without AVX-512F.
 */
#include "cs_rng.h"
#include "nn.h"
#include "nn_layers.h"
#include "nn_ref.h"
#include "nn_test_util.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

static cs_rng rng;

static double maxabs_d(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

static double worst_rel(const float *a, const double *b, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e = fmax(e, fabs((double)a[i] - b[i]));
    return e / fmax(maxabs_d(b, n), 1e-30);
}

/* n = 2 images, NCHW at the edges as the oracle; the kernels see HWC (or CHW for chw). */
static void conv_case(const char *name, int c, int h, int w, int oc, int kh, int kw, bool chw)
{
    const int n = 2;
    const nn_conv_dims d = nn_conv_dims_make(c, h, w, oc, kh, kw);
    T_TRUE(nn_conv512_fits(&d, chw));
    const int k = nn_conv_k(&d), p = nn_conv_p(&d);
    const size_t xi = (size_t)c * h * w, yi = (size_t)oc * p, nw = (size_t)oc * k;
    double *x = nt_alloc(8 * n * xi), *wt = nt_alloc(8 * nw), *y = nt_alloc(8 * n * yi);
    double *dy = nt_alloc(8 * n * yi), *dx = nt_alloc(8 * n * xi), *dw = nt_alloc(8 * nw);
    float *fx = nt_alloc(4 * n * xi), *fw = nt_alloc(4 * nw), *fdy = nt_alloc(4 * n * yi);
    float *fy = nt_alloc(4 * n * yi), *fdx = nt_alloc(4 * n * xi), *fdw = nt_alloc(4 * nw);
    float *xh = nt_alloc(4 * xi), *yh = nt_alloc(4 * yi), *dyh = nt_alloc(4 * yi);
    float *dxh = nt_alloc(4 * xi), *dwk = nt_alloc(4 * nw);
    float *pack = nt_alloc(4 * nn_conv512_pack_floats(&d, chw));
    const double bound = 1.0 / sqrt((double)k);
    for (size_t i = 0; i < n * xi; i++)
        fx[i] = (float)(x[i] = 2 * cs_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < nw; i++)
        fw[i] = (float)(wt[i] = bound * (2 * cs_rng_uniform(&rng) - 1));
    for (size_t i = 0; i < n * yi; i++)
        fdy[i] = (float)(dy[i] = 2 * cs_rng_uniform(&rng) - 1);
    nn_ref_conv2d_fwd(n, c, h, w, oc, kh, kw, x, wt, NULL, y);
    nn_ref_conv2d_bwd(n, c, h, w, oc, kh, kw, x, wt, dy, chw ? NULL : dx, dw, NULL);

    nn_conv512_pack(&d, chw, fw, pack);
    for (int i = 0; i < n; i++) {
        const float *xin = fx + i * xi;
        if (!chw) {
            nn_chw_to_hwc(fx + i * xi, c, h, w, xh);
            xin = xh;
        }
        nn_chw_to_hwc(fdy + i * yi, oc, d.oh, d.ow, dyh);
        memset(dxh, 0xff, 4 * xi); /* NaN: the kernel must overwrite every element */
        nn_conv512_fwd(&d, chw, xin, pack, yh);
        nn_conv512_bwd(&d, chw, xin, pack, dyh, dwk, chw ? NULL : dxh);
        nn_hwc_to_chw(yh, d.oh, d.ow, oc, fy + i * yi);
        if (!chw)
            nn_hwc_to_chw(dxh, h, w, c, fdx + i * xi);
    }
    memset(fdw, 0, 4 * nw);
    nn_conv512_grad_add(&d, chw, dwk, fdw);
    fprintf(stderr, "%-8s c %2d h %2d w %2d oc %2d k %dx%d %s: y %.2e  dw %.2e  dx %.2e\n", name, c,
            h, w, oc, kh, kw, chw ? "chw" : "hwc", worst_rel(fy, y, n * yi), worst_rel(fdw, dw, nw),
            chw ? 0.0 : worst_rel(fdx, dx, n * xi));
    /* Relative to each tensor's largest value, as the GEMM kernels in test_nn_unit: float sums
     * of up to 1600 products with FMA (~1e-7 of the scale for random signs); one missing or
     * wrong product moves an element by ~1/K of the scale, 6e-4 or more. */
    T_ARRAY_NEAR_REL(fy, y, n * yi, 2e-6, maxabs_d(y, n * yi));
    T_ARRAY_NEAR_REL(fdw, dw, nw, 2e-6, maxabs_d(dw, nw));
    if (!chw)
        T_ARRAY_NEAR_REL(fdx, dx, n * xi, 2e-6, maxabs_d(dx, n * xi));
    free(x), free(wt), free(y), free(dy), free(dx), free(dw);
    free(fx), free(fw), free(fdy), free(fy), free(fdx), free(fdw);
    free(xh), free(yh), free(dyh), free(dxh), free(dwk), free(pack);
}

/* The model on both paths: the same loss and logits up to float rounding of the convolution
 * sums. (Gradients: test_nn_gradcheck checks each path against the double reference network.
 * Between two float paths a max-pool window or a ReLU within rounding of a tie can go either
 * way and move the gradient of a pixel, so they are not compared with each other here.) */
static void model_paths(void)
{
    enum { B = 4 };
    cs_err err;
    cs_err_clear(&err);
    nn_model *m = nn_model_create(B, &err);
    T_TRUE(m != NULL);
    if (!m)
        return;
    float *x = nt_alloc(sizeof(float) * B * NN_IN_SIZE);
    uint8_t y[B];
    for (size_t i = 0; i < (size_t)B * NN_IN_SIZE; i++)
        x[i] = 2.0f * cs_rng_uniformf(&rng) - 1.0f;
    for (int i = 0; i < B; i++)
        y[i] = (uint8_t)cs_rng_below(&rng, NN_CLASSES);
    float loss[2], logits[2][B * NN_CLASSES], eval[2][B * NN_CLASSES];
    for (int path = 0; path < 2; path++) {
        T_EQ(nn_conv_set_direct(path == 1), path == 1);
        nn_model_init(m, 5);
        nn_model_set_training(m, true);
        loss[path] = nn_model_forward_backward(m, x, y, B, NULL);
        memcpy(logits[path], nn_model_logits(m), sizeof logits[path]);
        nn_model_set_training(m, false);
        nn_model_forward(m, x, B, eval[path]);
    }
    nn_conv_set_direct(true);
    double scale = 0, escale = 0;
    for (int i = 0; i < B * NN_CLASSES; i++) {
        scale = fmax(scale, fabs((double)logits[0][i]));
        escale = fmax(escale, fabs((double)eval[0][i]));
    }
    /* float sums in another order through three conv layers: ~1e-6 of the scale (as the fast
     * model against the double reference in test_nn_gradcheck, 1e-4) */
    T_NEAR_REL(loss[1], loss[0], 1e-5, 1.0);
    T_ARRAY_NEAR_REL(logits[1], logits[0], B * NN_CLASSES, 1e-4, scale);
    T_ARRAY_NEAR_REL(eval[1], eval[0], B * NN_CLASSES, 1e-4, escale);
    free(x);
    nn_model_destroy(m);
}

int main(void)
{
    if (!nn_conv512_available()) {
        fprintf(stderr, "SKIP: this CPU has no AVX-512F\n");
        return 77;
    }
    cs_rng_derive(&rng, 512, CS_RNG_SYNTH, 0);
    /* the model's layers */
    conv_case("conv1", 3, 64, 64, 32, 5, 5, true);
    conv_case("conv2", 32, 30, 30, 64, 5, 5, false);
    conv_case("conv3", 64, 13, 13, 96, 3, 3, false);
    /* odd shapes: output widths 1..30 (every tile width, split rows), one output pixel,
     * non-square kernels, 16 / 48 channels (one-vector tiles), 1 input channel */
    for (int ow = 1; ow <= 30; ow += 1)
        conv_case("width", 16, 4, ow + 2, 32, 3, 3, false);
    conv_case("1 pixel", 16, 3, 3, 16, 3, 3, false);
    conv_case("1x1", 48, 5, 7, 16, 1, 1, false);
    conv_case("2x4", 32, 6, 20, 48, 2, 4, false);
    conv_case("4x1", 16, 9, 5, 64, 4, 1, false);
    conv_case("c48", 48, 7, 8, 96, 3, 2, false);
    conv_case("chw", 3, 7, 33, 16, 5, 3, true);
    conv_case("chw 1ch", 1, 5, 17, 48, 2, 3, true);
    conv_case("chw 28", 2, 4, 31, 64, 3, 4, true);
    T_TRUE(!nn_conv512_fits(&(nn_conv_dims){8, 5, 5, 16, 3, 3, 3, 3, 3}, false));
    T_TRUE(nn_conv512_fits(&(nn_conv_dims){8, 5, 5, 16, 3, 3, 3, 3, 3}, true));
    T_TRUE(!nn_conv512_fits(&(nn_conv_dims){16, 5, 5, 24, 3, 3, 3, 3, 3}, false));
    model_paths();
    return t_done();
}
