"""Parts of the fitted state every generator's model file shares.

Every generator of the package (:class:`CharRNNGenerator`,
:class:`KneserNeyGenerator`, :class:`GeneratorMixture`) keeps a sorted
vocabulary and its input kind, the length of its longest training sequence,
the sorted hashes of its training sequences and, after a 2-D fit, the number
and names of its columns. This module writes and checks those parts; the
estimators' own modules (``_charrnn_file``, ``_ngram_file``,
``_mixture_file``) add the rest.
"""

import math
import re

import numpy as np

from . import _persistence
from ._persistence import (
    ModelFileError,
    check_float,
    check_int,
    check_keys,
    check_list,
    check_str,
    fail,
)
from ._sequences import STRING, TOKENS

# The longest training sequence a file may record. A fit on a sequence this
# long would hold, per layer, 2**24 time steps of states: tens of gigabytes
# at the smallest useful hidden sizes. It bounds the default max_length of
# sample (twice this, plus 10) and of complete (that, after the prefix).
MAX_SEQUENCE_LENGTH = 2**24
TOKEN_TYPES = {"str": str, "int": int, "float": float, "bool": bool}
COLUMNS = ("n_features_in_", "feature_names_in_")
HASHES = "fitted/training_hashes_"
# The vocabulary's keys for a model fitted with labels (all or none), and
# the dtype of classes_, which files written before it was kept leave out.
LABEL_KEYS = ("classes", "class_type", "class_count")
CLASS_DTYPE = "class_dtype"
# The dtypes classes_ may have in a file (NumPy's dtype.str): bool, ints,
# floats, str, object.
_CLASS_DTYPES = re.compile(r"[|<>]?(b1|[iu][1248]|f[248]|U[0-9]{1,6}|O)")
_INT64 = np.iinfo(np.int64)


# ------------------------------------------------------------------ write


def vocabulary_section(estimator):
    """The ``vocabulary`` section: input kind, token type, sorted tokens."""
    tokens = list(estimator.vocabulary_)
    if list(estimator.vocabulary_.values()) != list(range(1, len(tokens) + 1)):
        raise ValueError("Cannot save: vocabulary_ must map its tokens to 1..n.")
    return {
        "input_kind": estimator.input_kind_,
        "token_type": token_type(tokens),
        "tokens": tokens,
    }


def token_type(tokens, what="vocabulary tokens"):
    """The name of the one type of every token (``str``, ``int``, ...)."""
    for type_name, kind in TOKEN_TYPES.items():
        # bool is an int, so check exact types.
        if all(type(token) is kind for token in tokens):
            wide = [
                t for t in tokens if kind is int and not _INT64.min <= t <= _INT64.max
            ]
            if wide:
                raise ValueError(
                    f"Cannot save: {what} that are ints must fit in signed 64 "
                    "bits (-2**63 to 2**63 - 1); got "
                    f"{wide[0]}. pickle and joblib keep any."
                )
            return type_name
    types = sorted({type(token).__name__ for token in tokens})
    raise ValueError(
        f"Cannot save: {what} must all be str, int, float or bool; got {types}. "
        "pickle and joblib keep any."
    )


def labels_section(estimator):
    """The ``classes``, ``class_type`` and ``class_count`` of the vocabulary."""
    classes = np.asarray(estimator.classes_).tolist()
    counts = np.asarray(estimator.class_count_, dtype=float)
    if counts.shape != (len(classes),) or not np.isfinite(counts).all():
        raise ValueError("Cannot save: class_count_ must hold a count per class.")
    return {
        "classes": classes,
        "class_type": token_type(classes, "labels (classes_) in a model file"),
        "class_count": counts.tolist(),
        CLASS_DTYPE: _class_dtype(estimator.classes_, classes),
    }


def _class_dtype(classes_, classes):
    """The dtype of ``classes_`` as a file keeps it (NumPy's ``dtype.str``);
    str of the width its labels need (a wider one holds nothing more)."""
    dtype = np.asarray(classes_).dtype
    return (np.asarray(classes).dtype if dtype.kind == "U" else dtype).str


def classes_array(vocabulary):
    """``classes_`` of a checked vocabulary, in the dtype it was saved with."""
    return np.asarray(vocabulary["classes"], dtype=vocabulary.get(CLASS_DTYPE))


def json_value(value, what):
    """A JSON scalar, or a list of them for a list, tuple or 1-D array."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_persistence.json_scalar(v, what) for v in value]
    return _persistence.json_scalar(value, what)


def columns(estimator):
    """``n_features_in_`` and ``feature_names_in_``, those that are set."""
    return {
        name: json_value(getattr(estimator, name), name)
        for name in COLUMNS
        if hasattr(estimator, name)
    }


def hashes_section(estimator, arrays):
    """The length of ``training_hashes_``; the array joins ``arrays``."""
    hashes = np.asarray(estimator.training_hashes_)
    arrays[HASHES] = hashes
    return len(hashes) if hashes.ndim == 1 else -1


# ------------------------------------------------------------------ check


def check_vocabulary(vocabulary, where="vocabulary"):
    """Check a ``vocabulary`` section; return its input kind and tokens."""
    vocabulary = check_keys(vocabulary, where, ("input_kind", "token_type", "tokens"))
    kind = check_str(vocabulary["input_kind"], f"{where}.input_kind", {STRING, TOKENS})
    type_name = check_str(
        vocabulary["token_type"], f"{where}.token_type", set(TOKEN_TYPES)
    )
    tokens = vocabulary["tokens"]
    if type(tokens) is not list:
        fail(f"{where}.tokens", "a list", tokens)
    python_type = TOKEN_TYPES[type_name]
    if type_name == "float":
        # JSON writes 2.0 as 2.0, but accept ints for floats written by hand.
        tokens = [float(t) if type(t) is int else t for t in tokens]
    for i, token in enumerate(tokens):
        _check_token(token, f"{where}.tokens[{i}]", python_type, type_name)
    if kind == STRING:
        if type_name != "str" or any(len(token) != 1 for token in tokens):
            raise ModelFileError(
                "a model fitted on strings must have one-character str tokens"
            )
        for i, token in enumerate(tokens):
            if "\ud800" <= token <= "\udfff":
                fail(
                    f"{where}.tokens[{i}]",
                    "a character fit can read (not a lone surrogate, which is "
                    "not text)",
                    token,
                )
    if any(a >= b for a, b in zip(tokens[:-1], tokens[1:], strict=True)):
        raise ModelFileError(
            f"{where}.tokens must be distinct and sorted (the encoding relies on it)"
        )
    return {"input_kind": kind, "tokens": tokens}


def check_labelled_vocabulary(vocabulary):
    """The vocabulary checks, then the labels of a model fitted with them.

    Returns
    -------
    vocabulary : dict
        ``input_kind`` and ``tokens``; with labels, also ``classes`` and
        ``class_count``.
    """
    if not isinstance(vocabulary, dict):
        return check_vocabulary(vocabulary)  # says what it expected
    keys = (*LABEL_KEYS, CLASS_DTYPE)
    labels = {key: vocabulary[key] for key in keys if key in vocabulary}
    rest = {key: value for key, value in vocabulary.items() if key not in labels}
    result = check_vocabulary(rest)
    if labels:
        result.update(_check_labels(labels))
    return result


def _check_labels(labels):
    """The labels of a conditional model: typed, sorted, distinct, counted."""
    missing = [key for key in LABEL_KEYS if key not in labels]
    if missing:
        raise ModelFileError(
            f"metadata vocabulary lacks keys {missing}: a model fitted with "
            f"labels records all of {list(LABEL_KEYS)}"
        )
    type_name = check_str(
        labels["class_type"], "vocabulary.class_type", set(TOKEN_TYPES)
    )
    classes = labels["classes"]
    if type(classes) is not list or not classes:
        fail("vocabulary.classes", "a non-empty list", classes)
    if type_name == "float":
        classes = [float(c) if type(c) is int else c for c in classes]
    for i, label in enumerate(classes):
        _check_label(label, f"vocabulary.classes[{i}]", type_name)
    if any(a >= b for a, b in zip(classes[:-1], classes[1:], strict=True)):
        raise ModelFileError("vocabulary.classes must be distinct and sorted")
    checked = {"classes": classes, "class_count": _check_counts(labels, len(classes))}
    if CLASS_DTYPE in labels:
        checked[CLASS_DTYPE] = _check_class_dtype(
            labels[CLASS_DTYPE], classes, type_name
        )
    return checked


def _check_class_dtype(dtype, classes, type_name):
    """``class_dtype``: a dtype of the allowed kinds that holds every class
    as it is (no int out of range, no str cut short or widened)."""
    dtype = check_str(dtype, "vocabulary.class_dtype")
    if not _CLASS_DTYPES.fullmatch(dtype):
        fail("vocabulary.class_dtype", "a dtype of bool, int, float or str", dtype)
    if "U" in dtype:  # only str classes, and no wider than they need
        if type_name != "str":
            fail("vocabulary.class_dtype", f"a dtype of {type_name} classes", dtype)
        needed = np.asarray(classes).dtype
        if np.dtype(dtype).itemsize != needed.itemsize:
            fail(
                "vocabulary.class_dtype",
                f"{needed.str}, the str its classes need",
                dtype,
            )
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # checked below
            held = np.asarray(classes, dtype=dtype).tolist()
    except (OverflowError, ValueError):
        held = None
    if held != classes or any(
        type(a) is not type(b) for a, b in zip(held, classes, strict=True)
    ):
        raise ModelFileError(
            f"vocabulary.class_dtype {dtype!r} does not hold the classes as they are"
        )
    return dtype


def _check_counts(labels, n_classes):
    """``class_count``: a count >= 0 per class, not all zero."""
    counts = check_list(labels["class_count"], "vocabulary.class_count", check_float)
    if len(counts) != n_classes or any(c < 0 for c in counts) or not sum(counts):
        raise ModelFileError(
            "vocabulary.class_count must hold a count >= 0 per class, not all 0"
        )
    return counts


def _check_label(label, where, type_name):
    if type(label) is not TOKEN_TYPES[type_name]:
        fail(where, f"a {type_name}", label)
    if type_name == "float" and not math.isfinite(label):
        fail(where, "finite", label)
    if type_name == "int" and not -(2**63) <= label < 2**63:
        fail(where, "a 64-bit int", label)


def _check_token(token, where, python_type, type_name):
    if type(token) is not python_type:
        fail(where, f"a {type_name}", token)
    if type_name == "float" and not math.isfinite(token):
        fail(where, "finite", token)
    if type_name == "int" and not _INT64.min <= token <= _INT64.max:
        fail(where, "a 64-bit int, as fit makes", token)


def check_max_length(value, where):
    """``max_length_``: an int in ``[0, MAX_SEQUENCE_LENGTH]``."""
    return check_int(value, where, maximum=MAX_SEQUENCE_LENGTH)


def check_columns(fitted, input_kind, where="fitted"):
    """``n_features_in_`` and ``feature_names_in_`` among ``fitted``'s keys.

    Returns
    -------
    columns : dict
        Those present, checked (the names as an object array).
    """
    result = {}
    if "n_features_in_" in fitted:
        result["n_features_in_"] = check_int(
            fitted["n_features_in_"], f"{where}.n_features_in_", minimum=1
        )
    if input_kind == STRING and result.get("n_features_in_", 1) != 1:
        raise ModelFileError(
            f"a model fitted on strings reads one column, but {where}.n_features_in_ "
            f"is {result['n_features_in_']}"
        )
    if "feature_names_in_" in fitted:
        names = check_list(
            fitted["feature_names_in_"], f"{where}.feature_names_in_", check_str
        )
        if len(names) != result.get("n_features_in_"):
            raise ModelFileError(
                f"metadata {where}.feature_names_in_ must name n_features_in_ columns"
            )
        result["feature_names_in_"] = np.asarray(names, dtype=object)
    return result


def check_hashes_length(length, where):
    """The array the length of ``training_hashes_`` implies."""
    check_int(length, where)
    return {HASHES: ((length,), np.dtype(np.uint64))}


def check_hashes(hashes):
    """``training_hashes_`` must be sorted and distinct."""
    if (hashes[1:] <= hashes[:-1]).any():
        raise ModelFileError("training_hashes_ must be sorted and distinct")
