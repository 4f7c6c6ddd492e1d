"""Behaviour of CharRNNGenerator as a scikit-learn estimator."""

import pickle
import warnings
from unittest import mock

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_estimator

import sklearn_charrnn.nn.network
from sklearn_charrnn import CharRNNGenerator

NAMES = ["anna", "bob", "carla", "dave", "emma", "anya", "bella", "abel", "cara"]


def _small(**params):
    """A fast model: few units, few epochs."""
    defaults = dict(hidden_size=16, max_iter=3, early_stopping=False, random_state=0)
    defaults.update(params)
    return CharRNNGenerator(**defaults)


def _fit(gen, X):
    """Fit without the expected ConvergenceWarning of a tiny budget."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gen.fit(X)


@pytest.fixture(scope="module")
def fitted():
    return _fit(_small(), NAMES)


@pytest.fixture(scope="module")
def dino_split(dinosaurs):
    """A fixed 90/10 split of the dinosaur names."""
    order = np.random.RandomState(42).permutation(len(dinosaurs))
    n_train = int(0.9 * len(dinosaurs))
    train = [dinosaurs[i] for i in order[:n_train]]
    test = [dinosaurs[i] for i in order[n_train:]]
    return train, test


# ------------------------------------------------------------ scikit-learn API


def test_check_estimator_with_default_parameters():
    # Default parameters, every check run: none may fail or be skipped (the
    # array-API check needs SCIPY_ARRAY_API=1, set in the root conftest).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(CharRNNGenerator(), on_fail=None, on_skip=None)
    status = {r["check_name"]: r["status"] for r in results}
    not_passed = {name: s for name, s in status.items() if s != "passed"}
    assert not_passed == {}
    assert sum(s == "passed" for s in status.values()) >= 40
    assert "check_array_api_input" in status


def test_get_params_set_params_clone():
    gen = CharRNNGenerator(hidden_size=32, cell="gru", random_state=3)
    params = gen.get_params()
    assert params["hidden_size"] == 32
    assert params["cell"] == "gru"
    assert params["random_state"] == 3
    assert gen.set_params(n_layers=2, dropout=0.0) is gen
    assert gen.n_layers == 2 and gen.dropout == 0.0
    copy = clone(gen)
    assert copy is not gen
    assert copy.get_params() == gen.get_params()


def test_clone_of_fitted_is_unfitted(fitted):
    copy = clone(fitted)
    assert not hasattr(copy, "weights_")
    with pytest.raises(NotFittedError):
        copy.sample(1)


@pytest.mark.parametrize(
    "method, args",
    [
        ("score", (NAMES,)),
        ("score_samples", (NAMES,)),
        ("sample", (3,)),
        ("complete", ("an",)),
    ],
)
def test_not_fitted_error(method, args):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(CharRNNGenerator(), method)(*args)


# -------------------------------------------------------------------- scoring


def test_score_is_total_log_likelihood_per_token(fitted):
    X = ["anna", "bob", "carlab", "e"]
    total_tokens = sum(len(x) for x in X) + len(X)
    log_likelihood = fitted.score_samples(X)
    assert log_likelihood.shape == (4,)
    assert np.all(log_likelihood < 0)
    assert fitted.score(X) == pytest.approx(
        log_likelihood.sum() / total_tokens, rel=1e-12
    )


def test_score_samples_does_not_depend_on_batch(fitted):
    X = ["anna", "bob", "carla", "dave"]
    together = fitted.score_samples(X)
    alone = np.array([fitted.score_samples([x])[0] for x in X])
    np.testing.assert_allclose(together, alone, rtol=1e-5)


def test_learning_beats_uniform_by_a_wide_margin(dino_split):
    train, test = dino_split
    n_distinct = len(set("".join(train + test)))
    uniform = -np.log(n_distinct + 1)  # characters + end token, all equal
    # Default parameters except max_iter, which keeps the fit short.
    gen = _fit(CharRNNGenerator(max_iter=10, random_state=0), train)
    assert gen.score(test) > uniform + 1.0
    # Training loss went down, and held-out scoring was tracked.
    assert gen.loss_curve_[-1] < gen.loss_curve_[0]
    assert gen.best_validation_score_ == max(gen.validation_scores_)


# ------------------------------------------------------------ reproducibility


def test_same_random_state_gives_same_weights_and_samples():
    first = _fit(_small(dropout=0.2, random_state=7), NAMES)
    second = _fit(_small(dropout=0.2, random_state=7), NAMES)
    assert first.weights_.keys() == second.weights_.keys()
    for name in first.weights_:
        np.testing.assert_array_equal(first.weights_[name], second.weights_[name])
    assert first.sample(8) == second.sample(8)
    assert first.sample(8) == first.sample(8)
    assert first.complete(["an", "b"]) == second.complete(["an", "b"])


def test_different_random_state_gives_different_weights():
    first = _fit(_small(random_state=1), NAMES)
    second = _fit(_small(random_state=2), NAMES)
    assert not np.array_equal(first.weights_["W_y"], second.weights_["W_y"])


def _assert_same_model(original, loaded):
    np.testing.assert_array_equal(
        original.score_samples(NAMES), loaded.score_samples(NAMES)
    )
    assert original.sample(6, random_state=3) == loaded.sample(6, random_state=3)
    assert original.sample(6) == loaded.sample(6)
    assert original.vocabulary_ == loaded.vocabulary_


def test_pickle_round_trip(fitted):
    loaded = pickle.loads(pickle.dumps(fitted))
    _assert_same_model(fitted, loaded)


def test_joblib_round_trip(fitted, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    _assert_same_model(fitted, loaded)


def test_round_trip_keeps_training_state(tmp_path):
    gen = _fit(_small(warm_start=True), NAMES)
    path = tmp_path / "model.joblib"
    joblib.dump(gen, path)
    loaded = joblib.load(path)
    _fit(gen, NAMES)
    _fit(loaded, NAMES)
    for name in gen.weights_:
        np.testing.assert_array_equal(gen.weights_[name], loaded.weights_[name])


# ------------------------------------------------------ model selection, pipes


def test_grid_search_best_params_is_argmax(dinosaurs):
    names = dinosaurs[:150]
    grid = {"hidden_size": [8, 24], "learning_rate_init": [1e-3, 1e-2]}
    search = GridSearchCV(_small(max_iter=2), grid, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(names)
    mean = search.cv_results_["mean_test_score"]
    assert mean.shape == (4,)
    assert np.all(np.isfinite(mean))
    assert search.best_params_ == search.cv_results_["params"][np.argmax(mean)]
    assert search.best_estimator_.hidden_size == search.best_params_["hidden_size"]


def test_grid_search_with_character_seen_in_one_fold_only(dinosaurs):
    # Names with "q" only in the last of 5 unshuffled folds: when that fold is
    # held out, its "q"s were never seen in fit.
    with_q = [name for name in dinosaurs if "q" in name][:6]
    without_q = [name for name in dinosaurs if "q" not in name][:144]
    names = without_q + with_q
    cv = KFold(5)
    folds_with_q = [
        i for i, (_, test) in enumerate(cv.split(names)) if any(j >= 144 for j in test)
    ]
    assert folds_with_q == [4]
    search = GridSearchCV(_small(max_iter=2), {"hidden_size": [8, 16]}, cv=cv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(names)
    for i in range(5):
        scores = search.cv_results_[f"split{i}_test_score"]
        assert np.all(np.isfinite(scores)), (i, scores)
        assert np.all(scores < 0)


def _lowercase(X):
    return [x.lower() for x in X]


def test_pipeline_with_function_transformer():
    pipe = make_pipeline(FunctionTransformer(_lowercase), _small())
    upper = [name.upper() for name in NAMES]
    _fit(pipe, upper)
    generator = pipe[-1]
    assert set(generator.vocabulary_) == set("".join(NAMES))
    assert pipe.score(upper) == pytest.approx(generator.score(NAMES))
    assert np.isfinite(pipe.score(["ANNA", "Bob"]))


# ----------------------------------------------------------------- generation


def test_sample_returns_strings_of_training_characters(fitted):
    samples = fitted.sample(25)
    assert isinstance(samples, list) and len(samples) == 25
    allowed = set("".join(NAMES))
    for s in samples:
        assert isinstance(s, str)
        assert set(s) <= allowed
        assert len(s) <= 2 * fitted.max_length_ + 10


def test_sample_respects_max_length(fitted):
    samples = fitted.sample(20, max_length=3, random_state=0)
    assert all(len(s) <= 3 for s in samples)


def test_sample_random_state_argument(fitted):
    assert fitted.sample(10, random_state=5) == fitted.sample(10, random_state=5)
    draws = {tuple(fitted.sample(10, random_state=seed)) for seed in range(4)}
    assert len(draws) > 1


def test_sample_runs_as_one_batch_sharing_prefixes(fitted):
    calls = []
    real = sklearn_charrnn.nn.network.RecurrentSteps.advance

    def counting(self, state, tokens, parents=None):
        if state is not None:  # not the start
            calls.append(len(tokens))
        return real(self, state, tokens, parents)

    target = "sklearn_charrnn.nn.network.RecurrentSteps.advance"
    with mock.patch(target, autospec=True, side_effect=counting):
        samples = fitted.sample(10, max_length=12, random_state=0)
    assert len(samples) == 10
    longest = max(len(s) for s in samples)
    # One network step per position after the start token, all ten sequences
    # advancing together: the last step reads no token.
    assert len(calls) == min(longest, 11)
    # Each step runs once per distinct prefix of the sequences still going.
    for t, n_rows in enumerate(calls, start=1):
        going = {s[:t] for s in samples if len(s) >= t}
        assert n_rows == len(going)


def test_complete_starts_with_prefix(fitted):
    completion = fitted.complete("ab")
    assert isinstance(completion, str)
    assert completion.startswith("ab")
    completions = fitted.complete(["ab", "c", "ann"])
    assert isinstance(completions, list) and len(completions) == 3
    for prefix, c in zip(["ab", "c", "ann"], completions, strict=True):
        assert c.startswith(prefix)
        assert set(c) <= set("".join(NAMES))


def test_complete_with_unseen_character(fitted):
    with pytest.raises(ValueError, match="holds 'z', which was not seen in fit"):
        fitted.complete("az")


# ---------------------------------------------------------------- input kinds


def test_token_mode():
    rng = np.random.default_rng(0)
    X = rng.choice([10, 20, 30, 40], size=(30, 5))
    gen = _fit(_small(), X)
    assert gen.input_kind_ == "tokens"
    assert gen.n_features_in_ == 5
    assert list(gen.vocabulary_) == [10, 20, 30, 40]
    samples = gen.sample(12)
    assert len(samples) == 12
    for s in samples:
        assert isinstance(s, list)
        assert set(s) <= {10, 20, 30, 40}
    assert gen.score_samples(X).shape == (30,)
    assert gen.complete([10, 20])[:2] == [10, 20]


def test_token_mode_with_str_tokens():
    X = np.array([["the", "big", "cat"], ["a", "big", "dog"], ["the", "dog", "ran"]])
    gen = _fit(_small(), X)
    assert set(gen.vocabulary_) == {"a", "big", "cat", "dog", "ran", "the"}
    for s in gen.sample(5):
        assert set(s) <= set(gen.vocabulary_)


def test_one_column_dataframe_is_read_as_strings(fitted):
    df = pd.DataFrame({"name": NAMES})
    gen = _fit(_small(), df)
    assert gen.input_kind_ == "str"
    assert list(gen.feature_names_in_) == ["name"]
    assert gen.vocabulary_ == fitted.vocabulary_
    for name in gen.weights_:
        np.testing.assert_array_equal(gen.weights_[name], fitted.weights_[name])
    assert all(isinstance(s, str) for s in gen.sample(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no feature-name mismatch warning
        assert gen.score(df) == pytest.approx(fitted.score(NAMES), rel=1e-12)
        assert gen.score(pd.Series(NAMES)) == pytest.approx(fitted.score(NAMES))


def test_other_iterables_of_str(fitted):
    expected = fitted.score_samples(NAMES)
    for X in [tuple(NAMES), np.array(NAMES), pd.Series(NAMES), iter(NAMES)]:
        np.testing.assert_array_equal(fitted.score_samples(X), expected)


# ------------------------------------------------------------- training loop


def test_loss_curve_has_one_entry_per_epoch():
    gen = _fit(_small(max_iter=4), NAMES)
    assert gen.n_iter_ == 4
    assert len(gen.loss_curve_) == gen.n_iter_
    assert all(np.isfinite(gen.loss_curve_))
    assert gen.best_loss_ == min(gen.loss_curve_)
    assert gen.t_ == gen._optimizer.t > 0


def test_max_iter_bounds_training_with_convergence_warning():
    gen = _small(max_iter=3, tol=0.0, n_iter_no_change=100)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\)"):
        gen.fit(NAMES)
    assert gen.n_iter_ == 3


def test_early_stopping_stops_before_max_iter():
    # A huge tol makes every epoch count as no improvement.
    gen = _small(early_stopping=True, tol=10.0, n_iter_no_change=2, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        gen.fit(NAMES)
    # The first epoch improves on nothing seen yet; the next two do not count.
    assert gen.n_iter_ == 3
    assert len(gen.validation_scores_) == 3
    assert gen.best_validation_score_ == max(gen.validation_scores_)


def test_verbose_prints_loss_and_time_per_epoch(capsys):
    gen = _fit(_small(max_iter=3, verbose=True, early_stopping=True), NAMES)
    lines = [line for line in capsys.readouterr().out.splitlines() if "Epoch" in line]
    assert len(lines) == gen.n_iter_ == 3
    for i, line in enumerate(lines, start=1):
        assert line.startswith(f"Epoch {i}, loss = ")
        assert "validation score = " in line
        assert line.rstrip().endswith("s") and "time = " in line
        loss = float(line.split("loss = ")[1].split(",")[0])
        assert loss == pytest.approx(gen.loss_curve_[i - 1], abs=1e-4)


def test_silent_by_default(capsys):
    _fit(_small(), NAMES)
    assert capsys.readouterr().out == ""


def test_float64_dtype():
    gen = _fit(_small(dtype="float64"), NAMES)
    assert all(w.dtype == np.float64 for w in gen.weights_.values())
    assert all(np.isfinite(w).all() for w in gen.weights_.values())
    assert np.all(np.isfinite(gen.score_samples(NAMES)))
    default = _fit(_small(), NAMES)
    assert all(w.dtype == np.float32 for w in default.weights_.values())


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_cells_and_layers_fit_and_score(cell):
    gen = _fit(_small(cell=cell, n_layers=2, dropout=0.1), NAMES)
    assert {"W_x0", "W_h0", "b0", "W_x1", "W_h1", "b1", "W_y", "b_y"} == set(
        gen.weights_
    )
    assert np.isfinite(gen.score(NAMES))


def test_partial_fit_keeps_vocabulary_and_rejects_new_tokens():
    gen = _small()
    gen.partial_fit(NAMES)
    vocabulary = dict(gen.vocabulary_)
    assert gen.n_iter_ == 1
    gen.partial_fit(["anna", "bob"])  # a subset of the characters
    assert gen.vocabulary_ == vocabulary
    assert gen.n_iter_ == 2
    assert len(gen.loss_curve_) == 2
    with pytest.raises(ValueError, match="Token 'z'.*not seen"):
        gen.partial_fit(["anna", "zoe"])
    assert gen.vocabulary_ == vocabulary


def test_warm_start_continues_training():
    # Without weight averaging the kept weights are the last iterate, so the
    # second fit continues the same optimization path exactly; without
    # dropout the training loss of this one-batch data set is not noisy.
    gen = _small(
        max_iter=3, warm_start=True, shuffle=False, weight_averaging=0.0, dropout=0.0
    )
    gen = _fit(gen, NAMES)
    first_curve = list(gen.loss_curve_)
    t = gen.t_
    _fit(gen, NAMES)
    assert gen.n_iter_ == 6
    assert gen.t_ == 2 * t
    assert gen.loss_curve_[:3] == first_curve
    # Continued, not restarted: the fourth epoch is not back at the first loss.
    assert gen.loss_curve_[3] < first_curve[0]
    assert gen.loss_curve_[-1] < first_curve[-1]


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_optimizer_settings_set_after_fit_take_effect(how):
    """set_params between fits changes AdamW's settings, as it changes the
    learning rate; its moments and step count carry on."""
    settings = dict(beta_1=0.5, beta_2=0.9, epsilon=1e-3, weight_decay=0.5)
    results = []
    for new in ({}, settings):
        gen = _fit(_small(warm_start=True, weight_averaging=0.0), NAMES)
        t = gen._optimizer.t
        gen.set_params(**new)
        gen.partial_fit(NAMES) if how == "partial_fit" else _fit(gen, NAMES)
        optimizer = gen._optimizer
        assert optimizer.t > t  # continued, not restarted
        for name, value in {**settings, **new}.items():
            expected = value if new else gen.get_params()[name]
            assert getattr(optimizer, name) == expected
        results.append(gen.weights_["W_h0"].copy())
    assert not np.array_equal(*results)


def test_warm_start_with_early_stopping_switched_on():
    """A model fitted without early stopping, continued with it: its scores
    start with the continuation (it raised after training an epoch)."""
    gen = _fit(_small(), NAMES * 3)
    assert gen.validation_scores_ is None
    gen.set_params(early_stopping=True, warm_start=True)
    _fit(gen, NAMES * 3)
    assert gen.n_iter_ == 6 and len(gen.validation_scores_) == 3
    assert gen.best_validation_score_ == max(gen.validation_scores_)


def test_without_warm_start_fit_restarts():
    gen = _fit(_small(max_iter=3), NAMES)
    weights = {name: w.copy() for name, w in gen.weights_.items()}
    _fit(gen, NAMES)
    assert gen.n_iter_ == 3
    for name in weights:
        np.testing.assert_array_equal(gen.weights_[name], weights[name])
