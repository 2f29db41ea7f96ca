/* orbits.h - time, frames, constellations, propagators and contact windows (module prefix orb_).
 *
 * Time: UTC Julian dates (double). UT1 is taken equal to UTC (|UT1-UTC| < 0.9 s moves the Earth
 * by < 0.4 km at the equator; see docs/orbits.md). Simulated time elsewhere is seconds since a
 * scenario epoch; functions taking (jd, t_s) pairs keep sub-millisecond precision that a single
 * Julian date (about 40 us resolution) would lose.
 *
 * Frames: TEME (SGP4's output: true equator, mean equinox of date) -> ECEF by a rotation about z
 * through GMST (IAU-82). Polar motion (< 15 m) is neglected. Stations are WGS-84 geodetic points.
 *
 * Propagators (orb_prop_kind):
 *   ORB_PROP_SGP4   SGP4/SDP4 (orb_sgp4.h). Walker satellites are initialised directly from
 *                   their mean elements with bstar 0 (no drag).
 *   ORB_PROP_J2     two-body plus the secular J2 drift of RAAN, argument of perigee and mean
 *                   anomaly (first-order Brouwer rates), EGM-96 J2 and WGS-84 mu/radius.
 *   ORB_PROP_KEPLER two-body.
 * All three return TEME positions; J2 and Kepler treat their elements as TEME-referred, so the
 * three agree on the frame.
 *
 * Contacts: windows where a station sees a satellite at elevation >= its min_elevation_deg,
 * found by bracketing sign changes of (elevation - mask) and of its rate at the samples of a
 * cached track, and locating every crossing and maximum by Newton iterations on a degree-9
 * interpolant of the track (on the exactly propagated elevation where the interpolant's
 * estimated error is too large for the point). See docs/orbits.md for accuracy arguments.
 *
 * Library code: never prints, never exits; errors return a negative CS_E* code and fill cs_err.
 */
#ifndef ORBITS_H
#define ORBITS_H

#include <stddef.h>
#include <stdint.h>

#include "cs.h"
#include "orb_sgp4.h"
#include "orb_tle.h"

/* ---- constants ---------------------------------------------------------------------------- */
#define ORB_PI 3.14159265358979323846
#define ORB_DEG2RAD (ORB_PI / 180.0)
#define ORB_RAD2DEG (180.0 / ORB_PI)
#define ORB_JD_J2000 2451545.0 /* 2000-01-01T12:00:00 TT (used with UT1 for GMST) */
#define ORB_SEC_PER_DAY 86400.0
#define ORB_WGS84_A_KM 6378.137                 /* WGS-84 equatorial radius */
#define ORB_WGS84_F (1.0 / 298.257223563)       /* WGS-84 flattening */
#define ORB_MU_KM3S2 398600.4418                /* Earth's gravitational parameter (Kepler, J2) */
#define ORB_J2 1.08262668e-3                    /* second zonal harmonic (Kepler, J2) */
#define ORB_EARTH_ROT_RADS 7.292115146706979e-5 /* mean sidereal rotation rate (IAU-82 GMST) */

/* ---- time --------------------------------------------------------------------------------- */
/* Parses an ISO-8601 UTC time: "2026-01-01T00:00:00Z", with optional fractional seconds
 * ("...:00.25Z"), a numeric zone ("+00:00", "-05:30", "+0000"; converted to UTC), a space instead
 * of 'T', or a date alone ("2026-01-01" = midnight UTC). Years 1600..9999. Returns 0 or CS_EINVAL
 * with a message naming the text and what is wrong (err->line/col are left 0: the caller knows
 * where the text came from). */
int orb_time_parse_iso(const char *s, double *jd_utc, cs_err *err);
/* Formats jd_utc as "2026-01-01T00:12:34.567Z" (milliseconds, rounded). cap >= 25 holds it all;
 * shorter buffers get a truncated, NUL-terminated string. */
void orb_time_format_iso(double jd_utc, char *buf, size_t cap);
/* Same for the instant jd_utc + dt_s, without the precision loss of adding them first. */
void orb_time_format_iso_offset(double jd_utc, double dt_s, char *buf, size_t cap);
/* Julian date of a calendar instant (proleptic Gregorian; no range check). */
double orb_jd_from_calendar(int year, int month, int day, int hour, int minute, double sec);

/* ---- frames ------------------------------------------------------------------------------- */
/* Greenwich mean sidereal time (IAU-82, as SGP4's TEME needs), radians in [0, 2pi). */
double orb_gmst_rad(double jd_ut1);
/* GMST at jd_ut1 + dt_s (precise for a full jd plus small offsets). */
double orb_gmst_rad_offset(double jd_ut1, double dt_s);
/* TEME -> ECEF (pseudo Earth-fixed: polar motion neglected), positions. */
void orb_teme_to_ecef(const double r_teme_km[3], double jd_ut1, double r_ecef_km[3]);
/* Rotation about z by gmst_rad (TEME -> ECEF) of a position and, if v_teme_kms is not NULL, of a
 * velocity (including the Earth-rotation term). */
void orb_teme_to_ecef_gmst(const double r_teme_km[3], const double *v_teme_kms, double gmst_rad,
                           double r_ecef_km[3], double *v_ecef_kms);
/* WGS-84 geodetic -> ECEF. */
void orb_geodetic_to_ecef(double lat_deg, double lon_deg, double alt_m, double r_ecef_km[3]);
/* ECEF -> WGS-84 geodetic (iterative; < 1 mm for points above -100 km). lon in (-180, 180]. */
void orb_ecef_to_geodetic(const double r_ecef_km[3], double *lat_deg, double *lon_deg,
                          double *alt_m);

/* ---- the Sun ------------------------------------------------------------------------------ */
/* The subsolar point at jd_utc: lat_deg is the Sun's apparent declination, lon_deg in (-180, 180]
 * the negated Greenwich hour angle of the Sun (right ascension minus GMST). Low-precision solar
 * coordinates of the Astronomical Almanac: about 0.01 deg from 1950 to 2050 (orb_sun.c). */
void orb_sun_subsolar(double jd_utc, double *lat_deg, double *lon_deg);

/* ---- stations and look angles ------------------------------------------------------------- */
typedef struct orb_station {
    char name[64];
    double lat_deg, lon_deg, alt_m, min_elevation_deg;
} orb_station;

/* Topocentric azimuth (deg from north, clockwise, [0, 360)), elevation (deg, geodetic horizon)
 * and range (km) of an ECEF position seen from st. Any output pointer may be NULL. */
void orb_look_angles(const orb_station *st, const double r_ecef_km[3], double *az_deg,
                     double *el_deg, double *range_km);

/* ---- satellites and propagators ----------------------------------------------------------- */
typedef enum orb_prop_kind { ORB_PROP_SGP4, ORB_PROP_J2, ORB_PROP_KEPLER } orb_prop_kind;
#define ORB_PROP_KINDS 3

/* "sgp4" / "j2" / "kepler" and back. orb_prop_parse returns 0 or CS_EINVAL. */
const char *orb_prop_name(orb_prop_kind k);
int orb_prop_parse(const char *s, orb_prop_kind *k, cs_err *err);

typedef struct orb_sat {
    char name[32];
    orb_prop_kind prop;
    orb_elements el; /* mean elements (SGP4 convention: Kozai mean motion) at el.jd_epoch */
    orb_sgp4 sgp4;   /* valid when prop == ORB_PROP_SGP4 */
    /* Kepler / J2 (set by the builders; TEME-referred mean elements at el.jd_epoch): */
    double a_km;                         /* semi-major axis */
    double n_rads;                       /* rate of the mean anomaly (J2: includes the drift) */
    double raan_dot_rads, argp_dot_rads; /* 0 for Kepler */
} orb_sat;

typedef struct orb_walker {
    double altitude_km, inclination_deg;
    int satellites, planes, phasing; /* Walker-delta i: T/P/F */
    double raan0_deg;
} orb_walker;

/* Builds the T satellites of a Walker-delta shell, circular at radius WGS-84 a + altitude_km,
 * elements at jd_epoch. Plane p (0-based) has RAAN raan0 + p*360/P; slot s in it has argument
 * of latitude s*360/S + p*F*360/T (S = T/P). Satellite index p*S + s, named "W-p<p+1>-s<s+1>".
 * For SGP4 the Kozai mean motion is chosen so SGP4's Brouwer mean semi-major axis equals the
 * nominal radius. Requires T >= 1, P >= 1, T % P == 0, 0 <= F < P, 0 <= i <= 180, altitude > 0.
 * *sats is malloc'd (caller frees). Returns 0 or CS_EINVAL/CS_ENOMEM. */
int orb_walker_build(const orb_walker *w, double jd_epoch, orb_prop_kind prop, orb_sat **sats,
                     size_t *n, cs_err *err);

/* Satellites from TLEs. With n_select == 0 all TLEs in file order; else the named ones in the
 * order of select (exact, case-sensitive names; a 2-line set is named by its catalogue number,
 * e.g. "25544"). An unknown or repeated name is CS_EINVAL listing the available names. SGP4
 * uses the TLE as is (with its bstar); Kepler/J2 use the Brouwer mean semi-major axis and mean
 * motion recovered from the Kozai mean motion. *sats is malloc'd (caller frees). */
int orb_sats_from_tle(const orb_tle *tles, size_t n_tles, const char *const *select,
                      size_t n_select, orb_prop_kind prop, orb_sat **sats, size_t *n, cs_err *err);

/* Fills the Kepler/J2 fields of s from s->el (Kozai mean motion) and, for SGP4, initialises
 * s->sgp4. Used by both builders; public for callers that make their own elements. */
int orb_sat_init(orb_sat *s, const char *name, orb_prop_kind prop, const orb_elements *el,
                 cs_err *err);

/* State in TEME at jd_utc (km, km/s); 0 or an SGP4 error code. */
int orb_sat_state(const orb_sat *s, double jd_utc, double r_km[3], double v_kms[3]);
/* Same at jd_epoch + t_s (precise). */
int orb_sat_state_at(const orb_sat *s, double jd_epoch, double t_s, double r_km[3],
                     double v_kms[3]);
/* ECEF position and (if v_ecef_kms not NULL) velocity at jd_epoch + t_s; 0 or an SGP4 code. */
int orb_sat_ecef_at(const orb_sat *s, double jd_epoch, double t_s, double r_ecef_km[3],
                    double *v_ecef_kms);

/* ---- contact windows ---------------------------------------------------------------------- */
enum {
    ORB_WIN_OPEN_START = 1u, /* already in view at t = 0: t_start_s is 0, the rise is earlier */
    ORB_WIN_OPEN_END = 2u,   /* still in view at duration_s: t_end_s is duration_s */
};

typedef struct orb_window {
    uint32_t sat, station;        /* indices into the arrays given to orb_contacts_compute */
    double t_start_s, t_end_s;    /* seconds since jd_epoch */
    double t_max_s, max_elev_deg; /* highest elevation within [t_start_s, t_end_s] */
    unsigned flags;               /* ORB_WIN_* */
} orb_window;

/* A list of windows (the orbits' half of a contact plan; sim_plan adds the satellites and
 * stations they index). */
typedef struct orb_windows {
    orb_window *w; /* owned; sorted by (t_start_s, sat, station) */
    size_t n;
} orb_windows;

/* The longest duration a contact search takes: 1e9 s (31.7 years). Times are seconds in
 * doubles (1e-7 s resolution there, well below the 1e-4 s of the crossings), and SGP4 is meant
 * for days to weeks around a TLE's epoch. The scenario loader refuses longer durations. */
#define ORB_CONTACTS_MAX_DURATION_S 1e9

/* All windows of every satellite-station pair over [0, duration_s] from jd_epoch. threads <= 1
 * runs on the calling thread; more split the satellites over pthreads (the result is identical
 * for any thread count). On success out->w is malloc'd (free with orb_windows_free). A satellite
 * whose propagation fails (e.g. SGP4 decay) is CS_ERANGE naming it. */
int orb_contacts_compute(const orb_sat *sats, size_t n_sats, const orb_station *st, size_t n_st,
                         double jd_epoch, double duration_s, int threads, orb_windows *out,
                         cs_err *err);
/* Work counters of one orb_contacts_compute_stats call (for benchmarks and tests). */
typedef struct orb_contact_stats {
    long long track_evals;  /* propagations for the cached coarse tracks */
    long long exact_evals;  /* propagations while refining crossings and maxima */
    long long interp_evals; /* evaluations of the interpolated track between samples */
    long long pairs_culled; /* satellite-station pairs with no sample inside the view cone */
    long long runs;         /* searched runs of coarse intervals */
    long long fallbacks;    /* crossings or maxima the exact refinement could not pin down, left
                               at the interpolated estimate (expected 0) */
    long long refined;      /* crossings and extrema decided on the exact propagation because
                               the interpolant's estimated error was too large for them */
} orb_contact_stats;

/* orb_contacts_compute that also fills *stats (may be NULL). */
int orb_contacts_compute_stats(const orb_sat *sats, size_t n_sats, const orb_station *st,
                               size_t n_st, double jd_epoch, double duration_s, int threads,
                               orb_windows *out, orb_contact_stats *stats, cs_err *err);

/* Progress of a search: pairs_done of the pairs_total = n_sats x n_st satellite-station pairs
 * are searched (by all threads together). Called on the calling thread only, after each pair
 * it searched itself, and once more when the search ends, successfully (pairs_done ==
 * pairs_total) or not. It never changes the result. */
typedef void (*orb_contacts_progress_fn)(void *user, uint64_t pairs_done, uint64_t pairs_total);

/* What orb_contacts_compute_opts takes beyond the satellites, stations and time span; a
 * zeroed struct means one thread, no progress, no counters. */
typedef struct orb_contacts_opts {
    int threads;                       /* <= 1: the calling thread only */
    orb_contacts_progress_fn progress; /* NULL: none */
    void *progress_user;               /* borrowed, handed to progress */
    orb_contact_stats *stats;          /* NULL, or filled with the work counters */
    long *failed_sat; /* NULL, or set to the index of the satellite that could not be propagated
                         when the result is CS_ERANGE (the lowest such index), else -1 */
} orb_contacts_opts;

/* orb_contacts_compute with options (o may be NULL: the defaults). */
int orb_contacts_compute_opts(const orb_sat *sats, size_t n_sats, const orb_station *st,
                              size_t n_st, double jd_epoch, double duration_s,
                              const orb_contacts_opts *o, orb_windows *out, cs_err *err);
/* Frees p->w and zeroes p; p may be NULL. */
void orb_windows_free(orb_windows *p);

/* ---- the cost of a contact search, before it runs ----------------------------------------- */
/* What orb_contacts_compute would cost, estimated from the orbits alone (no propagation: well
 * under a microsecond per satellite), so that callers can refuse a search that would run for
 * days or not fit in memory before it starts. Fill with orb_contacts_cost_init (the stations'
 * elevation masks and the duration), then orb_contacts_cost_add for every satellite, or once
 * for a satellite standing for `copies` alike (a Walker shell). The model, and its check
 * against measured searches, is in orb_contacts.c and docs/orbits.md. */
typedef struct orb_contacts_cost {
    double sat_steps;    /* coarse track samples of all satellites: propagations */
    double pair_steps;   /* satellite-station steps: each satellite's samples x the stations */
    double work;         /* pair_steps + ORB_CONTACTS_PROP_WORK x sat_steps */
    double step_s;       /* the shortest coarse step of the satellites added, s */
    double windows;      /* expected windows (an average over station placements) */
    double window_bytes; /* the windows at the peak of the search (3 x sizeof(orb_window) each) */
    double track_bytes;  /* the largest buffers one search thread holds (one satellite's track
                            and the fine samples of one pass), bytes: every thread holds one */
    /* the stations (set by orb_contacts_cost_init) */
    size_t n_st;
    double duration_s;
    unsigned mask_count[360]; /* stations per 0.5-deg bin of the elevation mask over (-90, 90) */
} orb_contacts_cost;

/* A propagation (SGP4 and the rotation to ECEF) counts as 12 satellite-station steps (one dot
 * product per step for culled pairs, the scan and refinement of the passes for the others), and
 * a unit of work as 4e-8 s of one core: measured for the earlier search (3.0e-8 to 4.3e-8 s,
 * 2026-12-02). The search is now 2x to 6x faster than that says (6e-9 s a unit with 100
 * stations, 2e-8 s with one; a propagation ~57 steps; docs/orbits.md, "The cost of a search");
 * the figures are kept because the scenario loader's work limit and its messages are stated in
 * them. */
#define ORB_CONTACTS_PROP_WORK 12
#define ORB_CONTACTS_WORK_S 4e-8

void orb_contacts_cost_init(orb_contacts_cost *c, const double *mask_deg, size_t n_st,
                            double duration_s);
void orb_contacts_cost_add(orb_contacts_cost *c, const orb_sat *s, size_t copies);

#endif
