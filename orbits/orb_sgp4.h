/* orb_sgp4.h - SGP4/SDP4 orbit propagation from TLE mean elements.
 *
 * The algorithm is the one of Vallado, Crawford, Hujsak, Kelso, "Revisiting Spacetrack Report #3"
 * (AIAA 2006-6753): SGP4 for near-Earth orbits and SDP4 (lunar-solar terms, 12 h and 24 h
 * resonances) for periods >= 225 min. Constants are WGS-72, as the verification set uses.
 *
 * Operation mode: AFSPC ('a'), which reproduces the published verification output tcppver.out
 * (the 'i' improved mode changes the sidereal time used by the deep-space terms and a few
 * small-eccentricity branches; it is not provided).
 *
 * Use: orb_sgp4_init once per element set (precomputes everything), then orb_sgp4_propagate as
 * often as needed. orb_sgp4_propagate takes the state const and keeps no cache, so one state can
 * be shared by several threads; the deep-space resonance integration is run from the epoch in
 * every call (720-minute steps, as the reference).
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

/* Precomputed propagation state; fields are private (set by orb_sgp4_init only). */
typedef struct orb_sgp4 {
    orb_elements el; /* copy of the input elements */
    int deep;        /* 1: SDP4 (period >= 225 min) */
    int simple;      /* 1: perigee < 220 km, truncated drag terms */
    int resonance;   /* 0 none, 1 synchronous (24 h), 2 half-day (12 h) */
    /* near-Earth */
    double no_unkozai, a, alta, altp, con41, cc1, cc4, cc5, d2, d3, d4, delmo, eta, argpdot, omgcof,
        sinmao, t2cof, t3cof, t4cof, t5cof, x1mth2, x7thm1, mdot, nodedot, xlcof, xmcof, nodecf,
        aycof;
    /* deep space: secular and long-period lunar-solar */
    double gsto, e3, ee2, peo, pgho, pho, pinco, plo, se2, se3, sgh2, sgh3, sgh4, sh2, sh3, si2,
        si3, sl2, sl3, sl4, xgh2, xgh3, xgh4, xh2, xh3, xi2, xi3, xl2, xl3, xl4, zmol, zmos;
    double dedt, didt, dmdt, dnodt, domdt;
    /* deep space: resonance */
    double d2201, d2211, d3210, d3222, d4410, d4422, d5220, d5232, d5421, d5433, del1, del2, del3,
        xfact, xlamo, xli0, xni0;
    int init_error; /* not 0 only transiently inside orb_sgp4_init */
} orb_sgp4;

enum {
    ORB_SGP4_OK = 0,
    /* Vallado's error codes: */
    ORB_SGP4_E_ECC = 1,        /* mean eccentricity out of [0, 1) (or < -0.001 in the paper) */
    ORB_SGP4_E_MEANMOTION = 2, /* mean motion <= 0 */
    ORB_SGP4_E_PERT_ECC = 3,   /* perturbed eccentricity out of [0, 1] */
    ORB_SGP4_E_SEMILATUS = 4,  /* semi-latus rectum < 0 */
    ORB_SGP4_E_SUBORBITAL = 5, /* epoch elements are sub-orbital (not returned since 2006) */
    ORB_SGP4_E_DECAYED = 6,    /* satellite has decayed (radius < 1 earth radius) */
};

/* Initialises s from el (WGS-72 constants). Returns 0, or CS_EINVAL with err filled when the
 * elements cannot be propagated (the message names Vallado's code; err->line is 0). */
int orb_sgp4_init(orb_sgp4 *s, const orb_elements *el, cs_err *err);

/* Position (km) and velocity (km/s) in TEME at tsince_min minutes from the element epoch.
 * Returns 0 or one of Vallado's codes 1..6 (r_km/v_kms are then not valid). Thread-safe: const
 * state. */
int orb_sgp4_propagate(const orb_sgp4 *s, double tsince_min, double r_km[3], double v_kms[3]);

/* A short English description of a code returned by orb_sgp4_propagate ("ok" for 0). */
const char *orb_sgp4_strerror(int code);

#endif
