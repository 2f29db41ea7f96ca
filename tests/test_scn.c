/* test_scn.c - the scenario loader, --set overrides, the contact plan and `constsim contacts`.
 *
 *   test_scn bad FILE   FILE's first line is "# expect: LINE:COL: error: MESSAGE"; loading it must
 *                       give exactly "FILE:LINE:COL: error: MESSAGE", and `constsim contacts FILE`
 *                       must print that line on stderr and exit 2 (one ctest per file).
 *   test_scn unit       good files: every value and default, durations, fractions, --set and its
 *                       errors, TLE constellations (and the TLE file read once), JSON, YAML
 *                       edge cases.
 *   test_scn contacts   contact windows of a polar orbit over a polar station against a hand
 *                       derivation, and the CSV/JSON output of `constsim contacts`.
 * Runs from the project root (ctest sets the working directory and CONSTSIM_EXE).
 */
#include "cs.h"
#include "orbits.h"
#include "scn.h"
#include "sim_plan.h"
#include "t.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static char *err_text(const cs_err *e)
{
    static char buf[2048];
    char *p = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&p, &n);
    if (!f)
        return NULL;
    cs_err_print(e, f);
    fclose(f);
    snprintf(buf, sizeof buf, "%s", p);
    free(p);
    size_t len = strlen(buf);
    if (len && buf[len - 1] == '\n')
        buf[len - 1] = '\0';
    return buf;
}

/* Runs cmd through the shell, returns its exit status; *out gets stdout+stderr as asked by cmd. */
static int run(const char *cmd, char **out)
{
    *out = NULL;
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        pclose(p);
        return -1;
    }
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    buf[n] = '\0';
    *out = buf;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *exe(void)
{
    const char *e = getenv("CONSTSIM_EXE");
    if (!e || !e[0]) {
        fprintf(stderr, "CONSTSIM_EXE is not set (run through ctest)\n");
        t_failures++;
        return NULL;
    }
    return e;
}

static scn_config *load(const char *path, const char *const *sets, size_t n_sets)
{
    scn_config *c = NULL;
    cs_err e;
    int rc = scn_load(path, sets, n_sets, &c, &e);
    if (rc != 0)
        fprintf(stderr, "unexpected error: %s\n", err_text(&e));
    T_EQ(rc, 0);
    return c;
}

/* Loads with sets and returns the printed error ("" if it loaded). */
static const char *load_err(const char *path, const char *const *sets, size_t n_sets)
{
    scn_config *c = NULL;
    cs_err e;
    int rc = scn_load(path, sets, n_sets, &c, &e);
    if (rc == 0) {
        scn_free(c);
        return "";
    }
    T_EQ(rc, CS_EINVAL);
    T_TRUE(c == NULL);
    return err_text(&e);
}

/* Julian date of a UTC calendar instant from the definitions: JD 2451545.0 is 2000-01-01T12:00,
 * then whole days (Gregorian leap years: every 4th, not centuries, except every 4th century) and
 * the time of day. Years from 2000 on. */
static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static double jd_utc(int year, int month, int day, int hour, int minute, double sec)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    long days = 0;
    for (int y = 2000; y < year; y++)
        days += leap_year(y) ? 366 : 365;
    for (int m = 1; m < month; m++)
        days += month_days[m - 1] + (m == 2 && leap_year(year));
    days += day - 1;
    return 2451545.0 - 0.5 + (double)days + (hour * 3600.0 + minute * 60.0 + sec) / 86400.0;
}

/* A JD near 2.46e6 is resolved to 4.7e-10 days (one ulp, 40 us); the parser and jd_utc may
 * round the time of day differently: two ulps. */
#define JD_TOL 1e-9

/* clients_per_round for the fraction p/q of n clients, from its definition ceil(p/q * n) (at
 * least 1), in integers: no binary rounding of 0.3 * 10. */
static int fraction_count(long p, long q, long n)
{
    long k = (p * n + q - 1) / q;
    return k < 1 ? 1 : (int)k;
}

/* ---- bad files ---------------------------------------------------------------------------- */

static int bad_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char first[1024] = "";
    if (!f || !fgets(first, sizeof first, f)) {
        fprintf(stderr, "cannot read %s\n", path);
        if (f)
            fclose(f);
        return 1;
    }
    fclose(f);
    first[strcspn(first, "\n")] = '\0';
    const char *tag = "# expect: ";
    T_TRUE(strncmp(first, tag, strlen(tag)) == 0);
    char want[1400];
    snprintf(want, sizeof want, "%s:%s", path, first + strlen(tag));

    /* The library. */
    T_STREQ(load_err(path, NULL, 0), want);

    /* The command: the same line on stderr, nothing on stdout, exit 2. */
    const char *x = exe();
    if (x) {
        char cmd[2048], *out = NULL;
        /* A limit that is not enforced would start the work it guards (a plan of days, a FIFO):
         * timeout makes that a failure (exit 124) instead of a hang. */
        snprintf(cmd, sizeof cmd, "timeout 60 '%s' contacts '%s' 2>&1 >/dev/null", x, path);
        int st = run(cmd, &out);
        T_EQ(st, 2);
        char want_nl[1500];
        snprintf(want_nl, sizeof want_nl, "%s\n", want);
        T_STREQ(out, want_nl);
        free(out);
        snprintf(cmd, sizeof cmd, "timeout 60 '%s' contacts '%s' 2>/dev/null", x, path);
        run(cmd, &out);
        T_STREQ(out, "");
        free(out);
    }
    return t_done();
}

/* ---- good files --------------------------------------------------------------------------- */

static void check_default(scn_loc at, long line, long col)
{
    T_TRUE(at.is_default);
    T_EQ(at.line, line);
    T_EQ(at.col, col);
    T_EQ(at.set, -1);
}

static void test_minimal(void)
{
    scn_config *c = load("tests/data/good/minimal.yaml", NULL, 0);
    if (!c)
        return;
    T_STREQ(c->name, "minimal");
    T_STREQ(c->file, "tests/data/good/minimal.yaml");
    T_TRUE(c->description == NULL);
    T_EQ(c->seed, 1);
    T_STREQ(c->epoch_iso, "2026-01-01T00:00:00Z");
    T_NEAR(c->epoch_jd, jd_utc(2026, 1, 1, 0, 0, 0), JD_TOL);
    T_NEAR(c->duration_s, 90 * 60.0, 0); /* 90m */
    T_TRUE(c->constellation.has_walker);
    T_TRUE(c->constellation.tle == NULL);
    T_TRUE(c->constellation.tles == NULL);
    T_EQ(c->constellation.n_tles, 0);
    T_EQ(c->constellation.propagator, ORB_PROP_SGP4);
    T_NEAR(c->constellation.walker.altitude_km, 550, 0);
    T_NEAR(c->constellation.walker.inclination_deg, 53, 0);
    T_EQ(c->constellation.walker.satellites, 6);
    T_EQ(c->constellation.walker.planes, 3);
    T_EQ(c->constellation.walker.phasing, 0);
    T_NEAR(c->constellation.walker.raan0_deg, 0, 0);
    T_EQ(c->constellation.n_satellites, 6);
    T_EQ(c->n_stations, 1);
    const scn_station *s = &c->stations[0];
    T_STREQ(s->name, "Matera");
    T_NEAR(s->lat_deg, 40.65, 0);
    T_NEAR(s->lon_deg, 16.7, 0);
    T_NEAR(s->alt_m, 0, 0);
    T_NEAR(s->min_elevation_deg, 10, 0);
    T_NEAR(s->uplink_mbps, 10, 0);
    T_NEAR(s->downlink_mbps, 50, 0);
    T_NEAR(s->cost_per_mb, 0, 0);
    T_NEAR(s->cost_per_minute, 0, 0);
    T_EQ(s->antennas, 1);
    T_NEAR(c->links.setup_s, 0, 0);
    T_TRUE(c->links.resume);
    T_EQ(c->federated.rounds, 2);
    T_EQ(c->federated.clients, 6);
    T_EQ(c->federated.clients_per_round, 6);
    T_NEAR(c->federated.clients_per_round_fraction, 0, 0);
    T_EQ(c->federated.strategy, SCN_STRATEGY_FEDAVG);
    T_NEAR(c->federated.round_deadline_s, 0, 0);
    T_EQ(c->federated.local_epochs, 1);
    T_EQ(c->federated.batch_size, 32);
    T_EQ(c->federated.optimizer.name, NN_OPT_ADAM);
    T_NEAR(c->federated.optimizer.lr, 0.001, 0);
    T_NEAR(c->federated.optimizer.momentum, 0, 0);
    T_NEAR(c->federated.optimizer.weight_decay, 0, 0);
    T_NEAR(c->federated.compute_gflops, 20, 0);
    T_EQ(c->wire.n_precision, 1);
    T_EQ(c->wire.precision[0], NN_PREC_FP32);
    T_EQ(c->wire.payload, SCN_PAYLOAD_WEIGHTS);
    T_STREQ(c->dataset.name, "eurosat");
    T_TRUE(c->dataset.path == NULL);
    T_NEAR(c->dataset.test_fraction, 0.2, 0);
    T_EQ(c->dataset.partition, SCN_PART_IID);
    T_NEAR(c->dataset.alpha, 0.5, 0);
    T_EQ(c->dataset.max_samples_per_client, 0);
    T_EQ(c->dataset.augment, SCN_AUG_NONE);
    T_EQ(c->federated.optimizer.schedule, NN_SCHED_CONSTANT);
    T_STREQ(c->report.path, "reports/minimal.json");
    T_TRUE(!c->report.ptq);

    /* Locations: written values point at themselves, defaults at the enclosing mapping. */
    T_EQ(c->at.name.line, 2);
    T_EQ(c->at.name.col, 7);
    T_TRUE(!c->at.name.is_default);
    T_EQ(c->constellation.walker.at.planes.line, 10);
    T_EQ(c->constellation.walker.at.planes.col, 13);
    T_EQ(c->stations[0].at.downlink_mbps.line, 16);
    T_EQ(c->stations[0].at.downlink_mbps.col, 20);
    check_default(c->constellation.walker.at.phasing, 7, 5); /* the walker mapping */
    check_default(c->stations[0].at.antennas, 12, 5);        /* the station mapping */
    check_default(c->federated.at.batch_size, 18, 3);        /* the federated mapping */
    check_default(c->at.seed, 2, 1);                         /* the top mapping */
    check_default(c->links.at.setup_s, 2, 1);                /* absent section: the top */
    check_default(c->federated.optimizer.at.lr, 18, 3);
    scn_free(c);
}

static void test_full(void)
{
    scn_config *c = load("tests/data/good/full.yaml", NULL, 0);
    if (!c)
        return;
    T_STREQ(c->name, "full-1.0_x");
    T_STREQ(c->description, "every key set");
    T_EQ(c->seed, 123456789);
    T_NEAR(c->epoch_jd, jd_utc(2025, 6, 30, 12, 34, 56.5), JD_TOL);
    T_NEAR(c->duration_s, 1.5 * 86400, 0); /* 1.5d */
    const scn_walker *w = &c->constellation.walker;
    T_NEAR(w->altitude_km, 1200.5, 0);
    T_NEAR(w->inclination_deg, 97.5, 0);
    T_EQ(w->satellites, 12);
    T_EQ(w->planes, 4);
    T_EQ(w->phasing, 3);
    T_NEAR(w->raan0_deg, -15, 0);
    T_EQ(c->constellation.propagator, ORB_PROP_J2);
    T_EQ(c->n_stations, 2);
    const scn_station *s = &c->stations[0];
    T_NEAR(s->alt_m, 450, 0);
    T_NEAR(s->min_elevation_deg, 5, 0);
    T_NEAR(s->cost_per_mb, 5, 0);
    T_NEAR(s->cost_per_minute, 0.25, 0);
    T_EQ(s->antennas, 3);
    T_STREQ(c->stations[1].name, "Inuvik, Canada");
    T_NEAR(c->stations[1].uplink_mbps, 2.5, 0);
    T_NEAR(c->links.setup_s, 1.5 * 60, 0); /* 1.5m */
    T_TRUE(!c->links.resume);
    const scn_federated *f = &c->federated;
    T_EQ(f->rounds, 7);
    T_EQ(f->clients, 9);
    T_EQ(f->clients_per_round, fraction_count(3, 10, f->clients)); /* 0.3 of 9 */
    T_NEAR(f->clients_per_round_fraction, 0.3, 0);
    T_NEAR(f->round_deadline_s, 6 * 3600.0, 0); /* 6h */
    T_EQ(f->local_epochs, 2);
    T_EQ(f->batch_size, 64);
    T_EQ(f->optimizer.name, NN_OPT_SGD);
    T_NEAR(f->optimizer.lr, 0.05, 0);
    T_NEAR(f->optimizer.momentum, 0.9, 0);
    T_NEAR(f->optimizer.weight_decay, 0.0005, 0);
    T_NEAR(f->compute_gflops, 12.5, 0);
    T_EQ(c->wire.n_precision, 2);
    T_EQ(c->wire.precision[0], NN_PREC_INT8);
    T_EQ(c->wire.precision[1], NN_PREC_FP16);
    T_EQ(c->wire.at.precision_items[1].line, 51);
    T_EQ(c->wire.at.precision_items[1].col, 21);
    T_EQ(c->wire.payload, SCN_PAYLOAD_DELTA);
    T_STREQ(c->dataset.path, "/data/eurosat");
    T_NEAR(c->dataset.test_fraction, 0.25, 0);
    T_EQ(c->dataset.partition, SCN_PART_DIRICHLET);
    T_NEAR(c->dataset.alpha, 0.1, 0);
    T_EQ(c->dataset.max_samples_per_client, 300);
    T_STREQ(c->report.path, "out/full.json");
    T_TRUE(c->report.ptq);
    scn_free(c);
}

static void test_shipped_scenarios(void)
{
    scn_config *c = load("scenarios/walker-10.yaml", NULL, 0);
    if (c) {
        T_EQ(c->constellation.n_satellites, 10);
        T_EQ(c->constellation.walker.planes, 5);
        T_NEAR(c->constellation.walker.altitude_km, 550, 0);
        T_NEAR(c->constellation.walker.inclination_deg, 53, 0);
        T_EQ(c->n_stations, 3);
        T_NEAR(c->duration_s, 3 * 86400, 0); /* 3d */
        T_EQ(c->wire.n_precision, 3);
        scn_free(c);
    }
    c = load("scenarios/walker-40.yaml", NULL, 0);
    if (c) {
        T_EQ(c->constellation.n_satellites, 40);
        T_EQ(c->constellation.walker.planes, 5);
        T_NEAR(c->constellation.walker.altitude_km, 500, 0);
        T_TRUE(c->n_stations >= 4);
        T_EQ(c->federated.clients, 20);
        T_EQ(c->federated.clients_per_round, fraction_count(1, 2, 20)); /* 0.5 of 20 */
        T_STREQ(c->report.path, "reports/walker-40.json");
        scn_free(c);
    }
}

static void test_durations(void)
{
    static const struct {
        const char *s;
        double v;
    } ok[] = {/* number x unit: s = 1, m = 60, h = 3600, d = 86400 seconds */
              {"90s", 90},
              {"45m", 45 * 60.0},
              {"12h", 12 * 3600.0},
              {"3d", 3 * 86400.0},
              {"1.5h", 1.5 * 3600},
              {"90", 90},
              {"2.5", 2.5},
              {"0", 0},
              {".5m", 0.5 * 60},
              {"1e3s", 1000},
              {"0.25d", 0.25 * 86400},
              {"+10m", 10 * 60.0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = -1;
        T_EQ(scn_duration_parse(ok[i].s, &v), 0);
        T_NEAR(v, ok[i].v, 0);
    }
    static const char *const bad[] = {"",    "h",    "3 d", "-1h", "3w",  "1.5.h", "inf",
                                      "nan", "0x10", "1hh", "s",   " 3h", "3h ",   "1e999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = -1;
        if (scn_duration_parse(bad[i], &v) != -1)
            fprintf(stderr, "duration \"%s\" accepted\n", bad[i]);
        T_EQ(scn_duration_parse(bad[i], &v), -1);
    }
    const char *sets[] = {"federated.round_deadline=30m"};
    scn_config *c = load("tests/data/good/minimal.yaml", sets, 1);
    if (c) {
        T_NEAR(c->federated.round_deadline_s, 30 * 60.0, 0);
        scn_free(c);
    }
    const char *none[] = {"federated.round_deadline=none"};
    c = load("scenarios/walker-10.yaml", none, 1);
    if (c) {
        T_NEAR(c->federated.round_deadline_s, 0, 0);
        scn_free(c);
    }
}

static void test_fractions(void)
{
    /* walker-10.yaml has 10 clients. A number with a decimal point is the fraction p/q (the
     * count ceil(p/q * 10)); an integer is a count (q = 0). */
    static const struct {
        const char *set;
        long p, q;
    } cases[] = {
        {"federated.clients_per_round=0.3", 3, 10}, /* 0.3 * 10 is 3.0000000000000004 */
        {"federated.clients_per_round=0.25", 1, 4}, {"federated.clients_per_round=1.0", 1, 1},
        {"federated.clients_per_round=1", 1, 0},    {"federated.clients_per_round=0.01", 1, 100},
        {"federated.clients_per_round=0.7", 7, 10}, {"federated.clients_per_round=10", 10, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *sets[] = {cases[i].set};
        scn_config *c = load("scenarios/walker-10.yaml", sets, 1);
        if (!c)
            continue;
        T_EQ(c->federated.clients, 10);
        long p = cases[i].p, q = cases[i].q;
        T_EQ(c->federated.clients_per_round, q ? fraction_count(p, q, 10) : p);
        T_NEAR(c->federated.clients_per_round_fraction, q ? (double)p / (double)q : 0, 0);
        scn_free(c);
    }
    /* The fraction applies to clients after their own override. */
    const char *sets[] = {"federated.clients_per_round=0.5", "federated.clients=5"};
    scn_config *c = load("scenarios/walker-10.yaml", sets, 2);
    if (c) {
        T_EQ(c->federated.clients, 5);
        T_EQ(c->federated.clients_per_round, fraction_count(1, 2, 5));
        scn_free(c);
    }
}

static void test_sets(void)
{
    const char *sets[] = {"federated.rounds=5",
                          "ground_stations.0.cost_per_mb=2.75",
                          "wire.precision=fp16, int8",
                          "seed=9",
                          "links.setup_s=10s",
                          "report.path=reports/x.json",
                          "duration=6h",
                          "federated.optimizer.lr=0.01",
                          "federated.rounds=6",
                          "dataset.path=",
                          "constellation.walker.planes=2",
                          "federated.optimizer.schedule=cosine",
                          "dataset.augment=flip",
                          "wire.precision.0=fp32"};
    size_t n_sets = sizeof sets / sizeof sets[0];
    /* A comma list set by --set is one value until validation splits it: it has no items to
     * index into. */
    T_STREQ(load_err("tests/data/good/minimal.yaml", sets, n_sets),
            "--set: error: wire.precision.0=fp32: wire.precision is a single value: it has no key "
            "\"0\"");
    /* minimal.yaml has no seed, links, wire, report or dataset keys: --set adds them. */
    scn_config *c = load("tests/data/good/minimal.yaml", sets, n_sets - 1);
    if (!c)
        return;
    T_EQ(c->federated.rounds, 6); /* the later --set wins */
    T_EQ(c->federated.optimizer.schedule, NN_SCHED_COSINE);
    T_EQ(c->dataset.augment, SCN_AUG_FLIP);
    T_NEAR(c->stations[0].cost_per_mb, 2.75, 0);
    T_EQ(c->wire.n_precision, 2);
    T_EQ(c->wire.precision[0], NN_PREC_FP16);
    T_EQ(c->wire.precision[1], NN_PREC_INT8);
    T_EQ(c->wire.at.precision_items[1].set, 2);
    T_EQ(c->seed, 9);
    T_EQ(c->at.seed.set, 3);
    T_EQ(c->at.seed.line, 0);
    T_TRUE(!c->at.seed.is_default);
    T_NEAR(c->links.setup_s, 10, 0);
    T_STREQ(c->report.path, "reports/x.json");
    T_NEAR(c->duration_s, 6 * 3600.0, 0); /* 6h */
    T_NEAR(c->federated.optimizer.lr, 0.01, 0);
    T_TRUE(c->dataset.path == NULL); /* empty = null = the default lookup */
    T_EQ(c->constellation.walker.planes, 2);
    T_EQ(c->federated.at.rounds.set, 8);
    T_EQ(c->stations[0].at.cost_per_mb.set, 1);
    scn_free(c);

    /* An item of a list written in the file can be replaced by index. */
    const char *s2[] = {"wire.precision.1=fp32"};
    c = load("tests/data/good/full.yaml", s2, 1);
    if (c) {
        T_EQ(c->wire.n_precision, 2);
        T_EQ(c->wire.precision[0], NN_PREC_INT8);
        T_EQ(c->wire.precision[1], NN_PREC_FP32);
        scn_free(c);
    }
    /* Replacing the list, and the optimizer shorthand. */
    const char *s3[] = {"wire.precision=fp32,fp16,int8", "federated.optimizer.name=adam",
                        "federated.optimizer.momentum=", "ground_stations.1.name=Inuvik"};
    c = load("tests/data/good/full.yaml", s3, 4);
    if (c) {
        T_EQ(c->wire.n_precision, 3);
        T_EQ(c->federated.optimizer.name, NN_OPT_ADAM);
        T_STREQ(c->stations[1].name, "Inuvik");
        scn_free(c);
    }
}

static void test_set_errors(void)
{
    static const struct {
        const char *set, *want;
    } cases[] = {
        {"federated.rounds=abc",
         "--set: error: federated.rounds=abc: expected an integer >= 1, got \"abc\""},
        {"federated.rounds=0", "--set: error: federated.rounds=0: expected an integer >= 1, got 0"},
        {"federated.roundz=5",
         "--set: error: federated.roundz=5: federated: unknown key \"roundz\" (did you mean "
         "\"rounds\"? allowed: rounds, clients, clients_per_round, strategy, round_deadline, "
         "local_epochs, batch_size, optimizer, compute_gflops, server_lr, server_momentum)"},
        {"fedrated.rounds=5",
         "--set: error: fedrated.rounds=5: unknown key \"fedrated\" (did you mean "
         "\"federated\"? allowed: name, description, seed, epoch, duration, constellation, "
         "ground_stations, links, federated, wire, dataset, report)"},
        {"ground_stations.5.name=X",
         "--set: error: ground_stations.5.name=X: ground_stations has 3 items: no item 5"},
        {"ground_stations.first.name=X",
         "--set: error: ground_stations.first.name=X: ground_stations is a list: expected an "
         "item index, got \"first\""},
        {"ground_stations=X", "--set: error: ground_stations=X: ground_stations is a list of "
                              "sections: set a key of one item, e.g. ground_stations.0.KEY"},
        {"federated=3", "--set: error: federated=3: federated is a section: set one of its keys, "
                        "e.g. federated.rounds"},
        {"seed.x=1", "--set: error: seed.x=1: seed is a single value: it has no key \"x\""},
        {"rounds", "--set: error: rounds: expected KEY=VALUE, e.g. federated.rounds=5"},
        {"=5", "--set: error: =5: expected KEY=VALUE, e.g. federated.rounds=5"},
        {"federated..rounds=3",
         "--set: error: federated..rounds=3: empty component in the key path"},
        {"wire.precision=fp16,fp8", "--set: error: wire.precision=fp16,fp8: wire.precision.1: "
                                    "expected one of fp32, fp16, int8, int4, ternary, topk, adaptive, got \"fp8\""},
        {"wire.precision=fp16,fp16",
         "--set: error: wire.precision=fp16,fp16: wire.precision.1: fp16 is listed twice"},
        {"constellation.walker.planes=3",
         "--set: error: constellation.walker.planes=3: 10 satellites do not split evenly into 3 "
         "planes (satellites must be a multiple of planes)"},
        {"federated.clients=11", "--set: error: federated.clients=11: expected an integer in [1, "
                                 "10] (at most the 10 satellites), got 11"},
        {"ground_stations.1.name=Matera",
         "--set: error: ground_stations.1.name=Matera: duplicate station name \"Matera\" (also "
         "ground_stations.0, line 32)"},
        {"duration=", "--set: error: duration=: expected a duration (seconds, or a number with "
                      "unit s, m, h or d such as 90s, 45m, 1.5h, 3d), got nothing (null)"},
        {"epoch=2026-02-30T00:00:00Z", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *sets[] = {cases[i].set};
        const char *got = load_err("scenarios/walker-10.yaml", sets, 1);
        if (cases[i].want) {
            T_STREQ(got, cases[i].want);
        } else {
            /* The message text is the time parser's; the location is the --set. */
            T_CONTAINS(got, "--set: error: epoch=2026-02-30T00:00:00Z: ");
        }
    }
    /* A --set that makes a file value inconsistent points at the file value it clashes with
     * when that one is checked second: here clients_per_round (file) vs clients (--set). */
    const char *sets[] = {"federated.clients=4"};
    T_STREQ(load_err("scenarios/walker-10.yaml", sets, 1),
            "scenarios/walker-10.yaml:66:22: error: federated.clients_per_round: expected an "
            "integer in [1, 4] (at most clients) or a fraction in (0, 1], got 10");
}

static void test_tle(void)
{
    scn_config *c = load("tests/data/good/tle.yaml", NULL, 0);
    if (!c)
        return;
    T_TRUE(!c->constellation.has_walker);
    T_STREQ(c->constellation.tle, "tests/data/good/sats.tle");
    T_STREQ(c->constellation.tle_as_written, "sats.tle");
    T_EQ(c->constellation.n_select, 2);
    T_STREQ(c->constellation.select[0], "SAT-B");
    T_STREQ(c->constellation.select[1], "5");
    T_EQ(c->constellation.select_at[1].line, 8);
    T_EQ(c->constellation.select_at[1].col, 19);
    T_EQ(c->constellation.n_satellites, 2);
    T_EQ(c->federated.clients, 2);
    /* The sets themselves travel in the config, in select order; line is that of line 1 of the
     * set in sats.tle (two comment lines, then three lines per 3-line set). */
    T_EQ(c->constellation.n_tles, 2);
    if (c->constellation.n_tles == 2) {
        T_STREQ(c->constellation.tles[0].name, "SAT-B");
        T_EQ(c->constellation.tles[0].el.satnum, 28057);
        T_EQ(c->constellation.tles[0].line, 2 + 3 + 2);
        T_STREQ(c->constellation.tles[1].name, "");
        T_EQ(c->constellation.tles[1].el.satnum, 5);
        T_EQ(c->constellation.tles[1].line, 2 + 3 + 3 + 1);
    }
    cs_err e;
    orb_sat *sats = NULL;
    size_t n = 0;
    T_EQ(sim_sats_build(c, &sats, &n, &e), 0);
    T_EQ(n, 2);
    if (n == 2) {
        T_STREQ(sats[0].name, "SAT-B");
        T_EQ(sats[0].el.satnum, 28057);
        T_STREQ(sats[1].name, "5");
        T_EQ(sats[1].el.satnum, 5);
    }
    free(sats);
    scn_free(c);

    /* An empty select is no select: all three sets. */
    const char *all[] = {"constellation.select="};
    c = load("tests/data/good/tle.yaml", all, 1);
    if (c) {
        T_EQ(c->constellation.n_satellites, 3);
        T_EQ(c->constellation.n_select, 0);
        /* Without select: every set, in file order. */
        T_EQ(c->constellation.n_tles, 3);
        if (c->constellation.n_tles == 3) {
            T_STREQ(c->constellation.tles[0].name, "SAT-A");
            T_EQ(c->constellation.tles[0].el.satnum, 6251);
            T_STREQ(c->constellation.tles[1].name, "SAT-B");
            T_STREQ(c->constellation.tles[2].name, "");
            T_EQ(c->constellation.tles[2].el.satnum, 5);
        }
        scn_free(c);
    }
    const char *sets[] = {"constellation.select=SAT-A,SAT-B,5,SAT-A"};
    T_STREQ(load_err("tests/data/good/tle.yaml", sets, 1),
            "--set: error: constellation.select=SAT-A,SAT-B,5,SAT-A: constellation.select.3: "
            "\"SAT-A\" is selected twice");
    const char *s2[] = {"constellation.select=SAT-C"};
    T_STREQ(load_err("tests/data/good/tle.yaml", s2, 1),
            "--set: error: constellation.select=SAT-C: constellation.select.0: no satellite "
            "\"SAT-C\" in tests/data/good/sats.tle (available: SAT-A, SAT-B, 5)");
    const char *s3[] = {"federated.clients=3"};
    T_STREQ(load_err("tests/data/good/tle.yaml", s3, 1),
            "--set: error: federated.clients=3: expected an integer in [1, 2] (at most the 2 "
            "satellites), got 3");
    T_TRUE(scn_key_is_list("constellation.select"));
    T_TRUE(scn_key_is_list("wire.precision"));
    T_TRUE(!scn_key_is_list("federated.rounds"));
}

/* Two builds of the same satellites: same names, elements and propagated states (exactly: the
 * same inputs through the same code). */
static void same_sats(const orb_sat *a, size_t na, const orb_sat *b, size_t nb)
{
    T_EQ(na, nb);
    for (size_t i = 0; i < na && i < nb; i++) {
        T_STREQ(a[i].name, b[i].name);
        T_EQ(a[i].el.satnum, b[i].el.satnum);
        T_EQ(a[i].prop, b[i].prop);
        static const double t_s[] = {0, 3600, 43200};
        for (size_t k = 0; k < sizeof t_s / sizeof t_s[0]; k++) {
            double ra[3], va[3], rb[3], vb[3];
            T_EQ(orb_sat_state_at(&a[i], a[i].el.jd_epoch, t_s[k], ra, va), 0);
            T_EQ(orb_sat_state_at(&b[i], b[i].el.jd_epoch, t_s[k], rb, vb), 0);
            for (int j = 0; j < 3; j++) {
                T_NEAR(ra[j], rb[j], 0);
                T_NEAR(va[j], vb[j], 0);
            }
        }
    }
}

/* The TLE file is read once, by the loader: removing or rewriting it afterwards changes nothing
 * that sim_sats_build makes from the loaded config (a fresh load does see the change). */
static void test_tle_read_once(void)
{
    char dir[] = "/tmp/test_scn_tle.XXXXXX";
    if (!mkdtemp(dir)) {
        T_TRUE(!"mkdtemp failed");
        return;
    }
    char tle[256], label[256];
    snprintf(tle, sizeof tle, "%s/sats.tle", dir);
    snprintf(label, sizeof label, "%s/mem.yaml", dir);
    unsigned char *data = NULL;
    size_t len = 0;
    cs_err e;
    T_EQ(cs_read_file("tests/data/good/sats.tle", &data, &len, &e), 0);
    T_EQ(cs_write_file_atomic(tle, data, len, &e), 0);
    free(data);
    static const char text[] = "name: once\n"
                               "epoch: 2006-06-27T00:00:00Z\n"
                               "duration: 12h\n"
                               "constellation: {tle: sats.tle, select: [\"5\", SAT-A]}\n"
                               "ground_stations:\n"
                               "  - {name: A, lat_deg: 1, lon_deg: 2, uplink_mbps: 3, "
                               "downlink_mbps: 4}\n"
                               "federated: {rounds: 1}\n";
    scn_config *c = NULL;
    T_EQ(scn_load_text(label, text, strlen(text), NULL, 0, &c, &e), 0);
    orb_sat *before = NULL, *after = NULL;
    size_t nb = 0, na = 0;
    if (c) {
        T_STREQ(c->constellation.tle, tle);
        T_EQ(sim_sats_build(c, &before, &nb, &e), 0);
        T_EQ(nb, 2);
        if (nb == 2) {
            T_STREQ(before[0].name, "5");
            T_STREQ(before[1].name, "SAT-A");
        }
        /* Deleted. */
        T_EQ(remove(tle), 0);
        T_EQ(sim_sats_build(c, &after, &na, &e), 0);
        same_sats(before, nb, after, na);
        free(after);
        after = NULL;
        /* Rewritten with SAT-B alone (its lines as in tests/data/good/sats.tle). */
        static const char only_b[] =
            "SAT-B\n"
            "1 28057U 03049A   06177.78615833  .00000060  00000-0  35940-4 0  1836\n"
            "2 28057  98.4283 247.6961 0000884  88.1964 271.9322 14.35478080140550\n";
        T_EQ(cs_write_file_atomic(tle, only_b, strlen(only_b), &e), 0);
        T_EQ(sim_sats_build(c, &after, &na, &e), 0);
        same_sats(before, nb, after, na);
        free(after);
        scn_free(c);
        scn_config *c2 = NULL;
        T_EQ(scn_load_text(label, text, strlen(text), NULL, 0, &c2, &e), CS_EINVAL);
        T_CONTAINS(err_text(&e), "no satellite \"5\" in");
        scn_free(c2);
    }
    free(before);
    remove(tle);
    T_EQ(rmdir(dir), 0);
}

/* A TLE set whose elements cannot start propagating (perigee inside the Earth: eccentricity 0.9
 * at 15.6 rev/day) is refused by the loader, at the set's line 1 in the TLE file, for every
 * propagator; the same set read by a 2-line file is named by its catalogue number. */
static void test_tle_elements(void)
{
    char dir[] = "/tmp/test_scn_elements.XXXXXX";
    if (!mkdtemp(dir)) {
        T_TRUE(!"mkdtemp failed");
        return;
    }
    char tle[256], label[256];
    snprintf(tle, sizeof tle, "%s/ecc.tle", dir);
    snprintf(label, sizeof label, "%s/mem.yaml", dir);
    static const char sets[] =
        "# a good set, then one that cannot be propagated\n"
        "SAT-B\n"
        "1 28057U 03049A   06177.78615833  .00000060  00000-0  35940-4 0  1836\n"
        "2 28057  98.4283 247.6961 0000884  88.1964 271.9322 14.35478080140550\n"
        "HIGH-ECC\n"
        "1 06251U 62025E   06176.82412014  .00008885  00000-0  12808-3 0  3985\n"
        "2 06251  58.0579  54.0425 9000035 139.1568 221.1854 15.56387291  6770\n";
    cs_err e;
    T_EQ(cs_write_file_atomic(tle, sets, strlen(sets), &e), 0);
    static const char text[] = "name: elements\n"
                               "epoch: 2006-06-27T00:00:00Z\n"
                               "duration: 12h\n"
                               "constellation: {tle: ecc.tle}\n"
                               "ground_stations:\n"
                               "  - {name: A, lat_deg: 1, lon_deg: 2, uplink_mbps: 3, "
                               "downlink_mbps: 4}\n"
                               "federated: {rounds: 1}\n";
    const char *props[] = {"sgp4", "j2", "kepler"};
    for (size_t i = 0; i < 3; i++) {
        char set[64], want[600];
        snprintf(set, sizeof set, "constellation.propagator=%s", props[i]);
        const char *one[] = {set};
        scn_config *c = NULL;
        T_EQ(scn_load_text(label, text, strlen(text), one, 1, &c, &e), CS_EINVAL);
        snprintf(want, sizeof want,
                 "%s:6: error: satellite HIGH-ECC: perigee radius 677.0 km is inside the Earth "
                 "(propagator %s)",
                 tle, props[i]);
        T_STREQ(err_text(&e), want);
        T_TRUE(c == NULL);
    }
    /* Selecting the good set alone loads. */
    const char *good[] = {"constellation.select=SAT-B"};
    scn_config *c = NULL;
    T_EQ(scn_load_text(label, text, strlen(text), good, 1, &c, &e), 0);
    scn_free(c);
    remove(tle);
    T_EQ(rmdir(dir), 0);
}

static const char MINI[] = "name: m\n"
                           "epoch: 2026-01-01T00:00:00Z\n"
                           "duration: 1h\n"
                           "constellation:\n"
                           "  walker: &w {altitude_km: 550, inclination_deg: 53, satellites: 2, "
                           "planes: 1}\n"
                           "ground_stations:\n"
                           "  - &st {name: A, lat_deg: 1, lon_deg: 2, uplink_mbps: 3, "
                           "downlink_mbps: 4}\n"
                           "federated: {rounds: 1}\n";

static const char *text_err(const char *text, const char *const *sets, size_t n_sets)
{
    scn_config *c = NULL;
    cs_err e;
    if (scn_load_text("mem.yaml", text, strlen(text), sets, n_sets, &c, &e) == 0) {
        scn_free(c);
        return "";
    }
    return err_text(&e);
}

/* dst = src with the first `from` replaced by `to` (which must occur). */
static void subst(char *dst, size_t cap, const char *src, const char *from, const char *to)
{
    const char *p = strstr(src, from);
    CS_ASSERT(p != NULL);
    snprintf(dst, cap, "%.*s%s%s", (int)(p - src), src, to, p + strlen(from));
}

static void test_yaml_edges(void)
{
    scn_config *c = NULL;
    cs_err e;
    T_EQ(scn_load_text("mem.yaml", MINI, strlen(MINI), NULL, 0, &c, &e), 0);
    scn_free(c);

    /* Aliases copy the anchored node; a self-referencing one is caught. */
    char buf[2048];
    snprintf(buf, sizeof buf, "%sdescription: &d hello\nreport: {path: *d}\n", MINI);
    c = NULL;
    T_EQ(scn_load_text("mem.yaml", buf, strlen(buf), NULL, 0, &c, &e), 0);
    if (c) {
        T_STREQ(c->report.path, "hello");
        scn_free(c);
    }
    const char *loop = "a: &x [*x]\n";
    T_CONTAINS(text_err(loop, NULL, 0), "nesting deeper than 32 levels");
    T_CONTAINS(text_err(loop, NULL, 0), "mem.yaml:1:4: error: a.0.0.0");

    /* A quoted duration is a duration too (it is text either way). */
    subst(buf, sizeof buf, MINI, "duration: 1h", "duration: \"3h\"");
    c = NULL;
    T_EQ(scn_load_text("mem.yaml", buf, strlen(buf), NULL, 0, &c, &e), 0);
    if (c) {
        T_NEAR(c->duration_s, 3 * 3600.0, 0);
        scn_free(c);
    }

    /* Invalid UTF-8: libyaml's reader error, located. */
    const char bad_utf8[] = "name: a\nseed: \xff\n";
    T_STREQ(text_err(bad_utf8, NULL, 0),
            "mem.yaml:2:7: error: YAML: invalid leading UTF-8 octet (byte 14)");
    /* A NUL byte inside a quoted scalar. */
    T_STREQ(text_err("name: \"a\\0b\"\n", NULL, 0),
            "mem.yaml:1:7: error: name: a value contains a NUL character");
    /* Null sections are empty mappings: links with nothing under it takes the defaults. */
    snprintf(buf, sizeof buf, "%slinks:\nwire:\n", MINI);
    c = NULL;
    T_EQ(scn_load_text("mem.yaml", buf, strlen(buf), NULL, 0, &c, &e), 0);
    if (c) {
        T_TRUE(c->links.resume);
        scn_free(c);
    }
    /* ...and --set can write into one. */
    const char *sets[] = {"links.resume=false"};
    c = NULL;
    T_EQ(scn_load_text("mem.yaml", buf, strlen(buf), sets, 1, &c, &e), 0);
    if (c) {
        T_TRUE(!c->links.resume);
        scn_free(c);
    }
    /* An empty file with --set. */
    T_STREQ(text_err("# nothing\n", sets, 1),
            "mem.yaml:1:1: error: empty scenario: expected a mapping with name, epoch, duration, "
            "constellation, ground_stations, federated, ...");
    /* A missing file. */
    c = NULL;
    T_EQ(scn_load("tests/data/good/no-such.yaml", NULL, 0, &c, &e), CS_EINVAL);
    T_STREQ(err_text(&e),
            "tests/data/good/no-such.yaml: error: cannot open: No such file or directory");
    /* Bad numbers: NaN, inf, hex are not numbers. */
    snprintf(buf, sizeof buf, "%s", MINI);
    const char *s_nan[] = {"ground_stations.0.lat_deg=.nan"};
    T_STREQ(text_err(buf, s_nan, 1), "--set: error: ground_stations.0.lat_deg=.nan: expected a "
                                     "number in [-90, 90], got \".nan\"");
    const char *s_hex[] = {"seed=0x10"};
    T_STREQ(text_err(buf, s_hex, 1),
            "--set: error: seed=0x10: expected an integer in [0, 9007199254740991], got \"0x10\"");
    const char *s_big[] = {"seed=99999999999999999999"};
    T_STREQ(text_err(buf, s_big, 1), "--set: error: seed=99999999999999999999: expected an "
                                     "integer in [0, 9007199254740991], got 99999999999999999999");
    /* scn_error: later semantic errors, at a file value and at a --set. */
    const char *s_r[] = {"federated.rounds=4"};
    c = NULL;
    T_EQ(scn_load_text("mem.yaml", MINI, strlen(MINI), s_r, 1, &c, &e), 0);
    if (c) {
        T_EQ(scn_error(c, c->stations[0].at.uplink_mbps, "ground_stations.0.uplink_mbps", &e,
                       "too slow for %d bytes", 7),
             CS_EINVAL);
        T_STREQ(err_text(&e),
                "mem.yaml:7:56: error: ground_stations.0.uplink_mbps: too slow for 7 bytes");
        scn_error(c, c->federated.at.rounds, "federated.rounds", &e, "too many");
        T_STREQ(err_text(&e), "--set: error: federated.rounds=4: too many");
        scn_error(c, c->federated.at.rounds, "federated", &e, "no");
        T_STREQ(err_text(&e), "--set: error: federated.rounds=4: federated: no");
        scn_free(c);
    }
}

/* A scenario with n stations after MINI's first lines; every station key written when full.
 * Malloc'd. */
static char *stations_text(size_t n, bool full)
{
    size_t cap = 4096 + n * 256, len = 0;
    char *t = malloc(cap);
    if (!t)
        return NULL;
    len += (size_t)snprintf(t, cap,
                            "name: many\n"
                            "epoch: 2026-01-01T00:00:00Z\n"
                            "duration: 1h\n"
                            "constellation:\n"
                            "  walker: {altitude_km: 550, inclination_deg: 53, satellites: 1, "
                            "planes: 1}\n"
                            "federated: {rounds: 1}\n"
                            "ground_stations:\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(t + len, cap - len,
                                full ? "  - {name: S%zu, lat_deg: 1, lon_deg: 2, alt_m: 0, "
                                       "min_elevation_deg: 10, uplink_mbps: 3, downlink_mbps: 4, "
                                       "cost_per_mb: 0, cost_per_minute: 0, antennas: 1}\n"
                                     : "  - {name: S%zu, lat_deg: 1, lon_deg: 2, uplink_mbps: 3, "
                                       "downlink_mbps: 4}\n",
                                i);
    return t;
}

/* The loader's limits, each with what it is (docs/scenario.md, "Limits"). */
static void test_limits(void)
{
    /* A scenario file above 4 MiB is refused from its size, before it is read (a sparse file:
     * nothing to read anyway). */
    char big[] = "/tmp/test_scn_big.XXXXXX";
    int fd = mkstemp(big);
    T_TRUE(fd >= 0);
    if (fd >= 0) {
        T_EQ(ftruncate(fd, (off_t)(4 << 20) + 1), 0);
        close(fd);
        char want[300];
        snprintf(want, sizeof want,
                 "%s: error: is 4194305 bytes, more than the 4194304 bytes (4 MiB) a scenario "
                 "file may have",
                 big);
        T_STREQ(load_err(big, NULL, 0), want);
        unlink(big);
    }

    /* The duration limit is the loader's: at the value, or at the --set that gave it. */
    const char *long_set[] = {"duration=2e9"};
    T_STREQ(load_err("tests/data/good/minimal.yaml", long_set, 1),
            "--set: error: duration=2e9: expected a duration of at most 1e9 s (31.7 years), got "
            "2e9");

    /* 9,000 stations with every key written (21 YAML nodes each: 189,000 in all) load; 10,001
     * are more than the stations limit, said as such at the list. */
    char *t = stations_text(9000, true);
    scn_config *c = NULL;
    cs_err e;
    T_TRUE(t != NULL);
    if (t && scn_load_text("mem.yaml", t, strlen(t), NULL, 0, &c, &e) != 0)
        fprintf(stderr, "9000 stations: %s\n", err_text(&e));
    T_TRUE(c != NULL);
    if (c) {
        T_EQ(c->n_stations, 9000);
        T_STREQ(c->stations[8999].name, "S8999");
    }
    scn_free(c);
    free(t);
    t = stations_text(10001, false);
    T_TRUE(t != NULL);
    if (t)
        T_STREQ(text_err(t, NULL, 0),
                "mem.yaml:8:3: error: ground_stations: expected at most 10000 stations, got 10001 "
                "(far beyond real ground networks; every station is searched against every "
                "satellite)");
    free(t);

    /* A document of more YAML nodes than the limit is said to be that, at the first node past
     * it (here item 499,999 of the list: the root mapping, the key and the list come first). */
    size_t cap = 64 + 2 * 500001, len = 0;
    t = malloc(cap);
    T_TRUE(t != NULL);
    if (t) {
        len += (size_t)snprintf(t, cap, "x: [");
        for (int i = 0; i < 500001; i++)
            len += (size_t)snprintf(t + len, cap - len, "%s", i ? ",a" : "a");
        snprintf(t + len, cap - len, "]\n");
        char want[400];
        snprintf(want, sizeof want,
                 "mem.yaml:1:%d: error: the document has more than 500000 YAML nodes (a node is a "
                 "key, a value or a list item), the most a scenario may have: the limit bounds the "
                 "loader's memory and leaves room for 10000 stations with every key written",
                 5 + 2 * 499997);
        T_STREQ(text_err(t, NULL, 0), want);
    }
    free(t);
    /* Aliases that expand a small document beyond it (10^6 nodes from six lines) are said to be
     * aliases. */
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    T_CONTAINS(text_err(bomb, NULL, 0), "mem.yaml:1:");
    T_CONTAINS(text_err(bomb, NULL, 0),
               ": aliases expand the document to more than 500000 YAML nodes, "
               "the most a scenario may have (an alias copies its anchor's whole node)");
}

/* The contact plan's cost is bounded before any work (tests/data/bad/plan_*.yaml hold the
 * refusals at file locations): 10 satellites over 1e9 s (a track of 690 MiB in every search
 * thread) and 100,000 over 1e9 s (days of work) are refused at once, at the --set that made
 * them so; the largest shipped scenarios, and a 6,000-satellite shell with walker-1584's 100
 * stations over a day, load. */
static void test_plan_limits(void)
{
    const char *ten[] = {"duration=1e9"};
    double t0 = cs_wall_s();
    T_STREQ(load_err("scenarios/walker-10.yaml", ten, 1),
            "--set: error: duration=1e9: the contact search holds a satellite's whole track in "
            "memory, in every thread: over 1e9 s in steps of 112 s that is 689 MiB, more than the "
            "limit of 256 MiB; for these orbits the duration can be at most about 12 years");
    const char *many[] = {"duration=1e9", "constellation.walker.satellites=100000",
                          "constellation.walker.planes=1000"};
    T_STREQ(load_err("scenarios/walker-10.yaml", many, 3),
            "--set: error: constellation.walker.satellites=100000: the contact plan is too much "
            "work: 100000 satellites (constellation.walker.satellites) x 3 stations "
            "(ground_stations) over 1e9 s (duration), sampled every 112 s, is 2.7e12 "
            "satellite-station steps and 8.9e11 propagations, 1.34e13 steps in all (a "
            "propagation counting 12), about 6 days of one core, more than the limit of 1e10 "
            "steps (about 7 min): use fewer satellites or stations, or a shorter duration");
    /* walker-1584's 100 stations over 30 days: windows beyond the memory limit. */
    const char *month[] = {"duration=30d"};
    T_STREQ(load_err("scenarios/walker-1584.yaml", month, 1),
            "--set: error: duration=30d: the contact plan would not fit in memory: 1584 "
            "satellites (constellation.walker.satellites) x 100 stations (ground_stations) over "
            "2.6e6 s (duration) make about 1.9e7 contact windows, 2.5 GiB while they are found; "
            "the limit is 2.0 GiB: use fewer satellites or stations, or a shorter duration");
    double dt = cs_wall_s() - t0;
    fprintf(stderr, "three refusals in %.3f s\n", dt);
    T_TRUE(dt < 1.0); /* an estimate, not the work: milliseconds */

    const char *shipped[] = {"scenarios/cubesat-uhf.yaml",
                             "scenarios/eo-tle.yaml",
                             "scenarios/quickstart.yaml",
                             "scenarios/seed-replica.yaml",
                             "scenarios/walker-10.yaml",
                             "scenarios/walker-1584.yaml",
                             "scenarios/walker-40-dirichlet.yaml",
                             "scenarios/walker-40.yaml",
                             "tests/data/good/full.yaml",
                             "tests/data/good/minimal.yaml",
                             "tests/data/good/polar.yaml",
                             "tests/data/good/tle.yaml",
                             "tests/data/sim/e2e.yaml",
                             "tests/data/sim/sweep.yaml",
                             "tests/data/sim/viz.yaml"};
    for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++)
        scn_free(load(shipped[i], NULL, 0));
    const char *big[] = {"constellation.walker.satellites=6000", "constellation.walker.planes=60"};
    scn_free(load("scenarios/walker-1584.yaml", big, 2));
    /* A week of walker-1584 too (about 4.4e6 windows, 640 MiB while they are found). */
    const char *week[] = {"duration=7d"};
    scn_free(load("scenarios/walker-1584.yaml", week, 1));
}

/* Size limits of the YAML tree against hostile files. A mapping of 40,000 keys took 11 s to
 * refuse (57 s under ASan: every key was compared with all before it, looking for duplicates);
 * a mapping of more than 1000 keys is now refused where it starts. Found by fuzz/fuzz_scn fed
 * inputs beyond its -max_len. */
static void test_size_limits(void)
{
    for (int pass = 0; pass < 3; pass++) {
        int keys = pass == 0 ? 40000 : pass == 1 ? 1001 : 1000;
        const char *head = pass == 1 ? "name: x\nfederated:\n" : "";
        const char *indent = pass == 1 ? "  " : "";
        size_t cap = strlen(head) + (size_t)keys * 16 + 1, len = 0;
        char *text = malloc(cap);
        CS_ASSERT(text != NULL);
        len += (size_t)snprintf(text + len, cap - len, "%s", head);
        for (int k = 0; k < keys; k++)
            len += (size_t)snprintf(text + len, cap - len, "%sk%d: %d\n", indent, k, k);
        const char *got = text_err(text, NULL, 0);
        if (pass == 0)
            T_STREQ(got, "mem.yaml:1:1: error: more than 1000 keys in one mapping");
        else if (pass == 1)
            T_STREQ(got, "mem.yaml:3:3: error: federated: more than 1000 keys in one mapping");
        else /* at the limit: the tree is built, the schema refuses the first key */
            T_CONTAINS(got, "mem.yaml:1:1: error: unknown key \"k0\"");
        free(text);
    }
}

static void test_json(void)
{
    const char *sets[] = {"federated.rounds=4", "wire.precision=fp16"};
    scn_config *c = load("tests/data/good/full.yaml", sets, 2);
    if (!c)
        return;
    cJSON *j = scn_to_json(c);
    T_TRUE(j != NULL);
    if (j) {
        T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(j, "name")), "full-1.0_x");
        T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(j, "file")), "tests/data/good/full.yaml");
        T_NEAR(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "seed")), 123456789, 0);
        T_NEAR(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "duration_s")), 1.5 * 86400, 0);
        cJSON *f = cJSON_GetObjectItem(j, "federated");
        T_NEAR(cJSON_GetNumberValue(cJSON_GetObjectItem(f, "rounds")), 4, 0);
        T_NEAR(cJSON_GetNumberValue(cJSON_GetObjectItem(f, "clients_per_round")),
               fraction_count(3, 10, 9), 0); /* 0.3 of 9 */
        cJSON *o = cJSON_GetObjectItem(f, "optimizer");
        T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(o, "name")), "sgd");
        T_NEAR(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "momentum")), 0.9, 0);
        cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "wire"), "precision");
        T_EQ(cJSON_GetArraySize(p), 1);
        T_STREQ(cJSON_GetStringValue(cJSON_GetArrayItem(p, 0)), "fp16");
        cJSON *st = cJSON_GetObjectItem(j, "ground_stations");
        T_EQ(cJSON_GetArraySize(st), 2);
        T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(st, 1), "name")),
                "Inuvik, Canada");
        cJSON *w = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "constellation"), "walker");
        T_NEAR(cJSON_GetNumberValue(cJSON_GetObjectItem(w, "phasing")), 3, 0);
        cJSON *set = cJSON_GetObjectItem(j, "set");
        T_EQ(cJSON_GetArraySize(set), 2);
        T_STREQ(cJSON_GetStringValue(cJSON_GetArrayItem(set, 1)), "wire.precision=fp16");
        T_STREQ(cJSON_GetStringValue(
                    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "dataset"), "partition")),
                "dirichlet");
        T_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "report"), "ptq")));
        cJSON_Delete(j);
    }
    scn_free(c);
}

/* ---- contacts ----------------------------------------------------------------------------- */

/* The polar case by hand: circular orbit radius r = a + 550 km, period T = 2 pi sqrt(r^3/mu).
 * The station sits on the rotation axis at the WGS-84 polar radius b, so Earth rotation does
 * not move it and its zenith is +z. A satellite at angle th from +z in the (polar) orbit plane
 * has elevation asin((r cos th - b) / |p - s|); the mask is met for th <= th10. The satellite
 * starts at the ascending node (argument of latitude 0) and crosses the pole at T/4 + kT, so
 * the windows are [T/4 + kT - h, T/4 + kT + h] with h = T th10 / (2 pi). */
static double polar_elev_deg(double th, double r, double b)
{
    return asin((r * cos(th) - b) / sqrt(r * r + b * b - 2 * r * b * cos(th))) * 180.0 / M_PI;
}

static void polar_reference(double *period_s, double *half_s)
{
    const double mu = 398600.4418, a = 6378.137, f = 1.0 / 298.257223563;
    double b = a * (1 - f), r = a + 550.0;
    double T = 2 * M_PI * sqrt(r * r * r / mu);
    double lo = 0, hi = 1.0; /* elevation falls with th */
    for (int i = 0; i < 200; i++) {
        double m = 0.5 * (lo + hi);
        if (polar_elev_deg(m, r, b) > 10.0)
            lo = m;
        else
            hi = m;
    }
    *period_s = T;
    *half_s = T * lo / (2 * M_PI);
}

/* Passes over the pole within a scenario of duration_s: those with k >= 0 that start before the
 * end, T/4 + kT - h < duration_s (a pass cut by the end is a window too). */
static size_t polar_passes(double duration_s, double T, double h)
{
    return (size_t)floor((duration_s - (T / 4 - h)) / T) + 1;
}

/* The contacts CLI prints seconds rounded to milliseconds: 0.5 ms on top of the 2 ms the
 * windows are found to. */
#define CLI_TOL_S 2.5e-3

static void test_contacts_library(void)
{
    double T, h;
    polar_reference(&T, &h);
    T_NEAR(T, 5738.9928, 1e-3); /* sanity of the reference itself */
    scn_config *c = load("tests/data/good/polar.yaml", NULL, 0);
    if (!c)
        return;
    sim_plan pl;
    cs_err e;
    T_EQ(sim_plan_build(c, 1, &pl, &e), 0);
    T_EQ(pl.n_sats, 1);
    T_EQ(pl.n_stations, 2);
    T_STREQ(pl.stations[1].name, "Null Island, Atlantic");
    size_t k = 0;
    for (size_t i = 0; i < pl.windows.n; i++) {
        const orb_window *w = &pl.windows.w[i];
        if (i) /* sorted by start */
            T_TRUE(w->t_start_s >= pl.windows.w[i - 1].t_start_s);
        if (w->station != 0)
            continue;
        double mid = T / 4 + (double)k * T;
        T_NEAR(w->t_start_s, mid - h, 2e-3);
        T_NEAR(w->t_end_s, mid + h, 2e-3);
        T_NEAR(w->max_elev_deg, 90.0, 1e-3);
        T_EQ(w->flags, 0);
        k++;
    }
    size_t want = polar_passes(86400.0, T, h);
    T_EQ(k, want);
    sim_station_summary per[2];
    double total = 0;
    sim_plan_summary(&pl, per, &total);
    T_EQ(per[0].windows, want);
    T_NEAR(per[0].total_s, (double)want * 2 * h, 0.03);
    T_EQ(per[0].windows + per[1].windows, pl.windows.n);
    T_NEAR(per[0].total_s + per[1].total_s, total, 1e-6);
    sim_plan_free(&pl);
    T_TRUE(pl.windows.w == NULL && pl.sats == NULL);

    /* A duration that ends inside a pass flags the cut window. */
    const char *sets[] = {"duration=1300s"};
    scn_config *c2 = load("tests/data/good/polar.yaml", sets, 1);
    if (c2) {
        T_EQ(sim_plan_build(c2, 1, &pl, &e), 0);
        T_EQ(polar_passes(1300.0, T, h), 1);
        T_EQ(pl.windows.n, 1);
        if (pl.windows.n == 1) {
            T_NEAR(pl.windows.w[0].t_start_s, T / 4 - h, 2e-3);
            T_NEAR(pl.windows.w[0].t_end_s, 1300.0, 1e-9);
            T_EQ(pl.windows.w[0].flags, ORB_WIN_OPEN_END);
        }
        sim_plan_free(&pl);
        scn_free(c2);
    }
    scn_free(c);
}

/* Splits one CSV line (RFC 4180 quotes) into at most max fields; returns the count. */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            char *o = ++p;
            fields[n++] = o;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"')
                    p++;
                *o++ = *p++;
            }
            if (*p == '"')
                p++;
            *o = '\0';
            if (*p == ',')
                p++;
            else
                break;
        } else {
            fields[n++] = p;
            char *e = strchr(p, ',');
            if (!e)
                break;
            *e = '\0';
            p = e + 1;
        }
    }
    return n;
}

/* A TLE set that cannot be propagated names the TLE file and its line 1, exit code 2: when the
 * search finds it decaying (here SAT-A of sats.tle, line 4, reenters on 2012-04-14), from the
 * library and from `constsim contacts` and `constsim run` (which stops before the dataset). */
static void test_tle_decay(void)
{
    const char *sets[] = {"constellation.select=SAT-A", "epoch=2012-04-01", "duration=20d"};
    const char *prefix = "tests/data/good/sats.tle:4: error: satellite SAT-A cannot be propagated "
                         "at t = ";
    const char *suffix = "satellite has decayed (the set's epoch is 2006-06-25T19:46:43.980Z, "
                         "the scenario's 2012-04-01)";
    scn_config *c = load("tests/data/good/tle.yaml", sets, 3);
    if (c) {
        sim_plan pl;
        cs_err e;
        cs_err_clear(&e);
        T_EQ(sim_plan_build(c, 2, &pl, &e), CS_EINVAL);
        T_STREQ(e.path, "tests/data/good/sats.tle");
        T_EQ(e.line, 4);
        T_CONTAINS(err_text(&e), prefix);
        T_CONTAINS(err_text(&e), suffix);
        T_TRUE(pl.windows.w == NULL && pl.sats == NULL);
        scn_free(c);
    }
    const char *x = exe();
    if (!x)
        return;
    const char *cmds[] = {"contacts", "run --no-models --no-trace"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char cmd[1024], *out = NULL;
        snprintf(cmd, sizeof cmd,
                 "'%s' %s tests/data/good/tle.yaml --set %s --set %s --set %s 2>&1 >/dev/null", x,
                 cmds[i], sets[0], sets[1], sets[2]);
        T_EQ(run(cmd, &out), 2);
        T_CONTAINS(out, prefix);
        T_CONTAINS(out, suffix);
        free(out);
    }
}

static void test_contacts_cli(void)
{
    const char *x = exe();
    const char *bin = getenv("CONSTSIM_BINARY_DIR");
    if (!x || !bin)
        return;
    double T, h;
    polar_reference(&T, &h);
    const double jd0 = jd_utc(2026, 1, 1, 0, 0, 0); /* polar.yaml's epoch */
    size_t want_pole = polar_passes(86400.0, T, h);
    /* Null Island's passes have no hand derivation (the Earth turns under them): the CLI must
     * print the library's. */
    size_t want_island = 0;
    scn_config *cfg = load("tests/data/good/polar.yaml", NULL, 0);
    if (cfg) {
        sim_plan pl;
        cs_err pe;
        T_EQ(sim_plan_build(cfg, 1, &pl, &pe), 0);
        for (size_t i = 0; i < pl.windows.n; i++)
            want_island += pl.windows.w[i].station == 1;
        sim_plan_free(&pl);
        scn_free(cfg);
    }
    T_TRUE(want_island > 0); /* the quoted name is printed at least once */
    char out_csv[1024], out_json[1024], cmd[4096], *text = NULL;
    snprintf(out_csv, sizeof out_csv, "%s/test_scn_out/polar.csv", bin);
    snprintf(out_json, sizeof out_json, "%s/test_scn_out/polar.json", bin);
    remove(out_csv);
    remove(out_json);

    /* CSV to a file (its folder is created); the summary goes to stderr. */
    snprintf(cmd, sizeof cmd, "'%s' contacts tests/data/good/polar.yaml -o '%s' 2>&1", x, out_csv);
    T_EQ(run(cmd, &text), 0);
    char summary[128];
    snprintf(summary, sizeof summary,
             "contacts: polar: 1 satellite x 2 stations over 86400 s: %zu windows",
             want_pole + want_island);
    T_CONTAINS(text, summary);
    free(text);
    unsigned char *data = NULL;
    size_t len = 0;
    cs_err e;
    T_EQ(cs_read_file(out_csv, &data, &len, &e), 0);
    if (data) {
        char *save = NULL, *line = strtok_r((char *)data, "\n", &save);
        T_STREQ(line, "satellite,station,start_utc,end_utc,start_s,end_s,duration_s,"
                      "max_elevation_deg");
        int rows = 0, pole = 0, quoted = 0;
        while ((line = strtok_r(NULL, "\n", &save))) {
            char *fld[9];
            int nf = csv_split(line, fld, 9);
            T_EQ(nf, 8);
            if (nf != 8)
                break;
            rows++;
            T_STREQ(fld[0], "W-p1-s1");
            double s = atof(fld[4]), en = atof(fld[5]), d = atof(fld[6]);
            T_NEAR(d, en - s, 1e-9 + 1e-6);
            /* The UTC column agrees with the seconds column (epoch is midnight). */
            char iso[40];
            orb_time_format_iso_offset(jd0, s, iso, sizeof iso);
            T_STREQ(fld[2], iso);
            if (strcmp(fld[1], "North Pole") == 0) {
                double mid = T / 4 + pole * T;
                T_NEAR(s, mid - h, CLI_TOL_S);
                T_NEAR(en, mid + h, CLI_TOL_S);
                T_STREQ(fld[7], "90.000");
                pole++;
            } else {
                T_STREQ(fld[1], "Null Island, Atlantic");
                quoted++;
            }
        }
        T_EQ(pole, want_pole);
        T_EQ(quoted, want_island);
        T_EQ(rows, want_pole + want_island);
        free(data);
    }
    /* The first data row on stdout: the first pass over the pole, [T/4 - h, T/4 + h], in UTC
     * from the epoch and in seconds with 3 decimals; duration_s of the printed values. */
    snprintf(cmd, sizeof cmd, "'%s' contacts tests/data/good/polar.yaml --format csv 2>/dev/null",
             x);
    T_EQ(run(cmd, &text), 0);
    const char *row = text ? strchr(text, '\n') : NULL;
    if (row) {
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(row + 1, "\n"), row + 1);
        char *fld[9];
        T_EQ(csv_split(line, fld, 9), 8);
        T_STREQ(fld[0], "W-p1-s1");
        T_STREQ(fld[1], "North Pole");
        double s = atof(fld[4]), en = atof(fld[5]);
        T_NEAR(s, T / 4 - h, CLI_TOL_S);
        T_NEAR(en, T / 4 + h, CLI_TOL_S);
        char want[64];
        orb_time_format_iso_offset(jd0, s, want, sizeof want);
        T_STREQ(fld[2], want);
        orb_time_format_iso_offset(jd0, en, want, sizeof want);
        T_STREQ(fld[3], want);
        snprintf(want, sizeof want, "%.3f", s);
        T_STREQ(fld[4], want);
        snprintf(want, sizeof want, "%.3f", en);
        T_STREQ(fld[5], want);
        snprintf(want, sizeof want, "%.3f", en - s);
        T_STREQ(fld[6], want);
        T_STREQ(fld[7], "90.000"); /* straight overhead */
    }
    T_TRUE(row != NULL);
    T_CONTAINS(text, "\nW-p1-s1,\"Null Island, Atlantic\",");
    free(text);

    /* JSON: by extension, with --set and --threads. */
    snprintf(cmd, sizeof cmd,
             "'%s' contacts tests/data/good/polar.yaml --set duration=6h --threads 2 -o '%s' "
             "2>/dev/null",
             x, out_json);
    T_EQ(run(cmd, &text), 0);
    free(text);
    data = NULL;
    T_EQ(cs_read_file(out_json, &data, &len, &e), 0);
    cJSON *j = data ? cJSON_Parse((const char *)data) : NULL;
    T_TRUE(j != NULL);
    if (j) {
        T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(j, "scenario")), "polar");
        T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(j, "epoch")), "2026-01-01T00:00:00.000Z");
        T_NEAR(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "duration_s")), 21600, 0);
        cJSON *st = cJSON_GetObjectItem(j, "stations");
        cJSON *ws = cJSON_GetObjectItem(j, "windows");
        T_EQ(cJSON_GetArraySize(st), 2);
        int n_pole =
            (int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(st, 0), "windows"));
        T_EQ(n_pole, polar_passes(6 * 3600.0, T, h));
        int total = n_pole + (int)cJSON_GetNumberValue(
                                 cJSON_GetObjectItem(cJSON_GetArrayItem(st, 1), "windows"));
        T_EQ(cJSON_GetArraySize(ws), total);
        T_NEAR(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "windows_total")), total, 0);
        cJSON *w0 = cJSON_GetArrayItem(ws, 0);
        T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(w0, "station")), "North Pole");
        double s0 = cJSON_GetNumberValue(cJSON_GetObjectItem(w0, "start_s"));
        T_NEAR(s0, T / 4 - h, CLI_TOL_S);
        T_NEAR(s0 * 1000, round(s0 * 1000), 1e-6); /* whole milliseconds */
        T_NEAR(cJSON_GetNumberValue(cJSON_GetObjectItem(w0, "duration_s")), 2 * h, 2 * CLI_TOL_S);
        T_TRUE(cJSON_IsFalse(cJSON_GetObjectItem(w0, "open_end")));
        cJSON_Delete(j);
    }
    free(data);

    /* Usage errors exit 2 and name the problem; --help exits 0. */
    snprintf(cmd, sizeof cmd, "'%s' contacts 2>&1", x);
    T_EQ(run(cmd, &text), 2);
    T_CONTAINS(text, "constsim contacts: missing SCENARIO.yaml");
    free(text);
    snprintf(cmd, sizeof cmd, "'%s' contacts tests/data/good/polar.yaml --format xml 2>&1", x);
    T_EQ(run(cmd, &text), 2);
    T_CONTAINS(text, "--format: expected csv or json, got \"xml\"");
    free(text);
    snprintf(cmd, sizeof cmd, "'%s' contacts tests/data/good/polar.yaml --bogus 2>&1", x);
    T_EQ(run(cmd, &text), 2);
    T_CONTAINS(text, "unknown option \"--bogus\"");
    free(text);
    snprintf(cmd, sizeof cmd,
             "'%s' contacts tests/data/good/polar.yaml --set federated.rounds=x 2>&1 >/dev/null",
             x);
    T_EQ(run(cmd, &text), 2);
    T_STREQ(text, "--set: error: federated.rounds=x: expected an integer >= 1, got \"x\"\n");
    free(text);
    snprintf(cmd, sizeof cmd, "'%s' contacts --help", x);
    T_EQ(run(cmd, &text), 0);
    T_CONTAINS(text, "usage: constsim contacts SCENARIO.yaml");
    free(text);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "bad") == 0)
        return bad_file(argv[2]);
    if (argc == 2 && strcmp(argv[1], "unit") == 0) {
        test_minimal();
        test_full();
        test_shipped_scenarios();
        test_durations();
        test_fractions();
        test_sets();
        test_set_errors();
        test_tle();
        test_tle_read_once();
        test_tle_elements();
        test_yaml_edges();
        test_limits();
        test_plan_limits();
        test_size_limits();
        test_json();
        return t_done();
    }
    if (argc == 2 && strcmp(argv[1], "contacts") == 0) {
        test_contacts_library();
        test_tle_decay();
        test_contacts_cli();
        return t_done();
    }
    fprintf(stderr, "usage: test_scn unit | contacts | bad FILE\n");
    return 2;
}
