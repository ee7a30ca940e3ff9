// fligru_desc.svh: the descriptor of one phase (one MAC pass of Q cycles),
// carried from the issue stage through the ring to the post-processor.
// Included inside modules that define Engines, CTXW and STEPW.
//
// Part a: the rows stepped with operand h of context a.ctx (reset-after: all
// 3H rows; reset-before: the r and z rows). Part b: the rows whose state
// update this phase completes (reset-after: the same context as a;
// reset-before: the n rows of the context whose r, z pass ran Delay phases
// earlier, operand r ⊙ h).
typedef struct packed {
  logic               act;     // at least one engine holds a pixel in this context
  logic [Engines-1:0] vmask;   // per engine: the slot holds a pixel
  logic [CTXW-1:0]    ctx;     // context (interleaved sequence) index
  logic               dec;     // decoder step (else encoder)
  logic [STEPW-1:0]   t;       // step within the encoder or the decoder
  logic               first;   // encoder step 0: the old state is zero
  logic [15:0]        batch;   // batch number; batch[0] selects the input buffer
} part_t;

typedef struct packed {
  logic [23:0] ph;             // global phase number (wraps; compared modulo 2^24)
  part_t       a;
  part_t       b;
} desc_t;

localparam int PART_W = 1 + Engines + CTXW + 1 + STEPW + 1 + 16;
localparam int DESC_W = 24 + 2 * PART_W;
