/* orb_sun.c - the subsolar point from the low-precision solar coordinates of the Astronomical
 * Almanac (section C, "Low precision formulas for the Sun"; about 0.01 deg in right ascension
 * and declination from 1950 to 2050):
 *   n = JD - 2451545.0
 *   L = 280.460 + 0.9856474 n        mean longitude, aberration included (deg)
 *   g = 357.528 + 0.9856003 n        mean anomaly (deg)
 *   lambda = L + 1.915 sin g + 0.020 sin 2g     ecliptic longitude (beta = 0)
 *   epsilon = 23.439 - 0.0000004 n   obliquity of the ecliptic
 *   alpha = atan2(cos epsilon sin lambda, cos lambda), delta = asin(sin epsilon sin lambda)
 * n is taken in UTC: TT - UTC (about 69 s) moves the Sun by 0.0008 deg. The subsolar longitude
 * is alpha - GMST (orb_gmst_rad, UT1 = UTC); the Almanac's alpha refers to the true equinox, so
 * apparent sidereal time would be exact: the two differ by the equation of the equinoxes,
 * below 0.005 deg.
 */
#include "orbits.h"

#include <math.h>

void orb_sun_subsolar(double jd_utc, double *lat_deg, double *lon_deg)
{
    const double n = jd_utc - ORB_JD_J2000;
    const double l_deg = fmod(280.460 + 0.9856474 * n, 360.0);
    const double g_rad = fmod(357.528 + 0.9856003 * n, 360.0) * ORB_DEG2RAD;
    const double lambda_rad = (l_deg + 1.915 * sin(g_rad) + 0.020 * sin(2.0 * g_rad)) * ORB_DEG2RAD;
    const double eps_rad = (23.439 - 0.0000004 * n) * ORB_DEG2RAD;

    const double ra_rad = atan2(cos(eps_rad) * sin(lambda_rad), cos(lambda_rad));
    const double dec_rad = asin(sin(eps_rad) * sin(lambda_rad));

    double lon = fmod((ra_rad - orb_gmst_rad(jd_utc)) * ORB_RAD2DEG, 360.0); /* (-360, 360) */
    if (lon <= -180.0)
        lon += 360.0;
    else if (lon > 180.0)
        lon -= 360.0;
    *lat_deg = dec_rad * ORB_RAD2DEG;
    *lon_deg = lon;
}
