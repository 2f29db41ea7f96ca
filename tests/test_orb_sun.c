/* test_orb_sun.c - orb_sun_subsolar (Astronomical Almanac low-precision Sun) against a more
 * precise, independent computation written here: Meeus, Astronomical Algorithms (2nd ed.),
 * ch. 25 "higher accuracy": the Earth's heliocentric position from VSOP87 (the largest terms of
 * Meeus's abridged Appendix III series), FK5 correction, nutation (ch. 22, the four main terms:
 * 0.5" in longitude, 0.1" in obliquity), aberration, and apparent sidereal time (ch. 12) for the
 * hour angle; TT = UTC + 32.184 s + the leap seconds. The terms left out are each below 3e-6 rad
 * and together below about 0.002 deg, well under the Almanac formulas' 0.01 deg.
 * Also: declination at the 2026 March equinox and June solstice. */
#include "orbits.h"
#include "t.h"

#include <math.h>

/* A cos(B + C tau), A in 1e-8 rad (or AU), B in rad, C in rad per Julian millennium. */
typedef struct term {
    double a, b, c;
} term;

static const term L0[] = {
    {175347046.0, 0, 0},
    {3341656.0, 4.6692568, 6283.07585},
    {34894.0, 4.6261, 12566.1517},
    {3497.0, 2.7441, 5753.3849},
    {3418.0, 2.8289, 3.5231},
    {3136.0, 3.6277, 77713.7715},
    {2676.0, 4.4181, 7860.4194},
    {2343.0, 6.1352, 3930.2097},
    {1324.0, 0.7425, 11506.7698},
    {1273.0, 2.0371, 529.691},
    {1199.0, 1.1096, 1577.3435},
    {990, 5.233, 5884.927},
    {902, 2.045, 26.298},
    {857, 3.508, 398.149},
    {780, 1.179, 5223.694},
    {753, 2.533, 5507.553},
    {505, 4.583, 18849.228},
    {492, 4.205, 775.523},
    {357, 2.92, 0.067},
    {317, 5.849, 11790.629},
    {284, 1.899, 796.298},
    {271, 0.315, 10977.079},
    {243, 0.345, 5486.778},
    {206, 4.806, 2544.314},
    {205, 1.869, 5573.143},
    {202, 2.458, 6069.777},
};
static const term L1[] = {
    {628331966747.0, 0, 0}, {206059.0, 2.678235, 6283.07585}, {4303.0, 2.6351, 12566.1517},
    {425.0, 1.59, 3.523},   {119.0, 5.796, 26.298},           {109.0, 2.966, 1577.344},
};
static const term L2[] = {{52919.0, 0, 0}, {8720.0, 1.0721, 6283.0758}, {309.0, 0.867, 12566.152}};
static const term L3[] = {{289.0, 5.844, 6283.076}, {35, 0, 0}};
static const term L4[] = {{114.0, 3.142, 0}};
static const term B0[] = {{280.0, 3.199, 84334.662}, {102.0, 5.422, 5507.553}};
static const term R0[] = {{100013989.0, 0, 0}, {1670700.0, 3.0984635, 6283.07585}};
static const term R1[] = {{103019.0, 1.10749, 6283.07585}};

static double series(const term *t, size_t n, double tau)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += t[i].a * cos(t[i].b + t[i].c * tau);
    return s;
}
#define SERIES(t, tau) series(t, sizeof t / sizeof t[0], tau)

/* TAI - UTC in seconds for 2000..2040 (no leap second announced after 2017-01-01). */
static double tai_utc_s(double jd_utc)
{
    static const struct {
        int y, m;
        double s;
    } steps[] = {{2006, 1, 33}, {2009, 1, 34}, {2012, 7, 35}, {2015, 7, 36}, {2017, 1, 37}};
    double s = 32;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (jd_utc >= orb_jd_from_calendar(steps[i].y, steps[i].m, 1, 0, 0, 0))
            s = steps[i].s;
    return s;
}

static double wrap180(double x)
{
    x = fmod(x, 360.0);
    if (x <= -180)
        x += 360;
    else if (x > 180)
        x -= 360;
    return x;
}

/* Meeus ch. 25, higher accuracy: apparent declination and subsolar longitude (deg). */
static void sun_ref(double jd_utc, double *dec_deg, double *lon_deg)
{
    const double d2r = ORB_PI / 180.0, as2r = d2r / 3600.0;
    const double jde = jd_utc + (32.184 + tai_utc_s(jd_utc)) / 86400.0;
    const double tau = (jde - 2451545.0) / 365250.0, t = 10.0 * tau;

    const double l_rad =
        (SERIES(L0, tau) +
         tau * (SERIES(L1, tau) +
                tau * (SERIES(L2, tau) + tau * (SERIES(L3, tau) + tau * SERIES(L4, tau))))) /
        1e8;
    const double b_rad = SERIES(B0, tau) / 1e8;
    const double r_au = (SERIES(R0, tau) + tau * SERIES(R1, tau)) / 1e8;

    /* geocentric, FK5 (Meeus 25.9) */
    double theta = l_rad + ORB_PI, beta = -b_rad;
    const double lp = theta - (1.397 * t + 0.00031 * t * t) * d2r;
    theta += -0.09033 * as2r;
    beta += 0.03916 * (cos(lp) - sin(lp)) * as2r;

    /* nutation (Meeus 22, the abridged series) and true obliquity */
    const double om = (125.04452 - 1934.136261 * t) * d2r;
    const double ls = (280.4665 + 36000.7698 * t) * d2r, lm = (218.3165 + 481267.8813 * t) * d2r;
    const double dpsi =
        (-17.20 * sin(om) - 1.32 * sin(2 * ls) - 0.23 * sin(2 * lm) + 0.21 * sin(2 * om)) * as2r;
    const double deps =
        (9.20 * cos(om) + 0.57 * cos(2 * ls) + 0.10 * cos(2 * lm) - 0.09 * cos(2 * om)) * as2r;
    const double eps0 = (23.0 + 26.0 / 60 + 21.448 / 3600) * d2r +
                        (-46.8150 * t - 0.00059 * t * t + 0.001813 * t * t * t) * as2r;
    const double eps = eps0 + deps;

    const double lambda = theta + dpsi - 20.4898 / r_au * as2r; /* aberration */
    const double ra = atan2(sin(lambda) * cos(eps) - tan(beta) * sin(eps), cos(lambda));
    const double dec = asin(sin(beta) * cos(eps) + cos(beta) * sin(eps) * sin(lambda));

    /* apparent sidereal time (Meeus 12.4 + equation of the equinoxes), UT1 = UTC */
    const double du = jd_utc - 2451545.0, tu = du / 36525.0;
    const double gmst_deg =
        280.46061837 + 360.98564736629 * du + tu * tu * (0.000387933 - tu / 38710000.0);
    const double gast_deg = gmst_deg + dpsi * cos(eps) / d2r;

    *dec_deg = dec / d2r;
    *lon_deg = wrap180(ra / d2r - gast_deg);
}

int main(void)
{
    /* 50 instants from 2000-01-01 to 2040, at varying times of day (292.4 days + 3.3 h apart). */
    const double jd0 = orb_jd_from_calendar(2000, 1, 1, 0, 0, 0);
    double worst_dec = 0, worst_lon = 0;
    for (int k = 0; k < 50; k++) {
        const double jd = jd0 + k * (292.2 + 0.137);
        double lat, lon, dec_ref, lon_ref;
        orb_sun_subsolar(jd, &lat, &lon);
        sun_ref(jd, &dec_ref, &lon_ref);
        T_TRUE(lon > -180.0 && lon <= 180.0);
        T_NEAR(lat, dec_ref, 0.02);
        T_NEAR(wrap180(lon - lon_ref), 0.0, 0.05);
        worst_dec = fmax(worst_dec, fabs(lat - dec_ref));
        worst_lon = fmax(worst_lon, fabs(wrap180(lon - lon_ref)));
    }
    fprintf(stderr, "50 instants 2000-2040: worst |ddec| %.4f deg, worst |dlon| %.4f deg\n",
            worst_dec, worst_lon);

    /* The reference itself: Meeus example 25.b, 1992-10-13 0h TD: apparent delta
     * -7d47'01.7" = -7.783806 deg (TD - UTC was 59.184 s then: 27 leap seconds, which the
     * table above does not cover, so the instant is given in TT here by hand). */
    {
        double dec_ref, lon_ref;
        /* 1992-10-13 0h TT = 2448908.5 JDE; sun_ref adds 32.184 + 32 s for dates before 2006. */
        sun_ref(2448908.5 - (32.184 + 32.0) / 86400.0, &dec_ref, &lon_ref);
        T_NEAR(dec_ref, -7.783806, 0.0005);
    }

    /* 2026 March equinox (2026-03-20 14:46 UTC): the Sun crosses the equator. */
    {
        double lat, lon;
        orb_sun_subsolar(orb_jd_from_calendar(2026, 3, 20, 14, 46, 0), &lat, &lon);
        T_NEAR(lat, 0.0, 0.05);
    }
    /* 2026 June solstice (2026-06-21 08:24 UTC): declination = obliquity, 23.436 deg. */
    {
        double lat, lon;
        orb_sun_subsolar(orb_jd_from_calendar(2026, 6, 21, 8, 24, 0), &lat, &lon);
        T_NEAR(lat, 23.436, 0.05);
    }
    /* At 12:00 UTC the subsolar point is off Greenwich by the equation of time. On 2026-11-03
     * the Sun is 16.4 min ahead of mean time (the equation of time's yearly maximum): it crossed
     * the Greenwich meridian at 11:43.6 UTC, so at noon its hour angle there is +4.1 deg and the
     * subsolar point lies 4.1 deg west. */
    {
        double lat, lon;
        orb_sun_subsolar(orb_jd_from_calendar(2026, 11, 3, 12, 0, 0), &lat, &lon);
        T_NEAR(lon, -4.1, 0.1);
    }
    return t_done();
}
