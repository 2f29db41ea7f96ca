/* fl_study.h - a whole scenario (module prefix fl_): over a borrowed contact plan and a borrowed
 * decoded dataset, the split and partitions, one FL run per wire precision, PTQ of the final
 * model and the model files. Several studies (sweep points) can share one plan and one dataset:
 * the study never changes them.
 *
 * Library code: nothing here prints. Progress goes to an optional hook.
 */
#ifndef FL_STUDY_H
#define FL_STUDY_H

#include "cs.h"
#include "fl.h"
#include "fl_part.h"
#include "nn_codec.h"
#include "nn_data.h"
#include "scn.h"
#include "sim_plan.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct fl_ptq_entry {
    nn_precision precision;
    double accuracy, loss;
    size_t file_bytes;
    double compression_ratio; /* fp32 file_bytes / file_bytes */
    double accuracy_drop_pct; /* (fp32 accuracy - accuracy) * 100 */
    char path[1100];          /* "" when not saved */
    char sha256[65];          /* of the file written at path ("" until rep_write_study) */
} fl_ptq_entry;

typedef struct fl_study_opts {
    const char *report_path; /* NULL: cfg->report.path */
    bool trace;              /* record the event trace (default in the CLI: true) */
    bool save_models;        /* write the model files */
    fl_progress_fn progress; /* may be NULL */
    void *progress_user;
    fl_observer_fn observe; /* may be NULL: snapshots of every run (fl.h) */
    void *observe_user;
    /* Checkpoints (fl_ckpt.h), fl_study_run only: written to checkpoint_path (NULL: none) after
     * every aggregation and after every run, identified by *ident. resume (NULL: a fresh
     * study) is a checkpoint read and checked by the caller (fl_ckpt_read, fl_ckpt_check): the
     * study restores its finished runs and continues the run in progress from it. */
    const char *checkpoint_path;
    const struct fl_ckpt_ident *ident;
    const struct fl_ckpt *resume;
    /* Polled between events (may be NULL): when set, the run in progress stops at that safe
     * point, the checkpoint is written and fl_study_run returns CS_EINTR. */
    const volatile sig_atomic_t *interrupt;
    /* Cores for the clients' trainings (0: nn_threads()), shared between the trainings in
     * flight batch by batch (fl_train.h). Results are the same bits for any value. */
    int threads;
} fl_study_opts;

typedef struct fl_study {
    const scn_config *cfg;  /* borrowed */
    const sim_plan *plan;   /* borrowed: the contact plan of cfg (fl_study_check_plan) */
    const nn_dataset *ds;   /* borrowed: the decoded dataset */
    uint32_t *train, *test; /* owned */
    size_t n_train, n_test;
    fl_partitions parts; /* owned */
    fl_result runs[NN_PRECISIONS];
    size_t n_runs;
    char report_path[1024];
    char model_dir[1024];                      /* the report path without ".json" */
    char model_paths[NN_PRECISIONS][1100];     /* one FP32 model per run ("" when not saved) */
    char model_sha256[NN_PRECISIONS][65];      /* of each, once written (rep_write_study) */
    bool save_models;                          /* opts->save_models */
    unsigned char *ptq_payload[NN_PRECISIONS]; /* owned: the PTQ model files, written with the
                                                  report (rep_write_study) */
    bool has_ptq;
    size_t ptq_source_run; /* the run whose final model was quantised (the fp32 one if any) */
    fl_ptq_entry ptq[NN_PRECISIONS];
    struct fl_trainer *trainer; /* owned: the pool the runs train on (fl_train.h) */
    double wall_s;              /* the study's own wall time (plan and dataset not included) */
    double t0_wall_s;           /* when fl_study_begin started */
} fl_study;

/* CS_EINVAL (naming the scenario file) unless plan was built for cfg's orbital setup: the same
 * epoch and duration, as many satellites, and stations at the same places and elevation masks
 * in the same order. Link rates, antennas and prices are not part of a plan. */
int fl_study_check_plan(const scn_config *cfg, const sim_plan *plan, cs_err *err);

/* Runs the scenario over plan and ds (both borrowed, unchanged): split, partitions, every
 * precision, PTQ (cfg->report.ptq), checkpoints. The model files are written with the report,
 * as one unit (rep_write_study). On failure returns the error (CS_EINTR: interrupted, the
 * checkpoint written); the study is freed by fl_study_free either way. */
int fl_study_run(const scn_config *cfg, const sim_plan *plan, const nn_dataset *ds,
                 const fl_study_opts *opts, fl_study *out, cs_err *err);
void fl_study_free(fl_study *s); /* NULL-safe */

/* fl_study_run in stages, for a caller that drives the runs itself (constsim viz runs every
 * precision side by side in time slices):
 *   fl_study_begin   checks, split, partitions;
 *   fl_study_env     the fl_env of run i (0-based, in wire.precision order) over the study;
 *   fl_study_add_run takes run i's result (the next one in order; res is moved and zeroed)
 *                    and names its model file;
 *   fl_study_finish  PTQ of the final model (report.ptq; the fp32 run's, else the first run's).
 * fl_study_run is begin, fl_run_batch + add_run for each precision, finish. A study whose runs
 * were ended early (fl_run_end before they finished) reports what they completed. */
int fl_study_begin(const scn_config *cfg, const sim_plan *plan, const nn_dataset *ds,
                   const fl_study_opts *opts, fl_study *out, cs_err *err);
void fl_study_env(const fl_study *s, const fl_study_opts *opts, size_t i, fl_env *env);
int fl_study_add_run(fl_study *s, const fl_study_opts *opts, fl_result *res, cs_err *err);
int fl_study_finish(fl_study *s, const fl_study_opts *opts, cs_err *err);

/* The model folder of a report path: "reports/x.json" -> "reports/x" (else path + ".models"). */
void fl_model_dir(const char *report_path, char *out, size_t cap);

#endif
