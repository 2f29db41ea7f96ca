/* viz_render.c - the scene (satellites, stations, windows, map) and the frame: an equirectangular
 * world map with day/night shading, station footprints, contacts, satellites coloured by state,
 * and a side panel; drawn with SDL's software renderer into a borrowed ARGB8888 buffer. */
#include "viz_internal.h"

#include "orbits.h"
#include "rep.h"

#include <SDL.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- colours (docs/viz.md) ------------------------------------------------------------------- */
#define C_OCEAN 0xff0b1e36u
#define C_LAND 0xff2e4b36u
#define C_COAST 0xff7f9f84u
#define C_GRID 0xff1d3556u
#define C_PANEL 0xff10151cu
#define C_TEXT 0xffdde3eau
#define C_DIM 0xff8a96a3u
#define C_STATION 0xffffd166u
#define C_FOOT 0xff9c7f3cu
#define C_CONTACT 0xff9fb7d0u
#define C_CONTACT_DIM                                                                              \
    0xff3e5570u /* the same when hundreds are open */ /* a contact open, nothing crossing in the   \
                                                         run shown */
#define C_TRACK 0xffe6ecf2u
#define C_SELECT 0xffffffffu

static const uint32_t state_colour[VIZ_SAT_STATES] = {
    0xffa3adb8u, /* idle: grey */
    0xff4cc9f0u, /* receiving: cyan */
    0xfff77f00u, /* training: orange */
    0xffe040fbu, /* sending: magenta */
    0xff70e000u, /* done: green */
};

static uint32_t precision_colour(nn_precision p)
{
    switch (p) {
    case NN_PREC_FP32:
        return 0xffff4d4du;
    case NN_PREC_FP16:
        return 0xffffc93cu;
    case NN_PREC_INT8:
        return 0xff3ddc97u;
    case NN_PREC_INT4:
        return 0xff4ea8deu;
    case NN_PREC_TERNARY:
        return 0xffb07cffu;
    case NN_PREC_TOPK:
        return 0xffff8fd0u;
    default: /* adaptive */
        return 0xffe0e0e0u;
    }
}

/* ---- the scene --------------------------------------------------------------------------------
 */

struct viz_scene {
    const scn_config *cfg; /* borrowed */
    const sim_plan *plan;  /* borrowed */
    viz__paths land, coast;
    bool have_geo;
    double foot_alt_km;  /* satellite altitude the footprints are drawn for */
    size_t *part;        /* owned: n_sats partition sizes, or NULL */
    double max_window_s; /* longest window (bounds the search for open ones) */
};

const char *viz_geo_dir(char *buf, size_t cap)
{
    return viz__geo_dir(buf, cap);
}

void viz_scene_destroy(viz_scene *sc)
{
    if (!sc)
        return;
    viz__paths_free(&sc->land);
    viz__paths_free(&sc->coast);
    free(sc->part);
    free(sc);
}

viz_scene *viz_scene_create(const scn_config *cfg, const sim_plan *plan, const char *geo_dir,
                            const size_t *partition_sizes, cs_err *err)
{
    viz_scene *sc = calloc(1, sizeof *sc);
    if (!sc) {
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (view)");
        return NULL;
    }
    sc->cfg = cfg;
    sc->plan = plan;
    if (geo_dir) {
        char p[1200];
        snprintf(p, sizeof p, "%s/ne_110m_land.geojson", geo_dir);
        if (viz__geo_load(p, &sc->land, err))
            goto fail;
        snprintf(p, sizeof p, "%s/ne_110m_coastline.geojson", geo_dir);
        if (viz__geo_load(p, &sc->coast, err))
            goto fail;
        sc->have_geo = true;
    }
    /* Footprints for the satellites' mean geodetic altitude at the epoch. */
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < plan->n_sats; i++) {
        double r[3], lat, lon, alt_m;
        if (orb_sat_ecef_at(&plan->sats[i], plan->jd_epoch, 0, r, NULL) == 0) {
            orb_ecef_to_geodetic(r, &lat, &lon, &alt_m);
            sum += alt_m / 1000.0;
            n++;
        }
    }
    sc->foot_alt_km = n ? sum / (double)n : 550.0;
    for (size_t i = 0; i < plan->windows.n; i++) {
        double d = plan->windows.w[i].t_end_s - plan->windows.w[i].t_start_s;
        sc->max_window_s = d > sc->max_window_s ? d : sc->max_window_s;
    }
    if (partition_sizes) {
        if (!(sc->part = malloc((plan->n_sats ? plan->n_sats : 1) * sizeof *sc->part))) {
            cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (view)");
            goto fail;
        }
        memcpy(sc->part, partition_sizes, plan->n_sats * sizeof *sc->part);
    }
    return sc;
fail:
    viz_scene_destroy(sc);
    return NULL;
}

/* ---- the view ---------------------------------------------------------------------------------
 */

typedef struct link_draw {
    uint32_t sat, station;
    int run; /* index of the run whose session is on it (the focused one first), -1 none */
} link_draw;

struct viz_view {
    const viz_scene *sc; /* borrowed */
    SDL_Surface *surf;   /* owned wrapper of the borrowed pixels */
    SDL_Renderer *rd;    /* owned: software renderer on surf */
    uint32_t *bg;        /* owned: the map without night, satellites or text (w x h) */
    bool bg_footprints;  /* what bg was drawn with */
    bool bg_valid;
    int w, h;
    double scale;
    SDL_Rect map; /* the map's pixel rectangle */
    int panel_x;
    viz__font *font, *small;
    /* Night shading per map row and column. */
    float *row_sin, *row_cos; /* owned: map.h */
    float *col_b;             /* owned: map.w */
    /* The last frame: */
    double t_s;
    const viz_status *st; /* borrowed during draw only */
    double *lat, *lon;    /* owned: n_sats geodetic sub-satellite points */
    int *px, *py;         /* owned: n_sats marker centres */
    float *dx, *dy;       /* owned: n_sats direction of motion on the map, unit */
    uint8_t *state;       /* owned: n_sats states drawn */
    int *spx, *spy;       /* owned: n_stations marker centres */
    link_draw *links;     /* owned */
    size_t n_links, cap_links;
    bool has_status;
    size_t focus;
    viz_status last; /* owned: a copy of the status drawn (for the frame JSON) */
    SDL_Rect *rects; /* owned: n_sats marker rectangles */
    /* Ground tracks of all satellites (VIZ_TRACKS_ALL), cached. */
    float *trk;     /* owned: n_sats x TRACK_N (x, y) pairs */
    double trk_t_s; /* the time they were computed for (NAN: none) */
};

#define TRACK_N 96

static uint32_t *pixels(const viz_view *v)
{
    return (uint32_t *)v->surf->pixels;
}

void viz_view_destroy(viz_view *v)
{
    if (!v)
        return;
    viz__font_close(v->font);
    viz__font_close(v->small);
    if (v->rd)
        SDL_DestroyRenderer(v->rd);
    if (v->surf)
        SDL_FreeSurface(v->surf);
    free(v->bg);
    free(v->row_sin);
    free(v->row_cos);
    free(v->col_b);
    free(v->lat);
    free(v->lon);
    free(v->px);
    free(v->py);
    free(v->dx);
    free(v->dy);
    free(v->state);
    free(v->spx);
    free(v->spy);
    free(v->links);
    free(v->trk);
    free(v->rects);
    viz_status_free(&v->last);
    free(v);
}

const char *viz_font_path(void)
{
    const char *e = getenv("CONSTSIM_FONT");
    if (e && e[0])
        return access(e, R_OK) == 0 ? e : NULL;
    static const char *const known[] = {
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (access(known[i], R_OK) == 0)
            return known[i];
    return NULL;
}

viz_view *viz_view_create(const viz_scene *sc, void *px, int w, int h, int pitch, const char *font,
                          double scale, cs_err *err)
{
    if (w < 320 || h < 200 || w > 16384 || h > 16384)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "view size %dx%d out of range (320x200 .. 16384x16384)", w, h),
               NULL;
    viz_view *v = calloc(1, sizeof *v);
    if (!v)
        goto nomem;
    v->sc = sc;
    v->w = w;
    v->h = h;
    v->scale = scale > 0 ? scale : 1;
    v->trk_t_s = NAN;
    v->surf = SDL_CreateRGBSurfaceWithFormatFrom(px, w, h, 32, pitch, SDL_PIXELFORMAT_ARGB8888);
    if (!v->surf || !(v->rd = SDL_CreateSoftwareRenderer(v->surf))) {
        cs_err_set(err, CS_EIO, NULL, 0, 0, "SDL software renderer: %s", SDL_GetError());
        viz_view_destroy(v);
        return NULL;
    }
    /* Layout: the panel on the right, the map (2:1) in the rest, centred. */
    int panel = (int)(300 * v->scale);
    if (panel > w / 3)
        panel = w / 3;
    v->panel_x = w - panel;
    int mw = v->panel_x, mh = mw / 2;
    if (mh > h) {
        mh = h;
        mw = 2 * h;
    }
    v->map = (SDL_Rect){(v->panel_x - mw) / 2, (h - mh) / 2, mw, mh};
    size_t ns = sc->plan->n_sats ? sc->plan->n_sats : 1;
    size_t nt = sc->plan->n_stations ? sc->plan->n_stations : 1;
    v->bg = malloc((size_t)w * (size_t)h * sizeof *v->bg);
    v->row_sin = malloc((size_t)mh * sizeof *v->row_sin);
    v->row_cos = malloc((size_t)mh * sizeof *v->row_cos);
    v->col_b = malloc((size_t)mw * sizeof *v->col_b);
    v->lat = malloc(ns * sizeof *v->lat);
    v->lon = malloc(ns * sizeof *v->lon);
    v->px = malloc(ns * sizeof *v->px);
    v->py = malloc(ns * sizeof *v->py);
    v->dx = malloc(ns * sizeof *v->dx);
    v->dy = malloc(ns * sizeof *v->dy);
    v->state = calloc(ns, sizeof *v->state);
    v->spx = malloc(nt * sizeof *v->spx);
    v->spy = malloc(nt * sizeof *v->spy);
    v->rects = malloc(ns * sizeof *v->rects);
    if (!v->rects || !v->bg || !v->row_sin || !v->row_cos || !v->col_b || !v->lat || !v->lon ||
        !v->px || !v->py || !v->dx || !v->dy || !v->state || !v->spx || !v->spy)
        goto nomem;
    for (int y = 0; y < mh; y++) {
        double lat = (90.0 - (y + 0.5) * 180.0 / mh) * ORB_DEG2RAD;
        v->row_sin[y] = (float)sin(lat);
        v->row_cos[y] = (float)cos(lat);
    }
    if (font) {
        if (!(v->font = viz__font_open(v->rd, font, (int)lround(14 * v->scale), err)) ||
            !(v->small = viz__font_open(v->rd, font, (int)lround(11 * v->scale), err))) {
            viz_view_destroy(v);
            return NULL;
        }
    }
    return v;
nomem:
    viz_view_destroy(v);
    cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (view %dx%d)", w, h);
    return NULL;
}

/* Map projection: longitude -180..180 left to right, latitude 90..-90 top to bottom. */
static double proj_x(const viz_view *v, double lon_deg)
{
    return v->map.x + (lon_deg + 180.0) / 360.0 * v->map.w;
}
static double proj_y(const viz_view *v, double lat_deg)
{
    return v->map.y + (90.0 - lat_deg) / 180.0 * v->map.h;
}

static void colour(SDL_Renderer *rd, uint32_t argb)
{
    SDL_SetRenderDrawColor(rd, (argb >> 16) & 255, (argb >> 8) & 255, argb & 255, argb >> 24);
}

/* A polyline in lon/lat, split where it wraps around the antimeridian. */
static void geo_polyline(const viz_view *v, SDL_Renderer *rd, const float *pts, size_t n)
{
    SDL_FPoint buf[256];
    size_t k = 0;
    double px = 0;
    for (size_t i = 0; i < n; i++) {
        double x = proj_x(v, pts[2 * i]), y = proj_y(v, pts[2 * i + 1]);
        if (k > 0 && (fabs(x - px) > v->map.w / 2.0 || k == 256)) {
            if (k > 1)
                SDL_RenderDrawLinesF(rd, buf, (int)k);
            bool wrap = fabs(x - px) > v->map.w / 2.0;
            k = 0;
            if (!wrap && i > 0) /* continue from the previous point */
                buf[k++] = (SDL_FPoint){(float)px, (float)proj_y(v, pts[2 * i - 1])};
        }
        buf[k++] = (SDL_FPoint){(float)x, (float)y};
        px = x;
    }
    if (k > 1)
        SDL_RenderDrawLinesF(rd, buf, (int)k);
}

/* The footprint of station st: where a satellite at the scene's altitude is at or above the
 * station's elevation mask (a small circle of central angle rho around the station). */
static void footprint(const viz_view *v, SDL_Renderer *rd, const orb_station *st)
{
    const double re = 6371.0;
    double e = st->min_elevation_deg * ORB_DEG2RAD;
    double rho = acos(re * cos(e) / (re + v->sc->foot_alt_km)) - e;
    if (!(rho > 0))
        return;
    float pts[2 * 73];
    double la0 = st->lat_deg * ORB_DEG2RAD, lo0 = st->lon_deg * ORB_DEG2RAD;
    for (int i = 0; i <= 72; i++) {
        double b = i * 5.0 * ORB_DEG2RAD;
        double la = asin(sin(la0) * cos(rho) + cos(la0) * sin(rho) * cos(b));
        double lo = lo0 + atan2(sin(b) * sin(rho) * cos(la0), cos(rho) - sin(la0) * sin(la));
        double lon = fmod(lo * ORB_RAD2DEG + 540.0, 360.0) - 180.0;
        pts[2 * i] = (float)lon;
        pts[2 * i + 1] = (float)(la * ORB_RAD2DEG);
    }
    geo_polyline(v, rd, pts, 73);
}

/* The cached background: ocean, land, coastlines, grid, footprints; the panel's colour. */
static int build_background(viz_view *v, bool footprints, cs_err *err)
{
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormatFrom(v->bg, v->w, v->h, 32, v->w * 4,
                                                        SDL_PIXELFORMAT_ARGB8888);
    SDL_Renderer *rd = s ? SDL_CreateSoftwareRenderer(s) : NULL;
    if (!rd) {
        if (s)
            SDL_FreeSurface(s);
        return cs_err_set(err, CS_EIO, NULL, 0, 0, "SDL software renderer: %s", SDL_GetError());
    }
    colour(rd, C_PANEL);
    SDL_RenderClear(rd);
    colour(rd, C_OCEAN);
    SDL_RenderFillRect(rd, &v->map);
    colour(rd, C_PANEL);
    SDL_RenderFillRect(rd, &(SDL_Rect){v->panel_x, 0, v->w - v->panel_x, v->h});
    SDL_RenderFlush(rd);
    if (v->sc->have_geo)
        viz__fill_rings(v->bg, v->w, v->map.x, v->map.y, v->map.w, v->map.h, &v->sc->land, C_LAND);
    colour(rd, C_GRID);
    for (int lon = -150; lon <= 150; lon += 30) {
        float x = (float)proj_x(v, lon);
        SDL_RenderDrawLineF(rd, x, (float)v->map.y, x, (float)(v->map.y + v->map.h - 1));
    }
    for (int lat = -60; lat <= 60; lat += 30) {
        float y = (float)proj_y(v, lat);
        SDL_RenderDrawLineF(rd, (float)v->map.x, y, (float)(v->map.x + v->map.w - 1), y);
    }
    if (v->sc->have_geo) {
        colour(rd, C_COAST);
        const viz__paths *c = &v->sc->coast;
        for (size_t i = 0; i < c->n; i++)
            geo_polyline(v, rd, c->pts + 2 * c->off[i], c->off[i + 1] - c->off[i]);
    }
    if (footprints) {
        colour(rd, C_FOOT);
        for (size_t k = 0; k < v->sc->plan->n_stations; k++)
            footprint(v, rd, &v->sc->plan->stations[k]);
    }
    SDL_RenderPresent(rd);
    SDL_DestroyRenderer(rd);
    SDL_FreeSurface(s);
    v->bg_valid = true;
    v->bg_footprints = footprints;
    return 0;
}

/* bg into the frame, the map's night side darkened (the Sun's elevation below 0, with a 6 degree
 * twilight band). */
static void background_with_night(viz_view *v, double jd_utc)
{
    double slat, slon;
    orb_sun_subsolar(jd_utc, &slat, &slon);
    float sd = (float)sin(slat * ORB_DEG2RAD), cd = (float)cos(slat * ORB_DEG2RAD);
    for (int x = 0; x < v->map.w; x++) {
        double lon = -180.0 + (x + 0.5) * 360.0 / v->map.w;
        v->col_b[x] = cd * (float)cos((lon - slon) * ORB_DEG2RAD);
    }
    uint32_t *out = pixels(v);
    int pitch = v->surf->pitch / 4;
    const float edge = (float)sin(6.0 * ORB_DEG2RAD);
    for (int y = 0; y < v->h; y++) {
        const uint32_t *src = v->bg + (size_t)y * v->w;
        uint32_t *dst = out + (size_t)y * pitch;
        int my = y - v->map.y;
        if (my < 0 || my >= v->map.h) {
            memcpy(dst, src, (size_t)v->w * 4);
            continue;
        }
        memcpy(dst, src, (size_t)v->map.x * 4);
        int xe = v->map.x + v->map.w;
        memcpy(dst + xe, src + xe, (size_t)(v->w - xe) * 4);
        float a = v->row_sin[my] * sd, b = v->row_cos[my];
        for (int x = 0; x < v->map.w; x++) {
            float f = a + b * v->col_b[x]; /* sine of the Sun's elevation */
            uint32_t p = src[v->map.x + x];
            if (f >= 0) {
                dst[v->map.x + x] = p;
                continue;
            }
            /* 256: day, 112: night. */
            uint32_t k = f <= -edge ? 112u : (uint32_t)(256.0f + 144.0f * f / edge);
            uint32_t rb = ((p & 0xff00ffu) * k >> 8) & 0xff00ffu;
            uint32_t g = ((p & 0x00ff00u) * k >> 8) & 0x00ff00u;
            dst[v->map.x + x] = 0xff000000u | rb | g;
        }
    }
}

/* The positions of every satellite at t_s. */
static void positions(viz_view *v, double t_s)
{
    const sim_plan *pl = v->sc->plan;
    for (size_t i = 0; i < pl->n_sats; i++) {
        double r[3], vel[3], lat, lon, alt;
        if (orb_sat_ecef_at(&pl->sats[i], pl->jd_epoch, t_s, r, vel) != 0) {
            v->lat[i] = v->lon[i] = NAN;
            v->px[i] = v->py[i] = -1;
            v->dx[i] = v->dy[i] = 0;
            continue;
        }
        orb_ecef_to_geodetic(r, &lat, &lon, &alt);
        v->lat[i] = lat;
        v->lon[i] = lon;
        double fx = proj_x(v, lon), fy = proj_y(v, lat);
        int x = (int)floor(fx), y = (int)floor(fy);
        v->px[i] = x < v->map.x + v->map.w ? x : v->map.x + v->map.w - 1;
        v->py[i] = y < v->map.y + v->map.h ? y : v->map.y + v->map.h - 1;
        /* Ground direction: the ECEF velocity's east and north parts, in map units. */
        double sl = sin(lon * ORB_DEG2RAD), cl = cos(lon * ORB_DEG2RAD);
        double sp = sin(lat * ORB_DEG2RAD), cp = cos(lat * ORB_DEG2RAD);
        double ve = -sl * vel[0] + cl * vel[1];
        double vn = -sp * cl * vel[0] - sp * sl * vel[1] + cp * vel[2];
        double mx = cp > 1e-3 ? ve / cp : ve, my = -vn;
        double n = hypot(mx, my);
        v->dx[i] = n > 0 ? (float)(mx / n) : 0;
        v->dy[i] = n > 0 ? (float)(my / n) : 0;
    }
}

/* The ground track of satellite i from t0 over n points every dt (x, y pairs into out). */
static void track(const viz_view *v, size_t i, double t0, double dt, int n, float *out)
{
    const sim_plan *pl = v->sc->plan;
    for (int k = 0; k < n; k++) {
        double r[3], lat, lon, alt;
        if (orb_sat_ecef_at(&pl->sats[i], pl->jd_epoch, t0 + k * dt, r, NULL) != 0) {
            out[2 * k] = out[2 * k + 1] = NAN;
            continue;
        }
        orb_ecef_to_geodetic(r, &lat, &lon, &alt);
        out[2 * k] = (float)lon;
        out[2 * k + 1] = (float)lat;
    }
}

static double period_s(const orb_sat *s)
{
    double n = s->n_rads > 0 ? s->n_rads : sqrt(ORB_MU_KM3S2 / pow(s->a_km, 3));
    return 2 * ORB_PI / n;
}

static void draw_track_pts(const viz_view *v, const float *pts, int n)
{
    int k0 = 0;
    for (int k = 0; k <= n; k++)
        if (k == n || isnan(pts[2 * k])) {
            if (k - k0 > 1)
                geo_polyline(v, v->rd, pts + 2 * k0, (size_t)(k - k0));
            k0 = k + 1;
        }
}

static void draw_tracks(viz_view *v, double t_s, const viz_opts *o)
{
    const sim_plan *pl = v->sc->plan;
    colour(v->rd, C_TRACK);
    if (o->tracks == VIZ_TRACKS_SELECTED && o->selected_sat >= 0 &&
        (size_t)o->selected_sat < pl->n_sats) {
        float pts[2 * TRACK_N];
        double p = period_s(&pl->sats[o->selected_sat]);
        track(v, (size_t)o->selected_sat, t_s - p / 2, 1.5 * p / (TRACK_N - 1), TRACK_N, pts);
        draw_track_pts(v, pts, TRACK_N);
    } else if (o->tracks == VIZ_TRACKS_ALL) {
        /* Half an orbit back to one ahead, recomputed when time moved by a tenth of an orbit. */
        if (!v->trk && !(v->trk = malloc(pl->n_sats * 2 * TRACK_N * sizeof *v->trk)))
            return;
        double p0 = pl->n_sats ? period_s(&pl->sats[0]) : 5400;
        if (isnan(v->trk_t_s) || fabs(t_s - v->trk_t_s) > p0 / 10) {
            for (size_t i = 0; i < pl->n_sats; i++) {
                double p = period_s(&pl->sats[i]);
                track(v, i, t_s - p / 2, 1.5 * p / (TRACK_N - 1), TRACK_N,
                      v->trk + i * 2 * TRACK_N);
            }
            v->trk_t_s = t_s;
        }
        for (size_t i = 0; i < pl->n_sats; i++)
            draw_track_pts(v, v->trk + i * 2 * TRACK_N, TRACK_N);
    }
}

/* The contacts open at t_s, with the run whose session is on each. */
static int find_links(viz_view *v, double t_s, const viz_status *st, size_t focus)
{
    const orb_windows *w = &v->sc->plan->windows;
    v->n_links = 0;
    /* Windows are sorted by start: the open ones start in [t - longest, t]. */
    size_t lo = 0, hi = w->n;
    double from = t_s - v->sc->max_window_s;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->w[mid].t_start_s < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < w->n && w->w[i].t_start_s <= t_s; i++) {
        const orb_window *x = &w->w[i];
        if (x->t_end_s < t_s)
            continue;
        if (v->n_links == v->cap_links) {
            size_t cap = v->cap_links ? 2 * v->cap_links : 256;
            link_draw *l = realloc(v->links, cap * sizeof *l);
            if (!l)
                return CS_ENOMEM;
            v->links = l;
            v->cap_links = cap;
        }
        link_draw *l = &v->links[v->n_links++];
        l->sat = x->sat;
        l->station = x->station;
        l->run = -1;
        if (st)
            for (size_t k = 0; k < st->n_runs && l->run < 0; k++) {
                size_t ri = (focus + k) % st->n_runs;
                if (st->runs[ri].sat_station[x->sat] == (int32_t)x->station)
                    l->run = (int)ri;
            }
    }
    return 0;
}

static void fmt_bytes(char *b, size_t cap, uint64_t n)
{
    if (n < 1000000)
        snprintf(b, cap, "%.1f kB", (double)n / 1e3);
    else if (n < 1000000000)
        snprintf(b, cap, "%.2f MB", (double)n / 1e6);
    else
        snprintf(b, cap, "%.2f GB", (double)n / 1e9);
}

/* The next contacts of a satellite (sat >= 0) or a station after t_s, into the panel. */
static int next_contacts(viz_view *v, int x, int y, double t_s, int sat, int station)
{
    const sim_plan *pl = v->sc->plan;
    int lh = viz__font_height(v->small);
    int shown = 0;
    for (size_t i = 0; i < pl->windows.n && shown < 4; i++) {
        const orb_window *w = &pl->windows.w[i];
        if (w->t_end_s < t_s || (sat >= 0 && w->sat != (uint32_t)sat) ||
            (station >= 0 && w->station != (uint32_t)station))
            continue;
        char when[32], line[160];
        orb_time_format_iso_offset(pl->jd_epoch, w->t_start_s, when, sizeof when);
        when[19] = '\0';
        const char *who = sat >= 0 ? pl->stations[w->station].name : pl->sats[w->sat].name;
        snprintf(line, sizeof line, "%s %s %.0f s%s", when + 5, who, w->t_end_s - w->t_start_s,
                 w->t_start_s <= t_s ? " (open)" : "");
        viz__text(v->small, x, y, C_DIM, line);
        y += lh;
        shown++;
    }
    if (!shown) {
        viz__text(v->small, x, y, C_DIM, "no more contacts");
        y += lh;
    }
    return y;
}

static void panel(viz_view *v, double t_s, const viz_status *st, const viz_opts *o)
{
    if (!v->font)
        return;
    const sim_plan *pl = v->sc->plan;
    int x = v->panel_x + (int)(10 * v->scale), y = (int)(8 * v->scale);
    int lh = viz__font_height(v->font), sh = viz__font_height(v->small);
    int pw = v->w - x - (int)(8 * v->scale);
    char line[256], a[64], b[64];
    viz__text(v->font, x, y, C_TEXT, v->sc->cfg->name);
    y += lh;
    orb_time_format_iso_offset(pl->jd_epoch, t_s, a, sizeof a);
    a[19] = 'Z';
    a[20] = '\0';
    viz__text(v->font, x, y, C_TEXT, a);
    y += lh;
    cs_fmt_duration(b, sizeof b, t_s);
    snprintf(line, sizeof line, "t+%s  warp x%g%s", b, o->warp, o->paused ? "  PAUSED" : "");
    viz__text(v->small, x, y, C_DIM, line);
    y += sh;
    snprintf(line, sizeof line, "%s: %zu satellites, %zu stations", o->mode, pl->n_sats,
             pl->n_stations);
    viz__text(v->small, x, y, C_DIM, line);
    y += sh;
    snprintf(line, sizeof line, "%zu contacts open", v->n_links);
    viz__text(v->small, x, y, C_DIM, line);
    y += sh + (int)(6 * v->scale);
    if (st && st->n_runs) {
        for (size_t i = 0; i < st->n_runs; i++) {
            const viz_run *r = &st->runs[i];
            double acc = r->rounds_done ? r->curve_acc[r->rounds_done - 1] : r->accuracy0;
            fmt_bytes(a, sizeof a, r->bytes);
            if (isnan(acc))
                snprintf(b, sizeof b, "    -");
            else
                snprintf(b, sizeof b, "%5.1f%%", 100 * acc);
            snprintf(line, sizeof line, "%s%s r%d/%d %s %s $%.2f", i == o->focus ? ">" : " ",
                     nn_precision_name(r->precision), r->rounds_done, r->rounds_total, b, a,
                     r->cost_usd);
            viz__text(v->small, x, y, precision_colour(r->precision), line);
            y += sh;
        }
        /* The accuracy curves over the scenario's duration. */
        y += (int)(4 * v->scale);
        int gh = (int)(90 * v->scale), gx = x, gw = pw;
        SDL_Rect box = {gx, y, gw, gh};
        colour(v->rd, 0xff1c2633u);
        SDL_RenderFillRect(v->rd, &box);
        colour(v->rd, 0xff2c3a4cu);
        for (int k = 1; k < 4; k++)
            SDL_RenderDrawLine(v->rd, gx, y + gh * k / 4, gx + gw - 1, y + gh * k / 4);
        double dur = v->sc->cfg->duration_s > 0 ? v->sc->cfg->duration_s : 1;
        for (size_t i = 0; i < st->n_runs; i++) {
            const viz_run *r = &st->runs[i];
            SDL_FPoint pts[1024];
            int n = 0;
            if (!isnan(r->accuracy0))
                pts[n++] = (SDL_FPoint){(float)gx, (float)(y + gh - r->accuracy0 * gh)};
            for (int k = 0; k < r->rounds_done && n < 1024; k++)
                pts[n++] = (SDL_FPoint){(float)(gx + r->curve_t_s[k] / dur * (gw - 1)),
                                        (float)(y + gh - r->curve_acc[k] * (gh - 1))};
            colour(v->rd, precision_colour(r->precision));
            if (n > 1)
                SDL_RenderDrawLinesF(v->rd, pts, n);
            for (int k = 0; k < n; k++)
                SDL_RenderFillRect(v->rd, &(SDL_Rect){(int)pts[k].x - 1, (int)pts[k].y - 1, 3, 3});
        }
        colour(v->rd, 0xffffffffu);
        float nx = (float)(gx + t_s / dur * (gw - 1));
        SDL_RenderDrawLineF(v->rd, nx, (float)y, nx, (float)(y + gh - 1));
        viz__text(v->small, gx + 2, y + 1, C_DIM, "accuracy 0-100%");
        y += gh + (int)(6 * v->scale);
        /* State legend with counts of the focused run. */
        size_t count[VIZ_SAT_STATES] = {0};
        for (size_t i = 0; i < pl->n_sats; i++)
            count[v->state[i] < VIZ_SAT_STATES ? v->state[i] : 0]++;
        int cx = x;
        for (int s = 0; s < VIZ_SAT_STATES; s++) {
            colour(v->rd, state_colour[s]);
            SDL_RenderFillRect(v->rd, &(SDL_Rect){cx, y + sh / 4, sh / 2, sh / 2});
            snprintf(line, sizeof line, "%s %zu", viz_sat_state_name((viz_sat_state)s), count[s]);
            cx = viz__text(v->small, cx + sh / 2 + 3, y, C_DIM, line) + (int)(8 * v->scale);
            if (s == 2) {
                cx = x;
                y += sh;
            }
        }
        y += sh + (int)(6 * v->scale);
    }
    /* Details of the selection. */
    if (o->selected_sat >= 0 && (size_t)o->selected_sat < pl->n_sats) {
        int i = o->selected_sat;
        viz__text(v->font, x, y, C_SELECT, pl->sats[i].name);
        y += lh;
        snprintf(line, sizeof line, "lat %.2f  lon %.2f", v->lat[i], v->lon[i]);
        viz__text(v->small, x, y, C_DIM, line);
        y += sh;
        if (st && st->n_runs) {
            const viz_run *r = &st->runs[o->focus];
            fmt_bytes(a, sizeof a, r->sat_bytes[i]);
            snprintf(line, sizeof line, "%s, %zu images, moved %s",
                     viz_sat_state_name((viz_sat_state)v->state[i]),
                     v->sc->part ? v->sc->part[i] : 0, a);
            viz__text(v->small, x, y, C_DIM, line);
            y += sh;
        }
        y = next_contacts(v, x, y, t_s, i, -1);
    } else if (o->selected_station >= 0 && (size_t)o->selected_station < pl->n_stations) {
        int k = o->selected_station;
        const orb_station *s = &pl->stations[k];
        viz__text(v->font, x, y, C_SELECT, s->name);
        y += lh;
        snprintf(line, sizeof line, "lat %.2f lon %.2f mask %.0f deg, %d antenna(s)", s->lat_deg,
                 s->lon_deg, s->min_elevation_deg, v->sc->cfg->stations[k].antennas);
        viz__text(v->small, x, y, C_DIM, line);
        y += sh;
        if (st && st->n_runs) {
            fmt_bytes(a, sizeof a, st->runs[o->focus].st_bytes[k]);
            snprintf(line, sizeof line, "moved %s", a);
            viz__text(v->small, x, y, C_DIM, line);
            y += sh;
        }
        y = next_contacts(v, x, y, t_s, -1, k);
    }
    (void)y;
    const char *keys[] = {"space pause  +/- warp  p run", "f footprints  n names  t tracks",
                          "click: details  s png  q quit"};
    int ky = v->h - 3 * sh - (int)(6 * v->scale);
    for (int k = 0; k < 3; k++)
        viz__text(v->small, x, ky + k * sh, C_DIM, keys[k]);
}

int viz_view_draw(viz_view *v, const viz_status *st, double t_s, const viz_opts *o, cs_err *err)
{
    const sim_plan *pl = v->sc->plan;
    if (st)
        t_s = st->t_s;
    v->t_s = t_s;
    v->has_status = st && st->n_runs > 0;
    v->focus = v->has_status && o->focus < st->n_runs ? o->focus : 0;
    if (v->has_status) {
        if (v->last.n_runs != st->n_runs) {
            viz_status_free(&v->last);
            int rc = viz_status_init(&v->last, st->n_sats, st->n_stations, st->n_runs, err);
            if (rc)
                return rc;
        }
        int rc = viz_status_copy(&v->last, st, err);
        if (rc)
            return rc;
    }
    if (!v->bg_valid || v->bg_footprints != o->footprints) {
        int rc = build_background(v, o->footprints, err);
        if (rc)
            return rc;
    }
    background_with_night(v, pl->jd_epoch + t_s / ORB_SEC_PER_DAY);
    positions(v, t_s);
    for (size_t i = 0; i < pl->n_sats; i++)
        v->state[i] = v->has_status ? st->runs[v->focus].sat_state[i] : VIZ_SAT_IDLE;
    if (find_links(v, t_s, v->has_status ? st : NULL, v->focus))
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (links)");
    SDL_Renderer *rd = v->rd;
    SDL_RenderSetClipRect(rd, &v->map);
    for (size_t k = 0; k < pl->n_stations; k++) {
        v->spx[k] = (int)floor(proj_x(v, pl->stations[k].lon_deg));
        v->spy[k] = (int)floor(proj_y(v, pl->stations[k].lat_deg));
    }
    /* Links: a line from the station to the satellite while their window is open. */
    for (size_t i = 0; i < v->n_links; i++) {
        const link_draw *l = &v->links[i];
        if (v->px[l->sat] < 0)
            continue;
        colour(rd, l->run >= 0        ? precision_colour(st->runs[l->run].precision)
                   : v->n_links > 300 ? C_CONTACT_DIM
                                      : C_CONTACT);
        int sx = v->spx[l->station], sy = v->spy[l->station];
        int ex = v->px[l->sat], ey = v->py[l->sat];
        if (abs(ex - sx) > v->map.w / 2) { /* across the antimeridian: two pieces */
            int ex2 = ex + (ex < sx ? v->map.w : -v->map.w);
            SDL_RenderDrawLine(rd, sx, sy, ex2, ey);
            int sx2 = sx + (sx < ex ? v->map.w : -v->map.w);
            SDL_RenderDrawLine(rd, sx2, sy, ex, ey);
        } else {
            SDL_RenderDrawLine(rd, sx, sy, ex, ey);
            if (l->run >= 0) /* thicker while a model crosses */
                SDL_RenderDrawLine(rd, sx + 1, sy, ex + 1, ey);
        }
    }
    draw_tracks(v, t_s, o); /* over the links, under the markers */
    /* Satellites: a direction mark, then a square in the state's colour, batched by state. */
    /* Markers shrink for large constellations so that they stay apart. */
    bool many = pl->n_sats > 300;
    int half = (int)((many ? 1 : 3) * v->scale + 0.5);
    int mark = (int)((many ? 4 : 7) * v->scale);
    SDL_Rect *rects = v->rects;
    for (int s = 0; s < VIZ_SAT_STATES; s++) {
        int n = 0;
        colour(rd, state_colour[s]);
        for (size_t i = 0; i < pl->n_sats; i++) {
            if (v->state[i] != s || v->px[i] < 0)
                continue;
            SDL_RenderDrawLine(rd, v->px[i], v->py[i], v->px[i] + (int)lround(v->dx[i] * mark),
                               v->py[i] + (int)lround(v->dy[i] * mark));
            rects[n++] = (SDL_Rect){v->px[i] - half, v->py[i] - half, 2 * half + 1, 2 * half + 1};
        }
        SDL_RenderFillRects(rd, rects, n);
    }
    /* Stations: a larger square with a dark outline. */
    int sh = (int)((pl->n_stations > 30 ? 2 : 4) * v->scale + 0.5);
    for (size_t k = 0; k < pl->n_stations; k++) {
        colour(rd, 0xff000000u);
        SDL_RenderDrawRect(
            rd, &(SDL_Rect){v->spx[k] - sh - 1, v->spy[k] - sh - 1, 2 * sh + 3, 2 * sh + 3});
        colour(rd, C_STATION);
        SDL_RenderFillRect(rd, &(SDL_Rect){v->spx[k] - sh, v->spy[k] - sh, 2 * sh + 1, 2 * sh + 1});
    }
    if (o->selected_sat >= 0 && (size_t)o->selected_sat < pl->n_sats &&
        v->px[o->selected_sat] >= 0) {
        colour(rd, C_SELECT);
        int r = half + 4;
        SDL_RenderDrawRect(rd, &(SDL_Rect){v->px[o->selected_sat] - r, v->py[o->selected_sat] - r,
                                           2 * r + 1, 2 * r + 1});
    }
    if (o->selected_station >= 0 && (size_t)o->selected_station < pl->n_stations) {
        colour(rd, C_SELECT);
        int r = sh + 4, k = o->selected_station;
        SDL_RenderDrawRect(rd, &(SDL_Rect){v->spx[k] - r, v->spy[k] - r, 2 * r + 1, 2 * r + 1});
    }
    if (o->names && v->small) {
        for (size_t k = 0; k < pl->n_stations; k++)
            viz__text(v->small, v->spx[k] + sh + 3, v->spy[k] - sh - 2, C_STATION,
                      pl->stations[k].name);
        if (pl->n_sats <= 200)
            for (size_t i = 0; i < pl->n_sats; i++)
                if (v->px[i] >= 0 && (int)i != o->selected_sat)
                    viz__text(v->small, v->px[i] + half + 2, v->py[i] + half, C_DIM,
                              pl->sats[i].name);
    }
    if (o->selected_sat >= 0 && (size_t)o->selected_sat < pl->n_sats && v->small &&
        v->px[o->selected_sat] >= 0)
        viz__text(v->small, v->px[o->selected_sat] + half + 6, v->py[o->selected_sat] - half - 4,
                  C_SELECT, pl->sats[o->selected_sat].name);
    SDL_RenderSetClipRect(rd, NULL);
    panel(v, t_s, v->has_status ? st : NULL, o);
    SDL_RenderPresent(rd);
    return 0;
}

void viz_view_pick(const viz_view *v, int x, int y, int *sat, int *station)
{
    const sim_plan *pl = v->sc->plan;
    *sat = *station = -1;
    long best = (long)(8 * v->scale) * (long)(8 * v->scale) + 1;
    for (size_t k = 0; k < pl->n_stations; k++) {
        long dx = v->spx[k] - x, dy = v->spy[k] - y, d = dx * dx + dy * dy;
        if (d < best) {
            best = d;
            *station = (int)k;
        }
    }
    if (*station >= 0)
        return;
    best = (long)(6 * v->scale) * (long)(6 * v->scale) + 1;
    for (size_t i = 0; i < pl->n_sats; i++) {
        if (v->px[i] < 0)
            continue;
        long dx = v->px[i] - x, dy = v->py[i] - y, d = dx * dx + dy * dy;
        if (d < best) {
            best = d;
            *sat = (int)i;
        }
    }
}

int viz_view_save_png(const viz_view *v, const char *path, cs_err *err)
{
    return viz__png_write(path, pixels(v), v->w, v->h, v->surf->pitch / 4, err);
}

/* Numbers as reports print them (exact), so that a frame's times compare equal to a report's. */
static bool add_number(cJSON *o, const char *key, double x)
{
    cJSON *n = rep_number(x);
    if (!n || !cJSON_AddItemToObject(o, key, n)) {
        cJSON_Delete(n);
        return false;
    }
    return true;
}

cJSON *viz_view_frame_json(const viz_view *v, cs_err *err)
{
    const sim_plan *pl = v->sc->plan;
    cJSON *j = cJSON_CreateObject();
    bool ok = j != NULL;
    char t[40];
    orb_time_format_iso_offset(pl->jd_epoch, v->t_s, t, sizeof t);
    ok = ok && cJSON_AddStringToObject(j, "time_utc", t);
    ok = ok && add_number(j, "t_s", v->t_s);
    ok = ok && add_number(j, "width", v->w);
    ok = ok && add_number(j, "height", v->h);
    cJSON *m = ok ? cJSON_AddObjectToObject(j, "map") : NULL;
    ok = ok && m && add_number(m, "x", v->map.x) && add_number(m, "y", v->map.y) &&
         add_number(m, "w", v->map.w) && add_number(m, "h", v->map.h);
    cJSON *sats = ok ? cJSON_AddArrayToObject(j, "satellites") : NULL;
    ok = ok && sats;
    for (size_t i = 0; ok && i < pl->n_sats; i++) {
        cJSON *s = cJSON_CreateObject();
        ok = s && cJSON_AddItemToArray(sats, s) &&
             cJSON_AddStringToObject(s, "name", pl->sats[i].name);
        if (!ok)
            break;
        if (v->px[i] < 0) { /* propagation failed (decayed) */
            ok = cJSON_AddNullToObject(s, "x") && cJSON_AddNullToObject(s, "y");
        } else {
            ok = add_number(s, "x", v->px[i]) && add_number(s, "y", v->py[i]) &&
                 add_number(s, "lat_deg", v->lat[i]) && add_number(s, "lon_deg", v->lon[i]);
        }
        ok = ok &&
             cJSON_AddStringToObject(s, "state", viz_sat_state_name((viz_sat_state)v->state[i]));
    }
    cJSON *sts = ok ? cJSON_AddArrayToObject(j, "stations") : NULL;
    ok = ok && sts;
    for (size_t k = 0; ok && k < pl->n_stations; k++) {
        cJSON *s = cJSON_CreateObject();
        ok = s && cJSON_AddItemToArray(sts, s) &&
             cJSON_AddStringToObject(s, "name", pl->stations[k].name) &&
             add_number(s, "x", v->spx[k]) && add_number(s, "y", v->spy[k]);
    }
    cJSON *ls = ok ? cJSON_AddArrayToObject(j, "links") : NULL;
    ok = ok && ls;
    for (size_t i = 0; ok && i < v->n_links; i++) {
        const link_draw *l = &v->links[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(ls, o) &&
             cJSON_AddStringToObject(o, "satellite", pl->sats[l->sat].name) &&
             cJSON_AddStringToObject(o, "station", pl->stations[l->station].name) &&
             (l->run >= 0
                  ? cJSON_AddStringToObject(
                        o, "precision", nn_precision_name(v->last.runs[l->run].precision)) != NULL
                  : cJSON_AddNullToObject(o, "precision") != NULL);
    }
    cJSON *runs = ok ? cJSON_AddArrayToObject(j, "runs") : NULL;
    ok = ok && runs;
    for (size_t i = 0; ok && v->has_status && i < v->last.n_runs; i++) {
        const viz_run *r = &v->last.runs[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(runs, o) &&
             cJSON_AddStringToObject(o, "precision", nn_precision_name(r->precision)) &&
             cJSON_AddBoolToObject(o, "focus", i == v->focus) &&
             add_number(o, "rounds_done", r->rounds_done) &&
             add_number(o, "rounds_total", r->rounds_total) &&
             cJSON_AddBoolToObject(o, "round_open", r->round_open) &&
             add_number(o, "bytes", (double)r->bytes) && add_number(o, "cost_usd", r->cost_usd);
        cJSON *c = ok ? cJSON_AddArrayToObject(o, "accuracy_curve") : NULL;
        ok = ok && c;
        for (int k = 0; ok && k < r->rounds_done; k++) {
            cJSON *pt = cJSON_CreateArray();
            ok = pt && cJSON_AddItemToArray(c, pt) &&
                 cJSON_AddItemToArray(pt, rep_number(r->curve_t_s[k])) &&
                 cJSON_AddItemToArray(pt, rep_number(r->curve_acc[k]));
        }
    }
    if (!ok) {
        cJSON_Delete(j);
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (frame JSON)");
        return NULL;
    }
    return j;
}

viz_opts viz_opts_default(size_t n_sats)
{
    return (viz_opts){.footprints = true,
                      .names = n_sats <= 60,
                      .tracks = VIZ_TRACKS_SELECTED,
                      .selected_sat = -1,
                      .selected_station = -1,
                      .focus = 0,
                      .warp = 120,
                      .paused = false,
                      .mode = "live"};
}
