/* test_viz.c - constsim viz headless, end to end on tests/data/sim/viz.yaml. Two modes:
 *   frame:  an orbits-only frame at a UTC time chosen here: every satellite and station marker
 *           of the frame JSON lies within 2 px of the projection of its sub-satellite point (or
 *           station) computed here from orbits/, the PNG's pixel there is a marker colour, and
 *           the links are exactly the pairs whose window from `constsim contacts` is open.
 *   replay: a `constsim run` report replayed: sought to round N, the accuracy curve is the
 *           report's first N rounds; at four times in every round (three inside, its end) the
 *           satellite states and link precisions of the replay equal those of the live view
 *           simulated up to the same time (real training on a 1,000-image EuroSAT subset).
 *   replay-quick: the same with one time (the middle of round 2), for the sanitizer build.
 * Runs without a display: --headless draws offscreen. */
#include "cs.h"
#include "orbits.h"
#include "scn.h"
#include "sim_plan.h"
#include "t.h"
#include "t_cli.h"
#include "t_png.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SCN "tests/data/sim/viz.yaml"
static char g_tmp[64];

static cJSON *frame(const char *extra, const char *at, const char *png)
{
    char cmd[4096], fj[256];
    snprintf(fj, sizeof fj, "%s/frame.json", g_tmp);
    snprintf(cmd, sizeof cmd,
             "%s viz %s --headless --at %s --size 1100x620 --frame-json %s %s%s -q", t_exe(), extra,
             at, fj, png ? "--screenshot " : "", png ? png : "");
    if (t_sh(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        return NULL;
    }
    return t_load_json(fj);
}

/* ---- frame --------------------------------------------------------------------------------- */

typedef struct win {
    char sat[32], st[64];
    double start, end;
} win;

static size_t read_contacts(win **out)
{
    char cmd[1024], csv[256];
    snprintf(csv, sizeof csv, "%s/contacts.csv", g_tmp);
    snprintf(cmd, sizeof cmd, "%s contacts %s --format csv -o %s 2>/dev/null", t_exe(), SCN, csv);
    T_EQ(t_sh(cmd), 0);
    FILE *f = fopen(csv, "r");
    T_TRUE(f != NULL);
    size_t n = 0, cap = 0;
    win *w = NULL;
    char line[512];
    T_TRUE(fgets(line, sizeof line, f) != NULL); /* header */
    while (f && fgets(line, sizeof line, f)) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            w = realloc(w, cap * sizeof *w);
        }
        char a_utc[64], b_utc[64];
        if (sscanf(line, "%31[^,],%63[^,],%63[^,],%63[^,],%lf,%lf", w[n].sat, w[n].st, a_utc, b_utc,
                   &w[n].start, &w[n].end) == 6)
            n++;
    }
    if (f)
        fclose(f);
    *out = w;
    return n;
}

static bool marker_colour(const unsigned char *p)
{
    static const uint32_t colours[] = {0xa3adb8, 0x4cc9f0, 0xf77f00, 0xe040fb, 0x70e000, 0xffd166};
    uint32_t c = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    for (size_t i = 0; i < sizeof colours / sizeof colours[0]; i++)
        if (c == colours[i])
            return true;
    return false;
}

static void test_frame(void)
{
    win *w = NULL;
    size_t nw = read_contacts(&w);
    T_TRUE(nw > 20);
    /* A time with at least three open windows and no window edge within 2 s. */
    double t = -1;
    for (double c = 3600 + 37.5; c < 80000 && t < 0; c += 61) {
        int open = 0;
        bool edge = false;
        for (size_t i = 0; i < nw; i++) {
            open += w[i].start <= c && c <= w[i].end;
            edge = edge || fabs(w[i].start - c) < 2 || fabs(w[i].end - c) < 2;
        }
        if (open >= 3 && !edge)
            t = c;
    }
    T_TRUE(t > 0);
    scn_config *cfg = NULL;
    cs_err err;
    cs_err_clear(&err);
    T_EQ(scn_load(SCN, NULL, 0, &cfg, &err), 0);
    char at[64];
    orb_time_format_iso_offset(cfg->epoch_jd, t, at, sizeof at);
    char png[256];
    snprintf(png, sizeof png, "%s/frame.png", g_tmp);
    cJSON *j = frame(SCN " --orbits-only", at, png);
    T_TRUE(j != NULL);
    if (!j)
        return;
    T_STREQ(t_get(j, "time_utc")->valuestring, at);
    const cJSON *m = t_get(j, "map");
    double mx = t_num(m, "x"), my = t_num(m, "y"), mw = t_num(m, "w"), mh = t_num(m, "h");
    T_TRUE(mw > 500 && mh > 250);
    int pw = 0, ph = 0;
    unsigned char *rgb = NULL;
    T_EQ(t_png_read(png, &pw, &ph, &rgb), 0);
    T_EQ(pw, 1100);
    T_EQ(ph, 620);

    /* Satellites: positions from orbits/ here, independent of the view's code. */
    orb_sat *sats = NULL;
    size_t ns = 0;
    T_EQ(sim_sats_build(cfg, &sats, &ns, &err), 0);
    const cJSON *js = t_get(j, "satellites");
    T_EQ(cJSON_GetArraySize(js), (int)ns);
    size_t k = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, js)
    {
        double r[3], lat, lon, alt;
        T_EQ(orb_sat_ecef_at(&sats[k], cfg->epoch_jd, t, r, NULL), 0);
        orb_ecef_to_geodetic(r, &lat, &lon, &alt);
        double ex = mx + (lon + 180) / 360 * mw, ey = my + (90 - lat) / 180 * mh;
        double x = t_num(s, "x"), y = t_num(s, "y");
        T_STREQ(t_get(s, "name")->valuestring, sats[k].name);
        T_TRUE(fabs(x - ex) <= 2 && fabs(y - ey) <= 2);
        T_NEAR(t_num(s, "lat_deg"), lat, 1e-9);
        T_STREQ(t_get(s, "state")->valuestring, "idle");
        if (x >= 0 && y >= 0 && x < pw && y < ph)
            T_TRUE(marker_colour(rgb + 3 * ((size_t)y * pw + (size_t)x)));
        k++;
    }
    const cJSON *jt = t_get(j, "stations");
    T_EQ(cJSON_GetArraySize(jt), (int)cfg->n_stations);
    k = 0;
    cJSON_ArrayForEach(s, jt)
    {
        const scn_station *st = &cfg->stations[k++];
        double ex = mx + (st->lon_deg + 180) / 360 * mw, ey = my + (90 - st->lat_deg) / 180 * mh;
        double x = t_num(s, "x"), y = t_num(s, "y");
        T_STREQ(t_get(s, "name")->valuestring, st->name);
        T_TRUE(fabs(x - ex) <= 2 && fabs(y - ey) <= 2);
        T_TRUE(marker_colour(rgb + 3 * ((size_t)y * pw + (size_t)x)));
    }
    /* Links: exactly the open windows. */
    const cJSON *jl = t_get(j, "links");
    int expect = 0;
    for (size_t i = 0; i < nw; i++) {
        if (!(w[i].start <= t && t <= w[i].end))
            continue;
        expect++;
        int found = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, jl) found += !strcmp(t_get(l, "satellite")->valuestring, w[i].sat) &&
                                           !strcmp(t_get(l, "station")->valuestring, w[i].st);
        T_EQ(found, 1);
    }
    T_TRUE(expect >= 3);
    T_EQ(cJSON_GetArraySize(jl), expect);
    cJSON_ArrayForEach(s, jl) T_TRUE(cJSON_IsNull(t_get(s, "precision")));
    free(rgb);
    free(sats);
    free(w);
    cJSON_Delete(j);
    scn_free(cfg);
}

/* ---- replay -------------------------------------------------------------------------------- */

/* Satellite states of a frame, as one string (one letter per satellite). */
static void states(const cJSON *j, char *out, size_t cap)
{
    size_t k = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, t_get(j, "satellites")) if (k + 1 < cap) out[k++] =
        t_get(s, "state")->valuestring[0] == 'r' ? 'R' : t_get(s, "state")->valuestring[0];
    out[k] = '\0';
}

/* The links as "sat/station/precision;..." in frame order. */
static void links(const cJSON *j, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    const cJSON *l;
    cJSON_ArrayForEach(l, t_get(j, "links"))
    {
        const cJSON *p = t_get(l, "precision");
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s/%s/%s;",
                              t_get(l, "satellite")->valuestring, t_get(l, "station")->valuestring,
                              cJSON_IsString(p) ? p->valuestring : "-");
    }
}

/* Frames of the live view (simulated to t) and of the replay (sought to t): both at t, the same
 * satellite states, links and link precisions, accuracy curve and bytes of the first run. Adds
 * the busy (not idle) states to *busy; returns 1 when both frames were drawn. */
static int live_vs_replay(const char *live_args, const char *replay, double t, int *busy)
{
    char at[64];
    snprintf(at, sizeof at, "+%.3f", t);
    cJSON *a = frame(live_args, at, NULL);
    cJSON *b = frame(replay, at, NULL);
    T_TRUE(a && b);
    int drawn = a && b;
    if (drawn) {
        T_NEAR(t_num(a, "t_s"), t, 1e-3);
        T_NEAR(t_num(b, "t_s"), t, 1e-3);
        char sa[256], sb[256], la[4096], lb[4096];
        states(a, sa, sizeof sa);
        states(b, sb, sizeof sb);
        T_STREQ(sa, sb);
        links(a, la, sizeof la);
        links(b, lb, sizeof lb);
        T_STREQ(la, lb);
        for (const char *c = sa; *c; c++)
            *busy += *c != 'i';
        const cJSON *ra = cJSON_GetArrayItem(t_get(a, "runs"), 0);
        const cJSON *rb = cJSON_GetArrayItem(t_get(b, "runs"), 0);
        T_TRUE(cJSON_Compare(t_get(ra, "accuracy_curve"), t_get(rb, "accuracy_curve"), true));
        T_EQ(t_num(ra, "bytes"), t_num(rb, "bytes"));
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return drawn;
}

static void test_replay(bool quick)
{
    char mini[128], sets[512], rep[256], cmd[4096];
    snprintf(mini, sizeof mini, "%s/mini", g_tmp);
    T_EQ(t_make_mini(mini, 100), 0);
    snprintf(sets, sizeof sets, "--set dataset.path=%s", mini);
    snprintf(rep, sizeof rep, "%s/run.json", g_tmp);
    snprintf(cmd, sizeof cmd, "%s run %s %s -o %s --threads 2 --no-models -q >/dev/null", t_exe(),
             SCN, sets, rep);
    T_EQ(t_sh(cmd), 0);
    cJSON *r = t_load_json(rep);
    T_TRUE(r != NULL);
    if (!r)
        return;
    const cJSON *run0 = cJSON_GetArrayItem(t_get(r, "runs"), 0);
    const cJSON *rounds = t_get(run0, "rounds");
    int nr = cJSON_GetArraySize(rounds);
    T_TRUE(nr >= 2);

    /* Sought to round 2: the curve is the report's first two rounds. */
    char replay[512];
    snprintf(replay, sizeof replay, "--replay %s", rep);
    cJSON *f = frame(replay, "round:2", NULL);
    T_TRUE(f != NULL);
    if (!f)
        return;
    const cJSON *fr = cJSON_GetArrayItem(t_get(f, "runs"), 0);
    const cJSON *curve = t_get(fr, "accuracy_curve");
    T_EQ(cJSON_GetArraySize(curve), 2);
    for (int k = 0; k < 2; k++) {
        const cJSON *pt = cJSON_GetArrayItem(curve, k), *rd = cJSON_GetArrayItem(rounds, k);
        T_TRUE(cJSON_GetArrayItem(pt, 0)->valuedouble == t_num(rd, "sim_time_s"));
        T_TRUE(cJSON_GetArrayItem(pt, 1)->valuedouble == t_num(rd, "accuracy"));
    }
    T_TRUE(t_num(f, "t_s") == t_num(cJSON_GetArrayItem(rounds, 1), "sim_time_s"));
    cJSON_Delete(f);

    /* Live (simulated to t) and replay (sought to t) agree on states and links, at round ends
     * and in the middle of rounds. */
    char live_args[1024];
    snprintf(live_args, sizeof live_args, "%s %s --threads 2", SCN, sets);
    int busy = 0, compared = 0;
    for (int k = 0; k < nr; k++) {
        const cJSON *rd = cJSON_GetArrayItem(rounds, k);
        double t0 = t_num(rd, "start_s"), t1 = t_num(rd, "sim_time_s");
        double ts[4] = {t0 + 0.25 * (t1 - t0), t0 + 0.5 * (t1 - t0), t0 + 0.8 * (t1 - t0), t1};
        for (int q = quick ? 1 : 0; q < (quick ? 2 : 4); q++)
            if (!quick || k == 1)
                compared += live_vs_replay(live_args, replay, ts[q], &busy);
    }
    T_EQ(compared, quick ? 1 : 4 * nr);
    /* After the last round, and at the scenario's end: the live view's time follows --at although
     * every run has finished, and its sessions are closed as the replay's are. */
    double t_last = t_num(cJSON_GetArrayItem(rounds, nr - 1), "sim_time_s");
    double dur = 86400;
    if (!quick) {
        T_EQ(live_vs_replay(live_args, replay, t_last + 0.5 * (dur - t_last), &busy), 1);
        T_EQ(live_vs_replay(live_args, replay, dur, &busy), 1);
    }
    /* --focus picks the run by precision in a replay too. */
    char focus[600];
    snprintf(focus, sizeof focus, "%s --focus int8", replay);
    f = frame(focus, "round:1", NULL);
    T_TRUE(f != NULL);
    if (f) {
        const cJSON *r1 = cJSON_GetArrayItem(t_get(f, "runs"), 1);
        T_STREQ(t_get(r1, "precision")->valuestring, "int8");
        T_TRUE(cJSON_IsTrue(t_get(r1, "focus")));
        cJSON_Delete(f);
    }
    T_TRUE(busy > 0); /* not a comparison of idle constellations */
    fprintf(stderr, "replay: %d frames compared, %d busy satellite states\n", compared, busy);
    cJSON_Delete(r);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "frame";
    snprintf(g_tmp, sizeof g_tmp, "/tmp/cs-viz-XXXXXX");
    T_TRUE(mkdtemp(g_tmp) != NULL);
    if (!strcmp(mode, "frame"))
        test_frame();
    else
        test_replay(!strcmp(mode, "replay-quick"));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    if (t_failures == 0 && t_sh(cmd) != 0)
        return 1;
    return t_done();
}
