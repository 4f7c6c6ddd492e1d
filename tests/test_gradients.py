"""Finite-difference checks of the batched, masked forward and backward passes."""

import numpy as np
import pytest
from _gradcheck import central_differences, padded_batch

from sklearn_charrnn._sequences import pad_batch
from sklearn_charrnn.nn import cells
from sklearn_charrnn.nn.cells import CELLS
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


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_gradients_match_finite_differences(cell, n_layers):
    """Every entry of every weight's gradient, on a padded batch whose rows
    begin alike and not."""
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
    inputs, targets, mask = padded_batch(rng, n_tokens, [1, 4, 2, 6])
    assert not mask.all()  # the batch really has padding
    inputs[1] = [2, 2, 5, 3]
    targets[0] = [2, 2, 5, 3]

    def loss(ws):
        return loss_and_gradients(ws, cell, n_layers, inputs, targets, mask)[0]

    _, grads = loss_and_gradients(weights, cell, n_layers, inputs, targets, mask)
    assert set(grads) == set(weights)
    for name, w in weights.items():
        numeric = central_differences(lambda: loss(weights), w)
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


def test_dropout_gradients_match_finite_differences():
    """With a fixed dropout mask the gradient is still exact."""
    rng = np.random.default_rng(2)
    weights = init_weights(
        rng, cell="lstm", n_layers=2, hidden_size=4, n_tokens=5, dtype=np.float64
    )
    inputs, targets, mask = padded_batch(rng, 5, [3, 5])

    def loss_grads(ws):
        return loss_and_gradients(
            ws, "lstm", 2, inputs, targets, mask, 0.3, np.random.default_rng(7)
        )

    _, grads = loss_grads(weights)
    _check_some_entries(lambda ws: loss_grads(ws)[0], weights, grads, 7)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("zero_start", [False, True])
def test_cell_gradients_match_finite_differences(cell, zero_start):
    """Finite differences through one cell's loop over time, from a random
    state (as when a prefix is completed) or from the zero state (training)."""
    rng = np.random.default_rng(3)
    the_cell = CELLS[cell]
    G = the_cell.n_gates
    T, B, H = 4, 3, 5
    xw = rng.normal(size=(G, T, B, H))
    W_h = rng.normal(scale=0.5, size=(H, G * H))
    state0 = None
    if not zero_start:
        state0 = tuple(rng.normal(size=(B, H)) for _ in range(the_cell.n_states))
    probe = rng.normal(size=(T, B, H))  # loss = sum(hs * probe)

    def loss():
        hs, _, _ = cells.forward(the_cell, xw, W_h, state0)
        return float(np.sum(hs * probe))

    _, _, cache = cells.forward(the_cell, xw, W_h, state0)
    dxw, dW_h = cells.backward(the_cell, probe, cache, W_h)
    for array, grad in ((W_h, dW_h), (xw, dxw)):
        numeric = central_differences(loss, array)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_float32_gradients_match_float64(cell):
    """The float32 path (the default) computes the float64 gradients, rounded."""
    rng = np.random.default_rng(8)
    weights = init_weights(
        rng, cell=cell, n_layers=2, hidden_size=16, n_tokens=9, dtype=np.float64
    )
    single = {name: w.astype(np.float32) for name, w in weights.items()}
    batch = padded_batch(rng, 9, [4, 7, 2, 5, 5])
    loss64, grads64 = loss_and_gradients(weights, cell, 2, *batch)
    loss32, grads32 = loss_and_gradients(single, cell, 2, *batch)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    for name, g in grads64.items():
        assert grads32[name].dtype == np.float32
        np.testing.assert_allclose(grads32[name], g, rtol=1e-3, atol=1e-6, err_msg=name)
