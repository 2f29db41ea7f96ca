/* fl_ckpt.c - checkpoints of a study in progress (see fl_ckpt.h). */
#include "fl_ckpt.h"

#include "cs_ser.h"
#include "cs_sha256.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_MAGIC "CONSTSIM CHECKPOINT\n"
#define CKPT_MAGIC_LEN 20
#define CKPT_FORMAT "constsim-checkpoint/1"
#define CKPT_VERSION 1u
#define CKPT_BOM 0x01020304u

void fl_ckpt_path(const char *report_path, char *out, size_t cap)
{
    char dir[1100];
    fl_model_dir(report_path, dir, sizeof dir);
    snprintf(out, cap, "%s.ckpt", dir);
}

void fl_ckpt_plan_digest(const sim_plan *plan, char hex[65])
{
    cs_sha256 h;
    cs_sha256_init(&h);
    for (size_t i = 0; i < plan->windows.n; i++) {
        const orb_window *w = &plan->windows.w[i];
        uint32_t ids[2] = {w->sat, w->station};
        double t[2] = {w->t_start_s, w->t_end_s};
        cs_sha256_update(&h, ids, sizeof ids);
        cs_sha256_update(&h, t, sizeof t);
    }
    uint8_t d[32];
    cs_sha256_final(&h, d);
    cs_sha256_to_hex(d, hex);
}

void fl_ckpt_data_digest(const nn_dataset *ds, char hex[65])
{
    cs_sha256 h;
    cs_sha256_init(&h);
    for (size_t i = 0; i < ds->n; i++) {
        const char *p = ds->paths ? ds->paths[i] : "";
        cs_sha256_update(&h, p, strlen(p) + 1);
        cs_sha256_update(&h, &ds->labels[i], 1);
    }
    uint8_t d[32];
    cs_sha256_final(&h, d);
    cs_sha256_to_hex(d, hex);
}

int fl_ckpt_check_data(const fl_ckpt *c, const nn_dataset *ds, cs_err *err)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(c->header, "dataset");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, "images");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(d, "sha256");
    char hex[65];
    fl_ckpt_data_digest(ds, hex);
    if (!cJSON_IsNumber(n) || n->valuedouble != (double)ds->n || !cJSON_IsString(sha) ||
        strcmp(sha->valuestring, hex) != 0)
        return cs_err_set(err, CS_EINVAL, c->path, 0, 0,
                          "the checkpoint was written with another dataset (%.0f images; %zu in "
                          "%s, or other files)",
                          cJSON_IsNumber(n) ? n->valuedouble : -1.0, ds->n, ds->root);
    return 0;
}

static cJSON *header_json(const fl_study *s, const fl_ckpt_ident *id, const fl_run *cur)
{
    cJSON *h = cJSON_CreateObject();
    cJSON *sc = scn_to_json(s->cfg);
    cJSON *plan = cJSON_CreateObject();
    cJSON *data = cJSON_CreateObject();
    char digest[65], ddigest[65];
    fl_ckpt_plan_digest(s->plan, digest);
    fl_ckpt_data_digest(s->ds, ddigest);
    bool ok = h && sc && plan && data &&
              cJSON_AddNumberToObject(data, "images", (double)s->ds->n) &&
              cJSON_AddStringToObject(data, "sha256", ddigest) &&
              cJSON_AddItemToObject(h, "dataset", data) && (data = NULL, true) &&
              cJSON_AddStringToObject(h, "format", CKPT_FORMAT) &&
              cJSON_AddStringToObject(h, "build", id->build) &&
              cJSON_AddNumberToObject(h, "threads", id->threads) &&
              cJSON_AddStringToObject(h, "blas_core", id->blas ? id->blas : "") &&
              cJSON_AddStringToObject(h, "conv_kernels", id->conv ? id->conv : "") &&
              cJSON_AddBoolToObject(h, "trace", id->trace) &&
              cJSON_AddStringToObject(h, "report", s->report_path) &&
              cJSON_AddNumberToObject(plan, "windows", (double)s->plan->windows.n) &&
              cJSON_AddStringToObject(plan, "sha256", digest) &&
              cJSON_AddItemToObject(h, "contact_plan", plan);
    if (!ok) {
        cJSON_Delete(plan);
        cJSON_Delete(data);
    }
    plan = NULL;
    ok = ok && cJSON_AddItemToObject(h, "scenario", sc);
    if (!ok)
        cJSON_Delete(sc);
    sc = NULL;
    ok = ok && cJSON_AddNumberToObject(h, "runs_done", (double)s->n_runs);
    if (ok && cur) {
        cJSON *c = cJSON_AddObjectToObject(h, "current");
        ok = c &&
             cJSON_AddStringToObject(c, "precision", nn_precision_name(fl_run_precision(cur))) &&
             cJSON_AddNumberToObject(c, "rounds_done", fl_run_rounds_done(cur)) &&
             cJSON_AddNumberToObject(c, "sim_time_s", fl_run_now(cur));
    } else if (ok) {
        ok = cJSON_AddNullToObject(h, "current") != NULL;
    }
    if (!ok) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

int fl_ckpt_write(const char *path, const fl_study *s, const fl_ckpt_ident *id, const fl_run *cur,
                  cs_err *err)
{
    cJSON *h = header_json(s, id, cur);
    char *htext = h ? cJSON_PrintUnformatted(h) : NULL;
    cJSON_Delete(h);
    if (!htext)
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (checkpoint header)");
    cs_buf b = {0};
    cs_ser_bytes(&b, CKPT_MAGIC, CKPT_MAGIC_LEN);
    cs_ser_u32(&b, CKPT_VERSION);
    cs_ser_u32(&b, CKPT_BOM);
    cs_ser_blob(&b, htext, strlen(htext));
    cJSON_free(htext);
    cs_ser_tag(&b, "STDY");
    cs_ser_u64(&b, (uint64_t)s->n_runs);
    for (size_t i = 0; i < s->n_runs; i++)
        fl_result_save(&s->runs[i], &b);
    cs_ser_bool(&b, cur != NULL);
    if (cur)
        fl_run_save(cur, &b);
    cs_ser_tag(&b, "SEND");
    if (!b.failed) {
        uint8_t d[32];
        cs_sha256 sh;
        cs_sha256_init(&sh);
        cs_sha256_update(&sh, b.p, b.len);
        cs_sha256_final(&sh, d);
        cs_ser_bytes(&b, d, sizeof d);
    }
    if (b.failed) {
        cs_buf_free(&b);
        return cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory (checkpoint)");
    }
    int rc = cs_write_file_in_dir(path, b.p, b.len, err);
    cs_buf_free(&b);
    return rc;
}

void fl_ckpt_free(fl_ckpt *c)
{
    if (!c)
        return;
    free(c->data);
    cJSON_Delete(c->header);
    memset(c, 0, sizeof *c);
}

int fl_ckpt_refuse(const fl_ckpt *c, const cs_rd *r, cs_err *err)
{
    return cs_err_set_at(err, CS_EINVAL, c->path, (long long)r->fail_at,
                         "not a usable checkpoint: %s", r->why ? r->why : "damaged");
}

cs_rd fl_ckpt_body(const fl_ckpt *c)
{
    cs_rd r = cs_rd_init(c->data, c->body_off + c->body_len);
    r.off = c->body_off;
    return r;
}

int fl_ckpt_read(const char *path, fl_ckpt *out, cs_err *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->path, sizeof out->path, "%s", path);
    int rc = cs_read_file(path, &out->data, &out->len, err);
    if (rc)
        return rc;
    if (out->len < CKPT_MAGIC_LEN || memcmp(out->data, CKPT_MAGIC, CKPT_MAGIC_LEN) != 0) {
        fl_ckpt_free(out);
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "not a constsim checkpoint");
    }
    if (out->len < CKPT_MAGIC_LEN + 8 + 32) {
        fl_ckpt_free(out);
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "a truncated checkpoint");
    }
    cs_rd r = cs_rd_init(out->data, out->len - 32);
    r.off = CKPT_MAGIC_LEN;
    uint32_t version = cs_rd_u32(&r), bom = cs_rd_u32(&r);
    if (version != CKPT_VERSION || bom != CKPT_BOM) {
        fl_ckpt_free(out);
        if (bom != CKPT_BOM)
            return cs_err_set(err, CS_EINVAL, path, 0, 0,
                              "a checkpoint from a machine of another byte order");
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "a checkpoint of format %u; this constsim reads format %u", version,
                          CKPT_VERSION);
    }
    uint8_t d[32];
    cs_sha256 sh;
    cs_sha256_init(&sh);
    cs_sha256_update(&sh, out->data, out->len - 32);
    cs_sha256_final(&sh, d);
    if (memcmp(d, out->data + out->len - 32, 32) != 0) {
        fl_ckpt_free(out);
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "the checkpoint is damaged (its SHA-256 does not match its contents)");
    }
    size_t hlen;
    const char *htext = cs_rd_blob(&r, &hlen);
    if (r.failed) {
        rc = fl_ckpt_refuse(out, &r, err);
        fl_ckpt_free(out);
        return rc;
    }
    out->header = cJSON_ParseWithLength(htext, hlen);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(out->header, "format");
    if (!out->header || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, CKPT_FORMAT) != 0) {
        fl_ckpt_free(out);
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "a checkpoint without a readable header");
    }
    const cJSON *done = cJSON_GetObjectItemCaseSensitive(out->header, "runs_done");
    out->runs_done = cJSON_IsNumber(done) && done->valuedouble >= 0 && done->valuedouble <= 64
                         ? (int)done->valuedouble
                         : 0;
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(out->header, "current");
    if (cJSON_IsObject(cur)) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(cur, "precision");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(cur, "rounds_done");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(cur, "sim_time_s");
        if (cJSON_IsString(p))
            snprintf(out->current, sizeof out->current, "%s", p->valuestring);
        out->current_rounds = cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble <= 1e9
                                  ? (int)n->valuedouble
                                  : 0;
        out->current_t_s = cJSON_IsNumber(t) ? t->valuedouble : 0;
    }
    out->body_off = r.off;
    out->body_len = out->len - 32 - r.off;
    return 0;
}

/* The first place where a and b differ, as a dotted key path with both values, into why. */
static bool json_diff(const cJSON *a, const cJSON *b, const char *at, char *why, size_t cap)
{
    if (a->type != b->type || cJSON_IsNumber(a) || cJSON_IsString(a) || cJSON_IsBool(a)) {
        bool same =
            a->type == b->type && (cJSON_IsNumber(a)   ? a->valuedouble == b->valuedouble
                                   : cJSON_IsString(a) ? strcmp(a->valuestring, b->valuestring) == 0
                                                       : true);
        if (same)
            return false;
        char *sa = cJSON_PrintUnformatted(a), *sb = cJSON_PrintUnformatted(b);
        snprintf(why, cap, "%s is %.80s in the checkpoint, %.80s here", at[0] ? at : "the scenario",
                 sa ? sa : "?", sb ? sb : "?");
        cJSON_free(sa);
        cJSON_free(sb);
        return true;
    }
    if (cJSON_IsArray(a)) {
        int na = cJSON_GetArraySize(a), nb = cJSON_GetArraySize(b);
        for (int i = 0; i < na && i < nb; i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s[%d]", at, i);
            if (json_diff(cJSON_GetArrayItem(a, i), cJSON_GetArrayItem(b, i), sub, why, cap))
                return true;
        }
        if (na != nb) {
            snprintf(why, cap, "%s has %d entries in the checkpoint, %d here", at, na, nb);
            return true;
        }
        return false;
    }
    if (cJSON_IsObject(a)) {
        const cJSON *x;
        cJSON_ArrayForEach(x, a)
        {
            if (!at[0] && (!strcmp(x->string, "file") || !strcmp(x->string, "set")))
                continue; /* where the settings came from, not what they are */
            char sub[256];
            snprintf(sub, sizeof sub, "%s%s%s", at, at[0] ? "." : "", x->string);
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!y) {
                snprintf(why, cap, "%s is set in the checkpoint, not here", sub);
                return true;
            }
            if (json_diff(x, y, sub, why, cap))
                return true;
        }
        cJSON_ArrayForEach(x, b)
        {
            if (!at[0] && (!strcmp(x->string, "file") || !strcmp(x->string, "set")))
                continue;
            if (!cJSON_GetObjectItemCaseSensitive(a, x->string)) {
                snprintf(why, cap, "%s%s%s is set here, not in the checkpoint", at,
                         at[0] ? "." : "", x->string);
                return true;
            }
        }
    }
    return false;
}

static const char *hstr(const cJSON *h, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(h, k);
    return cJSON_IsString(x) ? x->valuestring : "?";
}

int fl_ckpt_check(const fl_ckpt *c, const scn_config *cfg, const sim_plan *plan,
                  const fl_ckpt_ident *id, cs_err *err)
{
    const cJSON *h = c->header;
    const char *p = c->path;
    if (strcmp(hstr(h, "build"), id->build) != 0)
        return cs_err_set(
            err, CS_EINVAL, p, 0, 0,
            "the checkpoint was written by another constsim version (%s; this is %s): "
            "its run cannot be continued with the same results",
            hstr(h, "build"), id->build);
    if (strcmp(hstr(h, "blas_core"), id->blas ? id->blas : "") != 0)
        return cs_err_set(err, CS_EINVAL, p, 0, 0,
                          "the checkpoint was written with the BLAS kernel set %s, this process "
                          "uses %s (OPENBLAS_CORETYPE): results would differ",
                          hstr(h, "blas_core"), id->blas ? id->blas : "");
    if (strcmp(hstr(h, "conv_kernels"), id->conv ? id->conv : "") != 0)
        return cs_err_set(err, CS_EINVAL, p, 0, 0,
                          "the checkpoint was written with the %s convolution kernels, this "
                          "process runs %s (another CPU): results would differ",
                          hstr(h, "conv_kernels"), id->conv ? id->conv : "");
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(h, "trace");
    if (!cJSON_IsBool(tr) || cJSON_IsTrue(tr) != id->trace)
        return cs_err_set(err, CS_EINVAL, p, 0, 0,
                          "the checkpoint was written %s the event trace; resume %s --no-trace",
                          cJSON_IsTrue(tr) ? "with" : "without",
                          cJSON_IsTrue(tr) ? "without" : "with");
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(h, "scenario");
    cJSON *here = scn_to_json(cfg);
    if (!here)
        return cs_err_set(err, CS_ENOMEM, p, 0, 0, "out of memory (scenario settings)");
    const cJSON *s0 = cJSON_GetObjectItemCaseSensitive(sc, "seed");
    char why[512] = "";
    int rc = 0;
    if (!cJSON_IsObject(sc))
        rc = cs_err_set(err, CS_EINVAL, p, 0, 0, "a checkpoint without scenario settings");
    else if (!cJSON_IsNumber(s0) || s0->valuedouble != (double)cfg->seed)
        rc = cs_err_set(err, CS_EINVAL, p, 0, 0,
                        "the checkpoint is of another seed (%.17g; this scenario has %llu)",
                        cJSON_IsNumber(s0) ? s0->valuedouble : NAN, (unsigned long long)cfg->seed);
    else if (json_diff(sc, here, "", why, sizeof why))
        rc = cs_err_set(err, CS_EINVAL, p, 0, 0, "the checkpoint is of another scenario (%s: %s)",
                        hstr(sc, "file"), why);
    cJSON_Delete(here);
    if (rc)
        return rc;
    if (!plan)
        return 0;
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(h, "contact_plan");
    char digest[65];
    fl_ckpt_plan_digest(plan, digest);
    if (strcmp(hstr(pl, "sha256"), digest) != 0)
        return cs_err_set(err, CS_EINVAL, p, 0, 0,
                          "the contact plan differs from the checkpoint's (%zu windows here)",
                          plan->windows.n);
    return 0;
}
