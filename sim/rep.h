/* rep.h - scenario reports (module prefix rep_): the JSON document of ../shared/spec/REPORT.md
 * plus the extensions in docs/report.md, written atomically; loading reports back, the
 * comparison table of `constsim run`, and the rows of `constsim compare` (reports and sweep
 * aggregates side by side, sim/rep_compare.c).
 *
 * Ownership: every cJSON returned is new and owned by the caller (cJSON_Delete); every string
 * returned is malloc'd (free).
 */
#ifndef REP_H
#define REP_H

#include "cs.h"
#include "cs_buf.h"
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
    const char *conv;             /* nn_conv_kernels() */
    char cpu[128];                /* cs_host_cpu_model() */
    int cores;                    /* cs_host_cpus() */
} rep_machine;

/* The facts of this process, for a run that used `threads` compute threads. */
void rep_machine_probe(rep_machine *m, int threads);

/* rep_build with m as the report's machine. rep_build(s, err) is rep_build_on(s, NULL, err):
 * NULL m stands for rep_machine_probe with nn_threads(). */
struct cJSON *rep_build_on(const fl_study *s, const rep_machine *m, cs_err *err);

/* A JSON number that reads back as exactly x (cs_fmt_double; null when x is not finite), where
 * cJSON_CreateNumber can lose the last bit: how reports, sweep aggregates and viz frames print
 * doubles. NULL when out of memory. */
struct cJSON *rep_number(double x);

/* Writes j, formatted, to path atomically (temporary file, fsync, rename), creating the
 * folder. */
int rep_write(const struct cJSON *j, const char *path, cs_err *err);

/* Writes the outputs of study s as one unit: every model file (the runs' final models, the PTQ
 * files) and the report, each staged beside its target (temporary file, fsync), then renamed,
 * the report last; the report records each model's SHA-256 (s->model_sha256, ptq[].sha256 are
 * filled). On failure nothing staged is left behind, and the model folder is removed if it is
 * empty. extra (may be NULL): an object whose members are added to the report (copied). *out
 * receives the report written (the caller owns it). */
int rep_write_study(fl_study *s, const rep_machine *m, const struct cJSON *extra,
                    struct cJSON **out, cs_err *err);

/* Writes, atomically, a report whose "status" is "incomplete": what a run leaves at its report
 * path until it finishes (the scenario's settings, the checkpoint path and the command that
 * resumes it, either may be NULL). rep_load refuses such a report, saying so. */
int rep_write_incomplete(const scn_config *cfg, const char *path, const char *checkpoint,
                         const char *resume, cs_err *err);

/* Reads and parses any JSON file into *out (owned by the caller); CS_EINVAL with the byte offset
 * of a syntax error. */
int rep_parse_json(const char *path, struct cJSON **out, cs_err *err);
/* Same, from len bytes of text in memory (need not be NUL-terminated); path only labels errors.
 * rep_parse_json reads the file and calls this. */
int rep_parse_json_text(const char *path, const char *text, size_t len, struct cJSON **out,
                        cs_err *err);

/* CS_EINVAL naming path unless j is a complete constsim report: its "format", a "status" of
 * "complete" when present (an incomplete one says so and how to resume it), a "runs" array.
 * The one check of rep_load, compare and plot. */
int rep_check_report(const struct cJSON *j, const char *path, cs_err *err);

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

/* ---- constsim compare (sim/rep_compare.c, docs/report.md) ----------------------------------- */

/* The figures of a comparison row, in table order. */
typedef enum rep_col {
    REP_COL_ACCURACY, /* final accuracy, fraction correct: highest is best */
    REP_COL_DROP,     /* points below the fp32 run of the same report or point: lowest is best */
    REP_COL_PAYLOAD,  /* bytes of one serialised model: smallest is best */
    REP_COL_COMPRESS, /* fp32 payload / payload: highest is best */
    REP_COL_BYTES,    /* bytes moved, both directions: fewest is best */
    REP_COL_COST,     /* USD: lowest is best */
    REP_COL_ROUNDS,   /* rounds completed: most is best */
    REP_COL_SIM_TIME, /* simulated seconds to the last aggregation: earliest is best */
    REP_COL_N
} rep_col;

typedef struct rep_col_info {
    const char *key;   /* the --sort key: "accuracy", "sim_time", ... */
    const char *title; /* the table heading: "accuracy", "sim time", ... */
    const char *field; /* the report field and CSV heading: "accuracy", "sim_time_s", ... */
    int best;          /* +1: the highest value is best, -1: the lowest */
} rep_col_info;

/* The facts of column c (c < REP_COL_N). */
const rep_col_info *rep_col_get(rep_col c);
/* The column whose key is key; -1 when there is none. */
int rep_col_find(const char *key);

typedef enum rep_status { REP_DONE, REP_FAILED, REP_PENDING } rep_status;

/* One row: a run of a report, or a precision of a sweep point (one row with status failed or
 * pending and no figures for a point that is not done). Strings are offsets into rep_cmp.text
 * (rep_cmp_str), which grows as inputs are added. */
typedef struct rep_row {
    size_t file;      /* the input file: the report or the sweep.json */
    size_t source;    /* the report's scenario name, or "p0003 rounds=4 clients=5" */
    size_t precision; /* "fp32", ...; "" for a point that is not done */
    size_t message;   /* why a sweep point failed (points[].message), else "" */
    rep_status status;
    bool point;          /* a sweep point's row (else a report's run) */
    size_t order;        /* position in input order (sorting is stable through it) */
    double v[REP_COL_N]; /* NaN when unknown */
} rep_row;

/* The rows of several inputs, and the machine facts of every report read. */
typedef struct rep_cmp {
    rep_row *rows; /* owned */
    size_t n_rows, cap_rows;
    cs_buf text;             /* owned: the strings of the rows, NUL-separated */
    struct cJSON **machines; /* owned: {"machine": ...} of every report read (rep_machine_note) */
    size_t n_machines, cap_machines;
} rep_cmp;

void rep_cmp_init(rep_cmp *c);
void rep_cmp_deinit(rep_cmp *c);
/* Adds the rows of path: a report (REP_FORMAT), a sweep aggregate (SWP_FORMAT of swp.h, its
 * points' reports read for the payload and compression), or a sweep folder (DIR/sweep.json).
 * CS_EINVAL, naming the file and why, when it is none of those; c keeps the rows added before. */
int rep_cmp_add(rep_cmp *c, const char *path, cs_err *err);
/* Same, for the len bytes of a report or sweep aggregate in memory (need not be NUL-terminated):
 * path labels the rows and errors, and a sweep's point reports are read relative to its folder.
 * rep_cmp_add finds the file (DIR/sweep.json for a folder), reads it and calls this. */
int rep_cmp_add_text(rep_cmp *c, const char *path, const char *text, size_t len, cs_err *err);
/* The string at offset off of c->text. */
const char *rep_cmp_str(const rep_cmp *c, size_t off);
/* Sorts the rows best first by column col (rep_col_info.best); rows without a value last; equal
 * values keep their input order. CS_ENOMEM (rows unchanged) when out of memory. */
int rep_cmp_sort(rep_cmp *c, rep_col col);
/* The best value of column col in *best; false (no mark) when fewer than two rows have a
 * value. */
bool rep_cmp_best(const rep_cmp *c, rep_col col, double *best);
/* The table, one row per line, every best value followed by '*' (ties all marked), then a line
 * saying what the marks mean when there are any. NULL when out of memory. */
char *rep_cmp_table(const rep_cmp *c);
/* The rows as CSV (RFC 4180 quoting, '\n' line ends): a header, raw numbers that read back
 * exactly, no marks. NULL when out of memory. */
char *rep_cmp_csv(const rep_cmp *c);
/* rep_machine_note over every report read. */
bool rep_cmp_machine_note(const rep_cmp *c, char *out, size_t cap);

#endif
