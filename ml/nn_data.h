/* nn_data.h - the EuroSAT RGB dataset in memory: decoded once, kept as uint8, normalised per batch.
 *
 * Layout: the official one, 10 class folders of 64x64 RGB JPEGs; class index = position of the
 * folder name in byte-wise alphabetical order (AnnualCrop=0 ... SeaLake=9). Images are ordered by
 * class, then by file name (byte-wise), so indices are stable across machines.
 */
#ifndef NN_DATA_H
#define NN_DATA_H

#include "cs.h"

#include <stddef.h>
#include <stdint.h>

#define NN_DATA_CLASSES 10

typedef struct nn_dataset {
    uint8_t *pixels; /* owned: n * 3 * 64 * 64, each image CHW (planar R, G, B) */
    uint8_t *labels; /* owned: n class indices */
    char **paths;    /* owned: n paths relative to root, e.g. "Forest/Forest_1.jpg" */
    size_t n;
    char root[1024];                       /* the folder it was loaded from */
    char class_names[NN_DATA_CLASSES][32]; /* folder names in class-index order */
    double load_wall_s;                    /* wall-clock seconds nn_data_load took */
} nn_dataset;

/* Finds the data folder: configured (if not NULL/empty; relative paths as given), else
 * $CONSTSIM_DATA, else data/eurosat, else ../shared/eurosat. Fails with a message that says
 * where to get EuroSAT and how to point constsim at it. */
int nn_data_find_root(const char *configured, char *out, size_t cap, cs_err *err);

/* Decodes every image under root with `threads` threads (0 = all cores). Errors name the file:
 * missing class folder, corrupt JPEG, image not 64x64 RGB. */
int nn_data_load(const char *root, int threads, nn_dataset *ds, cs_err *err);
void nn_data_free(nn_dataset *ds); /* frees the owned arrays; NULL-safe; leaves ds zeroed */

/* Stratified split, seeded: within each class a seeded shuffle (stream cs_rng_derive(seed,
 * CS_RNG_SPLIT, class)), the first round(test_fraction * class_count) (halves away from zero) go
 * to test. train/test are malloc'd index arrays (caller frees), each sorted ascending.
 * test_fraction must be in (0, 1). */
int nn_data_split(const nn_dataset *ds, double test_fraction, uint64_t seed, uint32_t **train,
                  size_t *n_train, uint32_t **test, size_t *n_test, cs_err *err);

/* Fills x (n,3,64,64) with (pixel/255 - 0.5)/0.5 and y with labels for images idx[0..n).
 * Computed in float in that order, bit-identical to torchvision ToTensor + Normalize(0.5, 0.5).
 * x or y may be NULL to skip it. */
void nn_data_batch(const nn_dataset *ds, const uint32_t *idx, size_t n, float *x, uint8_t *y);

/* Like nn_data_batch, with augmentation: each image is flipped left-right and/or top-bottom, each
 * with probability 1/2, drawn from rng (two bits per image, in batch order). Satellite chips have
 * no preferred orientation, so flipped chips are equally valid samples of their class. */
struct cs_rng;
void nn_data_batch_flip(const nn_dataset *ds, const uint32_t *idx, size_t n, float *x, uint8_t *y,
                        struct cs_rng *rng);

/* Whether rel names an image that nn_data_load(root) would load, checked on the file system
 * without decoding anything: "CLASS/FILE" with CLASS one of the class folders and FILE a
 * .jpg/.jpeg name that is not hidden, of a file that exists and is not a folder. 0, or -1 with
 * the reason in why (cap bytes), e.g. "root/Forest/x.jpg: No such file or directory". */
int nn_data_check_path(const char *root, const char *rel, char *why, size_t cap);

/* Index of the image whose relative path is rel (e.g. "Forest/Forest_1.jpg"), or -1. */
long nn_data_find_path(const nn_dataset *ds, const char *rel);

/* An image list (`constsim eval --list`): one path relative to the data folder per line (as
 * nn_data_find_path takes it), blanks and tabs around it ignored, LF or CRLF line ends; blank
 * lines and lines starting with '#' are skipped. *out receives the images' indices in list order
 * (malloc'd, caller frees; repeats kept), *n their count. Errors name path and the entry's
 * 1-based line (blank and comment lines counted): a path that is not an image of ds, a NUL byte,
 * a list with no images (CS_EINVAL), out of memory (CS_ENOMEM). text need not be NUL-terminated.
 * On failure *out is NULL and *n 0. */
int nn_data_list_parse(const nn_dataset *ds, const char *path, const char *text, size_t len,
                       uint32_t **out, size_t *n, cs_err *err);
/* nn_data_list_parse of the file at path. */
int nn_data_list_read(const nn_dataset *ds, const char *path, uint32_t **out, size_t *n,
                      cs_err *err);
/* The same list checked before any decoding: every entry an image file under root
 * (nn_data_check_path), the same errors (the reason appended). */
int nn_data_list_check(const char *root, const char *path, cs_err *err);

#endif
