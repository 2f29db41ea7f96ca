/* cmd_viz.c - constsim viz: the orbit and link view of a scenario, live (the runs advance under
 * the view), orbits only, or replayed from a report; in a window or headless (one frame to a PNG
 * and a frame JSON). docs/viz.md. */
#include "cli.h"

#ifndef CONSTSIM_HAVE_VIZ
#include <stdio.h>
int cmd_viz(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "constsim viz: this build has no view (built with CONSTSIM_VIZ=OFF)\n");
    return 1;
}
#else
#include "cs.h"
#include "cs_host.h"
#include "fl_study.h"
#include "nn.h"
#include "nn_data.h"
#include "orbits.h"
#include "rep.h"
#include "scn.h"
#include "sim_plan.h"
#include "viz.h"

#include <SDL.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: constsim viz SCENARIO.yaml [--set KEY=VALUE]... [--orbits-only] [OPTIONS]\n"
        "       constsim viz --replay REPORT.json [OPTIONS]\n"
        "       ... --headless --at TIME --size WxH [--screenshot F.png] [--frame-json F.json]\n\n"
        "The orbit and link view: an equirectangular world map with day and night, the ground\n"
        "stations and their visibility footprints, the satellites coloured by what they do in\n"
        "the federated run, a line for every open contact (coloured by the wire precision of a\n"
        "model crossing it), and a panel with time, rounds, the accuracy curves, bytes and cost\n"
        "of every precision. Live, the scenario's runs (one per wire precision, side by side)\n"
        "advance under the view; closing the window stops them and writes the report as\n"
        "`constsim run` would (what they completed). docs/viz.md.\n\n"
        "options:\n"
        "  --set KEY=VALUE    override a scenario key (as in constsim run)\n"
        "  --orbits-only      the constellation and its contacts, no training\n"
        "  --replay REPORT    replay a finished run from its report's event trace\n"
        "  -o FILE            live: the report path (default: report.path); headless live\n"
        "                     views write a report only when -o is given\n"
        "  --no-report        live: do not write the report (nor model files)\n"
        "  --threads T        compute threads for training and contacts (default: all cores)\n"
        "  --warp X           simulated seconds per wall second (default 120)\n"
        "  --size WxH         window or frame size in pixels (default 1280x720)\n"
        "  --focus PREC       the run whose satellite states are drawn (default: the first)\n"
        "  --select NAME      select a satellite or station (details and ground track)\n"
        "  --no-footprints, --names, --tracks all|selected|none   what is drawn\n"
        "  --headless         no window: draw one frame at --at and write the files below\n"
        "  --at TIME          UTC time (2026-01-01T06:00:00Z), +DURATION from the epoch\n"
        "                     (+90m, +1.5h), or, in a replay, round:N (when round N closed)\n"
        "  --screenshot F     headless: write the frame as PNG\n"
        "  --frame-json F     headless: write what was drawn as JSON (docs/viz.md)\n\n"
        "keys: space pause, +/- time warp, p next run, f footprints, n names, t tracks\n"
        "(selected/all/none), click a satellite or station for details, s save a PNG,\n"
        "q or Esc quit; replay: left/right -/+ 1 minute (shift: 10), PgUp/PgDn round,\n"
        "Home/End.\n\n"
        "exit status: 0 success, 1 the run or the view failed, 2 bad usage or bad input\n"
        "(an output that cannot be written included: every output is checked first).\n");
}

typedef struct args {
    const char *scenario, *replay, *out;
    const char **sets;
    size_t n_sets;
    bool orbits_only, no_report, headless, quiet;
    long threads;
    double warp;
    int w, h;
    const char *focus, *select, *at, *png, *frame_json;
    bool no_footprints, names;
    const char *tracks;
    viz_opts vo;
} args;

/* --at: an ISO time, +DURATION, or round:N (replay). */
static int parse_at(const char *s, double jd_epoch, const viz_replay *rp, size_t focus, double *t_s,
                    cs_err *err)
{
    if (s[0] == '+') {
        if (scn_duration_parse(s + 1, t_s) == 0)
            return 0;
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "--at \"%s\": not a duration after '+'", s);
    }
    if (!strncmp(s, "round:", 6)) {
        char *e;
        long n = strtol(s + 6, &e, 10);
        if (!rp)
            return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "--at %s: rounds are for --replay", s);
        double t = *e || n < 0 ? NAN : viz_replay_round_time(rp, focus, (int)n);
        if (isnan(t))
            return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                              "--at %s: the report's run has no such round", s);
        *t_s = t;
        return 0;
    }
    double jd;
    int rc = orb_time_parse_iso(s, &jd, err);
    if (rc)
        return rc;
    *t_s = (jd - jd_epoch) * ORB_SEC_PER_DAY;
    *t_s = round(*t_s * 1000.0) / 1000.0; /* the Julian date's own resolution is ~40 us */
    return 0;
}

/* The scenario of a report: its file with its --set values, checked to be the same orbital
 * setup as the one the report was made with. */
static int replay_scenario(const char *path, const cJSON *rep, scn_config **cfg, cs_err *err)
{
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(rep, "scenario");
    const cJSON *file = sc ? cJSON_GetObjectItemCaseSensitive(sc, "file") : NULL;
    const cJSON *set = sc ? cJSON_GetObjectItemCaseSensitive(sc, "set") : NULL;
    if (!cJSON_IsString(file))
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "scenario.file missing");
    size_t n = cJSON_IsArray(set) ? (size_t)cJSON_GetArraySize(set) : 0;
    const char **sets = calloc(n ? n : 1, sizeof *sets);
    if (!sets)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
    size_t k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, set) if (cJSON_IsString(it)) sets[k++] = it->valuestring;
    int rc = scn_load(file->valuestring, sets, k, cfg, err);
    free(sets);
    if (rc) {
        size_t len = strlen(err->msg);
        if (len + 32 < sizeof err->msg)
            snprintf(err->msg + len, sizeof err->msg - len, " (the scenario of this report)");
        return rc;
    }
    /* The orbital setup must be the report's. */
    cJSON *now = scn_to_json(*cfg);
    static const char *const keys[] = {"epoch", "duration_s", "constellation", "ground_stations"};
    for (size_t i = 0; now && i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(sc, keys[i]);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(now, keys[i]);
        if (!a || !b || !cJSON_Compare(a, b, true)) {
            cJSON_Delete(now);
            return cs_err_set(err, CS_EINVAL, path, 0, 0,
                              "the scenario %s no longer has the report's %s: it changed since "
                              "the run",
                              file->valuestring, keys[i]);
        }
    }
    cJSON_Delete(now);
    return 0;
}

static int write_json(const char *path, cJSON *j, cs_err *err)
{
    char *s = cJSON_PrintUnformatted(j);
    if (!s)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (frame JSON)");
    size_t n = strlen(s);
    s[n] = '\n';
    int rc = cs_write_file_in_dir(path, s, n + 1, err);
    free(s);
    return rc;
}

/* ---- the window --------------------------------------------------------------------------------
 */

typedef struct app {
    const args *a;
    const scn_config *cfg;
    const sim_plan *plan;
    viz_scene *scene;
    viz_live *live;     /* live view, or NULL */
    viz_replay *replay; /* replay, or NULL */
    viz_status st;      /* the status drawn (live or replay), n_runs 0 for orbits only */
    bool has_status;
    double t_s; /* the view's clock */
    double end_s;
} app;

static int status_at(app *p, double t, cs_err *err)
{
    if (p->replay)
        return viz_replay_seek(p->replay, t, &p->st, err);
    if (p->live)
        viz_live_latest(p->live, &p->st);
    return 0;
}

static int frame_to_files(app *p, viz_view *v, cs_err *err)
{
    const args *a = p->a;
    int rc;
    if (a->png && (rc = viz_view_save_png(v, a->png, err)))
        return rc;
    if (a->frame_json) {
        cJSON *j = viz_view_frame_json(v, err);
        if (!j)
            return err->code;
        rc = write_json(a->frame_json, j, err);
        cJSON_Delete(j);
        if (rc)
            return rc;
    }
    return 0;
}

static int headless(app *p, cs_err *err)
{
    const args *a = p->a;
    size_t pitch = (size_t)a->w * 4;
    uint32_t *px = malloc(pitch * (size_t)a->h);
    if (!px)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (frame)");
    viz_view *v = viz_view_create(p->scene, px, a->w, a->h, (int)pitch, viz_font_path(), 1, err);
    int rc = v ? 0 : err->code;
    if (!rc && p->live)
        rc = viz_live_allow(p->live, p->t_s, err);
    if (!rc)
        rc = status_at(p, p->t_s, err);
    if (!rc)
        rc = viz_view_draw(v, p->has_status ? &p->st : NULL, p->t_s, &a->vo, err);
    if (!rc)
        rc = frame_to_files(p, v, err);
    viz_view_destroy(v);
    free(px);
    return rc;
}

static double round_step(app *p, size_t f, int dir)
{
    double best = dir > 0 ? p->end_s : 0;
    for (int r = 0;; r++) {
        double t = viz_replay_round_time(p->replay, f, r);
        if (isnan(t))
            break;
        if (dir > 0 && t > p->t_s + 1e-6 && t < best)
            best = t;
        if (dir < 0 && t < p->t_s - 1e-6 && t > best)
            best = t;
    }
    return best;
}

/* SDL's video, checked before any work: without a display SDL falls back to its offscreen or
 * dummy driver, a window nobody would see. */
static int display_open(cs_err *err)
{
    if (SDL_Init(SDL_INIT_VIDEO) != 0)
        return cs_err_set(err, CS_EIO, NULL, 0, 0,
                          "no display (%s); use --headless for frames without one", SDL_GetError());
    const char *drv = SDL_GetCurrentVideoDriver();
    const char *asked = getenv("SDL_VIDEODRIVER");
    if (drv && (!strcmp(drv, "offscreen") || !strcmp(drv, "dummy")) && !(asked && asked[0])) {
        SDL_Quit();
        return cs_err_set(err, CS_EIO, NULL, 0, 0,
                          "no display (SDL found only its %s video driver): set DISPLAY or "
                          "WAYLAND_DISPLAY, or use --headless for frames without one",
                          drv);
    }
    return 0;
}

/* The window's loop (display_open succeeded). */
static int window(app *p, cs_err *err)
{
    const args *a = p->a;
    viz_opts o = a->vo;
    char title[256];
    snprintf(title, sizeof title, "constsim viz: %s", p->cfg->name);
    SDL_Window *win = SDL_CreateWindow(title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED,
                                       a->w, a->h, SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI);
    if (!win) {
        return cs_err_set(err, CS_EIO, NULL, 0, 0, "cannot open a window: %s", SDL_GetError());
    }
    uint32_t *px = NULL;
    SDL_Surface *frame = NULL;
    viz_view *v = NULL;
    int rc = 0, fw = 0, fh = 0, shots = 0;
    double last = cs_wall_s();
    bool running = true;
    while (running && !rc) {
        SDL_Surface *ws = SDL_GetWindowSurface(win);
        if (!ws) {
            rc = cs_err_set(err, CS_EIO, NULL, 0, 0, "window surface: %s", SDL_GetError());
            break;
        }
        if (!v || ws->w != fw || ws->h != fh) { /* new size: a new frame buffer and view */
            viz_view_destroy(v);
            v = NULL;
            if (frame)
                SDL_FreeSurface(frame);
            free(px);
            fw = ws->w < 320 ? 320 : ws->w;
            fh = ws->h < 200 ? 200 : ws->h;
            px = malloc((size_t)fw * (size_t)fh * 4);
            frame = px ? SDL_CreateRGBSurfaceWithFormatFrom(px, fw, fh, 32, fw * 4,
                                                            SDL_PIXELFORMAT_ARGB8888)
                       : NULL;
            int ww, wh;
            SDL_GetWindowSize(win, &ww, &wh);
            double scale = ww > 0 ? (double)ws->w / ww : 1;
            if (!frame) {
                rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (frame %dx%d)", fw, fh);
                break;
            }
            if (!(v = viz_view_create(p->scene, px, fw, fh, fw * 4, viz_font_path(), scale, err))) {
                rc = err->code;
                break;
            }
            fw = ws->w;
            fh = ws->h;
        }
        SDL_Event ev;
        while (SDL_PollEvent(&ev)) {
            if (ev.type == SDL_QUIT) {
                running = false;
            } else if (ev.type == SDL_KEYDOWN) {
                SDL_Keycode k = ev.key.keysym.sym;
                bool shift = (ev.key.keysym.mod & KMOD_SHIFT) != 0;
                if (k == SDLK_q || k == SDLK_ESCAPE)
                    running = false;
                else if (k == SDLK_SPACE)
                    o.paused = !o.paused;
                else if (k == SDLK_PLUS || k == SDLK_EQUALS || k == SDLK_KP_PLUS)
                    o.warp = o.warp * 2 <= 1e6 ? o.warp * 2 : 1e6;
                else if (k == SDLK_MINUS || k == SDLK_KP_MINUS)
                    o.warp = o.warp / 2 >= 1 ? o.warp / 2 : 1;
                else if (k == SDLK_f)
                    o.footprints = !o.footprints;
                else if (k == SDLK_n)
                    o.names = !o.names;
                else if (k == SDLK_t)
                    o.tracks = (viz_tracks)((o.tracks + 1) % 3);
                else if (k == SDLK_p && p->st.n_runs)
                    o.focus = (o.focus + 1) % p->st.n_runs;
                else if (k == SDLK_s) {
                    char f[64];
                    snprintf(f, sizeof f, "constsim-viz-%d.png", ++shots);
                    cs_err e2;
                    cs_err_clear(&e2);
                    if (viz_view_save_png(v, f, &e2))
                        cs_err_print(&e2, stderr);
                    else
                        fprintf(stderr, "viz: wrote %s\n", f);
                } else if (p->replay && (k == SDLK_LEFT || k == SDLK_RIGHT))
                    p->t_s += (k == SDLK_LEFT ? -60.0 : 60.0) * (shift ? 10 : 1);
                else if (p->replay && k == SDLK_PAGEUP)
                    p->t_s = round_step(p, o.focus, -1);
                else if (p->replay && k == SDLK_PAGEDOWN)
                    p->t_s = round_step(p, o.focus, +1);
                else if (p->replay && k == SDLK_HOME)
                    p->t_s = 0;
                else if (p->replay && k == SDLK_END)
                    p->t_s = p->end_s;
            } else if (ev.type == SDL_MOUSEBUTTONDOWN && ev.button.button == SDL_BUTTON_LEFT) {
                int ww, wh;
                SDL_GetWindowSize(win, &ww, &wh);
                double sx = ww > 0 ? (double)fw / ww : 1, sy = wh > 0 ? (double)fh / wh : 1;
                viz_view_pick(v, (int)(ev.button.x * sx), (int)(ev.button.y * sy), &o.selected_sat,
                              &o.selected_station);
            }
        }
        double now = cs_wall_s(), dt = now - last;
        last = now;
        if (!o.paused)
            p->t_s += dt * o.warp;
        p->t_s = p->t_s < 0 ? 0 : p->t_s > p->end_s ? p->end_s : p->t_s;
        if (p->live) {
            /* The view's clock never runs ahead of the runs by more than a second of warp; a
             * failure of the runs ends the view (viz_live_allow returns it). */
            double reached = viz_live_reached(p->live);
            if (p->t_s > reached + o.warp)
                p->t_s = reached + o.warp > 0 ? reached + o.warp : 0;
            if ((rc = viz_live_allow(p->live, o.paused ? reached : p->t_s, err)))
                break;
        }
        if ((rc = status_at(p, p->t_s, err)))
            break;
        if (p->replay)
            p->st.t_s = p->t_s;
        if ((rc = viz_view_draw(v, p->has_status ? &p->st : NULL, p->t_s, &o, err)))
            break;
        SDL_BlitSurface(frame, NULL, ws, NULL);
        SDL_UpdateWindowSurface(win);
        double spent = cs_wall_s() - now;
        if (spent < 1.0 / 60)
            SDL_Delay((Uint32)((1.0 / 60 - spent) * 1000));
    }
    viz_view_destroy(v);
    if (frame)
        SDL_FreeSurface(frame);
    free(px);
    SDL_DestroyWindow(win);
    return rc;
}

/* ---- the command -------------------------------------------------------------------------------
 */

static int parse_args(int argc, char **argv, args *a)
{
    a->threads = 0;
    a->warp = 120;
    a->w = 1280;
    a->h = 720;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED(what)                                                                                 \
    do {                                                                                           \
        if (!v)                                                                                    \
            return cli_usage_error("viz", "%s needs %s", s, what);                                 \
        i++;                                                                                       \
    } while (0)
        if (!strcmp(s, "--set")) {
            NEED("KEY=VALUE");
            a->sets[a->n_sets++] = v;
        } else if (!strncmp(s, "--set=", 6)) {
            a->sets[a->n_sets++] = s + 6;
        } else if (!strcmp(s, "--replay")) {
            NEED("a report file");
            a->replay = v;
        } else if (!strcmp(s, "-o")) {
            NEED("a file name");
            a->out = v;
        } else if (!strcmp(s, "--orbits-only")) {
            a->orbits_only = true;
        } else if (!strcmp(s, "--no-report")) {
            a->no_report = true;
        } else if (!strcmp(s, "--headless")) {
            a->headless = true;
        } else if (!strcmp(s, "-q") || !strcmp(s, "--quiet")) {
            a->quiet = true;
        } else if (!strcmp(s, "--threads")) {
            if (cli_parse_int("viz", s, v, 1, 1024, &a->threads))
                return 2;
            i++;
        } else if (!strcmp(s, "--warp")) {
            if (cli_parse_double("viz", s, v, 1, 1e6, &a->warp))
                return 2;
            i++;
        } else if (!strcmp(s, "--size")) {
            if (cli_parse_size("viz", s, v, &a->w, &a->h))
                return 2;
            i++;
        } else if (!strcmp(s, "--focus")) {
            NEED("a precision");
            a->focus = v;
        } else if (!strcmp(s, "--select")) {
            NEED("a satellite or station name");
            a->select = v;
        } else if (!strcmp(s, "--at")) {
            NEED("a time");
            a->at = v;
        } else if (!strcmp(s, "--screenshot")) {
            NEED("a PNG file name");
            a->png = v;
        } else if (!strcmp(s, "--frame-json")) {
            NEED("a JSON file name");
            a->frame_json = v;
        } else if (!strcmp(s, "--no-footprints")) {
            a->no_footprints = true;
        } else if (!strcmp(s, "--names")) {
            a->names = true;
        } else if (!strcmp(s, "--tracks")) {
            NEED("all, selected or none");
            a->tracks = v;
            if (strcmp(v, "all") && strcmp(v, "selected") && strcmp(v, "none"))
                return cli_usage_error("viz", "--tracks \"%s\": expected all, selected or none", v);
        } else if (s[0] == '-' && s[1]) {
            return cli_usage_error("viz", "unknown option \"%s\"", s);
        } else if (!a->scenario) {
            a->scenario = s;
        } else {
            return cli_usage_error("viz", "more than one scenario (\"%s\", \"%s\")", a->scenario,
                                   s);
        }
#undef NEED
    }
    if (!a->scenario == !a->replay)
        return cli_usage_error("viz", "give a SCENARIO.yaml or --replay REPORT.json (one of them)");
    if (a->replay && (a->n_sets || a->orbits_only || a->out || a->no_report))
        return cli_usage_error("viz", "--set, --orbits-only, -o and --no-report are for a "
                                      "scenario, not --replay");
    if (a->headless && !a->at)
        return cli_usage_error("viz", "--headless needs --at TIME");
    if (a->headless && !a->png && !a->frame_json)
        return cli_usage_error("viz", "--headless needs --screenshot and/or --frame-json");
    if (!a->headless && (a->png || a->frame_json))
        return cli_usage_error("viz", "--screenshot and --frame-json are for --headless");
    return 0;
}

/* The drawing choices: the defaults for n_sats satellites, then the command line's. */
static void draw_opts(args *a, size_t n_sats)
{
    a->vo = viz_opts_default(n_sats);
    if (a->no_footprints)
        a->vo.footprints = false;
    if (a->names)
        a->vo.names = true;
    if (a->tracks)
        a->vo.tracks = !strcmp(a->tracks, "all")    ? VIZ_TRACKS_ALL
                       : !strcmp(a->tracks, "none") ? VIZ_TRACKS_NONE
                                                    : VIZ_TRACKS_SELECTED;
    a->vo.warp = a->warp;
    a->vo.mode = a->replay ? "replay" : a->orbits_only ? "orbits only" : "live";
}

/* --select and --focus against the scene. */
static int resolve_choices(args *a, const sim_plan *plan, const nn_precision *precs, size_t n,
                           cs_err *err)
{
    if (a->select) {
        for (size_t i = 0; i < plan->n_sats; i++)
            if (!strcmp(plan->sats[i].name, a->select))
                a->vo.selected_sat = (int)i;
        for (size_t k = 0; k < plan->n_stations; k++)
            if (!strcmp(plan->stations[k].name, a->select))
                a->vo.selected_station = (int)k;
        if (a->vo.selected_sat < 0 && a->vo.selected_station < 0)
            return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                              "--select \"%s\": no satellite or station of that name", a->select);
    }
    if (a->focus) {
        size_t i = 0;
        while (i < n && strcmp(nn_precision_name(precs[i]), a->focus))
            i++;
        if (i == n)
            return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "--focus %s: no run in that precision",
                              a->focus);
        a->vo.focus = i;
    }
    return 0;
}

int cmd_viz(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    args a;
    memset(&a, 0, sizeof a);
    a.sets = calloc((size_t)argc + 1, sizeof *a.sets);
    if (!a.sets)
        return 1;
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        free(a.sets);
        return rc;
    }
    cs_err err;
    cs_err_clear(&err);
    scn_config *cfg = NULL;
    cJSON *rep = NULL, *report = NULL;
    sim_plan plan;
    memset(&plan, 0, sizeof plan);
    nn_dataset ds;
    memset(&ds, 0, sizeof ds);
    fl_study study;
    memset(&study, 0, sizeof study);
    bool sdl_open = false;
    const size_t *part_sizes = NULL;
    size_t *sizes = NULL;
    app p;
    memset(&p, 0, sizeof p);
    p.a = &a;
    char geo[1024];
    const char *geo_dir = viz_geo_dir(geo, sizeof geo);
    fl_study_opts so = {.report_path = a.out, .trace = true, .save_models = true};
    bool write_report = !a.replay && !a.orbits_only && !a.no_report && (!a.headless || a.out);
    so.save_models = write_report;

    if (a.replay) {
        if (rep_load(a.replay, &rep, &err) || replay_scenario(a.replay, rep, &cfg, &err))
            goto fail;
    } else if (scn_load(a.scenario, a.sets, a.n_sets, &cfg, &err)) {
        goto fail;
    }
    /* Every output is checked before the plan, the dataset and the runs. */
    if ((a.png && cs_check_writable(a.png, &err)) ||
        (a.frame_json && cs_check_writable(a.frame_json, &err)) ||
        (write_report && cli_check_run_outputs(cfg, a.out, so.save_models, &err)))
        goto fail;
    if (a.threads <= 0)
        a.threads = cs_host_cpus();
    nn_set_threads((int)a.threads);
    if (!geo_dir && !a.quiet)
        fprintf(stderr, "viz: no Natural Earth files ($CONSTSIM_GEO, $CONSTSIM_SHARED/geo, "
                        "../shared/geo): drawing a lat/lon grid alone\n");
    if (sim_plan_build(cfg, (int)a.threads, &plan, &err))
        goto fail;
    if (!a.quiet)
        fprintf(stderr, "viz: %s: %zu satellites, %zu stations, %zu windows (%.2f s)\n", cfg->name,
                plan.n_sats, plan.n_stations, plan.windows.n, plan.compute_wall_s);
    p.cfg = cfg;
    p.plan = &plan;
    p.end_s = cfg->duration_s;
    draw_opts(&a, plan.n_sats);

    /* The runs' precisions, then every choice of the command line checked before any work. */
    nn_precision precs[NN_PRECISIONS];
    size_t n_prec = 0;
    if (a.replay) {
        if (!(p.replay = viz_replay_create(rep, plan.n_sats, plan.n_stations, &err)) ||
            viz_status_init(&p.st, plan.n_sats, plan.n_stations, viz_replay_runs(p.replay), &err) ||
            viz_replay_seek(p.replay, 0, &p.st, &err)) {
            if (!err.path[0])
                snprintf(err.path, sizeof err.path, "%s", a.replay);
            goto fail;
        }
        p.has_status = true;
        for (size_t i = 0; i < p.st.n_runs; i++)
            precs[n_prec++] = p.st.runs[i].precision;
        /* Partition sizes: one per client, the first satellites. */
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(rep, "dataset");
        const cJSON *cs = d ? cJSON_GetObjectItemCaseSensitive(d, "client_samples") : NULL;
        if (cJSON_IsArray(cs) && (size_t)cJSON_GetArraySize(cs) <= plan.n_sats) {
            if (!(sizes = calloc(plan.n_sats ? plan.n_sats : 1, sizeof *sizes))) {
                cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory");
                goto fail;
            }
            size_t i = 0;
            const cJSON *x;
            cJSON_ArrayForEach(x, cs) sizes[i++] = cJSON_IsNumber(x) ? (size_t)x->valuedouble : 0;
            part_sizes = sizes;
        }
    } else if (!a.orbits_only) {
        for (size_t i = 0; i < cfg->wire.n_precision; i++)
            precs[n_prec++] = cfg->wire.precision[i];
    }
    if (resolve_choices(&a, &plan, precs, n_prec, &err) ||
        (a.at && parse_at(a.at, plan.jd_epoch, p.replay, a.vo.focus, &p.t_s, &err)))
        goto fail;
    if (a.at && (p.t_s < 0 || p.t_s > cfg->duration_s)) {
        cs_err_set(&err, CS_EINVAL, NULL, 0, 0,
                   "--at %s is outside the scenario (its epoch to %g s later)", a.at,
                   cfg->duration_s);
        goto fail;
    }
    if (!a.headless) {
        if (display_open(&err))
            goto fail;
        sdl_open = true;
    }

    if (!a.replay && !a.orbits_only) {
        char root[1024];
        if (nn_data_find_root(cfg->dataset.path, root, sizeof root, &err) ||
            nn_data_load(root, (int)a.threads, &ds, &err))
            goto fail;
        if (!a.quiet)
            fprintf(stderr, "viz: dataset: %zu images from %s in %.1f s\n", ds.n, ds.root,
                    ds.load_wall_s);
        if (fl_study_begin(cfg, &plan, &ds, &so, &study, &err))
            goto fail;
        if (!(sizes = calloc(plan.n_sats ? plan.n_sats : 1, sizeof *sizes))) {
            cs_err_set(&err, CS_ENOMEM, NULL, 0, 0, "out of memory");
            goto fail;
        }
        for (size_t c = 0; c < study.parts.n_clients && c < plan.n_sats; c++)
            sizes[c] = study.parts.off[c + 1] - study.parts.off[c];
        part_sizes = sizes;
        if (!(p.live = viz_live_start(&study, &so, !a.headless, &err)) ||
            viz_live_status_init(p.live, &p.st, &err))
            goto fail;
        viz_live_latest(p.live, &p.st);
        p.has_status = true;
    }
    if (!(p.scene = viz_scene_create(cfg, &plan, geo_dir, part_sizes, &err)))
        goto fail;
    free(sizes);
    sizes = NULL;
    rc = a.headless ? headless(&p, &err) : window(&p, &err);
    if (p.live) {
        if (!a.quiet && !a.headless && !viz_live_done(p.live))
            fprintf(stderr, "viz: stopping the runs (the slice in progress ends first)\n");
        int rc2 = viz_live_stop(p.live, rc == 0, &err);
        p.live = NULL;
        rc = rc ? rc : rc2;
        if (rc)
            goto fail;
        if (write_report) {
            if (fl_study_finish(&study, &so, &err))
                goto fail;
            rep_machine machine;
            rep_machine_probe(&machine, (int)a.threads);
            if (rep_write_study(&study, &machine, NULL, &report, &err))
                goto fail;
            const cJSON *one[1] = {report};
            char *table = rep_table(one, 1, false, true);
            if (table)
                fputs(table, stdout);
            free(table);
            if (!a.quiet)
                fprintf(stderr, "viz: wrote %s\n", study.report_path);
        }
    }
    if (rc)
        goto fail;
    if (a.headless && !a.quiet)
        fprintf(stderr, "viz: frame at %s%s%s%s%s\n", a.at, a.png ? " -> " : "", a.png ? a.png : "",
                a.frame_json ? " -> " : "", a.frame_json ? a.frame_json : "");
    rc = 0;
    goto done;
fail:
    cs_err_print(&err, stderr);
    rc = cs_err_exit_code(&err);
    if (p.live) { /* abandoned: no model file is written */
        cs_err ignored;
        viz_live_stop(p.live, false, &ignored);
    }
    free(sizes);
done:
    viz_status_free(&p.st);
    viz_replay_destroy(p.replay);
    viz_scene_destroy(p.scene);
    cJSON_Delete(report);
    cJSON_Delete(rep);
    fl_study_free(&study); /* zeroed when never begun */
    nn_data_free(&ds);
    sim_plan_free(&plan);
    scn_free(cfg);
    free(a.sets);
    if (sdl_open)
        SDL_Quit();
    return rc;
}
#endif
