"""Keras / QKeras weight files built with h5py, in the layouts Keras itself writes.

There is no TensorFlow here, so the test writes the files the way Keras would.
Where each layout fact comes from (read in Keras', tf-keras' and QKeras' source):

Keras 2 (tf.keras, tf-keras) HDF5, tf_keras/saving/legacy/hdf5_format.py:
  K2.1 save_weights_to_hdf5_group: root attrs layer_names (bytes, model.layers
       order), backend, keras_version; one group per layer, weightless ones too,
       whose attr weight_names lists [w.name for w in layer.weights]; each weight is
       a dataset at g[weight_name], so the slashes in the name become nested groups.
  K2.2 save_model_to_hdf5 (model.save("m.h5")): root attrs keras_version, backend,
       model_config (the model's JSON, get_config of every layer), and the weights
       of K2.1 inside the group model_weights.
  K2.3 weight names: a layer's weights are created under its name scope, and
       RNN.build (tf_keras/layers/rnn/base_rnn.py) builds its cell under
       backend.name_scope(self.cell.name): 'gru/gru_cell/kernel:0'. StackedRNNCells
       (stacked_rnn_cells.py) builds each cell under name_scope(cell.name):
       'encrnn/stacked_rnn_cells/gru_cell/kernel:0', '.../gru_cell_1/kernel:0'.
       Cells are named from their class, snake_case, numbered: QGRU's QGRUCell is
       'qgru_cell' (qkeras/qrecurrent.py creates it without a name).
  K2.4 GRUCell.build (tf_keras/layers/rnn/gru.py): kernel [I, 3H], recurrent_kernel
       [H, 3H], gate blocks z, r, h along the last axis; bias [3H] when
       reset_after=False, [2, 3H] (input row, recurrent row) when True. Dense:
       kernel [in, out], bias [out].
  K2.5 hard_sigmoid (tf_keras backend): clip(0.2 x + 0.5, 0, 1).
  K2.6 layer configs (get_config): GRU/QGRU hold recurrent_activation, activation,
       reset_after; QGRU adds kernel/recurrent/bias/state_quantizer serialised as
       {"class_name": "quantized_bits", "config": {bits, integer, symmetric, alpha,
       keep_negative, ...}} (qkeras/qrecurrent.py QGRU.get_config,
       qkeras/quantizers.py quantized_bits.get_config); an RNN of cells holds
       {"cell": {"class_name": "StackedRNNCells", "config": {"cells": [...]}}}.

QKeras (qkeras/qrecurrent.py, qkeras/quantizers.py):
  Q.1 QGRU / QGRUCell defaults: recurrent_activation='hard_sigmoid' (resolved by
      QKeras' get_quantizer to quantizers.hard_sigmoid = clip(0.5 x + 0.5, 0, 1)),
      activation='quantized_tanh', reset_after=False.
  Q.2 QGRUCell.call quantises h_tm1 with state_quantizer before using it and
      returns the unquantised h = z*h_tm1 + (1-z)*hh; reset_after=False computes
      hh = act(x W_h + b_h + (r*h_tm1) U_h).

Keras 3, keras/src/saving/saving_lib.py and keras/src/layers/layer.py:
  K3.1 save_weights_only writes H5IOStore: _save_state walks the model; every
       object's own variables go to '<path>/vars/<i>' (H5Entry creates the group
       vars even when empty), i = 0, 1, ... in creation order
       (Layer.save_own_variables). The root model's own: 'vars'.
  K3.2 A Functional's layers are a container (_walk_saveable yields "layers"
       first); _save_container_state names each entry by its class, snake_case,
       numbered in model.layers order: layers/input_layer, layers/gru, layers/gru_1,
       layers/time_distributed. Names given by the user do not appear.
  K3.3 an RNN's cell is its attribute 'cell': layers/gru/cell/vars; StackedRNNCells
       keeps 'cells' (a list): layers/rnn/cell/cells/gru_cell/vars, .../gru_cell_1/vars;
       TimeDistributed keeps 'layer': layers/time_distributed/layer/vars;
       Bidirectional keeps forward_layer and backward_layer.
  K3.4 keras/src/layers/rnn/gru.py GRUCell.build: as K2.4 (reset_after defaults to
       True); hard_sigmoid (keras/src/activations): relu6(x + 3) / 6.
"""
import json

import h5py
import numpy as np

PROVENANCE = "tests/convert/keras_fixtures.py (h5py %s, numpy %s)" % (h5py.__version__, np.__version__)


def _bytes(xs):
    return np.array([x.encode("utf8") for x in xs])


def keras2_weights(path, layers, model_config=None, keras_version="2.10.0"):
    """layers: [(layer name, [(weight name, array)])] in model.layers order.
    model_config given: the model.save file (K2.2), else save_weights (K2.1)."""
    with h5py.File(path, "w") as f:
        g = f
        if model_config is not None:
            f.attrs["keras_version"] = keras_version.encode()
            f.attrs["backend"] = b"tensorflow"
            f.attrs["model_config"] = json.dumps(model_config).encode()
            g = f.create_group("model_weights")
        g.attrs["layer_names"] = _bytes([n for n, _ in layers])
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = keras_version.encode()
        for name, weights in layers:
            lg = g.create_group(name)
            lg.attrs["weight_names"] = _bytes([w for w, _ in weights])
            for w, a in weights:
                lg.create_dataset(w, data=np.asarray(a, dtype=np.float32))


def keras3_weights(path, layers):
    """layers: [(path under layers/, [arrays])]; every container gets its vars (K3.1)."""
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        for p, arrays in layers:
            parts = p.split("/")
            for i in range(1, len(parts) + 1):       # every object on the path has its vars group
                grp = f.require_group("layers/" + "/".join(parts[:i]))
                if parts[i - 1] not in ("cells",):
                    grp.require_group("vars")
            vg = f["layers/" + p + "/vars"]
            for i, a in enumerate(arrays):
                vg.create_dataset(str(i), data=np.asarray(a, dtype=np.float32))


def gru_cell(rng, I, H, reset_after, scale=0.5):
    """Keras GRUCell weights (K2.4): kernel [I,3H], recurrent_kernel [H,3H], bias."""
    k = rng.uniform(-scale, scale, (I, 3 * H))
    u = rng.uniform(-scale, scale, (H, 3 * H))
    b = rng.uniform(-scale, scale, (2, 3 * H) if reset_after else (3 * H,))
    return [k.astype(np.float32), u.astype(np.float32), b.astype(np.float32)]


def qbits(bits, integer=0, symmetric=1, alpha=1):
    """quantized_bits(...).get_config() as Keras 2 serialises it (K2.6)."""
    return {"class_name": "quantized_bits",
            "config": {"bits": bits, "integer": integer, "symmetric": symmetric, "alpha": alpha,
                       "keep_negative": True, "use_stochastic_rounding": False, "qnoise_factor": 1.0}}


def layer_config(cls, name, **conf):
    return {"class_name": cls, "config": dict(name=name, **conf), "name": name, "inbound_nodes": []}


# ---- Keras' GRU, in numpy (the reference the converted model must equal) ------

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACT = {"sigmoid": sigmoid,
       "hard_sigmoid_keras2": lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),      # K2.5
       "hard_sigmoid_keras3": lambda x: np.clip((x + 3.0) / 6.0, 0.0, 1.0),    # K3.4
       "hard_sigmoid_qkeras": lambda x: np.clip(0.5 * x + 0.5, 0.0, 1.0)}      # Q.1


def gru_cell_step(x, h, cell, reset_after, ract):
    """tf_keras GRUCell.call (implementation 2), float64."""
    K, U, b = (np.asarray(a, np.float64) for a in cell)
    H = U.shape[0]
    bi, bh = (b[0], b[1]) if reset_after else (b, None)
    mx = x @ K + bi
    xz, xr, xh = mx[:, :H], mx[:, H:2 * H], mx[:, 2 * H:]
    if reset_after:
        mi = h @ U + bh
        z, r = ract(xz + mi[:, :H]), ract(xr + mi[:, H:2 * H])
        hh = np.tanh(xh + r * mi[:, 2 * H:])
    else:
        mi = h @ U[:, :2 * H]
        z, r = ract(xz + mi[:, :H]), ract(xr + mi[:, H:])
        hh = np.tanh(xh + (r * h) @ U[:, 2 * H:])
    return z * h + (1 - z) * hh


def keras_seq2seq(x, enc_cells, dec_cells, dense, reset_after, ract, bridge=None):
    """The authors' Seq2Seq: RNN(cells, return_state) -> states (through
    Dense(tanh) bridges when given) -> RNN(cells, return_sequences) on zeros -> Dense."""
    ract = ACT[ract]
    B, T, _ = x.shape
    hs = [np.zeros((B, c[1].shape[0])) for c in enc_cells]
    for t in range(T):                      # StackedRNNCells: each step through every cell
        inp = x[:, t, :].astype(np.float64)
        for i, c in enumerate(enc_cells):
            hs[i] = gru_cell_step(inp, hs[i], c, reset_after, ract)
            inp = hs[i]
    if bridge:
        hs = [np.tanh(h @ np.asarray(k, np.float64) + np.asarray(b, np.float64)) for h, (k, b) in zip(hs, bridge)]
    dec_in_size = dec_cells[0][0].shape[0]
    y = []
    for t in range(T):
        inp = np.zeros((B, dec_in_size))
        for i, c in enumerate(dec_cells):
            hs[i] = gru_cell_step(inp, hs[i], c, reset_after, ract)
            inp = hs[i]
        y.append(inp @ np.asarray(dense[0], np.float64) + np.asarray(dense[1], np.float64))
    return np.stack(y, 1)
