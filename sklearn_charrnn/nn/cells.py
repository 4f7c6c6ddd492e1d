"""Recurrent cells: the loop over time, forward and backward.

Each cell is a pair of pure functions over a whole padded batch:

- ``forward(xw, W_h, state0)`` takes the input projection of every time step,
  already computed outside the loop (``xw = x @ W_x + b``), and returns the
  hidden states of every step, the final state and a cache for the backward
  pass;
- ``backward(dhs, cache, W_h)`` takes the gradient of the loss with respect to
  every hidden state and returns the gradients with respect to ``xw`` and
  ``W_h``.

A gated cell stacks its gate matrices side by side, so one time step costs a
single ``(B, H) @ (H, G * H)`` product. Gate order follows PyTorch: ``r, z, n``
for the GRU and ``i, f, g, o`` for the LSTM.

``CELLS`` maps the estimator's ``cell`` parameter to its :class:`Cell`.
"""

from typing import NamedTuple

import numpy as np


def _sigmoid(x, out=None):
    """Logistic function, computed through tanh so it never overflows."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def rnn_forward(xw, W_h, state0):
    """Run the tanh RNN over a padded batch.

    Parameters
    ----------
    xw : ndarray of shape (T, B, H)
        Input projection ``x_t @ W_x + b`` of every time step.
    W_h : ndarray of shape (H, H)
        Recurrent weights.
    state0 : tuple of one ndarray of shape (B, H)
        Initial hidden state.

    Returns
    -------
    hs : ndarray of shape (T, B, H)
        Hidden state after every step.
    state : tuple of one ndarray of shape (B, H)
        Final hidden state.
    cache : tuple
        What :func:`rnn_backward` needs.
    """
    (h0,) = state0
    T, B, H = xw.shape
    hs = np.empty((T, B, H), dtype=xw.dtype)  # (T, B, H)
    h = h0  # (B, H)
    for t in range(T):
        np.matmul(h, W_h, out=hs[t])
        hs[t] += xw[t]
        np.tanh(hs[t], out=hs[t])
        h = hs[t]
    return hs, (h,), (h0, hs)


def rnn_backward(dhs, cache, W_h):
    """Backpropagate through time for the tanh RNN.

    Parameters
    ----------
    dhs : ndarray of shape (T, B, H)
        Gradient of the loss with respect to every hidden state.
    cache : tuple
        Returned by :func:`rnn_forward`.
    W_h : ndarray of shape (H, H)
        Recurrent weights.

    Returns
    -------
    dxw : ndarray of shape (T, B, H)
        Gradient with respect to the input projection.
    dW_h : ndarray of shape (H, H)
        Gradient with respect to the recurrent weights.
    """
    h0, hs = cache
    T, B, H = hs.shape
    dtanh = 1.0 - hs * hs  # (T, B, H)
    dz = np.empty_like(hs)  # (T, B, H)
    dh_next = np.zeros((B, H), dtype=hs.dtype)  # (B, H)
    W_hT = np.ascontiguousarray(W_h.T)  # (H, H)
    for t in range(T - 1, -1, -1):
        np.add(dhs[t], dh_next, out=dz[t])
        dz[t] *= dtanh[t]
        np.matmul(dz[t], W_hT, out=dh_next)
    h_prev = _previous_states(h0, hs)  # (T, B, H)
    dW_h = h_prev.reshape(-1, H).T @ dz.reshape(-1, H)  # (H, H)
    return dz, dW_h


def gru_forward(xw, W_h, state0):
    """Run the GRU over a padded batch.

    ``r = sigmoid(x_r + h W_hr)``, ``z = sigmoid(x_z + h W_hz)``,
    ``n = tanh(x_n + r * (h W_hn))``, ``h' = (1 - z) * n + z * h``.

    Parameters
    ----------
    xw : ndarray of shape (T, B, 3 * H)
        Input projection of every time step, gates ``r, z, n``.
    W_h : ndarray of shape (H, 3 * H)
        Recurrent weights, gates ``r, z, n``.
    state0 : tuple of one ndarray of shape (B, H)
        Initial hidden state.

    Returns
    -------
    hs : ndarray of shape (T, B, H)
    state : tuple of one ndarray of shape (B, H)
    cache : tuple
    """
    (h0,) = state0
    T, B, H3 = xw.shape
    H = H3 // 3
    hs = np.empty((T, B, H), dtype=xw.dtype)  # (T, B, H)
    gates = np.empty((T, B, H3), dtype=xw.dtype)  # (T, B, 3H): r, z, n
    hn = np.empty((T, B, H), dtype=xw.dtype)  # (T, B, H): h W_hn
    hh = np.empty((B, H3), dtype=xw.dtype)  # (B, 3H)
    h = h0
    for t in range(T):
        np.matmul(h, W_h, out=hh)
        g = gates[t]
        np.add(xw[t, :, : 2 * H], hh[:, : 2 * H], out=g[:, : 2 * H])
        _sigmoid(g[:, : 2 * H], out=g[:, : 2 * H])
        r, z, n = g[:, :H], g[:, H : 2 * H], g[:, 2 * H :]
        hn[t] = hh[:, 2 * H :]
        np.multiply(r, hn[t], out=n)
        n += xw[t, :, 2 * H :]
        np.tanh(n, out=n)
        # h' = n + z * (h - n)
        np.subtract(h, n, out=hs[t])
        hs[t] *= z
        hs[t] += n
        h = hs[t]
    return hs, (h,), (h0, hs, gates, hn)


def gru_backward(dhs, cache, W_h):
    """Backpropagate through time for the GRU.

    Parameters
    ----------
    dhs : ndarray of shape (T, B, H)
    cache : tuple
        Returned by :func:`gru_forward`.
    W_h : ndarray of shape (H, 3 * H)

    Returns
    -------
    dxw : ndarray of shape (T, B, 3 * H)
    dW_h : ndarray of shape (H, 3 * H)
    """
    h0, hs, gates, hn = cache
    T, B, H = hs.shape
    h_prev = _previous_states(h0, hs)  # (T, B, H)
    r, z, n = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H :]
    dxw = np.empty_like(gates)  # (T, B, 3H)
    dhh = np.empty_like(gates)  # (T, B, 3H): gradient of h W_h
    dh = np.empty((B, H), dtype=hs.dtype)  # (B, H)
    dh_next = np.zeros((B, H), dtype=hs.dtype)  # (B, H)
    W_hT = np.ascontiguousarray(W_h.T)  # (3H, H)
    for t in range(T - 1, -1, -1):
        np.add(dhs[t], dh_next, out=dh)
        da_r, da_z, da_n = (dxw[t, :, :H], dxw[t, :, H : 2 * H], dxw[t, :, 2 * H :])
        # dn = dh * (1 - z); da_n = dn * (1 - n^2)
        np.subtract(1.0, z[t], out=da_n)
        da_n *= dh
        da_n *= 1.0 - n[t] * n[t]
        # dz = dh * (h_prev - n); da_z = dz * z * (1 - z)
        np.subtract(h_prev[t], n[t], out=da_z)
        da_z *= dh
        da_z *= z[t] * (1.0 - z[t])
        # dr = da_n * hn; da_r = dr * r * (1 - r)
        np.multiply(da_n, hn[t], out=da_r)
        da_r *= r[t] * (1.0 - r[t])
        dhh[t, :, : 2 * H] = dxw[t, :, : 2 * H]
        np.multiply(da_n, r[t], out=dhh[t, :, 2 * H :])
        np.matmul(dhh[t], W_hT, out=dh_next)
        dh *= z[t]
        dh_next += dh
    dW_h = h_prev.reshape(-1, H).T @ dhh.reshape(-1, 3 * H)  # (H, 3H)
    return dxw, dW_h


def lstm_forward(xw, W_h, state0):
    """Run the LSTM over a padded batch.

    ``i, f, o = sigmoid(.)``, ``g = tanh(.)``, ``c' = f * c + i * g``,
    ``h' = o * tanh(c')``.

    Parameters
    ----------
    xw : ndarray of shape (T, B, 4 * H)
        Input projection of every time step, gates ``i, f, g, o``.
    W_h : ndarray of shape (H, 4 * H)
    state0 : tuple of two ndarrays of shape (B, H)
        Initial hidden and cell states.

    Returns
    -------
    hs : ndarray of shape (T, B, H)
    state : tuple of two ndarrays of shape (B, H)
    cache : tuple
    """
    h0, c0 = state0
    T, B, H4 = xw.shape
    H = H4 // 4
    hs = np.empty((T, B, H), dtype=xw.dtype)  # (T, B, H)
    cs = np.empty((T, B, H), dtype=xw.dtype)  # (T, B, H)
    tcs = np.empty((T, B, H), dtype=xw.dtype)  # (T, B, H): tanh(c)
    gates = np.empty((T, B, H4), dtype=xw.dtype)  # (T, B, 4H): i, f, g, o
    h, c = h0, c0
    for t in range(T):
        a = gates[t]
        np.matmul(h, W_h, out=a)
        a += xw[t]
        _sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])
        np.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])
        _sigmoid(a[:, 3 * H :], out=a[:, 3 * H :])
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        np.multiply(f, c, out=cs[t])
        cs[t] += i * g
        np.tanh(cs[t], out=tcs[t])
        np.multiply(o, tcs[t], out=hs[t])
        h, c = hs[t], cs[t]
    return hs, (h, c), (h0, c0, hs, cs, tcs, gates)


def lstm_backward(dhs, cache, W_h):
    """Backpropagate through time for the LSTM.

    Parameters
    ----------
    dhs : ndarray of shape (T, B, H)
    cache : tuple
        Returned by :func:`lstm_forward`.
    W_h : ndarray of shape (H, 4 * H)

    Returns
    -------
    dxw : ndarray of shape (T, B, 4 * H)
    dW_h : ndarray of shape (H, 4 * H)
    """
    h0, c0, hs, cs, tcs, gates = cache
    T, B, H = hs.shape
    h_prev = _previous_states(h0, hs)  # (T, B, H)
    c_prev = _previous_states(c0, cs)  # (T, B, H)
    da = np.empty_like(gates)  # (T, B, 4H)
    dh = np.empty((B, H), dtype=hs.dtype)  # (B, H)
    dc = np.empty((B, H), dtype=hs.dtype)  # (B, H)
    dh_next = np.zeros((B, H), dtype=hs.dtype)  # (B, H)
    dc_next = np.zeros((B, H), dtype=hs.dtype)  # (B, H)
    W_hT = np.ascontiguousarray(W_h.T)  # (4H, H)
    for t in range(T - 1, -1, -1):
        a = gates[t]
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        d_i, d_f, d_g, d_o = (
            da[t, :, :H],
            da[t, :, H : 2 * H],
            da[t, :, 2 * H : 3 * H],
            da[t, :, 3 * H :],
        )
        np.add(dhs[t], dh_next, out=dh)
        # dc = dc_next + dh * o * (1 - tanh(c)^2)
        np.multiply(tcs[t], tcs[t], out=dc)
        np.subtract(1.0, dc, out=dc)
        dc *= o
        dc *= dh
        dc += dc_next
        np.multiply(dh, tcs[t], out=d_o)
        d_o *= o * (1.0 - o)
        np.multiply(dc, g, out=d_i)
        d_i *= i * (1.0 - i)
        np.multiply(dc, c_prev[t], out=d_f)
        d_f *= f * (1.0 - f)
        np.multiply(dc, i, out=d_g)
        d_g *= 1.0 - g * g
        np.multiply(dc, f, out=dc_next)
        np.matmul(da[t], W_hT, out=dh_next)
    dW_h = h_prev.reshape(-1, H).T @ da.reshape(-1, 4 * H)  # (H, 4H)
    return da, dW_h


def _previous_states(s0, ss):
    """Stack ``s0, ss[0], ..., ss[T-2]``: the state entering every step."""
    prev = np.empty_like(ss)  # (T, B, H)
    prev[0] = s0
    prev[1:] = ss[:-1]
    return prev


class Cell(NamedTuple):
    """A recurrent cell: its gate count and its forward and backward loops."""

    n_gates: int
    n_states: int
    forward: object
    backward: object


CELLS = {
    "rnn": Cell(1, 1, rnn_forward, rnn_backward),
    "gru": Cell(3, 1, gru_forward, gru_backward),
    "lstm": Cell(4, 2, lstm_forward, lstm_backward),
}
