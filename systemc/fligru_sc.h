// fligru_sc.h - the SystemC module around flsc::Core: fligru_top's ports,
// one SC_METHOD per rising clock edge (and the asynchronous reset), so the
// model drops into a SystemC netlist beside the Verilated RTL. Handshake and
// status ports are sc_signals; the wide payloads (out_data, dbg_h, dbg_pixel)
// are read through core() in the same delta as the ports, so they need no
// run-time-sized port types.
#ifndef FLIGRU_SC_MODULE_H
#define FLIGRU_SC_MODULE_H

#include "fligru_core.h"

#include <systemc>

namespace flsc {

SC_MODULE(FligruSc)
{
    sc_core::sc_in<bool> clk_i, rst_ni;
    sc_core::sc_in<bool> in_valid_i, in_last_i, out_ready_i;
    sc_core::sc_in<uint32_t> in_data_i;
    sc_core::sc_out<bool> in_ready_o, out_valid_o, dbg_beat_o, busy_o;
    sc_core::sc_out<uint32_t> out_pixel_o, out_step_o, dbg_valid_o;

    FligruSc(sc_core::sc_module_name nm, const Params &p, const fl_fx_model *q) : sc_module(nm), core_(p, q)
    {
        SC_METHOD(on_edge);
        sensitive << clk_i.pos() << rst_ni.neg();
        dont_initialize();
    }
    SC_HAS_PROCESS(FligruSc);

    const Core &core() const { return core_; }
    Core &core() { return core_; }      // for preload() before the simulation starts

  private:
    void on_edge()
    {
        if (!rst_ni.read()) {
            core_.reset();
        } else if (clk_i.posedge()) {
            In in;
            in.in_valid = in_valid_i.read();
            in.in_data = in_data_i.read();
            in.in_last = in_last_i.read();
            in.out_ready = out_ready_i.read();
            core_.tick(in);
        }
        in_ready_o.write(core_.in_ready());
        out_valid_o.write(core_.out_valid());
        out_pixel_o.write(core_.out_pixel());
        out_step_o.write(core_.out_step());
        dbg_valid_o.write(core_.dbg_valid());
        dbg_beat_o.write(core_.dbg_beat());
        busy_o.write(core_.busy());
    }
    Core core_;
};

}  // namespace flsc

#endif
