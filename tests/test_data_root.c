/* test_data_root.c - nn_data_find_root: lookup order configured > $CONSTSIM_DATA > data/eurosat >
 * ../shared/eurosat (relative to the working directory), named folders that do not exist are
 * errors, and the not-found message tells where to get EuroSAT. Runs in a temporary folder.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "t.h"
#include "nn_data.h"

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const not_found =
    "EuroSAT dataset not found; tried: --data / dataset.path (not given), $CONSTSIM_DATA (not "
    "set), data/eurosat, ../shared/eurosat (both relative to the working directory). Get EuroSAT "
    "RGB (Helber et al. 2019): the archive EuroSAT.zip (it unpacks to a folder '2750', also "
    "distributed as EuroSAT_RGB) with 27,000 64x64 JPEGs in 10 class folders (AnnualCrop ... "
    "SeaLake). Point constsim at the folder holding the class folders with --data DIR, "
    "CONSTSIM_DATA=DIR, dataset.path in the scenario, or put it at data/eurosat";

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mkdir %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* Expects success with out == want. */
static void expect_root(const char *configured, const char *want)
{
    char out[1024];
    cs_err err;
    cs_err_clear(&err);
    int rc = nn_data_find_root(configured, out, sizeof out, &err);
    if (rc)
        cs_err_print(&err, stderr);
    T_EQ(rc, 0);
    T_STREQ(out, want);
}

static void expect_fail(const char *configured, const char *path, const char *msg)
{
    char out[1024];
    cs_err err;
    cs_err_clear(&err);
    memcpy(out, "junk", 5);
    int rc = nn_data_find_root(configured, out, sizeof out, &err);
    T_EQ(rc, CS_EINVAL);
    T_EQ(err.code, CS_EINVAL);
    T_STREQ(err.path, path);
    T_STREQ(err.msg, msg);
    T_STREQ(out, "");
}

int main(void)
{
    char base[512], work[600], p[700], env_dir[700], conf_dir[700], file[700];
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/constsim-root-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(base)) {
        fprintf(stderr, "mkdtemp %s: %s\n", base, strerror(errno));
        return 1;
    }
    snprintf(work, sizeof work, "%s/work", base);
    snprintf(env_dir, sizeof env_dir, "%s/from-env", base);
    snprintf(conf_dir, sizeof conf_dir, "%s/configured", base);
    snprintf(file, sizeof file, "%s/a-file", base);
    make_dir(work);
    make_dir(env_dir);
    make_dir(conf_dir);
    FILE *f = fopen(file, "w");
    T_TRUE(f != NULL && fclose(f) == 0);
    if (chdir(work) != 0) {
        fprintf(stderr, "chdir %s: %s\n", work, strerror(errno));
        return 1;
    }
    unsetenv("CONSTSIM_DATA");

    /* Nothing anywhere: the message lists the places and says where to get the data. */
    expect_fail(NULL, "", not_found);
    expect_fail("", "", not_found); /* an empty configured path counts as not given */
    T_TRUE(strlen(not_found) < sizeof(((cs_err *)0)->msg));
    setenv("CONSTSIM_DATA", "", 1); /* empty counts as not set */
    expect_fail(NULL, "", not_found);
    unsetenv("CONSTSIM_DATA");

    /* 4: ../shared/eurosat. A file at data/eurosat is not a folder: skipped. */
    snprintf(p, sizeof p, "%s/shared", base);
    make_dir(p);
    snprintf(p, sizeof p, "%s/shared/eurosat", base);
    make_dir(p);
    make_dir("data");
    f = fopen("data/eurosat", "w");
    T_TRUE(f != NULL && fclose(f) == 0);
    expect_root(NULL, "../shared/eurosat");
    T_EQ(remove("data/eurosat"), 0);

    /* 3: data/eurosat wins over ../shared/eurosat. */
    make_dir("data/eurosat");
    expect_root(NULL, "data/eurosat");
    expect_root("", "data/eurosat");

    /* 2: $CONSTSIM_DATA wins over the defaults. */
    setenv("CONSTSIM_DATA", env_dir, 1);
    expect_root(NULL, env_dir);

    /* 1: the configured path wins over everything; relative paths are kept as given. */
    expect_root(conf_dir, conf_dir);
    expect_root("../shared/eurosat", "../shared/eurosat");

    /* A configured folder that does not exist is an error naming it, even though $CONSTSIM_DATA
     * and the defaults exist: no silent fall-through. */
    snprintf(p, sizeof p, "%s/nowhere", base);
    expect_fail(p, p,
                "dataset folder given by the configuration (--data / dataset.path) does "
                "not exist");
    expect_fail(file, file,
                "dataset folder given by the configuration (--data / dataset.path) is "
                "not a folder");

    /* Same for $CONSTSIM_DATA. */
    setenv("CONSTSIM_DATA", p, 1);
    expect_fail(NULL, p, "dataset folder given by $CONSTSIM_DATA does not exist");
    expect_root(conf_dir, conf_dir); /* the configured path is looked at first */
    setenv("CONSTSIM_DATA", file, 1);
    expect_fail(NULL, file, "dataset folder given by $CONSTSIM_DATA is not a folder");
    unsetenv("CONSTSIM_DATA");

    /* Output too small. */
    {
        char out[5];
        cs_err err;
        cs_err_clear(&err);
        T_EQ(nn_data_find_root(NULL, out, sizeof out, &err), CS_EINVAL);
        T_STREQ(err.path, "data/eurosat");
        T_STREQ(err.msg, "dataset path is too long (12 bytes, at most 4)");
    }

    if (chdir("/") != 0)
        T_TRUE(0);
    nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return t_done();
}
