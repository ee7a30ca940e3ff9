/* cli.h - the fligru command-line tool: one program, git-style subcommands.
 *
 * Each subcommand lives in cmd_<name>.c as `int cmd_<name>(int argc, char **argv)`
 * (argv[0] is the subcommand name), parses its options with getopt_long,
 * answers --help, and returns the process exit status: 0 success,
 * 2 bad input (the one-line message already printed), 1 other failure.
 */
#ifndef FLIGRU_CLI_H
#define FLIGRU_CLI_H

#include "fligru/status.h"

int cmd_info(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_vectors(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_distill(int argc, char **argv);
/* The shared driver of train (distill = 0) and distill (1), in cmd_train.c. */
int cli_train_main(int argc, char **argv, int distill);

/* Prints "fligru: <fl_error()>" on stderr and returns the exit status for st. */
int cli_fail(fl_status st);
/* Prints "fligru <cmd>: <msg>" plus a --help hint and returns 2 (usage error). */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a --threads value; returns 0 and sets *n, or -1. */
int cli_parse_threads(const char *s, int *n);

#endif
