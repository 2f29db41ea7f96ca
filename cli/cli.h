/* cli.h - the subcommands of ./constsim. Each lives in cli/cmd_<name>.c, parses its own
 * arguments, calls the modules, and prints. Exit codes: 0 success, 1 failed run,
 * 2 bad usage or bad input (../shared/spec/CLI.md). */
#ifndef CLI_H
#define CLI_H

#include "cs.h"
#include "nn_data.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct scn_config;

int cmd_run(int argc, char **argv);
int cmd_contacts(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_viz(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* constsim bench KIND (cli/bench_<kind>.c); argv[0] is the kind. */
int bench_train(int argc, char **argv);
int bench_eval(int argc, char **argv);
int bench_contacts(int argc, char **argv);
int bench_codec(int argc, char **argv);
int bench_viz(int argc, char **argv);

/* Shared helpers (cli/cli.c). */
/* True if argv[1..] holds -h or --help. */
bool cli_wants_help(int argc, char **argv);
/* Parses a non-negative integer option value; prints "constsim CMD: OPT: ..." and returns -1 if
 * bad. */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long min, long max, long *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max,
                     double *out);
/* Parses a frame size "WxH" (320x200 .. 16384x16384); prints the error and returns -1 if bad. */
int cli_parse_size(const char *cmd, const char *opt, const char *s, int *w, int *h);
/* Sorts v[0..n) (n >= 1) in place and returns its median (the mean of the middle two for even
 * n): the figure the benchmarks quote. */
double cli_median(double *v, size_t n);
/* True when progress may redraw a line on stderr (stderr is a terminal). */
bool cli_progress_tty(void);

/* Progress of a contact plan (the hook of sim_plan_build_opts), for run and contacts: on a
 * terminal a live line, redrawn at most five times a second; otherwise a line every
 * every_s seconds. Plans shorter than after_s show nothing. cli_plan_progress_end erases the
 * live line (call it whether the plan was built or not, before printing anything else). */
typedef struct cli_plan_progress {
    const char *cmd; /* the lines' prefix: "run", "contacts" */
    FILE *out;       /* borrowed: stderr */
    bool tty;        /* redraw one line */
    double after_s;  /* nothing before this many seconds: 2 */
    double every_s;  /* seconds between lines when not a terminal: 5 */
    double t0, last; /* wall clock at the start and at the last line drawn */
    int drawn;       /* lines drawn (or live line redraws) */
    bool live;       /* a live line is on screen */
} cli_plan_progress;
/* Defaults for cmd, on stderr; the clock starts now. */
void cli_plan_progress_init(cli_plan_progress *p, const char *cmd);
/* The hook (user: a cli_plan_progress). */
void cli_plan_progress_show(void *user, uint64_t pairs_done, uint64_t pairs_total);
void cli_plan_progress_end(cli_plan_progress *p);
/* Prints "constsim CMD: message" to stderr and returns 2 (for bad usage). */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The dataset options shared by train, eval and quantize. */
typedef struct cli_data_opts {
    const char *data;     /* --data DIR; NULL: the lookup order */
    long seed;            /* --seed: split (and, for train, everything else) */
    double test_fraction; /* --test-fraction */
    long threads;         /* --threads; 0: all cores */
    long batch;           /* --batch */
} cli_data_opts;
/* Defaults: lookup order, seed 1, test fraction 0.2, all cores, the given batch. */
cli_data_opts cli_data_defaults(long batch);
/* If argv[*i] is --data, --seed, --test-fraction, --threads or --batch, consumes it and its
 * value (advancing *i) and returns 1; returns 0 for any other argument, -1 after printing the
 * error for a bad value. */
int cli_data_opt(const char *cmd, int argc, char **argv, int *i, cli_data_opts *o);
/* Prints the usage lines of those options (batch_help describes --batch). */
void cli_data_usage(FILE *f, const char *batch_help);
/* Sets the compute threads (0 -> all cores, stored back into o), finds, decodes and splits the
 * dataset (root is written into ds->root). */
int cli_data_open(cli_data_opts *o, nn_dataset *ds, uint32_t **train, size_t *n_train,
                  uint32_t **test, size_t *n_test, cs_err *err);
/* The fail-early check of what a scenario run writes (run, viz): the report at out (NULL:
 * cfg->report.path) and, when models, the model folder beside it (fl_model_dir), both with
 * cs_check_writable, before the plan and the dataset. */
int cli_check_run_outputs(const struct scn_config *cfg, const char *out, bool models, cs_err *err);
/* Prints j unformatted on one line of stdout, then deletes it. */
void cli_print_json(struct cJSON *j);

#endif
