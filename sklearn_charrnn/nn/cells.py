"""Recurrent cells: each a forward and a backward loop over a padded batch.

A cell is two pure functions:

- ``forward(xw, W_h, state0, work=None)`` takes the input projection of every
  time step, computed outside the loop (``xw[g, t] = x_t @ W_xg + b_g`` for
  every gate ``g``), and the state before the first step (None for the zero
  state, which every training sequence starts from: its product with
  ``W_h`` is zero and not computed); it returns the hidden state after every
  step, the final state and a cache for the backward pass;
- ``backward(dhs, cache, W_h, work=None)`` takes the gradient of the loss
  with respect to every hidden state and returns the gradients with respect
  to ``xw`` and ``W_h``.

A cell with ``G`` gates keeps its recurrent weights as one ``(H, G * H)``
matrix, gates side by side, in PyTorch's order: ``r, z, n`` for the GRU and
``i, f, g, o`` for the LSTM. Inside the loops the gates are laid out gate
first, ``(G, T, B, H)``, so that every gate of every step is one contiguous
``(B, H)`` block; one step's product ``h @ W_h`` writes all gates at once
through the ``(G, H, H)`` view :func:`gate_view`.

``work`` is an optional :class:`~.workspace.Workspace`: the arrays a call
returns then live in it and are overwritten by the next call with it.

A new cell is one forward, one backward and one entry in ``CELLS``, which
maps the estimator's ``cell`` parameter to its :class:`Cell`.
"""

from typing import NamedTuple

import numpy as np

from .workspace import empty


def gate_view(W, n_gates):
    """``(G, n_in, H)`` view of a ``(n_in, G * H)`` matrix: one block per gate."""
    n_in, GH = W.shape
    return W.reshape(n_in, n_gates, GH // n_gates).transpose(1, 0, 2)


def sigmoid(x, out=None):
    """Logistic function, computed through tanh so it never overflows."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def _product(h, W):
    """``h @ W``, where ``h=None`` is the zero state (a zero product)."""
    return 0.0 if h is None else h @ W


def _or_zero(state):
    """``state``, or 0.0 for the zero state (None)."""
    return 0.0 if state is None else state


def recurrent_weight_gradient(h0, hs, d):
    """``sum_t h_{t-1}^T @ d[g, t]`` for every gate, as one ``(H, G * H)`` matrix.

    Parameters
    ----------
    h0 : ndarray of shape (B, H), or None
        State before the first step; None for zeros, which add nothing.
    hs : ndarray of shape (T, B, H)
        State after every step.
    d : ndarray of shape (G, T, B, H)
        Gradient with respect to ``h_{t-1} @ W_hg`` of every gate and step.
    """
    G, T, B, H = d.shape
    if h0 is None:  # the first step's product was zero: it adds nothing
        h_prev, d = hs[:-1], d[:, 1:]  # (T-1, B, H), (G, T-1, B, H)
    else:
        h_prev = np.concatenate([h0[None], hs[:-1]])  # (T, B, H)
    h_prev = h_prev.reshape(-1, H)  # (T*B, H)
    dWg = np.matmul(h_prev.T, d.reshape(G, -1, H))  # (G, H, H)
    return dWg.transpose(1, 0, 2).reshape(H, G * H)


def rnn_forward(xw, W_h, state0, work=None):
    """Run the tanh RNN over a padded batch: ``h_t = tanh(xw_t + h_{t-1} W_h)``.

    Parameters
    ----------
    xw : ndarray of shape (1, T, B, H)
        Input projection of every time step.
    W_h : ndarray of shape (H, H)
        Recurrent weights.
    state0 : tuple of one ndarray of shape (B, H), or None
        Hidden state before the first step; None for zeros.
    work : Workspace, default=None

    Returns
    -------
    hs : ndarray of shape (T, B, H)
        Hidden state after every step.
    state : tuple of one ndarray of shape (B, H)
        Final hidden state.
    cache : tuple
        What :func:`rnn_backward` needs.
    """
    (h,) = state0 or (None,)  # (B, H)
    _, T, B, H = xw.shape
    hs = empty(work, "hs", (T, B, H), xw.dtype)  # (T, B, H)
    for t in range(T):
        np.tanh(xw[0, t] + _product(h, W_h), out=hs[t])  # (B, H)
        h = hs[t]
    return hs, (h,), ((state0 or (None,))[0], hs)


def rnn_backward(dhs, cache, W_h, work=None):
    """Backpropagate through time for the tanh RNN.

    Parameters
    ----------
    dhs : ndarray of shape (T, B, H)
        Gradient of the loss with respect to every hidden state.
    cache : tuple
        Returned by :func:`rnn_forward`.
    W_h : ndarray of shape (H, H)
    work : Workspace, default=None

    Returns
    -------
    dxw : ndarray of shape (1, T, B, H)
        Gradient with respect to the input projection.
    dW_h : ndarray of shape (H, H)
        Gradient with respect to the recurrent weights.
    """
    h0, hs = cache
    T, B, H = hs.shape
    dxw = empty(work, "dxw", (1, T, B, H), hs.dtype)  # (1, T, B, H)
    dh_next = np.zeros((B, H), dtype=hs.dtype)  # from step t + 1
    for t in range(T - 1, -1, -1):
        dh = dhs[t] + dh_next  # (B, H)
        dz = np.multiply(dh, 1.0 - hs[t] * hs[t], out=dxw[0, t])  # through tanh
        if t:
            dh_next = dz @ W_h.T  # (B, H)
    return dxw, recurrent_weight_gradient(h0, hs, dxw)


def gru_forward(xw, W_h, state0, work=None):
    """Run the GRU over a padded batch.

    ``r = sigmoid(xw_r + h W_hr)``, ``z = sigmoid(xw_z + h W_hz)``,
    ``n = tanh(xw_n + r * (h W_hn))``, ``h' = (1 - z) * n + z * h``.

    Parameters
    ----------
    xw : ndarray of shape (3, T, B, H)
        Input projection of every time step, gates ``r, z, n``.
    W_h : ndarray of shape (H, 3 * H)
        Recurrent weights, gates ``r, z, n``.
    state0 : tuple of one ndarray of shape (B, H), or None
        Hidden state before the first step; None for zeros.
    work : Workspace, default=None

    Returns
    -------
    hs : ndarray of shape (T, B, H)
    state : tuple of one ndarray of shape (B, H)
    cache : tuple
    """
    (h,) = state0 or (None,)  # (B, H)
    _, T, B, H = xw.shape
    Wg = gate_view(W_h, 3)  # (3, H, H)
    hs = empty(work, "hs", (T, B, H), xw.dtype)  # (T, B, H)
    gates = empty(work, "gates", (3, T, B, H), xw.dtype)  # r, z, n
    hn = empty(work, "hn", (T, B, H), xw.dtype)  # h W_hn
    for t in range(T):
        hw = np.broadcast_to(_product(h, Wg), (3, B, H))  # (3, B, H)
        r = sigmoid(xw[0, t] + hw[0], out=gates[0, t])
        z = sigmoid(xw[1, t] + hw[1], out=gates[1, t])
        hn[t] = hw[2]
        n = np.tanh(xw[2, t] + r * hw[2], out=gates[2, t])
        np.subtract(n, z * (n - _or_zero(h)), out=hs[t])  # (1 - z) * n + z * h
        h = hs[t]
    return hs, (h,), ((state0 or (None,))[0], hs, gates, hn)


def gru_backward(dhs, cache, W_h, work=None):
    """Backpropagate through time for the GRU.

    Parameters
    ----------
    dhs : ndarray of shape (T, B, H)
    cache : tuple
        Returned by :func:`gru_forward`.
    W_h : ndarray of shape (H, 3 * H)
    work : Workspace, default=None

    Returns
    -------
    dxw : ndarray of shape (3, T, B, H)
    dW_h : ndarray of shape (H, 3 * H)
    """
    h0, hs, gates, hn = cache
    T, B, H = hs.shape
    WgT = gate_view(W_h, 3).transpose(0, 2, 1)  # (3, H, H): W_hg^T
    dxw = empty(work, "dxw", (3, T, B, H), hs.dtype)  # r, z, n
    dhw = empty(work, "dhw", (3, T, B, H), hs.dtype)  # gradient of h W_hg
    dh_next = np.zeros((B, H), dtype=hs.dtype)
    for t in range(T - 1, -1, -1):
        r, z, n = gates[:, t]  # (B, H) each
        h_prev = hs[t - 1] if t else _or_zero(h0)
        dh = dhs[t] + dh_next  # (B, H)
        d_n = np.multiply(dh * (1.0 - z), 1.0 - n * n, out=dxw[2, t])
        np.multiply(dh * (h_prev - n), z * (1.0 - z), out=dxw[1, t])
        np.multiply(d_n * hn[t], r * (1.0 - r), out=dxw[0, t])
        dhw[:2, t] = dxw[:2, t]
        np.multiply(d_n, r, out=dhw[2, t])
        if t:
            dh_next = dh * z + np.matmul(dhw[:, t], WgT).sum(axis=0)  # (B, H)
    return dxw, recurrent_weight_gradient(h0, hs, dhw)


def lstm_forward(xw, W_h, state0, work=None):
    """Run the LSTM over a padded batch.

    ``i, f, o = sigmoid(xw + h W_h)``, ``g = tanh(xw_g + h W_hg)``,
    ``c' = f * c + i * g``, ``h' = o * tanh(c')``.

    Parameters
    ----------
    xw : ndarray of shape (4, T, B, H)
        Input projection of every time step, gates ``i, f, g, o``.
    W_h : ndarray of shape (H, 4 * H)
    state0 : tuple of two ndarrays of shape (B, H), or None
        Hidden and cell states before the first step; None for zeros.
    work : Workspace, default=None

    Returns
    -------
    hs : ndarray of shape (T, B, H)
    state : tuple of two ndarrays of shape (B, H)
    cache : tuple
    """
    h, c = state0 or (None, None)  # (B, H) each
    _, T, B, H = xw.shape
    Wg = gate_view(W_h, 4)  # (4, H, H)
    hs = empty(work, "hs", (T, B, H), xw.dtype)  # (T, B, H)
    cs = empty(work, "cs", (T, B, H), xw.dtype)  # (T, B, H)
    tcs = empty(work, "tcs", (T, B, H), xw.dtype)  # tanh(c)
    gates = empty(work, "gates", (4, T, B, H), xw.dtype)  # i, f, g, o
    for t in range(T):
        a = np.add(xw[:, t], _product(h, Wg), out=gates[:, t])  # (4, B, H)
        i, f, g, o = sigmoid(a[0], a[0]), sigmoid(a[1], a[1]), a[2], a[3]
        np.tanh(g, out=g)
        sigmoid(o, out=o)
        c = np.add(f * _or_zero(c), i * g, out=cs[t])  # (B, H)
        h = np.multiply(o, np.tanh(c, out=tcs[t]), out=hs[t])  # (B, H)
    return hs, (h, c), (state0 or (None, None), hs, cs, tcs, gates)


def lstm_backward(dhs, cache, W_h, work=None):
    """Backpropagate through time for the LSTM.

    Parameters
    ----------
    dhs : ndarray of shape (T, B, H)
    cache : tuple
        Returned by :func:`lstm_forward`.
    W_h : ndarray of shape (H, 4 * H)
    work : Workspace, default=None

    Returns
    -------
    dxw : ndarray of shape (4, T, B, H)
    dW_h : ndarray of shape (H, 4 * H)
    """
    (h0, c0), hs, cs, tcs, gates = cache
    T, B, H = hs.shape
    WgT = gate_view(W_h, 4).transpose(0, 2, 1)  # (4, H, H): W_hg^T
    dxw = empty(work, "dxw", (4, T, B, H), hs.dtype)  # i, f, g, o
    dh_next = np.zeros((B, H), dtype=hs.dtype)
    dc_next = np.zeros((B, H), dtype=hs.dtype)
    for t in range(T - 1, -1, -1):
        i, f, g, o = gates[:, t]  # (B, H) each
        c_prev = cs[t - 1] if t else _or_zero(c0)
        dh = dhs[t] + dh_next  # (B, H)
        dc = dc_next + dh * o * (1.0 - tcs[t] * tcs[t])  # (B, H)
        np.multiply(dc * g, i * (1.0 - i), out=dxw[0, t])
        np.multiply(dc * c_prev, f * (1.0 - f), out=dxw[1, t])
        np.multiply(dc * i, 1.0 - g * g, out=dxw[2, t])
        np.multiply(dh * tcs[t], o * (1.0 - o), out=dxw[3, t])
        dc_next = dc * f
        if t:
            dh_next = np.matmul(dxw[:, t], WgT).sum(axis=0)  # (B, H)
    return dxw, recurrent_weight_gradient(h0, hs, dxw)


class Cell(NamedTuple):
    """A recurrent cell: its gate and state counts, forward and backward loops."""

    n_gates: int
    n_states: int
    forward: object
    backward: object


CELLS = {
    "rnn": Cell(1, 1, rnn_forward, rnn_backward),
    "gru": Cell(3, 1, gru_forward, gru_backward),
    "lstm": Cell(4, 2, lstm_forward, lstm_backward),
}
