"""What a CharRNNGenerator keeps in a model file, and how it is checked.

The container (:mod:`._persistence`) stores the parameters and any JSON
sections and arrays an estimator hands it. A CharRNNGenerator hands it

- ``network``: cell, layers, hidden size, number of tokens and dtype of the
  weights (which must agree with the parameters);
- ``vocabulary``: the input kind and the sorted tokens, with their type;
  for a model fitted with labels, also ``classes`` (the sorted labels),
  their ``class_type``, ``class_count`` (training sequences per label) and
  ``class_dtype`` (the dtype of ``classes_``; files written before it was
  kept load without it), and then the weights hold the label embedding
  ``E``, one row per class;
- ``fitted``: ``n_iter_``, ``t_``, the loss and validation curves,
  ``max_length_`` and, after a 2-D fit, ``n_features_in_`` and
  ``feature_names_in_``;
- ``fitted_arrays``: the length of ``training_hashes_``;
- ``optimizer``: AdamW's numbers and step count (null when saved without
  it);

and the arrays ``weights/<name>``, ``optimizer/{m,v}/<name>`` and
``fitted/training_hashes_``. :func:`schema` says how to check all of it, so
that the same checks run when saving and when loading: parameters against
the estimator's constraints, the weights' shapes against the network and the
network against the parameters, optimizer numbers against the constraints of
the parameters they come from, and sizes against bounds.

This module takes the estimator class as an argument and never imports it.
"""

from functools import partial

import numpy as np
from sklearn.utils._param_validation import validate_parameter_constraints

from . import _persistence
from ._file_parts import (
    COLUMNS,
    MAX_SEQUENCE_LENGTH,
    check_labelled_vocabulary,
    classes_array,
    columns,
    json_value,
    labels_section,
    vocabulary_section,
)
from ._params import check_epsilon
from ._persistence import (
    ModelFileError,
    ModelSchema,
    check_float,
    check_int,
    check_keys,
    check_list,
    check_str,
    fail,
)
from ._sequences import STRING
from .nn.cells import CELLS
from .nn.network import is_decayed, weight_shapes
from .nn.optim import AdamW

SECTIONS = ("network", "vocabulary", "fitted", "fitted_arrays", "optimizer")
# Step and epoch counts: exact in a float64, and more than any fit reaches.
MAX_COUNT = 2**53
_FLOAT_DTYPES = ("float32", "float64")
_FITTED = (
    "n_iter_",
    "t_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
    "best_loss_",
    "max_length_",
    "_no_improvement_count",
)
# Fitted 1-D arrays of any length, with their dtype; metadata gives the length.
_FITTED_ARRAYS = {"training_hashes_": np.dtype(np.uint64)}
# AdamW's numbers, and the estimator parameter each one comes from.
_OPTIMIZER_NUMBERS = {
    "learning_rate": "learning_rate_init",
    "beta_1": "beta_1",
    "beta_2": "beta_2",
    "epsilon": "epsilon",
    "weight_decay": "weight_decay",
}


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


def fitted_state(estimator, include_optimizer):
    """The parameters, JSON sections and arrays of a fitted estimator.

    Returns
    -------
    params : dict
    sections : dict
        Keyed by :data:`SECTIONS`.
    arrays : dict of str to ndarray
    """
    params = estimator.get_params(deep=False)
    _check_known_attributes(estimator, params)
    weights = estimator.weights_
    hidden_size, n_tokens = weights["W_y"].shape
    dtype = weights["W_y"].dtype
    network = {
        "cell": params["cell"],
        "n_layers": _persistence.json_scalar(params["n_layers"], "n_layers"),
        "hidden_size": int(hidden_size),
        "n_tokens": int(n_tokens),
        "dtype": dtype.name,
    }
    shapes = weight_shapes(
        cell=network["cell"],
        n_layers=network["n_layers"],
        hidden_size=network["hidden_size"],
        n_tokens=network["n_tokens"],
        n_classes=len(getattr(estimator, "classes_", ())),
    )
    _check_saved_arrays(weights, shapes, dtype, "weights_")
    arrays = {f"weights/{name}": weights[name] for name in shapes}

    vocabulary = vocabulary_section(estimator)
    if hasattr(estimator, "classes_"):
        vocabulary.update(labels_section(estimator))
    fitted = {name: json_value(getattr(estimator, name), name) for name in _FITTED}
    fitted.update(columns(estimator))
    fitted_arrays = {}
    for name in _FITTED_ARRAYS:
        if hasattr(estimator, name):
            array = np.asarray(getattr(estimator, name))
            fitted_arrays[name] = len(array) if array.ndim == 1 else -1
            arrays[f"fitted/{name}"] = array
    optimizer = None
    if include_optimizer:
        adam = estimator._optimizer
        optimizer = {
            name: _persistence.json_scalar(getattr(adam, name), f"optimizer {name}")
            for name in _OPTIMIZER_NUMBERS
        }
        optimizer["t"] = int(adam.t)
        optimizer["decay"] = {name: bool(adam.decay[name]) for name in shapes}
        for moment in ("m", "v"):
            values = getattr(adam, moment)
            _check_saved_arrays(values, shapes, dtype, f"optimizer moment {moment}")
            arrays.update(
                (f"optimizer/{moment}/{name}", values[name]) for name in shapes
            )
    sections = {
        "network": network,
        "vocabulary": vocabulary,
        "fitted": fitted,
        "fitted_arrays": fitted_arrays,
        "optimizer": optimizer,
    }
    return params, sections, arrays


def _check_known_attributes(estimator, params):
    known = set(params) | set(_FITTED) | set(COLUMNS) | set(_FITTED_ARRAYS)
    known |= {"vocabulary_", "input_kind_", "weights_", "_optimizer"}
    known |= {"classes_", "class_count_"}
    unknown = sorted(set(vars(estimator)) - known)
    if unknown:
        raise ValueError(
            f"Cannot save {type(estimator).__name__}: the model file format does "
            f"not know the attributes {unknown}. Use pickle or joblib instead."
        )


def _check_saved_arrays(values, shapes, dtype, what):
    if set(values) != set(shapes):
        raise ValueError(
            f"Cannot save: {what} has arrays {sorted(values)}, expected "
            f"{sorted(shapes)} for these parameters (were cell or n_layers "
            "changed after fit?)."
        )
    for name, shape in shapes.items():
        array = values[name]
        if array.shape != shape or array.dtype != dtype:
            raise ValueError(
                f"Cannot save: {what}[{name!r}] has shape {array.shape} and dtype "
                f"{array.dtype}, expected {shape} and {dtype} (were cell or "
                "n_layers changed after fit?)."
            )
        if not np.isfinite(array).all():
            raise ValueError(f"Cannot save: {what}[{name!r}] is not finite.")


# ------------------------------------------------------------------ check


def _check_params(estimator_class, params):
    names = tuple(estimator_class().get_params(deep=False))
    check_keys(params, "params", names)
    estimator_class(**params)._validate_params()


def _check_sections(estimator_class, params, sections):
    """Check the sections against each other and the parameters."""
    network = _check_network(sections["network"], params)
    dtype = np.dtype(network["dtype"])
    vocabulary = check_labelled_vocabulary(sections["vocabulary"])
    shapes = weight_shapes(
        cell=network["cell"],
        n_layers=network["n_layers"],
        hidden_size=network["hidden_size"],
        n_tokens=network["n_tokens"],
        n_classes=len(vocabulary.get("classes", ())),
    )
    arrays = {f"weights/{name}": (shape, dtype) for name, shape in shapes.items()}
    if len(vocabulary["tokens"]) + 2 != network["n_tokens"]:
        raise ModelFileError(
            f"the vocabulary has {len(vocabulary['tokens'])} tokens but the "
            f"weights are for {network['n_tokens'] - 2} (n_tokens = "
            f"{network['n_tokens']} counts the boundary and unknown tokens)"
        )
    fitted = _check_fitted(sections["fitted"])
    if vocabulary["input_kind"] == STRING and fitted.get("n_features_in_", 1) != 1:
        raise ModelFileError(
            f"a model fitted on strings reads one column, but fitted.n_features_in_ "
            f"is {fitted['n_features_in_']}"
        )
    lengths = check_keys(sections["fitted_arrays"], "fitted_arrays", (), _FITTED_ARRAYS)
    for name, length in lengths.items():
        check_int(length, f"fitted_arrays.{name}")
        arrays[f"fitted/{name}"] = ((length,), _FITTED_ARRAYS[name])
    optimizer = sections["optimizer"]
    if optimizer is not None:
        optimizer = _check_optimizer(estimator_class, optimizer, shapes, dtype)
        for moment in ("m", "v"):
            arrays.update(
                (f"optimizer/{moment}/{name}", (shape, dtype))
                for name, shape in shapes.items()
            )
    state = {
        "shapes": shapes,
        "vocabulary": vocabulary,
        "fitted": fitted,
        "fitted_arrays": tuple(lengths),
        "optimizer": optimizer,
    }
    return state, arrays


def _check_network(network, params):
    network = check_keys(
        network, "network", ("cell", "n_layers", "hidden_size", "n_tokens", "dtype")
    )
    check_str(network["cell"], "network.cell", set(CELLS))
    check_int(network["n_layers"], "network.n_layers", minimum=1)
    check_int(network["hidden_size"], "network.hidden_size", minimum=1)
    check_int(network["n_tokens"], "network.n_tokens", minimum=2)
    check_str(network["dtype"], "network.dtype", set(_FLOAT_DTYPES))
    for name in ("cell", "n_layers", "hidden_size", "dtype"):
        if network[name] != params[name]:
            raise ModelFileError(
                f"the parameters say {name}={params[name]!r} but the weights are "
                f"for {name}={network[name]!r}"
            )
    return network


def _check_optimizer(estimator_class, optimizer, shapes, dtype):
    """AdamW's numbers: in the ranges of the parameters they come from."""
    optimizer = check_keys(optimizer, "optimizer", (*_OPTIMIZER_NUMBERS, "t", "decay"))
    for name, param in _OPTIMIZER_NUMBERS.items():
        check_float(optimizer[name], f"optimizer.{name}")
        try:
            validate_parameter_constraints(
                {name: estimator_class._parameter_constraints[param]},
                {name: optimizer[name]},
                caller_name="the saved optimizer",
            )
        except ValueError as error:
            raise ModelFileError(f"metadata optimizer.{name}: {error}") from None
    try:
        check_epsilon(optimizer["epsilon"], optimizer["beta_2"], dtype, "epsilon")
    except ValueError as error:
        raise ModelFileError(f"metadata optimizer.epsilon: {error}") from None
    check_int(optimizer["t"], "optimizer.t", maximum=MAX_COUNT)
    decay = check_keys(optimizer["decay"], "optimizer.decay", tuple(shapes))
    for name, value in decay.items():
        if type(value) is not bool:
            fail(f"optimizer.decay.{name}", "a bool", value)
    return optimizer


def _check_fitted(fitted):
    # A 2-D array, or a one-column DataFrame of str, records its columns.
    fitted = check_keys(fitted, "fitted", _FITTED, COLUMNS)

    def loss(value, where):
        return check_float(value, where, finite=False)

    result = {
        "n_iter_": check_int(fitted["n_iter_"], "fitted.n_iter_", maximum=MAX_COUNT),
        "t_": check_int(fitted["t_"], "fitted.t_", maximum=MAX_COUNT),
        "loss_curve_": check_list(
            fitted["loss_curve_"], "fitted.loss_curve_", check_float
        ),
        "best_loss_": loss(fitted["best_loss_"], "fitted.best_loss_"),
        "max_length_": check_int(
            fitted["max_length_"], "fitted.max_length_", maximum=MAX_SEQUENCE_LENGTH
        ),
        "_no_improvement_count": check_int(
            fitted["_no_improvement_count"],
            "fitted._no_improvement_count",
            maximum=MAX_COUNT,
        ),
    }
    scores, best = fitted["validation_scores_"], fitted["best_validation_score_"]
    if (scores is None) != (best is None):
        raise ModelFileError(
            "metadata fitted.validation_scores_ and best_validation_score_ must "
            "both be null or both be set"
        )
    if scores is not None:
        scores = check_list(scores, "fitted.validation_scores_", check_float)
        best = loss(best, "fitted.best_validation_score_")
    result["validation_scores_"] = scores
    result["best_validation_score_"] = best
    if "n_features_in_" in fitted:
        result["n_features_in_"] = check_int(
            fitted["n_features_in_"], "fitted.n_features_in_", minimum=1
        )
    if "feature_names_in_" in fitted:
        names = check_list(
            fitted["feature_names_in_"], "fitted.feature_names_in_", check_str
        )
        if len(names) != result.get("n_features_in_"):
            raise ModelFileError(
                "metadata fitted.feature_names_in_ must name n_features_in_ columns"
            )
        result["feature_names_in_"] = np.asarray(names, dtype=object)
    return result


def _check_arrays(state, arrays):
    """The values: finite weights and moments, v >= 0, sorted hashes."""
    for name in state["shapes"]:
        if not np.isfinite(arrays[f"weights/{name}"]).all():
            raise ModelFileError(f"weights {name!r} hold non-finite values")
    if state["optimizer"] is not None:
        for moment in ("m", "v"):
            for name in state["shapes"]:
                array = arrays[f"optimizer/{moment}/{name}"]
                if not np.isfinite(array).all():
                    raise ModelFileError(
                        f"optimizer moment {moment} {name!r} holds non-finite values"
                    )
                if moment == "v" and (array < 0).any():
                    raise ModelFileError(
                        f"optimizer moment v {name!r} holds negative values"
                    )
    hashes = arrays.get("fitted/training_hashes_")
    if hashes is not None and (hashes[1:] <= hashes[:-1]).any():
        raise ModelFileError("training_hashes_ must be sorted and distinct")


# ------------------------------------------------------------------ build


def build(estimator_class, contents):
    """Assemble the estimator from checked contents (nothing can fail here)."""
    state, arrays = contents.state, contents.arrays
    shapes = state["shapes"]
    weights = {name: arrays[f"weights/{name}"] for name in shapes}
    estimator = estimator_class(**contents.params)
    if state["optimizer"] is None:
        optimizer = AdamW(
            weights,
            learning_rate=estimator.learning_rate_init,
            beta_1=estimator.beta_1,
            beta_2=estimator.beta_2,
            epsilon=estimator.epsilon,
            weight_decay=estimator.weight_decay,
            decay={name: is_decayed(name) for name in weights},
        )
    else:
        numbers = state["optimizer"]
        optimizer = AdamW(
            weights,
            **{name: float(numbers[name]) for name in _OPTIMIZER_NUMBERS},
            decay={name: numbers["decay"][name] for name in shapes},
        )
        optimizer.t = numbers["t"]
        for moment in ("m", "v"):
            values = {name: arrays[f"optimizer/{moment}/{name}"] for name in shapes}
            setattr(optimizer, moment, values)
    tokens = state["vocabulary"]["tokens"]
    estimator.vocabulary_ = {token: i + 1 for i, token in enumerate(tokens)}
    estimator.input_kind_ = state["vocabulary"]["input_kind"]
    if "classes" in state["vocabulary"]:
        estimator.classes_ = classes_array(state["vocabulary"])
        estimator.class_count_ = np.asarray(
            state["vocabulary"]["class_count"], dtype=float
        )
    estimator.weights_ = weights
    estimator._optimizer = optimizer
    for name, value in state["fitted"].items():
        setattr(estimator, name, value)
    for name in state["fitted_arrays"]:
        setattr(estimator, name, arrays[f"fitted/{name}"])
    return estimator


# ---------------------------------------------------------------- pickles


def pickle_state(state):
    """The pickled state with the optimizer as a plain dict and the version.

    A plain dict, so that ``skops`` needs to trust only the estimator class.
    """
    state = dict(state)
    if isinstance(state.get("_optimizer"), AdamW):
        state["_optimizer"] = dict(vars(state["_optimizer"]))
    return _persistence.pickle_state(state)


def unpickle_state(state, estimator_name):
    """Undo :func:`pickle_state` (warning when the versions differ)."""
    state = _persistence.unpickle_state(state, estimator_name)
    if isinstance(state.get("_optimizer"), dict):
        optimizer = AdamW.__new__(AdamW)
        vars(optimizer).update(state["_optimizer"])
        state["_optimizer"] = optimizer
    return state
