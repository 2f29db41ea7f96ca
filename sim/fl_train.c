/* fl_train.c - the pool of local-training workers (fl_train.h). */
#include "fl_train.h"

#include "nn_train.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct worker {
    struct fl_trainer *t;
    pthread_t thread;
    bool started;
    fl_train_job *job; /* assigned, NULL when idle (guarded by t->mu) */
    nn_model *m;
    nn_opt *opt; /* for jobs without their own optimiser */
    nn_opt_cfg opt_cfg;
    float *base; /* the model the job started from (NN_STATE_FLOATS) */
    float *rec;  /* error feedback: the update as decoded (NN_STATE_FLOATS, on first use) */
    int64_t base_tracked[NN_TRACKED];
    int epoch; /* of the job running, for its progress */
} worker;

struct fl_trainer {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a worker was given a job, or quit */
    pthread_cond_t done; /* a job finished */
    bool quit;
    int n_workers, threads, max_batch;
    atomic_int busy; /* workers holding a job */
    worker *w;
};

/* The kernel threads of the next batch: the trainer's threads shared by the trainings in
 * flight. Results do not depend on it (nn.h), so it can follow the load batch by batch. */
static void share_cores(worker *w)
{
    const int busy = atomic_load(&w->t->busy);
    const int k = w->t->threads / (busy > 1 ? busy : 1);
    nn_set_local_threads(k > 1 ? k : 1);
}

static void on_batch(void *user, const nn_progress *p)
{
    worker *w = user;
    if (p->phase == NN_PHASE_TRAIN && w->job)
        atomic_store(&w->job->images_done, (size_t)w->epoch * w->job->n + p->done);
    share_cores(w);
}

/* Runs job on w (outside the lock): train, then encode into the client's buffer. */
static void run_job(worker *w, fl_train_job *job)
{
    cs_err *err = &job->err;
    int rc = 0;
    if (!w->m) { /* once per worker, in its thread: workspaces for up to all threads */
        nn_set_local_threads(w->t->threads);
        if (!(w->m = nn_model_create(w->t->max_batch, err))) {
            job->rc = err->code ? err->code : CS_ENOMEM;
            return;
        }
        nn_train_set_progress(w->m, on_batch, w);
    }
    nn_opt *opt = job->opt;
    if (!opt) {
        if (w->opt && memcmp(&w->opt_cfg, &job->opt_cfg, sizeof w->opt_cfg) != 0) {
            nn_opt_destroy(w->opt);
            w->opt = NULL;
        }
        if (!w->opt && !(w->opt = nn_opt_create(&job->opt_cfg, NN_PARAMS, err))) {
            job->rc = err->code ? err->code : CS_ENOMEM;
            return;
        }
        w->opt_cfg = job->opt_cfg;
        opt = w->opt;
        nn_opt_reset(opt);
    }
    nn_opt_set_lr(opt, job->lr);
    float *st = nn_model_state(w->m);
    int64_t *tr = nn_model_tracked(w->m);
    memcpy(st, w->base, NN_STATE_FLOATS * sizeof *st);
    memcpy(tr, w->base_tracked, sizeof w->base_tracked);
    nn_model_set_training(w->m, true);
    share_cores(w);
    for (int ep = 0; ep < job->epochs && rc == 0; ep++) {
        w->epoch = ep;
        rc = nn_train_epoch_aug(w->m, opt, job->ds, job->idx, job->n, job->batch, &job->shuffle,
                                job->use_augment ? &job->augment : NULL, NULL);
    }
    if (rc) {
        job->rc = rc; /* err left empty: the caller says which client and round */
        return;
    }
    if (job->keep) {
        memcpy(job->keep, st, NN_STATE_FLOATS * sizeof *st);
        memcpy(job->keep_tracked, tr, NN_TRACKED * sizeof *tr);
        job->rc = 0;
        return;
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    if (job->resid) { /* the base shifted by the residual: the payload carries delta + resid */
        CS_ASSERT(job->delta);
        if (!w->rec && !(w->rec = malloc(NN_STATE_FLOATS * sizeof *w->rec))) {
            job->rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (error feedback)");
            return;
        }
        for (size_t i = 0; i < NN_STATE_FLOATS; i++)
            w->base[i] -= job->resid[i];
    }
    if ((rc = nn_codec_encode_model(&job->wire, st, tr, job->delta ? w->base : NULL, &buf, &len,
                                    err))) {
        job->rc = rc;
        return;
    }
    if (job->resid) { /* what arrives: base' + decoded; the residual is what it misses */
        int64_t rtr[NN_TRACKED];
        if ((rc = nn_codec_decode(buf, len, w->base, w->rec, rtr, NULL, err))) {
            free(buf);
            job->rc = rc;
            return;
        }
        for (size_t i = 0; i < NN_STATE_FLOATS; i++)
            job->resid[i] = st[i] - w->rec[i];
    }
    if (len > *job->out_cap) {
        unsigned char *b = realloc(*job->out, len);
        if (!b) {
            free(buf);
            job->rc = cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (client update)");
            return;
        }
        *job->out = b;
        *job->out_cap = len;
    }
    memcpy(*job->out, buf, len);
    *job->out_len = len;
    free(buf);
    job->rc = 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    fl_trainer *t = w->t;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!w->job && !t->quit)
            pthread_cond_wait(&t->work, &t->mu);
        if (!w->job)
            break;
        fl_train_job *job = w->job;
        pthread_mutex_unlock(&t->mu);
        run_job(w, job);
        pthread_mutex_lock(&t->mu);
        job->state = 2;
        w->job = NULL;
        atomic_fetch_sub(&t->busy, 1);
        pthread_cond_broadcast(&t->done);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

void fl_trainer_destroy(fl_trainer *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->quit = true; /* workers finish the job they hold, then leave */
    pthread_cond_broadcast(&t->work);
    pthread_mutex_unlock(&t->mu);
    for (int i = 0; i < t->n_workers; i++) {
        worker *w = &t->w[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        nn_model_destroy(w->m);
        nn_opt_destroy(w->opt);
        free(w->base);
        free(w->rec);
    }
    free(t->w);
    pthread_cond_destroy(&t->work);
    pthread_cond_destroy(&t->done);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

fl_trainer *fl_trainer_create(int threads, int parallel, int max_batch, cs_err *err)
{
    CS_ASSERT(threads >= 1 && threads <= 1024);
    const int workers = parallel < 1 ? 1 : threads < parallel ? threads : parallel;
    fl_trainer *t = calloc(1, sizeof *t);
    if (!t || !(t->w = calloc((size_t)workers, sizeof *t->w))) {
        free(t);
        cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (training workers)");
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->work, NULL);
    pthread_cond_init(&t->done, NULL);
    t->n_workers = workers;
    t->threads = threads;
    atomic_init(&t->busy, 0);
    t->max_batch = max_batch;
    for (int i = 0; i < workers; i++) {
        worker *w = &t->w[i];
        w->t = t;
        if (!(w->base = malloc(NN_STATE_FLOATS * sizeof *w->base))) {
            cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (training workers)");
            fl_trainer_destroy(t);
            return NULL;
        }
    }
    for (int i = 0; i < workers; i++) {
        worker *w = &t->w[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            cs_err_set(err, CS_EFAIL, NULL, 0, 0, "cannot start training worker %d of %d", i + 1,
                       workers);
            fl_trainer_destroy(t);
            return NULL;
        }
        w->started = true;
    }
    return t;
}

int fl_trainer_workers(const fl_trainer *t)
{
    return t->n_workers;
}
int fl_trainer_threads(const fl_trainer *t)
{
    return t->threads;
}
int fl_trainer_max_batch(const fl_trainer *t)
{
    return t->max_batch;
}

int fl_trainer_submit(fl_trainer *t, fl_train_job *job, const float *base, const int64_t *tracked,
                      cs_err *err)
{
    (void)err;
    CS_ASSERT(job->state != 1 && job->batch <= t->max_batch);
    pthread_mutex_lock(&t->mu);
    worker *w = NULL;
    for (;;) {
        for (int i = 0; i < t->n_workers && !w; i++)
            if (!t->w[i].job)
                w = &t->w[i];
        if (w)
            break;
        pthread_cond_wait(&t->done, &t->mu);
    }
    memcpy(w->base, base, NN_STATE_FLOATS * sizeof *w->base);
    memcpy(w->base_tracked, tracked, sizeof w->base_tracked);
    atomic_store(&job->images_done, 0);
    job->rc = 0;
    memset(&job->err, 0, sizeof job->err);
    job->state = 1;
    w->job = job;
    atomic_fetch_add(&t->busy, 1);
    pthread_cond_broadcast(&t->work);
    pthread_mutex_unlock(&t->mu);
    return 0;
}

int fl_trainer_wait(fl_trainer *t, fl_train_job *job, void (*poll)(void *user), void *user,
                    cs_err *err)
{
    pthread_mutex_lock(&t->mu);
    while (job->state == 1) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&t->done, &t->mu, &ts);
        if (rc == ETIMEDOUT && job->state == 1 && poll) {
            pthread_mutex_unlock(&t->mu);
            poll(user);
            pthread_mutex_lock(&t->mu);
        }
    }
    const bool ran = job->state == 2;
    job->state = 0;
    pthread_mutex_unlock(&t->mu);
    if (!ran)
        return 0;
    if (job->rc && err && job->err.code)
        *err = job->err;
    return job->rc;
}
