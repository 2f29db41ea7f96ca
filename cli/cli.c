#include "cli.h"

#include "cs_host.h"
#include "fl_study.h"
#include "nn.h"
#include "scn.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    fprintf(stderr, "constsim %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'constsim %s --help')\n", cmd);
    return 2;
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, long min, long max, long *out)
{
    if (!s) {
        cli_usage_error(cmd, "%s needs a value", opt);
        return -1;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) {
        cli_usage_error(cmd, "%s: expected an integer in [%ld, %ld], got \"%s\"", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max,
                     double *out)
{
    if (!s) {
        cli_usage_error(cmd, "%s needs a value", opt);
        return -1;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= min && v <= max)) {
        cli_usage_error(cmd, "%s: expected a number in [%g, %g], got \"%s\"", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_size(const char *cmd, const char *opt, const char *s, int *w, int *h)
{
    char *e = NULL;
    long a = s ? strtol(s, &e, 10) : 0, b = 0;
    if (s && e != s && (*e == 'x' || *e == 'X')) {
        const char *hs = e + 1;
        b = strtol(hs, &e, 10);
        if (e == hs)
            b = 0;
    }
    if (!s || *e || a < 320 || b < 200 || a > 16384 || b > 16384) {
        cli_usage_error(cmd, "%s: expected WxH, 320x200 to 16384x16384, got \"%s\"", opt,
                        s ? s : "");
        return -1;
    }
    *w = (int)a;
    *h = (int)b;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double cli_median(double *v, size_t n)
{
    CS_ASSERT(n >= 1);
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

bool cli_progress_tty(void)
{
    return isatty(fileno(stderr)) != 0;
}

void cli_plan_progress_init(cli_plan_progress *p, const char *cmd)
{
    *p = (cli_plan_progress){.cmd = cmd,
                             .out = stderr,
                             .tty = cli_progress_tty(),
                             .after_s = 2,
                             .every_s = 5,
                             .t0 = cs_wall_s()};
}

void cli_plan_progress_show(void *user, uint64_t pairs_done, uint64_t pairs_total)
{
    cli_plan_progress *p = user;
    double now = cs_wall_s(), el = now - p->t0;
    if (el < p->after_s || pairs_done >= pairs_total || pairs_total == 0)
        return; /* quick plans and the end say nothing: the caller's summary follows */
    if (p->drawn && now - p->last < (p->tty ? 0.2 : p->every_s))
        return;
    p->last = now;
    p->drawn++;
    double f = (double)pairs_done / (double)pairs_total;
    char spent[32], left[32] = "?";
    cs_fmt_duration(spent, sizeof spent, el);
    if (f > 0)
        cs_fmt_duration(left, sizeof left, el * (1 - f) / f);
    fprintf(p->out,
            "%s%s: contact plan: %llu/%llu satellite-station pairs (%.0f%%), %s, about %s left%s",
            p->tty ? "\r\033[K" : "", p->cmd, (unsigned long long)pairs_done,
            (unsigned long long)pairs_total, 100 * f, spent, left, p->tty ? "" : "\n");
    fflush(p->out);
    p->live = p->tty;
}

void cli_plan_progress_end(cli_plan_progress *p)
{
    if (p->live) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
        p->live = false;
    }
}

cli_data_opts cli_data_defaults(long batch)
{
    return (cli_data_opts){
        .data = NULL, .seed = 1, .test_fraction = 0.2, .threads = 0, .batch = batch};
}

int cli_data_opt(const char *cmd, int argc, char **argv, int *i, cli_data_opts *o)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    int bad = 0;
    if (!strcmp(a, "--data")) {
        if (!v) {
            cli_usage_error(cmd, "--data needs a value");
            return -1;
        }
        o->data = v;
    } else if (!strcmp(a, "--seed")) {
        bad = cli_parse_int(cmd, a, v, 0, 0x7fffffffL, &o->seed);
    } else if (!strcmp(a, "--test-fraction")) {
        bad = cli_parse_double(cmd, a, v, 1e-9, 1 - 1e-9, &o->test_fraction);
    } else if (!strcmp(a, "--threads")) {
        bad = cli_parse_int(cmd, a, v, 0, 1024, &o->threads);
    } else if (!strcmp(a, "--batch")) {
        bad = cli_parse_int(cmd, a, v, 1, 4096, &o->batch);
    } else {
        return 0;
    }
    if (bad)
        return -1;
    (*i)++;
    return 1;
}

void cli_data_usage(FILE *f, const char *batch_help)
{
    fprintf(f,
            "  --data DIR           EuroSAT folder (default: $CONSTSIM_DATA, data/eurosat,\n"
            "                       ../shared/eurosat)\n"
            "  --seed S             split seed (default 1)\n"
            "  --test-fraction F    test share of each class (default 0.2)\n"
            "  --batch B            %s\n"
            "  --threads T          compute threads (default: all cores)\n",
            batch_help);
}

int cli_data_open(cli_data_opts *o, nn_dataset *ds, uint32_t **train, size_t *n_train,
                  uint32_t **test, size_t *n_test, cs_err *err)
{
    if (o->threads == 0)
        o->threads = cs_host_cpus();
    nn_set_threads((int)o->threads);
    char root[1024];
    if (nn_data_find_root(o->data, root, sizeof root, err) ||
        nn_data_load(root, (int)o->threads, ds, err))
        return err->code;
    if (train &&
        nn_data_split(ds, o->test_fraction, (uint64_t)o->seed, train, n_train, test, n_test, err))
        return err->code;
    return 0;
}

void cli_print_json(cJSON *j)
{
    char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
    if (txt)
        printf("%s\n", txt);
    cJSON_free(txt);
    cJSON_Delete(j);
}

int cli_check_run_outputs(const scn_config *cfg, const char *out, bool models, cs_err *err)
{
    const char *report = out ? out : cfg->report.path;
    int rc = cs_check_writable(report, err);
    if (rc || !models)
        return rc;
    /* A model file of the first run, as fl_study_add_run names it. */
    char dir[1024], model[1100];
    fl_model_dir(report, dir, sizeof dir);
    snprintf(model, sizeof model, "%s/%s.safetensors", dir,
             nn_precision_name(cfg->wire.precision[0]));
    return cs_check_writable(model, err);
}
