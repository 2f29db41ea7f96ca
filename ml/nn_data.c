/* nn_data.c - the EuroSAT RGB dataset: folder lookup, parallel JPEG decode into one uint8 block,
 * stratified seeded split, per-batch normalisation.
 *
 * Decoding: libjpeg-turbo from memory (each file read whole into a per-thread buffer), output
 * JCS_RGB, default (ISLOW) IDCT and fancy upsampling, i.e. the library defaults that PIL and
 * torchvision also use, so pixels match them bit for bit. libjpeg's fatal errors and its
 * corrupt-data warnings (e.g. "Premature end of JPEG file", which libjpeg would otherwise paper
 * over with grey rows) are both turned into a cs_err naming the file; nothing is printed.
 *
 * Threads: workers take image indices from one atomic counter and write only their own image's
 * slot, so the pixels do not depend on the thread count. An error at index i stops the handing
 * out of indices > i; every index < i has already been handed out and finishes, so the error
 * reported is always the first one in file order.
 */
#include "nn_data.h"

#include "cs_host.h"
#include "cs_rng.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

#include <jerror.h>

#define IMG_SIDE 64
#define IMG_BYTES ((size_t)3 * IMG_SIDE * IMG_SIDE) /* 12,288 */
#define FILE_MAX_BYTES ((size_t)64 << 20)           /* far above any 64x64 JPEG */
#define THREADS_MAX 256

/* The ten EuroSAT RGB class folders, in byte-wise order (= class index). */
static const char *const class_names[NN_DATA_CLASSES] = {
    "AnnualCrop", "Forest",        "HerbaceousVegetation", "Highway", "Industrial",
    "Pasture",    "PermanentCrop", "Residential",          "River",   "SeaLake",
};

/* ---------------------------------------------------------------------------------------------
 * Finding the folder
 */

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int copy_out(const char *path, char *out, size_t cap, cs_err *err)
{
    size_t n = strlen(path);
    if (n >= cap)
        return cs_err_set(err, CS_EINVAL, path, 0, 0,
                          "dataset path is too long (%zu bytes, at most %zu)", n,
                          cap ? cap - 1 : 0);
    memcpy(out, path, n + 1);
    return 0;
}

/* A folder named explicitly (configuration or environment) must exist: never fall through. */
static int check_named(const char *path, const char *how, cs_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return cs_err_set(err, CS_EINVAL, path, 0, 0,
                              "dataset folder given by %s does not exist", how);
        return cs_err_set(err, CS_EIO, path, 0, 0, "dataset folder given by %s: %s", how,
                          strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return cs_err_set(err, CS_EINVAL, path, 0, 0, "dataset folder given by %s is not a folder",
                          how);
    return 0;
}

int nn_data_find_root(const char *configured, char *out, size_t cap, cs_err *err)
{
    CS_ASSERT(out != NULL);
    if (cap > 0)
        out[0] = '\0';
    if (configured && configured[0]) {
        int rc = check_named(configured, "the configuration (--data / dataset.path)", err);
        return rc ? rc : copy_out(configured, out, cap, err);
    }
    const char *env = getenv("CONSTSIM_DATA");
    if (env && env[0]) {
        int rc = check_named(env, "$CONSTSIM_DATA", err);
        return rc ? rc : copy_out(env, out, cap, err);
    }
    static const char *const defaults[] = {"data/eurosat", "../shared/eurosat"};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (is_dir(defaults[i]))
            return copy_out(defaults[i], out, cap, err);
    return cs_err_set(
        err, CS_EINVAL, NULL, 0, 0,
        "EuroSAT dataset not found; tried: --data / dataset.path (not given), $CONSTSIM_DATA (not "
        "set), data/eurosat, ../shared/eurosat (both relative to the working directory). Get "
        "EuroSAT RGB (Helber et al. 2019): the archive EuroSAT.zip (it unpacks to a folder '2750', "
        "also distributed as EuroSAT_RGB) with 27,000 64x64 JPEGs in 10 class folders "
        "(AnnualCrop ... SeaLake). Point constsim at the folder holding the class folders with "
        "--data DIR, CONSTSIM_DATA=DIR, dataset.path in the scenario, or put it at data/eurosat");
}

/* ---------------------------------------------------------------------------------------------
 * Listing the class folders
 */

typedef struct name_list {
    char **v; /* owned strings */
    size_t n, cap;
} name_list;

static void name_list_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int name_list_push(name_list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256, bytes;
        if (cs_size_mul(cap, sizeof *l->v, &bytes) != 0)
            return -1;
        char **nv = realloc(l->v, bytes);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    char *d = strdup(s);
    if (!d)
        return -1;
    l->v[l->n++] = d;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_jpeg_ext(const char *name)
{
    if (name[0] == '.') /* hidden files, "." and ".." */
        return 0;
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static int list_class(const char *root, const char *cls, name_list *out, cs_err *err)
{
    char dir[4096];
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root, cls) >= sizeof dir)
        return cs_err_set(err, CS_EINVAL, root, 0, 0, "dataset path is too long");
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return cs_err_set(err, CS_EINVAL, dir, 0, 0,
                              "missing class folder \"%s\": a EuroSAT folder holds the 10 class "
                              "folders AnnualCrop, Forest, HerbaceousVegetation, Highway, "
                              "Industrial, Pasture, PermanentCrop, Residential, River, SeaLake",
                              cls);
        if (errno == ENOTDIR)
            return cs_err_set(err, CS_EINVAL, dir, 0, 0, "class \"%s\" is not a folder", cls);
        return cs_err_set(err, CS_EIO, dir, 0, 0, "cannot open class folder: %s", strerror(errno));
    }
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno != 0) {
                int rc = cs_err_set(err, CS_EIO, dir, 0, 0, "cannot list class folder: %s",
                                    strerror(errno));
                closedir(d);
                return rc;
            }
            break;
        }
        if (e->d_type == DT_DIR || !has_jpeg_ext(e->d_name))
            continue;
        if (name_list_push(out, e->d_name) != 0) {
            closedir(d);
            return cs_err_set(err, CS_ENOMEM, dir, 0, 0, "out of memory listing the folder");
        }
    }
    closedir(d);
    if (out->n == 0)
        return cs_err_set(err, CS_EINVAL, dir, 0, 0,
                          "class folder \"%s\" holds no .jpg/.jpeg images", cls);
    qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Decoding (one worker per thread)
 */

typedef struct jerr_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jerr_mgr;

static void jerr_exit(j_common_ptr ci)
{
    jerr_mgr *m = (jerr_mgr *)ci->err;
    m->pub.format_message(ci, m->msg);
    longjmp(m->jump, 1);
}

/* Warnings (level -1) about corrupt data are errors here; the few about harmless metadata are
 * ignored. Trace messages (level >= 0) are ignored. Nothing is ever printed. */
static void jerr_emit(j_common_ptr ci, int level)
{
    jerr_mgr *m = (jerr_mgr *)ci->err;
    if (level >= 0)
        return;
    int code = m->pub.msg_code;
    if (code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC)
        return;
    m->pub.format_message(ci, m->msg);
    longjmp(m->jump, 1);
}

static void jerr_output(j_common_ptr ci)
{
    (void)ci;
}

typedef struct load_job {
    const char *root;
    char *const *rel; /* borrowed: ds->paths */
    uint8_t *pixels;  /* borrowed: ds->pixels */
    size_t n;
    atomic_size_t next;    /* next index to hand out */
    atomic_size_t err_idx; /* index of the first error so far, n if none */
    pthread_mutex_t mu;    /* guards err and the err_idx update */
    cs_err err;
} load_job;

typedef struct worker {
    load_job *job;
    struct jpeg_decompress_struct ci;
    jerr_mgr jerr;
    int ci_ready;
    unsigned char *buf; /* owned: file contents, reused */
    size_t cap;
    uint8_t hwc[IMG_BYTES]; /* decoded rows, interleaved */
    char path[4096];
} worker;

/* Reads the whole file into w->buf with checked reads. */
static int read_whole(worker *w, size_t *len, cs_err *err)
{
    *len = 0;
    int fd = open(w->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cs_err_set(err, CS_EIO, w->path, 0, 0, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = cs_err_set(err, CS_EIO, w->path, 0, 0, "cannot stat: %s", strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return cs_err_set(err, CS_EINVAL, w->path, 0, 0, "not a regular file");
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > FILE_MAX_BYTES) {
        close(fd);
        return cs_err_set(err, CS_EINVAL, w->path, 0, 0,
                          "file of %lld bytes is too large for a 64x64 JPEG (limit %zu)",
                          (long long)st.st_size, FILE_MAX_BYTES);
    }
    size_t size = (size_t)st.st_size;
    if (size > w->cap) {
        size_t cap = size < 65536 ? 65536 : size;
        unsigned char *nb = realloc(w->buf, cap);
        if (!nb) {
            close(fd);
            return cs_err_set(err, CS_ENOMEM, w->path, 0, 0, "out of memory reading the file");
        }
        w->buf = nb;
        w->cap = cap;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, w->buf + got, size - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int rc = cs_err_set_at(err, CS_EIO, w->path, (long long)got, "read failed: %s",
                                   strerror(errno));
            close(fd);
            return rc;
        }
        if (r == 0) {
            close(fd);
            return cs_err_set_at(err, CS_EIO, w->path, (long long)got,
                                 "file ended early (expected %zu bytes)", size);
        }
        got += (size_t)r;
    }
    close(fd);
    *len = size;
    return 0;
}

/* Decodes w->buf[0..len) into out (CHW). All libjpeg calls are under the setjmp below; no
 * local is modified between setjmp and a longjmp, so none needs to be volatile. */
static int decode_one(worker *w, size_t len, uint8_t *out, cs_err *err)
{
    struct jpeg_decompress_struct *ci = &w->ci;
    if (setjmp(w->jerr.jump)) {
        jpeg_abort_decompress(ci);
        return cs_err_set(err, CS_EINVAL, w->path, 0, 0, "cannot decode JPEG: %s", w->jerr.msg);
    }
    jpeg_mem_src(ci, w->buf, (unsigned long)len);
    jpeg_read_header(ci, TRUE);
    if (ci->image_width != IMG_SIDE || ci->image_height != IMG_SIDE) {
        unsigned wd = ci->image_width, ht = ci->image_height;
        jpeg_abort_decompress(ci);
        return cs_err_set(err, CS_EINVAL, w->path, 0, 0, "image is %ux%u pixels, expected 64x64",
                          wd, ht);
    }
    if (ci->num_components != 3) {
        int nc = ci->num_components;
        jpeg_abort_decompress(ci);
        return cs_err_set(err, CS_EINVAL, w->path, 0, 0,
                          "image has %d colour component%s (%s), expected 3 (RGB)", nc,
                          nc == 1 ? "" : "s", nc == 1 ? "grayscale" : "not RGB");
    }
    ci->out_color_space = JCS_RGB;
    jpeg_start_decompress(ci);
    CS_ASSERT(ci->output_width == IMG_SIDE && ci->output_height == IMG_SIDE &&
              ci->output_components == 3);
    while (ci->output_scanline < IMG_SIDE) {
        JSAMPROW rows[IMG_SIDE];
        JDIMENSION first = ci->output_scanline, left = IMG_SIDE - first;
        for (JDIMENSION r = 0; r < left; r++)
            rows[r] = w->hwc + (size_t)(first + r) * IMG_SIDE * 3;
        JDIMENSION got = jpeg_read_scanlines(ci, rows, left);
        CS_ASSERT(got > 0); /* a memory source never suspends */
    }
    jpeg_finish_decompress(ci);
    /* (H, W, C) -> (C, H, W) */
    const size_t plane = (size_t)IMG_SIDE * IMG_SIDE;
    for (size_t p = 0; p < plane; p++) {
        out[p] = w->hwc[3 * p];
        out[plane + p] = w->hwc[3 * p + 1];
        out[2 * plane + p] = w->hwc[3 * p + 2];
    }
    return 0;
}

static int worker_start(worker *w, cs_err *err)
{
    w->ci.err = jpeg_std_error(&w->jerr.pub);
    w->jerr.pub.error_exit = jerr_exit;
    w->jerr.pub.emit_message = jerr_emit;
    w->jerr.pub.output_message = jerr_output;
    if (setjmp(w->jerr.jump))
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "cannot set up the JPEG decoder: %s",
                          w->jerr.msg);
    jpeg_create_decompress(&w->ci);
    w->ci_ready = 1;
    return 0;
}

static void record_error(load_job *job, size_t i, const cs_err *e)
{
    pthread_mutex_lock(&job->mu);
    if (i < atomic_load(&job->err_idx)) {
        job->err = *e;
        atomic_store(&job->err_idx, i);
    }
    pthread_mutex_unlock(&job->mu);
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    load_job *job = w->job;
    cs_err e;
    cs_err_clear(&e);
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->n || i > atomic_load(&job->err_idx))
            break;
        if (!w->ci_ready && worker_start(w, &e) != 0) {
            record_error(job, i, &e);
            break;
        }
        size_t len = 0;
        if ((size_t)snprintf(w->path, sizeof w->path, "%s/%s", job->root, job->rel[i]) >=
            sizeof w->path) {
            cs_err_set(&e, CS_EINVAL, job->rel[i], 0, 0, "path too long under %s", job->root);
            record_error(job, i, &e);
            break;
        }
        if (read_whole(w, &len, &e) != 0 ||
            decode_one(w, len, job->pixels + i * IMG_BYTES, &e) != 0) {
            record_error(job, i, &e);
            break;
        }
    }
    return NULL;
}

static void worker_end(worker *w)
{
    if (w->ci_ready)
        jpeg_destroy_decompress(&w->ci);
    w->ci_ready = 0;
    free(w->buf);
    w->buf = NULL;
    w->cap = 0;
}

static int decode_all(load_job *job, int threads, cs_err *err)
{
    size_t t = (size_t)threads;
    if (t > job->n)
        t = job->n;
    if (t < 1)
        t = 1;
    worker *ws = calloc(t, sizeof *ws);
    pthread_t *tid = calloc(t, sizeof *tid);
    if (!ws || !tid) {
        free(ws);
        free(tid);
        return cs_err_set(err, CS_ENOMEM, job->root, 0, 0, "out of memory (decode workers)");
    }
    /* Worker 0 is this thread; if a thread cannot be created the others do its share. */
    size_t started = 1;
    for (size_t k = 0; k < t; k++)
        ws[k].job = job;
    for (size_t k = 1; k < t; k++) {
        if (pthread_create(&tid[started], NULL, worker_run, &ws[started]) != 0)
            break;
        started++;
    }
    worker_run(&ws[0]);
    for (size_t k = 1; k < started; k++)
        pthread_join(tid[k], NULL);
    for (size_t k = 0; k < t; k++)
        worker_end(&ws[k]);
    free(ws);
    free(tid);
    if (atomic_load(&job->err_idx) < job->n) {
        if (err)
            *err = job->err;
        return job->err.code ? job->err.code : CS_EFAIL;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Loading
 */

void nn_data_free(nn_dataset *ds)
{
    if (!ds)
        return;
    if (ds->paths)
        for (size_t i = 0; i < ds->n; i++)
            free(ds->paths[i]);
    free(ds->paths);
    free(ds->labels);
    free(ds->pixels);
    memset(ds, 0, sizeof *ds);
}

static int online_cpus(void)
{
    int c = cs_host_cpus();
    return c > THREADS_MAX ? THREADS_MAX : c;
}

int nn_data_load(const char *root, int threads, nn_dataset *ds, cs_err *err)
{
    CS_ASSERT(root != NULL && ds != NULL);
    memset(ds, 0, sizeof *ds);
    double t0 = cs_wall_s();
    if (threads < 0)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "decode threads must be >= 0 (0 = all cores), got %d", threads);
    if (threads == 0)
        threads = online_cpus();
    if (threads > THREADS_MAX)
        threads = THREADS_MAX;

    struct stat st;
    if (stat(root, &st) != 0) {
        int e = errno;
        return cs_err_set(err, e == ENOENT ? CS_EINVAL : CS_EIO, root, 0, 0, "dataset folder: %s",
                          e == ENOENT ? "does not exist" : strerror(e));
    }
    if (!S_ISDIR(st.st_mode))
        return cs_err_set(err, CS_EINVAL, root, 0, 0, "dataset folder: not a folder");
    size_t root_len = strlen(root);
    if (root_len >= sizeof ds->root)
        return cs_err_set(err, CS_EINVAL, root, 0, 0, "dataset path is too long (%zu bytes)",
                          root_len);

    name_list lists[NN_DATA_CLASSES];
    memset(lists, 0, sizeof lists);
    int rc = 0;
    size_t n = 0;
    for (int c = 0; c < NN_DATA_CLASSES && rc == 0; c++) {
        rc = list_class(root, class_names[c], &lists[c], err);
        n += lists[c].n;
    }
    size_t pix_bytes = 0;
    if (rc == 0 && cs_size_mul(n, IMG_BYTES, &pix_bytes) != 0)
        rc = cs_err_set(err, CS_ENOMEM, root, 0, 0, "%zu images x %zu bytes overflows", n,
                        IMG_BYTES);
    if (rc == 0) {
        memcpy(ds->root, root, root_len + 1);
        for (int c = 0; c < NN_DATA_CLASSES; c++)
            snprintf(ds->class_names[c], sizeof ds->class_names[c], "%s", class_names[c]);
        ds->paths = calloc(n, sizeof *ds->paths);
        ds->labels = malloc(n);
        ds->pixels = malloc(pix_bytes);
        if (!ds->paths || !ds->labels || !ds->pixels)
            rc = cs_err_set(err, CS_ENOMEM, root, 0, 0,
                            "out of memory for %zu images (%zu bytes of pixels)", n, pix_bytes);
        else
            ds->n = n; /* from here nn_data_free releases the paths too */
    }
    size_t i = 0;
    for (int c = 0; c < NN_DATA_CLASSES && rc == 0; c++) {
        size_t cl = strlen(class_names[c]);
        for (size_t k = 0; k < lists[c].n && rc == 0; k++, i++) {
            size_t fl = strlen(lists[c].v[k]);
            char *p = malloc(cl + 1 + fl + 1);
            if (!p) {
                rc = cs_err_set(err, CS_ENOMEM, root, 0, 0, "out of memory (paths)");
                break;
            }
            memcpy(p, class_names[c], cl);
            p[cl] = '/';
            memcpy(p + cl + 1, lists[c].v[k], fl + 1);
            ds->paths[i] = p;
            ds->labels[i] = (uint8_t)c;
        }
    }
    for (int c = 0; c < NN_DATA_CLASSES; c++)
        name_list_free(&lists[c]);
    if (rc != 0) {
        nn_data_free(ds);
        return rc;
    }

    load_job job;
    memset(&job, 0, sizeof job);
    job.root = root;
    job.rel = ds->paths;
    job.pixels = ds->pixels;
    job.n = n;
    atomic_init(&job.next, 0);
    atomic_init(&job.err_idx, n);
    cs_err_clear(&job.err);
    if (pthread_mutex_init(&job.mu, NULL) != 0) {
        nn_data_free(ds);
        return cs_err_set(err, CS_EFAIL, NULL, 0, 0, "cannot create a mutex");
    }
    rc = decode_all(&job, threads, err);
    pthread_mutex_destroy(&job.mu);
    if (rc != 0)
        nn_data_free(ds);
    else
        ds->load_wall_s = cs_wall_s() - t0;
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Split, batches, lookup
 */

int nn_data_split(const nn_dataset *ds, double test_fraction, uint64_t seed, uint32_t **train,
                  size_t *n_train, uint32_t **test, size_t *n_test, cs_err *err)
{
    CS_ASSERT(ds && train && n_train && test && n_test);
    *train = *test = NULL;
    *n_train = *n_test = 0;
    if (!(test_fraction > 0.0 && test_fraction < 1.0))
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0,
                          "dataset.test_fraction must be in (0, 1), got %g", test_fraction);
    if (ds->n == 0)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "cannot split an empty dataset");
    if (ds->n > UINT32_MAX)
        return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "too many images for 32-bit indices");

    size_t count[NN_DATA_CLASSES] = {0};
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->labels[i] >= NN_DATA_CLASSES)
            return cs_err_set(err, CS_EINVAL, NULL, 0, 0, "image %zu has label %u (at most %d)", i,
                              ds->labels[i], NN_DATA_CLASSES - 1);
        count[ds->labels[i]]++;
    }
    size_t bytes;
    if (cs_size_mul(ds->n, sizeof(uint32_t), &bytes) != 0)
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "split size overflows");
    uint32_t *order = malloc(bytes);     /* indices grouped by class, ascending in each */
    uint8_t *in_test = calloc(ds->n, 1); /* 1 = test */
    uint32_t *tr = malloc(bytes), *te = malloc(bytes);
    if (!order || !in_test || !tr || !te) {
        free(order);
        free(in_test);
        free(tr);
        free(te);
        return cs_err_set(err, CS_ENOMEM, NULL, 0, 0, "out of memory (split)");
    }
    size_t start[NN_DATA_CLASSES], fill[NN_DATA_CLASSES];
    for (size_t c = 0, s = 0; c < NN_DATA_CLASSES; s += count[c], c++)
        start[c] = fill[c] = s;
    for (size_t i = 0; i < ds->n; i++)
        order[fill[ds->labels[i]]++] = (uint32_t)i;
    for (size_t c = 0; c < NN_DATA_CLASSES; c++) {
        uint32_t *v = order + start[c];
        cs_rng r;
        cs_rng_derive(&r, seed, CS_RNG_SPLIT, c);
        cs_rng_shuffle_u32(&r, v, count[c]);
        size_t k = (size_t)llround(test_fraction * (double)count[c]);
        CS_ASSERT(k <= count[c]);
        for (size_t j = 0; j < k; j++)
            in_test[v[j]] = 1;
    }
    size_t a = 0, b = 0;
    for (size_t i = 0; i < ds->n; i++) {
        if (in_test[i])
            te[b++] = (uint32_t)i;
        else
            tr[a++] = (uint32_t)i;
    }
    free(order);
    free(in_test);
    *train = tr;
    *n_train = a;
    *test = te;
    *n_test = b;
    return 0;
}

/* One pixel as the network sees it: PyTorch's ToTensor + Normalize(0.5, 0.5) exactly, in
 * float: t = p / 255; x = (t - 0.5) / 0.5. Results are bit-identical to torchvision's (0 -> -1,
 * 255 -> 1). */
static inline float pixel_in(uint8_t p)
{
    return ((float)p / 255.0f - 0.5f) / 0.5f;
}

/* The loop is plain so that the compiler vectorises it. */
void nn_data_batch(const nn_dataset *ds, const uint32_t *idx, size_t n, float *x, uint8_t *y)
{
    CS_ASSERT(ds && (n == 0 || idx));
    for (size_t b = 0; b < n; b++) {
        CS_ASSERT(idx[b] < ds->n);
        if (x) {
            const uint8_t *restrict p = ds->pixels + (size_t)idx[b] * IMG_BYTES;
            float *restrict o = x + b * IMG_BYTES;
            for (size_t k = 0; k < IMG_BYTES; k++)
                o[k] = pixel_in(p[k]);
        }
        if (y)
            y[b] = ds->labels[idx[b]];
    }
}

void nn_data_batch_flip(const nn_dataset *ds, const uint32_t *idx, size_t n, float *x, uint8_t *y,
                        cs_rng *rng)
{
    CS_ASSERT(ds && rng && (n == 0 || idx));
    for (size_t b = 0; b < n; b++) {
        CS_ASSERT(idx[b] < ds->n);
        const uint64_t bits = cs_rng_u64(rng);
        const bool flip_lr = bits & 1, flip_tb = (bits >> 1) & 1;
        if (x) {
            const uint8_t *restrict p = ds->pixels + (size_t)idx[b] * IMG_BYTES;
            float *restrict o = x + b * IMG_BYTES;
            for (size_t c = 0; c < 3; c++)
                for (size_t r = 0; r < 64; r++) {
                    const uint8_t *src = p + (c * 64 + (flip_tb ? 63 - r : r)) * 64;
                    float *dst = o + (c * 64 + r) * 64;
                    if (flip_lr)
                        for (size_t k = 0; k < 64; k++)
                            dst[k] = pixel_in(src[63 - k]);
                    else
                        for (size_t k = 0; k < 64; k++)
                            dst[k] = pixel_in(src[k]);
                }
        }
        if (y)
            y[b] = ds->labels[idx[b]];
    }
}

int nn_data_check_path(const char *root, const char *rel, char *why, size_t cap)
{
    const char *slash = strchr(rel, '/');
    if (!slash || slash == rel || strchr(slash + 1, '/') || slash[1] == '\0') {
        snprintf(why, cap, "not CLASS/FILE.jpg with CLASS one of the class folders");
        return -1;
    }
    size_t cl = (size_t)(slash - rel);
    int c = 0;
    while (c < NN_DATA_CLASSES &&
           (strlen(class_names[c]) != cl || strncmp(class_names[c], rel, cl)))
        c++;
    if (c == NN_DATA_CLASSES) {
        snprintf(why, cap, "no class folder \"%.*s\" (AnnualCrop, Forest, ..., SeaLake)", (int)cl,
                 rel);
        return -1;
    }
    const char *file = slash + 1;
    if (file[0] == '.') {
        snprintf(why, cap, "a hidden file, which the dataset leaves out");
        return -1;
    }
    if (!has_jpeg_ext(file)) {
        snprintf(why, cap, "not a .jpg or .jpeg file");
        return -1;
    }
    char full[4096];
    if ((size_t)snprintf(full, sizeof full, "%s/%s", root, rel) >= sizeof full) {
        snprintf(why, cap, "path too long");
        return -1;
    }
    struct stat st;
    if (stat(full, &st) != 0) {
        snprintf(why, cap, "%s: %s", full, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(why, cap, "%s is a folder", full);
        return -1;
    }
    return 0;
}

long nn_data_find_path(const nn_dataset *ds, const char *rel)
{
    if (!ds || !rel || !ds->paths)
        return -1;
    /* nn_data_load orders paths byte-wise (class names are sorted and none is a prefix of
     * another), so try a binary search first; fall back to a scan for hand-built datasets. */
    size_t lo = 0, hi = ds->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (!ds->paths[mid])
            break;
        int c = strcmp(ds->paths[mid], rel);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < ds->n; i++)
        if (ds->paths[i] && strcmp(ds->paths[i], rel) == 0)
            return (long)i;
    return -1;
}

/* The one list parser: entries resolved in ds (indices to *out), or, with ds NULL, checked on
 * the file system under root (nn_data_check_path; *out gets placeholder indices). */
static int list_parse(const nn_dataset *ds, const char *root, const char *path, const char *text,
                      size_t len, uint32_t **out, size_t *n, cs_err *err)
{
    *out = NULL;
    *n = 0;
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        long line = 1;
        const char *bol = text;
        for (const char *p = text; p < nul; p++)
            if (*p == '\n')
                line++, bol = p + 1;
        return cs_err_set(err, CS_EINVAL, path, line, (long)(nul - bol) + 1,
                          "NUL byte in an image list (binary file?)");
    }
    /* one NUL-terminated copy of the longest line at a time */
    size_t cap = 1024, cnt = 0, line_cap = 0;
    uint32_t *idx = malloc(cap * sizeof *idx);
    char *s = NULL;
    int rc = idx ? 0 : cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
    long line = 0;
    for (const char *p = text, *end = text + len; rc == 0 && p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *b = p, *e = nl ? nl : end;
        p = nl ? nl + 1 : end;
        while (e > b && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            e--;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        if (b == e || *b == '#')
            continue;
        size_t l = (size_t)(e - b);
        if (l >= line_cap) {
            char *ns = realloc(s, l + 1);
            if (!ns) {
                rc = cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
                break;
            }
            s = ns;
            line_cap = l + 1;
        }
        memcpy(s, b, l);
        s[l] = '\0';
        char why[1200];
        long k = ds ? nn_data_find_path(ds, s) : nn_data_check_path(root, s, why, sizeof why);
        if (k < 0 && ds) {
            rc = cs_err_set(err, CS_EINVAL, path, line + 1, 1,
                            "\"%s\" is not an image of the dataset at %s", s, ds->root);
        } else if (k < 0) {
            rc = cs_err_set(err, CS_EINVAL, path, line + 1, 1,
                            "\"%s\" is not an image of the dataset at %s: %s", s, root, why);
        } else if (cnt == cap) {
            uint32_t *ni =
                cap < SIZE_MAX / 2 / sizeof *idx ? realloc(idx, 2 * cap * sizeof *idx) : NULL;
            if (!ni)
                rc = cs_err_set(err, CS_ENOMEM, path, 0, 0, "out of memory");
            else
                idx = ni, cap *= 2;
        }
        if (rc == 0)
            idx[cnt++] = (uint32_t)k;
    }
    free(s);
    if (rc == 0 && cnt == 0)
        rc = cs_err_set(err, CS_EINVAL, path, 0, 0, "lists no images");
    if (rc) {
        free(idx);
        return rc;
    }
    *out = idx;
    *n = cnt;
    return 0;
}

int nn_data_list_parse(const nn_dataset *ds, const char *path, const char *text, size_t len,
                       uint32_t **out, size_t *n, cs_err *err)
{
    return list_parse(ds, NULL, path, text, len, out, n, err);
}

static int list_file(const nn_dataset *ds, const char *root, const char *path, uint32_t **out,
                     size_t *n, cs_err *err)
{
    *out = NULL;
    *n = 0;
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = cs_read_file(path, &buf, &len, err);
    if (rc)
        return rc;
    rc = list_parse(ds, root, path, (const char *)buf, len, out, n, err);
    free(buf);
    return rc;
}

int nn_data_list_read(const nn_dataset *ds, const char *path, uint32_t **out, size_t *n,
                      cs_err *err)
{
    return list_file(ds, NULL, path, out, n, err);
}

int nn_data_list_check(const char *root, const char *path, cs_err *err)
{
    uint32_t *idx = NULL;
    size_t n = 0;
    int rc = list_file(NULL, root, path, &idx, &n, err);
    free(idx);
    return rc;
}
