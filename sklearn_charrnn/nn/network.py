"""The stacked character RNN as pure functions of a dict of weights.

Token index 0 is the boundary token: it is the first input of every sequence
and the last target (the end token). The network is

``xw_1 = W_x0[token] + b0`` (a row gather, not a one-hot product),
``h_l = cell_l(xw_l)``, ``xw_{l+1} = dropout(h_l) @ W_x{l} + b{l}``,
``logits = dropout(h_L) @ W_y + b_y``.

Weights are named ``W_x0, W_h0, b0, ..., W_y, b_y``. A batch is three arrays of
shape (T, B): ``inputs`` and ``targets`` token indices and a boolean ``mask``
that is False on padding.

A conditional network, which learns ``p(sequence | label)``, has one more
weight: the label embedding ``E`` of shape ``(n_classes, G * H)``, whose row
for a sequence's label is added to the first layer's input projection at
every step, ``xw_1 = W_x0[token] + E[label] + b0``. Its functions then take
``labels``, one class index per column of the batch. For one label the
network is an unconditional one with ``b0 + E[label]`` as its first bias
(:func:`bind_label`), which is how generation sees it.

Padding adds nothing to the loss or the gradients: its positions get zero
weight in the loss, so no gradient flows from them.

Inside the network the input projections and their gradients are laid out
gate first, ``(G, T, B, H)`` (see :mod:`.cells`); the weights keep their
``(n_in, G * H)`` shapes, viewed per gate with :func:`.cells.gate_view`.

:class:`RecurrentSteps` is the network's step interface, the one generation
uses (:mod:`sklearn_charrnn.generation`).
"""

from typing import NamedTuple

import numpy as np

from . import cells
from .cells import CELLS, gate_view
from .parallel import row_blocks
from .workspace import empty

# Standard deviation of the first layer's per-token input rows.
INPUT_STD = 3.0
# Standard deviation of the label embedding's rows (a conditional network).
LABEL_STD = 1.0


def init_weights(rng, *, cell, n_layers, hidden_size, n_tokens, dtype, n_classes=0):
    """Draw initial weights.

    The first layer's input rows (one per token) are normal with standard
    deviation ``INPUT_STD``: each token then moves the gates strongly from the
    first step, which measurably improves held-out scores (see
    ``benchmarks/quality.py``). Every other matrix is uniform in
    ``[-1/sqrt(H), 1/sqrt(H)]`` (PyTorch's choice for its recurrent layers);
    biases start at zero except the LSTM forget gate, at one, so that early
    gradients flow through the cell state. The label embedding ``E`` of a
    conditional network is drawn last, normal with standard deviation
    ``LABEL_STD``, so that the other weights are the unconditional
    network's draws.

    Parameters
    ----------
    rng : numpy.random.Generator
    cell : {"rnn", "gru", "lstm"}
    n_layers : int
    hidden_size : int
    n_tokens : int
        Size of the input and output vocabulary, boundary token included.
    dtype : numpy dtype
    n_classes : int, default=0
        Number of labels of a conditional network; 0 for none (no ``E``).

    Returns
    -------
    weights : dict of str to ndarray
    """
    H = hidden_size
    GH = CELLS[cell].n_gates * H
    bound = 1.0 / np.sqrt(H)
    weights = {}
    for layer in range(n_layers):
        if layer == 0:
            weights["W_x0"] = rng.normal(0.0, INPUT_STD, (n_tokens, GH))
        else:
            weights[f"W_x{layer}"] = rng.uniform(-bound, bound, (H, GH))
        weights[f"W_h{layer}"] = rng.uniform(-bound, bound, (H, GH))
        bias = np.zeros(GH)
        if cell == "lstm":
            bias[H : 2 * H] = 1.0
        weights[f"b{layer}"] = bias
    weights["W_y"] = rng.uniform(-bound, bound, (H, n_tokens))
    weights["b_y"] = np.zeros(n_tokens)
    if n_classes:
        weights["E"] = rng.normal(0.0, LABEL_STD, (n_classes, GH))
    return {name: w.astype(dtype) for name, w in weights.items()}


def weight_shapes(*, cell, n_layers, hidden_size, n_tokens, n_classes=0):
    """Return the shape every weight must have, keyed by name."""
    H = hidden_size
    GH = CELLS[cell].n_gates * H
    shapes = {}
    for layer in range(n_layers):
        shapes[f"W_x{layer}"] = (n_tokens if layer == 0 else H, GH)
        shapes[f"W_h{layer}"] = (H, GH)
        shapes[f"b{layer}"] = (GH,)
    shapes["W_y"] = (H, n_tokens)
    shapes["b_y"] = (n_tokens,)
    if n_classes:
        shapes["E"] = (n_classes, GH)
    return shapes


def is_decayed(name):
    """Weight decay applies to weight matrices and label rows, never to biases."""
    return name.startswith("W_") or name == "E"


def bind_label(weights, label):
    """The unconditional network a conditional one is for one label.

    Parameters
    ----------
    weights : dict of str to ndarray
        A conditional network's weights (with ``E``).
    label : int
        A class index, a row of ``E``.

    Returns
    -------
    weights : dict of str to ndarray
        The same arrays but ``b0``, which becomes ``b0 + E[label]``, and
        without ``E``.
    """
    bound = {name: w for name, w in weights.items() if name != "E"}
    bound["b0"] = weights["b0"] + weights["E"][label]
    return bound


def log_softmax(logits, axis=-1):
    """Log-softmax along ``axis`` (rows by default), stable for any finite input."""
    # the largest of each row, found along the first axis of a copy: NumPy
    # reduces a few long rows many times faster than many short ones
    top = np.ascontiguousarray(np.moveaxis(logits, axis, 0)).max(axis=0)
    shifted = logits - np.expand_dims(top, axis)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def token_table(weights, n_gates):
    """The first layer's input projection of every token, ``W_x0 + b0``
    gate first: ``(G, V, H)``."""
    return np.ascontiguousarray(gate_view(weights["W_x0"] + weights["b0"], n_gates))


def _project_inputs(weights, layer, x, n_gates, work=None, labels=None, table=None):
    """``x @ W_x + b`` for one layer, gate first: shape ``(G, T, B, H)``.

    For the first layer ``x`` holds tokens and the product is a row gather
    from ``table`` (:func:`token_table`, computed when None), plus each
    column's label row ``E[labels]`` when ``labels`` is given.
    """
    W_x, b = weights[f"W_x{layer}"], weights[f"b{layer}"]
    G = n_gates
    H = W_x.shape[1] // G
    if layer == 0:
        table = token_table(weights, G) if table is None else table  # (G, V, H)
        T, B = x.shape
        xw = empty(work, "xw", (G, T, B, H), W_x.dtype)
        # x holds tokens of the vocabulary: mode="clip" clips nothing, and
        # spares the buffered copy the default mode makes when given out=
        np.take(table, x, axis=1, out=xw, mode="clip")  # (G, T, B, H)
        if labels is not None:
            xw += np.take(gate_view(weights["E"], G), labels, axis=1)[:, None]
        return xw
    T, B, H_in = x.shape
    xw = np.matmul(x.reshape(T * B, H_in), gate_view(W_x, G))  # (G, T*B, H)
    xw += b.reshape(G, 1, H)
    return xw.reshape(G, T, B, H)


def _dropout_mask(rng, shape, rate, dtype):
    """Inverted dropout: zeros with probability ``rate``, else ``1/(1-rate)``."""
    keep = rng.random(shape, dtype=np.float32) >= rate
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - rate))


def run_layers(
    weights,
    cell,
    n_layers,
    inputs,
    states=None,
    dropout=0.0,
    rng=None,
    work=None,
    labels=None,
):
    """Run every layer over a batch of input tokens.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    inputs : ndarray of shape (T, B)
        Input token indices.
    states : list of tuple of ndarray, default=None
        State of each layer before the first step; zeros when None.
    dropout : float, default=0.0
        Dropout rate on the output of every layer (training only).
    rng : numpy.random.Generator, default=None
        Needed when ``dropout > 0``.
    work : Workspace, default=None
        Scratch memory reused between calls; the returned arrays live in it.
    labels : ndarray of shape (B,), default=None
        Class index of every column: needed when, and only when, the
        network is conditional (its weights hold ``E``).

    Returns
    -------
    top : ndarray of shape (T, B, H)
        Output of the last layer, after dropout.
    final_states : list of tuple of ndarray
        State of each layer after the last step.
    caches : list
        What :func:`backward` needs.
    """
    dtype = weights["W_y"].dtype
    G = CELLS[cell].n_gates
    _check_labels(weights, labels, inputs.shape[1])
    x = inputs
    final_states, caches = [], []
    for layer in range(n_layers):
        layer_work = None if work is None else work.scope(layer)
        xw = _project_inputs(weights, layer, x, G, layer_work, labels)  # (G,T,B,H)
        state0 = None if states is None else states[layer]  # None: zeros
        hs, state, cache = cells.forward(
            CELLS[cell], xw, weights[f"W_h{layer}"], state0
        )
        drop = None
        if dropout > 0.0:
            drop = _dropout_mask(rng, hs.shape, dropout, dtype)  # (T, B, H)
            hs = hs * drop
        caches.append((x, cache, drop, labels if layer == 0 else None))
        final_states.append(state)
        x = hs
    return x, final_states, caches


def _check_labels(weights, labels, n_columns):
    """A conditional network needs one label per column; another, none."""
    if ("E" in weights) != (labels is not None):
        has = "a conditional network" if "E" in weights else "a network without E"
        raise ValueError(f"labels must be given for, and only for, {has}.")
    if labels is not None and np.shape(labels) != (n_columns,):
        raise ValueError(
            f"labels must hold one class index per column: expected shape "
            f"({n_columns},), got {np.shape(labels)}."
        )


def loss_and_gradients(
    weights,
    cell,
    n_layers,
    inputs,
    targets,
    mask,
    dropout=0.0,
    rng=None,
    work=None,
    n_total=None,
    labels=None,
):
    """Mean negative log-likelihood per token of a batch, and its gradients.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    inputs, targets : ndarray of shape (T, B)
        Token indices; ``targets[t] = inputs[t + 1]`` within each sequence.
    mask : ndarray of shape (T, B), dtype bool
        False on padding.
    dropout : float, default=0.0
    rng : numpy.random.Generator, default=None
    work : Workspace, default=None
        Scratch memory reused between calls. The gradients may then live in
        it and be overwritten by the next call with the same workspace.
    n_total : int, default=None
        What the summed negative log-likelihood is divided by: the unmasked
        tokens of a larger batch this one is a part of. Its own unmasked
        tokens when None.
    labels : ndarray of shape (B,), default=None
        Class index of every column, for a conditional network.

    Returns
    -------
    loss : float
        Negative log-likelihood summed over the unmasked tokens, divided by
        ``n_total`` (by default: the mean per token), in nats.
    grads : dict of str to ndarray
        Gradient of ``loss`` for every weight.
    """
    top, _, caches = run_layers(
        weights, cell, n_layers, inputs, None, dropout, rng, work, labels
    )
    T, B, H = top.shape
    n_tokens = int(np.count_nonzero(mask)) if n_total is None else n_total
    # The output layer runs on every position, padding included: a few
    # wasted rows cost less than gathering the real ones and scattering back.
    h_all = top.reshape(T * B, H)  # (T*B, H)
    logp = log_softmax(h_all @ weights["W_y"] + weights["b_y"])  # (T*B, V)
    rows = np.arange(T * B)
    weight = mask.reshape(-1) / top.dtype.type(n_tokens)  # (T*B,): 0 on padding
    loss = -float(np.dot(logp[rows, targets.reshape(-1)], weight))

    # dlogits = (softmax - one-hot of the target) * weight
    dlogits = np.exp(logp, out=logp)  # (T*B, V)
    dlogits[rows, targets.reshape(-1)] -= 1.0
    dlogits *= weight[:, None].astype(top.dtype)
    grads = {"W_y": h_all.T @ dlogits, "b_y": dlogits.sum(axis=0)}
    dtop = (dlogits @ weights["W_y"].T).reshape(T, B, H)  # (T, B, H)
    backward(weights, cell, caches, dtop, grads)
    return loss, grads


def backward(weights, cell, caches, dtop, grads):
    """Backpropagate ``dtop`` through every layer, filling ``grads``."""
    G = CELLS[cell].n_gates
    dhs = dtop  # (T, B, H)
    for layer in range(len(caches) - 1, -1, -1):
        x, cache, drop, labels = caches[layer]
        if drop is not None:
            dhs = dhs * drop
        dxw, dW_h = cells.backward(CELLS[cell], dhs, cache, weights[f"W_h{layer}"])
        _, T, B, H = dxw.shape
        dxw_flat = dxw.reshape(G, T * B, H)  # (G, T*B, H)
        grads[f"W_h{layer}"] = dW_h
        W_x = weights[f"W_x{layer}"]
        if layer == 0:
            # gradient of a row gather: one-hot rows times dxw
            onehot = np.zeros((W_x.shape[0], T * B), dtype=W_x.dtype)  # (V, T*B)
            onehot[x.reshape(-1), np.arange(T * B)] = 1.0
            dWg = np.matmul(onehot, dxw_flat)  # (G, V, H)
            if labels is not None:
                grads["E"] = _label_gradient(weights["E"], labels, dxw)
        else:
            x_flat = x.reshape(T * B, -1)  # (T*B, H_in)
            dWg = np.matmul(x_flat.T, dxw_flat)  # (G, H_in, H)
            dx = np.matmul(dxw_flat, gate_view(W_x, G).transpose(0, 2, 1))
            dhs = dx.sum(axis=0).reshape(x.shape)  # (T, B, H_in)
        grads[f"W_x{layer}"] = dWg.transpose(1, 0, 2).reshape(W_x.shape)
        grads[f"b{layer}"] = dxw_flat.sum(axis=1).reshape(-1)  # (G*H,)
    return grads


def _label_gradient(E, labels, dxw):
    """Gradient of ``E``: each column's summed ``dxw`` added to its label's row."""
    onehot = np.zeros((E.shape[0], len(labels)), dtype=E.dtype)  # (C, B)
    onehot[labels, np.arange(len(labels))] = 1.0
    dE = np.matmul(onehot, dxw.sum(axis=1))  # (G, C, H)
    return dE.transpose(1, 0, 2).reshape(E.shape)


def sequence_log_likelihood(
    weights, cell, n_layers, inputs, targets, mask, labels=None
):
    """Log-likelihood of every sequence of a batch, in nats.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    inputs, targets : ndarray of shape (T, B)
    mask : ndarray of shape (T, B), dtype bool
    labels : ndarray of shape (B,), default=None
        Class index of every column, for a conditional network.

    Returns
    -------
    log_likelihood : ndarray of shape (B,), dtype float64
        Sum over the unmasked positions of each column.
    """
    top, _, _ = run_layers(weights, cell, n_layers, inputs, labels=labels)
    T, B, H = top.shape
    logp = log_softmax(top.reshape(T * B, H) @ weights["W_y"] + weights["b_y"])
    token_logp = logp[np.arange(T * B), targets.reshape(-1)]  # (T*B,)
    token_logp = np.where(mask.reshape(-1), token_logp, 0.0)  # padding adds 0
    return token_logp.reshape(T, B).sum(axis=0, dtype=np.float64)


class RecurrentState(NamedTuple):
    """Where some sequences stand in the network.

    Attributes
    ----------
    layers : list of tuple of ndarray of shape (n, H)
        The recurrent state of every layer, one row per sequence.
    top : ndarray of shape (n, H)
        The last layer's output after the last token read.
    """

    layers: list
    top: np.ndarray


class RecurrentSteps:
    """The step interface of a fitted network (see :mod:`..generation`).

    ``advance`` gathers the rows it continues, then computes their recurrent
    product ``h @ W_h``: a row it leaves out (a sequence that ended) costs
    no product, and there is no product to gather. It runs in blocks of rows
    (:func:`.parallel.row_blocks`), each through :meth:`advance_rows`, the
    plain step.

    Parameters
    ----------
    weights : dict of str to ndarray
        An unconditional network's (a conditional one's, for one label, is
        :func:`bind_label`'s).
    cell : str
    n_layers : int
    """

    def __init__(self, weights, cell, n_layers):
        self.weights, self.cell, self.n_layers = weights, cell, n_layers
        self.n_tokens = weights["W_y"].shape[1]
        # once, not at every step or block: (G, V, H) for V tokens
        self._tokens = token_table(weights, CELLS[cell].n_gates)

    def start(self, n):
        """State of ``n`` sequences that have read the start token."""
        return self.advance(None, np.zeros(n, dtype=np.intp))

    def advance(self, state, tokens, parents=None):
        """Row ``i``: row ``parents[i]`` of ``state`` after reading ``tokens[i]``.

        ``state=None`` is the zero state of every sequence.
        """
        n = tokens.shape[0]
        rows = np.arange(n) if parents is None else parents
        H, GH = self.weights["W_h0"].shape
        blocks = row_blocks(n, GH)  # G * H numbers a row
        if len(blocks) == 1:
            return self.advance_rows(state, tokens, rows)
        cell, dtype = CELLS[self.cell], self.weights["W_h0"].dtype
        layers = [  # (n, H) each
            tuple(np.empty((n, H), dtype) for _ in range(cell.n_states))
            for _ in range(self.n_layers)
        ]
        for block in blocks:
            part = self.advance_rows(state, tokens[block], rows[block])
            for whole, layer in zip(layers, part.layers, strict=True):
                for w, s in zip(whole, layer, strict=True):
                    w[block] = s
        return RecurrentState(layers, layers[-1][0])

    def advance_rows(self, state, tokens, rows):
        """:meth:`advance` of every row at once; ``rows`` are the parents."""
        cell = CELLS[self.cell]
        x = tokens[None, :]  # (1, n)
        layers = []
        for layer in range(self.n_layers):
            W_h = self.weights[f"W_h{layer}"]
            xw = _project_inputs(
                self.weights, layer, x, cell.n_gates, table=self._tokens
            )[:, 0]
            if state is None:  # the zero state: a zero product
                before = tuple(
                    np.zeros(xw.shape[1:], xw.dtype) for _ in range(cell.n_states)
                )
                hw = np.zeros_like(xw)
            else:
                # (n, H) each: the rows it continues (np.take: faster than s[rows])
                before = tuple(np.take(s, rows, 0) for s in state.layers[layer])
                hw = before[0] @ gate_view(W_h, cell.n_gates)  # (G, n, H)
            after, _ = cell.step(xw, hw, before)  # (G, n, H) in
            layers.append(after)
            x = after[0][None]  # (1, n, H)
        return RecurrentState(layers, x[0])

    def log_probs(self, state):
        """Next-token log-probabilities of every sequence: ``(n, V)``."""
        return log_softmax(state.top @ self.weights["W_y"] + self.weights["b_y"])
