/* test_cli_inputs.c - every command refuses an input it cannot read the same way: exit code 2
 * and a message that names the path and says why (missing; a directory given as a file; a FIFO,
 * which is refused without waiting for a writer). */
#include "t.h"
#include "t_cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Runs "constsim ARGS" with ARGS holding %s for the path; returns its exit code, stderr in err. */
static int run_with(const char *fmt, const char *path, char *err, size_t cap)
{
    char args[512], cmd[1024], out[256];
    snprintf(args, sizeof args, fmt, path);
    snprintf(out, sizeof out, "/tmp/cs-cli-inputs-%d.txt", (int)getpid());
    snprintf(cmd, sizeof cmd, "timeout 20 %s %s >/dev/null 2>%s", t_exe(), args, out);
    int rc = t_sh(cmd);
    size_t n = 0;
    char *txt = t_slurp(out, &n);
    snprintf(err, cap, "%s", txt ? txt : "");
    free(txt);
    unlink(out);
    return rc;
}

int main(void)
{
    char dir[] = "/tmp/cs-cli-inputs-XXXXXX";
    T_TRUE(mkdtemp(dir) != NULL);
    char missing[300], fifo[300], err[4096], want[400];
    snprintf(missing, sizeof missing, "%s/none.input", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo.input", dir);
    T_EQ(mkfifo(fifo, 0600), 0);
    char vizhelp[64];
    bool viz = run_with("viz --help%s", "", vizhelp, sizeof vizhelp) == 0;
    const char *cmds[] = {
        "contacts %s",
        "run %s --no-models",
        "sweep %s --set seed=1,2 -o /tmp/cs-cli-inputs-sweep",
        "eval %s",
        "quantize %s",
        "compare %s",
        "plot %s -o /tmp/cs-cli-inputs.png",
        "viz --replay %s --headless --at +1h --frame-json /tmp/cs-cli-inputs.json",
    };
    const char *inputs[] = {missing, dir, fifo};
    const char *why[] = {"cannot open: No such file or directory", "is a directory, not a file",
                         "is not a regular file"};
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
        if (!viz && !strncmp(cmds[c], "viz", 3))
            continue;
        for (size_t k = 0; k < 3; k++) {
            if (k == 1 && (!strncmp(cmds[c], "compare", 7) || !strncmp(cmds[c], "plot", 4)))
                continue; /* a folder is a sweep folder there (its own message, also exit 2) */
            int rc = run_with(cmds[c], inputs[k], err, sizeof err);
            if (rc != 2 || !strstr(err, why[k]))
                fprintf(stderr, "constsim %s on %s: exit %d: %s", cmds[c], inputs[k], rc, err);
            T_EQ(rc, 2);
            snprintf(want, sizeof want, "%s: error: %s", inputs[k], why[k]);
            T_CONTAINS(err, want);
        }
    }
    unlink(fifo);
    rmdir(dir);
    return t_done();
}
