// fligru_sched.svh - the schedule constants and rules that the RTL, the SystemC
// model (systemc/fligru_core.cpp) and the analytic timing model
// (bench/hw/hwmodel.c) share. This file is their one source: rtl/gen_headers.cmake
// turns each `localparam int` line into a C enum constant and each one-line
// `function` into a C function of the same name in the build's fligru_sched.h,
// so a change here changes all three. Keep to that one-line form, and to
// expressions C reads alike (integers, + - * /, ?:).
// Included inside the modules that use it.
localparam int SchedLat       = 18;  // last MAC beat of a phase issued -> its unit 1 retired, plus margin
localparam int SchedRetStage  = 11;  // post-processor stage that writes a new state (rescale, activations, update)
localparam int SchedPushStage = 16;  // stage of the output push: the dense head runs in stages RetStage+1..PushStage
localparam int SchedRetire    = 16;  // a phase's end -> the first word of its new state final, as a reader sees it
localparam int SchedOutqDepth = 4;   // output queue entries (fligru_outq)
localparam int SchedMinCtxUnits = 12;  // least (contexts between dependent phases) x H: else the post-processor overtakes itself
// Context count rule: phases in flight that hide SchedLat behind Q-beat phases,
// pixels in flight per engine (reset-before has two parts per step), and the
// context distance between the parts a and b of reset-before.
function automatic integer sched_groups(input integer q); sched_groups = 1 + (SchedLat + q - 1) / q; endfunction
function automatic integer sched_ctx(input integer q, input integer reset_after); sched_ctx = (reset_after != 0) ? 1 + (SchedLat + q - 1) / q : 2 * (1 + (SchedLat + q - 1) / q); endfunction
function automatic integer sched_delay(input integer ctx, input integer reset_after); sched_delay = (reset_after != 0) ? 0 : ctx / 2; endfunction
