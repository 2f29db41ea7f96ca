/* viz.h - the orbit and link view (module prefix viz_).
 *
 * The view reads: a contact plan (satellites, stations, windows), positions from orbits/, and a
 * picture of the federated runs at one time (viz_status), filled either from a live run's
 * snapshots (viz_live: the runs advance in their own thread) or from a finished report's event
 * trace (viz_replay). It never schedules an event and never returns a decision to a run.
 *
 * Every frame is drawn on the CPU into an ARGB8888 surface with SDL's software renderer, the same
 * in a window, headless (--headless) and in `constsim bench viz`; viz_frame_json describes what
 * was drawn. docs/viz.md states the layout, colours and controls.
 *
 * Library code: nothing here prints. Errors fill a cs_err.
 */
#ifndef VIZ_H
#define VIZ_H

#include "cs.h"
#include "nn_codec.h"
#include "scn.h"
#include "sim_plan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* What a satellite is doing in the run shown (the focused run). */
typedef enum viz_sat_state {
    VIZ_SAT_IDLE = 0,
    VIZ_SAT_RECEIVING, /* waiting for or receiving the global model */
    VIZ_SAT_TRAINING,
    VIZ_SAT_SENDING, /* waiting for or sending its update */
    VIZ_SAT_DONE,    /* its update for the open round delivered */
    VIZ_SAT_STATES
} viz_sat_state;

const char *viz_sat_state_name(viz_sat_state s); /* "idle", "receiving", ... */

/* One run (one wire precision) at the status time. */
typedef struct viz_run {
    nn_precision precision;
    int rounds_total, rounds_done;
    bool round_open, finished;
    double accuracy0;     /* of the initial model (NAN when unknown) */
    double *curve_t_s;    /* owned: rounds_done aggregation times */
    double *curve_acc;    /* owned: the accuracy after each closed round */
    size_t cap_curve;     /* capacity of the two curve arrays */
    uint64_t bytes;       /* moved so far, both directions */
    double cost_usd;      /* so far (docs/viz.md: replay counts closed rounds only) */
    uint8_t *sat_state;   /* owned: n_sats viz_sat_state */
    int32_t *sat_station; /* owned: n_sats, the station of its open session or -1 */
    uint64_t *sat_bytes;  /* owned: n_sats, bytes moved by its sessions so far */
    uint64_t *st_bytes;   /* owned: n_stations, bytes moved by each station so far */
} viz_run;

/* The runs at time t_s. n_runs 0: orbits only (no training). */
typedef struct viz_status {
    double t_s;
    size_t n_sats, n_stations;
    size_t n_runs;
    viz_run runs[NN_PRECISIONS];
} viz_status;

int viz_status_init(viz_status *s, size_t n_sats, size_t n_stations, size_t n_runs, cs_err *err);
void viz_status_free(viz_status *s); /* NULL-safe; zeroes */
/* Deep copy into dst, which was initialised with the same sizes (no allocation unless a curve
 * grows). */
int viz_status_copy(viz_status *dst, const viz_status *src, cs_err *err);

/* ---- the scene: what does not change during a view ------------------------------------------ */

typedef struct viz_scene viz_scene; /* opaque */

/* A scene over a borrowed plan and config (both must outlive it). geo_dir: the folder with the
 * Natural Earth files, or NULL for a lat/lon grid alone. partition sizes: n_sats entries or NULL
 * (orbits only). */
viz_scene *viz_scene_create(const scn_config *cfg, const sim_plan *plan, const char *geo_dir,
                            const size_t *partition_sizes, cs_err *err);
void viz_scene_destroy(viz_scene *sc);
/* The folder of the Natural Earth files: $CONSTSIM_GEO, $CONSTSIM_SHARED/geo, ../shared/geo; NULL
 * when none has them. */
const char *viz_geo_dir(char *buf, size_t cap);

/* ---- drawing -------------------------------------------------------------------------------- */

typedef enum viz_tracks { VIZ_TRACKS_SELECTED = 0, VIZ_TRACKS_ALL, VIZ_TRACKS_NONE } viz_tracks;

/* What the user chose to see. */
typedef struct viz_opts {
    bool footprints, names;
    viz_tracks tracks;
    int selected_sat;     /* -1 none */
    int selected_station; /* -1 none */
    size_t focus;         /* the run whose satellite states and link colours are drawn */
    double warp;          /* shown in the panel */
    bool paused;          /* shown in the panel */
    const char *mode;     /* "live", "replay", "orbits only" (shown in the panel) */
} viz_opts;

viz_opts viz_opts_default(size_t n_sats);

typedef struct viz_view viz_view; /* opaque: a renderer over an ARGB8888 surface, with caches */

/* A view drawing into pixels (w x h ARGB8888, pitch in bytes), borrowed. font: a TTF path or
 * NULL (no text; viz_font_path finds the default). scale: 1 for normal, 2 for a high-DPI
 * surface (text and markers). */
viz_view *viz_view_create(const viz_scene *sc, void *pixels, int w, int h, int pitch,
                          const char *font, double scale, cs_err *err);
void viz_view_destroy(viz_view *v);
/* The default font: $CONSTSIM_FONT, else DejaVu Sans from fonts-dejavu-core; NULL if missing. */
const char *viz_font_path(void);
/* Draws the frame of status (NULL: positions only) at st->t_s or t_s. */
int viz_view_draw(viz_view *v, const viz_status *st, double t_s, const viz_opts *o, cs_err *err);
/* What the last draw drew (docs/viz.md "Frame JSON"). */
struct cJSON *viz_view_frame_json(const viz_view *v, cs_err *err);
/* The satellite or station at pixel (x, y) of the last frame, within a few pixels. */
void viz_view_pick(const viz_view *v, int x, int y, int *sat, int *station);
/* Writes the last frame as a PNG (atomically). */
int viz_view_save_png(const viz_view *v, const char *path, cs_err *err);

/* ---- the replay of a report ----------------------------------------------------------------- */

typedef struct viz_replay viz_replay; /* opaque: a report's traces, seekable */

/* The replay of report (a parsed report JSON, borrowed during the call) over n_sats satellites
 * and n_stations stations: every run needs its trace. The report's rounds give the accuracy
 * curve and cost; the trace gives states, sessions and bytes. */
viz_replay *viz_replay_create(const struct cJSON *report, size_t n_sats, size_t n_stations,
                              cs_err *err);
void viz_replay_destroy(viz_replay *r);
/* The status at t_s (events with time <= t_s applied); any order of calls. */
int viz_replay_seek(viz_replay *r, double t_s, viz_status *out, cs_err *err);
/* The time round (1-based) closed, its start for round 0; NAN when the report has no such round */
double viz_replay_round_time(const viz_replay *r, size_t run, int round);
double viz_replay_end_time(const viz_replay *r); /* the last event's time */
size_t viz_replay_runs(const viz_replay *r);

/* ---- a live study: its runs side by side, advanced in time slices ---------------------------- */

struct fl_study;
struct fl_study_opts;
typedef struct viz_live viz_live; /* opaque */

/* Begins one run per wire precision of study (after fl_study_begin; study and opts borrowed until
 * viz_live_stop); the view is the runs' observer (opts->observe is not used). threaded: the runs advance in a thread of their own, up to the time
 * viz_live_allow permits; else viz_live_allow advances them before it returns. */
viz_live *viz_live_start(struct fl_study *study, const struct fl_study_opts *opts, bool threaded,
                         cs_err *err);
/* Lets the runs advance to t_s (capped at the scenario duration). Once every run finished the
 * status's time still follows t_s. Threaded: returns the runs' failure once it happened. */
int viz_live_allow(viz_live *l, double t_s, cs_err *err);
/* Copies the newest published status into out (initialised by viz_live_status_init); false when
 * memory ran out. A failure of the runs is returned by viz_live_stop. */
bool viz_live_latest(viz_live *l, viz_status *out);
int viz_live_status_init(const viz_live *l, viz_status *out, cs_err *err);
double viz_live_reached(viz_live *l); /* simulated time the runs reached */
bool viz_live_done(viz_live *l);      /* every run finished */
/* Stops the runs where they are; with keep, ends them and hands their results to the study in
 * order (fl_study_add_run: model files when the study saves them), after which the caller
 * finishes the study and writes the report; without keep, abandons them. l is freed. Returns a
 * failure of the runs (also when viz_live_allow reported it). */
int viz_live_stop(viz_live *l, bool keep, cs_err *err);

#endif
