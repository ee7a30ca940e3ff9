#!/usr/bin/python3
"""convert-keras.py - Keras / QKeras GRU Seq2Seq weights -> fligru model file (+ fixed-point config).

    convert-keras.py WEIGHTS.h5 OUT.safetensors [--fx-out FX.yaml] [--model-json CONFIG.json]
                     [--recurrent-activation A] [--quantizer ROLE=SPEC ...]
                     [--encoder NAME] [--decoder NAME] [--head NAME]

Reads the Seq2Seq layout of the paper's authors (their Keras 2 / QKeras code):

    encoder  GRU, QGRU, or RNN of stacked GRUCells, return_state=True   (teacher `encrnn`, student `sencgru`)
    decoder  the same, initial_state = the encoder's final states,      (`decrnn`, `sdecgru`)
             fed zeros, return_sequences=True
    head     Dense / QDense, or TimeDistributed(Dense)                   (`decdense`, `sdecdense`)

from any of the files Keras writes:
  - Keras 2 (tf.keras) HDF5: `model.save_weights("w.h5")` (root attribute
    layer_names) or `model.save("m.h5")` (group model_weights, and the model's
    JSON config in the root attribute model_config);
  - Keras 3 `model.save_weights("w.weights.h5")` (groups layers/<class>/.../vars)
    and `.keras` archives (config.json + model.weights.h5).

Mapping onto fligru (docs/model-files.md): Keras' kernel [I, 3H] and recurrent
kernel [H, 3H] hold the gates in the order z, r, h -> fligru weight_ih = kernel^T,
weight_hh = recurrent_kernel^T with gate_order "zrn". reset_after=True stores the
bias as [2, 3H] (input, recurrent) -> fligru reset-after, bias_ih and bias_hh;
reset_after=False stores one [3H] bias -> fligru reset-before, bias_ih (Keras then
computes n = act(W_h x + b_h + U_h (r*h)), exactly fligru's reset-before).
Recurrent activations: sigmoid -> sigmoid; QKeras' hard_sigmoid clip(x/2 + 1/2)
-> fligru's hard_sigmoid; Keras' own hard_sigmoid (Keras 2: clip(0.2x + 0.5),
Keras 3: clip(x/6 + 0.5)) -> fligru's hard_sigmoid with the z and r rows (weights
and biases) scaled by 0.4 or 1/3, which is the same function.

What the weights cannot tell (the recurrent activation, the quantisers) comes from
the model config (model_config in a Keras 2 model file, config.json in a .keras
archive, or --model-json with `model.to_json()`), else from options, else from
Keras' defaults (GRU: sigmoid; QGRU: QKeras' hard_sigmoid), each named on stderr.

With --fx-out, a QKeras model's quantisers become a fligru fixed-point config
(docs/fixed-point.md) that reproduces them as closely as the datapath can; every
place where it cannot be exact is listed on stderr and in the YAML's comments.

Needs numpy and h5py (python3-h5py); run with /usr/bin/python3. Exit status 0 on
success; 2 with one line `convert-keras: <layer or tensor>: <why>` on bad input
(an LSTM, a Bidirectional GRU, an input size fligru cannot take, ...), and then
no output file is written.
"""
import argparse
import ast
import importlib.util
import io
import json
import math
import os
import re
import sys
import zipfile
from collections import OrderedDict

import numpy as np

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("convert_torch", os.path.join(_here, "convert-torch.py"))
fl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fl)        # the fligru layout and writer, written once (numpy only)
Refusal = fl.Refusal

# Keras' hard sigmoid slopes (tf.keras backend.hard_sigmoid: 0.2x + 0.5; Keras 3
# activations.hard_sigmoid: relu6(x + 3) / 6; QKeras quantizers.hard_sigmoid:
# 0.5x + 0.5, which is fligru's). Scaling the r and z pre-activations by
# slope / 0.5 turns either into fligru's.
RECURRENT = {"sigmoid": ("sigmoid", 1.0), "hard_sigmoid_qkeras": ("hard_sigmoid", 1.0),
             "hard_sigmoid_keras2": ("hard_sigmoid", 0.4), "hard_sigmoid_keras3": ("hard_sigmoid", 1.0 / 3.0)}


def h5py_or_refuse():
    try:
        import h5py
        return h5py
    except ImportError:
        raise Refusal("reading HDF5 needs python3-h5py (scripts/install-deps.sh installs it)")


def s(x):
    return x.decode("utf8") if isinstance(x, bytes) else str(x)


# ---- reading Keras files into layers ------------------------------------------

class Layer:
    """One Keras layer's weights: kind 'rnn' (cells: [{kernel, recurrent_kernel, bias}])
    or 'dense' (kernel, bias), with its class from the config when known."""

    def __init__(self, name, kind, cls=None):
        self.name, self.kind, self.cls = name, kind, cls
        self.cells, self.dense, self.config = [], {}, {}


def role(path):
    """kernel / recurrent_kernel / bias from a Keras 2 weight name ('.../kernel:0')
    or this reader's Keras 3 name ('layers/gru/cell/vars/0:kernel')."""
    for base in reversed(path.split("/")[-1].split(":")):
        if base in ("kernel", "recurrent_kernel", "bias"):
            return base
    return None


def refuse_kind(lname, names, shapes):
    """LSTM and Bidirectional by their weight names or shapes."""
    low = " ".join(names).lower()
    if "forward_" in low or "backward_" in low:
        raise Refusal(f"layer {lname}: a Bidirectional RNN ({names[0]} ...): fligru's encoder and decoder run forward only")
    if "lstm" in low:
        raise Refusal(f"layer {lname}: an LSTM ({names[0]}): fligru runs GRUs")
    for n, sh in zip(names, shapes):
        if role(n) == "recurrent_kernel" and len(sh) == 2 and sh[1] == 4 * sh[0]:
            raise Refusal(f"layer {lname}: weight {n} has shape {list(sh)}: four gate blocks [H, 4H], an LSTM; "
                          f"fligru runs GRUs (three: z, r, h)")
        if role(n) == "recurrent_kernel" and (len(sh) != 2 or sh[1] != 3 * sh[0]):
            raise Refusal(f"layer {lname}: weight {n} has shape {list(sh)}, not a GRU's recurrent kernel [H, 3H]")


def layer_from_weights(lname, names, arrays):
    """Groups (name, array) pairs in Keras' weight order into cells or a dense layer."""
    refuse_kind(lname, names, [a.shape for a in arrays])
    roles = [role(n) for n in names]
    if None in roles:
        raise Refusal(f"layer {lname}: weight {names[roles.index(None)]}: not a kernel, recurrent kernel or bias "
                      f"(not part of the GRU Seq2Seq layout)")
    if "recurrent_kernel" in roles:
        L = Layer(lname, "rnn")
        for n, r, a in zip(names, roles, arrays):
            if r == "kernel":
                L.cells.append({"names": []})
            if not L.cells:
                raise Refusal(f"layer {lname}: weight {n} before any kernel")
            L.cells[-1][r] = np.asarray(a, dtype=np.float64)
            L.cells[-1]["names"].append(n)
        for c in L.cells:
            if "recurrent_kernel" not in c:
                raise Refusal(f"layer {lname}: cell {c['names'][0]} has no recurrent kernel")
        return L
    L = Layer(lname, "dense")
    for n, r, a in zip(names, roles, arrays):
        L.dense[r] = np.asarray(a, dtype=np.float64)
        L.dense.setdefault("names", []).append(n)
    if "kernel" not in L.dense or L.dense["kernel"].ndim != 2:
        raise Refusal(f"layer {lname}: no 2-d kernel: not a Dense layer")
    return L


def read_keras2(g, where):
    """Keras 2 HDF5 (tf_keras saving/legacy/hdf5_format.py save_weights_to_hdf5_group):
    attrs layer_names (model.layers order), one group per layer whose attrs
    weight_names list the datasets (paths like 'encrnn/stacked_rnn_cells/gru_cell/kernel:0'),
    in layer.weights order: kernel, recurrent_kernel, bias per cell."""
    layers = []
    for ln in (s(x) for x in g.attrs["layer_names"]):
        lg = g[ln]
        names = [s(x) for x in lg.attrs.get("weight_names", [])]
        if not names:
            continue                                   # InputLayer and friends
        layers.append(layer_from_weights(ln, names, [lg[n][()] for n in names]))
    return layers


def natural(name):
    m = re.match(r"^(.*?)(?:_(\d+))?$", name)
    return (m[1], int(m[2] or 0))


def read_keras3(f):
    """Keras 3 .weights.h5 (keras/src/saving/saving_lib.py: _save_state walks the
    model; a Functional's layers are a container whose entries are named by class,
    snake_case, numbered in model.layers order: layers/gru, layers/gru_1; each
    object's own variables are datasets "0", "1", ... of a group vars (H5Entry), in
    creation order (Layer.save_own_variables). An RNN's cell is its attribute cell
    (layers/gru/cell/vars); stacked cells are cell/cells/<class>[_n]; Dense is
    layers/dense/vars (kernel, bias); TimeDistributed is layers/<td>/layer/vars."""
    layers = []
    root = f["layers"]
    for ln in sorted(root.keys(), key=natural):
        found = []

        def visit(path, obj):
            if path.endswith("vars") and hasattr(obj, "keys") and len(obj):
                found.append(path)
        root[ln].visititems(visit)
        found.sort(key=lambda p: [natural(x) for x in p.split("/")])
        if not found:
            continue
        names, arrays = [], []
        for p in found:
            vg = root[ln][p]
            keys = sorted(vg.keys(), key=int)
            parts = p.split("/")
            if len(vg) == 2 and "cell" not in parts:                 # Dense: kernel, bias
                roles = ["kernel", "bias"]
            elif len(keys) in (2, 3) and vg["0"].ndim == 2 and vg["1"].ndim == 2:
                roles = ["kernel", "recurrent_kernel", "bias"][:len(keys)]
            elif len(keys) == 1:
                roles = ["kernel"]
            else:
                raise Refusal(f"layer {ln}: {p} holds {len(keys)} variables, not a GRU cell or a Dense layer")
            for k, r in zip(keys, roles):
                names.append(f"layers/{ln}/{p}/{k}:{r}")
                arrays.append(vg[k][()])
        layers.append(layer_from_weights(ln, names, arrays))
    return layers


def open_keras(path):
    """(layers, model config or None, Keras major version, description)."""
    h5py = h5py_or_refuse()
    cfg, fmt = None, None
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if "model.weights.h5" not in names:
                raise Refusal(f"{path}: a zip without model.weights.h5: not a .keras archive")
            cfg = json.loads(z.read("config.json")) if "config.json" in names else None
            data = io.BytesIO(z.read("model.weights.h5"))
        f = h5py.File(data, "r")
        fmt = ".keras archive (Keras 3)"
    else:
        try:
            f = h5py.File(path, "r")
        except OSError:
            raise Refusal(f"{path}: not an HDF5 file")
    with f:
        if "model_weights" in f and "layer_names" in f["model_weights"].attrs:
            if "model_config" in f.attrs:
                cfg = json.loads(s(f.attrs["model_config"]))
            ver = s(f.attrs.get("keras_version", f["model_weights"].attrs.get("keras_version", "2")))
            return read_keras2(f["model_weights"], path), cfg, int(ver.split(".")[0] or 2), \
                f"Keras {ver} HDF5 model (model.save)"
        if "layer_names" in f.attrs:
            ver = s(f.attrs.get("keras_version", "2"))
            return read_keras2(f, path), cfg, int(ver.split(".")[0] or 2), f"Keras {ver} HDF5 weights (save_weights)"
        if "layers" in f:
            return read_keras3(f), cfg, 3, fmt or "Keras 3 .weights.h5"
    raise Refusal(f"{path}: neither Keras 2 HDF5 (layer_names) nor Keras 3 weights (layers/.../vars)")


# ---- the model config (what the weights cannot tell) --------------------------

def config_layers(cfg):
    """{layer name: (class_name, config)} from a Keras model JSON (any nesting)."""
    out = {}

    def walk(node):
        if isinstance(node, dict):
            c = node.get("config")
            if "class_name" in node and isinstance(c, dict) and "name" in c:
                out.setdefault(c["name"], (node["class_name"], c))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(cfg)
    return out


def cell_configs(cls, c):
    """The GRU cell configs of a layer config: itself (GRU, QGRU) or RNN's cell(s)."""
    if cls in ("RNN",):
        cell = c.get("cell", {})
        inner = cell.get("config", {})
        if cell.get("class_name") == "StackedRNNCells" or "cells" in inner:
            return [(x["class_name"], x["config"]) for x in inner.get("cells", [])]
        return [(cell.get("class_name"), inner)]
    return [(cls, c)]


def parse_spec(spec):
    """A QKeras quantiser: {"class_name", "config"} (Keras JSON) or its constructor
    call as a string, 'quantized_bits(8,0,1,alpha=1)' (positional arguments in the
    constructor's order)."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        if "class_name" in spec:
            return spec["class_name"], dict(spec.get("config") or {})
        raise Refusal(f"quantiser {spec}: not a Keras serialisation")
    positional = {"quantized_bits": ("bits", "integer", "symmetric", "keep_negative", "alpha"),
                  "quantized_tanh": ("bits", "use_stochastic_rounding", "symmetric", "use_real_tanh")}
    try:
        node = ast.parse(str(spec).strip(), mode="eval").body
        if isinstance(node, ast.Name):
            return node.id, {}
        name = node.func.id
        conf = {k: ast.literal_eval(v) for k, v in zip(positional.get(name, ()), node.args)}
        conf.update({kw.arg: ast.literal_eval(kw.value) for kw in node.keywords})
        return name, conf
    except (SyntaxError, ValueError, AttributeError):
        raise Refusal(f"quantiser {spec!r}: not a QKeras constructor call such as quantized_bits(8,0,1,alpha=1)")


def act_name(a):
    if isinstance(a, dict):
        return a.get("class_name") if a.get("class_name") not in (None, "function") else a.get("config")
    return str(a) if a is not None else None


# ---- Keras layers -> fligru tensors -------------------------------------------

def cell_tensors(L, c, k, H, I_expected, slope_scale, where):
    """fligru weight_ih, weight_hh, bias_ih, bias_hh (or None) of one Keras cell."""
    K, U = c.get("kernel"), c["recurrent_kernel"]
    if U.shape != (H, 3 * H):
        raise Refusal(f"layer {L.name}: {c['names'][1] if len(c['names']) > 1 else 'recurrent kernel'} "
                      f"shape {list(U.shape)}, expected [{H}, {3 * H}] (cell {k})")
    if K is None or K.ndim != 2 or K.shape[1] != 3 * H:
        raise Refusal(f"layer {L.name}: {c['names'][0]}: kernel shape {list(K.shape) if K is not None else None}, "
                      f"expected [in, {3 * H}] (cell {k})")
    b = c.get("bias")
    if b is None:
        bi, bh = np.zeros(3 * H), None
    elif b.shape == (2, 3 * H):
        bi, bh = b[0], b[1]
    elif b.shape == (3 * H,):
        bi, bh = b, None
    else:
        raise Refusal(f"layer {L.name}: bias shape {list(b.shape)}: neither [3H] (reset_after=False) nor "
                      f"[2, 3H] (reset_after=True) for H = {H}")
    wi, wh = K.T.copy(), U.T.copy()
    bi = np.array(bi, dtype=np.float64)
    bh = None if bh is None else np.array(bh, dtype=np.float64)
    if slope_scale != 1.0:     # z and r rows: blocks 0 and 1 in Keras' z, r, h order
        for t in (wi, wh, bi) + (() if bh is None else (bh,)):
            t[:2 * H] *= slope_scale
    return wi, wh, bi, bh, b is not None and b.ndim == 2


def pick_rnns(args, layers, notes):
    """The encoder and decoder layers: --encoder/--decoder, else the names
    (enc*, dec*), else file order (noted). Refuses non-GRU recurrent layers."""
    rnns = [L for L in layers if L.kind == "rnn"]
    if len(rnns) != 2:
        raise Refusal(f"{args.inp}: {len(rnns)} recurrent layers ({', '.join(L.name for L in rnns) or 'none'}); "
                      f"the Seq2Seq layout has two, encoder and decoder")
    by = {L.name: L for L in layers}
    enc = by.get(args.encoder) if args.encoder else None
    dec = by.get(args.decoder) if args.decoder else None
    if args.encoder and enc is None or args.decoder and dec is None:
        raise Refusal(f"--encoder/--decoder: no layer {args.encoder if enc is None else args.decoder}")
    if enc is None or dec is None:
        e = [L for L in rnns if "enc" in L.name.lower()]
        d = [L for L in rnns if "dec" in L.name.lower()]
        if len(e) == 1 and len(d) == 1 and e[0] is not d[0]:
            enc, dec = enc or e[0], dec or d[0]
        else:
            enc, dec = enc or rnns[0], dec or rnns[1]
            notes.append(f"encoder = {enc.name}, decoder = {dec.name} (file order; --encoder/--decoder to choose)")
    return enc, dec


def shapes(enc, dec, notes):
    """Layers, E, D and the input size; refuses what fligru's datapath cannot take."""
    Lyr = len(enc.cells)
    if len(dec.cells) != Lyr:
        raise Refusal(f"layer {dec.name}: {len(dec.cells)} GRU cell(s), the encoder {enc.name} {Lyr}: fligru's "
                      f"decoder layer l starts from encoder layer l")
    E, D = enc.cells[0]["recurrent_kernel"].shape[0], dec.cells[0]["recurrent_kernel"].shape[0]
    I = enc.cells[0]["kernel"].shape[0]
    if not 1 <= I <= fl.MAX_IO:
        raise Refusal(f"layer {enc.name}: {enc.cells[0]['names'][0]} shape {list(enc.cells[0]['kernel'].shape)}: "
                      f"input size {I}; fligru takes 1..{fl.MAX_IO} features per step")
    if I != 1:
        notes.append(f"input size {I}: fligru predict and quantize run it; the RTL and fligru cosim take 1")
    return Lyr, E, D, I


def one_recurrent(args, enc, dec, cellcfg, is_q, major):
    """The one recurrent activation of the model, from every cell's config."""
    rec = set()
    for cc in cellcfg:
        for cls, c in cc:
            ra = act_name(c.get("recurrent_activation")) if c else None
            if args.recurrent_activation:
                rec.add(args.recurrent_activation)
            elif ra is None:
                rec.add("hard_sigmoid_qkeras" if is_q else "sigmoid")
            elif ra == "sigmoid":
                rec.add("sigmoid")
            elif ra == "hard_sigmoid":
                rec.add("hard_sigmoid_qkeras" if str(cls).startswith("Q") else f"hard_sigmoid_keras{major}")
            else:
                raise Refusal(f"layer {enc.name if cc is cellcfg[0] else dec.name}: recurrent_activation {ra!r}: "
                              f"fligru has sigmoid and hard_sigmoid")
            a = act_name(c.get("activation")) if c else None
            if a not in (None, "tanh") and not str(a).startswith("quantized_tanh"):
                raise Refusal(f"layer {enc.name if cc is cellcfg[0] else dec.name}: activation {a!r}: fligru's "
                              f"candidate activation is tanh")
    if len(rec) != 1:
        raise Refusal(f"recurrent activations {sorted(rec)}: fligru has one per model")
    return rec.pop()


def activations(args, enc, dec, major, notes):
    """Per-cell configs, QKeras or not, the recurrent activation and fligru's
    activation kind with the z/r slope that maps Keras' hard sigmoid onto it."""
    cellcfg = []
    for L in (enc, dec):
        cc = cell_configs(L.cls, L.config) if L.config else [(None, {})] * len(L.cells)
        if len(cc) != len(L.cells):
            raise Refusal(f"layer {L.name}: the config names {len(cc)} cells, the weights hold {len(L.cells)}")
        cellcfg.append(cc)
    is_q = any(("qgru" in n.lower()) for L in (enc, dec) for c in L.cells for n in c["names"]) or \
        any(str(cls).startswith("Q") for cc in cellcfg for cls, _ in cc)
    rec = one_recurrent(args, enc, dec, cellcfg, is_q, major)
    if not args.recurrent_activation and not any(c.get("recurrent_activation") for cc in cellcfg for _, c in cc):
        notes.append(f"recurrent activation {rec}: assumed ({'QGRU' if is_q else 'Keras GRU'} default; "
                     f"--recurrent-activation or --model-json to say)")
    activation, slope = RECURRENT[rec]
    if slope != 1.0:
        notes.append(f"{rec}: z and r rows scaled by {slope:.6g} so that fligru's clip(x/2 + 1/2) computes it")
    return cellcfg, is_q, rec, activation, slope


def gru_tensors(args, enc, dec, dims, cellcfg, slope, notes):
    """fligru's encoder/decoder tensors and the reset variant."""
    Lyr, E, D, I = dims
    t, variants = OrderedDict(), set()
    for L, stack, H in ((enc, "encoder", E), (dec, "decoder", D)):
        below = I
        for k, c in enumerate(L.cells):
            wi, wh, bi, bh, after = cell_tensors(L, c, k, H, below, slope, args.inp)
            variants.add(after if c.get("bias") is not None else None)
            if stack == "decoder" and k == 0 and wi.shape[1] != I:
                notes.append(f"{L.name} cell 0 kernel {list(c['kernel'].shape)} not carried: the decoder is fed "
                             f"zeros, so it never acts (fligru stores [{3 * H}, {I}] zeros)")
                wi = np.zeros((3 * H, I))
            elif wi.shape[1] != below:
                raise Refusal(f"layer {L.name}: cell {k} kernel {list(c['kernel'].shape)}: input size {wi.shape[1]}, "
                              f"expected {below}")
            t[f"{stack}.weight_ih_l{k}"], t[f"{stack}.weight_hh_l{k}"] = wi, wh
            t[f"{stack}.bias_ih_l{k}"] = bi
            if bh is not None:
                t[f"{stack}.bias_hh_l{k}"] = bh
            below = H
    variants.discard(None)
    if len(variants) > 1:
        raise Refusal("cells mix reset_after=True and False: fligru has one reset variant per model")
    if not variants:
        ra_cfg = [c.get("reset_after") for cc in cellcfg for _, c in cc if c]
        if not ra_cfg:
            raise Refusal(f"layer {enc.name}: no bias, so reset_after cannot be told from the weights (--model-json)")
        variants = {bool(ra_cfg[0])}
    reset = "after" if variants.pop() else "before"
    if reset == "after":        # cells without bias: zeros in both vectors
        for stack, H in (("encoder", E), ("decoder", D)):
            for k in range(Lyr):
                t.setdefault(f"{stack}.bias_hh_l{k}", np.zeros(3 * H))
    return t, reset


def bridge_and_head(args, dense, dims, t, notes):
    """The Dense(tanh) bridges (E != D) and the linear head into t; returns
    (head layer, bridge layers, C)."""
    Lyr, E, D, _ = dims
    bridge = [L for L in dense if L.dense["kernel"].shape == (E, D) and E != D]
    heads = [L for L in dense if L not in bridge and (not args.head or L.name == args.head)]
    if len(heads) != 1:
        raise Refusal(f"head: {len(heads)} Dense layers ({', '.join(L.name for L in heads) or 'none'}); "
                      f"the layout has one (--head names it)")
    head = heads[0]
    if head.dense["kernel"].shape[0] != D:
        raise Refusal(f"layer {head.name}: kernel shape {list(head.dense['kernel'].shape)}, expected [{D}, C]")
    if E != D:
        if len(bridge) != Lyr:
            raise Refusal(f"bridge: E = {E} != D = {D} needs {Lyr} Dense({D}, tanh) layers with [{E}, {D}] kernels, "
                          f"found {len(bridge)}")
        for k, L in enumerate(bridge):
            a = act_name(L.config.get("activation")) if L.config else None
            if a not in (None, "tanh"):
                raise Refusal(f"layer {L.name}: activation {a!r}: fligru's bridge is tanh(Dense)")
            t[f"bridge.{k}.weight"] = L.dense["kernel"].T
            t[f"bridge.{k}.bias"] = L.dense.get("bias", np.zeros(D))
        if not all(L.config for L in bridge):
            notes.append("bridge activation tanh assumed (no config)")
    ha = act_name(head.config.get("activation")) if head.config else None
    if ha not in (None, "linear"):
        raise Refusal(f"layer {head.name}: activation {ha!r}: fligru's head is linear")
    C = head.dense["kernel"].shape[1]
    t["dense.weight"] = head.dense["kernel"].T
    t["dense.bias"] = head.dense.get("bias", np.zeros(C))
    return head, bridge, C


def convert(args):
    layers, cfg, major, desc = open_keras(args.inp)
    if args.model_json:
        with open(args.model_json) as f:
            cfg = json.load(f)
    conf = config_layers(cfg) if cfg else {}
    notes, inexact = [], []
    for L in layers:
        if L.name in conf:
            L.cls, L.config = conf[L.name]
            if L.cls in ("LSTM", "QLSTM", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "SimpleRNN"):
                raise Refusal(f"layer {L.name}: {L.cls}: fligru runs forward GRUs")
    enc, dec = pick_rnns(args, layers, notes)
    dims = shapes(enc, dec, notes)
    Lyr, E, D, I = dims
    cellcfg, is_q, rec, activation, slope = activations(args, enc, dec, major, notes)
    t, reset = gru_tensors(args, enc, dec, dims, cellcfg, slope, notes)
    head, bridge, C = bridge_and_head(args, [L for L in layers if L.kind == "dense"], dims, t, notes)

    a = fl.Arch(I, C, Lyr, E, D, reset, activation, "zrn")
    fx = None
    if args.fx_out:
        fx = fx_config(args, cellcfg, head, is_q, inexact, notes, activation)
    cand_q = [act_name(c.get("activation")) for cc in cellcfg for _, c in cc if c]
    if any(str(x).startswith("quantized_tanh") for x in cand_q):
        inexact.append("float model: QKeras' quantized_tanh is a quantised hard tanh (2*hard_sigmoid(x) - 1 = "
                       "clip(x, -1, 1) unless use_real_tanh); fligru's float GRU computes tanh. The fixed-point "
                       "config reproduces it (tanh: kind hard)")
    meta = OrderedDict(source=os.path.basename(args.inp), source_format=desc,
                       source_sha256=fl.sha256(args.inp),
                       source_layers=f"encoder={enc.name},decoder={dec.name},head={head.name}"
                                     + (",bridge=" + "+".join(L.name for L in bridge) if E != D else ""),
                       source_recurrent_activation=rec, converter="scripts/convert-keras.py",
                       command=" ".join(["convert-keras.py"] + sys.argv[1:]))
    fl.refuse_existing_output_dir(args.out)
    if args.fx_out:
        fl.refuse_existing_output_dir(args.fx_out)
    fl.write_fligru(args.out, a, t, meta)
    if fx is not None:
        write_text(args.fx_out, fx)
    for n in notes:
        print(f"convert-keras: note: {n}", file=sys.stderr)
    for n in inexact:
        print(f"convert-keras: inexact: {n}", file=sys.stderr)
    print(f"convert-keras: {args.out}: {desc}, {Lyr}-layer {E}x{D}, input {I}, {C} outputs, reset-{reset}, "
          f"{activation}, zrn{', fixed-point config ' + args.fx_out if fx else ''}")


# ---- QKeras quantisers -> fligru fixed-point config ----------------------------

def q_format(name, q, what, inexact, signed_range):
    """(bits, frac) of a quantized_bits quantiser; lists what fligru cannot match.
    quantized_bits(bits, integer, symmetric, keep_negative, alpha) rounds x to the
    grid 2^-(bits-1-integer) (tf.round: half to even) and clips the code to
    [-2^(bits-1) + symmetric, 2^(bits-1) - 1]."""
    cls, c = q
    if cls != "quantized_bits":
        raise Refusal(f"{what}: quantiser {cls}: fligru maps quantized_bits only")
    bits, integer = int(c.get("bits", 8)), int(c.get("integer", 0))
    sym, neg = int(bool(c.get("symmetric", 0))), bool(c.get("keep_negative", True))
    alpha = c.get("alpha")
    frac = bits - 1 - integer
    if alpha not in (None, 1, 1.0):
        if isinstance(alpha, (int, float)) and alpha > 0 and math.log2(alpha).is_integer():
            frac -= int(math.log2(alpha))
        else:
            inexact.append(f"{what}: alpha={alpha!r} (per-channel or non-power-of-two scale); fligru uses its "
                           f"grid 2^-{frac} without it")
    if not neg:
        inexact.append(f"{what}: keep_negative=False (unsigned); fligru's formats are signed")
    if not 0 <= frac <= bits - 1:
        raise Refusal(f"{what}: quantized_bits({bits}, {integer}): binary point {frac} outside fligru's 0..{bits - 1}")
    lo_q = -(1 << (bits - 1)) + sym
    lo_f = -((1 << (bits - 1)) - 1) if signed_range == "symmetric" else -(1 << (bits - 1))
    if lo_q != lo_f:
        inexact.append(f"{what}: QKeras clips the code at {lo_q}, fligru at {lo_f} "
                       f"({'±(2^(b-1)-1)' if signed_range == 'symmetric' else 'saturation to -2^(b-1)'}): "
                       f"values at -{(1 << (bits - 1)) * 2.0 ** -frac:g} differ by one step")
    if c.get("use_stochastic_rounding"):
        inexact.append(f"{what}: stochastic rounding; fligru rounds half to even")
    return bits, frac


def fx_config(args, cellcfg, head, is_q, inexact, notes, activation):
    """The fligru fixed-point YAML reproducing the QKeras quantisers."""
    q = {}
    for cls, c in (x for cc in cellcfg for x in cc):
        for r in ("kernel", "recurrent", "bias", "state"):
            spec = c.get(f"{r}_quantizer") if c else None
            if spec is not None:
                q.setdefault(r, parse_spec(spec))
        a = c.get("activation") if c else None
        if a is not None and str(act_name(a)).startswith("quantized_tanh"):
            q.setdefault("activation", parse_spec(a if isinstance(a, dict) and "class_name" in a else act_name(a)))
    if head.config:
        for r in ("kernel", "bias"):
            if head.config.get(f"{r}_quantizer") is not None:
                q.setdefault(f"dense_{r}", parse_spec(head.config[f"{r}_quantizer"]))
    for spec in args.quantizer or []:
        r, _, v = spec.partition("=")
        if r not in ("kernel", "recurrent", "bias", "state", "activation", "dense_kernel", "dense_bias") or not v:
            raise Refusal(f"--quantizer {spec}: ROLE=SPEC with ROLE kernel, recurrent, bias, state, activation, "
                          f"dense_kernel or dense_bias")
        q[r] = parse_spec(v)
    if not q:
        raise Refusal(f"--fx-out: {args.inp} names no QKeras quantisers (a float Keras model: take a "
                      f"configs/fx-*.yaml, or give them with --model-json / --quantizer)")
    if not is_q:
        notes.append("--fx-out: quantisers from --quantizer on a model without QGRU layers")

    w = {r: q_format(r, q[r], f"{r}_quantizer", inexact, "symmetric")
         for r in ("kernel", "recurrent", "dense_kernel") if r in q}
    b = {r: q_format(r, q[r], f"{r}_quantizer", inexact, "saturate") for r in ("bias", "dense_bias") if r in q}
    if not w:
        raise Refusal("--fx-out: no kernel quantiser: fligru's weights need one format")
    wb, wf = max(w.values())
    for r, v in w.items():
        if v != (wb, wf):
            inexact.append(f"{r}_quantizer Q({v[0]},{v[1]}): fligru has one weight format, Q({wb},{wf}) for all")
    bb, bf = max(b.values()) if b else (16, 12)
    for r, v in b.items():
        if v != (bb, bf):
            inexact.append(f"{r}_quantizer Q({v[0]},{v[1]}): fligru has one bias format, Q({bb},{bf}) for all")
    if not b:
        inexact.append("no bias quantiser: QKeras keeps float biases; fligru rounds them to Q(16,12)")
    lines = [f"# fligru fixed-point config from the QKeras quantisers of {os.path.basename(args.inp)}",
             f"# written by scripts/convert-keras.py; docs/fixed-point.md explains every key.",
             f"name: qkeras-{os.path.splitext(os.path.basename(args.inp))[0]}",
             "rounding: half_even           # tf.round in QKeras' quantisers: half to even",
             f"weights: {{bits: {wb}, scale: fixed, frac: {wf}}}   # quantized_bits grid 2^-{wf}, codes ±(2^{wb - 1}-1)",
             f"bias: {{bits: {bb}, frac: {bf}}}"]
    if "state" in q:
        sb, sf = q_format("state", q["state"], "state_quantizer", inexact, "saturate")
        lines.append(f"state: {{bits: {sb}, frac: {sf}}}            # state_quantizer")
        inexact.append("state_quantizer: QKeras quantises h when the next step reads it and feeds the head the "
                       "unquantised h; fligru rounds h once into the state, which the head reads too")
    else:
        inexact.append("no state quantiser: QKeras carries a float state; fligru's is Q(24,22)")
    if "activation" in q:
        cls, c = q["activation"]
        if cls != "quantized_tanh":
            raise Refusal(f"activation: {cls}: fligru maps quantized_tanh")
        ab = int(c.get("bits", 8))
        lines.append(f"activation: {{bits: {ab}, frac: {ab - 1}}}      # quantized_tanh({ab}) grid 2^-{ab - 1}")
        if c.get("use_real_tanh"):
            lines.append("tanh: {kind: table, size: 1024, range: 4}   # use_real_tanh: the logistic tanh")
            inexact.append("quantized_tanh(use_real_tanh=True): tanh from a 1024-entry table, not exact tanh")
        else:
            lines.append("tanh: {kind: hard}            # quantized_tanh = clip(x, -1, 1) on the grid")
            if not c.get("symmetric"):
                inexact.append(f"quantized_tanh(symmetric=False) reaches -1; fligru's hard tanh stops at "
                               f"-(1 - 2^-{ab - 1})")
        inexact.append(f"recurrent activation: QKeras' hard_sigmoid output is float; fligru rounds r and z to "
                       f"the activation format Q({ab},{ab - 1}), and 1.0 saturates to 1 - 2^-{ab - 1}")
    else:
        inexact.append("no activation quantiser: QKeras computes tanh in float; fligru tables hold Q(16,14)")
    lines.append("sigmoid: {kind: hard}           # hard_sigmoid clip(x/2 + 1/2, 0, 1)"
                 if activation == "hard_sigmoid" else "sigmoid: {kind: table, size: 1024, range: 8}")
    inexact.append("gate pre-activations are rounded to Q(18,12) and the sample to Q(16,14); QKeras keeps them float")
    inexact.append("the head's output saturates to Q(16,14) (|y| < 2); QKeras' QDense output is float")
    lines.append("# Where this cannot reproduce QKeras exactly (also printed by the converter):")
    lines += [f"#  - {x}" for x in inexact]
    return "\n".join(lines) + "\n"


def write_text(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    ap = argparse.ArgumentParser(prog="convert-keras.py", description=__doc__.split("\n")[0],
                                 epilog="See docs/model-files.md, 'Bringing your model'.")
    ap.add_argument("inp", metavar="WEIGHTS.h5", help="Keras 2 .h5 (weights or model), Keras 3 .weights.h5 or .keras")
    ap.add_argument("out", metavar="OUT.safetensors")
    ap.add_argument("--fx-out", metavar="FX.yaml", help="QKeras: write the fligru fixed-point config here")
    ap.add_argument("--model-json", metavar="CONFIG.json", help="the model's JSON config (model.to_json())")
    ap.add_argument("--recurrent-activation", choices=sorted(RECURRENT),
                    help="when no config says: sigmoid, hard_sigmoid_qkeras (clip(x/2+1/2)), "
                         "hard_sigmoid_keras2 (clip(0.2x+0.5)), hard_sigmoid_keras3 (clip(x/6+0.5))")
    ap.add_argument("--quantizer", action="append", metavar="ROLE=SPEC",
                    help="a QKeras quantiser the file does not record, e.g. kernel='quantized_bits(8,0,1,alpha=1)'; "
                         "roles kernel, recurrent, bias, state, activation, dense_kernel, dense_bias")
    ap.add_argument("--encoder", help="the encoder layer's name (default: the one named *enc*, else the first)")
    ap.add_argument("--decoder", help="the decoder layer's name")
    ap.add_argument("--head", help="the Dense head's name")
    args = ap.parse_args()
    try:
        if not os.path.isfile(args.inp):
            raise Refusal(f"{args.inp}: no such file")
        convert(args)
    except Refusal as e:
        print(f"convert-keras: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
