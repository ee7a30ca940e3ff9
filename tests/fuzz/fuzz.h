/* fuzz.h - shared by the libFuzzer harnesses (tests/fuzz/fuzz_<reader>.c).
 *
 * fligru's readers take file names, so each input is written to an in-memory
 * file (memfd) and read back through /proc/self/fd/N: no disk traffic, no
 * temporary files left behind by a crashing run. */
#ifndef FLIGRU_FUZZ_H
#define FLIGRU_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Path of a file holding exactly data[0..n) (the same file on every call). */
const char *fuzz_file(const uint8_t *data, size_t n);

/* Runs a float model (n sequences of T steps) / a quantised one on a fixed
 * input when loading it succeeded: the loaders' checks must make any
 * accepted file safe to run. Cheap models only: the input bounds the work. */
void fuzz_forward_float(const void *fl_s2s_model);
void fuzz_forward_fx(const void *fl_fx_model_q);

#endif
