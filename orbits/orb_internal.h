/* orb_internal.h - helpers shared between the orbits/ sources (not part of the public API). */
#ifndef ORB_INTERNAL_H
#define ORB_INTERNAL_H

/* WGS-72 constants of SGP4 (its mean elements are defined with them). */
#define ORB__WGS72_RE_KM 6378.135
#define ORB__WGS72_MU_KM3S2 398600.8
#define ORB__WGS72_J2 0.001082616

/* SGP4's recovery of the Brouwer mean motion (rad/min) and mean semi-major axis (km) from the
 * Kozai mean motion n_kozai_radmin of a TLE (Hoots & Roehrich 1980, as in Vallado's initl). */
void orb__unkozai(double n_kozai_radmin, double ecc, double incl_rad, double *n_brouwer_radmin,
                  double *a_km);
/* The Kozai mean motion (rad/min) whose Brouwer mean semi-major axis is a_km. */
double orb__kozai_from_a(double a_km, double ecc, double incl_rad);

#endif
