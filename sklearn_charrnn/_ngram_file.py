"""What a KneserNeyGenerator keeps in a model file, and how it is checked.

The container (:mod:`._persistence`) stores the parameters and any JSON
sections and arrays an estimator hands it. A KneserNeyGenerator hands it

- ``vocabulary``: the input kind and the sorted tokens, with their type;
  for a model fitted with labels, also ``classes``, ``class_type``,
  ``class_count`` and ``class_dtype``, as in :mod:`._charrnn_file`;
- ``model``: ``order_``, ``order_scores_`` (a list of ``[order, score]``
  pairs, or null), ``start_node_`` and the sizes of the tables (number of
  distinct n-grams and of automaton nodes; with labels, also of the nodes
  of the labels' tables);
- ``fitted``: ``max_length_`` and, after a 2-D fit, ``n_features_in_`` and
  ``feature_names_in_``;
- ``fitted_arrays``: the length of ``training_hashes_``;

and the arrays ``model/ngrams_`` (int64), ``model/ngram_counts_``,
``model/discounts_``, ``model/log_probs_``, ``model/transitions_`` and
``fitted/training_hashes_``; with labels, also ``model/ngram_class_counts_``
(int64), ``model/class_discounts_``, ``model/class_probs_``,
``model/class_backoff_``, ``model/class_transitions_`` (int32),
``model/class_start_nodes_`` and ``model/class_offsets_`` (int64). Both the
counts (what ``partial_fit`` adds to) and the compiled tables (what scoring
and sampling read) are stored, so loading compiles nothing.

:func:`schema` runs the same checks when saving and when loading: the
parameters against the estimator's constraints, ``order_`` and the
discounts against the parameters, every n-gram token and every transition
in range, n-grams sorted and distinct with positive counts (with labels:
the counts per label non-negative and adding up to them), discounts in
``(0, r]``, start nodes in range, log-probabilities finite with every row
summing to 1 (with labels: the labels' parts and back-off weights
non-negative, every row's part and weight summing to 1, every label's block
of rows, its start node and its transitions inside it).

This module takes the estimator class as an argument and never imports it.
"""

from functools import partial

import numpy as np
from scipy.special import logsumexp

from . import _file_parts, _persistence
from ._labels import short_repr
from ._persistence import (
    ModelFileError,
    ModelSchema,
    check_float,
    check_int,
    check_keys,
    check_list,
    fail,
)

SECTIONS = ("vocabulary", "model", "fitted", "fitted_arrays")
# How far a row of exp(log_probs_) may sum from 1. Compiling sums a few
# dozen positive terms per entry: its error is near 1e-15.
ROW_SUM_TOLERANCE = 1e-9
_MODEL = ("order_", "order_scores_", "start_node_", "n_ngrams", "n_nodes")
_CLASS_MODEL = ("n_class_nodes",)
_ARRAYS = ("ngrams_", "ngram_counts_", "discounts_", "log_probs_", "transitions_")
_FITTED = ("max_length_", "training_hashes_", "vocabulary_", "input_kind_")
# Arrays of a model fitted with labels, and the labels themselves.
_CLASS_ARRAYS = (
    "ngram_class_counts_",
    "class_discounts_",
    "class_probs_",
    "class_backoff_",
    "class_transitions_",
    "class_start_nodes_",
    "class_offsets_",
)
_LABELS = ("classes_", "class_count_")
# What a fit with labels adds to a fit without (the estimator forgets them
# on a refit without labels).
LABELLED = _LABELS + _CLASS_ARRAYS


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
    """The parameters, JSON sections and arrays of a fitted estimator.

    ``include_optimizer`` is taken as the other file modules take it and
    changes nothing: an n-gram model has no optimizer.

    Returns
    -------
    params : dict
    sections : dict
        Keyed by :data:`SECTIONS`.
    arrays : dict of str to ndarray
    """
    params = estimator.get_params(deep=False)
    known = set(params) | set(_MODEL) | set(_ARRAYS) | set(_FITTED)
    known |= set(LABELLED)
    unknown = sorted(set(vars(estimator)) - known - set(_file_parts.COLUMNS))
    if unknown:
        raise ValueError(
            f"Cannot save {type(estimator).__name__}: the model file format does "
            f"not know the attributes {unknown}. Use pickle or joblib instead."
        )
    scores = estimator.order_scores_
    model = {
        "order_": _persistence.json_scalar(estimator.order_, "order_"),
        "order_scores_": None
        if scores is None
        else [
            [_persistence.json_scalar(order, "order_scores_"), float(score)]
            for order, score in sorted(scores.items())
        ],
        "start_node_": _persistence.json_scalar(estimator.start_node_, "start_node_"),
        "n_ngrams": len(estimator.ngrams_),
        "n_nodes": len(estimator.log_probs_),
    }
    arrays = {
        "model/ngrams_": np.asarray(estimator.ngrams_, dtype=np.int64),
        "model/ngram_counts_": np.asarray(estimator.ngram_counts_),
        "model/discounts_": np.asarray(estimator.discounts_),
        "model/log_probs_": np.asarray(estimator.log_probs_),
        "model/transitions_": np.asarray(estimator.transitions_),
    }
    vocabulary = _file_parts.vocabulary_section(estimator)
    if hasattr(estimator, "classes_"):
        vocabulary.update(_file_parts.labels_section(estimator))
        model["n_class_nodes"] = len(estimator.class_probs_)
        arrays.update(
            (f"model/{name}", np.asarray(getattr(estimator, name)))
            for name in _CLASS_ARRAYS
        )
        for name in ("model/class_start_nodes_", "model/class_offsets_"):
            arrays[name] = arrays[name].astype(np.int64)
    fitted = {
        "max_length_": _persistence.json_scalar(estimator.max_length_, "max_length_"),
        **_file_parts.columns(estimator),
    }
    sections = {
        "vocabulary": vocabulary,
        "model": model,
        "fitted": fitted,
        "fitted_arrays": {
            "training_hashes_": _file_parts.hashes_section(estimator, arrays)
        },
    }
    return params, sections, arrays


# ------------------------------------------------------------------ check


def _check_params(estimator_class, params):
    names = tuple(estimator_class().get_params(deep=False))
    check_keys(params, "params", names)
    estimator_class(**params)._validate_params()


def _check_sections(params, sections):
    """Check the sections against each other and the parameters."""
    vocabulary = _file_parts.check_labelled_vocabulary(sections["vocabulary"])
    n_tokens = len(vocabulary["tokens"]) + 2
    model = _check_model(sections["model"], params, "classes" in vocabulary)
    fitted = check_keys(
        sections["fitted"], "fitted", ("max_length_",), _file_parts.COLUMNS
    )
    checked = {
        "max_length_": _file_parts.check_max_length(
            fitted["max_length_"], "fitted.max_length_"
        ),
        **_file_parts.check_columns(fitted, vocabulary["input_kind"]),
    }
    lengths = check_keys(
        sections["fitted_arrays"], "fitted_arrays", ("training_hashes_",)
    )
    arrays = _file_parts.check_hashes_length(
        lengths["training_hashes_"], "fitted_arrays.training_hashes_"
    )
    order, m, S = model["order_"], model["n_ngrams"], model["n_nodes"]
    arrays.update(
        {
            "model/ngrams_": ((m, order), np.dtype(np.int64)),
            "model/ngram_counts_": ((m,), np.dtype(np.int64)),
            "model/discounts_": ((order, 3), np.dtype(np.float64)),
            "model/log_probs_": ((S, n_tokens), np.dtype(np.float64)),
            "model/transitions_": ((S, n_tokens), np.dtype(np.int32)),
        }
    )
    if "classes" in vocabulary:
        C, S_c = len(vocabulary["classes"]), model["n_class_nodes"]
        arrays.update(
            {
                "model/ngram_class_counts_": ((m, C), np.dtype(np.int64)),
                "model/class_discounts_": ((C, order, 3), np.dtype(np.float64)),
                "model/class_probs_": ((S_c, n_tokens), np.dtype(np.float64)),
                "model/class_backoff_": ((S_c,), np.dtype(np.float64)),
                "model/class_transitions_": ((S_c, n_tokens), np.dtype(np.int32)),
                "model/class_start_nodes_": ((C,), np.dtype(np.int64)),
                "model/class_offsets_": ((C + 1,), np.dtype(np.int64)),
            }
        )
    state = {
        "vocabulary": vocabulary,
        "model": model,
        "fitted": checked,
        "discount": None if params["discount"] == "auto" else params["discount"],
    }
    return state, arrays


def _check_model(model, params, labelled):
    model = check_keys(model, "model", _MODEL + (_CLASS_MODEL if labelled else ()))
    order = check_int(
        model["order_"],
        "model.order_",
        minimum=2,
        maximum=_file_parts.MAX_SEQUENCE_LENGTH,
    )
    if params["order"] != "auto" and order != params["order"]:
        raise ModelFileError(
            f"the parameters say order={params['order']!r} but the tables are for "
            f"order_={order}"
        )
    n_nodes = check_int(model["n_nodes"], "model.n_nodes", minimum=1)
    result = {
        "order_": order,
        "order_scores_": _check_order_scores(model["order_scores_"], order, params),
        "start_node_": check_int(
            model["start_node_"], "model.start_node_", maximum=n_nodes - 1
        ),
        "n_ngrams": check_int(model["n_ngrams"], "model.n_ngrams", minimum=1),
        "n_nodes": n_nodes,
    }
    if labelled:
        result["n_class_nodes"] = check_int(
            model["n_class_nodes"], "model.n_class_nodes", minimum=1
        )
    return result


def _check_order_scores(scores, order, params):
    """None, or ``[order, score]`` pairs with distinct orders, ``order`` among them."""
    if scores is None:
        return None
    if params["order"] != "auto":
        fail("model.order_scores_", f"null for order={params['order']!r}", scores)

    def pair(value, where):
        if type(value) is not list or len(value) != 2:
            fail(where, "an [order, score] pair", value)
        return check_int(value[0], f"{where}[0]", minimum=2), check_float(
            value[1], f"{where}[1]"
        )

    pairs = check_list(scores, "model.order_scores_", pair)
    result = dict(pairs)
    if len(result) != len(pairs) or order not in result:
        fail(
            "model.order_scores_",
            f"scores of distinct orders, order_={order} among them",
            scores,
        )
    return result


def _check_arrays(state, arrays):
    """The values: tokens, transitions and discounts in range, rows summing to 1."""
    n_tokens = len(state["vocabulary"]["tokens"]) + 2
    _check_ngrams(arrays["model/ngrams_"], arrays["model/ngram_counts_"], n_tokens)
    _check_discounts(arrays["model/discounts_"], state["discount"])
    if "classes" in state["vocabulary"]:
        _check_class_arrays(arrays, state)
    log_probs = arrays["model/log_probs_"]
    if not np.isfinite(log_probs).all():
        raise ModelFileError("log_probs_ holds values that are not finite")
    _check_row_sums(np.exp(logsumexp(log_probs, axis=1)), "log_probs_")
    _check_transitions(arrays["model/transitions_"], "transitions_")
    _file_parts.check_hashes(arrays[_file_parts.HASHES])


def _check_row_sums(sums, name):
    """Every row of a table of next-token probabilities sums to 1."""
    bad = np.flatnonzero(np.abs(sums - 1) > ROW_SUM_TOLERANCE)
    if bad.size:
        raise ModelFileError(
            f"row {bad[0]} of {name} sums to {sums[bad[0]]:.9g} in probability, "
            f"not 1 (within {ROW_SUM_TOLERANCE})"
        )


def _check_transitions(transitions, name):
    """Every transition leads to a node of its own table."""
    n_nodes = len(transitions)
    out = np.flatnonzero(((transitions < 0) | (transitions >= n_nodes)).any(axis=1))
    if out.size:
        raise ModelFileError(
            f"row {out[0]} of {name} holds a node outside [0, {n_nodes}): "
            f"{transitions[out[0]].min()} to {transitions[out[0]].max()}"
        )


def _check_ngrams(ngrams, counts, n_tokens):
    """Tokens in ``[0, V - 2]`` (never the unknown one), sorted rows, counts >= 1."""
    if ngrams.size and (ngrams.min() < 0 or ngrams.max() > n_tokens - 2):
        raise ModelFileError(
            f"ngrams_ holds tokens from {ngrams.min()} to {ngrams.max()}; a "
            f"vocabulary of {n_tokens - 2} tokens counts tokens 0 to {n_tokens - 2}"
        )
    differ = ngrams[1:] != ngrams[:-1]  # (m - 1, N)
    first = differ.argmax(axis=1)  # (m - 1,) first column that differs
    rows = np.arange(len(first))
    if (
        not differ.any(axis=1).all()
        or (ngrams[1:][rows, first] < ngrams[:-1][rows, first]).any()
    ):
        raise ModelFileError("ngrams_ must be distinct rows in lexicographic order")
    if (counts < 1).any():
        raise ModelFileError("ngram_counts_ must be positive")


def _check_class_arrays(arrays, state):
    """Counts per label adding up to the counts; discounts; the labels' tables."""
    class_counts = arrays["model/ngram_class_counts_"]
    if (class_counts < 0).any() or (
        class_counts.sum(axis=1) != arrays["model/ngram_counts_"]
    ).any():
        raise ModelFileError(
            "ngram_class_counts_ must be non-negative and add up to ngram_counts_ "
            "over the labels"
        )
    _check_discounts(
        arrays["model/class_discounts_"], state["discount"], "class_discounts_"
    )
    for name in ("class_probs_", "class_backoff_"):
        values = arrays[f"model/{name}"]
        good = (np.isfinite(values) & (values >= 0)).reshape(len(values), -1)
        bad = np.flatnonzero(~good.all(axis=1))
        if bad.size:
            raise ModelFileError(
                f"{name} must be finite and non-negative; row {bad[0]} is not"
            )
    probs, backoff = arrays["model/class_probs_"], arrays["model/class_backoff_"]
    zero = np.flatnonzero(backoff == 0)
    if zero.size:  # a fit leaves every label's row a share for all labels
        raise ModelFileError(
            f"row {zero[0]} of class_backoff_ is 0: every row of a label leaves "
            "some probability to the model of all labels"
        )
    _check_row_sums(probs.sum(axis=1) + backoff, "class_probs_ with class_backoff_")
    _check_label_blocks(arrays, state["model"]["n_class_nodes"])


def _check_label_blocks(arrays, n_nodes):
    """Every label's block of rows holds its start node and its transitions."""
    offsets = arrays["model/class_offsets_"]
    if offsets[0] != 0 or offsets[-1] != n_nodes or (np.diff(offsets) < 1).any():
        raise ModelFileError(
            f"class_offsets_ must rise from 0 to the {n_nodes} rows of the labels' "
            f"tables, each label a block of at least one row; got {short_repr(offsets)}"
        )
    starts = arrays["model/class_start_nodes_"]
    outside = np.flatnonzero((starts < offsets[:-1]) | (starts >= offsets[1:]))
    if outside.size:
        c = outside[0]
        raise ModelFileError(
            f"class_start_nodes_[{c}] is {starts[c]}, outside label {c}'s rows "
            f"[{offsets[c]}, {offsets[c + 1]})"
        )
    transitions = arrays["model/class_transitions_"]
    label = np.repeat(np.arange(len(starts)), np.diff(offsets))  # (S,)
    low, high = offsets[label][:, None], offsets[label + 1][:, None]  # (S, 1)
    out = np.flatnonzero(((transitions < low) | (transitions >= high)).any(axis=1))
    if out.size:
        row = out[0]
        raise ModelFileError(
            f"row {row} of class_transitions_ leaves label {label[row]}'s rows "
            f"[{offsets[label[row]]}, {offsets[label[row] + 1]}): "
            f"{transitions[row].min()} to {transitions[row].max()}"
        )


def _check_discounts(discounts, discount, name="discounts_"):
    """Discounts ``D1, D2, D3+`` in ``(0, 1]``, ``(0, 2]``, ``(0, 3]``."""
    if not np.isfinite(discounts).all() or (discounts <= 0).any():
        raise ModelFileError(f"{name} must be finite and positive")
    if (discounts > np.array([1.0, 2.0, 3.0])).any():
        raise ModelFileError(
            f"{name} D1, D2, D3+ may not exceed 1, 2 and 3: a discount removes "
            "at most the count"
        )
    if discount is not None and not np.allclose(discounts, discount, rtol=1e-12):
        raise ModelFileError(
            f"the parameters say discount={discount!r} but {name} differ"
        )


# ------------------------------------------------------------------ build


def build(estimator_class, contents):
    """Assemble the estimator from checked contents (nothing can fail here)."""
    state, arrays = contents.state, contents.arrays
    estimator = estimator_class(**contents.params)
    tokens = state["vocabulary"]["tokens"]
    estimator.vocabulary_ = {token: i + 1 for i, token in enumerate(tokens)}
    estimator.input_kind_ = state["vocabulary"]["input_kind"]
    model = state["model"]
    estimator.order_ = model["order_"]
    estimator.order_scores_ = model["order_scores_"]
    estimator.start_node_ = model["start_node_"]
    estimator.ngrams_ = arrays["model/ngrams_"].astype(np.intp, copy=False)
    for name in _ARRAYS[1:]:
        setattr(estimator, name, arrays[f"model/{name}"])
    for name, value in state["fitted"].items():
        setattr(estimator, name, value)
    estimator.training_hashes_ = arrays[_file_parts.HASHES]
    vocabulary = state["vocabulary"]
    if "classes" in vocabulary:
        estimator.classes_ = _file_parts.classes_array(vocabulary)
        estimator.class_count_ = np.asarray(vocabulary["class_count"], dtype=float)
        for name in _CLASS_ARRAYS:
            setattr(estimator, name, arrays[f"model/{name}"])
    return estimator
