/* test_cli_inputs.c - every command refuses an input it cannot read the same way: exit code 2
 * and a message that names the path and says why (missing; a directory given as a file; a FIFO,
 * which is refused without waiting for a writer). A scenario's TLE path that cannot be read is
 * reported at the scenario's tle key (or the --set that gave it), with what is wrong with it. */
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

/* Writes a scenario into dir whose constellation.tle (line 5, column 8) is tle. */
static void write_tle_scenario(const char *path, const char *tle)
{
    FILE *f = fopen(path, "w");
    T_TRUE(f != NULL);
    if (!f)
        return;
    fprintf(f,
            "name: tle-input\n"
            "epoch: 2006-06-27T00:00:00Z\n"
            "duration: 1h\n"
            "constellation:\n"
            "  tle: %s\n"
            "ground_stations:\n"
            "  - {name: A, lat_deg: 40, lon_deg: 16, uplink_mbps: 10, downlink_mbps: 50}\n"
            "federated: {rounds: 1}\n",
            tle);
    fclose(f);
}

/* The TLE file named by a scenario: missing, a directory, a FIFO (without blocking), a device
 * and a file above the size limit are all refused at the scenario's tle key, naming the path
 * and what is wrong, with exit code 2; and at the --set that gave the path. */
static void test_tle_paths(const char *dir)
{
    char scen[300], fifo[300], big[300], err[4096], want[1200];
    snprintf(scen, sizeof scen, "%s/tle.yaml", dir);
    snprintf(fifo, sizeof fifo, "%s/sets.fifo", dir);
    snprintf(big, sizeof big, "%s/big.tle", dir);
    T_EQ(mkfifo(fifo, 0600), 0);
    FILE *f = fopen(big, "w");
    T_TRUE(f != NULL);
    if (f) {
        /* Sparse: 33 MiB of nothing, one MiB above the limit, written in no time. */
        T_EQ(ftruncate(fileno(f), (off_t)33 << 20), 0);
        fclose(f);
    }
    const struct {
        const char *tle, *shown, *why; /* as written; as resolved; the reason */
    } cases[] = {
        {"none.tle", "%s/none.tle", "cannot open: No such file or directory"},
        {".", "%s/.", "is a directory, not a file"},
        {"sets.fifo", "%s/sets.fifo", "is not a regular file"},
        {"/dev/zero", "/dev/zero", "is not a regular file"},
        {"big.tle", "%s/big.tle",
         "is 34603008 bytes, more than the 33554432 bytes (32 MiB) a TLE file may have"},
    };
    const char *cmds[] = {"contacts %s", "run %s --no-models"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char shown[400];
        snprintf(shown, sizeof shown, cases[i].shown, dir);
        write_tle_scenario(scen, cases[i].tle);
        for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
            int rc = run_with(cmds[c], scen, err, sizeof err);
            T_EQ(rc, 2);
            snprintf(want, sizeof want, "%s:5:8: error: constellation.tle: \"%s\": %s\n", scen,
                     shown, cases[i].why);
            T_STREQ(err, want);
        }
        /* The same path given by --set: the error is the --set's. */
        write_tle_scenario(scen, "elsewhere.tle");
        char args[600];
        snprintf(args, sizeof args, "contacts %%s --set constellation.tle=%s", cases[i].tle);
        T_EQ(run_with(args, scen, err, sizeof err), 2);
        snprintf(want, sizeof want, "--set: error: constellation.tle=%s: \"%s\": %s\n",
                 cases[i].tle, shown, cases[i].why);
        T_STREQ(err, want);
    }
    unlink(scen);
    unlink(fifo);
    unlink(big);
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
    test_tle_paths(dir);
    rmdir(dir);
    return t_done();
}
