/* fligru/model_io.h - Seq2Seq models as safetensors files that PyTorch reads too.
 *
 * A model file holds the parameters of an fl_s2s under PyTorch's names, float32,
 * and its configuration in "__metadata__", so that one file rebuilds the network
 * here and in PyTorch (bench/speed/peer_torch.py; docs/model-files.md):
 *
 *   encoder.weight_ih_l{k} [3E, I or E]   encoder.weight_hh_l{k} [3E, E]
 *   encoder.bias_ih_l{k}   [3E]           encoder.bias_hh_l{k}   [3E]  (reset-after only)
 *   decoder.* likewise with D (layer 0's input size is 1: the zero input)
 *   bridge.{k}.weight [D, E], bridge.{k}.bias [D]                      (only when E != D)
 *   dense.weight [C, D], dense.bias [C]
 *
 * Metadata written by fligru (all strings): "format" = "fligru-seq2seq",
 * "version" = "1", "input", "outputs", "layers", "enc_hidden", "dec_hidden",
 * "reset" = after|before, "activation" = sigmoid|hard_sigmoid, "gate_order" =
 * rzn|zrn; then the caller's provenance keys (command, seed, data hash, ...).
 *
 * Training state travels in the same file as extra tensors whose names start with
 * "optim." or "train." (Adam moments, step counter): fl_model_load returns them
 * when asked and otherwise skips them, so a checkpoint is also a model. Any
 * other unknown tensor is an error.
 *
 *     // save: parameters, provenance, Adam state
 *     fl_meta_kv kv[] = {{"command", "fligru train cfg.yaml"}, {"seed", "42"}};
 *     fl_st_tensor ex[] = {{.name = "optim.m", .dtype = FL_ST_F32, .ndim = 1,
 *                           .shape = {m.n_params}, .data = adam_m}};
 *     fl_model_save("ckpt.safetensors", &m, kv, 2, ex, 1);
 *
 *     // resume: the model, plus the metadata and the optim./train. tensors
 *     fl_s2s m2;  fl_st_file rest;
 *     if (fl_model_load("ckpt.safetensors", &m2, &rest) != FL_OK) die(fl_error());
 *     const fl_st_tensor *am = fl_st_find(&rest, "optim.m");  // NULL when absent
 *     const char *seed = fl_st_meta(&rest, "seed");
 *     ... fl_st_free(&rest);  fl_s2s_free(&m2);
 *
 * Loading checks the format and version, the configuration (fl_s2s_config_check),
 * then every tensor: present, F32, the expected shape, finite. Messages name the
 * file and the tensor, e.g.
 *     model.safetensors: tensor decoder.weight_hh_l0: shape [96,31], expected [96,32]
 *
 * Other model kinds (quantised integer models) use other "format" values; a
 * program dispatches on fl_st_meta(&file, "format") and calls fl_model_from_st
 * for FL_MODEL_FORMAT (see cmd_predict.c).
 */
#ifndef FLIGRU_MODEL_IO_H
#define FLIGRU_MODEL_IO_H

#include <stddef.h>
#include "fligru/safetensors.h"
#include "fligru/seq2seq.h"
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_MODEL_FORMAT  "fligru-seq2seq"
#define FL_MODEL_VERSION 1

/* Writes m (and extra tensors, names "optim.*" / "train.*") atomically. meta
 * holds provenance; the keys fligru writes itself are reserved. meta / extra may
 * be NULL when their count is 0. */
fl_status fl_model_save(const char *path, const fl_s2s *m,
                        const fl_meta_kv *meta, size_t nmeta,
                        const fl_st_tensor *extra, size_t nextra);

/* Reads a model into m (initialised here; fl_s2s_free it). When rest is not NULL
 * it receives the file's metadata and its "optim."/"train." tensors (fl_st_free
 * it). On failure nothing needs freeing. */
fl_status fl_model_load(const char *path, fl_s2s *m, fl_st_file *rest);

/* The model inside an already-loaded file (path names it in messages). Tensors
 * starting with "optim." / "train." are ignored; other unknown tensors fail. */
fl_status fl_model_from_st(const fl_st_file *f, const char *path, fl_s2s *m);

/* The configuration from metadata alone (checks format, version and every key). */
fl_status fl_model_config(const fl_st_file *f, const char *path, fl_s2s_config *c);

/* 1 when name belongs to training state ("optim." or "train." prefix). */
int fl_model_is_extra(const char *name);

#ifdef __cplusplus
}
#endif
#endif
