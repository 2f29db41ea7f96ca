/* scn_json.c - the effective scenario (after --set) as JSON, for the report's "scenario" field. */
#include "scn.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Adds to o; on allocation failure sets *ok false (cJSON_Add* return NULL). */
static void add_num(cJSON *o, const char *k, double x, bool *ok)
{
    if (!cJSON_AddNumberToObject(o, k, x))
        *ok = false;
}
/* A list of precision names. */
static void add_precisions(cJSON *o, const char *k, const nn_precision *p, size_t n, bool *ok)
{
    cJSON *a = cJSON_AddArrayToObject(o, k);
    if (!a)
        *ok = false;
    for (size_t i = 0; a && i < n; i++) {
        cJSON *s = cJSON_CreateString(nn_precision_name(p[i]));
        if (!s || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            *ok = false;
        }
    }
}

static void add_str(cJSON *o, const char *k, const char *s, bool *ok)
{
    if (!(s ? cJSON_AddStringToObject(o, k, s) : cJSON_AddNullToObject(o, k)))
        *ok = false;
}
static void add_bool(cJSON *o, const char *k, bool b, bool *ok)
{
    if (!cJSON_AddBoolToObject(o, k, b))
        *ok = false;
}
static cJSON *add_obj(cJSON *o, const char *k, bool *ok)
{
    cJSON *c = cJSON_AddObjectToObject(o, k);
    if (!c)
        *ok = false;
    return c;
}

static void constellation_json(cJSON *o, const scn_constellation *k, bool *ok)
{
    if (k->has_walker) {
        cJSON *w = add_obj(o, "walker", ok);
        if (!w)
            return;
        add_num(w, "altitude_km", k->walker.altitude_km, ok);
        add_num(w, "inclination_deg", k->walker.inclination_deg, ok);
        add_num(w, "satellites", k->walker.satellites, ok);
        add_num(w, "planes", k->walker.planes, ok);
        add_num(w, "phasing", k->walker.phasing, ok);
        add_num(w, "raan0_deg", k->walker.raan0_deg, ok);
    } else {
        add_str(o, "tle", k->tle, ok);
        if (k->n_select) {
            cJSON *a = cJSON_AddArrayToObject(o, "select");
            if (!a) {
                *ok = false;
                return;
            }
            for (size_t i = 0; i < k->n_select; i++) {
                cJSON *s = cJSON_CreateString(k->select[i]);
                if (!s || !cJSON_AddItemToArray(a, s)) {
                    cJSON_Delete(s);
                    *ok = false;
                }
            }
        }
    }
    add_str(o, "propagator", orb_prop_name(k->propagator), ok);
    add_num(o, "satellites", (double)k->n_satellites, ok);
}

static void stations_json(cJSON *root, const scn_config *c, bool *ok)
{
    cJSON *a = cJSON_AddArrayToObject(root, "ground_stations");
    if (!a) {
        *ok = false;
        return;
    }
    for (size_t i = 0; i < c->n_stations; i++) {
        const scn_station *st = &c->stations[i];
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            *ok = false;
            return;
        }
        add_str(o, "name", st->name, ok);
        add_num(o, "lat_deg", st->lat_deg, ok);
        add_num(o, "lon_deg", st->lon_deg, ok);
        add_num(o, "alt_m", st->alt_m, ok);
        add_num(o, "min_elevation_deg", st->min_elevation_deg, ok);
        add_num(o, "uplink_mbps", st->uplink_mbps, ok);
        add_num(o, "downlink_mbps", st->downlink_mbps, ok);
        add_num(o, "cost_per_mb", st->cost_per_mb, ok);
        add_num(o, "cost_per_minute", st->cost_per_minute, ok);
        add_num(o, "antennas", st->antennas, ok);
    }
}

static void federated_json(cJSON *o, const scn_federated *f, bool *ok)
{
    add_num(o, "rounds", f->rounds, ok);
    add_num(o, "clients", f->clients, ok);
    add_num(o, "clients_per_round", f->clients_per_round, ok);
    if (f->clients_per_round_fraction > 0)
        add_num(o, "clients_per_round_fraction", f->clients_per_round_fraction, ok);
    add_str(o, "strategy", scn_strategy_name(f->strategy), ok);
    if (f->round_deadline_s > 0)
        add_num(o, "round_deadline_s", f->round_deadline_s, ok);
    else if (!cJSON_AddNullToObject(o, "round_deadline_s"))
        *ok = false;
    add_num(o, "local_epochs", f->local_epochs, ok);
    add_num(o, "batch_size", f->batch_size, ok);
    cJSON *op = add_obj(o, "optimizer", ok);
    if (op) {
        add_str(op, "name", nn_opt_kind_name(f->optimizer.name), ok);
        add_num(op, "lr", f->optimizer.lr, ok);
        if (f->optimizer.name == NN_OPT_SGD)
            add_num(op, "momentum", f->optimizer.momentum, ok);
        add_num(op, "weight_decay", f->optimizer.weight_decay, ok);
        add_str(op, "schedule", nn_schedule_name(f->optimizer.schedule), ok);
        if (f->optimizer.schedule == NN_SCHED_WSD)
            add_num(op, "decay_fraction", f->optimizer.decay_fraction, ok);
        add_str(op, "state", scn_opt_state_name(f->optimizer.state), ok);
    }
    add_num(o, "compute_gflops", f->compute_gflops, ok);
    add_num(o, "server_lr", f->server_lr, ok);
    add_num(o, "server_momentum", f->server_momentum, ok);
}

cJSON *scn_to_json(const scn_config *c)
{
    bool ok = true;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    add_str(root, "name", c->name, &ok);
    add_str(root, "file", c->file, &ok);
    if (c->description)
        add_str(root, "description", c->description, &ok);
    add_num(root, "seed", (double)c->seed, &ok);
    add_str(root, "epoch", c->epoch_iso, &ok);
    add_num(root, "duration_s", c->duration_s, &ok);

    cJSON *sets = cJSON_AddArrayToObject(root, "set");
    if (!sets)
        ok = false;
    for (size_t i = 0; sets && i < c->n_sets; i++) {
        cJSON *s = cJSON_CreateString(c->sets[i]);
        if (!s || !cJSON_AddItemToArray(sets, s)) {
            cJSON_Delete(s);
            ok = false;
        }
    }

    cJSON *o = add_obj(root, "constellation", &ok);
    if (o)
        constellation_json(o, &c->constellation, &ok);
    stations_json(root, c, &ok);

    if ((o = add_obj(root, "links", &ok))) {
        add_num(o, "setup_s", c->links.setup_s, &ok);
        add_bool(o, "resume", c->links.resume, &ok);
    }
    if ((o = add_obj(root, "federated", &ok)))
        federated_json(o, &c->federated, &ok);
    if ((o = add_obj(root, "wire", &ok))) {
        add_precisions(o, "precision", c->wire.precision, c->wire.n_precision, &ok);
        add_str(o, "payload", scn_payload_name(c->wire.payload), &ok);
        add_num(o, "group_size", (double)c->wire.group_size, &ok);
        add_num(o, "topk_fraction", c->wire.topk_fraction, &ok);
        add_bool(o, "error_feedback", c->wire.error_feedback, &ok);
        add_bool(o, "stochastic_rounding", c->wire.stochastic_rounding, &ok);
        add_str(o, "broadcast",
                c->wire.broadcast < 0 ? "same" : nn_precision_name((nn_precision)c->wire.broadcast),
                &ok);
        add_precisions(o, "adaptive", c->wire.adaptive, c->wire.n_adaptive, &ok);
    }
    if ((o = add_obj(root, "dataset", &ok))) {
        add_str(o, "name", c->dataset.name, &ok);
        add_str(o, "path", c->dataset.path, &ok);
        add_num(o, "test_fraction", c->dataset.test_fraction, &ok);
        add_str(o, "partition", scn_partition_name(c->dataset.partition), &ok);
        add_num(o, "alpha", c->dataset.alpha, &ok);
        add_num(o, "max_samples_per_client", (double)c->dataset.max_samples_per_client, &ok);
        add_str(o, "augment", scn_augment_name(c->dataset.augment), &ok);
    }
    if ((o = add_obj(root, "report", &ok))) {
        add_str(o, "path", c->report.path, &ok);
        add_bool(o, "ptq", c->report.ptq, &ok);
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
