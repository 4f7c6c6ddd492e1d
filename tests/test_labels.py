"""Conditional CharRNNGenerator (fit(X, y)) and CharRNNClassifier."""

import os
import pickle
import re
import warnings

import numpy as np
import pytest
from _tamper import edit_metadata, members_of, write_members
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_charrnn import (
    CharRNNClassifier,
    CharRNNGenerator,
    GeneratorMixture,
    KneserNeyGenerator,
    ModelFileError,
)
from sklearn_charrnn.generation import label_tag, sequence_hash

# Two labels with disjoint alphabets: a model that reads its label writes
# with that label's letters.
LOW = ["abba", "cab", "dace", "bead", "ace", "bad", "cade", "ebb", "dab", "abed"]
HIGH = ["pots", "stop", "tops", "spot", "post", "opt", "pros", "rot", "sort", "tor"]
X = LOW + HIGH
Y = ["low"] * len(LOW) + ["high"] * len(HIGH)


def _gen(**params):
    params = {
        "hidden_size": 24,
        "max_iter": 300,
        "dropout": 0.0,
        "early_stopping": False,
        "random_state": 0,
        **params,
    }
    return CharRNNGenerator(**params)


def _quiet(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


@pytest.fixture(scope="module")
def conditional():
    return _quiet(_gen().fit, X, Y)


def test_fit_with_labels_sets_classes_and_the_embedding(conditional):
    assert conditional.classes_.tolist() == ["high", "low"]
    assert conditional.class_count_.tolist() == [10.0, 10.0]
    G_H = conditional.weights_["W_x0"].shape[1]
    assert conditional.weights_["E"].shape == (2, G_H)


def test_fit_without_labels_has_no_embedding_even_after_a_labelled_fit():
    gen = _quiet(_gen(max_iter=2).fit, X, Y)
    _quiet(gen.fit, X)
    assert "E" not in gen.weights_
    assert not hasattr(gen, "classes_") and not hasattr(gen, "class_count_")
    fresh = _quiet(_gen(max_iter=2).fit, X)
    for name, w in fresh.weights_.items():
        np.testing.assert_array_equal(gen.weights_[name], w)


def test_samples_use_their_labels_letters(conditional):
    def share(label, letters):
        chars = "".join(conditional.sample(300, y=label, random_state=1))
        return sum(c in letters for c in chars) / max(len(chars), 1)

    for own, other, letters in (("low", "high", "abcde"), ("high", "low", "oprst")):
        assert share(own, letters) > 0.75
        assert share(own, letters) > share(other, letters) + 0.5


def test_scores_prefer_the_right_label(conditional):
    low = conditional.score_samples(LOW, y="low")
    as_high = conditional.score_samples(LOW, y="high")
    assert (low > as_high).all()
    mixed = conditional.score_samples(X, y=Y)
    np.testing.assert_allclose(mixed[:10], low, rtol=1e-9)


def test_score_without_labels_is_the_mixture_over_labels(conditional):
    by_class = np.column_stack(
        [conditional.score_samples(X, y=c) for c in conditional.classes_]
    )
    prior = conditional.class_count_ / conditional.class_count_.sum()
    expected = logsumexp(by_class + np.log(prior), axis=1)
    np.testing.assert_allclose(conditional.score_samples(X), expected, rtol=1e-9)
    n_tokens = sum(len(x) + 1 for x in X)
    assert conditional.score(X, Y) == pytest.approx(
        conditional.score_samples(X, Y).sum() / n_tokens, rel=1e-9
    )


def test_one_label_per_sequence_comes_back_in_order(conditional):
    """Each label's sequences come from its own stream, seeded in label order:
    the first label's equal a call asking for that label alone."""
    labels = ["high", "low", "high", "low", "low"]
    mixed = conditional.sample(5, y=labels, random_state=3)
    alone = conditional.sample(2, y="high", random_state=3)
    assert [mixed[0], mixed[2]] == alone
    assert mixed == conditional.sample(5, y=labels, random_state=3)
    completions = conditional.complete(["ca", "po"], y=["low", "high"])
    assert completions[0].startswith("ca") and completions[1].startswith("po")
    best = conditional.complete("", n_samples=2, most_likely=True, y="high")
    assert all(set(name) <= set("oprst") for name, _ in best)


def test_a_column_of_labels_scores_as_fit_takes_it(conditional):
    """A one-column y (a DataFrame's) is ravelled with a warning in fit and
    in scoring alike, so cross-validation on a DataFrame scores."""
    from sklearn.exceptions import DataConversionWarning

    column = np.array(Y)[:, None]  # (n, 1)
    with pytest.warns(DataConversionWarning):
        scores = conditional.score_samples(X, column)
    np.testing.assert_array_equal(scores, conditional.score_samples(X, Y))
    with pytest.warns(DataConversionWarning):
        assert conditional.score(X, column) == conditional.score(X, Y)
    with pytest.raises(ValueError, match=r"one label per sequence.*\(20, 2\)"):
        conditional.score_samples(X, np.column_stack([Y, Y]))


def test_exclude_training_is_per_label():
    """'ab' is a training name of label a only: excluded under a, not under b."""
    names, labels = ["ab"] * 30 + ["ab"] * 3 + ["abb"] * 27, ["a"] * 30 + ["b"] * 30
    names[30:33] = ["abbb"] * 3
    gen = _quiet(_gen(max_iter=150).fit, names, labels)
    n_tokens = len(gen.vocabulary_) + 2
    assert len(gen.training_hashes_) == 3
    codes = [gen.vocabulary_[c] for c in "ab"]
    a, b = gen.classes_.tolist().index("a"), gen.classes_.tolist().index("b")
    assert sequence_hash(codes, label_tag(n_tokens, a)) in gen.training_hashes_
    assert sequence_hash(codes, label_tag(n_tokens, b)) not in gen.training_hashes_
    best_a = gen.complete("", n_samples=3, most_likely=True, y="a")
    assert best_a[0][0] == "ab"
    new_a = gen.complete(
        "", n_samples=3, most_likely=True, y="a", exclude_training=True
    )
    assert "ab" not in [name for name, _ in new_a]
    new_b = gen.complete(
        "", n_samples=3, most_likely=True, y="b", exclude_training=True
    )
    assert {name for name, _ in new_b}.isdisjoint({"abb", "abbb"})
    assert "ab" in [name for name, _ in new_b]
    sampled = gen.sample(20, y="a", exclude_training=True, random_state=0)
    assert "ab" not in sampled


def test_label_errors(conditional):
    with pytest.raises(ValueError, match="Label 'mid' in y was not seen in fit"):
        conditional.sample(2, y="mid")
    with pytest.raises(ValueError, match="Label 'mid'"):
        conditional.score_samples(["ab"], y=["mid"])
    with pytest.raises(ValueError, match="fitted with labels"):
        conditional.sample(2)
    with pytest.raises(ValueError, match="fitted with labels"):
        conditional.complete("ab")
    with pytest.raises(ValueError, match=r"one label per sequence \(3\)"):
        conditional.sample(3, y=["low", "high"])
    plain = _quiet(_gen(max_iter=1).fit, X)
    for call in (
        lambda: plain.sample(2, y="low"),
        lambda: plain.complete("a", y="low"),
        lambda: plain.score_samples(X, y=Y),
        lambda: plain.score(X, Y),
        lambda: plain.partial_fit(X, Y),
    ):
        with pytest.raises(ValueError, match="fitted without labels"):
            call()
    with pytest.raises(ValueError, match="Found input variables with inconsistent"):
        _gen().fit(X, Y[:-1])
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        _gen().fit(X, np.linspace(0, 1, len(X)))


def test_partial_fit_and_warm_start_keep_the_labels():
    gen = _gen()
    gen.partial_fit(X, Y)
    gen.partial_fit(LOW, ["low"] * len(LOW))
    assert gen.class_count_.tolist() == [10.0, 20.0]
    with pytest.raises(ValueError, match="Label 'mid' in y was not seen in fit"):
        gen.partial_fit(["ab"], ["mid"])
    with pytest.raises(ValueError, match="fitted with labels"):
        gen.partial_fit(X)
    warm = _quiet(_gen(max_iter=2, warm_start=True).fit, X, Y)
    t = warm.t_
    _quiet(warm.fit, HIGH, ["high"] * len(HIGH))
    assert warm.t_ > t and warm.class_count_.tolist() == [20.0, 10.0]


def test_empty_strings_are_dropped_with_their_labels():
    with pytest.warns(UserWarning, match="Skipped 1 empty string"):
        gen = _quiet(_gen(max_iter=1).fit, ["", *X], ["low", *Y])
    assert gen.classes_.tolist() == ["high", "low"]
    assert gen.class_count_.tolist() == [10.0, 10.0]


@pytest.mark.filterwarnings("ignore:Skipped 2 empty strings")
@pytest.mark.parametrize(
    "make", [_gen, KneserNeyGenerator, GeneratorMixture, CharRNNClassifier]
)
def test_a_label_of_empty_strings_only_is_refused(make):
    """It would have no sequence to learn from (and the mixture's components
    would not know it)."""
    model = make()
    with pytest.raises(ValueError, match="Every sequence of label 'mid' in y is an"):
        model.fit(["", "", *X], ["mid", "mid", *Y])
    assert not hasattr(model, "classes_")


@pytest.mark.parametrize("missing", [None, np.nan, float("nan")])
@pytest.mark.parametrize("make", [_gen, KneserNeyGenerator, CharRNNClassifier])
def test_missing_labels_are_refused(make, missing):
    y = [*Y[:3], missing, *Y[4:]]
    with pytest.raises(ValueError, match=r"y\[3\] is .*: missing labels are not"):
        make().fit(X, y)


@pytest.mark.parametrize("make", [_gen, KneserNeyGenerator, CharRNNClassifier])
@pytest.mark.parametrize("kind", [list, "object"])
def test_labels_of_several_types_are_refused(make, kind):
    """'en' and 1 cannot be sorted together, and a list of both turns the 1
    into '1' in NumPy: either way, say so before anything else."""
    y = ["low", 1] * (len(X) // 2)
    y = y if kind is list else np.array(y, dtype=object)
    match = r"y mixes labels .* got a str, y\[0\]='low', and a number, y\[1\]=1\."
    with pytest.raises(ValueError, match=match):
        make().fit(X, y)


def test_labels_of_one_type_in_other_shapes():
    """Python's and NumPy's bools are one type (a NumPy comparison gives the
    second); True beside 1 is two (they would be one class); y of two
    columns is named by its shape, not by the types of its cells."""
    bools = [True, False] * 5 + list(np.arange(10) > 4)
    model = KneserNeyGenerator().fit(X, bools)
    assert model.classes_.tolist() == [False, True]
    with pytest.raises(ValueError, match=r"got a bool, y\[0\]=True, and a number"):
        KneserNeyGenerator().fit(X, np.array([True, 1] * 10, dtype=object))
    as_objects = np.array([True, False] * 10, dtype=object)  # a pandas column
    assert KneserNeyGenerator().fit(X, as_objects).classes_.tolist() == [False, True]
    pairs = [["low", 1]] * len(X)
    with pytest.raises(ValueError, match=r"y should be a 1d array, got an array of"):
        KneserNeyGenerator().fit(X, pairs)


def test_an_object_array_of_numbers_gives_numeric_classes():
    """As a pandas column of object dtype holds them; scikit-learn's own
    check calls such labels of unknown type."""
    y = np.array([1] * 10 + [2] * 10, dtype=object)
    model = KneserNeyGenerator().fit(X, y)
    assert model.classes_.dtype.kind == "i"
    assert model.classes_.tolist() == [1, 2]


def test_labels_survive_pickle_and_the_model_file(conditional, tmp_path):
    path = os.path.join(tmp_path, "labels.npz")
    conditional.save(path)
    loaded = CharRNNGenerator.load(path)
    clone = pickle.loads(pickle.dumps(conditional))
    for other in (loaded, clone):
        assert other.classes_.tolist() == conditional.classes_.tolist()
        np.testing.assert_array_equal(other.class_count_, conditional.class_count_)
        np.testing.assert_allclose(
            other.score_samples(X, Y), conditional.score_samples(X, Y), rtol=1e-12
        )
        assert other.sample(5, y="low", random_state=0) == conditional.sample(
            5, y="low", random_state=0
        )
    ints = _quiet(_gen(max_iter=1).fit, X, [1] * 10 + [2] * 10)
    ints.save(path)
    assert CharRNNGenerator.load(path).classes_.tolist() == [1, 2]


# ---------------------------------------------------------------- classifier


def _clf(**params):
    params = {
        "hidden_size": 24,
        "max_iter": 300,
        "dropout": 0.0,
        "early_stopping": False,
        "random_state": 0,
        **params,
    }
    return CharRNNClassifier(**params)


@pytest.fixture(scope="module")
def classifier():
    return _quiet(_clf().fit, X, Y)


def test_classifier_scores_labels_held_as_objects():
    """An object array of ints or bools (a pandas column) gives numeric
    classes_, and score compares it with them: scikit-learn's accuracy found
    a mix of unknown and binary targets, and a search scored NaN."""
    from sklearn.model_selection import cross_val_score

    for y in ([1, 2] * 10, [True, False] * 10):  # both classes in every fold
        y = np.array(y, dtype=object)
        model = _clf(max_iter=2, mix_ngram=False)
        scores = _quiet(cross_val_score, model, X, y, cv=2)
        assert np.isfinite(scores).all()
        assert 0 <= _quiet(model.fit, X, y).score(X, y) <= 1


def test_classifier_is_bayes_rule_on_the_generator(classifier):
    tests = ["bad", "dace", "stop", "sport", "cabbed", "trot"]
    joint = np.column_stack(
        [classifier.generator_.score_samples(tests, y=c) for c in classifier.classes_]
    )
    joint += np.log(classifier.generator_.class_count_ / 20)
    expected = joint - logsumexp(joint, axis=1, keepdims=True)
    np.testing.assert_allclose(classifier.predict_log_proba(tests), expected, rtol=1e-9)
    np.testing.assert_allclose(classifier.predict_proba(tests).sum(axis=1), 1.0)
    assert classifier.predict(tests).tolist() == ["low", "low"] + ["high"] * 2 + [
        "low",
        "high",
    ]
    assert classifier.score(X, Y) == 1.0


def test_classifier_mixes_the_network_with_an_ngram_unless_told_not_to(classifier):
    mixture = classifier.generator_
    assert type(mixture).__name__ == "GeneratorMixture"
    network, ngram = (
        mixture.named_estimators_["rnn"],
        mixture.named_estimators_["ngram"],
    )
    assert type(network) is CharRNNGenerator and network.hidden_size == 24
    assert type(ngram).__name__ == "KneserNeyGenerator"
    for component in (network, ngram):
        assert component.classes_.tolist() == classifier.classes_.tolist()
    assert classifier.n_iter_ == network.n_iter_
    alone = _quiet(_clf(max_iter=20, mix_ngram=False).fit, X, Y)
    assert type(alone.generator_) is CharRNNGenerator
    assert alone.n_iter_ == alone.generator_.n_iter_ == 20
    tests = ["bad", "stop"]
    joint = np.column_stack(
        [alone.generator_.score_samples(tests, y=c) for c in alone.classes_]
    )
    joint += np.log(alone.generator_.class_count_ / 20)
    np.testing.assert_allclose(
        alone.predict_log_proba(tests),
        joint - logsumexp(joint, axis=1, keepdims=True),
        rtol=1e-9,
    )


def test_class_prior_moves_the_prediction():
    clf = _quiet(_clf(max_iter=5, class_prior=[0.0, 1.0]).fit, X, Y)
    assert set(clf.predict(X)) == {"low"}


def test_classifier_checks_its_prior_and_labels_before_training(monkeypatch):
    def never(self, *args, **kwargs):
        raise AssertionError("trained before checking class_prior")

    monkeypatch.setattr(CharRNNGenerator, "fit", never)
    shape = r"expected an array of shape \(2,\) of int or float, got "
    with pytest.raises(ValueError, match=shape + r"\[0.2, 0.3, 0.5\]"):
        _clf(class_prior=[0.2, 0.3, 0.5]).fit(X, Y)
    with pytest.raises(ValueError, match=shape + r"\{'low': 0.5, 'high': 0.5\}"):
        _clf(class_prior={"low": 0.5, "high": 0.5}).fit(X, Y)
    with pytest.raises(ValueError, match="summing to 1"):
        _clf(class_prior=[0.2, 0.3]).fit(X, Y)
    for not_numbers in (["0.5", "0.5"], [True, False]):
        with pytest.raises(ValueError, match=shape + re.escape(str(not_numbers))):
            _clf(class_prior=not_numbers).fit(X, Y)
    with pytest.raises(ValueError, match="at least 2 classes .* only one class: 'low'"):
        _clf().fit(X, ["low"] * len(X))


def test_classifier_speaks_of_its_own_parameters_when_its_network_refuses():
    """Its network's parameters are the classifier's: the mixture's words
    for a component (set as rnn__<parameter>) would mislead."""
    for mix_ngram in (True, False):
        clf = CharRNNClassifier(hidden_size=8, validation_fraction=0.99)
        with pytest.raises(ValueError) as info:
            clf.set_params(mix_ngram=mix_ngram).fit(X, Y)
        assert str(info.value).startswith("validation_fraction=0.99 holds out all")
        assert "rnn__" not in str(info.value)


def test_classifier_names_itself_when_checking_columns():
    """Fitted on a DataFrame of tokens, then given an array: the warning
    names the classifier the user called, not the model inside it."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": list("abcabcabcabc"), "b": list("bcabcabcabca")})
    classifier = _quiet(_clf(max_iter=1).fit, frame, [0, 1] * 6)
    with pytest.warns(UserWarning, match="but CharRNNClassifier was fitted with"):
        classifier.predict(frame.to_numpy())


def test_classifier_in_pipeline_search_and_cross_validation():
    lower = FunctionTransformer(lambda names: [n.lower() for n in names])
    pipe = make_pipeline(lower, _clf())
    upper = [name.upper() for name in X]
    _quiet(pipe.fit, upper, Y)
    assert pipe.score(upper, Y) > 0.8
    search = GridSearchCV(_clf(max_iter=100), {"hidden_size": [8, 16]}, cv=2)
    _quiet(search.fit, X, Y)
    assert search.best_params_["hidden_size"] in (8, 16)
    scores = _quiet(cross_val_score, _clf(max_iter=100), X, Y, cv=2)
    assert scores.shape == (2,)
    assert scores.mean() > 0.7


def test_classifier_refuses_an_epsilon_its_network_refuses(monkeypatch):
    def never(self, *args, **kwargs):
        raise AssertionError("trained before checking epsilon")

    monkeypatch.setattr(CharRNNGenerator, "fit", never)
    for mix_ngram in (True, False):
        with pytest.raises(ValueError, match="'epsilon' parameter is too small"):
            _clf(epsilon=1e-40, dtype="float32", mix_ngram=mix_ngram).fit(X, Y)


def test_classifier_score_takes_sample_weight(classifier):
    predicted = classifier.predict(X)
    y = list(Y)
    y[0] = "high"  # one wrong on purpose
    assert predicted[0] == "low"
    weights = np.ones(len(X))
    assert classifier.score(X, y) == pytest.approx(19 / 20)
    weights[0] = 19.0  # the wrong one now weighs half
    assert classifier.score(X, y, sample_weight=weights) == pytest.approx(0.5)


def test_classifier_draws_from_a_random_state_it_is_given():
    """A RandomState instance is used, and advanced, as CharRNNGenerator
    uses it: two fits with the same instance differ, the instance moves."""
    rs = np.random.RandomState(0)
    before = rs.get_state()[1].copy()
    first = _quiet(_clf(max_iter=2, random_state=rs, mix_ngram=False).fit, X, Y)
    assert not np.array_equal(rs.get_state()[1], before)
    second = _quiet(_clf(max_iter=2, random_state=rs, mix_ngram=False).fit, X, Y)
    assert not np.array_equal(
        first.generator_.weights_["W_h0"], second.generator_.weights_["W_h0"]
    )
    again = _quiet(
        _clf(max_iter=2, random_state=np.random.RandomState(0), mix_ngram=False).fit,
        X,
        Y,
    )
    np.testing.assert_array_equal(
        first.generator_.weights_["W_h0"], again.generator_.weights_["W_h0"]
    )


LABEL_FILE_EDITS = {
    "a third class without its row of E": (
        lambda v: (v["classes"].append("mid"), v["class_count"].append(1.0)),
        r"weights/E",
    ),
    "counts for one class of two": (
        lambda v: v["class_count"].pop(),
        r"class_count must hold a count >= 0 per class",
    ),
    "unsorted classes": (
        lambda v: v["classes"].reverse(),
        r"classes must be distinct and sorted",
    ),
    "an int among str classes": (
        lambda v: v["classes"].__setitem__(0, 3),
        r"vocabulary.classes\[0\] must be a str",
    ),
    "classes without their counts": (
        lambda v: v.pop("class_count"),
        r"lacks keys \['class_count'\]",
    ),
    "a dtype that cannot hold the classes": (
        lambda v: v.update(class_dtype="|u1"),
        r"class_dtype '\|u1' does not hold the classes as they are",
    ),
    "a str dtype that cuts the classes short": (
        lambda v: v.update(class_dtype="<U2"),
        r"class_dtype must be <U4, the str its classes need",
    ),
    "a str dtype far too wide": (
        lambda v: v.update(class_dtype="<U999999"),
        r"class_dtype must be <U4, the str its classes need",
    ),
    "a dtype of another kind": (
        lambda v: v.update(class_dtype="<M8[D]"),
        r"vocabulary.class_dtype must be a dtype of bool, int, float or str",
    ),
    "a dtype that is not a str": (
        lambda v: v.update(class_dtype=8),
        r"vocabulary.class_dtype must be a str",
    ),
    "a str dtype for int classes": (
        lambda v: v.update(classes=[1, 2], class_type="int", class_dtype="<U1"),
        r"vocabulary.class_dtype must be a dtype of int classes",
    ),
    "a float dtype too narrow for the classes": (
        lambda v: v.update(classes=[1.0, 1e10], class_type="float", class_dtype="<f2"),
        r"class_dtype '<f2' does not hold the classes as they are",
    ),
}


@pytest.mark.parametrize(
    "labels",
    [
        np.array(Y, dtype=object),
        np.array([7] * 10 + [200] * 10, dtype=np.uint8),
        np.array(Y, dtype="<U8"),
        np.array([1.0] * 10 + [2.0] * 10, dtype=np.float32),
    ],
    ids=["object", "uint8", "str wider than the labels", "float32"],
)
def test_model_files_keep_the_dtype_of_classes(tmp_path, labels):
    for model in (
        KneserNeyGenerator(order=2),
        _gen(max_iter=1),
        _clf(max_iter=1, mix_ngram=False),
        _clf(max_iter=1),
    ):
        _quiet(model.fit, X, labels)
        path = tmp_path / "m.npz"
        model.save(path)
        back = type(model).load(path)
        assert model.classes_.dtype == labels.dtype
        if labels.dtype.kind == "U":  # str of the width the labels need
            assert back.classes_.dtype == np.asarray(labels.tolist()).dtype
        else:
            assert back.classes_.dtype == labels.dtype
        np.testing.assert_array_equal(back.classes_, model.classes_)
        if hasattr(back, "predict"):
            assert back.predict(X).dtype == back.classes_.dtype


def test_a_model_file_without_the_dtype_of_classes_loads(conditional, tmp_path):
    """Files written before class_dtype was kept load as they did."""
    path = _edited_file(
        conditional, tmp_path, lambda vocabulary: vocabulary.pop("class_dtype")
    )
    back = CharRNNGenerator.load(path)
    np.testing.assert_array_equal(back.classes_, conditional.classes_)
    assert back.classes_.dtype == np.asarray(conditional.classes_.tolist()).dtype


def test_tokens_a_model_file_cannot_hold_are_named(tmp_path):
    """A model file holds signed 64-bit ints: save says so, and writes
    nothing (fit refuses such tokens, so the vocabulary is forged here)."""
    gen = KneserNeyGenerator(order=2).fit(np.array([[1, 2], [2, 1]] * 3))
    gen.vocabulary_ = {1: 1, 2**63: 2}
    path = tmp_path / "wide.npz"
    with pytest.raises(
        ValueError, match=r"signed 64 bits \(-2\*\*63 to 2\*\*63 - 1\); go"
    ):
        gen.save(path)
    assert not path.exists()


def test_labels_a_model_file_cannot_hold_are_named(tmp_path):
    """Dates as labels fit and pickle, but a model file holds str, int,
    float or bool labels: save says so, and writes nothing."""
    dates = np.array(["2020-01-01", "2021-01-01"] * (len(X) // 2), dtype="M8[D]")
    gen = KneserNeyGenerator().fit(X[: len(dates)], dates)
    path = tmp_path / "dates.npz"
    with pytest.raises(ValueError, match=r"labels \(classes_\) in a model file .*date"):
        gen.save(path)
    assert not path.exists()
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(gen)).classes_, gen.classes_
    )


@pytest.mark.parametrize("case", list(LABEL_FILE_EDITS))
def test_model_file_labels_are_checked_on_load(conditional, tmp_path, case):
    """Labels that contradict the embedding, or each other, do not load."""
    edit, message = LABEL_FILE_EDITS[case]
    path = _edited_file(conditional, tmp_path, edit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ModelFileError, never a warning
        with pytest.raises(ModelFileError, match=message):
            CharRNNGenerator.load(path)


def _edited_file(model, tmp_path, edit):
    """Save ``model``, then rewrite its file with ``edit`` applied to the
    metadata's vocabulary; the rewritten file's path."""
    path = tmp_path / "labels.npz"
    model.save(path)
    tamper = edit_metadata(lambda metadata: edit(metadata["vocabulary"]))
    return write_members(tmp_path / "edited.npz", tamper(members_of(path)))
