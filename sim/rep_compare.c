/* rep_compare.c - the rows of `constsim compare`: reports and sweep aggregates (docs/sweep.md)
 * read into one list of rows, the best value of each column, sorting, the table and the CSV. */
#include "rep.h"

#include "cs_buf.h"
#include "rep_internal.h"
#include "swp.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- columns ------------------------------------------------------------------------------ */

/* The column facts, and how the CSV prints them. */
typedef struct col_def {
    rep_col_info info;
    bool integer; /* printed as an integer in the CSV (bytes and counts) */
} col_def;

static const col_def cols[REP_COL_N] = {
    [REP_COL_ACCURACY] = {{"accuracy", "accuracy", "accuracy", +1}, false},
    [REP_COL_DROP] = {{"drop", "drop", "accuracy_drop_pct", -1}, false},
    [REP_COL_PAYLOAD] = {{"payload", "payload", "payload_bytes", -1}, true},
    [REP_COL_COMPRESS] = {{"compress", "compress", "compression_ratio", +1}, false},
    [REP_COL_BYTES] = {{"bytes", "bytes", "bytes_total", -1}, true},
    [REP_COL_COST] = {{"cost", "cost", "cost_usd", -1}, false},
    [REP_COL_ROUNDS] = {{"rounds", "rounds", "rounds_completed", +1}, true},
    [REP_COL_SIM_TIME] = {{"sim_time", "sim time", "sim_time_s", -1}, false},
};

const rep_col_info *rep_col_get(rep_col c)
{
    CS_ASSERT((int)c >= 0 && c < REP_COL_N);
    return &cols[c].info;
}

int rep_col_find(const char *key)
{
    for (int c = 0; c < REP_COL_N; c++)
        if (strcmp(cols[c].info.key, key) == 0)
            return c;
    return -1;
}

static const char *status_name(rep_status s)
{
    switch (s) {
    case REP_DONE:
        return "done";
    case REP_FAILED:
        return "failed";
    case REP_PENDING:
        return "pending";
    }
    return "?";
}

/* ---- the list ----------------------------------------------------------------------------- */

void rep_cmp_init(rep_cmp *c)
{
    memset(c, 0, sizeof *c);
    cs_buf_put(&c->text, "", 1); /* offset 0 is "" */
}

void rep_cmp_deinit(rep_cmp *c)
{
    if (!c)
        return;
    free(c->rows);
    cs_buf_free(&c->text);
    for (size_t i = 0; i < c->n_machines; i++)
        cJSON_Delete(c->machines[i]);
    free(c->machines);
    memset(c, 0, sizeof *c);
}

const char *rep_cmp_str(const rep_cmp *c, size_t off)
{
    CS_ASSERT(c->text.p && off < c->text.len);
    return c->text.p + off;
}

/* Appends s with its terminator to the text; its offset. */
static size_t put_str(rep_cmp *c, const char *s)
{
    size_t off = c->text.len;
    cs_buf_put(&c->text, s, strlen(s) + 1);
    return off;
}

/* A new row in input order, figures unknown; NULL when out of memory. */
static rep_row *push_row(rep_cmp *c, size_t file, size_t source, rep_status status)
{
    if (c->n_rows == c->cap_rows) {
        size_t cap = c->cap_rows ? 2 * c->cap_rows : 16;
        rep_row *p = cap < SIZE_MAX / sizeof *p ? realloc(c->rows, cap * sizeof *p) : NULL;
        if (!p)
            return NULL;
        c->rows = p;
        c->cap_rows = cap;
    }
    rep_row *r = &c->rows[c->n_rows];
    r->file = file;
    r->source = source;
    r->precision = 0;
    r->message = 0;
    r->status = status;
    r->point = false;
    r->order = c->n_rows++;
    for (int k = 0; k < REP_COL_N; k++)
        r->v[k] = NAN;
    return r;
}

/* Keeps the "machine" member of report j (which it takes out of j) for rep_machine_note. */
static int keep_machine(rep_cmp *c, cJSON *j)
{
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "machine")))
        return 0;
    if (c->n_machines == c->cap_machines) {
        size_t cap = c->cap_machines ? 2 * c->cap_machines : 8;
        cJSON **p = cap < SIZE_MAX / sizeof *p ? realloc(c->machines, cap * sizeof *p) : NULL;
        if (!p)
            return CS_ENOMEM;
        c->machines = p;
        c->cap_machines = cap;
    }
    cJSON *stub = cJSON_CreateObject();
    if (!stub)
        return CS_ENOMEM;
    cJSON_AddItemToObject(stub, "machine", cJSON_DetachItemFromObjectCaseSensitive(j, "machine"));
    c->machines[c->n_machines++] = stub;
    return 0;
}

static int no_memory(cs_err *err, const char *path)
{
    return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (compare)");
}

/* ---- reports ------------------------------------------------------------------------------ */

/* The run of report j in precision prec, NULL if none. */
static const cJSON *report_run(const cJSON *j, const char *prec)
{
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(j, "runs"))
    {
        if (strcmp(rep__str(run, "precision"), prec) == 0)
            return run;
    }
    return NULL;
}

static bool is_report(const cJSON *j)
{
    return strcmp(rep__str(j, "format"), REP_FORMAT) == 0;
}

static bool is_sweep(const cJSON *j)
{
    return strcmp(rep__str(j, "format"), SWP_FORMAT) == 0;
}

static int add_report(rep_cmp *c, const char *path, cJSON *j, cs_err *err)
{
    int rc = rep_check_report(j, path, err);
    if (rc)
        return rc;
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(j, "runs");
    size_t file = put_str(c, path);
    size_t source = put_str(c, rep__str(cJSON_GetObjectItemCaseSensitive(j, "scenario"), "name"));
    const cJSON *run;
    cJSON_ArrayForEach(run, runs)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(run, "final");
        rep_row *r = push_row(c, file, source, REP_DONE);
        if (!r)
            return no_memory(err, path);
        r->precision = put_str(c, rep__str(run, "precision"));
        r->v[REP_COL_ACCURACY] = rep__num(f, "accuracy");
        r->v[REP_COL_DROP] = rep__num(f, "accuracy_drop_pct");
        r->v[REP_COL_PAYLOAD] = rep__num(run, "payload_bytes");
        r->v[REP_COL_COMPRESS] = rep__num(run, "compression_ratio");
        r->v[REP_COL_BYTES] = rep__num(f, "bytes_total");
        r->v[REP_COL_COST] = rep__num(f, "cost_usd");
        r->v[REP_COL_ROUNDS] = rep__num(f, "rounds_completed");
        r->v[REP_COL_SIM_TIME] = rep__num(f, "sim_time_s");
    }
    return keep_machine(c, j) ? no_memory(err, path) : 0;
}

/* ---- sweeps ------------------------------------------------------------------------------- */

/* The axis keys of a sweep as the point column shows them: the last dotted component when no
 * other axis key ends the same way, else the shortest run of last components that no other key
 * ends with ("0.cost_per_mb" beside "1.cost_per_mb"). */
typedef struct axis {
    const char *key;   /* borrowed from the sweep document */
    const char *label; /* a suffix of key */
} axis;

/* True when key is suffix or ends with "." suffix. */
static bool ends_with_part(const char *key, const char *suffix)
{
    size_t n = strlen(key), m = strlen(suffix);
    return n >= m && strcmp(key + n - m, suffix) == 0 && (n == m || key[n - m - 1] == '.');
}

static void axis_labels(axis *ax, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *key = ax[i].key, *label = key + strlen(key);
        bool unique = false;
        while (!unique && label > key) {
            do /* one more component */
                label--;
            while (label > key && label[-1] != '.');
            unique = true;
            for (size_t k = 0; k < n && unique; k++)
                unique = k == i || !ends_with_part(ax[k].key, label);
        }
        ax[i].label = label;
    }
}

/* Appends " label=value" for one axis value of a point. */
static void put_value(cs_buf *b, const char *label, const cJSON *v)
{
    char num[40];
    const char *text = "?";
    if (cJSON_IsNumber(v)) {
        cs_fmt_double(num, sizeof num, v->valuedouble);
        text = num;
    } else if (cJSON_IsString(v)) {
        text = v->valuestring;
    } else if (cJSON_IsBool(v)) {
        text = cJSON_IsTrue(v) ? "true" : "false";
    }
    cs_buf_printf(b, " %s=%s", label, text);
}

/* The point column: "p0003 rounds=4 clients=5", in axis order. */
static size_t point_label(rep_cmp *c, const cJSON *pt, const axis *ax, size_t n_ax)
{
    size_t off = c->text.len;
    cs_buf_str(&c->text, rep__str(pt, "id"));
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(pt, "values");
    for (size_t i = 0; i < n_ax; i++)
        put_value(&c->text, ax[i].label, cJSON_GetObjectItemCaseSensitive(values, ax[i].key));
    cs_buf_put(&c->text, "", 1);
    return off;
}

static int parse_status(const char *s, rep_status *out)
{
    if (strcmp(s, "done") == 0)
        *out = REP_DONE;
    else if (strcmp(s, "failed") == 0)
        *out = REP_FAILED;
    else if (strcmp(s, "pending") == 0)
        *out = REP_PENDING;
    else
        return -1;
    return 0;
}

/* The report of a done point (points[].report, relative to the sweep folder dir) in *out, or
 * NULL when it does not exist. */
static int point_report(const char *dir, const cJSON *pt, cJSON **out, cs_err *err)
{
    *out = NULL;
    const cJSON *rel = cJSON_GetObjectItemCaseSensitive(pt, "report");
    if (!cJSON_IsString(rel) || rel->valuestring[0] == '\0')
        return 0;
    char path[1024];
    int len = rel->valuestring[0] == '/'
                  ? snprintf(path, sizeof path, "%s", rel->valuestring)
                  : snprintf(path, sizeof path, "%s/%s", dir, rel->valuestring);
    if (len < 0 || (size_t)len >= sizeof path)
        return cs_err_set(err, CS_EINVAL, dir, 0, 0, "%s: the path of its report is too long",
                          rep__str(pt, "id"));
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return 0;
    cJSON *j = NULL;
    int rc = rep_parse_json(path, &j, err);
    if (rc)
        return rc;
    if (!is_report(j)) {
        cJSON_Delete(j);
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "the report of sweep point %s is not a constsim report (\"format\" is "
                          "not \"%s\")",
                          rep__str(pt, "id"), REP_FORMAT);
    }
    *out = j;
    return 0;
}

/* The rows of one point: one per run when done, else one with its status. */
static int add_point(rep_cmp *c, const char *path, const char *dir, const cJSON *pt, size_t file,
                     const axis *ax, size_t n_ax, int index, cs_err *err)
{
    rep_status status;
    const char *st = rep__str(pt, "status");
    if (parse_status(st, &status))
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "points[%d]: \"status\" is \"%s\", expected done, failed or pending",
                          index, st);
    size_t source = point_label(c, pt, ax, n_ax);
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(pt, "runs");
    if (status != REP_DONE || cJSON_GetArraySize(runs) == 0) {
        rep_row *r = push_row(c, file, source, status);
        if (!r)
            return no_memory(err, path);
        r->point = true;
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(pt, "message");
        if (cJSON_IsString(msg))
            r->message = put_str(c, msg->valuestring);
        return 0;
    }

    cJSON *rep = NULL;
    int rc = point_report(dir, pt, &rep, err);
    if (rc)
        return rc;
    const cJSON *fp32 = NULL, *run;
    cJSON_ArrayForEach(run, runs)
    {
        if (!fp32 && strcmp(rep__str(run, "precision"), "fp32") == 0)
            fp32 = run;
    }
    cJSON_ArrayForEach(run, runs)
    {
        rep_row *r = push_row(c, file, source, REP_DONE);
        if (!r) {
            cJSON_Delete(rep);
            return no_memory(err, path);
        }
        r->point = true;
        const char *prec = rep__str(run, "precision");
        r->precision = put_str(c, prec);
        r->v[REP_COL_ACCURACY] = rep__num(run, "accuracy");
        if (fp32)
            r->v[REP_COL_DROP] = rep__drop_pct(rep__num(fp32, "accuracy"), r->v[REP_COL_ACCURACY]);
        r->v[REP_COL_BYTES] = rep__num(run, "bytes_total");
        r->v[REP_COL_COST] = rep__num(run, "cost_usd");
        r->v[REP_COL_ROUNDS] = rep__num(run, "rounds_completed");
        r->v[REP_COL_SIM_TIME] = rep__num(run, "sim_time_s");
        const cJSON *rr = rep ? report_run(rep, prec) : NULL;
        if (rr) {
            r->v[REP_COL_PAYLOAD] = rep__num(rr, "payload_bytes");
            r->v[REP_COL_COMPRESS] = rep__num(rr, "compression_ratio");
        }
    }
    rc = rep ? keep_machine(c, rep) : 0;
    cJSON_Delete(rep);
    return rc ? no_memory(err, path) : 0;
}

static int add_sweep(rep_cmp *c, const char *path, const cJSON *j, cs_err *err)
{
    const cJSON *points = cJSON_GetObjectItemCaseSensitive(j, "points");
    if (!cJSON_IsArray(points))
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "sweep without a \"points\" array");
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if ((size_t)(slash - path) >= sizeof dir)
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "path too long");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);

    const cJSON *axes = cJSON_GetObjectItemCaseSensitive(j, "axes");
    size_t n_ax = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, axes)
    {
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(a, "key")))
            return cs_err_set(err, CS_EINVAL, path, 0, 0, "axes[%zu]: no \"key\" string", n_ax);
        /* the point labels compare every axis key with every other (axis_labels) */
        if (++n_ax > SWP_MAX_AXES)
            return cs_err_set(err, CS_EINVAL, path, 0, 0,
                              "axes: more than %d, the most constsim sweep writes", SWP_MAX_AXES);
    }
    axis *ax = n_ax ? calloc(n_ax, sizeof *ax) : NULL;
    if (n_ax && !ax)
        return no_memory(err, path);
    n_ax = 0;
    cJSON_ArrayForEach(a, axes)
    {
        ax[n_ax++].key = cJSON_GetObjectItemCaseSensitive(a, "key")->valuestring;
    }
    axis_labels(ax, n_ax);

    size_t file = put_str(c, path);
    int rc = 0, index = 0;
    const cJSON *pt;
    cJSON_ArrayForEach(pt, points)
    {
        if (rc == 0)
            rc = add_point(c, path, dir, pt, file, ax, n_ax, index++, err);
    }
    free(ax);
    return rc;
}

/* ---- inputs ------------------------------------------------------------------------------- */

int rep_cmp_add(rep_cmp *c, const char *path, cs_err *err)
{
    char sweep[1024];
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        int len = snprintf(sweep, sizeof sweep, "%s%ssweep.json", path,
                           path[0] && path[strlen(path) - 1] == '/' ? "" : "/");
        if (len < 0 || (size_t)len >= sizeof sweep)
            return cs_err_set(err, CS_EINVAL, path, 0, 0, "path too long");
        if (stat(sweep, &st) != 0)
            return cs_err_set(err, CS_EINVAL, path, 0, 0,
                              "a folder without sweep.json: not a sweep folder (docs/sweep.md)");
        path = sweep;
    }
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = cs_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    rc = rep_cmp_add_text(c, path, (const char *)data, len, err);
    free(data);
    return rc;
}

int rep_cmp_add_text(rep_cmp *c, const char *path, const char *text, size_t len, cs_err *err)
{
    cJSON *j = NULL;
    int rc = rep_parse_json_text(path, text, len, &j, err);
    if (rc)
        return rc;
    if (is_report(j))
        rc = add_report(c, path, j, err);
    else if (is_sweep(j))
        rc = add_sweep(c, path, j, err);
    else
        rc = cs_err_set(err, CS_EINVAL, path, 0, 0,
                        "not a constsim report or sweep (\"format\" is not \"%s\" or \"%s\")",
                        REP_FORMAT, SWP_FORMAT);
    cJSON_Delete(j);
    if (rc == 0 && c->text.failed)
        rc = no_memory(err, path);
    return rc;
}

bool rep_cmp_machine_note(const rep_cmp *c, char *out, size_t cap)
{
    return rep_machine_note((const cJSON *const *)c->machines, c->n_machines, out, cap);
}

/* ---- best values and sorting -------------------------------------------------------------- */

/* True when a is better than b in a column whose best is dir (+1 highest, -1 lowest). */
static bool better(double a, double b, int dir)
{
    return dir > 0 ? a > b : a < b;
}

bool rep_cmp_best(const rep_cmp *c, rep_col col, double *best)
{
    int dir = rep_col_get(col)->best;
    size_t have = 0;
    for (size_t i = 0; i < c->n_rows; i++) {
        double v = c->rows[i].v[col];
        if (isnan(v))
            continue;
        if (have++ == 0 || better(v, *best, dir))
            *best = v;
    }
    return have >= 2;
}

/* A sort key: ascending order of (missing, k, order) is best first. */
typedef struct sort_key {
    bool missing;
    double k;
    size_t order;
    size_t row;
} sort_key;

static int cmp_key(const void *pa, const void *pb)
{
    const sort_key *a = pa, *b = pb;
    if (a->missing != b->missing)
        return a->missing ? 1 : -1;
    if (!a->missing && a->k != b->k)
        return a->k < b->k ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

int rep_cmp_sort(rep_cmp *c, rep_col col)
{
    if (c->n_rows < 2)
        return 0;
    int dir = rep_col_get(col)->best;
    sort_key *keys = calloc(c->n_rows, sizeof *keys);
    rep_row *rows = calloc(c->n_rows, sizeof *rows);
    if (!keys || !rows) {
        free(keys);
        free(rows);
        return CS_ENOMEM;
    }
    for (size_t i = 0; i < c->n_rows; i++) {
        double v = c->rows[i].v[col];
        keys[i] = (sort_key){isnan(v), dir > 0 ? -v : v, c->rows[i].order, i};
    }
    qsort(keys, c->n_rows, sizeof *keys, cmp_key);
    for (size_t i = 0; i < c->n_rows; i++)
        rows[i] = c->rows[keys[i].row];
    free(c->rows);
    c->rows = rows;
    c->cap_rows = c->n_rows;
    free(keys);
    return 0;
}

/* ---- the table ---------------------------------------------------------------------------- */

enum { CELL = 24 };

/* The text of a figure in the table ("-" when unknown), without the mark. */
static void fmt_cell(char *out, rep_col col, double v)
{
    if (isnan(v)) {
        snprintf(out, CELL, "-");
        return;
    }
    switch (col) {
    case REP_COL_ACCURACY:
        snprintf(out, CELL, "%.2f%%", 100 * v);
        break;
    case REP_COL_DROP:
        snprintf(out, CELL, "%+.2f", v);
        break;
    case REP_COL_PAYLOAD:
        snprintf(out, CELL, "%.3f MB", v / 1e6);
        break;
    case REP_COL_COMPRESS:
        snprintf(out, CELL, "%.2fx", v);
        break;
    case REP_COL_BYTES:
        snprintf(out, CELL, "%.2f MB", v / 1e6);
        break;
    case REP_COL_COST:
        snprintf(out, CELL, "%.2f", v);
        break;
    case REP_COL_ROUNDS:
        snprintf(out, CELL, "%.0f", v);
        break;
    case REP_COL_SIM_TIME:
        cs_fmt_duration(out, CELL, v);
        break;
    case REP_COL_N:
        CS_ASSERT(!"a column");
    }
}

static const char *precision_cell(const rep_cmp *c, const rep_row *r)
{
    if (r->status == REP_FAILED)
        return "(failed)";
    if (r->status == REP_PENDING)
        return "(pending)";
    return r->precision ? rep_cmp_str(c, r->precision) : "-";
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* "* best: highest accuracy, compress, rounds; lowest drop, ..." */
static void legend(cs_buf *s)
{
    cs_buf_str(s, "* best:");
    for (int pass = 0; pass < 2; pass++) {
        int dir = pass == 0 ? +1 : -1, k = 0;
        cs_buf_str(s, pass == 0 ? " highest" : "; lowest");
        for (int col = 0; col < REP_COL_N; col++)
            if (cols[col].info.best == dir)
                cs_buf_printf(s, "%s %s", k++ ? "," : "", cols[col].info.title);
    }
    cs_buf_str(s, "\n");
}

/* Ends a table line: drops the spaces of empty mark slots at its end. */
static void end_line(cs_buf *s)
{
    while (!s->failed && s->len > 0 && s->p[s->len - 1] == ' ')
        s->p[--s->len] = '\0';
    cs_buf_str(s, "\n");
}

#define SOURCE_CELL 512

/* The source column of row r: its label, prefixed "FOLDER/" (the sweep's folder name) for a
 * sweep point when multi. */
static const char *source_cell(const rep_cmp *c, const rep_row *r, bool multi, char *buf)
{
    const char *label = rep_cmp_str(c, r->source);
    if (!multi || !r->point)
        return label;
    const char *file = rep_cmp_str(c, r->file);
    const char *slash = strrchr(file, '/');
    size_t end = slash ? (size_t)(slash - file) : 0;
    while (end > 0 && file[end - 1] == '/') /* "DIR//sweep.json" from "DIR/" */
        end--;
    size_t start = end;
    while (start > 0 && file[start - 1] != '/')
        start--;
    if (end == start) /* sweep.json in the current folder */
        snprintf(buf, SOURCE_CELL, "%s", label);
    else
        snprintf(buf, SOURCE_CELL, "%.*s/%s", (int)(end - start), file + start, label);
    return buf;
}

char *rep_cmp_table(const rep_cmp *c)
{
    bool has_best[REP_COL_N], any_mark = false;
    double best[REP_COL_N];
    for (int col = 0; col < REP_COL_N; col++)
        has_best[col] = rep_cmp_best(c, (rep_col)col, &best[col]);

    /* every cell once, to size the columns: one block for all rows */
    size_t n_cells = 0;
    char(*cells)[CELL] = NULL;
    if (cs_size_mul(c->n_rows ? c->n_rows : 1, REP_COL_N, &n_cells) ||
        !(cells = calloc(n_cells, sizeof *cells)))
        return NULL;
    /* Points of two sweeps would share labels (p0000 ...): then each is prefixed with its
     * sweep's folder. */
    bool multi = false;
    const char *first = NULL; /* the sweep file of the first point row */
    for (size_t i = 0; i < c->n_rows && !multi; i++) {
        if (!c->rows[i].point)
            continue;
        const char *f = rep_cmp_str(c, c->rows[i].file);
        if (!first)
            first = f;
        else
            multi = strcmp(first, f) != 0;
    }
    size_t w_source = strlen("source"), w_prec = strlen("precision"), w[REP_COL_N];
    for (int col = 0; col < REP_COL_N; col++)
        w[col] = strlen(cols[col].info.title);
    for (size_t i = 0; i < c->n_rows; i++) {
        const rep_row *r = &c->rows[i];
        char src[SOURCE_CELL];
        w_source = max_size(w_source, strlen(source_cell(c, r, multi, src)));
        w_prec = max_size(w_prec, strlen(precision_cell(c, r)));
        for (int col = 0; col < REP_COL_N; col++) {
            char *cell = cells[i * REP_COL_N + (size_t)col];
            fmt_cell(cell, (rep_col)col, r->v[col]);
            w[col] = max_size(w[col], strlen(cell));
        }
    }

    /* each figure is followed by its mark slot: '*' or ' ' */
    cs_buf s = {0};
    cs_buf_printf(&s, "%-*s %-*s", (int)w_source, "source", (int)w_prec, "precision");
    for (int col = 0; col < REP_COL_N; col++)
        cs_buf_printf(&s, " %*s ", (int)w[col], cols[col].info.title);
    end_line(&s);
    for (size_t i = 0; i < c->n_rows; i++) {
        const rep_row *r = &c->rows[i];
        char src[SOURCE_CELL];
        cs_buf_printf(&s, "%-*s %-*s", (int)w_source, source_cell(c, r, multi, src), (int)w_prec,
                      precision_cell(c, r));
        for (int col = 0; col < REP_COL_N; col++) {
            bool mark = has_best[col] && r->v[col] == best[col];
            any_mark |= mark;
            cs_buf_printf(&s, " %*s%c", (int)w[col], cells[i * REP_COL_N + (size_t)col],
                          mark ? '*' : ' ');
        }
        end_line(&s);
    }
    free(cells);
    if (any_mark)
        legend(&s);
    return cs_buf_take(&s);
}

/* ---- CSV ---------------------------------------------------------------------------------- */

/* A text cell, quoted when it holds a comma, a quote or a line break (RFC 4180). */
static void csv_text(cs_buf *s, const char *t)
{
    if (!strpbrk(t, ",\"\r\n")) {
        cs_buf_str(s, t);
        return;
    }
    cs_buf_str(s, "\"");
    for (const char *p = t; *p; p++) {
        if (*p == '"')
            cs_buf_str(s, "\"\""); /* a quote is doubled */
        else
            cs_buf_put(s, p, 1);
    }
    cs_buf_str(s, "\"");
}

char *rep_cmp_csv(const rep_cmp *c)
{
    cs_buf s = {0};
    cs_buf_str(&s, "file,source,precision,status");
    for (int col = 0; col < REP_COL_N; col++)
        cs_buf_printf(&s, ",%s", cols[col].info.field);
    cs_buf_str(&s, ",message\n");
    for (size_t i = 0; i < c->n_rows; i++) {
        const rep_row *r = &c->rows[i];
        csv_text(&s, rep_cmp_str(c, r->file));
        cs_buf_str(&s, ",");
        csv_text(&s, rep_cmp_str(c, r->source));
        cs_buf_str(&s, ",");
        csv_text(&s, rep_cmp_str(c, r->precision));
        cs_buf_printf(&s, ",%s", status_name(r->status));
        for (int col = 0; col < REP_COL_N; col++) {
            double v = r->v[col];
            char num[40] = "";
            if (!isfinite(v))
                ; /* unknown: an empty cell */
            else if (cols[col].integer && v == nearbyint(v) && fabs(v) < 0x1p53)
                snprintf(num, sizeof num, "%.0f", v);
            else
                cs_fmt_double(num, sizeof num, v);
            cs_buf_printf(&s, ",%s", num);
        }
        cs_buf_str(&s, ",");
        csv_text(&s, rep_cmp_str(c, r->message));
        cs_buf_str(&s, "\n");
    }
    return cs_buf_take(&s);
}
