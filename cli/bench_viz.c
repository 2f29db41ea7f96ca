/* bench_viz.c - constsim bench viz: frame time of the view (software renderer, offscreen) on a
 * scenario's constellation and stations; prints one JSON object. */
#include "cli.h"

#ifndef CONSTSIM_HAVE_VIZ
#include <stdio.h>
int bench_viz(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim bench viz: this build has no view (CONSTSIM_VIZ=OFF)\n");
    return 1;
}
#else
#include "cs.h"
#include "cs_host.h"
#include "scn.h"
#include "sim_plan.h"
#include "viz.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: constsim bench viz SCENARIO.yaml [--frames N] [--size WxH] [--step S]\n"
            "                          [--set KEY=VALUE]... [--threads T]\n\n"
            "Draws N frames of the view of the scenario offscreen with SDL's software renderer\n"
            "(the renderer of the window and of --headless) at times 0, S, 2S, ... seconds and\n"
            "prints one JSON object: ms_per_frame (median over the frames after the first, which\n"
            "builds the cached map), min, p90 and max, first_frame_ms, satellites, stations,\n"
            "open contacts per frame, size. A frame is the whole draw: propagation of every\n"
            "satellite, night shading, contacts, markers, panel text. Satellite states cycle\n"
            "through the five colours (no training runs).\n\n"
            "options:\n"
            "  --frames N   frames to draw (default 200)\n"
            "  --size WxH   frame size (default 1280x720)\n"
            "  --step S     simulated seconds between frames (default 30)\n"
            "  --set K=V    override a scenario key\n"
            "  --threads T  threads for the contact plan (default: all cores; frames use one)\n");
}

int bench_viz(int argc, char **argv)
{
    const char *scenario = NULL;
    long frames = 200, threads = 0;
    double step = 30;
    int w = 1280, h = 720;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    size_t n_sets = 0;
    if (!sets)
        return 1;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(sets);
            return 0;
        } else if (!strcmp(a, "--frames")) {
            if (cli_parse_int("bench viz", a, v, 2, 1000000, &frames))
                goto out;
            i++;
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_int("bench viz", a, v, 1, 1024, &threads))
                goto out;
            i++;
        } else if (!strcmp(a, "--step")) {
            if (cli_parse_double("bench viz", a, v, 0, 1e9, &step))
                goto out;
            i++;
        } else if (!strcmp(a, "--size")) {
            if (cli_parse_size("bench viz", a, v, &w, &h))
                goto out;
            i++;
        } else if (!strcmp(a, "--set")) {
            if (!v) {
                cli_usage_error("bench viz", "--set needs KEY=VALUE");
                goto out;
            }
            sets[n_sets++] = v, i++;
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("bench viz", "unknown option \"%s\"", a);
            goto out;
        } else if (!scenario) {
            scenario = a;
        } else {
            cli_usage_error("bench viz", "more than one scenario");
            goto out;
        }
    }
    if (!scenario) {
        cli_usage_error("bench viz", "missing SCENARIO.yaml");
        goto out;
    }
    cs_err err;
    cs_err_clear(&err);
    scn_config *cfg = NULL;
    sim_plan plan;
    memset(&plan, 0, sizeof plan);
    viz_scene *sc = NULL;
    viz_view *view = NULL;
    viz_status st;
    memset(&st, 0, sizeof st);
    uint32_t *px = NULL;
    double *ms = NULL;
    size_t links = 0;
    if (scn_load(scenario, sets, n_sets, &cfg, &err) ||
        sim_plan_build(cfg, threads > 0 ? (int)threads : cs_host_cpus(), &plan, &err))
        goto fail;
    char geo[1024];
    if (!(sc = viz_scene_create(cfg, &plan, viz_geo_dir(geo, sizeof geo), NULL, &err)) ||
        viz_status_init(&st, plan.n_sats, plan.n_stations, 1, &err))
        goto fail;
    st.runs[0].precision = cfg->wire.precision[0];
    st.runs[0].rounds_total = cfg->federated.rounds;
    for (size_t i = 0; i < plan.n_sats; i++)
        st.runs[0].sat_state[i] = (uint8_t)(i % VIZ_SAT_STATES);
    px = malloc((size_t)w * (size_t)h * 4);
    ms = malloc((size_t)frames * sizeof *ms);
    if (!px || !ms) {
        cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory");
        goto fail;
    }
    if (!(view = viz_view_create(sc, px, w, h, w * 4, viz_font_path(), 1, &err)))
        goto fail;
    viz_opts o = viz_opts_default(plan.n_sats);
    o.mode = "bench";
    for (long f = 0; f < frames; f++) {
        st.t_s = (double)f * step;
        if (st.t_s > cfg->duration_s)
            st.t_s = cfg->duration_s;
        double t0 = cs_wall_s();
        if (viz_view_draw(view, &st, st.t_s, &o, &err))
            goto fail;
        ms[f] = (cs_wall_s() - t0) * 1000.0;
        cJSON *fj = f == frames - 1 ? viz_view_frame_json(view, &err) : NULL;
        if (fj) {
            links = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(fj, "links"));
            cJSON_Delete(fj);
        }
    }
    double first = ms[0];
    size_t n = (size_t)frames - 1;
    double median = cli_median(ms + 1, n); /* sorts ms[1..frames) */
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "bench", "viz");
    cJSON_AddStringToObject(j, "scenario", cfg->name);
    cJSON_AddStringToObject(j, "renderer", "software");
    cJSON_AddNumberToObject(j, "satellites", (double)plan.n_sats);
    cJSON_AddNumberToObject(j, "stations", (double)plan.n_stations);
    cJSON_AddNumberToObject(j, "windows", (double)plan.windows.n);
    cJSON_AddNumberToObject(j, "width", w);
    cJSON_AddNumberToObject(j, "height", h);
    cJSON_AddNumberToObject(j, "frames", (double)frames);
    cJSON_AddNumberToObject(j, "ms_per_frame", median);
    cJSON_AddNumberToObject(j, "ms_min", ms[1]);
    cJSON_AddNumberToObject(j, "ms_p90", ms[1 + (size_t)(0.9 * (double)(n - 1))]);
    cJSON_AddNumberToObject(j, "ms_max", ms[n]);
    cJSON_AddNumberToObject(j, "first_frame_ms", first);
    cJSON_AddNumberToObject(j, "links_last_frame", (double)links);
    cJSON_AddNumberToObject(j, "plan_wall_s", plan.compute_wall_s);
    cli_print_json(j);
    rc = 0;
    goto done;
fail:
    cs_err_print(&err, stderr);
    rc = cs_err_exit_code(&err);
done:
    viz_view_destroy(view);
    viz_status_free(&st);
    viz_scene_destroy(sc);
    free(px);
    free(ms);
    sim_plan_free(&plan);
    scn_free(cfg);
out:
    free(sets);
    return rc;
}
#endif
