/* hwpoint.c - the analytic hardware models of one design point, or the best
 * P x E for a device.
 *
 *   build-hw/hwpoint [--device NAME] [--devices FILE] [--dataflow pixel|gate]
 *                    [--clock MHZ] [--best] [Name=value ...]
 *
 * Name=value are rtl/fligru_top.sv parameters over the 32-unit student
 * (fl_hw_point_default; Layers=2 for the teacher is accepted). --best
 * searches every P in 1..3H and E in 1..16 for the most 512 x 512 frames/s
 * that fits the device with its memory sustained, and prints that point.
 * Used for the figures in docs/sweep.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru_hw/hwmodel.h"

typedef struct {
    fl_hw_timing t;
    fl_hw_resources r;
    fl_hw_fit f;
    fl_hw_memory m;
} eval_t;

static int eval(const fl_hw_point *p, const fl_hw_device *d, double eff, eval_t *e)
{
    if (fl_hw_timing_eval(p, &e->t) || fl_hw_resources_eval(p, NULL, &e->r) ||
        fl_hw_memory_eval(p, &e->t, &e->r, d, eff, &e->m))
        return -1;
    fl_hw_fits(d, &e->r, &e->f);
    return 0;
}

static void print(const fl_hw_point *p, const fl_hw_device *d, const eval_t *e)
{
    printf("point: H %d/%d L %d C %d T %d P %d E %d K %d w/s/acc %d/%d/%d %s, %.1f MHz, %s on %s, rtl_supported %d\n",
           p->enc_hidden, p->dec_hidden, p->layers, p->outputs, p->steps, p->lanes, p->engines,
           e->t.interleave, p->weight_bits, p->state_bits, p->acc_bits,
           p->reset_after ? "reset-after" : "reset-before", p->clock_mhz,
           p->dataflow == FL_HW_GATE_MAJOR ? "gate_major" : "pixel_major", d->name,
           fl_hw_rtl_supported(p));
    printf("timing: %.2f cycles/pixel (%.0f per engine), latency %lld cycles = %.1f us, "
           "%.4g pixels/s, %.4g frames/s (%dx%d), MAC efficiency %.3f%s\n",
           e->t.cycles_per_pixel, e->t.cycles_per_pixel_engine, (long long)e->t.latency_cycles,
           e->t.latency_us, e->t.pixels_per_s, e->t.frames_per_s, p->frame_width, p->frame_height,
           e->t.efficiency, e->t.stalls ? " (scoreboard stalls)" : "");
    printf("resources: LUT %lld, FF %lld, DSP %lld, BRAM18 %lld, LUTRAM %lld; on %s: LUT %.1f %%, "
           "FF %.1f %%, DSP %.1f %%, BRAM %.1f %% -> %s\n",
           (long long)e->r.lut, (long long)e->r.ff, (long long)e->r.dsp, (long long)e->r.bram18,
           (long long)e->r.lutram, d->name, e->f.lut_pct, e->f.ff_pct, e->f.dsp_pct, e->f.bram_pct,
           e->f.fits ? "fits" : "does not fit");
    printf("memory: buffer %lld B (%s), off-chip %.4g GB/s of %.3g sustainable -> %s\n",
           (long long)e->m.buffer_bytes, e->m.onchip ? "on chip" : "off chip", e->m.offchip_gbs,
           e->m.dram_limit_gbs, e->m.sustained ? "sustained" : "NOT sustained");
}

int main(int argc, char **argv)
{
    const char *devname = "xc7k410t", *devpath = FLIGRU_SOURCE_DIR "/configs/devices.yaml";
    int best = 0;
    fl_hw_point p;
    fl_hw_point_default(&p);
    char params[1024] = "";
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) devname = argv[++i];
        else if (!strcmp(argv[i], "--devices") && i + 1 < argc) devpath = argv[++i];
        else if (!strcmp(argv[i], "--clock") && i + 1 < argc) p.clock_mhz = atof(argv[++i]);
        else if (!strcmp(argv[i], "--dataflow") && i + 1 < argc) {
            ++i;
            p.dataflow = !strcmp(argv[i], "gate") ? FL_HW_GATE_MAJOR : FL_HW_PIXEL_MAJOR;
        } else if (!strcmp(argv[i], "--best")) best = 1;
        else if (strchr(argv[i], '=') && strlen(params) + strlen(argv[i]) + 2 < sizeof params) {
            strcat(params, argv[i]);
            strcat(params, " ");
        } else {
            fprintf(stderr, "usage: hwpoint [--device NAME] [--devices FILE] [--dataflow pixel|gate] "
                            "[--clock MHZ] [--best] [Name=value ...]\n");
            return 2;
        }
    }
    fl_hw_devices *devs;
    const fl_hw_device *d;
    if (fl_hw_point_from_params(params, &p) || fl_hw_devices_load(devpath, &devs)) {
        fprintf(stderr, "hwpoint: %s\n", fl_error());
        return 2;
    }
    if (!(d = fl_hw_device_find(devs, devname))) {
        fprintf(stderr, "hwpoint: %s\n", fl_error());
        return 2;
    }
    eval_t e;
    if (!best) {
        if (eval(&p, d, devs->dram_efficiency, &e)) { fprintf(stderr, "hwpoint: %s\n", fl_error()); return 2; }
        print(&p, d, &e);
        fl_hw_devices_free(devs);
        return 0;
    }
    int hmin = p.enc_hidden < p.dec_hidden ? p.enc_hidden : p.dec_hidden;
    fl_hw_point bp = p;
    eval_t be;
    double bfps = -1;
    for (int en = 1; en <= 16; ++en)
        for (int lanes = 1; lanes <= 3 * hmin; ++lanes) {
            fl_hw_point q = p;
            q.lanes = lanes;
            q.engines = en;
            if (eval(&q, d, devs->dram_efficiency, &e)) continue;
            if (!e.f.fits || !e.m.sustained) continue;
            /* ties: fewer DSPs */
            if (e.t.frames_per_s > bfps * (1 + 1e-12) ||
                (e.t.frames_per_s >= bfps * (1 - 1e-12) && e.r.dsp < be.r.dsp)) {
                bfps = e.t.frames_per_s; bp = q; be = e;
            }
        }
    if (bfps < 0) { printf("no P x E fits %s\n", d->name); return 1; }
    print(&bp, d, &be);
    fl_hw_devices_free(devs);
    return 0;
}
