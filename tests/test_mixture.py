"""GeneratorMixture: mixed scores, EM weights, sampling from the mixture."""

import itertools
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_charrnn import CharRNNGenerator, GeneratorMixture, KneserNeyGenerator
from sklearn_charrnn._mixture import MixtureSteps, em_weights

NAMES = ["anna", "anya", "bob", "bella", "carla", "dave", "emma", "eve", "abba"]


def _small_rnn(**params):
    return CharRNNGenerator(hidden_size=8, max_iter=20, random_state=0, **params)


def _fit(mixture, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return mixture.fit(X)


@pytest.fixture(scope="module")
def mixture(dinosaurs):
    return _fit(
        GeneratorMixture(
            [("rnn", _small_rnn()), ("ngram", KneserNeyGenerator(order=3))],
            random_state=0,
        ),
        dinosaurs[:200],
    )


def _token_probs(estimator, name):
    """Probability of every token of ``name`` and its end, one step at a time."""
    steps = estimator._steps(np.float64)
    codes = [estimator.vocabulary_[c] for c in name] + [0]
    state, probs = steps.start(1), []
    for code in codes:
        probs.append(np.exp(steps.log_probs(state)[0, code]))
        state = steps.advance(state, np.array([code]))
    return np.array(probs)


def test_score_samples_is_the_log_of_the_weighted_sum_per_token(mixture):
    rnn, ngram = mixture.estimators_
    w = mixture.weights_
    for name in ["tyrannosaurus", "ab", "zzz"]:
        per_token = w[0] * _token_probs(rnn, name) + w[1] * _token_probs(ngram, name)
        expected = np.log(per_token).sum()
        assert mixture.score_samples([name])[0] == pytest.approx(expected, rel=1e-9)


def test_fixed_weights_hand_checked():
    """Two n-grams by hand: the first knows only 'a', the second only 'b'."""
    first = KneserNeyGenerator(order=2).fit(["a", "aa"])
    second = KneserNeyGenerator(order=2).fit(["b", "bb"])
    mixture = GeneratorMixture(
        [("a", first), ("b", second)], weights=[3, 1], random_state=0
    ).fit(["a", "aa", "b", "bb"])
    np.testing.assert_allclose(mixture.weights_, [0.75, 0.25])
    # each component refit on all four names: the mixture is their average
    a, b = mixture.estimators_
    for name in ["ab", "ba", "aab"]:
        expected = np.log(
            0.75 * _token_probs(a, name) + 0.25 * _token_probs(b, name)
        ).sum()
        assert mixture.score_samples([name])[0] == pytest.approx(expected)


def test_a_token_one_component_never_saw_gets_the_others_probability():
    """Components with different vocabularies mix without a crash, and every
    mixed distribution sums to one."""
    first = KneserNeyGenerator(order=2).fit(["ab", "ba"])
    second = KneserNeyGenerator(order=2).fit(["abc", "cab"])
    tokens = ["a", "b", "c"]
    from sklearn_charrnn._mixture import _token_map

    steps = MixtureSteps(
        [first._steps(), second._steps()],
        [_token_map(tokens, first), _token_map(tokens, second)],
        [0.5, 0.5],
    )
    state = steps.start(2)
    for token in [1, 3, 2]:  # a, c (unknown to the first), b
        log_probs = steps.log_probs(state)
        np.testing.assert_allclose(np.exp(log_probs).sum(axis=1), 1.0)
        assert np.isfinite(log_probs[:, token]).all()
        state = steps.advance(state, np.full(2, token))


def test_em_never_lowers_the_held_out_likelihood():
    rng = np.random.default_rng(0)
    log_probs = np.log(rng.dirichlet(np.ones(4), size=(300,)))[:, :3]  # (300, 3)
    weights, curve = em_weights(log_probs)
    assert np.all(np.diff(curve) >= -1e-12)
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()
    # the optimum: no other weights on a grid do better
    best = np.mean(np.log(np.exp(log_probs) @ weights))
    for w in itertools.product(np.linspace(0, 1, 11), repeat=2):
        if sum(w) <= 1:
            other = np.array([*w, 1 - sum(w)])
            assert np.mean(np.log(np.exp(log_probs) @ other + 1e-300)) <= best + 1e-9


def test_em_refuses_a_token_no_component_can_give():
    """A step interface may give -inf (a token that cannot come); a held-out
    token at -inf under every component made NaN weights, silently."""
    with np.errstate(divide="ignore"):
        log_probs = np.log(np.array([[0.5, 0.2], [0.1, 0.3], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"to 1 of the 3 held-out tokens .* token 2"):
        em_weights(log_probs)
    log_probs[2] = [np.log(0.1), -np.inf]  # one component can: fine
    weights, _ = em_weights(log_probs)
    assert np.isfinite(weights).all() and weights.sum() == pytest.approx(1.0)
    for bad in (np.nan, 0.5, np.inf):  # not a log-probability
        wrong = log_probs.copy()
        wrong[0, 1] = bad
        with pytest.raises(ValueError, match="Estimator 1 of the mixture gave"):
            em_weights(wrong)


def test_auto_weights_are_fitted_on_held_out_names(mixture, dinosaurs):
    assert mixture.em_curve_ is not None
    assert np.all(np.diff(mixture.em_curve_) >= -1e-12)
    assert mixture.weights_.sum() == pytest.approx(1.0)
    assert set(mixture.named_estimators_) == {"rnn", "ngram"}
    # the final components are fitted on every training name
    for estimator in mixture.estimators_:
        assert len(estimator.training_hashes_) == len(set(dinosaurs[:200]))


def test_the_mixture_beats_each_component_on_held_out_names(dinosaurs):
    train, test = dinosaurs[:1200], dinosaurs[1200:1500]
    mixture = _fit(
        GeneratorMixture(
            [("rnn", _small_rnn()), ("ngram", KneserNeyGenerator())], random_state=0
        ),
        train,
    )
    score = mixture.score(test)
    for estimator in mixture.estimators_:
        assert score > estimator.score(test)


def test_sampling_draws_from_the_mixed_distribution():
    """Frequencies of whole names against their exact mixed probabilities."""
    first = KneserNeyGenerator(order=2).fit(["a", "b", "ab"])
    second = KneserNeyGenerator(order=2).fit(["b", "bb", "ba", "a"])
    mixture = GeneratorMixture(
        [("first", first), ("second", second)], weights=[0.3, 0.7], random_state=0
    ).fit(["a", "b", "ab", "bb", "ba"])
    n = 30_000
    drawn = mixture.sample(n, max_length=30, random_state=1)
    steps = mixture._steps()
    unknown = mixture._unknown_index()
    for name in ["a", "b", "ab", "ba", "bb", "aa"]:
        # sampling never draws the unknown token: the rest share its share
        p, state = 1.0, steps.start(1)
        for code in [mixture.vocabulary_[c] for c in name] + [0]:
            probs = np.exp(steps.log_probs(state)[0])
            p *= probs[code] / (1.0 - probs[unknown])
            state = steps.advance(state, np.array([code]))
        frequency = drawn.count(name) / n
        assert frequency == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n) + 1e-3)


def test_generation_works_on_the_mixture(mixture, dinosaurs):
    assert mixture.sample(5, random_state=0) == mixture.sample(5, random_state=0)
    assert all(c.startswith("br") for c in mixture.complete("br", n_samples=4))
    pairs = mixture.complete("br", n_samples=3, most_likely=True)
    names = [name for name, _ in pairs]
    # beam search runs the network in float32, scores in float64
    np.testing.assert_allclose(
        [ll for _, ll in pairs], mixture.score_samples(names), rtol=1e-5
    )
    new = mixture.sample(20, exclude_training=True, random_state=0)
    assert len(new) == 20 and not set(new) & set(dinosaurs[:200])


def test_same_random_state_same_mixture(dinosaurs):
    def fit():
        return _fit(
            GeneratorMixture(
                [("rnn", CharRNNGenerator(hidden_size=8, max_iter=3))], random_state=3
            ),
            dinosaurs[:100],
        )

    a, b = fit(), fit()
    for name, w in a.estimators_[0].weights_.items():
        np.testing.assert_array_equal(w, b.estimators_[0].weights_[name])
    assert a.sample(10) == b.sample(10)


def test_pickle_and_nested_params(mixture):
    loaded = pickle.loads(pickle.dumps(mixture))
    np.testing.assert_array_equal(
        loaded.score_samples(NAMES), mixture.score_samples(NAMES)
    )
    params = mixture.get_params()
    assert params["rnn__hidden_size"] == 8
    other = clone(mixture).set_params(rnn__hidden_size=4)
    assert other.get_params()["rnn__hidden_size"] == 4
    assert mixture.get_params()["rnn__hidden_size"] == 8


def test_grid_search_over_a_component_parameter(dinosaurs):
    search = GridSearchCV(
        GeneratorMixture(
            [("ngram", KneserNeyGenerator(order=2)), ("ngram2", KneserNeyGenerator())],
            random_state=0,
        ),
        {"ngram__order": [2, 4]},
        cv=2,
    ).fit(dinosaurs[:300])
    assert search.best_params_["ngram__order"] in (2, 4)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"estimators": []}, "at least one"),
        (
            {"estimators": [("a", KneserNeyGenerator()), ("a", KneserNeyGenerator())]},
            "distinct names",
        ),
        ({"weights": [1.0]}, "one per estimator"),
        ({"weights": [-1.0, 2.0]}, "non-negative"),
        (
            {"weights": ["a", "b"]},
            r"2 non-negative numbers \(int or float\).*got \['a', 'b'\]",
        ),
        (
            {"weights": ["1", "2"]},
            r"2 non-negative numbers \(int or float\).*got \['1', '2'\]",
        ),
        (
            {"weights": [True, False]},
            r"2 non-negative numbers \(int or float\).*got \[True, False\]",
        ),
        (
            {"estimators": [("weights", KneserNeyGenerator())]},
            "conflict with constructor arguments: \\['weights'\\]",
        ),
        ({"estimators": [("a__b", KneserNeyGenerator())]}, "must not contain __"),
        (
            {"estimators": [KneserNeyGenerator()]},
            r"\(name, generator\) pairs with str names; got an item KneserNey",
        ),
        ({"estimators": [(1, KneserNeyGenerator())]}, "str names; got an item tuple"),
    ],
)
def test_bad_parameters_name_the_problem(params, message):
    with pytest.raises((TypeError, ValueError), match=message):
        GeneratorMixture(
            **{
                "estimators": [
                    ("a", KneserNeyGenerator()),
                    ("b", KneserNeyGenerator()),
                ],
                **params,
            }
        ).fit(NAMES)


def test_huge_fixed_weights_are_normalised_without_overflow():
    mixture = GeneratorMixture(
        [("a", KneserNeyGenerator()), ("b", KneserNeyGenerator(order=2))],
        weights=[1e308, 3e307],
    ).fit(NAMES)
    np.testing.assert_allclose(mixture.weights_, [10 / 13, 3 / 13])
    assert np.isfinite(mixture.score(NAMES))


def test_a_validation_fraction_that_leaves_nothing_is_named():
    mixture = GeneratorMixture(
        [("a", KneserNeyGenerator()), ("b", KneserNeyGenerator(order=2))],
        validation_fraction=0.999,
    )
    with pytest.raises(ValueError, match="holds out all 90 sequences, leaving none"):
        mixture.fit(NAMES * 10)


def test_labels_no_held_out_sequence_shares_give_equal_weights():
    """Every label held by one sequence: no held-out sequence's label is in
    the rest, so EM has nothing to score; the weights are equal (it raised
    from deep inside NumPy)."""
    names = [f"{a}{b}" for a in "abcde" for b in "xy"]  # 10 names, 10 labels
    mixture = GeneratorMixture(
        [("a", KneserNeyGenerator()), ("b", KneserNeyGenerator(order=2))],
        random_state=0,
    ).fit(names, list(range(10)))
    np.testing.assert_array_equal(mixture.weights_, [0.5, 0.5])
    assert np.isfinite(mixture.score_samples(names, list(range(10)))).all()


def test_a_non_generator_is_refused():
    from sklearn.linear_model import LinearRegression

    with pytest.raises(TypeError, match="no step interface"):
        GeneratorMixture([("lr", LinearRegression())]).fit(NAMES)


@parametrize_with_checks(
    [
        GeneratorMixture(
            [
                ("rnn", CharRNNGenerator(hidden_size=8, max_iter=5, random_state=0)),
                ("ngram", KneserNeyGenerator()),
            ],
            random_state=0,
        )
    ],
    expected_failed_checks=lambda estimator: {},
)
def test_sklearn_compatible_mixture(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
