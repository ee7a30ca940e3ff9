/* test_hwmodel.c - the analytic hardware models (bench/hw/include/fligru_hw/hwmodel.h) against the
 * RTL's measured cycles, the yosys calibration runs, and hand-computed cases. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru_hw/hwmodel.h"
#include "testutil.h"

#define SYNTH_CSV   FLIGRU_SOURCE_DIR "/results/hw-calibration/synth.csv"
#define DEVICES     FLIGRU_SOURCE_DIR "/configs/devices.yaml"

/* The cycles this build's RTL benches just measured (ctest sets the path: the
 * rtl.cycles_csv fixture's build/rtl-results/cycles.csv), not a committed copy. */
static const char *cycles_csv(void)
{
    const char *e = getenv("FLIGRU_RTL_CYCLES_CSV");
    cr_assert(e && *e, "FLIGRU_RTL_CYCLES_CSV is not set: run through ctest, in a build with FLIGRU_RTL_BENCHES=ON");
    return e;
}

/* A small CSV reader: header names -> column index; quoted fields allowed. */
typedef struct {
    int ncol, nrow;
    char *cell[64][32];   /* [row][col]; row 0 is the header */
} csv_t;

static void csv_load(const char *path, csv_t *c)
{
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "%s: cannot open", path);
    char line[4096];
    memset(c, 0, sizeof *c);
    while (fgets(line, sizeof line, fp)) {
        cr_assert_lt(c->nrow, 64, "%s: too many rows for the test", path);
        int k = 0;
        char *s = line;
        while (*s && *s != '\n' && *s != '\r') {
            char buf[1024];
            size_t n = 0;
            int q = *s == '"';
            if (q) ++s;
            while (*s && (q ? *s != '"' : (*s != ',' && *s != '\n' && *s != '\r'))) {
                if (n + 1 < sizeof buf) buf[n++] = *s;
                ++s;
            }
            if (q && *s == '"') ++s;
            buf[n] = 0;
            cr_assert_lt(k, 32);
            c->cell[c->nrow][k++] = strdup(buf);
            if (*s == ',') ++s;
        }
        if (c->nrow == 0) c->ncol = k;
        else cr_assert_eq(k, c->ncol, "%s: row %d has %d fields", path, c->nrow + 1, k);
        c->nrow++;
    }
    fclose(fp);
}

static const char *csv_get(const csv_t *c, int row, const char *name)
{
    for (int j = 0; j < c->ncol; ++j)
        if (!strcmp(c->cell[0][j], name)) return c->cell[row][j];
    cr_assert(0, "no column %s", name);
    return NULL;
}

static void csv_free(csv_t *c)
{
    for (int i = 0; i < c->nrow; ++i)
        for (int j = 0; j < c->ncol; ++j) free(c->cell[i][j]);
}

static fl_hw_point point_of_cycles_row(const csv_t *c, int i)
{
    fl_hw_point p;
    fl_hw_point_default(&p);
    p.enc_hidden = p.dec_hidden = atoi(csv_get(c, i, "hidden"));
    p.lanes = atoi(csv_get(c, i, "lanes"));
    p.engines = atoi(csv_get(c, i, "engines"));
    p.steps = atoi(csv_get(c, i, "steps"));
    p.outputs = atoi(csv_get(c, i, "outputs"));
    p.reset_after = !strcmp(csv_get(c, i, "reset"), "after");
    return p;
}

/* Every RTL configuration: the model with the Interleave the bench used gives
 * exactly the measured steady-state cycles per pixel (the CSV rounds to 0.01). */
Test(hwmodel, cycles_equal_rtl_measurements)
{
    csv_t c;
    csv_load(cycles_csv(), &c);
    cr_assert_geq(c.nrow - 1, 15);
    for (int i = 1; i < c.nrow; ++i) {
        fl_hw_point p = point_of_cycles_row(&c, i);
        p.interleave = atoi(csv_get(&c, i, "interleave"));
        fl_hw_timing t;
        cr_assert_eq(fl_hw_timing_eval(&p, &t), FL_OK, "%s", fl_error());
        double meas = atof(csv_get(&c, i, "steady_cycles_per_pixel"));
        cr_expect(fabs(t.cycles_per_pixel - meas) <= 0.005 + 1e-9,
                  "%s: model %.4f, RTL %.2f cycles/pixel", csv_get(&c, i, "config"),
                  t.cycles_per_pixel, meas);
        cr_expect_eq(fl_hw_rtl_supported(&p), 1);
    }
    csv_free(&c);
}

/* The default Interleave is the RTL's: equal to the bench's K except in the two
 * configurations that force it (rtl/configs.cmake: k3, k4_stalls), and with it
 * no configuration stalls. */
Test(hwmodel, default_interleave_matches_rtl)
{
    csv_t c;
    csv_load(cycles_csv(), &c);
    for (int i = 1; i < c.nrow; ++i) {
        const char *name = csv_get(&c, i, "config");
        fl_hw_point p = point_of_cycles_row(&c, i);
        fl_hw_timing t;
        cr_assert_eq(fl_hw_timing_eval(&p, &t), FL_OK);
        cr_expect_eq(t.stalls, 0, "%s stalls with the default Interleave", name);
        int forced = strstr(name, "_k3") || strstr(name, "_k4");
        if (!forced)
            cr_expect_eq(t.interleave, atoi(csv_get(&c, i, "interleave")), "%s", name);
        else
            cr_expect_neq(t.interleave, atoi(csv_get(&c, i, "interleave")), "%s", name);
    }
    csv_free(&c);
}

Test(hwmodel, student_timing_by_hand)
{
    fl_hw_point p;
    fl_hw_point_default(&p);
    fl_hw_timing t;
    cr_assert_eq(fl_hw_timing_eval(&p, &t), FL_OK);
    /* 2T ceil(3H^2/P) = 270 * 384 */
    cr_expect(ieee_ulp_eq(dbl, t.cycles_per_pixel, 103680.0, 4));
    cr_expect_eq(t.interleave, 4);   /* G = 1 + ceil(18/384) = 2, reset-before 2G */
    double fps = p.clock_mhz * 1e6 / 103680.0 / (512.0 * 512.0);
    cr_expect(ieee_ulp_eq(dbl, t.frames_per_s, fps, 8));
    cr_expect(ieee_ulp_eq(dbl, fl_hw_macs_per_pixel(&p), 855360.0, 4));
    /* 4 engines at P = 96: 270 * 32 / 4 */
    p.lanes = 96;
    p.engines = 4;
    cr_assert_eq(fl_hw_timing_eval(&p, &t), FL_OK);
    cr_expect(ieee_ulp_eq(dbl, t.cycles_per_pixel, 2160.0, 4));
}

/* The teacher (2 x 128 per side) is extrapolated: layer 1's input matrix runs
 * on the lanes too. P = 96: 135 * (512 + 512 + 1024 + 1024) cycles a pixel. */
Test(hwmodel, teacher_extension)
{
    fl_hw_point p;
    fl_hw_point_default(&p);
    p.enc_hidden = p.dec_hidden = 128;
    p.layers = 2;
    p.lanes = 96;
    cr_expect_eq(fl_hw_rtl_supported(&p), 0);
    fl_hw_timing t;
    cr_assert_eq(fl_hw_timing_eval(&p, &t), FL_OK);
    cr_expect(ieee_ulp_eq(dbl, t.cycles_per_pixel, 135.0 * 3072.0, 4));
    fl_hw_resources r;
    cr_assert_eq(fl_hw_resources_eval(&p, NULL, &r), FL_OK);
    cr_expect_gt(r.dsp, 96);
    /* E != D: a bridge of ceil(He * Hd * L / P) beats per pixel */
    p.dec_hidden = 64;
    p.layers = 1;
    p.lanes = 64;
    cr_assert_eq(fl_hw_timing_eval(&p, &t), FL_OK);
    cr_expect(ieee_ulp_eq(dbl, t.cycles_per_pixel, 135.0 * (768 + 192) + 128.0, 4));
}

Test(hwmodel, rejects_lanes_above_3h)
{
    fl_hw_point p;
    fl_hw_point_default(&p);
    p.lanes = 97;
    fl_hw_timing t;
    cr_expect_eq(fl_hw_timing_eval(&p, &t), FL_E_INPUT);
    cr_expect(strstr(fl_error(), "lanes") != NULL, "%s", fl_error());
}

/* Every calibration row is predicted within the calibration error that
 * configs/hw-model.yaml (written by bench/hw/calibrate) reports. */
Test(hwmodel, resources_within_calibration_error)
{
    const fl_hw_coefs *co = fl_hw_coefs_builtin();
    cr_assert(strstr(co->source, "calibrate") != NULL, "hw-model.yaml is not a calibration: %s", co->source);
    csv_t c;
    csv_load(SYNTH_CSV, &c);
    static const char *const col[FL_HW_NRES] = {"lut", "ff", "dsp", "bram18", "lutram"};
    int rows = 0;
    for (int i = 1; i < c.nrow; ++i) {
        if (strcmp(csv_get(&c, i, "family"), "xc7")) continue;
        fl_hw_point p;
        fl_hw_point_default(&p);
        cr_assert_eq(fl_hw_point_from_params(csv_get(&c, i, "params"), &p), FL_OK, "%s", fl_error());
        fl_hw_resources r;
        cr_assert_eq(fl_hw_resources_eval(&p, NULL, &r), FL_OK, "%s", fl_error());
        int64_t model[FL_HW_NRES] = {r.lut, r.ff, r.dsp, r.bram18, r.lutram};
        for (int k = 0; k < FL_HW_NRES; ++k) {
            double y = atof(csv_get(&c, i, col[k]));
            double e = fabs((double)model[k] - y) / fmax(y, 1.0);
            cr_expect_leq(e, co->max_rel_err[k] + 1e-4, "%s %s: model %lld, yosys %.0f (%.1f %% > %.1f %%)",
                          csv_get(&c, i, "config"), col[k], (long long)model[k], y, 100 * e,
                          100 * co->max_rel_err[k]);
        }
        ++rows;
    }
    cr_expect_geq(rows, 10, "only %d calibration rows", rows);
    csv_free(&c);
}

/* The student's DSP count is structural: P lanes + 26 post-processor multipliers. */
Test(hwmodel, student_dsp)
{
    fl_hw_point p;
    fl_hw_point_default(&p);
    int lanes[3] = {8, 32, 96}, want[3] = {34, 58, 122};
    for (int i = 0; i < 3; ++i) {
        p.lanes = lanes[i];
        fl_hw_resources r;
        cr_assert_eq(fl_hw_resources_eval(&p, NULL, &r), FL_OK);
        cr_expect(llabs(r.dsp - want[i]) <= 1, "P = %d: %lld DSP", lanes[i], (long long)r.dsp);
    }
}

static fl_hw_devices *devices(void)
{
    fl_hw_devices *d = NULL;
    cr_assert_eq(fl_hw_devices_load(DEVICES, &d), FL_OK, "%s", fl_error());
    return d;
}

Test(hwmodel, device_catalog_loads)
{
    fl_hw_devices *d = devices();
    cr_expect_geq(d->n, 4);
    const char *names[] = {"xc7k160t", "xc7k410t", "xczu7ev", "xcu250"};
    int64_t dsp[] = {600, 1540, 1728, 12288};
    for (int i = 0; i < 4; ++i) {
        const fl_hw_device *v = fl_hw_device_find(d, names[i]);
        cr_assert_not_null(v, "%s", fl_error());
        cr_expect_eq(v->dsp, dsp[i], "%s", names[i]);
        cr_expect_gt(v->dram_gbs, 0);
    }
    cr_expect_eq(fl_hw_device_find(d, "xc7k410t")->lut, 254200);
    cr_expect_eq(fl_hw_device_find(d, "xcu250")->uram, 1280);
    cr_expect_null(fl_hw_device_find(d, "xc7z020"));
    cr_expect(strstr(fl_error(), "devices.yaml") && strstr(fl_error(), "xc7z020"), "%s", fl_error());
    fl_hw_devices_free(d);
}

static void load_fails(const char *text, const char *want1, const char *want2)
{
    char *dir = tu_tmpdir("hwdev");
    char *path = tu_write_file(dir, "dev.yaml", text);
    fl_hw_devices *d = (fl_hw_devices *)1;
    cr_expect_eq(fl_hw_devices_load(path, &d), FL_E_INPUT);
    cr_expect_null(d);
    cr_expect(strstr(fl_error(), path) != NULL, "message does not name the file: %s", fl_error());
    cr_expect(strstr(fl_error(), want1) != NULL, "'%s' not in: %s", want1, fl_error());
    cr_expect(strstr(fl_error(), want2) != NULL, "'%s' not in: %s", want2, fl_error());
    free(path);
    free(dir);
}

#define DEV_OK "    family: xc7\n    part: p\n    board: b\n    lut: 10\n    ff: 20\n" \
               "    bram18: 4\n    uram: 0\n    dram_gbs: 1\n    dram_gb: 1\n"

Test(hwmodel, device_errors_name_file_key_and_line)
{
    /* unknown key "luts" on line 4 */
    load_fails("devices:\n  k:\n    dsp: 1\n    luts: 5\n" DEV_OK, ":4:", "luts");
    /* missing dsp: reported at the device's map (line 3) */
    load_fails("devices:\n  k:\n" DEV_OK, ":3:", "missing key 'dsp'");
    /* unknown top-level key */
    load_fails("dram_eff: 0.5\ndevices:\n  k:\n    dsp: 1\n" DEV_OK, ":1:", "dram_eff");
    /* wrong type */
    load_fails("devices:\n  k:\n    dsp: many\n" DEV_OK, ":3:", "dsp");
}

Test(hwmodel, fits_and_utilisation)
{
    fl_hw_devices *d = devices();
    const fl_hw_device *k160 = fl_hw_device_find(d, "xc7k160t");
    fl_hw_resources r = {.lut = 50700, .ff = 1000, .dsp = 300, .bram18 = 65, .lutram = 0};
    fl_hw_fit f;
    fl_hw_fits(k160, &r, &f);
    cr_expect(ieee_ulp_eq(dbl, f.lut_pct, 50.0, 4));
    cr_expect(ieee_ulp_eq(dbl, f.dsp_pct, 50.0, 4));
    cr_expect(ieee_ulp_eq(dbl, f.bram_pct, 10.0, 4));
    cr_expect_eq(f.fits, 1);
    r.dsp = 601;
    fl_hw_fits(k160, &r, &f);
    cr_expect_eq(f.fits, 0);
    cr_expect_gt(f.max_pct, 100.0);
    /* LUT RAM occupies four LUTs a cell */
    r = (fl_hw_resources){.lut = 1400, .lutram = 25000};
    fl_hw_fits(k160, &r, &f);
    cr_expect(ieee_ulp_eq(dbl, f.lut_pct, 100.0, 4));
    fl_hw_devices_free(d);
}

/* Memory system, by hand: the student at P = 8 on xc7k410t and xcu250. */
Test(hwmodel, memory_hand_cases)
{
    fl_hw_devices *d = devices();
    fl_hw_point p;
    fl_hw_point_default(&p);
    p.clock_mhz = 200;
    fl_hw_timing t;
    cr_assert_eq(fl_hw_timing_eval(&p, &t), FL_OK);
    fl_hw_resources r = {.bram18 = 10};
    const fl_hw_device *k410 = fl_hw_device_find(d, "xc7k410t");
    const fl_hw_device *u250 = fl_hw_device_find(d, "xcu250");
    double fps = 200e6 / 103680.0 / 262144.0;
    fl_hw_memory m;

    /* pixel-major: 2 frames of 512*512*135 16-bit samples, off chip; traffic per
     * frame = write + read of the frame + 3 x 135 16-bit outputs per pixel */
    p.dataflow = FL_HW_PIXEL_MAJOR;
    cr_assert_eq(fl_hw_memory_eval(&p, &t, &r, k410, 0.7, &m), FL_OK);
    cr_expect_eq(m.frame_bytes, 70778880);
    cr_expect_eq(m.buffer_bytes, 141557760);
    cr_expect_eq(m.onchip, 0);
    cr_expect(ieee_ulp_eq(dbl, m.offchip_gbs, (2.0 * 70778880 + 212336640) * fps / 1e9, 16));
    cr_expect(ieee_ulp_eq(dbl, m.dram_limit_gbs, 12.8 * 0.7, 4));
    cr_expect_eq(m.sustained, 1);
    /* 141.6 MB does not fit a 1 GiB board at 0.1 GiB */
    fl_hw_device small = *k410;
    small.dram_gb = 0.1;
    cr_assert_eq(fl_hw_memory_eval(&p, &t, &r, &small, 0.7, &m), FL_OK);
    cr_expect_eq(m.sustained, 0);

    /* gate-major: 512*512 x 32 x 24-bit states = 25,165,824 B. xc7k410t: 1580
     * free 18 Kb blocks = 3.64 MB, so states go off chip: 2 x 135 passes a frame */
    p.dataflow = FL_HW_GATE_MAJOR;
    cr_assert_eq(fl_hw_memory_eval(&p, &t, &r, k410, 0.7, &m), FL_OK);
    cr_expect_eq(m.state_bytes, 25165824);
    cr_expect_eq(m.buffer_bytes, 25165824);
    cr_expect_eq(m.onchip, 0);
    cr_expect(ieee_ulp_eq(dbl, m.offchip_gbs, (270.0 * 25165824 + 212336640) * fps / 1e9, 16));
    /* xcu250: 5366 blocks x 2304 B + 1280 URAM x 36864 B = 59.5 MB: on chip */
    cr_assert_eq(fl_hw_memory_eval(&p, &t, &r, u250, 0.7, &m), FL_OK);
    cr_expect_eq(m.onchip, 1);
    cr_expect(ieee_ulp_eq(dbl, m.offchip_gbs, 212336640.0 * fps / 1e9, 16));
    cr_expect_eq(m.sustained, 1);
    fl_hw_devices_free(d);
}

Test(hwmodel, params_parse)
{
    fl_hw_point p;
    fl_hw_point_default(&p);
    cr_assert_eq(fl_hw_point_from_params("Hidden=16 DecHidden=16 Lanes=4 SigmoidHard=1 StateFrac=7", &p), FL_OK);
    cr_expect_eq(p.enc_hidden, 16);
    cr_expect_eq(p.lanes, 4);
    cr_expect_eq(p.sigmoid, FL_HW_ACT_HARD);
    cr_expect_eq(fl_hw_point_from_params("Hidden=x", &p), FL_E_INPUT);
    cr_expect_eq(fl_hw_point_from_params("Hidden", &p), FL_E_INPUT);
}

/* scripts/tables.sh and scripts/plot-sweep.sh on a small fabricated run:
 * every column of docs/sweep.md, found by name. */
#define HEADER "run,point,network,enc_hidden,dec_hidden,layers,outputs,weight_bits,state_bits," \
    "acc_bits,act,kd,qat,lanes,engines,clock_mhz,device,dataflow,steps,gate_width_ns,rmse," \
    "rmse_std,r2,r2_std,l2,l2_std,dtw,dtw_std,tau_mean_err_ns,af700_rmse,af700_r2," \
    "af700_tau_err_ns,cycles_per_pixel,latency_cycles,latency_us,pixels_per_s,frames_per_s," \
    "lut,ff,dsp,bram18,lutram,fits,util_max_pct,buffer_bytes,offchip_gbs,mem_ok," \
    "rtl_supported,status\n"

static char *fabricated_run(void)
{
    char *dir = tu_tmpdir("hwplot");
    free(tu_write_file(dir, "results.csv", HEADER
        "t,0,seq2seqlite,32,32,1,3,8,24,32,table,1,1,8,1,222.2,xc7k410t,pixel_major,135,0.09,"
        "0.0123,0.002,0.987,0.01,0.11,0.02,0.5,0.05,0.03,,,,103680,414904,1867,2143,0.0082,"
        "12869,8891,34,15,325,1,5.6,141557760,0.0029,1,1,ok\n"
        "t,1,seq2seqlite,32,32,1,3,8,24,32,table,0,1,96,1,222.2,xc7k410t,pixel_major,135,0.09,"
        "0.1400,0.02,0.48,0.1,1.1,0.1,0.7,0.08,0.2,,,,8640,34744,156,25720,0.098,"
        "15548,11857,122,7,589,1,7.9,141557760,0.035,1,1,ok\n"
        "t,2,seq2seqlite,32,32,1,3,16,16,32,table,1,1,32,2,222.2,xczu7ev,gate_major,135,0.09,"
        "0.0600,0.01,0.90,0.05,0.5,0.06,0.45,0.04,0.1,,,,12960,,,,0.065,"
        "25000,18000,110,12,900,1,6.4,25165824,0.01,1,1,ok\n"
        "t,3,seq2seq,64,16,2,3,0,0,0,float,0,0,96,1,222.2,xc7k410t,pixel_major,135,0.09,"
        "0.0310,0.001,0.965,0.01,0.30,0.04,0.33,0.02,0.05,,,,100000,,,,0.001,"
        "36000,30000,122,204,1365,1,16,141557760,0.001,1,0,ok\n"));
    return dir;
}

Test(hwmodel, tables_script_puts_paper_beside_ours)
{
    char *dir = fabricated_run(), cmd[1024];
    snprintf(cmd, sizeof cmd, "sh %s/scripts/tables.sh %s > /dev/null", FLIGRU_SOURCE_DIR, dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/tables.md", dir);
    size_t n;
    char *md = (char *)tu_read_all(cmd, &n);   /* n + 1 bytes allocated */
    cr_assert_not_null(md);
    md[n] = 0;
    /* Table 3, 8-bit, 32x32 w/KD: paper 0.01 ± 0.001, ours 0.012 ± 0.002 */
    cr_expect(strstr(md, "0.01 ± 0.001") && strstr(md, "0.012 ± 0.002"), "%s", md);
    /* Table 1, 64x16 float: paper RMSE 0.032 ± 0.001, ours 0.031 ± 0.001 */
    cr_expect(strstr(md, "0.031 ± 0.001") != NULL);
    cr_expect(strstr(md, "## Table 3") != NULL);
    free(md);
    snprintf(cmd, sizeof cmd, "%s/tables.tex", dir);
    char *tex = (char *)tu_read_all(cmd, &n);
    cr_assert_not_null(tex);
    tex[n] = 0;
    cr_expect(strstr(tex, "\\begin{tabular}") && strstr(tex, "0.012 $\\pm$ 0.002"));
    free(tex);
    free(dir);
}

Test(hwmodel, plot_script_writes_png_and_svg)
{
    char *dir = fabricated_run(), cmd[1024];
    snprintf(cmd, sizeof cmd, "sh %s/scripts/plot-sweep.sh %s > /dev/null 2>&1", FLIGRU_SOURCE_DIR, dir);
    cr_assert_eq(system(cmd), 0);
    const char *names[] = {"pareto_r2_dsp", "fps_dsp", "error_bits", "kd"};
    for (int i = 0; i < 4; ++i) {
        size_t n;
        snprintf(cmd, sizeof cmd, "%s/plots/%s.png", dir, names[i]);
        unsigned char *png = tu_read_all(cmd, &n);
        cr_assert_not_null(png, "%s missing", cmd);
        cr_expect(n > 1000 && !memcmp(png, "\x89PNG", 4), "%s is not a PNG", cmd);
        free(png);
        snprintf(cmd, sizeof cmd, "%s/plots/%s.svg", dir, names[i]);
        char *svg = (char *)tu_read_all(cmd, &n);
        cr_assert_not_null(svg, "%s missing", cmd);
        svg[n] = 0;
        cr_expect(strstr(svg, "<svg") != NULL);
        free(svg);
    }
    free(dir);
}
