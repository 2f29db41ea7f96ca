/* cmd_compare.c - constsim compare: reports and sweep aggregates side by side (docs/report.md). */
#include "cli.h"
#include "cs.h"
#include "rep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: constsim compare REPORT.json|SWEEP.json|DIR [...] [--csv] [--sort KEY]\n\n"
               "A side-by-side table of reports (constsim run output) and sweep aggregates\n"
               "(constsim sweep output: DIR/sweep.json, or DIR itself). One row per run of a\n"
               "report, one per point and precision of a sweep; a failed or pending point is one\n"
               "row with its status in the precision column and no figures.\n\n"
               "columns (--sort KEY in brackets; * marks the best value of a column, equal\n"
               "values all marked, no mark when fewer than two rows have a value):\n"
               "  source            the report's scenario name, or the sweep point: its id and\n"
               "                    values (\"p0003 rounds=4 clients=5\": each key shortened to\n"
               "                    its last dotted parts that no other axis key ends with)\n"
               "  precision         wire precision of the run\n"
               "  accuracy  [accuracy]  final test accuracy; best: highest\n"
               "  drop      [drop]      points below the fp32 run of the same report or point;\n"
               "                        best: lowest\n"
               "  payload   [payload]   size of one serialised model; best: smallest\n"
               "  compress  [compress]  fp32 payload / payload; best: highest\n"
               "  bytes     [bytes]     bytes moved, both directions; best: fewest\n"
               "  cost      [cost]      ground-station cost in USD; best: lowest\n"
               "  rounds    [rounds]    rounds completed; best: most\n"
               "  sim time  [sim_time]  simulated time of the last aggregation; best: earliest\n"
               "A sweep.json holds no payload or compression: they come from the point's report\n"
               "(points/pNNNN.json) when it exists, else \"-\".\n\n"
               "options:\n"
               "  --csv        the same rows as CSV on stdout (RFC 4180 quoting): a header row,\n"
               "               the input file and a status column, raw numbers that read back\n"
               "               exactly (accuracy as a fraction, bytes as integers, seconds), no\n"
               "               marks, empty cells for unknown figures\n"
               "  --sort KEY   rows best first by that column (equal values keep their order,\n"
               "               rows without a value last)\n\n"
               "A note follows the table (on stderr with --csv) when the reports ran with\n"
               "different thread counts or BLAS kernels.\n\n"
               "exit status: 0 success, 1 out of memory, 2 bad usage or a file that is not a\n"
               "report or sweep (or a folder without sweep.json).\n");
}

/* "accuracy, drop, ..." */
static void sort_keys(char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (int col = 0; col < REP_COL_N && len < cap; col++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", col ? ", " : "",
                                rep_col_get((rep_col)col)->key);
}

int cmd_compare(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    bool csv = false;
    int sort = -1, n_inputs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--csv") == 0) {
            csv = true;
        } else if (strcmp(argv[i], "--sort") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("compare", "--sort needs a KEY");
            sort = rep_col_find(argv[++i]);
            if (sort < 0) {
                char keys[256];
                sort_keys(keys, sizeof keys);
                return cli_usage_error("compare", "--sort: unknown key \"%s\" (one of: %s)",
                                       argv[i], keys);
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("compare", "unknown option \"%s\"", argv[i]);
        } else {
            n_inputs++;
        }
    }
    if (n_inputs == 0)
        return cli_usage_error("compare", "expected at least one REPORT.json, SWEEP.json or DIR");

    rep_cmp c;
    rep_cmp_init(&c);
    cs_err err;
    cs_err_clear(&err);
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (strcmp(argv[i], "--sort") == 0)
            i++;
        else if (strcmp(argv[i], "--csv") != 0 && rep_cmp_add(&c, argv[i], &err)) {
            cs_err_print(&err, stderr);
            rc = err.code == CS_ENOMEM ? 1 : 2;
        }
    }
    char *text = NULL;
    if (rc == 0) {
        if ((sort >= 0 && rep_cmp_sort(&c, (rep_col)sort)) ||
            !(text = csv ? rep_cmp_csv(&c) : rep_cmp_table(&c))) {
            fprintf(stderr, "constsim compare: out of memory\n");
            rc = 1;
        }
    }
    if (rc == 0) {
        fputs(text, stdout);
        char note[512];
        if (rep_cmp_machine_note(&c, note, sizeof note))
            fprintf(csv ? stderr : stdout, "%s\n", note);
    }
    free(text);
    rep_cmp_deinit(&c);
    return rc;
}
