/* test_compare.c - constsim compare on hand-written inputs (tests/data/compare/): two reports
 * (alpha, beta), a one-run report (solo) and a sweep folder (sweep/: a done point with its
 * report, a done point whose report is absent, a failed and a pending point, four axes of which
 * two end in the same component). Checks the best-value marks cell by cell, the CSV values read
 * back exactly, --sort orders (stable), the DIR form, the machine note and the error exits; the
 * library's limit on a sweep's axes. */
#include "cs_buf.h"
#include "rep.h"
#include "swp.h"
#include "t.h"
#include "t_cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DATA "tests/data/compare"

static char tmp[64];

/* Runs "constsim compare ARGS > tmp/out 2> tmp/err"; its exit status. */
static int compare(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s compare %s > %s/out 2> %s/err", t_exe(), args, tmp, tmp);
    return t_sh(cmd);
}

/* tmp/out or tmp/err, malloc'd. */
static char *output(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    return t_slurp(path, NULL);
}

/* The line of text that starts with start and contains has (malloc'd), NULL if none. */
static char *line_of(const char *text, const char *start, const char *has)
{
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *line = malloc(n + 1);
        if (!line)
            return NULL;
        memcpy(line, p, n);
        line[n] = '\0';
        if (strncmp(line, start, strlen(start)) == 0 && strstr(line, has))
            return line;
        free(line);
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == c;
    return n;
}

/* ---- a small RFC 4180 reader: rows of fields, in place --------------------------------------- */

enum { MAX_ROWS = 16, MAX_FIELDS = 16 };

typedef struct csv {
    int n_rows;
    int n_fields[MAX_ROWS];
    char *f[MAX_ROWS][MAX_FIELDS];
} csv;

/* Splits text (modified: fields are unquoted in place); false when it is not well-formed. */
static bool csv_parse(char *text, csv *out)
{
    memset(out, 0, sizeof *out);
    char *p = text;
    while (*p) {
        if (out->n_rows == MAX_ROWS)
            return false;
        int r = out->n_rows++;
        for (;;) {
            if (out->n_fields[r] == MAX_FIELDS)
                return false;
            char *w = p, *start = p;
            if (*p == '"') {
                for (p++;; p++) {
                    if (*p == '\0')
                        return false;
                    if (*p == '"' && p[1] == '"')
                        *w++ = '"', p++;
                    else if (*p == '"')
                        break;
                    else
                        *w++ = *p;
                }
                p++;
            } else {
                while (*p && *p != ',' && *p != '\n' && *p != '"')
                    p++;
                w = p;
            }
            char sep = *p;
            if (sep != ',' && sep != '\n')
                return false; /* a stray quote, or no final line end */
            *w = '\0';
            out->f[r][out->n_fields[r]++] = start;
            p++;
            if (sep == '\n')
                break;
        }
    }
    return true;
}

/* A field as a double, exactly as strtod reads it; NaN for an empty or bad field. */
static double fnum(const char *s)
{
    char *end = NULL;
    double v = strtod(s, &end);
    return *s && end && *end == '\0' ? v : NAN;
}

/* The columns of the CSV (the header checked in test_csv). */
enum {
    C_FILE,
    C_SOURCE,
    C_PREC,
    C_STATUS,
    C_ACC,
    C_DROP,
    C_PAYLOAD,
    C_COMP,
    C_BYTES,
    C_COST,
    C_ROUNDS,
    C_SIM,
    C_MSG,
    C_N
};

static const char *const header = "file,source,precision,status,accuracy,accuracy_drop_pct,"
                                  "payload_bytes,compression_ratio,bytes_total,cost_usd,"
                                  "rounds_completed,sim_time_s,message\n";

#define P0 "p0000 rounds=2 clients=3 0.cost_per_mb=2 1.cost_per_mb=0.7"
#define P1 "p0001 rounds=2 clients=5 0.cost_per_mb=2 1.cost_per_mb=0.7"
#define P2 "p0002 rounds=4 clients=3 0.cost_per_mb=2 1.cost_per_mb=0.7"
#define P3 "p0003 rounds=4 clients=5 0.cost_per_mb=2 1.cost_per_mb=0.7"
#define ALL DATA "/alpha.json " DATA "/beta.json " DATA "/sweep"

/* ---- the table and its marks --------------------------------------------------------------- */

typedef struct mark_case {
    const char *source, *prec; /* the row */
    int marks;                 /* '*' expected on it */
    const char *cells[5];      /* marked cells it must hold */
} mark_case;

static void test_marks(void)
{
    T_EQ(compare(ALL), 0);
    char *out = output("out");
    T_TRUE(out != NULL);
    /* best: accuracy 0.66 (p0001); drop -2 (p0000 int8); payload and compression: the int8
     * rows of alpha and p0000 (a tie); bytes 4 MB and sim time 5400 s (p0000 int8); cost 10.50
     * (alpha int8); rounds 4 (beta's two rows and p0001, a three-way tie). */
    static const mark_case cases[] = {
        {"alpha ", "fp32", 0, {NULL}},
        {"alpha ", "int8", 3, {"0.443 MB*", "3.93x*", "10.50*"}},
        {"beta ", "fp32", 1, {" 4*"}},
        {"beta ", "fp16", 1, {" 4*"}},
        {P0 " ", "fp32", 0, {NULL}},
        {P0 " ", "int8", 5, {"-2.00*", "0.443 MB*", "3.93x*", "4.00 MB*", "90.0 min*"}},
        {P1 " ", "fp32", 2, {"66.00%*", " 4*"}},
        {P2 " ", "(failed)", 0, {NULL}},
        {P3 " ", "(pending)", 0, {NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *line = line_of(out, cases[i].source, cases[i].prec);
        T_TRUE(line != NULL);
        if (!line) {
            fprintf(stderr, "no row %s %s\n", cases[i].source, cases[i].prec);
            continue;
        }
        T_EQ(count_char(line, '*'), cases[i].marks);
        for (int k = 0; k < 5 && cases[i].cells[k]; k++)
            T_CONTAINS(line, cases[i].cells[k]);
        free(line);
    }
    /* the failed and pending points have dashes, never numbers */
    char *failed = line_of(out, P2, "(failed)");
    T_TRUE(failed && strpbrk(failed + strlen(P2), "0123456789") == NULL);
    free(failed);
    /* p0001's report is absent: no payload or compression */
    char *p1 = line_of(out, P1, "fp32");
    T_CONTAINS(p1, "+0.00         -         -  40.00 MB");
    free(p1);
    T_CONTAINS(out, "\n* best: highest accuracy, compress, rounds; lowest drop, payload, bytes, "
                    "cost, sim time\n");
    /* p0000's report ran on 1 thread and Haswell, alpha and beta on 2 threads and SkylakeX */
    T_CONTAINS(out, "\nnote: the reports ran with different BLAS or convolution kernels (SkylakeX; Haswell)");
    T_TRUE(strncmp(out, "source ", 7) == 0);
    T_EQ(count_char(out, '\n'), 12); /* header, 9 rows, legend, note */
    free(out);

    /* reports from one machine: no note */
    T_EQ(compare(DATA "/alpha.json " DATA "/beta.json"), 0);
    out = output("out");
    T_TRUE(out && !strstr(out, "note:"));
    free(out);

    /* one row: nothing to compare, no marks and no legend */
    T_EQ(compare(DATA "/solo.json"), 0);
    out = output("out");
    T_TRUE(out && !strchr(out, '*'));
    T_EQ(count_char(out, '\n'), 2);
    char *solo = line_of(out, "solo ", "int8");
    T_CONTAINS(solo, " -  0.443 MB"); /* no fp32 run: no drop */
    free(solo);
    free(out);
}

/* ---- CSV ----------------------------------------------------------------------------------- */

static void test_csv(void)
{
    T_EQ(compare(ALL " --csv"), 0);
    char *out = output("out"), *err = output("err");
    T_TRUE(out && err);
    if (!out || !err) {
        free(out);
        free(err);
        return;
    }
    T_TRUE(strncmp(out, header, strlen(header)) == 0);
    T_TRUE(!strchr(out, '*'));
    T_CONTAINS(err, "note: the reports ran with different BLAS or convolution kernels"); /* not in the CSV */
    csv c;
    T_TRUE(csv_parse(out, &c));
    T_EQ(c.n_rows, 10);
    for (int r = 0; r < c.n_rows; r++)
        T_EQ(c.n_fields[r], C_N);
    if (c.n_rows != 10) {
        free(out);
        free(err);
        return;
    }
    char **alpha8 = c.f[2], **beta16 = c.f[4], **p0_8 = c.f[6], **p1 = c.f[7], **p2 = c.f[8];
    T_STREQ(c.f[1][C_FILE], DATA "/alpha.json");
    T_STREQ(c.f[1][C_SOURCE], "alpha");
    T_STREQ(alpha8[C_PREC], "int8");
    T_STREQ(alpha8[C_STATUS], "done");
    /* raw values: exactly the doubles of the inputs */
    T_TRUE(fnum(alpha8[C_ACC]) == 0.58); /* a fraction, not a percentage */
    T_TRUE(fnum(alpha8[C_DROP]) == (0.6 - 0.58) * 100);
    T_STREQ(alpha8[C_PAYLOAD], "443016"); /* bytes as integers */
    T_TRUE(fnum(alpha8[C_COMP]) == 3.93235458764469);
    T_STREQ(alpha8[C_BYTES], "6000000");
    T_TRUE(fnum(alpha8[C_COST]) == 10.5);
    T_STREQ(alpha8[C_ROUNDS], "3");
    T_TRUE(fnum(alpha8[C_SIM]) == 9000);
    /* the same numbers as the report holds */
    char *text = t_slurp(DATA "/alpha.json", NULL);
    cJSON *alpha = text ? cJSON_Parse(text) : NULL;
    const cJSON *run = cJSON_GetArrayItem(t_get(alpha, "runs"), 1);
    T_TRUE(fnum(alpha8[C_COMP]) == t_num(run, "compression_ratio"));
    T_TRUE(fnum(alpha8[C_PAYLOAD]) == t_num(run, "payload_bytes"));
    T_TRUE(fnum(alpha8[C_ACC]) == t_num(t_get(run, "final"), "accuracy"));
    cJSON_Delete(alpha);
    free(text);
    T_TRUE(fnum(beta16[C_COMP]) == 1.9975691084131781);
    T_TRUE(fnum(beta16[C_SIM]) == 12000.000000000002); /* 17 digits needed */
    T_STREQ(beta16[C_SIM], "12000.000000000002");
    /* a sweep row: figures of sweep.json, payload from the point's report, drop vs its fp32 */
    T_STREQ(p0_8[C_FILE], DATA "/sweep/sweep.json");
    T_STREQ(p0_8[C_SOURCE], P0);
    T_TRUE(fnum(p0_8[C_ACC]) == 0.57);
    T_TRUE(fnum(p0_8[C_DROP]) == (0.55 - 0.57) * 100);
    T_STREQ(p0_8[C_PAYLOAD], "443016");
    T_TRUE(fnum(p0_8[C_COST]) == 12.125);
    T_STREQ(p0_8[C_BYTES], "4000000");
    T_STREQ(p1[C_PAYLOAD], ""); /* no report */
    T_STREQ(p1[C_COMP], "");
    T_TRUE(fnum(p1[C_DROP]) == 0);
    T_STREQ(p2[C_STATUS], "failed");
    T_STREQ(p2[C_PREC], "");
    for (int k = C_ACC; k <= C_SIM; k++)
        T_STREQ(p2[k], "");
    T_STREQ(p2[C_MSG], "federated.clients_per_round: 5 is more than federated.clients (3)");
    T_STREQ(c.f[9][C_STATUS], "pending");
    free(out);
    free(err);

    /* quoting: a file name with a comma and a quote */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s/solo.json '%s/a,\"b.json'", DATA, tmp);
    T_EQ(t_sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "'%s/a,\"b.json' --csv", tmp);
    T_EQ(compare(cmd), 0);
    out = output("out");
    char want[128];
    snprintf(want, sizeof want, "\n\"%s/a,\"\"b.json\",solo,int8,done,0.5,,443016,", tmp);
    T_CONTAINS(out, want);
    if (out && csv_parse(out, &c)) {
        char name[128];
        snprintf(name, sizeof name, "%s/a,\"b.json", tmp);
        T_EQ(c.n_rows, 2);
        T_STREQ(c.f[1][C_FILE], name);
    } else {
        T_TRUE(!"the quoted CSV parses");
    }
    free(out);
}

/* ---- --sort -------------------------------------------------------------------------------- */

/* The CSV of `compare ALL --csv --sort key` matches want (source prefix and precision per row). */
static void check_order(const char *key, const char *const want[][2], int n)
{
    char args[512];
    snprintf(args, sizeof args, ALL " --csv --sort %s", key);
    T_EQ(compare(args), 0);
    char *out = output("out");
    csv c;
    T_TRUE(out && csv_parse(out, &c));
    T_EQ(c.n_rows, n + 1);
    for (int i = 0; out && i < n && i + 1 < c.n_rows; i++) {
        const char *src = c.f[i + 1][C_SOURCE], *prec = c.f[i + 1][C_PREC];
        bool ok =
            strncmp(src, want[i][0], strlen(want[i][0])) == 0 && strcmp(prec, want[i][1]) == 0;
        if (!ok)
            fprintf(stderr, "--sort %s: row %d is \"%s\" %s, expected %s %s\n", key, i, src, prec,
                    want[i][0], want[i][1]);
        T_TRUE(ok);
    }
    free(out);
}

static void test_sort(void)
{
    /* lowest cost first; the failed and pending points (no value) last, in input order */
    static const char *const cost[][2] = {
        {"alpha", "int8"}, {"p0000", "int8"}, {"p0000", "fp32"},
        {"beta", "fp16"},  {"alpha", "fp32"}, {"beta", "fp32"},
        {"p0001", "fp32"}, {"p0002", ""},     {"p0003", ""},
    };
    check_order("cost", cost, 9);
    /* most rounds first; equal counts keep their input order (stable) */
    static const char *const rounds[][2] = {
        {"beta", "fp32"},  {"beta", "fp16"},  {"p0001", "fp32"},
        {"alpha", "fp32"}, {"alpha", "int8"}, {"p0000", "fp32"},
        {"p0000", "int8"}, {"p0002", ""},     {"p0003", ""},
    };
    check_order("rounds", rounds, 9);
    /* lowest drop first: -2 (better than fp32), then every fp32 run at 0 in input order */
    static const char *const drop[][2] = {
        {"p0000", "int8"}, {"alpha", "fp32"}, {"beta", "fp32"},
        {"p0000", "fp32"}, {"p0001", "fp32"}, {"beta", "fp16"},
        {"alpha", "int8"}, {"p0002", ""},     {"p0003", ""},
    };
    check_order("drop", drop, 9);
    /* highest compression first; p0001 has none (its report is absent) */
    static const char *const comp[][2] = {
        {"alpha", "int8"}, {"p0000", "int8"}, {"beta", "fp16"}, {"alpha", "fp32"}, {"beta", "fp32"},
        {"p0000", "fp32"}, {"p0001", "fp32"}, {"p0002", ""},    {"p0003", ""},
    };
    check_order("compress", comp, 9);
    /* the table sorts too, and keeps its marks */
    T_EQ(compare(ALL " --sort accuracy"), 0);
    char *out = output("out");
    const char *first = out ? strchr(out, '\n') : NULL;
    T_TRUE(first && strncmp(first + 1, P1 " fp32", strlen(P1 " fp32")) == 0);
    T_CONTAINS(out, "66.00%*");
    free(out);
}

/* ---- the DIR form -------------------------------------------------------------------------- */

static void test_dir(void)
{
    T_EQ(compare(DATA "/sweep/sweep.json"), 0);
    char *a = output("out");
    T_EQ(compare(DATA "/sweep"), 0);
    char *b = output("out");
    T_EQ(compare(DATA "/sweep/"), 0);
    char *c = output("out");
    T_TRUE(a && b && c);
    T_STREQ(a, b);
    T_STREQ(a, c);
    T_EQ(count_char(a, '\n'), 7); /* header, 5 rows, legend */
    free(a);
    free(b);
    free(c);
    T_EQ(compare(DATA "/sweep/ --csv"), 0);
    a = output("out");
    T_CONTAINS(a, "\n" DATA "/sweep/sweep.json," P0 ",fp32,done,");
    free(a);
    /* Two sweeps: their points' labels are prefixed with the sweep's folder. */
    char cmd[512], args[300];
    snprintf(cmd, sizeof cmd, "cp -r %s/sweep %s/other", DATA, tmp);
    T_EQ(t_sh(cmd), 0);
    snprintf(args, sizeof args, "%s/sweep %s/other/", DATA, tmp);
    T_EQ(compare(args), 0);
    a = output("out");
    T_CONTAINS(a, "\nsweep/" P0);
    T_CONTAINS(a, "\nother/" P0);
    free(a);
}

/* ---- errors -------------------------------------------------------------------------------- */

/* compare args exits 2 with every needle on stderr. */
static void check_error(const char *args, const char *needle1, const char *needle2)
{
    T_EQ(compare(args), 2);
    char *err = output("err");
    T_CONTAINS(err, needle1);
    if (needle2)
        T_CONTAINS(err, needle2);
    free(err);
}

static void test_errors(void)
{
    check_error("tests/data/sim/e2e.yaml", "tests/data/sim/e2e.yaml: error: ", "not valid JSON");
    check_error(DATA "/alpha.json " DATA "/bad/other_format.json",
                DATA "/bad/other_format.json: error: ",
                "not a constsim report or sweep (\"format\" is not \"constsim-report/1\" or "
                "\"constsim-sweep/1\")");
    check_error(DATA "/bad", DATA "/bad: error: ", "a folder without sweep.json");
    check_error(DATA "/bad/bad_status",
                DATA "/bad/bad_status/sweep.json: error: ", "points[1]: \"status\" is \"running\"");
    check_error(DATA "/missing.json", DATA "/missing.json: error: ", "cannot open");
    check_error(DATA "/alpha.json --sort speed", "--sort: unknown key \"speed\"",
                "(one of: accuracy, drop, payload, compress, bytes, cost, rounds, sim_time)");
    check_error(DATA "/alpha.json --sort", "--sort needs a KEY", NULL);
    check_error("--csv", "expected at least one", NULL);
    check_error(DATA "/alpha.json --tsv", "unknown option \"--tsv\"", NULL);

    T_EQ(compare("--help"), 0);
    char *out = output("out");
    T_CONTAINS(out, "usage: constsim compare REPORT.json|SWEEP.json|DIR");
    T_CONTAINS(out, "--csv");
    T_CONTAINS(out, "--sort KEY");
    T_CONTAINS(out, "[sim_time]");
    free(out);
}

/* A sweep aggregate with more axes than constsim sweep writes (SWP_MAX_AXES) is refused: the
 * point labels compare every axis key with every other, so 20,000 axes (a 750 KB file) took 6 s.
 * Found by fuzz/fuzz_compare fed inputs beyond its -max_len. */
static void test_axes_limit(void)
{
    for (int pass = 0; pass < 3; pass++) {
        int n = pass == 0 ? 20000 : pass == 1 ? SWP_MAX_AXES + 1 : SWP_MAX_AXES;
        cs_buf b = {0};
        cs_buf_str(&b, "{\"format\": \"constsim-sweep/1\", \"axes\": [");
        for (int a = 0; a < n; a++)
            cs_buf_printf(&b, "%s{\"key\": \"x.k%d\", \"values\": [1]}", a ? ", " : "", a);
        cs_buf_str(&b, "], \"points\": [{\"id\": \"p0000\", \"status\": \"pending\"}]}");
        T_TRUE(!b.failed);
        rep_cmp c;
        rep_cmp_init(&c);
        cs_err err;
        cs_err_clear(&err);
        int rc = rep_cmp_add_text(&c, "s/sweep.json", b.p, b.len, &err);
        if (pass < 2) {
            T_EQ(rc, CS_EINVAL);
            T_STREQ(err.path, "s/sweep.json");
            T_STREQ(err.msg, "axes: more than 64, the most constsim sweep writes");
            T_EQ(c.n_rows, 0);
        } else {
            T_EQ(rc, 0);
            T_EQ(c.n_rows, 1);
        }
        rep_cmp_deinit(&c);
        cs_buf_free(&b);
    }
}

/* Text after the JSON value is refused (it was ignored: a report with garbage, or two reports,
 * in one file read as the first); blanks after it are fine. */
static void test_trailing_text(void)
{
    static const char *const texts[] = {
        "{\"format\": \"constsim-report/1\", \"runs\": []} \n\t\r\n",
        "{\"format\": \"constsim-report/1\", \"runs\": []}\n garbage ]]]",
        "{\"format\": \"constsim-report/1\", \"runs\": []}{\"format\": \"x\"}",
    };
    for (int i = 0; i < 3; i++) {
        rep_cmp c;
        rep_cmp_init(&c);
        cs_err err;
        cs_err_clear(&err);
        int rc = rep_cmp_add_text(&c, "r.json", texts[i], strlen(texts[i]), &err);
        if (i == 0) {
            T_EQ(rc, 0);
        } else {
            T_EQ(rc, CS_EINVAL);
            T_STREQ(err.msg, "not valid JSON: text after the JSON value");
            T_EQ(err.offset, i == 1 ? 45 : 43);
        }
        rep_cmp_deinit(&c);
    }
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/test_compare.XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_marks();
    test_csv();
    test_sort();
    test_dir();
    test_errors();
    test_axes_limit();
    test_trailing_text();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    t_sh(cmd);
    return t_done();
}
