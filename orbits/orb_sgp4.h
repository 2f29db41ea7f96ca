/* orb_sgp4.h - SGP4/SDP4 orbit propagation from TLE mean elements.
 *
 * The algorithm is the one of Vallado, Crawford, Hujsak, Kelso, "Revisiting Spacetrack Report #3"
 * (AIAA 2006-6753): SGP4 for near-Earth orbits and SDP4 (lunar-solar terms, 12 h and 24 h
 * resonances) for periods >= 225 min. Constants are WGS-72, as the verification set uses.
 *
 * Operation mode: the two modes of the paper differ in the sidereal time at epoch used by the
 * deep-space resonance terms ('a': the historical AFSPC formula counted from 1970, 'i': the
 * IAU-82 GMST) and in a node quadrant fix in the low-inclination Lyddane branch of the
 * lunar-solar periodics ('a' only). The default, ORB_SGP4_MODE_IMPROVED ('i'), is the mode that
 * reproduces the published verification output tcppver.out (tests/test_sgp4_ver.c): in mode 'i'
 * every listed state of all 33 sets agrees to the print precision, while mode 'a' moves
 * 23599 (low inclination, node crossing the quadrant fix) by up to 0.96 km.
 *
 * Use: orb_sgp4_init once per element set (precomputes everything), then orb_sgp4_propagate as
 * often as needed. orb_sgp4_propagate takes the state const and keeps no cache, so one state can
 * be shared by several threads. For resonant deep-space orbits it integrates the resonance terms
 * from the epoch in every call (720-minute steps, as the reference: a cache would only replay the
 * same steps), so its cost grows with |tsince_min| / 720 for those orbits only.
 *
 * Output frame: TEME (true equator, mean equinox of date), km and km/s.
 */
#ifndef ORB_SGP4_H
#define ORB_SGP4_H

#include "cs.h"

/* Mean elements as in a TLE (SGP4's input). */
typedef struct orb_elements {
    int satnum;
    double jd_epoch;    /* Julian date (UTC) of the element epoch, full (e.g. 2451545.0) */
    double bstar;       /* drag term, 1/earth radii */
    double ndot, nddot; /* as in the TLE (rev/day^2, rev/day^3); not used by SGP4 */
    double incl_rad, raan_rad, ecc, argp_rad, mean_anom_rad;
    double n_radmin; /* Kozai mean motion, rad/min */
} orb_elements;

/* Operation modes of the paper (see above). */
enum { ORB_SGP4_MODE_AFSPC = 'a', ORB_SGP4_MODE_IMPROVED = 'i' };

/* Deep-space (SDP4) constants; private, filled by orb_sgp4_init. */
typedef struct orb_sdp4 {
    int irez;    /* resonance: 0 none, 1 synchronous (24 h), 2 half-day (12 h) */
    double gsto; /* sidereal angle at epoch, rad */
    /* lunar-solar long-period coefficients (solar s*, lunar x*, e3/ee2) */
    double e3, ee2, se2, se3, sgh2, sgh3, sgh4, sh2, sh3, si2, si3, sl2, sl3, sl4;
    double xgh2, xgh3, xgh4, xh2, xh3, xi2, xi3, xl2, xl3, xl4, zmol, zmos;
    /* lunar-solar secular rates, per minute */
    double dedt, didt, dmdt, dnodt, domdt;
    /* resonance coefficients and initial values */
    double d2201, d2211, d3210, d3222, d4410, d4422, d5220, d5232, d5421, d5433;
    double del1, del2, del3, xfact, xlamo;
} orb_sdp4;

/* Precomputed propagation state; fields are private (set by orb_sgp4_init only). */
typedef struct orb_sgp4 {
    orb_elements el; /* copy of the input elements */
    int mode;        /* ORB_SGP4_MODE_* */
    int error;  /* after a failed orb_sgp4_init: Vallado's code (1..6) that caused it, else 0 */
    int deep;   /* 1: SDP4 (period >= 225 min) */
    int simple; /* 1: truncated drag terms (perigee < 220 km, and all deep-space orbits) */
    double no;  /* un-Kozai'd (Brouwer) mean motion, rad/min */
    double am_no, nm_no; /* (xke / no)^(2/3) and xke / am_no^1.5: the propagation's semi-major
                            axis (earth radii) and mean motion without drag, near-Earth orbits */
    double con41, x1mth2, x7thm1, aycof, xlcof;
    double cc1, cc4, cc5, d2, d3, d4, delmo, eta, omgcof, sinmao, xmcof;
    double t2cof, t3cof, t4cof, t5cof, mdot, argpdot, nodedot, nodecf;
    orb_sdp4 ds; /* deep-space part, valid when deep */
} orb_sgp4;

enum {
    ORB_SGP4_OK = 0,
    /* Vallado's error codes: */
    ORB_SGP4_E_ECC = 1,        /* mean eccentricity out of [-0.001, 1) */
    ORB_SGP4_E_MEANMOTION = 2, /* mean motion <= 0 */
    ORB_SGP4_E_PERT_ECC = 3,   /* perturbed eccentricity out of [0, 1] (deep space) */
    ORB_SGP4_E_SEMILATUS = 4,  /* semi-latus rectum < 0 */
    ORB_SGP4_E_SUBORBITAL = 5, /* epoch elements sub-orbital (kept for the numbering; the
                                  revised algorithm no longer returns it) */
    ORB_SGP4_E_DECAYED = 6,    /* radius below one earth radius: the satellite has decayed */
};

/* Initialises s from el with WGS-72 constants in the default mode (ORB_SGP4_MODE_IMPROVED).
 * Rejects elements that SGP4 cannot propagate: eccentricity outside [0, 1) (code 1), mean motion
 * not > 0 (code 2), or any error of the propagation at the epoch itself (codes 1..6).
 * Returns 0, or CS_EINVAL with err filled (message names the satellite and the code) and
 * s->error set to Vallado's code. */
int orb_sgp4_init(orb_sgp4 *s, const orb_elements *el, cs_err *err);

/* Same, in a given operation mode (ORB_SGP4_MODE_AFSPC or ORB_SGP4_MODE_IMPROVED). */
int orb_sgp4_init_mode(orb_sgp4 *s, const orb_elements *el, int mode, cs_err *err);

/* Position (km) and velocity (km/s) in TEME at tsince_min minutes from the element epoch.
 * Returns 0 or one of Vallado's codes 1..6 (r_km/v_kms are then not valid). Thread-safe: const
 * state. After a failed orb_sgp4_init it returns that init's code. A non-finite tsince_min, or a
 * time so far out that the model's secular terms overflow (non-finite result), is reported as
 * ORB_SGP4_E_DECAYED: the state is never NaN when 0 is returned. */
int orb_sgp4_propagate(const orb_sgp4 *s, double tsince_min, double r_km[3], double v_kms[3]);

/* A short English description of a code returned by orb_sgp4_propagate ("ok" for 0). */
const char *orb_sgp4_strerror(int code);

/* The WGS-72 constants SGP4 uses (for callers that convert its output). */
#define ORB_SGP4_RE_KM 6378.135    /* equatorial radius, km */
#define ORB_SGP4_MU_KM3S2 398600.8 /* gravitational parameter, km^3/s^2 */

#endif
