/* plot.c - what the report and sweep scripts share: the terminal and string quoting. */
#include "plot.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void plot_num(cs_buf *b, double v)
{
    if (!isfinite(v)) {
        cs_buf_str(b, "NaN");
        return;
    }
    char s[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(s, sizeof s, "%.*g", digits, v);
        if (strtod(s, NULL) == v)
            break;
    }
    cs_buf_str(b, s);
}

bool plot_get_num(const cJSON *o, const char *k, double *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(x))
        return false;
    *v = x->valuedouble;
    return true;
}

void plot_quote(cs_buf *b, const char *s)
{
    cs_buf_str(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            cs_buf_str(b, "''");
        else if (*p == '\n')
            cs_buf_str(b, " ");
        else
            cs_buf_put(b, p, 1);
    }
    cs_buf_str(b, "'");
}

void plot_terminal(cs_buf *b, const plot_target *t, int w, int h)
{
    /* noenhanced: keys such as clients_per_round are printed as written, not as subscripts. */
    const char *opts = "font 'Sans,11' noenhanced background '#ffffff'";
    if (t->format == PLOT_SVG) {
        cs_buf_printf(b, "set terminal svg size %d,%d %s\n", w, h, opts);
    } else {
        /* pngcairo draws antialiased lines; the libgd png terminal is the fallback. */
        cs_buf_printf(b,
                      "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                      "    set terminal pngcairo size %d,%d %s\n"
                      "} else {\n"
                      "    set terminal png size %d,%d %s\n"
                      "}\n",
                      w, h, opts, w, h, opts);
    }
    cs_buf_str(b, "set output ");
    plot_quote(b, t->output);
    cs_buf_str(b, "\n");
}

int plot_precision_linetype(const char *precision, int index)
{
    static const char *const names[] = {"fp32", "fp16", "int8"};
    for (int i = 0; i < 3; i++)
        if (strcmp(precision, names[i]) == 0)
            return i + 1;
    return 4 + index % 5;
}

void plot_linetypes(cs_buf *b)
{
    static const char *const colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                          "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
    static const int points[] = {7, 5, 9, 11, 13, 15, 7, 5};
    for (int i = 0; i < 8; i++)
        cs_buf_printf(b, "set linetype %d lc rgb '%s' lw 2 pt %d ps 1.3\n", i + 1, colours[i],
                      points[i]);
}
