/* scn.c - the scenario schema: node tree -> validated scn_config (see scn.h, docs/scenario.md).
 * Which keys exist, their types, ranges and defaults, the checks across keys, and loading; the
 * conversions of located values and their errors are sim/scn_value.c. */
#include "scn_internal.h"

#include "orbits.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names -------------------------------------------------------------------------------- */

static const char *const payload_names[] = {"weights", "delta"};
static const char *const partition_names[] = {"iid", "dirichlet"};
static const char *const opt_state_names[] = {"reset", "keep"};
static const char *const augment_names[] = {"none", "flip"};
static const char *const strategy_names[] = {"fedavg"};
static const char *const dataset_names[] = {"eurosat"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define STR_(x) #x
#define STR(x) STR_(x) /* a macro's value as text: STR(ORB_CONTACTS_MAX_DURATION_S) is "1e9" */

/* The lower-case name of an enum value, from its table. */
#define SCN_NAME_FN(fn, type, table)                                                               \
    const char *fn(type x)                                                                         \
    {                                                                                              \
        CS_ASSERT((size_t)x < COUNT(table));                                                       \
        return table[x];                                                                           \
    }
SCN_NAME_FN(scn_payload_name, scn_payload, payload_names)
SCN_NAME_FN(scn_partition_name, scn_partition, partition_names)
SCN_NAME_FN(scn_opt_state_name, scn_opt_state, opt_state_names)
SCN_NAME_FN(scn_augment_name, scn_augment, augment_names)
SCN_NAME_FN(scn_strategy_name, scn_strategy, strategy_names)

bool scn_key_is_list(const char *key)
{
    return strcmp(key, "wire.precision") == 0 || strcmp(key, "wire.adaptive") == 0 ||
           strcmp(key, "constellation.select") == 0;
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
static const char *const wire_keys[] = {"precision",     "payload",        "group_size",
                                        "topk_fraction", "error_feedback", "stochastic_rounding",
                                        "adaptive",      "broadcast"};
static const char *const dataset_keys[] = {
    "name", "path", "test_fraction", "partition", "alpha", "max_samples_per_client", "augment"};
static const char *const report_keys[] = {"path", "ptq"};

/* One limit: a TLE file holds as many sets as a scenario may have satellites. */
_Static_assert(ORB_TLE_MAX_SETS == SCN__MAX_SATELLITES, "TLE sets and satellites differ");

static bool is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

static int conv_top(const scn__cv *v, const scn__sec *root)
{
    scn_config *c = v->c;
    const char *s = NULL;
    int rc = scn__get_str(v, root, "name", true, sizeof c->name - 1, &s, &c->at.name);
    if (rc)
        return rc;
    for (const char *p = s; *p; p++)
        if (!is_name_char(*p) || (p == s && *p == '.')) {
            const scn__node *n = scn__map_get(root->m, "name", NULL);
            char got[96];
            return scn__fail(v, c->at.name, "name",
                             "expected letters, digits, '.', '_' or '-' (it names report files), "
                             "got %s",
                             scn__describe(n, got, sizeof got));
        }
    snprintf(c->name, sizeof c->name, "%s", s);

    if ((rc = scn__get_str(v, root, "description", false, 4096, &s, &c->at.description)) != 0 ||
        (rc = scn__dup_str(v, s, &c->description)) != 0)
        return rc;

    long long seed;
    if ((rc =
             scn__get_int(v, root, "seed", false, 1, 0, (1LL << 53) - 1, NULL, &seed, &c->at.seed)))
        return rc;
    c->seed = (uint64_t)seed;

    if ((rc = scn__get_str(v, root, "epoch", true, sizeof c->epoch_iso - 1, &s, &c->at.epoch)))
        return rc;
    cs_err te;
    cs_err_clear(&te);
    if (orb_time_parse_iso(s, &c->epoch_jd, &te) != 0)
        return scn__fail(v, c->at.epoch, "epoch", "%s", te.msg);
    snprintf(c->epoch_iso, sizeof c->epoch_iso, "%s", s);

    char path[256];
    const scn__node *n =
        scn__field(v, root, "duration", true, path, sizeof path, &c->at.duration, &rc);
    if (rc || (rc = scn__to_duration(v, n, path, false, &c->duration_s)))
        return rc;
    if (c->duration_s > ORB_CONTACTS_MAX_DURATION_S) {
        char got[96];
        return scn__fail(v, c->at.duration, path,
                         "expected a duration of at most %s s (%.1f years), got %s",
                         STR(ORB_CONTACTS_MAX_DURATION_S),
                         ORB_CONTACTS_MAX_DURATION_S / (365.25 * ORB_SEC_PER_DAY),
                         scn__describe(n, got, sizeof got));
    }
    return 0;
}

/* Every kept set can start propagating with the scenario's propagator (as sim_plan will build
 * it): a set that cannot (eccentricity out of range, perigee inside the Earth, decayed at its
 * epoch) is an error at its line 1 in the TLE file. */
static int tle_check_elements(const scn__cv *v)
{
    const scn_constellation *k = &v->c->constellation;
    for (size_t i = 0; i < k->n_tles; i++) {
        char nm[sizeof k->tles[i].name];
        orb_tle_name(&k->tles[i], nm, sizeof nm);
        orb_sat sat;
        cs_err e;
        cs_err_clear(&e);
        if (orb_sat_init(&sat, nm, k->propagator, &k->tles[i].el, &e) != 0)
            return cs_err_set(v->err, CS_EINVAL, k->tle, k->tles[i].line, 0, "%s (propagator %s)",
                              e.msg, orb_prop_name(k->propagator));
    }
    return 0;
}

/* Reads the TLE file, the only time it is read: the sets kept here (those named by select, in
 * its order; else all, in file order) travel in the config, and sim_plan builds the satellites
 * from them. */
static int tle_keep(const scn__cv *v, const scn__itemlist *sel)
{
    scn_constellation *k = &v->c->constellation;
    /* A path that cannot be read (missing, a directory, a FIFO, a device, too large) is an error
     * at the key that names it; what is wrong inside the file is an error at the file's line. */
    unsigned char *data = NULL;
    size_t len = 0;
    cs_err re;
    cs_err_clear(&re);
    int rc = cs_read_file_max(k->tle, ORB_TLE_MAX_FILE_BYTES, "TLE file", &data, &len, &re);
    if (rc == CS_ENOMEM)
        return scn__oom(v);
    if (rc)
        return scn__fail(v, k->at.tle, "constellation.tle", "\"%s\": %s", k->tle, re.msg);
    orb_tle *tles = NULL;
    size_t n = 0;
    rc = orb_tle_parse_text(k->tle, (const char *)data, len, &tles, &n, v->err);
    free(data);
    if (rc)
        return rc;
    if (n == 0) {
        free(tles);
        return scn__fail(v, k->at.tle, "constellation.tle", "no TLE sets in \"%s\"", k->tle);
    }
    if (sel && sel->n) {
        orb_tle *kept = NULL;
        size_t bytes;
        if (cs_size_mul(sel->n, sizeof(orb_tle), &bytes) != 0 || !(kept = malloc(bytes))) {
            free(tles);
            return scn__oom(v);
        }
        for (size_t i = 0; i < sel->n; i++) {
            char ipath[64];
            snprintf(ipath, sizeof ipath, "constellation.select.%zu", i);
            long j = orb_tle_find(tles, n, sel->v[i].text);
            if (j < 0) {
                char avail[400];
                size_t o = 0;
                avail[0] = '\0';
                for (size_t t = 0; t < n && o < sizeof avail - 40; t++) {
                    char nm[sizeof tles[t].name];
                    orb_tle_name(&tles[t], nm, sizeof nm);
                    o += (size_t)snprintf(avail + o, sizeof avail - o, "%s%s", t ? ", " : "", nm);
                }
                if (o >= sizeof avail - 40)
                    snprintf(avail + o, sizeof avail - o, ", ...");
                free(kept);
                free(tles);
                return scn__fail(v, sel->v[i].at, ipath,
                                 "no satellite \"%s\" in %s (available: %s)", sel->v[i].text,
                                 k->tle, avail);
            }
            for (size_t t = 0; t < i; t++)
                if (strcmp(sel->v[t].text, sel->v[i].text) == 0) {
                    free(kept);
                    free(tles);
                    return scn__fail(v, sel->v[i].at, ipath, "\"%s\" is selected twice",
                                     sel->v[i].text);
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
    return tle_check_elements(v);
}

static int resolve_relative(const scn__cv *v, const char *base_file, const char *rel, char **out)
{
    const char *slash = strrchr(base_file, '/');
    if (rel[0] == '/' || !slash)
        return scn__dup_str(v, rel, out);
    size_t dl = (size_t)(slash - base_file) + 1, rl = strlen(rel);
    *out = malloc(dl + rl + 1);
    if (!*out)
        return scn__oom(v);
    memcpy(*out, base_file, dl);
    memcpy(*out + dl, rel, rl + 1);
    return 0;
}

static int conv_constellation(const scn__cv *v, const scn__sec *root)
{
    scn_constellation *k = &v->c->constellation;
    scn__sec cs, ws;
    int rc = scn__open_section(v, root, "constellation", true, constellation_keys,
                               COUNT(constellation_keys), &cs, &k->at.self);
    if (rc)
        return rc;
    if (!cs.m)
        return scn__fail(v, cs.loc, "constellation",
                         "expected a mapping with walker or tle, got %s", "nothing (null)");
    const scn__node *kw = NULL, *kt = NULL;
    const scn__node *w = scn__map_get(cs.m, "walker", &kw);
    const scn__node *t = scn__map_get(cs.m, "tle", &kt);
    if (w && t) {
        const scn__node *second =
            kw->line > kt->line || (kw->line == kt->line && kw->col > kt->col) ? kw : kt;
        return scn__fail(v, scn__loc_of(second), "constellation",
                         "walker and tle exclude each other: give exactly one");
    }
    if (!w && !t)
        return scn__fail(v, cs.loc, "constellation", "missing walker or tle (give exactly one)");
    /* The propagators' names are orbits' own (orb_prop_name), listed in enum order. */
    const char *prop_names[ORB_PROP_KINDS];
    for (size_t i = 0; i < COUNT(prop_names); i++)
        prop_names[i] = orb_prop_name((orb_prop_kind)i);
    int e = 0;
    if ((rc = scn__get_enum(v, &cs, "propagator", ORB_PROP_SGP4, prop_names, COUNT(prop_names), &e,
                            &k->at.propagator)))
        return rc;
    k->propagator = (orb_prop_kind)e;
    if (w) {
        const scn__node *sk = NULL;
        if (scn__map_get(cs.m, "select", &sk))
            return scn__fail(v, scn__loc_of(sk), "constellation.select",
                             "select applies to tle constellations only");
        scn_walker *wk = &k->walker;
        k->has_walker = true;
        if ((rc = scn__open_section(v, &cs, "walker", true, walker_keys, COUNT(walker_keys), &ws,
                                    &k->at.walker)))
            return rc;
        wk->at.self = k->at.walker;
        if ((rc = scn__get_num(v, &ws, "altitude_km", true, 0,
                               (scn__range){100, 50000, SCN__LO | SCN__LO_OPEN | SCN__HI}, NULL,
                               &wk->altitude_km, &wk->at.altitude_km)) ||
            (rc = scn__get_num(v, &ws, "inclination_deg", true, 0,
                               (scn__range){0, 180, SCN__LO | SCN__HI}, NULL, &wk->inclination_deg,
                               &wk->at.inclination_deg)) ||
            (rc = scn__get_int32(v, &ws, "satellites", true, 0, 1, SCN__MAX_SATELLITES, NULL,
                                 &wk->satellites, &wk->at.satellites)))
            return rc;
        char hint[64];
        snprintf(hint, sizeof hint, "at most satellites = %d", wk->satellites);
        if ((rc = scn__get_int32(v, &ws, "planes", true, 0, 1, wk->satellites, hint, &wk->planes,
                                 &wk->at.planes)))
            return rc;
        if (wk->satellites % wk->planes != 0)
            return scn__fail(
                v, wk->at.planes, "constellation.walker.planes",
                "%d satellites do not split evenly into %d planes (satellites must be a "
                "multiple of planes)",
                wk->satellites, wk->planes);
        snprintf(hint, sizeof hint, "0..planes-1");
        if ((rc = scn__get_int32(v, &ws, "phasing", false, 0, 0, wk->planes - 1, hint, &wk->phasing,
                                 &wk->at.phasing)) ||
            (rc = scn__get_num(v, &ws, "raan0_deg", false, 0,
                               (scn__range){-360, 360, SCN__LO | SCN__HI}, NULL, &wk->raan0_deg,
                               &wk->at.raan0_deg)))
            return rc;
        k->n_satellites = (size_t)wk->satellites;
        return 0;
    }
    /* tle */
    const char *s;
    if ((rc = scn__get_str(v, &cs, "tle", true, 1000, &s, &k->at.tle)) ||
        (rc = scn__dup_str(v, s, &k->tle_as_written)) ||
        (rc = resolve_relative(v, v->c->file, s, &k->tle)))
        return rc;
    scn__itemlist sel = {NULL, 0};
    char path[256];
    const scn__node *sn =
        scn__field(v, &cs, "select", false, path, sizeof path, &k->at.select, &rc);
    if (rc)
        return rc;
    if (sn) {
        if ((rc = scn__split_list(v, sn, path, &sel)))
            return rc;
        if (sel.n == 0)
            return scn__fail(v, k->at.select, path,
                             "expected a non-empty list of TLE names (omit select for all), got %s",
                             "an empty list");
        size_t b1, b2;
        if (cs_size_mul(sel.n, sizeof(char *), &b1) || cs_size_mul(sel.n, sizeof(scn_loc), &b2) ||
            !(k->select = calloc(1, b1)) || !(k->select_at = calloc(1, b2))) {
            free(sel.v);
            return scn__oom(v);
        }
        k->n_select = sel.n;
        for (size_t i = 0; i < sel.n; i++) {
            k->select_at[i] = sel.v[i].at;
            char ipath[64];
            snprintf(ipath, sizeof ipath, "constellation.select.%zu", i);
            if (!sel.v[i].text[0]) {
                rc = scn__fail(v, sel.v[i].at, ipath, "expected a TLE name, got an empty string");
                break;
            }
            if (!(k->select[i] = strdup(sel.v[i].text))) {
                rc = scn__oom(v);
                break;
            }
        }
    }
    if (rc == 0)
        rc = tle_keep(v, &sel);
    free(sel.v);
    return rc;
}

static int conv_station(const scn__cv *v, const scn__node *n, size_t idx, scn_station *st)
{
    scn__sec ss;
    char idxs[24], got[96];
    snprintf(idxs, sizeof idxs, "%zu", idx);
    scn__join(ss.path, sizeof ss.path, "ground_stations", idxs);
    ss.loc = scn__loc_of(n);
    st->at.self = ss.loc;
    if (n->kind != SCN__MAP) {
        char names[512];
        scn__list_names(names, sizeof names, station_keys, COUNT(station_keys));
        return scn__fail(v, ss.loc, ss.path, "expected a station (a mapping with keys %s), got %s",
                         names, scn__describe(n, got, sizeof got));
    }
    ss.m = n;
    int rc = scn__check_keys(v, n, ss.path, station_keys, COUNT(station_keys));
    const char *name;
    if (rc || (rc = scn__get_str(v, &ss, "name", true, sizeof st->name - 1, &name, &st->at.name)))
        return rc;
    snprintf(st->name, sizeof st->name, "%s", name);
    if ((rc = scn__get_num(v, &ss, "lat_deg", true, 0, (scn__range){-90, 90, SCN__LO | SCN__HI},
                           NULL, &st->lat_deg, &st->at.lat_deg)) ||
        (rc = scn__get_num(v, &ss, "lon_deg", true, 0, (scn__range){-180, 180, SCN__LO | SCN__HI},
                           NULL, &st->lon_deg, &st->at.lon_deg)) ||
        (rc = scn__get_num(v, &ss, "alt_m", false, 0, (scn__range){-500, 9000, SCN__LO | SCN__HI},
                           NULL, &st->alt_m, &st->at.alt_m)) ||
        (rc = scn__get_num(v, &ss, "min_elevation_deg", false, 10,
                           (scn__range){0, 90, SCN__LO | SCN__HI | SCN__HI_OPEN}, NULL,
                           &st->min_elevation_deg, &st->at.min_elevation_deg)) ||
        (rc = scn__get_num(v, &ss, "uplink_mbps", true, 0,
                           (scn__range){0, 0, SCN__LO | SCN__LO_OPEN}, NULL, &st->uplink_mbps,
                           &st->at.uplink_mbps)) ||
        (rc = scn__get_num(v, &ss, "downlink_mbps", true, 0,
                           (scn__range){0, 0, SCN__LO | SCN__LO_OPEN}, NULL, &st->downlink_mbps,
                           &st->at.downlink_mbps)) ||
        (rc = scn__get_num(v, &ss, "cost_per_mb", false, 0, (scn__range){0, 0, SCN__LO}, NULL,
                           &st->cost_per_mb, &st->at.cost_per_mb)) ||
        (rc = scn__get_num(v, &ss, "cost_per_minute", false, 0, (scn__range){0, 0, SCN__LO}, NULL,
                           &st->cost_per_minute, &st->at.cost_per_minute)) ||
        (rc = scn__get_int32(v, &ss, "antennas", false, 1, 1, 1000, NULL, &st->antennas,
                             &st->at.antennas)))
        return rc;
    return 0;
}

static int conv_stations(const scn__cv *v, const scn__sec *root)
{
    scn_config *c = v->c;
    char path[256], got[96];
    int rc;
    const scn__node *n = scn__field(v, root, "ground_stations", true, path, sizeof path,
                                    &c->at.ground_stations, &rc);
    if (rc)
        return rc;
    if (n->kind != SCN__SEQ || n->n == 0)
        return scn__fail(v, c->at.ground_stations, path,
                         "expected a list of at least one station, got %s",
                         scn__describe(n, got, sizeof got));
    if (n->n > SCN__MAX_STATIONS)
        return scn__fail(v, c->at.ground_stations, path,
                         "expected at most %d stations, got %zu (far beyond real ground networks; "
                         "every station is searched against every satellite)",
                         SCN__MAX_STATIONS, n->n);
    size_t bytes;
    if (cs_size_mul(n->n, sizeof(scn_station), &bytes) != 0 || !(c->stations = calloc(1, bytes)))
        return scn__oom(v);
    c->n_stations = n->n;
    for (size_t i = 0; i < n->n; i++) {
        if ((rc = conv_station(v, n->items[i], i, &c->stations[i])))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->stations[j].name, c->stations[i].name) == 0) {
                char ipath[64];
                snprintf(ipath, sizeof ipath, "ground_stations.%zu.name", i);
                return scn__fail(
                    v, c->stations[i].at.name, ipath,
                    "duplicate station name \"%s\" (also ground_stations.%zu, line %ld)",
                    c->stations[i].name, j, c->stations[j].at.name.line);
            }
    }
    return 0;
}

static int conv_links(const scn__cv *v, const scn__sec *root)
{
    scn_links *l = &v->c->links;
    scn__sec ls;
    char path[256];
    int rc =
        scn__open_section(v, root, "links", false, links_keys, COUNT(links_keys), &ls, &l->at.self);
    if (rc)
        return rc;
    const scn__node *n =
        scn__field(v, &ls, "setup_s", false, path, sizeof path, &l->at.setup_s, &rc);
    l->setup_s = 0;
    if (rc || (n && (rc = scn__to_duration(v, n, path, true, &l->setup_s))))
        return rc;
    return scn__get_bool(v, &ls, "resume", true, &l->resume, &l->at.resume);
}

static int conv_optimizer(const scn__cv *v, const scn__sec *fs)
{
    const char *optimizer_names[NN_OPT_KINDS], *schedule_names[NN_SCHEDULES];
    for (int i = 0; i < NN_OPT_KINDS; i++)
        optimizer_names[i] = nn_opt_kind_name((nn_opt_kind)i);
    for (int i = 0; i < NN_SCHEDULES; i++)
        schedule_names[i] = nn_schedule_name((nn_schedule)i);
    scn_optimizer_cfg *o = &v->c->federated.optimizer;
    o->name = NN_OPT_ADAM;
    o->lr = 0.001;
    o->momentum = 0;
    o->weight_decay = 0;
    o->schedule = NN_SCHED_CONSTANT;
    o->state = SCN_OPT_STATE_RESET;
    o->decay_fraction = 0.3;
    char path[256];
    int rc;
    const scn__node *n = scn__field(v, fs, "optimizer", false, path, sizeof path, &o->at.self, &rc);
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
        rc = scn__to_enum(v, n, path, optimizer_names, COUNT(optimizer_names), &e);
        o->name = (nn_opt_kind)e;
        return rc;
    }
    scn__sec os;
    if ((rc = scn__open_section(v, fs, "optimizer", false, optimizer_keys, COUNT(optimizer_keys),
                                &os, &o->at.self)))
        return rc;
    if ((rc = scn__get_enum(v, &os, "name", NN_OPT_ADAM, optimizer_names, COUNT(optimizer_names),
                            &e, &o->at.name)) ||
        (rc = scn__get_num(v, &os, "lr", false, 0.001, (scn__range){0, 0, SCN__LO | SCN__LO_OPEN},
                           NULL, &o->lr, &o->at.lr)) ||
        (rc = scn__get_num(v, &os, "momentum", false, 0,
                           (scn__range){0, 1, SCN__LO | SCN__HI | SCN__HI_OPEN}, NULL, &o->momentum,
                           &o->at.momentum)) ||
        (rc = scn__get_num(v, &os, "weight_decay", false, 0, (scn__range){0, 0, SCN__LO}, NULL,
                           &o->weight_decay, &o->at.weight_decay)))
        return rc;
    o->name = (nn_opt_kind)e;
    if ((rc = scn__get_enum(v, &os, "schedule", NN_SCHED_CONSTANT, schedule_names,
                            COUNT(schedule_names), &e, &o->at.schedule)))
        return rc;
    o->schedule = (nn_schedule)e;
    if ((rc = scn__get_num(v, &os, "decay_fraction", false, 0.3,
                           (scn__range){0, 1, SCN__LO | SCN__LO_OPEN | SCN__HI}, NULL,
                           &o->decay_fraction, &o->at.decay_fraction)))
        return rc;
    if ((rc = scn__get_enum(v, &os, "state", SCN_OPT_STATE_RESET, opt_state_names,
                            COUNT(opt_state_names), &e, &o->at.state)))
        return rc;
    o->state = (scn_opt_state)e;
    if (o->name != NN_OPT_SGD && !o->at.momentum.is_default)
        return scn__fail(v, o->at.momentum, "federated.optimizer.momentum",
                         "momentum applies to sgd only (the optimizer is %s)",
                         nn_opt_kind_name(o->name));
    return 0;
}

static int conv_federated(const scn__cv *v, const scn__sec *root)
{
    scn_federated *f = &v->c->federated;
    size_t nsat = v->c->constellation.n_satellites;
    scn__sec fs;
    char path[256], got[96], hint[96];
    int rc = scn__open_section(v, root, "federated", true, federated_keys, COUNT(federated_keys),
                               &fs, &f->at.self);
    if (rc)
        return rc;
    if ((rc = scn__get_int32(v, &fs, "rounds", true, 0, 1, INT_MAX, NULL, &f->rounds,
                             &f->at.rounds)))
        return rc;
    snprintf(hint, sizeof hint, "at most the %zu satellites", nsat);
    int maxc = nsat > 1000000 ? 1000000 : (int)nsat;
    if ((rc = scn__get_int32(v, &fs, "clients", false, maxc, 1, maxc, hint, &f->clients,
                             &f->at.clients)))
        return rc;

    /* clients_per_round: integer count, or a fraction 0 < f <= 1 (ceil(f * clients)). */
    f->clients_per_round = f->clients;
    f->clients_per_round_fraction = 0;
    const scn__node *n = scn__field(v, &fs, "clients_per_round", false, path, sizeof path,
                                    &f->at.clients_per_round, &rc);
    if (rc)
        return rc;
    if (n) {
        bool ok = false;
        if (n->kind == SCN__SCALAR && !n->quoted && scn__is_int_text(n->text)) {
            errno = 0;
            long long x = strtoll(n->text, NULL, 10);
            if (errno == 0 && x >= 1 && x <= f->clients) {
                f->clients_per_round = (int)x;
                ok = true;
            }
        } else if (n->kind == SCN__SCALAR && !n->quoted && scn__is_float_text(n->text)) {
            double x = strtod(n->text, NULL);
            if (x > 0 && x <= 1) {
                f->clients_per_round_fraction = x;
                f->clients_per_round = cs_fraction_count(x, f->clients);
                ok = true;
            }
        }
        if (!ok)
            return scn__fail(v, f->at.clients_per_round, path,
                             "expected an integer in [1, %d] (at most clients) or a fraction in "
                             "(0, 1], got %s",
                             f->clients, scn__describe(n, got, sizeof got));
    }
    int e = 0;
    if ((rc = scn__get_enum(v, &fs, "strategy", SCN_STRATEGY_FEDAVG, strategy_names,
                            COUNT(strategy_names), &e, &f->at.strategy)))
        return rc;
    f->strategy = (scn_strategy)e;
    f->round_deadline_s = 0;
    n = scn__field(v, &fs, "round_deadline", false, path, sizeof path, &f->at.round_deadline, &rc);
    if (rc)
        return rc;
    if (n && !(n->kind == SCN__SCALAR && !n->quoted && strcmp(n->text, "none") == 0) &&
        (rc = scn__to_duration(v, n, path, false, &f->round_deadline_s)))
        return rc;
    if ((rc = scn__get_int32(v, &fs, "local_epochs", false, 1, 1, 1000, NULL, &f->local_epochs,
                             &f->at.local_epochs)) ||
        (rc = scn__get_int32(v, &fs, "batch_size", false, 32, 1, 65536, NULL, &f->batch_size,
                             &f->at.batch_size)) ||
        (rc = conv_optimizer(v, &fs)) ||
        (rc = scn__get_num(v, &fs, "compute_gflops", false, 20,
                           (scn__range){0, 0, SCN__LO | SCN__LO_OPEN}, NULL, &f->compute_gflops,
                           &f->at.compute_gflops)) ||
        (rc =
             scn__get_num(v, &fs, "server_lr", false, 1, (scn__range){0, 0, SCN__LO | SCN__LO_OPEN},
                          NULL, &f->server_lr, &f->at.server_lr)) ||
        (rc = scn__get_num(v, &fs, "server_momentum", false, 0,
                           (scn__range){0, 1, SCN__LO | SCN__HI | SCN__HI_OPEN}, NULL,
                           &f->server_momentum, &f->at.server_momentum)))
        return rc;
    return 0;
}

/* A list of distinct precisions at node n (key: "wire.precision" or "wire.adaptive"); adaptive
 * allowed or not. */
static int prec_list(const scn__cv *v, const scn__node *n, const char *key, scn_loc at,
                     bool allow_adaptive, nn_precision *out, size_t *n_out, scn_loc *items)
{
    char path[64], got[96], list[96];
    snprintf(path, sizeof path, "%s", key);
    const char *prec_names[NN_PRECISIONS];
    const int n_names = allow_adaptive ? NN_PRECISIONS : NN_CODECS;
    for (int j = 0; j < n_names; j++)
        prec_names[j] = nn_precision_name((nn_precision)j);
    scn__list_names(list, sizeof list, prec_names, (size_t)n_names);
    scn__itemlist l;
    int rc = scn__split_list(v, n, path, &l);
    if (rc)
        return rc;
    if (l.n == 0 || (l.n == 1 && l.v[0].text[0] == '\0')) {
        free(l.v);
        return scn__fail(v, at, path, "expected a non-empty list of %s, got %s", list,
                         n->kind == SCN__SEQ ? "an empty list" : scn__describe(n, got, sizeof got));
    }
    if (l.n > (size_t)n_names) {
        free(l.v);
        return scn__fail(v, at, path, "expected at most %d distinct precisions, got %zu", n_names,
                         l.n);
    }
    for (size_t i = 0; i < l.n; i++) {
        char ipath[80];
        snprintf(ipath, sizeof ipath, "%s.%zu", key, i);
        int p = -1;
        for (int j = 0; j < n_names; j++)
            if (strcmp(l.v[i].text, prec_names[j]) == 0)
                p = j;
        if (p < 0) {
            rc =
                scn__fail(v, l.v[i].at, ipath, "expected one of %s, got \"%s\"", list, l.v[i].text);
            break;
        }
        for (size_t j = 0; j < i; j++)
            if (out[j] == (nn_precision)p)
                rc = scn__fail(v, l.v[i].at, ipath, "%s is listed twice", l.v[i].text);
        if (rc)
            break;
        out[i] = (nn_precision)p;
        items[i] = l.v[i].at;
    }
    if (rc == 0)
        *n_out = l.n;
    free(l.v);
    return rc;
}

static int conv_wire(const scn__cv *v, const scn__sec *root)
{
    scn_wire *w = &v->c->wire;
    scn__sec ws;
    char path[256];
    int rc =
        scn__open_section(v, root, "wire", false, wire_keys, COUNT(wire_keys), &ws, &w->at.self);
    if (rc)
        return rc;
    w->precision[0] = NN_PREC_FP32;
    w->n_precision = 1;
    const scn__node *n =
        scn__field(v, &ws, "precision", false, path, sizeof path, &w->at.precision, &rc);
    w->at.precision_items[0] = w->at.precision;
    if (rc)
        return rc;
    if (n && (rc = prec_list(v, n, "wire.precision", w->at.precision, true, w->precision,
                             &w->n_precision, w->at.precision_items)))
        return rc;
    static const nn_precision adaptive_default[] = {NN_PREC_FP32, NN_PREC_INT8, NN_PREC_INT4,
                                                    NN_PREC_TOPK};
    memcpy(w->adaptive, adaptive_default, sizeof adaptive_default);
    w->n_adaptive = COUNT(adaptive_default);
    scn_loc items[NN_CODECS];
    n = scn__field(v, &ws, "adaptive", false, path, sizeof path, &w->at.adaptive, &rc);
    if (rc)
        return rc;
    if (n && (rc = prec_list(v, n, "wire.adaptive", w->at.adaptive, false, w->adaptive,
                             &w->n_adaptive, items)))
        return rc;
    static const char *const bc_names[] = {"same", "fp32",    "fp16", "int8",
                                           "int4", "ternary", "topk"};
    int bc = 0;
    if ((rc = scn__get_enum(v, &ws, "broadcast", 0, bc_names, COUNT(bc_names), &bc,
                            &w->at.broadcast)))
        return rc;
    w->broadcast = bc - 1;
    int e = 0, g = 0;
    if ((rc = scn__get_enum(v, &ws, "payload", SCN_PAYLOAD_WEIGHTS, payload_names,
                            COUNT(payload_names), &e, &w->at.payload)) ||
        (rc = scn__get_int32(v, &ws, "group_size", false, (int)NN_WIRE_GROUP_DEFAULT, 0, 1 << 20,
                             "values per INT4/ternary scale; 0: one per output channel", &g,
                             &w->at.group_size)) ||
        (rc = scn__get_num(v, &ws, "topk_fraction", false, NN_WIRE_TOPK_DEFAULT,
                           (scn__range){0, 1, SCN__LO | SCN__LO_OPEN | SCN__HI}, NULL,
                           &w->topk_fraction, &w->at.topk_fraction)) ||
        (rc = scn__get_bool(v, &ws, "error_feedback", false, &w->error_feedback,
                            &w->at.error_feedback)) ||
        (rc = scn__get_bool(v, &ws, "stochastic_rounding", false, &w->stochastic_rounding,
                            &w->at.stochastic_rounding)))
        return rc;
    w->payload = (scn_payload)e;
    w->group_size = (uint32_t)g;
    /* The low precisions and error feedback work on updates: they need delta payloads. */
    if (w->payload != SCN_PAYLOAD_DELTA) {
        if (w->error_feedback)
            return scn__fail(v, w->at.error_feedback, "wire.error_feedback",
                             "error feedback needs wire.payload: delta (it corrects updates)");
        for (size_t i = 0; i < w->n_precision; i++)
            if (nn_precision_is_low(w->precision[i]) || w->precision[i] == NN_PREC_ADAPTIVE) {
                char ipath[64];
                snprintf(ipath, sizeof ipath, "wire.precision.%zu", i);
                return scn__fail(v, w->at.precision_items[i], ipath,
                                 "%s sends changes, not models: it needs wire.payload: delta",
                                 nn_precision_name(w->precision[i]));
            }
    }
    return 0;
}

static int conv_dataset(const scn__cv *v, const scn__sec *root)
{
    scn_dataset *d = &v->c->dataset;
    scn__sec ds;
    int rc = scn__open_section(v, root, "dataset", false, dataset_keys, COUNT(dataset_keys), &ds,
                               &d->at.self);
    int name = 0, part = 0, aug = 0;
    long long cap = 0;
    const char *s;
    if (rc ||
        (rc = scn__get_enum(v, &ds, "name", 0, dataset_names, COUNT(dataset_names), &name,
                            &d->at.name)) ||
        (rc = scn__get_str(v, &ds, "path", false, 1000, &s, &d->at.path)) ||
        (rc = scn__dup_str(v, s, &d->path)) ||
        (rc = scn__get_num(v, &ds, "test_fraction", false, 0.2,
                           (scn__range){0, 1, SCN__LO | SCN__LO_OPEN | SCN__HI | SCN__HI_OPEN},
                           NULL, &d->test_fraction, &d->at.test_fraction)) ||
        (rc = scn__get_enum(v, &ds, "partition", SCN_PART_IID, partition_names,
                            COUNT(partition_names), &part, &d->at.partition)) ||
        (rc = scn__get_num(v, &ds, "alpha", false, 0.5, (scn__range){0, 0, SCN__LO | SCN__LO_OPEN},
                           "the Dirichlet concentration", &d->alpha, &d->at.alpha)) ||
        (rc = scn__get_int(v, &ds, "max_samples_per_client", false, 0, 0, INT_MAX, "0 = no cap",
                           &cap, &d->at.max_samples_per_client)) ||
        (rc = scn__get_enum(v, &ds, "augment", SCN_AUG_NONE, augment_names, COUNT(augment_names),
                            &aug, &d->at.augment)))
        return rc;
    d->max_samples_per_client = (long)cap;
    d->augment = (scn_augment)aug;
    snprintf(d->name, sizeof d->name, "%s", dataset_names[name]);
    d->partition = (scn_partition)part;
    return 0;
}

static int conv_report(const scn__cv *v, const scn__sec *root)
{
    scn_report *r = &v->c->report;
    scn__sec rs;
    const char *s;
    int rc = scn__open_section(v, root, "report", false, report_keys, COUNT(report_keys), &rs,
                               &r->at.self);
    if (rc || (rc = scn__get_str(v, &rs, "path", false, 1000, &s, &r->at.path)))
        return rc;
    if (s) {
        if ((rc = scn__dup_str(v, s, &r->path)))
            return rc;
    } else {
        size_t len = strlen(v->c->name) + sizeof "reports/.json";
        if (!(r->path = malloc(len)))
            return scn__oom(v);
        snprintf(r->path, len, "reports/%s.json", v->c->name);
    }
    return scn__get_bool(v, &rs, "ptq", false, &r->ptq, &r->at.ptq);
}

static int convert(const scn__cv *v, const scn__node *root)
{
    scn_config *c = v->c;
    scn__sec rs;
    snprintf(rs.path, sizeof rs.path, "%s", "");
    if (!root) {
        rs.loc = (scn_loc){1, 1, -1, false};
        return scn__fail(v, rs.loc, "",
                         "empty scenario: expected a mapping with name, epoch, "
                         "duration, constellation, ground_stations, federated, ...");
    }
    rs.loc = scn__loc_of(root);
    rs.m = root;
    c->at.self = rs.loc;
    int rc = scn__check_keys(v, root, "", root_keys, COUNT(root_keys));
    if (rc || (rc = conv_top(v, &rs)) || (rc = conv_constellation(v, &rs)) ||
        (rc = conv_stations(v, &rs)) || (rc = scn__check_plan_cost(v)) ||
        (rc = conv_links(v, &rs)) || (rc = conv_federated(v, &rs)) || (rc = conv_wire(v, &rs)) ||
        (rc = conv_dataset(v, &rs)) || (rc = conv_report(v, &rs)))
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
                        scn__describe(root, got, sizeof got));
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
        scn__cv v = {c, err};
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
    int rc = cs_read_file_max(path, SCN__MAX_FILE_BYTES, "scenario file", &data, &len, err);
    if (rc)
        return rc;
    rc = scn_load_text(path, (const char *)data, len, sets, n_sets, out, err);
    free(data);
    return rc;
}
