/* plot.h - the gnuplot scripts of constsim plot (cli/cmd_plot.c runs them). Each builder reads a
 * parsed document, checks the fields it needs (errors name the file and the field) and appends
 * one self-contained script to a cs_buf: the terminal, the output path, the data as inline
 * blocks ($name << EOD) and the plot commands. docs/plot.md describes what each plot shows. */
#ifndef PLOT_H
#define PLOT_H

#include "cs.h"
#include "cs_buf.h"

#include <stdbool.h>

struct cJSON;

#define PLOT_SWEEP_FORMAT "constsim-sweep/1" /* docs/sweep.md */

typedef enum plot_format { PLOT_PNG, PLOT_SVG } plot_format;

/* Where the script draws. */
typedef struct plot_target {
    plot_format format;
    const char *output; /* borrowed: the path gnuplot writes (set output) */
} plot_target;

/* The choices for a sweep; NULL members take the defaults (docs/plot.md). */
typedef struct plot_sweep_opts {
    const char *x;         /* borrowed: the heatmap's x axis key */
    const char *y;         /* borrowed: the heatmap's y axis key */
    const char *precision; /* borrowed: only this precision */
} plot_sweep_opts;

/* The terminal lines for a canvas of w x h pixels (SVG: the same size in its units): pngcairo
 * when gnuplot has it, else png; then set output. */
void plot_terminal(cs_buf *b, const plot_target *t, int w, int h);
/* Appends s as a gnuplot single-quoted string ('' stands for a quote inside). */
void plot_quote(cs_buf *b, const char *s);
/* Appends v in the shortest of 15, 16 or 17 significant digits that reads back as v (as the
 * report prints it); NaN for a non-finite v. */
void plot_num(cs_buf *b, double v);
/* Line types 1..8 (colour, width, point): 1 fp32, 2 fp16, 3 int8, then the others. */
void plot_linetypes(cs_buf *b);
/* The line type of a precision: fp32, fp16 and int8 keep theirs; others by index (4..8). */
int plot_precision_linetype(const char *precision, int index);
/* Number member k of o into *v; false when missing or not a number. */
bool plot_get_num(const struct cJSON *o, const char *k, double *v);

/* The report multiplot (format "constsim-report/1"). path names the file in errors. */
int plot_report_script(const struct cJSON *rep, const char *path, const plot_target *t, cs_buf *b,
                       cs_err *err);
/* The sweep heatmaps and Pareto front (format "constsim-sweep/1"). Bad --x/--y/--precision
 * values are CS_EINVAL errors too (their message names the option). */
int plot_sweep_script(const struct cJSON *sw, const char *path, const plot_sweep_opts *o,
                      const plot_target *t, cs_buf *b, cs_err *err);

#endif
