// fligru_core.cpp - see fligru_core.h. Each block names the RTL file and
// signal it follows; register widths that wrap in the RTL (16-bit batch
// numbers, 24-bit phase numbers) wrap here too.
#include "fligru_core.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace flsc {

namespace {
constexpr uint32_t M24 = 0xffffffu;
constexpr size_t kTrajSets = 4;           // trajectory sets kept (oldest evicted)
constexpr uint32_t kChunk = 256;          // preloaded pixels per set
constexpr size_t kSetWords = 8u << 20;    // at most 32 MB per set

// The batched kernels run on this thread only: the model is one simulation
// thread, and OpenMP's team start-up costs more than a small batch computes.
struct OneThread {
    int saved = omp_get_max_threads();
    OneThread() { omp_set_num_threads(1); }
    ~OneThread() { omp_set_num_threads(saved); }
    OneThread(const OneThread &) = delete;
    OneThread &operator=(const OneThread &) = delete;
};
}  // namespace

const char *arith_name(Arith a)
{
    return a == Arith::ref ? "ref" : a == Arith::batch ? "batch" : "fast";
}

bool arith_parse(const std::string &s, Arith *a)
{
    if (s == "ref") *a = Arith::ref;
    else if (s == "batch") *a = Arith::batch;
    else if (s == "fast") *a = Arith::fast;
    else return false;
    return true;
}

std::string check(const Params &p)
{
    const int rows = 3 * p.hidden;
    if (p.hidden < 2 || p.hidden > 85) return "Hidden must be in 2..85";
    if (p.lanes < 1 || p.lanes > rows) return "Lanes (P) must be in 1..3*Hidden";
    if (p.engines < 1 || p.engines > kMaxEngines) return "Engines must be in 1..16";
    if (p.steps < 2 || p.steps > 4096) return "Steps must be in 2..4096";
    if (p.outputs < 1 || p.outputs > kMaxOutputs) return "Outputs must be in 1..16";
    if (p.input_bits < 2 || p.input_bits > 32) return "InputBits must be in 2..32";
    if (p.interleave != 0 &&
        (p.interleave < 2 || (!p.reset_after && (p.interleave % 2 != 0 || p.interleave < 4))))
        return "Interleave must be 0 (auto), >= 2, and for reset-before even and >= 4";
    const Derived d = derive(p);
    if ((p.reset_after ? d.ctx : d.delay) * p.hidden < SchedMinCtxUnits)
        return "Interleave too small for Hidden: the post-processor pipeline would overtake itself";
    if (d.ctx > kMaxCtx) return "Interleave above 64 (this model's limit)";
    return "";
}

Derived derive(const Params &p)
{
    Derived d;
    d.rows = 3 * p.hidden;
    d.tasks = d.rows * p.hidden;
    d.q = (d.tasks + p.lanes - 1) / p.lanes;
    // The context count rule of rtl/fligru_sched.svh (generated fligru_sched.h).
    d.g = sched_groups(d.q);
    d.ctx = p.interleave > 0 ? p.interleave : sched_ctx(d.q, p.reset_after);
    d.delay = sched_delay(d.ctx, p.reset_after);
    d.slots = d.ctx * p.engines;
    return d;
}

Core::Core(const Params &p, const fl_fx_model *q) : p_(p), d_(derive(p)), q_model_(q), arith_(p.arith)
{
    // The batched kernels need samples within the model's input width.
    if (!q_model_ || q_model_->fmt.input.bits < p_.input_bits) arith_ = Arith::ref;
    // fast: the batched kernels only where they beat the scalar reference on
    // this model's format (e.g. 16-bit weights take the kernels' 64-bit path).
    if (arith_ == Arith::fast) {
        using clk = std::chrono::steady_clock;
        const int H = p_.hidden, n = 32;
        std::vector<int32_t> h((size_t)n * H, 0), x((size_t)n, 0);
        double tb = 1e9, tr = 1e9;
        OneThread one;
        for (int k = 0; k < 3; ++k) {
            auto t0 = clk::now();
            fl_fx_enc_step(q_model_, 0, (size_t)n, x.data(), h.data());
            auto t1 = clk::now();
            for (int i = 0; i < n; ++i) fl_fx_enc_step_ref(q_model_, 0, &x[(size_t)i], &h[(size_t)i * H], nullptr);
            auto t2 = clk::now();
            tb = std::min(tb, std::chrono::duration<double>(t1 - t0).count());
            tr = std::min(tr, std::chrono::duration<double>(t2 - t1).count());
        }
        if (tb >= tr) arith_ = Arith::ref;
    }
    dln_ = d_.delay > 0 ? d_.delay : 1;
    pixid_.assign(2 * (size_t)d_.slots, 0);
    dl_.assign((size_t)dln_, Part{});
    if (q_model_) {
        x_.assign(2 * (size_t)d_.slots * p_.steps, 0);
        h_.assign((size_t)d_.slots * p_.hidden, 0);
        tmp_.assign((size_t)p_.hidden, 0);
        on_.assign((size_t)d_.slots, 0);
    }
    reset();
}

void Core::preload(const int32_t *x, size_t n)
{
    if (!batched() || arith_ != Arith::fast) return;
    pre_x_.assign(x, x + n * (size_t)p_.steps);
    pre_n_ = (uint32_t)n;
    traj_.clear();
}

Core::Rec Core::lookup(uint32_t pixel) const
{
    for (size_t k = traj_.size(); k-- > 0;) {
        const Traj &s = traj_[k];
        if (pixel - s.first < s.n) return Rec{&s, pixel - s.first};
    }
    return Rec{};
}

// Trajectories of n pixels (samples x [n][T]): 2T + 1 batched calls.
bool Core::make_traj(uint32_t first, uint32_t n, const int32_t *x)
{
    const int H = p_.hidden, T = p_.steps, C = p_.outputs;
    const size_t nh = (size_t)n * H;
    Traj s;
    s.first = first;
    s.n = n;
    s.x.assign(x, x + (size_t)n * T);
    s.enc.resize(nh * T);
    s.dec.resize(nh * T);
    s.y.resize((size_t)n * T * C);
    std::vector<int32_t> h(nh, 0), hd(nh), v(n);
    OneThread one;
    for (int t = 0; t < T; ++t) {
        for (uint32_t i = 0; i < n; ++i) v[i] = x[(size_t)i * T + t];
        if (fl_fx_enc_step(q_model_, 0, n, v.data(), h.data())) return false;
        for (uint32_t i = 0; i < n; ++i)
            std::memcpy(&s.enc[((size_t)i * T + t) * H], &h[(size_t)i * H], (size_t)H * sizeof(int32_t));
    }
    for (uint32_t i = 0; i < n; ++i) fl_fx_bridge_ref(q_model_, 0, &h[(size_t)i * H], &hd[(size_t)i * H]);
    for (int t = 0; t < T; ++t) {
        if (fl_fx_dec_step(q_model_, 0, n, nullptr, hd.data())) return false;
        for (uint32_t i = 0; i < n; ++i)
            std::memcpy(&s.dec[((size_t)i * T + t) * H], &hd[(size_t)i * H], (size_t)H * sizeof(int32_t));
    }
    // the dense head on every decoder state at once: [n][T][H] -> [n][T][C]
    if (fl_fx_dense(q_model_, (size_t)n * T, s.dec.data(), s.y.data())) return false;
    if (traj_.size() == kTrajSets) traj_.erase(traj_.begin());
    traj_.push_back(std::move(s));
    ++st_.traj_sets;
    return true;
}

void Core::reset()
{
    st_ = Stats{};
    ld_b_ = 0;
    ld_s_ = ld_e_ = ld_c_ = ld_t_ = pix_ = 0;
    nvalid_[0] = nvalid_[1] = 0;
    batch_ = 0;
    ph_ = beat_ = rem_ = k0_ = ctx_ = u_ = 0;
    adv_ = bubble_ = false;
    cur_a_ = cur_b_ = Part{};
    for (auto &x : dl_) x = Part{};
    dl_act_ = 0;
    r_valid_ = m_valid_ = s_valid_ = false;
    r_first_ = m_first_ = s_first_ = false;
    r_last_ = m_last_ = s_last_ = false;
    r_desc_ = m_desc_ = s_desc_ = Desc{};
    rb_cnt_ = 0;
    rb_desc_ = Desc{};
    for (auto &s : pipe_) s = Stage{};
    pc_ = 0;
    for (auto &t : tags_) t = Tag{};
    tc_ = 0;
    ret_ph_ = ret_units_ = 0;
    ret_batch_ = 0;
    for (int e = 0; e < kMaxEngines; ++e) qwp_[e] = qrp_[e] = 0;
    traj_.clear();
    for (auto &o : on_) o = 0;
    comb();
}

int32_t Core::dbg_h(int e) const
{
    if (!q_model_) return 0;
    const Stage &r = *c_.r;
    return h_[((size_t)r.d.b.ctx * p_.engines + e) * p_.hidden + r.j];
}

void Core::comb()
{
    comb_ctrl();
    comb_pp();
}

// fligru_ctrl: what the loader accepts, the phase a beat issues, and whether
// the scoreboard lets it (its operands retired).
void Core::comb_ctrl()
{
    Comb &c = c_;
    const int H = p_.hidden, E = p_.engines, T = p_.steps;
    const bool RA = p_.reset_after;

    // ---- fligru_ctrl ----
    c.in_ready = (uint16_t)(ld_b_ - batch_) <= 1 && (uint16_t)(ld_b_ - ret_batch_) <= 1;
    c.c0 = beat_ == 0;
    c.last_beat = beat_ == (uint32_t)(d_.q - 1);
    const bool enc_step = u_ < (uint32_t)T;
    const uint32_t t_new = enc_step ? u_ : u_ - (uint32_t)T;
    const bool pend_b = !RA && dl_act_ != 0;
    const uint32_t ctx_last = ctx_ * E + E - 1;
    const bool same_batch = ld_b_ == batch_;
    const bool data_ok = !enc_step || !same_batch || ld_s_ > ctx_last || (ld_s_ == ctx_last && ld_t_ > t_new);
    c.start_bubble = !RA && !bubble_ && ctx_ == 0 && u_ == 0 && !data_ok && pend_b;
    c.is_bubble = bubble_ || c.start_bubble;
    c.a_new = Part{};
    if (!c.is_bubble) {
        uint16_t vm = 0;
        for (int e = 0; e < E; ++e) {
            const uint32_t s = ctx_ * E + (uint32_t)e;
            const bool v = !same_batch ? s < nvalid_[batch_ & 1] : (s < ld_s_ || (s == ld_s_ && ld_t_ != 0));
            vm |= (uint16_t)(v << e);
        }
        c.a_new.vmask = vm;
        c.a_new.act = vm != 0;
        c.a_new.ctx = (uint8_t)ctx_;
        c.a_new.dec = !enc_step;
        c.a_new.t = (uint16_t)t_new;
        c.a_new.first = u_ == 0;
        c.a_new.batch = batch_;
    }
    c.b_new = RA ? c.a_new : dl_[(size_t)dln_ - 1];
    c.a_cur = c.c0 ? c.a_new : cur_a_;
    c.b_cur = c.c0 ? c.b_new : cur_b_;

    // scoreboard
    const uint32_t need_h = (ph_ - (uint32_t)d_.ctx + (uint32_t)d_.delay) & M24;
    const uint32_t need_rh = (ph_ - (uint32_t)d_.delay) & M24;
    const uint32_t kidx = c.c0 ? 1 : k0_ + 1;
    const bool rd = c.c0 || adv_;
    const uint32_t dh = (need_h - ret_ph_) & M24, drh = (need_rh - ret_ph_) & M24;
    const bool ok_h = !rd || !c.a_cur.act || c.a_cur.first || kidx >= (uint32_t)H || (dh >> 23) ||
                      (dh == 0 && kidx < ret_units_);
    const bool ok_rh = RA || !rd || !c.b_cur.act || kidx >= (uint32_t)H || (drh >> 23) ||
                       (drh == 0 && kidx < ret_units_);
    c.data_wait = c.c0 && !c.is_bubble && !data_ok;
    c.issue_ok = ok_h && ok_rh && !c.data_wait;
}

// fligru_ppctrl and fligru_outq: the post-processor's enables, the retiring
// stage, the output queue's state; busy over the whole datapath.
void Core::comb_pp()
{
    Comb &c = c_;
    const int E = p_.engines;
    const bool pend_b = !p_.reset_after && dl_act_ != 0;
    c.p0_valid = rb_cnt_ != 0;
    bool full = false, any = false;
    c.head_e = 0;
    for (int e = E - 1; e >= 0; --e) {
        const uint32_t n = (qwp_[e] - qrp_[e]) & 7;
        full |= n == SchedOutqDepth;
        if (n) {
            any = true;
            c.head_e = e;
        }
    }
    c.t16 = &tag(SchedPushStage);
    c.pp_en = !(c.t16->v && full);
    c.rb_free = rb_cnt_ == 0 || (rb_cnt_ == 1 && c.pp_en);
    c.mac_en = !(s_valid_ && s_last_ && !c.rb_free);
    c.fire = c.mac_en && c.issue_ok;
    c.r = &stage(SchedRetStage);
    c.ret_valid = c.r->valid && c.pp_en;
    c.ret_dense = c.r->valid && c.r->d.b.act && c.r->d.b.dec;
    c.push = c.t16->v && c.pp_en;
    c.out_valid = any;
    const uint32_t base = (c.r->d.b.batch & 1) ? (uint32_t)d_.slots : 0u;
    for (int e = 0; e < E; ++e) c.pid[e] = pixid_[base + c.r->d.b.ctx * (uint32_t)E + (uint32_t)e];

    bool pp_busy = c.p0_valid;
    for (int k = 1; k <= SchedRetStage; ++k) pp_busy |= stage(k).valid;
    for (int k = SchedRetStage + 1; k <= SchedPushStage; ++k) pp_busy |= tag(k).v;
    const bool ctrl_busy = ld_b_ != batch_ || ld_s_ != 0 || ld_t_ != 0 || pend_b || u_ != 0;
    c.busy = ctrl_busy || pp_busy || any;
}

void Core::step_values(const Part &b)
{
    const int H = p_.hidden, E = p_.engines, T = p_.steps;
    const bool bat = batched();
    const size_t par = (size_t)(b.batch & 1);
    for (int e = 0; e < E; ++e) {
        if (!((b.vmask >> e) & 1)) continue;
        const size_t slot = (size_t)b.ctx * E + e;
        int32_t *h = &h_[slot * H];
        const int32_t *xs = &x_[(par * d_.slots + slot) * T];   // the slot's samples [T]
        if (bat) {
            const uint32_t pix = pixid_[par * d_.slots + slot];
            if (!b.dec && b.first) {
                // A new pixel: follow a trajectory if one exists or can be made.
                Rec r = lookup(pix);
                if (!r.s && pix < pre_n_) {
                    const uint32_t per = (uint32_t)T * (2u * H + (uint32_t)p_.outputs + 1u);
                    uint32_t n = std::min<uint32_t>(pre_n_ - pix, kChunk);
                    n = std::max<uint32_t>(1, std::min<uint32_t>(n, (uint32_t)(kSetWords / per)));
                    make_traj(pix, n, &pre_x_[(size_t)pix * T]);
                } else if (!r.s && ld_b_ != b.batch) {
                    // The batch is closed (all its samples in): its slots from
                    // this one on, while their pixel numbers are consecutive.
                    uint32_t n = 1;
                    while (slot + n < nvalid_[par] && pixid_[par * d_.slots + slot + n] == pix + n) ++n;
                    make_traj(pix, n, xs);
                }
                on_[slot] = lookup(pix).s != nullptr;
            }
            if (on_[slot]) {
                const Rec r = lookup(pix);
                if (r.s && (b.dec || r.s->x[(size_t)r.i * T + b.t] == xs[b.t])) {
                    const std::vector<int32_t> &v = b.dec ? r.s->dec : r.s->enc;
                    std::memcpy(h, &v[((size_t)r.i * T + b.t) * H], (size_t)H * sizeof *h);
                    ++st_.steps_batched;
                    continue;
                }
                on_[slot] = 0;   // another sample, or the set was evicted: the refs go on from h
            }
        }
        ++st_.steps_ref;
        if (!b.dec) {
            if (b.first) std::memset(h, 0, (size_t)H * sizeof *h);
            fl_fx_enc_step_ref(q_model_, 0, &xs[b.t], h, nullptr);
        } else {
            if (b.t == 0) {   // docs §4.6: the decoder starts from the bridge (a copy when E == D)
                fl_fx_bridge_ref(q_model_, 0, h, tmp_.data());
                std::memcpy(h, tmp_.data(), (size_t)H * sizeof *h);
            }
            fl_fx_dec_step_ref(q_model_, 0, nullptr, h, nullptr);
        }
    }
}

// Statistics of the cycle that ends at this edge.
void Core::count_cycle(const Comb &c)
{
    ++st_.cycles;
    if (c.fire) {
        ++st_.beats;
        st_.active_engine_beats += (uint64_t)__builtin_popcount((unsigned)(c.a_cur.vmask | c.b_cur.vmask));
    } else if (!c.mac_en) {
        ++st_.stall_output;
    } else if (c.data_wait) {
        if (ld_b_ != batch_ || ld_s_ != 0 || ld_t_ != 0 || u_ != 0) ++st_.stall_input;
        else ++st_.idle;
    } else {
        ++st_.stall_operand;
    }
}

// fligru_outq: pop the lowest non-empty engine, push the beat of the push stage.
void Core::tick_outq(const In &in, const Comb &c)
{
    if (in.out_ready && c.out_valid) ++qrp_[c.head_e];
    if (!c.push) return;
    const Tag &t = *c.t16;
    for (int e = 0; e < p_.engines; ++e) {
        if (!((t.mask >> e) & 1)) continue;
        Beat &b = q_[e][qwp_[e] & 3];
        b.pixel = t.pid[e];
        b.step = t.t;
        std::memcpy(b.y, t.y[e], sizeof b.y);
        ++qwp_[e];
    }
}

// fligru_ppctrl: the output tag entering the dense stages (with the dense
// head's result, when the retiring unit is a decoder step's last).
void Core::tick_tags(const Comb &c, const Stage &r)
{
    const int H = p_.hidden, E = p_.engines, T = p_.steps;
    ++tc_;
    Tag &t = tag(SchedRetStage + 1);
    t.v = c.ret_dense && r.j == H - 1;
    t.mask = r.d.b.vmask;
    t.t = r.d.b.t;
    std::memcpy(t.pid, c.pid, sizeof t.pid);
    if (!t.v || !q_model_) return;
    for (int e = 0; e < E; ++e) {
        if (!((t.mask >> e) & 1)) continue;
        const size_t slot = (size_t)r.d.b.ctx * E + e;
        const Rec rec = batched() && on_[slot] ? lookup(t.pid[e]) : Rec{};
        if (rec.s)
            std::memcpy(t.y[e], &rec.s->y[((size_t)rec.i * T + t.t) * p_.outputs], (size_t)p_.outputs * sizeof(int32_t));
        else
            fl_fx_dense_ref(q_model_, &h_[slot * H], t.y[e]);
    }
}

// fligru_ppctrl: the retire position (ret_*_q) and the shift P0 -> P1.
void Core::tick_retire(const Comb &c, const Stage &r)
{
    const int H = p_.hidden;
    if (r.valid) {
        if (r.j == H - 1) {
            ret_ph_ = (r.d.ph + 1) & M24;
            ret_units_ = 0;
        } else {
            ret_ph_ = r.d.ph;
            ret_units_ = r.j + 1u;
        }
        if (r.d.b.act) {
            ret_batch_ = r.d.b.batch;
            if (r.j == H - 1) st_.pixel_steps += (uint64_t)__builtin_popcount(r.d.b.vmask);
        }
    }
    ++pc_;
    Stage &s1 = stage(1);
    s1.valid = c.p0_valid;
    s1.j = (uint8_t)(H - (int)rb_cnt_);
    s1.d = rb_desc_;
}

// The row buffer's count, then fligru_ctrl's MAC control pipeline I -> R -> M -> S.
void Core::tick_mac_pipe(const Comb &c)
{
    const bool s_load = c.mac_en && s_valid_ && s_last_;
    if (s_load) {
        rb_cnt_ = (uint32_t)p_.hidden;
        rb_desc_ = s_desc_;
    } else if (c.p0_valid && c.pp_en) {
        --rb_cnt_;
    }
    if (!c.mac_en) return;
    s_valid_ = m_valid_; s_first_ = m_first_; s_last_ = m_last_; s_desc_ = m_desc_;
    m_valid_ = r_valid_; m_first_ = r_first_; m_last_ = r_last_; m_desc_ = r_desc_;
    r_valid_ = c.fire;   r_first_ = c.c0;     r_last_ = c.last_beat;
    r_desc_.ph = ph_;
    r_desc_.a = c.a_cur;
    r_desc_.b = c.b_cur;
}

// fligru_ctrl: the phase sequencer, on a beat that fires.
void Core::tick_sequencer(const Comb &c)
{
    if (!c.fire) return;
    if (c.c0) {
        cur_a_ = c.a_new;
        cur_b_ = c.b_new;
        if (!p_.reset_after) {
            for (int i = dln_ - 1; i >= 1; --i) dl_[(size_t)i] = dl_[(size_t)i - 1];
            dl_[0] = c.a_new;
            dl_act_ = ((dl_act_ << 1) | (uint64_t)c.a_new.act) & (dln_ >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << dln_) - 1);
        }
        if (c.start_bubble) bubble_ = true;
    }
    if (c.last_beat) {
        beat_ = rem_ = k0_ = 0;
        adv_ = false;
        ph_ = (ph_ + 1) & M24;
        if (ctx_ != (uint32_t)d_.ctx - 1) {
            ++ctx_;
            return;
        }
        ctx_ = 0;
        if (c.is_bubble) bubble_ = false;
        else if (u_ == (uint32_t)(2 * p_.steps - 1)) {
            u_ = 0;
            ++batch_;
        } else {
            ++u_;
        }
        return;
    }
    ++beat_;
    adv_ = rem_ + (uint32_t)p_.lanes >= (uint32_t)d_.rows;
    if (adv_) {
        rem_ = rem_ + (uint32_t)p_.lanes - (uint32_t)d_.rows;
        ++k0_;
    } else {
        rem_ += (uint32_t)p_.lanes;
    }
}

// fligru_ctrl: the input loader, on a sample the datapath takes.
void Core::tick_loader(const In &in, const Comb &c)
{
    if (!(in.in_valid && c.in_ready)) return;
    const int E = p_.engines, T = p_.steps;
    if (ld_t_ == 0) pixid_[(ld_b_ & 1) * (uint32_t)d_.slots + ld_s_] = pix_;
    if (q_model_)   // the sample as the datapath reads it: its input_bits, sign-extended
        x_[(((size_t)(ld_b_ & 1) * d_.ctx + ld_c_) * E + ld_e_) * T + ld_t_] =
            (int32_t)fl_fx_wrap((int64_t)in.in_data, p_.input_bits);
    if (ld_t_ != (uint32_t)T - 1) {
        ++ld_t_;
        return;
    }
    ld_t_ = 0;
    ++pix_;
    if (in.in_last || ld_s_ == (uint32_t)d_.slots - 1) {
        nvalid_[ld_b_ & 1] = ld_s_ + 1;
        ++ld_b_;
        ld_s_ = ld_e_ = ld_c_ = 0;
        return;
    }
    ++ld_s_;
    if (ld_e_ == (uint32_t)E - 1) {
        ld_e_ = 0;
        ++ld_c_;
    } else {
        ++ld_e_;
    }
}

// One clock edge: every register of the RTL moves as fligru_top's do, each
// block reading the combinational values c_ of the cycle that ends here.
void Core::tick(const In &in)
{
    const Comb c = c_;
    count_cycle(c);
    tick_outq(in, c);
    const Stage r = *c.r;   // the retiring stage before the edge
    if (c.pp_en) {
        tick_tags(c, r);
        tick_retire(c, r);
    }
    tick_mac_pipe(c);
    tick_sequencer(c);
    tick_loader(in, c);
    // The new retiring stage: a part b's unit 0 brings the step's new state.
    if (c.pp_en && q_model_) {
        const Stage &n = stage(SchedRetStage);
        if (n.valid && n.j == 0 && n.d.b.act) step_values(n.d.b);
    }
    comb();
}

}  // namespace flsc
