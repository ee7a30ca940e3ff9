#!/usr/bin/python3
"""peer_torch.py - the same Seq2Seq in PyTorch: agreement and speed against fligru.

Builds fligru's network in PyTorch (nn.GRU for PyTorch-native layers: reset-after,
logistic sigmoid, gate order r,z,n; a small custom cell otherwise: reset-before,
hard sigmoid, Keras's z,r,n), with the parameter names of fligru's model files
(docs/model-files.md), and

  1. loads a fligru model file (--model), or initialises one in PyTorch with
     PyTorch's default initialisation and exports it in fligru's format
     (--arch, --export): "a model made in PyTorch loads in fligru";
  2. runs both on the same input (--input X.npy, or synthetic decays) through
     `fligru predict` and reports the largest |difference| (must be < 1e-4);
  3. with --bench: sequences/s of inference at T=135, batch 1024, PyTorch CPU
     with torch.set_num_threads(2) against `fligru predict --threads 2`, and
     PyTorch's training samples/s (forward + backward + Adam step) against
     fligru's when a figure is available (--ours-figures FILE, or the output of
     the bench binary build/bench_infer when it exists).

Run with Debian's interpreter (scripts/install-peer.sh installs python3-torch):

    /usr/bin/python3 bench/peer_torch.py --cli build/fligru --arch student:32 --bench

Needs only numpy and torch; the safetensors reader/writer is below (30 lines).
Exit status: 0 agreement, 1 disagreement (>= --tol), 2 usage or input errors.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

FORMAT = "fligru-seq2seq"
VERSION = "1"
TOL = 1e-4

# ---- safetensors ------------------------------------------------------------

ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
             "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2",
             "U8": "u1", "BOOL": "?"}
NP_TO_ST = {np.dtype(v).str.replace("|", "").lstrip("<"): k for k, v in ST_DTYPES.items()}


def read_safetensors(path):
    """Returns ({name: np.ndarray}, {metadata}) in file order."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, end = e["data_offsets"]
        dt = np.dtype(ST_DTYPES[e["dtype"]])
        a = np.frombuffer(data[b:end], dtype=dt)
        out[name] = a.reshape(e["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors, meta):
    """tensors: {name: np.ndarray} written in the dict's order; atomic."""
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        key = a.dtype.str.replace("|", "").lstrip("<")
        header[name] = {"dtype": NP_TO_ST[key], "shape": list(a.shape),
                        "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(tmp, path)

# ---- the network --------------------------------------------------------------


class Config:
    KEYS = ("input", "outputs", "layers", "enc_hidden", "dec_hidden")

    def __init__(self, input=1, outputs=3, layers=1, enc_hidden=32, dec_hidden=32,
                 reset="before", activation="sigmoid", gate_order="rzn"):
        self.input, self.outputs, self.layers = input, outputs, layers
        self.enc_hidden, self.dec_hidden = enc_hidden, dec_hidden
        self.reset, self.activation, self.gate_order = reset, activation, gate_order

    @classmethod
    def from_meta(cls, meta, path):
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
        return cls(**{k: int(meta[k]) for k in cls.KEYS}, reset=meta["reset"],
                   activation=meta["activation"], gate_order=meta["gate_order"])

    @classmethod
    def parse(cls, s):
        """student:H | teacher | E:D[:L[:after|before]]"""
        p = s.split(":")
        if p[0] == "teacher":
            return cls(layers=2, enc_hidden=128, dec_hidden=128, reset="after")
        if p[0] == "student":
            h = int(p[1]) if len(p) > 1 else 32
            return cls(layers=1, enc_hidden=h, dec_hidden=h, reset="before")
        e, d = int(p[0]), int(p[1])
        return cls(layers=int(p[2]) if len(p) > 2 else 1, enc_hidden=e, dec_hidden=d,
                   reset=p[3] if len(p) > 3 else "after")

    def meta(self):
        m = {"format": FORMAT, "version": VERSION}
        m.update({k: str(getattr(self, k)) for k in self.KEYS})
        m.update(reset=self.reset, activation=self.activation, gate_order=self.gate_order)
        return m

    def torch_native(self):
        return self.reset == "after" and self.activation == "sigmoid" and self.gate_order == "rzn"


class StackedGRU(nn.Module):
    """A stack of GRU layers with nn.GRU's parameter names and layouts, for the
    variants nn.GRU lacks: reset-before (one bias vector, bias_ih), hard sigmoid,
    gate blocks stacked z,r,n. Batch-first."""

    def __init__(self, input_size, hidden, layers, reset, activation, gate_order):
        super().__init__()
        self.hidden, self.layers, self.reset = hidden, layers, reset
        self.act = activation
        # Row block of each gate in the stacked weights.
        self.blk = {"r": 0, "z": 1, "n": 2} if gate_order == "rzn" else {"z": 0, "r": 1, "n": 2}
        k = 1.0 / hidden ** 0.5
        for l in range(layers):
            i = input_size if l == 0 else hidden
            self.register_parameter(f"weight_ih_l{l}", nn.Parameter(torch.empty(3 * hidden, i).uniform_(-k, k)))
            self.register_parameter(f"weight_hh_l{l}", nn.Parameter(torch.empty(3 * hidden, hidden).uniform_(-k, k)))
            self.register_parameter(f"bias_ih_l{l}", nn.Parameter(torch.empty(3 * hidden).uniform_(-k, k)))
            if reset == "after":
                self.register_parameter(f"bias_hh_l{l}", nn.Parameter(torch.empty(3 * hidden).uniform_(-k, k)))

    def sigma(self, x):
        return torch.sigmoid(x) if self.act == "sigmoid" else torch.clamp(0.5 * x + 0.5, 0.0, 1.0)

    def gates(self, t):
        """The r, z, n blocks of a stacked [..., 3H] tensor."""
        parts = t.chunk(3, -1)
        return tuple(parts[self.blk[g]] for g in "rzn")

    def forward(self, x, h0):
        # unbind/chunk rather than indexing: autograd then stacks the step
        # gradients once instead of scattering each into a zeroed [B,T,3H].
        hs = []
        for l in range(self.layers):
            w_ih, w_hh = getattr(self, f"weight_ih_l{l}"), getattr(self, f"weight_hh_l{l}")
            gx = torch.nn.functional.linear(x, w_ih, getattr(self, f"bias_ih_l{l}")).unbind(1)
            b_hh = getattr(self, f"bias_hh_l{l}", None)
            wr, wz, wn = self.gates(w_hh.t())
            h, out = h0[l], []
            for g in gx:
                xr, xz, xn = self.gates(g)
                if self.reset == "after":
                    hr, hz, hn = self.gates(torch.nn.functional.linear(h, w_hh, b_hh))
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
    """Encoder over the TPSF; its final states (through tanh(Linear) bridges when
    E != D) start a decoder fed zeros; a Linear head at every decoder step."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        if c.torch_native():
            self.encoder = nn.GRU(c.input, c.enc_hidden, c.layers, batch_first=True)
            self.decoder = nn.GRU(1, c.dec_hidden, c.layers, batch_first=True)
        else:
            args = (c.layers, c.reset, c.activation, c.gate_order)
            self.encoder = StackedGRU(c.input, c.enc_hidden, *args)
            self.decoder = StackedGRU(1, c.dec_hidden, *args)
        if c.enc_hidden != c.dec_hidden:
            self.bridge = nn.ModuleList(nn.Linear(c.enc_hidden, c.dec_hidden) for _ in range(c.layers))
        self.dense = nn.Linear(c.dec_hidden, c.outputs)

    def forward(self, x):                      # x [B,T,I] -> [B,T,C]
        B, T = x.shape[0], x.shape[1]
        h0 = x.new_zeros(self.c.layers, B, self.c.enc_hidden)
        _, h = self.encoder(x, h0)
        if self.c.enc_hidden != self.c.dec_hidden:
            h = torch.stack([torch.tanh(self.bridge[k](h[k])) for k in range(self.c.layers)], 0)
        y, _ = self.decoder(x.new_zeros(B, T, 1), h.contiguous())
        return self.dense(y)


def load_model(path):
    tensors, meta = read_safetensors(path)
    c = Config.from_meta(meta, path)
    m = Seq2Seq(c)
    sd = m.state_dict()
    theirs = {k: v for k, v in tensors.items() if not k.startswith(("optim.", "train."))}
    if set(theirs) != set(sd):
        raise ValueError(f"{path}: tensors {sorted(set(theirs) ^ set(sd))} do not match the architecture")
    m.load_state_dict({k: torch.from_numpy(v) for k, v in theirs.items()})
    return m.float().eval(), meta


def export_model(m, path, extra_meta):
    meta = m.c.meta()
    meta.update(extra_meta)
    write_safetensors(path, {k: v.detach().cpu().numpy().astype(np.float32)
                             for k, v in m.state_dict().items()}, meta)

# ---- helpers -------------------------------------------------------------------


def synthetic_tpsf(n, T, seed):
    """Peak-normalised bi-exponential decays with Poisson-like noise: only an
    input for the comparison, not fligru synth's physics."""
    rng = np.random.default_rng(seed)
    t = np.arange(T) * 0.09
    tau1, tau2 = rng.uniform(0.2, 0.8, (n, 1)), rng.uniform(0.8, 1.5, (n, 1))
    a = rng.uniform(0, 1, (n, 1))
    x = a * np.exp(-t / tau1) + (1 - a) * np.exp(-t / tau2)
    x = rng.poisson(x * 500) / 500.0
    return (x / np.maximum(x.max(axis=1, keepdims=True), 1e-9)).astype(np.float32)


def as_sequences(x, F):
    """[N,T], [H,W,T], [N,T,F], [H,W,T,F] -> [S,T,F], as `fligru predict` reads them."""
    if F == 1 and not (x.ndim >= 3 and x.shape[-1] == 1):
        x = x[..., None]
    return np.ascontiguousarray(x.reshape(-1, x.shape[-2], F))


def run_ours(cli, model, x_path, out_path, threads, batch=None):
    cmd = [cli, "predict", model, x_path, out_path, "--threads", str(threads)]
    if batch:
        cmd += ["--batch", str(batch)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"peer_torch: {' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    m = re.search(r"\(([\d.]+) sequences/s", p.stdout)
    return float(m.group(1)) if m else None


def torch_infer_rate(m, x, reps):
    with torch.no_grad():
        m(x)                                   # warm-up
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            m(x)
            best = min(best, time.perf_counter() - t0)
    return x.shape[0] / best


def torch_train_rate(m, x, steps):
    m.train()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    y = torch.zeros(x.shape[0], x.shape[1], m.c.outputs)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(m(x), y)
        loss.backward()
        opt.step()
    step()                                     # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    m.eval()
    return steps * x.shape[0] / (time.perf_counter() - t0)


def our_figures(args, n_params, T, B):
    """fligru's training rate for this model: from --ours-figures, or from running
    the bench binary (bench_infer prints "<name> <P> params  train step <R> samples/s"
    for the teacher and the 32-unit student). A line naming the model's parameter
    count wins; otherwise the first line with "train" and "samples/s"."""
    text = ""
    if args.ours_figures:
        with open(args.ours_figures) as f:
            text = f.read()
    elif args.bench_bin and os.access(args.bench_bin, os.X_OK):
        extra = args.bench_args.split() or [str(T), str(B), "2"]
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        p = subprocess.run([args.bench_bin] + extra, capture_output=True, text=True, env=env)
        text = p.stdout + p.stderr
    rate = re.compile(r"([\d.]+(?:e[+-]?\d+)?)\s*samples/s")
    lines = [l for l in text.splitlines() if "train" in l.lower() and rate.search(l)]
    mine = [l for l in lines if re.search(rf"\b{n_params}\s+params", l)]
    for line in (mine or lines)[:1]:
        print(f"  fligru figure: {line.strip()}")
        return float(rate.search(line).group(1))
    return None


# ---- main ----------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default="build/fligru", help="the fligru program (default build/fligru)")
    ap.add_argument("--model", help="a fligru model file to load into PyTorch")
    ap.add_argument("--arch", default="student:32",
                    help="without --model: student:H, teacher or E:D[:L[:after|before]] (default student:32)")
    ap.add_argument("--export", help="write the PyTorch-initialised model here (fligru format)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--input", help="[N,T] .npy input (default: synthetic decays)")
    ap.add_argument("-n", type=int, default=256, help="synthetic sequences for the check (default 256)")
    ap.add_argument("-T", type=int, default=135, help="steps per sequence (default 135)")
    ap.add_argument("--tol", type=float, default=TOL)
    ap.add_argument("--bench", action="store_true", help="also measure speed (T=135, batch 1024)")
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--train-steps", type=int, default=3)
    ap.add_argument("--ours-figures", help="text holding fligru's training rate ('train ... N samples/s')")
    ap.add_argument("--bench-bin", default="build/bench_infer", help="run for our training figure if present")
    ap.add_argument("--bench-args", default="", help="arguments for --bench-bin (default: T batch 2)")
    ap.add_argument("--workdir", help="scratch directory (default: a temporary one)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    work = args.workdir or tempfile.mkdtemp(prefix="peer_torch.")
    os.makedirs(work, exist_ok=True)
    print(f"peer_torch: torch {torch.__version__}, numpy {np.__version__}, "
          f"{torch.get_num_threads()} torch threads, workdir {work}")

    if args.model:
        m, meta = load_model(args.model)
        model_path = args.model
        print(f"  loaded {args.model} into PyTorch ({meta.get('command', 'no command recorded')})")
    else:
        torch.manual_seed(args.seed)
        m = Seq2Seq(Config.parse(args.arch)).float().eval()
        model_path = args.export or os.path.join(work, "torch_init.safetensors")
        export_model(m, model_path, {"command": "bench/peer_torch.py --arch " + args.arch,
                                     "seed": str(args.seed), "torch": torch.__version__})
        # and back: the file must rebuild the same module
        m2, _ = load_model(model_path)
        for (k, v), (k2, v2) in zip(m.state_dict().items(), m2.state_dict().items()):
            assert k == k2 and torch.equal(v, v2), k
        print(f"  PyTorch-initialised {args.arch} exported to {model_path}")
    c = m.c
    kind = "nn.GRU" if c.torch_native() else "custom cell"
    n_params = sum(p.numel() for p in m.parameters())
    print(f"  model: L={c.layers} E={c.enc_hidden} D={c.dec_hidden} C={c.outputs} reset-{c.reset} "
          f"{c.activation} {c.gate_order}, {n_params} parameters, PyTorch {kind}")

    # ---- agreement ----
    if args.input:
        x = np.load(args.input).astype(np.float32)
        x_path = args.input
    else:
        x = synthetic_tpsf(args.n, args.T, args.seed)
        x_path = os.path.join(work, "x.npy")
        np.save(x_path, x)
    out = os.path.join(work, "y_fligru.npy")
    run_ours(args.cli, model_path, x_path, out, args.threads)
    ours = np.load(out)
    with torch.no_grad():
        theirs = m(torch.from_numpy(as_sequences(x, c.input))).numpy().reshape(ours.shape)
    diff = float(np.max(np.abs(theirs - ours)))
    ok = diff < args.tol
    print(f"  agreement: {x.shape} -> {ours.shape}, max |PyTorch - fligru| = {diff:.3g} "
          f"({'ok' if ok else 'FAIL'}, tolerance {args.tol:g})")

    # ---- speed ----
    if args.bench:
        T, B = 135, args.batch
        xb = synthetic_tpsf(B, T, args.seed + 1)
        xb_path = os.path.join(work, "bench_x.npy")
        np.save(xb_path, xb)
        rates = [run_ours(args.cli, model_path, xb_path, os.path.join(work, "bench_y.npy"), args.threads, B)
                 for _ in range(args.reps)]
        ours_rate = max(r for r in rates if r)
        torch_rate = torch_infer_rate(m, torch.from_numpy(xb).unsqueeze(-1), args.reps)
        print(f"  inference, T={T}, batch {B}, {args.threads} threads: fligru {ours_rate:.0f} seq/s, "
              f"PyTorch {torch_rate:.0f} seq/s: fligru/PyTorch = {ours_rate / torch_rate:.2f}x")
        tr = torch_train_rate(m, torch.from_numpy(xb).unsqueeze(-1), args.train_steps)
        our_tr = our_figures(args, n_params, T, B)
        line = f"  training (fwd+bwd+Adam), T={T}, batch {B}: PyTorch {tr:.0f} samples/s"
        if our_tr:
            line += f", fligru {our_tr:.0f} samples/s: fligru/PyTorch = {our_tr / tr:.2f}x"
        else:
            line += " (no fligru training figure: pass --ours-figures or build bench_infer)"
        print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, KeyError, OSError) as e:
        sys.exit(f"peer_torch: {e}")
