"""The stacked character RNN as pure functions of a dict of weights.

Token index 0 is the boundary token: it is the first input of every sequence
and the last target (the end token). The network is

``xw_1 = W_x1[token] + b_1`` (a row gather, not a one-hot product),
``h_l = cell_l(xw_l)``, ``xw_{l+1} = dropout(h_l) @ W_x{l+1} + b_{l+1}``,
``logits = dropout(h_L) @ W_y + b_y``.

Weights are named ``W_x0, W_h0, b0, ..., W_y, b_y``. A batch is three arrays of
shape (T, B): ``inputs`` and ``targets`` token indices and a boolean ``mask``
that is False on padding. Padding adds nothing to the loss or the gradients:
the output layer only sees the positions where ``mask`` is True.
"""

import numpy as np

from .cells import CELLS


def init_weights(rng, *, cell, n_layers, hidden_size, n_tokens, dtype):
    """Draw initial weights.

    Every matrix is uniform in ``[-1/sqrt(H), 1/sqrt(H)]`` (PyTorch's choice
    for its recurrent layers); biases start at zero except the LSTM forget
    gate, at one, so that early gradients flow through the cell state.

    Parameters
    ----------
    rng : numpy.random.Generator
    cell : {"rnn", "gru", "lstm"}
    n_layers : int
    hidden_size : int
    n_tokens : int
        Size of the input and output vocabulary, boundary token included.
    dtype : numpy dtype

    Returns
    -------
    weights : dict of str to ndarray
    """
    H = hidden_size
    GH = CELLS[cell].n_gates * H
    bound = 1.0 / np.sqrt(H)
    weights = {}
    for layer in range(n_layers):
        n_in = n_tokens if layer == 0 else H
        weights[f"W_x{layer}"] = rng.uniform(-bound, bound, (n_in, GH))
        weights[f"W_h{layer}"] = rng.uniform(-bound, bound, (H, GH))
        bias = np.zeros(GH)
        if cell == "lstm":
            bias[H : 2 * H] = 1.0
        weights[f"b{layer}"] = bias
    weights["W_y"] = rng.uniform(-bound, bound, (H, n_tokens))
    weights["b_y"] = np.zeros(n_tokens)
    return {name: w.astype(dtype) for name, w in weights.items()}


def weight_shapes(*, cell, n_layers, hidden_size, n_tokens):
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
    return shapes


def is_decayed(name):
    """Weight decay applies to weight matrices, never to biases."""
    return name.startswith("W_")


def zero_state(cell, batch_size, hidden_size, dtype):
    """The all-zero recurrent state of one layer."""
    return tuple(
        np.zeros((batch_size, hidden_size), dtype=dtype)
        for _ in range(CELLS[cell].n_states)
    )


def log_softmax(logits):
    """Row-wise log-softmax, stable for any finite input."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return shifted


def _project_inputs(weights, layer, x):
    """``x @ W_x + b`` for one layer: a row gather when ``x`` holds tokens."""
    W_x, b = weights[f"W_x{layer}"], weights[f"b{layer}"]
    if layer == 0:
        xw = np.take(W_x, x, axis=0)  # (T, B, GH)
    else:
        T, B, H = x.shape
        xw = (x.reshape(-1, H) @ W_x).reshape(T, B, -1)  # (T, B, GH)
    xw += b
    return xw


def _dropout_mask(rng, shape, rate, dtype):
    """Inverted dropout: zeros with probability ``rate``, else ``1/(1-rate)``."""
    keep = rng.random(shape, dtype=np.float32) >= rate
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - rate))


def run_layers(weights, cell, n_layers, inputs, states=None, dropout=0.0, rng=None):
    """Run every layer over a batch of input tokens.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    inputs : ndarray of shape (T, B)
        Input token indices.
    states : list of tuple of ndarray, default=None
        Initial state of each layer; zeros when None.
    dropout : float, default=0.0
        Dropout rate on the output of every layer (training only).
    rng : numpy.random.Generator, default=None
        Needed when ``dropout > 0``.

    Returns
    -------
    top : ndarray of shape (T, B, H)
        Output of the last layer, after dropout.
    final_states : list of tuple of ndarray
        State of each layer after the last step.
    caches : list
        What :func:`backward` needs.
    """
    T, B = inputs.shape
    dtype = weights["W_y"].dtype
    H = weights["W_y"].shape[0]
    forward = CELLS[cell].forward
    x = inputs
    final_states, caches = [], []
    for layer in range(n_layers):
        xw = _project_inputs(weights, layer, x)  # (T, B, GH)
        state0 = zero_state(cell, B, H, dtype) if states is None else states[layer]
        hs, state, cache = forward(xw, weights[f"W_h{layer}"], state0)
        drop = None
        if dropout > 0.0:
            drop = _dropout_mask(rng, hs.shape, dropout, dtype)  # (T, B, H)
            hs = hs * drop
        caches.append((x, cache, drop))
        final_states.append(state)
        x = hs
    return x, final_states, caches


def loss_and_gradients(
    weights, cell, n_layers, inputs, targets, mask, dropout=0.0, rng=None
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

    Returns
    -------
    loss : float
        Mean negative log-likelihood per unmasked token, in nats.
    grads : dict of str to ndarray
        Gradient of ``loss`` for every weight.
    """
    top, _, caches = run_layers(weights, cell, n_layers, inputs, None, dropout, rng)
    T, B, H = top.shape
    positions = np.flatnonzero(mask)  # (N,)
    n_tokens = positions.size
    h_out = top.reshape(-1, H)[positions]  # (N, H)
    logp = log_softmax(h_out @ weights["W_y"] + weights["b_y"])  # (N, V)
    rows = np.arange(n_tokens)
    tgt = targets.reshape(-1)[positions]  # (N,)
    loss = -float(logp[rows, tgt].sum(dtype=np.float64)) / n_tokens

    dlogits = np.exp(logp, out=logp)  # (N, V): softmax
    dlogits[rows, tgt] -= 1.0
    dlogits *= dlogits.dtype.type(1.0 / n_tokens)
    grads = {"W_y": h_out.T @ dlogits, "b_y": dlogits.sum(axis=0)}
    dtop = np.zeros((T * B, H), dtype=top.dtype)  # (T*B, H)
    dtop[positions] = dlogits @ weights["W_y"].T
    backward(weights, cell, caches, dtop.reshape(T, B, H), grads)
    return loss, grads


def backward(weights, cell, caches, dtop, grads):
    """Backpropagate ``dtop`` through every layer, filling ``grads``."""
    backward_cell = CELLS[cell].backward
    dhs = dtop  # (T, B, H)
    for layer in range(len(caches) - 1, -1, -1):
        x, cache, drop = caches[layer]
        if drop is not None:
            dhs = dhs * drop
        dxw, dW_h = backward_cell(dhs, cache, weights[f"W_h{layer}"])
        GH = dxw.shape[-1]
        dxw_flat = dxw.reshape(-1, GH)  # (T*B, GH)
        grads[f"W_h{layer}"] = dW_h
        grads[f"b{layer}"] = dxw_flat.sum(axis=0)
        if layer == 0:
            grads["W_x0"] = _scatter_rows(x.reshape(-1), dxw_flat, weights["W_x0"])
        else:
            H = x.shape[-1]
            grads[f"W_x{layer}"] = x.reshape(-1, H).T @ dxw_flat
            W_x = weights[f"W_x{layer}"]
            dhs = (dxw_flat @ W_x.T).reshape(x.shape)
    return grads


def _scatter_rows(tokens, rows, like):
    """Sum ``rows`` by token: the gradient of a row gather.

    Sorting once and summing runs with ``np.add.reduceat`` is far faster than
    ``np.add.at``.
    """
    order = np.argsort(tokens, kind="stable")
    sorted_tokens = tokens[order]
    starts = np.flatnonzero(np.r_[True, sorted_tokens[1:] != sorted_tokens[:-1]])
    out = np.zeros_like(like)
    out[sorted_tokens[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out


def sequence_log_likelihood(weights, cell, n_layers, inputs, targets, mask):
    """Log-likelihood of every sequence of a batch, in nats.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    inputs, targets : ndarray of shape (T, B)
    mask : ndarray of shape (T, B), dtype bool

    Returns
    -------
    log_likelihood : ndarray of shape (B,), dtype float64
        Sum over the unmasked positions of each column.
    """
    top, _, _ = run_layers(weights, cell, n_layers, inputs)
    T, B, H = top.shape
    positions = np.flatnonzero(mask)  # (N,)
    logp = log_softmax(top.reshape(-1, H)[positions] @ weights["W_y"] + weights["b_y"])
    token_logp = logp[np.arange(positions.size), targets.reshape(-1)[positions]]
    per_position = np.zeros(T * B)  # (T*B,)
    per_position[positions] = token_logp
    return per_position.reshape(T, B).sum(axis=0)


def next_token_log_probs(weights, cell, n_layers, tokens, states):
    """Advance every layer one step and return the next-token distribution.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    tokens : ndarray of shape (B,)
        The token each sequence reads now.
    states : list of tuple of ndarray, or None
        State of every layer; zeros when None.

    Returns
    -------
    log_probs : ndarray of shape (B, V)
    states : list of tuple of ndarray
    """
    top, states, _ = run_layers(weights, cell, n_layers, tokens[None, :], states)
    logits = top[0] @ weights["W_y"] + weights["b_y"]  # (B, V)
    return log_softmax(logits), states
