#!/usr/bin/python3
"""ctest convert.torch: scripts/convert-torch.py both ways, checked by running both sides.

    test_torch.py FLIGRU_CLI SOURCE_DIR WORKDIR

For every case: PyTorch's output equals `fligru predict`'s (max |diff| <= 1e-5 on
random decays), and a model taken round the loop fligru -> PyTorch -> fligru comes
back bit for bit. Bad input (LSTM, bidirectional GRU, an input size fligru cannot
take) must exit 2 with one line naming the tensor, and write nothing.
Exit 77 (ctest SKIP_RETURN_CODE) when python3-torch is missing.
"""
import importlib.util
import os
import subprocess
import sys
import time

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:
    print(f"convert.torch: SKIPPED: {e.name} is missing for {sys.executable} "
          f"(scripts/install-deps.sh installs python3-torch)")
    sys.exit(77)

TOL = 1e-5
CLI, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
CONVERT = os.path.join(SRC, "scripts", "convert-torch.py")
os.makedirs(WORK, exist_ok=True)
torch.set_num_threads(1)
failures = []


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


st = load_module(CONVERT, "convert_torch")      # its safetensors reader/writer


def run(*args, expect=0):
    p = subprocess.run(["/usr/bin/python3", CONVERT, *args], capture_output=True, text=True)
    if p.returncode != expect:
        raise AssertionError(f"convert-torch.py {' '.join(args)}: exit {p.returncode}, expected {expect}\n{p.stderr}")
    return p


def decays(n, T, F, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(T) * 0.09
    x = np.exp(-t[None, :, None] / rng.uniform(0.2, 1.5, (n, 1, F)))
    return (x + rng.normal(0, 0.02, x.shape)).astype(np.float32)


def fligru_predict(model, x, tag):
    xp, yp = os.path.join(WORK, f"{tag}_x.npy"), os.path.join(WORK, f"{tag}_y.npy")
    np.save(xp, x)
    p = subprocess.run([CLI, "predict", model, xp, yp, "--threads", "1"], capture_output=True, text=True)
    if p.returncode:
        raise AssertionError(f"fligru predict {model}: {p.stderr.strip()}")
    return np.load(yp)


def agree(tag, theirs, ours):
    d = float(np.max(np.abs(theirs - ours)))
    print(f"  {tag}: {tuple(ours.shape)}, max |PyTorch - fligru| = {d:.2e}")
    if not d <= TOL:
        failures.append(f"{tag}: max |diff| {d:.3g} > {TOL}")


def case(fn):
    t0 = time.time()
    try:
        fn()
    except AssertionError as e:
        failures.append(f"{fn.__name__}: {e}")
    print(f"  ({fn.__name__}: {time.time() - t0:.1f} s)")
    return fn


class UserSeq2Seq(nn.Module):
    """A Seq2Seq as a PyTorch user writes it: own names, nn.GRU, zeros into the
    decoder (input size 1 whatever the encoder's), tanh(Linear) bridges."""

    def __init__(self, I, E, D, L, C):
        super().__init__()
        self.L, self.E, self.D = L, E, D
        self.enc_gru = nn.GRU(I, E, L, batch_first=True)
        self.dec_gru = nn.GRU(1, D, L, batch_first=True)
        if E != D:
            self.proj = nn.ModuleList(nn.Linear(E, D) for _ in range(L))
        self.out = nn.Linear(D, C)

    def forward(self, x):
        _, h = self.enc_gru(x)
        if self.E != self.D:
            h = torch.stack([torch.tanh(self.proj[k](h[k])) for k in range(self.L)])
        y, _ = self.dec_gru(x.new_zeros(x.shape[0], x.shape[1], 1), h.contiguous())
        return self.out(y)


def from_pytorch(tag, I, E, D, L, C, as_safetensors):
    torch.manual_seed(len(tag))
    net = UserSeq2Seq(I, E, D, L, C).eval()
    sd = net.state_dict()
    if as_safetensors:      # the way huggingface's safetensors writes it: metadata {"format": "pt"}
        src = os.path.join(WORK, f"{tag}.safetensors")
        arrays = {k: v.numpy() for k, v in sd.items()}
        st.write_safetensors(src, arrays, {"format": "pt"})
    else:
        src = os.path.join(WORK, f"{tag}.pt")
        torch.save(sd, src)
    out = os.path.join(WORK, f"{tag}.fligru.safetensors")
    run(src, out)
    _, meta = st.read_safetensors(out)
    for k in ("source", "source_sha256", "converter", "command"):
        if k not in meta:
            failures.append(f"{tag}: metadata {k} missing")
    x = decays(64, 60, I, 1)
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    agree(f"{tag} (PyTorch {'safetensors' if as_safetensors else 'torch.save'} -> fligru)", theirs,
          fligru_predict(out, x, tag))


@case
def pytorch_teacher_shape():
    from_pytorch("user_2x24", 1, 24, 24, 2, 3, as_safetensors=False)


@case
def pytorch_bridge_safetensors():
    from_pytorch("user_bridge", 1, 20, 12, 2, 1, as_safetensors=True)


def round_trip(tag, model, extra_args, x):
    """fligru -> PyTorch (module + state_dict) -> fligru: outputs agree, tensors identical."""
    pt = os.path.join(WORK, f"{tag}.pt")
    run("--to-torch", model, pt)
    mod = load_module(pt[:-3] + ".py", f"fl_{tag}")
    net = mod.load()
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    agree(f"{tag} (fligru -> PyTorch module)", theirs, fligru_predict(model, x, tag))
    back = os.path.join(WORK, f"{tag}.back.safetensors")
    run(pt, back, *extra_args)
    a, ma = st.read_safetensors(model)
    b, mb = st.read_safetensors(back)
    same = list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)
    same = same and all(ma[k] == mb[k] for k in st.RESERVED)
    print(f"  {tag}: round trip fligru -> .pt -> fligru {'bit-identical' if same else 'DIFFERS'}")
    if not same:
        failures.append(f"{tag}: round trip changed the model")


@case
def committed_student():
    round_trip("student32", os.path.join(SRC, "results/models/student32-kd.safetensors"), [],
               decays(128, 135, 1, 2))


@case
def committed_teacher():
    round_trip("teacher", os.path.join(SRC, "results/models/teacher.safetensors"), [],
               decays(32, 135, 1, 3))


@case
def random_hard_sigmoid_zrn_bridge():
    """Everything nn.GRU lacks at once: reset-before, hard sigmoid, z-r-n rows,
    2 input features, a bridge, 3 layers."""
    a = st.Arch(2, 3, 3, 20, 12, reset="before", activation="hard_sigmoid", gate_order="zrn")
    rng = np.random.default_rng(7)
    t = {n: rng.uniform(-0.5, 0.5, s).astype(np.float32) for n, s in st.fligru_layout(a).items()}
    model = os.path.join(WORK, "rand_hs_zrn.safetensors")
    st.write_fligru(model, a, t, {"command": "tests/convert/test_torch.py"})
    round_trip("rand_hs_zrn", model, ["--activation", "hard_sigmoid", "--gate-order", "zrn"],
               decays(48, 50, 2, 4))


@case
def random_reset_after_hard_sigmoid():
    a = st.Arch(1, 1, 1, 8, 8, reset="after", activation="hard_sigmoid", gate_order="rzn")
    rng = np.random.default_rng(8)
    t = {n: rng.uniform(-1, 1, s).astype(np.float32) for n, s in st.fligru_layout(a).items()}
    model = os.path.join(WORK, "rand_after_hs.safetensors")
    st.write_fligru(model, a, t, {})
    round_trip("rand_after_hs", model, ["--activation", "hard_sigmoid"], decays(32, 40, 1, 5))


def refused(tag, sd, words):
    src = os.path.join(WORK, f"bad_{tag}.safetensors")
    st.write_safetensors(src, {k: v.numpy() for k, v in sd.items()}, {"format": "pt"})
    out = os.path.join(WORK, f"bad_{tag}.out.safetensors")
    if os.path.exists(out):
        os.unlink(out)
    p = run(src, out, expect=2)
    msg = p.stderr.strip()
    print(f"  {tag}: exit 2: {msg}")
    if "\n" in msg or not all(w in msg for w in words):
        failures.append(f"bad {tag}: message {msg!r} should be one line naming {words}")
    if os.path.exists(out) or any(f.startswith(f"bad_{tag}.out") for f in os.listdir(WORK)):
        failures.append(f"bad {tag}: an output file was written")


class Wrap(nn.Module):
    def __init__(self, enc, dec, out):
        super().__init__()
        self.encoder, self.decoder, self.dense = enc, dec, out


@case
def bad_inputs():
    refused("lstm", Wrap(nn.LSTM(1, 8), nn.LSTM(1, 8), nn.Linear(8, 3)).state_dict(),
            ["encoder.weight_hh_l0", "LSTM"])
    refused("bidirectional", Wrap(nn.GRU(1, 8, bidirectional=True), nn.GRU(1, 8), nn.Linear(8, 3)).state_dict(),
            ["encoder.weight_ih_l0_reverse", "bidirectional"])
    refused("input_size", Wrap(nn.GRU(5000, 4), nn.GRU(1, 4), nn.Linear(4, 3)).state_dict(),
            ["encoder.weight_ih_l0", "input size 5000"])
    refused("unequal_layers", Wrap(nn.GRU(1, 8, 2), nn.GRU(1, 8, 1), nn.Linear(8, 3)).state_dict(),
            ["decoder", "1 layer(s)", "encoder 2"])


if failures:
    print("convert.torch: FAILED\n  " + "\n  ".join(failures))
    sys.exit(1)
print("convert.torch: all cases passed")
