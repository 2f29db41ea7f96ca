/* swp.c - the sweep grid, point summaries and the aggregate (see swp.h, docs/sweep.md). */
#include "swp.h"

#include "cs_buf.h"
#include "rep.h"
#include "scn.h"

#include <cjson/cJSON.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SWP_MAX_POINTS 1000000

/* ---- the grid ---- */

void swp_grid_free(swp_grid *g)
{
    if (!g)
        return;
    for (size_t a = 0; a < g->n_axes; a++) {
        free(g->axes[a].key);
        for (size_t v = 0; v < g->axes[a].n_values; v++)
            free(g->axes[a].values[v]);
        free(g->axes[a].values);
    }
    free(g->axes);
    memset(g, 0, sizeof *g);
    g->seed_axis = -1;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static bool plain_number(const char *s);

/* Splits "V1,V2,..." of argument arg into ax->values. */
static int parse_values(swp_axis *ax, const char *arg, const char *vals, cs_err *err)
{
    size_t cap = 1;
    for (const char *p = vals; *p; p++)
        cap += *p == ',';
    if (!(ax->values = calloc(cap, sizeof *ax->values)))
        return cs_err_set(err, CS_ENOMEM, "--set", 0, 0, "out of memory");
    const char *p = vals;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0)
            return cs_err_set(err, CS_EINVAL, "--set", 0, 0,
                              "%s: empty value (values are separated by single commas)", arg);
        bool empty_item = ax->is_list && (p[0] == '+' || p[n - 1] == '+');
        for (size_t k = 0; ax->is_list && k + 1 < n; k++)
            empty_item |= p[k] == '+' && p[k + 1] == '+';
        if (empty_item)
            return cs_err_set(err, CS_EINVAL, "--set", 0, 0,
                              "%s: empty list item in \"%.*s\" (a point's list items are joined "
                              "by single '+')",
                              arg, (int)n, p);
        char *val = dup_n(p, n);
        if (!val)
            return cs_err_set(err, CS_ENOMEM, "--set", 0, 0, "out of memory");
        for (size_t v = 0; v < ax->n_values; v++) {
            /* The same text, or the same number written two ways (2 and 2.0). */
            bool same = strcmp(ax->values[v], val) == 0 ||
                        (plain_number(val) && plain_number(ax->values[v]) &&
                         strtod(val, NULL) == strtod(ax->values[v], NULL));
            if (same) {
                int rc =
                    cs_err_set(err, CS_EINVAL, "--set", 0, 0,
                               "%s: value \"%s\" given twice (as \"%s\")", arg, val, ax->values[v]);
                free(val);
                return rc;
            }
        }
        ax->values[ax->n_values] = val;
        ax->n_values++;
        if (!end)
            return 0;
        p = end + 1;
    }
}

int swp_grid_parse(const char *const *args, size_t n, swp_grid *g, cs_err *err)
{
    memset(g, 0, sizeof *g);
    g->seed_axis = -1;
    if (n == 0)
        return cs_err_set(err, CS_EINVAL, "--set", 0, 0,
                          "a sweep needs at least one --set KEY=V1,V2,... axis");
    if (!(g->axes = calloc(n, sizeof *g->axes)))
        return cs_err_set(err, CS_ENOMEM, "--set", 0, 0, "out of memory");
    g->n_points = 1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *arg = args[i];
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg) {
            rc = cs_err_set(err, CS_EINVAL, "--set", 0, 0,
                            "%s: expected KEY=V1,V2,..., e.g. federated.rounds=2,4,6", arg);
            break;
        }
        if (g->n_axes == SWP_MAX_AXES) {
            rc = cs_err_set(err, CS_EINVAL, "--set", 0, 0, "%s: more than %d axes", arg,
                            SWP_MAX_AXES);
            break;
        }
        swp_axis *ax = &g->axes[g->n_axes];
        if (!(ax->key = dup_n(arg, (size_t)(eq - arg)))) {
            rc = cs_err_set(err, CS_ENOMEM, "--set", 0, 0, "out of memory");
            break;
        }
        g->n_axes++;
        for (size_t a = 0; a + 1 < g->n_axes; a++)
            if (strcmp(g->axes[a].key, ax->key) == 0)
                rc = cs_err_set(err, CS_EINVAL, "--set", 0, 0,
                                "%s: %s is already an axis (give all its values in one --set, "
                                "separated by commas)",
                                arg, ax->key);
        if (rc)
            break;
        ax->is_list = scn_key_is_list(ax->key);
        if ((rc = parse_values(ax, arg, eq + 1, err)) != 0)
            break;
        if (strcmp(ax->key, "seed") == 0)
            g->seed_axis = (int)(g->n_axes - 1);
        if (g->n_points > SWP_MAX_POINTS / ax->n_values)
            rc = cs_err_set(err, CS_EINVAL, "--set", 0, 0,
                            "%s: the grid would have more than %d points", arg, SWP_MAX_POINTS);
        else
            g->n_points *= ax->n_values;
    }
    if (rc)
        swp_grid_free(g);
    return rc;
}

void swp_point_coords(const swp_grid *g, size_t i, size_t *idx)
{
    for (size_t a = g->n_axes; a-- > 0;) {
        idx[a] = i % g->axes[a].n_values;
        i /= g->axes[a].n_values;
    }
}

void swp_point_id(const swp_grid *g, size_t i, char *out, size_t cap)
{
    /* At most SWP_MAX_POINTS (10^6) points: indices have at most 6 digits. */
    if (g->n_points <= 10000)
        snprintf(out, cap, "p%04zu", i % 10000);
    else if (g->n_points <= 100000)
        snprintf(out, cap, "p%05zu", i % 100000);
    else
        snprintf(out, cap, "p%06zu", i % 1000000);
}

int swp_point_sets(const swp_grid *g, size_t i, char ***sets, cs_err *err)
{
    size_t idx[SWP_MAX_AXES], bytes = g->n_axes * sizeof(char *);
    swp_point_coords(g, i, idx);
    for (size_t a = 0; a < g->n_axes; a++)
        bytes += strlen(g->axes[a].key) + 1 + strlen(g->axes[a].values[idx[a]]) + 1;
    char **v = malloc(bytes);
    if (!v)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
    char *p = (char *)(v + g->n_axes);
    for (size_t a = 0; a < g->n_axes; a++) {
        const swp_axis *ax = &g->axes[a];
        v[a] = p;
        p += sprintf(p, "%s=%s", ax->key, ax->values[idx[a]]) + 1;
        if (ax->is_list)
            for (char *c = v[a] + strlen(ax->key) + 1; *c; c++)
                if (*c == '+')
                    *c = ',';
    }
    *sets = v;
    return 0;
}

/* True when s is a plain decimal number: [-+]digits[.digits][e[-+]digits]. */
static bool plain_number(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0' && isfinite(strtod(s, NULL));
}

static cJSON *value_json(const char *text)
{
    return plain_number(text) ? rep_number(strtod(text, NULL)) : cJSON_CreateString(text);
}

/* {"KEY": value} over the axes, leaving out axis skip (-1: none). */
static cJSON *values_json(const swp_grid *g, size_t i, int skip)
{
    size_t idx[SWP_MAX_AXES];
    swp_point_coords(g, i, idx);
    cJSON *o = cJSON_CreateObject();
    for (size_t a = 0; o && a < g->n_axes; a++)
        if ((int)a != skip)
            cJSON_AddItemToObject(o, g->axes[a].key, value_json(g->axes[a].values[idx[a]]));
    return o;
}

cJSON *swp_point_values(const swp_grid *g, size_t i)
{
    return values_json(g, i, -1);
}

const char *swp_status_name(swp_status s)
{
    switch (s) {
    case SWP_DONE:
        return "done";
    case SWP_FAILED:
        return "failed";
    case SWP_PENDING:
        break;
    }
    return "pending";
}

/* ---- a point from its report ---- */

/* Number member k of runs[run].final; null (how reports print a non-finite figure, e.g. the loss
 * of a diverged run) reads as NaN when may_be_null. */
static int need_num(const cJSON *o, size_t run, const char *k, bool may_be_null, const char *path,
                    double *out, cs_err *err)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (may_be_null && cJSON_IsNull(x)) {
        *out = NAN;
        return 0;
    }
    if (!cJSON_IsNumber(x))
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "runs[%zu].final.%s: missing or not a number",
                          run, k);
    *out = x->valuedouble;
    return 0;
}

int swp_point_from_report(const cJSON *report, const char *path, swp_point *p, cs_err *err)
{
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(report, "runs");
    if (!cJSON_IsArray(runs) || cJSON_GetArraySize(runs) < 1 ||
        cJSON_GetArraySize(runs) > NN_PRECISIONS)
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "runs: expected 1 to %d runs", NN_PRECISIONS);
    p->n_runs = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, runs)
    {
        swp_run *r = &p->runs[p->n_runs];
        const cJSON *prec = cJSON_GetObjectItemCaseSensitive(run, "precision");
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(run, "final");
        if (!cJSON_IsString(prec) || nn_precision_parse(prec->valuestring, &r->precision) != 0)
            return cs_err_set(err, CS_EINVAL, path, 0, 0, "runs[%zu].precision: not a precision",
                              p->n_runs);
        if (!cJSON_IsObject(f))
            return cs_err_set(err, CS_EINVAL, path, 0, 0, "runs[%zu].final: missing", p->n_runs);
        double up = 0, down = 0, total = 0, rounds = 0;
        size_t k = p->n_runs;
        int rc = need_num(f, k, "accuracy", true, path, &r->accuracy, err);
        if (!rc)
            rc = need_num(f, k, "loss", true, path, &r->loss, err);
        if (!rc)
            rc = need_num(f, k, "bytes_to_sat", false, path, &up, err);
        if (!rc)
            rc = need_num(f, k, "bytes_to_ground", false, path, &down, err);
        if (!rc)
            rc = need_num(f, k, "bytes_total", false, path, &total, err);
        if (!rc)
            rc = need_num(f, k, "cost_usd", true, path, &r->cost_usd, err);
        if (!rc)
            rc = need_num(f, k, "rounds_completed", false, path, &rounds, err);
        if (!rc)
            rc = need_num(f, k, "sim_time_s", true, path, &r->sim_time_s, err);
        if (!rc)
            rc = need_num(f, k, "wall_time_s", true, path, &r->wall_time_s, err);
        if (rc)
            return rc;
        r->bytes_to_sat = (uint64_t)up;
        r->bytes_to_ground = (uint64_t)down;
        r->bytes_total = (uint64_t)total;
        r->rounds_completed = (int)rounds;
        p->n_runs++;
    }
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(report, "machine"), "threads");
    p->threads = cJSON_IsNumber(th) ? (int)th->valuedouble : 0;
    p->status = SWP_DONE;
    p->message[0] = '\0';
    p->exit_code = 0;
    return 0;
}

/* ---- statistics ---- */

double swp_t975(int dof)
{
    return gsl_cdf_tdist_Pinv(0.975, (double)dof);
}

typedef struct stats {
    size_t n;
    double mean, sd, min, max, lo, hi; /* sd, lo, hi NAN when n < 2 */
} stats;

static stats stats_of(const double *x, size_t n)
{
    stats s = {.n = n, .mean = NAN, .sd = NAN, .min = NAN, .max = NAN, .lo = NAN, .hi = NAN};
    if (n == 0)
        return s;
    double sum = 0;
    s.min = s.max = x[0];
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        s.min = x[i] < s.min ? x[i] : s.min;
        s.max = x[i] > s.max ? x[i] : s.max;
    }
    s.mean = sum / (double)n;
    if (n >= 2) {
        double ss = 0;
        for (size_t i = 0; i < n; i++)
            ss += (x[i] - s.mean) * (x[i] - s.mean);
        s.sd = sqrt(ss / (double)(n - 1));
        double half = swp_t975((int)n - 1) * s.sd / sqrt((double)n);
        s.lo = s.mean - half;
        s.hi = s.mean + half;
    }
    return s;
}

static cJSON *stats_json(const stats *s)
{
    if (s->n == 0)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "mean", rep_number(s->mean));
    cJSON_AddItemToObject(o, "sd", rep_number(s->sd));
    cJSON_AddItemToObject(o, "min", rep_number(s->min));
    cJSON_AddItemToObject(o, "max", rep_number(s->max));
    cJSON_AddItemToObject(o, "ci95_low", rep_number(s->lo));
    cJSON_AddItemToObject(o, "ci95_high", rep_number(s->hi));
    return o;
}

/* A replicate group: the points that differ only in their seed, one precision. */
typedef struct group {
    size_t first;       /* the group's first point (seed value index 0) */
    size_t precision_i; /* index into that point's precision list */
    size_t n, n_failed, n_pending;
    stats acc, cost, rounds;
} group;

/* The point of group member k (seed value k) given the group's first point. */
static size_t member(const swp_grid *g, size_t first, size_t k)
{
    size_t stride = 1;
    for (size_t a = g->n_axes; a-- > (size_t)g->seed_axis + 1;)
        stride *= g->axes[a].n_values;
    return first + k * stride;
}

/* Fills gr for the group of point first and the precision at index pi of its runs. */
static void group_stats(const swp_grid *g, const swp_point *pts, size_t first, size_t pi, group *gr)
{
    const swp_axis *sa = &g->axes[g->seed_axis];
    memset(gr, 0, sizeof *gr);
    double *acc = malloc(3 * sa->n_values * sizeof *acc);
    if (!acc) {
        gr->n_pending = sa->n_values; /* no figures rather than wrong ones */
        return;
    }
    double *cost = acc + sa->n_values, *rounds = cost + sa->n_values;
    gr->first = first;
    gr->precision_i = pi;
    for (size_t k = 0; k < sa->n_values; k++) {
        const swp_point *p = &pts[member(g, first, k)];
        if (p->status == SWP_FAILED)
            gr->n_failed++;
        else if (p->status == SWP_PENDING || pi >= p->n_runs)
            gr->n_pending++;
        else {
            acc[gr->n] = p->runs[pi].accuracy;
            cost[gr->n] = p->runs[pi].cost_usd;
            rounds[gr->n] = p->runs[pi].rounds_completed;
            gr->n++;
        }
    }
    gr->acc = stats_of(acc, gr->n);
    gr->cost = stats_of(cost, gr->n);
    gr->rounds = stats_of(rounds, gr->n);
    free(acc);
}

/* True when point i is the first of its replicate group (its seed is the axis's first value). */
static bool group_first(const swp_grid *g, size_t i)
{
    size_t idx[SWP_MAX_AXES];
    swp_point_coords(g, i, idx);
    return idx[g->seed_axis] == 0;
}

/* The first done member of the group of point first, NULL when none is done: its runs give the
 * group's precisions (every member has the same wire.precision, which is not the seed axis). */
static const swp_point *group_ref(const swp_grid *g, const swp_point *pts, size_t first)
{
    for (size_t k = 0; k < g->axes[g->seed_axis].n_values; k++)
        if (pts[member(g, first, k)].status == SWP_DONE)
            return &pts[member(g, first, k)];
    return NULL;
}

static bool has_replicates(const swp_grid *g)
{
    return g->seed_axis >= 0 && g->axes[g->seed_axis].n_values >= 2;
}

/* ---- sweep.json ---- */

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    cJSON_AddItemToObject(o, k, cJSON_CreateRaw(buf));
}

static cJSON *run_json(const swp_run *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "precision", nn_precision_name(r->precision));
    cJSON_AddItemToObject(o, "accuracy", rep_number(r->accuracy));
    cJSON_AddItemToObject(o, "loss", rep_number(r->loss));
    add_u64(o, "bytes_to_sat", r->bytes_to_sat);
    add_u64(o, "bytes_to_ground", r->bytes_to_ground);
    add_u64(o, "bytes_total", r->bytes_total);
    cJSON_AddItemToObject(o, "cost_usd", rep_number(r->cost_usd));
    cJSON_AddItemToObject(o, "rounds_completed", rep_number(r->rounds_completed));
    cJSON_AddItemToObject(o, "sim_time_s", rep_number(r->sim_time_s));
    cJSON_AddItemToObject(o, "wall_time_s", rep_number(r->wall_time_s));
    return o;
}

static cJSON *axes_json(const swp_grid *g)
{
    cJSON *axes = cJSON_CreateArray();
    for (size_t a = 0; axes && a < g->n_axes; a++) {
        cJSON *ax = cJSON_CreateObject(), *vals = cJSON_CreateArray();
        cJSON_AddStringToObject(ax, "key", g->axes[a].key);
        for (size_t v = 0; v < g->axes[a].n_values; v++)
            cJSON_AddItemToArray(vals, value_json(g->axes[a].values[v]));
        cJSON_AddItemToObject(ax, "values", vals);
        cJSON_AddItemToArray(axes, ax);
    }
    return axes;
}

static cJSON *replicates_json(const swp_grid *g, const swp_point *pts)
{
    if (!has_replicates(g))
        return cJSON_CreateNull();
    cJSON *r = cJSON_CreateObject(), *groups = cJSON_CreateArray();
    cJSON_AddStringToObject(r, "over", "seed");
    for (size_t i = 0; i < g->n_points; i++) {
        if (!group_first(g, i))
            continue;
        const swp_point *ref = group_ref(g, pts, i);
        size_t n_prec = ref ? ref->n_runs : 0;
        for (size_t pi = 0; pi < n_prec; pi++) {
            group gr;
            group_stats(g, pts, i, pi, &gr);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToObject(o, "values", values_json(g, i, g->seed_axis));
            cJSON_AddStringToObject(o, "precision", nn_precision_name(ref->runs[pi].precision));
            cJSON_AddItemToObject(o, "n", rep_number((double)gr.n));
            cJSON_AddItemToObject(o, "n_failed", rep_number((double)gr.n_failed));
            cJSON_AddItemToObject(o, "n_pending", rep_number((double)gr.n_pending));
            cJSON_AddBoolToObject(o, "complete", gr.n_failed == 0 && gr.n_pending == 0);
            cJSON_AddItemToObject(o, "accuracy", stats_json(&gr.acc));
            cJSON_AddItemToObject(o, "cost_usd", stats_json(&gr.cost));
            cJSON_AddItemToObject(o, "rounds_completed", stats_json(&gr.rounds));
            cJSON_AddItemToArray(groups, o);
        }
        if (n_prec == 0) {
            /* No member done yet: the group, without figures. */
            group gr;
            group_stats(g, pts, i, NN_PRECISIONS, &gr);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToObject(o, "values", values_json(g, i, g->seed_axis));
            cJSON_AddNullToObject(o, "precision");
            cJSON_AddItemToObject(o, "n", rep_number(0));
            cJSON_AddItemToObject(o, "n_failed", rep_number((double)gr.n_failed));
            cJSON_AddItemToObject(o, "n_pending", rep_number((double)gr.n_pending));
            cJSON_AddBoolToObject(o, "complete", false);
            cJSON_AddNullToObject(o, "accuracy");
            cJSON_AddNullToObject(o, "cost_usd");
            cJSON_AddNullToObject(o, "rounds_completed");
            cJSON_AddItemToArray(groups, o);
        }
    }
    cJSON_AddItemToObject(r, "groups", groups);
    return r;
}

cJSON *swp_aggregate(const swp_grid *g, const swp_point *pts, const swp_meta *meta,
                     const swp_runtime *rt)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "format", SWP_FORMAT);
    cJSON_AddStringToObject(j, "constsim_version", meta->constsim_version);
    cJSON *sc = cJSON_AddObjectToObject(j, "scenario");
    cJSON_AddStringToObject(sc, "file", meta->scenario_file);
    cJSON_AddStringToObject(sc, "name", meta->scenario_name);
    cJSON_AddStringToObject(sc, "sha256", meta->scenario_sha256);
    if (meta->tle_sha256[0])
        cJSON_AddStringToObject(sc, "tle_sha256", meta->tle_sha256);
    else
        cJSON_AddNullToObject(sc, "tle_sha256");
    cJSON_AddItemToObject(j, "axes", axes_json(g));
    size_t count[3] = {0, 0, 0};
    for (size_t i = 0; i < g->n_points; i++)
        count[pts[i].status]++;
    cJSON *sum = cJSON_AddObjectToObject(j, "summary");
    cJSON_AddItemToObject(sum, "points", rep_number((double)g->n_points));
    cJSON_AddItemToObject(sum, "done", rep_number((double)count[SWP_DONE]));
    cJSON_AddItemToObject(sum, "failed", rep_number((double)count[SWP_FAILED]));
    cJSON_AddItemToObject(sum, "pending", rep_number((double)count[SWP_PENDING]));
    cJSON_AddItemToObject(sum, "orbital_setups", rep_number((double)meta->orbital_setups));
    cJSON *points = cJSON_AddArrayToObject(j, "points");
    for (size_t i = 0; i < g->n_points; i++) {
        const swp_point *p = &pts[i];
        char id[32], rel[64];
        swp_point_id(g, i, id, sizeof id);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddItemToObject(o, "index", rep_number((double)i));
        cJSON_AddItemToObject(o, "values", swp_point_values(g, i));
        cJSON_AddStringToObject(o, "status", swp_status_name(p->status));
        if (p->status == SWP_FAILED)
            cJSON_AddStringToObject(o, "message", p->message);
        else
            cJSON_AddNullToObject(o, "message");
        if (p->status == SWP_DONE) {
            snprintf(rel, sizeof rel, "points/%s.json", id);
            cJSON_AddStringToObject(o, "report", rel);
        } else {
            cJSON_AddNullToObject(o, "report");
        }
        cJSON_AddItemToObject(o, "orbital_setup", rep_number((double)p->orbital_setup));
        if (p->status == SWP_DONE && p->threads > 0)
            cJSON_AddItemToObject(o, "threads", rep_number(p->threads));
        else
            cJSON_AddNullToObject(o, "threads");
        cJSON *runs = cJSON_AddArrayToObject(o, "runs");
        for (size_t r = 0; p->status == SWP_DONE && r < p->n_runs; r++)
            cJSON_AddItemToArray(runs, run_json(&p->runs[r]));
        cJSON_AddItemToArray(points, o);
    }
    cJSON_AddItemToObject(j, "replicates", replicates_json(g, pts));
    cJSON *r = cJSON_AddObjectToObject(j, "runtime");
    cJSON_AddItemToObject(r, "wall_time_s", rep_number(rt->wall_time_s));
    cJSON_AddItemToObject(r, "ranks", rep_number(rt->ranks));
    cJSON_AddItemToObject(r, "threads", rep_number(rt->threads));
    cJSON_AddItemToObject(r, "jobs", rep_number(rt->jobs));
    cJSON_AddItemToObject(r, "dataset_decodes", rep_number((double)rt->dataset_decodes));
    cJSON_AddItemToObject(r, "contact_plans", rep_number((double)rt->contact_plans));
    cJSON_AddItemToObject(r, "points_run", rep_number((double)rt->points_run));
    cJSON_AddItemToObject(r, "points_skipped", rep_number((double)rt->points_skipped));
    /* cJSON builders return NULL on allocation failure and the adders then drop the item: a
     * document missing a member is detected here by printing it back. */
    char *probe = cJSON_PrintUnformatted(j);
    if (!probe || !cJSON_GetObjectItemCaseSensitive(j, "runtime") ||
        cJSON_GetArraySize(points) != (int)g->n_points) {
        free(probe);
        cJSON_Delete(j);
        return NULL;
    }
    free(probe);
    return j;
}

/* ---- sweep.csv ---- */

static void csv_text(cs_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        cs_buf_printf(b, "%s", s);
        return;
    }
    cs_buf_printf(b, "\"");
    for (const char *p = s; *p; p++)
        cs_buf_printf(b, *p == '"' ? "\"\"" : "%c", *p);
    cs_buf_printf(b, "\"");
}

static void csv_num(cs_buf *b, double x)
{
    char buf[40];
    if (!isfinite(x)) {
        cs_buf_printf(b, ","); /* an empty cell, as in the JSON's null */
        return;
    }
    cs_fmt_double(buf, sizeof buf, x);
    cs_buf_printf(b, ",%s", buf);
}

static const char *const stat_cols[] = {"mean", "sd", "min", "max", "ci95_low", "ci95_high"};

static void csv_stats(cs_buf *b, const stats *s)
{
    double v[6] = {s->mean, s->sd, s->min, s->max, s->lo, s->hi};
    for (int k = 0; k < 6; k++)
        csv_num(b, v[k]);
}

char *swp_csv(const swp_grid *g, const swp_point *pts)
{
    cs_buf b = {0};
    bool rep = has_replicates(g);
    cs_buf_printf(&b, "row,id");
    for (size_t a = 0; a < g->n_axes; a++) {
        cs_buf_printf(&b, ",");
        csv_text(&b, g->axes[a].key);
    }
    cs_buf_printf(&b, ",precision,status,accuracy,loss,bytes_total,cost_usd,rounds_completed,"
                      "sim_time_s,wall_time_s,message");
    if (rep) {
        cs_buf_printf(&b, ",n,n_failed");
        const char *fig[3] = {"accuracy", "cost_usd", "rounds_completed"};
        for (int f = 0; f < 3; f++)
            for (int k = 0; k < 6; k++)
                cs_buf_printf(&b, ",%s_%s", fig[f], stat_cols[k]);
    }
    cs_buf_printf(&b, "\n");
    const char *tail = rep ? ",,,,,,,,,,,,,,,,,,,," : ""; /* 20 empty replicate cells */
    for (size_t i = 0; i < g->n_points; i++) {
        const swp_point *p = &pts[i];
        size_t idx[SWP_MAX_AXES];
        char id[32];
        swp_point_coords(g, i, idx);
        swp_point_id(g, i, id, sizeof id);
        size_t rows = p->status == SWP_DONE ? p->n_runs : 1;
        for (size_t r = 0; r < rows; r++) {
            cs_buf_printf(&b, "point,%s", id);
            for (size_t a = 0; a < g->n_axes; a++) {
                cs_buf_printf(&b, ",");
                csv_text(&b, g->axes[a].values[idx[a]]);
            }
            if (p->status == SWP_DONE) {
                const swp_run *x = &p->runs[r];
                cs_buf_printf(&b, ",%s,done", nn_precision_name(x->precision));
                csv_num(&b, x->accuracy);
                csv_num(&b, x->loss);
                cs_buf_printf(&b, ",%llu", (unsigned long long)x->bytes_total);
                csv_num(&b, x->cost_usd);
                cs_buf_printf(&b, ",%d", x->rounds_completed);
                csv_num(&b, x->sim_time_s);
                csv_num(&b, x->wall_time_s);
                cs_buf_printf(&b, ",");
            } else {
                cs_buf_printf(&b, ",,%s,,,,,,,,", swp_status_name(p->status));
                csv_text(&b, p->status == SWP_FAILED ? p->message : "");
            }
            cs_buf_printf(&b, "%s\n", tail);
        }
    }
    if (rep) {
        for (size_t i = 0; i < g->n_points; i++) {
            if (!group_first(g, i))
                continue;
            const swp_point *ref = group_ref(g, pts, i);
            size_t n_prec = ref ? ref->n_runs : 1;
            size_t idx[SWP_MAX_AXES];
            swp_point_coords(g, i, idx);
            for (size_t pi = 0; pi < n_prec; pi++) {
                group gr;
                group_stats(g, pts, i, ref ? pi : NN_PRECISIONS, &gr);
                cs_buf_printf(&b, "replicates,");
                for (size_t a = 0; a < g->n_axes; a++) {
                    cs_buf_printf(&b, ",");
                    if ((int)a != g->seed_axis)
                        csv_text(&b, g->axes[a].values[idx[a]]);
                }
                cs_buf_printf(&b, ",%s,%s,,,,,,,,,%zu,%zu",
                              ref ? nn_precision_name(ref->runs[pi].precision) : "",
                              gr.n_failed || gr.n_pending ? "incomplete" : "complete", gr.n,
                              gr.n_failed);
                csv_stats(&b, &gr.acc);
                csv_stats(&b, &gr.cost);
                csv_stats(&b, &gr.rounds);
                cs_buf_printf(&b, "\n");
            }
        }
    }
    return cs_buf_take(&b);
}

/* ---- the same campaign? ---- */

/* x printed, parsed and printed again: raw numbers (built here) and parsed numbers (read from a
 * file) then print the same way. NULL when out of memory. */
static char *canonical(const cJSON *x)
{
    char *t = x ? cJSON_PrintUnformatted(x) : NULL;
    cJSON *back = t ? cJSON_Parse(t) : NULL;
    free(t);
    t = back ? cJSON_PrintUnformatted(back) : NULL;
    cJSON_Delete(back);
    return t;
}

bool swp_json_equal(const cJSON *a, const cJSON *b)
{
    char *x = canonical(a), *y = canonical(b);
    bool same = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsString(x) ? x->valuestring : cJSON_IsNull(x) ? "none" : "?";
}

int swp_check_same(const cJSON *old, const char *path, const cJSON *now, cs_err *err)
{
    const char *f = str_at(old, "format", NULL);
    if (strcmp(f, SWP_FORMAT) != 0)
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "not a sweep aggregate (format \"%s\", expected \"%s\"): choose another "
                          "-o folder",
                          f, SWP_FORMAT);
    const cJSON *oa = cJSON_GetObjectItemCaseSensitive(old, "axes");
    const cJSON *na = cJSON_GetObjectItemCaseSensitive(now, "axes");
    if (!swp_json_equal(oa, na)) {
        char *o = cJSON_PrintUnformatted(oa), *n = cJSON_PrintUnformatted(na);
        int rc =
            cs_err_set(err, CS_EINVAL, path, 0, 0,
                       "the grid changed: the folder holds the sweep over %.300s, this command "
                       "asks for %.300s; use another -o folder (or the same --set values)",
                       o ? o : "?", n ? n : "?");
        free(o);
        free(n);
        return rc;
    }
    static const char *const what[][3] = {
        {"scenario", "sha256", "the scenario file changed (SHA-256 %.12s..., now %.12s...)"},
        {"scenario", "tle_sha256", "the TLE file changed (SHA-256 %.12s..., now %.12s...)"},
        {"constsim_version", NULL, "the constsim version changed (%s, now %s)"},
    };
    for (size_t k = 0; k < sizeof what / sizeof what[0]; k++) {
        const char *o = str_at(old, what[k][0], what[k][1]);
        const char *n = str_at(now, what[k][0], what[k][1]);
        if (strcmp(o, n) != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, what[k][2], o, n);
            return cs_err_set(err, CS_EINVAL, path, 0, 0,
                              "%s: its points cannot be mixed with new ones; use another -o "
                              "folder",
                              msg);
        }
    }
    return 0;
}
