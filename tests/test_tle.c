/* test_tle.c - TLE parsing and loading (orb_tle.h) and orb_sgp4_init's rejections.
 *
 * Good sets are checked field by field against values read off the TLE text by hand (the epoch
 * Julian dates computed by hand: JD of Jan 1.0 plus day - 1). Each broken fixture in
 * tests/data/tle/ must fail with its message, line and column. SGP4 output for the ISS set is
 * compared with an independent implementation (python-sgp4 2.15, WGS-72, mode 'i').
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orb_sgp4.h"
#include "orb_tle.h"
#include "t.h"

#define DEG (3.14159265358979323846 / 180.0)
#define REVDAY (2.0 * 3.14159265358979323846 / 1440.0) /* rev/day -> rad/min */
/* The elements parsed from a TLE's decimal fields, against the same decimals here: the parse and
 * the unit conversion round a few times, a few DBL_EPSILON of the value whatever its size (from
 * 1e-5 for bstar to 6 for the angles). A wrong last digit is off by 6e-10 of the value or
 * more (the mean motion's eighth decimal). */
#define TLE_REL (8 * DBL_EPSILON)

static const char *k_iss1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927";
static const char *k_iss2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537";

static const char *data_dir(void)
{
    const char *src = getenv("CONSTSIM_SOURCE_DIR");
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/tests/data/tle", src && *src ? src : ".");
    return buf;
}

static char *fixture(const char *name)
{
    static char buf[1200];
    snprintf(buf, sizeof buf, "%s/%s", data_dir(), name);
    return buf;
}

static void check_iss(const orb_tle *t)
{
    T_EQ(t->el.satnum, 25544);
    T_EQ(t->classification, 'U');
    T_STREQ(t->intl_desig, "98067A");
    T_EQ(t->elset_num, 292);
    T_EQ(t->rev_num, 56353);
    /* 2008 Jan 1.0 = JD 2454466.5; day 264.51782528 */
    T_NEAR(t->el.jd_epoch, 2454466.5 + 263.51782528, 1e-8);
    T_NEAR_REL(t->el.ndot, -0.00002182, TLE_REL, 0);
    T_NEAR(t->el.nddot, 0.0, 0.0);
    T_NEAR_REL(t->el.bstar, -0.11606e-4, TLE_REL, 0);
    T_NEAR_REL(t->el.incl_rad, 51.6416 * DEG, TLE_REL, 0);
    T_NEAR_REL(t->el.raan_rad, 247.4627 * DEG, TLE_REL, 0);
    T_NEAR_REL(t->el.ecc, 0.0006703, TLE_REL, 0);
    T_NEAR_REL(t->el.argp_rad, 130.5360 * DEG, TLE_REL, 0);
    T_NEAR_REL(t->el.mean_anom_rad, 325.0288 * DEG, TLE_REL, 0);
    T_NEAR_REL(t->el.n_radmin, 15.72125391 * REVDAY, TLE_REL, 0);
}

static void check_vanguard(const orb_tle *t)
{
    T_EQ(t->el.satnum, 5);
    T_STREQ(t->intl_desig, "58002B");
    T_EQ(t->elset_num, 475);
    T_EQ(t->rev_num, 41366);
    /* 2000 Jan 1.0 = JD 2451544.5; day 179.78495062 */
    T_NEAR(t->el.jd_epoch, 2451544.5 + 178.78495062, 1e-8);
    T_NEAR_REL(t->el.ndot, 0.00000023, TLE_REL, 0);
    T_NEAR_REL(t->el.bstar, 0.28098e-4, TLE_REL, 0);
    T_NEAR_REL(t->el.ecc, 0.1859667, TLE_REL, 0);
    T_NEAR_REL(t->el.incl_rad, 34.2682 * DEG, TLE_REL, 0);
    T_NEAR_REL(t->el.n_radmin, 10.82419157 * REVDAY, TLE_REL, 0);
}

static void test_good_files(void)
{
    orb_tle *t = NULL;
    size_t n = 0;
    cs_err err;

    cs_err_clear(&err);
    T_EQ(orb_tle_load(fixture("good_3line.tle"), &t, &n, &err), 0);
    T_EQ(n, 2);
    if (n == 2) {
        check_iss(&t[0]);
        T_STREQ(t[0].name, "ISS (ZARYA)");
        T_EQ(t[0].line, 2);
        check_vanguard(&t[1]);
        T_STREQ(t[1].name, "VANGUARD 1"); /* "0 " prefix of the title dropped */
        T_EQ(t[1].line, 5);
    }
    free(t);

    T_EQ(orb_tle_load(fixture("good_2line.tle"), &t, &n, &err), 0);
    T_EQ(n, 2);
    if (n == 2) {
        check_vanguard(&t[0]);
        T_STREQ(t[0].name, "");
        T_EQ(t[0].line, 1);
        T_STREQ(t[1].name, "");
        T_EQ(t[1].el.satnum, 25544);
        T_EQ(t[1].line, 3);
    }
    free(t);

    /* CRLF, comments, blank lines, trailing blanks, 3- and 2-line sets mixed */
    T_EQ(orb_tle_load(fixture("good_mixed_crlf.tle"), &t, &n, &err), 0);
    T_EQ(n, 3);
    if (n == 3) {
        check_iss(&t[0]);
        T_STREQ(t[0].name, "ISS (ZARYA)"); /* trailing blanks trimmed */
        T_EQ(t[0].line, 4);
        T_STREQ(t[1].name, "");
        check_vanguard(&t[1]);
        T_EQ(t[1].line, 7);
        T_STREQ(t[2].name, "XM-3");
        T_EQ(t[2].el.satnum, 28626);
        T_STREQ(t[2].intl_desig, "05008A");
        T_NEAR_REL(t[2].el.ecc, 0.0000335, TLE_REL, 0);
        T_NEAR_REL(t[2].el.incl_rad, 0.0019 * DEG, TLE_REL, 0);
        T_NEAR_REL(t[2].el.bstar, 1.0e-4, TLE_REL, 0);
        /* 2006 Jan 1.0 = JD 2453736.5; day 176.46683397 */
        T_NEAR(t[2].el.jd_epoch, 2453736.5 + 175.46683397, 1e-8);
        T_EQ(t[2].line, 11);
    }
    free(t);
}

/* orb_tle_parse_text: the same sets as the file, from text that is not NUL-terminated (a partial
 * third line follows the length given); errors name the label. */
static void test_load_text(void)
{
    char text[400];
    int len = snprintf(text, sizeof text, "ISS (ZARYA)\n%s\n%s\n", k_iss1, k_iss2);
    snprintf(text + len, sizeof text - (size_t)len, "1 25544U");
    orb_tle *t = NULL;
    size_t n = 0;
    cs_err err;
    cs_err_clear(&err);
    T_EQ(orb_tle_parse_text("mem.tle", text, (size_t)len, &t, &n, &err), 0);
    T_EQ(n, 1);
    if (n == 1) {
        check_iss(&t[0]);
        T_STREQ(t[0].name, "ISS (ZARYA)");
        T_EQ(t[0].line, 2);
    }
    free(t);
    T_EQ(orb_tle_parse_text("mem.tle", text, strlen(text), &t, &n, &err), CS_EINVAL);
    T_TRUE(t == NULL && n == 0);
    T_STREQ(err.path, "mem.tle");
    T_EQ(err.line, 4);
    T_EQ(orb_tle_parse_text("mem.tle", NULL, 0, &t, &n, &err), 0);
    T_TRUE(t == NULL && n == 0);
}

typedef struct bad_case {
    const char *file;
    long line, col;
    const char *msg;
} bad_case;

static void test_bad_files(void)
{
    static const bad_case cases[] = {
        {"bad_checksum.tle", 2, 69,
         "TLE line 1: checksum mismatch: column 69 says 8, the line sums to 7"},
        {"bad_line_number.tle", 3, 1, "TLE line 2: expected line number '2' in column 1, got '3'"},
        {"bad_catalog_mismatch.tle", 4, 3,
         "TLE line 2: catalogue number 25545 does not match 25544 on line 1"},
        {"bad_shifted_column.tle", 3, 11,
         "TLE line 2: inclination: decimal point in column 11, expected in column 12"},
        {"bad_letter_in_number.tle", 3, 63, "TLE line 2: mean motion: expected a digit, got 'l'"},
        {"bad_truncated_line.tle", 3, 61, "TLE line 2: too short: 60 columns, expected 69"},
        {"bad_missing_line2.tle", 2, 0, "TLE line 2 is missing after line 1 (of satellite 25544)"},
        {"bad_eccentricity.tle", 3, 27,
         "TLE line 2: eccentricity: expected 7 digits (implied leading decimal point), got '.'"},
        {"bad_inclination_range.tle", 3, 9,
         "TLE line 2: inclination 181.6416 deg out of range 0..180"},
        {"bad_mean_motion_zero.tle", 3, 53,
         "TLE line 2: mean motion must be > 0 rev/day, got 0.00000000"},
        {"bad_trailing_text.tle", 2, 70, "TLE line 2: unexpected text after column 69"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        orb_tle *t = (orb_tle *)&t; /* must be reset to NULL */
        size_t n = 99;
        cs_err err;
        cs_err_clear(&err);
        const char *path = fixture(c->file);
        int rc = orb_tle_load(path, &t, &n, &err);
        fprintf(stderr, "  %s -> %s:%ld:%ld: %s\n", c->file, err.path, err.line, err.col, err.msg);
        T_EQ(rc, CS_EINVAL);
        T_EQ(err.code, CS_EINVAL);
        T_STREQ(err.path, path);
        T_EQ(err.line, c->line);
        T_EQ(err.col, c->col);
        T_STREQ(err.msg, c->msg);
        T_TRUE(t == NULL);
        T_EQ(n, 0);
    }

    orb_tle *t = NULL;
    size_t n = 0;
    cs_err err;
    T_EQ(orb_tle_load(fixture("no_such_file.tle"), &t, &n, &err), CS_EINVAL);
    T_EQ(err.code, CS_EINVAL);
}

static void test_parse_strings(void)
{
    orb_tle t;
    cs_err err;
    char l1[96], l2[96];

    /* from strings: line 0, trailing CR/LF tolerated, title trimmed */
    snprintf(l1, sizeof l1, "%s\r\n", k_iss1);
    snprintf(l2, sizeof l2, "%s\n", k_iss2);
    T_EQ(orb_tle_parse("  ISS (ZARYA)  \r\n", l1, l2, NULL, 0, &t, &err), 0);
    check_iss(&t);
    T_STREQ(t.name, "ISS (ZARYA)");
    T_EQ(t.line, 0);
    T_EQ(orb_tle_parse(NULL, k_iss1, k_iss2, NULL, 0, &t, &err), 0);
    T_STREQ(t.name, "");

    /* errors from strings: no line; with a line number, line 2 is reported one below */
    cs_err_clear(&err);
    T_EQ(orb_tle_parse(NULL, k_iss1, NULL, NULL, 0, &t, &err), CS_EINVAL);
    T_CONTAINS(err.msg, "TLE line 2 is missing");
    snprintf(l2, sizeof l2, "%s", k_iss2);
    l2[10] = 'x';
    T_EQ(orb_tle_parse(NULL, k_iss1, l2, "sats.tle", 10, &t, &err), CS_EINVAL);
    T_EQ(err.line, 11);
    T_EQ(err.col, 11);
    T_STREQ(err.path, "sats.tle");
    T_STREQ(err.msg, "TLE line 2: inclination: expected a digit, got 'x'");
    T_EQ(orb_tle_parse(NULL, k_iss1, l2, NULL, 0, &t, &err), CS_EINVAL);
    T_EQ(err.line, 0);

    /* a digit where the layout has a blank */
    snprintf(l2, sizeof l2, "%s", k_iss2);
    l2[16] = '9';
    T_EQ(orb_tle_parse(NULL, k_iss1, l2, NULL, 0, &t, &err), CS_EINVAL);
    T_EQ(err.col, 17);
    T_STREQ(err.msg,
            "TLE line 2: expected a blank in column 17 (before the right ascension of the node), "
            "got '9'");

    /* a letter in line 1's drag term (the checksum would catch it too: fields come first) */
    snprintf(l1, sizeof l1, "%s", k_iss1);
    l1[57] = 'O';
    T_EQ(orb_tle_parse(NULL, l1, k_iss2, NULL, 5, &t, &err), CS_EINVAL);
    T_EQ(err.line, 5);
    T_EQ(err.col, 58);
    T_STREQ(err.msg, "TLE line 1: drag term (bstar): expected a digit, got 'O'");

    /* wrong line number on line 1 */
    snprintf(l1, sizeof l1, "%s", k_iss1);
    l1[0] = '2';
    T_EQ(orb_tle_parse(NULL, l1, k_iss2, NULL, 1, &t, &err), CS_EINVAL);
    T_STREQ(err.msg, "TLE line 1: expected line number '1' in column 1, got '2'");

    /* epoch day out of range */
    snprintf(l1, sizeof l1, "%s", k_iss1);
    memcpy(l1 + 20, "000", 3); /* day 000.51782528 */
    T_EQ(orb_tle_parse_flags(NULL, l1, k_iss2, NULL, 0, ORB_TLE_NO_CHECKSUM, &t, &err), CS_EINVAL);
    T_CONTAINS(err.msg, "epoch day 0.51782528 out of range 1..366");

    /* the checksum flag: a wrong checksum passes with ORB_TLE_NO_CHECKSUM only */
    snprintf(l1, sizeof l1, "%s", k_iss1);
    l1[68] = '0';
    T_EQ(orb_tle_parse(NULL, l1, k_iss2, NULL, 0, &t, &err), CS_EINVAL);
    T_CONTAINS(err.msg, "checksum mismatch: column 69 says 0, the line sums to 7");
    T_EQ(orb_tle_parse_flags(NULL, l1, k_iss2, NULL, 0, ORB_TLE_NO_CHECKSUM, &t, &err), 0);
    check_iss(&t);
    l1[68] = 'X';
    T_EQ(orb_tle_parse_flags(NULL, l1, k_iss2, NULL, 0, ORB_TLE_NO_CHECKSUM, &t, &err), CS_EINVAL);
    T_EQ(err.col, 69);

    /* a title too long for the name field */
    T_EQ(orb_tle_parse("A NAME THAT IS MUCH LONGER THAN THIRTY-ONE CHARACTERS", k_iss1, k_iss2,
                       NULL, 0, &t, &err),
         CS_EINVAL);
    T_CONTAINS(err.msg, "name longer than 31 characters");

    /* a '-' counts 1 in the checksum: line 1 of the ISS has two of them and sums to 7 */
    snprintf(l1, sizeof l1, "%s", k_iss1);
    l1[33] = ' '; /* '-' of ndot -> ' ': sum 6, the checksum says 7 */
    T_EQ(orb_tle_parse(NULL, l1, k_iss2, NULL, 0, &t, &err), CS_EINVAL);
    T_CONTAINS(err.msg, "the line sums to 6");
}

static void test_sgp4_reference(void)
{
    /* python-sgp4 2.15 (Satrec.twoline2rv, WGS72, sgp4_tsince) on the ISS set */
    static const double ref[2][7] = {
        {0.0, 4083.902463521, -993.631999606, 5243.603665371, 2.512837295156, 7.259888524981,
         -0.583778536506},
        {1440.0, -3199.119301995, -5925.838895195, -104.283883010, 4.160900126061, -2.340866691092,
         6.034239787489},
    };
    orb_tle t;
    cs_err err;
    orb_sgp4 s;
    T_EQ(orb_tle_parse(NULL, k_iss1, k_iss2, NULL, 0, &t, &err), 0);
    T_EQ(orb_sgp4_init(&s, &t.el, &err), 0);
    for (int k = 0; k < 2; k++) {
        double r[3], v[3];
        T_EQ(orb_sgp4_propagate(&s, ref[k][0], r, v), 0);
        for (int i = 0; i < 3; i++) {
            T_NEAR(r[i], ref[k][1 + i], 1e-6);
            T_NEAR(v[i], ref[k][4 + i], 1e-9);
        }
    }
    /* no NaN state is ever returned as valid */
    double r[3], v[3];
    T_EQ(orb_sgp4_propagate(&s, NAN, r, v), ORB_SGP4_E_DECAYED);
    T_EQ(orb_sgp4_propagate(&s, INFINITY, r, v), ORB_SGP4_E_DECAYED);
}

static void expect_init_error(const orb_elements *el, int code, const char *what)
{
    orb_sgp4 s;
    cs_err err;
    cs_err_clear(&err);
    fprintf(stderr, "  init (%s): ", what);
    int rc = orb_sgp4_init(&s, el, &err);
    fprintf(stderr, "%s\n", err.msg);
    T_EQ(rc, CS_EINVAL);
    T_EQ(err.code, CS_EINVAL);
    T_EQ(s.error, code);
    char want[64];
    snprintf(want, sizeof want, "sgp4 error %d (%s)", code, orb_sgp4_strerror(code));
    T_CONTAINS(err.msg, want);
    double r[3], v[3];
    T_EQ(orb_sgp4_propagate(&s, 10.0, r, v), code);
}

static void test_sgp4_init_rejects(void)
{
    orb_tle t;
    cs_err err;
    T_EQ(orb_tle_parse(NULL, k_iss1, k_iss2, NULL, 0, &t, &err), 0);

    orb_elements el = t.el;
    el.ecc = 1.2;
    expect_init_error(&el, ORB_SGP4_E_ECC, "eccentricity 1.2");
    el.ecc = -0.1;
    expect_init_error(&el, ORB_SGP4_E_ECC, "eccentricity -0.1");
    el = t.el;
    el.n_radmin = 0.0;
    expect_init_error(&el, ORB_SGP4_E_MEANMOTION, "mean motion 0");
    el.n_radmin = -0.01;
    expect_init_error(&el, ORB_SGP4_E_MEANMOTION, "mean motion < 0");
    /* 17.5 rev/day, circular: mean radius ~0.98 earth radii, below the surface at epoch */
    el = t.el;
    el.n_radmin = 17.5 * REVDAY;
    el.ecc = 0.0;
    expect_init_error(&el, ORB_SGP4_E_DECAYED, "below the surface");
    /* the verification set's 33334 (mean motion 1e-5 rev/day): lunar-solar terms drive the
     * eccentricity out of range at the epoch */
    static const char *s1 = "1 33334U 78066F   06174.85818871  .00000620  00000-0  10000-3 0  6809";
    static const char *s2 = "2 33334  68.4714 236.1303 5602877 123.7484 302.5767  0.00001000 67521";
    T_EQ(orb_tle_parse_flags(NULL, s1, s2, NULL, 0, ORB_TLE_NO_CHECKSUM, &t, &err), 0);
    expect_init_error(&t.el, ORB_SGP4_E_PERT_ECC, "33334");
}

/* Limits: a path that is not a regular file is refused without blocking (a FIFO would wait for
 * a writer: alarm() ends the test if it does), a file above ORB_TLE_MAX_FILE_BYTES before it is
 * read, and the set after the ORB_TLE_MAX_SETS-th at its line. */
static void test_limits(void)
{
    char dir[] = "/tmp/test_tle.XXXXXX";
    if (!mkdtemp(dir)) {
        T_TRUE(!"mkdtemp failed");
        return;
    }
    char fifo[300], big[300];
    snprintf(fifo, sizeof fifo, "%s/sets.fifo", dir);
    snprintf(big, sizeof big, "%s/big.tle", dir);
    orb_tle *t = NULL;
    size_t n = 0;
    cs_err err;
    T_EQ(mkfifo(fifo, 0600), 0);
    alarm(30);
    T_EQ(orb_tle_load(fifo, &t, &n, &err), CS_EINVAL);
    T_STREQ(err.msg, "is not a regular file");
    T_EQ(orb_tle_load("/dev/zero", &t, &n, &err), CS_EINVAL);
    T_STREQ(err.msg, "is not a regular file");
    T_EQ(orb_tle_load(dir, &t, &n, &err), CS_EINVAL);
    T_STREQ(err.msg, "is a directory, not a file");
    alarm(0);
    FILE *f = fopen(big, "w");
    T_TRUE(f != NULL);
    if (f) {
        T_EQ(ftruncate(fileno(f), (off_t)ORB_TLE_MAX_FILE_BYTES + 1), 0);
        fclose(f);
    }
    T_EQ(orb_tle_load(big, &t, &n, &err), CS_EINVAL);
    T_STREQ(err.path, big);
    T_STREQ(err.msg,
            "is 33554433 bytes, more than the 33554432 bytes (32 MiB) a TLE file may have");
    T_TRUE(t == NULL);
    unlink(big);
    unlink(fifo);
    rmdir(dir);

    /* ORB_TLE_MAX_SETS two-line sets load; one more is an error at its line 1. */
    size_t set_len = strlen(k_iss1) + strlen(k_iss2) + 2;
    size_t cap = (ORB_TLE_MAX_SETS + 1) * set_len + 1, len = 0;
    char *text = malloc(cap);
    T_TRUE(text != NULL);
    if (!text)
        return;
    for (int i = 0; i < ORB_TLE_MAX_SETS; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s\n%s\n", k_iss1, k_iss2);
    T_EQ(orb_tle_parse_text("many.tle", text, len, &t, &n, &err), 0);
    T_EQ(n, ORB_TLE_MAX_SETS);
    free(t);
    len += (size_t)snprintf(text + len, cap - len, "%s\n%s\n", k_iss1, k_iss2);
    T_EQ(orb_tle_parse_text("many.tle", text, len, &t, &n, &err), CS_EINVAL);
    T_STREQ(err.path, "many.tle");
    T_EQ(err.line, 2L * ORB_TLE_MAX_SETS + 1);
    T_STREQ(err.msg, "more than 100000 TLE sets: a TLE file holds at most that many (as many as a "
                     "scenario may have satellites)");
    T_TRUE(t == NULL);
    T_EQ(n, 0);
    free(text);
}

int main(void)
{
    test_limits();
    test_good_files();
    test_load_text();
    test_bad_files();
    test_parse_strings();
    test_sgp4_reference();
    test_sgp4_init_rejects();
    return t_done();
}
