"""Finite-difference checks of the batched, masked forward and backward passes."""

import numpy as np
import pytest

from sklearn_charrnn._sequences import pad_batch
from sklearn_charrnn.nn import cells, network
from sklearn_charrnn.nn.cells import CELLS, find_runs, row_chunks
from sklearn_charrnn.nn.network import init_weights, loss_and_gradients


def _check_some_entries(loss, weights, grads, n_per_weight):
    """``grads`` against central differences of ``loss`` at about
    ``n_per_weight`` evenly spaced entries of every weight."""
    eps = 1e-6
    for name, w in weights.items():
        flat = w.reshape(-1)
        for i in range(0, flat.size, max(1, flat.size // n_per_weight)):
            old = flat[i]
            flat[i] = old + eps
            up = loss(weights)
            flat[i] = old - eps
            down = loss(weights)
            flat[i] = old
            assert grads[name].reshape(-1)[i] == pytest.approx(
                (up - down) / (2 * eps), rel=1e-5, abs=1e-8
            ), name


def _batch(rng, n_tokens, lengths):
    """A padded batch of sequences of different lengths."""
    lengths = np.asarray(lengths)
    codes = rng.integers(1, n_tokens, size=lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return pad_batch(codes, offsets, lengths, np.arange(len(lengths)))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("n_layers", [1, 2])
@pytest.mark.parametrize("first", ["boundary", "runs", "mixed"])
def test_gradients_match_finite_differences(cell, n_layers, first, monkeypatch):
    """Exact gradients, with the first step shared by every row or not.

    Real batches start every row with the boundary token, so their first
    step is the same in every row and computed once ("boundary"); rows that
    also begin with the same character share their second step ("runs");
    "mixed" first tokens take the general path.
    """
    monkeypatch.setattr(network, "_SHARE_WORK", 0)  # share at this small size
    rng = np.random.default_rng(0)
    n_tokens, hidden = 7, 5
    weights = init_weights(
        rng,
        cell=cell,
        n_layers=n_layers,
        hidden_size=hidden,
        n_tokens=n_tokens,
        dtype=np.float64,
    )
    # Larger weights than the initialisation so every gate saturates a little.
    for w in weights.values():
        w += rng.normal(scale=0.3, size=w.shape)
    inputs, targets, mask = _batch(rng, n_tokens, [1, 4, 2, 6])
    assert not mask.all()  # the batch really has padding
    if first == "mixed":
        inputs[0] = [0, 3, 1, 3]
    if first == "runs":  # first characters 2, 2, 5, 5: two runs of two rows
        inputs[1] = [2, 2, 5, 5]
        targets[0] = [2, 2, 5, 5]

    def loss(ws):
        return loss_and_gradients(ws, cell, n_layers, inputs, targets, mask)[0]

    _, grads = loss_and_gradients(weights, cell, n_layers, inputs, targets, mask)
    assert set(grads) == set(weights)
    eps = 1e-6
    for name, w in weights.items():
        numeric = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            old = w[idx]
            w[idx] = old + eps
            up = loss(weights)
            w[idx] = old - eps
            down = loss(weights)
            w[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(
            grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name
        )


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_padding_adds_nothing(cell):
    """A sequence's loss and gradients do not depend on the padding around it."""
    rng = np.random.default_rng(1)
    weights = init_weights(
        rng, cell=cell, n_layers=2, hidden_size=4, n_tokens=6, dtype=np.float64
    )
    codes = np.array([1, 2, 3, 4, 5, 1, 2])
    lengths = np.array([2, 5])
    offsets = np.cumsum(lengths) - lengths
    alone = pad_batch(codes, offsets, lengths, np.array([0]))
    padded = pad_batch(codes, offsets, lengths, np.array([0, 1]))
    # weight the short sequence alone: total loss = mean * n_tokens
    loss_a, grads_a = loss_and_gradients(weights, cell, 2, *alone)
    inputs, targets, mask = padded
    only_short = mask.copy()
    only_short[:, 1] = False
    loss_p, grads_p = loss_and_gradients(weights, cell, 2, inputs, targets, only_short)
    assert loss_a == pytest.approx(loss_p, rel=1e-12)
    for name in weights:
        np.testing.assert_allclose(grads_a[name], grads_p[name], atol=1e-12)


def test_dropout_gradients_match_finite_differences(monkeypatch):
    """With a fixed dropout mask the gradient is still exact.

    The first layer's rows share their first states; the second's, after
    dropout, do not.
    """
    monkeypatch.setattr(network, "_SHARE_WORK", 0)
    rng = np.random.default_rng(2)
    weights = init_weights(
        rng, cell="lstm", n_layers=2, hidden_size=4, n_tokens=5, dtype=np.float64
    )
    inputs, targets, mask = _batch(rng, 5, [3, 5])

    def loss_grads(ws):
        return loss_and_gradients(
            ws, "lstm", 2, inputs, targets, mask, 0.3, np.random.default_rng(7)
        )

    _, grads = loss_grads(weights)
    _check_some_entries(lambda ws: loss_grads(ws)[0], weights, grads, 7)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_runs_compute_the_general_result(cell):
    """Runs of rows that share states change how they are computed, not what.

    The states are the same. Steps whose rows share their state and input
    give their input gradients summed over each run, in its first row.
    """
    rng = np.random.default_rng(3)
    G, _, forward, backward = CELLS[cell]
    T, B, H = 5, 6, 4
    second = np.array([2, 2, 4, 4, 4, 1])  # the rows' second inputs, in runs
    xw = rng.normal(size=(G, T, B, H))
    xw[:, 0] = xw[:, 0, :1]  # the same first input in every row
    xw[:, 1] = xw[:, 1, [0, 0, 2, 2, 2, 5]]
    W_h = rng.normal(scale=0.5, size=(H, G * H))
    dhs = rng.normal(size=(T, B, H))
    runs = (find_runs(np.zeros(B, dtype=int), xw.dtype), find_runs(second, xw.dtype))
    assert [r.firsts.tolist() for r in runs] == [[0], [0, 2, 5]]
    results = {}
    for used in ((), runs[:1], runs):
        hs, _, cache = forward(xw, W_h, None, runs=used)
        dxw, dW_h = backward(dhs, cache, W_h)
        results[len(used)] = hs.copy(), dxw.copy(), dW_h.copy()
    hs_a, dxw_a, dW_a = results[0]
    for k in (1, 2):
        hs_b, dxw_b, dW_b = results[k]
        np.testing.assert_allclose(hs_b, hs_a, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(dW_b, dW_a, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dxw_b[:, k:], dxw_a[:, k:], rtol=1e-10, atol=1e-12)
        for t in range(k):
            firsts = runs[t].firsts
            run_sums = np.matmul(runs[t].indicator[: firsts.size], dxw_a[:, t])
            np.testing.assert_allclose(
                dxw_b[:, t, firsts], run_sums, rtol=1e-10, atol=1e-12
            )
            others = np.setdiff1d(np.arange(B), firsts)
            assert not dxw_b[:, t, others].any()
            assert not np.allclose(dxw_a[:, t, others], 0.0)  # sums really moved


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_products_in_chunks_of_rows_compute_the_same(cell):
    """Cutting each step's recurrent products in chunks of rows changes nothing."""
    rng = np.random.default_rng(4)
    G, _, forward, backward = CELLS[cell]
    T, B, H = 5, 16, 6
    xw = rng.normal(size=(G, T, B, H))
    W_h = rng.normal(scale=0.5, size=(H, G * H))
    dhs = rng.normal(size=(T, B, H))
    results = []
    for chunks in (1, 2, 4):
        hs, _, cache = forward(xw, W_h, None, chunks=chunks)
        dxw, dW_h = backward(dhs, cache, W_h)
        results.append((hs.copy(), dxw.copy(), dW_h.copy()))
    for got in results[1:]:
        for a, b in zip(got, results[0], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_row_chunks_keep_products_small_and_chunks_big_enough():
    assert row_chunks(32, 200) == 2  # 16 x 200 x 200 = 640,000 multiply-adds
    assert row_chunks(32, 128) == 1  # already small
    assert row_chunks(32, 256) == 4  # 8 rows of 256 x 256
    assert row_chunks(32, 512) == 1  # no chunk of 8 rows or more is small
    assert row_chunks(31, 200) == 1  # no equal chunks
    assert row_chunks(16, 200) == 1  # already small


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_gradients_with_products_in_chunks_match_finite_differences(cell, monkeypatch):
    """A batch of 16 rows whose products are cut in two chunks of 8."""
    H = 4
    monkeypatch.setattr(cells, "_SMALL_PRODUCT", 8 * H * H)
    monkeypatch.setattr(network, "_SHARE_WORK", 0)
    rng = np.random.default_rng(5)
    weights = init_weights(
        rng, cell=cell, n_layers=2, hidden_size=H, n_tokens=5, dtype=np.float64
    )
    lengths = rng.integers(1, 5, size=16)
    inputs, targets, mask = _batch(rng, 5, lengths)
    assert row_chunks(16, H) == 2

    def loss(ws):
        return loss_and_gradients(ws, cell, 2, inputs, targets, mask)[0]

    _, grads = loss_and_gradients(weights, cell, 2, inputs, targets, mask)
    _check_some_entries(loss, weights, grads, 9)
