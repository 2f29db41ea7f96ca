/* orb_tle.c - TLE parsing and loading (see orb_tle.h).
 *
 * Each field is checked against the fixed-column layout before it is converted, so that a
 * shifted column or a stray character is reported where it is instead of silently changing a
 * value. Conversions mirror the report's twoline2rv (strtod on the field, implied decimal points,
 * mantissa * 10^exponent) so that the elements are bit-identical to the reference's.
 */
#include "orb_tle.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLE_COLS 69

/* One line being parsed: its text (trailing blanks/CR/LF removed), length and location. */
typedef struct tle_line {
    char buf[TLE_COLS + 1]; /* the 69 columns, NUL-terminated */
    int which;              /* 1 or 2 */
    const char *path;
    long lineno;
} tle_line;

static int fail(const tle_line *l, int col, cs_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills err with "TLE line N: <message>" at the line's location and returns CS_EINVAL. */
static int fail(const tle_line *l, int col, cs_err *err, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cs_err_set(err, CS_EINVAL, l->path, l->lineno, col, "TLE line %d: %s", l->which, what);
}

/* Printable description of the character in column col (1-based). */
static const char *show_char(const tle_line *l, int col, char out[8])
{
    unsigned char c = (unsigned char)l->buf[col - 1];
    if (c == ' ')
        snprintf(out, 8, "' '");
    else if (isprint(c))
        snprintf(out, 8, "'%c'", c);
    else
        snprintf(out, 8, "0x%02x", c);
    return out;
}

/* Copies raw into l, stripping trailing blanks, CR and LF; checks the length and column 1. */
static int line_take(tle_line *l, const char *raw, int which, const char *path, long lineno,
                     cs_err *err)
{
    l->which = which;
    l->path = path;
    l->lineno = lineno;
    l->buf[0] = '\0';
    if (!raw)
        return fail(l, 0, err, "missing");
    size_t n = strlen(raw);
    while (n > 0 &&
           (raw[n - 1] == '\n' || raw[n - 1] == '\r' || raw[n - 1] == ' ' || raw[n - 1] == '\t'))
        n--;
    if (n < TLE_COLS) {
        return fail(l, (int)n + 1, err, "too short: %zu columns, expected 69", n);
    }
    if (n > TLE_COLS)
        return fail(l, TLE_COLS + 1, err, "unexpected text after column 69");
    memcpy(l->buf, raw, TLE_COLS);
    l->buf[TLE_COLS] = '\0';
    for (int c = 1; c <= TLE_COLS; c++) {
        if (l->buf[c - 1] == '\0' || !isprint((unsigned char)l->buf[c - 1])) {
            char ch[8];
            return fail(l, c, err, "unexpected character %s", show_char(l, c, ch));
        }
    }
    if (l->buf[0] != '0' + which) {
        char ch[8];
        return fail(l, 1, err, "expected line number '%d' in column 1, got %s", which,
                    show_char(l, 1, ch));
    }
    return 0;
}

/* Column c must be a blank (the separator before the named field). */
static int need_blank(const tle_line *l, int c, const char *field, cs_err *err)
{
    if (l->buf[c - 1] == ' ')
        return 0;
    char ch[8];
    return fail(l, c, err, "expected a blank in column %d (before the %s), got %s", c, field,
                show_char(l, c, ch));
}

/* Columns c0..c1 hold an unsigned integer, right-aligned: leading blanks, then digits. When
 * allow_empty, an all-blank field is 0. */
static int get_uint(const tle_line *l, int c0, int c1, const char *field, int allow_empty,
                    long *out, cs_err *err)
{
    long v = 0;
    int c = c0, digits = 0;
    while (c <= c1 && l->buf[c - 1] == ' ')
        c++;
    for (; c <= c1; c++) {
        char ch = l->buf[c - 1];
        if (!isdigit((unsigned char)ch)) {
            char s[8];
            return fail(l, c, err, "%s: expected a digit, got %s", field, show_char(l, c, s));
        }
        v = v * 10 + (ch - '0');
        digits++;
    }
    if (!digits && !allow_empty)
        return fail(l, c0, err, "%s: field is blank", field);
    *out = v;
    return 0;
}

/* Columns c0..c1 hold a fixed-point number with its decimal point in column cp: leading blanks
 * (or a sign in the first column when allow_sign), digits, the point, digits. */
static int get_fixed(const tle_line *l, int c0, int cp, int c1, const char *field, int allow_sign,
                     double *out, cs_err *err)
{
    char tmp[24];
    int n = 0, c = c0, digits = 0;
    char s[8];
    if (allow_sign && (l->buf[c - 1] == '-' || l->buf[c - 1] == '+')) {
        tmp[n++] = l->buf[c - 1];
        c++;
    }
    while (c < cp && l->buf[c - 1] == ' ')
        c++;
    for (; c <= c1; c++) {
        char ch = l->buf[c - 1];
        if (c == cp) {
            if (ch != '.')
                return fail(l, c, err, "%s: expected the decimal point, got %s", field,
                            show_char(l, c, s));
        } else if (ch == '.') {
            return fail(l, c, err, "%s: decimal point in column %d, expected in column %d", field,
                        c, cp);
        } else if (!isdigit((unsigned char)ch)) {
            return fail(l, c, err, "%s: expected a digit, got %s", field, show_char(l, c, s));
        } else {
            digits++;
        }
        tmp[n++] = ch;
    }
    tmp[n] = '\0';
    if (!digits)
        return fail(l, c0, err, "%s: no digits", field);
    *out = strtod(tmp, NULL);
    return 0;
}

/* Columns c0..c0+7 hold the TLE exponent notation "SMMMMMSE" (sign or blank, five mantissa
 * digits with an implied leading decimal point, exponent sign, exponent digit):
 * value = +-0.MMMMM * 10^(+-E). */
static int get_expo(const tle_line *l, int c0, const char *field, double *out, cs_err *err)
{
    char tmp[16], s[8];
    int n = 0;
    char sign = l->buf[c0 - 1];
    if (sign != ' ' && sign != '+' && sign != '-')
        return fail(l, c0, err, "%s: expected a sign or a blank, got %s", field,
                    show_char(l, c0, s));
    if (sign == '-')
        tmp[n++] = '-';
    tmp[n++] = '0';
    tmp[n++] = '.';
    for (int c = c0 + 1; c <= c0 + 5; c++) {
        if (!isdigit((unsigned char)l->buf[c - 1]))
            return fail(l, c, err, "%s: expected a digit, got %s", field, show_char(l, c, s));
        tmp[n++] = l->buf[c - 1];
    }
    tmp[n] = '\0';
    char esign = l->buf[c0 + 5];
    if (esign != '-' && esign != '+' && esign != ' ')
        return fail(l, c0 + 6, err, "%s: expected the exponent sign, got %s", field,
                    show_char(l, c0 + 6, s));
    char edig = l->buf[c0 + 6];
    if (!isdigit((unsigned char)edig))
        return fail(l, c0 + 7, err, "%s: expected the exponent digit, got %s", field,
                    show_char(l, c0 + 7, s));
    int e = edig - '0';
    if (esign == '-')
        e = -e;
    *out = strtod(tmp, NULL) * pow(10.0, e);
    return 0;
}

/* The modulo-10 checksum of columns 1..68 (digits count their value, '-' counts 1). */
static int checksum(const tle_line *l)
{
    int sum = 0;
    for (int c = 1; c <= TLE_COLS - 1; c++) {
        char ch = l->buf[c - 1];
        if (isdigit((unsigned char)ch))
            sum += ch - '0';
        else if (ch == '-')
            sum += 1;
    }
    return sum % 10;
}

static int check_sum(const tle_line *l, unsigned flags, cs_err *err)
{
    char s[8];
    if (!isdigit((unsigned char)l->buf[TLE_COLS - 1]))
        return fail(l, TLE_COLS, err, "checksum: expected a digit, got %s",
                    show_char(l, TLE_COLS, s));
    if (flags & ORB_TLE_NO_CHECKSUM)
        return 0;
    int want = l->buf[TLE_COLS - 1] - '0', got = checksum(l);
    if (want != got) {
        return fail(l, TLE_COLS, err, "checksum mismatch: column 69 says %d, the line sums to %d",
                    want, got);
    }
    return 0;
}

/* Julian date of 0h UTC on January 1 of year (valid 1901..2099). */
static double jd_jan1(int year)
{
    return 367.0 * year - floor(7.0 * year * 0.25) + 31.0 + 1721013.5;
}

static int parse_line1(const tle_line *l, orb_tle *t, long *satnum, cs_err *err)
{
    int rc;
    char s[8];
    long v;
    if ((rc = need_blank(l, 2, "catalogue number", err)))
        return rc;
    if ((rc = get_uint(l, 3, 7, "catalogue number", 0, satnum, err)))
        return rc;
    char cls = l->buf[7];
    if (cls != ' ' && !isupper((unsigned char)cls))
        return fail(l, 8, err, "classification: expected a letter (U, C, S), got %s",
                    show_char(l, 8, s));
    t->classification = cls == ' ' ? 'U' : cls;
    if ((rc = need_blank(l, 9, "international designator", err)))
        return rc;
    /* international designator: YYNNNPPP (launch year, number, piece) or all blank */
    int desig_blank = 1;
    for (int c = 10; c <= 17; c++)
        desig_blank &= l->buf[c - 1] == ' ';
    if (!desig_blank) {
        for (int c = 10; c <= 14; c++)
            if (!isdigit((unsigned char)l->buf[c - 1]))
                return fail(l, c, err, "international designator: expected a digit, got %s",
                            show_char(l, c, s));
        if (!isupper((unsigned char)l->buf[14]))
            return fail(l, 15, err, "international designator: expected the piece letter, got %s",
                        show_char(l, 15, s));
        int end = 0;
        for (int c = 16; c <= 17; c++) {
            char ch = l->buf[c - 1];
            if (ch == ' ')
                end = 1;
            else if (end || !isupper((unsigned char)ch))
                return fail(l, c, err, "international designator: unexpected %s",
                            show_char(l, c, s));
        }
    }
    int k = 0;
    for (int c = 10; c <= 17 && l->buf[c - 1] != ' '; c++)
        t->intl_desig[k++] = l->buf[c - 1];
    t->intl_desig[k] = '\0';
    if ((rc = need_blank(l, 18, "epoch", err)))
        return rc;
    for (int c = 19; c <= 20; c++)
        if (!isdigit((unsigned char)l->buf[c - 1]))
            return fail(l, c, err, "epoch year: expected a digit, got %s", show_char(l, c, s));
    int yy = (l->buf[18] - '0') * 10 + (l->buf[19] - '0');
    int year = yy < 57 ? 2000 + yy : 1900 + yy;
    double day;
    if ((rc = get_fixed(l, 21, 24, 32, "epoch day", 0, &day, err)))
        return rc;
    double ndays = (year % 4 == 0) ? 366.0 : 365.0;
    if (!(day >= 1.0 && day < ndays + 1.0)) {
        return fail(l, 21, err, "epoch day %.8f out of range 1..%.0f", day, ndays);
    }
    t->el.jd_epoch = (jd_jan1(year) - 1.0) + day;
    if ((rc = need_blank(l, 33, "first derivative of mean motion", err)))
        return rc;
    double ndot;
    if ((rc = get_fixed(l, 34, 35, 43, "first derivative of mean motion", 1, &ndot, err)))
        return rc;
    t->el.ndot = ndot;
    if ((rc = need_blank(l, 44, "second derivative of mean motion", err)))
        return rc;
    if ((rc = get_expo(l, 45, "second derivative of mean motion", &t->el.nddot, err)))
        return rc;
    if ((rc = need_blank(l, 53, "drag term", err)))
        return rc;
    if ((rc = get_expo(l, 54, "drag term (bstar)", &t->el.bstar, err)))
        return rc;
    if ((rc = need_blank(l, 62, "ephemeris type", err)))
        return rc;
    char eph = l->buf[62];
    if (eph != ' ' && !isdigit((unsigned char)eph))
        return fail(l, 63, err, "ephemeris type: expected a digit, got %s", show_char(l, 63, s));
    if ((rc = need_blank(l, 64, "element set number", err)))
        return rc;
    if ((rc = get_uint(l, 65, 68, "element set number", 1, &v, err)))
        return rc;
    t->elset_num = (int)v;
    return 0;
}

/* An angle field (decimal point in column cp) in [0, max_deg]; returns it in radians. */
static int get_angle(const tle_line *l, int c0, int cp, int c1, const char *field, double max_deg,
                     double *rad, cs_err *err)
{
    double deg;
    int rc = get_fixed(l, c0, cp, c1, field, 0, &deg, err);
    if (rc)
        return rc;
    if (deg > max_deg)
        return fail(l, c0, err, "%s %.4f deg out of range 0..%.0f", field, deg, max_deg);
    *rad = deg * (3.14159265358979323846 / 180.0);
    return 0;
}

static int parse_line2(const tle_line *l, orb_tle *t, long *satnum, cs_err *err)
{
    int rc;
    long v;
    char s[8];
    if ((rc = need_blank(l, 2, "catalogue number", err)))
        return rc;
    if ((rc = get_uint(l, 3, 7, "catalogue number", 0, satnum, err)))
        return rc;
    if ((rc = need_blank(l, 8, "inclination", err)))
        return rc;
    if ((rc = get_angle(l, 9, 12, 16, "inclination", 180.0, &t->el.incl_rad, err)))
        return rc;
    if ((rc = need_blank(l, 17, "right ascension of the node", err)))
        return rc;
    if ((rc = get_angle(l, 18, 21, 25, "right ascension of the node", 360.0, &t->el.raan_rad, err)))
        return rc;
    if ((rc = need_blank(l, 26, "eccentricity", err)))
        return rc;
    char ecc[10] = "0.";
    for (int c = 27; c <= 33; c++) {
        if (!isdigit((unsigned char)l->buf[c - 1]))
            return fail(l, c, err,
                        "eccentricity: expected 7 digits (implied leading decimal point), got %s",
                        show_char(l, c, s));
        ecc[2 + c - 27] = l->buf[c - 1];
    }
    ecc[9] = '\0';
    t->el.ecc = strtod(ecc, NULL);
    if ((rc = need_blank(l, 34, "argument of perigee", err)))
        return rc;
    if ((rc = get_angle(l, 35, 38, 42, "argument of perigee", 360.0, &t->el.argp_rad, err)))
        return rc;
    if ((rc = need_blank(l, 43, "mean anomaly", err)))
        return rc;
    if ((rc = get_angle(l, 44, 47, 51, "mean anomaly", 360.0, &t->el.mean_anom_rad, err)))
        return rc;
    if ((rc = need_blank(l, 52, "mean motion", err)))
        return rc;
    double n_revday;
    if ((rc = get_fixed(l, 53, 55, 63, "mean motion", 0, &n_revday, err)))
        return rc;
    if (!(n_revday > 0.0))
        return fail(l, 53, err, "mean motion must be > 0 rev/day, got %.8f", n_revday);
    /* rev/day -> rad/min, as the report: divide by 1440 / (2 pi) */
    t->el.n_radmin = n_revday / (1440.0 / (2.0 * 3.14159265358979323846));
    if ((rc = get_uint(l, 64, 68, "revolution number", 1, &v, err)))
        return rc;
    t->rev_num = (int)v;
    return 0;
}

/* Parses a set whose lines are at lineno1 and lineno2 (0: unknown). */
static int tle_parse_at(const char *name, const char *line1, const char *line2, const char *path,
                        long lineno0, long lineno1, long lineno2, unsigned flags, orb_tle *out,
                        cs_err *err)
{
    tle_line l1, l2;
    int rc;
    orb_tle t;
    memset(&t, 0, sizeof t);
    t.line = lineno1;

    if (name) {
        const char *b = name;
        const char *e = name + strlen(name);
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (e - b >= 2 && b[0] == '0' && b[1] == ' ')
            b += 2;
        while (b < e && isspace((unsigned char)*b))
            b++;
        if ((size_t)(e - b) >= sizeof t.name)
            return cs_err_set(err, CS_EINVAL, path, lineno0, 1,
                              "TLE title line: name longer than %zu characters", sizeof t.name - 1);
        memcpy(t.name, b, (size_t)(e - b));
        t.name[e - b] = '\0';
    }

    if ((rc = line_take(&l1, line1, 1, path, lineno1, err)))
        return rc;
    long sat1, sat2;
    if ((rc = parse_line1(&l1, &t, &sat1, err)) || (rc = check_sum(&l1, flags, err)))
        return rc;
    if (!line2) {
        return cs_err_set(err, CS_EINVAL, path, lineno1, 0,
                          "TLE line 2 is missing after line 1 of satellite %05ld", sat1);
    }
    if ((rc = line_take(&l2, line2, 2, path, lineno2, err)))
        return rc;
    if ((rc = parse_line2(&l2, &t, &sat2, err)) || (rc = check_sum(&l2, flags, err)))
        return rc;
    if (sat1 != sat2) {
        return fail(&l2, 3, err, "catalogue number %05ld does not match %05ld on line 1", sat2,
                    sat1);
    }
    t.el.satnum = (int)sat1;
    *out = t;
    return 0;
}

int orb_tle_parse_flags(const char *name, const char *line1, const char *line2, const char *path,
                        long line, unsigned flags, orb_tle *out, cs_err *err)
{
    CS_ASSERT(out);
    return tle_parse_at(name, line1, line2, path, line > 1 ? line - 1 : 0, line,
                        line > 0 ? line + 1 : 0, flags, out, err);
}

int orb_tle_parse(const char *name, const char *line1, const char *line2, const char *path,
                  long line, orb_tle *out, cs_err *err)
{
    return orb_tle_parse_flags(name, line1, line2, path, line, 0, out, err);
}

/* One line of a file, as offsets into its buffer. */
typedef struct src_line {
    char *text; /* NUL-terminated in place, without its line end */
    long lineno;
} src_line;

static int is_blank_or_comment(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0' || *s == '#';
}

static int starts_as(const char *s, char c)
{
    return s[0] == c && s[1] == ' ';
}

/* A line that looks like TLE data rather than a title: "D " then at least 60 printable
 * characters in all (used only to tell a missing line 2 from a mis-numbered one). */
static int looks_like_data(const char *s)
{
    return isdigit((unsigned char)s[0]) && s[1] == ' ' && strlen(s) >= 60;
}

int orb_tle_load(const char *path, orb_tle **out, size_t *n, cs_err *err)
{
    CS_ASSERT(path && out && n);
    *out = NULL;
    *n = 0;
    unsigned char *data;
    size_t len;
    int rc = cs_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    rc = orb_tle_load_text(path, (const char *)data, len, out, n, err);
    free(data);
    return rc;
}

int orb_tle_load_text(const char *path, const char *text, size_t len, orb_tle **out, size_t *n,
                      cs_err *err)
{
    CS_ASSERT(path && (text || len == 0) && out && n);
    *out = NULL;
    *n = 0;
    /* a copy: the lines are cut in place */
    unsigned char *data = len < SIZE_MAX ? malloc(len + 1) : NULL;
    if (!data)
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (%zu bytes)", len);
    if (len)
        memcpy(data, text, len);
    data[len] = '\0';
    int rc;
    const unsigned char *nul = memchr(data, '\0', len);
    if (nul) {
        rc = cs_err_set_at(err, CS_EINVAL, path, (long long)(nul - data),
                           "NUL byte in a TLE file (binary file?)");
        free(data);
        return rc;
    }

    /* split into non-blank, non-comment lines (LF, CRLF or CR line ends) */
    size_t max_lines = 1;
    for (size_t i = 0; i < len; i++)
        max_lines += data[i] == '\n' || data[i] == '\r';
    size_t bytes;
    src_line *lines = NULL;
    if (cs_size_mul(max_lines, sizeof *lines, &bytes) || !(lines = malloc(bytes))) {
        free(data);
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (%zu lines)", max_lines);
    }
    size_t nl = 0;
    long lineno = 1;
    char *p = (char *)data, *end = (char *)data + len;
    while (p < end) {
        char *q = p;
        while (q < end && *q != '\n' && *q != '\r')
            q++;
        char *next = q;
        if (q < end) {
            next = q + 1;
            if (*q == '\r' && next < end && *next == '\n')
                next++;
        }
        *q = '\0';
        if (!is_blank_or_comment(p)) {
            lines[nl].text = p;
            lines[nl].lineno = lineno;
            nl++;
        }
        lineno++;
        p = next;
    }

    /* each set is [title] line1 line2 */
    size_t cap = nl / 2 + 1, count = 0;
    orb_tle *sets = NULL;
    if (cs_size_mul(cap, sizeof *sets, &bytes) || !(sets = malloc(bytes))) {
        rc = cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (%zu sets)", cap);
        goto done;
    }
    for (size_t i = 0; i < nl;) {
        const src_line *title = NULL;
        if (starts_as(lines[i].text, '2')) {
            rc = cs_err_set(err, CS_EINVAL, path, lines[i].lineno, 1,
                            "TLE line 2 without a line 1 before it");
            goto done;
        }
        if (!starts_as(lines[i].text, '1')) {
            title = &lines[i++];
            if (i >= nl) {
                rc = cs_err_set(err, CS_EINVAL, path, title->lineno, 1,
                                "title line \"%.40s\" is not followed by a two-line set",
                                title->text);
                goto done;
            }
        }
        const src_line *l1 = &lines[i++];
        const src_line *l2 = i < nl ? &lines[i] : NULL;
        if (l2 && !starts_as(l2->text, '2') &&
            (starts_as(l2->text, '1') || !looks_like_data(l2->text))) {
            /* the next line is another set's line 1 or title: line 2 is missing (a data line with
             * a wrong line number is left to the parser to report) */
            l2 = NULL;
        }
        if (!l2 && starts_as(l1->text, '1')) {
            rc = cs_err_set(err, CS_EINVAL, path, l1->lineno, 0,
                            "TLE line 2 is missing after line 1 (of satellite %.5s)", l1->text + 2);
            goto done;
        }
        if (!l2) {
            /* a title followed by a title-like line: let the parser report line 1 */
            rc = tle_parse_at(title ? title->text : NULL, l1->text, NULL, path,
                              title ? title->lineno : 0, l1->lineno, 0, 0, &sets[count], err);
            CS_ASSERT(rc != 0);
            goto done;
        }
        i++;
        CS_ASSERT(count < cap);
        rc = tle_parse_at(title ? title->text : NULL, l1->text, l2->text, path,
                          title ? title->lineno : 0, l1->lineno, l2->lineno, 0, &sets[count], err);
        if (rc)
            goto done;
        count++;
    }
    rc = 0;

done:
    free(lines);
    free(data);
    if (rc) {
        free(sets);
        return rc;
    }
    if (count == 0) {
        free(sets);
        sets = NULL;
    }
    *out = sets;
    *n = count;
    return 0;
}

void orb_tle_name(const orb_tle *t, char *out, size_t cap)
{
    if (t->name[0])
        snprintf(out, cap, "%s", t->name);
    else
        snprintf(out, cap, "%d", t->el.satnum);
}

long orb_tle_find(const orb_tle *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        char nm[sizeof t->name];
        orb_tle_name(&t[i], nm, sizeof nm);
        if (strcmp(nm, name) == 0)
            return (long)i;
    }
    return -1;
}
