/* cli.h - the subcommands of ./constsim. Each lives in cli/cmd_<name>.c, parses its own
 * arguments, calls the modules, and prints. Exit codes: 0 success, 1 failed run,
 * 2 bad usage or bad input (../shared/spec/CLI.md). */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>

int cmd_run(int argc, char **argv);
int cmd_contacts(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_viz(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* constsim bench KIND (cli/bench_<kind>.c); argv[0] is the kind. */
int bench_train(int argc, char **argv);
int bench_contacts(int argc, char **argv);
int bench_codec(int argc, char **argv);

/* Shared helpers (cli/cli.c). */
/* True if argv[1..] holds -h or --help. */
bool cli_wants_help(int argc, char **argv);
/* Parses a non-negative integer option value; prints "constsim CMD: OPT: ..." and returns -1 if bad. */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long min, long max, long *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max,
                     double *out);
/* Online processors (at least 1): the default thread count. */
int cli_cpu_count(void);
/* True when progress may redraw a line on stderr (stderr is a terminal). */
bool cli_progress_tty(void);
/* Prints "constsim CMD: message" to stderr and returns 2 (for bad usage). */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
