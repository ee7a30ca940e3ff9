/* test_sweep_kill.c - a sweep killed with SIGKILL mid-run and started again loses
 * nothing and duplicates nothing: its results.csv lists every point exactly once,
 * byte-identical to an uninterrupted run's, and no temporary file is left behind. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sweep_internal.h"
#include "testutil.h"

#define KILL_CFG FLIGRU_SOURCE_DIR "/tests/sweep/kill.yaml"

static int count_json(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".json") && !strstr(e->d_name, "failed") && !strstr(e->d_name, "tmp"))
            ++n;
    }
    closedir(d);
    return n;
}

static pid_t start_sweep(const char *out, const char *cache)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(126);
        execl(FLIGRU_CLI, "fligru", "sweep", KILL_CFG, "-j", "1", "--threads", "1", "--out", out, "--cache", cache,
              "--progress", "quiet", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The rows of results.csv. */
static int rows(const char *csv, char lines[][1024], int max)
{
    FILE *fp = fopen(csv, "r");
    cr_assert(fp != NULL, "%s missing", csv);
    char buf[1024];
    int n = 0;
    cr_assert(fgets(buf, sizeof buf, fp) != NULL);
    while (fgets(buf, sizeof buf, fp) && n < max) {
        snprintf(lines[n++], 1024, "%s", buf);
    }
    fclose(fp);
    return n;
}

Test(sweep_kill, sigkill_then_rerun_loses_and_duplicates_nothing, .timeout = 240)
{
    char *tmp = tu_tmpdir("sweep-kill"), a_out[1024], a_cache[1024], b_out[1024], b_cache[1024], pts[2048];
    snprintf(a_out, sizeof a_out, "%s/a", tmp);
    snprintf(a_cache, sizeof a_cache, "%s/a-cache", tmp);
    snprintf(b_out, sizeof b_out, "%s/b", tmp);
    snprintf(b_cache, sizeof b_cache, "%s/b-cache", tmp);
    snprintf(pts, sizeof pts, "%s/kill/points", a_out);

    /* A: killed once at least two points are done */
    pid_t pid = start_sweep(a_out, a_cache);
    int done = 0;
    for (int i = 0; i < 6000 && (done = count_json(pts)) < 2; ++i) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    const int killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    cr_assert(eq(int, killed, 1), "the sweep ended before the kill");
    done = count_json(pts);
    cr_assert(ge(int, done, 2));
    cr_assert(lt(int, done, 8), "killed mid-sweep: %d of 8 points done", done);

    /* A again, to the end */
    char *err = NULL;
    int rc = tu_run_cli(NULL, &err, "sweep", KILL_CFG, "-j", "2", "--out", a_out, "--cache", a_cache, "--progress",
                        "lines", NULL);
    cr_assert(eq(int, rc, 0), "rerun: %s", err);
    free(err);
    cr_expect(eq(int, count_json(pts), 8));
    cr_expect(eq(int, tu_count_tmp(pts), 0), "no temporary left in points/");

    /* B: uninterrupted */
    err = NULL;
    rc = tu_run_cli(NULL, &err, "sweep", KILL_CFG, "--out", b_out, "--cache", b_cache, "--progress", "quiet", NULL);
    cr_assert(eq(int, rc, 0), "uninterrupted: %s", err);
    free(err);

    static char ra[16][1024], rb[16][1024];
    char csv[2048];
    snprintf(csv, sizeof csv, "%s/kill/results.csv", a_out);
    int na = rows(csv, ra, 16);
    snprintf(csv, sizeof csv, "%s/kill/results.csv", b_out);
    int nb = rows(csv, rb, 16);
    cr_assert(eq(int, na, 8));
    cr_assert(eq(int, nb, 8));
    for (int i = 0; i < 8; ++i) {
        char idx[32];
        snprintf(idx, sizeof idx, "kill,%d,", i);
        cr_expect(eq(int, strncmp(ra[i], idx, strlen(idx)), 0), "row %d is point %d: %s", i, i, ra[i]);
        cr_expect(eq(str, ra[i], rb[i]), "point %d differs after the kill", i);
    }
    free(tmp);
}
