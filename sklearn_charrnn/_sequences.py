"""Input handling: every public method turns X into token indices here.

X is either an iterable of str (each a sequence of characters, the main
form) or a 2-D array-like whose rows are sequences of tokens. A single column
of str is read as one string per row, so a DataFrame column works. This
module validates X, builds the sorted vocabulary, encodes sequences as one
flat array of token indices plus their lengths, and pads mini-batches.

Token index 0 is the boundary (start/end) token, the tokens seen in fit take
indices 1 to n in sorted order, and index n + 1 is the unknown token, which
stands for anything not seen in fit.
"""

import numbers
from collections.abc import Mapping, Set

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

STRING = "str"
TOKENS = "tokens"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def check_sequences(estimator, X, *, reset):
    """Validate X and say which kind of input it is.

    Parameters
    ----------
    estimator : CharRNNGenerator
        Used for ``n_features_in_`` and ``feature_names_in_`` on 2-D input.
    X : iterable of str or array-like of shape (n_samples, n_tokens)
    reset : bool
        True in fit: record the number of columns of 2-D input.

    Returns
    -------
    sequences : list of str or ndarray of shape (n_samples, n_tokens)
    kind : {"str", "tokens"}
    """
    _check_one_collection(estimator, X)
    checked = False  # the cells, before NumPy converts a list of rows
    if not hasattr(X, "shape") and not hasattr(X, "__array__"):
        X = _listed(X)
        if not any(isinstance(x, (list, tuple, np.ndarray)) for x in X):
            check_str_items(X)
            return X, STRING
        _check_rows_of_one_length(X)
        _check_no_missing_cell(X)
        _check_tokens(X)
        checked = True
    elif hasattr(X, "isna") and getattr(X, "ndim", None) == 2:  # a DataFrame
        missing = np.argwhere(X.isna().to_numpy())
        if len(missing):  # pd.NA would fail scikit-learn's own check obscurely
            row, col = missing[0]
            raise _missing_cell(X.iat[row, col], row, col)
        _check_frame_columns(X)
    ndim = np.ndim(X) if hasattr(X, "shape") else None
    if ndim == 1:
        return _one_d(X), STRING
    X = validate_data(
        estimator,
        X,
        reset=reset,
        dtype=None,
        ensure_2d=True,
        allow_nd=False,
        ensure_all_finite=True,
    )
    if X.dtype.kind in "OUS":
        return _two_d_of_objects(X, checked)
    if X.dtype.kind == "u" and X.size and X.max() > _INT64_MAX:
        row, col = np.argwhere(X > _INT64_MAX)[0]
        raise _wide_int(X[row, col], row, col)
    return X, TOKENS


def _check_one_collection(estimator, X):
    """Refuse sparse matrices, a lone str or bytes, unordered collections."""
    if sp.issparse(X):
        raise TypeError(
            f"{type(estimator).__name__} does not accept sparse input (got "
            f"{type(X).__name__}): pass a list of str, or a dense 2-D array of "
            "tokens."
        )
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"X must be an iterable of str, one sequence each; got a single "
            f"{type(X).__name__} {X[:20]!r}. Wrap it in a list: [X]."
        )
    _check_ordered(X)


def _listed(X):
    """A non-empty list of the items of an iterable X."""
    try:
        X = list(X)
    except TypeError:
        raise TypeError(
            f"X must be an iterable of str or a 2-D array-like; got {type(X).__name__}."
        ) from None
    if not X:
        raise ValueError("X is empty: expected at least one sequence, got 0 samples.")
    return X


def _one_d(X):
    """The str of a 1-D array or Series; else an error naming what is wrong."""
    values = _listed(X.tolist() if hasattr(X, "tolist") else X)
    if all(isinstance(v, str) for v in values):
        return values
    if any(isinstance(v, (str, bytes)) for v in values):
        # names of which some are missing, or bytes: name the first
        check_str_items(values, getattr(X, "index", None))
    raise ValueError(
        "Expected a list of str or a 2-D array of tokens, got a 1-D array "
        f"of {getattr(X, 'dtype', 'values')} instead. Reshape your data "
        "either using array.reshape(-1, 1) if your data has a single "
        "feature or array.reshape(1, -1) if it contains a single sample."
    )


def _check_no_missing_cell(rows):
    """Name the first missing value (None, NaN, pd.NA, NaT) of rows of tokens:
    NumPy would turn a NaN among str into the token 'nan'."""
    for row, cells in enumerate(rows):
        for col, value in enumerate(cells):
            if is_missing(value):
                raise _missing_cell(value, row, col)


def _check_tokens(rows):
    """Name the first cell of rows of tokens that NumPy would make another
    token: cells of several types (the str of every cell would make ``1``
    and ``'1'`` one token; a numeric array, ``True`` and ``1``); a str ending
    in NUL, which NumPy's str arrays drop (``'a\\x00'`` would be ``'a'``);
    an int beyond signed 64 bits, which only a float would hold."""
    kinds = {}
    for row, cells in enumerate(rows):
        for col, value in enumerate(cells):
            kind = value_kind(value)
            kinds.setdefault(kind, (value, row, col))
            if len(kinds) > 1:
                raise _mixed_tokens(kinds)
            if kind == "str" and value.endswith("\x00"):
                raise ValueError(
                    f"X holds {value!r} at row {row}, column {col}: a token may "
                    "not end in the NUL character '\\x00', which NumPy's str "
                    "arrays drop (it would be read as "
                    f"{value.rstrip(chr(0))!r})."
                )
            if isinstance(value, numbers.Integral) and kind == "number":
                if not _INT64_MIN <= value <= _INT64_MAX:
                    raise _wide_int(value, row, col)


def _wide_int(value, row, col):
    return ValueError(
        f"X holds the int {value} at row {row}, column {col}: int tokens must "
        "fit in signed 64 bits (-2**63 to 2**63 - 1)."
    )


def _check_frame_columns(X):
    """Refuse a DataFrame of bool columns beside numeric ones: NumPy would
    make its ``True`` the token ``1`` (columns of objects are checked cell by
    cell, as an object array)."""
    kinds = [dtype.kind for dtype in X.dtypes]
    numeric = [col for col, kind in enumerate(kinds) if kind in "iuf"]
    if "b" in kinds and numeric:
        a, b = kinds.index("b"), numeric[0]
        first = [np.asarray(X.iat[0, col]).item() for col in (a, b)]
        raise _mixed_tokens({"bool": (first[0], 0, a), "number": (first[1], 0, b)})


def _mixed_tokens(kinds):
    (a, (x, i, j)), (b, (y, k, m)) = kinds.items()
    return ValueError(
        f"X mixes tokens of several types: expected tokens of one type, got "
        f"{a} {x!r} at row {i}, column {j} and {b} {y!r} at row {k}, column "
        f"{m}. Convert them to one type, for example every token to str."
    )


def value_kind(value):
    """``'str'``, ``'bool'`` (Python's or NumPy's), ``'number'`` (any other
    real number), else the name of the value's type."""
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    return "number" if isinstance(value, numbers.Real) else type(value).__name__


def _missing_cell(value, row, col):
    return ValueError(
        f"X contains {value!r} at row {row}, column {col}: missing values are "
        "not allowed, every cell must be a token (str or number)."
    )


def _two_d_of_objects(X, checked=False):
    """A 2-D array of str or objects: tokens, or one string per row (its
    cells checked here unless ``checked``)."""
    if not checked:
        _check_no_missing_cell(X)
    if X.dtype.kind == "S" or any(isinstance(v, bytes) for v in X.ravel()):
        raise TypeError(
            "X contains bytes: decode them to str first, "
            "for example with .decode('utf-8')."
        )
    is_str = np.array([isinstance(v, str) for v in X.ravel()])
    if X.shape[1] == 1 and is_str.all():
        return X[:, 0].tolist(), STRING
    if X.shape[1] == 1 and is_str.any():
        row = int(np.flatnonzero(~is_str)[0])
        raise TypeError(
            f"A single column of X is read as one string per row, but row "
            f"{row} holds {type(X[row, 0]).__name__} {X[row, 0]!r}, not str."
        )
    if not checked:
        _check_tokens(X)
    return X, TOKENS


def _check_rows_of_one_length(X):
    """Name two rows of a list of token rows that are not alike.

    A list that holds a list (or tuple, or array) is read as rows of tokens:
    a 2-D array, so every row must be a sequence of one length.
    """

    def describe(row):
        if isinstance(row, (list, tuple, np.ndarray)):
            return f"{len(row)} token{'s' * (len(row) != 1)}"
        return f"a {type(row).__name__} {row!r:.30}, not a row of tokens"

    first = describe(X[0])
    for i, row in enumerate(X):
        if describe(row) != first:
            raise ValueError(
                f"X is read as rows of tokens (it holds lists), but row 0 holds "
                f"{first} while row {i} holds {describe(row)}: every row must be a "
                "sequence of tokens of one length (one token per cell of a 2-D "
                "array). Pass names of different lengths as a list of str."
            )


def _check_ordered(X):
    """Refuse the collections whose order is not X's own.

    A set iterates in an order that depends on the hashes of its items, and
    str hashes change with every Python process (``PYTHONHASHSEED``): the
    same set would give another model, and scores in another order, on every
    run. A mapping's items are not sequences.
    """
    if isinstance(X, Set):
        raise TypeError(
            f"X is a {type(X).__name__}, an unordered collection: it iterates in "
            "an order that changes with every Python process (PYTHONHASHSEED), "
            "so the same data would give another model, and scores in another "
            "order, on every run. Pass a list, for example sorted(X)."
        )
    if isinstance(X, Mapping):
        raise TypeError(
            f"X is a {type(X).__name__}: expected a list of str (or a 2-D array "
            "of tokens), one sequence each. Pass list(X) for its keys, or "
            "list(X.values()) for its values."
        )


def is_missing(x):
    """None, NaN, or pandas' NA and NaT (recognised without importing pandas)."""
    if x is None or type(x).__name__ in ("NAType", "NaTType"):
        return True
    # NaN is the one number not equal to itself (np.isnan would refuse an
    # int too large for a float, or a Fraction)
    return isinstance(x, numbers.Real) and x != x


def check_str_items(X, labels=None, what="X"):
    """Raise an error that names the first item of X that is not a str.

    ``labels``, a pandas index, adds the item's label when it is not its
    position; ``what`` is the argument's name in the messages.
    """
    for i, x in enumerate(X):
        if isinstance(x, str):
            continue
        where = f"{what}[{i}]"
        if labels is not None and labels[i] != i:
            where += f" (index label {labels[i]!r})"
        if is_missing(x):
            raise ValueError(
                f"{where} is {x!r}: missing values are not allowed, "
                "every item must be a str."
            )
        if isinstance(x, bytes):
            raise TypeError(
                f"{where} is bytes {x[:20]!r}: every item must be a str; "
                "decode bytes first, for example with .decode('utf-8')."
            )
        raise TypeError(
            f"{where} is {type(x).__name__} {x!r}: every item of {what} must be a str."
        )


def _token_keys(X):
    """The token of every cell of a 2-D array.

    Numbers stay numbers (an object array whose cells are all numbers is read
    as numbers: ints as int64, else float64); otherwise every cell's token is
    its ``str`` (:func:`check_sequences` refuses cells of several types).
    """
    if X.dtype.kind in "biuf":
        return X
    cells = X.ravel()
    if all(value_kind(v) == "number" for v in cells):  # ints stay ints
        integral = all(isinstance(v, numbers.Integral) for v in cells)
        return X.astype(np.int64 if integral else np.float64)
    return np.array([str(v) for v in cells]).reshape(X.shape)


def build_vocabulary(sequences, kind):
    """Sorted list of the distinct tokens in ``sequences``.

    Characters for strings; for a 2-D array, its cell values (numbers) or,
    for an object array, the ``str`` of each cell.
    """
    if kind == STRING:
        return sorted(set().union(*map(set, sequences)))
    return [
        v.item() if hasattr(v, "item") else v for v in np.unique(_token_keys(sequences))
    ]


def encode(sequences, kind, tokens):
    """Map sequences to token indices.

    Parameters
    ----------
    sequences : list of str or ndarray of shape (n_samples, n_tokens)
    kind : {"str", "tokens"}
    tokens : list
        The sorted vocabulary; token ``tokens[i]`` has index ``i + 1``.

    Returns
    -------
    codes : ndarray of shape (total_length,), dtype intp
        Every token of every sequence, end to end; unseen ones get the
        unknown index ``len(tokens) + 1``.
    lengths : ndarray of shape (n_samples,), dtype intp
    """
    if kind == STRING:
        lengths = np.fromiter(map(len, sequences), dtype=np.intp, count=len(sequences))
        joined = "".join(sequences)
        try:
            values = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        except UnicodeEncodeError as error:
            raise _surrogate_error(sequences, lengths, error.start) from None
        keys = np.array([ord(c) for c in tokens], dtype=np.uint32)
    else:
        lengths = np.full(sequences.shape[0], sequences.shape[1], dtype=np.intp)
        values = _token_keys(sequences).ravel()
        keys = np.asarray(tokens)
        if len(tokens) and (keys.dtype.kind == "U") != (values.dtype.kind == "U"):
            raise ValueError(
                f"The model was fitted on {_kind_name(keys)} tokens, "
                f"but X holds {_kind_name(values)} tokens."
            )
    if len(tokens) == 0:
        return np.full(values.shape, 1, dtype=np.intp), lengths
    index = np.searchsorted(keys, values)
    found = keys[np.minimum(index, len(keys) - 1)] == values
    codes = np.where(found, index + 1, len(tokens) + 1).astype(np.intp)
    return codes, lengths


def _surrogate_error(sequences, lengths, offset):
    """A ValueError naming the item that holds a lone surrogate.

    ``offset`` is where the encoder stopped in all the items joined.
    """
    i = int(np.searchsorted(np.cumsum(lengths), offset, side="right"))
    position = offset - int(lengths[:i].sum())
    item = sequences[i]
    shown = repr(item) if len(item) <= 40 else repr(item[:37]) + "..."
    return ValueError(
        f"X[{i}] = {shown} holds the lone surrogate {item[position]!r} at "
        f"position {position}: surrogates not allowed, as they are half of a "
        "UTF-16 pair and not text. Decode the source with errors='replace', "
        "or drop the item."
    )


def _kind_name(array):
    return "str" if array.dtype.kind == "U" else "numeric"


def make_batches(lengths, batch_size, rng=None):
    """Group sequence indices into mini-batches of similar length.

    Sequences are sorted by length inside pools of 64 batches so that little
    padding is computed. With ``rng``, the order is shuffled first and the
    batches are returned in random order; without it, the order is fixed.

    Parameters
    ----------
    lengths : ndarray of shape (n_samples,)
    batch_size : int
    rng : numpy.random.Generator, default=None

    Returns
    -------
    batches : list of ndarray of int
    """
    n = len(lengths)
    order = rng.permutation(n) if rng is not None else np.arange(n)
    pool = 64 * batch_size
    batches = []
    for start in range(0, n, pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(np.split(chunk, range(batch_size, len(chunk), batch_size)))
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def pad_batch(codes, offsets, lengths, index):
    """Build the padded arrays of one batch.

    Parameters
    ----------
    codes : ndarray of shape (total_length,)
    offsets : ndarray of shape (n_samples,)
        Where each sequence starts in ``codes``.
    lengths : ndarray of shape (n_samples,)
    index : ndarray of shape (B,)
        The sequences of the batch.

    Returns
    -------
    inputs, targets : ndarray of shape (T, B), T = longest length + 1
        ``inputs`` starts with the boundary token, ``targets`` ends with it.
    mask : ndarray of shape (T, B), dtype bool
        True on the ``length + 1`` real positions of each column.
    """
    lens = lengths[index]  # (B,)
    B = len(index)
    T = int(lens.max()) + 1
    steps = np.arange(T)[:, None]  # (T, 1)
    # token t of every sequence, read past the end of the short ones and
    # zeroed there: a few calls on (T, B) arrays, whatever the lengths
    values = np.take(codes, offsets[index] + steps[:-1], mode="clip")  # (T-1, B)
    values *= steps[:-1] < lens
    inputs = np.zeros((T, B), dtype=np.intp)
    targets = np.zeros((T, B), dtype=np.intp)
    inputs[1:] = values
    targets[:-1] = values
    mask = steps <= lens  # (T, B)
    return inputs, targets, mask


def decode(indices, kind, tokens):
    """Turn token indices back into a str, or a list of tokens."""
    values = [tokens[i - 1] for i in indices]
    return "".join(values) if kind == STRING else values


def decode_padded(indices, lengths, kind, tokens):
    """:func:`decode` every row of a padded array of token indices.

    Parameters
    ----------
    indices : ndarray of shape (n, L) of int
        Row ``i`` holds a sequence in its first ``lengths[i]`` entries and
        zeros (the boundary token) after them.
    lengths : ndarray of shape (n,) of int
    kind : str
    tokens : list
        The vocabulary in index order (index ``i`` is ``tokens[i - 1]``).

    Returns
    -------
    sequences : list of str, or list of list
    """
    if kind == STRING and indices.size and all(len(t) == 1 for t in tokens):
        if "\x00" not in tokens:
            # one character per cell: the rows read as fixed-width strings,
            # which NumPy ends at their first trailing NUL (the padding)
            table = np.array(["", *tokens, ""], dtype="U1")
            # only the columns some sequence reaches: the rest is padding
            width = max(int(lengths.max(initial=0)), 1)
            chars = np.take(table, indices[:, :width])  # (n, L')
            return chars.view(f"U{width}").ravel().tolist()
    return [
        decode(row[:length], kind, tokens)
        for row, length in zip(indices, lengths, strict=True)
    ]
