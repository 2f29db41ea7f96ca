/* cmd_plot.c - constsim plot: a report's accuracy curves, or a sweep's heatmaps and Pareto front,
 * drawn by gnuplot. The script (cli/plot*.c) carries its data inline and goes to gnuplot's stdin
 * through one pipe; gnuplot writes a temporary file beside the output, which is renamed once
 * gnuplot has exited 0. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "cs.h"
#include "cs_buf.h"
#include "plot.h"
#include "rep.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: constsim plot REPORT.json|DIR|SWEEP.json -o FILE.png|FILE.svg [OPTIONS]\n\n"
        "Draws with gnuplot (Debian package gnuplot-nox):\n"
        "  a report (constsim run output): four panels of test accuracy after each completed\n"
        "    round, against the round, the simulated time (hours), the cumulative bytes moved\n"
        "    (MB) and the cumulative cost (USD); one line per precision.\n"
        "  a sweep (a constsim sweep folder, or its sweep.json): per precision, heatmaps of\n"
        "    final accuracy and of cost over two axes (replicate seeds averaged), then the\n"
        "    accuracy-cost Pareto front of every done point (replicate means with 95%% CI bars).\n"
        "    Failed and pending points are left out; the title says how many.\n\n"
        "options:\n"
        "  -o FILE          the image: .png (pngcairo, or png without cairo) or .svg; written\n"
        "                   through a temporary file beside it, renamed when gnuplot succeeds\n"
        "  --x KEY          sweep: the heatmap's x axis (an axis key of sweep.json)\n"
        "  --y KEY          sweep: the heatmap's y axis (default for both: the first axes with\n"
        "                   more than one value, seed excluded when it is replicated)\n"
        "  --precision P    sweep: only precision P (default: one heatmap pair per precision,\n"
        "                   every precision in the Pareto plot)\n"
        "  --script FILE    write the gnuplot script (data inline) to FILE ('-': stdout)\n"
        "                   instead of running gnuplot; 'gnuplot FILE' then draws -o FILE\n\n"
        "environment:\n"
        "  CONSTSIM_GNUPLOT  the gnuplot program to run (default: gnuplot, from PATH)\n\n"
        "exit status: 0 success, 1 gnuplot missing or failed, 2 bad usage or bad input.\n"
        "docs/plot.md describes every plot.\n");
}

/* The output format from the extension of path; -1 when it is neither .png nor .svg. */
static int format_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (!dot)
        return -1;
    if (strcasecmp(dot, ".png") == 0)
        return PLOT_PNG;
    if (strcasecmp(dot, ".svg") == 0)
        return PLOT_SVG;
    return -1;
}

/* Reads the input: a JSON file, or DIR/sweep.json for a folder. *path_out is malloc'd. */
static int load_input(const char *arg, cJSON **doc, char **path_out, cs_err *err)
{
    struct stat st;
    char *path = NULL;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        cs_buf p = {0};
        cs_buf_printf(&p, "%s%ssweep.json", arg, arg[strlen(arg) - 1] == '/' ? "" : "/");
        path = cs_buf_take(&p);
        if (!path)
            return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
        if (access(path, F_OK) != 0) {
            free(path);
            return cs_err_set(err, CS_EINVAL, arg, 0, 0,
                              "not a sweep folder (no sweep.json in it)");
        }
    } else {
        path = strdup(arg);
        if (!path)
            return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
    }
    *path_out = path;
    return rep_parse_json(path, doc, err); /* unreadable, or text after the JSON: exit 2 */
}

/* ---- gnuplot ----------------------------------------------------------------------------------
 */

/* Runs prog with script on its stdin; its stderr is collected into *errtext. Returns its exit
 * status (0..255), -1 when it could not be started (errno in *exec_errno), -2 when it did not
 * exit normally. */
static int run_gnuplot(const char *prog, const char *script, size_t len, cs_buf *errtext,
                       int *exec_errno)
{
    int in[2], ep[2], xp[2];
    *exec_errno = 0;
    if (pipe(in) != 0)
        return *exec_errno = errno, -1;
    if (pipe(ep) != 0) {
        *exec_errno = errno;
        close(in[0]), close(in[1]);
        return -1;
    }
    if (pipe(xp) != 0) {
        *exec_errno = errno;
        close(in[0]), close(in[1]), close(ep[0]), close(ep[1]);
        return -1;
    }
    fcntl(xp[1], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        *exec_errno = errno;
        close(in[0]), close(in[1]), close(ep[0]), close(ep[1]), close(xp[0]), close(xp[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(ep[1], 2);
        close(in[0]), close(in[1]), close(ep[0]), close(ep[1]), close(xp[0]);
        char *const argv[] = {(char *)prog, NULL};
        execvp(prog, argv);
        int e = errno;
        ssize_t w = write(xp[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(in[0]), close(ep[1]), close(xp[1]);
    int e = 0;
    ssize_t got;
    do
        got = read(xp[0], &e, sizeof e);
    while (got < 0 && errno == EINTR);
    close(xp[0]);
    if (got == (ssize_t)sizeof e) {
        close(in[1]), close(ep[0]);
        waitpid(pid, NULL, 0);
        *exec_errno = e;
        return -1;
    }

    /* Feed the script and drain stderr together, so that neither pipe can fill and stall. */
    struct sigaction ign = {0}, old;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    size_t off = 0;
    int wfd = in[1], rfd = ep[0];
    if (len == 0)
        close(wfd), wfd = -1;
    while (wfd >= 0 || rfd >= 0) {
        struct pollfd fds[2] = {{.fd = wfd, .events = POLLOUT}, {.fd = rfd, .events = POLLIN}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (wfd >= 0 && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(wfd, script + off, len - off);
            if (w > 0)
                off += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == len)
                close(wfd), wfd = -1; /* done, or gnuplot stopped reading (EPIPE) */
        }
        if (rfd >= 0 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) {
            char buf[4096];
            ssize_t r = read(rfd, buf, sizeof buf);
            if (r > 0)
                cs_buf_put(errtext, buf, (size_t)r);
            else if (r == 0 || (errno != EAGAIN && errno != EINTR))
                close(rfd), rfd = -1;
        }
    }
    if (wfd >= 0)
        close(wfd);
    if (rfd >= 0)
        close(rfd);
    sigaction(SIGPIPE, &old, NULL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -2;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
}

/* Commits the image gnuplot drew into the staged file tmp: fsync (gnuplot wrote it after it was
 * staged), refuse an empty file, then cs_commit_file onto path. */
static int commit_output(const char *tmp, const char *path, cs_err *err)
{
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return cs_err_set(err, CS_EIO, path, 0, 0, "%s", strerror(e));
    }
    close(fd);
    if (st.st_size == 0)
        return cs_err_set(err, CS_EIO, path, 0, 0, "no image was drawn");
    return cs_commit_file(tmp, path, err);
}

/* Prints gnuplot's stderr, each line prefixed. */
static void print_gnuplot_stderr(const cs_buf *t)
{
    if (!t->p || !t->len)
        return;
    const char *p = t->p;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n)
            fprintf(stderr, "  gnuplot: %.*s\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

static int draw(const char *prog, const char *script, size_t len, const char *tmp, const char *out)
{
    cs_err err;
    cs_err_clear(&err);
    cs_buf errtext = {0};
    int exec_errno = 0;
    int st = run_gnuplot(prog, script, len, &errtext, &exec_errno);
    int rc = 0;
    if (st == -1) {
        fprintf(stderr,
                "constsim plot: cannot run \"%s\" (%s): plot needs gnuplot; install the Debian "
                "package gnuplot-nox (apt-get install gnuplot-nox) or set CONSTSIM_GNUPLOT to "
                "the gnuplot program\n",
                prog, strerror(exec_errno));
        rc = 1;
    } else if (st != 0) {
        if (st == -2)
            fprintf(stderr, "constsim plot: %s did not exit normally\n", prog);
        else
            fprintf(stderr, "constsim plot: %s failed (exit status %d)%s\n", prog, st,
                    errtext.len ? ":" : " without a message");
        print_gnuplot_stderr(&errtext);
        rc = 1;
    } else if (commit_output(tmp, out, &err) != 0) {
        fprintf(stderr, "constsim plot: %s exited 0 but %s could not be written (%s)\n", prog, out,
                err.msg);
        print_gnuplot_stderr(&errtext);
        rc = 1;
    } else if (errtext.len) {
        fprintf(stderr, "constsim plot: warnings from %s:\n", prog);
        print_gnuplot_stderr(&errtext);
    }
    if (rc)
        cs_discard_file(tmp);
    cs_buf_free(&errtext);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------------
 */

int cmd_plot(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *input = NULL, *out = NULL, *script_path = NULL;
    plot_sweep_opts so = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (strcmp(a, "-o") == 0)
            dst = &out;
        else if (strcmp(a, "--x") == 0)
            dst = &so.x;
        else if (strcmp(a, "--y") == 0)
            dst = &so.y;
        else if (strcmp(a, "--precision") == 0)
            dst = &so.precision;
        else if (strcmp(a, "--script") == 0)
            dst = &script_path;
        else if (a[0] == '-' && a[1] != '\0')
            return cli_usage_error("plot", "unknown option \"%s\"", a);
        else if (input)
            return cli_usage_error("plot", "one input expected, got \"%s\" and \"%s\"", input, a);
        else
            input = a;
        if (dst) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0')
                return cli_usage_error("plot", "%s needs a value", a);
            *dst = argv[++i];
        }
    }
    if (!input)
        return cli_usage_error("plot", "expected a REPORT.json, a sweep folder or a sweep.json");
    if (!out)
        return cli_usage_error("plot", "expected -o FILE.png or -o FILE.svg");
    int fmt = format_of(out);
    if (fmt < 0)
        return cli_usage_error("plot", "-o %s: the name must end in .png or .svg", out);

    cs_err err;
    cs_err_clear(&err);
    cJSON *doc = NULL;
    char *path = NULL;
    char *tmp = NULL;
    cs_buf script = {0};
    int rc = load_input(input, &doc, &path, &err);
    if (rc == 0) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, "format");
        const char *format = cJSON_IsString(f) ? f->valuestring : NULL;
        bool is_sweep = format && strcmp(format, PLOT_SWEEP_FORMAT) == 0;
        if (!is_sweep && (so.x || so.y || so.precision)) {
            const char *opt = so.x ? "--x" : so.y ? "--y" : "--precision";
            cs_err_set(&err, CS_EINVAL, path, 0, 0, "%s applies to a sweep; this is %s", opt,
                       format && strcmp(format, "constsim-report/1") == 0 ? "a report"
                                                                          : "not a sweep");
            rc = CS_EINVAL;
        }
        /* The output is checked before the script is built and gnuplot runs; gnuplot draws
         * into an empty staged file beside it (cs_stage_file), committed once it succeeded. */
        if (rc == 0 && script_path && strcmp(script_path, "-") != 0)
            rc = cs_check_writable(script_path, &err);
        if (rc == 0 && !script_path) {
            size_t cap = strlen(out) + CS_TMP_EXTRA;
            if ((rc = cs_check_writable(out, &err)) == 0 && !(tmp = malloc(cap)))
                rc = cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory");
            if (rc == 0 && (rc = cs_stage_file(out, NULL, 0, tmp, cap, &err)) == 0) {
                /* Staged files are 0644; the image gets the usual 0666 & ~umask. */
                mode_t mask = umask(0);
                umask(mask);
                chmod(tmp, 0666 & ~mask);
            }
        }
        if (rc == 0) {
            plot_target t = {(plot_format)fmt, script_path ? out : tmp};
            if (is_sweep)
                rc = plot_sweep_script(doc, path, &so, &t, &script, &err);
            else if (format && strcmp(format, "constsim-report/1") == 0)
                rc = plot_report_script(doc, path, &t, &script, &err);
            else
                rc = cs_err_set(&err, CS_EINVAL, path, 0, 0,
                                "not a constsim report or sweep (\"format\" is %s%s%s, expected "
                                "\"constsim-report/1\" or \"%s\")",
                                format ? "\"" : "", format ? format : "missing", format ? "\"" : "",
                                PLOT_SWEEP_FORMAT);
            if (rc == 0 && script.failed)
                rc = cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory");
        }
    }
    int exit_code = 0;
    if (rc != 0) {
        cs_err_print(&err, stderr);
        exit_code = cs_err_exit_code(&err);
        cs_discard_file(tmp);
    } else if (script_path) {
        if (strcmp(script_path, "-") == 0) {
            fwrite(script.p, 1, script.len, stdout);
        } else if (cs_write_file_in_dir(script_path, script.p, script.len, &err) != 0) {
            cs_err_print(&err, stderr);
            exit_code = 1;
        } else {
            fprintf(stderr, "plot: wrote the gnuplot script %s\n", script_path);
        }
    } else {
        const char *prog = getenv("CONSTSIM_GNUPLOT");
        if (!prog || !*prog)
            prog = "gnuplot";
        exit_code = draw(prog, script.p, script.len, tmp, out);
        if (exit_code == 0)
            fprintf(stderr, "plot: wrote %s\n", out);
    }
    cs_buf_free(&script);
    free(tmp);
    free(path);
    cJSON_Delete(doc);
    return exit_code;
}
