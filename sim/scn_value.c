/* scn_value.c - located values and their errors, independent of the scenario schema: the
 * conversion context, compiler-style errors at a value's location (scn_error), sections and
 * fields with unknown-key suggestions, typed conversions of scalars (integers, numbers in ranges,
 * booleans, enums, strings, durations) and lists. The schema itself is sim/scn.c. */
#include "scn_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors at a value's location ------------------------------------------------------------ */

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

/* ---- conversion context ---------------------------------------------------------------------- */

int scn__fail(const scn__cv *v, scn_loc loc, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(v->c, loc, path, v->err, fmt, ap);
    va_end(ap);
    return rc;
}

int scn__oom(const scn__cv *v)
{
    return cs_err_set(v->err, CS_ENOMEM, v->c->file, 0, 0, "out of memory");
}

void scn__join(char *dst, size_t cap, const char *parent, const char *child)
{
    int n =
        parent[0] ? snprintf(dst, cap, "%s.%s", parent, child) : snprintf(dst, cap, "%s", child);
    if (n < 0 && cap)
        dst[0] = '\0';
}

static scn_loc default_loc(const scn__sec *s)
{
    scn_loc l = s->loc;
    l.is_default = true;
    return l;
}

/* ---- scalar text classification (YAML 1.2 core schema, decimal only) ------------------------- */

bool scn__is_int_text(const char *s)
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

bool scn__is_float_text(const char *s)
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

const char *scn__describe(const scn__node *n, char *buf, size_t cap)
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
    if (!n->quoted && (scn__is_float_text(n->text) || is_bool_text(n->text, &b))) {
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
        (scn__is_float_text(n->text) || is_bool_text(n->text, &b)))
        return " (quoted, so text: remove the quotes)";
    return "";
}

/* ---- sections -------------------------------------------------------------------------------- */

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

void scn__list_names(char *buf, size_t cap, const char *const *names, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", names[i]);
}

int scn__check_keys(const scn__cv *v, const scn__node *m, const char *path,
                    const char *const *allowed, size_t n_allowed)
{
    for (size_t i = 0; i < m->n; i++) {
        const scn__node *k = m->keys[i];
        size_t j = 0;
        while (j < n_allowed && strcmp(k->text, allowed[j]) != 0)
            j++;
        if (j < n_allowed)
            continue;
        char names[512], hint[128] = "";
        scn__list_names(names, sizeof names, allowed, n_allowed);
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
        return scn__fail(v, scn__loc_of(k), path, "unknown key \"%.80s\" (%sallowed: %s)", k->text,
                         hint, names);
    }
    return 0;
}

int scn__open_section(const scn__cv *v, const scn__sec *parent, const char *key, bool required,
                      const char *const *allowed, size_t n_allowed, scn__sec *out, scn_loc *at)
{
    scn__join(out->path, sizeof out->path, parent->path, key);
    const scn__node *n = scn__map_get(parent->m, key, NULL);
    out->m = NULL;
    if (!n) {
        if (required)
            return scn__fail(v, parent->loc, parent->path, "missing required key \"%s\"", key);
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
        scn__list_names(names, sizeof names, allowed, n_allowed);
        return scn__fail(v, out->loc, out->path, "expected a mapping with keys %s; got %s", names,
                         scn__describe(n, got, sizeof got));
    }
    out->m = n;
    return scn__check_keys(v, n, out->path, allowed, n_allowed);
}

const scn__node *scn__field(const scn__cv *v, const scn__sec *s, const char *key, bool required,
                            char *path, size_t cap, scn_loc *at, int *rc)
{
    scn__join(path, cap, s->path, key);
    *rc = 0;
    const scn__node *n = scn__map_get(s->m, key, NULL);
    if (!n) {
        *at = default_loc(s);
        if (required)
            *rc = scn__fail(v, s->loc, s->path, "missing required key \"%s\"", key);
        return NULL;
    }
    *at = scn__loc_of(n);
    if (n->kind == SCN__NULL && !required) {
        at->is_default = true; /* null: the default, written here */
        return NULL;
    }
    return n;
}

/* ---- typed values ---------------------------------------------------------------------------- */

static void range_text(const scn__range *r, char *buf, size_t cap)
{
    if ((r->flags & SCN__LO) && (r->flags & SCN__HI))
        snprintf(buf, cap, "in %c%.10g, %.10g%c", (r->flags & SCN__LO_OPEN) ? '(' : '[', r->lo,
                 r->hi, (r->flags & SCN__HI_OPEN) ? ')' : ']');
    else if (r->flags & SCN__LO)
        snprintf(buf, cap, "%s %.10g", (r->flags & SCN__LO_OPEN) ? ">" : ">=", r->lo);
    else if (r->flags & SCN__HI)
        snprintf(buf, cap, "%s %.10g", (r->flags & SCN__HI_OPEN) ? "<" : "<=", r->hi);
    else
        buf[0] = '\0';
}

static bool range_has(const scn__range *r, double x)
{
    if (r->flags & SCN__LO) {
        if ((r->flags & SCN__LO_OPEN) ? !(x > r->lo) : !(x >= r->lo))
            return false;
    }
    if (r->flags & SCN__HI) {
        if ((r->flags & SCN__HI_OPEN) ? !(x < r->hi) : !(x <= r->hi))
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

int scn__to_int(const scn__cv *v, const scn__node *n, const char *path, long long lo, long long hi,
                const char *hint, long long *out)
{
    char got[96], range[96];
    if (n->kind == SCN__SCALAR && !n->quoted && scn__is_int_text(n->text)) {
        errno = 0;
        long long x = strtoll(n->text, NULL, 10);
        if (errno == 0 && x >= lo && x <= hi) {
            *out = x;
            return 0;
        }
    }
    int_range_text(lo, hi, range, sizeof range);
    return scn__fail(v, scn__loc_of(n), path, "expected an integer %s%s%s%s, got %s%s", range,
                     hint ? " (" : "", hint ? hint : "", hint ? ")" : "",
                     scn__describe(n, got, sizeof got), quoted_hint(n));
}

int scn__to_num(const scn__cv *v, const scn__node *n, const char *path, const scn__range *r,
                const char *hint, double *out)
{
    char got[96], range[96];
    if (n->kind == SCN__SCALAR && !n->quoted && scn__is_float_text(n->text)) {
        double x = strtod(n->text, NULL);
        if (isfinite(x) && range_has(r, x)) {
            *out = x;
            return 0;
        }
    }
    range_text(r, range, sizeof range);
    return scn__fail(v, scn__loc_of(n), path, "expected a number%s%s%s%s%s, got %s%s",
                     range[0] ? " " : "", range, hint ? " (" : "", hint ? hint : "",
                     hint ? ")" : "", scn__describe(n, got, sizeof got), quoted_hint(n));
}

int scn__to_bool(const scn__cv *v, const scn__node *n, const char *path, bool *out)
{
    char got[96];
    if (n->kind == SCN__SCALAR && !n->quoted && is_bool_text(n->text, out))
        return 0;
    return scn__fail(v, scn__loc_of(n), path, "expected true or false, got %s%s",
                     scn__describe(n, got, sizeof got), quoted_hint(n));
}

int scn__to_enum(const scn__cv *v, const scn__node *n, const char *path, const char *const *names,
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
    scn__list_names(list, sizeof list, names, n_names);
    if (n_names == 1)
        return scn__fail(v, scn__loc_of(n), path, "expected %s (the only choice), got %s", names[0],
                         scn__describe(n, got, sizeof got));
    return scn__fail(v, scn__loc_of(n), path, "expected one of %s, got %s", list,
                     scn__describe(n, got, sizeof got));
}

int scn__to_str(const scn__cv *v, const scn__node *n, const char *path, size_t max_len,
                const char **out)
{
    char got[96];
    if (n->kind != SCN__SCALAR || n->text[0] == '\0')
        return scn__fail(v, scn__loc_of(n), path, "expected a non-empty string, got %s",
                         scn__describe(n, got, sizeof got));
    if (strlen(n->text) > max_len)
        return scn__fail(v, scn__loc_of(n), path, "too long: %zu bytes, at most %zu",
                         strlen(n->text), max_len);
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

int scn__to_duration(const scn__cv *v, const scn__node *n, const char *path, bool allow_zero,
                     double *out)
{
    char got[96];
    double x;
    if (n->kind != SCN__SCALAR || duration_parse_signed(n->text, &x) != 0)
        return scn__fail(v, scn__loc_of(n), path,
                         "expected a duration (" DURATION_FORMS "), got %s",
                         scn__describe(n, got, sizeof got));
    if (allow_zero ? !(x >= 0) : !(x > 0))
        return scn__fail(v, scn__loc_of(n), path, "expected a duration %s 0, got %s",
                         allow_zero ? ">=" : ">", scn__describe(n, got, sizeof got));
    *out = x;
    return 0;
}

int scn__get_int(const scn__cv *v, const scn__sec *s, const char *key, bool required, long long def,
                 long long lo, long long hi, const char *hint, long long *out, scn_loc *at)
{
    char path[256];
    int rc;
    const scn__node *n = scn__field(v, s, key, required, path, sizeof path, at, &rc);
    if (rc)
        return rc;
    if (!n) {
        *out = def;
        return 0;
    }
    return scn__to_int(v, n, path, lo, hi, hint, out);
}

int scn__get_int32(const scn__cv *v, const scn__sec *s, const char *key, bool required, int def,
                   int lo, int hi, const char *hint, int *out, scn_loc *at)
{
    long long x;
    int rc = scn__get_int(v, s, key, required, def, lo, hi, hint, &x, at);
    if (rc == 0)
        *out = (int)x;
    return rc;
}

int scn__get_num(const scn__cv *v, const scn__sec *s, const char *key, bool required, double def,
                 scn__range r, const char *hint, double *out, scn_loc *at)
{
    char path[256];
    int rc;
    const scn__node *n = scn__field(v, s, key, required, path, sizeof path, at, &rc);
    if (rc)
        return rc;
    if (!n) {
        *out = def;
        return 0;
    }
    return scn__to_num(v, n, path, &r, hint, out);
}

int scn__get_bool(const scn__cv *v, const scn__sec *s, const char *key, bool def, bool *out,
                  scn_loc *at)
{
    char path[256];
    int rc;
    const scn__node *n = scn__field(v, s, key, false, path, sizeof path, at, &rc);
    if (rc)
        return rc;
    if (!n) {
        *out = def;
        return 0;
    }
    return scn__to_bool(v, n, path, out);
}

int scn__get_enum(const scn__cv *v, const scn__sec *s, const char *key, int def,
                  const char *const *names, size_t n_names, int *out, scn_loc *at)
{
    char path[256];
    int rc;
    const scn__node *n = scn__field(v, s, key, false, path, sizeof path, at, &rc);
    if (rc)
        return rc;
    if (!n) {
        *out = def;
        return 0;
    }
    return scn__to_enum(v, n, path, names, n_names, out);
}

int scn__get_str(const scn__cv *v, const scn__sec *s, const char *key, bool required,
                 size_t max_len, const char **out, scn_loc *at)
{
    char path[256];
    int rc;
    *out = NULL;
    const scn__node *n = scn__field(v, s, key, required, path, sizeof path, at, &rc);
    if (rc || !n)
        return rc;
    return scn__to_str(v, n, path, max_len, out);
}

int scn__dup_str(const scn__cv *v, const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = strdup(s);
    return *out ? 0 : scn__oom(v);
}

/* ---- list values: a YAML list of scalars, or one scalar holding a comma list ----------------- */

int scn__split_list(const scn__cv *v, const scn__node *n, const char *path, scn__itemlist *out)
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
        return scn__fail(v, scn__loc_of(n), path, "expected a list, got %s",
                         scn__describe(n, got, sizeof got));
    }
    if (count == 0)
        return 0;
    size_t bytes;
    if (cs_size_mul(count, sizeof(scn__item), &bytes) != 0 || !(out->v = calloc(1, bytes)))
        return scn__oom(v);
    if (n->kind == SCN__SEQ) {
        for (size_t i = 0; i < n->n; i++) {
            const scn__node *it = n->items[i];
            char ipath[256], idx[24];
            snprintf(idx, sizeof idx, "%zu", i);
            scn__join(ipath, sizeof ipath, path, idx);
            if (it->kind != SCN__SCALAR) {
                free(out->v);
                out->v = NULL;
                return scn__fail(v, scn__loc_of(it), ipath, "expected a name, got %s",
                                 scn__describe(it, got, sizeof got));
            }
            if (strlen(it->text) >= sizeof out->v[i].text) {
                free(out->v);
                out->v = NULL;
                return scn__fail(v, scn__loc_of(it), ipath, "too long: %zu bytes, at most %zu",
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
            return scn__fail(v, scn__loc_of(n), path, "item %zu too long: %zu bytes, at most %zu",
                             i, len, sizeof out->v[i].text - 1);
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
