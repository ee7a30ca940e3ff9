/* cmd_distill.c - `fligru distill CONFIG.yaml --teacher T.safetensors -o S.safetensors`:
 * knowledge distillation. The loop, options and checkpoints are those of `fligru
 * train` (cmd_train.c); the config may carry a `distill:` section (alpha,
 * teacher_cache) and the loss gains the teacher term (docs/training.md). */
#include "cli.h"

int cmd_distill(int argc, char **argv) { return cli_train_main(argc, argv, 1); }
