#!/usr/bin/python3
"""convert-torch.py - PyTorch Seq2Seq state_dicts <-> fligru model files.

    convert-torch.py IN OUT.safetensors [--activation A] [--gate-order O] [...]
    convert-torch.py --to-torch M.safetensors OUT.pt

The first form reads a PyTorch state_dict (a `torch.save` file, or a safetensors
file) of the Seq2Seq layout fligru runs (docs/model-files.md):

    encoder   nn.GRU(I, E, L)                 <enc>.weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}
    bridge    tanh(nn.Linear(E, D)) per layer <bridge>.{k}.weight, .bias      (only when E != D)
    decoder   nn.GRU(any, D, L), fed zeros,   <dec>.weight_ih_l{k}, ...
              starts from the encoder's (bridged) final states
    head      nn.Linear(D, C) at every step   <head>.weight, <head>.bias

infers I, E, D, L, C and the reset variant from the tensor shapes (a layer without
bias_hh is reset-before: fligru's own PyTorch module writes those) and writes a
fligru model file with the full metadata and the source recorded (`source_*`
keys). What shapes cannot tell comes from options: the recurrent activation
(--activation, default PyTorch's sigmoid) and the gate order (--gate-order,
default PyTorch's r,z,n); a fligru model file given as IN supplies both.

The second form writes OUT.pt (a state_dict with fligru's tensor names) and
OUT.py beside it: a small module definition, torch only, that rebuilds the
network exactly, including the reset-before cell nn.GRU lacks, so training can
go on in PyTorch:

    import importlib.util, torch
    spec = importlib.util.spec_from_file_location("m", "OUT.py")
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    net = m.load()                  # Seq2Seq with OUT.pt's weights; net(x [B,T,I]) -> [B,T,C]

Run with Debian's interpreter, /usr/bin/python3 (python3-torch, python3-numpy).
The safetensors and fligru-format helpers below need numpy only; Keras' converter
(convert-keras.py) imports them from here, so the fligru layout is written once.

Exit status 0 on success; 2 with one line `convert-torch: <what>: <why>` on bad
input (another architecture: an LSTM, a bidirectional GRU, an input size fligru
cannot take, ...), and then no output file is written.
"""
import argparse
import hashlib
import json
import os
import re
import struct
import sys
from collections import OrderedDict

import numpy as np

FORMAT = "fligru-seq2seq"
VERSION = "1"
# fligru's limits (models/src/seq2seq.c, fl_s2s_config_check).
MAX_LAYERS, MAX_HIDDEN, MAX_IO = 4, 4096, 4096
RESERVED = ("format", "version", "input", "outputs", "layers", "enc_hidden", "dec_hidden",
            "reset", "activation", "gate_order")


class Refusal(Exception):
    """Bad input: one line, exit status 2, no output."""


# ---- safetensors (docs/model-files.md "The container") ------------------------

ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
             "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2",
             "U8": "u1", "BOOL": "?"}


def read_safetensors(path):
    """({name: np.ndarray} in file order, {metadata})."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise Refusal(f"{path}: {len(raw)} bytes, not a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise Refusal(f"{path}: header length {n} exceeds the file: not a safetensors file")
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError:
        raise Refusal(f"{path}: header is not valid JSON: not a safetensors file")
    meta = header.pop("__metadata__", {}) or {}
    data = memoryview(raw)[8 + n:]
    out = OrderedDict()
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        if e["dtype"] not in ST_DTYPES:
            raise Refusal(f"{path}: tensor {name}: dtype {e['dtype']} (fligru models are F32)")
        b, end = e["data_offsets"]
        a = np.frombuffer(data[b:end], dtype=np.dtype(ST_DTYPES[e["dtype"]]))
        out[name] = a.reshape(e["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors, meta):
    """tensors: {name: float32 array} in order; atomic (temporary name, rename)."""
    header, blobs, off = OrderedDict(__metadata__=meta), [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- the fligru layout (mirrors models/src/model_io.c, list_tensors) ----------

class Arch:
    """A fligru Seq2Seq configuration: the metadata keys of docs/model-files.md."""

    def __init__(self, input, outputs, layers, enc_hidden, dec_hidden, reset="after",
                 activation="sigmoid", gate_order="rzn"):
        self.input, self.outputs, self.layers = input, outputs, layers
        self.enc_hidden, self.dec_hidden = enc_hidden, dec_hidden
        self.reset, self.activation, self.gate_order = reset, activation, gate_order

    @classmethod
    def from_meta(cls, meta, path):
        if meta.get("format") != FORMAT:
            what = f"format {meta['format']!r}" if "format" in meta else "no fligru __metadata__"
            hint = " (a quantised model: convert the float model it came from)" \
                if meta.get("format") == "fligru-fx-seq2seq" else ""
            raise Refusal(f"{path}: {what}, expected {FORMAT!r}{hint}")
        if meta.get("version") != VERSION:
            raise Refusal(f"{path}: format version {meta.get('version')!r}; this converter reads {VERSION}")
        try:
            return cls(*(int(meta[k]) for k in RESERVED[2:7]), reset=meta["reset"],
                       activation=meta["activation"], gate_order=meta["gate_order"])
        except (KeyError, ValueError) as e:
            raise Refusal(f"{path}: __metadata__ {e}: missing or not a count")

    def meta(self):
        m = OrderedDict(format=FORMAT, version=VERSION)
        for k in RESERVED[2:]:
            m[k] = str(getattr(self, k))
        return m

    def as_dict(self):
        return {k: getattr(self, k) for k in RESERVED[2:]}

    def check(self, where):
        """fligru's own limits, so that every file written here loads."""
        for key, v, hi in (("input", self.input, MAX_IO), ("outputs", self.outputs, MAX_IO),
                           ("layers", self.layers, MAX_LAYERS), ("enc_hidden", self.enc_hidden, MAX_HIDDEN),
                           ("dec_hidden", self.dec_hidden, MAX_HIDDEN)):
            if not 1 <= v <= hi:
                raise Refusal(f"{where}: {key} {v}: fligru takes 1..{hi}")
        if self.reset not in ("after", "before") or self.activation not in ("sigmoid", "hard_sigmoid") \
                or self.gate_order not in ("rzn", "zrn"):
            raise Refusal(f"{where}: reset {self.reset}, activation {self.activation}, gate order "
                          f"{self.gate_order}: not a fligru variant")


def fligru_layout(a):
    """OrderedDict name -> shape of every tensor of a fligru model, in file order.
    The decoder's layer-0 weight_ih is [3D, I] although its input is zero."""
    t = OrderedDict()
    for stack, H in (("encoder", a.enc_hidden), ("decoder", a.dec_hidden)):
        below = a.input
        for k in range(a.layers):
            t[f"{stack}.weight_ih_l{k}"] = (3 * H, below)
            t[f"{stack}.weight_hh_l{k}"] = (3 * H, H)
            t[f"{stack}.bias_ih_l{k}"] = (3 * H,)
            if a.reset == "after":
                t[f"{stack}.bias_hh_l{k}"] = (3 * H,)
            below = H
    if a.enc_hidden != a.dec_hidden:
        for k in range(a.layers):
            t[f"bridge.{k}.weight"] = (a.dec_hidden, a.enc_hidden)
            t[f"bridge.{k}.bias"] = (a.dec_hidden,)
    t["dense.weight"] = (a.outputs, a.dec_hidden)
    t["dense.bias"] = (a.outputs,)
    return t


def write_fligru(path, a, tensors, extra_meta, source_of=None):
    """Checks every tensor against the layout (present, shape, finite) and writes
    the model file atomically. source_of: {fligru name: where it came from} for
    messages."""
    a.check(path)
    layout = fligru_layout(a)
    out = OrderedDict()
    for name, shape in layout.items():
        where = (source_of or {}).get(name, name)
        if name not in tensors:
            raise Refusal(f"tensor {where}: missing, expected {list(shape)}")
        v = np.asarray(tensors[name], dtype=np.float32)
        if tuple(v.shape) != shape:
            raise Refusal(f"tensor {where}: shape {list(v.shape)}, expected {list(shape)}")
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            raise Refusal(f"tensor {where}: {'NaN' if np.isnan(v.flat[bad[0]]) else 'Inf'} at [{bad[0]}]")
        out[name] = v
    extra = set(tensors) - set(layout)
    if extra:
        raise Refusal(f"tensor {sorted(extra)[0]}: not part of a {a.layers}-layer {a.enc_hidden}x{a.dec_hidden} model")
    meta = a.meta()
    for k, v in extra_meta.items():
        if k in RESERVED:
            raise Refusal(f"metadata {k}: reserved")
        meta[k] = str(v)
    write_safetensors(path, out, meta)


def refuse_existing_output_dir(path):
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise Refusal(f"{path}: directory {d} does not exist")


# ---- PyTorch state_dict -> fligru ----------------------------------------------

GRU_RE = re.compile(r"^(?P<p>.*?)\.?(?P<kind>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(?P<k>\d+)(?P<rev>_reverse)?$")


def load_state_dict(path):
    """{name: float array} and a description of the source, from a safetensors file
    or a torch.save file (a state_dict, a checkpoint dict holding one, or a module)."""
    with open(path, "rb") as f:
        head = f.read(16)
    if path.endswith(".safetensors") or (len(head) >= 9 and head[8:9] == b"{"):
        tensors, meta = read_safetensors(path)
        return tensors, meta, "safetensors"
    try:
        import torch
    except ImportError:
        raise Refusal(f"{path}: reading torch.save files needs python3-torch (or give a safetensors file)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        try:       # a pickled nn.Module needs the full unpickler: the user's own file
            obj = torch.load(path, map_location="cpu")
        except Exception as e:
            raise Refusal(f"{path}: not a torch.save file or safetensors file ({type(e).__name__}: {str(e).splitlines()[0][:120]})")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict) and not any(torch.is_tensor(v) for v in obj.values()):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise Refusal(f"{path}: holds a {type(obj).__name__}, not a state_dict")
    out = OrderedDict()
    for k, v in obj.items():
        if not torch.is_tensor(v):
            raise Refusal(f"{path}: entry {k}: a {type(v).__name__}, not a tensor")
        out[k] = v.detach().cpu().numpy()
    return out, {}, "torch.save state_dict"


def gru_stacks(sd):
    """{prefix: {layer: {kind: name}}} of every nn.GRU-like tensor group; refuses
    bidirectional and projected (LSTM) layers by name."""
    stacks = OrderedDict()
    for name in sd:
        m = GRU_RE.match(name)
        if not m:
            continue
        if m["rev"]:
            raise Refusal(f"tensor {name}: a bidirectional layer (_reverse); fligru's encoder and decoder "
                          f"run forward only")
        if m["kind"] == "weight_hr":
            raise Refusal(f"tensor {name}: an LSTM with projections; fligru runs GRUs")
        stacks.setdefault(m["p"], {}).setdefault(int(m["k"]), {})[m["kind"]] = name
    return stacks


def read_stack(sd, prefix, layers, what):
    """Hidden size, reset variant and the tensors of one GRU stack."""
    H = None
    for k in range(len(layers)):
        if k not in layers or "weight_hh" not in layers[k] or "weight_ih" not in layers[k]:
            raise Refusal(f"{what} {prefix or '(no prefix)'}: layer {k} lacks weight_ih_l{k}/weight_hh_l{k}")
    for k in sorted(layers):
        n = layers[k]["weight_hh"]
        w = sd[n]
        if w.ndim != 2 or w.shape[0] % w.shape[1] or w.shape[0] // w.shape[1] not in (3, 4):
            raise Refusal(f"tensor {n}: shape {list(w.shape)}: not [3H, H] (a GRU's weight_hh)")
        if w.shape[0] == 4 * w.shape[1]:
            raise Refusal(f"tensor {n}: shape {list(w.shape)}: four gate blocks [4H, H], an LSTM; "
                          f"fligru runs GRUs (three blocks: r, z, n)")
        if H is None:
            H = w.shape[1]
        elif w.shape[1] != H:
            raise Refusal(f"tensor {n}: hidden size {w.shape[1]}, layer 0 has {H}: fligru's layers are equally wide")
    has_hh = [("bias_hh" in layers[k]) for k in sorted(layers)]
    has_ih = [("bias_ih" in layers[k]) for k in sorted(layers)]
    if any(has_hh) and not all(has_hh):
        raise Refusal(f"{what} {prefix}: bias_hh in some layers only: mixed reset variants")
    reset = "after" if all(has_hh) or not any(has_ih) else "before"
    return H, reset


def pick_stacks(stacks, opts, notes):
    """The encoder's and decoder's GRU prefixes: --encoder/--decoder, else the
    names (enc*, dec*), else file order (noted)."""
    names = list(stacks)
    enc, dec = opts.encoder, opts.decoder
    if enc is None or dec is None:
        by_enc = [p for p in names if "enc" in p.lower()]
        by_dec = [p for p in names if "dec" in p.lower()]
        if len(names) == 2 and len(by_enc) == 1 and len(by_dec) == 1 and by_enc != by_dec:
            enc, dec = enc or by_enc[0], dec or by_dec[0]
        elif len(names) == 2:
            enc, dec = enc or names[0], dec or names[1]
            notes.append(f"encoder = {enc}, decoder = {dec} (file order; --encoder/--decoder to choose)")
        else:
            found = ", ".join(p or "(no prefix)" for p in names) or "none"
            raise Refusal(f"GRU stacks: found {len(names)} ({found}), the Seq2Seq layout has two "
                          f"(encoder, decoder; --encoder/--decoder name them)")
    for p, what in ((enc, "encoder"), (dec, "decoder")):
        if p not in stacks:
            raise Refusal(f"{what} {p!r}: no tensors {p}.weight_ih_l0 ... in the state_dict")
    return enc, dec


def stack_shapes(sd, stacks, enc, dec, notes):
    """(L, E, D, I, reset) from the GRU tensors; refuses mismatched stacks."""
    E, reset_e = read_stack(sd, enc, stacks[enc], "encoder")
    D, reset_d = read_stack(sd, dec, stacks[dec], "decoder")
    L = len(stacks[enc])
    if len(stacks[dec]) != L:
        raise Refusal(f"decoder {dec}: {len(stacks[dec])} layer(s), the encoder {L}: fligru's decoder layer l "
                      f"starts from encoder layer l")
    if reset_e != reset_d:
        raise Refusal(f"decoder {dec}: reset-{reset_d}, the encoder reset-{reset_e}: one variant per model")
    w0 = sd[stacks[enc][0]["weight_ih"]]
    I = w0.shape[1] if w0.ndim == 2 else -1
    if w0.ndim != 2 or w0.shape[0] != 3 * E or not 1 <= I <= MAX_IO:
        raise Refusal(f"tensor {stacks[enc][0]['weight_ih']}: shape {list(w0.shape)}: input size {I}; "
                      f"fligru takes 1..{MAX_IO} features per step in [3E, I] = [{3 * E}, I]")
    if I != 1:
        notes.append(f"input size {I}: fligru predict and quantize run it; the RTL and fligru cosim take 1")
    return L, E, D, I, reset_e


def linear_layers(sd, stacks, enc, dec, opts, L, E, D):
    """The Linear layers left after the GRUs: (the tanh bridges when E != D,
    {k: prefix}; the head's prefix; all of them, {prefix: {weight, bias}})."""
    used = {n for p in (enc, dec) for layer in stacks[p].values() for n in layer.values()}
    linear = OrderedDict()
    for k in [k for k in sd if k not in used]:
        m = re.match(r"^(.*)\.(weight|bias)$", k)
        if not m:
            raise Refusal(f"tensor {k}: not part of the Seq2Seq layout (GRU encoder and decoder, "
                          f"tanh(Linear) bridge, Linear head)")
        linear.setdefault(m[1], {})[m[2]] = k
    bridges = OrderedDict()
    if E != D:
        cands = {}
        for p in linear:
            m = re.match(r"^(.*)\.(\d+)$", p)
            if m and (opts.bridge is None or m[1] == opts.bridge):
                cands.setdefault(m[1], {})[int(m[2])] = p
        cands = {b: ks for b, ks in cands.items() if sorted(ks) == list(range(L))}
        if len(cands) != 1:
            raise Refusal(f"bridge: E = {E} != D = {D} needs {L} Linear({E}, {D}) layers <bridge>.0 .. "
                          f"<bridge>.{L - 1}; found {len(cands)} candidates (--bridge names it)")
        _, ks = next(iter(cands.items()))
        bridges = OrderedDict((k, ks[k]) for k in range(L))
    heads = [p for p in linear if p not in bridges.values() and (opts.head is None or p == opts.head)]
    if len(heads) != 1:
        raise Refusal(f"head: found {len(heads)} Linear layers besides the GRUs and the bridge "
                      f"({', '.join(heads) or 'none'}); the layout has one (--head names it)")
    head = heads[0]
    if set(linear) - set(bridges.values()) - {head}:
        extra = sorted(set(linear) - set(bridges.values()) - {head})[0]
        raise Refusal(f"tensor {extra}.weight: not part of the Seq2Seq layout")
    return bridges, head, linear


def fligru_tensors(sd, stacks, enc, dec, a, bridges, head, linear, notes):
    """fligru's tensors by name and {fligru name: source name}."""
    t, src = OrderedDict(), {}
    E, D, I, L = a.enc_hidden, a.dec_hidden, a.input, a.layers

    def put(dst, srcname, shape, zero_ok=False):
        if srcname is None or srcname not in sd:
            if zero_ok:
                t[dst] = np.zeros(shape, np.float32)
                return
            raise Refusal(f"tensor {srcname or dst}: missing, expected {list(shape)}")
        t[dst] = sd[srcname].astype(np.float32)
        src[dst] = srcname

    for stack, p, H in (("encoder", enc, E), ("decoder", dec, D)):
        for k in range(L):
            g = stacks[p][k]
            if stack == "decoder" and k == 0:
                wi = sd[g["weight_ih"]]
                if wi.ndim != 2 or wi.shape[0] != 3 * D:
                    raise Refusal(f"tensor {g['weight_ih']}: shape {list(wi.shape)}, expected [{3 * D}, *]")
                if wi.shape[1] == I:
                    put("decoder.weight_ih_l0", g["weight_ih"], (3 * D, I))
                else:
                    t["decoder.weight_ih_l0"] = np.zeros((3 * D, I), np.float32)
                    notes.append(f"{g['weight_ih']} {list(wi.shape)} not carried: the decoder is fed zeros, "
                                 f"so its layer-0 input weights never act (fligru stores [{3 * D}, {I}] zeros)")
            else:
                put(f"{stack}.weight_ih_l{k}", g["weight_ih"], (3 * H, I if k == 0 else H))
            put(f"{stack}.weight_hh_l{k}", g["weight_hh"], (3 * H, H))
            no_bias = "bias_ih" not in g and "bias_hh" not in g
            put(f"{stack}.bias_ih_l{k}", g.get("bias_ih"), (3 * H,), zero_ok=no_bias)
            if a.reset == "after":
                put(f"{stack}.bias_hh_l{k}", g.get("bias_hh"), (3 * H,), zero_ok=no_bias)
            if no_bias:
                notes.append(f"{p} layer {k}: no biases (bias=False): zeros")
    for k, p in bridges.items():
        put(f"bridge.{k}.weight", linear[p].get("weight"), (D, E))
        put(f"bridge.{k}.bias", linear[p].get("bias"), (D,), zero_ok=True)
    put("dense.weight", linear[head].get("weight"), (a.outputs, D))
    put("dense.bias", linear[head].get("bias"), (a.outputs,), zero_ok=True)
    return t, src


def from_state_dict(sd, opts, src_meta):
    """Maps a Seq2Seq state_dict onto fligru's names; returns (Arch, tensors,
    {fligru name: source name}, notes)."""
    notes = []
    sd = OrderedDict((k, v) for k, v in sd.items() if not k.startswith(("optim.", "train.")))
    for k, v in sd.items():
        if not np.issubdtype(v.dtype, np.floating):
            raise Refusal(f"tensor {k}: dtype {v.dtype}, expected floating point weights")
    stacks = gru_stacks(sd)
    enc, dec = pick_stacks(stacks, opts, notes)
    L, E, D, I, reset = stack_shapes(sd, stacks, enc, dec, notes)
    bridges, head, linear = linear_layers(sd, stacks, enc, dec, opts, L, E, D)
    hw = sd.get(linear[head].get("weight", ""), None)
    if hw is None or hw.ndim != 2:
        raise Refusal(f"head {head}: no 2-d {head}.weight")
    own = src_meta if src_meta.get("format") == FORMAT else {}      # a fligru file knows these
    a = Arch(I, hw.shape[0], L, E, D, reset, opts.activation or own.get("activation", "sigmoid"),
             opts.gate_order or own.get("gate_order", "rzn"))
    a.check("model")
    t, src = fligru_tensors(sd, stacks, enc, dec, a, bridges, head, linear, notes)
    return a, t, src, notes


def to_fligru(args):
    refuse_existing_output_dir(args.out)
    sd, src_meta, kind = load_state_dict(args.inp)
    if str(src_meta.get("format", "")).startswith("fligru-") and src_meta["format"] != FORMAT:
        Arch.from_meta(src_meta, args.inp)          # refuses other fligru formats by name
    a, t, src, notes = from_state_dict(sd, args, src_meta)
    meta = OrderedDict(
        source=os.path.basename(args.inp), source_format=kind, source_sha256=sha256(args.inp),
        source_names=",".join(f"{v}->{k}" for k, v in src.items() if k != v),
        converter="scripts/convert-torch.py",
        command=" ".join(["convert-torch.py"] + sys.argv[1:]))
    if not meta["source_names"]:
        del meta["source_names"]
    if "command" in src_meta:                   # a fligru file's own provenance, kept
        meta["origin_command"] = src_meta["command"]
    write_fligru(args.out, a, t, meta, src)
    for n in notes:
        print(f"convert-torch: note: {n}", file=sys.stderr)
    print(f"convert-torch: {args.out}: {a.layers}-layer {a.enc_hidden}x{a.dec_hidden}, input {a.input}, "
          f"{a.outputs} outputs, reset-{a.reset}, {a.activation}, {a.gate_order}, "
          f"{sum(v.size for v in t.values())} parameters")


# ---- fligru -> PyTorch -----------------------------------------------------------

MODULE_SOURCE = r'''"""fligru Seq2Seq in PyTorch, written by scripts/convert-torch.py --to-torch.

Rebuilds {model} exactly: tensor names, layouts and equations are fligru's
(docs/model-files.md, models/include/fligru/seq2seq.h). The weights are in {pt}.

    net = load()            # or build(); net.load_state_dict(torch.load("{pt}"))
    y = net(x)              # x [B, T, {input}] float32 -> y [B, T, {outputs}]

A file net.state_dict() saved again (torch.save, or safetensors) converts back with
    convert-torch.py FILE OUT.safetensors --activation {activation} --gate-order {gate_order}
"""
import os

import torch
from torch import nn

CONFIG = {config}


class StackedGRU(nn.Module):
    """GRU layers with nn.GRU's parameter names, for what nn.GRU lacks: reset-before
    (n = tanh(W_in x + W_hn (r*h) + b_n), one bias vector), the hard sigmoid
    clip(x/2 + 1/2, 0, 1), gate blocks stacked z, r, n. Batch-first."""

    def __init__(self, input_size, hidden, layers, reset, activation, gate_order):
        super().__init__()
        self.hidden, self.layers, self.reset, self.act = hidden, layers, reset, activation
        self.blk = dict(zip(gate_order, range(3)))   # row block of each gate
        k = hidden ** -0.5
        for l in range(layers):
            i = input_size if l == 0 else hidden
            self.register_parameter(f"weight_ih_l{{l}}", nn.Parameter(torch.empty(3 * hidden, i).uniform_(-k, k)))
            self.register_parameter(f"weight_hh_l{{l}}", nn.Parameter(torch.empty(3 * hidden, hidden).uniform_(-k, k)))
            self.register_parameter(f"bias_ih_l{{l}}", nn.Parameter(torch.empty(3 * hidden).uniform_(-k, k)))
            if reset == "after":
                self.register_parameter(f"bias_hh_l{{l}}", nn.Parameter(torch.empty(3 * hidden).uniform_(-k, k)))

    def sigma(self, x):
        return torch.sigmoid(x) if self.act == "sigmoid" else torch.clamp(0.5 * x + 0.5, 0.0, 1.0)

    def gates(self, t):
        parts = t.chunk(3, -1)
        return tuple(parts[self.blk[g]] for g in "rzn")

    def forward(self, x, h0):
        hs = []
        for l in range(self.layers):
            w_hh = getattr(self, f"weight_hh_l{{l}}")
            gx = nn.functional.linear(x, getattr(self, f"weight_ih_l{{l}}"), getattr(self, f"bias_ih_l{{l}}")).unbind(1)
            b_hh = getattr(self, f"bias_hh_l{{l}}", None)
            wr, wz, wn = self.gates(w_hh.t())
            h, out = h0[l], []
            for g in gx:
                xr, xz, xn = self.gates(g)
                if self.reset == "after":
                    hr, hz, hn = self.gates(nn.functional.linear(h, w_hh, b_hh))
                    r, z = self.sigma(xr + hr), self.sigma(xz + hz)
                    n = torch.tanh(xn + r * hn)
                else:
                    r, z = self.sigma(xr + h @ wr), self.sigma(xz + h @ wz)
                    n = torch.tanh(xn + (r * h) @ wn)
                h = (1 - z) * n + z * h
                out.append(h)
            x = torch.stack(out, 1)
            hs.append(h)
        return x, torch.stack(hs, 0)


class Seq2Seq(nn.Module):
    """Encoder over the sequence; its final states (through tanh(Linear) bridges when
    E != D) start a decoder fed zeros; a Linear head at every decoder step."""

    def __init__(self, c=CONFIG):
        super().__init__()
        self.c = dict(c)
        native = c["reset"] == "after" and c["activation"] == "sigmoid" and c["gate_order"] == "rzn"
        if native:      # PyTorch's own cell computes exactly fligru's reset-after GRU
            self.encoder = nn.GRU(c["input"], c["enc_hidden"], c["layers"], batch_first=True)
            self.decoder = nn.GRU(c["input"], c["dec_hidden"], c["layers"], batch_first=True)
        else:
            args = (c["layers"], c["reset"], c["activation"], c["gate_order"])
            self.encoder = StackedGRU(c["input"], c["enc_hidden"], *args)
            self.decoder = StackedGRU(c["input"], c["dec_hidden"], *args)
        if c["enc_hidden"] != c["dec_hidden"]:
            self.bridge = nn.ModuleList(nn.Linear(c["enc_hidden"], c["dec_hidden"]) for _ in range(c["layers"]))
        self.dense = nn.Linear(c["dec_hidden"], c["outputs"])

    def forward(self, x):
        B, T = x.shape[0], x.shape[1]
        h0 = x.new_zeros(self.c["layers"], B, self.c["enc_hidden"])
        _, h = self.encoder(x, h0)
        if self.c["enc_hidden"] != self.c["dec_hidden"]:
            h = torch.stack([torch.tanh(self.bridge[k](h[k])) for k in range(self.c["layers"])], 0)
        y, _ = self.decoder(x.new_zeros(B, T, self.c["input"]), h.contiguous())
        return self.dense(y)


def build():
    return Seq2Seq(CONFIG)


def load(path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "{pt}")):
    net = build()
    net.load_state_dict(torch.load(path, map_location="cpu"))
    return net.eval()
'''


def to_torch(args):
    import torch
    out = args.out
    if not out.endswith(".pt"):
        raise Refusal(f"{out}: the state_dict goes to a .pt file (its module to the .py beside it)")
    refuse_existing_output_dir(out)
    tensors, meta = read_safetensors(args.inp)
    a = Arch.from_meta(meta, args.inp)
    layout = fligru_layout(a)
    sd = OrderedDict()
    for name, shape in layout.items():
        if name not in tensors or tuple(tensors[name].shape) != shape:
            raise Refusal(f"{args.inp}: tensor {name}: missing or not {list(shape)}")
        sd[name] = torch.from_numpy(np.ascontiguousarray(tensors[name], dtype=np.float32))
    py = out[:-3] + ".py"
    src = MODULE_SOURCE.format(model=os.path.basename(args.inp), pt=os.path.basename(out),
                               input=a.input, outputs=a.outputs, activation=a.activation,
                               gate_order=a.gate_order, config=json.dumps(a.as_dict()))
    tmp_pt, tmp_py = f"{out}.tmp.{os.getpid()}", f"{py}.tmp.{os.getpid()}"
    try:
        torch.save(sd, tmp_pt)
        with open(tmp_py, "w") as f:
            f.write(src)
        os.replace(tmp_py, py)
        os.replace(tmp_pt, out)
    finally:
        for p in (tmp_pt, tmp_py):
            if os.path.exists(p):
                os.unlink(p)
    print(f"convert-torch: {out} (state_dict, {len(sd)} tensors) and {py} (module, torch {torch.__version__})")


def main():
    ap = argparse.ArgumentParser(prog="convert-torch.py", description=__doc__.split("\n")[0],
                                 epilog="See docs/model-files.md, 'Bringing your model'.")
    ap.add_argument("inp", metavar="IN", help="torch.save state_dict or safetensors file (with --to-torch: a fligru model)")
    ap.add_argument("out", metavar="OUT", help="fligru model file (.safetensors); with --to-torch: OUT.pt (+ OUT.py)")
    ap.add_argument("--to-torch", action="store_true", help="fligru model -> PyTorch state_dict and module")
    ap.add_argument("--activation", choices=("sigmoid", "hard_sigmoid"),
                    help="recurrent activation (shapes cannot tell; default sigmoid, as nn.GRU)")
    ap.add_argument("--gate-order", choices=("rzn", "zrn"),
                    help="gate blocks in the stacked rows (default rzn, as nn.GRU)")
    ap.add_argument("--encoder", help="name prefix of the encoder GRU's tensors (default: the one named *enc*, else the first)")
    ap.add_argument("--decoder", help="name prefix of the decoder GRU's tensors")
    ap.add_argument("--bridge", help="name prefix of the bridge Linear layers (<bridge>.<k>.weight)")
    ap.add_argument("--head", help="name prefix of the Linear head")
    args = ap.parse_args()
    try:
        if not os.path.isfile(args.inp):
            raise Refusal(f"{args.inp}: no such file")
        (to_torch if args.to_torch else to_fligru)(args)
    except Refusal as e:
        print(f"convert-torch: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
