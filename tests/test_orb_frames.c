/* test_orb_frames.c - GMST, TEME -> ECEF, WGS-84 geodetic <-> ECEF, look angles. */
#include "orbits.h"
#include "t.h"

static void ecef_is(double lat, double lon, double alt_m, double x, double y, double z, double tol)
{
    double r[3];
    orb_geodetic_to_ecef(lat, lon, alt_m, r);
    T_NEAR(r[0], x, tol);
    T_NEAR(r[1], y, tol);
    T_NEAR(r[2], z, tol);
}

int main(void)
{
    /* GMST (IAU-82). Vallado, Fundamentals of Astrodynamics, Example 3-5: 1992-08-20 12:14 UT1
     * -> 152.578787886 deg. */
    double jd = orb_jd_from_calendar(1992, 8, 20, 12, 14, 0.0);
    T_NEAR(orb_gmst_rad(jd) * ORB_RAD2DEG, 152.578787886, 1e-7); /* 1e-7 deg = 24 us of time */
    /* At J2000.0 the constant term alone: 67310.54841 s = 280.46061837 deg. */
    T_NEAR(orb_gmst_rad(ORB_JD_J2000) * ORB_RAD2DEG, 280.46061837504, 1e-9);
    /* Skyfield 1.45 (IAU 2006 GMST) at 2026-01-01 00:00 UT1 = 100.66084258 deg; IAU-82 differs
     * from it by well under 1e-4 deg. */
    T_NEAR(orb_gmst_rad(2461041.5) * ORB_RAD2DEG, 100.66084258, 1e-4);
    /* The offset form matches the direct one and advances at the sidereal rate. */
    T_NEAR(orb_gmst_rad_offset(2461041.5, 3600.0), orb_gmst_rad(2461041.5 + 1.0 / 24.0), 1e-9);
    {
        double g0 = orb_gmst_rad_offset(2461041.5, 100.0),
               g1 = orb_gmst_rad_offset(2461041.5, 101.0);
        /* IAU-82: 1.002737909350795 sidereal days per solar day (plus 5.9e-11 T) */
        T_NEAR(g1 - g0, 1.002737909350795 * 2.0 * ORB_PI / 86400.0, 1e-13);
    }

    /* TEME -> PEF, Vallado et al. 2006 (AIAA 2006-6753), section "TEME" example:
     * 2004-04-06 07:51:28.386009 UTC, UT1 - UTC = -0.4399619 s. */
    {
        double rt[3] = {5094.18016210, 6127.64465950, 6380.34453270}, re[3];
        double jdu = orb_jd_from_calendar(2004, 4, 6, 7, 51, 28.386009);
        orb_teme_to_ecef_gmst(rt, NULL, orb_gmst_rad_offset(jdu, -0.4399619), re, NULL);
        T_NEAR(re[0], -1033.4750313, 2e-5);
        T_NEAR(re[1], 7901.3055856, 2e-5);
        T_NEAR(re[2], 6380.3445327, 2e-5);
        double r2[3];
        orb_teme_to_ecef(rt, jdu - 0.4399619 / 86400.0, r2);
        T_NEAR(r2[0], re[0], 1e-3);
    }

    /* ECEF velocity = time derivative of the rotated position (central differences). */
    {
        double r0[3] = {4000.0, -5000.0, 2000.0}, v0[3] = {3.0, 4.0, -5.5};
        double jd0 = 2461041.5, t = 1234.0, dt = 0.5;
        double rt[3], rp[3], rm[3], re[3], ve[3], tmp[3];
        for (int i = 0; i < 3; i++)
            rt[i] = r0[i] + v0[i] * t;
        orb_teme_to_ecef_gmst(rt, v0, orb_gmst_rad_offset(jd0, t), re, ve);
        for (int i = 0; i < 3; i++)
            tmp[i] = r0[i] + v0[i] * (t + dt);
        orb_teme_to_ecef_gmst(tmp, NULL, orb_gmst_rad_offset(jd0, t + dt), rp, NULL);
        for (int i = 0; i < 3; i++)
            tmp[i] = r0[i] + v0[i] * (t - dt);
        orb_teme_to_ecef_gmst(tmp, NULL, orb_gmst_rad_offset(jd0, t - dt), rm, NULL);
        for (int i = 0; i < 3; i++)
            T_NEAR(ve[i], (rp[i] - rm[i]) / (2.0 * dt), 1e-6);
    }

    /* Geodetic -> ECEF: reference values from skyfield 1.45 wgs84.latlon().itrs_xyz. */
    ecef_is(0, 0, 0, ORB_WGS84_A_KM, 0, 0, 1e-9);
    ecef_is(90, 0, 0, 0, 0, 6356.752314245, 1e-6);
    ecef_is(39.007, -104.883, 2194.56, -1275.12341889, -4797.99470449, 3994.30220958, 1e-6);
    ecef_is(27.99, 86.925, 8820, 302.76325909, 5635.90196788, 2979.6661349, 1e-6);
    ecef_is(78.23, 15.41, 450, 1258.39272449, 346.85541086, 6222.66549234, 1e-6);
    ecef_is(-33.9, 18.4, 100, 5028.60254428, 1672.7934217, -3537.30112242, 1e-6);

    /* Round trip over a grid, including the poles and high altitudes. */
    double worst_ang = 0.0, worst_alt = 0.0;
    for (int i = 0; i <= 36; i++) {
        for (int j = 0; j < 24; j++) {
            for (int k = 0; k < 5; k++) {
                double lat = -90.0 + 5.0 * i, lon = -179.0 + 15.0 * j;
                double alt = (double[]){-500.0, 0.0, 450.0, 550e3, 36000e3}[k];
                double r[3], la, lo, al;
                orb_geodetic_to_ecef(lat, lon, alt, r);
                orb_ecef_to_geodetic(r, &la, &lo, &al);
                double dl = fabs(la - lat);
                double dlo = fabs(lo - lon) * cos(lat * ORB_DEG2RAD);
                if (dl > worst_ang)
                    worst_ang = dl;
                if (dlo > worst_ang)
                    worst_ang = dlo;
                if (fabs(al - alt) > worst_alt)
                    worst_alt = fabs(al - alt);
            }
        }
    }
    T_TRUE(worst_ang < 1e-10);
    T_TRUE(worst_alt < 1e-6);
    {
        double r[3] = {0.0, -7000.0, 0.0}, la, lo, al;
        orb_ecef_to_geodetic(r, &la, &lo, &al);
        T_NEAR(la, 0.0, 1e-12);
        T_NEAR(lo, -90.0, 1e-12);
        T_NEAR(al, (7000.0 - ORB_WGS84_A_KM) * 1000.0, 1e-6);
    }

    /* Look angles, hand-checked: station on the equator at longitude 0, whose vertical is +x. */
    {
        orb_station st = {"eq", 0.0, 0.0, 0.0, 10.0};
        double az, el, rng;
        double up[3] = {ORB_WGS84_A_KM + 500.0, 0.0, 0.0};
        orb_look_angles(&st, up, &az, &el, &rng);
        T_NEAR(el, 90.0, 1e-9);
        T_NEAR(rng, 500.0, 1e-9);
        double east[3] = {ORB_WGS84_A_KM, 1000.0, 0.0};
        orb_look_angles(&st, east, &az, &el, &rng);
        T_NEAR(az, 90.0, 1e-9);
        T_NEAR(el, 0.0, 1e-9);
        T_NEAR(rng, 1000.0, 1e-9);
        double ne45[3] = {ORB_WGS84_A_KM + 1000.0, 0.0, 1000.0};
        orb_look_angles(&st, ne45, &az, &el, &rng);
        T_NEAR(az, 0.0, 1e-9);
        T_NEAR(el, 45.0, 1e-9);
        T_NEAR(rng, sqrt(2.0) * 1000.0, 1e-9);
        double sw[3] = {ORB_WGS84_A_KM + 1000.0, -1000.0, -1000.0}; /* south-west, el 35.26 */
        orb_look_angles(&st, sw, &az, &el, &rng);
        T_NEAR(az, 225.0, 1e-9);
        T_NEAR(el, atan(1.0 / sqrt(2.0)) * ORB_RAD2DEG, 1e-9);
        double below[3] = {ORB_WGS84_A_KM - 100.0, 0.0, 100.0};
        orb_look_angles(&st, below, &az, &el, &rng);
        T_NEAR(az, 0.0, 1e-9);
        T_NEAR(el, -45.0, 1e-9);
    }
    /* A station at 45N, 90E looking at a point 1000 km straight up along its geodetic normal. */
    {
        orb_station st = {"mid", 45.0, 90.0, 0.0, 0.0};
        double r0[3], r1[3], el, rng;
        orb_geodetic_to_ecef(45.0, 90.0, 0.0, r0);
        orb_geodetic_to_ecef(45.0, 90.0, 1000e3, r1);
        orb_look_angles(&st, r1, NULL, &el, &rng);
        T_NEAR(el, 90.0, 1e-7);
        T_NEAR(rng, 1000.0, 1e-9);
    }
    return t_done();
}
