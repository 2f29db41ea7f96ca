/* rep.h - scenario reports (module prefix rep_): the JSON document of ../shared/spec/REPORT.md
 * plus the extensions in docs/report.md, written atomically; loading reports back and the
 * side-by-side comparison table used by `constsim run` and `constsim compare`.
 *
 * Ownership: every cJSON returned is new and owned by the caller (cJSON_Delete); every string
 * returned is malloc'd (free).
 */
#ifndef REP_H
#define REP_H

#include "cs.h"
#include "fl_study.h"

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

#define REP_FORMAT "constsim-report/1"

/* The report of a finished study. NULL (err filled) when out of memory. */
struct cJSON *rep_build(const fl_study *s, cs_err *err);

/* Where a report was made (its "machine" object, docs/report.md). The strings are borrowed
 * except cpu. */
typedef struct rep_machine {
    const char *constsim_version; /* cs_build_version() */
    int threads;                  /* compute threads the run used (--threads resolved) */
    nn_blas_info blas;            /* nn_blas_describe() */
    char cpu[128];                /* cs_host_cpu_model() */
    int cores;                    /* cs_host_cpus() */
} rep_machine;

/* The facts of this process, for a run that used `threads` compute threads. */
void rep_machine_probe(rep_machine *m, int threads);

/* rep_build with m as the report's machine. rep_build(s, err) is rep_build_on(s, NULL, err):
 * NULL m stands for rep_machine_probe with nn_threads(). */
struct cJSON *rep_build_on(const fl_study *s, const rep_machine *m, cs_err *err);

/* Writes j, formatted, to path atomically (temporary file, fsync, rename), creating the
 * folder. */
int rep_write(const struct cJSON *j, const char *path, cs_err *err);

/* Reads and parses a report; CS_EINVAL (with the byte offset of a syntax error, or the missing
 * field) when it is not a constsim report. */
int rep_load(const char *path, struct cJSON **out, cs_err *err);

/* The comparison table of the runs of n reports, one row per run, as text ending in '\n'.
 * Columns: [scenario] precision, accuracy, drop (points vs the report's fp32 run), payload,
 * compression, bytes, cost, rounds, sim time, [wall time]. NULL when out of memory. */
char *rep_table(const struct cJSON *const *reports, size_t n, bool with_scenario, bool with_wall);

/* When reports that have a "machine" differ in its threads or BLAS core, writes one line
 * naming the values found (without '\n', truncated to cap) and returns true: their figures
 * are not expected to agree bit for bit. Reports without "machine" are left out. */
bool rep_machine_note(const struct cJSON *const *reports, size_t n, char *out, size_t cap);

#endif
