// fligru_build.h - what one Verilated build of fligru_top was compiled with
// (the FLIGRU_TB_* macros that rtl/fligru_config.cmake derives from the same
// values as its -G parameters), its check against a vector set, and the memory
// map of its configuration port. Shared by every driver of a Verilated model:
// the RTL bench (tests/rtl/rtl_tb.cpp) and the co-simulation
// (systemc/cosim_main.cpp). Vector files are read through libfligru's one
// reader (fligru/vectors.h). Include it inside the driver's anonymous
// namespace, after its `[[noreturn]] void die(const std::string &)`.
#include "fligru/fixed.h"
#include "fligru/vectors.h"
#include "fligru_memmap.h"   // generated from rtl/fligru_memmap.svh: kMemMap[]

// ---- configuration compiled into this build -----------------------------------------
constexpr int H = FLIGRU_TB_HIDDEN;
constexpr int C = FLIGRU_TB_OUTPUTS;
constexpr int T = FLIGRU_TB_STEPS;
constexpr int P = FLIGRU_TB_LANES;
constexpr int E = FLIGRU_TB_ENGINES;
constexpr int W_X = FLIGRU_TB_INPUT_BITS;
constexpr int W_H = FLIGRU_TB_STATE_BITS;
constexpr int W_O = FLIGRU_TB_OUTPUT_BITS;

inline uint64_t mask(int w) { return w >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << w) - 1; }

// The low w bits of v as a signed value: the library's wrap (fixed.h).
inline int64_t sext(uint64_t v, int w) { return fl_fx_wrap((int64_t)v, w); }

// An open vector set, closed on scope exit.
struct VecSet {
    fl_vec_set vs{};
    explicit VecSet(const std::string &dir)
    {
        if (fl_vec_open(dir.c_str(), &vs)) {
            const std::string err = fl_error();
            fl_vec_close(&vs);
            die(err);
        }
    }
    ~VecSet() { fl_vec_close(&vs); }
    VecSet(const VecSet &) = delete;
    VecSet &operator=(const VecSet &) = delete;

    bool has(const std::string &file) const { return fl_vec_find(&vs, file.c_str()) != nullptr; }

    // All words of a hex file the manifest lists; `expect` (when non-zero) is
    // what this build needs, and a manifest that says otherwise stops the run.
    std::vector<uint64_t> read(const std::string &file, size_t expect = 0) const
    {
        uint64_t *w = nullptr;
        size_t n = 0;
        if (fl_vec_read(&vs, file.c_str(), &w, &n)) die(fl_error());
        std::vector<uint64_t> v(w, w + n);
        std::free(w);
        if (expect && n != expect)
            die(std::string(vs.dir) + "/" + file + ": " + std::to_string(n) + " words, this build needs " +
                std::to_string(expect));
        return v;
    }

    // Pixels of input.hex, whose shape must be [pixels;T;1] for this build.
    long pixels() const
    {
        const fl_vec_entry *e = fl_vec_find(&vs, "input.hex");
        if (!e || e->ndims != 3 || e->dims[1] != T || e->dims[2] != 1)
            die(std::string(vs.dir) + "/manifest.csv: input.hex: shape is not [pixels;" + std::to_string(T) +
                ";1] (T of this RTL build)");
        return e->dims[0];
    }
};

// The build's parameters against the vectors' format (fx_params.h): one line,
// `why` followed by the first field that differs.
inline void check_params(const VecSet &v, const std::string &why)
{
    const struct {
        const char *name;
        long rtl;
    } want[] = {
        {"INPUTS", 1},
        {"LAYERS", 1},
        {"ENC_HIDDEN", H},
        {"DEC_HIDDEN", H},
        {"OUTPUTS", C},
        {"RESET_AFTER", FLIGRU_TB_RESET_AFTER},
        {"GATES_ZRN", FLIGRU_TB_GATES_ZRN},
        {"ROUNDING", FLIGRU_TB_ROUNDING},
        {"IN_BITS", W_X},
        {"IN_FRAC", FLIGRU_TB_INPUT_FRAC},
        {"W_BITS", FLIGRU_TB_WEIGHT_BITS},
        {"W_FRAC", FLIGRU_TB_WEIGHT_FRAC},
        {"B_BITS", FLIGRU_TB_BIAS_BITS},
        {"B_FRAC", FLIGRU_TB_BIAS_FRAC},
        {"ACC_BITS", FLIGRU_TB_ACC_BITS},
        {"ACC_FRAC", FLIGRU_TB_ACC_FRAC},
        {"MULT_BITS", FLIGRU_TB_MULT_BITS},
        {"GATE_BITS", FLIGRU_TB_GATE_BITS},
        {"GATE_FRAC", FLIGRU_TB_GATE_FRAC},
        {"ACT_BITS", FLIGRU_TB_ACT_BITS},
        {"ACT_FRAC", FLIGRU_TB_ACT_FRAC},
        {"STATE_BITS", W_H},
        {"STATE_FRAC", FLIGRU_TB_STATE_FRAC},
        {"OUT_BITS", W_O},
        {"OUT_FRAC", FLIGRU_TB_OUTPUT_FRAC},
        {"SIGMOID_TABLE", !FLIGRU_TB_SIGMOID_HARD},
        {"TANH_TABLE", !FLIGRU_TB_TANH_HARD},
        {"SIGMOID_SIZE_LOG2", FLIGRU_TB_SIGMOID_HARD ? -1 : FLIGRU_TB_SIGMOID_SIZE_LOG2},
        {"SIGMOID_RANGE_LOG2", FLIGRU_TB_SIGMOID_HARD ? -1 : FLIGRU_TB_SIGMOID_RANGE_LOG2},
        {"TANH_SIZE_LOG2", FLIGRU_TB_TANH_HARD ? -1 : FLIGRU_TB_TANH_SIZE_LOG2},
        {"TANH_RANGE_LOG2", FLIGRU_TB_TANH_HARD ? -1 : FLIGRU_TB_TANH_RANGE_LOG2},
    };
    for (const auto &w : want) {
        if (w.rtl == -1) continue;   // a table size of a hard kind: not a parameter of the build
        long have = 0;
        if (fl_vec_param_get(&v.vs, w.name, &have))
            die(std::string(v.vs.dir) + "/fx_params.h: no FL_FX_" + w.name);
        if (have != w.rtl)
            die(why + "FL_FX_" + w.name + " = " + std::to_string(have) + ", the RTL was built with " +
                std::to_string(w.rtl));
    }
}

// The memories to load through the configuration port, in selector order:
// those the vector set has (b_hh only for reset-after, tables only for table
// kinds: check_params has matched those flags to the build already).
inline std::vector<std::pair<int, std::vector<uint64_t>>> config_memories(const VecSet &v)
{
    std::vector<std::pair<int, std::vector<uint64_t>>> mems;
    for (const auto &m : kMemMap) {
        if (!v.has(m.file)) {
            if (!m.optional) die(std::string(v.vs.dir) + "/manifest.csv: no " + m.file);
            continue;
        }
        mems.emplace_back(m.sel, v.read(m.file));
    }
    return mems;
}
