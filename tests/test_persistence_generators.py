"""The safe model file of KneserNeyGenerator and GeneratorMixture; pickle."""

import pickle

import numpy as np
import pytest
from _tamper import edit_array, edit_metadata, members_of, set_item, write_members

from sklearn_charrnn import (
    CharRNNGenerator,
    GeneratorMixture,
    KneserNeyGenerator,
    ModelFileError,
    load_model,
    save_model,
)

NAMES = ["anna", "bob", "carla", "dave", "emma", "anya", "bella", "zoë", "ïda"]
SMALL_RNN = dict(hidden_size=8, max_iter=2, batch_size=4)


def assert_same_scores_and_samples(a, b, X):
    # the same tables and weights: identical results, whatever the batch
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert a.sample(5, random_state=3) == b.sample(5, random_state=3)
    assert a.complete(["an"], n_samples=2, random_state=4) == b.complete(
        ["an"], n_samples=2, random_state=4
    )


def small_mixture(**params):
    estimators = [
        ("rnn", CharRNNGenerator(**SMALL_RNN)),
        ("ngram", KneserNeyGenerator()),
    ]
    return GeneratorMixture(estimators, **{"random_state": 0, **params})


# ------------------------------------------------------------- tampering


def scale_row(array, row, factor):
    array[row] = np.log(np.exp(array[row]) * factor)
    return array


# ---------------------------------------------------------------- n-gram


@pytest.fixture(scope="module")
def kn_file(dinosaurs, tmp_path_factory):
    model = KneserNeyGenerator(random_state=0).fit(dinosaurs[:400])
    path = tmp_path_factory.mktemp("kn") / "kn.npz"
    model.save(path)
    return model, path


def test_kn_round_trip_keeps_every_attribute(kn_file, dinosaurs):
    model, path = kn_file
    loaded = KneserNeyGenerator.load(path)
    assert set(vars(loaded)) == set(vars(model))
    assert loaded.get_params() == model.get_params()
    assert loaded.order_ == model.order_ and loaded.start_node_ == model.start_node_
    assert loaded.order_scores_ == model.order_scores_
    assert loaded.vocabulary_ == model.vocabulary_
    for name in (
        "ngrams_",
        "ngram_counts_",
        "discounts_",
        "log_probs_",
        "transitions_",
        "training_hashes_",
    ):
        a, b = getattr(model, name), getattr(loaded, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert_same_scores_and_samples(model, loaded, dinosaurs[400:450] + ["qqq"])
    assert loaded.sample(5, exclude_training=True, random_state=1) == model.sample(
        5, exclude_training=True, random_state=1
    )


@pytest.mark.parametrize(
    "params", [dict(order=2), dict(order=4, discount=0.7), dict(order=3)]
)
def test_kn_round_trip_of_parameters(tmp_path, params):
    model = KneserNeyGenerator(**params).fit(NAMES)
    model.save(tmp_path / "m.npz")
    loaded = KneserNeyGenerator.load(tmp_path / "m.npz")
    assert loaded.get_params() == model.get_params()
    assert loaded.order_scores_ is None
    assert_same_scores_and_samples(model, loaded, NAMES + ["xavier"])


def test_kn_round_trip_of_token_arrays_and_columns(tmp_path):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"a": [1, 2, 3, 1], "b": [2, 2, 1, 3], "c": [3, 1, 1, 2]})
    model = KneserNeyGenerator(order=2).fit(X)
    model.save(tmp_path / "m.npz")
    loaded = KneserNeyGenerator.load(tmp_path / "m.npz")
    assert loaded.input_kind_ == "tokens" and loaded.n_features_in_ == 3
    assert list(loaded.feature_names_in_) == ["a", "b", "c"]
    np.testing.assert_array_equal(model.score_samples(X), loaded.score_samples(X))
    assert [list(r) for r in loaded.sample(4, random_state=0)] == [
        list(r) for r in model.sample(4, random_state=0)
    ]


def test_kn_partial_fit_continues_from_the_file(tmp_path):
    model = KneserNeyGenerator(order=3).fit(NAMES[:5])
    model.save(tmp_path / "m.npz")
    loaded = KneserNeyGenerator.load(tmp_path / "m.npz")
    model.partial_fit(["nab", "dena"])
    loaded.partial_fit(["nab", "dena"])
    np.testing.assert_array_equal(model.ngram_counts_, loaded.ngram_counts_)
    np.testing.assert_array_equal(
        model.score_samples(NAMES[:7]), loaded.score_samples(NAMES[:7])
    )


def test_kn_file_is_refused_by_the_rnn_loader_and_named(kn_file):
    _, path = kn_file
    with pytest.raises(ModelFileError, match="KneserNeyGenerator"):
        CharRNNGenerator.load(path)


def test_kn_save_refuses_unknown_attributes_and_changed_parameters(tmp_path):
    model = KneserNeyGenerator(order=3).fit(NAMES)
    model.set_params(order=5)
    with pytest.raises(ValueError, match="Cannot save .*order=5.*order_=3"):
        model.save(tmp_path / "m.npz")
    model.set_params(order=3)
    model.extra_ = 1
    with pytest.raises(ValueError, match="extra_"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


KN_TAMPERING = {
    "transition out of range": (
        edit_array("model/transitions_", lambda a: set_item(a, (1, 2), len(a))),
        r"row 1 of transitions_ holds a node outside",
    ),
    "negative transition": (
        edit_array("model/transitions_", lambda a: set_item(a, (0, 0), -1)),
        "transitions_ holds a node outside",
    ),
    "log-probability NaN": (
        edit_array("model/log_probs_", lambda a: set_item(a, (2, 1), np.nan)),
        "log_probs_ holds values that are not finite",
    ),
    "log-probability -inf": (
        edit_array("model/log_probs_", lambda a: set_item(a, (0, 1), -np.inf)),
        "not finite",
    ),
    "row does not sum to 1": (
        edit_array("model/log_probs_", lambda a: scale_row(a, 3, 1.01)),
        r"row 3 of log_probs_ sums to 1\.01",
    ),
    "n-gram token out of range": (
        edit_array("model/ngrams_", lambda a: set_item(a, (-1, -1), a.max() + 1)),
        "ngrams_ holds tokens from",
    ),
    "n-grams unsorted": (
        edit_array("model/ngrams_", lambda a: a[::-1].copy()),
        "lexicographic order",
    ),
    "zero count": (
        edit_array("model/ngram_counts_", lambda a: set_item(a, 0, 0)),
        "ngram_counts_ must be positive",
    ),
    "discount above its count": (
        edit_array("model/discounts_", lambda a: set_item(a, (1, 0), 1.5)),
        "may not exceed 1, 2 and 3",
    ),
    "negative discount": (
        edit_array("model/discounts_", lambda a: set_item(a, (0, 2), -0.1)),
        "discounts_ must be finite and positive",
    ),
    "tables of another dtype": (
        edit_array("model/transitions_", lambda a: a.astype(np.int64)),
        "dtype <i8, expected <i4",
    ),
    "start node out of range": (
        edit_metadata(lambda m: m["model"].update(start_node_=10**6)),
        "model.start_node_ must be an int in",
    ),
    "order contradicts the parameter": (
        edit_metadata(lambda m: m["params"].update(order=3)),
        "order=3 but the tables are for order_=",
    ),
    "order scores without order='auto'": (
        edit_metadata(lambda m: m["params"].update(order=m["model"]["order_"])),
        "model.order_scores_ must be null",
    ),
    "discount contradicts the parameter": (
        edit_metadata(lambda m: m["params"].update(discount=0.5)),
        "discount=0.5 but discounts_ differ",
    ),
    "invalid parameter": (
        edit_metadata(lambda m: m["params"].update(discount=2.0)),
        "invalid parameters: The 'discount' parameter",
    ),
    "training hashes unsorted": (
        edit_array("fitted/training_hashes_", lambda a: a[::-1].copy()),
        "training_hashes_ must be sorted",
    ),
    "unsorted vocabulary": (
        edit_metadata(lambda m: m["vocabulary"]["tokens"].reverse()),
        "vocabulary.tokens must be distinct and sorted",
    ),
}


@pytest.mark.parametrize("name", list(KN_TAMPERING))
def test_kn_tampered_file_is_refused(kn_file, tmp_path, name):
    _, path = kn_file
    tamper, message = KN_TAMPERING[name]
    bad = write_members(tmp_path / "bad.npz", tamper(members_of(path)))
    with pytest.raises(ModelFileError, match=message):
        KneserNeyGenerator.load(bad)
    with pytest.raises(ModelFileError, match=message):
        load_model(bad)


def test_kn_pickle_round_trip(kn_file, dinosaurs):
    model, _ = kn_file
    loaded = pickle.loads(pickle.dumps(model))
    assert_same_scores_and_samples(model, loaded, dinosaurs[400:430])


# --------------------------------------------------------------- mixture


@pytest.fixture(scope="module")
def mixture_file(dinosaurs, tmp_path_factory):
    model = small_mixture().fit(dinosaurs[:200])
    path = tmp_path_factory.mktemp("mixture") / "mixture.npz"
    model.save(path)
    return model, path


def test_mixture_round_trip(mixture_file, dinosaurs):
    model, path = mixture_file
    loaded = GeneratorMixture.load(path)
    assert set(vars(loaded)) == set(vars(model))
    assert type(loaded.estimators) is list
    assert [(n, type(e)) for n, e in loaded.estimators] == [
        (n, type(e)) for n, e in model.estimators
    ]
    assert loaded.get_params(deep=True).keys() == model.get_params(deep=True).keys()
    for key, value in model.get_params(deep=True).items():
        if key != "estimators" and not hasattr(value, "get_params"):
            assert loaded.get_params(deep=True)[key] == value, key
    np.testing.assert_array_equal(loaded.weights_, model.weights_)
    assert loaded.em_curve_ == model.em_curve_
    assert list(loaded.named_estimators_) == ["rnn", "ngram"]
    assert loaded.named_estimators_["rnn"] is loaded.estimators_[0]
    assert loaded.estimators_[0].random_state == model.estimators_[0].random_state
    assert_same_scores_and_samples(model, loaded, dinosaurs[200:240] + ["qqq"])
    assert loaded.complete(["an"], n_samples=2, most_likely=True) == model.complete(
        ["an"], n_samples=2, most_likely=True
    )


def test_mixture_round_trip_of_default_estimators_fixed_weights_and_states(
    tmp_path,
):
    model = small_mixture(weights=[3, 1], random_state=np.random.RandomState(5))
    model.set_params(ngram__random_state=np.random.RandomState(7))
    model.fit(NAMES)
    # a mixture built with the default estimators records null
    model.estimators = None
    model.save(tmp_path / "m.npz", include_optimizer=False)
    loaded = GeneratorMixture.load(tmp_path / "m.npz")
    assert loaded.estimators is None and loaded.weights == [3.0, 1.0]
    assert isinstance(loaded.random_state, np.random.RandomState)
    assert (
        loaded.random_state.get_state()[1] == model.random_state.get_state()[1]
    ).all()
    np.testing.assert_allclose(loaded.weights_, [0.75, 0.25])
    assert_same_scores_and_samples(model, loaded, NAMES + ["xavier"])


def test_mixture_component_random_state_instance_round_trips(tmp_path):
    model = GeneratorMixture(
        [("a", KneserNeyGenerator(order=2, random_state=np.random.RandomState(1)))],
        random_state=0,
    ).fit(NAMES)
    model.save(tmp_path / "m.npz")
    loaded = GeneratorMixture.load(tmp_path / "m.npz")
    for fitted, original in (
        (loaded.estimators_[0], model.estimators_[0]),
        (loaded.estimators[0][1], model.estimators[0][1]),
    ):
        assert isinstance(fitted.random_state, np.random.RandomState)
        np.testing.assert_array_equal(
            fitted.random_state.get_state()[1], original.random_state.get_state()[1]
        )
    assert_same_scores_and_samples(model, loaded, NAMES)


def test_mixture_round_trip_of_token_arrays(tmp_path):
    X = np.array([[1, 2, 3], [2, 2, 1], [3, 1, 1], [1, 3, 2]])
    model = small_mixture().fit(X)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.input_kind_ == "tokens" and loaded.n_features_in_ == 3
    np.testing.assert_array_equal(model.score_samples(X), loaded.score_samples(X))


def test_mixture_of_unsupported_components_is_refused_on_save(tmp_path):
    inner = GeneratorMixture([("a", KneserNeyGenerator(order=2))])
    nested = GeneratorMixture([("inner", inner)], random_state=0).fit(NAMES)
    with pytest.raises(ValueError, match="not GeneratorMixture. Use pickle"):
        nested.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
    # pickle carries it
    loaded = pickle.loads(pickle.dumps(nested))
    np.testing.assert_array_equal(
        loaded.score_samples(NAMES), nested.score_samples(NAMES)
    )


def test_mixture_save_refuses_a_component_its_own_save_refuses(tmp_path):
    model = GeneratorMixture(
        [("a", KneserNeyGenerator(order=2)), ("b", KneserNeyGenerator(order=3))],
        random_state=0,
    ).fit(NAMES)
    model.estimators_[1].set_params(order=4)
    with pytest.raises(ValueError, match="component 'b'.*order=4"):
        model.save(tmp_path / "m.npz")


def test_mixture_pickle_round_trip(mixture_file, dinosaurs):
    model, _ = mixture_file
    loaded = pickle.loads(pickle.dumps(model))
    assert_same_scores_and_samples(model, loaded, dinosaurs[200:230])


def component_array(index, name, edit):
    return edit_array(f"components/{index}/{name}", edit)


def set_component(index, edit):
    return edit_metadata(lambda m: edit(m["components"][index]))


MIXTURE_TAMPERING = {
    "negative weight": (
        edit_array("mixture/weights_", lambda a: np.array([1.2, -0.2])),
        "weights_ must be finite and non-negative",
    ),
    "weights that do not sum to 1": (
        edit_array("mixture/weights_", lambda a: a * 0.9),
        "weights_ must sum to 1",
    ),
    "NaN weight": (
        edit_array("mixture/weights_", lambda a: set_item(a, 0, np.nan)),
        "weights_ must be finite",
    ),
    "weights contradict fixed weights": (
        edit_metadata(lambda m: m["mixture"].update(weights=[1, 1])),
        r"fix weights=\[1.0, 1.0\] but weights_ are",
    ),
    "negative weights parameter": (
        edit_metadata(lambda m: m["mixture"].update(weights=[-1, 2])),
        "mixture.weights must be 'auto' or 2 non-negative numbers",
    ),
    "n-gram component's transition out of range": (
        component_array(1, "model/transitions_", lambda a: set_item(a, (0, 1), 10**6)),
        "component 'ngram': row 0 of transitions_ holds a node outside",
    ),
    "n-gram component's row off 1": (
        component_array(1, "model/log_probs_", lambda a: scale_row(a, 0, 0.5)),
        "component 'ngram': row 0 of log_probs_ sums to 0.5",
    ),
    "RNN component's weight not finite": (
        component_array(0, "weights/W_y", lambda a: set_item(a, (0, 0), np.inf)),
        "component 'rnn': weights 'W_y' hold non-finite values",
    ),
    "RNN component's parameters contradict its weights": (
        set_component(0, lambda c: c["params"].update(hidden_size=9)),
        "component 'rnn': the parameters say hidden_size=9",
    ),
    "component of an unknown class": (
        set_component(1, lambda c: c.update(estimator="os.system")),
        "components\\[1\\].estimator must be one of",
    ),
    "components with the same name": (
        set_component(1, lambda c: c.update(name="rnn")),
        "components with distinct names",
    ),
    "estimators that do not name the components": (
        edit_metadata(lambda m: m["mixture"]["estimators"][0].update(name="x")),
        "mixture.estimators\\[0\\].name must be 'rnn'",
    ),
    "component fitted on another input kind": (
        set_component(
            1, lambda c: c["sections"]["vocabulary"].update(input_kind="tokens")
        ),
        "component 'ngram': .*one-character|another input kind",
    ),
    "component's section missing": (
        set_component(1, lambda c: c["sections"].pop("model")),
        "components\\[1\\].sections lacks keys \\['model'\\]",
    ),
    "component's array missing": (
        lambda m: {k: v for k, v in m.items() if k != "components/1/model/ngrams_.npy"},
        "missing \\['components/1/model/ngrams_.npy'\\]",
    ),
    "mixture's own parameter invalid": (
        edit_metadata(lambda m: m["params"].update(validation_fraction=1.5)),
        "invalid parameters: The 'validation_fraction' parameter",
    ),
}


@pytest.mark.parametrize("name", list(MIXTURE_TAMPERING))
def test_mixture_tampered_file_is_refused(mixture_file, tmp_path, name):
    _, path = mixture_file
    tamper, message = MIXTURE_TAMPERING[name]
    bad = write_members(tmp_path / "bad.npz", tamper(members_of(path)))
    with pytest.raises(ModelFileError, match=message):
        GeneratorMixture.load(bad)


def test_fixed_weights_parameter_loads_when_it_matches(tmp_path):
    model = GeneratorMixture(
        [("a", KneserNeyGenerator(order=2)), ("b", KneserNeyGenerator(order=3))],
        weights=[1, 3],
        random_state=0,
    ).fit(NAMES)
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.weights == [1.0, 3.0]
    np.testing.assert_allclose(loaded.weights_, [0.25, 0.75])


# ------------------------------------------------------------ load_model


def test_load_model_picks_the_class_named_in_the_file(kn_file, mixture_file, tmp_path):
    rnn = CharRNNGenerator(**SMALL_RNN, random_state=0).fit(NAMES)
    save_model(rnn, tmp_path / "rnn.npz", include_optimizer=False)
    save_model(kn_file[0], tmp_path / "kn.npz", include_optimizer=False)
    for path, model in (
        (tmp_path / "rnn.npz", rnn),
        (kn_file[1], kn_file[0]),
        (tmp_path / "kn.npz", kn_file[0]),
        (mixture_file[1], mixture_file[0]),
    ):
        loaded = load_model(path)
        assert type(loaded) is type(model)
        assert_same_scores_and_samples(model, loaded, NAMES)
    with pytest.raises(ModelFileError, match="GeneratorMixture"):
        KneserNeyGenerator.load(mixture_file[1])
    with pytest.raises(ModelFileError, match="CharRNNGenerator"):
        GeneratorMixture.load(tmp_path / "rnn.npz")
