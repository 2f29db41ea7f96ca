/* test_sim_e2e.c - constsim run end to end on tests/data/sim/e2e.yaml (real EuroSAT, real
 * training): run twice, the reports must be identical apart from wall times and the model files
 * byte-identical; then every byte count and cost in the report is recomputed from the payload
 * size, the per-station transfer counts and partial bytes, the contact minutes and the station
 * prices of the report's own scenario, and must match exactly; rounds[] add up to final; the
 * event trace is audited (sessions and their antennas, the selection of every round). Also the
 * exit codes of bad input and constsim compare. */
#include "cs.h"
#include "t.h"
#include "t_cli.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Removes every member whose name contains "wall" (wall-clock times), recursively. */
static void strip_wall(cJSON *j)
{
    cJSON *c = j ? j->child : NULL;
    while (c) {
        cJSON *next = c->next;
        if (c->string && strstr(c->string, "wall"))
            cJSON_Delete(cJSON_DetachItemViaPointer(j, c));
        else
            strip_wall(c);
        c = next;
    }
}

static uint64_t u64(const cJSON *o, const char *k)
{
    return (uint64_t)t_num(o, k);
}

#define AUD_SATS 16
#define AUD_STATIONS 4
#define AUD_ANTENNAS 8
#define AUD_ROUNDS 16

/* From a run's trace: the bytes of the transfers delivered, per round (1-based, 0 for rounds
 * outside 1..AUD_ROUNDS-1), station and direction (0 to the satellite, 1 to the ground), and how
 * many, of those delivered in one session (the report's "transfers"; resumed ones are partial
 * bytes). A transfer's size is the bytes of its uplink_wait (to the satellite) or train_end (its
 * update), the last one of that satellite before the session that delivers it (value 0), and its
 * sessions since then must have moved exactly that. */
typedef struct whole_bytes {
    uint64_t bytes[AUD_ROUNDS][AUD_STATIONS][2];
    uint64_t count[AUD_ROUNDS][AUD_STATIONS][2];
} whole_bytes;

static void trace_whole(const cJSON *run, whole_bytes *w)
{
    memset(w, 0, sizeof *w);
    uint64_t size[AUD_SATS][2] = {{0}}, moved[AUD_SATS][2] = {{0}};
    const cJSON *ev;
    cJSON_ArrayForEach(ev, t_get(t_get(run, "trace"), "events"))
    {
        const char *name = cJSON_GetArrayItem(ev, 1)->valuestring;
        int round = cJSON_GetArrayItem(ev, 2)->valueint;
        int sat = cJSON_GetArrayItem(ev, 3)->valueint, st = cJSON_GetArrayItem(ev, 4)->valueint;
        uint64_t bytes = (uint64_t)cJSON_GetArrayItem(ev, 5)->valuedouble;
        double value = cJSON_GetArrayItem(ev, 6)->valuedouble;
        if (sat < 0 || sat >= AUD_SATS)
            continue;
        int dir = !strcmp(name, "uplink_wait") || !strcmp(name, "up_end")   ? 0
                  : !strcmp(name, "train_end") || !strcmp(name, "down_end") ? 1
                                                                            : -1;
        if (dir < 0)
            continue;
        if (strstr(name, "_end") && strcmp(name, "train_end") != 0) {
            moved[sat][dir] += bytes;
            if (value == 0) { /* delivered: its sessions moved exactly its size */
                T_EQ(moved[sat][dir], size[sat][dir]);
                moved[sat][dir] = 0;
            }
            if (value == 0 && bytes == size[sat][dir] && st >= 0 && st < AUD_STATIONS) {
                int ri = round >= 1 && round < AUD_ROUNDS ? round : 0;
                w->bytes[ri][st][dir] += size[sat][dir];
                w->count[ri][st][dir]++;
            }
        } else {
            size[sat][dir] = bytes;
            moved[sat][dir] = 0;
            T_TRUE(bytes > 0 && value >= 0 && value <= 5); /* a payload and its precision */
        }
    }
}

/* Checks one round object (round number ri into w; 0: the unfinished one, checked against the
 * payload only when w is NULL); adds its station bytes and minutes to tot (per station, 4
 * values). */
static double check_round(const cJSON *rd, const cJSON *stations_cfg, uint64_t payload,
                          const whole_bytes *w, int ri, uint64_t *tot)
{
    const cJSON *st = t_get(rd, "stations");
    uint64_t up = 0, down = 0, minutes = 0;
    double cost = 0;
    size_t k = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, st)
    {
        const cJSON *cfg = cJSON_GetArrayItem(stations_cfg, (int)k);
        T_TRUE(cfg != NULL);
        if (!cfg)
            break;
        T_STREQ(t_get(s, "station")->valuestring, t_get(cfg, "name")->valuestring);
        uint64_t b_up = u64(s, "bytes_to_sat"), b_down = u64(s, "bytes_to_ground");
        /* bytes = the sizes of the transfers delivered (from the trace) + bytes of partial
         * sessions, both directions; in fp32/fp16/int8 every payload has the same size */
        if (w) {
            T_EQ(b_up, w->bytes[ri][k][0] + u64(s, "partial_bytes_to_sat"));
            T_EQ(b_down, w->bytes[ri][k][1] + u64(s, "partial_bytes_to_ground"));
            T_EQ(u64(s, "transfers_to_sat"), w->count[ri][k][0]);
            T_EQ(u64(s, "transfers_to_ground"), w->count[ri][k][1]);
        }
        if (payload) {
            T_EQ(b_up, payload * u64(s, "transfers_to_sat") + u64(s, "partial_bytes_to_sat"));
            T_EQ(b_down,
                 payload * u64(s, "transfers_to_ground") + u64(s, "partial_bytes_to_ground"));
        }
        uint64_t m = u64(s, "contact_minutes");
        up += b_up;
        down += b_down;
        minutes += m;
        double term = (double)(b_up + b_down) * t_num(cfg, "cost_per_mb") / 1e6;
        cost += term;
        term = (double)m * t_num(cfg, "cost_per_minute");
        cost += term;
        tot[4 * k + 0] += b_up;
        tot[4 * k + 1] += b_down;
        tot[4 * k + 2] += m;
        tot[4 * k + 3] += u64(s, "transfers_to_sat") + u64(s, "transfers_to_ground");
        k++;
    }
    T_EQ(k, cJSON_GetArraySize(stations_cfg));
    T_EQ(u64(rd, "bytes_to_sat"), up);
    T_EQ(u64(rd, "bytes_to_ground"), down);
    T_EQ(u64(rd, "contact_minutes"), minutes);
    T_TRUE(t_num(rd, "cost_usd") == cost); /* exactly: same operations, same order */
    return cost;
}

/* An auditor's pass over one run's trace (docs/report.md, "The event trace"): the columns are
 * the documented eight; every up/down_start is closed by the next up/down_end of the same
 * satellite, with the same station, antenna, direction and round; an antenna serves one session
 * at a time and is one the station has; events that are not sessions carry antenna -1; right
 * after each round_start come its select events, clients_selected distinct clients in ascending
 * order of which `deferred` are marked busy (value 1), and the round's uplink_wait events come
 * from selected clients only. Returns how many sessions began while another one was open at the
 * same station (the antenna checks compare something only then). */
static int check_trace_audit(const cJSON *run, const cJSON *stations_cfg)
{
    static const char *const want[] = {"t_s",     "event", "round", "sat",
                                       "station", "bytes", "value", "antenna"};
    const cJSON *tr = t_get(run, "trace");
    const cJSON *fields = t_get(tr, "fields");
    T_EQ(cJSON_GetArraySize(fields), 8);
    for (int j = 0; j < 8 && j < cJSON_GetArraySize(fields); j++)
        T_STREQ(cJSON_GetArrayItem(fields, j)->valuestring, want[j]);
    /* the rounds' records: selected and deferred, completed rounds and the unfinished one */
    int rec_sel[AUD_ROUNDS + 1] = {0}, rec_def[AUD_ROUNDS + 1] = {0};
    int n_rec = 0;
    const cJSON *rd;
    cJSON_ArrayForEach(rd, t_get(run, "rounds"))
    {
        n_rec++;
        T_TRUE(n_rec <= AUD_ROUNDS);
        if (n_rec > AUD_ROUNDS)
            return 0;
        rec_sel[n_rec] = (int)t_num(rd, "clients_selected");
        rec_def[n_rec] = (int)t_num(rd, "deferred");
    }
    const cJSON *un = t_get(run, "unfinished_round");
    if (cJSON_IsObject(un) && n_rec < AUD_ROUNDS) {
        n_rec++;
        rec_sel[n_rec] = (int)t_num(un, "clients_selected");
        rec_def[n_rec] = (int)t_num(un, "deferred");
    }
    int n_st = cJSON_GetArraySize(stations_cfg);
    T_TRUE(n_st <= AUD_STATIONS);
    int antennas[AUD_STATIONS] = {0};
    for (int k = 0; k < n_st && k < AUD_STATIONS; k++)
        antennas[k] = (int)t_num(cJSON_GetArrayItem(stations_cfg, k), "antennas");

    int holder[AUD_STATIONS][AUD_ANTENNAS]; /* satellite in session on each antenna, -1 none */
    int open_st[AUD_SATS], open_ant[AUD_SATS], open_round[AUD_SATS];
    bool open_up[AUD_SATS];
    int in_session[AUD_STATIONS] = {0};
    memset(holder, 0xff, sizeof holder);
    for (int c = 0; c < AUD_SATS; c++)
        open_st[c] = -1;
    int sel[AUD_ROUNDS + 1] = {0}, def[AUD_ROUNDS + 1] = {0};
    bool chosen[AUD_ROUNDS + 1][AUD_SATS];
    memset(chosen, 0, sizeof chosen);
    int overlaps = 0, sessions = 0, last_sel = -1, starts = 0;
    const char *prev = "";
    int prev_round = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, t_get(tr, "events"))
    {
        T_EQ(cJSON_GetArraySize(ev), 8);
        const char *name = cJSON_GetArrayItem(ev, 1)->valuestring;
        int round = cJSON_GetArrayItem(ev, 2)->valueint;
        int sat = cJSON_GetArrayItem(ev, 3)->valueint;
        int st = cJSON_GetArrayItem(ev, 4)->valueint;
        double value = cJSON_GetArrayItem(ev, 6)->valuedouble;
        int ant = cJSON_GetArrayItem(ev, 7)->valueint;
        bool start = !strcmp(name, "up_start") || !strcmp(name, "down_start");
        bool end = !strcmp(name, "up_end") || !strcmp(name, "down_end");
        bool round_ok = round >= 1 && round <= n_rec;
        T_TRUE(round_ok || !strcmp(name, "round_start")); /* every round has a record */
        if (start || end) {
            bool in_range = sat >= 0 && sat < AUD_SATS && st >= 0 && st < n_st && ant >= 0 &&
                            ant < antennas[st] && ant < AUD_ANTENNAS;
            T_TRUE(in_range);
            if (!in_range)
                return overlaps;
            bool up = name[0] == 'u';
            if (start) {
                T_EQ(open_st[sat], -1);    /* one session at a time per satellite */
                T_EQ(holder[st][ant], -1); /* and per antenna */
                overlaps += in_session[st] > 0;
                in_session[st]++;
                holder[st][ant] = sat;
                open_st[sat] = st;
                open_ant[sat] = ant;
                open_up[sat] = up;
                open_round[sat] = round;
                starts++;
            } else {
                /* the end of the session its satellite opened last: same station and antenna */
                T_EQ(open_st[sat], st);
                T_EQ(open_ant[sat], ant);
                T_EQ(open_up[sat], up);
                T_EQ(open_round[sat], round);
                if (open_st[sat] == st && open_ant[sat] == ant) {
                    T_EQ(holder[st][ant], sat);
                    holder[st][ant] = -1;
                    in_session[st]--;
                }
                open_st[sat] = -1;
                sessions++;
            }
        } else {
            T_EQ(ant, -1);
        }
        if (!strcmp(name, "select")) {
            /* right after its round_start, ascending */
            if (!strcmp(prev, "round_start"))
                last_sel = -1;
            else
                T_STREQ(prev, "select");
            T_EQ(round, prev_round);
            T_TRUE(sat > last_sel && sat < AUD_SATS);
            T_TRUE(value == 0 || value == 1);
            if (round_ok && sat >= 0 && sat < AUD_SATS) {
                sel[round]++;
                def[round] += value == 1;
                chosen[round][sat] = true;
            }
            last_sel = sat;
        }
        if (!strcmp(name, "uplink_wait") && round_ok && sat >= 0 && sat < AUD_SATS)
            T_TRUE(chosen[round][sat]);
        prev = name;
        prev_round = round;
    }
    T_EQ(sessions, starts); /* every session ended before the report */
    for (int k = 1; k <= n_rec; k++) {
        T_EQ(sel[k], rec_sel[k]);
        T_EQ(def[k], rec_def[k]);
    }
    return overlaps;
}

static void check_report(const cJSON *r, int want_runs)
{
    T_STREQ(t_get(r, "format")->valuestring, "constsim-report/1");
    const cJSON *sc = t_get(r, "scenario");
    const cJSON *stations_cfg = t_get(sc, "ground_stations");
    int n_st = cJSON_GetArraySize(stations_cfg);
    T_EQ(n_st, 2);
    T_EQ(t_num(t_get(r, "model"), "parameters"), 434602);
    const cJSON *contacts = t_get(r, "contacts");
    T_EQ(cJSON_GetArraySize(t_get(contacts, "per_station")), n_st);
    double fp32_payload = 0, fp32_acc = -1;
    const cJSON *run;
    int n_runs = 0;
    cJSON_ArrayForEach(run, t_get(r, "runs"))
    {
        n_runs++;
        const char *prec = t_get(run, "precision")->valuestring;
        uint64_t payload = u64(run, "payload_bytes");
        const cJSON *fin = t_get(run, "final");
        if (!strcmp(prec, "fp32")) {
            fp32_payload = (double)payload;
            fp32_acc = t_num(fin, "accuracy");
            T_EQ(payload, 1742096); /* the FP32 safetensors image of the CNN */
        }
        T_TRUE(fp32_payload > 0); /* fp32 comes first in the scenario */
        T_TRUE(t_num(run, "compression_ratio") == fp32_payload / (double)payload);
        uint64_t tot[4 * 8] = {0};
        /* fp32, fp16, int8: every payload the same size; the low precisions' vary (their first
         * broadcast is INT8, topk's index streams) and come from the trace alone */
        const bool fixed = !strcmp(prec, "fp32") || !strcmp(prec, "fp16") || !strcmp(prec, "int8");
        whole_bytes whole;
        trace_whole(run, &whole);
        uint64_t up = 0, down = 0, minutes = 0;
        double cost = 0;
        int reported = 0, late = 0, n_rounds = 0;
        const cJSON *rd;
        cJSON_ArrayForEach(rd, t_get(run, "rounds"))
        {
            n_rounds++;
            T_EQ(t_num(rd, "round"), n_rounds);
            double c = check_round(rd, stations_cfg, fixed ? payload : 0, &whole, n_rounds, tot);
            up += u64(rd, "bytes_to_sat");
            down += u64(rd, "bytes_to_ground");
            minutes += u64(rd, "contact_minutes");
            cost += c;
            reported += (int)t_num(rd, "clients_reported");
            late += (int)t_num(rd, "late_updates");
            T_TRUE(t_num(rd, "clients_reported") <= t_num(rd, "clients_selected"));
            T_TRUE(t_num(rd, "accuracy") >= 0 && t_num(rd, "accuracy") <= 1);
        }
        /* rounds[] add up to final, exactly */
        T_EQ(u64(fin, "bytes_to_sat"), up);
        T_EQ(u64(fin, "bytes_to_ground"), down);
        T_EQ(u64(fin, "bytes_total"), up + down);
        T_EQ(u64(fin, "contact_minutes"), minutes);
        T_TRUE(t_num(fin, "cost_usd") == cost);
        T_EQ(t_num(fin, "rounds_completed"), n_rounds);
        T_EQ(t_num(fin, "updates_received"), reported);
        T_EQ(t_num(fin, "updates_late"), late);
        /* per-station run totals = the rounds + the unfinished round */
        const cJSON *un = t_get(run, "unfinished_round");
        if (cJSON_IsObject(un))
            check_round(un, stations_cfg, fixed ? payload : 0, &whole, n_rounds + 1, tot);
        const cJSON *s;
        int k = 0;
        cJSON_ArrayForEach(s, t_get(run, "stations"))
        {
            T_EQ(u64(s, "bytes_to_sat"), tot[4 * k + 0]);
            T_EQ(u64(s, "bytes_to_ground"), tot[4 * k + 1]);
            T_EQ(u64(s, "contact_minutes"), tot[4 * k + 2]);
            T_EQ(u64(s, "transfers_to_sat") + u64(s, "transfers_to_ground"), tot[4 * k + 3]);
            k++;
        }
        T_EQ(k, n_st);
        /* the trace agrees with the counts */
        int tr_updates = 0, tr_late = 0, tr_eval = 0;
        const cJSON *ev;
        cJSON_ArrayForEach(ev, t_get(t_get(run, "trace"), "events"))
        {
            const char *name = cJSON_GetArrayItem(ev, 1)->valuestring;
            int round = cJSON_GetArrayItem(ev, 2)->valueint;
            bool counted = round >= 1 && round <= n_rounds;
            tr_updates += counted && !strcmp(name, "update");
            tr_late += counted && !strcmp(name, "late");
            tr_eval += !strcmp(name, "eval");
        }
        T_EQ(tr_updates, reported);
        T_EQ(tr_late, late);
        T_EQ(tr_eval, n_rounds);
        check_trace_audit(run, stations_cfg);
        T_TRUE(t_num(fin, "accuracy") > 0);
    }
    T_EQ(n_runs, want_runs);
    /* PTQ of the FP32 run's final model: FP32 is that model exactly. */
    const cJSON *ptq = t_get(r, "ptq");
    T_TRUE(t_num(t_get(ptq, "fp32"), "accuracy") == fp32_acc);
    T_EQ(u64(t_get(ptq, "fp32"), "file_bytes"), 1742096);
    T_TRUE(u64(t_get(ptq, "int8"), "file_bytes") < u64(t_get(ptq, "fp16"), "file_bytes"));
    T_TRUE(t_num(t_get(ptq, "fp32"), "accuracy_drop_pct") == 0);
}

int main(void)
{
    const char *bin = getenv("CONSTSIM_BINARY_DIR");
    char out[1024], cmd[4096];
    char dir[512];
    snprintf(dir, sizeof dir, "%s/sim-e2e", bin ? bin : "/tmp");
    cs_err err;
    T_EQ(cs_mkdir_p(dir, &err), 0);
    snprintf(out, sizeof out, "%s/e2e.json", dir);
    const char *scn = "tests/data/sim/e2e.yaml";

    snprintf(cmd, sizeof cmd, "%s run %s -o %s --threads 2 > %s.table", t_exe(), scn, out, out);
    T_EQ(t_sh(cmd), 0);
    char tpath[1100];
    snprintf(tpath, sizeof tpath, "%s.table", out);
    char *table = t_slurp(tpath, NULL);
    /* the comparison table on stdout: a header and one row per precision, all numbers */
    T_CONTAINS(table, "precision");
    T_CONTAINS(table, "\nfp32 ");
    T_CONTAINS(table, "\nint8 ");
    T_CONTAINS(table, "3.93x");
    T_TRUE(table && !strstr(table, "nan"));
    free(table);
    size_t len_a = 0, len_m = 0;
    char *a = t_slurp(out, &len_a);
    char model[1100];
    snprintf(model, sizeof model, "%.*s/int8.safetensors", (int)(strlen(out) - 5), out);
    char *ma = t_slurp(model, &len_m);
    T_TRUE(a && ma);
    T_EQ(t_sh(cmd), 0);
    size_t len_b = 0, len_mb = 0;
    char *b = t_slurp(out, &len_b);
    char *mb = t_slurp(model, &len_mb);
    T_TRUE(b && mb);
    if (!a || !b || !ma || !mb)
        return t_done();
    T_EQ(len_m, len_mb);
    T_TRUE(len_m == len_mb && memcmp(ma, mb, len_m) == 0);

    cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
    T_TRUE(ja && jb);
    if (ja && jb) {
        check_report(ja, 2);
        strip_wall(ja);
        strip_wall(jb);
        T_TRUE(cJSON_Compare(ja, jb, true));
        T_TRUE(t_get(t_get(ja, "runs")->child, "final") &&
               !cJSON_GetObjectItemCaseSensitive(t_get(t_get(ja, "runs")->child, "final"),
                                                 "wall_time_s"));
    }

    /* The low precisions (tests/data/sim/e2e-low.yaml: int4, ternary, topk, adaptive with error
     * feedback and stochastic rounding): the same report twice, bytes recomputed from the
     * trace's payload sizes, the sizes each codec gives. */
    char low[1100];
    snprintf(low, sizeof low, "%s/e2e-low.json", dir);
    snprintf(cmd, sizeof cmd, "%s run tests/data/sim/e2e-low.yaml -o %s --threads 2 -q > /dev/null",
             t_exe(), low);
    T_EQ(t_sh(cmd), 0);
    cJSON *la = t_load_json(low);
    T_EQ(t_sh(cmd), 0);
    cJSON *lb = t_load_json(low);
    T_TRUE(la && lb);
    if (la && lb) {
        check_report(la, 5);
        const cJSON *run;
        cJSON_ArrayForEach(run, t_get(la, "runs"))
        {
            const char *prec = t_get(run, "precision")->valuestring;
            uint64_t pay = u64(run, "payload_bytes");
            /* sizes of the docs/formats.md layouts (group 64, header included) */
            if (!strcmp(prec, "int4"))
                T_TRUE(pay > 433760 / 2 + 433760 / 64 * 4 && pay < 433760 / 2 + 40000);
            if (!strcmp(prec, "ternary"))
                T_TRUE(pay > 433760 / 4 + 433760 / 64 * 4 && pay < 433760 / 4 + 40000);
            /* every broadcast after a client's first and every update: the run's precision */
            int first = 0, later = 0;
            const cJSON *ev;
            cJSON_ArrayForEach(ev, t_get(t_get(run, "trace"), "events"))
            {
                const char *name = cJSON_GetArrayItem(ev, 1)->valuestring;
                double v = cJSON_GetArrayItem(ev, 6)->valuedouble;
                uint64_t nb = (uint64_t)cJSON_GetArrayItem(ev, 5)->valuedouble;
                if (!strcmp(name, "uplink_wait") && strcmp(prec, "fp32") != 0) {
                    first += v == 2 && nb == 443016; /* the INT8 model */
                    later += v != 2;
                }
                if (!strcmp(name, "train_end") && !strcmp(prec, "int4"))
                    T_EQ(nb, pay); /* an INT4 delta is the size of the INT4 model */
            }
            if (strcmp(prec, "fp32") != 0)
                T_TRUE(first >= 3 && first <= 4 && later >= 1);
            if (!strcmp(prec, "adaptive")) { /* only what wire.adaptive allows */
                const cJSON *e2;
                int other = 0, seen[6] = {0};
                cJSON_ArrayForEach(e2, t_get(t_get(run, "trace"), "events"))
                {
                    const char *name = cJSON_GetArrayItem(e2, 1)->valuestring;
                    int v = (int)cJSON_GetArrayItem(e2, 6)->valuedouble;
                    if (strcmp(name, "train_end") != 0 && strcmp(name, "uplink_wait") != 0)
                        continue;
                    if (v < 0 || v > 5 ||
                        (v != 0 && v != 3 && v != 5 && !(v == 2 && name[0] == 'u')))
                        other++;
                    else
                        seen[v]++;
                }
                T_EQ(other, 0);
                T_TRUE(seen[0] + seen[3] + seen[5] > 0);
            }
        }
        strip_wall(la);
        strip_wall(lb);
        T_TRUE(cJSON_Compare(la, lb, true));
    }
    cJSON_Delete(la);
    cJSON_Delete(lb);

    /* The trace audit where sessions overlap: tests/data/sim/sweep.yaml (one station with two
     * antennas) with all 10 clients in every round. */
    char ov[1100];
    snprintf(ov, sizeof ov, "%s/overlap.json", dir);
    snprintf(cmd, sizeof cmd,
             "%s run tests/data/sim/sweep.yaml --set federated.clients_per_round=10 -o %s "
             "--no-models --threads 2 -q > /dev/null",
             t_exe(), ov);
    T_EQ(t_sh(cmd), 0);
    cJSON *jo = t_load_json(ov);
    T_TRUE(jo != NULL);
    if (jo) {
        const cJSON *stations_cfg = t_get(t_get(jo, "scenario"), "ground_stations");
        T_EQ(t_num(cJSON_GetArrayItem(stations_cfg, 0), "antennas"), 2);
        int overlaps = 0;
        const cJSON *run;
        cJSON_ArrayForEach(run, t_get(jo, "runs"))
        {
            overlaps += check_trace_audit(run, stations_cfg);
        }
        T_TRUE(overlaps > 0); /* so the antenna checks compared something */
        cJSON_Delete(jo);
    }

    /* The independent check in Python (same sums, same order), when the interpreter is there. */
    if (system("test -x /usr/bin/python3") == 0) {
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/check_report.py %s %s %s", out, ov, low);
        T_EQ(t_sh(cmd), 0);
    }

    /* compare prints one row per run */
    snprintf(cmd, sizeof cmd, "%s compare %s %s > %s.txt", t_exe(), out, out, out);
    T_EQ(t_sh(cmd), 0);
    char path[1100];
    snprintf(path, sizeof path, "%s.txt", out);
    char *txt = t_slurp(path, NULL);
    T_CONTAINS(txt, "int8");
    T_CONTAINS(txt, "e2e");
    int rows = 0;
    for (char *p = txt; p && (p = strstr(p, "\ne2e")); p++)
        rows++;
    T_EQ(rows, 4);
    free(txt);

    /* bad input: exit 2 with the location */
    snprintf(cmd, sizeof cmd, "%s run %s --set federated.rounds=zero -o %s 2> %s.err", t_exe(), scn,
             out, out);
    T_EQ(t_sh(cmd), 2);
    snprintf(path, sizeof path, "%s.err", out);
    txt = t_slurp(path, NULL);
    T_CONTAINS(txt, "federated.rounds");
    free(txt);
    snprintf(cmd, sizeof cmd, "%s compare %s 2> /dev/null", t_exe(), scn);
    T_EQ(t_sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s run 2> /dev/null", t_exe());
    T_EQ(t_sh(cmd), 2);

    /* eval --list: a bad entry is named with its line (blank and comment lines counted), an
     * entry read from freed memory would garble it (and ASan would stop); a good list works. */
    char list[1100];
    snprintf(list, sizeof list, "%s.list", out);
    static const char *const bad[] = {"AnnualCrop/", "Forest/no_such_image.jpg",
                                      "../../etc/passwd"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        FILE *f = fopen(list, "w");
        T_TRUE(f != NULL);
        if (!f)
            break;
        fprintf(f, "# images\n\nForest/Forest_1.jpg\n\n  %s  \n", bad[k]);
        fclose(f);
        snprintf(cmd, sizeof cmd, "%s eval %s --list %s --threads 2 2> %s.err", t_exe(), model,
                 list, out);
        T_EQ(t_sh(cmd), 2);
        txt = t_slurp(path, NULL);
        char want[1400];
        snprintf(want, sizeof want, "%s:5:1: error: \"%s\" is not an image of the dataset", list,
                 bad[k]);
        T_CONTAINS(txt ? txt : "", want);
        free(txt);
    }
    FILE *f = fopen(list, "w");
    if (f) {
        fprintf(f, "Forest/Forest_1.jpg\r\nSeaLake/SeaLake_1.jpg");
        fclose(f);
    }
    snprintf(cmd, sizeof cmd, "%s eval %s --list %s --threads 2 > %s.eval 2> /dev/null", t_exe(),
             model, list, out);
    T_EQ(t_sh(cmd), 0);

    cJSON_Delete(ja);
    cJSON_Delete(jb);
    free(a);
    free(b);
    free(ma);
    free(mb);
    return t_done();
}
