/* calibrate.c - refit the resource model's coefficients to yosys runs.
 *
 *   build-hw/calibrate [--csv FILE] [--model FILE] [--report FILE] [--check]
 *
 * Reads the xc7 rows of results/hw-calibration/synth.csv (scripts/synth.sh via
 * bench/hw/synth-calibration.sh), builds each row's design point from its
 * fligru_top parameters, and fits per resource the coefficients of
 * fl_hw_features by least squares on the relative error (every row weighs the
 * same whatever its size), keeping the slopes non-negative; the block-RAM
 * threshold is chosen from a short list by the same criterion. Writes
 * configs/hw-model.yaml (the one home of the coefficients; rebuild to embed
 * it) and results/hw-calibration/report.md: per-row figures, mean and max
 * relative error per resource, and the leave-one-out error (each row
 * predicted by a fit without it). --check fits and reports without writing
 * the model file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru_hw/hwmodel.h"

#define MAX_ROWS 256

typedef struct {
    char name[64], params[512];
    double y[FL_HW_NRES];
    double seconds;
    fl_hw_point p;
} row_t;

static const char *const res_name[FL_HW_NRES] = {"LUT", "FF", "DSP", "BRAM18", "LUTRAM"};

/* One CSV field (double quotes allowed) into out; returns the rest or NULL. */
static const char *field(const char *s, char *out, size_t len)
{
    size_t n = 0;
    int q = *s == '"';
    if (q) ++s;
    while (*s && (q ? *s != '"' : (*s != ',' && *s != '\n' && *s != '\r'))) {
        if (n + 1 < len) out[n++] = *s;
        ++s;
    }
    out[n] = 0;
    if (q && *s == '"') ++s;
    if (*s == ',') return s + 1;
    return *s ? NULL : s;
}

static int load_rows(const char *path, row_t *rows, int max)
{
    FILE *fp = fopen(path, "r");
    if (!fp) { fprintf(stderr, "calibrate: %s: cannot open\n", path); return -1; }
    char line[2048], cell[16][512];
    int n = 0, lineno = 0, col[16], ncol = 0;
    while (fgets(line, sizeof line, fp)) {
        ++lineno;
        const char *s = line;
        int k = 0;
        while (s && *s && *s != '\n' && k < 16) s = field(s, cell[k++], sizeof cell[0]);
        if (lineno == 1) {
            static const char *const want[] = {"config", "family", "params", "lut", "ff", "dsp",
                                               "bram18", "lutram", "yosys_seconds"};
            for (int w = 0; w < 9; ++w) {
                col[w] = -1;
                for (int i = 0; i < k; ++i) if (!strcmp(cell[i], want[w])) col[w] = i;
                if (col[w] < 0) {
                    fprintf(stderr, "calibrate: %s:1: no column '%s'\n", path, want[w]);
                    fclose(fp);
                    return -1;
                }
            }
            ncol = k;
            continue;
        }
        if (k != ncol) { fprintf(stderr, "calibrate: %s:%d: %d fields, header has %d\n", path, lineno, k, ncol); fclose(fp); return -1; }
        if (strcmp(cell[col[1]], "xc7")) continue;
        if (n == max) break;
        row_t *r = &rows[n];
        snprintf(r->name, sizeof r->name, "%s", cell[col[0]]);
        snprintf(r->params, sizeof r->params, "%s", cell[col[2]]);
        for (int i = 0; i < FL_HW_NRES; ++i) r->y[i] = atof(cell[col[3 + i]]);
        r->seconds = atof(cell[col[8]]);
        fl_hw_point_default(&r->p);
        if (fl_hw_point_from_params(r->params, &r->p) || fl_hw_point_check(&r->p)) {
            fprintf(stderr, "calibrate: %s:%d: %s\n", path, lineno, fl_error());
            fclose(fp);
            return -1;
        }
        ++n;
    }
    fclose(fp);
    return n;
}

/* Solves the k x k system a x = b in place (partial pivoting); 0 when singular. */
static int solve(int k, double a[FL_HW_NFEAT][FL_HW_NFEAT], double b[FL_HW_NFEAT], double x[FL_HW_NFEAT])
{
    for (int c = 0; c < k; ++c) {
        int piv = c;
        for (int r = c + 1; r < k; ++r) if (fabs(a[r][c]) > fabs(a[piv][c])) piv = r;
        if (fabs(a[piv][c]) < 1e-12) return 0;
        for (int j = 0; j < k; ++j) { double t = a[c][j]; a[c][j] = a[piv][j]; a[piv][j] = t; }
        double t = b[c]; b[c] = b[piv]; b[piv] = t;
        for (int r = c + 1; r < k; ++r) {
            double m = a[r][c] / a[c][c];
            for (int j = c; j < k; ++j) a[r][j] -= m * a[c][j];
            b[r] -= m * b[c];
        }
    }
    for (int c = k - 1; c >= 0; --c) {
        double s = b[c];
        for (int j = c + 1; j < k; ++j) s -= a[c][j] * x[j];
        x[c] = s / a[c][c];
    }
    return 1;
}

/* Weighted least squares of resource res over rows (skipping row `skip`):
 * minimise sum ((f.c - y) / y)^2; features that are zero in every row get 0;
 * a negative slope (i >= 1) is dropped and the rest refitted. */
static void fit(const row_t *rows, int n, int skip, int res, int min_bits, double coef[FL_HW_NFEAT])
{
    double f[MAX_ROWS][FL_HW_NFEAT];
    int use[FL_HW_NFEAT];
    for (int i = 0; i < n; ++i) {
        double all[FL_HW_NRES][FL_HW_NFEAT];
        fl_hw_features(&rows[i].p, min_bits, all);
        memcpy(f[i], all[res], sizeof f[i]);
    }
    for (int j = 0; j < FL_HW_NFEAT; ++j) {
        use[j] = 0;
        for (int i = 0; i < n; ++i) if (i != skip && f[i][j] != 0) use[j] = 1;
    }
    for (;;) {
        int idx[FL_HW_NFEAT], k = 0;
        for (int j = 0; j < FL_HW_NFEAT; ++j) if (use[j]) idx[k++] = j;
        double a[FL_HW_NFEAT][FL_HW_NFEAT] = {{0}}, b[FL_HW_NFEAT] = {0}, x[FL_HW_NFEAT] = {0};
        for (int i = 0; i < n; ++i) {
            if (i == skip) continue;
            double w = 1.0 / fmax(rows[i].y[res], 1.0);
            for (int r = 0; r < k; ++r) {
                for (int c = 0; c < k; ++c) a[r][c] += w * w * f[i][idx[r]] * f[i][idx[c]];
                b[r] += w * w * f[i][idx[r]] * rows[i].y[res];
            }
        }
        for (int r = 0; r < k; ++r) a[r][r] += 1e-9 * (a[r][r] + 1e-12);   /* tiny ridge */
        memset(coef, 0, sizeof(double) * FL_HW_NFEAT);
        if (k == 0 || !solve(k, a, b, x)) {
            /* singular (too few rows): drop the last feature in use */
            if (k == 0) return;
            use[idx[k - 1]] = 0;
            continue;
        }
        int worst = -1;
        for (int r = 0; r < k; ++r) {
            coef[idx[r]] = x[r];
            if (idx[r] >= 1 && x[r] < 0 && (worst < 0 || x[r] < coef[worst])) worst = idx[r];
        }
        if (worst < 0) return;
        use[worst] = 0;
    }
}

static double predict(const row_t *r, int res, int min_bits, const double coef[FL_HW_NFEAT])
{
    double f[FL_HW_NRES][FL_HW_NFEAT], v = 0;
    fl_hw_features(&r->p, min_bits, f);
    for (int j = 0; j < FL_HW_NFEAT; ++j) v += coef[j] * f[res][j];
    return v < 0 ? 0 : (double)llround(v);
}

static double rel(double model, double y) { return fabs(model - y) / fmax(y, 1.0); }

/* The fit and its errors: coefficients and in-sample errors in c, leave-one-out
 * errors beside them, each row's prediction in pred. */
typedef struct {
    fl_hw_coefs c;
    double      pred[MAX_ROWS][FL_HW_NRES], loo_mean[FL_HW_NRES], loo_max[FL_HW_NRES];
} calib;

/* Block-RAM threshold: the candidate with the smallest BRAM error. */
static int choose_bram_bits(const row_t *rows, int n)
{
    static const int cand[] = {1024, 1536, 2048, 2560, 3072, 4096, 6144, 8192};
    double best = INFINITY;
    int bits = cand[0];
    for (size_t k = 0; k < sizeof cand / sizeof cand[0]; ++k) {
        double co[FL_HW_NFEAT], e = 0;
        fit(rows, n, -1, FL_HW_BRAM, cand[k], co);
        for (int i = 0; i < n; ++i) { double d = rel(predict(&rows[i], FL_HW_BRAM, cand[k], co), rows[i].y[FL_HW_BRAM]); e += d * d; }
        if (e < best - 1e-12) { best = e; bits = cand[k]; }
    }
    return bits;
}

static void fit_all(const row_t *rows, int n, calib *k)
{
    memset(k, 0, sizeof *k);
    k->c.bram_min_bits = choose_bram_bits(rows, n);
    for (int res = 0; res < FL_HW_NRES; ++res) {
        fit(rows, n, -1, res, k->c.bram_min_bits, k->c.coef[res]);
        double sum = 0, mx = 0, lsum = 0, lmx = 0;
        for (int i = 0; i < n; ++i) {
            k->pred[i][res] = predict(&rows[i], res, k->c.bram_min_bits, k->c.coef[res]);
            double e = rel(k->pred[i][res], rows[i].y[res]);
            sum += e; if (e > mx) mx = e;
            double co[FL_HW_NFEAT];
            fit(rows, n, i, res, k->c.bram_min_bits, co);
            double le = rel(predict(&rows[i], res, k->c.bram_min_bits, co), rows[i].y[res]);
            lsum += le; if (le > lmx) lmx = le;
        }
        k->c.mean_rel_err[res] = sum / n;
        k->c.max_rel_err[res] = mx;
        k->loo_mean[res] = lsum / n;
        k->loo_max[res] = lmx;
    }
}

/* Writes the model file, then reads it back with the loader the sweep uses:
 * what was written must be what fl_hw_coefs_load returns (to the nine printed digits). */
static int save_checked(const char *model, const calib *k, int n)
{
    char prov[128];
    snprintf(prov, sizeof prov, "bench/hw/calibrate: %d xc7 rows of results/hw-calibration/synth.csv (yosys 0.23)", n);
    fl_hw_coefs back;
    if (fl_hw_coefs_save(model, &k->c, prov) || fl_hw_coefs_load(model, &back)) {
        fprintf(stderr, "calibrate: %s\n", fl_error());
        return 2;
    }
    for (int r = 0; r < FL_HW_NRES; ++r)
        for (int j = 0; j < FL_HW_NFEAT; ++j)
            if (fabs(back.coef[r][j] - k->c.coef[r][j]) > 1e-8 * fabs(k->c.coef[r][j])) {   /* %.9g digits */
                fprintf(stderr, "calibrate: %s: coefficient %d,%d reads back as %.17g, written %.17g\n", model, r, j,
                        back.coef[r][j], k->c.coef[r][j]);
                return 2;
            }
    return back.bram_min_bits == k->c.bram_min_bits ? 0 : 2;
}

static int write_report(const char *report, const char *csv, const row_t *rows, int n, const calib *k)
{
    FILE *fp = fopen(report, "w");
    if (!fp) { fprintf(stderr, "calibrate: %s: cannot write\n", report); return 2; }
    fprintf(fp, "# Resource model calibration\n\n"
                "Written by `bench/hw/calibrate` from `%s` (%d xc7 rows: yosys 0.23\n"
                "`synth_xilinx -family xc7`, via `bench/hw/synth-calibration.sh`). The\n"
                "coefficients are in `configs/hw-model.yaml`; the model is `fl_hw_features`\n"
                "in `bench/hw/hwmodel.c` (docs/sweep.md, \"Resource model\"). Block-RAM\n"
                "threshold chosen: memories over %d bits.\n\n",
            strstr(csv, "results/") ? strstr(csv, "results/") : csv, n, k->c.bram_min_bits);
    fprintf(fp, "## Error per resource\n\nRelative error |model - yosys| / yosys.\n"
                "Leave-one-out: each row predicted by a fit to the others.\n\n"
                "| resource | mean | max | leave-one-out mean | leave-one-out max | coefficients |\n"
                "| --- | ---: | ---: | ---: | ---: | --- |\n");
    for (int res = 0; res < FL_HW_NRES; ++res) {
        fprintf(fp, "| %s | %.1f %% | %.1f %% | %.1f %% | %.1f %% | ", res_name[res],
                100 * k->c.mean_rel_err[res], 100 * k->c.max_rel_err[res], 100 * k->loo_mean[res],
                100 * k->loo_max[res]);
        for (int j = 0; j < FL_HW_NFEAT; ++j) fprintf(fp, "%s%.4g", j ? ", " : "", k->c.coef[res][j]);
        fprintf(fp, " |\n");
    }
    fprintf(fp, "\n## Rows (yosys / model)\n\n"
                "| config | H | P | E | T | w/s/acc bits | LUT | FF | DSP | BRAM18 | LUTRAM | yosys s |\n"
                "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < n; ++i) {
        const fl_hw_point *p = &rows[i].p;
        fprintf(fp, "| `%s` | %d | %d | %d | %d | %d/%d/%d |", rows[i].name, p->enc_hidden,
                p->lanes, p->engines, p->steps, p->weight_bits, p->state_bits, p->acc_bits);
        for (int res = 0; res < FL_HW_NRES; ++res) fprintf(fp, " %.0f / %.0f |", rows[i].y[res], k->pred[i][res]);
        fprintf(fp, " %.0f |\n", rows[i].seconds);
    }
    fclose(fp);
    return 0;
}

int main(int argc, char **argv)
{
    const char *csv = FLIGRU_SOURCE_DIR "/results/hw-calibration/synth.csv";
    const char *model = FLIGRU_SOURCE_DIR "/configs/hw-model.yaml";
    const char *report = FLIGRU_SOURCE_DIR "/results/hw-calibration/report.md";
    int check = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--csv") && i + 1 < argc) csv = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--report") && i + 1 < argc) report = argv[++i];
        else if (!strcmp(argv[i], "--check")) check = 1;
        else {
            fprintf(stderr, "usage: calibrate [--csv FILE] [--model FILE] [--report FILE] [--check]\n");
            return 2;
        }
    }
    static row_t rows[MAX_ROWS];
    int n = load_rows(csv, rows, MAX_ROWS);
    if (n < 0) return 2;
    if (n < FL_HW_NFEAT + 1) {
        fprintf(stderr, "calibrate: %s: %d xc7 rows, need at least %d\n", csv, n, FL_HW_NFEAT + 1);
        return 2;
    }
    static calib k;
    fit_all(rows, n, &k);
    int rc = check ? 0 : save_checked(model, &k, n);
    if (!rc) rc = write_report(report, csv, rows, n, &k);
    if (rc) return rc;
    for (int res = 0; res < FL_HW_NRES; ++res)
        printf("calibrate: %-6s mean %5.1f %%  max %5.1f %%  (leave-one-out mean %5.1f %%, max %5.1f %%)\n",
               res_name[res], 100 * k.c.mean_rel_err[res], 100 * k.c.max_rel_err[res],
               100 * k.loo_mean[res], 100 * k.loo_max[res]);
    printf("calibrate: wrote %s%s%s\n", check ? "" : model, check ? "" : " and ", report);
    return 0;
}
