/* test_sweep_slurm.c - `fligru sweep --executor slurm` on a real Slurm: the test
 * starts munged, slurmctld and slurmd on this host with a generated slurm.conf
 * (tests/sweep/slurm-test.sh), submits the sweep as a job array, waits for it,
 * collects, and checks every point's row. It is skipped, saying why, only when
 * Slurm is not installed or slurmctld cannot start on the machine. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "sweep_internal.h"
#include "testutil.h"

Test(sweep_slurm, job_array_on_a_single_node_slurm, .timeout = 300)
{
    char *tmp = tu_tmpdir("sweep-slurm"), cmd[8192], log[2048];
    snprintf(log, sizeof log, "%s/test.log", tmp);
    snprintf(cmd, sizeof cmd, "bash '%s/tests/sweep/slurm-test.sh' '%s' '%s/tests/sweep/slurm.yaml' '%s/w' > '%s' 2>&1",
             FLIGRU_SOURCE_DIR, FLIGRU_CLI, FLIGRU_SOURCE_DIR, tmp, log);
    int st = system(cmd);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    size_t n = 0;
    char *out = (char *)tu_read_all(log, &n);
    if (rc == 77) {
        char *nl = out ? strstr(out, "SKIP: ") : NULL;
        cr_skip_test("%s", nl ? nl : "slurm unavailable");
    }
    cr_assert(eq(int, rc, 0), "slurm-test.sh: exit %d\n%s", rc, out ? out : "");
    cr_expect(strstr(out, "4 of 4 points done, 0 failed, 0 missing") != NULL, "%s", out);

    char csv[2048];
    snprintf(csv, sizeof csv, "%s/w/out/slurm/results.csv", tmp);
    FILE *fp = fopen(csv, "r");
    cr_assert(fp != NULL, "%s missing", csv);
    char line[4096];
    cr_assert(fgets(line, sizeof line, fp) != NULL);
    line[strcspn(line, "\n")] = 0;
    cr_expect(eq(str, line, (char *)SWEEP_CSV_HEADER));
    int rows = 0;
    while (fgets(line, sizeof line, fp)) {
        char expect[32];
        snprintf(expect, sizeof expect, "slurm,%d,seq2seqlite,", rows);
        cr_expect(eq(int, strncmp(line, expect, strlen(expect)), 0), "row %d: %s", rows, line);
        /* column 21 (rmse) holds a real number */
        char *f = line;
        for (int k = 0; k < 20 && f; ++k) f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL;
        cr_assert(f != NULL);
        double rmse = atof(f);
        cr_expect(rmse > 0 && rmse < 0.5, "row %d rmse %g", rows, rmse);
        cr_expect(strstr(line, ",ok\n") != NULL, "row %d status: %s", rows, line);
        ++rows;
    }
    fclose(fp);
    cr_expect(eq(int, rows, 4));
    free(out);
    free(tmp);
}
