"""Hard edges: divergence, interrupted fits and unusual strings.

Each behaviour tested here is listed in docs/robustness.rst.
"""

import copy
import os
import signal
import subprocess
import sys
import unicodedata
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import sklearn_charrnn._training as training_module
from sklearn_charrnn import CharRNNGenerator

SMALL = dict(hidden_size=8, max_iter=2, early_stopping=False, random_state=0)


def fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return CharRNNGenerator(**{**SMALL, **params}).fit(X)


def assert_usable(model, X):
    """Finite weights, finite scores, samples drawn from the vocabulary."""
    assert all(np.isfinite(w).all() for w in model.weights_.values())
    scores = model.score_samples(X)
    assert np.isfinite(scores).all() and (scores < 0).all()
    for name in model.sample(5, max_length=30, random_state=0):
        assert set(name) <= set(model.vocabulary_)


# ------------------------------------------------------------ divergence


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_divergence_raises_and_keeps_last_finite_weights(dinosaurs, cell):
    X = dinosaurs[:200]
    model = CharRNNGenerator(
        hidden_size=8,
        cell=cell,
        max_iter=5,
        early_stopping=False,
        learning_rate_init=1e6,
        clip_norm=None,
        dtype="float32",
        random_state=0,
    )
    with pytest.raises(ValueError, match="diverged.*learning_rate_init"):
        model.fit(X)
    assert model.n_iter_ < 5
    assert len(model.loss_curve_) == model.n_iter_
    assert all(np.isfinite(loss) for loss in model.loss_curve_)
    assert_usable(model, X[:20])


def test_a_finite_but_exploding_loss_is_divergence():
    """On three names a learning rate of 1e6 without clipping sends the loss
    to about 1e18 nats per token without ever overflowing: that is no model
    either, and fit says so instead of warning that it did not converge."""
    model = CharRNNGenerator(
        hidden_size=16,
        cell="rnn",
        max_iter=5,
        early_stopping=False,
        learning_rate_init=1e6,
        clip_norm=None,
        random_state=0,
    )
    with pytest.raises(
        ValueError, match=r"the loss of a batch reached .* more than 100 times"
    ):
        model.fit(["abba", "bab", "ab"])
    assert model.n_iter_ < 5 and all(np.isfinite(model.loss_curve_))
    assert_usable(model, ["abba"])


@pytest.fixture(scope="module")
def confident():
    """An LSTM sure that every name is 'ab' (100 epochs at a high rate)."""
    model = CharRNNGenerator(
        hidden_size=32,
        cell="lstm",
        max_iter=100,
        learning_rate_init=0.1,
        batch_size=4,
        early_stopping=False,
        tol=0,
        n_iter_no_change=1000,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(["ab"] * 20)
    return model


@pytest.mark.parametrize("old", [0, 20])
@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_new_data_far_from_the_model_is_not_divergence(confident, how, old):
    """A confident model trained further on new names has a loss far above
    log V on them, before any step of the call, after a batch of names it
    knows or not: no sign of divergence, and the model must learn them."""
    model = copy.deepcopy(confident)
    new = ["bbbbbbbbbbbb"] * 4
    assert -model.score(new) > 5 * np.log(4)  # far above knowing nothing (16 here)
    model.set_params(learning_rate_init=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if how == "partial_fit":
            model.partial_fit(["ab"] * old + new)
        else:  # still far from them after 3 epochs: it says so, no more
            with pytest.warns(UserWarning, match="worse than knowing nothing"):
                model.set_params(warm_start=True, max_iter=3).fit(["ab"] * old + new)
    assert max(model.loss_curve_[-3:]) > np.log(4)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_model_far_worse_than_knowing_nothing_is_not_kept_silently(
    confident, early_stopping
):
    """A model that ends a fit predicting its names far worse than knowing
    nothing (twice log V = 2.77 nats per token) warns, on its training loss
    or, with early stopping, its validation loss: here a confident model
    warm-started for one slow epoch on names far from what it knew (as a
    learning rate of 10 left one at 60 nats per token, but so chaotically
    that the case depends on the BLAS kernel's rounding)."""
    model = copy.deepcopy(confident)
    model.set_params(
        warm_start=True,
        early_stopping=early_stopping,
        max_iter=1,
        learning_rate_init=1e-4,
    )
    what = "validation" if early_stopping else "training"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match=rf"{what} loss, .* than twice the 1.39"):
            model.fit(["bbbbbbbbbbbb"] * 20)


def test_divergence_puts_back_the_optimizer_state_too(dinosaurs):
    """A warm-started fit that diverges leaves weights, AdamW's moments and
    step counts as they were, so the next fit continues from a sane state."""
    X = dinosaurs[:100]
    model = CharRNNGenerator(**{**SMALL, "max_iter": 2, "warm_start": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    # the state at the end of every finished epoch, the last one kept
    finished = []

    def remember(info):
        weights = {name: w.copy() for name, w in model.weights_.items()}
        finished.append((training_module._Snapshot(model), weights))

    remember(None)
    model._epoch_callback = remember
    model.set_params(learning_rate_init=1e6, clip_norm=None, max_iter=5)
    with pytest.raises(ValueError, match="diverged"):
        model.fit(X)
    before, weights = finished[-1]
    after = training_module._Snapshot(model)
    assert (after.t, after.t_) == (before.t, before.t_) != (0, 0)
    for key in ("m", "v"):
        for name, moment in getattr(before, key).items():
            np.testing.assert_array_equal(getattr(after, key)[name], moment)
            assert np.isfinite(getattr(after, key)[name]).all()
    for name, w in weights.items():
        np.testing.assert_array_equal(model.weights_[name], w)
    model._epoch_callback = None
    model.set_params(learning_rate_init=1e-2, clip_norm=5.0, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    assert all(np.isfinite(w).all() for w in model.weights_.values())


def test_fit_after_divergence_with_sane_learning_rate(dinosaurs):
    X = dinosaurs[:100]
    model = CharRNNGenerator(
        **{**SMALL, "learning_rate_init": 1e6, "clip_norm": None, "max_iter": 5}
    )
    with pytest.raises(ValueError, match="diverged"):
        model.fit(X)
    model.set_params(learning_rate_init=1e-2, clip_norm=5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    assert model.n_iter_ == 5
    assert_usable(model, X[:20])


# ------------------------------------------------------------ interrupts


def interrupt_on_call(monkeypatch, n):
    """Make the n-th batch_loss_and_gradients call raise KeyboardInterrupt."""
    real = training_module.batch_loss_and_gradients
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(training_module, "batch_loss_and_gradients", interrupted)
    return calls


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("n", [1, 2, 9])
def test_keyboard_interrupt_keeps_a_usable_model(
    dinosaurs, monkeypatch, tmp_path, n, early_stopping
):
    """Interrupting fit (even in its first batch) warns and keeps the model."""
    X = dinosaurs[:200]
    calls = interrupt_on_call(monkeypatch, n)
    model = CharRNNGenerator(
        hidden_size=8,
        max_iter=5,
        batch_size=64,
        early_stopping=early_stopping,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert model.fit(X) is model
    messages = [str(w.message) for w in caught]
    assert any("interrupted" in m for m in messages), messages
    assert not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert len(calls) == n
    assert model.t_ == n - 1
    n_train = len(X) - (len(X) // 10 if early_stopping else 0)
    batches_per_epoch = -(-n_train // 64)
    assert model.n_iter_ == (n - 1) // batches_per_epoch
    assert len(model.loss_curve_) == model.n_iter_
    assert_usable(model, X[:20])
    # A model stopped by the user saves and loads like any other.
    model.save(tmp_path / "m.npz")
    loaded = CharRNNGenerator.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))


def test_interrupted_partial_fit_keeps_the_model(dinosaurs, monkeypatch):
    X = dinosaurs[:100]
    model = fit(X)
    before = model.score_samples(X)
    interrupt_on_call(monkeypatch, 1)
    with pytest.warns(UserWarning, match="interrupted"):
        model.partial_fit(X)
    np.testing.assert_array_equal(model.score_samples(X), before)


def test_interrupt_in_the_epoch_report_keeps_the_epoch_scored(dinosaurs, monkeypatch):
    """Ctrl-C as an epoch is reported (the command line's hook raises it
    there to stop a mixture): the score recorded is the best one, and the
    weights kept are the ones it scored."""
    X = dinosaurs[:200]
    model = CharRNNGenerator(**{**SMALL, "max_iter": 5, "early_stopping": True})
    weights = remember_scored_weights(monkeypatch)

    def interrupt(info):
        raise KeyboardInterrupt

    model._epoch_callback = interrupt
    with pytest.warns(UserWarning, match="interrupted"):
        model.fit(X)
    assert model.n_iter_ == 1 and len(weights) == 1
    assert len(model.validation_scores_) == 1
    assert model.best_validation_score_ == model.validation_scores_[0] > -np.inf
    for name, w in weights[0].items():
        np.testing.assert_array_equal(model.weights_[name], w)


def remember_scored_weights(monkeypatch, interrupt_after=None):
    """Record the weights every validation scores; raise KeyboardInterrupt
    in the validation after ``interrupt_after`` of them."""
    real = CharRNNGenerator._mean_log_likelihood
    weights = []

    def scored(self, codes, lengths, rows, kept, *args):
        if len(weights) == interrupt_after:
            raise KeyboardInterrupt
        weights.append({name: w.copy() for name, w in kept.items()})
        return real(self, codes, lengths, rows, kept, *args)

    monkeypatch.setattr(CharRNNGenerator, "_mean_log_likelihood", scored)
    return weights


def test_interrupt_while_validating_keeps_the_best_epoch(dinosaurs, monkeypatch):
    """Ctrl-C while the second epoch is scored: that epoch is not counted
    (an epoch's records come all at once: loss, score, count), and early
    stopping keeps the first epoch's weights, its best."""
    X = dinosaurs[:200]
    model = CharRNNGenerator(**{**SMALL, "max_iter": 5, "early_stopping": True})
    weights = remember_scored_weights(monkeypatch, interrupt_after=1)
    with pytest.warns(UserWarning, match="interrupted"):
        model.fit(X)
    assert model.n_iter_ == len(model.loss_curve_) == len(model.validation_scores_)
    assert model.n_iter_ == 1
    assert model.best_validation_score_ == model.validation_scores_[0]
    for name, w in weights[0].items():
        np.testing.assert_array_equal(model.weights_[name], w)


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_ctrl_c_held_back_reaches_the_default_action():
    """SIGINT at its default action (a process started so): a Ctrl-C held
    back during a step ends the process once the step is done, instead of
    being dropped."""
    code = (
        "import signal\n"
        "from sklearn_charrnn._signals import held_interrupts\n"
        "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
        "with held_interrupts():\n"
        "    signal.raise_signal(signal.SIGINT)\n"
        "    print('step done', flush=True)\n"
        "print('went on', flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.stdout == "step done\n"
    assert done.returncode == -signal.SIGINT


def test_held_interrupts_leaves_alone_a_handler_python_did_not_set(monkeypatch):
    """An embedding program that handles SIGINT itself: Python reports no
    handler (None), which cannot be put back; the block just runs."""
    from sklearn_charrnn import _signals

    def refuse(*args):
        raise AssertionError("SIGINT's handler was changed")

    monkeypatch.setattr(_signals.signal, "getsignal", lambda signum: None)
    monkeypatch.setattr(_signals.signal, "signal", refuse)
    ran = []
    with _signals.held_interrupts():
        ran.append(True)
    assert ran == [True]


# ------------------------------------------------------- refused fits


def _generators():
    from sklearn_charrnn import GeneratorMixture, KneserNeyGenerator

    rnn = CharRNNGenerator(**SMALL)
    mixture = GeneratorMixture([("rnn", clone(rnn)), ("ngram", KneserNeyGenerator())])
    return {"rnn": rnn, "ngram": KneserNeyGenerator(), "mixture": mixture}


def _state(model):
    """What a model would answer: its labels, counts, scores and samples."""
    return (
        list(getattr(model, "classes_", [])),
        list(getattr(model, "class_count_", [])),
        getattr(model, "n_features_in_", None),
        model.score_samples(["anna", "bob"], y=["x", "y"]).tolist(),
        model.sample(3, y="x", random_state=0),
    )


@pytest.mark.parametrize("kind", ["rnn", "ngram", "mixture"])
def test_a_refused_fit_leaves_the_fitted_model_as_it_was(kind):
    """A fit refused for its data (a missing label, an empty name list) on
    a fitted model: the model answers as before, not half refitted (it had
    lost its labels but kept its labelled network)."""
    X, y = ["anna", "bob", "ada", "boris"] * 5, ["x", "y", "x", "y"] * 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = _generators()[kind].fit(X, y)
    before = _state(model)
    with pytest.raises(ValueError, match="label"):
        model.fit(["ok", "no"], ["a", None])
    with pytest.raises(ValueError):
        model.fit([], [])
    assert _state(model) == before


@pytest.mark.parametrize("kind", ["rnn", "ngram"])
def test_a_refused_partial_fit_changes_no_count(kind):
    """partial_fit refused for a character it has not seen: the label counts
    (which weigh the labels when scoring without y) are as before."""
    X, y = ["anna", "bob", "ada", "boris"] * 5, ["x", "y", "x", "y"] * 5
    model = _generators()[kind].partial_fit(X, y)
    before = _state(model)
    for _ in range(3):
        with pytest.raises(ValueError, match="was not seen"):
            model.partial_fit(["qqq"] * 20, ["x"] * 20)
    assert _state(model) == before
    np.testing.assert_array_equal(model.class_count_, [10, 10])


def test_a_components_error_names_it_in_the_mixture():
    """And says how to set its parameters: as rnn__<parameter> when the
    components were given, by giving them when they are the defaults
    (estimators=None has no nested parameters)."""
    from sklearn_charrnn import GeneratorMixture, KneserNeyGenerator

    with pytest.raises(ValueError, match="early_stopping needs at least 2") as info:
        GeneratorMixture().fit(["ab"])
    assert str(info.value).startswith(
        "Estimator 'rnn' of the mixture (a default component: pass "
        "estimators=[...] to set its parameters)"
    )
    assert str(info.value).endswith("(The mixture is as it was before this fit.)")
    given = GeneratorMixture(
        [("rnn", CharRNNGenerator(hidden_size=4)), ("ngram", KneserNeyGenerator())]
    )
    with pytest.raises(ValueError, match="early_stopping needs at least 2") as info:
        given.fit(["ab"])
    assert str(info.value).startswith(
        "Estimator 'rnn' of the mixture (set its parameters as rnn__<parameter>)"
    )
    given.set_params(rnn__early_stopping=False, rnn__max_iter=1)
    with pytest.warns(UserWarning):  # ConvergenceWarning at max_iter=1
        given.fit(["ab"])


def test_an_error_in_the_held_out_fit_says_what_it_was_fitted_on():
    """weights="auto" first fits the components on the sequences it does not
    hold out: an error counting sequences then counts those, and says so."""
    from sklearn_charrnn import CharRNNClassifier

    X = ["anna", "emma", "bella", "tanaka", "sato", "suzuki"] * 4
    y = ["en"] * 3 + ["ja"] * 3
    model = CharRNNClassifier(hidden_size=4, max_iter=1, validation_fraction=0.99)
    with pytest.raises(ValueError, match="holds out all 21 sequences") as info:
        model.fit(X, y * 4)
    assert str(info.value).endswith(
        "(This fit was on 21 of the 24 sequences: the mixture holds the others "
        "out to weigh its estimators.)"
    )


# ------------------------------------------------------ unusual strings


def test_very_long_string():
    long = "abcdefghij" * 500  # 5,000 characters
    model = fit([long, "abc"], hidden_size=4, max_iter=1)
    assert model.max_length_ == len(long)
    assert_usable(model, [long, long * 2, "a"])
    # The default max_length follows the longest training string.
    assert len(model.sample(1, max_length=100, random_state=0)[0]) <= 100


def test_single_name():
    with pytest.raises(ValueError, match="early_stopping needs at least 2"):
        CharRNNGenerator(hidden_size=8, max_iter=1).fit(["rex"])
    model = fit(["rex"])
    assert list(model.vocabulary_) == ["e", "r", "x"]
    assert_usable(model, ["rex", "xer", "q"])


def test_validation_fraction_that_holds_out_everything(dinosaurs):
    model = CharRNNGenerator(hidden_size=8, max_iter=1, validation_fraction=0.999)
    with pytest.raises(
        ValueError, match=r"validation_fraction=0.999 holds out all 100"
    ):
        model.fit(dinosaurs[:100])


def test_duplicates_count_as_repeated_evidence():
    """Duplicate names are kept: they weigh more, as repeated samples do."""
    params = dict(max_iter=40, learning_rate_init=1e-2, dropout=0.0)
    more_ab = fit(["abab"] * 9 + ["cdcd"], **params)
    more_cd = fit(["abab"] + ["cdcd"] * 9, **params)
    ab, cd = more_ab.score_samples(["abab", "cdcd"])
    assert ab > cd
    ab, cd = more_cd.score_samples(["abab", "cdcd"])
    assert cd > ab


UNICODE = [
    "zoë",  # Latin-1 accent
    "Ångström",
    "東京",  # CJK
    "さくら",
    "🦖rex🦕",  # emoji outside the Basic Multilingual Plane
    "👩\u200d🔬",  # emoji joined by a zero-width joiner
    "e\u0301",  # e + combining acute accent (NFD)
    "Σίσυφος",
]


def test_unicode_characters_are_code_points(tmp_path):
    model = fit(UNICODE)
    code_points = set("".join(UNICODE))
    assert set(model.vocabulary_) == code_points
    assert list(model.vocabulary_) == sorted(code_points)
    assert "\u200d" in model.vocabulary_ and "\u0301" in model.vocabulary_
    assert_usable(model, UNICODE)
    model.save(tmp_path / "m.npz")
    loaded = CharRNNGenerator.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(
        loaded.score_samples(UNICODE), model.score_samples(UNICODE)
    )
    assert loaded.complete("東", random_state=0).startswith("東")


def test_no_unicode_normalisation():
    """NFC "é" and NFD "e" + accent are different sequences."""
    nfc = unicodedata.normalize("NFC", "café")
    nfd = unicodedata.normalize("NFD", "café")
    model = fit([nfc, "cafe"])
    assert "\u0301" not in model.vocabulary_
    nfc_score, nfd_score = model.score_samples([nfc, nfd])
    assert np.isfinite(nfd_score) and nfd_score != nfc_score


def test_whitespace_only_strings_are_real_sequences():
    X = [" ", "   ", "\t", " \n "]
    model = fit(X)
    assert list(model.vocabulary_) == ["\t", "\n", " "]
    assert_usable(model, X + ["  "])
    scores = model.score_samples([" ", "  ", "   "])
    assert len(set(scores.tolist())) == 3


def test_empty_string_scores_only_the_end_token():
    model = fit(["ab", "ba"])
    score = model.score_samples([""])[0]
    assert np.isfinite(score) and score < 0
    assert model.score([""]) == score  # one token: the end token


def test_nul_and_control_characters_are_ordinary():
    X = ["a\x00b", "\x1b[0m"]
    model = fit(X)
    assert {"\x00", "\x1b"} <= set(model.vocabulary_)
    assert_usable(model, X)


@pytest.mark.parametrize(
    "X, error, match",
    [
        (["ab", b"cd"], TypeError, r"X\[1\] is bytes"),
        ([b"ab"], TypeError, r"X\[0\] is bytes"),
        (b"ab", TypeError, "single bytes"),
        ([bytearray(b"ab")], TypeError, "must be a str"),
        (np.array([[b"a", b"b"]]), TypeError, "bytes"),
        (np.array([b"ab", b"cd"]), TypeError, r"X\[0\] is bytes.*decode"),
        (np.array(["ab", b"cd"], dtype=object), TypeError, r"X\[1\] is bytes"),
    ],
    ids=["mixed", "bytes", "bytes-X", "bytearray", "bytes-2d", "bytes-1d", "mixed-1d"],
)
def test_bytes_are_refused(X, error, match):
    with pytest.raises(error, match=match):
        CharRNNGenerator(**SMALL).fit(X)
    model = fit(["ab", "cd"])
    with pytest.raises(error, match=match):
        model.score_samples(X)


def test_lone_surrogate_is_a_value_error():
    """A str holding half a UTF-16 surrogate pair is not valid text."""
    with pytest.raises(ValueError, match="surrogates not allowed"):
        CharRNNGenerator(**SMALL).fit(["ab\ud800"])
    model = fit(["ab"])
    with pytest.raises(ValueError, match="surrogates not allowed"):
        model.score_samples(["\udfff"])


def test_str_subclasses_and_numpy_str():
    model = fit([np.str_("ab"), type("Name", (str,), {})("ba")])
    assert list(model.vocabulary_) == ["a", "b"]
    assert all(type(s) is str for s in model.sample(3, random_state=0))


def test_unseen_characters_score_finite():
    model = fit(["abc", "cab"])
    scores = model.score_samples(["abc", "xyz", "a€c"])
    assert np.isfinite(scores).all()
    assert scores[0] > scores[1]
    with pytest.raises(ValueError, match="not seen in fit"):
        model.complete("x")


def test_warnings_point_at_the_line_that_called_the_estimator():
    """Not at a line inside the package: the user sees their own call."""
    model = CharRNNGenerator(**{**SMALL, "max_iter": 1})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(["ab", "cd", ""])  # skips the empty string, stops at max_iter
        model.partial_fit(["ab", "", "cd"])
    categories = {w.category for w in caught}
    assert {UserWarning, ConvergenceWarning} <= categories
    assert all(w.filename == __file__ for w in caught), [
        (w.filename, w.lineno) for w in caught
    ]


# ------------------------------------------- parameters changed after fit


@pytest.mark.parametrize(
    "name, value",
    [("cell", "gru"), ("n_layers", 2), ("hidden_size", 16), ("dtype", "float64")],
)
def test_parameters_changed_after_fit(name, value):
    """Inference keeps the fitted network; continuing training refuses, naming
    the parameter."""
    X = ["anna", "bob", "carla", "dave"] * 5
    model = CharRNNGenerator(
        hidden_size=8, cell="lstm", max_iter=2, early_stopping=False, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    before = model.score_samples(X)
    samples = model.sample(5, random_state=0)
    model.set_params(**{name: value})
    np.testing.assert_array_equal(model.score_samples(X), before)
    assert model.sample(5, random_state=0) == samples
    with pytest.raises(ValueError, match=f"{name}=.*set after fit"):
        model.partial_fit(X)
    with pytest.raises(ValueError, match=f"{name}=.*set after fit"):
        model.set_params(warm_start=True).fit(X)


@pytest.mark.parametrize("hidden_size", [10**5, 10**12])
def test_a_network_too_big_for_memory_is_refused_before_allocating(hidden_size):
    with pytest.raises(ValueError, match=f"hidden_size={hidden_size}.*GiB"):
        CharRNNGenerator(hidden_size=hidden_size).fit(["ab", "cd"])


@pytest.mark.parametrize(
    "call",
    [
        lambda model: model.sample(10**10),
        lambda model: model.sample(5, max_length=10**13),
        # what counts is every prefix's completions together
        lambda model: model.complete(["a"] * 10**5, n_samples=10**5),
    ],
)
def test_absurd_generation_sizes_are_refused_before_allocating(call):
    model = CharRNNGenerator(hidden_size=4, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(["ab", "cd", "abc"])
    with pytest.raises(ValueError, match=r"need .* GiB for their tokens alone"):
        call(model)


def test_generation_sizes_are_bounded_by_the_machines_memory(monkeypatch):
    """A call whose output would take more than half the memory is refused
    (the fixed bound alone let 16 GiB through)."""
    from sklearn_charrnn import _generator

    model = CharRNNGenerator(hidden_size=4, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(["ab", "cd", "abc"])
    monkeypatch.setattr(_generator, "physical_memory", lambda: 2**20)  # 1 MiB
    with pytest.raises(ValueError, match=r"half this machine.s 0.0 GiB"):
        model.sample(10**5, max_length=10)
    assert len(model.sample(100, max_length=10)) == 100


def test_sampling_memory_grows_linearly_with_the_vocabulary():
    """5,730 distinct characters (CJK names): sampling 5 names keeps a few
    (rows x vocabulary) arrays, never a (vocabulary x vocabulary) one."""
    import tracemalloc

    chars = [chr(0x4E00 + i) for i in range(5730)]
    names = ["".join(chars[i : i + 3]) for i in range(0, 5730, 3)]
    model = CharRNNGenerator(
        hidden_size=8, max_iter=1, early_stopping=False, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(names)
    tracemalloc.start()
    model.sample(5, random_state=0)
    model.score_samples(names[:5])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    V = len(model.vocabulary_) + 2
    assert peak < 64 * 8 * V * 8  # a few arrays of 64 rows, far below V * V
