/* t_cli.h - for tests that run the constsim executable: where it is, running a shell command,
 * reading a file it wrote, reading fields of a report. Header-only, like t.h. */
#ifndef T_CLI_H
#define T_CLI_H

#include "cs.h"

#include <cjson/cJSON.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The executable under test: $CONSTSIM_EXE (set by ctest), else ./constsim. */
static const char *t_exe(void)
{
    const char *e = getenv("CONSTSIM_EXE");
    return e ? e : "./constsim";
}

/* Runs cmd with the shell; its exit status, or -1 when it did not exit normally. */
static int t_sh(const char *cmd)
{
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* The whole file, NUL-terminated (cs_read_file), its length in *len (may be NULL); NULL with a
 * message on stderr when it cannot be read. */
static char *t_slurp(const char *path, size_t *len)
{
    unsigned char *d = NULL;
    size_t n = 0;
    cs_err err;
    if (cs_read_file(path, &d, &n, &err) != 0) {
        fprintf(stderr, "cannot read %s: %s\n", path, err.msg);
        return NULL;
    }
    if (len)
        *len = n;
    return (char *)d;
}

/* The JSON document in path (new, the caller deletes it); NULL, with a message, when it cannot
 * be read or parsed. */
__attribute__((unused)) static cJSON *t_load_json(const char *path)
{
    char *t = t_slurp(path, NULL);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    free(t);
    if (t && !j)
        fprintf(stderr, "%s: not JSON\n", path);
    return j;
}

/* Removes from a report what changes between runs of the same scenario: every member whose name
 * contains "wall" (wall-clock times), recursively, and machine.threads (results do not depend on
 * the thread count). */
__attribute__((unused)) static void t_strip_volatile(cJSON *o)
{
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "machine"),
                                            "threads");
    cJSON *x = o ? o->child : NULL;
    while (x) {
        cJSON *next = x->next;
        if (x->string && strstr(x->string, "wall"))
            cJSON_Delete(cJSON_DetachItemViaPointer(o, x));
        else
            t_strip_volatile(x);
        x = next;
    }
}

/* Member k of object o; NULL, with a message naming it, when missing. */
__attribute__((unused)) static const cJSON *t_get(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!x)
        fprintf(stderr, "missing field \"%s\"\n", k);
    return x;
}

/* Number member k of o; -1e300 when missing or not a number (no check can expect that). */
__attribute__((unused)) static double t_num(const cJSON *o, const char *k)
{
    const cJSON *x = t_get(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : -1e300;
}

__attribute__((unused)) static int t_by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* dst/CLASS/first n images of each class folder of the shared EuroSAT, as symbolic links. */
__attribute__((unused)) static int t_make_mini(const char *dst, int n)
{
    const char *shared = getenv("CONSTSIM_SHARED");
    char src[512], from[1100], to[1100];
    snprintf(src, sizeof src, "%s/eurosat", shared ? shared : "../shared");
    struct dirent **cls = NULL;
    int nc = scandir(src, &cls, NULL, t_by_name), made = 0;
    if (nc < 0 || mkdir(dst, 0755) != 0)
        return -1;
    for (int c = 0; c < nc; c++) {
        const char *name = cls[c]->d_name;
        snprintf(from, sizeof from, "%s/%s", src, name);
        struct dirent **files = NULL;
        int nf = name[0] == '.' ? -1 : scandir(from, &files, NULL, t_by_name);
        if (nf > 0) {
            snprintf(to, sizeof to, "%s/%s", dst, name);
            if (mkdir(to, 0755) == 0) {
                made++;
                for (int f = 0, k = 0; f < nf && k < n; f++) {
                    if (!strstr(files[f]->d_name, ".jpg"))
                        continue;
                    char a[1400], b[1400];
                    snprintf(a, sizeof a, "%s/%s", from, files[f]->d_name);
                    snprintf(b, sizeof b, "%s/%s", to, files[f]->d_name);
                    if (a[0] != '/') {
                        char cwd[600];
                        if (!getcwd(cwd, sizeof cwd))
                            return -1;
                        char abs[2100];
                        snprintf(abs, sizeof abs, "%s/%s", cwd, a);
                        k += symlink(abs, b) == 0;
                    } else {
                        k += symlink(a, b) == 0;
                    }
                }
            }
        }
        for (int f = 0; f < nf; f++)
            free(files[f]);
        free(files);
        free(cls[c]);
    }
    free(cls);
    return made == 10 ? 0 : -1;
}

#endif
