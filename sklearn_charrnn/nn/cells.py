"""Recurrent cells: one time step each, forward and backward; the loops over time.

A cell is two pure functions of one time step:

- ``step(xw, hw, state)`` takes the step's input projection ``xw`` (``x @
  W_x + b``, gate first: ``(G, B, H)``), its recurrent product ``hw`` (``h @
  W_h``, the same shape) and the state before the step; it returns the state
  after it and what its backward needs;
- ``step_backward(dstate, cache)`` takes the gradient of the loss with
  respect to the state after the step and returns the gradients with
  respect to ``xw`` and to ``hw`` (``(G, B, H)`` each, equal but for the
  GRU) and the part of the gradient of the previous state that does not go
  through ``hw``.

:func:`forward` and :func:`backward` are the loops over time, the same for
every cell: they compute each step's product ``h @ W_h`` (all gates at once,
through the ``(G, H, H)`` view :func:`gate_view`), and going back its
gradient ``sum_g dhw_g @ W_hg^T`` and the weight gradient. A cell with ``G``
gates keeps its recurrent weights as one ``(H, G * H)`` matrix, gates side by
side in PyTorch's order: ``r, z, n`` for the GRU, ``i, f, g, o`` for the LSTM.

A new cell is one ``step``, one ``step_backward`` and one entry in ``CELLS``,
which maps the estimator's ``cell`` parameter to its :class:`Cell`.
"""

from typing import NamedTuple

import numpy as np


def gate_view(W, n_gates):
    """``(G, n_in, H)`` view of a ``(n_in, G * H)`` matrix: one block per gate."""
    n_in, GH = W.shape
    return W.reshape(n_in, n_gates, GH // n_gates).transpose(1, 0, 2)


def sigmoid(x):
    """Logistic function, computed through tanh so it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def rnn_step(xw, hw, state):
    """Tanh RNN: ``h' = tanh(xw + h W_h)``."""
    h = xw[0] + hw[0]  # (B, H)
    np.tanh(h, out=h)
    return (h,), h


def rnn_step_backward(dstate, h):
    """Gradients of one tanh RNN step (``h`` is its output)."""
    (dh,) = dstate
    dz = (dh * (1.0 - h * h))[None]  # (1, B, H): through tanh
    return dz, dz, (0.0,)


def gru_step(xw, hw, state):
    """GRU, gates ``r, z, n``: ``r = sigmoid(xw_r + h W_hr)``,
    ``z = sigmoid(xw_z + h W_hz)``, ``n = tanh(xw_n + r * (h W_hn))``,
    ``h' = (1 - z) * n + z * h``."""
    (h,) = state  # (B, H)
    r = sigmoid(xw[0] + hw[0])
    z = sigmoid(xw[1] + hw[1])
    n = np.tanh(xw[2] + r * hw[2])
    h_new = n + z * (h - n)
    return (h_new,), (h, r, z, n, hw[2])


def gru_step_backward(dstate, cache):
    """Gradients of one GRU step."""
    (dh,), (h, r, z, n, hn) = dstate, cache
    d_n = dh * (1.0 - z) * (1.0 - n * n)
    d_z = dh * (h - n) * z * (1.0 - z)
    d_r = d_n * hn * r * (1.0 - r)
    return np.stack([d_r, d_z, d_n]), np.stack([d_r, d_z, d_n * r]), (dh * z,)


def lstm_step(xw, hw, state):
    """LSTM, gates ``i, f, g, o``: ``i, f, o = sigmoid(xw + h W_h)``,
    ``g = tanh(xw_g + h W_hg)``, ``c' = f * c + i * g``, ``h' = o * tanh(c')``."""
    _, c = state  # (B, H) each
    a = xw + hw  # (4, B, H)
    i, f, g, o = sigmoid(a[0]), sigmoid(a[1]), np.tanh(a[2]), sigmoid(a[3])
    c_new = f * c + i * g
    tc = np.tanh(c_new)
    return (o * tc, c_new), (c, i, f, g, o, tc)


def lstm_step_backward(dstate, cache):
    """Gradients of one LSTM step."""
    (dh, dc), (c, i, f, g, o, tc) = dstate, cache
    dc = dc + dh * o * (1.0 - tc * tc)
    da = np.stack(
        [
            dc * g * i * (1.0 - i),
            dc * c * f * (1.0 - f),
            dc * i * (1.0 - g * g),
            dh * tc * o * (1.0 - o),
        ]
    )  # (4, B, H)
    return da, da, (0.0, dc * f)


class Cell(NamedTuple):
    """A recurrent cell: its gate and state counts, one step and its gradient."""

    n_gates: int
    n_states: int
    step: object
    step_backward: object


CELLS = {
    "rnn": Cell(1, 1, rnn_step, rnn_step_backward),
    "gru": Cell(3, 1, gru_step, gru_step_backward),
    "lstm": Cell(4, 2, lstm_step, lstm_step_backward),
}


def forward(cell, xw, W_h, state0=None):
    """Run a cell over a padded batch.

    Parameters
    ----------
    cell : Cell
    xw : ndarray of shape (G, T, B, H)
        Input projection of every time step, gate first.
    W_h : ndarray of shape (H, G * H)
        Recurrent weights.
    state0 : tuple of ndarray of shape (B, H), default=None
        The state before the first step; None for zeros, the state every
        training sequence starts from (its product with ``W_h`` is zero and
        not computed).

    Returns
    -------
    hs : ndarray of shape (T, B, H)
        Hidden state after every step.
    state : tuple of ndarray of shape (B, H)
        State after the last step.
    cache : tuple
        What :func:`backward` needs.
    """
    G, T, B, H = xw.shape
    Wg = gate_view(W_h, G)  # (G, H, H)
    state = state0
    if state is None:
        state = tuple(np.zeros((B, H), dtype=xw.dtype) for _ in range(cell.n_states))
    hs = np.empty((T, B, H), dtype=xw.dtype)  # (T, B, H)
    caches = []
    for t in range(T):
        hw = 0.0 * xw[:, t] if t == 0 and state0 is None else state[0] @ Wg
        state, step_cache = cell.step(xw[:, t], hw, state)  # (G, B, H) in
        hs[t] = state[0]
        caches.append(step_cache)
    return hs, state, (state0, hs, caches)


def backward(cell, dhs, cache, W_h):
    """Backpropagate a cell through time.

    Parameters
    ----------
    cell : Cell
    dhs : ndarray of shape (T, B, H)
        Gradient of the loss with respect to every hidden state.
    cache : tuple
        Returned by :func:`forward`.
    W_h : ndarray of shape (H, G * H)

    Returns
    -------
    dxw : ndarray of shape (G, T, B, H)
        Gradient with respect to the input projection.
    dW_h : ndarray of shape (H, G * H)
        Gradient with respect to the recurrent weights.
    """
    state0, hs, caches = cache
    T, B, H = hs.shape
    G = cell.n_gates
    WgT = gate_view(W_h, G).transpose(0, 2, 1)  # (G, H, H): W_hg^T
    dxw = np.empty((G, T, B, H), dtype=hs.dtype)
    dhw = None  # the same array as dxw for cells whose two gradients are equal
    dstate = (0.0,) * cell.n_states  # from the step after
    for t in range(T - 1, -1, -1):
        dstate = (dstate[0] + dhs[t], *dstate[1:])
        d_xw, d_hw, direct = cell.step_backward(dstate, caches[t])
        if dhw is None:
            dhw = dxw if d_hw is d_xw else np.empty_like(dxw)
        dxw[:, t] = d_xw
        if dhw is not dxw:
            dhw[:, t] = d_hw
        if t:
            dh_prev = direct[0] + np.matmul(dhw[:, t], WgT).sum(axis=0)  # (B, H)
            dstate = (dh_prev, *direct[1:])
    h0 = None if state0 is None else state0[0]
    return dxw, recurrent_weight_gradient(h0, hs, dhw)


def recurrent_weight_gradient(h0, hs, dhw):
    """``sum_t h_{t-1}^T @ dhw[g, t]`` for every gate, as one ``(H, G * H)`` matrix.

    Parameters
    ----------
    h0 : ndarray of shape (B, H), or None
        State before the first step; None for zeros, which add nothing.
    hs : ndarray of shape (T, B, H)
        State after every step.
    dhw : ndarray of shape (G, T, B, H)
        Gradient with respect to ``h_{t-1} @ W_hg`` of every gate and step.
    """
    G, T, B, H = dhw.shape
    if h0 is None:  # the first step's product was zero: it adds nothing
        h_prev, dhw = hs[:-1], dhw[:, 1:]  # (T-1, B, H), (G, T-1, B, H)
    else:
        h_prev = np.concatenate([h0[None], hs[:-1]])  # (T, B, H)
    h_prev = h_prev.reshape(-1, H)  # (T*B, H)
    dWg = np.matmul(h_prev.T, dhw.reshape(G, -1, H))  # (G, H, H)
    return dWg.transpose(1, 0, 2).reshape(H, G * H)
