// Proves the SystemC link (C++17 ABI) and that the C library's extern "C"
// headers compile as C++: the two things every later SystemC file relies on.
#include <systemc>
#include <cstdio>
#include "fligru/status.h"

SC_MODULE(Tick) {
  sc_core::sc_in<bool> clk;
  int n = 0;
  void on_clk() { ++n; }
  SC_CTOR(Tick) { SC_METHOD(on_clk); sensitive << clk.pos(); dont_initialize(); }
};

int sc_main(int, char **) {
  sc_core::sc_clock clk("clk", 10.0, sc_core::SC_NS);
  Tick t("t");
  t.clk(clk);
  sc_core::sc_start(100.0, sc_core::SC_NS);
  if (t.n != 10) { std::printf("expected 10 edges, got %d\n", t.n); return 1; }
  std::printf("systemc ok: %d edges, fligru status %s\n", t.n, fl_status_name(FL_OK));
  return 0;
}
