"""Property-based tests: arbitrary input either fails clearly or works.

Hypothesis throws lists of arbitrary Unicode strings, 2-D token arrays and
random (sometimes invalid) hyperparameters at fit, score_samples, score,
sample, complete and save/load. Every call must either raise a ValueError or
TypeError with a message, or give a finite, consistent result:

- ``score(X) == score_samples(X).sum() / n_tokens`` (characters plus one end
  token per sequence), every log-likelihood finite and <= 0;
- samples and completions use only tokens of the vocabulary, completions
  start with their prefix, a seed gives the same draws twice;
- save/load and pickle give a model with identical scores and samples.

Models are tiny (hidden_size <= 8, max_iter <= 2) to keep this fast.
"""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sklearn_charrnn import CharRNNGenerator

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any code point, including surrogates (which str can hold but which are not
# text: the estimator refuses them with a ValueError).
any_text = st.text(st.characters(codec=None), max_size=10)
plain_text = st.text(max_size=10)
names = st.lists(st.one_of(plain_text, any_text), min_size=1, max_size=8)

valid_params = st.fixed_dictionaries(
    {
        "hidden_size": st.integers(1, 8),
        "cell": st.sampled_from(["rnn", "gru", "lstm"]),
        "n_layers": st.integers(1, 2),
        "dropout": st.sampled_from([0.0, 0.3]),
        "max_iter": st.integers(1, 2),
        "batch_size": st.integers(1, 8),
        "learning_rate_init": st.sampled_from([1e-3, 1e-2, 1.0]),
        "clip_norm": st.sampled_from([None, 1.0, 5.0]),
        "early_stopping": st.booleans(),
        "dtype": st.sampled_from(["float32", "float64"]),
        "random_state": st.integers(0, 2**31 - 1),
    }
)

# Anything a user might type, valid or not.
wild_params = st.fixed_dictionaries(
    {},
    optional={
        "hidden_size": st.one_of(st.integers(-2, 8), st.floats(), st.text()),
        "cell": st.one_of(st.sampled_from(["rnn", "gru", "lstm"]), st.text()),
        "n_layers": st.integers(-1, 2),
        "dropout": st.floats(allow_nan=True),
        "max_iter": st.integers(-1, 2),
        "batch_size": st.one_of(st.integers(-1, 4), st.none()),
        "learning_rate_init": st.floats(allow_nan=True, allow_infinity=True),
        "clip_norm": st.one_of(st.none(), st.floats(-1, 10)),
        "validation_fraction": st.floats(-1, 2),
        "tol": st.floats(allow_nan=True),
        "dtype": st.sampled_from(["float32", "float64", "float16", "int"]),
        "random_state": st.one_of(st.integers(-5, 5), st.text(max_size=3)),
    },
)

REFUSED = object()


@pytest.fixture(scope="module")
def tiny():
    model = CharRNNGenerator(hidden_size=4, max_iter=1, early_stopping=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(["abc", "bca", "cab"])


def attempt(method, *args, **kwargs):
    """Call; a ValueError or TypeError with a message counts as a clear no."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return method(*args, **kwargs)
    except (ValueError, TypeError) as error:
        assert str(error).strip(), f"{type(error).__name__} without a message"
        return REFUSED


def n_tokens(X):
    """Characters plus one end token per sequence."""
    return sum(len(s) + 1 for s in X)


def check_scores(model, X):
    scores = attempt(model.score_samples, X)
    if scores is REFUSED:
        event("scoring refused")
        assert attempt(model.score, X) is REFUSED
        return None
    event("scoring ok")
    assert scores.shape == (len(X),)
    assert np.isfinite(scores).all() and (scores <= 0).all()
    score = model.score(X)
    assert score == pytest.approx(scores.sum() / n_tokens(X), rel=1e-12)
    return scores


def check_samples(model, seed):
    draws = model.sample(4, max_length=12, random_state=seed)
    assert draws == model.sample(4, max_length=12, random_state=seed)
    vocabulary = set(model.vocabulary_)
    for draw in draws:
        assert len(draw) <= 12
        assert set(draw) <= vocabulary
    return draws


def fitted_or_none(params, X):
    model = CharRNNGenerator(**params)
    if attempt(model.fit, X) is REFUSED:
        event("fit refused")
        return None
    event("fit ok")
    assert all(np.isfinite(w).all() for w in model.weights_.values())
    assert np.isfinite(model.loss_curve_).all()
    return model


@SETTINGS
@given(params=valid_params, X=names, other=names, seed=st.integers(0, 1000))
def test_strings(params, X, other, seed):
    model = fitted_or_none(params, X)
    if model is None:
        return
    training = [s for s in X if s]
    assert set(model.vocabulary_) == set("".join(training))
    check_scores(model, X)
    check_scores(model, other)
    check_samples(model, seed)
    # complete: a known prefix continues, an unknown one is refused.
    prefix = training[0][:2]
    completion = model.complete(prefix, max_length=12, random_state=seed)
    assert completion.startswith(prefix)
    assert set(completion) <= set(model.vocabulary_)
    unknown = [s for s in other if set(s) - set(model.vocabulary_)]
    if unknown:
        assert attempt(model.complete, unknown[0]) is REFUSED


@SETTINGS
@given(params=valid_params, X=names, seed=st.integers(0, 1000))
def test_save_load_and_pickle_round_trips(tmp_path_factory, params, X, seed):
    model = fitted_or_none(params, X)
    if model is None:
        return
    path = tmp_path_factory.mktemp("prop") / "m.npz"
    model.save(path)
    copies = [CharRNNGenerator.load(path), pickle.loads(pickle.dumps(model))]
    scores = check_scores(model, X)
    draws = check_samples(model, seed)
    for copy in copies:
        assert list(copy.vocabulary_) == list(model.vocabulary_)
        if scores is not None:
            np.testing.assert_array_equal(copy.score_samples(X), scores)
        assert copy.sample(4, max_length=12, random_state=seed) == draws


token_arrays = st.one_of(
    hnp.arrays(
        dtype=st.sampled_from([np.int64, np.float64, np.bool_]),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, max_side=5),
        elements={"allow_nan": False, "allow_infinity": False},
    ),
    st.lists(st.lists(plain_text, min_size=2, max_size=2), min_size=1, max_size=5).map(
        lambda rows: np.array(rows, dtype=object)
    ),
)


@SETTINGS
@given(params=valid_params, X=token_arrays, seed=st.integers(0, 1000))
def test_token_arrays(tmp_path_factory, params, X, seed):
    model = fitted_or_none(params, X)
    if model is None:
        return
    scores = check_scores(model, X)
    assert scores is not None
    assert model.score(X) == pytest.approx(
        scores.sum() / (X.shape[0] * (X.shape[1] + 1)), rel=1e-12
    )
    vocabulary = list(model.vocabulary_)
    draws = model.sample(3, max_length=8, random_state=seed)
    for draw in draws:
        assert isinstance(draw, list) and all(t in vocabulary for t in draw)
    completion = model.complete([vocabulary[0]], max_length=8, random_state=seed)
    assert completion[0] == vocabulary[0]
    path = tmp_path_factory.mktemp("tokens") / "m.npz"
    model.save(path)
    loaded = CharRNNGenerator.load(path)
    assert list(loaded.vocabulary_) == vocabulary
    assert [type(t) for t in loaded.vocabulary_] == [type(t) for t in vocabulary]
    np.testing.assert_array_equal(loaded.score_samples(X), scores)
    assert loaded.sample(3, max_length=8, random_state=seed) == draws


@SETTINGS
@given(params=wild_params, X=names)
def test_wild_hyperparameters_fail_clearly_or_fit(params, X):
    model = fitted_or_none({"max_iter": 1, "hidden_size": 4, **params}, X)
    if model is not None:
        check_scores(model, X)


junk = st.one_of(
    st.none(),
    st.integers(),
    st.floats(),
    st.binary(max_size=4),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@SETTINGS
@given(X=st.lists(st.one_of(plain_text, junk), min_size=0, max_size=6))
def test_mixed_junk_is_refused_clearly(X):
    """A list holding anything other than str fails with a clear error."""
    assume(not all(isinstance(x, str) for x in X) or not any(X))
    model = CharRNNGenerator(hidden_size=4, max_iter=1, early_stopping=False)
    assert attempt(model.fit, X) is REFUSED


@SETTINGS
@given(
    n_samples=st.one_of(st.integers(-2, 3), st.floats(), st.text(max_size=2)),
    temperature=st.one_of(st.floats(allow_nan=True), st.integers(-1, 2)),
    max_length=st.one_of(st.none(), st.integers(-1, 5), st.floats()),
)
def test_sample_arguments_fail_clearly_or_work(
    tiny, n_samples, temperature, max_length
):
    model = tiny
    draws = attempt(
        model.sample,
        n_samples,
        temperature=temperature,
        max_length=max_length,
        random_state=0,
    )
    if draws is not REFUSED:
        assert len(draws) == n_samples
        assert all(set(d) <= set(model.vocabulary_) for d in draws)
