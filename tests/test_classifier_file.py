"""The safe model file of CharRNNClassifier; pickle."""

import pickle
import warnings

import numpy as np
import pytest
from _tamper import edit_array, edit_metadata, members_of, set_item, write_members
from sklearn.exceptions import ConvergenceWarning

import sklearn_charrnn
from sklearn_charrnn import (
    CharRNNClassifier,
    CharRNNGenerator,
    GeneratorMixture,
    InconsistentVersionWarning,
    KneserNeyGenerator,
    ModelFileError,
    load_model,
    save_model,
)

# two labels, two to one: the prior from the frequencies is not uniform
X = ["anna", "emma", "bella", "clara", "tanaka", "sato"] * 3
Y = ["en", "en", "en", "en", "ja", "ja"] * 3
TINY = dict(hidden_size=8, max_iter=3, early_stopping=False, batch_size=6)
QUERIES = ["anna", "sato", "suzuki", "emily", "qq"]


def tiny_classifier(**params):
    return CharRNNClassifier(**{**TINY, "random_state": 0, **params})


def assert_same_labels_and_generator(a, b, queries=QUERIES):
    np.testing.assert_array_equal(a.classes_, b.classes_)
    np.testing.assert_array_equal(a.class_log_prior_, b.class_log_prior_)
    for label in a.classes_:
        assert a.generator_.sample(6, y=label, random_state=0) == b.generator_.sample(
            6, y=label, random_state=0
        )
        np.testing.assert_allclose(
            a.generator_.score_samples(queries, y=label),
            b.generator_.score_samples(queries, y=label),
            rtol=1e-6,
        )


def assert_same_classifier(a, b, queries=QUERIES):
    assert_same_labels_and_generator(a, b, queries)
    np.testing.assert_allclose(
        a.predict_proba(queries), b.predict_proba(queries), rtol=1e-6, atol=1e-12
    )
    assert list(a.predict(queries)) == list(b.predict(queries))


@pytest.fixture(scope="module")
def clf_files(tmp_path_factory):
    """A saved classifier of each kind: ``mixed`` (the default), ``network``."""
    folder = tmp_path_factory.mktemp("clf")
    files = {}
    for kind, mix_ngram in (("mixed", True), ("network", False)):
        with pytest.warns(Warning):  # ConvergenceWarning: 3 epochs
            model = tiny_classifier(mix_ngram=mix_ngram).fit(X, Y)
        model.save(folder / f"{kind}.npz")
        files[kind] = (model, folder / f"{kind}.npz")
    return files


@pytest.fixture(scope="module")
def clf_file(clf_files):
    return clf_files["mixed"]


# ------------------------------------------------------------- round trip


@pytest.mark.parametrize(
    "kind, generator_class",
    [("mixed", GeneratorMixture), ("network", CharRNNGenerator)],
)
def test_round_trip_keeps_every_attribute_and_prediction(
    clf_files, kind, generator_class
):
    model, path = clf_files[kind]
    loaded = CharRNNClassifier.load(path)
    assert type(loaded) is CharRNNClassifier
    assert set(vars(loaded)) == set(vars(model))
    assert loaded.get_params() == model.get_params()
    assert loaded.n_iter_ == model.n_iter_ == 3
    assert loaded.classes_ is loaded.generator_.classes_
    assert type(loaded.generator_) is generator_class
    np.testing.assert_array_equal(
        loaded.generator_.class_count_, model.generator_.class_count_
    )
    assert loaded._network().n_iter_ == 3
    np.testing.assert_allclose(np.exp(loaded.class_log_prior_), [2 / 3, 1 / 3])
    assert_same_classifier(model, loaded)
    assert loaded.score(X, Y) == model.score(X, Y)


def test_load_model_finds_the_class_and_save_model_writes_it(clf_file, tmp_path):
    model, path = clf_file
    loaded = load_model(path)
    assert type(loaded) is CharRNNClassifier
    assert_same_classifier(model, loaded)
    save_model(model, tmp_path / "light.npz", include_optimizer=False)
    light = load_model(tmp_path / "light.npz")
    assert_same_classifier(model, light)
    assert (tmp_path / "light.npz").stat().st_size < path.stat().st_size


def test_round_trip_of_class_prior_random_state_and_token_arrays(tmp_path):
    tokens = np.array([[1, 2, 3], [2, 2, 1], [3, 1, 1], [1, 3, 2]] * 3)
    labels = [0, 0, 1, 1] * 3
    model = tiny_classifier(
        class_prior=np.array([0.25, 0.75]), random_state=np.random.RandomState(3)
    )
    with pytest.warns(Warning):
        model.fit(tokens, labels)
    model.save(tmp_path / "m.npz")
    loaded = CharRNNClassifier.load(tmp_path / "m.npz")
    assert loaded.class_prior == [0.25, 0.75]
    assert isinstance(loaded.random_state, np.random.RandomState)
    np.testing.assert_array_equal(
        loaded.random_state.get_state()[1], model.random_state.get_state()[1]
    )
    assert loaded.n_features_in_ == 3 and loaded.generator_.input_kind_ == "tokens"
    np.testing.assert_allclose(
        loaded.predict_proba(tokens), model.predict_proba(tokens), rtol=1e-6
    )
    assert loaded.classes_.tolist() == [0, 1]
    # a zero prior is -inf in class_log_prior_, and still loads
    with pytest.warns(Warning):
        model.set_params(class_prior=[0.0, 1.0]).fit(tokens, labels)
    model.save(tmp_path / "zero.npz")
    loaded = load_model(tmp_path / "zero.npz")
    assert np.isneginf(loaded.class_log_prior_[0])
    assert loaded.predict(tokens).tolist() == [1] * len(tokens)


OTHER_GENERATORS = {
    "mixture": lambda: GeneratorMixture(
        [
            ("rnn", CharRNNGenerator(hidden_size=8, max_iter=2)),
            ("ngram", KneserNeyGenerator(order=2)),
        ],
        random_state=0,
    ),
    "n-gram": lambda: KneserNeyGenerator(order=2),
}


@pytest.mark.parametrize("kind", list(OTHER_GENERATORS))
def test_the_file_holds_a_labelled_mixture_or_n_gram_as_generator(tmp_path, kind):
    generator = OTHER_GENERATORS[kind]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        generator.fit(X, Y)
    model = tiny_classifier()
    model.generator_ = generator
    model.n_iter_ = 0
    model.classes_ = np.unique(Y)
    model.class_log_prior_ = np.log([2 / 3, 1 / 3])
    model.classes_ = generator.classes_
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert type(loaded.generator_) is type(generator)
    # prediction through these is the classifier's business, not the file's
    assert_same_labels_and_generator(model, loaded)


def test_pickle_round_trip(clf_file):
    model, _ = clf_file
    loaded = pickle.loads(pickle.dumps(model))
    assert_same_classifier(model, loaded)


def test_the_generators_loaders_refuse_a_classifier_file(clf_file, tmp_path):
    model, path = clf_file
    with pytest.raises(ModelFileError, match="CharRNNClassifier"):
        CharRNNGenerator.load(path)
    model.generator_.save(tmp_path / "generator.npz")
    with pytest.raises(ModelFileError, match="GeneratorMixture"):
        CharRNNClassifier.load(tmp_path / "generator.npz")


# ---------------------------------------------------------------- saving


def test_save_refuses_what_would_not_load(clf_file, tmp_path):
    model, _ = clf_file
    path = tmp_path / "m.npz"
    changed = pickle.loads(pickle.dumps(model))
    changed.set_params(class_prior=[0.5, 0.5])
    with pytest.raises(ValueError, match=r"Cannot save .*class_prior=\[0.5, 0.5\]"):
        changed.save(path)
    with pytest.raises(ValueError, match="a class_prior set after fit counts from"):
        changed.save(path)
    for prior in ("x", {"a": 1}, [0.5, None], [0.5, float("nan")]):
        changed.set_params(class_prior=prior)  # not even numbers
        with pytest.raises(ValueError, match=r"Cannot save CharRNNClassifier: class_"):
            changed.save(path)
    assert not path.exists()
    extra = pickle.loads(pickle.dumps(model))
    extra.extra_ = 1
    with pytest.raises(ValueError, match=r"extra_.*Use pickle"):
        extra.save(path)
    unlabelled = pickle.loads(pickle.dumps(model))
    with pytest.warns(Warning):
        unlabelled.generator_ = CharRNNGenerator(**TINY).fit(X)
    with pytest.raises(ValueError, match="Cannot save .*fitted without labels"):
        unlabelled.save(path)
    other = pickle.loads(pickle.dumps(model))
    other.generator_ = tiny_classifier()
    with pytest.raises(ValueError, match="not CharRNNClassifier. Use pickle"):
        other.save(path)
    assert not path.exists()


# ------------------------------------------------------------- tampering


def unlabel(metadata):
    """Remove a network generator's labels."""
    vocabulary = metadata["generator"]["sections"]["vocabulary"]
    for key in ("classes", "class_type", "class_count", "class_dtype"):
        del vocabulary[key]
    # the label embedding's optimizer flag goes with the labels
    del metadata["generator"]["sections"]["optimizer"]["decay"]["E"]


def unlabel_mixture(metadata):
    """Remove a mixture generator's labels (not its components')."""
    vocabulary = metadata["generator"]["sections"]["vocabulary"]
    for key in ("classes", "class_type", "class_count", "class_dtype"):
        del vocabulary[key]


# damage to the network's file (mix_ngram=False)
NETWORK_TAMPERING = {
    "generator fitted without labels": (
        edit_metadata(unlabel),
        "generator_ was fitted without labels",
    ),
    "generator with invalid parameters": (
        edit_metadata(lambda m: m["generator"]["params"].update(hidden_size=0)),
        r"generator_: invalid parameters \(generator.params\)",
    ),
    "generator with non-finite weights": (
        edit_array("generator/weights/W_y", lambda a: set_item(a, (0, 0), np.inf)),
        "generator_: weights 'W_y' hold non-finite values",
    ),
    "generator's weights missing": (
        lambda members: {
            k: v for k, v in members.items() if k != "generator/weights/W_y.npy"
        },
        r"missing \['generator/weights/W_y.npy'\]",
    ),
}

# damage to the default file (a mixture as generator)
TAMPERING = {
    "mixture without labels": (
        edit_metadata(unlabel_mixture),
        "generator_: component 'rnn' knows the labels",
    ),
    "mixture with invalid parameters": (
        edit_metadata(
            lambda m: m["generator"]["params"].update(validation_fraction=2.0)
        ),
        r"generator_: invalid parameters \(generator.params\)",
    ),
    "mixture weights that do not sum to 1": (
        edit_array("generator/mixture/weights_", lambda a: a * 0.5),
        "weights_ must sum to 1",
    ),
    "component with non-finite weights": (
        edit_array(
            "generator/components/0/weights/W_y", lambda a: set_item(a, (0, 0), np.nan)
        ),
        "generator_: component 'rnn': weights 'W_y' hold non-finite values",
    ),
    "classes disagree": (
        edit_metadata(lambda m: m.update(classes=["en", "fr"])),
        r"metadata classes must be the generator's classes \['en', 'ja'\]",
    ),
    "classes of another type": (
        edit_metadata(lambda m: m.update(classes=[0, 1])),
        "metadata classes must be the generator's classes",
    ),
    "prior does not sum to 1": (
        edit_array("fitted/class_log_prior_", lambda a: a + np.log(0.5)),
        r"exponentials of class_log_prior_ must sum to 1; they sum to 0\.5",
    ),
    "prior not the frequencies": (
        edit_array("fitted/class_log_prior_", lambda a: a[::-1].copy()),
        "class_log_prior_ is .* but the generator's class frequencies give",
    ),
    "prior NaN": (
        edit_array("fitted/class_log_prior_", lambda a: set_item(a, 0, np.nan)),
        "class_log_prior_ must hold finite values or -inf",
    ),
    "prior of the wrong length": (
        edit_array("fitted/class_log_prior_", lambda a: np.log([1 / 3] * 3)),
        r"has shape \(3,\), expected \(2,\)",
    ),
    "class_prior contradicts the log prior": (
        edit_metadata(lambda m: m.update(class_prior=[0.5, 0.5])),
        r"class_log_prior_ is .* but class_prior=\[0.5, 0.5\] gives",
    ),
    "class_prior not probabilities": (
        edit_metadata(lambda m: m.update(class_prior=[0.5, 0.6])),
        "metadata class_prior must be null or 2 probabilities",
    ),
    "class_prior of one class": (
        edit_metadata(lambda m: m.update(class_prior=[1.0])),
        "metadata class_prior must be null or 2 probabilities",
    ),
    "generator missing": (
        edit_metadata(lambda m: m.pop("generator")),
        r"metadata \(top level\) lacks keys \['generator'\]",
    ),
    "generator null": (
        edit_metadata(lambda m: m.update(generator=None)),
        "metadata generator must be an object; got None",
    ),
    "generator of an unknown class": (
        edit_metadata(lambda m: m["generator"].update(estimator="CharRNNClassifier")),
        "metadata generator.estimator must be one of",
    ),
    "invalid classifier parameter": (
        edit_metadata(lambda m: m["params"].update(dropout=2.0)),
        "invalid parameters: The 'dropout' parameter",
    ),
    "unknown classifier parameter": (
        edit_metadata(lambda m: m["params"].update(alpha=1.0)),
        r"metadata params has unexpected keys \['alpha'\]",
    ),
    "columns the generator did not read": (
        edit_metadata(lambda m: m["fitted"].update(n_features_in_=1)),
        "fitted.n_features_in_ is 1 but the generator's is None",
    ),
    "negative n_iter_": (
        edit_metadata(lambda m: m["fitted"].update(n_iter_=-1)),
        "fitted.n_iter_ must be an int",
    ),
}


CASES = [("mixed", name) for name in TAMPERING] + [
    ("network", name) for name in NETWORK_TAMPERING
]


@pytest.mark.parametrize("kind, name", CASES)
def test_tampered_file_is_refused(clf_files, tmp_path, kind, name):
    _, path = clf_files[kind]
    tamper, message = {**TAMPERING, **NETWORK_TAMPERING}[name]
    bad = write_members(tmp_path / "bad.npz", tamper(members_of(path)))
    with pytest.raises(ModelFileError, match=message):
        CharRNNClassifier.load(bad)
    with pytest.raises(ModelFileError, match=message):
        load_model(bad)


@pytest.mark.parametrize("kind", ["mixed", "network"])
def test_an_untouched_copy_loads(clf_files, tmp_path, kind):
    # the tampering helpers alone change nothing: a refusal is the edit's
    model, path = clf_files[kind]
    copy = write_members(
        tmp_path / "copy.npz", edit_metadata(lambda m: m)(members_of(path))
    )
    assert_same_classifier(model, CharRNNClassifier.load(copy))


def test_pickle_records_the_version_and_warns_from_another(monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = tiny_classifier().fit(X, Y)
    assert clf.__getstate__()["_charrnn_version"] == sklearn_charrnn.__version__
    monkeypatch.setattr(sklearn_charrnn._version, "__version__", "0.0.1")
    data = pickle.dumps(clf)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning, match="0.0.1"):
        loaded = pickle.loads(data)
    assert_same_classifier(clf, loaded)
