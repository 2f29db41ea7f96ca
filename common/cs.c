#include "cs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cs_err_clear(cs_err *e)
{
    if (!e)
        return;
    memset(e, 0, sizeof *e);
    e->offset = -1;
}

static void set_path(cs_err *e, const char *path)
{
    if (path)
        snprintf(e->path, sizeof e->path, "%s", path);
    else
        e->path[0] = '\0';
}

int cs_err_set(cs_err *e, int code, const char *path, long line, long col, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    set_path(e, path);
    e->line = line;
    e->col = col;
    e->offset = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

int cs_err_set_at(cs_err *e, int code, const char *path, long long offset, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    set_path(e, path);
    e->line = 0;
    e->col = 0;
    e->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

void cs_err_print(const cs_err *e, FILE *f)
{
    if (e->path[0]) {
        fputs(e->path, f);
        if (e->line > 0) {
            fprintf(f, ":%ld", e->line);
            if (e->col > 0)
                fprintf(f, ":%ld", e->col);
        }
        fputs(": ", f);
    }
    fputs("error: ", f);
    if (e->offset >= 0)
        fprintf(f, "at byte %lld: ", e->offset);
    fprintf(f, "%s\n", e->msg);
}

int cs_err_exit_code(const cs_err *e)
{
    return e->code == CS_EINVAL ? 2 : 1;
}

void cs__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: internal error: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    abort();
}

int cs_fraction_count(double f, int n)
{
    CS_ASSERT(f > 0 && f <= 1 && n >= 1);
    double k = ceil(f * n - 1e-9);
    return k < 1 ? 1 : (int)k;
}

int cs_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Staged writes: a temporary file beside the target, fsync, rename.
 *
 * The temporary file of target DIR/NAME is DIR/.NAME.tmp-PID-XXXXXX: hidden, the writer's pid,
 * six characters from mkstemp. A writer that is killed leaves it behind; the next write of the
 * same target removes every such file whose pid is not a live process (kill(pid, 0) fails with
 * ESRCH), never one of a live process nor of this one (another thread may be writing). NAME is
 * cut to TMP_NAME_MAX bytes in temporary names so that they stay within the 255-byte limit of
 * file names; two targets that share those bytes may then clean each other's stale files,
 * which is still only ever a dead writer's.
 */

#define TMP_NAME_MAX 200

/* The folder part of path including its last '/' (*dlen bytes, 0 when path names no folder)
 * and the file name after it. */
static void split_target(const char *path, size_t *dlen, const char **name)
{
    const char *slash = strrchr(path, '/');
    *dlen = slash ? (size_t)(slash - path) + 1 : 0;
    *name = slash ? slash + 1 : path;
}

static size_t tmp_name_len(const char *name)
{
    size_t n = strlen(name);
    return n > TMP_NAME_MAX ? TMP_NAME_MAX : n;
}

/* The folder of path for opendir/open: "." when path names none, "/" for "/x". malloc'd. */
static char *target_dir(const char *path)
{
    size_t dlen;
    const char *name;
    split_target(path, &dlen, &name);
    size_t n = dlen > 1 ? dlen - 1 : dlen; /* without the last '/', except for the root */
    char *dir = malloc(n + 2);
    if (!dir)
        return NULL;
    if (n == 0)
        memcpy(dir, ".", 2);
    else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

/* The pid in a temporary name's tail "PID-XXXXXX", or 0 when the tail is not of that form. */
static long tmp_name_pid(const char *tail)
{
    size_t digits = 0;
    while (tail[digits] >= '0' && tail[digits] <= '9')
        digits++;
    if (digits == 0 || digits > 10 || tail[digits] != '-' || strlen(tail + digits + 1) != 6)
        return 0;
    return strtol(tail, NULL, 10);
}

/* The pid of a temporary file's name in folder listing entry n: of target name (its first nl
 * bytes) when name is not NULL, of any target otherwise; 0 when n is no such name. */
static long temp_pid(const char *n, const char *name, size_t nl)
{
    if (n[0] != '.')
        return 0;
    if (name)
        return strncmp(n + 1, name, nl) == 0 && strncmp(n + 1 + nl, ".tmp-", 5) == 0
                   ? tmp_name_pid(n + 1 + nl + 5)
                   : 0;
    const char *last = NULL;
    for (const char *t = strstr(n + 1, ".tmp-"); t; t = strstr(t + 1, ".tmp-"))
        last = t;
    return last && last > n + 1 ? tmp_name_pid(last + 5) : 0;
}

/* Removes from folder dir the temporary files (of target name, or of any when NULL) whose
 * writer is dead (see above). */
static void remove_stale_in(const char *dir, const char *name, size_t nl)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    const long self = (long)getpid();
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        long pid = temp_pid(n, name, nl);
        if (pid <= 0 || pid > INT_MAX || pid == self)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive, or not ours to judge (EPERM: alive under another user) */
        size_t fl = strlen(dir) + 1 + strlen(n) + 1;
        char *full = malloc(fl);
        if (full) {
            snprintf(full, fl, "%s/%s", dir, n);
            unlink(full);
            free(full);
        }
    }
    closedir(d);
}

/* Removes the temporary files of the target path that dead writers left. */
static void remove_stale_temps(const char *path)
{
    size_t dlen;
    const char *name;
    split_target(path, &dlen, &name);
    char *dir = target_dir(path);
    if (dir)
        remove_stale_in(dir, name, tmp_name_len(name));
    free(dir);
}

void cs_remove_stale_temps(const char *dir)
{
    remove_stale_in(dir, NULL, 0);
}

/* Creates the temporary file of path (name in tmp) after removing stale ones; returns its
 * descriptor (close-on-exec), or a negative CS_E* code with tmp "". */
static int open_temp(const char *path, char *tmp, size_t tmp_cap, cs_err *err)
{
    if (tmp_cap > 0)
        tmp[0] = '\0';
    size_t dlen;
    const char *name;
    split_target(path, &dlen, &name);
    if (name[0] == '\0')
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "names a folder, not a file");
    /* The rename replaces whatever path names: only ever a file (run as root, "-o /dev/null"
     * would otherwise replace the device with a regular file). */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return cs_err_set(err, CS_EIO, path, 0, 0, "%s",
                          S_ISDIR(st.st_mode)
                              ? "is a directory, not a file"
                              : "is not a regular file (a device, FIFO or socket): outputs are "
                                "written beside their path and renamed onto it, which would "
                                "replace it");
    if (dlen > INT_MAX)
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "path too long");
    int n = snprintf(tmp, tmp_cap, "%.*s.%.*s.tmp-%ld-XXXXXX", (int)dlen, path,
                     (int)tmp_name_len(name), name, (long)getpid());
    if (n < 0 || (size_t)n >= tmp_cap) {
        if (tmp_cap > 0)
            tmp[0] = '\0';
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "path too long for its temporary file name (%zu bytes of room)", tmp_cap);
    }
    remove_stale_temps(path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        tmp[0] = '\0';
        return cs_err_set(err, CS_EIO, path, 0, 0, "cannot create a temporary file beside it: %s",
                          strerror(e));
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC); /* a child (gnuplot) never inherits it */
    return fd;
}

/* cs_stage_file, with or without creating the parent folders. */
static int stage(const char *path, bool make_dirs, const void *data, size_t len, char *tmp,
                 size_t tmp_cap, cs_err *err)
{
    if (tmp_cap > 0)
        tmp[0] = '\0';
    int rc = make_dirs ? cs_mkdir_parent(path, err) : 0;
    if (rc)
        return rc;
    int fd = open_temp(path, tmp, tmp_cap, err);
    if (fd < 0)
        return fd;
    const unsigned char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = cs_err_set(err, CS_EIO, path, 0, 0, "write failed: %s", strerror(errno));
            close(fd);
            cs_discard_file(tmp);
            tmp[0] = '\0';
            return rc;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || fchmod(fd, 0644) != 0 || close(fd) != 0) {
        rc = cs_err_set(err, CS_EIO, path, 0, 0, "cannot finish writing: %s", strerror(errno));
        cs_discard_file(tmp);
        tmp[0] = '\0';
        return rc;
    }
    return 0;
}

int cs_stage_file(const char *path, const void *data, size_t len, char *tmp, size_t tmp_cap,
                  cs_err *err)
{
    return stage(path, true, data, len, tmp, tmp_cap, err);
}

int cs_commit_file(const char *tmp, const char *path, cs_err *err)
{
    if (rename(tmp, path) != 0)
        return cs_err_set(err, CS_EIO, path, 0, 0,
                          "cannot rename the temporary file %s into place: %s", tmp,
                          strerror(errno));
    /* The rename is durable once the folder is synced. A folder that cannot be opened for it
     * (no read permission) or a file system that cannot sync folders keeps the rename as it
     * makes it; a failing sync is an error. */
    char *dir = target_dir(path);
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    int rc = 0;
    if (fd >= 0) {
        if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
            rc = cs_err_set(err, CS_EIO, path, 0, 0,
                            "renamed into place, but its folder could not be synced: %s",
                            strerror(errno));
        close(fd);
    }
    free(dir);
    return rc;
}

void cs_discard_file(const char *tmp)
{
    if (tmp && tmp[0])
        unlink(tmp);
}

/* Stage and commit; the temporary file is removed when either fails. */
static int write_staged(const char *path, bool make_dirs, const void *data, size_t len, cs_err *err)
{
    size_t cap = strlen(path) + CS_TMP_EXTRA;
    char *tmp = malloc(cap);
    if (!tmp)
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
    int rc = stage(path, make_dirs, data, len, tmp, cap, err);
    if (rc == 0 && (rc = cs_commit_file(tmp, path, err)) != 0)
        cs_discard_file(tmp); /* gone already when only the folder's sync failed */
    free(tmp);
    return rc;
}

int cs_write_file_atomic(const char *path, const void *data, size_t len, cs_err *err)
{
    return write_staged(path, false, data, len, err);
}

int cs_check_writable(const char *path, cs_err *err)
{
    if (!path || !path[0])
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "an output path is empty");
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "cannot write this output: %s",
                          S_ISDIR(st.st_mode)
                              ? "it is a folder, not a file"
                              : "it is not a regular file (outputs are replaced by a new file)");
    cs_err e;
    cs_err_clear(&e);
    if (cs_mkdir_parent(path, &e) != 0)
        return cs_err_set(err, e.code == CS_ENOMEM ? CS_ENOMEM : CS_EINVAL, path, 0, 0,
                          "cannot write this output: %s: %s", e.path, e.msg);
    size_t cap = strlen(path) + CS_TMP_EXTRA;
    char *tmp = malloc(cap);
    if (!tmp)
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
    int fd = open_temp(path, tmp, cap, &e);
    if (fd < 0) {
        free(tmp);
        return cs_err_set(err, e.code == CS_ENOMEM ? CS_ENOMEM : CS_EINVAL, path, 0, 0,
                          "cannot write this output: %s", e.msg);
    }
    close(fd);
    cs_discard_file(tmp);
    free(tmp);
    return 0;
}

int cs_mkdir_p(const char *dir, cs_err *err)
{
    char buf[1024];
    size_t n = strlen(dir);
    if (n == 0)
        return 0;
    if (n >= sizeof buf)
        return cs_err_set(err, CS_EINVAL, dir, 0, 0, "path too long");
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            struct stat st;
            if (mkdir(buf, 0755) != 0) {
                if (errno != EEXIST)
                    return cs_err_set(err, CS_EIO, buf, 0, 0, "cannot create directory: %s",
                                      strerror(errno));
                if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                    return cs_err_set(err, CS_EIO, buf, 0, 0,
                                      "cannot create directory: a file of that name exists");
            }
            buf[i] = c;
        }
    }
    return 0;
}

int cs_mkdir_parent(const char *path, cs_err *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir)
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
    memcpy(dir, path, n);
    dir[n] = '\0';
    int rc = cs_mkdir_p(dir, err);
    free(dir);
    return rc;
}

int cs_write_file_in_dir(const char *path, const void *data, size_t len, cs_err *err)
{
    return write_staged(path, true, data, len, err);
}

/* "4 MiB" for whole mebibytes, else "N bytes". */
static void fmt_limit(char *out, size_t cap, size_t bytes)
{
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
        snprintf(out, cap, "%zu bytes (%zu MiB)", bytes, bytes >> 20);
    else
        snprintf(out, cap, "%zu bytes", bytes);
}

static int too_large(cs_err *err, const char *path, unsigned long long size, bool at_least,
                     size_t max_bytes, const char *what)
{
    char lim[64];
    fmt_limit(lim, sizeof lim, max_bytes);
    return cs_err_set(err, CS_EINVAL, path, 0, 0, "is %s%llu bytes, more than the %s a %s may have",
                      at_least ? "at least " : "", size, lim, what);
}

int cs_read_file(const char *path, unsigned char **data, size_t *len, cs_err *err)
{
    return cs_read_file_max(path, SIZE_MAX, NULL, data, len, err);
}

int cs_read_file_max(const char *path, size_t max_bytes, const char *what, unsigned char **data,
                     size_t *len, cs_err *err)
{
    *data = NULL;
    *len = 0;
    /* Opened without blocking (a FIFO would wait for a writer), then checked to be a regular
     * file: an input that cannot be read is bad input (CS_EINVAL, exit 2). */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        bool dir = S_ISDIR(st.st_mode);
        close(fd);
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "%s",
                          dir ? "is a directory, not a file" : "is not a regular file");
    }
    if (max_bytes < SIZE_MAX && (unsigned long long)st.st_size > max_bytes) {
        close(fd);
        return too_large(err, path, (unsigned long long)st.st_size, false, max_bytes, what);
    }
    int fl = fcntl(fd, F_GETFL);
    FILE *f = fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        int e = errno;
        close(fd);
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "cannot open: %s", strerror(e));
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
    }
    for (;;) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                int e = errno;
                free(buf);
                fclose(f);
                return cs_err_set(err, CS_EINVAL, path, 0, 0, "read failed: %s", strerror(e));
            }
            break;
        }
        if (max_bytes < SIZE_MAX && n > max_bytes) {
            /* It grew, or its size was not known (files in /proc report 0). */
            free(buf);
            fclose(f);
            return too_large(err, path, (unsigned long long)n, true, max_bytes, what);
        }
        if (n == cap) {
            if (cap > SIZE_MAX / 4) {
                free(buf);
                fclose(f);
                return cs_err_set(err, CS_ENOMEM, path, 0, 0, "file too large");
            }
            unsigned char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

double cs_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cs_fmt_double(char *buf, size_t cap, double x)
{
    if (!isfinite(x)) {
        snprintf(buf, cap, "null");
        return;
    }
    if (x == 0) {
        snprintf(buf, cap, "0");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

void cs_fmt_duration(char *out, size_t cap, double s)
{
    if (isnan(s))
        snprintf(out, cap, "-");
    else if (s < 120)
        snprintf(out, cap, "%.1f s", s);
    else if (s < 2 * 3600)
        snprintf(out, cap, "%.1f min", s / 60);
    else
        snprintf(out, cap, "%.2f h", s / 3600);
}
