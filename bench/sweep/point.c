/* point.c - the names of a design point: the hashes of its model and its
 * result (from what design.c says the point is), its row prefix, and small
 * helpers the evaluator and the executors share. */
#include "sweep_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fligru/model_io.h"

const char *const SWEEP_CSV_HEADER =
    "run,point,network,enc_hidden,dec_hidden,layers,outputs,weight_bits,state_bits,acc_bits,act,kd,qat,"
    "lanes,engines,clock_mhz,device,dataflow,steps,gate_width_ns,rmse,rmse_std,r2,r2_std,l2,l2_std,dtw,"
    "dtw_std,tau_mean_err_ns,af700_rmse,af700_r2,af700_tau_err_ns,cycles_per_pixel,latency_cycles,"
    "latency_us,pixels_per_s,frames_per_s,lut,ff,dsp,bram18,lutram,fits,util_max_pct,buffer_bytes,"
    "offchip_gbs,mem_ok,rtl_supported,status";

void fl_sweep_hash(const char *text, char out[17])
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)text; *p; ++p) {
        h ^= *p;
        h *= UINT64_C(0x100000001b3);
    }
    snprintf(out, 17, "%016" PRIx64, h);
}

/* ---- canonical keys -------------------------------------------------------------- */

typedef struct {
    char  *s;
    size_t n, cap;
} sbuf;

static void add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = (b->cap + (size_t)k + 256) * 2;
        char *ns = realloc(b->s, nc);
        if (!ns) return;
        b->s = ns;
        b->cap = nc;
    }
}

char *sweep_synth_key(const fl_synth_params *p)
{
    sbuf b = {0};
    add(&b, "synth seed=%" PRIu64 " samples=%zu gates=%d dt=%.17g C=%d model=%d tau1=%.17g,%.17g tau2=%.17g,%.17g "
            "a=%.17g,%.17g irf=%d",
        p->seed, p->samples, p->gates, p->gate_width_ns, p->channels, (int)p->model, p->tau1_ns[0], p->tau1_ns[1],
        p->tau2_ns[0], p->tau2_ns[1], p->fraction[0], p->fraction[1], (int)p->irf_kind);
    if (p->irf_kind == FL_IRF_FILE) {
        uint64_t h = 0;
        fl_fx_file_hash(p->irf_file, &h);
        add(&b, " irf_file=%016" PRIx64, h);
    } else
        add(&b, " onset=%.17g,%.17g fwhm=%.17g,%.17g tail=%.17g", p->onset_ns, p->onset_jitter_ns, p->fwhm_ns,
            p->fwhm_jitter, p->tail_ns);
    add(&b, " noise=%d photons=%.17g,%.17g dark=%.17g image=%d", p->noise, p->photons[0], p->photons[1],
        p->dark_counts, p->image);
    /* The instrument's variation, only when asked for: data without it keep
     * the ids (and the cached models) they always had. */
    if (fl_synth_has_instrument(p)) {
        add(&b, " instrument tail_hi=%.17g refl=%d", p->tail_hi_ns, p->n_reflections);
        for (int r = 0; r < p->n_reflections; ++r)
            add(&b, " %.17g,%.17g:%.17g,%.17g", p->refl_delay_ns[r][0], p->refl_delay_ns[r][1],
                p->refl_amplitude[r][0], p->refl_amplitude[r][1]);
        add(&b, " diffusion=%.17g,%.17g:%.17g,%.17g shift=%.17g width=%.17g dark_hi=%.17g ambient=%.17g,%.17g "
                "afterpulsing=%.17g,%.17g delay=%.17g,%.17g",
            p->diffusion_fraction[0], p->diffusion_fraction[1], p->diffusion_tau_ns[0], p->diffusion_tau_ns[1],
            p->shift_jitter_ns, p->width_jitter, p->dark_hi, p->ambient[0], p->ambient[1], p->afterpulsing[0],
            p->afterpulsing[1], p->afterpulse_delay_ns[0], p->afterpulse_delay_ns[1]);
    }
    return b.s;
}

char *sweep_model_key(const fl_train_config *c, int distill, const fl_synth_params *data, const char *teacher_key)
{
    sbuf b = {0};
    char *dk = sweep_synth_key(data);
    const fl_s2s_config *m = &c->model;
    add(&b, "fligru %s %s\n%s\n", FLIGRU_VERSION, distill ? "distill" : "train", dk ? dk : "?");
    free(dk);
    add(&b, "seed=%" PRIu64 " val_fraction=%.17g limit=%zu\n", c->seed, c->val_fraction, c->limit);
    add(&b, "model in=%d C=%d L=%d E=%d D=%d reset=%d act=%d order=%d\n", m->input, m->outputs, m->layers,
        m->enc_hidden, m->dec_hidden, (int)m->reset, (int)m->act, (int)m->order);
    add(&b, "epochs=%d batch=%zu lr=%.17g b1=%.17g b2=%.17g eps=%.17g loss=%d mae=%.17g clip=%.17g min_delta=%.17g\n",
        c->epochs, c->batch, c->adam.lr, c->adam.beta1, c->adam.beta2, c->adam.eps, (int)c->loss.kind,
        c->loss.mae_weight, c->clip_norm, c->min_delta);
    add(&b, "plateau=%d,%.17g,%.17g early=%d restore=%d time_limit=%.17g\n", c->plateau_patience, c->plateau_factor,
        c->min_lr, c->early_patience, c->restore_best, c->time_limit_s);
    if (c->qat)
        add(&b, "qat w=%d scale=%d bias=%d,%d state=%d,%d act=%d,%d\n", c->qat_p.weight_bits, (int)c->qat_p.weight_scale,
            c->qat_p.bias_bits, c->qat_p.bias_frac, c->qat_p.fq.state_bits, c->qat_p.fq.state_frac,
            c->qat_p.fq.act_bits, c->qat_p.fq.act_frac);
    if (distill) add(&b, "alpha=%.17g teacher=%s\n", c->alpha, teacher_key);
    return b.s;
}

int sweep_teacher_file_ok(const fl_sweep *s, const fl_sweep_point *p)
{
    if (!s->teacher_model[0] || access(s->teacher_model, R_OK) != 0) return 0;
    fl_s2s m;
    fl_st_file rest;
    if (fl_model_load(s->teacher_model, &m, &rest) != FL_OK) {
        fl_error_clear();
        return 0;
    }
    const char *g = fl_st_meta(&rest, "gates");
    int ok = m.cfg.outputs == fl_sweep_int(p, FL_AX_OUTPUTS) && m.cfg.input == 1 &&
             (!g || atoi(g) == fl_sweep_int(p, FL_AX_STEPS));
    fl_st_free(&rest);
    fl_s2s_free(&m);
    return ok;
}

fl_status sweep_point_ids(const fl_sweep *s, fl_sweep_point *p)
{
    fl_train_config c;
    fl_synth_params data;
    int distill;
    fl_status st;
    if ((st = sweep_synth_params(s, p, SWEEP_SET_TRAIN, &data)) || (st = sweep_train_config(s, p, 0, &c, &distill))) return st;
    char tkey[64] = "";
    p->teacher_id[0] = 0;
    if (distill) {
        if (sweep_teacher_file_ok(s, p)) {
            uint64_t h = 0;
            if ((st = fl_fx_file_hash(s->teacher_model, &h))) return st;
            snprintf(tkey, sizeof tkey, "file:%016" PRIx64, h);
        } else {
            fl_train_config tc;
            int td;
            if ((st = sweep_train_config(s, p, 1, &tc, &td))) return st;
            char *k = sweep_model_key(&tc, 0, &data, "");
            if (!k) return fl_fail(FL_E_NOMEM, "out of memory");
            fl_sweep_hash(k, p->teacher_id);
            free(k);
            snprintf(tkey, sizeof tkey, "model:%s", p->teacher_id);
        }
    }
    char *k = sweep_model_key(&c, distill, &data, tkey);
    if (!k) return fl_fail(FL_E_NOMEM, "out of memory");
    fl_sweep_hash(k, p->model_id);
    free(k);

    /* the result: the model, the format, the evaluation sets, the hardware point */
    sbuf b = {0};
    add(&b, "point model=%s\n", p->model_id);
    if (p->v[FL_AX_WEIGHT_BITS] > 0) {
        fl_fx_format f;
        char fs[512];
        if ((st = sweep_fx_format(s, p, &f))) return st;
        fl_fx_format_str(&f, fs, sizeof fs);
        add(&b, "fx %s\n", fs);
    }
    for (int w = SWEEP_SET_TEST; w <= SWEEP_SET_MONO; ++w) {
        if (w == SWEEP_SET_MONO && !s->mono_cfg[0]) break;
        fl_synth_params sp;
        if ((st = sweep_synth_params(s, p, (sweep_set)w, &sp))) {
            free(b.s);
            return st;
        }
        char *sk = sweep_synth_key(&sp);
        add(&b, "eval%d %s\n", w, sk ? sk : "?");
        free(sk);
    }
    add(&b, "dtw_band=%ld\n", s->dtw_band);
    uint64_t dh = 0;
    if ((st = fl_fx_file_hash(s->devices_path, &dh))) {
        free(b.s);
        return st;
    }
    add(&b, "devices=%016" PRIx64 " device=%s\n", dh, s->devices[fl_sweep_int(p, FL_AX_DEVICE)]);
    char hk[2048];
    sweep_hw_key(hk, sizeof hk);
    add(&b, "%s\n", hk);
    for (int a = 0; a < FL_AX_COUNT; ++a) add(&b, "%s=%.17g\n", fl_sweep_axis_name((fl_sweep_axis)a), a == FL_AX_DEVICE ? 0.0 : p->v[a]);
    if (!b.s) return fl_fail(FL_E_NOMEM, "out of memory");
    fl_sweep_hash(b.s, p->id);
    free(b.s);
    return FL_OK;
}

void sweep_row_prefix(const fl_sweep *s, const fl_sweep_point *p, size_t k, char *buf, size_t n)
{
    const int wb = fl_sweep_int(p, FL_AX_WEIGHT_BITS);
    const int seq2seq = fl_sweep_int(p, FL_AX_NETWORK) == 0;
    snprintf(buf, n, "%s,%zu,%s,%d,%d,%d,%d,%d,%d,%d,%s,%d,%d,%d,%d,%.6g,%s,%s,%d,%.6g", s->name, k,
             seq2seq ? "seq2seq" : "seq2seqlite", fl_sweep_int(p, FL_AX_ENC_HIDDEN), fl_sweep_int(p, FL_AX_DEC_HIDDEN),
             seq2seq ? 2 : 1, fl_sweep_int(p, FL_AX_OUTPUTS), wb, fl_sweep_int(p, FL_AX_STATE_BITS),
             fl_sweep_int(p, FL_AX_ACC_BITS), wb == 0 ? "float" : fl_sweep_int(p, FL_AX_ACT) ? "hard" : "table",
             fl_sweep_int(p, FL_AX_KD), fl_sweep_int(p, FL_AX_QAT), fl_sweep_int(p, FL_AX_LANES),
             fl_sweep_int(p, FL_AX_ENGINES), p->v[FL_AX_CLOCK_MHZ], s->devices[fl_sweep_int(p, FL_AX_DEVICE)],
             fl_sweep_int(p, FL_AX_DATAFLOW) ? "gate_major" : "pixel_major", fl_sweep_int(p, FL_AX_STEPS),
             p->v[FL_AX_GATE_WIDTH_NS]);
}

int sweep_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

double sweep_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
