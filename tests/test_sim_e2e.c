/* test_sim_e2e.c - constsim run end to end on tests/data/sim/e2e.yaml (real EuroSAT, real
 * training): run twice, the reports must be identical apart from wall times and the model files
 * byte-identical; then every byte count and cost in the report is recomputed from the payload
 * size, the per-station transfer counts and partial bytes, the contact minutes and the station
 * prices of the report's own scenario, and must match exactly; rounds[] add up to final. Also the
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

/* Checks one round object; adds its station bytes and minutes to tot (per station, 4 values). */
static double check_round(const cJSON *rd, const cJSON *stations_cfg, uint64_t payload,
                          uint64_t *tot)
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
        /* bytes = payload * whole transfers + bytes of partial sessions, both directions (the
         * global model and the updates have the same size in one precision) */
        T_EQ(b_up, payload * u64(s, "transfers_to_sat") + u64(s, "partial_bytes_to_sat"));
        T_EQ(b_down, payload * u64(s, "transfers_to_ground") + u64(s, "partial_bytes_to_ground"));
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

static void check_report(const cJSON *r)
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
        uint64_t up = 0, down = 0, minutes = 0;
        double cost = 0;
        int reported = 0, late = 0, n_rounds = 0;
        const cJSON *rd;
        cJSON_ArrayForEach(rd, t_get(run, "rounds"))
        {
            n_rounds++;
            T_EQ(t_num(rd, "round"), n_rounds);
            double c = check_round(rd, stations_cfg, payload, tot);
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
            check_round(un, stations_cfg, payload, tot);
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
        T_TRUE(t_num(fin, "accuracy") > 0);
    }
    T_EQ(n_runs, 2);
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
        check_report(ja);
        strip_wall(ja);
        strip_wall(jb);
        T_TRUE(cJSON_Compare(ja, jb, true));
        T_TRUE(t_get(t_get(ja, "runs")->child, "final") &&
               !cJSON_GetObjectItemCaseSensitive(t_get(t_get(ja, "runs")->child, "final"),
                                                 "wall_time_s"));
    }

    /* The independent check in Python (same sums, same order), when the interpreter is there. */
    if (system("test -x /usr/bin/python3") == 0) {
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/check_report.py %s", out);
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
