/* test_threads.c - the same scenario and seed give the same report and model files for any
 * --threads: constsim run with 1, 2 and 3 threads (1, 2 and 3 clients training at once, the
 * kernels on 1 thread each; and 1 worker with 2 kernel threads when one client trains at a
 * time) on tests/data/sim/resume.yaml (real training on a 1,000-image EuroSAT subset), in two
 * configurations: Adam with per-client state kept, server momentum and delta payloads; SGD
 * with momentum reset every round, whole-model payloads and flip augmentation. Reports are compared
 * member for member after removing the wall-clock times and machine.threads. */
#include "t.h"
#include "t_cli.h"

#include <stdbool.h>

static char g_dir[600];

static const char *const k_models[] = {"fp32", "int8", "ptq-fp32", "ptq-fp16", "ptq-int8"};
enum { N_MODELS = 5 };

/* Runs the scenario with `threads` into DIR/r.json (so that every report names the same model
 * paths), then moves the report to DIR/NAME.json and its models to DIR/NAME/; 0 on success. */
static int run(const char *mini, const char *extra, int threads, const char *name)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s run tests/data/sim/resume.yaml -q -o %s/r.json --set dataset.path=%s %s "
             "--threads %d > %s/%s.log 2>&1 && mv %s/r.json %s/%s.json && mv %s/r %s/%s",
             t_exe(), g_dir, mini, extra, threads, g_dir, name, g_dir, g_dir, name, g_dir, g_dir,
             name);
    return t_sh(cmd);
}

static void compare(const char *a, const char *b, const char *what)
{
    char pa[800], pb[800];
    snprintf(pa, sizeof pa, "%s/%s.json", g_dir, a);
    snprintf(pb, sizeof pb, "%s/%s.json", g_dir, b);
    cJSON *ja = t_load_json(pa), *jb = t_load_json(pb);
    T_TRUE(ja && jb);
    t_strip_volatile(ja);
    t_strip_volatile(jb);
    const bool same = ja && jb && cJSON_Compare(ja, jb, true);
    if (!same)
        fprintf(stderr, "%s: reports %s and %s differ\n", what, pa, pb);
    T_TRUE(same);
    bool models = true;
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    for (int i = 0; i < N_MODELS; i++) {
        snprintf(pa, sizeof pa, "%s/%s/%s.safetensors", g_dir, a, k_models[i]);
        snprintf(pb, sizeof pb, "%s/%s/%s.safetensors", g_dir, b, k_models[i]);
        size_t la = 0, lb = 0;
        char *ma = t_slurp(pa, &la), *mb = t_slurp(pb, &lb);
        const bool eq = ma && mb && la == lb && memcmp(ma, mb, la) == 0;
        T_TRUE(eq);
        models = models && eq;
        free(ma);
        free(mb);
    }
    if (same && models)
        fprintf(stderr, "%s: %s and %s identical\n", what, a, b);
}

int main(void)
{
    const char *bin = getenv("CONSTSIM_BINARY_DIR");
    char mini[700], cmd[1400];
    snprintf(g_dir, sizeof g_dir, "%s/threads-test", bin ? bin : "/tmp");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", g_dir, g_dir);
    T_EQ(t_sh(cmd), 0);
    snprintf(mini, sizeof mini, "%s/mini", g_dir);
    T_EQ(t_make_mini(mini, 100), 0);

    /* Adam kept per client, server momentum, delta payloads, a deadline (late updates). */
    T_EQ(run(mini, "", 1, "a1"), 0);
    T_EQ(run(mini, "", 2, "a2"), 0);
    T_EQ(run(mini, "", 3, "a3"), 0);
    compare("a1", "a2", "adam/keep/delta");
    compare("a1", "a3", "adam/keep/delta");

    /* SGD with momentum reset every round, whole-model payloads, flips; one client per round (one
     * worker with 2 kernel threads at --threads 2) against clients in parallel. */
    const char *sgd = "--set federated.optimizer.name=sgd --set federated.optimizer.lr=0.01 "
                      "--set federated.optimizer.momentum=0.9 "
                      "--set federated.optimizer.state=reset --set wire.payload=weights "
                      "--set dataset.augment=flip --set federated.server_momentum=0";
    T_EQ(run(mini, sgd, 1, "s1"), 0);
    T_EQ(run(mini, sgd, 3, "s3"), 0);
    compare("s1", "s3", "sgd/reset/weights/flip");
    char one[1400];
    snprintf(one, sizeof one, "%s --set federated.clients_per_round=1", sgd);
    T_EQ(run(mini, one, 1, "o1"), 0);
    T_EQ(run(mini, one, 2, "o2"), 0);
    compare("o1", "o2", "one client per round");
    return t_done();
}
