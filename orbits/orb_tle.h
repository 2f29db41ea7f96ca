/* orb_tle.h - two-line element sets: validated parsing and loading of TLE files.
 *
 * Format (columns 1-based, as the NORAD two-line element format):
 *   line 1: 1 NNNNNC YYLLLPPP YYDDD.DDDDDDDD +.NNNNNNNN +NNNNN-N +NNNNN-N N NNNNK
 *   line 2: 2 NNNNN III.IIII RRR.RRRR EEEEEEE PPP.PPPP MMM.MMMM NN.NNNNNNNNRRRRRK
 * Each line is exactly 69 columns once trailing blanks, CR and LF are stripped: text after
 * column 69 is an error (the SGP4 verification file, which keeps start/stop/step there, is read
 * by its test, which hands orb_tle_parse line 2 cut to 69 columns). Column 69 is the modulo-10
 * checksum (digits count their value, '-' counts 1).
 *
 * Blanks are allowed where a right-aligned number has leading blanks (catalogue number, angles,
 * mean motion, element set and revolution numbers), in the international designator (all blank,
 * or YYNNN plus 1-3 piece letters), the classification and the ephemeris type. Classification
 * defaults to 'U'.
 *
 * Epoch years 57..99 are 1957..1999, 00..56 are 2000..2056.
 */
#ifndef ORB_TLE_H
#define ORB_TLE_H

#include <stddef.h>

#include "cs.h"
#include "orb_sgp4.h"

typedef struct orb_tle {
    char name[32]; /* from the title line of a 3-line set, trimmed; "" for a 2-line set */
    char intl_desig[12];
    char classification;
    int elset_num, rev_num;
    orb_elements el;
    long line; /* 1-based line number of line 1 in its file (0 when parsed from strings) */
} orb_tle;

/* Parses one set. name may be NULL (2-line set); a leading "0 " on the title line is dropped.
 * path/line only label errors ("path:line:col: ..."); line is that of line 1 (line 2 is reported
 * as line + 1). Validates line numbers ('1'/'2' in column 1), the catalogue number matching on
 * both lines, column layout (blanks where the format has blanks, digits/decimal points where it
 * has numbers), both checksums, value ranges (eccentricity: 7 digits, so [0, 1); inclination
 * 0..180, node, perigee and mean anomaly 0..360 deg; mean motion > 0; epoch day 1..365/366).
 * line2 == NULL is reported as a missing line 2. Returns 0 or CS_EINVAL with err filled
 * (err->col is the 1-based column of the offending character). out is written only on success. */
int orb_tle_parse(const char *name, const char *line1, const char *line2, const char *path,
                  long line, orb_tle *out, cs_err *err);

/* Flags for orb_tle_parse_flags. */
enum {
    ORB_TLE_NO_CHECKSUM = 1u, /* do not verify the checksums (column 69 must still be a digit);
                                 for test data whose lines were edited by hand */
};

/* orb_tle_parse with flags (ORB_TLE_*). */
int orb_tle_parse_flags(const char *name, const char *line1, const char *line2, const char *path,
                        long line, unsigned flags, orb_tle *out, cs_err *err);

/* Limits of a TLE file: 100,000 sets (as many as a scenario may have satellites) and 32 MiB
 * (100,000 three-line sets take about 17 MB; the whole CelesTrak active catalogue, some 10,000
 * sets, 1.7 MB). They keep a wrong path (a disk image, a log) from being read into memory. */
#define ORB_TLE_MAX_SETS 100000
#define ORB_TLE_MAX_FILE_BYTES ((size_t)32 << 20)

/* Loads a file of 2- or 3-line sets (mixing allowed; blank lines and lines starting with '#'
 * ignored; CRLF tolerated). *out is malloc'd (caller frees; NULL when *n is 0). Errors name the
 * file and line. A path that is not a regular file (a directory, a FIFO, a device), a file of
 * more than ORB_TLE_MAX_FILE_BYTES or of more than ORB_TLE_MAX_SETS sets is CS_EINVAL. */
int orb_tle_load(const char *path, orb_tle **out, size_t *n, cs_err *err);
/* orb_tle_load on text already read (len bytes, need not be NUL-terminated); path labels the
 * errors. For callers that read the file themselves (the scenario loader, which reports a path
 * that cannot be read at the scenario key that names it). */
int orb_tle_parse_text(const char *path, const char *text, size_t len, orb_tle **out, size_t *n,
                       cs_err *err);

/* The name a set goes by (in select lists and satellite names): its title, or its catalogue
 * number when it has none. */
void orb_tle_name(const orb_tle *t, char *out, size_t cap);
/* Index of the first of the n sets whose orb_tle_name is name, or -1. */
long orb_tle_find(const orb_tle *t, size_t n, const char *name);

#endif
