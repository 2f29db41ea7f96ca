/* fuzz_compare.c - the report and sweep loader of `constsim compare` (sim/rep_compare.c).
 *
 * The input is added as a report or sweep aggregate (rep_cmp_add_text), twice under two names
 * as `constsim compare A B` would, then everything compare prints is built from the rows: the
 * table, the CSV, every sort order and best value, the machine note. The input is labelled
 * tests/data/compare/sweep/sweep.json, so a sweep's points/p0000.json report is found there.
 */
#include "fuzz.h"
#include "rep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const labels[2] = {FUZZ_DATA_DIR "/compare/sweep/sweep.json",
                                      FUZZ_DATA_DIR "/compare/other.json"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rep_cmp c;
    rep_cmp_init(&c);
    cs_err err;
    int added = 0;
    for (int k = 0; k < 2; k++) {
        size_t rows = c.n_rows;
        if (rep_cmp_add_text(&c, labels[k], (const char *)data, size, &err) == 0)
            added++;
        else
            CS_ASSERT(err.code != 0 && err.msg[0] && c.n_rows >= rows);
    }
    if (added) {
        for (size_t i = 0; i < c.n_rows; i++) {
            const rep_row *r = &c.rows[i];
            CS_ASSERT(r->file < c.text.len && r->source < c.text.len);
            CS_ASSERT(r->precision < c.text.len && r->message < c.text.len);
        }
        char *t = rep_cmp_table(&c), *csv = rep_cmp_csv(&c);
        CS_ASSERT(t && csv);
        free(t);
        free(csv);
        for (int col = 0; col < REP_COL_N; col++) {
            double best;
            if (rep_cmp_best(&c, (rep_col)col, &best))
                CS_ASSERT(!isnan(best));
            CS_ASSERT(rep_cmp_sort(&c, (rep_col)col) == 0);
        }
        t = rep_cmp_table(&c);
        CS_ASSERT(t);
        free(t);
        char note[256];
        rep_cmp_machine_note(&c, note, sizeof note);
    }
    rep_cmp_deinit(&c);
    return 0;
}
