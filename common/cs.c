#include "cs.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
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

int cs_write_file_atomic(const char *path, const void *data, size_t len, cs_err *err)
{
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
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
    snprintf(tmp, n + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int rc = cs_err_set(err, CS_EIO, path, 0, 0, "cannot create a temporary file beside it: %s",
                            strerror(errno));
        free(tmp);
        return rc;
    }
    const unsigned char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int rc = cs_err_set(err, CS_EIO, path, 0, 0, "write failed: %s", strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return rc;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || fchmod(fd, 0644) != 0 || close(fd) != 0) {
        int rc = cs_err_set(err, CS_EIO, path, 0, 0, "cannot finish writing: %s", strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    if (rename(tmp, path) != 0) {
        int rc = cs_err_set(err, CS_EIO, path, 0, 0,
                            "cannot rename the temporary file into place: %s", strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
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
    int rc = cs_mkdir_parent(path, err);
    return rc ? rc : cs_write_file_atomic(path, data, len, err);
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
