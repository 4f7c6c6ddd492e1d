"""The stacked character RNN as pure functions of a dict of weights.

Token index 0 is the boundary token: it is the first input of every sequence
and the last target (the end token). The network is

``xw_1 = W_x1[token] + b_1`` (a row gather, not a one-hot product),
``h_l = cell_l(xw_l)``, ``xw_{l+1} = dropout(h_l) @ W_x{l+1} + b_{l+1}``,
``logits = dropout(h_L) @ W_y + b_y``.

Weights are named ``W_x0, W_h0, b0, ..., W_y, b_y``. A batch is three arrays of
shape (T, B): ``inputs`` and ``targets`` token indices and a boolean ``mask``
that is False on padding. Padding adds nothing to the loss or the gradients:
its positions get zero weight in the loss, so no gradient flows from them.

Scoring and sampling run a single sequence as two identical ones. NumPy
multiplies a single row by a matrix with BLAS's matrix-vector product, whose
sums round differently from the matrix product of a batch. Two rows are not
enough for float32 products of every size: OpenBLAS multiplies products of
at most 1,000,000 multiply-adds with another kernel than bigger ones, and
the two may round a row differently. Scoring runs in float64, where a
sequence's result does not depend on its batch (tested), and the sampler
splits its work by sizes only.

Inside the network the input projections and their gradients are laid out
gate first, ``(G, T, B, H)`` (see :mod:`.cells`); the weights keep their
``(n_in, G * H)`` shapes, viewed per gate with :func:`.cells.gate_view`.
"""

from functools import lru_cache

import numpy as np

from .cells import (
    CELLS,
    STATE_READ_WITH_HW0,
    find_runs,
    gate_view,
    matmul_rows,
    row_chunks,
    single_run,
)
from .workspace import empty

# Standard deviation of the first layer's per-token input rows.
INPUT_STD = 3.0

# Training shares the first states of rows that begin alike (_prefix_runs)
# when one row's recurrent product costs at least this many multiply-adds
# (gates times hidden size squared); below it the bookkeeping costs more
# than the products it saves. `python benchmarks/shared_runs.py` measures
# both ways (docs/benchmarks_speed.rst).
_SHARE_WORK = 40_000


def init_weights(rng, *, cell, n_layers, hidden_size, n_tokens, dtype):
    """Draw initial weights.

    The first layer's input rows (one per token) are normal with standard
    deviation ``INPUT_STD``: each token then moves the gates strongly from the
    first step, which measurably improves held-out scores (see
    ``benchmarks/quality.py``). Every other matrix is uniform in
    ``[-1/sqrt(H), 1/sqrt(H)]`` (PyTorch's choice for its recurrent layers);
    biases start at zero except the LSTM forget gate, at one, so that early
    gradients flow through the cell state.

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


@lru_cache(maxsize=64)
def _ones(n, dtype):
    """A read-only vector of ``n`` ones: row sums as a product (see below)."""
    ones = np.ones(n, dtype=dtype)
    ones.flags.writeable = False
    return ones


@lru_cache(maxsize=64)
def _arange(n):
    """A read-only ``np.arange(n)``."""
    positions = np.arange(n)
    positions.flags.writeable = False
    return positions


def log_softmax(logits, axis=-1):
    """Log-softmax along ``axis`` (rows by default), stable for any finite input."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def _shifted_exp(logits, out=None):
    """``exp(logits - shift)`` and its row sums, shifting ``logits`` in place.

    The shift is the largest logit of the whole array, one fast reduction,
    rather than each row's largest, a slow reduction over ~30 values per
    row. Nothing overflows; a row far below the largest could underflow, so
    then every row is shifted by its own largest instead.

    Returns
    -------
    exp : ndarray of shape (N, V)
        ``out`` when given, else a new array.
    total : ndarray of shape (N,)
        Its row sums.
    """
    ones = _ones(logits.shape[1], logits.dtype)
    logits -= logits.max()
    exp = np.exp(logits, out=out)
    total = exp @ ones  # row sums; a product beats sum(axis=1) on short rows
    if total.min() < 1e-30:
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=exp)
        total = exp @ ones
    return exp, total


def _output_log_probs_t(weights, h):
    """Next-token log-probabilities, vocabulary first: shape ``(V, N)``.

    With many rows, the softmax's reductions over the ~30 tokens run along
    rows of length N in this layout, two to three times faster than along
    the short rows of ``(N, V)``.
    """
    logits = weights["W_y"].T @ h.T  # (V, N)
    logits += weights["b_y"][:, None]
    return log_softmax(logits, axis=0)


def _project_inputs(weights, layer, x, n_gates, work=None):
    """``x @ W_x + b`` for one layer, gate first: shape ``(G, T, B, H)``.

    For the first layer ``x`` holds tokens and the product is a row gather
    from ``W_x + b``.
    """
    W_x, b = weights[f"W_x{layer}"], weights[f"b{layer}"]
    G = n_gates
    H = W_x.shape[1] // G
    if layer == 0:
        T, B = x.shape
        table = np.add(W_x, b, out=empty(work, "table", W_x.shape, W_x.dtype))
        table = gate_view(table, G)  # (G, V, H)
        xw = empty(work, "xw", (G, T, B, H), W_x.dtype)
        np.take(table, x, axis=1, out=xw, mode="clip")  # (G, T, B, H)
        return xw
    T, B, H_in = x.shape
    xw = empty(work, "xw", (G, T * B, H), W_x.dtype)
    np.matmul(x.reshape(-1, H_in), gate_view(W_x, G), out=xw)  # (G, T*B, H)
    xw += b.reshape(G, 1, H)
    return xw.reshape(G, T, B, H)


def _dropout_mask(rng, shape, rate, dtype, work=None):
    """Inverted dropout: zeros with probability ``rate``, else ``1/(1-rate)``."""
    draws = rng.random(dtype=np.float32, out=empty(work, "draws", shape, np.float32))
    keep = np.greater_equal(draws, rate, out=empty(work, "keep", shape, np.bool_))
    drop = empty(work, "drop", shape, dtype)
    np.copyto(drop, keep)
    drop *= dtype.type(1.0 / (1.0 - rate))
    return drop


def _prefix_runs(inputs, dtype):
    """The runs of rows that share their first states (see :mod:`.cells`).

    From the zero state, rows that read the same first token share the
    state after the first step; rows that also read the same second token
    share the state after the second step. Only runs of consecutive rows
    count: batches list their rows by first character
    (:func:`~sklearn_charrnn._sequences.make_batches`). The second step's
    runs are used when they save at least half of the rows.

    Returns
    -------
    runs : tuple of Runs
        Empty, or the runs after the first step (a single run: every row),
        or those and the runs after the second step.
    """
    T, B = inputs.shape
    if B < 2 or not (inputs[0] == inputs[0, 0]).all():
        return ()
    runs = (single_run(B, dtype),)
    if T >= 3:
        second = find_runs(inputs[1], dtype)
        if second.firsts.size <= B // 2:
            runs += (second,)
    return runs


def run_layers(
    weights,
    cell,
    n_layers,
    inputs,
    states=None,
    dropout=0.0,
    rng=None,
    work=None,
    runs=(),
    chunks=1,
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
        Initial state of each layer; zeros when None.
    dropout : float, default=0.0
        Dropout rate on the output of every layer (training only).
    rng : numpy.random.Generator, default=None
        Needed when ``dropout > 0``.
    work : Workspace, default=None
        Scratch memory reused between calls; the returned arrays live in it.
    runs : tuple of Runs, default=()
        Rows that share their first states (:func:`_prefix_runs`), from the
        zero state; used up to the first layer after dropout. Training only:
        a row's products are then computed in matrices of other heights, and
        BLAS may round them differently, so that a sequence's score would
        depend on the batch it is scored in.
    chunks : int, default=1
        Chunks of rows the recurrent products are cut in
        (:func:`~.cells.row_chunks`); training only, for the same reason.

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
    G, _, forward, _ = CELLS[cell]
    x = inputs
    final_states, caches = [], []
    runs = () if states is not None else runs
    for layer in range(n_layers):
        layer_work = None if work is None else work.scope(layer)
        xw = _project_inputs(weights, layer, x, G, layer_work)  # (G, T, B, H)
        state0 = None if states is None else states[layer]  # None: zeros
        hs, state, cache = forward(
            xw, weights[f"W_h{layer}"], state0, layer_work, runs=runs, chunks=chunks
        )
        drop = None
        if dropout > 0.0:
            runs = ()  # the next layer's rows read different inputs
            drop = _dropout_mask(rng, hs.shape, dropout, dtype, layer_work)
            dropped = empty(layer_work, "dropped", hs.shape, dtype)  # (T, B, H)
            hs = np.multiply(hs, drop, out=dropped)
        caches.append((x, cache, drop))
        final_states.append(state)
        x = hs
    return x, final_states, caches


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
        Scratch memory reused between calls. The gradients then live in it
        and are overwritten by the next call with the same workspace.
    n_total : int, default=None
        What the summed negative log-likelihood is divided by: the unmasked
        tokens of a larger batch this one is a part of. Its own unmasked
        tokens when None.

    Returns
    -------
    loss : float
        Negative log-likelihood summed over the unmasked tokens, divided by
        ``n_total`` (by default: the mean per token), in nats.
    grads : dict of str to ndarray
        Gradient of ``loss`` for every weight.
    """
    dtype = weights["W_y"].dtype
    H = weights["W_y"].shape[0]
    shares = CELLS[cell].n_gates * H * H >= _SHARE_WORK
    runs = _prefix_runs(inputs, dtype) if shares else ()
    chunks = row_chunks(inputs.shape[1], H)
    top, _, caches = run_layers(
        weights, cell, n_layers, inputs, None, dropout, rng, work, runs, chunks
    )
    T, B, H = top.shape
    V = weights["W_y"].shape[1]
    dtype = top.dtype
    n_tokens = int(np.count_nonzero(mask)) if n_total is None else n_total
    # The output layer runs on every position, padding included: a few
    # wasted rows cost less than gathering the real ones and scattering back.
    h_all = top.reshape(-1, H)  # (T*B, H)
    # the output layer's products in chunks of rows, as the steps' (cells)
    logits = matmul_rows(
        h_all, weights["W_y"], empty(work, "logits", (T * B, V), dtype)
    )
    logits += weights["b_y"]
    picks = targets.reshape(-1) + _arange(T * B) * V  # each target in logits.flat
    dlogits, total = _shifted_exp(logits, empty(work, "dlogits", (T * B, V), dtype))
    token_logp = logits.reshape(-1)[picks] - np.log(total)  # (T*B,)
    weight = mask.reshape(-1).astype(dtype)  # (T*B,): 0 on padding
    loss = -float(np.dot(token_logp, weight)) / n_tokens

    # dlogits = (softmax - one-hot of the target) * weight / n_tokens
    weight *= dtype.type(1.0 / n_tokens)
    dlogits *= (weight / total)[:, None]
    dlogits.reshape(-1)[picks] -= weight
    dW_y = matmul_rows(h_all.T, dlogits, empty(work, "dW_y", (H, V), dtype))
    # sums over rows as products: faster than sum(axis=0) on short rows
    grads = {"W_y": dW_y, "b_y": _ones(T * B, dtype) @ dlogits}
    dtop = empty(work, "dtop", (T * B, H), dtype)
    W_yT = empty(work, "W_yT", (V, H), dtype)  # laid out: faster than a view
    np.copyto(W_yT, weights["W_y"].T)
    matmul_rows(dlogits, W_yT, dtop)  # (T*B, H)
    backward(weights, cell, caches, dtop.reshape(T, B, H), grads, work)
    return loss, grads


def backward(weights, cell, caches, dtop, grads, work=None):
    """Backpropagate ``dtop`` through every layer, filling ``grads``."""
    G, _, _, backward_cell = CELLS[cell]
    dhs = dtop  # (T, B, H)
    for layer in range(len(caches) - 1, -1, -1):
        layer_work = None if work is None else work.scope(layer)
        x, cache, drop = caches[layer]
        if drop is not None:
            ddropped = empty(layer_work, "ddropped", dhs.shape, dhs.dtype)
            dhs = np.multiply(dhs, drop, out=ddropped)
        dxw, dW_h = backward_cell(
            dhs, cache, weights[f"W_h{layer}"], layer_work
        )  # (G, T, B, H)
        _, T, B, H = dxw.shape
        dxw_flat = dxw.reshape(G, T * B, H)  # (G, T*B, H)
        grads[f"W_h{layer}"] = dW_h
        W_x = weights[f"W_x{layer}"]
        dW_x = empty(layer_work, "dW_x", W_x.shape, W_x.dtype)
        if layer == 0:
            # gradient of a row gather: one-hot rows times dxw
            onehot = empty(layer_work, "onehot", (W_x.shape[0], T * B), W_x.dtype)
            onehot[...] = 0.0  # (V, T*B)
            onehot.reshape(-1)[x.reshape(-1) * (T * B) + _arange(T * B)] = 1.0
            np.matmul(onehot, dxw_flat, out=gate_view(dW_x, G))
            # every position reads exactly one token: the bias gradient is
            # the sum of W_x's rows, a (V, G*H) sum instead of (T*B, G*H)
            grads[f"b{layer}"] = _ones(W_x.shape[0], W_x.dtype) @ dW_x  # (G*H,)
        else:
            grads[f"b{layer}"] = dxw_flat.sum(axis=1).reshape(-1)  # (G*H,)
            x_flat = x.reshape(T * B, -1)  # (T*B, H_in)
            np.matmul(x_flat.T, dxw_flat, out=gate_view(dW_x, G))
            H_in = x_flat.shape[1]
            dx = empty(layer_work, "dx_gates", (G, T * B, H_in), W_x.dtype)
            np.matmul(dxw_flat, gate_view(W_x, G).transpose(0, 2, 1), out=dx)
            dhs = empty(layer_work, "dx", x.shape, W_x.dtype)  # (T, B, H_in)
            np.sum(dx, axis=0, out=dhs.reshape(T * B, H_in))
        grads[f"W_x{layer}"] = dW_x
    return grads


# Largest gate array (bytes) that scoring builds in one forward pass.
_SCORE_BYTES = 8 << 20


def sequence_log_likelihood(
    weights, cell, n_layers, inputs, targets, mask, max_bytes=_SCORE_BYTES
):
    """Log-likelihood of every sequence of a batch, in nats.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    inputs, targets : ndarray of shape (T, B)
    mask : ndarray of shape (T, B), dtype bool
    max_bytes : int, default=_SCORE_BYTES
        Largest gate array one forward pass builds: a wider batch is scored
        in slices of columns (each column's result is the same).

    Returns
    -------
    log_likelihood : ndarray of shape (B,), dtype float64
        Sum over the unmasked positions of each column.
    """
    T, B = inputs.shape
    if B == 1:
        pair = [np.repeat(a, 2, axis=1) for a in (inputs, targets, mask)]
        return sequence_log_likelihood(
            weights, cell, n_layers, *pair, max_bytes=max_bytes
        )[:1]
    # The forward pass keeps every step's gates: score a wide batch in slices
    # of columns so that they stay small (each column's result is the same).
    G, H = CELLS[cell].n_gates, weights["W_y"].shape[0]
    itemsize = weights["W_y"].dtype.itemsize
    width = max(2, max_bytes // (itemsize * G * T * H))
    if B > width:
        starts = range(0, B, width)
        return np.concatenate(
            [
                sequence_log_likelihood(
                    weights,
                    cell,
                    n_layers,
                    inputs[:, i : i + width],
                    targets[:, i : i + width],
                    mask[:, i : i + width],
                    max_bytes,
                )
                for i in starts
            ]
        )
    top, _, _ = run_layers(weights, cell, n_layers, inputs)
    T, B, H = top.shape
    logp = _output_log_probs_t(weights, top.reshape(-1, H))  # (V, T*B)
    token_logp = logp[targets.reshape(-1), np.arange(T * B)]  # (T*B,)
    token_logp = np.where(mask.reshape(-1), token_logp, 0.0)  # padding adds 0
    return token_logp.reshape(T, B).sum(axis=0, dtype=np.float64)


def _first_of_runs(parent):
    """The distinct values of a sorted index array and where each row's is."""
    new = np.empty(parent.size, dtype=bool)  # (B,)
    new[0] = True
    np.not_equal(parent[1:], parent[:-1], out=new[1:])
    kept = parent[new]  # (P,)
    where = np.cumsum(new) - 1  # (B,)
    return kept, where


def advance(weights, cell, n_layers, tokens, states, parent=None, work=None):
    """Advance every layer one step from ``states`` after reading ``tokens``.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    tokens : ndarray of shape (B,)
        The token each sequence reads now; ``B >= 2``.
    states : list of tuple of ndarray, or None
        State of every layer; zeros when None. One row per sequence, or, when
        ``parent`` is given, rows that several sequences may continue.
    parent : ndarray of shape (B,) of int, default=None
        Sorted: the row of ``states`` each sequence continues. A row's
        recurrent products are computed once for all its continuations.
    work : Workspace, default=None
        Scratch memory; the returned arrays live in it until the next call
        with the same workspace.

    Returns
    -------
    top : ndarray of shape (B, H)
        Output of the last layer.
    states : list of tuple of ndarray
        One row per sequence.
    """
    G, _, forward, _ = CELLS[cell]
    B = tokens.shape[0]
    x = tokens[None, :]  # (1, B)
    new_states = []
    for layer in range(n_layers):
        layer_work = None if work is None else work.scope(layer)
        xw = _project_inputs(weights, layer, x, G, layer_work)  # (G, 1, B, H)
        W_h = weights[f"W_h{layer}"]
        H = W_h.shape[0]
        dtype = W_h.dtype
        state0, hw0 = None, None
        if states is not None:
            state0 = states[layer]
        if state0 is not None and parent is not None:
            kept, where = _first_of_runs(parent)  # (P,), (B,)
            h = state0[0]
            # two rows at least: BLAS's matrix-vector product rounds
            # differently from its matrix product
            rows = np.repeat(kept, 2) if kept.size == 1 else kept
            if kept.size == rows.size == h.shape[0]:  # sorted, distinct: every row
                h_kept = h
            else:
                h_kept = np.take(
                    h,
                    rows,
                    axis=0,
                    mode="clip",
                    out=empty(layer_work, "h_kept", (rows.size, H), dtype),
                )  # (P, H)
            hw = np.matmul(
                h_kept,
                gate_view(W_h, G),
                out=empty(layer_work, "hw", (G, rows.size, H), dtype),
            )  # (G, P, H)
            if rows.size == B:  # one continuation per row: where is arange
                hw0 = hw
            else:
                hw0 = np.take(
                    hw,
                    where,
                    axis=1,
                    mode="clip",
                    out=empty(layer_work, "hw0", (G, B, H), dtype),
                )  # (G, B, H)
            read = STATE_READ_WITH_HW0[cell]
            state0 = tuple(
                np.take(
                    s,
                    parent,
                    axis=0,
                    mode="clip",
                    out=empty(layer_work, f"state{k}", (B, H), dtype),
                )
                if k in read
                else None
                for k, s in enumerate(state0)
            )
        hs, state, _ = forward(xw, W_h, state0, layer_work, hw0=hw0)
        new_states.append(state)
        x = hs  # (1, B, H)
    return x[0], new_states


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
        State of every layer, one row per sequence; zeros when None.

    Returns
    -------
    log_probs : ndarray of shape (B, V)
    states : list of tuple of ndarray
    """
    if tokens.shape[0] == 1:
        if states is not None:
            states = [tuple(np.repeat(s, 2, axis=0) for s in layer) for layer in states]
        log_probs, states = next_token_log_probs(
            weights, cell, n_layers, np.repeat(tokens, 2), states
        )
        return log_probs[:1], [tuple(s[:1] for s in layer) for layer in states]
    top, states = advance(weights, cell, n_layers, tokens, states)
    log_probs = _output_log_probs_t(weights, top)  # (V, B)
    return np.ascontiguousarray(log_probs.T), states
