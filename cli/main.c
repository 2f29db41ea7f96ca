/* main.c - ./constsim: dispatches to one subcommand. */
#include "cli.h"
#include "cs.h"
#include "cs_host.h"

#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"run", cmd_run, "run a scenario: federated learning over link windows, report JSON"},
    {"contacts", cmd_contacts, "the contact plan of a scenario (CSV or JSON)"},
    {"sweep", cmd_sweep,
     "grids of scenario variants: one report per point, aggregate, resumable, MPI"},
    {"compare", cmd_compare, "side-by-side table of reports and sweeps (best marked, CSV, sort)"},
    {"plot", cmd_plot,
     "plots of a report or a sweep with gnuplot (report curves, sweep heatmaps, Pareto front)"},
    {"viz", cmd_viz, "SDL2 orbit and link view, live or replayed; headless frames (PNG, JSON)"},
    {"train", cmd_train, "centralised training baseline on the EuroSAT train split"},
    {"eval", cmd_eval, "accuracy and loss of a saved model"},
    {"quantize", cmd_quantize, "post-training quantisation study (FP32/FP16/INT8/INT4/ternary)"},
    {"bench", cmd_bench, "benchmarks (train, contacts, codec)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: constsim COMMAND [ARGS...]\n\n"
               "A discrete-event satellite-constellation simulator with federated learning.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'constsim COMMAND --help' describes each available command. constsim %s\n",
            CONSTSIM_VERSION);
}

int main(int argc, char **argv)
{
    /* Library code checks GSL return codes itself; never let GSL abort the process. */
    gsl_set_error_handler_off();
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        const char *build = cs_build_version();
        if (strcmp(build, CONSTSIM_VERSION) == 0)
            printf("constsim %s\n", CONSTSIM_VERSION);
        else
            printf("constsim %s (%s)\n", CONSTSIM_VERSION, build);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "constsim: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}
