"""What a GeneratorMixture keeps in a model file, and how it is checked.

A mixture's file is one model file (the container of :mod:`._persistence`)
that holds its components whole. Its parameters are ``validation_fraction``
and ``random_state``; its sections are

- ``mixture``: the ``weights`` parameter (``"auto"`` or a list of numbers)
  and the ``estimators`` parameter: null for the default, or a list of
  ``{"name", "params"}``, one per component, of the same class as the
  fitted component at that place;
- ``components``: one entry per fitted component, in order: its ``name``,
  its class (``estimator``), its ``params`` and its ``sections``, exactly
  what the component's own file would hold;
- ``vocabulary``, ``fitted`` (``max_length_``, ``em_curve_`` and, after a
  2-D fit, the columns) and ``fitted_arrays`` (the length of
  ``training_hashes_``), as in every generator's file; a mixture fitted
  with labels also keeps ``classes``, ``class_type``, ``class_count`` and
  ``class_dtype`` in ``vocabulary``, and its components were fitted with them;

and the arrays ``mixture/weights_``, ``fitted/training_hashes_``, and every
array of component ``i`` under ``components/i/`` (a RandomState parameter
of component ``i`` under ``components/i/random_state/keys``, of the
``estimators`` parameter under ``estimators/i/random_state/keys``). Places,
not names, key the arrays: a name is any str.

Every component is checked by its own class's schema (the one its own file
uses), with its name in every message; then the mixture: a component's
input kind must be the mixture's, the unfitted ``estimators`` must match
the fitted components' names and classes, a component of a mixture fitted
with labels must know only the mixture's labels (and one of a mixture
fitted without must know none), and ``weights_`` must be finite,
non-negative and sum to 1 (and equal the normalised ``weights`` when those
are fixed). Components may be :class:`CharRNNGenerator` and
:class:`KneserNeyGenerator`; a mixture of mixtures is pickled instead.

This module takes the mixture's class as an argument and never imports it.
"""

from functools import partial

import numpy as np
from sklearn.utils import Bunch

from . import _charrnn_file, _file_parts, _nested_file, _ngram_file, _persistence
from ._estimator import CharRNNGenerator
from ._persistence import (
    ModelFileError,
    ModelSchema,
    check_float,
    check_keys,
    check_list,
    check_str,
    fail,
)
from .ngram import KneserNeyGenerator

SECTIONS = ("mixture", "components", "vocabulary", "fitted", "fitted_arrays")
# The classes a mixture's file holds as components, with their file modules.
COMPONENTS = {
    "CharRNNGenerator": (CharRNNGenerator, _charrnn_file),
    "KneserNeyGenerator": (KneserNeyGenerator, _ngram_file),
}
# How far the weights may sum from 1: they are normalised when fitted.
WEIGHT_SUM_TOLERANCE = 1e-9
# More components than any ensemble a person fits; bounds what is checked.
MAX_COMPONENTS = 1024
_WEIGHTS = "mixture/weights_"
_FITTED = (
    "estimators_",
    "named_estimators_",
    "weights_",
    "em_curve_",
    "vocabulary_",
    "input_kind_",
    "max_length_",
    "training_hashes_",
    "classes_",
    "class_count_",
    *_file_parts.COLUMNS,
)


def schema(estimator_class):
    """The :class:`~._persistence.ModelSchema` of ``estimator_class``."""
    return ModelSchema(
        estimator=estimator_class.__name__,
        sections=SECTIONS,
        check_params=partial(_check_params, estimator_class),
        check_sections=partial(_check_sections, estimator_class),
        check_arrays=_check_arrays,
    )


# ------------------------------------------------------------------ save


def fitted_state(estimator, include_optimizer=True):
    """The parameters, JSON sections and arrays of a fitted mixture.

    Returns
    -------
    params : dict
    sections : dict
        Keyed by :data:`SECTIONS`.
    arrays : dict of str to ndarray
    """
    params = estimator.get_params(deep=False)
    unknown = sorted(set(vars(estimator)) - set(params) - set(_FITTED))
    if unknown:
        raise ValueError(
            f"Cannot save {type(estimator).__name__}: the model file format does "
            f"not know the attributes {unknown}. Use pickle or joblib instead."
        )
    arrays = {_WEIGHTS: np.asarray(estimator.weights_)}
    names = list(estimator.named_estimators_)
    components = []
    for i, (name, component) in enumerate(
        zip(names, estimator.estimators_, strict=True)
    ):
        nested = _nested_file.entry(
            component, COMPONENTS, arrays, f"components/{i}/", include_optimizer
        )
        components.append({"name": name, **nested})
    mixture = {
        "weights": _weights_param(params["weights"]),
        "estimators": _estimators_param(params["estimators"], arrays),
    }
    fitted = {
        "max_length_": _persistence.json_scalar(estimator.max_length_, "max_length_"),
        "em_curve_": None
        if estimator.em_curve_ is None
        else _file_parts.json_value(estimator.em_curve_, "em_curve_"),
        **_file_parts.columns(estimator),
    }
    sections = {
        "mixture": mixture,
        "components": components,
        "vocabulary": _vocabulary_section(estimator),
        "fitted": fitted,
        "fitted_arrays": {
            "training_hashes_": _file_parts.hashes_section(estimator, arrays)
        },
    }
    params = {
        "validation_fraction": params["validation_fraction"],
        "random_state": params["random_state"],
    }
    return params, sections, arrays


def _vocabulary_section(estimator):
    vocabulary = _file_parts.vocabulary_section(estimator)
    if hasattr(estimator, "classes_"):
        vocabulary.update(_file_parts.labels_section(estimator))
    return vocabulary


def _weights_param(weights):
    if isinstance(weights, str):
        return weights
    return _file_parts.json_value(np.asarray(weights).reshape(-1), "weights")


def _estimators_param(estimators, arrays):
    if estimators is None:
        return None
    return [
        {
            "name": name,
            "params": _persistence.params_to_json(
                estimator.get_params(deep=False), arrays, f"estimators/{i}/"
            ),
        }
        for i, (name, estimator) in enumerate(estimators)
    ]


# ------------------------------------------------------------------ check


def _check_params(estimator_class, params):
    check_keys(params, "params", ("validation_fraction", "random_state"))
    estimator_class(**params)._validate_params()


def _check_sections(estimator_class, params, sections):
    """Check every component by its schema, then the mixture around them."""
    vocabulary = _file_parts.check_labelled_vocabulary(sections["vocabulary"])
    entries = sections["components"]
    if type(entries) is not list or not 1 <= len(entries) <= MAX_COMPONENTS:
        fail("components", f"a list of 1 to {MAX_COMPONENTS} components", entries)
    arrays, components = {}, []
    for i, entry in enumerate(entries):
        component, component_arrays = _check_component(entry, i)
        if component["state"]["vocabulary"]["input_kind"] != vocabulary["input_kind"]:
            raise ModelFileError(
                f"component {component['name']!r} was fitted on another input kind "
                "than the mixture"
            )
        _check_component_labels(component, vocabulary)
        components.append(component)
        arrays.update(component_arrays)
    names = [component["name"] for component in components]
    if len(set(names)) != len(names):
        fail("components", "components with distinct names", names)
    mixture = check_keys(sections["mixture"], "mixture", ("weights", "estimators"))
    weights = _check_weights_param(mixture["weights"], len(components))
    unfitted, unfitted_arrays = _check_estimators(
        estimator_class, mixture["estimators"], components
    )
    arrays.update(unfitted_arrays)
    fitted = check_keys(
        sections["fitted"],
        "fitted",
        ("max_length_", "em_curve_"),
        _file_parts.COLUMNS,
    )
    curve = fitted["em_curve_"]
    checked = {
        "max_length_": _file_parts.check_max_length(
            fitted["max_length_"], "fitted.max_length_"
        ),
        "em_curve_": None
        if curve is None
        else check_list(curve, "fitted.em_curve_", check_float),
        **_file_parts.check_columns(fitted, vocabulary["input_kind"]),
    }
    lengths = check_keys(
        sections["fitted_arrays"], "fitted_arrays", ("training_hashes_",)
    )
    arrays.update(
        _file_parts.check_hashes_length(
            lengths["training_hashes_"], "fitted_arrays.training_hashes_"
        )
    )
    arrays[_WEIGHTS] = ((len(components),), np.dtype(np.float64))
    state = {
        "vocabulary": vocabulary,
        "components": components,
        "weights": weights,
        "estimators": unfitted,
        "fitted": checked,
    }
    return state, arrays


def _check_component(entry, i):
    """One component, by its class's own schema; its arrays under its prefix."""
    where = f"components[{i}]"
    entry = check_keys(entry, where, ("name", *_nested_file.ENTRY_KEYS))
    name = check_str(entry["name"], f"{where}.name")
    component, arrays = _nested_file.check_entry(
        entry, where, f"components/{i}/", COMPONENTS, f"component {name!r}"
    )
    return {"name": name, **component}, arrays


def _check_component_labels(component, vocabulary):
    """A component knows only the mixture's labels, and none without them."""
    own = component["state"]["vocabulary"].get("classes")
    labels = vocabulary.get("classes")
    if (own is None) != (labels is None) or (
        own is not None and not set(own) <= set(labels)
    ):
        raise ModelFileError(
            f"component {component['name']!r} knows the labels {own}, but the "
            f"mixture knows {labels}"
        )


def _check_weights_param(weights, n_components):
    """``"auto"``, or one non-negative number per component, not all zero."""
    if weights == "auto":
        return weights
    if (
        type(weights) is not list
        or len(weights) != n_components
        or any(
            type(w) not in (int, float) or not 0 <= w < float("inf") for w in weights
        )
        or sum(weights) <= 0
    ):
        fail(
            "mixture.weights",
            f"'auto' or {n_components} non-negative numbers, not all zero",
            weights,
        )
    return [float(w) for w in weights]


def _check_estimators(estimator_class, estimators, components):
    """The ``estimators`` parameter: the fitted components' names and classes.

    Returns
    -------
    unfitted : list of (str, str, dict) or None
        Name, class name and parameters of each; None for the default.
    arrays : dict of str to (shape, dtype)
    """
    fitted = [(c["name"], c["class_name"]) for c in components]
    if estimators is None:
        defaults = estimator_class()._named_estimators()
        expected = [(name, type(e).__name__) for name, e in defaults]
        if expected != fitted:
            raise ModelFileError(
                f"mixture.estimators is null (the default, {expected}) but the "
                f"components are {fitted}"
            )
        return None, {}
    if type(estimators) is not list or len(estimators) != len(components):
        fail("mixture.estimators", f"null or a list of {len(components)}", estimators)
    unfitted, arrays = [], {}
    for i, (entry, (name, class_name)) in enumerate(
        zip(estimators, fitted, strict=True)
    ):
        where = f"mixture.estimators[{i}]"
        entry = check_keys(entry, where, ("name", "params"))
        if entry["name"] != name:
            fail(
                f"{where}.name", f"{name!r}, the fitted component's name", entry["name"]
            )
        component_class, module = COMPONENTS[class_name]
        params, params_arrays = _persistence.check_params(
            entry["params"],
            module.schema(component_class).check_params,
            where=f"{where}.params",
            prefix=f"estimators/{i}/",
        )
        unfitted.append((name, class_name, params))
        arrays.update(params_arrays)
    return unfitted, arrays


def _check_arrays(state, arrays):
    """Every component's arrays by its schema; the weights; the hashes."""
    for component in state["components"]:
        _nested_file.check_arrays(component, arrays, f"component {component['name']!r}")
    _check_weights(arrays[_WEIGHTS], state["weights"])
    _file_parts.check_hashes(arrays[_file_parts.HASHES])


def _check_weights(weights, fixed):
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ModelFileError(
            f"weights_ must be finite and non-negative; got {weights.tolist()}"
        )
    if abs(weights.sum() - 1) > WEIGHT_SUM_TOLERANCE:
        raise ModelFileError(
            f"weights_ must sum to 1 (within {WEIGHT_SUM_TOLERANCE}); they sum to "
            f"{float(weights.sum())!r}"
        )
    if fixed != "auto":
        expected = np.asarray(fixed) / np.sum(fixed)
        if not np.allclose(weights, expected, rtol=1e-12, atol=1e-15):
            raise ModelFileError(
                f"the parameters fix weights={fixed} but weights_ are "
                f"{weights.tolist()}"
            )


# ------------------------------------------------------------------ build


def build(estimator_class, contents):
    """Assemble the mixture from checked contents (nothing can fail here)."""
    state, arrays = contents.state, contents.arrays
    components = [
        _nested_file.build(component, arrays, contents.versions, COMPONENTS)
        for component in state["components"]
    ]
    estimators = None
    if state["estimators"] is not None:
        estimators = [
            (
                name,
                COMPONENTS[class_name][0](
                    **_persistence.params_from_json(params, arrays, f"estimators/{i}/")
                ),
            )
            for i, (name, class_name, params) in enumerate(state["estimators"])
        ]
    estimator = estimator_class(estimators, weights=state["weights"], **contents.params)
    tokens = state["vocabulary"]["tokens"]
    estimator.vocabulary_ = {token: i + 1 for i, token in enumerate(tokens)}
    estimator.input_kind_ = state["vocabulary"]["input_kind"]
    estimator.estimators_ = components
    estimator.named_estimators_ = Bunch(
        **{c["name"]: e for c, e in zip(state["components"], components, strict=True)}
    )
    estimator.weights_ = arrays[_WEIGHTS]
    for name, value in state["fitted"].items():
        setattr(estimator, name, value)
    estimator.training_hashes_ = arrays[_file_parts.HASHES]
    if "classes" in state["vocabulary"]:
        estimator.classes_ = _file_parts.classes_array(state["vocabulary"])
        estimator.class_count_ = np.asarray(
            state["vocabulary"]["class_count"], dtype=float
        )
    return estimator
