/* fl_link.h - transfers between the ground and satellites over contact windows (module prefix
 * fl_): antennas per station (FIFO), setup time at the start of every contact, resume or restart
 * across contacts, integer bytes, started contact minutes. Driven by a sim_engine; knows the
 * engine and the orbits' windows only (docs/simulation.md states every rule).
 *
 * Library code: nothing here prints.
 */
#ifndef FL_LINK_H
#define FL_LINK_H

#include "cs.h"
#include "orbits.h"
#include "sim_engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum fl_dir {
    FL_UP = 0,   /* ground -> satellite (the global model), at the station's uplink_mbps */
    FL_DOWN = 1, /* satellite -> ground (a client update), at the station's downlink_mbps */
} fl_dir;

typedef enum fl_seg_end {
    FL_SEG_DONE = 0,   /* the session delivered the rest of the payload */
    FL_SEG_CUT = 1,    /* the contact ended first */
    FL_SEG_CANCEL = 2, /* abandoned (fl_links_cancel, fl_links_finish) */
} fl_seg_end;

/* One session: an antenna of a station serving one satellite for one transfer within one window. */
typedef struct fl_segment {
    uint32_t sat, station;
    int antenna;    /* index of the station's antenna */
    size_t window;  /* index into the setup's windows */
    double setup_s; /* acquisition time paid: setup_s, or 0 when the antenna continued the
                       contact it served last (same satellite, same window) */
    fl_dir dir;
    int32_t tag;      /* the transfer's tag (the FL run uses the 0-based round) */
    double t_grant_s; /* the antenna was granted: setup starts */
    double t_data_s;  /* bytes start to flow: t_grant_s + this session's setup_s */
    double t_end_s;   /* the session ended (0 in on_start) */
    uint64_t bytes;   /* bytes moved (0 in on_start) */
    uint64_t left;    /* bytes of the transfer still to move when the session started */
    uint64_t total;   /* the transfer's payload size */
    bool whole;       /* a complete payload moved in this one session */
    fl_seg_end end;
    uint64_t minutes; /* started contact minutes billed to this session: a contact is an antenna
                         tracking one satellite in one window, from the grant that paid the setup
                         to the end of its last session (gaps between its sessions included); it
                         costs ceil(duration / 60) minutes, billed as they start, each session
                         adding the minutes started since the contact's previous session */
} fl_segment;

typedef struct fl_link_hooks {
    void *user; /* borrowed, passed to the hooks */
    /* A session began (may be NULL). */
    int (*on_start)(void *user, const fl_segment *s, cs_err *err);
    /* A session ended (may be NULL); called before on_done. */
    int (*on_segment)(void *user, const fl_segment *s, cs_err *err);
    /* A transfer was delivered at t_s (may be NULL). The hook may request the satellite's next
     * transfer. */
    int (*on_done)(void *user, uint32_t sat, fl_dir dir, int32_t tag, double t_s, cs_err *err);
} fl_link_hooks;

typedef struct fl_station_link {
    double uplink_mbps, downlink_mbps; /* > 0: 10^6 bit/s; bytes/s = mbps * 1e6 / 8 */
    int antennas;                      /* >= 1 */
} fl_station_link;

#define FL_LINK_EVENT_TYPES 3

typedef struct fl_link_setup {
    const orb_window *windows; /* borrowed: sorted by t_start_s; windows of sat >= n_sats ignored */
    size_t n_windows;
    uint32_t n_sats, n_stations;
    const fl_station_link *stations; /* borrowed: n_stations */
    double setup_s;                  /* >= 0 */
    bool resume;
    uint32_t type_base;   /* uses event types type_base .. type_base + FL_LINK_EVENT_TYPES - 1 */
    uint32_t target_base; /* uses targets target_base .. target_base + n_sats - 1 */
    fl_link_hooks hooks;
} fl_link_setup;

typedef struct fl_links fl_links; /* opaque */

/* Registers the link handlers on e (which must have room for the types and targets above). The
 * setup's arrays are borrowed for the life of the links. */
fl_links *fl_links_create(sim_engine *e, const fl_link_setup *s, cs_err *err);
void fl_links_destroy(fl_links *l); /* NULL is a no-op */
/* Schedules the first window opening; call once before sim_engine_run. */
int fl_links_start(fl_links *l, cs_err *err);
/* Starts a transfer of bytes (> 0) for sat (which must have none in progress) at the engine's
 * current time: it queues (FIFO) at every station whose window with sat is open, and takes the
 * first antenna granted. An antenna is granted only if more than its setup time is left in the
 * window; one still pointed at this contact (it served sat last, in the same window) needs no
 * setup, any other setup_s. A new contact takes a free antenna tracking no open contact before
 * one that another satellite could still continue (docs/simulation.md, "Which antenna"). */
int fl_links_request(fl_links *l, uint32_t sat, fl_dir dir, uint64_t bytes, int32_t tag,
                     cs_err *err);
/* Abandons sat's transfer now (a session in progress ends as FL_SEG_CANCEL). No-op if none. */
int fl_links_cancel(fl_links *l, uint32_t sat, cs_err *err);
/* Abandons every transfer at the engine's current time (end of a run). */
int fl_links_finish(fl_links *l, cs_err *err);
bool fl_links_busy(const fl_links *l, uint32_t sat);       /* has a transfer */
bool fl_links_in_session(const fl_links *l, uint32_t sat); /* holds an antenna */
/* sat's transfer: its direction and tag (-1 when it has none). */
void fl_links_transfer(const fl_links *l, uint32_t sat, fl_dir *dir, int32_t *tag);
/* Bytes of sat's transfer still to move at the engine's current time (0 when it has none). */
uint64_t fl_links_left(const fl_links *l, uint32_t sat);
/* Started minutes of a contact of dt_s seconds: 0 for dt_s <= 0, else ceil(dt_s / 60) with a
 * 1e-9 minute tolerance (60.0000000001 s is one minute). */
uint64_t fl_minutes_started(double dt_s);
/* The sessions in progress at the engine's current time, in satellite order, as segments whose
 * t_end_s is now and bytes the bytes moved so far (end is FL_SEG_DONE for none of them: it reads
 * FL_SEG_CUT). Writes at most cap of them to out (may be NULL when cap is 0) and returns how many
 * there are. */
size_t fl_links_sessions(const fl_links *l, fl_segment *out, size_t cap);

/* Checkpoints: the links' state (open windows, station queues and antennas, every satellite's
 * transfer and session) appended to b, and restored into links created over the same setup
 * (the windows are the plan's, not saved). Between events only. */
void fl_links_save(const fl_links *l, cs_buf *b);
int fl_links_load(fl_links *l, cs_rd *r, cs_err *err);

#endif
