/* cmd_contacts.c - constsim contacts: the contact plan of a scenario as CSV or JSON. */
#include "cli.h"
#include "cs.h"
#include "cs_buf.h"
#include "cs_host.h"
#include "orbits.h"
#include "scn.h"
#include "sim_plan.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: constsim contacts SCENARIO.yaml [--format csv|json] [-o FILE] [--set KEY=VALUE]..."
        "\n                         [--threads N]\n\n"
        "Computes the contact windows of every satellite-station pair of the scenario over\n"
        "[0, duration] from its epoch (elevation >= the station's min_elevation_deg).\n\n"
        "options:\n"
        "  --format csv|json  output format (default: json when FILE ends in .json, else csv)\n"
        "  -o FILE            write to FILE (atomically; parent folders are created)\n"
        "                     instead of standard output\n"
        "  --set KEY=VALUE    override a scenario value by its dotted path, e.g.\n"
        "                     --set duration=6h --set ground_stations.0.min_elevation_deg=5\n"
        "  --threads N        threads for the window search (default: all cores; the\n"
        "                     result does not depend on it)\n"
        "  -h, --help         this text\n\n"
        "CSV columns: satellite,station,start_utc,end_utc,start_s,end_s,duration_s,\n"
        "max_elevation_deg (times in seconds since the scenario epoch, millisecond precision).\n"
        "JSON: scenario name, epoch, duration, per-station summary and the windows.\n"
        "A summary line goes to standard error. Exit 0 on success, 2 on bad input.\n");
}

/* A CSV field: quoted (RFC 4180) when it holds a comma, quote or line break. */
static void csv_field(cs_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        cs_buf_str(b, s);
        return;
    }
    cs_buf_put(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            cs_buf_put(b, "\"", 1); /* a quote inside is doubled */
        cs_buf_put(b, p, 1);
    }
    cs_buf_put(b, "\"", 1);
}

/* Seconds rounded to milliseconds (as printed in the CSV). */
static double ms(double s)
{
    return round(s * 1000.0) / 1000.0;
}

static void write_csv(cs_buf *b, const scn_config *cfg, const sim_plan *pl)
{
    cs_buf_str(b, "satellite,station,start_utc,end_utc,start_s,end_s,duration_s,"
                  "max_elevation_deg\n");
    for (size_t i = 0; i < pl->windows.n; i++) {
        const orb_window *w = &pl->windows.w[i];
        char t0[40], t1[40];
        orb_time_format_iso_offset(cfg->epoch_jd, w->t_start_s, t0, sizeof t0);
        orb_time_format_iso_offset(cfg->epoch_jd, w->t_end_s, t1, sizeof t1);
        csv_field(b, pl->sats[w->sat].name);
        cs_buf_put(b, ",", 1);
        csv_field(b, pl->stations[w->station].name);
        cs_buf_printf(b, ",%s,%s,%.3f,%.3f,%.3f,%.3f\n", t0, t1, w->t_start_s, w->t_end_s,
                      ms(w->t_end_s) - ms(w->t_start_s), w->max_elev_deg);
    }
}

static cJSON *plan_json(const scn_config *cfg, const sim_plan *pl, const sim_station_summary *per,
                        double total_s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    bool ok = true;
    char iso[40];
    orb_time_format_iso(cfg->epoch_jd, iso, sizeof iso);
    ok &= cJSON_AddStringToObject(o, "scenario", cfg->name) != NULL;
    ok &= cJSON_AddStringToObject(o, "file", cfg->file) != NULL;
    ok &= cJSON_AddStringToObject(o, "epoch", iso) != NULL;
    ok &= cJSON_AddNumberToObject(o, "duration_s", cfg->duration_s) != NULL;
    ok &= cJSON_AddStringToObject(o, "propagator", orb_prop_name(cfg->constellation.propagator)) !=
          NULL;
    ok &= cJSON_AddNumberToObject(o, "satellites", (double)pl->n_sats) != NULL;
    ok &= cJSON_AddNumberToObject(o, "windows_total", (double)pl->windows.n) != NULL;
    ok &= cJSON_AddNumberToObject(o, "total_s", ms(total_s)) != NULL;
    cJSON *st = cJSON_AddArrayToObject(o, "stations");
    ok &= st != NULL;
    for (size_t i = 0; ok && i < pl->n_stations; i++) {
        cJSON *s = cJSON_CreateObject();
        if (!s || !cJSON_AddItemToArray(st, s)) {
            cJSON_Delete(s);
            ok = false;
            break;
        }
        const scn_station *cs = &cfg->stations[i];
        ok &= cJSON_AddStringToObject(s, "station", cs->name) != NULL;
        ok &= cJSON_AddNumberToObject(s, "lat_deg", cs->lat_deg) != NULL;
        ok &= cJSON_AddNumberToObject(s, "lon_deg", cs->lon_deg) != NULL;
        ok &= cJSON_AddNumberToObject(s, "min_elevation_deg", cs->min_elevation_deg) != NULL;
        ok &= cJSON_AddNumberToObject(s, "windows", (double)per[i].windows) != NULL;
        ok &= cJSON_AddNumberToObject(s, "total_s", ms(per[i].total_s)) != NULL;
    }
    cJSON *wa = cJSON_AddArrayToObject(o, "windows");
    ok &= wa != NULL;
    for (size_t i = 0; ok && i < pl->windows.n; i++) {
        const orb_window *w = &pl->windows.w[i];
        cJSON *j = cJSON_CreateObject();
        if (!j || !cJSON_AddItemToArray(wa, j)) {
            cJSON_Delete(j);
            ok = false;
            break;
        }
        char t0[40], t1[40];
        orb_time_format_iso_offset(cfg->epoch_jd, w->t_start_s, t0, sizeof t0);
        orb_time_format_iso_offset(cfg->epoch_jd, w->t_end_s, t1, sizeof t1);
        ok &= cJSON_AddStringToObject(j, "satellite", pl->sats[w->sat].name) != NULL;
        ok &= cJSON_AddStringToObject(j, "station", pl->stations[w->station].name) != NULL;
        ok &= cJSON_AddStringToObject(j, "start_utc", t0) != NULL;
        ok &= cJSON_AddStringToObject(j, "end_utc", t1) != NULL;
        ok &= cJSON_AddNumberToObject(j, "start_s", ms(w->t_start_s)) != NULL;
        ok &= cJSON_AddNumberToObject(j, "end_s", ms(w->t_end_s)) != NULL;
        ok &=
            cJSON_AddNumberToObject(j, "duration_s", ms(ms(w->t_end_s) - ms(w->t_start_s))) != NULL;
        ok &= cJSON_AddNumberToObject(j, "max_elevation_deg", round(w->max_elev_deg * 1e3) / 1e3) !=
              NULL;
        ok &= cJSON_AddNumberToObject(j, "max_elevation_s", ms(w->t_max_s)) != NULL;
        ok &= cJSON_AddBoolToObject(j, "open_start", (w->flags & ORB_WIN_OPEN_START) != 0) != NULL;
        ok &= cJSON_AddBoolToObject(j, "open_end", (w->flags & ORB_WIN_OPEN_END) != 0) != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int write_out(const char *out_path, const char *data, size_t len, cs_err *err)
{
    if (!out_path || strcmp(out_path, "-") == 0) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
            return cs_err_set(err, CS_EIO, "<stdout>", 0, 0, "write failed");
        return 0;
    }
    return cs_write_file_in_dir(out_path, data, len, err);
}

int cmd_contacts(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *scenario = NULL, *out_path = NULL, *format = NULL;
    const char **sets = calloc((size_t)argc, sizeof *sets);
    size_t n_sets = 0;
    long threads = 0;
    if (!sets) {
        fprintf(stderr, "constsim contacts: out of memory\n");
        return 1;
    }
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--format") == 0 || strcmp(a, "-o") == 0 || strcmp(a, "--set") == 0 ||
            strcmp(a, "--threads") == 0) {
            if (!val) {
                rc = cli_usage_error("contacts", "%s needs a value", a);
                break;
            }
            i++;
            if (strcmp(a, "--format") == 0)
                format = val;
            else if (strcmp(a, "-o") == 0)
                out_path = val;
            else if (strcmp(a, "--set") == 0)
                sets[n_sets++] = val;
            else if (cli_parse_int("contacts", "--threads", val, 0, 1024, &threads) != 0)
                rc = 2;
        } else if (strncmp(a, "--format=", 9) == 0) {
            format = a + 9;
        } else if (strncmp(a, "--set=", 6) == 0) {
            sets[n_sets++] = a + 6;
        } else if (a[0] == '-' && a[1] != '\0') {
            rc = cli_usage_error("contacts", "unknown option \"%s\"", a);
        } else if (!scenario) {
            scenario = a;
        } else {
            rc = cli_usage_error("contacts", "one scenario only (got \"%s\" and \"%s\")", scenario,
                                 a);
        }
    }
    if (rc == 0 && !scenario)
        rc = cli_usage_error("contacts", "missing SCENARIO.yaml");
    bool json = out_path && ends_with(out_path, ".json");
    if (rc == 0 && format) {
        if (strcmp(format, "csv") == 0)
            json = false;
        else if (strcmp(format, "json") == 0)
            json = true;
        else
            rc = cli_usage_error("contacts", "--format: expected csv or json, got \"%s\"", format);
    }
    if (rc) {
        free(sets);
        return rc;
    }
    if (threads == 0)
        threads = cs_host_cpus();

    cs_err err;
    cs_err_clear(&err);
    scn_config *cfg = NULL;
    sim_plan plan;
    memset(&plan, 0, sizeof plan);
    cs_buf b = {0};
    sim_station_summary *per = NULL;
    rc = scn_load(scenario, sets, n_sets, &cfg, &err);
    if (rc == 0 && out_path && strcmp(out_path, "-") != 0)
        rc = cs_check_writable(out_path, &err); /* before the plan */
    if (rc == 0) {
        cli_plan_progress pp;
        cli_plan_progress_init(&pp, "contacts");
        sim_plan_opts po = {
            .threads = (int)threads, .progress = cli_plan_progress_show, .progress_user = &pp};
        rc = sim_plan_build_opts(cfg, &po, &plan, &err);
        cli_plan_progress_end(&pp);
    }
    double total_s = 0;
    if (rc == 0) {
        per = calloc(plan.n_stations ? plan.n_stations : 1, sizeof *per);
        if (!per)
            rc = cs_err_set(&err, CS_ENOMEM, scenario, 0, 0, "out of memory");
    }
    if (rc == 0) {
        sim_plan_summary(&plan, per, &total_s);
        bool built = true;
        if (json) {
            cJSON *o = plan_json(cfg, &plan, per, total_s);
            char *text = o ? cJSON_Print(o) : NULL;
            cJSON_Delete(o);
            built = text != NULL;
            if (text) {
                cs_buf_str(&b, text);
                cs_buf_put(&b, "\n", 1);
                free(text);
            }
        } else {
            write_csv(&b, cfg, &plan);
        }
        if (!built || b.failed)
            rc = cs_err_set(&err, CS_ENOMEM, scenario, 0, 0, "out of memory");
    }
    if (rc == 0)
        rc = write_out(out_path, b.p, b.len, &err);
    if (rc == 0) {
        fprintf(stderr,
                "contacts: %s: %zu satellite%s x %zu station%s over %.0f s: %zu windows, %.1f s "
                "of contact (%.2f h); computed in %.3f s",
                cfg->name, plan.n_sats, plan.n_sats == 1 ? "" : "s", plan.n_stations,
                plan.n_stations == 1 ? "" : "s", cfg->duration_s, plan.windows.n, total_s,
                total_s / 3600.0, plan.compute_wall_s);
        if (out_path && strcmp(out_path, "-") != 0)
            fprintf(stderr, "; wrote %s", out_path);
        fputc('\n', stderr);
    } else {
        cs_err_print(&err, stderr);
        rc = cs_err_exit_code(&err);
    }
    cs_buf_free(&b);
    free(per);
    sim_plan_free(&plan);
    scn_free(cfg);
    free(sets);
    return rc;
}
