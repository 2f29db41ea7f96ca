/* plot_sweep.c - the sweep plot (docs/sweep.md, docs/plot.md): per precision, heatmaps of final
 * accuracy and of cost over two axes, each cell the mean of the done points that share its two
 * values (the replicate mean when seed is the only other varying axis); then the accuracy-cost
 * Pareto front of every done point and precision (of the replicate groups' means, with their 95%
 * confidence intervals as error bars, when seed is replicated). Failed and pending points are
 * left out, and the title counts them. */
#include "plot.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_AXES = 32, MAX_PRECISIONS = 16 };

typedef struct axis {
    const char *key;     /* borrowed from the document */
    const cJSON *values; /* borrowed: the axis values */
    int n;               /* number of values */
} axis;

/* One point of the Pareto plot: a done point's run, or a replicate group. */
typedef struct entry {
    int precision; /* index into the sweep's precisions */
    double cost, acc;
    double cost_lo, cost_hi, acc_lo, acc_hi; /* 95% CI; = the value when there is none */
    char label[160];
    bool front;
} entry;

typedef struct sweep {
    const char *path;
    axis axes[MAX_AXES];
    int n_axes;
    const cJSON *points;
    bool replicated;
    const char *precisions[MAX_PRECISIONS];
    int n_precisions;
    int done, failed, pending;
} sweep;

/* A CS_EINVAL error about the sweep file (err and s in scope). */
#define BAD(...) cs_err_set(err, CS_EINVAL, s->path, 0, 0, __VA_ARGS__)

/* The index of value v among the values of axis a; -1 if absent. */
static int value_index(const axis *a, const cJSON *v)
{
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a->values)
    {
        if (v && cJSON_Compare(x, v, true))
            return i;
        i++;
    }
    return -1;
}

/* Appends an axis value as text: numbers as printed in the file, strings as they are. */
static void value_text(cs_buf *b, const cJSON *v)
{
    if (cJSON_IsString(v))
        cs_buf_str(b, v->valuestring);
    else if (cJSON_IsNumber(v))
        plot_num(b, v->valuedouble);
    else
        cs_buf_str(b, "?");
}

static int find_axis(const sweep *s, const char *key)
{
    for (int i = 0; i < s->n_axes; i++)
        if (strcmp(s->axes[i].key, key) == 0)
            return i;
    return -1;
}

static int precision_index(sweep *s, const char *p, bool add)
{
    for (int i = 0; i < s->n_precisions; i++)
        if (strcmp(s->precisions[i], p) == 0)
            return i;
    if (!add || s->n_precisions == MAX_PRECISIONS)
        return -1;
    s->precisions[s->n_precisions] = p;
    return s->n_precisions++;
}

static void axis_list(const sweep *s, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < s->n_axes && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", s->axes[i].key);
}

/* Checks the document and fills s. */
static int read_sweep(const cJSON *sw, sweep *s, cs_err *err)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(sw, "format");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, PLOT_SWEEP_FORMAT) != 0)
        return BAD("not a constsim sweep (\"format\" is not \"" PLOT_SWEEP_FORMAT "\")");
    const cJSON *axes = cJSON_GetObjectItemCaseSensitive(sw, "axes");
    if (!cJSON_IsArray(axes) || cJSON_GetArraySize(axes) == 0)
        return BAD("\"axes\" is not a non-empty array");
    const cJSON *a;
    cJSON_ArrayForEach(a, axes)
    {
        int i = s->n_axes;
        if (i == MAX_AXES)
            return BAD("more than %d axes", MAX_AXES);
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(a, "key");
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(a, "values");
        if (!cJSON_IsString(key))
            return BAD("axes[%d]: \"key\" is not a string", i);
        if (!cJSON_IsArray(values) || cJSON_GetArraySize(values) == 0)
            return BAD("axes[%d]: \"values\" is not a non-empty array", i);
        s->axes[i] = (axis){key->valuestring, values, cJSON_GetArraySize(values)};
        s->n_axes++;
    }
    s->points = cJSON_GetObjectItemCaseSensitive(sw, "points");
    if (!cJSON_IsArray(s->points))
        return BAD("\"points\" is not an array");
    int i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, s->points)
    {
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(p, "values");
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(p, "status");
        if (!cJSON_IsObject(values))
            return BAD("points[%d]: \"values\" is not an object", i);
        for (int k = 0; k < s->n_axes; k++)
            if (value_index(&s->axes[k], cJSON_GetObjectItemCaseSensitive(values, s->axes[k].key)) <
                0)
                return BAD("points[%d].values: \"%s\" is missing or not one of the axis's values",
                           i, s->axes[k].key);
        if (!cJSON_IsString(status))
            return BAD("points[%d]: \"status\" is not a string", i);
        if (strcmp(status->valuestring, "failed") == 0) {
            s->failed++;
        } else if (strcmp(status->valuestring, "pending") == 0) {
            s->pending++;
        } else if (strcmp(status->valuestring, "done") == 0) {
            s->done++;
            const cJSON *runs = cJSON_GetObjectItemCaseSensitive(p, "runs");
            if (!cJSON_IsArray(runs) || cJSON_GetArraySize(runs) == 0)
                return BAD("points[%d]: done, but \"runs\" is not a non-empty array", i);
            int r = 0;
            const cJSON *run;
            cJSON_ArrayForEach(run, runs)
            {
                const cJSON *prec = cJSON_GetObjectItemCaseSensitive(run, "precision");
                double v;
                if (!cJSON_IsString(prec))
                    return BAD("points[%d].runs[%d]: \"precision\" is not a string", i, r);
                if (!plot_get_num(run, "accuracy", &v) || !plot_get_num(run, "cost_usd", &v))
                    return BAD("points[%d].runs[%d]: \"accuracy\" or \"cost_usd\" is missing or "
                               "not a number",
                               i, r);
                if (precision_index(s, prec->valuestring, true) < 0)
                    return BAD("more than %d precisions", MAX_PRECISIONS);
                r++;
            }
        } else {
            return BAD("points[%d]: \"status\" is \"%s\", expected done, failed or pending", i,
                       status->valuestring);
        }
        i++;
    }
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(sw, "replicates");
    s->replicated = cJSON_IsObject(rep);
    if (s->replicated && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(rep, "groups")))
        return BAD("replicates: \"groups\" is not an array");
    if (rep && !s->replicated && !cJSON_IsNull(rep))
        return BAD("\"replicates\" is neither null nor an object");
    return 0;
}

/* An axis that may go on the heatmap by default: it varies, and it is not the replicated
 * seed (which the cells average over). */
static bool plottable(const sweep *s, int k)
{
    return s->axes[k].n > 1 && !(s->replicated && strcmp(s->axes[k].key, "seed") == 0);
}

static int choose_axes(const sweep *s, const plot_sweep_opts *o, int *xa, int *ya, cs_err *err)
{
    char list[512];
    axis_list(s, list, sizeof list);
    *xa = *ya = -1;
    if (o->x && (*xa = find_axis(s, o->x)) < 0)
        return BAD("--x %s: not an axis of this sweep (axes: %s)", o->x, list);
    if (o->y) {
        if (s->n_axes == 1)
            return BAD("--y %s: this sweep has one axis (%s): nothing to put on y", o->y,
                       s->axes[0].key);
        if ((*ya = find_axis(s, o->y)) < 0)
            return BAD("--y %s: not an axis of this sweep (axes: %s)", o->y, list);
        if (*ya == *xa)
            return BAD("--x and --y both name %s", o->y);
    }
    for (int k = 0; k < s->n_axes && *xa < 0; k++)
        if (plottable(s, k) && k != *ya)
            *xa = k;
    for (int k = 0; k < s->n_axes && *xa < 0; k++)
        if (k != *ya)
            *xa = k; /* nothing varies: the first axis, one cell wide */
    for (int k = 0; k < s->n_axes && *ya < 0 && !o->y; k++)
        if (plottable(s, k) && k != *xa)
            *ya = k;
    return 0;
}

/* The label of a point or group: its values on the axes that vary, "rounds=4 clients=5" (the
 * last part of each dotted key), then the precision when there are several. */
static void entry_label(entry *e, const sweep *s, const cJSON *values, const char *precision)
{
    cs_buf b = {0};
    for (int k = 0; k < s->n_axes; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(values, s->axes[k].key);
        if (s->axes[k].n < 2 || !v)
            continue;
        const char *dot = strrchr(s->axes[k].key, '.');
        cs_buf_printf(&b, "%s%s=", b.len ? " " : "", dot ? dot + 1 : s->axes[k].key);
        value_text(&b, v);
    }
    if (s->n_precisions > 1)
        cs_buf_printf(&b, "%s%s", b.len ? " " : "", precision);
    snprintf(e->label, sizeof e->label, "%s", b.p ? b.p : "");
    for (char *c = e->label; *c; c++)
        if (*c == '"')
            *c = '\'';
    cs_buf_free(&b);
}

/* The mean and 95% interval of a group statistic S (docs/sweep.md); false when S is null. */
static bool stat_of(const cJSON *S, double *mean, double *lo, double *hi)
{
    if (!plot_get_num(S, "mean", mean))
        return false;
    if (!plot_get_num(S, "ci95_low", lo) || !plot_get_num(S, "ci95_high", hi))
        *lo = *hi = *mean; /* n < 2: no interval */
    return true;
}

/* The Pareto entries: the replicate groups, or every done point's runs. */
static int collect_entries(const cJSON *sw, sweep *s, int only, entry **out, int *n_out,
                           cs_err *err)
{
    size_t cap = 16;
    int n = 0;
    entry *es = malloc(cap * sizeof *es);
    if (!es)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
    const cJSON *list;
    if (s->replicated)
        list = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sw, "replicates"),
                                                "groups");
    else
        list = s->points;
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        const cJSON *runs = NULL, *one = NULL;
        if (s->replicated) {
            one = item;
        } else {
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(item, "status");
            if (strcmp(st->valuestring, "done") != 0) {
                i++;
                continue;
            }
            runs = cJSON_GetObjectItemCaseSensitive(item, "runs");
            one = runs->child;
        }
        for (; one; one = runs ? one->next : NULL) {
            const cJSON *prec = cJSON_GetObjectItemCaseSensitive(one, "precision");
            if (s->replicated && cJSON_IsNull(prec))
                continue; /* a group with no done seed yet: nothing to draw */
            if (!cJSON_IsString(prec)) {
                free(es);
                return BAD("replicates.groups[%d]: \"precision\" is not a string", i);
            }
            int pi = precision_index(s, prec->valuestring, false);
            if (only >= 0 && pi != only)
                continue;
            entry e = {0};
            e.precision = pi;
            if (s->replicated) {
                if (!stat_of(cJSON_GetObjectItemCaseSensitive(one, "accuracy"), &e.acc, &e.acc_lo,
                             &e.acc_hi) ||
                    !stat_of(cJSON_GetObjectItemCaseSensitive(one, "cost_usd"), &e.cost, &e.cost_lo,
                             &e.cost_hi))
                    continue; /* n = 0: every seed failed or is pending */
                if (pi < 0) {
                    free(es);
                    return BAD("replicates.groups[%d]: precision \"%s\" is in no done point's runs",
                               i, prec->valuestring);
                }
            } else {
                plot_get_num(one, "accuracy", &e.acc);
                plot_get_num(one, "cost_usd", &e.cost);
                e.acc_lo = e.acc_hi = e.acc;
                e.cost_lo = e.cost_hi = e.cost;
            }
            entry_label(&e, s, cJSON_GetObjectItemCaseSensitive(item, "values"), prec->valuestring);
            if ((size_t)n == cap) {
                entry *g = realloc(es, 2 * cap * sizeof *es);
                if (!g) {
                    free(es);
                    return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
                }
                es = g;
                cap *= 2;
            }
            es[n++] = e;
            if (s->replicated)
                break;
        }
        i++;
    }
    /* Non-dominated: no other entry costs no more and is at least as accurate, and is better in
     * one of the two. */
    for (int a = 0; a < n; a++) {
        es[a].front = true;
        for (int b = 0; b < n && es[a].front; b++)
            if (es[b].cost <= es[a].cost && es[b].acc >= es[a].acc &&
                (es[b].cost < es[a].cost || es[b].acc > es[a].acc))
                es[a].front = false;
    }
    *out = es;
    *n_out = n;
    return 0;
}

static int by_cost(const void *pa, const void *pb)
{
    const entry *a = *(const entry *const *)pa, *b = *(const entry *const *)pb;
    if (a->cost != b->cost)
        return a->cost < b->cost ? -1 : 1;
    return (a->acc < b->acc) - (a->acc > b->acc);
}

/* Tic labels of axis a at 0, 1, ... */
static void tics(cs_buf *b, const char *which, const axis *a)
{
    cs_buf_printf(b, "set %stics (", which);
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, a->values)
    {
        cs_buf t = {0};
        value_text(&t, v);
        cs_buf_str(b, i ? ", " : "");
        plot_quote(b, t.p ? t.p : "");
        cs_buf_printf(b, " %d", i);
        cs_buf_free(&t);
        i++;
    }
    cs_buf_printf(b, ")\nset %srange [-0.5:%d.5]\n", which, i - 1);
}

/* One heatmap of column col (3 accuracy, 4 cost) of block $heatP. */
static void heatmap(cs_buf *b, int p, int col, double lo, double hi, const char *title,
                    const char *palette, const char *cell_fmt, double scale, bool empty, int n_full)
{
    if (!(hi > lo)) {
        double d = fabs(lo) > 0 ? fabs(lo) * 0.01 : 0.01;
        lo -= d, hi += d;
    }
    cs_buf_str(b, "set title ");
    plot_quote(b, title);
    /* No colour-bar label: the title names the figure and its unit, and a label beside the left
     * panel's bar would run into the right panel. */
    cs_buf_printf(b, "\nunset cblabel\nset palette defined %s\nset cbrange [", palette);
    plot_num(b, lo * scale);
    cs_buf_str(b, ":");
    plot_num(b, hi * scale);
    cs_buf_printf(
        b,
        "]\nplot $heat%d using 1:2:(0.5):(0.5):($%d*%g) with boxxyerror fc palette "
        "fs solid 1.0 border lc rgb '#ffffff' notitle, \\\n"
        "     $heat%d using 1:2:(sprintf('%s', $%d*%g).($5 < %d ? sprintf(' (n=%%d)', $5) : '')) "
        "with labels font ',10' notitle",
        p, col, scale, p, cell_fmt, col, scale, n_full);
    if (empty)
        cs_buf_printf(b,
                      ", \\\n"
                      "     $empty%d using 1:2:(0.5):(0.5) with boxxyerror fc rgb '#e0e0e0' fs "
                      "solid 1.0 border lc rgb '#ffffff' notitle, \\\n"
                      "     $empty%d using 1:2:(stringcolumn(3)) with labels font ',9' tc rgb "
                      "'#606060' notitle",
                      p, p);
    cs_buf_str(b, "\n");
}

int plot_sweep_script(const cJSON *sw, const char *path, const plot_sweep_opts *o,
                      const plot_target *t, cs_buf *b, cs_err *err)
{
    sweep *s = calloc(1, sizeof *s);
    if (!s)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
    s->path = path;
    int rc = read_sweep(sw, s, err);
    int xa = -1, ya = -1, only = -1;
    if (rc == 0)
        rc = choose_axes(s, o, &xa, &ya, err);
    if (rc == 0 && s->done == 0)
        rc = BAD("no done point to plot (%d failed, %d pending)", s->failed, s->pending);
    if (rc == 0 && o->precision && (only = precision_index(s, o->precision, false)) < 0) {
        char list[256];
        size_t n = 0;
        list[0] = '\0';
        for (int i = 0; i < s->n_precisions && n < sizeof list; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "",
                                  s->precisions[i]);
        rc = BAD("--precision %s: no done point has it (precisions: %s)", o->precision, list);
    }
    entry *es = NULL;
    int n_es = 0;
    if (rc == 0)
        rc = collect_entries(sw, s, only, &es, &n_es, err);
    if (rc != 0) {
        free(s);
        return rc;
    }
    const axis *X = &s->axes[xa], *Y = ya >= 0 ? &s->axes[ya] : NULL;
    int nx = X->n, ny = Y ? Y->n : 1;

    /* Which precisions get a heatmap pair. */
    int shown[MAX_PRECISIONS], n_shown = 0;
    for (int p = 0; p < s->n_precisions; p++)
        if (only < 0 || p == only)
            shown[n_shown++] = p;

    /* Canvas: a title band, one row of two heatmaps per precision, then the Pareto plot. */
    const int W = 1200, title_px = 80, heat_px = ny > 1 ? 430 : 270, pareto_px = 560;
    const int H = title_px + n_shown * heat_px + pareto_px;
    cs_buf_printf(b, "# constsim plot: sweep %s\n", path);
    plot_terminal(b, t, W, H);
    plot_linetypes(b);

    /* Heatmap cells: the mean over the done points with those x and y values. */
    double *sum = calloc((size_t)nx * ny * 2, sizeof *sum);
    int *cnt = calloc((size_t)nx * ny, sizeof *cnt);
    double lo[MAX_PRECISIONS][2], hi[MAX_PRECISIONS][2];
    bool any_empty[MAX_PRECISIONS];
    int n_full[MAX_PRECISIONS]; /* the most points in one cell: fewer are labelled (n=...) */
    if (!sum || !cnt) {
        free(sum), free(cnt), free(es), free(s);
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (int si = 0; si < n_shown; si++) {
        int p = shown[si];
        memset(sum, 0, (size_t)nx * ny * 2 * sizeof *sum);
        memset(cnt, 0, (size_t)nx * ny * sizeof *cnt);
        const cJSON *pt;
        cJSON_ArrayForEach(pt, s->points)
        {
            if (strcmp(cJSON_GetObjectItemCaseSensitive(pt, "status")->valuestring, "done") != 0)
                continue;
            const cJSON *vals = cJSON_GetObjectItemCaseSensitive(pt, "values");
            int xi = value_index(X, cJSON_GetObjectItemCaseSensitive(vals, X->key));
            int yi = Y ? value_index(Y, cJSON_GetObjectItemCaseSensitive(vals, Y->key)) : 0;
            const cJSON *run;
            cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(pt, "runs"))
            {
                const char *prec = cJSON_GetObjectItemCaseSensitive(run, "precision")->valuestring;
                if (strcmp(prec, s->precisions[p]) != 0)
                    continue;
                double acc = 0, cost = 0;
                plot_get_num(run, "accuracy", &acc);
                plot_get_num(run, "cost_usd", &cost);
                size_t c = (size_t)xi * ny + yi;
                sum[2 * c] += acc;
                sum[2 * c + 1] += cost;
                cnt[c]++;
            }
        }
        lo[si][0] = lo[si][1] = INFINITY;
        hi[si][0] = hi[si][1] = -INFINITY;
        cs_buf_printf(b, "$heat%d << EOD\n# x_index y_index accuracy_mean cost_usd_mean n (%s)\n",
                      si, s->precisions[p]);
        for (int xi = 0; xi < nx; xi++)
            for (int yi = 0; yi < ny; yi++) {
                size_t c = (size_t)xi * ny + yi;
                if (!cnt[c])
                    continue;
                double m[2] = {sum[2 * c] / cnt[c], sum[2 * c + 1] / cnt[c]};
                cs_buf_printf(b, "%d %d ", xi, yi);
                plot_num(b, m[0]);
                cs_buf_str(b, " ");
                plot_num(b, m[1]);
                cs_buf_printf(b, " %d\n", cnt[c]);
                for (int k = 0; k < 2; k++) {
                    lo[si][k] = fmin(lo[si][k], m[k]);
                    hi[si][k] = fmax(hi[si][k], m[k]);
                }
            }
        cs_buf_str(b, "EOD\n");
        /* Cells no done point reaches. No block when there are none: gnuplot 5.4 crashes on
         * the labels of a block that holds only NaN. */
        any_empty[si] = false;
        n_full[si] = 0;
        for (size_t c = 0; c < (size_t)nx * ny; c++)
            if (cnt[c] > n_full[si])
                n_full[si] = cnt[c];
        for (int xi = 0; xi < nx; xi++)
            for (int yi = 0; yi < ny; yi++)
                if (!cnt[(size_t)xi * ny + yi]) {
                    if (!any_empty[si])
                        cs_buf_printf(b, "$empty%d << EOD\n# x_index y_index label\n", si);
                    cs_buf_printf(b, "%d %d \"no data\"\n", xi, yi);
                    any_empty[si] = true;
                }
        if (any_empty[si])
            cs_buf_str(b, "EOD\n");
    }
    free(sum);
    free(cnt);

    /* Pareto data: one block per precision, then the front sorted by cost. */
    const entry **sorted = malloc((size_t)(n_es ? n_es : 1) * sizeof *sorted);
    if (!sorted) {
        free(es), free(s);
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (int si = 0; si < n_shown; si++) {
        cs_buf_printf(b,
                      "$pts%d << EOD\n# cost_usd accuracy cost_lo cost_hi accuracy_lo "
                      "accuracy_hi label (%s)\n",
                      si, s->precisions[shown[si]]);
        for (int i = 0; i < n_es; i++) {
            const entry *e = &es[i];
            if (e->precision != shown[si])
                continue;
            const double v[6] = {e->cost, e->acc, e->cost_lo, e->cost_hi, e->acc_lo, e->acc_hi};
            for (int k = 0; k < 6; k++) {
                plot_num(b, v[k]);
                cs_buf_str(b, " ");
            }
            cs_buf_printf(b, "\"%s\"\n", e->label);
        }
        cs_buf_str(b, "EOD\n");
    }
    int n_front = 0;
    for (int i = 0; i < n_es; i++)
        if (es[i].front)
            sorted[n_front++] = &es[i];
    qsort(sorted, (size_t)n_front, sizeof *sorted, by_cost);
    cs_buf_str(b, "$front << EOD\n# cost_usd accuracy label (non-dominated, by cost)\n");
    for (int i = 0; i < n_front; i++) {
        plot_num(b, sorted[i]->cost);
        cs_buf_str(b, " ");
        plot_num(b, sorted[i]->acc);
        cs_buf_printf(b, " \"%s\"\n", sorted[i]->label);
    }
    cs_buf_str(b, "EOD\n");
    free(sorted);

    /* Titles. */
    const cJSON *scn = cJSON_GetObjectItemCaseSensitive(sw, "scenario");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(scn, "name");
    cs_buf title = {0};
    cs_buf_printf(&title, "sweep of %s (%s): %d points, %d done",
                  cJSON_IsString(name) ? name->valuestring : "?", path,
                  s->failed + s->pending + s->done, s->done);
    if (s->failed || s->pending) {
        cs_buf_str(&title, "\\n");
        if (s->failed)
            cs_buf_printf(&title, "%d point%s failed", s->failed, s->failed == 1 ? "" : "s");
        if (s->pending)
            cs_buf_printf(&title, "%s%d point%s pending", s->failed ? ", " : "", s->pending,
                          s->pending == 1 ? "" : "s");
        cs_buf_str(&title, ": not shown");
    }
    cs_buf mean_over = {0};
    for (int k = 0; k < s->n_axes; k++)
        if (k != xa && k != ya && s->axes[k].n > 1)
            cs_buf_printf(&mean_over, "%s%s", mean_over.len ? ", " : "", s->axes[k].key);

    cs_buf_str(b, "set multiplot title \"");
    for (const char *c = title.p; c && *c; c++)
        cs_buf_str(b, *c == '"' ? "'" : (char[2]){*c, 0});
    cs_buf_str(b, "\" font ',13'\n");
    cs_buf_free(&title);

    const double fy_title = (double)title_px / H, fy_heat = (double)heat_px / H,
                 fy_pareto = (double)pareto_px / H;
    cs_buf_str(b, "set tics nomirror\nset size ratio 0\n");
    for (int si = 0; si < n_shown; si++) {
        const char *prec = s->precisions[shown[si]];
        double y0 = 1.0 - fy_title - (si + 1) * fy_heat;
        cs_buf_str(b, "set xlabel ");
        plot_quote(b, X->key);
        cs_buf_str(b, "\n");
        tics(b, "x", X);
        if (Y) {
            cs_buf_str(b, "set ylabel ");
            plot_quote(b, Y->key);
            cs_buf_str(b, "\n");
            tics(b, "y", Y);
        } else {
            cs_buf_str(b, "unset ylabel\nset ytics ('' 0)\nset yrange [-0.5:0.5]\n");
        }
        for (int k = 0; k < 2; k++) {
            cs_buf ttl = {0};
            cs_buf_printf(&ttl, "%s: %s", prec,
                          k == 0 ? "final test accuracy (%)" : "cost of the run (USD)");
            if (mean_over.len)
                cs_buf_printf(&ttl, ", mean over %s", mean_over.p);
            cs_buf_printf(b, "set origin %.4f,%.4f\nset size 0.5,%.4f\n", 0.5 * k, y0, fy_heat);
            if (k == 0)
                heatmap(b, si, 3, lo[si][0], hi[si][0], ttl.p,
                        "(0 '#f7fbff', 1 '#9ecae1', 2 '#4292c6')", "%.1f", 100.0, any_empty[si],
                        n_full[si]);
            else
                heatmap(b, si, 4, lo[si][1], hi[si][1], ttl.p,
                        "(0 '#fff5eb', 1 '#fdae6b', 2 '#f16913')", "%.2f", 1.0, any_empty[si],
                        n_full[si]);
            cs_buf_free(&ttl);
        }
    }
    cs_buf_free(&mean_over);

    /* The Pareto plot. */
    cs_buf_printf(b,
                  "set origin 0,0\nset size 1,%.4f\nunset colorbox\n"
                  "set xtics autofreq\nset ytics autofreq\nset xrange [0:*]\nset yrange [*:*]\n"
                  "set offsets 0, graph 0.08, graph 0.08, graph 0.08\nset grid\n"
                  "set key inside left top box opaque\n"
                  "set xlabel 'cost of the run (USD)'\nset ylabel 'final test accuracy (%%)'\n",
                  fy_pareto);
    cs_buf_str(b, "set title ");
    plot_quote(b, s->replicated ? "accuracy-cost Pareto front (replicate means over seed; bars: "
                                  "95% confidence intervals, Student's t)"
                                : "accuracy-cost Pareto front of every done point");
    cs_buf_str(b, "\nplot ");
    for (int si = 0; si < n_shown; si++) {
        int lt = plot_precision_linetype(s->precisions[shown[si]], shown[si]);
        if (s->replicated)
            cs_buf_printf(b,
                          "$pts%d using 1:($2*100):3:4:($5*100):($6*100) with xyerrorbars lt %d "
                          "title ",
                          si, lt);
        else
            cs_buf_printf(b, "$pts%d using 1:($2*100) with points lt %d title ", si, lt);
        plot_quote(b, s->precisions[shown[si]]);
        cs_buf_str(b, ", \\\n     ");
    }
    cs_buf_str(b, "$front using 1:($2*100) with steps lw 2 dt 2 lc rgb '#333333' "
                  "title 'Pareto front (non-dominated)', \\\n"
                  "     $front using 1:($2*100) with points pt 6 ps 2.2 lc rgb '#333333' "
                  "notitle, \\\n"
                  "     $front using 1:($2*100):3 with labels left offset char 1.2,-0.9 "
                  "font ',9' notitle\n"
                  "unset multiplot\n");
    free(es);
    free(s);
    return 0;
}
