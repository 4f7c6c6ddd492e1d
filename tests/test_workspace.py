"""The network around the cells: scratch memory, steps, scores, batches.

Training reuses scratch memory (a Workspace) from batch to batch; generation
steps one token at a time through the step interface; scoring runs batches
of any shape. These tests pin each to the plain computation.
"""

import numpy as np
import pytest

from sklearn_charrnn._sequences import pad_batch
from sklearn_charrnn.nn.network import (
    RecurrentSteps,
    init_weights,
    log_softmax,
    loss_and_gradients,
    run_layers,
    sequence_log_likelihood,
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
def test_stepping_one_token_at_a_time_matches_the_whole_sequence(cell):
    rng = np.random.default_rng(4)
    weights = init_weights(
        rng, cell=cell, n_layers=2, hidden_size=5, n_tokens=6, dtype=np.float64
    )
    inputs = rng.integers(0, 6, size=(5, 3))  # (T, B)
    inputs[0] = 0  # every sequence starts with the boundary token
    top, _, _ = run_layers(weights, cell, 2, inputs)
    whole = log_softmax(top @ weights["W_y"] + weights["b_y"])  # (T, B, V)
    steps = RecurrentSteps(weights, cell, 2)
    state = steps.start(3)
    for t in range(inputs.shape[0]):
        if t:
            state = steps.advance(state, inputs[t])
        np.testing.assert_allclose(
            steps.log_probs(state), whole[t], rtol=1e-10, atol=1e-12
        )
    # parents pick and repeat rows: row i continues row parents[i]
    parents = np.array([2, 0, 2, 2])
    tokens = np.array([1, 5, 3, 1])
    picked = steps.advance(state, tokens, parents)
    for i, (row, token) in enumerate(zip(parents, tokens, strict=True)):
        alone = steps.advance(state, np.full(3, token))
        np.testing.assert_allclose(
            steps.log_probs(picked)[i], steps.log_probs(alone)[row], rtol=1e-10
        )


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


# A sequence's score does not depend on the batch it is scored in, up to
# rounding: BLAS may sum a row's products in another order in a matrix of
# another height (OpenBLAS's kernels differ from CPU to CPU). Scoring runs in
# float64, where that rounding stays below this relative tolerance.
SCORE_RTOL = 1e-9


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_one_sequence_scores_as_in_a_batch(cell):
    rng = np.random.default_rng(10)
    weights = init_weights(
        rng, cell=cell, n_layers=2, hidden_size=64, n_tokens=12, dtype=np.float64
    )
    for w in weights.values():
        w *= 3.0  # large weights make any rounding difference visible
    lengths = rng.integers(1, 9, size=40)
    codes = rng.integers(1, 11, size=lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    together = sequence_log_likelihood(
        weights, cell, 2, *pad_batch(codes, offsets, lengths, np.arange(40))
    )
    for i in range(0, 40, 7):
        alone = pad_batch(codes, offsets, lengths, np.array([i]))
        np.testing.assert_allclose(
            sequence_log_likelihood(weights, cell, 2, *alone)[0],
            together[i],
            rtol=SCORE_RTOL,
        )


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
