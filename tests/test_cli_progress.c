/* test_cli_progress.c - the progress of long contact plans on stderr (cli_plan_progress).
 *
 *   test_cli_progress unit   the printer: nothing for quick plans or at the end, a line per
 *                            interval when stderr is not a terminal, one redrawn line on a
 *                            terminal, erased at the end.
 *   test_cli_progress e2e    `constsim contacts` and `constsim run` show it for a plan that
 *                            takes longer than the first interval (walker-1584, one thread).
 */
#include "cli.h"
#include "t.h"
#include "t_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Count of non-overlapping occurrences of needle in hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + strlen(needle), needle))
        n++;
    return n;
}

static void test_printer(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    T_TRUE(f != NULL);
    if (!f)
        return;
    /* Not a terminal: a line for every call once the intervals are 0, none at the end. */
    cli_plan_progress p;
    cli_plan_progress_init(&p, "contacts");
    p.out = f;
    p.tty = false;
    p.after_s = 0;
    p.every_s = 0;
    cli_plan_progress_show(&p, 10, 40);
    cli_plan_progress_show(&p, 20, 40);
    cli_plan_progress_show(&p, 40, 40);
    cli_plan_progress_end(&p);
    fflush(f);
    T_EQ(count(text, "\n"), 2);
    T_CONTAINS(text, "contacts: contact plan: 10/40 satellite-station pairs (25%), ");
    T_CONTAINS(text, "contacts: contact plan: 20/40 satellite-station pairs (50%), ");
    T_CONTAINS(text, " left\n");
    T_TRUE(strchr(text, '\r') == NULL);

    /* The default intervals: a plan shorter than 2 s says nothing. */
    size_t before = len;
    cli_plan_progress_init(&p, "run");
    p.out = f;
    p.tty = false;
    cli_plan_progress_show(&p, 1, 40);
    cli_plan_progress_show(&p, 39, 40);
    cli_plan_progress_end(&p);
    fflush(f);
    T_EQ(len, before);

    /* Past the first interval, a second line only after every_s more. */
    cli_plan_progress_init(&p, "run");
    p.out = f;
    p.tty = false;
    p.after_s = 0;
    cli_plan_progress_show(&p, 1, 40);
    cli_plan_progress_show(&p, 2, 40);
    cli_plan_progress_show(&p, 3, 40);
    fflush(f);
    T_EQ(count(text + before, "\n"), 1);
    T_CONTAINS(text + before, "run: contact plan: 1/40 ");

    /* A terminal: one line redrawn in place, erased by the end. */
    before = len;
    cli_plan_progress_init(&p, "run");
    p.out = f;
    p.tty = true;
    p.after_s = 0;
    cli_plan_progress_show(&p, 5, 10);
    T_TRUE(p.live);
    cli_plan_progress_end(&p);
    T_TRUE(!p.live);
    fflush(f);
    T_STREQ(text + len - 4, "\r\033[K");
    T_TRUE(strncmp(text + before, "\r\033[Krun: contact plan: 5/10 ", 27) == 0);
    T_EQ(count(text + before, "\n"), 0);
    fclose(f);
    free(text);
}

/* The plan's search time a command printed on stderr: "computed in X s" (contacts) or the
 * "contacts: ... (X s)" line (run); -1 when not found. */
static double plan_seconds(const char *err)
{
    const char *c = strstr(err, "computed in ");
    if (c)
        return strtod(c + 12, NULL);
    const char *l = strstr(err, "run: contacts: ");
    const char *e = l ? strchr(l, '\n') : NULL;
    const char *o = l ? strchr(l, '(') : NULL;
    return o && (!e || o < e) ? strtod(o + 1, NULL) : -1;
}

/* The commands wire it in: a plan of several seconds (walker-1584's 1,584 satellites and 100
 * stations over 5 days on one thread: about 4 s of search on the 2-core machine) shows at least
 * one progress line on stderr when its search took longer than the first interval (2 s; 2.5 s
 * here for the margin); a faster machine is told. */
static void test_commands(void)
{
    const char *cmds[] = {
        "contacts scenarios/walker-1584.yaml --threads 1 --set duration=5d",
        /* no dataset needed: a dataset path that does not exist stops the run
         * after the plan */
        "run scenarios/walker-1584.yaml --threads 1 --no-models --set duration=5d "
        "--set dataset.path=/nonexistent/eurosat"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char cmd[600], out[64];
        snprintf(out, sizeof out, "/tmp/cs-cli-progress-%d.txt", (int)getpid());
        snprintf(cmd, sizeof cmd, "timeout 300 %s %s >/dev/null 2>%s", t_exe(), cmds[i], out);
        double t0 = cs_wall_s();
        int rc = t_sh(cmd);
        double took = cs_wall_s() - t0;
        char *err = t_slurp(out, NULL);
        unlink(out);
        T_EQ(rc, i == 0 ? 0 : 2);
        const char *want = i == 0 ? "contacts: contact plan: " : "run: contact plan: ";
        const double plan_s = err ? plan_seconds(err) : -1;
        T_TRUE(!err || plan_s >= 0); /* the command printed its plan's time */
        if (err && plan_s > 2.5) {
            T_CONTAINS(err, want);
            T_CONTAINS(err, " satellite-station pairs (");
        } else if (err) {
            fprintf(stderr,
                    "%s: plan searched in %.1f s (command %.1f s): too quick for a progress line\n",
                    cmds[i], plan_s, took);
        }
        free(err);
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "unit") == 0) {
        test_printer();
        return t_done();
    }
    if (argc == 2 && strcmp(argv[1], "e2e") == 0) {
        test_commands();
        return t_done();
    }
    fprintf(stderr, "usage: test_cli_progress unit | e2e\n");
    return 2;
}
