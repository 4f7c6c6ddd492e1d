"""Work split in parts and run on threads: same results, whatever the threads."""

import multiprocessing
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_charrnn import CharRNNGenerator
from sklearn_charrnn._sequences import pad_batch
from sklearn_charrnn.nn import parallel
from sklearn_charrnn.nn.network import init_weights, loss_and_gradients
from sklearn_charrnn.nn.parallel import batch_loss_and_gradients, n_parts, run_all
from sklearn_charrnn.nn.workspace import Workspace


def _data(rng, n_tokens, lengths):
    lengths = np.asarray(lengths)
    codes = rng.integers(1, n_tokens, size=lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return codes, offsets, lengths


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_parts_add_up_to_the_whole_batch(cell, n_layers):
    rng = np.random.default_rng(0)
    weights = init_weights(
        rng, cell=cell, n_layers=n_layers, hidden_size=6, n_tokens=8, dtype=np.float64
    )
    codes, offsets, lengths = _data(rng, 8, [3, 1, 5, 2, 4, 4, 6])
    index = np.arange(len(lengths))
    whole_loss, whole = loss_and_gradients(
        weights, cell, n_layers, *pad_batch(codes, offsets, lengths, index)
    )
    for n in (2, 3):
        parts = [
            pad_batch(codes, offsets, lengths, p) for p in np.array_split(index, n)
        ]
        loss, grads, n_tokens = batch_loss_and_gradients(
            weights, cell, n_layers, parts, works=[Workspace() for _ in range(n)]
        )
        assert n_tokens == lengths.sum() + len(lengths)  # each name + its end
        assert loss == pytest.approx(whole_loss, rel=1e-12)
        assert grads.keys() == whole.keys()
        for name, g in grads.items():
            np.testing.assert_allclose(g, whole[name], rtol=1e-10, atol=1e-13)


def test_threads_change_nothing():
    rng = np.random.default_rng(1)
    weights = init_weights(
        rng, cell="lstm", n_layers=1, hidden_size=16, n_tokens=9, dtype=np.float32
    )
    codes, offsets, lengths = _data(rng, 9, rng.integers(1, 9, size=40))
    parts = [
        pad_batch(codes, offsets, lengths, p) for p in np.array_split(np.arange(40), 2)
    ]
    results = []
    for n_threads in (1, 2):
        loss, grads, _ = batch_loss_and_gradients(
            weights,
            "lstm",
            1,
            parts,
            works=[Workspace(), Workspace()],
            n_threads=n_threads,
        )
        results.append((loss, {k: g.copy() for k, g in grads.items()}))
    assert results[0][0] == results[1][0]
    for name, g in results[0][1].items():
        np.testing.assert_array_equal(g, results[1][1][name])


def test_n_parts_splits_only_big_steps_of_big_batches():
    assert n_parts("rnn", 200, 32) == 1  # 40,000 multiply-adds a row
    assert n_parts("lstm", 200, 32) == 1  # 160,000
    assert n_parts("rnn", 512, 32) == 1  # 262,144
    assert n_parts("lstm", 300, 32) == 2  # 360,000
    assert n_parts("gru", 384, 32) == 2
    assert n_parts("lstm", 512, 15) == 1  # halves of fewer than 8 names


def test_fit_is_the_same_on_one_thread_or_two(monkeypatch):
    """A split batch (LSTM 300) trains the same weights on 1 or 2 threads."""
    names = ["anna", "bob", "carla", "dimitri", "eve", "fay", "gus", "hal"] * 5
    params = dict(cell="lstm", hidden_size=300, batch_size=16, max_iter=2, dropout=0.3)
    assert n_parts("lstm", 300, 16) == 2
    fits = []
    for n_threads in (1, 2):
        monkeypatch.setattr(
            "sklearn_charrnn._estimator._thread_budget", lambda n=n_threads: n
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = CharRNNGenerator(random_state=0, **params).fit(names)
        fits.append(model)
    for name, w in fits[0].weights_.items():
        np.testing.assert_array_equal(w, fits[1].weights_[name])
    assert fits[0].sample(20, random_state=1) == fits[1].sample(20, random_state=1)


def test_run_all_keeps_order_and_runs_on_threads():
    import threading

    seen = []

    def job(k):
        def run():
            seen.append(threading.get_ident())
            return k * k

        return run

    assert run_all([job(k) for k in range(5)], n_threads=3) == [0, 1, 4, 9, 16]
    assert len(set(seen)) > 1
    seen.clear()
    assert run_all([job(k) for k in range(3)], n_threads=1) == [0, 1, 4]
    assert set(seen) == {threading.get_ident()}


def _in_child(queue):
    queue.put(run_all([lambda: 1, lambda: 2], n_threads=2))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)
def test_run_all_works_in_a_forked_child():
    """A child forked after the pool started makes a pool of its own."""
    run_all([lambda: 0, lambda: 0], n_threads=2)  # the parent's pool exists
    assert parallel._POOL["executor"] is not None
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == [1, 2]


def test_split_batch_keeps_a_small_batch_whole():
    index = np.arange(100, 140)
    halves = parallel.split_batch(index, 2)
    assert [len(h) for h in halves] == [20, 20]
    np.testing.assert_array_equal(np.concatenate(halves), index)
    assert [len(p) for p in parallel.split_batch(index[:15], 2)] == [15]
    assert [len(p) for p in parallel.split_batch(index[:1], 2)] == [1]
    assert [len(p) for p in parallel.split_batch(index, 1)] == [40]


def test_fit_with_a_last_batch_too_small_to_split(dinosaurs):
    """33 names in batches of 32 (LSTM 300 splits them): the last batch of
    one name is trained whole."""
    assert parallel.n_parts("lstm", 300, 32) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = CharRNNGenerator(
            cell="lstm",
            hidden_size=300,
            max_iter=1,
            early_stopping=False,
            random_state=0,
        ).fit(dinosaurs[:33])
    assert model.n_iter_ == 1
    assert np.isfinite(model.loss_curve_[0])
