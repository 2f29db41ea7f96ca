/* viz_replay.c - a finished run seen again: the report's event traces turned into the status of
 * the runs at any time (satellite states, open sessions, bytes), its rounds into the accuracy
 * curve and the cost of the closed rounds. */
#include "viz_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum ev_kind {
    EV_ROUND_START,
    EV_LINK_START,
    EV_LINK_END,
    EV_TRAIN_START,
    EV_TRAIN_END,
    EV_UPDATE,
    EV_LATE,
    EV_AGGREGATE,
    EV_EVAL,
    EV_WAIT,
    EV_CANCEL,
    EV_SELECT,
} ev_kind;

static const struct {
    const char *name;
    ev_kind kind;
} kinds[] = {
    {"round_start", EV_ROUND_START}, {"up_start", EV_LINK_START}, {"down_start", EV_LINK_START},
    {"up_end", EV_LINK_END},         {"down_end", EV_LINK_END},   {"train_start", EV_TRAIN_START},
    {"train_end", EV_TRAIN_END},     {"update", EV_UPDATE},       {"late", EV_LATE},
    {"aggregate", EV_AGGREGATE},     {"eval", EV_EVAL},           {"uplink_wait", EV_WAIT},
    {"uplink_cancel", EV_CANCEL},    {"select", EV_SELECT},
};

typedef struct rp_event {
    double t_s;
    uint8_t kind;
    int32_t round, sat, station;
    int64_t bytes;
    double value;
} rp_event;

typedef struct rp_run {
    nn_precision precision;
    rp_event *ev; /* owned */
    size_t n_ev;
    double *round_cost; /* owned: cost_usd of each completed round (index round - 1) */
    double *round_t;    /* owned: its aggregation time */
    double round0_t;    /* the first round's start */
    int n_rounds;
} rp_run;

struct viz_replay {
    size_t n_sats, n_stations, n_runs;
    int rounds_total;
    rp_run runs[NN_PRECISIONS];
    int *reported; /* owned: n_sats scratch, the round of each one's last update */
    double end_t;
};

void viz_replay_destroy(viz_replay *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < NN_PRECISIONS; i++) {
        free(r->runs[i].ev);
        free(r->runs[i].round_cost);
        free(r->runs[i].round_t);
    }
    free(r->reported);
    free(r);
}

/* "report: runs[RUN].MEMBER[K]: WHY" */
static int bad(cs_err *err, size_t run, const char *member, long long k, const char *why)
{
    return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "report: runs[%zu].%s[%lld]: %s", run, member, k,
                      why);
}

static int load_run(viz_replay *r, size_t ri, const cJSON *run, cs_err *err)
{
    rp_run *o = &r->runs[ri];
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(run, "precision");
    if (!cJSON_IsString(p) || nn_precision_parse(p->valuestring, &o->precision))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "report: runs[%zu].precision missing or unknown", ri);
    const cJSON *rounds = cJSON_GetObjectItemCaseSensitive(run, "rounds");
    int nr = cJSON_IsArray(rounds) ? cJSON_GetArraySize(rounds) : 0;
    o->round_cost = malloc((size_t)(nr ? nr : 1) * sizeof *o->round_cost);
    o->round_t = malloc((size_t)(nr ? nr : 1) * sizeof *o->round_t);
    if (!o->round_cost || !o->round_t)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (replay)");
    o->round0_t = 0;
    const cJSON *rd;
    int k = 0;
    cJSON_ArrayForEach(rd, rounds)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(rd, "cost_usd");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(rd, "sim_time_s");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(rd, "start_s");
        if (!cJSON_IsNumber(c) || !cJSON_IsNumber(t))
            return bad(err, ri, "rounds", k, "no cost_usd or sim_time_s");
        if (k == 0 && cJSON_IsNumber(s))
            o->round0_t = s->valuedouble;
        o->round_cost[k] = c->valuedouble;
        o->round_t[k] = t->valuedouble;
        k++;
    }
    o->n_rounds = nr;
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(run, "trace");
    const cJSON *evs = tr ? cJSON_GetObjectItemCaseSensitive(tr, "events") : NULL;
    if (!cJSON_IsArray(evs))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "report: runs[%zu] has no event trace (it was made with --no-trace); "
                          "replay needs one",
                          ri);
    const cJSON *trunc = cJSON_GetObjectItemCaseSensitive(tr, "truncated");
    if (cJSON_IsTrue(trunc))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "report: runs[%zu].trace is truncated; replay needs every event", ri);
    size_t n = (size_t)cJSON_GetArraySize(evs);
    o->ev = malloc((n ? n : 1) * sizeof *o->ev);
    if (!o->ev)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (replay: %zu events)", n);
    const cJSON *ev;
    size_t i = 0;
    double prev = -INFINITY;
    cJSON_ArrayForEach(ev, evs)
    {
        /* Seven columns, and an eighth (antenna) in reports that record it; the replay needs the
         * first seven. */
        const cJSON *f[8];
        for (int j = 0; j < 8; j++)
            f[j] = cJSON_GetArrayItem(ev, j);
        int cols = cJSON_IsArray(ev) ? cJSON_GetArraySize(ev) : 0;
        if ((cols != 7 && cols != 8) || !cJSON_IsNumber(f[0]) || !cJSON_IsString(f[1]) ||
            !cJSON_IsNumber(f[2]) || !cJSON_IsNumber(f[3]) || !cJSON_IsNumber(f[4]) ||
            !cJSON_IsNumber(f[5]) || !cJSON_IsNumber(f[6]) || (cols == 8 && !cJSON_IsNumber(f[7])))
            return bad(err, ri, "trace.events", (long long)i,
                       "not [t_s, event, round, sat, station, bytes, value, antenna]");
        rp_event *e = &o->ev[i];
        size_t kk = 0;
        while (kk < sizeof kinds / sizeof kinds[0] && strcmp(kinds[kk].name, f[1]->valuestring))
            kk++;
        if (kk == sizeof kinds / sizeof kinds[0])
            return bad(err, ri, "trace.events", (long long)i, "unknown event");
        e->t_s = f[0]->valuedouble;
        e->kind = (uint8_t)kinds[kk].kind;
        e->round = (int32_t)f[2]->valuedouble;
        e->sat = (int32_t)f[3]->valuedouble;
        e->station = (int32_t)f[4]->valuedouble;
        e->bytes = (int64_t)f[5]->valuedouble;
        e->value = f[6]->valuedouble;
        bool needs_sat = e->kind != EV_ROUND_START && e->kind != EV_AGGREGATE && e->kind != EV_EVAL;
        bool needs_st = e->kind == EV_LINK_START || e->kind == EV_LINK_END;
        if (!(e->t_s >= prev) || (needs_sat && (e->sat < 0 || (size_t)e->sat >= r->n_sats)) ||
            (needs_st && (e->station < 0 || (size_t)e->station >= r->n_stations)) || e->bytes < 0)
            return bad(err, ri, "trace.events", (long long)i,
                       "time going back, or a satellite or station this scenario does not have");
        prev = e->t_s;
        i++;
    }
    o->n_ev = n;
    if (n && o->ev[n - 1].t_s > r->end_t)
        r->end_t = o->ev[n - 1].t_s;
    return 0;
}

viz_replay *viz_replay_create(const cJSON *report, size_t n_sats, size_t n_stations, cs_err *err)
{
    viz_replay *r = calloc(1, sizeof *r);
    if (!r || !(r->reported = malloc((n_sats ? n_sats : 1) * sizeof *r->reported))) {
        free(r);
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (replay)");
        return NULL;
    }
    r->n_sats = n_sats;
    r->n_stations = n_stations;
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(report, "scenario");
    const cJSON *fed = sc ? cJSON_GetObjectItemCaseSensitive(sc, "federated") : NULL;
    const cJSON *nr = fed ? cJSON_GetObjectItemCaseSensitive(fed, "rounds") : NULL;
    r->rounds_total = cJSON_IsNumber(nr) ? nr->valueint : 0;
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(report, "runs");
    int n = cJSON_IsArray(runs) ? cJSON_GetArraySize(runs) : 0;
    if (n < 1 || n > NN_PRECISIONS) {
        cs_err_set(err, CS_EINVAL, NULL, 0, 0, "report: expected 1 to %d runs, found %d",
                   NN_PRECISIONS, n);
        viz_replay_destroy(r);
        return NULL;
    }
    const cJSON *run;
    size_t i = 0;
    cJSON_ArrayForEach(run, runs)
    {
        if (load_run(r, i, run, err)) {
            viz_replay_destroy(r);
            return NULL;
        }
        r->n_runs = ++i;
    }
    return r;
}

size_t viz_replay_runs(const viz_replay *r)
{
    return r->n_runs;
}

double viz_replay_end_time(const viz_replay *r)
{
    return r->end_t;
}

double viz_replay_round_time(const viz_replay *r, size_t run, int round)
{
    if (run >= r->n_runs || round < 0 || round > r->runs[run].n_rounds)
        return NAN;
    return round == 0 ? r->runs[run].round0_t : r->runs[run].round_t[round - 1];
}

int viz_replay_seek(viz_replay *r, double t_s, viz_status *out, cs_err *err)
{
    CS_ASSERT(out->n_runs == r->n_runs && out->n_sats == r->n_sats &&
              out->n_stations == r->n_stations);
    out->t_s = t_s;
    for (size_t ri = 0; ri < r->n_runs; ri++) {
        const rp_run *o = &r->runs[ri];
        viz_run *v = &out->runs[ri];
        v->precision = o->precision;
        v->rounds_total = r->rounds_total;
        v->rounds_done = 0;
        v->round_open = false;
        v->finished = false;
        v->accuracy0 = NAN;
        v->bytes = 0;
        v->cost_usd = 0;
        memset(v->sat_state, 0, r->n_sats * sizeof *v->sat_state);
        memset(v->sat_bytes, 0, r->n_sats * sizeof *v->sat_bytes);
        memset(v->st_bytes, 0, r->n_stations * sizeof *v->st_bytes);
        for (size_t c = 0; c < r->n_sats; c++) {
            v->sat_station[c] = -1;
            r->reported[c] = -1;
        }
        int open_round = 0, closed = 0;
        for (size_t i = 0; i < o->n_ev && o->ev[i].t_s <= t_s; i++) {
            const rp_event *e = &o->ev[i];
            switch ((ev_kind)e->kind) {
            case EV_ROUND_START:
                v->round_open = true;
                open_round = e->round;
                break;
            case EV_AGGREGATE:
                v->round_open = false;
                if (e->round >= 1 && e->round <= o->n_rounds)
                    v->cost_usd += o->round_cost[e->round - 1];
                closed++;
                break;
            case EV_EVAL: {
                int rc = viz__run_curve_push(v, e->t_s, e->value, err);
                if (rc)
                    return rc;
                break;
            }
            case EV_LINK_START:
                v->sat_station[e->sat] = e->station;
                break;
            case EV_LINK_END:
                v->sat_station[e->sat] = -1;
                v->sat_bytes[e->sat] += (uint64_t)e->bytes;
                v->st_bytes[e->station] += (uint64_t)e->bytes;
                v->bytes += (uint64_t)e->bytes;
                break;
            case EV_WAIT:
                v->sat_state[e->sat] = VIZ_SAT_RECEIVING;
                break;
            case EV_TRAIN_START:
                v->sat_state[e->sat] = VIZ_SAT_TRAINING;
                break;
            case EV_TRAIN_END:
                v->sat_state[e->sat] = VIZ_SAT_SENDING;
                break;
            case EV_UPDATE:
                v->sat_state[e->sat] = VIZ_SAT_IDLE;
                r->reported[e->sat] = e->round;
                break;
            case EV_LATE:
            case EV_CANCEL:
                v->sat_state[e->sat] = VIZ_SAT_IDLE;
                break;
            case EV_SELECT: /* the states follow from the uplink and training events */
                break;
            }
        }
        /* The rounds' evaluations are the curve; a round counts as done once aggregated. */
        v->rounds_done = v->rounds_done < closed ? v->rounds_done : closed;
        v->finished = closed >= r->rounds_total ||
                      (o->n_ev && t_s >= o->ev[o->n_ev - 1].t_s && !v->round_open);
        for (size_t c = 0; c < r->n_sats; c++)
            if (v->round_open && v->sat_state[c] == VIZ_SAT_IDLE && r->reported[c] == open_round)
                v->sat_state[c] = VIZ_SAT_DONE;
    }
    return 0;
}
