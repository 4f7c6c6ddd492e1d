"""What a CharRNNClassifier keeps in a model file, and how it is checked.

A classifier's file is one model file (the container of
:mod:`._persistence`) that holds its fitted generator whole. Its parameters
are the classifier's, all but ``class_prior`` (an array, which the
container's parameters cannot hold); its sections are

- ``class_prior``: null, or one probability per class, in the order of
  ``classes``;
- ``classes``: ``classes_``, the sorted labels;
- ``generator``: ``generator_`` as ``{"estimator", "params", "sections"}``,
  its class and exactly what its own file would hold (see
  :mod:`._nested_file`);
- ``fitted``: ``n_iter_`` and, after a 2-D fit, ``n_features_in_`` and
  ``feature_names_in_``;

and the arrays ``fitted/class_log_prior_`` (float64, one per class) and
every array of the generator under ``generator/``.

The generator is checked by its own class's schema, with ``generator_:``
opening every message; then the classifier around it: the generator was
fitted with labels and its classes are ``classes``; ``class_prior`` is null
or what ``fit`` accepts (one probability per class, summing to 1);
``class_log_prior_`` holds one finite or ``-inf`` entry per class whose
exponentials sum to 1, and it is the log of ``class_prior``, or of the
generator's class frequencies when ``class_prior`` is null; the columns are
the generator's. The generator may be a :class:`CharRNNGenerator`, a
:class:`KneserNeyGenerator` or a :class:`GeneratorMixture`.

This module takes the classifier's class as an argument and never imports it.
"""

from functools import partial

import numpy as np

from . import _file_parts, _mixture_file, _nested_file, _persistence
from ._labels import short_repr
from ._mixture import GeneratorMixture
from ._params import real_numbers
from ._persistence import (
    ModelFileError,
    ModelSchema,
    check_float,
    check_int,
    check_keys,
    check_list,
    fail,
)

SECTIONS = ("class_prior", "classes", "generator", "fitted")
# The classes a classifier's file holds as its generator, with their modules.
GENERATORS = {
    **_mixture_file.COMPONENTS,
    "GeneratorMixture": (GeneratorMixture, _mixture_file),
}
# Epoch counts: exact in a float64, and more than any fit reaches.
MAX_COUNT = 2**53
_LOG_PRIOR = "fitted/class_log_prior_"
_PREFIX = "generator/"
_PLACE = "generator_"
_FITTED = (
    "classes_",
    "class_log_prior_",
    "generator_",
    "n_iter_",
    *_file_parts.COLUMNS,
)


def schema(estimator_class):
    """The :class:`~._persistence.ModelSchema` of ``estimator_class``."""
    return ModelSchema(
        estimator=estimator_class.__name__,
        sections=SECTIONS,
        check_params=partial(_check_params, estimator_class),
        check_sections=_check_sections,
        check_arrays=_check_arrays,
    )


# ------------------------------------------------------------------ save


def fitted_state(estimator, include_optimizer=True):
    """The parameters, JSON sections and arrays of a fitted classifier.

    Returns
    -------
    params : dict
        The parameters but ``class_prior``.
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
    prior = params.pop("class_prior")
    arrays = {_LOG_PRIOR: np.asarray(estimator.class_log_prior_, dtype=np.float64)}
    generator = _nested_file.entry(
        estimator.generator_, GENERATORS, arrays, _PREFIX, include_optimizer
    )
    sections = {
        "class_prior": None if prior is None else _prior_list(estimator, prior),
        "classes": np.asarray(estimator.classes_).tolist(),
        "generator": generator,
        "fitted": {
            "n_iter_": _persistence.json_scalar(estimator.n_iter_, "n_iter_"),
            **_file_parts.columns(estimator),
        },
    }
    return params, sections, arrays


def _prior_list(estimator, prior):
    """``class_prior`` as the file stores it: a list of finite numbers."""
    values = real_numbers(prior)
    if values is None or not np.isfinite(values).all():
        raise ValueError(
            f"Cannot save {type(estimator).__name__}: class_prior="
            f"{short_repr(prior)} is not an array of probabilities, one per "
            "class (fit sets class_log_prior_: a class_prior set after fit "
            "counts from the next fit)."
        )
    return values.tolist()


# ------------------------------------------------------------------ check


def _check_params(estimator_class, params):
    names = tuple(
        name
        for name in estimator_class().get_params(deep=False)
        if name != "class_prior"
    )
    check_keys(params, "params", names)
    estimator_class(**params)._validate_params()


def _check_sections(params, sections):
    """Check the generator by its schema, then the classifier around it."""
    entry = check_keys(sections["generator"], "generator", _nested_file.ENTRY_KEYS)
    generator, arrays = _nested_file.check_entry(
        entry, "generator", _PREFIX, GENERATORS, _PLACE
    )
    vocabulary = generator["state"]["vocabulary"]
    if "classes" not in vocabulary:
        raise ModelFileError(
            f"{_PLACE} was fitted without labels (its vocabulary holds no "
            "classes); a classifier's generator is fitted with them"
        )
    classes = _check_classes(sections["classes"], vocabulary["classes"])
    prior = sections["class_prior"]
    if prior is not None:
        prior = _check_prior(prior, len(classes))
    fitted = check_keys(sections["fitted"], "fitted", ("n_iter_",), _file_parts.COLUMNS)
    checked = {
        "n_iter_": check_int(fitted["n_iter_"], "fitted.n_iter_", maximum=MAX_COUNT),
        **_file_parts.check_columns(fitted, vocabulary["input_kind"]),
    }
    _check_same_columns(checked, generator["state"]["fitted"])
    arrays[_LOG_PRIOR] = ((len(classes),), np.dtype(np.float64))
    state = {
        "generator": generator,
        "class_prior": prior,
        "class_count": vocabulary["class_count"],
        "fitted": checked,
    }
    return state, arrays


def _check_classes(classes, expected):
    """``classes`` must be the generator's, value and type."""
    if (
        type(classes) is not list
        or classes != expected
        or [type(c) for c in classes] != [type(c) for c in expected]
    ):
        fail("classes", f"the generator's classes {short_repr(expected)}", classes)
    return classes


def _check_prior(prior, n_classes):
    """``class_prior`` as fit accepts it: n probabilities summing to 1."""
    prior = check_list(prior, "class_prior", check_float)
    if (
        len(prior) != n_classes
        or any(p < 0 for p in prior)
        or not np.isclose(sum(prior), 1.0)
    ):
        fail(
            "class_prior",
            f"null or {n_classes} probabilities (>= 0, summing to 1), one per class",
            prior,
        )
    return prior


def _check_same_columns(fitted, generator_fitted):
    """The classifier read the columns its generator read."""
    for name in _file_parts.COLUMNS:
        own, theirs = fitted.get(name), generator_fitted.get(name)
        if (own is None) != (theirs is None) or (
            own is not None and np.asarray(own).tolist() != np.asarray(theirs).tolist()
        ):
            raise ModelFileError(
                f"metadata fitted.{name} is {short_repr(own)} but the generator's is "
                f"{short_repr(theirs)}"
            )


def _check_arrays(state, arrays):
    """The generator's arrays by its schema; the log prior."""
    _nested_file.check_arrays(state["generator"], arrays, _PLACE)
    log_prior = arrays[_LOG_PRIOR]
    if np.isnan(log_prior).any() or (log_prior == np.inf).any():
        raise ModelFileError(
            "class_log_prior_ must hold finite values or -inf; got "
            f"{short_repr(log_prior)}"
        )
    total = float(np.exp(log_prior).sum())
    if not np.isclose(total, 1.0):
        raise ModelFileError(
            f"the exponentials of class_log_prior_ must sum to 1; they sum to {total!r}"
        )
    _check_prior_source(log_prior, state["class_prior"], state["class_count"])


def _check_prior_source(log_prior, prior, class_count):
    """``class_log_prior_`` is the log of ``class_prior``, or of the frequencies."""
    if prior is None:
        counts = np.asarray(class_count, dtype=float)
        source, expected = "the generator's class frequencies", counts / counts.sum()
    else:
        source, expected = f"class_prior={short_repr(prior)}", np.asarray(prior)
    with np.errstate(divide="ignore"):
        expected = np.log(expected)
    zero = np.isneginf(expected)
    if not (
        np.array_equal(zero, np.isneginf(log_prior))
        and np.allclose(log_prior[~zero], expected[~zero], rtol=1e-12, atol=1e-12)
    ):
        raise ModelFileError(
            f"class_log_prior_ is {short_repr(log_prior)} but {source} gives "
            f"{short_repr(expected)} (fit sets class_log_prior_: a class_prior "
            "set after fit counts from the next fit)"
        )


# ------------------------------------------------------------------ build


def build(estimator_class, contents):
    """Assemble the classifier from checked contents (nothing can fail here)."""
    state, arrays = contents.state, contents.arrays
    generator = _nested_file.build(
        state["generator"], arrays, contents.versions, GENERATORS
    )
    estimator = estimator_class(**contents.params, class_prior=state["class_prior"])
    estimator.generator_ = generator
    estimator.classes_ = generator.classes_
    estimator.class_log_prior_ = arrays[_LOG_PRIOR]
    for name, value in state["fitted"].items():
        setattr(estimator, name, value)
    return estimator
