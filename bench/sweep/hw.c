/* hw.c - the sweep's one call site of bench/hw: a design point -> fl_hw_point ->
 * timing, resources, device fit and memory system (docs/sweep.md columns 33-48). */
#include "sweep_internal.h"

#include <math.h>
#include <string.h>

#include "fligru_hw/hwmodel.h"

/* Float points (weight_bits 0) have no datapath to size: their hardware point uses
 * the base format's widths, and only the width-independent timing is reported. */
static fl_status hw_point(const fl_sweep *s, const fl_sweep_point *p, fl_hw_point *h)
{
    fl_hw_point_default(h);
    const int seq2seq = fl_sweep_int(p, FL_AX_NETWORK) == 0;
    h->enc_hidden = fl_sweep_int(p, FL_AX_ENC_HIDDEN);
    h->dec_hidden = fl_sweep_int(p, FL_AX_DEC_HIDDEN);
    h->layers = seq2seq ? 2 : 1;
    h->outputs = fl_sweep_int(p, FL_AX_OUTPUTS);
    h->steps = fl_sweep_int(p, FL_AX_STEPS);
    h->gate_width_ns = p->v[FL_AX_GATE_WIDTH_NS];
    h->lanes = fl_sweep_int(p, FL_AX_LANES);
    h->engines = fl_sweep_int(p, FL_AX_ENGINES);
    h->interleave = 0;
    h->reset_after = seq2seq;
    h->clock_mhz = p->v[FL_AX_CLOCK_MHZ];
    h->dataflow = fl_sweep_int(p, FL_AX_DATAFLOW) ? FL_HW_GATE_MAJOR : FL_HW_PIXEL_MAJOR;
    fl_fx_format f = *sweep_base_fx(s);
    fl_status st;
    if (p->v[FL_AX_WEIGHT_BITS] > 0 && (st = sweep_fx_format(s, p, &f))) return st;
    h->input_bits = f.input.bits;
    h->weight_bits = f.weight_bits;
    h->bias_bits = f.bias.bits;
    h->acc_bits = f.acc_bits;
    h->mult_bits = f.mult_bits;
    h->gate_bits = f.gate.bits;
    h->act_bits = f.act.bits;
    h->state_bits = f.state.bits;
    h->output_bits = f.output.bits;
    h->sigmoid = f.sigmoid.kind == FL_FX_ACT_HARD ? FL_HW_ACT_HARD : FL_HW_ACT_TABLE;
    h->tanh = f.tanh.kind == FL_FX_ACT_HARD ? FL_HW_ACT_HARD : FL_HW_ACT_TABLE;
    h->sigmoid_size_log2 = f.sigmoid.size_log2;
    h->tanh_size_log2 = f.tanh.size_log2;
    h->pow2 = f.weight_pow2;
    return FL_OK;
}

void sweep_hw_key(char *buf, size_t n)
{
    /* the calibrated coefficients: a refit re-evaluates every point */
    const fl_hw_coefs *c = fl_hw_coefs_builtin();
    size_t l = (size_t)snprintf(buf, n, "hw %s bram_min_bits=%d", c ? c->source : "?", c ? c->bram_min_bits : 0);
    for (int r = 0; c && r < FL_HW_NRES; ++r)
        for (int k = 0; k < FL_HW_NFEAT && l < n; ++k) l += (size_t)snprintf(buf + l, n - l, " %.17g", c->coef[r][k]);
}

fl_status sweep_hw_catalog_load(fl_sweep *s)
{
    fl_hw_devices *d;
    fl_status st = fl_hw_devices_load(s->devices_path, &d);
    if (st) return st;
    s->base->catalog = d;
    return FL_OK;
}

void sweep_hw_catalog_free(fl_sweep *s)
{
    if (!s->base || !s->base->catalog) return;
    fl_hw_devices_free(s->base->catalog);
    s->base->catalog = NULL;
}

fl_status sweep_hw_device_known(const fl_sweep *s, const char *name, int *known)
{
    *known = fl_hw_device_find(s->base->catalog, name) != NULL;
    fl_error_clear();
    return FL_OK;
}

fl_status sweep_hw_check(const fl_sweep *s, const fl_sweep_point *p)
{
    fl_hw_point h;
    fl_status st = hw_point(s, p, &h);
    return st ? st : fl_hw_point_check(&h);
}

fl_status sweep_hw_eval(const fl_sweep *s, const fl_sweep_point *p, sweep_hw *o)
{
    memset(o, 0, sizeof *o);
    fl_hw_point h;
    fl_status st;
    if ((st = hw_point(s, p, &h))) return st;
    fl_hw_timing t;
    if ((st = fl_hw_timing_eval(&h, &t))) return st;
    o->cycles_per_pixel = t.cycles_per_pixel;
    o->latency_cycles = t.latency_cycles;
    o->latency_us = t.latency_us;
    o->pixels_per_s = t.pixels_per_s;
    o->frames_per_s = t.frames_per_s;
    o->rtl_supported = p->v[FL_AX_WEIGHT_BITS] > 0 && fl_hw_rtl_supported(&h);
    o->have = SWEEP_HW_TIMING;
    if (p->v[FL_AX_WEIGHT_BITS] == 0) return FL_OK;
    fl_hw_resources r;
    const fl_hw_devices *cat = s->base->catalog;
    if ((st = fl_hw_resources_eval(&h, NULL, &r))) return st;
    const fl_hw_device *d = fl_hw_device_find(cat, s->devices[fl_sweep_int(p, FL_AX_DEVICE)]);
    if (!d) return FL_E_INPUT;
    fl_hw_fit fit;
    fl_hw_fits(d, &r, &fit);
    fl_hw_memory m;
    if ((st = fl_hw_memory_eval(&h, &t, &r, d, cat->dram_efficiency, &m))) return st;
    o->lut = r.lut;
    o->ff = r.ff;
    o->dsp = r.dsp;
    o->bram18 = r.bram18;
    o->lutram = r.lutram;
    o->fits = fit.fits;
    o->util_max_pct = fit.max_pct;
    o->buffer_bytes = m.buffer_bytes;
    o->offchip_gbs = m.offchip_gbs;
    o->mem_ok = m.sustained;
    o->have = SWEEP_HW_ALL;
    return FL_OK;
}
