/* design.c - what a design point is: the axes (names, order), and from a
 * point's axis values and the run's base configs (parsed once by
 * fl_sweep_load: sweep_base_load) its data sets, training run and fixed-point
 * format. The parser, the hardware mapping (hw.c), the ids (point.c) and the
 * evaluator (eval.c) all ask here; this file asks no other file of the sweep. */
#include "sweep_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const AXIS_NAMES[FL_AX_COUNT] = {
    "network", "enc_hidden", "dec_hidden", "outputs", "weight_bits", "state_bits", "acc_bits",
    "act", "kd", "qat", "lanes", "engines", "clock_mhz", "device", "dataflow", "steps",
    "gate_width_ns",
};

const char *fl_sweep_axis_name(fl_sweep_axis a)
{
    return a >= 0 && a < FL_AX_COUNT ? AXIS_NAMES[a] : "?";
}

int sweep_axis_of(const char *name)
{
    for (int a = 0; a < FL_AX_COUNT; ++a)
        if (!strcmp(name, AXIS_NAMES[a])) return a;
    return -1;
}

/* ---- the run's base configs ------------------------------------------------------ */

fl_status sweep_base_load(fl_sweep *s)
{
    sweep_base *b = calloc(1, sizeof *b);
    if (!b) return fl_fail(FL_E_NOMEM, "out of memory");
    s->base = b;
    fl_status st;
    if ((st = fl_train_config_from_yaml(s->teacher_cfg, 0, &b->teacher)) ||
        (st = fl_train_config_from_yaml(s->student_cfg, 0, &b->student)) ||
        (st = fl_train_config_from_yaml(s->distill_cfg, 1, &b->distill)) || (st = fl_fx_format_load(s->fx_cfg, &b->fx)) ||
        (st = fl_synth_params_from_yaml(s->data_cfg, &b->data)) || (st = fl_synth_params_from_yaml(s->test_cfg, &b->test)) ||
        (s->mono_cfg[0] && (st = fl_synth_params_from_yaml(s->mono_cfg, &b->mono))))
        return st;
    return FL_OK;
}

void sweep_base_free(fl_sweep *s)
{
    free(s->base);
    s->base = NULL;
}

const fl_fx_format *sweep_base_fx(const fl_sweep *s) { return &s->base->fx; }

/* ---- a point's data, format and training run ------------------------------------- */

fl_status sweep_synth_params(const fl_sweep *s, const fl_sweep_point *p, sweep_set which, fl_synth_params *out)
{
    *out = which == SWEEP_SET_TRAIN ? s->base->data : which == SWEEP_SET_TEST ? s->base->test : s->base->mono;
    out->gates = fl_sweep_int(p, FL_AX_STEPS);
    out->gate_width_ns = p->v[FL_AX_GATE_WIDTH_NS];
    out->channels = fl_sweep_int(p, FL_AX_OUTPUTS);
    out->image = 0;
    if (which == SWEEP_SET_TRAIN && s->train_samples) out->samples = s->train_samples;
    if (which == SWEEP_SET_TEST) {
        out->samples = s->test_samples;
        out->seed = s->test_seed;
    }
    if (which == SWEEP_SET_MONO) out->samples = s->mono_samples;
    return FL_OK;
}

fl_status sweep_fx_format(const fl_sweep *s, const fl_sweep_point *p, fl_fx_format *f)
{
    *f = s->base->fx;
    f->weight_bits = fl_sweep_int(p, FL_AX_WEIGHT_BITS);
    f->state.bits = fl_sweep_int(p, FL_AX_STATE_BITS);
    f->state.frac = f->state.bits - 2;   /* two integer bits: |h| <= 1 with headroom, as ap_fixed<24,2> */
    f->acc_bits = fl_sweep_int(p, FL_AX_ACC_BITS);
    f->acc_auto = 1;
    if (fl_sweep_int(p, FL_AX_ACT) == 1) f->sigmoid.kind = FL_FX_ACT_HARD;
    return FL_OK;
}

/* QAT at the point's widths: the fake quantisers of its fixed-point format. */
static fl_status qat_params(const fl_sweep *s, const fl_sweep_point *p, fl_train_config *c)
{
    fl_fx_format f;
    fl_status st = sweep_fx_format(s, p, &f);
    if (st) return st;
    c->qat_p.weight_bits = f.weight_bits;
    c->qat_p.weight_scale = f.weight_scale == FL_FX_SCALE_TENSOR ? FL_QAT_PER_TENSOR : FL_QAT_PER_ROW;
    c->qat_p.bias_bits = f.bias.bits;
    c->qat_p.bias_frac = f.bias.frac;
    c->qat_p.fq.state_bits = f.state.bits;
    c->qat_p.fq.state_frac = f.state.frac;
    c->qat_p.fq.act_bits = f.act.bits;
    c->qat_p.fq.act_frac = f.act.frac;
    return FL_OK;
}

fl_status sweep_train_config(const fl_sweep *s, const fl_sweep_point *p, int is_teacher, fl_train_config *c,
                             int *distill)
{
    const int seq2seq = fl_sweep_int(p, FL_AX_NETWORK) == 0;
    const int kd = !is_teacher && fl_sweep_int(p, FL_AX_KD);
    /* The teacher config has no distill section (fl_sweep_load parsed it without
     * one), so it reads the same for a teacher and for a distilled network. */
    *c = is_teacher || seq2seq ? s->base->teacher : kd ? s->base->distill : s->base->student;
    *distill = kd;
    c->model.outputs = fl_sweep_int(p, FL_AX_OUTPUTS);
    c->limit = 0;
    if (s->batch) c->batch = s->batch;
    memset(&c->qat_p, 0, sizeof c->qat_p);
    if (is_teacher) {
        int e = s->teacher_epochs ? s->teacher_epochs : s->epochs;
        if (e) c->epochs = e;
        c->qat = 0;
        return FL_OK;
    }
    if (s->epochs) c->epochs = s->epochs;
    c->model.layers = seq2seq ? 2 : 1;
    c->model.reset = seq2seq ? FL_RESET_AFTER : FL_RESET_BEFORE;
    c->model.enc_hidden = fl_sweep_int(p, FL_AX_ENC_HIDDEN);
    c->model.dec_hidden = fl_sweep_int(p, FL_AX_DEC_HIDDEN);
    c->model.act = fl_sweep_int(p, FL_AX_ACT) == 1 ? FL_ACT_HARD_SIGMOID : FL_ACT_SIGMOID;
    c->qat = fl_sweep_int(p, FL_AX_QAT);
    return c->qat ? qat_params(s, p, c) : FL_OK;
}
