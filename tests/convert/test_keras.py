#!/usr/bin/python3
"""ctest convert.keras: scripts/convert-keras.py on Keras 2 / Keras 3 / QKeras files.

    test_keras.py FLIGRU_CLI SOURCE_DIR WORKDIR

The files are written with h5py in Keras' own layouts (keras_fixtures.py says where
each layout fact comes from); a numpy re-implementation of Keras' GRU equations on
the same weights must equal `fligru predict` on the converted model (max |diff|
<= 1e-5). The QKeras student's fixed-point config must be taken by `fligru
quantize`. An LSTM, a Bidirectional GRU and an input size fligru cannot take exit
2 with one line naming the layer, and write nothing.
Exit 77 (ctest SKIP_RETURN_CODE) when python3-h5py is missing.
"""
import os
import subprocess
import sys
import time

try:
    import h5py  # noqa: F401
    import numpy as np
except ImportError as e:
    print(f"convert.keras: SKIPPED: {e.name} is missing for {sys.executable} "
          f"(scripts/install-deps.sh installs python3-h5py)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_fixtures as kf  # noqa: E402

TOL = 1e-5
CLI, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
CONVERT = os.path.join(SRC, "scripts", "convert-keras.py")
os.makedirs(WORK, exist_ok=True)
failures = []


def run(*args, expect=0):
    p = subprocess.run(["/usr/bin/python3", CONVERT, *args], capture_output=True, text=True)
    if p.returncode != expect:
        raise AssertionError(f"convert-keras.py {' '.join(args)}: exit {p.returncode}, expected {expect}\n{p.stderr}")
    return p


def decays(n, T, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(T) * 0.09
    x = np.exp(-t[None, :] / rng.uniform(0.2, 1.5, (n, 1)))
    return (x + rng.normal(0, 0.02, x.shape)).astype(np.float32)[..., None]


def predict(model, x, tag):
    xp, yp = os.path.join(WORK, f"{tag}_x.npy"), os.path.join(WORK, f"{tag}_y.npy")
    np.save(xp, x)
    p = subprocess.run([CLI, "predict", model, xp, yp, "--threads", "1"], capture_output=True, text=True)
    if p.returncode:
        raise AssertionError(f"fligru predict {model}: {p.stderr.strip()}")
    return np.load(yp)


def check(tag, h5, extra, enc, dec, dense, reset_after, ract, bridge=None, T=80):
    out = os.path.join(WORK, f"{tag}.safetensors")
    p = run(h5, out, *extra)
    x = decays(48, T, len(tag))
    ref = kf.keras_seq2seq(x, enc, dec, dense, reset_after, ract, bridge)
    ours = predict(out, x, tag)
    d = float(np.max(np.abs(ref - ours)))
    print(f"  {tag}: {tuple(ours.shape)}, max |numpy Keras - fligru| = {d:.2e}")
    if not d <= TOL:
        failures.append(f"{tag}: max |diff| {d:.3g} > {TOL}")
    return out, p.stderr


def case(fn):
    t0 = time.time()
    try:
        fn()
    except AssertionError as e:
        failures.append(f"{fn.__name__}: {e}")
    print(f"  ({fn.__name__}: {time.time() - t0:.1f} s)")
    return fn


@case
def keras2_teacher_weights():
    """The authors' teacher: RNN 'encrnn' / 'decrnn' of two stacked GRUCells,
    reset_after=True, Dense 'decdense'; model.save_weights (K2.1, K2.3)."""
    rng = np.random.default_rng(1)
    H = 16
    enc = [kf.gru_cell(rng, 1, H, True), kf.gru_cell(rng, H, H, True)]
    dec = [kf.gru_cell(rng, 1, H, True), kf.gru_cell(rng, H, H, True)]
    dense = [rng.uniform(-0.5, 0.5, (H, 3)), rng.uniform(-0.1, 0.1, 3)]

    def cells(layer, cs):
        names = ["gru_cell", "gru_cell_1"] if layer == "encrnn" else ["gru_cell_2", "gru_cell_3"]
        return [(f"{layer}/stacked_rnn_cells/{n}/{w}:0", a) for n, c in zip(names, cs)
                for w, a in zip(("kernel", "recurrent_kernel", "bias"), c)]
    h5 = os.path.join(WORK, "teacher_keras2.h5")
    kf.keras2_weights(h5, [("encinput", []), ("decinput", []), ("encrnn", cells("encrnn", enc)),
                           ("decrnn", cells("decrnn", dec)),
                           ("decdense", [("decdense/kernel:0", dense[0]), ("decdense/bias:0", dense[1])])])
    out, err = check("teacher_keras2", h5, [], enc, dec, dense, True, "sigmoid")
    if "recurrent activation sigmoid: assumed" not in err:
        failures.append("teacher_keras2: the assumed recurrent activation was not reported")


@case
def qkeras_student_model():
    """The authors' student: QGRU 'sencgru' / 'sdecgru' (reset_after=False, QKeras'
    hard_sigmoid), QDense 'sdecdense'; model.save with model_config (K2.2, K2.6, Q.1)."""
    rng = np.random.default_rng(2)
    H = 8
    enc, dec = [kf.gru_cell(rng, 1, H, False)], [kf.gru_cell(rng, 1, H, False)]
    dense = [rng.uniform(-0.5, 0.5, (H, 3)), rng.uniform(-0.1, 0.1, 3)]
    qgru = dict(units=H, recurrent_activation="hard_sigmoid", reset_after=False, use_bias=True,
                activation={"class_name": "quantized_tanh",
                            "config": {"bits": 8, "symmetric": True, "use_stochastic_rounding": False,
                                       "use_real_tanh": False}},
                kernel_quantizer=kf.qbits(8), recurrent_quantizer=kf.qbits(8), bias_quantizer=kf.qbits(8),
                state_quantizer=kf.qbits(12))
    cfg = {"class_name": "Functional", "config": {"name": "student", "layers": [
        kf.layer_config("InputLayer", "sencinput"), kf.layer_config("InputLayer", "sdecinput"),
        kf.layer_config("QGRU", "sencgru", return_state=True, **qgru),
        kf.layer_config("QGRU", "sdecgru", return_sequences=True, return_state=True, **qgru),
        kf.layer_config("QDense", "sdecdense", units=3, activation="linear",
                        kernel_quantizer=kf.qbits(8, 0, 0, None), bias_quantizer=kf.qbits(8, 0, 0, None))]}}
    h5 = os.path.join(WORK, "student_qkeras.h5")
    kf.keras2_weights(h5, [
        ("sencinput", []), ("sdecinput", []),
        ("sencgru", [(f"sencgru/qgru_cell/{w}:0", a) for w, a in zip(("kernel", "recurrent_kernel", "bias"), enc[0])]),
        ("sdecgru", [(f"sdecgru/qgru_cell_1/{w}:0", a) for w, a in zip(("kernel", "recurrent_kernel", "bias"), dec[0])]),
        ("sdecdense", [("sdecdense/kernel:0", dense[0]), ("sdecdense/bias:0", dense[1])])], model_config=cfg)
    fx = os.path.join(WORK, "student_qkeras.fx.yaml")
    out, err = check("student_qkeras", h5, ["--fx-out", fx], enc, dec, dense, False, "hard_sigmoid_qkeras", T=135)
    text = open(fx).read()
    for want in ("weights: {bits: 8, scale: fixed, frac: 7}", "state: {bits: 12, frac: 11}",
                 "activation: {bits: 8, frac: 7}", "tanh: {kind: hard}", "sigmoid: {kind: hard}", "rounding: half_even"):
        if want not in text:
            failures.append(f"student_qkeras: {want!r} missing from the fixed-point config")
    if err.count("inexact:") < 4 or "sdecdense" not in err and "dense_kernel" not in err:
        failures.append(f"student_qkeras: inexact places not listed:\n{err}")
    q = os.path.join(WORK, "student_qkeras.q.safetensors")
    p = subprocess.run([CLI, "quantize", out, "--config", fx, "-o", q], capture_output=True, text=True)
    if p.returncode:
        failures.append(f"student_qkeras: fligru quantize refused the config: {p.stderr.strip()}")
    else:
        x = decays(16, 135, 9)
        d = float(np.max(np.abs(predict(q, x, "student_q") - predict(out, x, "student_f"))))
        print(f"  student_qkeras: fligru quantize takes {os.path.basename(fx)}; fixed point vs float "
              f"max |diff| = {d:.3f}")


@case
def keras3_gru_weights():
    """Keras 3 save_weights: layers/gru/cell/vars, layers/gru_1/cell/vars,
    layers/time_distributed/layer/vars (K3.1-K3.4); Keras 3's hard_sigmoid."""
    rng = np.random.default_rng(3)
    H = 12
    enc, dec = [kf.gru_cell(rng, 1, H, True)], [kf.gru_cell(rng, 1, H, True)]
    dense = [rng.uniform(-0.5, 0.5, (H, 1)), rng.uniform(-0.1, 0.1, 1)]
    h5 = os.path.join(WORK, "k3.weights.h5")
    kf.keras3_weights(h5, [("input_layer", []), ("input_layer_1", []), ("gru/cell", enc[0]),
                           ("gru_1/cell", dec[0]), ("time_distributed/layer", dense)])
    check("keras3_hs", h5, ["--recurrent-activation", "hard_sigmoid_keras3"], enc, dec, dense, True,
          "hard_sigmoid_keras3")


@case
def keras3_stacked_cells_weights():
    """Keras 3 save_weights of the authors' teacher layout: RNN layers of two
    stacked GRUCells, layers/rnn/cell/cells/gru_cell/vars and .../gru_cell_1/vars
    (K3.3), a Dense head (K3.4)."""
    rng = np.random.default_rng(5)
    H = 10
    enc = [kf.gru_cell(rng, 1, H, True), kf.gru_cell(rng, H, H, True)]
    dec = [kf.gru_cell(rng, 1, H, True), kf.gru_cell(rng, H, H, True)]
    dense = [rng.uniform(-0.5, 0.5, (H, 3)), rng.uniform(-0.1, 0.1, 3)]
    h5 = os.path.join(WORK, "k3_stacked.weights.h5")
    kf.keras3_weights(h5, [("input_layer", []), ("input_layer_1", []),
                           ("rnn/cell/cells/gru_cell", enc[0]), ("rnn/cell/cells/gru_cell_1", enc[1]),
                           ("rnn_1/cell/cells/gru_cell", dec[0]), ("rnn_1/cell/cells/gru_cell_1", dec[1]),
                           ("dense", dense)])
    check("keras3_stacked", h5, [], enc, dec, dense, True, "sigmoid")


@case
def keras2_hard_sigmoid_bridge():
    """Keras 2 GRU layers of different widths (reset_after=False, Keras' own
    hard_sigmoid 0.2x + 0.5) joined by a Dense(tanh) bridge; config in the file."""
    rng = np.random.default_rng(4)
    E, D = 10, 6
    enc, dec = [kf.gru_cell(rng, 1, E, False)], [kf.gru_cell(rng, 1, D, False)]
    bridge = [[rng.uniform(-0.5, 0.5, (E, D)), rng.uniform(-0.1, 0.1, D)]]
    dense = [rng.uniform(-0.5, 0.5, (D, 3)), rng.uniform(-0.1, 0.1, 3)]
    g = dict(recurrent_activation="hard_sigmoid", activation="tanh", reset_after=False)
    cfg = {"class_name": "Functional", "config": {"name": "m", "layers": [
        kf.layer_config("GRU", "encoder_gru", units=E, **g), kf.layer_config("Dense", "bridge", units=D, activation="tanh"),
        kf.layer_config("GRU", "decoder_gru", units=D, **g), kf.layer_config("Dense", "head", units=3, activation="linear")]}}
    h5 = os.path.join(WORK, "bridge_keras2.h5")
    kf.keras2_weights(h5, [
        ("encoder_gru", [(f"encoder_gru/gru_cell/{w}:0", a) for w, a in zip(("kernel", "recurrent_kernel", "bias"), enc[0])]),
        ("bridge", [("bridge/kernel:0", bridge[0][0]), ("bridge/bias:0", bridge[0][1])]),
        ("decoder_gru", [(f"decoder_gru/gru_cell_1/{w}:0", a) for w, a in zip(("kernel", "recurrent_kernel", "bias"), dec[0])]),
        ("head", [("head/kernel:0", dense[0]), ("head/bias:0", dense[1])])], model_config=cfg)
    check("bridge_keras2", h5, [], enc, dec, dense, False, "hard_sigmoid_keras2", bridge=bridge)


def refused(tag, path, words):
    out = os.path.join(WORK, f"bad_{tag}.safetensors")
    fx = os.path.join(WORK, f"bad_{tag}.fx.yaml")
    p = run(path, out, "--fx-out", fx, expect=2)
    msg = p.stderr.strip()
    print(f"  {tag}: exit 2: {msg}")
    if "\n" in msg or not all(w in msg for w in words):
        failures.append(f"bad {tag}: message {msg!r} should be one line naming {words}")
    if any(f.startswith(f"bad_{tag}") for f in os.listdir(WORK)):
        failures.append(f"bad {tag}: an output file was written")


@case
def bad_inputs():
    rng = np.random.default_rng(5)
    lstm = os.path.join(WORK, "lstm.h5")
    k, u, b = rng.normal(size=(1, 32)), rng.normal(size=(8, 32)), rng.normal(size=32)
    kf.keras2_weights(lstm, [(n, [(f"{n}/lstm_cell/kernel:0", k), (f"{n}/lstm_cell/recurrent_kernel:0", u),
                                  (f"{n}/lstm_cell/bias:0", b)]) for n in ("enclstm", "declstm")]
                      + [("dense", [("dense/kernel:0", rng.normal(size=(8, 3))), ("dense/bias:0", np.zeros(3))])])
    refused("lstm", lstm, ["layer enclstm", "LSTM"])
    bidi = os.path.join(WORK, "bidi.weights.h5")
    c = kf.gru_cell(rng, 1, 4, True)
    kf.keras3_weights(bidi, [("bidirectional/forward_layer/cell", c), ("bidirectional/backward_layer/cell", c),
                             ("gru/cell", c), ("dense", [rng.normal(size=(4, 3)), np.zeros(3)])])
    refused("bidirectional", bidi, ["layer bidirectional", "Bidirectional"])
    wide = os.path.join(WORK, "wide.h5")
    enc = kf.gru_cell(rng, 5000, 4, True)
    dec = kf.gru_cell(rng, 1, 4, True)
    kf.keras2_weights(wide, [(n, [(f"{n}/gru_cell/{w}:0", a) for w, a in zip(("kernel", "recurrent_kernel", "bias"), c)])
                             for n, c in (("enc", enc), ("dec", dec))]
                      + [("dense", [("dense/kernel:0", rng.normal(size=(4, 3))), ("dense/bias:0", np.zeros(3))])])
    refused("input_size", wide, ["layer enc", "input size 5000"])


if failures:
    print("convert.keras: FAILED\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"convert.keras: all cases passed (fixtures: {kf.PROVENANCE})")
