"""Recurrent cells: the loop over time, forward and backward.

Each cell is a pair of pure functions over a whole padded batch:

- ``forward(xw, W_h, state0, work=None, hw0=None, runs=())`` takes the
  input projection of every time step, already computed outside the loop
  (``xw = x @ W_x + b``), and returns the hidden states of every step, the
  final state and a cache for the backward pass; ``hw0``, when the caller
  has it, is the first step's recurrent product ``h0 @ W_h`` (gate first,
  ``(G, B, H)``): sampling computes it once for all the sequences that share
  a past and hands each its copy;
- ``backward(dhs, cache, W_h, work=None)`` takes the gradient of the loss with
  respect to every hidden state and returns the gradients with respect to
  ``xw`` and ``W_h``.

A cell with ``G`` gates keeps its recurrent weights as one ``(H, G * H)``
matrix, gates side by side, in PyTorch's order: ``r, z, n`` for the GRU and
``i, f, g, o`` for the LSTM. Inside the loops the gates are laid out gate
first, ``(G, T, B, H)``, so that every gate of every step is one contiguous
``(B, H)`` block: element-wise NumPy calls on contiguous blocks cost a third
of what they cost on column slices, and those calls are most of a gated
cell's time at the usual sizes. One step's product ``h @ W_h`` still writes
all gates at once, through a ``(G, H, H)`` view of ``W_h``. Going back, the
product with ``W_h^T`` is computed as ``(W_h @ d^T)^T``: OpenBLAS multiplies a
small ``d`` by a transposed ``W_h`` about 1.5 times slower.

Sequences that begin alike share their first states. A training batch
starts every sequence from the zero state with the same input (the boundary
token), so the state after the first step is the same in every row; with the
rows ordered by their first character, the state after the second step is
the same in each run of rows that begin with the same character (a batch of
32 names has about 15). ``runs[k]`` (:class:`Runs`) lists the runs of rows
that share the state after step ``k``; only from the zero state. Then:

- the recurrent product of step ``k + 1`` is computed once per run and
  copied to its rows;
- going back, the gradient of a shared state is only computed summed over
  each run. Everything that uses the gradient of a step whose rows share
  their state and their input needs only those sums: the input, bias and
  recurrent weight gradients, and the layer below, whose rows share their
  states alike. The gradients of such a step are returned as each run's sum
  in its first row and zeros in its other rows;
- the recurrent weight gradient takes one row per run for those steps.

This saves most of two of the ``T - 1`` recurrent products each way.

``work`` is an optional :class:`~.workspace.Workspace`: scratch arrays reused
from one batch to the next, so that training does not pay the page faults of
fresh memory at every step. Arrays returned when ``work`` is given live in it
and are overwritten by the next call that uses the same workspace.

``CELLS`` maps the estimator's ``cell`` parameter to its :class:`Cell`.
"""

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .workspace import empty


def gate_view(W, n_gates):
    """``(G, n_in, H)`` view of a ``(n_in, G * H)`` matrix: one block per gate."""
    n_in, GH = W.shape
    return W.reshape(n_in, n_gates, GH // n_gates).transpose(1, 0, 2)


def _sigmoid(x, out=None):
    """Logistic function, computed through tanh so it never overflows."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


# OpenBLAS multiplies a product of at most this many multiply-adds with a
# kernel that does not pack its operands first (SkylakeX, as in NumPy's
# wheels): a training step's 32 x 200 x 200 product is just above it, and
# runs about 1.2 times faster as two products of 16 rows
# (`python benchmarks/small_products.py`).
_SMALL_PRODUCT = 1_000_000


def row_chunks(B, H, n_out=None):
    """In how many equal chunks of rows training multiplies ``(B, H) @ (H, n_out)``.

    The fewest chunks of at least 8 rows whose products are small enough
    for OpenBLAS's small-matrix kernel; 1 when that takes no cut or none
    fits. ``n_out`` is ``H`` by default. The count depends on the sizes
    only, so results do not depend on anything else.
    """
    n_out = H if n_out is None else n_out
    for chunks in (1, 2, 4):
        rows, left = divmod(B, chunks)
        if left or rows < 8:
            break
        if rows * H * n_out <= _SMALL_PRODUCT:
            return chunks
    return 1


def matmul_rows(a, b, out):
    """``out = a @ b`` (2-D), in the chunks of rows :func:`row_chunks` picks."""
    M, K = a.shape
    N = b.shape[1]
    chunks = row_chunks(M, K, N)
    if chunks == 1:
        return np.matmul(a, b, out=out)
    np.matmul(a.reshape(chunks, M // chunks, K), b, out=out.reshape(chunks, -1, N))
    return out


def _product(h, Wg, out, chunks=1):
    """``out = h @ W_h`` for every gate, in ``chunks`` chunks of rows.

    ``h`` is ``(B, H_in)``, ``Wg`` ``(G, H_in, H)``, ``out`` ``(G, B, H)``.
    """
    if chunks == 1:
        return np.matmul(h, Wg, out=out)
    G, B, H = out.shape
    rows = h.reshape(chunks, B // chunks, -1)
    return np.matmul(rows, Wg[:, None], out=out.reshape(G, chunks, B // chunks, H))


def _gate_products(d, WgT, out, chunks):
    """``out[g] = d[g] @ WgT[g]`` for every gate, in ``chunks`` chunks of rows.

    ``d`` is ``(G, B, H)``, ``WgT`` ``(G, H, H_in)`` (each gate's ``W_hg^T``
    laid out), ``out`` ``(G, B, H_in)``.
    """
    G, B, H = d.shape
    rows = d.reshape(G, chunks, B // chunks, H)
    return np.matmul(rows, WgT[:, None], out=out.reshape(G, chunks, B // chunks, -1))


def _transposed_gates(Wg, work):
    """Every gate's ``W_hg^T``, laid out: ``(G, H, H_in)``."""
    G, H_in, H = Wg.shape
    WgT = empty(work, "W_hT", (G, H, H_in), Wg.dtype)
    np.copyto(WgT, Wg.transpose(0, 2, 1))
    return WgT


def _recurrent_input(h, Wg, xw_t, a, hw=None, chunks=1):
    """``a = h @ W_h + xw_t`` for every gate; ``h=None`` is the zero state.

    Every training batch starts from the zero state, which saves one product
    per batch and layer. ``hw``, when given, is ``h @ W_h`` already computed.
    """
    if hw is not None:
        np.add(hw, xw_t, out=a)
    elif h is None:
        a[...] = xw_t
    else:
        _product(h, Wg, a, chunks)  # (G, B, H)
        a += xw_t


class Runs(NamedTuple):
    """Runs of consecutive rows that share their state after one step.

    Attributes
    ----------
    firsts : ndarray of shape (n,)
        The first row of every run.
    where : ndarray of shape (B,)
        The run of every row.
    indicator : ndarray of shape (m, B)
        One where a row is in a run, else zero: ``indicator @ x`` sums the
        rows of ``x`` over each run. Zero rows pad it from ``n`` to ``m``, a
        multiple of 8: OpenBLAS multiplies by an odd number of columns up to
        twice as slowly.
    """

    firsts: np.ndarray
    where: np.ndarray
    indicator: np.ndarray


def find_runs(keys, dtype):
    """The runs of equal consecutive values of ``keys``, shape ``(B,)``."""
    B = keys.shape[0]
    new = np.empty(B, dtype=bool)
    new[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    if not new[1:].any():
        return single_run(B, np.dtype(dtype))
    firsts = np.flatnonzero(new)
    where = np.cumsum(new) - 1
    indicator = np.zeros((-(-firsts.size // 8) * 8, B), dtype=dtype)
    indicator[where, np.arange(B)] = 1.0
    return Runs(firsts, where, indicator)


@lru_cache(maxsize=64)
def single_run(B, dtype):
    """One run of all ``B`` rows (read-only arrays)."""
    runs = Runs(
        np.zeros(1, dtype=np.intp),
        np.zeros(B, dtype=np.intp),
        np.ones((1, B), dtype=dtype),
    )
    for array in runs:
        array.flags.writeable = False
    return runs


def _used_runs(runs, state0, T):
    """The runs a forward pass uses: from the zero state, for steps 1..T-1."""
    return () if state0 is not None else tuple(runs[: T - 1])


def _runs_product(h, Wg, runs):
    """``h @ W_h`` for every gate, computed once per run of rows sharing ``h``.

    Returns ``(G, B, H)``, or ``(G, 1, H)`` broadcasting over the rows when
    they all share ``h``. One run is multiplied as two rows: BLAS's
    matrix-vector product rounds differently from its matrix product.
    """
    if runs.firsts.size == 1:
        return np.matmul(h[:2], Wg)[:, :1]  # (G, 1, H)
    hw = np.matmul(h[runs.firsts], Wg)  # (G, n, H)
    return np.take(hw, runs.where, axis=1)  # (G, B, H)


def _runs_gradient(W_h, runs, sums, dhs_prev, out, extra=None):
    """Gradient of a state that rows share run by run, summed over each run.

    Parameters
    ----------
    W_h : ndarray of shape (H, G * H)
    runs : Runs
        The runs of rows that share the state.
    sums : ndarray of shape (G, m, H)
        The next step's gradient with respect to the recurrent product of
        every gate, summed over each run (``runs.indicator @ d``).
    dhs_prev : ndarray of shape (B, H)
        Gradient of the loss with respect to the state's output.
    out : ndarray of shape (B, H)
        Receives each run's sum in its first row and zeros in its others.
    extra : ndarray of shape (B, H), default=None
        What else the state gets from the next step, row by row (the GRU's
        ``dh * z``); it may be ``out`` itself.
    """
    G, m, H = sums.shape
    flat = sums[0] if G == 1 else sums.transpose(1, 0, 2).reshape(m, G * H)
    # sum over gates of sums[g] @ W_hg^T, as (W_h @ flat^T)^T: the other
    # orientation is up to twice as slow in OpenBLAS
    total = (W_h @ flat.T).T  # (m, H)
    total += runs.indicator @ dhs_prev
    if extra is not None:
        total += runs.indicator @ extra
    out[...] = 0.0
    out[runs.firsts] = total[: runs.firsts.size]


def _weight_gradient(h0, hs, d, out, compact=()):
    """``out = sum_t h_prev[t]^T @ d[:, t]`` for every gate.

    Parameters
    ----------
    h0 : ndarray of shape (B, H) or None
        State entering the first step; None for zeros.
    hs : ndarray of shape (T, B, H)
        State after every step; ``h_prev[t]`` is ``hs[t - 1]``.
    d : ndarray of shape (G, T, B, H)
        Gradient with respect to ``h_prev[t] @ W_h`` of every gate.
    out : ndarray of shape (G, H, H)
        Gate view of the ``(H, G * H)`` gradient.
    compact : sequence of (Runs, ndarray of shape (G, m, H)), default=()
        For the steps ``t = 1, ..., K`` whose previous state rows share run
        by run: the runs and the sums of ``d[:, t]`` over each. Step ``t``
        then adds ``hs[t - 1][firsts]^T @ sums``, one row of the product per
        run instead of ``B``. These rows are written, for the time of the
        product, at the end of the block of step ``K`` (whose own rows they
        replace), and restored.
    """
    T, B, H = hs.shape
    G = d.shape[0]
    h_prev = hs[:-1].reshape(-1, H)  # ((T-1)*B, H)
    d_next = d[:, 1:].reshape(G, -1, H)  # (G, (T-1)*B, H)
    K = len(compact)
    if K == 0:
        np.matmul(h_prev.T, d_next, out=out)
    else:
        rows_h = np.concatenate([hs[k][r.firsts] for k, (r, _) in enumerate(compact)])
        rows_d = np.concatenate(
            [sums[:, : r.firsts.size] for r, sums in compact], axis=1
        )  # (G, R, H)
        R = rows_h.shape[0]
        block_h, block_d = hs[K - 1, B - R :], d[:, K, B - R :]
        kept_h, kept_d = block_h.copy(), block_d.copy()
        block_h[...], block_d[...] = rows_h, rows_d
        start = K * B - R
        np.matmul(h_prev[start:].T, d_next[:, start:], out=out)
        block_h[...], block_d[...] = kept_h, kept_d
    if h0 is not None:
        out += np.matmul(h0.T, d[:, 0])


def rnn_forward(xw, W_h, state0, work=None, hw0=None, runs=(), chunks=1):
    """Run the tanh RNN over a padded batch.

    Parameters
    ----------
    xw : ndarray of shape (1, T, B, H)
        Input projection ``x_t @ W_x + b`` of every time step.
    W_h : ndarray of shape (H, H)
        Recurrent weights.
    state0 : tuple of one ndarray of shape (B, H), or None
        Initial hidden state; None for zeros.
    work : Workspace, default=None
    hw0 : ndarray of shape (G, B, H), default=None
        ``h0 @ W_h`` gate first, when already computed; ``state0`` must
        still be given for what the cell needs beyond this product.
    runs : sequence of Runs, default=()
        ``runs[k]``: the rows that share their state after step ``k`` (see
        the module notes); ignored when ``state0`` is given.
    chunks : int, default=1
        Chunks of rows every step's recurrent product is cut in
        (:func:`row_chunks`); the backward pass cuts its products alike.

    Returns
    -------
    hs : ndarray of shape (T, B, H)
        Hidden state after every step.
    state : tuple of one ndarray of shape (B, H)
        Final hidden state.
    cache : tuple
        What :func:`rnn_backward` needs.
    """
    (h0,) = state0 or (None,)
    _, T, B, H = xw.shape
    runs = _used_runs(runs, state0, T)
    hs = empty(work, "hs", (T, B, H), xw.dtype)  # (T, B, H)
    _recurrent_input(h0, W_h, xw[0, 0], hs[0], None if hw0 is None else hw0[0])
    np.tanh(hs[0], out=hs[0])
    for t in range(1, T):
        h = hs[t]  # (B, H)
        if t <= len(runs):
            hw = _runs_product(hs[t - 1], W_h[None], runs[t - 1])  # (1, B or 1, H)
            np.add(xw[0, t], hw[0], out=h)
        else:
            _product(hs[t - 1], W_h[None], h[None], chunks)
            h += xw[0, t]
        np.tanh(h, out=h)
    return hs, (hs[T - 1],), (h0, hs, runs, chunks)


def rnn_backward(dhs, cache, W_h, work=None):
    """Backpropagate through time for the tanh RNN.

    Parameters
    ----------
    dhs : ndarray of shape (T, B, H)
        Gradient of the loss with respect to every hidden state.
    cache : tuple
        Returned by :func:`rnn_forward`.
    W_h : ndarray of shape (H, H)
        Recurrent weights.
    work : Workspace, default=None

    Returns
    -------
    dxw : ndarray of shape (1, T, B, H)
        Gradient with respect to the input projection.
    dW_h : ndarray of shape (H, H)
        Gradient with respect to the recurrent weights.
    """
    h0, hs, runs, chunks = cache
    T, B, H = hs.shape
    dxw = empty(work, "dxw", (1, T, B, H), hs.dtype)
    dz = dxw[0]  # (T, B, H): gradient of the pre-activation
    np.multiply(hs, hs, out=dz)
    np.subtract(1.0, dz, out=dz)  # 1 - h^2, the derivative of tanh
    dh = empty(work, "dh", (B, H), hs.dtype)  # (B, H)
    if chunks > 1:  # products of chunks of rows, as dz @ (W_h^T laid out)
        W_hT = _transposed_gates(W_h[None], work)
    else:
        dhT = empty(work, "dhT", (H, B), hs.dtype)  # (H, B)
    dz[T - 1] *= dhs[T - 1]
    compact = []
    for t in range(T - 1, 0, -1):
        if t <= len(runs):
            sums = np.matmul(runs[t - 1].indicator, dxw[:, t])  # (1, n, H)
            _runs_gradient(W_h, runs[t - 1], sums, dhs[t - 1], dh)
            compact.insert(0, (runs[t - 1], sums))
        elif chunks > 1:
            _product(dz[t], W_hT, dh[None], chunks)
            dh += dhs[t - 1]
        else:
            np.matmul(W_h, dz[t].T, out=dhT)  # (dz W_h^T)^T
            np.add(dhT.T, dhs[t - 1], out=dh)
        dz[t - 1] *= dh
    dW_h = empty(work, "dW_h", (H, H), hs.dtype)
    _weight_gradient(h0, hs, dxw, dW_h[None], compact)
    return dxw, dW_h


def gru_forward(xw, W_h, state0, work=None, hw0=None, runs=(), chunks=1):
    """Run the GRU over a padded batch.

    ``r = sigmoid(x_r + h W_hr)``, ``z = sigmoid(x_z + h W_hz)``,
    ``n = tanh(x_n + r * (h W_hn))``, ``h' = (1 - z) * n + z * h``.

    Parameters
    ----------
    xw : ndarray of shape (3, T, B, H)
        Input projection of every time step, gates ``r, z, n``.
    W_h : ndarray of shape (H, 3 * H)
        Recurrent weights, gates ``r, z, n``.
    state0 : tuple of one ndarray of shape (B, H), or None
        Initial hidden state; None for zeros.
    work : Workspace, default=None
    hw0 : ndarray of shape (G, B, H), default=None
        ``h0 @ W_h`` gate first, when already computed; ``state0`` must
        still be given for what the cell needs beyond this product.
    runs : sequence of Runs, default=()
        ``runs[k]``: the rows that share their state after step ``k`` (see
        the module notes); ignored when ``state0`` is given.
    chunks : int, default=1
        Chunks of rows every step's recurrent product is cut in
        (:func:`row_chunks`); the backward pass cuts its products alike.

    Returns
    -------
    hs : ndarray of shape (T, B, H)
    state : tuple of one ndarray of shape (B, H)
    cache : tuple
    """
    (h0,) = state0 or (None,)
    _, T, B, H = xw.shape
    dtype = xw.dtype
    Wg = gate_view(W_h, 3)  # (3, H, H)
    hs = empty(work, "hs", (T, B, H), dtype)  # (T, B, H)
    gates = empty(work, "gates", (3, T, B, H), dtype)  # r, z, n
    hn = empty(work, "hn", (T, B, H), dtype)  # h W_hn
    runs = _used_runs(runs, state0, T)
    h = h0
    for t in range(T):
        a = gates[:, t]  # (3, B, H)
        hw = hw0 if t == 0 else None
        if 1 <= t <= len(runs):
            hw = _runs_product(h, Wg, runs[t - 1])  # (3, B or 1, H)
        rz_hw = None if hw is None else hw[:2]
        _recurrent_input(h, Wg[:2], xw[:2, t], a[:2], rz_hw, chunks)
        if hw is not None:
            hn[t] = hw[2]
        elif h is None:
            hn[t] = 0.0
        else:
            _product(h, Wg[2:], hn[t : t + 1], chunks)
        _sigmoid(a[:2], out=a[:2])
        r, z, n = a
        np.multiply(r, hn[t], out=n)
        n += xw[2, t]
        np.tanh(n, out=n)
        # h' = n + z * (h - n)
        h_new = hs[t]
        if h is None:
            np.negative(n, out=h_new)
        else:
            np.subtract(h, n, out=h_new)
        h_new *= z
        h_new += n
        h = h_new
    return hs, (h,), (h0, hs, gates, hn, runs, chunks)


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
    h0, hs, gates, hn, runs, chunks = cache
    T, B, H = hs.shape
    dtype = hs.dtype
    Wg = gate_view(W_h, 3)  # (3, H, H)
    r, z, n = gates  # (T, B, H) each
    dxw = empty(work, "dxw", (3, T, B, H), dtype)  # r, z, n
    d_r, d_z, d_n = dxw
    dhn = empty(work, "dhn", (T, B, H), dtype)  # gradient of h W_hn
    # What multiplies the incoming gradient at every step, for all steps at
    # once: a few calls over (T, B, H) instead of a dozen per step.
    one_minus_z = empty(work, "one_minus_z", (T, B, H), dtype)
    np.subtract(1.0, z, out=one_minus_z)
    # d_n = dh * (1 - z) * (1 - n^2)
    np.multiply(n, n, out=d_n)
    np.subtract(1.0, d_n, out=d_n)
    d_n *= one_minus_z
    # d_z = dh * (h_prev - n) * z * (1 - z)
    np.subtract(hs[:-1], n[1:], out=d_z[1:])
    if h0 is None:
        np.negative(n[0], out=d_z[0])
    else:
        np.subtract(h0, n[0], out=d_z[0])
    d_z *= z
    d_z *= one_minus_z
    # d_r = d_n * hn * r * (1 - r)
    np.subtract(1.0, r, out=d_r)
    d_r *= r
    d_r *= hn
    dh = empty(work, "dh", (B, H), dtype)
    if chunks > 1:  # products of chunks of rows, as d @ (W_hg^T laid out)
        WgT = _transposed_gates(Wg, work)
        dhg = empty(work, "dhg", (3, B, H), dtype)
    else:
        dh_sum = empty(work, "dh_sum", (H, B), dtype)
        dhT = empty(work, "dhT", (3, H, B), dtype)  # per gate (d W_hg^T)^T
    dh[...] = dhs[T - 1]
    compact = []
    for t in range(T - 1, -1, -1):
        dxw[1:, t] *= dh  # d_z, d_n
        np.multiply(d_n[t], r[t], out=dhn[t])
        d_r[t] *= d_n[t]
        if t == 0:
            break
        if t <= len(runs):
            indicator = runs[t - 1].indicator
            sums = np.empty((3, indicator.shape[0], H), dtype=dtype)
            np.matmul(indicator, dxw[:2, t], out=sums[:2])
            np.matmul(indicator, dhn[t], out=sums[2])
            dh *= z[t]
            _runs_gradient(W_h, runs[t - 1], sums, dhs[t - 1], dh, extra=dh)
            compact.insert(0, (runs[t - 1], sums))
            continue
        # dh_prev = dh * z + [d_r, d_z] W_h[r, z]^T + dhn W_hn^T + dhs[t - 1]
        if chunks > 1:
            _gate_products(dxw[:2, t], WgT[:2], dhg[:2], chunks)
            _gate_products(dhn[t][None], WgT[2:], dhg[2:], chunks)
            dh *= z[t]
            dh += dhs[t - 1]
            dh += dhg[0]
            dh += dhg[1]
            dh += dhg[2]
            continue
        np.matmul(Wg[:2], dxw[:2, t].transpose(0, 2, 1), out=dhT[:2])
        np.matmul(Wg[2], dhn[t].T, out=dhT[2])
        np.add(dhT[0], dhT[1], out=dh_sum)
        dh_sum += dhT[2]
        dh *= z[t]
        dh += dhs[t - 1]
        dh += dh_sum.T
    dW_h = empty(work, "dW_h", (H, 3 * H), dtype)
    dWg = gate_view(dW_h, 3)  # (3, H, H)
    _weight_gradient(h0, hs, dxw[:2], dWg[:2], [(r, s[:2]) for r, s in compact])
    _weight_gradient(h0, hs, dhn[None], dWg[2:], [(r, s[2:]) for r, s in compact])
    return dxw, dW_h


def lstm_forward(xw, W_h, state0, work=None, hw0=None, runs=(), chunks=1):
    """Run the LSTM over a padded batch.

    ``i, f, o = sigmoid(.)``, ``g = tanh(.)``, ``c' = f * c + i * g``,
    ``h' = o * tanh(c')``.

    Parameters
    ----------
    xw : ndarray of shape (4, T, B, H)
        Input projection of every time step, gates ``i, f, g, o``.
    W_h : ndarray of shape (H, 4 * H)
    state0 : tuple of two ndarrays of shape (B, H), or None
        Initial hidden and cell states; None for zeros.
    work : Workspace, default=None
    hw0 : ndarray of shape (G, B, H), default=None
        ``h0 @ W_h`` gate first, when already computed; ``state0`` must
        still be given for what the cell needs beyond this product.
    runs : sequence of Runs, default=()
        ``runs[k]``: the rows that share their state after step ``k`` (see
        the module notes); ignored when ``state0`` is given.
    chunks : int, default=1
        Chunks of rows every step's recurrent product is cut in
        (:func:`row_chunks`); the backward pass cuts its products alike.

    Returns
    -------
    hs : ndarray of shape (T, B, H)
    state : tuple of two ndarrays of shape (B, H)
    cache : tuple
    """
    h0, c0 = state0 or (None, None)
    _, T, B, H = xw.shape
    dtype = xw.dtype
    Wg = gate_view(W_h, 4)  # (4, H, H)
    hs = empty(work, "hs", (T, B, H), dtype)  # (T, B, H)
    cs = empty(work, "cs", (T, B, H), dtype)  # (T, B, H)
    tcs = empty(work, "tcs", (T, B, H), dtype)  # (T, B, H): tanh(c)
    gates = empty(work, "gates", (4, T, B, H), dtype)  # i, f, g, o
    tmp = empty(work, "tmp", (B, H), dtype)
    runs = _used_runs(runs, state0, T)
    h, c = h0, c0
    for t in range(T):
        a = gates[:, t]  # (4, B, H)
        hw = hw0 if t == 0 else None
        if 1 <= t <= len(runs):
            hw = _runs_product(h, Wg, runs[t - 1])  # (4, B or 1, H)
        _recurrent_input(h, Wg, xw[:, t], a, hw, chunks)
        _sigmoid(a[:2], out=a[:2])
        np.tanh(a[2], out=a[2])
        _sigmoid(a[3], out=a[3])
        i, f, g, o = a
        c_new = cs[t]
        np.multiply(i, g, out=c_new)
        if c is not None:
            np.multiply(f, c, out=tmp)
            c_new += tmp
        np.tanh(c_new, out=tcs[t])
        np.multiply(o, tcs[t], out=hs[t])
        h, c = hs[t], c_new
    return hs, (h, c), (h0, c0, hs, cs, tcs, gates, runs, chunks)


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
    h0, c0, hs, cs, tcs, gates, runs, chunks = cache
    T, B, H = hs.shape
    dtype = hs.dtype
    Wg = gate_view(W_h, 4)  # (4, H, H)
    i, f, g, o = gates  # (T, B, H) each
    da = empty(work, "da", (4, T, B, H), dtype)  # i, f, g, o
    d_i, d_f, d_g, d_o = da
    # What multiplies the incoming gradients at every step, for all steps at
    # once: a few calls over (T, B, H) instead of a dozen per step.
    # d_i = dc * g * i * (1 - i); d_f = dc * c_prev * f * (1 - f)
    np.subtract(1.0, gates[:2], out=da[:2])
    da[:2] *= gates[:2]
    d_i *= g
    d_f[1:] *= cs[:-1]
    if c0 is None:
        d_f[0] = 0.0
    else:
        d_f[0] *= c0
    # d_g = dc * i * (1 - g^2)
    np.multiply(g, g, out=d_g)
    np.subtract(1.0, d_g, out=d_g)
    d_g *= i
    # d_o = dh * tanh(c) * o * (1 - o)
    np.subtract(1.0, o, out=d_o)
    d_o *= o
    d_o *= tcs
    # dc = dc_next + dh * o * (1 - tanh(c)^2)
    dc_dh = empty(work, "dc_dh", (T, B, H), dtype)
    np.multiply(tcs, tcs, out=dc_dh)
    np.subtract(1.0, dc_dh, out=dc_dh)
    dc_dh *= o
    dh = empty(work, "dh", (B, H), dtype)
    dc = empty(work, "dc", (B, H), dtype)
    tmp = empty(work, "tmp", (B, H), dtype)
    if chunks > 1:  # products of chunks of rows, as d @ (W_hg^T laid out)
        WgT = _transposed_gates(Wg, work)
        dhg = empty(work, "dhg", (4, B, H), dtype)
    else:
        dhT = empty(work, "dhT", (4, H, B), dtype)  # per gate (d W_hg^T)^T
        dh_sum = empty(work, "dh_sum", (H, B), dtype)
    dh[...] = dhs[T - 1]
    dc[...] = 0.0
    compact = []
    for t in range(T - 1, -1, -1):
        np.multiply(dh, dc_dh[t], out=tmp)
        dc += tmp
        d_o[t] *= dh
        da[:3, t] *= dc  # d_i, d_f, d_g
        if t == 0:
            break
        dc *= f[t]
        if t <= len(runs):
            indicator = runs[t - 1].indicator
            sums = np.matmul(indicator, da[:, t])  # (4, n, H)
            firsts = runs[t - 1].firsts
            dc_sums = indicator[: firsts.size] @ dc  # (n, H)
            dc[...] = 0.0
            dc[firsts] = dc_sums
            _runs_gradient(W_h, runs[t - 1], sums, dhs[t - 1], dh)
            compact.insert(0, (runs[t - 1], sums))
            continue
        # dh_prev = sum over gates of d_gate W_hgate^T, plus dhs[t - 1]
        if chunks > 1:
            _gate_products(da[:, t], WgT, dhg, chunks)  # (4, B, H)
            np.add(dhg[0], dhg[1], out=dh)
            dh += dhg[2]
            dh += dhg[3]
            dh += dhs[t - 1]
            continue
        np.matmul(Wg, da[:, t].transpose(0, 2, 1), out=dhT)  # (4, H, B)
        np.add(dhT[0], dhT[1], out=dh_sum)  # three adds beat np.sum(axis=0)
        dh_sum += dhT[2]
        dh_sum += dhT[3]
        np.add(dh_sum.T, dhs[t - 1], out=dh)
    dW_h = empty(work, "dW_h", (H, 4 * H), dtype)
    _weight_gradient(h0, hs, da, gate_view(dW_h, 4), compact)
    return da, dW_h


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

# Given the first step's recurrent product ``hw0``, the parts of ``state0``
# each cell still reads (by position): the GRU its hidden state, the LSTM its
# cell state. The others may be None.
STATE_READ_WITH_HW0 = {"rnn": (), "gru": (0,), "lstm": (1,)}
