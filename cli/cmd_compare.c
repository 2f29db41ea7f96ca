/* cmd_compare.c - constsim compare: a side-by-side table of the runs of several reports. */
#include "cli.h"
#include "cs.h"
#include "rep.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: constsim compare REPORT.json [REPORT.json]...\n\n"
               "Prints one row per run of every report (constsim run output): scenario,\n"
               "precision, final accuracy, drop in points vs the report's fp32 run, payload size,\n"
               "compression vs fp32, bytes moved, cost (USD), rounds completed and the simulated\n"
               "time of the last aggregation. A note follows when the reports ran with\n"
               "different thread counts or BLAS kernels.\n\n"
               "exit status: 0 success, 2 bad usage or a file that is not a report.\n");
}

int cmd_compare(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2)
        return cli_usage_error("compare", "expected at least one REPORT.json");
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error("compare", "unknown option \"%s\"", argv[i]);
    size_t n = (size_t)argc - 1;
    cJSON **reports = calloc(n, sizeof *reports);
    if (!reports) {
        fprintf(stderr, "constsim compare: out of memory\n");
        return 1;
    }
    int rc = 0;
    cs_err err;
    cs_err_clear(&err);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (rep_load(argv[i + 1], &reports[i], &err)) {
            cs_err_print(&err, stderr);
            rc = 2;
        }
    if (rc == 0) {
        char *table = rep_table((const cJSON *const *)reports, n, true, false);
        if (!table) {
            fprintf(stderr, "constsim compare: out of memory\n");
            rc = 1;
        } else {
            fputs(table, stdout);
            free(table);
            char note[512];
            if (rep_machine_note((const cJSON *const *)reports, n, note, sizeof note))
                printf("%s\n", note);
        }
    }
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(reports[i]);
    free(reports);
    return rc;
}
