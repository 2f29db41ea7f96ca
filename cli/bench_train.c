/* bench_train.c - constsim bench train: training throughput of the CNN on synthetic input.
 *
 * A fixed-seed model and batch (x uniform in [-1, 1), random labels), Adam (lr 1e-3); each timed
 * step is forward + loss + backward + optimiser step, as in bench/pytorch_train_bench.py.
 * Warm-up steps are not timed. Prints one JSON object; images_per_s = batch / median step time.
 */
#include "cli.h"
#include "cs.h"
#include "cs_host.h"
#include "cs_rng.h"
#include "nn.h"
#include "nn_layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: constsim bench train [--threads T] [--batches N] [--batch B] [--warmup W]\n"
               "                            [--conv direct|gemm]\n\n"
               "Training throughput of the EuroSAT CNN on synthetic input (fixed seed, Adam).\n"
               "Prints one JSON object: images_per_s, ms_per_batch (median), threads, batch.\n\n"
               "options:\n"
               "  --threads T   kernel threads (default: all processors)\n"
               "  --batches N   timed batches (default 20)\n"
               "  --batch B     images per batch (default 32)\n"
               "  --warmup W    untimed batches first (default 3)\n"
               "  --conv K      convolution kernels: direct (AVX-512, where the CPU has it; the\n"
               "                default) or gemm (im2col/im2row + sgemm)\n");
}

int bench_train(int argc, char **argv)
{
    const char *cmd = "bench train";
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    long threads = cs_host_cpus(), batches = 20, batch = 32, warmup = 3;
    bool direct = true;
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--conv") == 0) {
            if (!v || (strcmp(v, "direct") != 0 && strcmp(v, "gemm") != 0))
                return cli_usage_error(cmd, "--conv expects direct or gemm, got \"%s\"",
                                       v ? v : "");
            direct = strcmp(v, "direct") == 0;
            continue;
        }
        long *dst = strcmp(o, "--threads") == 0   ? &threads
                    : strcmp(o, "--batches") == 0 ? &batches
                    : strcmp(o, "--batch") == 0   ? &batch
                    : strcmp(o, "--warmup") == 0  ? &warmup
                                                  : NULL;
        if (!dst)
            return cli_usage_error(cmd, "unknown option \"%s\"", o);
        const long lo = dst == &warmup ? 0 : 1;
        const long hi = dst == &threads ? 256 : dst == &batch ? 4096 : 100000;
        if (cli_parse_int(cmd, o, v, lo, hi, dst) != 0)
            return 2;
    }

    nn_set_threads((int)threads);
    const char *conv = nn_conv_set_direct(direct) ? "direct-avx512" : "im2col-sgemm";
    cs_err err;
    cs_err_clear(&err);
    nn_model *m = nn_model_create((int)batch, &err);
    nn_opt_cfg cfg = nn_opt_default(NN_OPT_ADAM, 1e-3f);
    nn_opt *o = m ? nn_opt_create(&cfg, NN_PARAMS, &err) : NULL;
    size_t nx = 0;
    float *x = NULL;
    uint8_t *y = NULL;
    double *times = NULL;
    if (o && cs_size_mul((size_t)batch, NN_IN_SIZE * sizeof(float), &nx) == 0) {
        x = malloc(nx);
        y = malloc((size_t)batch);
        times = malloc(sizeof(double) * (size_t)batches);
    }
    if (!m || !o || !x || !y || !times) {
        if (err.code == 0)
            cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory for batch %ld", batch);
        cs_err_print(&err, stderr);
        free(x);
        free(y);
        free(times);
        nn_opt_destroy(o);
        nn_model_destroy(m);
        return cs_err_exit_code(&err);
    }
    nn_model_init(m, 1);
    cs_rng r;
    cs_rng_derive(&r, 1, CS_RNG_SYNTH, 0);
    for (size_t i = 0; i < (size_t)batch * NN_IN_SIZE; i++)
        x[i] = 2.0f * cs_rng_uniformf(&r) - 1.0f;
    for (long i = 0; i < batch; i++)
        y[i] = (uint8_t)cs_rng_below(&r, NN_CLASSES);

    float loss = 0;
    float *params = nn_model_state(m);
    const float *grads = nn_model_grads(m);
    for (long s = 0; s < warmup + batches; s++) {
        const double t0 = cs_wall_s();
        loss = nn_model_forward_backward(m, x, y, (int)batch, NULL);
        nn_opt_step(o, params, grads);
        const double dt = cs_wall_s() - t0;
        if (s >= warmup)
            times[s - warmup] = dt;
    }
    const double med = cli_median(times, (size_t)batches); /* sorts: times[0] is the fastest */
    const double fpi = nn_model_train_flops_per_image();
    printf("{\"framework\": \"constsim\", \"images_per_s\": %.2f, \"ms_per_batch\": %.3f, "
           "\"ms_per_batch_min\": %.3f, \"threads\": %ld, \"batch\": %ld, \"batches\": %ld, "
           "\"warmup\": %ld, \"gflops\": %.1f, \"blas_core\": \"%s\", \"conv\": \"%s\", "
           "\"loss_last\": %.6f}\n",
           batch / med, med * 1e3, times[0] * 1e3, threads, batch, batches, warmup,
           fpi * batch / med * 1e-9, nn_blas_core(), conv, (double)loss);
    free(x);
    free(y);
    free(times);
    nn_opt_destroy(o);
    nn_model_destroy(m);
    return 0;
}
