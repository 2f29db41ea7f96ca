/* plot_report.c - the report multiplot: test accuracy of the global model against round,
 * simulated time, cumulative bytes and cumulative cost, one line per run (precision). Only the
 * completed rounds are drawn (rounds[]): the initial model and the unfinished round are not. */
#include "plot.h"
#include "rep.h"

#include <cjson/cJSON.h>
#include <string.h>

/* Appends the data block $runI of run i: one row per completed round. Returns the rows. */
static int run_block(cs_buf *b, const cJSON *run, int i, const char *path, cs_err *err)
{
    const cJSON *rounds = cJSON_GetObjectItemCaseSensitive(run, "rounds");
    if (!cJSON_IsArray(rounds))
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "runs[%d]: \"rounds\" is not an array", i);
    cs_buf_printf(b, "$run%d << EOD\n", i);
    cs_buf_str(b, "# round sim_time_h bytes_cum_MB cost_cum_usd accuracy bytes_cum\n");
    double bytes = 0, cost = 0;
    int n = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rounds)
    {
        static const char *const need[] = {"round",        "sim_time_s",      "accuracy",
                                           "bytes_to_sat", "bytes_to_ground", "cost_usd"};
        double v[6];
        for (int k = 0; k < 6; k++)
            if (!plot_get_num(r, need[k], &v[k]))
                return cs_err_set(err, CS_EINVAL, path, 0, 0,
                                  "runs[%d].rounds[%d]: \"%s\" is missing or not a number", i, n,
                                  need[k]);
        /* Byte counts are integers below 2^53: the double sums are exact. */
        bytes += v[3] + v[4];
        cost += v[5];
        const double row[6] = {v[0], v[1] / 3600.0, bytes / 1e6, cost, v[2], bytes};
        for (int k = 0; k < 6; k++) {
            if (k)
                cs_buf_str(b, " ");
            plot_num(b, row[k]);
        }
        cs_buf_str(b, "\n");
        n++;
    }
    cs_buf_str(b, "EOD\n");
    return n;
}

/* One panel: accuracy (column 5, in %) against column xcol of every run that has rounds. */
static void panel(cs_buf *b, const cJSON *runs, const int *rows, const char *title,
                  const char *xlabel, int xcol)
{
    cs_buf_str(b, "set title ");
    plot_quote(b, title);
    cs_buf_str(b, "\nset xlabel ");
    plot_quote(b, xlabel);
    cs_buf_str(b, "\nplot ");
    int i = 0, drawn = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, runs)
    {
        if (rows[i] > 0) {
            const char *prec = cJSON_GetObjectItemCaseSensitive(run, "precision")->valuestring;
            cs_buf_printf(b, "%s$run%d using %d:($5*100) with linespoints lt %d title ",
                          drawn ? ", \\\n     " : "", i, xcol, plot_precision_linetype(prec, i));
            plot_quote(b, prec);
            drawn++;
        }
        i++;
    }
    cs_buf_str(b, "\n");
}

int plot_report_script(const cJSON *rep, const char *path, const plot_target *t, cs_buf *b,
                       cs_err *err)
{
    int rc = rep_check_report(rep, path, err);
    if (rc)
        return rc;
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(rep, "runs");
    int n_runs = cJSON_GetArraySize(runs);
    if (!cJSON_IsArray(runs) || n_runs == 0)
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "report without runs (\"runs\" is empty)");
    const cJSON *scn = cJSON_GetObjectItemCaseSensitive(rep, "scenario");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(scn, "name");
    const char *scenario = cJSON_IsString(name) ? name->valuestring : "?";

    int rows[64];
    if (n_runs > 64)
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "%d runs: plot draws at most 64", n_runs);
    cs_buf data = {0}, empty = {0};
    int i = 0, total = 0, max_round = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, runs)
    {
        const cJSON *prec = cJSON_GetObjectItemCaseSensitive(run, "precision");
        if (!cJSON_IsString(prec)) {
            cs_buf_free(&data);
            cs_buf_free(&empty);
            return cs_err_set(err, CS_EINVAL, path, 0, 0, "runs[%d]: \"precision\" is not a string",
                              i);
        }
        rows[i] = run_block(&data, run, i, path, err);
        if (rows[i] < 0) {
            cs_buf_free(&data);
            cs_buf_free(&empty);
            return rows[i];
        }
        if (rows[i] == 0)
            cs_buf_printf(&empty, "%s%s", empty.len ? ", " : "", prec->valuestring);
        total += rows[i];
        if (rows[i] > max_round)
            max_round = rows[i];
        i++;
    }
    if (total == 0) {
        cs_buf_free(&data);
        cs_buf_free(&empty);
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "no run completed a round: nothing to plot (rounds[] are all empty)");
    }

    cs_buf_printf(b, "# constsim plot: report %s\n", path);
    plot_terminal(b, t, 1200, 900);
    plot_linetypes(b);
    cs_buf_put(b, data.p, data.len);
    cs_buf_free(&data);

    cs_buf title = {0};
    cs_buf_printf(&title, "%s: test accuracy of the global model after each completed round (%s)",
                  scenario, path);
    if (empty.len)
        cs_buf_printf(&title, "\\n%s: no completed round, not shown", empty.p);
    cs_buf_free(&empty);
    cs_buf_str(b, "set multiplot layout 2,2 title ");
    /* The title goes in double quotes so that \n breaks the line. */
    cs_buf_str(b, "\"");
    for (const char *p = title.p; p && *p; p++) {
        if (*p == '"')
            cs_buf_str(b, "\\\"");
        else
            cs_buf_put(b, p, 1);
    }
    cs_buf_str(b, "\" font ',13'\n");
    cs_buf_free(&title);
    cs_buf_str(b, "set grid\nset key bottom right box opaque\n"
                  "set ylabel 'test accuracy (%)'\nset yrange [0:*]\nset offsets graph 0.02, "
                  "graph 0.02, graph 0.05, 0\n");
    if (max_round <= 20)
        cs_buf_str(b, "set xtics 1\n");
    panel(b, runs, rows, "against rounds", "round", 1);
    cs_buf_str(b, "set xtics autofreq\n");
    panel(b, runs, rows, "against simulated time", "simulated time since the epoch (hours)", 2);
    panel(b, runs, rows, "against cumulative bytes moved (uplink + downlink)",
          "cumulative bytes (MB, 10^6 bytes)", 3);
    panel(b, runs, rows, "against cumulative ground-station cost", "cumulative cost (USD)", 4);
    cs_buf_str(b, "unset multiplot\n");
    return 0;
}
