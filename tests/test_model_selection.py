"""Model selection: searches give the same results on 1, 2 and dask workers."""

import os

import joblib
import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    cross_val_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_charrnn import CharRNNGenerator

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Big enough that a multi-threaded BLAS splits some sums differently: without
# fit's one-thread limit, the hidden_size=64 scores of n_jobs=1 (two BLAS
# threads) and n_jobs=2 (one per worker) differ in the 9th digit. Small enough
# to take seconds.
ESTIMATOR = CharRNNGenerator(
    max_iter=2, batch_size=256, early_stopping=False, random_state=0
)
GRID = {"hidden_size": [8, 64], "cell": ["rnn", "gru"]}
DISTRIBUTIONS = {"hidden_size": [8, 64], "learning_rate_init": loguniform(1e-3, 3e-2)}
SCORE_KEYS = ("split0_test_score", "split1_test_score", "mean_test_score")


@pytest.fixture(scope="module")
def names(dinosaurs):
    return dinosaurs[::2][:600]  # folds of 300: batches of 256 names


def _grid(n_jobs):
    return GridSearchCV(ESTIMATOR, GRID, cv=2, n_jobs=n_jobs)


def _randomized(n_jobs):
    return RandomizedSearchCV(
        ESTIMATOR, DISTRIBUTIONS, n_iter=3, cv=2, random_state=0, n_jobs=n_jobs
    )


def _assert_same_search(a, b):
    for key in SCORE_KEYS:
        np.testing.assert_array_equal(a.cv_results_[key], b.cv_results_[key])
    np.testing.assert_array_equal(
        a.cv_results_["rank_test_score"], b.cv_results_["rank_test_score"]
    )
    assert a.cv_results_["params"] == b.cv_results_["params"]
    assert a.best_params_ == b.best_params_
    for name, weight in a.best_estimator_.weights_.items():
        np.testing.assert_array_equal(weight, b.best_estimator_.weights_[name])


@pytest.fixture(scope="module")
def serial_searches(names):
    return {"grid": _grid(1).fit(names), "randomized": _randomized(1).fit(names)}


@pytest.mark.parametrize("kind", ["grid", "randomized"])
def test_two_processes_give_the_same_search(serial_searches, names, kind):
    search = {"grid": _grid, "randomized": _randomized}[kind](2).fit(names)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    _assert_same_search(serial_searches[kind], search)


@pytest.fixture
def saved_environ():
    """Put os.environ back: starting dask workers leaves OMP_NUM_THREADS=1 in it."""
    saved = os.environ.copy()
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_dask_cluster_gives_the_same_search(serial_searches, names, saved_environ):
    distributed = pytest.importorskip(
        "distributed",
        reason="distributed is not installed (pip install 'sklearn-charrnn[dask]')",
    )
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        grid = _grid(-1).fit(names)
        randomized = _randomized(-1).fit(names)
    _assert_same_search(serial_searches["grid"], grid)
    _assert_same_search(serial_searches["randomized"], randomized)


def _blas_threads():
    return [
        info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
    ]


def test_fit_runs_blas_on_one_thread_then_restores_it(names):
    before = _blas_threads()
    seen = []
    model = clone(ESTIMATOR)
    model._epoch_callback = lambda info: seen.append(_blas_threads())
    model.fit(names)
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert _blas_threads() == before


def test_same_model_whatever_blas_threads_are_allowed(names):
    weights = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            weights.append(clone(ESTIMATOR).set_params(max_iter=1).fit(names).weights_)
    for name, weight in weights[0].items():
        np.testing.assert_array_equal(weight, weights[1][name])


def test_loky_workers_share_the_cores():
    """What the docs say of joblib: each of n_jobs workers gets cores // n_jobs."""
    variables = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]
    if any(v in os.environ for v in variables):
        pytest.skip("joblib passes the thread variables set here on to its workers")
    per_worker = joblib.Parallel(n_jobs=2)(
        joblib.delayed(_blas_threads)() for _ in range(2)
    )
    expected = max(1, joblib.cpu_count() // 2)
    assert all(threads == [expected] * len(threads) for threads in per_worker)


def test_cross_val_score_matches_a_manual_loop(names):
    scores = cross_val_score(ESTIMATOR, names, cv=3, n_jobs=2)
    manual = []
    for train, test in KFold(3).split(names):
        model = clone(ESTIMATOR).fit([names[i] for i in train])
        manual.append(model.score([names[i] for i in test]))
    np.testing.assert_array_equal(scores, manual)


def test_clone_copies_parameters_not_the_fit(names):
    fitted = clone(ESTIMATOR).set_params(hidden_size=8).fit(names[:40])
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "weights_") and not hasattr(copy, "training_hashes_")


def normalise(names):
    """Strip, lowercase and drop inner spaces (module level, so it pickles)."""
    return ["".join(name.split()).lower() for name in names]


def test_pipeline_normalises_before_the_generator(names):
    messy = [
        f"  {name.title()} " if i % 2 else name.upper() for i, name in enumerate(names)
    ]
    pipe = Pipeline(
        [
            ("normalise", FunctionTransformer(normalise)),
            ("generator", clone(ESTIMATOR).set_params(hidden_size=16)),
        ]
    ).fit(messy)
    generator = pipe[-1]
    assert set(generator.vocabulary_) == set("".join(names))
    assert pipe.score(messy) == generator.score(names)
    np.testing.assert_array_equal(
        pipe.score_samples(messy), generator.score_samples(names)
    )
    assert all(name == name.lower() for name in generator.sample(5))
    (prefix,) = pipe[:-1].transform([" TY"])
    assert generator.complete(prefix).startswith("ty")

    search = GridSearchCV(pipe, {"generator__hidden_size": [8, 16]}, cv=2, n_jobs=2)
    search.fit(messy)
    serial = GridSearchCV(pipe, {"generator__hidden_size": [8, 16]}, cv=2).fit(messy)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert len(search.best_estimator_[-1].sample(3)) == 3


def test_blas_limit_is_shared_by_calls_in_several_threads(monkeypatch):
    """The first call to enter sets the limit, the last to leave restores it,
    whatever the order they leave in; meanwhile the thread budget reads the
    counts from before the limit. (A fake controller: OpenBLAS may ignore a
    limit set from a thread other than the main one, which is not what is
    tested here.)"""
    import threading

    from sklearn_charrnn.nn import parallel

    calls = []

    class Limiter:
        def restore_original_limits(self):
            calls.append("restore")
            Controller.num_threads = 2

    class Controller:
        num_threads = 2

        def select(self, user_api):
            return self

        def info(self):
            return [{"num_threads": Controller.num_threads}]

        def limit(self, limits, user_api):
            calls.append(("limit", limits, user_api))
            Controller.num_threads = limits
            return Limiter()

    monkeypatch.setattr(parallel, "_get_threadpool_controller", Controller)
    monkeypatch.setattr(parallel, "available_cores", lambda: 8)
    inside = threading.Barrier(2)
    first_left = threading.Event()
    seen = {}

    def first():
        with parallel.limited_blas():
            inside.wait()
        first_left.set()

    def second():
        with parallel.limited_blas():
            inside.wait()
            first_left.wait(timeout=30)
            seen["threads"] = Controller.num_threads
            seen["budget"] = parallel.thread_budget()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert calls == [("limit", 1, "blas"), "restore"]
    assert seen == {"threads": 1, "budget": 2}
    assert Controller.num_threads == 2
    assert parallel._LIMIT["calls"] == 0
