/* test_plot.c - constsim plot on the fixtures of tests/data/plot/: the images gnuplot writes
 * (PNG signature and IHDR size, SVG), the data rows of the script (--script) against values
 * computed here from the fixtures (cumulative bytes and cost of the report, the sweep's heatmap
 * cells and Pareto set), the errors and their exit codes, and a missing or failing gnuplot.
 *
 * Fixtures: report.json is `constsim run tests/data/sim/e2e.yaml --no-models --no-trace
 * --set federated.rounds=4 --set wire.precision=fp32,fp16,int8 --set report.ptq=false`, trimmed
 * to the fields plot reads; the sweep folders hold hand-made sweep.json files (docs/sweep.md):
 * sweep3x3 (a one-valued wire.precision axis, then rounds x clients, fp32 and int8 runs, one
 * point failed and one pending), sweep_seeds (rounds x clients x seed, one seed failed) and
 * sweep1axis. */
#include "t.h"
#include "t_cli.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA "tests/data/plot/"

static char dir[256]; /* the test's scratch folder */
static char cmd[4096];

/* Runs constsim plot ARGS with stderr into dir/err.txt; the exit status. */
static int plot(const char *env, const char *args)
{
    snprintf(cmd, sizeof cmd, "%s %s plot %s 2>%s/err.txt", env ? env : "", t_exe(), args, dir);
    return t_sh(cmd);
}

static char *stderr_text(void)
{
    char p[300];
    snprintf(p, sizeof p, "%s/err.txt", dir);
    char *s = t_slurp(p, NULL);
    return s ? s : calloc(1, 1);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A PNG of w x h: the signature, then the IHDR chunk first. */
static void check_png(const char *path, uint32_t w, uint32_t h)
{
    size_t n = 0;
    unsigned char *d = (unsigned char *)t_slurp(path, &n);
    T_TRUE(d != NULL);
    if (!d)
        return;
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    T_TRUE(n > 33);
    if (n > 33) {
        T_MEMEQ(d, sig, 8);
        T_MEMEQ(d + 12, "IHDR", 4);
        T_EQ(be32(d + 16), w);
        T_EQ(be32(d + 20), h);
    }
    free(d);
}

/* The rows of data block $name in a script, one string per line (no comment lines). */
static int block_rows(const char *script, const char *name, char rows[][256], int max)
{
    char head[64];
    snprintf(head, sizeof head, "\n%s << EOD\n", name);
    const char *p = strstr(script, head);
    if (!p) {
        fprintf(stderr, "no block %s in the script\n", name);
        return -1;
    }
    p += strlen(head);
    int n = 0;
    while (*p && strncmp(p, "EOD\n", 4) != 0) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (*p != '#' && n < max) {
            snprintf(rows[n], 256, "%.*s", (int)(len < 255 ? len : 255), p);
            n++;
        }
        p += len + (nl ? 1 : 0);
    }
    return n;
}

static char *script_of(const char *args)
{
    char a[1024], p[300];
    snprintf(p, sizeof p, "%s/plot.gp", dir);
    snprintf(a, sizeof a, "%s --script %s", args, p);
    T_EQ(plot(NULL, a), 0);
    return t_slurp(p, NULL);
}

/* Report: the rows of $runI are the cumulative sums of the fixture's rounds. */
static void test_report_data(void)
{
    char *gp = script_of(DATA "report.json -o out.png");
    cJSON *rep = t_load_json(DATA "report.json");
    T_TRUE(gp && rep);
    if (!gp || !rep)
        goto done;
    T_CONTAINS(gp, "set output 'out.png'");
    T_CONTAINS(gp, "size 1200,900");
    int i = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItem(rep, "runs"))
    {
        char name[16], rows[64][256];
        snprintf(name, sizeof name, "$run%d", i);
        const cJSON *rounds = cJSON_GetObjectItem(run, "rounds");
        int n = block_rows(gp, name, rows, 64);
        T_EQ(n, cJSON_GetArraySize(rounds));
        long long bytes = 0;
        double cost = 0;
        int k = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, rounds)
        {
            if (k >= n)
                break;
            bytes += (long long)t_num(r, "bytes_to_sat") + (long long)t_num(r, "bytes_to_ground");
            cost += t_num(r, "cost_usd");
            double v[6] = {0};
            T_EQ(sscanf(rows[k], "%lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4],
                        &v[5]),
                 6);
            T_EQ(v[0], t_num(r, "round"));
            /* Printed to round-trip: the same doubles, except hours and MB (one division). */
            T_NEAR_REL(v[1], t_num(r, "sim_time_s") / 3600.0, 1e-15, 1e-300);
            T_NEAR_REL(v[2], (double)bytes / 1e6, 1e-15, 1e-300);
            T_NEAR_REL(v[3], cost, 1e-15, 1e-300);
            T_TRUE(v[4] == t_num(r, "accuracy"));
            T_EQ_U64((uint64_t)v[5], (uint64_t)bytes);
            k++;
        }
        /* The last row's totals are the run's final figures. */
        const cJSON *fin = cJSON_GetObjectItem(run, "final");
        T_EQ_U64((uint64_t)bytes, (uint64_t)t_num(fin, "bytes_total"));
        T_NEAR_REL(cost, t_num(fin, "cost_usd"), 1e-12, 1e-300);
        i++;
    }
    T_EQ(i, 3);
done:
    free(gp);
    cJSON_Delete(rep);
}

typedef struct pt {
    double cost, acc;
} pt;

static int by_cost(const void *a, const void *b)
{
    const pt *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? -1 : 1;
    return (x->acc < y->acc) - (x->acc > y->acc);
}

/* Sweep 3x3: the $front rows are the non-dominated (cost, accuracy) pairs of every done point
 * and precision, worked out here, by cost; failed and pending points are counted in the title. */
static void test_sweep_front(void)
{
    char *gp = script_of(DATA "sweep3x3 -o out.svg");
    cJSON *sw = t_load_json(DATA "sweep3x3/sweep.json");
    T_TRUE(gp && sw);
    if (!gp || !sw)
        goto done;
    T_CONTAINS(gp, "set terminal svg");
    T_CONTAINS(gp, "1 point failed, 1 point pending: not shown");
    pt all[64];
    int n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(sw, "points"))
    {
        if (strcmp(cJSON_GetObjectItem(p, "status")->valuestring, "done") != 0)
            continue;
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(p, "runs")) all[n++] =
            (pt){t_num(r, "cost_usd"), t_num(r, "accuracy")};
    }
    T_EQ(n, 14); /* 7 done points x fp32, int8 */
    pt front[64];
    int nf = 0;
    for (int i = 0; i < n; i++) {
        bool dominated = false;
        for (int j = 0; j < n; j++)
            if (all[j].cost <= all[i].cost && all[j].acc >= all[i].acc &&
                (all[j].cost < all[i].cost || all[j].acc > all[i].acc))
                dominated = true;
        if (!dominated)
            front[nf++] = all[i];
    }
    qsort(front, (size_t)nf, sizeof *front, by_cost);
    T_EQ(nf, 6); /* the five cheapest int8 steps and fp32 at rounds=6 clients=5 */
    char rows[64][256];
    int got = block_rows(gp, "$front", rows, 64);
    T_EQ(got, nf);
    for (int i = 0; i < got && i < nf; i++) {
        double c = 0, a = 0;
        T_EQ(sscanf(rows[i], "%lf %lf", &c, &a), 2);
        T_TRUE(c == front[i].cost);
        T_TRUE(a == front[i].acc);
    }
    /* One heatmap pair per precision; the cells of fp32 are the 7 done points. */
    T_EQ(block_rows(gp, "$heat0", rows, 64), 7);
    T_EQ(block_rows(gp, "$heat1", rows, 64), 7);
    T_EQ(block_rows(gp, "$empty0", rows, 64), 2);
    /* --precision int8: one pair, and the Pareto points of int8 only. */
    free(gp);
    gp = script_of(DATA "sweep3x3 -o out.svg --precision int8");
    T_TRUE(gp && !strstr(gp, "$heat1"));
    T_EQ(block_rows(gp ? gp : "", "$pts0", rows, 64), 7);
done:
    free(gp);
    cJSON_Delete(sw);
}

/* Sweep with seeds: cells are the replicate means, Pareto points the groups with their 95%
 * interval. */
static void test_sweep_replicates(void)
{
    char *gp = script_of(DATA "sweep_seeds -o out.png");
    cJSON *sw = t_load_json(DATA "sweep_seeds/sweep.json");
    T_TRUE(gp && sw);
    if (!gp || !sw)
        goto done;
    T_CONTAINS(gp, "1 point failed: not shown");
    T_CONTAINS(gp, "mean over seed");
    const cJSON *groups = cJSON_GetObjectItem(cJSON_GetObjectItem(sw, "replicates"), "groups");
    char rows[64][256], heat[64][256];
    int n = block_rows(gp, "$pts0", rows, 64);
    T_EQ(n, cJSON_GetArraySize(groups));
    T_EQ(block_rows(gp, "$heat0", heat, 64), 4);
    int i = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, groups)
    {
        if (i >= n)
            break;
        const cJSON *acc = cJSON_GetObjectItem(g, "accuracy"),
                    *cost = cJSON_GetObjectItem(g, "cost_usd");
        double v[6] = {0};
        T_EQ(sscanf(rows[i], "%lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]),
             6);
        T_TRUE(v[0] == t_num(cost, "mean"));
        T_TRUE(v[1] == t_num(acc, "mean"));
        T_TRUE(v[2] == t_num(cost, "ci95_low"));
        T_TRUE(v[3] == t_num(cost, "ci95_high"));
        T_TRUE(v[4] == t_num(acc, "ci95_low"));
        T_TRUE(v[5] == t_num(acc, "ci95_high"));
        /* The heatmap cell of the group (x rounds, y clients; the groups run clients fastest),
         * the mean of its done seeds: the group's mean, to the rounding of another sum. */
        int xi = 0, yi = 0, cnt = 0;
        double a = 0, c = 0;
        T_EQ(sscanf(heat[i], "%d %d %lf %lf %d", &xi, &yi, &a, &c, &cnt), 5);
        T_EQ(xi, i / 2);
        T_EQ(yi, i % 2);
        T_EQ(cnt, (long long)t_num(g, "n"));
        T_NEAR_REL(a, t_num(acc, "mean"), 4e-16, 1e-300);
        T_NEAR_REL(c, t_num(cost, "mean"), 4e-16, 1e-300);
        i++;
    }
done:
    free(gp);
    cJSON_Delete(sw);
}

/* The images gnuplot draws. */
static void test_images(void)
{
    char args[1024], out[300];
    snprintf(out, sizeof out, "%s/r.png", dir);
    snprintf(args, sizeof args, DATA "report.json -o %s", out);
    T_EQ(plot(NULL, args), 0);
    check_png(out, 1200, 900);

    snprintf(out, sizeof out, "%s/sub/s.png", dir); /* the folder is created */
    snprintf(args, sizeof args, DATA "sweep_seeds/ -o %s", out);
    T_EQ(plot(NULL, args), 0);
    check_png(out, 1200, 80 + 430 + 560);

    snprintf(out, sizeof out, "%s/s.svg", dir);
    snprintf(args, sizeof args, DATA "sweep3x3/sweep.json -o %s", out);
    T_EQ(plot(NULL, args), 0);
    char *svg = t_slurp(out, NULL);
    T_TRUE(svg != NULL);
    if (svg) {
        T_TRUE(strncmp(svg, "<?xml", 5) == 0);
        T_CONTAINS(svg, "<svg");
        T_CONTAINS(svg, "width=\"1200\" height=\"1500\"");
        T_CONTAINS(svg, "</svg>");
        T_CONTAINS(svg, "Pareto front");
    }
    free(svg);
}

/* Only the image is left in dir: no temporary file beside it. */
static int files_in_dir(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, "x.png", 5) == 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

static void expect_error(const char *env, const char *args, int code, const char *needle)
{
    int rc = plot(env, args);
    if (rc != code)
        fprintf(stderr, "constsim plot %s: exit %d, expected %d\n", args, rc, code);
    T_EQ(rc, code);
    char *e = stderr_text();
    T_CONTAINS(e, needle);
    free(e);
}

static void test_errors(void)
{
    char out[300], a[1024];
    snprintf(out, sizeof out, "%s/x.png", dir);
    expect_error(NULL, "", 2, "expected a REPORT.json");
    expect_error(NULL, DATA "report.json", 2, "expected -o");
    expect_error(NULL, DATA "report.json -o x.jpg", 2, "must end in .png or .svg");
    expect_error(NULL, DATA "report.json -o x.png --bogus", 2, "unknown option");
    expect_error(NULL, DATA "missing.json -o x.png", 2, DATA "missing.json");
    expect_error(NULL, "tests/data -o x.png", 2, "tests/data: error: not a sweep folder");
    expect_error(NULL, "tests/data/sim/e2e.yaml -o x.png", 2, "e2e.yaml: error: at byte");
    expect_error(NULL, DATA "report.json -o x.png --x seed", 2, "--x applies to a sweep");
    expect_error(NULL, DATA "sweep3x3 -o x.png --x seed", 2,
                 "--x seed: not an axis of this sweep (axes: wire.precision, federated.rounds, "
                 "federated.clients)");
    expect_error(NULL, DATA "sweep3x3 -o x.png --x federated.rounds --y federated.rounds", 2,
                 "--x and --y both name federated.rounds");
    expect_error(NULL, DATA "sweep1axis -o x.png --y seed", 2,
                 "--y seed: this sweep has one axis (federated.rounds)");
    expect_error(NULL, DATA "sweep3x3 -o x.png --precision fp16", 2,
                 "--precision fp16: no done point has it (precisions: fp32, int8)");
    /* A JSON file that is neither a report nor a sweep. */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/other.json", dir);
    FILE *f = fopen(bad, "w");
    if (f) {
        fputs("{\"format\": \"constsim-contacts/1\"}\n", f);
        fclose(f);
    }
    snprintf(a, sizeof a, "%s -o %s", bad, out);
    expect_error(NULL, a, 2, "not a constsim report or sweep");
    T_TRUE(!exists(out));

    /* No gnuplot: the program named by CONSTSIM_GNUPLOT is missing, or PATH has none. */
    snprintf(a, sizeof a, DATA "report.json -o %s", out);
    expect_error("CONSTSIM_GNUPLOT=/nonexistent/gnuplot", a, 1, "gnuplot-nox");
    char empty[300], env[400];
    snprintf(empty, sizeof empty, "%s/emptybin", dir);
    mkdir(empty, 0755);
    snprintf(env, sizeof env, "PATH=%s", empty);
    expect_error(env, a, 1, "install the Debian package gnuplot-nox");
    T_TRUE(!exists(out));

    /* A gnuplot that fails: its stderr is reported, no image and no temporary file remain. */
    char fake[300];
    snprintf(fake, sizeof fake, "%s/failplot", dir);
    f = fopen(fake, "w");
    if (f) {
        fputs("#!/bin/sh\ncat >/dev/null\necho 'line 3: boom' >&2\nexit 3\n", f);
        fclose(f);
    }
    chmod(fake, 0755);
    snprintf(env, sizeof env, "CONSTSIM_GNUPLOT=%s", fake);
    expect_error(env, a, 1, "exit status 3");
    char *e = stderr_text();
    T_CONTAINS(e, "gnuplot: line 3: boom");
    free(e);
    T_EQ(files_in_dir(), 0);

    /* A program that exits 0 without drawing. */
    expect_error("CONSTSIM_GNUPLOT=true", a, 1, "no image was drawn");
    T_EQ(files_in_dir(), 0);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_plot.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* Everything but the images runs without gnuplot (--script, errors, a missing program). */
    bool have_gnuplot = t_sh("gnuplot --version >/dev/null 2>&1") == 0;
    test_report_data();
    test_sweep_front();
    test_sweep_replicates();
    test_errors();
    if (have_gnuplot)
        test_images();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (t_failures == 0)
        t_sh(cmd);
    else
        fprintf(stderr, "files kept in %s\n", dir);
    if (!have_gnuplot && t_failures == 0) {
        fprintf(stderr, "gnuplot is not installed (Debian: gnuplot-nox): images not checked\n");
        return 77;
    }
    return t_done();
}
