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
  3. with --bench: the fair speed comparison, both sides in this one run, one
     after the other, never at the same time, on the same data (`fligru synth
     configs/synth-default.yaml`), the same batch and the same thread count (the
     cores available to this process, or --threads): training samples/s (forward
     + backward + Adam) at batch 32, 256, 1024 and inference sequences/s at batch
     1024, for the 32-unit student and the 2x128 teacher. fligru runs with
     OMP_NUM_THREADS = N and OPENBLAS_NUM_THREADS = 1 (it calls OpenBLAS
     single-threaded inside its OpenMP chunks); PyTorch runs in a child process,
     twice: torch.set_num_threads(N) with OPENBLAS_NUM_THREADS = 1, and one torch
     thread with OPENBLAS_NUM_THREADS = N; the better of the two is its figure.
     The peer is nn.GRU. nn.GRU has only reset-after gates, so the student peer
     is the 32-unit reset-after student (6,819 parameters), measured against
     fligru's same reset-after model; fligru's real reset-before student
     (6,627 parameters, two recurrent GEMMs per step) is reported beside it.
     --custom-cell also times the hand-written reset-before cell in PyTorch.

Run with Debian's interpreter (scripts/install-peer.sh installs python3-torch):

    /usr/bin/python3 bench/peer_torch.py --cli build/fligru --arch student:32 --bench

Needs only numpy and torch; the file format and the PyTorch network are
scripts/convert-torch.py's (one source).
Exit status: 0 agreement, 1 disagreement (>= --tol), 2 usage or input errors.
"""
import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

TOL = 1e-4

# ---- the network: scripts/convert-torch.py's ---------------------------------
# One source for the file format and the PyTorch network: the converter's
# safetensors reader/writer, its Arch (the metadata keys) and the module it
# writes for --to-torch, so the peer runs exactly what a user converts to.


def _converter():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "convert-torch.py")
    spec = importlib.util.spec_from_file_location("fligru_convert_torch", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CT = _converter()
read_safetensors, write_safetensors = CT.read_safetensors, CT.write_safetensors


def _torch_module():
    src = CT.MODULE_SOURCE.format(model="", pt="", input="", outputs="", activation="",
                                  gate_order="", config="{}")
    ns = {"__file__": CT.__file__}
    exec(compile(src, "convert-torch.py:MODULE_SOURCE", "exec"), ns)
    return ns


TORCH_MODULE = _torch_module()


class Config(CT.Arch):
    @classmethod
    def parse(cls, s):
        """student:H | teacher | E:D[:L[:after|before]]"""
        p = s.split(":")
        if p[0] == "teacher":
            return cls(1, 3, 2, 128, 128, reset="after")
        if p[0] == "student":
            h = int(p[1]) if len(p) > 1 else 32
            return cls(1, 3, 1, h, h, reset="before")
        return cls(1, 3, int(p[2]) if len(p) > 2 else 1, int(p[0]), int(p[1]),
                   reset=p[3] if len(p) > 3 else "after")

    def torch_native(self):
        return self.reset == "after" and self.activation == "sigmoid" and self.gate_order == "rzn"


def Seq2Seq(c):
    """The converter's Seq2Seq module for configuration c (kept as .arch)."""
    m = TORCH_MODULE["Seq2Seq"](c.as_dict())
    m.arch = c
    return m


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
    meta = m.arch.meta()
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


def torch_rates(arch, data, batches, infer_batch, seconds, threads):
    """PyTorch's training samples/s per batch and inference sequences/s, on data's rows."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x_all = torch.from_numpy(np.load(os.path.join(data, "tpsf.npy"))).unsqueeze(-1)
    y_all = torch.from_numpy(np.load(os.path.join(data, "target.npy")))
    m = Seq2Seq(Config.parse(arch)).float()
    out = {"train": {}, "params": sum(p.numel() for p in m.parameters()),
           "kind": "nn.GRU" if m.arch.torch_native() else "custom cell"}
    for B in batches:
        x, y = x_all[:B], y_all[:B, :, :m.arch.outputs]
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        m.train()

        def step():
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(m(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)   # as fligru's step
            opt.step()
        step()                                                 # warm-up
        n, t0 = 0, time.perf_counter()
        while n < 2 or time.perf_counter() - t0 < seconds:
            step()
            n += 1
        out["train"][B] = n * B / (time.perf_counter() - t0)
    m.eval()
    x = x_all[:infer_batch]
    with torch.no_grad():
        m(x)
        n, t0 = 0, time.perf_counter()
        while n < 2 or time.perf_counter() - t0 < seconds:
            m(x)
            n += 1
    out["infer"] = n * infer_batch / (time.perf_counter() - t0)
    return out


def worker(args):
    spec = json.loads(args.worker)
    r = torch_rates(spec["arch"], spec["data"], spec["batches"], spec["infer_batch"], spec["seconds"],
                    spec["threads"])
    print("PEER " + json.dumps(r))
    return 0


# The thread settings each side runs under: nothing is oversubscribed.
def env_with(**kv):
    e = dict(os.environ)
    e.update({k: str(v) for k, v in kv.items()})
    return e


def fligru_train_rate(args, arch, B, data, N):
    steps = max(2, (16384 if arch != "teacher" else 2048) // B)
    cmd = [args.bench_bin, arch, str(B), "135", str(steps), str(N), data]
    p = subprocess.run(cmd, capture_output=True, text=True,
                       env=env_with(OMP_NUM_THREADS=N, OPENBLAS_NUM_THREADS=1))
    m = re.search(r"([\d.]+) samples/s.*OpenBLAS (\S+) with (\d+) threads", p.stdout)
    if p.returncode or not m:
        sys.exit(f"peer_torch: {' '.join(cmd)} failed: {p.stdout}{p.stderr}")
    return float(m.group(1)), m.group(2), int(m.group(3))


def fair_bench(args, work):
    N, batches, IB = args.threads, [int(b) for b in args.batches.split(",")], args.batch
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    data = os.path.join(work, "bench_data")
    n = max(batches + [IB])
    p = subprocess.run([args.cli, "synth", os.path.join(root, "configs/synth-default.yaml"), "--samples",
                        str(n), "-o", data], capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"peer_torch: fligru synth failed: {p.stderr.strip()}")
    x_path = os.path.join(data, "tpsf.npy")
    settings = [("torch threads %d, OPENBLAS_NUM_THREADS=1" % N, N, env_with(OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=N)),
                ("torch threads 1, OPENBLAS_NUM_THREADS=%d" % N, 1, env_with(OPENBLAS_NUM_THREADS=N, OMP_NUM_THREADS=1))]
    print(f"fair bench: {N} threads each side (cores available: {len(os.sched_getaffinity(0))}), "
          f"T=135, data {n} TPSFs of configs/synth-default.yaml, one side at a time")
    print(f"  fligru: OMP_NUM_THREADS={N}, OPENBLAS_NUM_THREADS=1 ({args.bench_bin}; `fligru predict --threads {N}`)")
    print(f"  PyTorch {torch.__version__}: the better of [{settings[0][0]}] and [{settings[1][0]}]")
    models = [("student 32", "after:32", "32:32:1:after", "student:32"), ("teacher 2x128", "teacher", "teacher", None)]
    if args.custom_cell:
        models.append(("student 32 reset-before (PyTorch custom cell)", "student:32", "student:32", None))
    rows = []
    for name, ours_arch, torch_arch, also in models:
        peer = []
        for label, th, env in settings:
            spec = {"arch": torch_arch, "data": data, "batches": batches, "infer_batch": IB,
                    "seconds": args.seconds, "threads": th}
            q = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
                               capture_output=True, text=True, env=env)
            line = [l for l in q.stdout.splitlines() if l.startswith("PEER ")]
            if q.returncode or not line:
                sys.exit(f"peer_torch: PyTorch worker failed: {q.stderr.strip()}")
            peer.append(json.loads(line[0][5:]))
        # the fligru model file: PyTorch's initialisation of the same architecture
        torch.manual_seed(args.seed)
        tm = Seq2Seq(Config.parse(torch_arch)).float().eval()
        mpath = os.path.join(work, f"bench_{torch_arch.replace(':', '_')}.safetensors")
        export_model(tm, mpath, {"command": "bench/peer_torch.py --bench"})
        for B in batches:
            ours, core, obt = fligru_train_rate(args, ours_arch, B, data, N)
            best = max(pr["train"][str(B)] for pr in peer)
            each = " / ".join(f"{pr['train'][str(B)]:.0f}" for pr in peer)
            extra = ""
            if also:
                r2, _, _ = fligru_train_rate(args, also, B, data, N)
                extra = f"; fligru reset-before student {r2:.0f} ({r2 / best:.2f}x)"
            rows.append(f"  train {name:<14} batch {B:>5}: fligru {ours:8.0f} samples/s, PyTorch "
                        f"{best:8.0f} ({each}) -> {ours / best:.2f}x{extra}")
            print(rows[-1], flush=True)
        ours_inf = max(r for r in (run_ours(args.cli, mpath, x_path, os.path.join(work, "bench_y.npy"), N, IB)
                                   for _ in range(args.reps)) if r)
        best = max(pr["infer"] for pr in peer)
        each = " / ".join(f"{pr['infer']:.0f}" for pr in peer)
        extra = ""
        if also:
            torch.manual_seed(args.seed)
            sm = Seq2Seq(Config.parse(also)).float().eval()
            spath = os.path.join(work, "bench_student_rb.safetensors")
            export_model(sm, spath, {"command": "bench/peer_torch.py --bench"})
            r2 = max(r for r in (run_ours(args.cli, spath, x_path, os.path.join(work, "bench_y.npy"), N, IB)
                                 for _ in range(args.reps)) if r)
            extra = f"; fligru reset-before student {r2:.0f} ({r2 / best:.2f}x)"
        rows.append(f"  infer {name:<14} batch {IB:>5}: fligru {ours_inf:8.0f} sequences/s, PyTorch "
                    f"{best:8.0f} ({each}) -> {ours_inf / best:.2f}x{extra}")
        print(rows[-1], flush=True)
    print(f"  OpenBLAS core {core}, OpenBLAS thread setting {obt} (fligru calls it single-threaded inside each of its {N} OpenMP chunks); PyTorch figures: best of "
          f"({settings[0][0]}) / ({settings[1][0]}); PyTorch {peer[0]['kind']} peer")


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
    ap.add_argument("--bench", action="store_true", help="also measure speed, fairly (see above)")
    ap.add_argument("--batches", default="32,256,1024", help="training batch sizes (default 32,256,1024)")
    ap.add_argument("--batch", type=int, default=1024, help="inference batch (default 1024)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="threads of both sides (default: the cores available, %(default)s)")
    ap.add_argument("--seconds", type=float, default=3.0, help="least time per PyTorch figure")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--custom-cell", action="store_true", help="also time the reset-before cell in PyTorch")
    ap.add_argument("--bench-bin", default="build/bench_train", help="fligru's training benchmark")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help="scratch directory (default: a temporary one)")
    args = ap.parse_args()
    if args.worker:
        return worker(args)

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
    c = m.arch
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

    if args.bench:
        fair_bench(args, work)
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, KeyError, OSError, CT.Refusal) as e:
        print(f"peer_torch: {e}", file=sys.stderr)
        sys.exit(2)
