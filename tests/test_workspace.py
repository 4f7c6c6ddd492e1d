"""The fast paths give the same numbers as the plain ones.

Training reuses scratch memory (a Workspace) from batch to batch, skips the
recurrent product of the zero initial state, and lays gates out gate first.
These tests pin each shortcut to the computation it replaces.
"""

import numpy as np
import pytest

from sklearn_charrnn._sequences import pad_batch
from sklearn_charrnn.nn.cells import CELLS
from sklearn_charrnn.nn.network import (
    init_weights,
    log_softmax,
    loss_and_gradients,
    next_token_log_probs,
    run_layers,
)
from sklearn_charrnn.nn.optim import AdamW
from sklearn_charrnn.nn.workspace import Workspace


def _batch(rng, n_tokens, lengths):
    lengths = np.asarray(lengths)
    codes = rng.integers(1, n_tokens, size=lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return pad_batch(codes, offsets, lengths, np.arange(len(lengths)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_workspace_gives_the_same_loss_and_gradients(cell, dtype):
    rng = np.random.default_rng(0)
    weights = init_weights(
        rng, cell=cell, n_layers=2, hidden_size=6, n_tokens=7, dtype=dtype
    )
    work = Workspace()
    # batches that grow, shrink and change width, so buffers are reused
    for lengths in ([3, 5, 2], [7, 1], [2, 2, 2, 4], [1]):
        batch = _batch(rng, 7, lengths)
        loss, grads = loss_and_gradients(
            weights, cell, 2, *batch, 0.3, np.random.default_rng(5)
        )
        loss_w, grads_w = loss_and_gradients(
            weights, cell, 2, *batch, 0.3, np.random.default_rng(5), work
        )
        assert loss_w == pytest.approx(loss, rel=1e-6)
        assert set(grads_w) == set(grads)
        for name in grads:
            np.testing.assert_allclose(grads_w[name], grads[name], rtol=1e-5, atol=0)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_cell_gradients_from_a_nonzero_initial_state(cell):
    """Finite differences through one cell started from a random state.

    Training always starts from zeros, where the cells skip work; sampling and
    prefix completion do not.
    """
    rng = np.random.default_rng(3)
    G, n_states, forward, backward = CELLS[cell]
    T, B, H = 4, 3, 5
    xw = rng.normal(size=(G, T, B, H))
    W_h = rng.normal(scale=0.5, size=(H, G * H))
    state0 = tuple(rng.normal(size=(B, H)) for _ in range(n_states))
    probe = rng.normal(size=(T, B, H))  # loss = sum(hs * probe)

    def loss():
        hs, _, _ = forward(xw, W_h, state0)
        return float(np.sum(hs * probe))

    _, _, cache = forward(xw, W_h, state0)
    dxw, dW_h = backward(probe, cache, W_h)
    eps = 1e-6
    for array, grad in ((W_h, dW_h), (xw, dxw)):
        numeric = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            old = array[idx]
            array[idx] = old + eps
            up = loss()
            array[idx] = old - eps
            down = loss()
            array[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_stepping_one_token_at_a_time_matches_the_whole_sequence(cell):
    rng = np.random.default_rng(4)
    weights = init_weights(
        rng, cell=cell, n_layers=2, hidden_size=5, n_tokens=6, dtype=np.float64
    )
    inputs = rng.integers(0, 6, size=(5, 3))  # (T, B)
    top, _, _ = run_layers(weights, cell, 2, inputs)
    whole = log_softmax(top @ weights["W_y"] + weights["b_y"])  # (T, B, V)
    states = None
    for t in range(inputs.shape[0]):
        step, states = next_token_log_probs(weights, cell, 2, inputs[t], states)
        np.testing.assert_allclose(step, whole[t], rtol=1e-10, atol=1e-12)


def test_adamw_with_a_workspace_matches_without():
    rng = np.random.default_rng(6)
    params = {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    twin = {name: p.copy() for name, p in params.items()}
    kwargs = dict(learning_rate=0.01, weight_decay=0.1, decay={"W": True, "b": False})
    opt, opt_twin = AdamW(params, **kwargs), AdamW(twin, **kwargs)
    work = Workspace()
    for _ in range(3):
        grads = {name: rng.normal(size=p.shape) for name, p in params.items()}
        opt.step(params, grads, work)
        opt_twin.step(twin, grads)
    for name in params:
        np.testing.assert_array_equal(params[name], twin[name])
        np.testing.assert_array_equal(opt.m[name], opt_twin.m[name])
        np.testing.assert_array_equal(opt.v[name], opt_twin.v[name])


def test_adamw_moments_restored_as_separate_arrays_step_the_same():
    """After loading, the moments are separate arrays, not views of one array."""
    rng = np.random.default_rng(7)
    params = {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    twin = {name: p.copy() for name, p in params.items()}
    opt, opt_twin = AdamW(params, weight_decay=0.1), AdamW(twin, weight_decay=0.1)
    grads = {name: rng.normal(size=p.shape) for name, p in params.items()}
    opt.step(params, grads)
    opt_twin.step(twin, grads)
    opt_twin.m = {name: m.copy() for name, m in opt_twin.m.items()}
    opt_twin.v = {name: v.copy() for name, v in opt_twin.v.items()}
    for _ in range(2):
        grads = {name: rng.normal(size=p.shape) for name, p in params.items()}
        opt.step(params, grads)
        opt_twin.step(twin, grads)
    for name in params:
        np.testing.assert_array_equal(params[name], twin[name])
        np.testing.assert_array_equal(opt.m[name], opt_twin.m[name])
        np.testing.assert_array_equal(opt.v[name], opt_twin.v[name])


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_float32_gradients_match_float64(cell):
    """The float32 path (the default) computes the float64 gradients, rounded."""
    rng = np.random.default_rng(8)
    weights = init_weights(
        rng, cell=cell, n_layers=2, hidden_size=16, n_tokens=9, dtype=np.float64
    )
    single = {name: w.astype(np.float32) for name, w in weights.items()}
    batch = _batch(rng, 9, [4, 7, 2, 5, 5])
    loss64, grads64 = loss_and_gradients(weights, cell, 2, *batch)
    loss32, grads32 = loss_and_gradients(single, cell, 2, *batch, work=Workspace())
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    for name, g in grads64.items():
        assert grads32[name].dtype == np.float32
        np.testing.assert_allclose(grads32[name], g, rtol=1e-3, atol=1e-6, err_msg=name)


def test_softmax_shift_falls_back_to_each_row_when_one_would_underflow():
    from sklearn_charrnn.nn.network import _shifted_exp

    logits = np.array([[0.0, 1.0, 2.0], [-200.0, -199.0, -198.0]], np.float32)
    expected = logits - logits.max(axis=1, keepdims=True)
    expected = expected - np.log(np.exp(expected).sum(axis=1, keepdims=True))
    exp, total = _shifted_exp(logits.copy())
    np.testing.assert_allclose(np.log(exp / total[:, None]), expected, atol=1e-6)
    # rows of similar size keep the one global shift
    near = np.array([[0.0, 1.0], [3.0, -2.0]], np.float32)
    shifted = near.copy()
    exp, total = _shifted_exp(shifted)
    np.testing.assert_array_equal(shifted, near - 3.0)
    np.testing.assert_allclose(exp / total[:, None], np.exp(log_softmax(near)))


def test_pad_batch_matches_a_plain_loop():
    rng = np.random.default_rng(9)
    lengths = rng.integers(1, 9, size=40)
    codes = rng.integers(1, 30, size=lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    for _ in range(20):
        index = rng.choice(40, size=rng.integers(1, 12), replace=False)
        inputs, targets, mask = pad_batch(codes, offsets, lengths, index)
        T = lengths[index].max() + 1
        assert inputs.shape == targets.shape == mask.shape == (T, len(index))
        for column, i in enumerate(index):
            name = list(codes[offsets[i] : offsets[i] + lengths[i]])
            padding = [0] * (T - lengths[i] - 1)
            assert list(inputs[:, column]) == [0] + name + padding
            assert list(targets[:, column]) == name + [0] + padding
            assert list(mask[:, column]) == [True] * (lengths[i] + 1) + [False] * (
                T - lengths[i] - 1
            )


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_one_sequence_scores_exactly_as_in_a_batch(cell):
    from sklearn_charrnn.nn.network import sequence_log_likelihood

    rng = np.random.default_rng(10)
    weights = init_weights(
        rng, cell=cell, n_layers=2, hidden_size=64, n_tokens=12, dtype=np.float32
    )
    for w in weights.values():
        w *= 3.0  # large weights make any rounding difference visible
    lengths = np.full(6, 5)
    codes = rng.integers(1, 11, size=lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    batch = pad_batch(codes, offsets, lengths, np.arange(6))
    together = sequence_log_likelihood(weights, cell, 2, *batch)
    for i in range(6):
        alone = pad_batch(codes, offsets, lengths, np.array([i]))
        assert sequence_log_likelihood(weights, cell, 2, *alone)[0] == together[i]
    # and one step of one sequence equals its row of a batch step
    step, _ = next_token_log_probs(weights, cell, 2, batch[0][0], None)
    one, _ = next_token_log_probs(weights, cell, 2, batch[0][0][2:3], None)
    np.testing.assert_array_equal(one[0], step[2])


def test_wide_batches_are_scored_in_slices_with_the_same_result(monkeypatch):
    from sklearn_charrnn.nn import network

    rng = np.random.default_rng(11)
    weights = init_weights(
        rng, cell="lstm", n_layers=1, hidden_size=8, n_tokens=7, dtype=np.float32
    )
    batch = _batch(rng, 7, rng.integers(1, 6, size=9))
    whole = network.sequence_log_likelihood(weights, "lstm", 1, *batch)
    # room for 2 columns at a time: slices of 2, 2, 2, 2 and a lone last one
    T = batch[0].shape[0]
    monkeypatch.setattr(network, "_SCORE_BYTES", 4 * 4 * T * 8 * 2)  # float32
    sliced = network.sequence_log_likelihood(weights, "lstm", 1, *batch)
    np.testing.assert_array_equal(sliced, whole)


def test_workspace_views_follow_their_buffer():
    """A remembered view is handed out again until its buffer is replaced."""
    work = Workspace()
    a = work.empty("x", (2, 3), np.float32)
    assert work.empty("x", (2, 3), np.float32) is a
    b = work.empty("x", (3,), np.float32)  # same buffer, another shape
    assert np.shares_memory(a, b)
    c = work.empty("x", (4, 5), np.float32)  # larger: a new buffer
    assert not np.shares_memory(a, c)
    d = work.empty("x", (2, 3), np.float32)  # no stale view of the old buffer
    assert np.shares_memory(d, c) and not np.shares_memory(d, a)
    e = work.empty("x", (2, 3), np.float64)  # another dtype: a new buffer
    assert e.dtype == np.float64 and not np.shares_memory(e, c)
    assert work.nbytes == e.nbytes


def test_workspace_remembers_a_bounded_number_of_views():
    work = Workspace()
    for n in range(1, 2000):
        work.empty("x", (n,), np.float32)
    assert len(work._views) <= 256
