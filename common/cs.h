/* cs.h - what every constsim module shares: the error record, the always-on assert,
 * checked allocation sizes, staged (atomic) file output and a monotonic clock (the growable
 * text buffer is cs_buf.h).
 *
 * Errors: library code never prints and never exits. A failing function returns a negative
 * code and fills the caller-owned cs_err; only main() prints it (cs_err_print), compiler-style:
 *   leo.yaml:42:9: error: constellation.walker.planes: expected an integer >= 1, got "six"
 */
#ifndef CS_H
#define CS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
    CS_OK = 0,
    CS_EINVAL = -1, /* bad input (file contents, values, arguments): exit code 2 */
    CS_EIO = -2,    /* a file could not be read or written */
    CS_ENOMEM = -3, /* allocation failed or a size would overflow */
    CS_ERANGE = -4, /* a computation left its domain (e.g. SGP4 decay) */
    CS_EFAIL = -5,  /* a run failed for another reason: exit code 1 */
    CS_EINTR = -6,  /* stopped by a signal at a safe point (a checkpoint was written): exit 1 */
};

typedef struct cs_err {
    int code;         /* one of the CS_E* codes, 0 when no error */
    char path[512];   /* file the error is about, "" if none */
    long line;        /* 1-based line, 0 if not applicable */
    long col;         /* 1-based column, 0 if not applicable */
    long long offset; /* byte offset in a binary file, -1 if not applicable */
    char msg[768];    /* the message, without location */
} cs_err;

/* Resets e to "no error". */
void cs_err_clear(cs_err *e);
/* Fills e (may be NULL) and returns code. path may be NULL. */
int cs_err_set(cs_err *e, int code, const char *path, long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Same, for binary files: the location is a byte offset. */
int cs_err_set_at(cs_err *e, int code, const char *path, long long offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Prints "path:line:col: error: msg" (or "path: error: at byte N: msg") to f. */
void cs_err_print(const cs_err *e, FILE *f);
/* The process exit code for an error: 2 for bad input, 1 otherwise. */
int cs_err_exit_code(const cs_err *e);

/* Always-on assertion for broken invariants (bugs), also in release builds. */
#define CS_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            cs__assert_fail(#cond, __FILE__, __LINE__);                                            \
    } while (0)
_Noreturn void cs__assert_fail(const char *expr, const char *file, int line);

/* a*b with overflow check: returns 0 and sets *out, or -1 on overflow. */
int cs_size_mul(size_t a, size_t b, size_t *out);

/* ceil(f * n) for a fraction 0 < f <= 1 of n >= 1 items, at least 1: the count a fraction
 * stands for. A tolerance of 1e-9 keeps products such as 0.3 * 10 = 3.0000000000000004 at 3. */
int cs_fraction_count(double f, int n);

/* Output files are written in stages: the bytes go to a temporary file beside the target, named
 * ".NAME.tmp-PID-XXXXXX" for DIR/NAME (hidden; PID is the writer's process id; NAME cut to 200
 * bytes), which is fsync'd and then renamed onto the target, so that a reader sees the old file
 * or the new one, never a part. A writer that is killed leaves its temporary file behind; every
 * later staging of the same target first removes those whose PID is no live process (kill(PID,
 * 0) fails with ESRCH), never one of a live process or of the calling one. Files are 0644.
 *
 * Room for the temporary name of path: strlen(path) + CS_TMP_EXTRA bytes always suffice. */
#define CS_TMP_EXTRA 32

/* Writes data[0..len) to a new temporary file beside path (creating path's missing parent
 * folders, as cs_write_file_in_dir does), fsyncs it and returns its name in tmp (tmp_cap bytes;
 * see CS_TMP_EXTRA). The target is not touched. Stale temporary files of the target are removed
 * first. On failure nothing is left and tmp is "". Commit with cs_commit_file, or drop with
 * cs_discard_file. */
int cs_stage_file(const char *path, const void *data, size_t len, char *tmp, size_t tmp_cap,
                  cs_err *err);
/* Renames the staged file tmp onto path (replacing it) and fsyncs path's folder. When the rename
 * fails, tmp is left for the caller to cs_discard_file. A folder that cannot be opened or a file
 * system that cannot sync folders is not an error; a failing sync is (the file is in place). */
int cs_commit_file(const char *tmp, const char *path, cs_err *err);
/* Removes the staged file tmp; NULL or "" does nothing. */
void cs_discard_file(const char *tmp);
/* Removes from folder dir the temporary files of every target whose writer is dead (the same
 * rule as above), for a caller that owns a folder (constsim sweep, at its start). */
void cs_remove_stale_temps(const char *dir);

/* Writes len bytes to path atomically: staged and committed as by cs_stage_file and
 * cs_commit_file, except that it creates no directories (the parent folder must exist). A path
 * that exists and is not a regular file (a directory, a device such as /dev/null, a FIFO) is
 * CS_EIO, as a failed write, and left alone: the rename would replace it (cs_stage_file refuses
 * it the same way). */
int cs_write_file_atomic(const char *path, const void *data, size_t len, cs_err *err);
/* Creates dir and its parents (like mkdir -p); an existing directory is fine, an existing file of
 * that name is an error. */
int cs_mkdir_p(const char *dir, cs_err *err);
/* Creates the parent folder of path (all before its last '/') and its parents if needed, like
 * mkdir -p; nothing to do when path names no folder. */
int cs_mkdir_parent(const char *path, cs_err *err);
/* How outputs are written: creates the parent folder of path if needed (cs_mkdir_parent), then
 * writes len bytes to path atomically (cs_stage_file, cs_commit_file). */
int cs_write_file_in_dir(const char *path, const void *data, size_t len, cs_err *err);
/* The fail-early check of an output, for commands to call before their expensive work: a file
 * can be written at path. Creates path's missing parent folders (as the write would), then
 * creates and removes a temporary file of path's name beside it (which also removes stale
 * ones). An existing path that is a folder or not a regular file is refused. Fails with
 * CS_EINVAL (bad input, exit code 2) naming path and why, e.g.
 *   out/r.json: error: cannot write this output: out: cannot create directory: a file of that
 *   name exists */
int cs_check_writable(const char *path, cs_err *err);
/* Reads a whole file into a malloc'd buffer (NUL-terminated for convenience). An input that
 * cannot be read (missing, unreadable, a directory, not a regular file such as a FIFO) is
 * CS_EINVAL, naming path and why: bad input, exit code 2 in every command. */
int cs_read_file(const char *path, unsigned char **data, size_t *len, cs_err *err);
/* cs_read_file for inputs with a size limit: a file of more than max_bytes is CS_EINVAL ("is N
 * bytes, more than the M bytes (4 MiB) a WHAT may have", what e.g. "scenario file"), found from its
 * size before reading and, for files whose size is not known in advance, while reading (which
 * stops once more than max_bytes are in). */
int cs_read_file_max(const char *path, size_t max_bytes, const char *what, unsigned char **data,
                     size_t *len, cs_err *err);

/* The shortest of %.15g, %.16g, %.17g that reads back as exactly x, "null" when x is not finite:
 * how reports and sweep aggregates print numbers (cJSON's own printing can lose the last bits,
 * and sums must be checkable exactly). cap >= 32. */
void cs_fmt_double(char *buf, size_t cap, double x);

/* A duration for people: "12.3 s" (under 2 minutes), "45.6 min" (under 2 hours), "7.89 h";
 * "-" for NaN. How tables and progress lines show simulated and wall times. */
void cs_fmt_duration(char *out, size_t cap, double s);

/* Monotonic wall clock in seconds (for progress and wall-time reporting only). */
double cs_wall_s(void);

#endif
