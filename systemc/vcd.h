// vcd.h - a minimal VCD writer for the SystemC model's side of a co-simulation
// trace: integer signals sampled once per cycle, a value written only when it
// changes. (The Verilated RTL writes its own FST.)
#ifndef FLIGRU_SC_VCD_H
#define FLIGRU_SC_VCD_H

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace flsc {

class Vcd {
  public:
    ~Vcd() { close(); }
    void add(const std::string &name, int width, std::function<uint64_t()> get)
    {
        sigs_.push_back({name, width, std::move(get), ~UINT64_C(0), id((int)sigs_.size())});
    }
    bool open(const std::string &path, const std::string &scope)
    {
        f_ = std::fopen(path.c_str(), "w");
        if (!f_) return false;
        std::fprintf(f_, "$timescale 1ns $end\n$scope module %s $end\n", scope.c_str());
        for (const auto &s : sigs_) std::fprintf(f_, "$var wire %d %s %s $end\n", s.width, s.id.c_str(), s.name.c_str());
        std::fprintf(f_, "$upscope $end\n$enddefinitions $end\n");
        return true;
    }
    bool is_open() const { return f_ != nullptr; }
    void dump(uint64_t t)
    {
        if (!f_) return;
        bool stamped = false;
        for (auto &s : sigs_) {
            uint64_t v = s.get();
            if (s.width < 64) v &= (UINT64_C(1) << s.width) - 1;
            if (v == s.last) continue;
            if (!stamped) std::fprintf(f_, "#%llu\n", (unsigned long long)t), stamped = true;
            s.last = v;
            if (s.width == 1) {
                std::fprintf(f_, "%d%s\n", (int)v, s.id.c_str());
            } else {
                char b[72];
                int n = 0;
                for (int i = s.width - 1; i >= 0; --i) b[n++] = (char)('0' + ((v >> i) & 1));
                b[n] = 0;
                std::fprintf(f_, "b%s %s\n", b, s.id.c_str());
            }
        }
    }
    void close()
    {
        if (f_) std::fclose(f_);
        f_ = nullptr;
    }

  private:
    struct Sig {
        std::string name;
        int width;
        std::function<uint64_t()> get;
        uint64_t last;
        std::string id;
    };
    static std::string id(int i)
    {
        std::string s;
        do {
            s += (char)('!' + i % 90);
            i /= 90;
        } while (i);
        return s;
    }
    std::vector<Sig> sigs_;
    std::FILE *f_ = nullptr;
};

}  // namespace flsc

#endif
