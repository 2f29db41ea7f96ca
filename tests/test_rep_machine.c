/* test_rep_machine.c - the report's "machine" object and trace count (sim/rep.c, common/cs_host.c,
 * nn_blas_describe): the probed facts, their place and values in a report built from a hand-made
 * study, the compare note on reports made with different BLAS or convolution kernels, and
 * `constsim --version`.
 *
 *   test_rep_machine        no dataset needed
 *   test_rep_machine run    constsim run on tests/data/sim/e2e.yaml (cut to one int8 round) with
 *                           --threads 1, then tests/check_report.py --threads 1 on the report and
 *                           constsim compare on it and an edited copy (needs ../shared/eurosat)
 */
#include "cs.h"
#include "cs_host.h"
#include "nn.h"
#include "rep.h"
#include "scn.h"
#include "t.h"
#include "t_cli.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *x = t_get(o, k);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* The names of o's members, comma-separated. */
static void keys(const cJSON *o, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (const cJSON *c = o ? o->child : NULL; c && len < cap; c = c->next)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", c->string);
}

static void test_probe(void)
{
    rep_machine m;
    rep_machine_probe(&m, 3);
    T_EQ(m.threads, 3);
    T_TRUE(m.cores >= 1);
    T_EQ(m.cores, cs_host_cpus());
    T_TRUE(strlen(m.cpu) > 0);
    T_STREQ(m.constsim_version, cs_build_version());
    T_TRUE(strlen(m.constsim_version) > 0);
    T_STREQ(m.blas.library, "OpenBLAS");
    T_CONTAINS(m.blas.config, "OpenBLAS");
    T_STREQ(m.blas.core, nn_blas_core());
    T_TRUE(strlen(m.blas.core) > 0);
    T_TRUE(m.blas.threads >= 1);

    char small[4];
    cs_host_cpu_model(small, sizeof small);
    T_TRUE(strlen(small) > 0 && strlen(small) < sizeof small);
}

/* A report from a study made by hand: one fp32 run without rounds and a trace of 3 events. */
static void test_report(void)
{
    cs_err err;
    scn_config *cfg = NULL;
    T_EQ(scn_load("tests/data/sim/e2e.yaml", NULL, 0, &cfg, &err), 0);
    if (!cfg)
        return;
    static fl_study s; /* large; zeroed */
    fl_trace_event ev[3] = {
        {.t_s = 0,
         .kind = FL_TR_ROUND_START,
         .round = 1,
         .sat = -1,
         .station = -1,
         .antenna = -1,
         .value = 3},
        {.t_s = 10,
         .kind = FL_TR_LINK_START,
         .dir = FL_DOWN,
         .round = 1,
         .sat = 2,
         .station = 1,
         .antenna = 1,
         .bytes = 50,
         .value = 30},
        {.t_s = 20, .kind = FL_TR_SELECT, .round = 1, .sat = 0, .station = -1, .antenna = -1},
    };
    fl_station_use use[8] = {{0}};
    T_TRUE(cfg->n_stations <= 8);
    static nn_dataset ds; /* large; zeroed */
    static sim_plan plan;
    s.cfg = cfg;
    s.ds = &ds;
    s.plan = &plan;
    snprintf(ds.root, sizeof ds.root, "nowhere");
    s.n_runs = 1;
    s.runs[0].precision = NN_PREC_FP32;
    s.runs[0].payload_bytes = s.runs[0].payload_bytes_fp32 = 1000;
    s.runs[0].station_totals = use;
    s.runs[0].n_stations = cfg->n_stations;
    s.runs[0].traced = true;
    s.runs[0].trace = ev;
    s.runs[0].n_trace = 3;

    rep_machine m;
    rep_machine_probe(&m, 5);
    snprintf(m.cpu, sizeof m.cpu, "Test CPU \"9000\"");
    cJSON *built = rep_build_on(&s, &m, &err);
    T_TRUE(built != NULL);
    char *text = built ? cJSON_PrintUnformatted(built) : NULL;
    cJSON *r = text ? cJSON_Parse(text) : NULL;
    T_TRUE(r != NULL);
    char k[512];
    keys(r, k, sizeof k);
    /* the contract's keys keep their order; "status" follows the format, "machine" the
     * version */
    T_STREQ(k, "format,status,constsim_version,machine,scenario,model,dataset,contacts,runs,ptq,"
               "wall_time_s");
    T_STREQ(str(r, "status"), "complete");
    T_STREQ(str(r, "constsim_version"), CONSTSIM_VERSION);
    const cJSON *mj = t_get(r, "machine");
    keys(mj, k, sizeof k);
    T_STREQ(k, "constsim_version,threads,cores,cpu,blas,conv_kernels");
    T_STREQ(str(mj, "constsim_version"), cs_build_version());
    T_EQ(t_num(mj, "threads"), 5);
    T_EQ(t_num(mj, "cores"), cs_host_cpus());
    T_STREQ(str(mj, "cpu"), "Test CPU \"9000\"");
    const cJSON *bl = t_get(mj, "blas");
    keys(bl, k, sizeof k);
    T_STREQ(k, "library,config,core,threads");
    T_STREQ(str(bl, "library"), "OpenBLAS");
    T_STREQ(str(bl, "config"), m.blas.config);
    T_STREQ(str(bl, "core"), nn_blas_core());
    T_EQ(t_num(bl, "threads"), m.blas.threads);
    T_STREQ(str(mj, "conv_kernels"), nn_conv_kernels());

    const cJSON *tr = t_get(cJSON_GetArrayItem(t_get(r, "runs"), 0), "trace");
    keys(tr, k, sizeof k);
    T_STREQ(k, "fields,events_recorded,truncated,events_dropped,events");
    T_TRUE(cJSON_IsFalse(t_get(tr, "truncated")));
    T_EQ(t_num(tr, "events_dropped"), 0);
    T_EQ(t_num(tr, "events_recorded"), 3);
    T_EQ(cJSON_GetArraySize(t_get(tr, "events")), 3);
    /* one array per event, its columns named by fields; the antenna last */
    char *fields = cJSON_PrintUnformatted(t_get(tr, "fields"));
    T_STREQ(fields, "[\"t_s\",\"event\",\"round\",\"sat\",\"station\",\"bytes\",\"value\","
                    "\"antenna\"]");
    cJSON_free(fields);
    char *rows = cJSON_PrintUnformatted(t_get(tr, "events"));
    T_STREQ(rows, "[[0,\"round_start\",1,-1,-1,0,3,-1],[10,\"down_start\",1,2,1,50,30,1],"
                  "[20,\"select\",1,0,-1,0,0,-1]]");
    cJSON_free(rows);
    cJSON_Delete(r);
    cJSON_free(text);
    cJSON_Delete(built);

    /* without a machine: this process's facts, with nn_threads() */
    nn_set_threads(1);
    built = rep_build(&s, &err);
    T_TRUE(built != NULL);
    text = built ? cJSON_PrintUnformatted(built) : NULL;
    r = text ? cJSON_Parse(text) : NULL;
    T_EQ(t_num(t_get(r, "machine"), "threads"), 1);
    cJSON_Delete(r);
    cJSON_free(text);
    cJSON_Delete(built);

    /* a run without a trace (--no-trace) has no trace field */
    s.runs[0].traced = false;
    built = rep_build(&s, &err);
    const cJSON *run0 = built ? cJSON_GetArrayItem(t_get(built, "runs"), 0) : NULL;
    T_TRUE(run0 != NULL && t_get(run0, "stations") != NULL);
    T_TRUE(run0 != NULL && cJSON_GetObjectItemCaseSensitive(run0, "trace") == NULL);
    cJSON_Delete(built);
    scn_free(cfg);
}

static cJSON *fake_report(int threads, const char *core)
{
    cJSON *r = cJSON_CreateObject();
    if (threads > 0) {
        cJSON *m = cJSON_AddObjectToObject(r, "machine");
        cJSON_AddNumberToObject(m, "threads", threads);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "blas"), "core", core);
    }
    return r;
}

static void test_note(void)
{
    cJSON *a = fake_report(2, "SkylakeX"), *b = fake_report(2, "SkylakeX");
    cJSON *c = fake_report(1, "SkylakeX"), *d = fake_report(2, "Haswell"),
          *old = fake_report(0, "");
    char note[256];
    const cJSON *same[] = {a, b, old};
    T_TRUE(!rep_machine_note(same, 3, note, sizeof note));
    const cJSON *threads[] = {a, old, c}; /* the thread count does not change results */
    T_TRUE(!rep_machine_note(threads, 3, note, sizeof note));
    const cJSON *cores[] = {a, b, d};
    T_TRUE(rep_machine_note(cores, 3, note, sizeof note));
    T_CONTAINS(note, "(SkylakeX; Haswell)");
    T_TRUE(strchr(note, '\n') == NULL);
    char tiny[8];
    T_TRUE(rep_machine_note(cores, 3, tiny, sizeof tiny));
    T_EQ(strlen(tiny), sizeof tiny - 1);
    const cJSON *one[] = {a};
    T_TRUE(!rep_machine_note(one, 1, note, sizeof note));
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    cJSON_Delete(d);
    cJSON_Delete(old);
}

static void test_version(const char *dir)
{
    char cmd[2048], path[1100];
    snprintf(path, sizeof path, "%s/version.txt", dir);
    snprintf(cmd, sizeof cmd, "%s --version > %s", t_exe(), path);
    T_EQ(t_sh(cmd), 0);
    char *v = t_slurp(path, NULL);
    char want[256];
    if (strcmp(cs_build_version(), CONSTSIM_VERSION) == 0)
        snprintf(want, sizeof want, "constsim %s\n", CONSTSIM_VERSION);
    else
        snprintf(want, sizeof want, "constsim %s (%s)\n", CONSTSIM_VERSION, cs_build_version());
    T_STREQ(v, want);
    free(v);
}

/* constsim run with --threads 1 (the default is every core), check_report.py, compare. */
static int test_run(const char *dir)
{
    const char *shared = getenv("CONSTSIM_SHARED");
    char path[1100], cmd[4096];
    snprintf(path, sizeof path, "%s/eurosat", shared ? shared : "../shared");
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "skipped: no dataset at %s\n", path);
        return 77;
    }
    char out[1100], edited[1100];
    snprintf(out, sizeof out, "%s/run.json", dir);
    snprintf(edited, sizeof edited, "%s/run-edited.json", dir);
    snprintf(cmd, sizeof cmd,
             "%s run tests/data/sim/e2e.yaml -q --threads 1 --no-models --set federated.rounds=1 "
             "--set wire.precision=int8 --set report.ptq=false -o %s > /dev/null",
             t_exe(), out);
    T_EQ(t_sh(cmd), 0);
    char *text = t_slurp(out, NULL);
    cJSON *r = text ? cJSON_Parse(text) : NULL;
    T_TRUE(r != NULL);
    if (!r) {
        free(text);
        return t_done();
    }
    cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "machine");
    T_EQ(t_num(m, "threads"), 1);
    T_STREQ(str(t_get(m, "blas"), "core"), nn_blas_core());
    T_STREQ(str(m, "constsim_version"), cs_build_version());
    T_STREQ(str(m, "conv_kernels"), nn_conv_kernels());
    const cJSON *tr = t_get(cJSON_GetArrayItem(t_get(r, "runs"), 0), "trace");
    T_TRUE(t_num(tr, "events_recorded") > 0);
    T_EQ(t_num(tr, "events_recorded"), cJSON_GetArraySize(t_get(tr, "events")));

    if (system("test -x /usr/bin/python3") == 0) {
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/check_report.py --threads 1 %s", out);
        T_EQ(t_sh(cmd), 0);
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 tests/check_report.py --threads 3 %s 2> /dev/null > /dev/null",
                 out);
        T_EQ(t_sh(cmd), 1);
    }

    /* compare: no note for the same machine, one line for another thread count */
    snprintf(path, sizeof path, "%s/compare.txt", dir);
    snprintf(cmd, sizeof cmd, "%s compare %s %s > %s", t_exe(), out, out, path);
    T_EQ(t_sh(cmd), 0);
    char *txt = t_slurp(path, NULL);
    T_TRUE(txt && !strstr(txt, "note:"));
    free(txt);
    /* another thread count alone: no note (results do not depend on it) */
    cJSON_ReplaceItemInObjectCaseSensitive(m, "threads", cJSON_CreateNumber(4));
    char *etext = cJSON_Print(r);
    cs_err err;
    T_TRUE(etext && cs_write_file_atomic(edited, etext, strlen(etext), &err) == 0);
    snprintf(cmd, sizeof cmd, "%s compare %s %s > %s", t_exe(), out, edited, path);
    T_EQ(t_sh(cmd), 0);
    txt = t_slurp(path, NULL);
    T_TRUE(txt && !strstr(txt, "note:"));
    free(txt);
    cJSON_free(etext);
    /* another BLAS kernel set: one line */
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "blas"), "core",
                                           cJSON_CreateString("Prescott"));
    etext = cJSON_Print(r);
    T_TRUE(etext && cs_write_file_atomic(edited, etext, strlen(etext), &err) == 0);
    T_EQ(t_sh(cmd), 0);
    txt = t_slurp(path, NULL);
    T_CONTAINS(txt, "\nnote: the reports ran with different BLAS or convolution kernels (");
    T_CONTAINS(txt, "; Prescott + ");
    free(txt);
    cJSON_free(etext);
    /* the same BLAS kernels, other convolution kernels: one line too */
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "blas"), "core",
                                           cJSON_CreateString(nn_blas_core()));
    T_TRUE(cJSON_IsString(t_get(m, "conv_kernels")));
    const bool was_direct =
        strcmp(cJSON_GetStringValue(t_get(m, "conv_kernels")), "direct-avx512") == 0;
    cJSON_ReplaceItemInObjectCaseSensitive(
        m, "conv_kernels", cJSON_CreateString(was_direct ? "im2col-sgemm" : "direct-avx512"));
    etext = cJSON_Print(r);
    T_TRUE(etext && cs_write_file_atomic(edited, etext, strlen(etext), &err) == 0);
    T_EQ(t_sh(cmd), 0);
    txt = t_slurp(path, NULL);
    T_CONTAINS(txt, "\nnote: the reports ran with different BLAS or convolution kernels (");
    T_CONTAINS(txt, was_direct ? " + im2col-sgemm)" : " + direct-avx512)");
    free(txt);
    cJSON_free(etext);
    cJSON_Delete(r);
    free(text);
    return t_done();
}

int main(int argc, char **argv)
{
    const char *bin = getenv("CONSTSIM_BINARY_DIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/rep-machine", bin ? bin : "/tmp");
    cs_err err;
    T_EQ(cs_mkdir_p(dir, &err), 0);
    if (argc > 1 && !strcmp(argv[1], "run"))
        return test_run(dir);
    test_probe();
    test_report();
    test_note();
    test_version(dir);
    return t_done();
}
