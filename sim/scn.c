/* scn.c - scenario loader: node tree -> validated scn_config (see scn.h, docs/scenario.md). */
#include "scn_internal.h"

#include "orbits.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names -------------------------------------------------------------------------------- */

static const char *const prec_names[] = {"fp32", "fp16", "int8"};
static const char *const payload_names[] = {"weights", "delta"};
static const char *const partition_names[] = {"iid", "dirichlet"};
static const char *const optimizer_names[] = {"adam", "sgd"};
static const char *const schedule_names[] = {"constant", "cosine", "wsd"};
static const char *const opt_state_names[] = {"reset", "keep"};
static const char *const augment_names[] = {"none", "flip"};
static const char *const strategy_names[] = {"fedavg"};
static const char *const dataset_names[] = {"eurosat"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The lower-case name of an enum value, from its table. */
#define SCN_NAME_FN(fn, type, table)                                                               \
    const char *fn(type x)                                                                         \
    {                                                                                              \
        CS_ASSERT((size_t)x < COUNT(table));                                                       \
        return table[x];                                                                           \
    }
SCN_NAME_FN(scn_precision_name, scn_precision, prec_names)
SCN_NAME_FN(scn_payload_name, scn_payload, payload_names)
SCN_NAME_FN(scn_partition_name, scn_partition, partition_names)
SCN_NAME_FN(scn_schedule_name, scn_schedule, schedule_names)
SCN_NAME_FN(scn_opt_state_name, scn_opt_state, opt_state_names)
SCN_NAME_FN(scn_augment_name, scn_augment, augment_names)
SCN_NAME_FN(scn_optimizer_name, scn_optimizer, optimizer_names)
SCN_NAME_FN(scn_strategy_name, scn_strategy, strategy_names)

int scn_fraction_count(double f, int n)
{
    CS_ASSERT(f > 0 && f <= 1 && n >= 1);
    double k = ceil(f * n - 1e-9);
    return k < 1 ? 1 : (int)k;
}

/* ---- errors ------------------------------------------------------------------------------- */

static int verror(const scn_config *c, scn_loc loc, const char *keypath, cs_err *err,
                  const char *fmt, va_list ap)
{
    char msg[640];
    vsnprintf(msg, sizeof msg, fmt, ap);
    const char *kp = keypath ? keypath : "";
    if (loc.set >= 0 && (size_t)loc.set < c->n_sets) {
        const char *s = c->sets[loc.set];
        size_t kl = strcspn(s, "=");
        bool same = strlen(kp) == kl && strncmp(kp, s, kl) == 0;
        if (same || !kp[0])
            return cs_err_set(err, CS_EINVAL, "--set", 0, 0, "%s: %s", s, msg);
        return cs_err_set(err, CS_EINVAL, "--set", 0, 0, "%s: %s: %s", s, kp, msg);
    }
    if (kp[0])
        return cs_err_set(err, CS_EINVAL, c->file, loc.line, loc.col, "%s: %s", kp, msg);
    return cs_err_set(err, CS_EINVAL, c->file, loc.line, loc.col, "%s", msg);
}

int scn_error(const scn_config *c, scn_loc loc, const char *keypath, cs_err *err, const char *fmt,
              ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(c, loc, keypath, err, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- conversion context ------------------------------------------------------------------- */

typedef struct cv {
    scn_config *c;
    cs_err *err;
} cv;

/* A mapping being converted: m is NULL when the section is absent or null. */
typedef struct sec {
    const scn__node *m;
    char path[192];
    scn_loc loc; /* the mapping's location, or where defaults for it point */
} sec;

static int fail(const cv *v, scn_loc loc, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(const cv *v, scn_loc loc, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(v->c, loc, path, v->err, fmt, ap);
    va_end(ap);
    return rc;
}

static int oom(const cv *v)
{
    return cs_err_set(v->err, CS_ENOMEM, v->c->file, 0, 0, "out of memory");
}

/* dst = parent.child (or child at the top); long paths are cut, they only label messages. */
static void join(char *dst, size_t cap, const char *parent, const char *child)
{
    int n =
        parent[0] ? snprintf(dst, cap, "%s.%s", parent, child) : snprintf(dst, cap, "%s", child);
    if (n < 0 && cap)
        dst[0] = '\0';
}

static scn_loc default_loc(const sec *s)
{
    scn_loc l = s->loc;
    l.is_default = true;
    return l;
}

/* ---- scalar text classification (YAML 1.2 core schema, decimal only) ---------------------- */

static bool is_int_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?  Returns the length matched (0: none). */
static size_t float_prefix(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        if (*q == '-' || *q == '+')
            q++;
        if (*q >= '0' && *q <= '9') {
            while (*q >= '0' && *q <= '9')
                q++;
            p = q;
        }
    }
    return (size_t)(p - s);
}

static bool is_float_text(const char *s)
{
    size_t n = float_prefix(s);
    return n > 0 && s[n] == '\0';
}

static bool is_bool_text(const char *s, bool *out)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
        *out = false;
        return true;
    }
    return false;
}

/* How a value is shown after "got": numbers and booleans as written, text quoted. */
static const char *describe(const scn__node *n, char *buf, size_t cap)
{
    bool b;
    switch (n->kind) {
    case SCN__NULL:
        return "nothing (null)";
    case SCN__SEQ:
        return n->n ? "a list" : "an empty list";
    case SCN__MAP:
        return n->n ? "a mapping" : "an empty mapping";
    case SCN__SCALAR:
        break;
    }
    if (!n->quoted && (is_float_text(n->text) || is_bool_text(n->text, &b))) {
        snprintf(buf, cap, "%.60s", n->text);
        return buf;
    }
    /* Quoted, with control characters and quotes escaped, at most ~60 characters. */
    size_t o = 0;
    buf[o++] = '"';
    for (const char *p = n->text; *p && o + 8 < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((size_t)(p - n->text) >= 60) {
            o += (size_t)snprintf(buf + o, cap - o, "...");
            break;
        }
        if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(buf + o, cap - o, "\\%c", ch);
        else if (ch < 0x20)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    if (o + 2 <= cap) {
        buf[o++] = '"';
        buf[o] = '\0';
    } else {
        buf[cap - 1] = '\0';
    }
    return buf;
}

/* For a number or boolean written in quotes: why it was not taken as one. */
static const char *quoted_hint(const scn__node *n)
{
    bool b;
    if (n->kind == SCN__SCALAR && n->quoted &&
        (is_float_text(n->text) || is_bool_text(n->text, &b)))
        return " (quoted, so text: remove the quotes)";
    return "";
}

/* ---- sections ----------------------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void list_names(char *buf, size_t cap, const char *const *names, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", names[i]);
}

/* Checks that node is a mapping whose keys are all in allowed[]. */
static int check_keys(const cv *v, const scn__node *m, const char *path, const char *const *allowed,
                      size_t n_allowed)
{
    for (size_t i = 0; i < m->n; i++) {
        const scn__node *k = m->keys[i];
        size_t j = 0;
        while (j < n_allowed && strcmp(k->text, allowed[j]) != 0)
            j++;
        if (j < n_allowed)
            continue;
        char names[512], hint[128] = "";
        list_names(names, sizeof names, allowed, n_allowed);
        size_t best = 99, bi = 0;
        for (j = 0; j < n_allowed; j++) {
            size_t d = edit_distance(k->text, allowed[j]);
            if (d < best) {
                best = d;
                bi = j;
            }
        }
        if (best <= 2 && best < strlen(k->text))
            snprintf(hint, sizeof hint, "did you mean \"%s\"? ", allowed[bi]);
        return fail(v, scn__loc_of(k), path, "unknown key \"%.80s\" (%sallowed: %s)", k->text, hint,
                    names);
    }
    return 0;
}

/* Opens parent.key as a section. Absent or null: out->m = NULL (an error if required). */
static int open_section(const cv *v, const sec *parent, const char *key, bool required,
                        const char *const *allowed, size_t n_allowed, sec *out, scn_loc *at)
{
    join(out->path, sizeof out->path, parent->path, key);
    const scn__node *n = scn__map_get(parent->m, key, NULL);
    out->m = NULL;
    if (!n) {
        if (required)
            return fail(v, parent->loc, parent->path, "missing required key \"%s\"", key);
        out->loc = default_loc(parent);
        *at = out->loc;
        return 0;
    }
    out->loc = scn__loc_of(n);
    *at = out->loc;
    if (n->kind == SCN__NULL)
        return 0;
    if (n->kind != SCN__MAP) {
        char names[512], got[96];
        list_names(names, sizeof names, allowed, n_allowed);
        return fail(v, out->loc, out->path, "expected a mapping with keys %s; got %s", names,
                    describe(n, got, sizeof got));
    }
    out->m = n;
    return check_keys(v, n, out->path, allowed, n_allowed);
}

/* The node for s.key. NULL when absent or null (then *at is the default location); an error
 * (*rc) when required and absent/null. path receives "s.path.key". */
static const scn__node *field(const cv *v, const sec *s, const char *key, bool required, char *path,
                              size_t cap, scn_loc *at, int *rc)
{
    join(path, cap, s->path, key);
    *rc = 0;
    const scn__node *n = scn__map_get(s->m, key, NULL);
    if (!n) {
        *at = default_loc(s);
        if (required)
            *rc = fail(v, s->loc, s->path, "missing required key \"%s\"", key);
        return NULL;
    }
    *at = scn__loc_of(n);
    if (n->kind == SCN__NULL && !required) {
        at->is_default = true; /* null: the default, written here */
        return NULL;
    }
    return n;
}

/* ---- typed values ------------------------------------------------------------------------- */

enum { LO = 1, LO_OPEN = 2, HI = 4, HI_OPEN = 8 };

typedef struct nrange {
    double lo, hi;
    unsigned flags;
} nrange;

static void nrange_text(const nrange *r, char *buf, size_t cap)
{
    if ((r->flags & LO) && (r->flags & HI))
        snprintf(buf, cap, "in %c%.10g, %.10g%c", (r->flags & LO_OPEN) ? '(' : '[', r->lo, r->hi,
                 (r->flags & HI_OPEN) ? ')' : ']');
    else if (r->flags & LO)
        snprintf(buf, cap, "%s %.10g", (r->flags & LO_OPEN) ? ">" : ">=", r->lo);
    else if (r->flags & HI)
        snprintf(buf, cap, "%s %.10g", (r->flags & HI_OPEN) ? "<" : "<=", r->hi);
    else
        buf[0] = '\0';
}

static bool nrange_has(const nrange *r, double x)
{
    if (r->flags & LO) {
        if ((r->flags & LO_OPEN) ? !(x > r->lo) : !(x >= r->lo))
            return false;
    }
    if (r->flags & HI) {
        if ((r->flags & HI_OPEN) ? !(x < r->hi) : !(x <= r->hi))
            return false;
    }
    return true;
}

static void int_range_text(long long lo, long long hi, char *buf, size_t cap)
{
    if (hi == INT_MAX || hi == LLONG_MAX)
        snprintf(buf, cap, ">= %lld", lo);
    else
        snprintf(buf, cap, "in [%lld, %lld]", lo, hi);
}

/* hint: NULL or text shown in parentheses after the range. */
static int to_int(const cv *v, const scn__node *n, const char *path, long long lo, long long hi,
                  const char *hint, long long *out)
{
    char got[96], range[96];
    if (n->kind == SCN__SCALAR && !n->quoted && is_int_text(n->text)) {
        errno = 0;
        long long x = strtoll(n->text, NULL, 10);
        if (errno == 0 && x >= lo && x <= hi) {
            *out = x;
            return 0;
        }
    }
    int_range_text(lo, hi, range, sizeof range);
    return fail(v, scn__loc_of(n), path, "expected an integer %s%s%s%s, got %s%s", range,
                hint ? " (" : "", hint ? hint : "", hint ? ")" : "", describe(n, got, sizeof got),
                quoted_hint(n));
}

static int to_num(const cv *v, const scn__node *n, const char *path, const nrange *r,
                  const char *hint, double *out)
{
    char got[96], range[96];
    if (n->kind == SCN__SCALAR && !n->quoted && is_float_text(n->text)) {
        double x = strtod(n->text, NULL);
        if (isfinite(x) && nrange_has(r, x)) {
            *out = x;
            return 0;
        }
    }
    nrange_text(r, range, sizeof range);
    return fail(v, scn__loc_of(n), path, "expected a number%s%s%s%s%s, got %s%s",
                range[0] ? " " : "", range, hint ? " (" : "", hint ? hint : "", hint ? ")" : "",
                describe(n, got, sizeof got), quoted_hint(n));
}

static int to_bool(const cv *v, const scn__node *n, const char *path, bool *out)
{
    char got[96];
    if (n->kind == SCN__SCALAR && !n->quoted && is_bool_text(n->text, out))
        return 0;
    return fail(v, scn__loc_of(n), path, "expected true or false, got %s%s",
                describe(n, got, sizeof got), quoted_hint(n));
}

static int to_enum(const cv *v, const scn__node *n, const char *path, const char *const *names,
                   size_t n_names, int *out)
{
    char got[96], list[256];
    if (n->kind == SCN__SCALAR) {
        for (size_t i = 0; i < n_names; i++) {
            if (strcmp(n->text, names[i]) == 0) {
                *out = (int)i;
                return 0;
            }
        }
    }
    list_names(list, sizeof list, names, n_names);
    if (n_names == 1)
        return fail(v, scn__loc_of(n), path, "expected %s (the only choice), got %s", names[0],
                    describe(n, got, sizeof got));
    return fail(v, scn__loc_of(n), path, "expected one of %s, got %s", list,
                describe(n, got, sizeof got));
}

/* Any scalar (quoted or not) with 1..max_len bytes. */
static int to_str(const cv *v, const scn__node *n, const char *path, size_t max_len,
                  const char **out)
{
    char got[96];
    if (n->kind != SCN__SCALAR || n->text[0] == '\0')
        return fail(v, scn__loc_of(n), path, "expected a non-empty string, got %s",
                    describe(n, got, sizeof got));
    if (strlen(n->text) > max_len)
        return fail(v, scn__loc_of(n), path, "too long: %zu bytes, at most %zu", strlen(n->text),
                    max_len);
    *out = n->text;
    return 0;
}

static int duration_parse_signed(const char *text, double *out_s)
{
    size_t n = float_prefix(text);
    if (n == 0)
        return -1;
    char num[64];
    if (n >= sizeof num)
        return -1;
    memcpy(num, text, n);
    num[n] = '\0';
    double x = strtod(num, NULL), mul = 1.0;
    const char *u = text + n;
    if (u[0] == '\0' || strcmp(u, "s") == 0)
        mul = 1.0;
    else if (strcmp(u, "m") == 0)
        mul = 60.0;
    else if (strcmp(u, "h") == 0)
        mul = 3600.0;
    else if (strcmp(u, "d") == 0)
        mul = 86400.0;
    else
        return -1;
    x *= mul;
    if (!isfinite(x))
        return -1;
    *out_s = x;
    return 0;
}

int scn_duration_parse(const char *text, double *out_s)
{
    double x;
    if (text[0] == '-' || duration_parse_signed(text, &x) != 0)
        return -1;
    *out_s = x;
    return 0;
}

#define DURATION_FORMS "seconds, or a number with unit s, m, h or d such as 90s, 45m, 1.5h, 3d"

/* Durations in seconds: > 0 (allow_zero false) or >= 0. */
static int to_duration(const cv *v, const scn__node *n, const char *path, bool allow_zero,
                       double *out)
{
    char got[96];
    double x;
    if (n->kind != SCN__SCALAR || duration_parse_signed(n->text, &x) != 0)
        return fail(v, scn__loc_of(n), path, "expected a duration (" DURATION_FORMS "), got %s",
                    describe(n, got, sizeof got));
    if (allow_zero ? !(x >= 0) : !(x > 0))
        return fail(v, scn__loc_of(n), path, "expected a duration %s 0, got %s",
                    allow_zero ? ">=" : ">", describe(n, got, sizeof got));
    *out = x;
    return 0;
}

/* Convenience wrappers: optional/required field + conversion + default. */
static int get_int(const cv *v, const sec *s, const char *key, bool required, long long def,
                   long long lo, long long hi, const char *hint, long long *out, scn_loc *at)
{
    char path[256];
    int rc;
    const scn__node *n = field(v, s, key, required, path, sizeof path, at, &rc);
    if (rc)
        return rc;
    if (!n) {
        *out = def;
        return 0;
    }
    return to_int(v, n, path, lo, hi, hint, out);
}

static int get_int32(const cv *v, const sec *s, const char *key, bool required, int def, int lo,
                     int hi, const char *hint, int *out, scn_loc *at)
{
    long long x;
    int rc = get_int(v, s, key, required, def, lo, hi, hint, &x, at);
    if (rc == 0)
        *out = (int)x;
    return rc;
}

static int get_num(const cv *v, const sec *s, const char *key, bool required, double def, nrange r,
                   const char *hint, double *out, scn_loc *at)
{
    char path[256];
    int rc;
    const scn__node *n = field(v, s, key, required, path, sizeof path, at, &rc);
    if (rc)
        return rc;
    if (!n) {
        *out = def;
        return 0;
    }
    return to_num(v, n, path, &r, hint, out);
}

static int get_bool(const cv *v, const sec *s, const char *key, bool def, bool *out, scn_loc *at)
{
    char path[256];
    int rc;
    const scn__node *n = field(v, s, key, false, path, sizeof path, at, &rc);
    if (rc)
        return rc;
    if (!n) {
        *out = def;
        return 0;
    }
    return to_bool(v, n, path, out);
}

static int get_enum(const cv *v, const sec *s, const char *key, int def, const char *const *names,
                    size_t n_names, int *out, scn_loc *at)
{
    char path[256];
    int rc;
    const scn__node *n = field(v, s, key, false, path, sizeof path, at, &rc);
    if (rc)
        return rc;
    if (!n) {
        *out = def;
        return 0;
    }
    return to_enum(v, n, path, names, n_names, out);
}

/* An optional or required string; *out NULL when absent (optional). */
static int get_str(const cv *v, const sec *s, const char *key, bool required, size_t max_len,
                   const char **out, scn_loc *at)
{
    char path[256];
    int rc;
    *out = NULL;
    const scn__node *n = field(v, s, key, required, path, sizeof path, at, &rc);
    if (rc || !n)
        return rc;
    return to_str(v, n, path, max_len, out);
}

static int dup_str(const cv *v, const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = strdup(s);
    return *out ? 0 : oom(v);
}

/* ---- list values: a YAML list of scalars, or one scalar holding a comma list -------------- */

typedef struct item {
    char text[128];
    scn_loc at;
    bool quoted;
} item;

typedef struct itemlist {
    item *v;
    size_t n;
} itemlist;

static int split_list(const cv *v, const scn__node *n, const char *path, itemlist *out)
{
    out->v = NULL;
    out->n = 0;
    char got[96];
    size_t count = 0;
    if (n->kind == SCN__SEQ) {
        count = n->n;
    } else if (n->kind == SCN__SCALAR) {
        count = 1;
        for (const char *p = n->text; *p; p++)
            count += *p == ',';
    } else if (n->kind == SCN__MAP) {
        return fail(v, scn__loc_of(n), path, "expected a list, got %s",
                    describe(n, got, sizeof got));
    }
    if (count == 0)
        return 0;
    size_t bytes;
    if (cs_size_mul(count, sizeof(item), &bytes) != 0 || !(out->v = calloc(1, bytes)))
        return oom(v);
    if (n->kind == SCN__SEQ) {
        for (size_t i = 0; i < n->n; i++) {
            const scn__node *it = n->items[i];
            char ipath[256], idx[24];
            snprintf(idx, sizeof idx, "%zu", i);
            join(ipath, sizeof ipath, path, idx);
            if (it->kind != SCN__SCALAR) {
                free(out->v);
                out->v = NULL;
                return fail(v, scn__loc_of(it), ipath, "expected a name, got %s",
                            describe(it, got, sizeof got));
            }
            if (strlen(it->text) >= sizeof out->v[i].text) {
                free(out->v);
                out->v = NULL;
                return fail(v, scn__loc_of(it), ipath, "too long: %zu bytes, at most %zu",
                            strlen(it->text), sizeof out->v[i].text - 1);
            }
            snprintf(out->v[i].text, sizeof out->v[i].text, "%s", it->text);
            out->v[i].at = scn__loc_of(it);
            out->v[i].quoted = it->quoted;
        }
        out->n = n->n;
        return 0;
    }
    /* One scalar: split on commas, trim blanks around each item. */
    const char *p = n->text;
    for (size_t i = 0; i < count; i++) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        const char *q = e;
        while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
            q--;
        size_t len = (size_t)(q - p);
        if (len >= sizeof out->v[i].text) {
            free(out->v);
            out->v = NULL;
            return fail(v, scn__loc_of(n), path, "item %zu too long: %zu bytes, at most %zu", i,
                        len, sizeof out->v[i].text - 1);
        }
        memcpy(out->v[i].text, p, len);
        out->v[i].text[len] = '\0';
        out->v[i].at = scn__loc_of(n);
        out->v[i].quoted = n->quoted;
        p = *e ? e + 1 : e;
    }
    out->n = count;
    return 0;
}

bool scn_key_is_list(const char *key)
{
    return strcmp(key, "wire.precision") == 0 || strcmp(key, "constellation.select") == 0;
}

/* ---- sections ----------------------------------------------------------------------------- */

static const char *const root_keys[] = {
    "name",  "description", "seed", "epoch",   "duration", "constellation", "ground_stations",
    "links", "federated",   "wire", "dataset", "report"};
static const char *const constellation_keys[] = {"walker", "tle", "select", "propagator"};
static const char *const walker_keys[] = {"altitude_km", "inclination_deg", "satellites",
                                          "planes",      "phasing",         "raan0_deg"};
static const char *const station_keys[] = {
    "name",        "lat_deg",       "lon_deg",     "alt_m",           "min_elevation_deg",
    "uplink_mbps", "downlink_mbps", "cost_per_mb", "cost_per_minute", "antennas"};
static const char *const links_keys[] = {"setup_s", "resume"};
static const char *const federated_keys[] = {
    "rounds",     "clients",   "clients_per_round", "strategy",  "round_deadline", "local_epochs",
    "batch_size", "optimizer", "compute_gflops",    "server_lr", "server_momentum"};
static const char *const optimizer_keys[] = {
    "name", "lr", "momentum", "weight_decay", "schedule", "decay_fraction", "state"};
static const char *const wire_keys[] = {"precision", "payload"};
static const char *const dataset_keys[] = {
    "name", "path", "test_fraction", "partition", "alpha", "max_samples_per_client", "augment"};
static const char *const report_keys[] = {"path", "ptq"};

static bool is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

static int conv_top(const cv *v, const sec *root)
{
    scn_config *c = v->c;
    const char *s = NULL;
    int rc = get_str(v, root, "name", true, sizeof c->name - 1, &s, &c->at.name);
    if (rc)
        return rc;
    for (const char *p = s; *p; p++)
        if (!is_name_char(*p) || (p == s && *p == '.')) {
            const scn__node *n = scn__map_get(root->m, "name", NULL);
            char got[96];
            return fail(v, c->at.name, "name",
                        "expected letters, digits, '.', '_' or '-' (it names report files), "
                        "got %s",
                        describe(n, got, sizeof got));
        }
    snprintf(c->name, sizeof c->name, "%s", s);

    if ((rc = get_str(v, root, "description", false, 4096, &s, &c->at.description)) != 0 ||
        (rc = dup_str(v, s, &c->description)) != 0)
        return rc;

    long long seed;
    if ((rc = get_int(v, root, "seed", false, 1, 0, (1LL << 53) - 1, NULL, &seed, &c->at.seed)))
        return rc;
    c->seed = (uint64_t)seed;

    if ((rc = get_str(v, root, "epoch", true, sizeof c->epoch_iso - 1, &s, &c->at.epoch)))
        return rc;
    cs_err te;
    cs_err_clear(&te);
    if (orb_time_parse_iso(s, &c->epoch_jd, &te) != 0)
        return fail(v, c->at.epoch, "epoch", "%s", te.msg);
    snprintf(c->epoch_iso, sizeof c->epoch_iso, "%s", s);

    char path[256];
    const scn__node *n = field(v, root, "duration", true, path, sizeof path, &c->at.duration, &rc);
    if (rc)
        return rc;
    return to_duration(v, n, path, false, &c->duration_s);
}

/* Reads the TLE file, the only time it is read: the sets kept here (those named by select, in
 * its order; else all, in file order) travel in the config, and sim_plan builds the satellites
 * from them. */
static int tle_keep(const cv *v, const itemlist *sel)
{
    scn_constellation *k = &v->c->constellation;
    FILE *f = fopen(k->tle, "rb");
    if (!f)
        return fail(v, k->at.tle, "constellation.tle", "cannot open \"%s\": %s", k->tle,
                    strerror(errno));
    fclose(f);
    orb_tle *tles = NULL;
    size_t n = 0;
    int rc = orb_tle_load(k->tle, &tles, &n, v->err);
    if (rc)
        return rc;
    if (n == 0) {
        free(tles);
        return fail(v, k->at.tle, "constellation.tle", "no TLE sets in \"%s\"", k->tle);
    }
    if (sel && sel->n) {
        orb_tle *kept = NULL;
        size_t bytes;
        if (cs_size_mul(sel->n, sizeof(orb_tle), &bytes) != 0 || !(kept = malloc(bytes))) {
            free(tles);
            return oom(v);
        }
        for (size_t i = 0; i < sel->n; i++) {
            char ipath[64];
            snprintf(ipath, sizeof ipath, "constellation.select.%zu", i);
            size_t j = 0;
            for (; j < n; j++) {
                char num[16];
                const char *nm = tles[j].name;
                if (!nm[0]) {
                    snprintf(num, sizeof num, "%d", tles[j].el.satnum);
                    nm = num;
                }
                if (strcmp(nm, sel->v[i].text) == 0)
                    break;
            }
            if (j == n) {
                char avail[400];
                size_t o = 0;
                avail[0] = '\0';
                for (size_t t = 0; t < n && o < sizeof avail - 40; t++) {
                    if (tles[t].name[0])
                        o += (size_t)snprintf(avail + o, sizeof avail - o, "%s%s", t ? ", " : "",
                                              tles[t].name);
                    else
                        o += (size_t)snprintf(avail + o, sizeof avail - o, "%s%d", t ? ", " : "",
                                              tles[t].el.satnum);
                }
                if (o >= sizeof avail - 40)
                    snprintf(avail + o, sizeof avail - o, ", ...");
                free(kept);
                free(tles);
                return fail(v, sel->v[i].at, ipath, "no satellite \"%s\" in %s (available: %s)",
                            sel->v[i].text, k->tle, avail);
            }
            for (size_t t = 0; t < i; t++)
                if (strcmp(sel->v[t].text, sel->v[i].text) == 0) {
                    free(kept);
                    free(tles);
                    return fail(v, sel->v[i].at, ipath, "\"%s\" is selected twice", sel->v[i].text);
                }
            kept[i] = tles[j];
        }
        free(tles);
        tles = kept;
        n = sel->n;
    }
    k->tles = tles;
    k->n_tles = n;
    k->n_satellites = n;
    return 0;
}

static int resolve_relative(const cv *v, const char *base_file, const char *rel, char **out)
{
    const char *slash = strrchr(base_file, '/');
    if (rel[0] == '/' || !slash)
        return dup_str(v, rel, out);
    size_t dl = (size_t)(slash - base_file) + 1, rl = strlen(rel);
    *out = malloc(dl + rl + 1);
    if (!*out)
        return oom(v);
    memcpy(*out, base_file, dl);
    memcpy(*out + dl, rel, rl + 1);
    return 0;
}

static int conv_constellation(const cv *v, const sec *root)
{
    scn_constellation *k = &v->c->constellation;
    sec cs, ws;
    int rc = open_section(v, root, "constellation", true, constellation_keys,
                          COUNT(constellation_keys), &cs, &k->at.self);
    if (rc)
        return rc;
    if (!cs.m)
        return fail(v, cs.loc, "constellation", "expected a mapping with walker or tle, got %s",
                    "nothing (null)");
    const scn__node *kw = NULL, *kt = NULL;
    const scn__node *w = scn__map_get(cs.m, "walker", &kw);
    const scn__node *t = scn__map_get(cs.m, "tle", &kt);
    if (w && t) {
        const scn__node *second =
            kw->line > kt->line || (kw->line == kt->line && kw->col > kt->col) ? kw : kt;
        return fail(v, scn__loc_of(second), "constellation",
                    "walker and tle exclude each other: give exactly one");
    }
    if (!w && !t)
        return fail(v, cs.loc, "constellation", "missing walker or tle (give exactly one)");
    /* The propagators' names are orbits' own (orb_prop_name), listed in enum order. */
    const char *prop_names[ORB_PROP_KEPLER + 1]; /* ORB_PROP_KEPLER is the last orb_prop_kind */
    for (size_t i = 0; i < COUNT(prop_names); i++)
        prop_names[i] = orb_prop_name((orb_prop_kind)i);
    int e = 0;
    if ((rc = get_enum(v, &cs, "propagator", ORB_PROP_SGP4, prop_names, COUNT(prop_names), &e,
                       &k->at.propagator)))
        return rc;
    k->propagator = (orb_prop_kind)e;
    if (w) {
        const scn__node *sk = NULL;
        if (scn__map_get(cs.m, "select", &sk))
            return fail(v, scn__loc_of(sk), "constellation.select",
                        "select applies to tle constellations only");
        scn_walker *wk = &k->walker;
        k->has_walker = true;
        if ((rc = open_section(v, &cs, "walker", true, walker_keys, COUNT(walker_keys), &ws,
                               &k->at.walker)))
            return rc;
        wk->at.self = k->at.walker;
        if ((rc = get_num(v, &ws, "altitude_km", true, 0, (nrange){100, 50000, LO | LO_OPEN | HI},
                          NULL, &wk->altitude_km, &wk->at.altitude_km)) ||
            (rc = get_num(v, &ws, "inclination_deg", true, 0, (nrange){0, 180, LO | HI}, NULL,
                          &wk->inclination_deg, &wk->at.inclination_deg)) ||
            (rc = get_int32(v, &ws, "satellites", true, 0, 1, 100000, NULL, &wk->satellites,
                            &wk->at.satellites)))
            return rc;
        char hint[64];
        snprintf(hint, sizeof hint, "at most satellites = %d", wk->satellites);
        if ((rc = get_int32(v, &ws, "planes", true, 0, 1, wk->satellites, hint, &wk->planes,
                            &wk->at.planes)))
            return rc;
        if (wk->satellites % wk->planes != 0)
            return fail(v, wk->at.planes, "constellation.walker.planes",
                        "%d satellites do not split evenly into %d planes (satellites must be a "
                        "multiple of planes)",
                        wk->satellites, wk->planes);
        snprintf(hint, sizeof hint, "0..planes-1");
        if ((rc = get_int32(v, &ws, "phasing", false, 0, 0, wk->planes - 1, hint, &wk->phasing,
                            &wk->at.phasing)) ||
            (rc = get_num(v, &ws, "raan0_deg", false, 0, (nrange){-360, 360, LO | HI}, NULL,
                          &wk->raan0_deg, &wk->at.raan0_deg)))
            return rc;
        k->n_satellites = (size_t)wk->satellites;
        return 0;
    }
    /* tle */
    const char *s;
    if ((rc = get_str(v, &cs, "tle", true, 1000, &s, &k->at.tle)) ||
        (rc = dup_str(v, s, &k->tle_as_written)) ||
        (rc = resolve_relative(v, v->c->file, s, &k->tle)))
        return rc;
    itemlist sel = {NULL, 0};
    char path[256];
    const scn__node *sn = field(v, &cs, "select", false, path, sizeof path, &k->at.select, &rc);
    if (rc)
        return rc;
    if (sn) {
        if ((rc = split_list(v, sn, path, &sel)))
            return rc;
        if (sel.n == 0)
            return fail(v, k->at.select, path,
                        "expected a non-empty list of TLE names (omit select for all), got %s",
                        "an empty list");
        size_t b1, b2;
        if (cs_size_mul(sel.n, sizeof(char *), &b1) || cs_size_mul(sel.n, sizeof(scn_loc), &b2) ||
            !(k->select = calloc(1, b1)) || !(k->select_at = calloc(1, b2))) {
            free(sel.v);
            return oom(v);
        }
        k->n_select = sel.n;
        for (size_t i = 0; i < sel.n; i++) {
            k->select_at[i] = sel.v[i].at;
            char ipath[64];
            snprintf(ipath, sizeof ipath, "constellation.select.%zu", i);
            if (!sel.v[i].text[0]) {
                rc = fail(v, sel.v[i].at, ipath, "expected a TLE name, got an empty string");
                break;
            }
            if (!(k->select[i] = strdup(sel.v[i].text))) {
                rc = oom(v);
                break;
            }
        }
    }
    if (rc == 0)
        rc = tle_keep(v, &sel);
    free(sel.v);
    return rc;
}

static int conv_station(const cv *v, const scn__node *n, size_t idx, scn_station *st)
{
    sec ss;
    char idxs[24], got[96];
    snprintf(idxs, sizeof idxs, "%zu", idx);
    join(ss.path, sizeof ss.path, "ground_stations", idxs);
    ss.loc = scn__loc_of(n);
    st->at.self = ss.loc;
    if (n->kind != SCN__MAP) {
        char names[512];
        list_names(names, sizeof names, station_keys, COUNT(station_keys));
        return fail(v, ss.loc, ss.path, "expected a station (a mapping with keys %s), got %s",
                    names, describe(n, got, sizeof got));
    }
    ss.m = n;
    int rc = check_keys(v, n, ss.path, station_keys, COUNT(station_keys));
    const char *name;
    if (rc || (rc = get_str(v, &ss, "name", true, sizeof st->name - 1, &name, &st->at.name)))
        return rc;
    snprintf(st->name, sizeof st->name, "%s", name);
    if ((rc = get_num(v, &ss, "lat_deg", true, 0, (nrange){-90, 90, LO | HI}, NULL, &st->lat_deg,
                      &st->at.lat_deg)) ||
        (rc = get_num(v, &ss, "lon_deg", true, 0, (nrange){-180, 180, LO | HI}, NULL, &st->lon_deg,
                      &st->at.lon_deg)) ||
        (rc = get_num(v, &ss, "alt_m", false, 0, (nrange){-500, 9000, LO | HI}, NULL, &st->alt_m,
                      &st->at.alt_m)) ||
        (rc = get_num(v, &ss, "min_elevation_deg", false, 10, (nrange){0, 90, LO | HI | HI_OPEN},
                      NULL, &st->min_elevation_deg, &st->at.min_elevation_deg)) ||
        (rc = get_num(v, &ss, "uplink_mbps", true, 0, (nrange){0, 0, LO | LO_OPEN}, NULL,
                      &st->uplink_mbps, &st->at.uplink_mbps)) ||
        (rc = get_num(v, &ss, "downlink_mbps", true, 0, (nrange){0, 0, LO | LO_OPEN}, NULL,
                      &st->downlink_mbps, &st->at.downlink_mbps)) ||
        (rc = get_num(v, &ss, "cost_per_mb", false, 0, (nrange){0, 0, LO}, NULL, &st->cost_per_mb,
                      &st->at.cost_per_mb)) ||
        (rc = get_num(v, &ss, "cost_per_minute", false, 0, (nrange){0, 0, LO}, NULL,
                      &st->cost_per_minute, &st->at.cost_per_minute)) ||
        (rc = get_int32(v, &ss, "antennas", false, 1, 1, 1000, NULL, &st->antennas,
                        &st->at.antennas)))
        return rc;
    return 0;
}

static int conv_stations(const cv *v, const sec *root)
{
    scn_config *c = v->c;
    char path[256], got[96];
    int rc;
    const scn__node *n =
        field(v, root, "ground_stations", true, path, sizeof path, &c->at.ground_stations, &rc);
    if (rc)
        return rc;
    if (n->kind != SCN__SEQ || n->n == 0)
        return fail(v, c->at.ground_stations, path,
                    "expected a list of at least one station, got %s",
                    describe(n, got, sizeof got));
    size_t bytes;
    if (cs_size_mul(n->n, sizeof(scn_station), &bytes) != 0 || !(c->stations = calloc(1, bytes)))
        return oom(v);
    c->n_stations = n->n;
    for (size_t i = 0; i < n->n; i++) {
        if ((rc = conv_station(v, n->items[i], i, &c->stations[i])))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->stations[j].name, c->stations[i].name) == 0) {
                char ipath[64];
                snprintf(ipath, sizeof ipath, "ground_stations.%zu.name", i);
                return fail(v, c->stations[i].at.name, ipath,
                            "duplicate station name \"%s\" (also ground_stations.%zu, line %ld)",
                            c->stations[i].name, j, c->stations[j].at.name.line);
            }
    }
    return 0;
}

static int conv_links(const cv *v, const sec *root)
{
    scn_links *l = &v->c->links;
    sec ls;
    char path[256];
    int rc = open_section(v, root, "links", false, links_keys, COUNT(links_keys), &ls, &l->at.self);
    if (rc)
        return rc;
    const scn__node *n = field(v, &ls, "setup_s", false, path, sizeof path, &l->at.setup_s, &rc);
    l->setup_s = 0;
    if (rc || (n && (rc = to_duration(v, n, path, true, &l->setup_s))))
        return rc;
    return get_bool(v, &ls, "resume", true, &l->resume, &l->at.resume);
}

static int conv_optimizer(const cv *v, const sec *fs)
{
    scn_optimizer_cfg *o = &v->c->federated.optimizer;
    o->name = SCN_OPT_ADAM;
    o->lr = 0.001;
    o->momentum = 0;
    o->weight_decay = 0;
    o->schedule = SCN_SCHED_CONSTANT;
    o->state = SCN_OPT_STATE_RESET;
    o->decay_fraction = 0.3;
    char path[256];
    int rc;
    const scn__node *n = field(v, fs, "optimizer", false, path, sizeof path, &o->at.self, &rc);
    v->c->federated.at.optimizer = o->at.self;
    o->at.name = o->at.lr = o->at.momentum = o->at.weight_decay = o->at.schedule = o->at.state =
        o->at.decay_fraction = o->at.self;
    o->at.name.is_default = o->at.lr.is_default = o->at.momentum.is_default =
        o->at.weight_decay.is_default = o->at.schedule.is_default = o->at.state.is_default =
            o->at.decay_fraction.is_default = true;
    if (rc || !n)
        return rc;
    int e = 0;
    if (n->kind == SCN__SCALAR) { /* shorthand: "optimizer: sgd" */
        o->at.name = o->at.self;
        rc = to_enum(v, n, path, optimizer_names, COUNT(optimizer_names), &e);
        o->name = (scn_optimizer)e;
        return rc;
    }
    sec os;
    if ((rc = open_section(v, fs, "optimizer", false, optimizer_keys, COUNT(optimizer_keys), &os,
                           &o->at.self)))
        return rc;
    if ((rc = get_enum(v, &os, "name", SCN_OPT_ADAM, optimizer_names, COUNT(optimizer_names), &e,
                       &o->at.name)) ||
        (rc = get_num(v, &os, "lr", false, 0.001, (nrange){0, 0, LO | LO_OPEN}, NULL, &o->lr,
                      &o->at.lr)) ||
        (rc = get_num(v, &os, "momentum", false, 0, (nrange){0, 1, LO | HI | HI_OPEN}, NULL,
                      &o->momentum, &o->at.momentum)) ||
        (rc = get_num(v, &os, "weight_decay", false, 0, (nrange){0, 0, LO}, NULL, &o->weight_decay,
                      &o->at.weight_decay)))
        return rc;
    o->name = (scn_optimizer)e;
    if ((rc = get_enum(v, &os, "schedule", SCN_SCHED_CONSTANT, schedule_names,
                       COUNT(schedule_names), &e, &o->at.schedule)))
        return rc;
    o->schedule = (scn_schedule)e;
    if ((rc = get_num(v, &os, "decay_fraction", false, 0.3, (nrange){0, 1, LO | LO_OPEN | HI}, NULL,
                      &o->decay_fraction, &o->at.decay_fraction)))
        return rc;
    if ((rc = get_enum(v, &os, "state", SCN_OPT_STATE_RESET, opt_state_names,
                       COUNT(opt_state_names), &e, &o->at.state)))
        return rc;
    o->state = (scn_opt_state)e;
    if (o->name != SCN_OPT_SGD && !o->at.momentum.is_default)
        return fail(v, o->at.momentum, "federated.optimizer.momentum",
                    "momentum applies to sgd only (the optimizer is %s)",
                    scn_optimizer_name(o->name));
    return 0;
}

static int conv_federated(const cv *v, const sec *root)
{
    scn_federated *f = &v->c->federated;
    size_t nsat = v->c->constellation.n_satellites;
    sec fs;
    char path[256], got[96], hint[96];
    int rc = open_section(v, root, "federated", true, federated_keys, COUNT(federated_keys), &fs,
                          &f->at.self);
    if (rc)
        return rc;
    if ((rc = get_int32(v, &fs, "rounds", true, 0, 1, INT_MAX, NULL, &f->rounds, &f->at.rounds)))
        return rc;
    snprintf(hint, sizeof hint, "at most the %zu satellites", nsat);
    int maxc = nsat > 1000000 ? 1000000 : (int)nsat;
    if ((rc =
             get_int32(v, &fs, "clients", false, maxc, 1, maxc, hint, &f->clients, &f->at.clients)))
        return rc;

    /* clients_per_round: integer count, or a fraction 0 < f <= 1 (ceil(f * clients)). */
    f->clients_per_round = f->clients;
    f->clients_per_round_fraction = 0;
    const scn__node *n =
        field(v, &fs, "clients_per_round", false, path, sizeof path, &f->at.clients_per_round, &rc);
    if (rc)
        return rc;
    if (n) {
        bool ok = false;
        if (n->kind == SCN__SCALAR && !n->quoted && is_int_text(n->text)) {
            errno = 0;
            long long x = strtoll(n->text, NULL, 10);
            if (errno == 0 && x >= 1 && x <= f->clients) {
                f->clients_per_round = (int)x;
                ok = true;
            }
        } else if (n->kind == SCN__SCALAR && !n->quoted && is_float_text(n->text)) {
            double x = strtod(n->text, NULL);
            if (x > 0 && x <= 1) {
                f->clients_per_round_fraction = x;
                f->clients_per_round = scn_fraction_count(x, f->clients);
                ok = true;
            }
        }
        if (!ok)
            return fail(v, f->at.clients_per_round, path,
                        "expected an integer in [1, %d] (at most clients) or a fraction in "
                        "(0, 1], got %s",
                        f->clients, describe(n, got, sizeof got));
    }
    int e = 0;
    if ((rc = get_enum(v, &fs, "strategy", SCN_STRATEGY_FEDAVG, strategy_names,
                       COUNT(strategy_names), &e, &f->at.strategy)))
        return rc;
    f->strategy = (scn_strategy)e;
    f->round_deadline_s = 0;
    n = field(v, &fs, "round_deadline", false, path, sizeof path, &f->at.round_deadline, &rc);
    if (rc)
        return rc;
    if (n && !(n->kind == SCN__SCALAR && !n->quoted && strcmp(n->text, "none") == 0) &&
        (rc = to_duration(v, n, path, false, &f->round_deadline_s)))
        return rc;
    if ((rc = get_int32(v, &fs, "local_epochs", false, 1, 1, 1000, NULL, &f->local_epochs,
                        &f->at.local_epochs)) ||
        (rc = get_int32(v, &fs, "batch_size", false, 32, 1, 65536, NULL, &f->batch_size,
                        &f->at.batch_size)) ||
        (rc = conv_optimizer(v, &fs)) ||
        (rc = get_num(v, &fs, "compute_gflops", false, 20, (nrange){0, 0, LO | LO_OPEN}, NULL,
                      &f->compute_gflops, &f->at.compute_gflops)) ||
        (rc = get_num(v, &fs, "server_lr", false, 1, (nrange){0, 0, LO | LO_OPEN}, NULL,
                      &f->server_lr, &f->at.server_lr)) ||
        (rc = get_num(v, &fs, "server_momentum", false, 0, (nrange){0, 1, LO | HI | HI_OPEN}, NULL,
                      &f->server_momentum, &f->at.server_momentum)))
        return rc;
    return 0;
}

static int conv_wire(const cv *v, const sec *root)
{
    scn_wire *w = &v->c->wire;
    sec ws;
    char path[256], got[96];
    int rc = open_section(v, root, "wire", false, wire_keys, COUNT(wire_keys), &ws, &w->at.self);
    if (rc)
        return rc;
    w->precision[0] = SCN_PREC_FP32;
    w->n_precision = 1;
    const scn__node *n =
        field(v, &ws, "precision", false, path, sizeof path, &w->at.precision, &rc);
    w->at.precision_items[0] = w->at.precision;
    if (rc)
        return rc;
    if (n) {
        itemlist l;
        if ((rc = split_list(v, n, path, &l)))
            return rc;
        if (l.n == 0 || (l.n == 1 && l.v[0].text[0] == '\0')) {
            free(l.v);
            return fail(v, w->at.precision, path,
                        "expected a non-empty list of fp32, fp16, int8, got %s",
                        n->kind == SCN__SEQ ? "an empty list" : describe(n, got, sizeof got));
        }
        if (l.n > SCN_PREC_COUNT) {
            free(l.v);
            return fail(v, w->at.precision, path,
                        "expected at most %d precisions (fp32, fp16, int8), got %zu",
                        SCN_PREC_COUNT, l.n);
        }
        for (size_t i = 0; i < l.n; i++) {
            char ipath[64], list[64];
            snprintf(ipath, sizeof ipath, "wire.precision.%zu", i);
            list_names(list, sizeof list, prec_names, COUNT(prec_names));
            int p = -1;
            for (size_t j = 0; j < COUNT(prec_names); j++)
                if (strcmp(l.v[i].text, prec_names[j]) == 0)
                    p = (int)j;
            if (p < 0) {
                rc = fail(v, l.v[i].at, ipath, "expected one of %s, got \"%s\"", list, l.v[i].text);
                break;
            }
            for (size_t j = 0; j < i; j++)
                if (w->precision[j] == (scn_precision)p)
                    rc = fail(v, l.v[i].at, ipath, "%s is listed twice", l.v[i].text);
            if (rc)
                break;
            w->precision[i] = (scn_precision)p;
            w->at.precision_items[i] = l.v[i].at;
        }
        if (rc == 0)
            w->n_precision = l.n;
        free(l.v);
        if (rc)
            return rc;
    }
    int e = 0;
    rc = get_enum(v, &ws, "payload", SCN_PAYLOAD_WEIGHTS, payload_names, COUNT(payload_names), &e,
                  &w->at.payload);
    w->payload = (scn_payload)e;
    return rc;
}

static int conv_dataset(const cv *v, const sec *root)
{
    scn_dataset *d = &v->c->dataset;
    sec ds;
    int rc = open_section(v, root, "dataset", false, dataset_keys, COUNT(dataset_keys), &ds,
                          &d->at.self);
    int name = 0, part = 0, aug = 0;
    long long cap = 0;
    const char *s;
    if (rc ||
        (rc = get_enum(v, &ds, "name", 0, dataset_names, COUNT(dataset_names), &name,
                       &d->at.name)) ||
        (rc = get_str(v, &ds, "path", false, 1000, &s, &d->at.path)) ||
        (rc = dup_str(v, s, &d->path)) ||
        (rc = get_num(v, &ds, "test_fraction", false, 0.2,
                      (nrange){0, 1, LO | LO_OPEN | HI | HI_OPEN}, NULL, &d->test_fraction,
                      &d->at.test_fraction)) ||
        (rc = get_enum(v, &ds, "partition", SCN_PART_IID, partition_names, COUNT(partition_names),
                       &part, &d->at.partition)) ||
        (rc = get_num(v, &ds, "alpha", false, 0.5, (nrange){0, 0, LO | LO_OPEN},
                      "the Dirichlet concentration", &d->alpha, &d->at.alpha)) ||
        (rc = get_int(v, &ds, "max_samples_per_client", false, 0, 0, INT_MAX, "0 = no cap", &cap,
                      &d->at.max_samples_per_client)) ||
        (rc = get_enum(v, &ds, "augment", SCN_AUG_NONE, augment_names, COUNT(augment_names), &aug,
                       &d->at.augment)))
        return rc;
    d->max_samples_per_client = (long)cap;
    d->augment = (scn_augment)aug;
    snprintf(d->name, sizeof d->name, "%s", dataset_names[name]);
    d->partition = (scn_partition)part;
    return 0;
}

static int conv_report(const cv *v, const sec *root)
{
    scn_report *r = &v->c->report;
    sec rs;
    const char *s;
    int rc =
        open_section(v, root, "report", false, report_keys, COUNT(report_keys), &rs, &r->at.self);
    if (rc || (rc = get_str(v, &rs, "path", false, 1000, &s, &r->at.path)))
        return rc;
    if (s) {
        if ((rc = dup_str(v, s, &r->path)))
            return rc;
    } else {
        size_t len = strlen(v->c->name) + sizeof "reports/.json";
        if (!(r->path = malloc(len)))
            return oom(v);
        snprintf(r->path, len, "reports/%s.json", v->c->name);
    }
    return get_bool(v, &rs, "ptq", false, &r->ptq, &r->at.ptq);
}

static int convert(const cv *v, const scn__node *root)
{
    scn_config *c = v->c;
    sec rs;
    snprintf(rs.path, sizeof rs.path, "%s", "");
    if (!root) {
        rs.loc = (scn_loc){1, 1, -1, false};
        return fail(v, rs.loc, "",
                    "empty scenario: expected a mapping with name, epoch, "
                    "duration, constellation, ground_stations, federated, ...");
    }
    rs.loc = scn__loc_of(root);
    rs.m = root;
    c->at.self = rs.loc;
    int rc = check_keys(v, root, "", root_keys, COUNT(root_keys));
    if (rc || (rc = conv_top(v, &rs)) || (rc = conv_constellation(v, &rs)) ||
        (rc = conv_stations(v, &rs)) || (rc = conv_links(v, &rs)) ||
        (rc = conv_federated(v, &rs)) || (rc = conv_wire(v, &rs)) || (rc = conv_dataset(v, &rs)) ||
        (rc = conv_report(v, &rs)))
        return rc;
    return 0;
}

/* ---- load / free -------------------------------------------------------------------------- */

void scn_free(scn_config *c)
{
    if (!c)
        return;
    free(c->file);
    for (size_t i = 0; i < c->n_sets; i++)
        free(c->sets[i]);
    free(c->sets);
    free(c->description);
    free(c->constellation.tle);
    free(c->constellation.tle_as_written);
    for (size_t i = 0; i < c->constellation.n_select; i++)
        free(c->constellation.select[i]);
    free(c->constellation.select);
    free(c->constellation.select_at);
    free(c->constellation.tles);
    free(c->stations);
    free(c->dataset.path);
    free(c->report.path);
    free(c);
}

int scn_load_text(const char *label, const char *text, size_t len, const char *const *sets,
                  size_t n_sets, scn_config **out, cs_err *err)
{
    *out = NULL;
    cs_err_clear(err);
    scn_config *c = calloc(1, sizeof *c);
    if (!c || !(c->file = strdup(label))) {
        free(c);
        return cs_err_set(err, CS_ENOMEM, label, 0, 0, "out of memory");
    }
    if (n_sets) {
        size_t bytes;
        if (cs_size_mul(n_sets, sizeof(char *), &bytes) != 0 || !(c->sets = calloc(1, bytes))) {
            scn_free(c);
            return cs_err_set(err, CS_ENOMEM, label, 0, 0, "out of memory");
        }
        for (size_t i = 0; i < n_sets; i++) {
            if (!(c->sets[i] = strdup(sets[i]))) {
                c->n_sets = i;
                scn_free(c);
                return cs_err_set(err, CS_ENOMEM, label, 0, 0, "out of memory");
            }
        }
        c->n_sets = n_sets;
    }
    scn__node *root = NULL;
    int rc = scn__parse(label, text, len, &root, err);
    if (rc == 0 && root && root->kind != SCN__MAP) {
        char got[96];
        rc = cs_err_set(err, CS_EINVAL, label, root->line, root->col,
                        "expected a mapping of scenario keys (name, epoch, ...) at the top, got %s",
                        describe(root, got, sizeof got));
    }
    if (rc == 0 && n_sets && !root) {
        /* An empty file with --set: nothing to set into; report the empty file. */
        rc = cs_err_set(err, CS_EINVAL, label, 1, 1,
                        "empty scenario: expected a mapping with "
                        "name, epoch, duration, constellation, "
                        "ground_stations, federated, ...");
    }
    for (size_t i = 0; rc == 0 && i < n_sets; i++)
        rc = scn__apply_set(root, sets[i], (int)i, err);
    if (rc == 0) {
        cv v = {c, err};
        rc = convert(&v, root);
    }
    scn__node_free(root);
    if (rc != 0) {
        scn_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int scn_load(const char *path, const char *const *sets, size_t n_sets, scn_config **out,
             cs_err *err)
{
    *out = NULL;
    cs_err_clear(err);
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = cs_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    rc = scn_load_text(path, (const char *)data, len, sets, n_sets, out, err);
    free(data);
    return rc;
}
