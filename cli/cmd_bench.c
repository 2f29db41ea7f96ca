/* cmd_bench.c - constsim bench KIND: dispatches to one benchmark (cli/bench_<kind>.c). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: constsim bench KIND [OPTIONS]\n\n"
               "Benchmarks; each prints one JSON object on stdout.\n\n"
               "kinds:\n"
               "  train     training throughput of the CNN on synthetic input (images_per_s)\n"
               "  eval      inference throughput of the CNN on EuroSAT images, FP32 or decoded\n"
               "            FP16/INT8 weights (images_per_s, accuracy)\n"
               "  contacts  contact-window search for a large Walker shell\n"
               "  codec     encode + decode time of the wire codecs\n"
               "  viz       frame time of the view (software renderer, offscreen)\n\n"
               "'constsim bench KIND --help' lists the options of each.\n");
}

int cmd_bench(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "train") == 0)
        return bench_train(argc - 1, argv + 1);
    if (strcmp(argv[1], "eval") == 0)
        return bench_eval(argc - 1, argv + 1);
    if (strcmp(argv[1], "contacts") == 0)
        return bench_contacts(argc - 1, argv + 1);
    if (strcmp(argv[1], "codec") == 0)
        return bench_codec(argc - 1, argv + 1);
    if (strcmp(argv[1], "viz") == 0)
        return bench_viz(argc - 1, argv + 1);
    fprintf(stderr, "constsim bench: unknown kind \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
