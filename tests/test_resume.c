/* test_resume.c - constsim run's checkpoints (cli/cmd_run.c, sim/fl_ckpt.c): a run killed with
 * SIGKILL during round 2 of 4, then resumed with --resume, gives the report (wall times aside)
 * and model files of the uninterrupted run, byte for byte; the same after SIGINT during the
 * second precision's run, resumed on other thread counts; a checkpoint of another seed,
 * scenario or build, or a damaged one, is refused naming what differs; a fresh run does not
 * overwrite a checkpoint; after a kill the report path holds an incomplete report; int4 and topk
 * runs with error feedback resume to the same report. Real training on
 * a 1,000-image EuroSAT subset (tests/data/sim/resume.yaml, about 10 s per run). */
#include "cs_sha256.h"
#include "t.h"
#include "t_cli.h"

#include <signal.h>
#include <stdbool.h>
#include <time.h>

static char g_dir[600], g_out[700], g_ckpt[700], g_args[2400];
static const char *const k_models[] = {"fp32", "int8", "ptq-fp32", "ptq-fp16", "ptq-int8"};
enum { N_MODELS = 5 };

/* Starts cmd with the shell in the background; its pid. */
static pid_t spawn(const char *cmd)
{
    pid_t p = fork();
    if (p == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return p;
}

/* The JSON header of the checkpoint at path (NULL when there is none, or not yet). */
static cJSON *ckpt_header(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char head[36];
    cJSON *j = NULL;
    if (fread(head, 1, sizeof head, f) == sizeof head &&
        memcmp(head, "CONSTSIM CHECKPOINT\n", 20) == 0) {
        uint64_t n;
        memcpy(&n, head + 28, 8);
        char *text = n < (1u << 20) ? malloc(n + 1) : NULL;
        if (text && fread(text, 1, n, f) == n) {
            text[n] = '\0';
            j = cJSON_Parse(text);
        }
        free(text);
    }
    fclose(f);
    return j;
}

/* Where the study in the checkpoint stood: runs done, the run in progress ("" if none), rounds. */
static bool ckpt_at(const char *path, int *runs_done, char *cur, size_t cap, int *rounds)
{
    cJSON *h = ckpt_header(path);
    if (!h)
        return false;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(h, "current");
    *runs_done = (int)cJSON_GetObjectItemCaseSensitive(h, "runs_done")->valuedouble;
    snprintf(cur, cap, "%s",
             cJSON_IsObject(c) ? cJSON_GetObjectItemCaseSensitive(c, "precision")->valuestring
                               : "");
    *rounds = cJSON_IsObject(c)
                  ? (int)cJSON_GetObjectItemCaseSensitive(c, "rounds_done")->valuedouble
                  : 0;
    cJSON_Delete(h);
    return true;
}

/* Starts the run (extra arguments appended) and stops it with sig as soon as its checkpoint
 * shows `runs` finished runs and the run of precision prec at `rounds` aggregated rounds. Returns
 * the exit status (-1 when killed by the signal), after checking that the checkpoint still
 * shows that point (the run was stopped inside the next round); *stopped_there says so. */
static int stop_at(const char *extra, int runs, const char *prec, int rounds, int sig,
                   bool *stopped_there, const char *log)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s %s %s > %s 2>&1", t_exe(), g_args, extra, log);
    pid_t p = spawn(cmd);
    struct timespec nap = {0, 2000000};
    bool seen = false;
    for (int i = 0; i < 60000 && !seen; i++) { /* up to 2 minutes */
        int rd, rn;
        char cur[16];
        if (ckpt_at(g_ckpt, &rd, cur, sizeof cur, &rn) && rd == runs && !strcmp(cur, prec) &&
            rn == rounds)
            seen = true;
        else
            nanosleep(&nap, NULL);
        int st;
        if (!seen && waitpid(p, &st, WNOHANG) == p)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    kill(p, sig);
    int st;
    waitpid(p, &st, 0);
    int rd, rn;
    char cur[16];
    *stopped_there = seen && ckpt_at(g_ckpt, &rd, cur, sizeof cur, &rn) && rd == runs &&
                     !strcmp(cur, prec) && rn == rounds;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct outputs {
    cJSON *report; /* walls stripped */
    char *model[N_MODELS];
    size_t len[N_MODELS];
} outputs;

static void read_outputs(outputs *o)
{
    memset(o, 0, sizeof *o);
    o->report = t_load_json(g_out);
    t_strip_volatile(o->report);
    for (int i = 0; i < N_MODELS; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/r/%s.safetensors", g_dir, k_models[i]);
        o->model[i] = t_slurp(p, &o->len[i]);
    }
}

static void free_outputs(outputs *o)
{
    cJSON_Delete(o->report);
    for (int i = 0; i < N_MODELS; i++)
        free(o->model[i]);
}

/* The outputs now at the report path equal ref: the report (walls aside) and every model file,
 * and the report's SHA-256 of each model is that of its file. */
static void check_same(const outputs *ref, const char *what)
{
    outputs o;
    read_outputs(&o);
    fprintf(stderr, "comparing with the uninterrupted run: %s\n", what);
    T_TRUE(o.report && ref->report);
    T_TRUE(cJSON_Compare(o.report, ref->report, true));
    T_STREQ(cJSON_GetObjectItemCaseSensitive(o.report, "status")->valuestring, "complete");
    for (int i = 0; i < N_MODELS; i++) {
        T_TRUE(o.model[i] && ref->model[i]);
        T_EQ(o.len[i], ref->len[i]);
        T_TRUE(o.model[i] && ref->model[i] && o.len[i] == ref->len[i] &&
               memcmp(o.model[i], ref->model[i], o.len[i]) == 0);
    }
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(o.report, "runs");
    for (int i = 0; i < 2 && o.model[i]; i++) {
        char hex[65];
        cs_sha256_hex(o.model[i], o.len[i], hex);
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(runs, i), "final");
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(f, "model_sha256");
        T_TRUE(cJSON_IsString(sha) && !strcmp(sha->valuestring, hex));
    }
    const cJSON *ptq = cJSON_GetObjectItemCaseSensitive(o.report, "ptq");
    for (int i = 2; i < N_MODELS && o.model[i]; i++) {
        char hex[65];
        cs_sha256_hex(o.model[i], o.len[i], hex);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(ptq, k_models[i] + 4);
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(e, "sha256");
        T_TRUE(cJSON_IsString(sha) && !strcmp(sha->valuestring, hex));
    }
    T_TRUE(access(g_ckpt, F_OK) != 0); /* a finished run removes its checkpoint */
    free_outputs(&o);
}

/* Runs cmd (output to log) and returns its exit status; *text gets the log (caller frees). */
static int run_log(const char *extra, char **text)
{
    char cmd[4096], log[800];
    snprintf(log, sizeof log, "%s/log.txt", g_dir);
    snprintf(cmd, sizeof cmd, "%s %s %s > %s 2>&1", t_exe(), g_args, extra, log);
    int rc = t_sh(cmd);
    *text = t_slurp(log, NULL);
    if (*text)
        fputs(*text, stderr);
    return rc;
}

/* A copy of the checkpoint with the first letter of the header's string member key changed and
 * the digest made right again: e.g. a checkpoint of another build, intact. */
static void forge(const char *from, const char *to, const char *key)
{
    size_t n = 0;
    char *d = t_slurp(from, &n);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    char *b = d ? strstr(d + 36, pat) : NULL;
    T_TRUE(b != NULL);
    if (!b) {
        free(d);
        return;
    }
    b += strlen(pat);
    b[0] = b[0] == 'x' ? 'y' : 'x';
    cs_sha256 sh;
    cs_sha256_init(&sh);
    cs_sha256_update(&sh, d, n - 32);
    cs_sha256_final(&sh, (uint8_t *)d + n - 32);
    cs_err err;
    T_EQ(cs_write_file_atomic(to, d, n, &err), 0);
    free(d);
}

int main(void)
{
    const char *bin = getenv("CONSTSIM_BINARY_DIR");
    char mini[700], cmd[4096];
    cs_err err;
    snprintf(g_dir, sizeof g_dir, "%s/resume-test", bin ? bin : "/tmp");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    T_EQ(t_sh(cmd), 0);
    T_EQ(cs_mkdir_p(g_dir, &err), 0);
    snprintf(mini, sizeof mini, "%s/mini", g_dir);
    T_EQ(t_make_mini(mini, 100), 0);
    snprintf(g_out, sizeof g_out, "%s/r.json", g_dir);
    snprintf(g_ckpt, sizeof g_ckpt, "%s/r.ckpt", g_dir);
    snprintf(g_args, sizeof g_args,
             "run tests/data/sim/resume.yaml -o %s --set dataset.path=%s --threads 2", g_out, mini);

    /* The uninterrupted run. */
    char *log = NULL;
    T_EQ(run_log("", &log), 0);
    free(log);
    outputs ref;
    read_outputs(&ref);
    struct timespec ref_mtime[N_MODELS];
    for (int i = 0; i < N_MODELS; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/r/%s.safetensors", g_dir, k_models[i]);
        struct stat st;
        T_EQ(stat(p, &st), 0);
        ref_mtime[i] = st.st_mtim;
    }
    T_TRUE(ref.report != NULL);
    if (!ref.report)
        return t_done();
    T_TRUE(access(g_ckpt, F_OK) != 0);

    /* A run refused for bad input (no dataset there) leaves the earlier report as it was. */
    T_EQ(run_log("--set dataset.path=/nonexistent-eurosat", &log), 2);
    free(log);
    cJSON *kept = t_load_json(g_out);
    t_strip_volatile(kept);
    T_TRUE(kept && cJSON_Compare(kept, ref.report, true));
    cJSON_Delete(kept);

    /* Killed during round 2 of the FP32 run (its checkpoint after round 1 is the last one). */
    bool there = false;
    char slog[800];
    snprintf(slog, sizeof slog, "%s/stopped.txt", g_dir);
    for (int attempt = 0; attempt < 3 && !there; attempt++) {
        remove(g_ckpt);
        T_EQ(stop_at("-q", 0, "fp32", 1, SIGKILL, &there, slog), -1);
    }
    T_TRUE(there);
    /* The killed run wrote no model file (they are written with the report, at the end). */
    for (int i = 0; i < N_MODELS; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/r/%s.safetensors", g_dir, k_models[i]);
        struct stat st;
        T_TRUE(stat(p, &st) == 0 && st.st_mtim.tv_sec == ref_mtime[i].tv_sec &&
               st.st_mtim.tv_nsec == ref_mtime[i].tv_nsec);
    }
    /* The report path holds an incomplete report, not the earlier complete one. */
    cJSON *stub = t_load_json(g_out);
    const cJSON *status = stub ? cJSON_GetObjectItemCaseSensitive(stub, "status") : NULL;
    T_TRUE(cJSON_IsString(status) && !strcmp(status->valuestring, "incomplete"));
    const cJSON *how = stub ? cJSON_GetObjectItemCaseSensitive(stub, "resume_command") : NULL;
    T_TRUE(cJSON_IsString(how) && strstr(how->valuestring, "--resume"));
    cJSON_Delete(stub);
    /* compare refuses it, saying why. */
    snprintf(cmd, sizeof cmd, "%s compare %s > %s/cmp.txt 2>&1", t_exe(), g_out, g_dir);
    T_EQ(t_sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s/cmp.txt", g_dir);
    log = t_slurp(cmd, NULL);
    T_CONTAINS(log, "incomplete");
    free(log);
    /* and so does plot */
    snprintf(cmd, sizeof cmd, "%s plot %s -o %s/p.png > %s/cmp.txt 2>&1", t_exe(), g_out, g_dir,
             g_dir);
    T_EQ(t_sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s/cmp.txt", g_dir);
    log = t_slurp(cmd, NULL);
    T_CONTAINS(log, "incomplete");
    free(log);

    /* What must match. */
    T_EQ(run_log("", &log), 2); /* a fresh run does not overwrite the checkpoint */
    T_CONTAINS(log, "--resume");
    free(log);
    T_EQ(run_log("--resume --set seed=12", &log), 2);
    T_CONTAINS(log, "another seed");
    free(log);
    T_EQ(run_log("--resume --set federated.optimizer.lr=0.002", &log), 2);
    T_CONTAINS(log, "federated.optimizer.lr is 0.001 in the checkpoint, 0.002 here");
    free(log);
    char args2[2600];
    snprintf(args2, sizeof args2, "%s", g_args);
    T_EQ(run_log("--resume --no-trace", &log), 2);
    T_CONTAINS(log, "trace");
    free(log);
    char saved[800], forged[800];
    snprintf(saved, sizeof saved, "%s/saved.ckpt", g_dir);
    snprintf(forged, sizeof forged, "%s.forged", g_ckpt);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", g_ckpt, saved);
    T_EQ(t_sh(cmd), 0);
    forge(saved, g_ckpt, "build");
    T_EQ(run_log("--resume", &log), 2);
    T_CONTAINS(log, "another constsim version");
    free(log);
    forge(saved, g_ckpt, "blas_core");
    T_EQ(run_log("--resume", &log), 2);
    T_CONTAINS(log, "BLAS kernel set");
    free(log);
    forge(saved, g_ckpt, "conv_kernels");
    T_EQ(run_log("--resume", &log), 2);
    T_CONTAINS(log, "convolution kernels");
    free(log);
    size_t n = 0;
    char *d = t_slurp(saved, &n);
    T_TRUE(d && n > 4096);
    if (d) {
        d[n / 2] ^= 0x10; /* one bit of the body */
        T_EQ(cs_write_file_atomic(g_ckpt, d, n, &err), 0);
        T_EQ(run_log("--resume", &log), 2);
        T_CONTAINS(log, "damaged");
        free(log);
        T_EQ(cs_write_file_atomic(g_ckpt, d, n / 3, &err), 0); /* cut short */
        T_EQ(run_log("--resume", &log), 2);
        T_CONTAINS(log, "checkpoint");
        free(log);
        free(d);
    }
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", saved, g_ckpt);
    T_EQ(t_sh(cmd), 0);

    /* Resumed, on another thread count (results do not depend on it): the uninterrupted run's
     * report and models. */
    T_EQ(run_log("--resume -q --threads 1", &log), 0);
    free(log);
    check_same(&ref, "killed (SIGKILL) during round 2 of the fp32 run, then --resume --threads 1");
    T_EQ(run_log("--resume", &log), 2); /* nothing left to resume */
    T_CONTAINS(log, "no checkpoint");
    free(log);

    /* SIGINT during round 2 of the second run (INT8): exit 1, the command that resumes. */
    there = false;
    int rc = -2;
    for (int attempt = 0; attempt < 3 && !there; attempt++) {
        remove(g_ckpt);
        remove(g_out);
        rc = stop_at("", 1, "int8", 1, SIGINT, &there, slog);
    }
    T_EQ(rc, 1);
    log = t_slurp(slog, NULL);
    T_CONTAINS(log, "continue with: constsim run tests/data/sim/resume.yaml");
    T_CONTAINS(log, "--resume");
    free(log);
    T_EQ(run_log("--resume -q --threads 3", &log), 0);
    free(log);
    check_same(&ref, "stopped by SIGINT during the int8 run, then --resume --threads 3");

    /* A full disk (a 4 MB file size limit: the first checkpoint cannot be written): the run fails
     * (exit 1, naming the file), leaves no model folder, no temporary file, and its report path
     * says the report is incomplete. */
    snprintf(cmd, sizeof cmd, "rm -rf '%s/r' '%s'", g_dir, g_out);
    T_EQ(t_sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "trap '' XFSZ; ulimit -f 4096; exec %s %s > %s/full.txt 2>&1",
             t_exe(), g_args, g_dir);
    T_EQ(t_sh(cmd), 1);
    snprintf(cmd, sizeof cmd, "%s/full.txt", g_dir);
    log = t_slurp(cmd, NULL);
    T_CONTAINS(log, "r.ckpt");
    T_CONTAINS(log, "File too large");
    free(log);
    snprintf(cmd, sizeof cmd, "%s/r", g_dir);
    T_TRUE(access(cmd, F_OK) != 0);
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q tmp", g_dir);
    T_EQ(t_sh(cmd), 1);
    stub = t_load_json(g_out);
    status = stub ? cJSON_GetObjectItemCaseSensitive(stub, "status") : NULL;
    T_TRUE(cJSON_IsString(status) && !strcmp(status->valuestring, "incomplete"));
    cJSON_Delete(stub);

    /* The low precisions' per-client state (the models the clients hold, error-feedback
     * residuals, broadcasts in flight, topk's update lengths) goes into the checkpoint: int4 and
     * topk and adaptive runs with error feedback and stochastic rounding, killed during round 2
     * of each and
     * resumed, give the uninterrupted report. */
    const char *low = "-q --no-models --set wire.precision=int4,topk,adaptive "
                      "--set wire.error_feedback=true --set wire.stochastic_rounding=true "
                      "--set wire.topk_fraction=0.05";
    remove(g_ckpt);
    remove(g_out);
    T_EQ(run_log(low, &log), 0);
    free(log);
    cJSON *lref = t_load_json(g_out);
    t_strip_volatile(lref);
    T_TRUE(lref != NULL);
    const char *precs[3] = {"int4", "topk", "adaptive"};
    for (int k = 0; k < 3; k++) {
        there = false;
        for (int attempt = 0; attempt < 3 && !there; attempt++) {
            remove(g_ckpt);
            remove(g_out);
            T_EQ(stop_at(low, k, precs[k], 1, SIGKILL, &there, slog), -1);
        }
        T_TRUE(there);
        char ra[3000];
        snprintf(ra, sizeof ra, "--resume %s", low);
        T_EQ(run_log(ra, &log), 0);
        free(log);
        cJSON *lres = t_load_json(g_out);
        t_strip_volatile(lres);
        T_TRUE(lres && lref && cJSON_Compare(lref, lres, true));
        if (lres && lref && !cJSON_Compare(lref, lres, true))
            fprintf(stderr, "killed during round 2 of the %s run: another report\n", precs[k]);
        cJSON_Delete(lres);
    }
    cJSON_Delete(lref);

    free_outputs(&ref);
    return t_done();
}
