/* test_cli_outputs.c - every command that writes files finds an output it cannot write before
 * its expensive work (contact plan, dataset decoding, training): exit code 2 and a message that
 * names the output path and says why. `eval --list` checks the list before decoding.
 *
 * The unwritable outputs lie under a regular file (BLOCK/x: "a file of that name exists"),
 * which no permission bit can make writable, so the checks hold when the tests run as root.
 * The dataset is a fake EuroSAT folder whose JPEGs are garbage: decoding it fails at once with a
 * message naming AnnualCrop/x.jpg, so a command that decodes before checking its outputs or its
 * list reports the JPEG instead of the output, deterministically and in milliseconds. */
#include "cs.h"
#include "nn.h"
#include "nn_codec.h"
#include "t.h"
#include "t_cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/cs-cli-outputs-XXXXXX";
static char block[300], fake[300], model[300];
static char err_text[8192];

/* Runs "constsim ARGS" (stdout discarded); its exit code, stderr in err_text, wall seconds in
 * *wall_s (may be NULL). */
static int run(const char *args, double *wall_s)
{
    char cmd[4096], out[400];
    snprintf(out, sizeof out, "%s/stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "timeout 120 %s %s >/dev/null 2>%s", t_exe(), args, out);
    double t0 = cs_wall_s();
    int rc = t_sh(cmd);
    if (wall_s)
        *wall_s = cs_wall_s() - t0;
    char *txt = t_slurp(out, NULL);
    snprintf(err_text, sizeof err_text, "%s", txt ? txt : "");
    free(txt);
    unlink(out);
    return rc;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Whether some line of text starts with prefix and holds needle after it. */
static bool line_with(const char *text, const char *prefix, const char *needle)
{
    for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        const char *at = strstr(l, needle);
        if (strncmp(l, prefix, strlen(prefix)) == 0 && at && at < l + n)
            return true;
    }
    return false;
}

/* An output that cannot be written: exit 2 and an error line that begins with the output (for
 * a folder, with the file in it that was probed) and gives the reason. */
static void expect_refused(const char *args, const char *out, const char *reason)
{
    int rc = run(args, NULL);
    bool named = line_with(err_text, out, ": error: cannot write this output: ");
    if (rc != 2 || !named || !strstr(err_text, reason))
        fprintf(stderr, "constsim %s: exit %d: %s", args, rc, err_text);
    T_EQ(rc, 2);
    T_TRUE(named);
    T_CONTAINS(err_text, reason);
}

static void test_run(void)
{
    char args[2048], out[500];
    /* --no-models: only the report is written; refused before the plan and the dataset. */
    snprintf(out, sizeof out, "%s/r/report.json", block);
    snprintf(args, sizeof args,
             "run tests/data/sim/e2e.yaml --no-models -o %s --set dataset.path=%s --threads 1", out,
             fake);
    double wall = 0;
    int rc = run(args, &wall);
    if (rc != 2)
        fprintf(stderr, "constsim %s: exit %d: %s", args, rc, err_text);
    T_EQ(rc, 2);
    char want[1200];
    snprintf(want, sizeof want,
             "%s: error: cannot write this output: %s: cannot create directory: "
             "a file of that name exists",
             out, block);
    T_CONTAINS(err_text, want);
    T_TRUE(strstr(err_text, "run: contacts:") == NULL); /* no plan was built */
    T_TRUE(strstr(err_text, "x.jpg") == NULL);          /* nothing was decoded */
    /* A scenario load and a probe: milliseconds (the plan, the decode and the training that
     * came first before took seconds). One second leaves room for a loaded machine. */
    if (wall >= 1.0)
        fprintf(stderr, "run into an unwritable folder took %.3f s\n", wall);
    T_TRUE(wall < 1.0);

    /* The report's folder is fine, the model folder (DIR/r for DIR/r.json) is a file. */
    char ok_dir[300], models_as_file[400];
    snprintf(ok_dir, sizeof ok_dir, "%s/ok", dir);
    T_EQ(mkdir(ok_dir, 0755), 0);
    snprintf(models_as_file, sizeof models_as_file, "%s/r", ok_dir);
    T_EQ(write_text(models_as_file, "not a folder\n"), 0);
    snprintf(out, sizeof out, "%s/r.json", ok_dir);
    snprintf(args, sizeof args, "run tests/data/sim/e2e.yaml -o %s --set dataset.path=%s", out,
             fake);
    expect_refused(args, models_as_file, "a file of that name exists");
    T_TRUE(strstr(err_text, "run: contacts:") == NULL);
    /* A folder where the report file should be. */
    snprintf(args, sizeof args,
             "run tests/data/sim/e2e.yaml --no-models -o %s --set dataset.path=%s", ok_dir, fake);
    expect_refused(args, ok_dir, "is a folder");
}

static void test_train(void)
{
    char args[2048], out[400];
    snprintf(out, sizeof out, "%s/m.safetensors", block);
    snprintf(args, sizeof args, "train --data %s --epochs 1 -o %s", fake, out);
    expect_refused(args, out, "a file of that name exists");
    T_TRUE(strstr(err_text, "x.jpg") == NULL);
    T_TRUE(strstr(err_text, "decoded in") == NULL);
}

static void test_quantize(void)
{
    char args[2048], out[400];
    snprintf(out, sizeof out, "%s/q", block);
    snprintf(args, sizeof args, "quantize %s --data %s -o %s", model, fake, out);
    expect_refused(args, out, "a file of that name exists");
    T_TRUE(strstr(err_text, "x.jpg") == NULL);
}

static void test_contacts_sweep(void)
{
    char args[2048], out[400];
    snprintf(out, sizeof out, "%s/c.csv", block);
    snprintf(args, sizeof args, "contacts tests/data/sim/e2e.yaml -o %s", out);
    expect_refused(args, out, "a file of that name exists");

    snprintf(out, sizeof out, "%s/sw", block);
    snprintf(args, sizeof args,
             "sweep tests/data/sim/e2e.yaml --set seed=1,2 --set dataset.path=%s -o %s -q", fake,
             out);
    expect_refused(args, out, "a file of that name exists");
    T_TRUE(strstr(err_text, "x.jpg") == NULL);
}

static void test_plot(void)
{
    char args[2048], out[400];
    snprintf(out, sizeof out, "%s/p.png", block);
    snprintf(args, sizeof args, "plot tests/data/plot/report.json -o %s", out);
    expect_refused(args, out, "a file of that name exists");
    snprintf(out, sizeof out, "%s/p.gp", block);
    snprintf(args, sizeof args, "plot tests/data/plot/report.json -o %s/p.png --script %s", dir,
             out);
    expect_refused(args, out, "a file of that name exists");
}

static void test_viz(void)
{
    if (run("viz --help", NULL) != 0)
        return; /* built without the view */
    char args[2048], out[400];
    snprintf(out, sizeof out, "%s/v.png", block);
    snprintf(args, sizeof args,
             "viz tests/data/sim/viz.yaml --orbits-only --headless --at +1h --screenshot %s -q",
             out);
    expect_refused(args, out, "a file of that name exists");
    snprintf(out, sizeof out, "%s/v.json", block);
    snprintf(args, sizeof args,
             "viz tests/data/sim/viz.yaml --orbits-only --headless --at +1h --frame-json %s -q",
             out);
    expect_refused(args, out, "a file of that name exists");
    /* Live and headless with -o: the report (and the model folder beside it). */
    snprintf(out, sizeof out, "%s/live.json", block);
    snprintf(args, sizeof args,
             "viz tests/data/sim/viz.yaml --headless --at +1h --frame-json %s/ok.json -o %s "
             "--set dataset.path=%s -q",
             dir, out, fake);
    expect_refused(args, out, "a file of that name exists");
    T_TRUE(strstr(err_text, "x.jpg") == NULL);
}

/* eval --list: a list that is missing, empty or names something that is not an image of the
 * dataset fails before the dataset is decoded, naming FILE:LINE and the entry. */
static void test_eval_list(void)
{
    char list[400], args[2048], want[1200];
    snprintf(list, sizeof list, "%s/list.txt", dir);

    /* Missing. */
    snprintf(args, sizeof args, "eval %s --data %s --list %s", model, fake, list);
    T_EQ(run(args, NULL), 2);
    snprintf(want, sizeof want, "%s: error: cannot open: No such file or directory", list);
    T_CONTAINS(err_text, want);
    T_TRUE(strstr(err_text, "x.jpg") == NULL);

    /* Empty, and only comments and blank lines. */
    const char *empties[] = {"", "# nothing\n\n   \n"};
    for (size_t k = 0; k < 2; k++) {
        T_EQ(write_text(list, empties[k]), 0);
        T_EQ(run(args, NULL), 2);
        snprintf(want, sizeof want, "%s: error: lists no images", list);
        T_CONTAINS(err_text, want);
    }

    /* A bad entry on line 3 (a comment and a good entry before it). */
    struct {
        const char *entry, *why;
    } bad[] = {
        {"Forest/none.jpg", "No such file or directory"},
        {"Forest", "not CLASS/FILE"},
        {"Forest/sub/x.jpg", "not CLASS/FILE"},
        {"../data/Forest/x.jpg", "not CLASS/FILE"},
        {"Lake/x.jpg", "no class folder \"Lake\""},
        {"Forest/notes.txt", "not a .jpg or .jpeg file"},
        {"Forest/.hidden.jpg", "hidden"},
        {"Forest/dir.jpg", "is a folder"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char text[600];
        snprintf(text, sizeof text, "# subset\nForest/x.jpg\n  %s  \nRiver/x.jpg\n", bad[k].entry);
        T_EQ(write_text(list, text), 0);
        int rc = run(args, NULL);
        snprintf(want, sizeof want, "%s:3:", list);
        if (rc != 2 || !strstr(err_text, want) || !strstr(err_text, bad[k].why))
            fprintf(stderr, "eval --list with \"%s\": exit %d: %s", bad[k].entry, rc, err_text);
        T_EQ(rc, 2);
        T_CONTAINS(err_text, want);
        snprintf(want, sizeof want, "\"%s\" is not an image of the dataset at %s", bad[k].entry,
                 fake);
        T_CONTAINS(err_text, want);
        T_CONTAINS(err_text, bad[k].why);
        T_TRUE(strstr(err_text, "AnnualCrop/x.jpg") == NULL);
    }

    /* A good list passes the check and the dataset is decoded: here the fake JPEGs fail. */
    T_EQ(write_text(list, "# subset\nForest/x.jpg\nRiver/x.jpg\n"), 0);
    T_EQ(run(args, NULL), 2);
    T_CONTAINS(err_text, "AnnualCrop/x.jpg");
}

int main(void)
{
    T_TRUE(mkdtemp(dir) != NULL);
    snprintf(block, sizeof block, "%s/block", dir);
    T_EQ(write_text(block, "a regular file where a folder would be\n"), 0);

    /* The fake dataset: ten class folders, each with one JPEG that is not one. */
    static const char *const classes[] = {
        "AnnualCrop", "Forest",        "HerbaceousVegetation", "Highway", "Industrial",
        "Pasture",    "PermanentCrop", "Residential",          "River",   "SeaLake"};
    snprintf(fake, sizeof fake, "%s/data", dir);
    T_EQ(mkdir(fake, 0755), 0);
    for (size_t c = 0; c < 10; c++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", fake, classes[c]);
        T_EQ(mkdir(p, 0755), 0);
        snprintf(p, sizeof p, "%s/%s/x.jpg", fake, classes[c]);
        T_EQ(write_text(p, "not a JPEG\n"), 0);
    }
    char p[600];
    snprintf(p, sizeof p, "%s/Forest/notes.txt", fake);
    T_EQ(write_text(p, "text\n"), 0);
    snprintf(p, sizeof p, "%s/Forest/.hidden.jpg", fake);
    T_EQ(write_text(p, "hidden\n"), 0);
    snprintf(p, sizeof p, "%s/Forest/dir.jpg", fake);
    T_EQ(mkdir(p, 0755), 0);

    /* A real FP32 model file for eval and quantize. */
    cs_err e;
    cs_err_clear(&e);
    snprintf(model, sizeof model, "%s/model.safetensors", dir);
    nn_model *m = nn_model_create(1, &e);
    T_TRUE(m != NULL);
    if (m) {
        nn_model_init(m, 1);
        T_EQ(nn_model_save(m, model, NN_PREC_FP32, &e), 0);
        nn_model_destroy(m);
    }

    test_run();
    test_train();
    test_quantize();
    test_contacts_sweep();
    test_plot();
    test_viz();
    test_eval_list();

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    T_EQ(t_sh(cmd), 0);
    return t_done();
}
