/* orb_time.c - UTC ISO-8601 text <-> Julian dates.
 *
 * Calendar conversions use the integer algorithm of Fliegel and Van Flandern (CACM 11, 1968),
 * valid for every Gregorian date with a positive Julian day number. Julian dates are UTC; a
 * leap second (":60") cannot be represented and is rejected.
 */
#include "orbits.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Julian day number (the day that starts at noon) of a Gregorian calendar date. */
static long jdn_from_date(long y, long m, long d)
{
    long a = (m - 14) / 12; /* -1 for Jan/Feb, else 0 (C division truncates toward zero) */
    return (1461 * (y + 4800 + a)) / 4 + (367 * (m - 2 - 12 * a)) / 12 -
           (3 * ((y + 4900 + a) / 100)) / 4 + d - 32075;
}

static void date_from_jdn(long jdn, int *y, int *m, int *d)
{
    long l = jdn + 68569;
    long n = 4 * l / 146097;
    l = l - (146097 * n + 3) / 4;
    long i = 4000 * (l + 1) / 1461001;
    l = l - 1461 * i / 4 + 31;
    long j = 80 * l / 2447;
    *d = (int)(l - 2447 * j / 80);
    l = j / 11;
    *m = (int)(j + 2 - 12 * l);
    *y = (int)(100 * (n - 49) + i + l);
}

static int is_leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(long y, long m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

double orb_jd_from_calendar(int year, int month, int day, int hour, int minute, double sec)
{
    long jdn = jdn_from_date(year, month, day);
    return (double)jdn - 0.5 + ((double)hour * 3600.0 + (double)minute * 60.0 + sec) / 86400.0;
}

/* Reads exactly n digits at s[*i]; returns -1 if they are not all digits. */
static long read_digits(const char *s, size_t *i, int n)
{
    long v = 0;
    for (int k = 0; k < n; k++) {
        char c = s[*i];
        if (!isdigit((unsigned char)c))
            return -1;
        v = v * 10 + (c - '0');
        (*i)++;
    }
    return v;
}

static int bad(cs_err *err, const char *s, const char *fmt_what, size_t pos)
{
    return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                      "invalid UTC time \"%s\": %s (at character %zu); expected e.g. "
                      "2026-01-01T00:00:00Z",
                      s, fmt_what, pos + 1);
}

int orb_time_parse_iso(const char *s, double *jd_utc, cs_err *err)
{
    if (!s)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "invalid UTC time: no text");
    if (strlen(s) > 64)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "invalid UTC time: text too long (%zu characters)", strlen(s));
    size_t i = 0;
    long y = read_digits(s, &i, 4);
    if (y < 0)
        return bad(err, s, "the year must be 4 digits", 0);
    if (s[i] != '-')
        return bad(err, s, "expected '-' after the year", i);
    i++;
    size_t pos_m = i;
    long mo = read_digits(s, &i, 2);
    if (mo < 0)
        return bad(err, s, "the month must be 2 digits", pos_m);
    if (s[i] != '-')
        return bad(err, s, "expected '-' after the month", i);
    i++;
    size_t pos_d = i;
    long d = read_digits(s, &i, 2);
    if (d < 0)
        return bad(err, s, "the day must be 2 digits", pos_d);
    if (y < 1600)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "invalid UTC time \"%s\": year %ld is before 1600", s, y);
    if (mo < 1 || mo > 12)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "invalid UTC time \"%s\": month %ld is not in 1..12", s, mo);
    if (d < 1 || d > days_in_month(y, mo))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "invalid UTC time \"%s\": day %ld is not in 1..%d for %04ld-%02ld", s, d,
                          days_in_month(y, mo), y, mo);

    long hh = 0, mi = 0, ss = 0;
    double frac = 0.0;
    long zone_min = 0;
    if (s[i] == '\0')
        goto done; /* a date alone: midnight UTC */
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
        return bad(err, s, "expected 'T' between the date and the time", i);
    i++;
    size_t pos_h = i;
    hh = read_digits(s, &i, 2);
    if (hh < 0)
        return bad(err, s, "the hour must be 2 digits", pos_h);
    if (s[i] != ':')
        return bad(err, s, "expected ':' after the hour", i);
    i++;
    size_t pos_mi = i;
    mi = read_digits(s, &i, 2);
    if (mi < 0)
        return bad(err, s, "the minutes must be 2 digits", pos_mi);
    if (s[i] == ':') {
        i++;
        size_t pos_s = i;
        ss = read_digits(s, &i, 2);
        if (ss < 0)
            return bad(err, s, "the seconds must be 2 digits", pos_s);
        if (s[i] == '.' || s[i] == ',') {
            i++;
            if (!isdigit((unsigned char)s[i]))
                return bad(err, s, "expected digits after the decimal point", i);
            char digits[72] = "0.";
            size_t nd = 2;
            while (isdigit((unsigned char)s[i])) {
                if (nd + 1 < sizeof digits)
                    digits[nd++] = s[i];
                i++;
            }
            digits[nd] = '\0';
            frac = strtod(digits, NULL);
        }
    }
    if (hh > 23)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "invalid UTC time \"%s\": hour %ld is not in 0..23", s, hh);
    if (mi > 59)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "invalid UTC time \"%s\": minute %ld is not in 0..59", s, mi);
    if (ss == 60)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "invalid UTC time \"%s\": leap seconds (:60) are not supported", s);
    if (ss > 59)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "invalid UTC time \"%s\": second %ld is not in 0..59", s, ss);

    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i] == '-' ? -1 : 1;
        i++;
        size_t pos_zh = i;
        long zh = read_digits(s, &i, 2);
        if (zh < 0)
            return bad(err, s, "the zone offset hours must be 2 digits", pos_zh);
        long zm = 0;
        if (s[i] == ':')
            i++;
        if (isdigit((unsigned char)s[i])) {
            size_t pos_zm = i;
            zm = read_digits(s, &i, 2);
            if (zm < 0)
                return bad(err, s, "the zone offset minutes must be 2 digits", pos_zm);
        }
        if (zh > 23 || zm > 59)
            return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                              "invalid UTC time \"%s\": zone offset %02ld:%02ld is out of range", s,
                              zh, zm);
        zone_min = sign * (zh * 60 + zm);
    } else if (s[i] == '\0') {
        return bad(err, s, "missing time zone: add 'Z' for UTC", i);
    } else {
        return bad(err, s, "expected 'Z' or a zone offset like +00:00", i);
    }
    if (s[i] != '\0')
        return bad(err, s, "unexpected text after the time", i);

done:;
    /* local time = UTC + offset, so UTC = local - offset */
    double sec_of_day = (double)(hh * 3600 + mi * 60 + ss - zone_min * 60) + frac;
    *jd_utc = (double)jdn_from_date(y, mo, d) - 0.5 + sec_of_day / 86400.0;
    return 0;
}

void orb_time_format_iso_offset(double jd_utc, double dt_s, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    if (!isfinite(jd_utc) || !isfinite(dt_s) || jd_utc + dt_s / 86400.0 < 0.5 ||
        jd_utc + dt_s / 86400.0 > 5373484.0) {
        snprintf(buf, cap, "(invalid time)");
        return;
    }
    /* Split into an integer day number (days starting at midnight) and seconds of that day. */
    double z = floor(jd_utc + 0.5);
    double sec = (jd_utc + 0.5 - z) * 86400.0 + dt_s;
    double extra = floor(sec / 86400.0);
    z += extra;
    sec -= extra * 86400.0;
    long long ms = llround(sec * 1000.0);
    if (ms >= 86400000LL) {
        ms -= 86400000LL;
        z += 1.0;
    }
    int y, m, d;
    date_from_jdn((long)z, &y, &m, &d);
    int hh = (int)(ms / 3600000LL);
    int mi = (int)(ms / 60000LL % 60);
    int ss = (int)(ms / 1000LL % 60);
    int mss = (int)(ms % 1000LL);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, hh, mi, ss, mss);
}

void orb_time_format_iso(double jd_utc, char *buf, size_t cap)
{
    orb_time_format_iso_offset(jd_utc, 0.0, buf, cap);
}
