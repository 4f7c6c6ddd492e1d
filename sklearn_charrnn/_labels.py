"""Labels of a conditional generator: checked, and turned into class indices.

A generator fitted with ``y`` keeps its sorted distinct labels in
``classes_``; every method that takes labels turns them into indices of
``classes_`` here, so that every error about labels reads the same.
"""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ._sequences import is_missing, value_kind


def fit_labels(y, n_samples, classes=None):
    """Check the labels given to fit; return ``classes_`` and class indices.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        One label per training sequence.
    n_samples : int
        Number of training sequences.
    classes : ndarray, default=None
        The labels fixed by an earlier fit (``partial_fit``, ``warm_start``):
        a label outside them is an error. None takes the sorted distinct
        labels of ``y``.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
    indices : ndarray of shape (n_samples,) of intp
    """
    y = true_labels(y)
    check_consistent_length(np.empty(n_samples), y)
    check_classification_targets(y)
    if classes is None:
        classes = np.unique(y)
    return classes, label_indices(classes, y, n_samples, "y")


def true_labels(y):
    """Labels as ``fit`` learns them and ``score`` compares them with
    predictions: checked (:func:`_check_each_label`), one column, and an
    object array of numbers or bools (a pandas column) made numeric."""
    kind = _check_each_label(y)
    return _as_values(column_or_1d(y, warn=True), kind)


def _as_values(y, kind):
    """A 1-D object array of numbers or bools as NumPy holds them."""
    if y.dtype == object and kind in ("number", "bool"):
        return np.asarray(y.tolist())
    return y


def _check_each_label(y):
    """Refuse a missing label (None, NaN, pandas' NA) before it becomes a
    class of its own (NumPy turns NaN among str into the str ``'nan'``), and
    labels of several types (``'en'`` and ``1``: NumPy would turn the 1 into
    ``'1'``, or fail to sort them). Return the labels' one kind
    (:func:`~._sequences.value_kind`), None for ``y`` of another shape."""
    labels = np.asarray(y, dtype=object)
    for i, label in enumerate(labels.ravel()):
        if is_missing(label):
            raise ValueError(
                f"y[{i}] is {label!r}: missing labels are not allowed, every "
                "sequence needs a label."
            )
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]  # a column, as fit takes it
    if labels.ndim != 1:  # column_or_1d names the shape
        return None
    kinds = {}
    for i, label in enumerate(labels):
        kinds.setdefault(value_kind(label), (i, label))
        if len(kinds) > 1:
            (a, (i_a, y_a)), (b, (i_b, y_b)) = kinds.items()
            raise ValueError(
                "y mixes labels of several types: expected labels of one type "
                f"(all strings, all numbers or all bools), got a {a}, "
                f"y[{i_a}]={y_a!r}, and a {b}, y[{i_b}]={y_b!r}."
            )
    return next(iter(kinds), None)


def check_every_class_kept(classes, counts):
    """Refuse classes none of whose sequences are kept for training."""
    if counts.all():
        return
    lost = np.asarray(classes)[counts == 0]
    which = f"labels {listed(lost)}" if len(lost) > 1 else f"label {lost.tolist()[0]!r}"
    raise ValueError(
        f"Every sequence of {which} in y is an empty string, and empty strings "
        "are skipped: expected at least one non-empty sequence of every label."
    )


def label_indices(classes, y, n, what="y"):
    """Class indices of one label, or of one label per sequence.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
        The fitted ``classes_``.
    y : label or array-like of shape (n,) or (n, 1)
        One label for all ``n`` sequences, or one each (a column, as ``fit``
        takes it, with a ``DataConversionWarning``).
    n : int
        Number of sequences.
    what : str, default="y"
        The argument's name, for error messages.

    Returns
    -------
    indices : ndarray of shape (n,) of intp
    """
    index = {label: i for i, label in enumerate(np.asarray(classes).tolist())}
    if np.ndim(y) == 0:
        values = [np.asarray(y).item()] * n
    else:
        shape = np.shape(y)
        if len(shape) == 2 and shape[1] == 1:
            y = column_or_1d(y, warn=True)
        values = np.asarray(y, dtype=object).tolist()
        if np.ndim(y) != 1 or len(values) != n:
            raise ValueError(
                f"{what} must be one label, or one label per sequence ({n}); "
                f"got an array of shape {shape}."
            )
    try:
        return np.fromiter((index[v] for v in values), dtype=np.intp, count=n)
    except (KeyError, TypeError):
        unseen = next(v for v in values if _missing(index, v))
        raise ValueError(
            f"Label {unseen!r} in {what} was not seen in fit; the model knows "
            f"{listed(classes)}."
        ) from None


def _missing(index, value):
    try:
        return value not in index
    except TypeError:  # an unhashable label is not a class
        return True


def listed(classes, at_most=20):
    """The classes as a short readable list."""
    shown = ", ".join(repr(c) for c in np.asarray(classes).tolist()[:at_most])
    more = len(classes) - at_most
    return f"[{shown}{f', ... ({more} more)' if more > 0 else ''}]"


def check_labelled(estimator, y, n, what="y"):
    """Class indices for ``y``, or None; refuse labels that do not fit the model.

    A model fitted with labels needs them; one fitted without takes none.
    """
    classes = getattr(estimator, "classes_", None)
    name = type(estimator).__name__
    if classes is None:
        if y is not None:
            raise ValueError(
                f"This {name} was fitted without labels (fit got no y), so it "
                f"takes none; got {what}={short_repr(y)}."
            )
        return None
    if y is None:
        raise ValueError(
            f"This {name} was fitted with labels {listed(classes)}: pass "
            f"{what}, one label for all sequences, or one per sequence."
        )
    return label_indices(classes, y, n, what)


def short_repr(value, at_most=60):
    """``repr(value)`` (an array's as a list) cut to ``at_most`` characters,
    for error messages."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    text = repr(value)
    return text if len(text) <= at_most else text[: at_most - 3] + "..."
