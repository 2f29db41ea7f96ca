/* fl_ckpt.h - checkpoints of a study in progress (module prefix fl_): the finished runs' results
 * and the state of the run in progress, written atomically beside the report after every
 * aggregation, read back by `constsim run --resume` (docs/report.md, "Checkpoints").
 *
 * The file: a magic line, the format version and a byte-order mark, a JSON header (what wrote it:
 * the build, the compute threads and BLAS kernel set, the scenario's effective settings, the
 * contact plan's digest, where the study stood), the binary records of fl_result_save and
 * fl_run_save, and the SHA-256 of everything before it. The contact plan and the decoded dataset
 * are not in it: both are rebuilt from the scenario, and the plan's digest must match.
 *
 * Library code: nothing here prints. */
#ifndef FL_CKPT_H
#define FL_CKPT_H

#include "cs.h"
#include "fl.h"
#include "fl_study.h"
#include "nn_data.h"
#include "scn.h"
#include "sim_plan.h"

#include <stdbool.h>
#include <stddef.h>

/* What must be the same to continue a run: results depend on the build, the BLAS kernels and
 * the convolution kernels (not on the thread count, which is recorded only). */
typedef struct fl_ckpt_ident {
    const char *build; /* cs_build_version() */
    int threads;       /* compute threads (--threads resolved) */
    const char *blas;  /* BLAS kernel set (nn_blas_describe().core) */
    const char *conv;  /* convolution kernels (nn_conv_kernels()) */
    bool trace;        /* the event trace is recorded */
} fl_ckpt_ident;

/* The checkpoint path of a report path: the model folder + ".ckpt" ("reports/x.json" ->
 * "reports/x.ckpt"). */
void fl_ckpt_path(const char *report_path, char *out, size_t cap);

/* Writes the checkpoint of study s (its finished runs) and of the run in progress cur (NULL
 * between runs) to path, atomically. */
int fl_ckpt_write(const char *path, const fl_study *s, const fl_ckpt_ident *id, const fl_run *cur,
                  cs_err *err);

/* A checkpoint read back and verified (magic, version, byte order, digest). */
typedef struct fl_ckpt {
    char path[1024];
    unsigned char *data; /* owned: the whole file */
    size_t len;
    struct cJSON *header;      /* owned */
    size_t body_off, body_len; /* the binary records */
    int runs_done;             /* header facts, for messages */
    char current[16];          /* precision of the run in progress, "" between runs */
    int current_rounds;        /* rounds it had aggregated */
    double current_t_s;        /* its simulated time */
} fl_ckpt;

/* CS_EINVAL naming path (and the byte offset where it applies) when the file is not a readable,
 * intact checkpoint of this format. */
int fl_ckpt_read(const char *path, fl_ckpt *out, cs_err *err);
void fl_ckpt_free(fl_ckpt *c); /* NULL-safe; leaves c zeroed */

/* A reader of c's binary records, from their first byte (offsets are the file's). */
cs_rd fl_ckpt_body(const fl_ckpt *c);
/* CS_EINVAL naming c's file, at the offset where the failed reader r stopped, with its reason:
 * "not a usable checkpoint: ...". */
int fl_ckpt_refuse(const fl_ckpt *c, const cs_rd *r, cs_err *err);

/* CS_EINVAL unless c was written for this scenario (its effective settings, seed first), this
 * build, thread count, BLAS kernel set and trace setting, and the same contact plan (not
 * checked when plan is NULL, e.g. before it is built); the message says which differs and
 * how. */
int fl_ckpt_check(const fl_ckpt *c, const scn_config *cfg, const sim_plan *plan,
                  const fl_ckpt_ident *id, cs_err *err);

/* CS_EINVAL unless ds is the dataset c was written with: as many images, the same files
 * (paths relative to the data folder) with the same labels. */
int fl_ckpt_check_data(const fl_ckpt *c, const nn_dataset *ds, cs_err *err);

/* The dataset's digest: SHA-256 over every image's relative path and label, in order. */
void fl_ckpt_data_digest(const nn_dataset *ds, char hex[65]);

/* The contact plan's digest: SHA-256 over every window's satellite, station, start and end. */
void fl_ckpt_plan_digest(const sim_plan *plan, char hex[65]);

#endif
