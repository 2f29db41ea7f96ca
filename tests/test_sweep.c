/* test_sweep.c - constsim sweep end to end on tests/data/sim/sweep.yaml (real EuroSAT, real
 * training on a 1,000-image subset of it, symbolic links made here). Two modes:
 *   basic: bad values refused before any work; a seed axis and its replicate statistics,
 *          recomputed here from the points; a failing point recorded and retried, never
 *          averaged; a changed grid refused; the aggregate's figures equal the reports'.
 *   grid:  the 3 x 3 grid (rounds 2,4,6 x clients 3,5,10): one dataset decoding and one contact
 *          plan; killed with SIGKILL part-way and re-run, every point present exactly once and
 *          sweep.json identical to the uninterrupted run's (wall times and "runtime" aside);
 *          under mpirun with 2 ranks (when built with MPI), the same sweep.json. */
#include "cs.h"
#include "t.h"
#include "t_cli.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *SCN = "tests/data/sim/sweep.yaml";
static char g_tmp[64];
/* Axes of one value every sweep here starts with: a EuroSAT subset of 100 images per class
 * (symbolic links into the real dataset, made by t_make_mini: decoding it takes a fraction of
 * the full 27,000 images) and a 10% test split. */
static char g_fixed[256];

/* Removes "runtime" and every member whose name contains "wall", recursively. */
static void strip(cJSON *j)
{
    cJSON *c = j ? j->child : NULL;
    while (c) {
        cJSON *next = c->next;
        if (c->string && (strstr(c->string, "wall") || strcmp(c->string, "runtime") == 0))
            cJSON_Delete(cJSON_DetachItemViaPointer(j, c));
        else
            strip(c);
        c = next;
    }
}

/* sweep.json of dir without wall times and runtime, printed. */
static char *stripped(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    cJSON *j = t_load_json(path);
    if (!j)
        return NULL;
    strip(j);
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return t;
}

/* Files in dir/points: complete point reports, failure records, anything else. */
static void count_points(const char *dir, int *reports, int *failed, int *other)
{
    char p[256];
    snprintf(p, sizeof p, "%s/points", dir);
    *reports = *failed = *other = 0;
    DIR *d = opendir(p);
    if (!d)
        return;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (n[0] == '.')
            continue;
        size_t len = strlen(n);
        if (len == 10 && n[0] == 'p' && strcmp(n + 5, ".json") == 0)
            (*reports)++;
        else if (strstr(n, ".failed.json"))
            (*failed)++;
        else
            (*other)++;
    }
    closedir(d);
}

static const cJSON *get_path(const cJSON *j, const char *a, const char *b)
{
    const cJSON *x = t_get(j, a);
    return b ? t_get(x, b) : x;
}

/* The figures of every done point in sweep.json equal those of its report's runs[].final. */
static void check_points_match_reports(const char *dir, const cJSON *sw)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, t_get(sw, "points"))
    {
        if (strcmp(t_get(p, "status")->valuestring, "done") != 0)
            continue;
        char path[300];
        snprintf(path, sizeof path, "%s/%s", dir, t_get(p, "report")->valuestring);
        cJSON *r = t_load_json(path);
        T_TRUE(r != NULL);
        if (!r)
            continue;
        /* The point's values reached its scenario. */
        const cJSON *fed = get_path(t_get(r, "scenario"), "federated", NULL);
        const cJSON *vals = t_get(p, "values");
        const cJSON *v;
        cJSON_ArrayForEach(v, vals)
        {
            if (strcmp(v->string, "federated.rounds") == 0)
                T_EQ(t_num(fed, "rounds"), v->valuedouble);
            if (strcmp(v->string, "federated.clients") == 0)
                T_EQ(t_num(fed, "clients"), v->valuedouble);
            if (strcmp(v->string, "seed") == 0)
                T_EQ(t_num(t_get(r, "scenario"), "seed"), v->valuedouble);
        }
        T_STREQ(t_get(t_get(r, "sweep"), "id")->valuestring, t_get(p, "id")->valuestring);
        const cJSON *runs = t_get(r, "runs"), *mine = t_get(p, "runs");
        T_EQ(cJSON_GetArraySize(runs), cJSON_GetArraySize(mine));
        for (int k = 0; k < cJSON_GetArraySize(runs) && k < cJSON_GetArraySize(mine); k++) {
            const cJSON *f = t_get(cJSON_GetArrayItem(runs, k), "final");
            const cJSON *m = cJSON_GetArrayItem(mine, k);
            T_STREQ(t_get(m, "precision")->valuestring,
                    t_get(cJSON_GetArrayItem(runs, k), "precision")->valuestring);
            static const char *const keys[] = {"accuracy",  "loss",         "bytes_total",
                                               "cost_usd",  "bytes_to_sat", "rounds_completed",
                                               "sim_time_s"};
            for (size_t q = 0; q < sizeof keys / sizeof keys[0]; q++)
                T_TRUE(t_num(m, keys[q]) == t_num(f, keys[q])); /* exactly */
        }
        cJSON_Delete(r);
    }
}

static int sweep(const char *args, const char *dir, const char *log)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s sweep %s %s %s -o %s --threads 1 --no-trace -q 2> %s", t_exe(),
             SCN, g_fixed, args, dir, log);
    return t_sh(cmd);
}

/* t(0.975) for 2 degrees of freedom in closed form: (2p - 1) / sqrt(2p(1 - p)). */
static double t975_dof2(void)
{
    double p = 0.975;
    return (2 * p - 1) / sqrt(2 * p * (1 - p));
}

static void test_basic(void)
{
    char dir[128], log[160], cmd[1400];
    /* 1. A bad value for one point: exit 2 before any work, the run --set message, no folder. */
    snprintf(dir, sizeof dir, "%s/bad", g_tmp);
    snprintf(log, sizeof log, "%s/bad.err", g_tmp);
    T_EQ(sweep("--set federated.rounds=2,x", dir, log), 2);
    char *err = t_slurp(log, NULL);
    T_CONTAINS(err ? err : "", "--set: error: federated.rounds=x");
    free(err);
    T_TRUE(access(dir, F_OK) != 0);
    T_EQ(sweep("--set federated.clients=3,11", dir, log), 2); /* 11 > 10 satellites */
    T_TRUE(access(dir, F_OK) != 0);
    T_EQ(sweep("--set federated.rounds=2,2", dir, log), 2);   /* a repeated value */
    T_EQ(sweep("--set federated.rounds=2,2.0", dir, log), 2); /* the same number */
    /* --dry-run: every point listed, longest first, nothing written. */
    snprintf(cmd, sizeof cmd,
             "%s sweep %s --set federated.rounds=1,3 --set seed=1,2 -o %s --dry-run > %s", t_exe(),
             SCN, dir, log);
    T_EQ(t_sh(cmd), 0);
    char *plan = t_slurp(log, NULL);
    T_CONTAINS(plan ? plan : "", "4 points, 1 orbital setup, 4 to run");
    const char *at2 = plan ? strstr(plan, "p0002") : NULL,
               *at0 = plan ? strstr(plan, "p0000") : NULL;
    T_TRUE(at2 && at0 && at2 < at0); /* 3 rounds before 1 */
    free(plan);
    T_TRUE(access(dir, F_OK) != 0);
    T_EQ(sweep("--set federated.rounds", dir, log), 2);

    /* 2. Seeds: replicate statistics recomputed from the points. */
    snprintf(dir, sizeof dir, "%s/seeds", g_tmp);
    snprintf(log, sizeof log, "%s/seeds.err", g_tmp);
    T_EQ(sweep("--set federated.rounds=1,2 --set seed=1,2,3", dir, log), 0);
    snprintf(cmd, sizeof cmd, "%s/sweep.json", dir);
    cJSON *sw = t_load_json(cmd);
    T_TRUE(sw != NULL);
    check_points_match_reports(dir, sw);
    const cJSON *rep = t_get(sw, "replicates");
    T_STREQ(t_get(rep, "over")->valuestring, "seed");
    const cJSON *groups = t_get(rep, "groups");
    T_EQ(cJSON_GetArraySize(groups), 4); /* 2 rounds values x 2 precisions */
    const cJSON *pts = t_get(sw, "points");
    for (int gi = 0; gi < cJSON_GetArraySize(groups); gi++) {
        const cJSON *g = cJSON_GetArrayItem(groups, gi);
        int rounds_i = gi / 2, prec_i = gi % 2; /* grid order: rounds, then precision */
        T_EQ(t_num(g, "n"), 3);
        T_TRUE(cJSON_IsTrue(t_get(g, "complete")));
        double x[3], mean = 0, ss = 0, mn = 1e300, mx = -1e300;
        for (int k = 0; k < 3; k++) {
            const cJSON *p = cJSON_GetArrayItem(pts, rounds_i * 3 + k);
            T_EQ(t_num(t_get(p, "values"), "seed"), k + 1);
            x[k] = t_num(cJSON_GetArrayItem(t_get(p, "runs"), prec_i), "accuracy");
            mean += x[k] / 3;
            mn = fmin(mn, x[k]);
            mx = fmax(mx, x[k]);
        }
        for (int k = 0; k < 3; k++)
            ss += (x[k] - mean) * (x[k] - mean);
        double sd = sqrt(ss / 2), half = t975_dof2() * sd / sqrt(3.0);
        const cJSON *a = t_get(g, "accuracy");
        T_NEAR_REL(t_num(a, "mean"), mean, 1e-12, 1e-15);
        T_NEAR_REL(t_num(a, "sd"), sd, 1e-9, 1e-15);
        T_TRUE(t_num(a, "min") == mn);
        T_TRUE(t_num(a, "max") == mx);
        T_NEAR_REL(t_num(a, "ci95_low"), mean - half, 1e-9, 1e-15);
        T_NEAR_REL(t_num(a, "ci95_high"), mean + half, 1e-9, 1e-15);
        T_TRUE(cJSON_IsObject(t_get(g, "cost_usd")));
        T_TRUE(cJSON_IsObject(t_get(g, "rounds_completed")));
        T_EQ(t_num(t_get(g, "rounds_completed"), "mean"), rounds_i + 1);
    }
    cJSON_Delete(sw);
    /* A point's report is the report of `constsim run` with the point's values (wall times and
     * the sweep member aside). */
    char one[160];
    snprintf(one, sizeof one, "%s/one.json", g_tmp);
    snprintf(cmd, sizeof cmd,
             "%s run %s %s --set federated.rounds=2 --set seed=2 -o %s --threads 1 --no-trace "
             "--no-models -q > /dev/null",
             t_exe(), SCN, g_fixed, one);
    T_EQ(t_sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/points/p0004.json", dir);
    cJSON *ra = t_load_json(one), *rb = t_load_json(cmd);
    T_TRUE(ra && rb);
    if (ra && rb) {
        cJSON_Delete(cJSON_DetachItemFromObject(rb, "sweep"));
        strip(ra);
        strip(rb);
        char *ta = cJSON_PrintUnformatted(ra), *tb = cJSON_PrintUnformatted(rb);
        T_TRUE(ta && tb && strcmp(ta, tb) == 0);
        free(ta);
        free(tb);
    }
    cJSON_Delete(ra);
    cJSON_Delete(rb);
    /* The CSV: a header, 6 points x 2 precisions, 4 replicate rows. */
    snprintf(cmd, sizeof cmd, "%s/sweep.csv", dir);
    char *csv = t_slurp(cmd, NULL);
    int lines = 0, rep_rows = 0;
    for (char *c = csv; c && *c; c++)
        lines += *c == '\n';
    for (char *c = csv; c && (c = strstr(c, "\nreplicates,")) != NULL; c++)
        rep_rows++;
    T_EQ(lines, 1 + 12 + 4);
    T_EQ(rep_rows, 4);
    T_CONTAINS(csv ? csv : "", "accuracy_ci95_high");
    free(csv);

    /* 3. A failing point (Dirichlet draws impossible at alpha 1e-5): recorded with its message,
     * exit 1, not averaged; a re-run retries it and skips the done one. */
    snprintf(dir, sizeof dir, "%s/fail", g_tmp);
    snprintf(log, sizeof log, "%s/fail.err", g_tmp);
    const char *fa = "--set dataset.partition=dirichlet --set dataset.alpha=0.5,0.00001 "
                     "--set federated.rounds=1 --set seed=1,2";
    T_EQ(sweep(fa, dir, log), 1);
    T_EQ(sweep(fa, dir, log), 1);
    int nr, nf, no;
    count_points(dir, &nr, &nf, &no);
    T_EQ(nr, 2);
    T_EQ(nf, 2);
    T_EQ(no, 0);
    snprintf(cmd, sizeof cmd, "%s/sweep.json", dir);
    sw = t_load_json(cmd);
    T_EQ(t_num(t_get(sw, "summary"), "failed"), 2);
    T_EQ(t_num(t_get(sw, "runtime"), "points_skipped"), 2);
    T_EQ(t_num(t_get(sw, "runtime"), "points_run"), 2);
    const cJSON *p2 = cJSON_GetArrayItem(t_get(sw, "points"), 2);
    T_STREQ(t_get(p2, "status")->valuestring, "failed");
    T_CONTAINS(t_get(p2, "message")->valuestring, "Dirichlet");
    T_EQ(cJSON_GetArraySize(t_get(p2, "runs")), 0);
    const cJSON *g1 = cJSON_GetArrayItem(t_get(t_get(sw, "replicates"), "groups"), 2);
    T_EQ(t_num(g1, "n"), 0);
    T_EQ(t_num(g1, "n_failed"), 2);
    T_TRUE(cJSON_IsFalse(t_get(g1, "complete")));
    T_TRUE(cJSON_IsNull(t_get(g1, "accuracy")));
    cJSON_Delete(sw);

    /* A group whose seeds all failed is not drawn (gnuplot-nox is installed with the build's
     * dependencies; without it plot exits 1 and names the package). */
    char png[200];
    snprintf(png, sizeof png, "%s/fail.png", g_tmp);
    snprintf(cmd, sizeof cmd, "%s plot %s -o %s 2> %s", t_exe(), dir, png, log);
    int prc = t_sh(cmd);
    T_TRUE(prc == 0 || prc == 1);
    if (prc == 0)
        T_TRUE(access(png, F_OK) == 0);

    /* 4. A changed grid (or scenario) in an existing folder: exit 2, saying what changed. */
    T_EQ(sweep("--set dataset.partition=dirichlet --set dataset.alpha=0.5 "
               "--set federated.rounds=1 --set seed=1,2",
               dir, log),
         2);
    err = t_slurp(log, NULL);
    T_CONTAINS(err ? err : "", "the grid changed");
    free(err);
}

/* Number of fields of a CSV line (RFC 4180: commas inside quotes do not count). */
static int csv_fields(const char *line, const char *end)
{
    int n = 1;
    bool quoted = false;
    for (const char *c = line; c < end; c++) {
        if (*c == '"')
            quoted = !quoted;
        else if (*c == ',' && !quoted)
            n++;
    }
    return n;
}

/* A diverged point (loss and accuracy not finite): done, its figures null in sweep.json and
 * empty in the CSV, and the folder still resumes. */
static void test_diverged(void)
{
    char dir[128], log[160], path[200];
    snprintf(dir, sizeof dir, "%s/nan", g_tmp);
    snprintf(log, sizeof log, "%s/nan.err", g_tmp);
    const char *a = "--set federated.optimizer.lr=1e300,0.01 --set federated.rounds=1 "
                    "--set wire.precision=fp32";
    T_EQ(sweep(a, dir, log), 0);
    T_EQ(sweep(a, dir, log), 0); /* resumes: both points found done */
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    cJSON *sw = t_load_json(path);
    T_EQ(t_num(t_get(sw, "summary"), "done"), 2);
    T_EQ(t_num(t_get(sw, "runtime"), "points_skipped"), 2);
    const cJSON *r0 =
        cJSON_GetArrayItem(t_get(cJSON_GetArrayItem(t_get(sw, "points"), 0), "runs"), 0);
    T_TRUE(cJSON_IsNull(t_get(r0, "loss")));
    cJSON_Delete(sw);
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    char *csv = t_slurp(path, NULL);
    int header = -1, lines = 0;
    for (char *l = csv; l && *l;) {
        char *e = strchr(l, '\n');
        if (!e)
            break;
        int n = csv_fields(l, e);
        if (header < 0)
            header = n;
        else
            T_EQ(n, header);
        lines++;
        l = e + 1;
    }
    T_EQ(lines, 3);
    free(csv);
}

static void test_grid(bool mpi)
{
    const char *grid = "--set federated.rounds=2,4,6 --set federated.clients=3,5,10";
    char a[128], b[128], m[128], log[160], cmd[1400];
    snprintf(a, sizeof a, "%s/a", g_tmp);
    snprintf(b, sizeof b, "%s/b", g_tmp);
    snprintf(m, sizeof m, "%s/m", g_tmp);
    snprintf(log, sizeof log, "%s/a.err", g_tmp);
    /* Uninterrupted. */
    T_EQ(sweep(grid, a, log), 0);
    snprintf(cmd, sizeof cmd, "%s/sweep.json", a);
    cJSON *sw = t_load_json(cmd);
    T_TRUE(sw != NULL);
    const cJSON *rt = t_get(sw, "runtime");
    T_EQ(t_num(rt, "dataset_decodes"), 1);
    T_EQ(t_num(rt, "contact_plans"), 1);
    T_EQ(t_num(rt, "points_run"), 9);
    T_EQ(t_num(t_get(sw, "summary"), "done"), 9);
    T_EQ(t_num(t_get(sw, "summary"), "orbital_setups"), 1);
    check_points_match_reports(a, sw);
    cJSON_Delete(sw);

    /* Killed part-way (after 3 points, while the 4th runs), then re-run. */
    snprintf(log, sizeof log, "%s/b.err", g_tmp);
    snprintf(cmd, sizeof cmd,
             "%s sweep %s %s %s -o %s --threads 1 --no-trace -q 2> %s & echo $! > %s/b.pid",
             t_exe(), SCN, g_fixed, grid, b, log, g_tmp);
    T_EQ(t_sh(cmd), 0);
    int nr = 0, nf, no;
    for (int k = 0; k < 1200 && nr < 3; k++) {
        usleep(100000);
        count_points(b, &nr, &nf, &no);
    }
    T_TRUE(nr >= 3);
    snprintf(cmd, sizeof cmd, "%s/b.pid", g_tmp);
    char *pid = t_slurp(cmd, NULL);
    T_TRUE(pid && kill((pid_t)atol(pid), SIGKILL) == 0);
    free(pid);
    usleep(300000);
    count_points(b, &nr, &nf, &no);
    T_TRUE(nr < 9); /* it was stopped before the end */
    T_EQ(sweep(grid, b, log), 0);
    count_points(b, &nr, &nf, &no);
    T_EQ(nr, 9);
    T_EQ(nf, 0);
    T_EQ(no, 0); /* no temporary files left */
    snprintf(cmd, sizeof cmd, "%s/sweep.json", b);
    sw = t_load_json(cmd);
    T_TRUE(t_num(t_get(sw, "runtime"), "points_skipped") >= 3);
    T_TRUE(t_num(t_get(sw, "runtime"), "points_run") <= 6);
    cJSON_Delete(sw);
    char *sa = stripped(a), *sb = stripped(b);
    T_TRUE(sa && sb && strcmp(sa, sb) == 0);
    free(sb);

    /* MPI: 2 ranks, the same aggregate. */
    if (mpi) {
        snprintf(log, sizeof log, "%s/m.err", g_tmp);
        snprintf(cmd, sizeof cmd,
                 "mpirun --allow-run-as-root --oversubscribe -np 2 %s sweep %s %s %s -o %s "
                 "--threads 1 --no-trace -q > %s 2>&1",
                 t_exe(), SCN, g_fixed, grid, m, log);
        T_EQ(t_sh(cmd), 0);
        char *sm = stripped(m);
        T_TRUE(sa && sm && strcmp(sa, sm) == 0);
        snprintf(cmd, sizeof cmd, "%s/sweep.json", m);
        sw = t_load_json(cmd);
        T_EQ(t_num(t_get(sw, "runtime"), "ranks"), 2);
        T_EQ(t_num(t_get(sw, "runtime"), "points_run"), 9);
        cJSON_Delete(sw);
        free(sm);
    } else {
        printf("built without MPI: the mpirun part is not run\n");
    }
    free(sa);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_sweep basic|grid [mpi]\n");
        return 2;
    }
    snprintf(g_tmp, sizeof g_tmp, "/tmp/cs_test_sweep_XXXXXX");
    T_TRUE(mkdtemp(g_tmp) != NULL);
    char mini[128];
    snprintf(mini, sizeof mini, "%s/eurosat-mini", g_tmp);
    T_EQ(t_make_mini(mini, 100), 0);
    snprintf(g_fixed, sizeof g_fixed, "--set dataset.path=%s --set dataset.test_fraction=0.1",
             mini);
    if (strcmp(argv[1], "basic") == 0) {
        test_basic();
        test_diverged();
    } else
        test_grid(argc > 2 && strcmp(argv[2], "mpi") == 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    if (t_failures == 0)
        t_sh(cmd);
    return t_done();
}
