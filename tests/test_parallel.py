"""Work split in parts and run on threads: same results, whatever the threads."""

import os
import threading
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_charrnn import CharRNNGenerator
from sklearn_charrnn._sequences import pad_batch
from sklearn_charrnn._training import batch_loss_and_gradients
from sklearn_charrnn.nn import parallel
from sklearn_charrnn.nn.cells import CELLS
from sklearn_charrnn.nn.network import (
    RecurrentSteps,
    init_weights,
    loss_and_gradients,
)
from sklearn_charrnn.nn.parallel import Threads, n_parts
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
            weights,
            cell,
            n_layers,
            parts,
            dropout=0.0,
            rngs=[None] * n,
            works=[Workspace() for _ in range(n)],
            threads=Threads(1),
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
        with Threads(n_threads) as threads:
            loss, grads, _ = batch_loss_and_gradients(
                weights,
                "lstm",
                1,
                parts,
                dropout=0.3,
                rngs=[np.random.default_rng(k) for k in range(2)],
                works=[Workspace(), Workspace()],
                threads=threads,
            )
        results.append((loss, {k: g.copy() for k, g in grads.items()}))
    assert results[0][0] == results[1][0]
    for name, g in results[0][1].items():
        np.testing.assert_array_equal(g, results[1][1][name])


def test_n_parts_follows_the_work_of_a_batch():
    def parts(cell, hidden, rows):
        gates = CELLS[cell].n_gates
        return n_parts(rows, gates * hidden**2)

    assert parts("rnn", 200, 32) == 1
    assert parts("rnn", 300, 32) == 1
    assert parts("gru", 200, 32) == 1
    assert parts("lstm", 200, 32) == 2
    assert parts("rnn", 512, 32) == 2
    assert parts("lstm", 300, 32) == 2
    assert parts("gru", 384, 32) == 2
    assert parts("lstm", 512, 32) == 2
    assert parts("lstm", 512, 128) == 8  # more work, more parts
    assert parts("lstm", 512, 31) == 1  # parts of at least 16 names


def test_fit_is_the_same_on_one_thread_or_two(monkeypatch):
    """A split batch (LSTM 300) trains the same weights on 1 or 2 threads."""
    names = ["anna", "bob", "carla", "dimitri", "eve", "fay", "gus", "hal"] * 5
    params = dict(cell="lstm", hidden_size=300, batch_size=32, max_iter=2, dropout=0.3)
    assert n_parts(32, 4 * 300**2) == 2
    fits = []
    for n_threads in (1, 2):
        monkeypatch.setattr(
            "sklearn_charrnn.nn.parallel.thread_budget", lambda n=n_threads: n
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = CharRNNGenerator(random_state=0, **params).fit(names)
        fits.append(model)
    for name, w in fits[0].weights_.items():
        np.testing.assert_array_equal(w, fits[1].weights_[name])
    assert fits[0].sample(20, random_state=1) == fits[1].sample(20, random_state=1)
    np.testing.assert_array_equal(
        fits[0].score_samples(names), fits[1].score_samples(names)
    )


def test_run_all_keeps_order_and_runs_on_threads():
    import threading

    seen = []

    def job(k):
        def run():
            seen.append(threading.get_ident())
            return k * k

        return run

    with Threads(3) as threads:
        assert threads.run_all([job(k) for k in range(5)]) == [0, 1, 4, 9, 16]
    assert len(set(seen)) > 1
    seen.clear()
    with Threads(1) as threads:
        assert threads.run_all([job(k) for k in range(3)]) == [0, 1, 4]
    assert set(seen) == {threading.get_ident()}


def test_split_rows_keeps_a_small_batch_whole():
    index = np.arange(100, 140)
    halves = parallel.split_rows(index, 2)
    assert [len(h) for h in halves] == [20, 20]
    np.testing.assert_array_equal(np.concatenate(halves), index)
    assert [len(p) for p in parallel.split_rows(index[:31], 2)] == [31]
    assert [len(p) for p in parallel.split_rows(index[:1], 2)] == [1]
    assert [len(p) for p in parallel.split_rows(index, 1)] == [40]


def test_row_blocks_cover_the_rows_in_order(monkeypatch):
    monkeypatch.setattr(parallel, "_STEP_CELLS", 100)
    blocks = parallel.row_blocks(23, 20)  # 5 rows a block
    assert [(b.start, b.stop) for b in blocks] == [
        (0, 5),
        (5, 10),
        (10, 15),
        (15, 20),
        (20, 23),
    ]
    assert parallel.row_blocks(0, 20) == [slice(0, 0)]
    assert parallel.row_blocks(3, 1000) == [slice(0, 1), slice(1, 2), slice(2, 3)]


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_steps_in_blocks_are_the_plain_step(monkeypatch, cell, dtype):
    # advance in blocks of 3 rows against advance_rows, all rows at once
    rng = np.random.default_rng(0)
    weights = init_weights(
        rng, cell=cell, n_layers=2, hidden_size=5, n_tokens=13, dtype=np.dtype(dtype)
    )
    steps = RecurrentSteps(weights, cell, 2)
    gates = CELLS[cell].n_gates
    monkeypatch.setattr(parallel, "_STEP_CELLS", 3 * gates * 5)
    # 11 sequences in 11 different states, continued in another order
    start = steps.advance_rows(None, np.arange(1, 12), np.arange(11))
    tokens = rng.integers(0, 13, size=11)
    parents = rng.permutation(11)
    blocked = steps.advance(start, tokens, parents)
    assert len(parallel.row_blocks(11, gates * 5)) == 4
    plain = steps.advance_rows(start, tokens, parents)
    tol = (
        {"rtol": 1e-5, "atol": 1e-6}
        if dtype == np.float32
        else {"rtol": 1e-12, "atol": 1e-14}
    )
    for layer, plain_layer in zip(blocked.layers, plain.layers, strict=True):
        for s, p in zip(layer, plain_layer, strict=True):
            assert s.shape == (11, 5) and s.dtype == dtype
            np.testing.assert_allclose(s, p, **tol)
    np.testing.assert_allclose(blocked.top, plain.top, **tol)
    np.testing.assert_allclose(steps.log_probs(blocked), steps.log_probs(plain), **tol)


def test_steps_build_the_token_table_once(monkeypatch):
    """W_x0 + b0 for every token is built when the steps are made, not at
    every step or block: with 3,000 tokens that table cost more than the
    step."""
    from sklearn_charrnn.nn import network

    weights = init_weights(
        np.random.default_rng(0),
        cell="gru",
        n_layers=1,
        hidden_size=4,
        n_tokens=50,
        dtype=np.dtype(np.float64),
    )
    steps = RecurrentSteps(weights, "gru", 1)
    built = []
    monkeypatch.setattr(
        network, "token_table", lambda *args: built.append(args) or None
    )
    monkeypatch.setattr(parallel, "_STEP_CELLS", 2 * 3 * 4)  # blocks of 2 rows
    state = steps.start(5)
    steps.advance(state, np.arange(1, 6), np.arange(5))
    assert built == []


def test_limited_blas_runs_blas_on_one_thread_and_puts_it_back():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    with parallel.limited_blas() as n_threads:
        assert n_threads >= 1
        assert set(blas_threads()) <= {1}
    assert blas_threads() == before


def test_limited_blas_limits_blas_from_any_thread():
    """threadpoolctl (3.8 on) lets one thread at a time change OpenBLAS's
    threads, the first until it lets go: a call from a thread other than the
    first caller's must run BLAS on one thread all the same (else its
    products run on several, and its bits can change)."""
    before = parallel._blas_threads()
    if max(before, default=1) == 1:
        pytest.skip("BLAS runs on one thread here anyway")
    with parallel.limited_blas():  # this thread calls first
        pass
    seen = {}

    def call():
        with parallel.limited_blas():
            seen["inside"] = parallel._blas_threads()
        seen["after"] = parallel._blas_threads()

    thread = threading.Thread(target=call)
    thread.start()
    thread.join()
    assert set(seen["inside"]) == {1} and seen["after"] == before
    with parallel.limited_blas():  # and this thread again, after the other
        assert set(parallel._blas_threads()) == {1}
    assert parallel._blas_threads() == before


@pytest.mark.parametrize("change", ["limit", "restore"])
def test_ctrl_c_while_the_limit_changes_leaves_count_and_limit_whole(
    monkeypatch, change, python_sigint
):
    """Ctrl-C as the first call in sets the limit, or the last out restores
    it: the KeyboardInterrupt comes, and the count and BLAS's threads are
    as before the call (a loop of short calls stopped with Ctrl-C left BLAS
    on one thread for good, or the count above zero with the limit gone)."""
    import _thread

    before = parallel._blas_threads()
    real = parallel._as_blas_owner

    def ctrl_c_during(action):
        result = real(action)
        restoring = getattr(action, "__name__", "") == "restore_original_limits"
        if restoring == (change == "restore"):
            _thread.interrupt_main()  # as if SIGINT came now
        return result

    monkeypatch.setattr(parallel, "_as_blas_owner", ctrl_c_during)
    with pytest.raises(KeyboardInterrupt):
        with parallel.limited_blas():
            pass
    assert parallel._LIMIT["calls"] == 0 and parallel._LIMIT["limiter"] is None
    assert parallel._blas_threads() == before


def _exit_child(check):
    """End a forked child, never letting it return into the test run: exit
    0 when ``check()`` is true, else 1."""
    try:
        code = 0 if check() else 1
    except BaseException:
        code = 2
    os._exit(code)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_inside_a_call_gets_its_blas_threads_back():
    """A process forked while another thread is inside a call: the child
    runs BLAS on the threads it had before the call, not on one for good."""
    before = parallel._blas_threads()
    if max(before, default=1) == 1:
        pytest.skip("BLAS runs on one thread here anyway")
    inside, leave = threading.Event(), threading.Event()

    def call():
        with parallel.limited_blas():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=call)
    thread.start()
    inside.wait(10)
    try:
        with warnings.catch_warnings():  # Python 3.12+: forking with threads
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: exit 0 when its BLAS threads are back
            _exit_child(lambda: parallel._blas_threads() == before)
        _, status = os.waitpid(pid, 0)
    finally:
        leave.set()
        thread.join()
    assert os.waitstatus_to_exitcode(status) == 0
    assert parallel._blas_threads() == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_by_a_thread_inside_a_call_keeps_its_limit():
    """Forked from inside a call: the child is inside it too, BLAS on one
    thread, and leaving it puts the threads back (the count stays sane)."""
    before = parallel._blas_threads()
    context = parallel.limited_blas()
    context.__enter__()
    try:
        with warnings.catch_warnings():  # Python 3.12+: forking with threads
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except BaseException:
        context.__exit__(None, None, None)
        raise
    if pid == 0:

        def child():
            inside = set(parallel._blas_threads()) <= {1}
            context.__exit__(None, None, None)
            with parallel.limited_blas():
                again = set(parallel._blas_threads()) <= {1}
            calls = parallel._LIMIT["calls"]
            return inside and again and parallel._blas_threads() == before and not calls

        _exit_child(child)
    context.__exit__(None, None, None)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parallel._blas_threads() == before


def test_fit_with_a_last_batch_too_small_to_split(dinosaurs):
    """33 names in batches of 32 (LSTM 300 splits them): the last batch of
    one name is trained whole."""
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
