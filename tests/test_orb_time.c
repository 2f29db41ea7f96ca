/* test_orb_time.c - ISO-8601 UTC parsing and formatting, Julian dates of known instants. */
#include "orbits.h"
#include "t.h"

static double parse_ok(const char *s)
{
    cs_err e;
    cs_err_clear(&e);
    double jd = -1.0;
    int rc = orb_time_parse_iso(s, &jd, &e);
    if (rc != 0)
        fprintf(stderr, "unexpected error for \"%s\": %s\n", s, e.msg);
    T_EQ(rc, 0);
    return jd;
}

static void parse_bad(const char *s, const char *needle)
{
    cs_err e;
    cs_err_clear(&e);
    double jd = 0.0;
    T_EQ(orb_time_parse_iso(s, &jd, &e), CS_EINVAL);
    T_EQ(e.code, CS_EINVAL);
    T_CONTAINS(e.msg, needle);
}

static void fmt_is(double jd, double dt, const char *want)
{
    char buf[64];
    orb_time_format_iso_offset(jd, dt, buf, sizeof buf);
    T_STREQ(buf, want);
}

int main(void)
{
    /* Known Julian dates (J2000 by definition; the others from Vallado, Fundamentals of
     * Astrodynamics, Example 3-4, and Meeus, Astronomical Algorithms, ch. 7). */
    T_NEAR(parse_ok("2000-01-01T12:00:00Z"), 2451545.0, 0.0);
    T_NEAR(parse_ok("2026-01-01T00:00:00Z"), 2461041.5, 0.0);
    T_NEAR(parse_ok("1996-10-26T14:20:00Z"), 2450383.0972222222, 1e-9);
    T_NEAR(parse_ok("1957-10-04T19:28:34Z"), 2436116.3115046296, 1e-9); /* Meeus ex. 7.a */
    T_NEAR(parse_ok("1987-06-19T12:00:00Z"), 2446966.0, 0.0);           /* Meeus table 7.a */
    T_NEAR(parse_ok("1600-01-01T00:00:00Z"), 2305447.5, 0.0);           /* Meeus table 7.a */
    T_NEAR(orb_jd_from_calendar(2000, 1, 1, 12, 0, 0.0), 2451545.0, 0.0);

    /* Variants of the same instant. */
    double j0 = parse_ok("2026-03-15T06:30:00Z");
    T_NEAR(parse_ok("2026-03-15T06:30:00+00:00"), j0, 0.0);
    T_NEAR(parse_ok("2026-03-15T06:30:00+0000"), j0, 0.0);
    T_NEAR(parse_ok("2026-03-15 06:30:00Z"), j0, 0.0);
    T_NEAR(parse_ok("2026-03-15T06:30Z"), j0, 0.0);
    T_NEAR(parse_ok("2026-03-15T07:30:00+01:00"), j0, 1e-12);
    T_NEAR(parse_ok("2026-03-15T01:00:00-05:30"), j0, 1e-12);
    T_NEAR(parse_ok("2026-03-15T06:30:00.250Z"), j0 + 0.25 / 86400.0, 1e-9);
    T_NEAR(parse_ok("2026-03-15T06:30:00.5+00:00"), j0 + 0.5 / 86400.0, 1e-9);
    T_NEAR(parse_ok("2026-03-15"), j0 - 6.5 / 24.0, 1e-12);
    T_NEAR(parse_ok("2024-02-29T00:00:00Z") - parse_ok("2024-02-28T00:00:00Z"), 1.0, 1e-12);

    /* Errors say what is wrong. */
    parse_bad("2026-13-01T00:00:00Z", "month 13 is not in 1..12");
    parse_bad("2023-02-29T00:00:00Z", "day 29 is not in 1..28");
    parse_bad("2026-01-01T24:00:00Z", "hour 24 is not in 0..23");
    parse_bad("2026-01-01T00:60:00Z", "minute 60");
    parse_bad("2026-01-01T00:00:61Z", "second 61");
    parse_bad("2026-12-31T23:59:60Z", "leap seconds");
    parse_bad("2026-01-01T00:00:00", "missing time zone");
    parse_bad("2026-01-01T00:00:00Zjunk", "unexpected text");
    parse_bad("2026-01-01X00:00:00Z", "expected 'T'");
    parse_bad("26-01-01T00:00:00Z", "year must be 4 digits");
    parse_bad("2026-1-01T00:00:00Z", "month must be 2 digits");
    parse_bad("2026-01-01T00:00:00.Z", "digits after the decimal point");
    parse_bad("2026-01-01T00:00:00+25:00", "zone offset");
    parse_bad("", "year must be 4 digits");
    parse_bad("1500-01-01T00:00:00Z", "before 1600");
    {
        cs_err e;
        cs_err_clear(&e);
        double jd;
        orb_time_parse_iso("2026-13-01T00:00:00Z", &jd, &e);
        T_CONTAINS(e.msg, "\"2026-13-01T00:00:00Z\"");
    }

    /* Formatting. */
    fmt_is(2451545.0, 0.0, "2000-01-01T12:00:00.000Z");
    fmt_is(2461041.5, 0.0, "2026-01-01T00:00:00.000Z");
    fmt_is(2461041.5, 12.3456, "2026-01-01T00:00:12.346Z");
    fmt_is(2461041.5, 365.0 * 86400.0, "2027-01-01T00:00:00.000Z");
    fmt_is(2461041.5, -0.0001, "2026-01-01T00:00:00.000Z"); /* rounds up across midnight */
    fmt_is(2461041.5, -0.0006, "2025-12-31T23:59:59.999Z");
    fmt_is(2461041.5, 59.0 * 86400.0, "2026-03-01T00:00:00.000Z");
    fmt_is(2460735.5, 0.0, "2025-03-01T00:00:00.000Z");
    fmt_is(2451544.5 + 59.0, 0.0, "2000-02-29T00:00:00.000Z");
    {
        char buf[64];
        orb_time_format_iso(parse_ok("1999-12-31T23:59:59.123Z"), buf, sizeof buf);
        T_STREQ(buf, "1999-12-31T23:59:59.123Z");
        orb_time_format_iso(2451545.0, buf, 11);
        T_STREQ(buf, "2000-01-01");
    }
    /* Round trip over many instants (ms resolution). */
    int bad = 0;
    for (int k = 0; k < 2000; k++) {
        double jd = 2440000.5 + k * 13.7371234;
        char buf[64];
        orb_time_format_iso(jd, buf, sizeof buf);
        double back = parse_ok(buf);
        if (fabs(back - jd) * 86400.0 > 0.0006)
            bad++;
    }
    T_EQ(bad, 0);
    return t_done();
}
