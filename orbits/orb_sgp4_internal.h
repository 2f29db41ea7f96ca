/* orb_sgp4_internal.h - private interface between the SGP4 core (orb_sgp4.c) and its
 * deep-space part (orb_sdp4.c). Not for use outside orbits/orb_s[gd]p4.c. */
#ifndef ORB_SGP4_INTERNAL_H
#define ORB_SGP4_INTERNAL_H

#include "orb_sgp4.h"

/* WGS-72 (Vallado's "wgs72" set). */
#define ORB__MU 398600.8 /* km^3/s^2 */
#define ORB__RE 6378.135 /* km */
#define ORB__J2 0.001082616
#define ORB__J3 -0.00000253881
#define ORB__J4 -0.00000165597
#define ORB__J3OJ2 (ORB__J3 / ORB__J2)
#define ORB__TWOPI (2.0 * 3.14159265358979323846)
#define ORB__PI 3.14159265358979323846

/* sqrt(mu / re^3) in 1/min: the "xke" of the report. */
double orb__xke(void);

/* Deep-space initialisation (dscom + dsinit of the report) at epoch_1950 (days since
 * 1950 Jan 0.0 UTC). Needs s->el, s->no, s->mdot, s->argpdot, s->nodedot and s->ds.gsto set;
 * fills the rest of s->ds. */
void orb__sdp4_init(orb_sgp4 *s, double epoch_1950);

/* Deep-space secular effects and resonances at t_min (dspace of the report): updates the mean
 * elements em, argpm, inclm, mm, nodem and the mean motion nm in place. */
void orb__sdp4_secular(const orb_sgp4 *s, double t_min, double *em, double *argpm, double *inclm,
                       double *mm, double *nodem, double *nm);

/* Lunar-solar long-period periodics at t_min (dpper of the report): updates ep, inclp, nodep,
 * argpp, mp in place. */
void orb__sdp4_periodics(const orb_sgp4 *s, double t_min, double *ep, double *inclp, double *nodep,
                         double *argpp, double *mp);

#endif
