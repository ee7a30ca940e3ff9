// tb_common.h - what the Verilator bench (tests/rtl/rtl_tb.cpp) and the
// three-way co-simulation (systemc/cosim_main.cpp) read alike from a `fligru
// vectors` directory: the configuration compiled into the bench, hex files,
// fx_params.h and its check against that configuration, and the memory map of
// the configuration port (rtl/fligru_memmap.svh). Included inside the bench's
// anonymous namespace, after the FLIGRU_TB_* definitions (rtl/fligru_config.cmake)
// and the bench's own `[[noreturn]] void die(const std::string &)`.

// ---- configuration compiled into this bench ---------------------------------------
constexpr int H = FLIGRU_TB_HIDDEN;
constexpr int C = FLIGRU_TB_OUTPUTS;
constexpr int T = FLIGRU_TB_STEPS;
constexpr int P = FLIGRU_TB_LANES;
constexpr int E = FLIGRU_TB_ENGINES;
constexpr int W_X = FLIGRU_TB_INPUT_BITS;
constexpr int W_H = FLIGRU_TB_STATE_BITS;
constexpr int W_O = FLIGRU_TB_OUTPUT_BITS;

uint64_t mask(int w) { return w >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << w) - 1; }

int64_t sext(uint64_t v, int w)
{
    v &= mask(w);
    const uint64_t s = UINT64_C(1) << (w - 1);
    return (int64_t)(v ^ s) - (int64_t)s;
}

std::vector<uint64_t> read_hex(const std::string &path, size_t expect)
{
    std::ifstream f(path);
    if (!f) die("cannot open " + path);
    std::vector<uint64_t> v;
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty()) continue;
        v.push_back(std::strtoull(line.c_str(), nullptr, 16));
    }
    if (expect && v.size() != expect)
        die(path + ": " + std::to_string(v.size()) + " words, expected " + std::to_string(expect));
    return v;
}

bool exists(const std::string &path) { return (bool)std::ifstream(path); }

std::map<std::string, long> read_params(const std::string &path)
{
    std::ifstream f(path);
    if (!f) die("cannot open " + path);
    std::map<std::string, long> m;
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream s(line);
        std::string def, name;
        long v;
        if (s >> def >> name >> v && def == "#define") m[name] = v;
    }
    return m;
}

// The RTL build's parameters against the vectors' format: one line, `why`
// followed by the first field that differs.
void check_params(const std::string &dir, const std::string &why)
{
    auto p = read_params(dir + "/fx_params.h");
    const struct {
        const char *name;
        long rtl;
    } want[] = {
        {"FL_FX_INPUTS", 1},
        {"FL_FX_LAYERS", 1},
        {"FL_FX_ENC_HIDDEN", H},
        {"FL_FX_DEC_HIDDEN", H},
        {"FL_FX_OUTPUTS", C},
        {"FL_FX_RESET_AFTER", FLIGRU_TB_RESET_AFTER},
        {"FL_FX_GATES_ZRN", FLIGRU_TB_GATES_ZRN},
        {"FL_FX_ROUNDING", FLIGRU_TB_ROUNDING},
        {"FL_FX_IN_BITS", W_X},
        {"FL_FX_IN_FRAC", FLIGRU_TB_INPUT_FRAC},
        {"FL_FX_W_BITS", FLIGRU_TB_WEIGHT_BITS},
        {"FL_FX_W_FRAC", FLIGRU_TB_WEIGHT_FRAC},
        {"FL_FX_B_BITS", FLIGRU_TB_BIAS_BITS},
        {"FL_FX_B_FRAC", FLIGRU_TB_BIAS_FRAC},
        {"FL_FX_ACC_BITS", FLIGRU_TB_ACC_BITS},
        {"FL_FX_ACC_FRAC", FLIGRU_TB_ACC_FRAC},
        {"FL_FX_MULT_BITS", FLIGRU_TB_MULT_BITS},
        {"FL_FX_GATE_BITS", FLIGRU_TB_GATE_BITS},
        {"FL_FX_GATE_FRAC", FLIGRU_TB_GATE_FRAC},
        {"FL_FX_ACT_BITS", FLIGRU_TB_ACT_BITS},
        {"FL_FX_ACT_FRAC", FLIGRU_TB_ACT_FRAC},
        {"FL_FX_STATE_BITS", W_H},
        {"FL_FX_STATE_FRAC", FLIGRU_TB_STATE_FRAC},
        {"FL_FX_OUT_BITS", W_O},
        {"FL_FX_OUT_FRAC", FLIGRU_TB_OUTPUT_FRAC},
        {"FL_FX_SIGMOID_TABLE", !FLIGRU_TB_SIGMOID_HARD},
        {"FL_FX_TANH_TABLE", !FLIGRU_TB_TANH_HARD},
    };
    for (const auto &w : want) {
        auto it = p.find(w.name);
        if (it == p.end()) die(dir + "/fx_params.h: no " + w.name);
        if (it->second != w.rtl)
            die(why + w.name + " = " + std::to_string(it->second) + ", the RTL was built with " +
                std::to_string(w.rtl));
    }
    if (!FLIGRU_TB_SIGMOID_HARD && (p["FL_FX_SIGMOID_SIZE_LOG2"] != FLIGRU_TB_SIGMOID_SIZE_LOG2 ||
                                    p["FL_FX_SIGMOID_RANGE_LOG2"] != FLIGRU_TB_SIGMOID_RANGE_LOG2))
        die(why + "sigmoid table size/range differ from the RTL's");
    if (!FLIGRU_TB_TANH_HARD && (p["FL_FX_TANH_SIZE_LOG2"] != FLIGRU_TB_TANH_SIZE_LOG2 ||
                                 p["FL_FX_TANH_RANGE_LOG2"] != FLIGRU_TB_TANH_RANGE_LOG2))
        die(why + "tanh table size/range differ from the RTL's");
}

// Configuration-port selectors and the hex file each memory is loaded from.
const struct {
    int sel;
    const char *file;
} kMems[] = {
    {0, "enc_l0_w_ih.hex"},       {1, "enc_l0_w_ih_mult.hex"},  {2, "enc_l0_w_ih_shift.hex"},
    {3, "enc_l0_w_hh.hex"},       {4, "enc_l0_w_hh_mult.hex"},  {5, "enc_l0_w_hh_shift.hex"},
    {6, "enc_l0_b_ih.hex"},       {7, "enc_l0_b_hh.hex"},       {8, "dec_l0_w_hh.hex"},
    {9, "dec_l0_w_hh_mult.hex"},  {10, "dec_l0_w_hh_shift.hex"}, {11, "dec_l0_b_ih.hex"},
    {12, "dec_l0_b_hh.hex"},      {13, "dense_w.hex"},          {14, "dense_w_mult.hex"},
    {15, "dense_w_shift.hex"},    {16, "dense_b.hex"},          {17, "act_sigmoid.hex"},
    {18, "act_tanh.hex"},
};
