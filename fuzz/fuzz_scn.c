/* fuzz_scn.c - the scenario loader (sim/scn.h): YAML text plus --set overrides.
 *
 * Input: YAML, then any number of NUL-separated --set arguments ("KEY=VALUE"), at most
 * MAX_SETS of them: "name: x\n...\0federated.rounds=3\0wire.precision=fp16,int8". An input
 * holding NUL bytes is also loaded whole, without overrides, so that NUL bytes reach the YAML
 * parser. The scenario is labelled as a file in tests/data/good/, so that a relative TLE path
 * (sats.tle) resolves to the test data. An accepted config must hold the values scn.h promises
 * (ranges, counts, unique names), and is turned into the report's scenario JSON, as
 * `constsim run` does.
 */
#include "fuzz.h"
#include "scn.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SETS 8

static const char *const label = FUZZ_DATA_DIR "/good/fuzz.yaml";

/* x in [lo, hi] and finite. */
static bool in(double x, double lo, double hi)
{
    return isfinite(x) && x >= lo && x <= hi;
}

/* What scn.h promises about an accepted config. */
static void check_config(const scn_config *c)
{
    CS_ASSERT(c->name[0] && strlen(c->name) < sizeof c->name);
    CS_ASSERT(
        strspn(c->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
        strlen(c->name));
    CS_ASSERT(c->seed <= (1ull << 53) - 1);
    CS_ASSERT(isfinite(c->epoch_jd) && isfinite(c->duration_s) && c->duration_s > 0);
    const scn_constellation *k = &c->constellation;
    if (k->has_walker) {
        const scn_walker *w = &k->walker;
        CS_ASSERT(in(w->altitude_km, 100, 50000) && w->altitude_km > 100);
        CS_ASSERT(in(w->inclination_deg, 0, 180) && in(w->raan0_deg, -360, 360));
        CS_ASSERT(w->satellites >= 1 && w->planes >= 1 && w->planes <= w->satellites);
        CS_ASSERT(w->satellites % w->planes == 0 && w->phasing >= 0 && w->phasing < w->planes);
        CS_ASSERT(k->n_satellites == (size_t)w->satellites && !k->tles && !k->tle);
    } else {
        CS_ASSERT(k->tle && k->tle_as_written && k->tles && k->n_tles >= 1);
        CS_ASSERT(k->n_satellites == k->n_tles && (!k->n_select || k->n_select == k->n_tles));
    }
    for (size_t i = 0; i < c->n_stations; i++) {
        const scn_station *st = &c->stations[i];
        CS_ASSERT(st->name[0] && strlen(st->name) < sizeof st->name);
        for (size_t j = 0; j < i; j++)
            CS_ASSERT(strcmp(st->name, c->stations[j].name) != 0);
        CS_ASSERT(in(st->lat_deg, -90, 90) && in(st->lon_deg, -180, 180));
        CS_ASSERT(in(st->alt_m, -500, 9000) && in(st->min_elevation_deg, 0, 90) &&
                  st->min_elevation_deg < 90);
        CS_ASSERT(in(st->uplink_mbps, 0, HUGE_VAL) && st->uplink_mbps > 0);
        CS_ASSERT(in(st->downlink_mbps, 0, HUGE_VAL) && st->downlink_mbps > 0);
        CS_ASSERT(in(st->cost_per_mb, 0, HUGE_VAL) && in(st->cost_per_minute, 0, HUGE_VAL));
        CS_ASSERT(st->antennas >= 1 && st->antennas <= 1000);
    }
    CS_ASSERT(in(c->links.setup_s, 0, HUGE_VAL));
    const scn_federated *f = &c->federated;
    CS_ASSERT(f->rounds >= 1 && f->rounds <= 1000000);
    CS_ASSERT(f->clients >= 1 && (size_t)f->clients <= k->n_satellites);
    CS_ASSERT(f->clients_per_round >= 1 && f->clients_per_round <= f->clients);
    CS_ASSERT(in(f->round_deadline_s, 0, HUGE_VAL));
    CS_ASSERT(f->local_epochs >= 1 && f->local_epochs <= 1000);
    CS_ASSERT(f->batch_size >= 1 && f->batch_size <= 65536);
    CS_ASSERT(in(f->optimizer.lr, 0, HUGE_VAL) && f->optimizer.lr > 0);
    CS_ASSERT(in(f->optimizer.momentum, 0, 1) && f->optimizer.momentum < 1);
    CS_ASSERT(in(f->optimizer.weight_decay, 0, HUGE_VAL));
    CS_ASSERT(in(f->optimizer.decay_fraction, 0, 1) && f->optimizer.decay_fraction > 0);
    CS_ASSERT(in(f->compute_gflops, 0, HUGE_VAL) && f->compute_gflops > 0);
    CS_ASSERT(in(f->server_lr, 0, HUGE_VAL) && f->server_lr > 0);
    CS_ASSERT(in(f->server_momentum, 0, 1) && f->server_momentum < 1);
    CS_ASSERT(c->wire.n_precision >= 1 && c->wire.n_precision <= NN_PRECISIONS);
    for (size_t i = 0; i < c->wire.n_precision; i++)
        for (size_t j = 0; j < i; j++)
            CS_ASSERT(c->wire.precision[i] != c->wire.precision[j]);
    const scn_dataset *d = &c->dataset;
    CS_ASSERT(in(d->test_fraction, 0, 1) && d->test_fraction > 0 && d->test_fraction < 1);
    CS_ASSERT(in(d->alpha, 0, HUGE_VAL) && d->alpha > 0 && d->max_samples_per_client >= 0);
    CS_ASSERT(c->report.path && c->report.path[0]);
}

static void load(const char *text, size_t len, const char *const *sets, size_t n_sets)
{
    scn_config *c = NULL;
    cs_err err;
    int rc = scn_load_text(label, text, len, sets, n_sets, &c, &err);
    if (rc != 0) {
        CS_ASSERT(c == NULL && rc == err.code && err.msg[0] != '\0');
        return;
    }
    CS_ASSERT(c != NULL && c->n_stations >= 1 && c->n_sets == n_sets);
    check_config(c);
    cJSON *j = scn_to_json(c);
    CS_ASSERT(j != NULL);
    char *printed = cJSON_Print(j);
    CS_ASSERT(printed != NULL);
    free(printed);
    cJSON_Delete(j);
    scn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* one NUL-terminated copy, cut into the YAML and the --set strings */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *sets[MAX_SETS];
    size_t n_sets = 0, yaml_len = strlen(buf);
    for (size_t i = yaml_len; i < size && n_sets < MAX_SETS;) { /* buf[i] is a NUL */
        const char *s = buf + i + 1;
        sets[n_sets++] = s;
        i += 1 + strlen(s);
    }
    load(buf, yaml_len, sets, n_sets);
    if (yaml_len < size)
        load(buf, size, NULL, 0);
    free(buf);
    return 0;
}
