/* orb_frames.c - sidereal time, TEME -> ECEF, WGS-84 geodetic coordinates, look angles.
 *
 * GMST is the IAU-82 expression (Aoki et al. 1982) that SGP4's TEME frame is defined with:
 *   GMST[s] = 67310.54841 + (876600 h + 8640184.812866) T + 0.093104 T^2 - 6.2e-6 T^3,
 *   T = (JD_UT1 - 2451545.0) / 36525.
 * UT1 is taken equal to UTC by the callers. TEME -> ECEF is the rotation about z through GMST
 * (the pseudo Earth-fixed frame); polar motion is neglected.
 */
#include "orbits.h"

#include <math.h>

#define WGS84_E2 (ORB_WGS84_F * (2.0 - ORB_WGS84_F))

double orb_gmst_rad_offset(double jd_ut1, double dt_s)
{
    /* Keep the fast term (one turn per solar day, i.e. 86400 s per day of T) exact: it only
     * matters modulo a day, so it is taken from the fraction of the day count. */
    double d0 = jd_ut1 - ORB_JD_J2000;
    double d0_frac = d0 - floor(d0);
    double t = (d0 + dt_s / 86400.0) / 36525.0;
    double gmst_s =
        67310.54841 + 86400.0 * d0_frac + dt_s + t * (8640184.812866 + t * (0.093104 - 6.2e-6 * t));
    gmst_s = fmod(gmst_s, 86400.0);
    if (gmst_s < 0.0)
        gmst_s += 86400.0;
    return gmst_s * (2.0 * ORB_PI / 86400.0);
}

double orb_gmst_rad(double jd_ut1)
{
    return orb_gmst_rad_offset(jd_ut1, 0.0);
}

void orb_teme_to_ecef_gmst(const double r_teme_km[3], const double *v_teme_kms, double gmst_rad,
                           double r_ecef_km[3], double *v_ecef_kms)
{
    double c = cos(gmst_rad), s = sin(gmst_rad);
    double x = c * r_teme_km[0] + s * r_teme_km[1];
    double y = -s * r_teme_km[0] + c * r_teme_km[1];
    double z = r_teme_km[2];
    if (v_teme_kms && v_ecef_kms) {
        /* v_ecef = R v_teme - omega x r_ecef */
        double vx = c * v_teme_kms[0] + s * v_teme_kms[1] + ORB_EARTH_ROT_RADS * y;
        double vy = -s * v_teme_kms[0] + c * v_teme_kms[1] - ORB_EARTH_ROT_RADS * x;
        v_ecef_kms[0] = vx;
        v_ecef_kms[1] = vy;
        v_ecef_kms[2] = v_teme_kms[2];
    }
    r_ecef_km[0] = x;
    r_ecef_km[1] = y;
    r_ecef_km[2] = z;
}

void orb_teme_to_ecef(const double r_teme_km[3], double jd_ut1, double r_ecef_km[3])
{
    orb_teme_to_ecef_gmst(r_teme_km, NULL, orb_gmst_rad(jd_ut1), r_ecef_km, NULL);
}

void orb_geodetic_to_ecef(double lat_deg, double lon_deg, double alt_m, double r_ecef_km[3])
{
    double lat = lat_deg * ORB_DEG2RAD, lon = lon_deg * ORB_DEG2RAD;
    double sl = sin(lat), cl = cos(lat);
    double n = ORB_WGS84_A_KM / sqrt(1.0 - WGS84_E2 * sl * sl);
    double h = alt_m / 1000.0;
    r_ecef_km[0] = (n + h) * cl * cos(lon);
    r_ecef_km[1] = (n + h) * cl * sin(lon);
    r_ecef_km[2] = (n * (1.0 - WGS84_E2) + h) * sl;
}

void orb_ecef_to_geodetic(const double r_ecef_km[3], double *lat_deg, double *lon_deg,
                          double *alt_m)
{
    double x = r_ecef_km[0], y = r_ecef_km[1], z = r_ecef_km[2];
    double p = sqrt(x * x + y * y);
    double lon = atan2(y, x);
    /* Fixed-point iteration on the latitude; converges to 1e-15 rad in a handful of steps for
     * points outside the Earth's centre region. */
    double lat = atan2(z, p * (1.0 - WGS84_E2));
    for (int it = 0; it < 20; it++) {
        double sl = sin(lat);
        double n = ORB_WGS84_A_KM / sqrt(1.0 - WGS84_E2 * sl * sl);
        double next = atan2(z + WGS84_E2 * n * sl, p);
        double delta = fabs(next - lat);
        lat = next;
        if (delta < 1e-15)
            break;
    }
    double sl = sin(lat), cl = cos(lat);
    /* Height along the normal, valid at the poles too. */
    double h = p * cl + z * sl - ORB_WGS84_A_KM * sqrt(1.0 - WGS84_E2 * sl * sl);
    if (lat_deg)
        *lat_deg = lat * ORB_RAD2DEG;
    if (lon_deg) {
        double l = lon * ORB_RAD2DEG;
        if (l <= -180.0)
            l += 360.0;
        *lon_deg = l;
    }
    if (alt_m)
        *alt_m = h * 1000.0;
}

void orb_look_angles(const orb_station *st, const double r_ecef_km[3], double *az_deg,
                     double *el_deg, double *range_km)
{
    double rs[3];
    orb_geodetic_to_ecef(st->lat_deg, st->lon_deg, st->alt_m, rs);
    double lat = st->lat_deg * ORB_DEG2RAD, lon = st->lon_deg * ORB_DEG2RAD;
    double sla = sin(lat), cla = cos(lat), slo = sin(lon), clo = cos(lon);
    double d[3] = {r_ecef_km[0] - rs[0], r_ecef_km[1] - rs[1], r_ecef_km[2] - rs[2]};
    double e = -slo * d[0] + clo * d[1];
    double n = -sla * clo * d[0] - sla * slo * d[1] + cla * d[2];
    double u = cla * clo * d[0] + cla * slo * d[1] + sla * d[2];
    double rho = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    if (az_deg) {
        double az = atan2(e, n) * ORB_RAD2DEG;
        if (az < 0.0)
            az += 360.0;
        if (az >= 360.0)
            az -= 360.0;
        *az_deg = az;
    }
    if (el_deg)
        *el_deg = rho > 0.0 ? atan2(u, sqrt(e * e + n * n)) * ORB_RAD2DEG : 90.0;
    if (range_km)
        *range_km = rho;
}
