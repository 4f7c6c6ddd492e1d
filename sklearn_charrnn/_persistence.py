"""Model persistence: a safe model file, and versioned pickles.

The safe model file is a NumPy ``.npz`` archive (a zip of ``.npy`` members,
stored uncompressed) that ``numpy.load(path, allow_pickle=False)`` can open.
Its members are

- ``metadata.npy``: UTF-8 JSON as a 1-D uint8 array: the format name and
  version, the package, NumPy, scikit-learn and Python versions, the
  hyperparameters, the network's shape, the vocabulary (tokens with their
  type), the fitted numbers (``n_iter_``, ``loss_curve_``, ...) and the
  optimizer's step count and hyperparameters;
- ``weights/<name>.npy``: every array of ``weights_``;
- ``optimizer/m/<name>.npy`` and ``optimizer/v/<name>.npy``: AdamW's moments,
  unless saved with ``include_optimizer=False``;
- ``fitted/training_hashes_.npy``: the sorted hashes of the training
  sequences;
- ``random_state/keys.npy``: only when ``random_state`` is a RandomState.

Loading never unpickles: it reads the metadata first, works out from it the
exact set of members and the shape and dtype of each, checks every member's
header before reading its data, and refuses anything else with a
:class:`ModelFileError`. Writing goes to a temporary file in the same folder,
which then replaces the target in one rename.

Pickles (``pickle``, ``joblib``, ``skops``) go through ``__getstate__`` and
``__setstate__``: :func:`pickle_state` records the package version and turns
the optimizer into a plain dict (so that ``skops`` needs to trust only the
estimator class); :func:`unpickle_state` undoes that and warns with
:class:`InconsistentVersionWarning` when the versions differ.
"""

import io
import json
import math
import os
import platform
import secrets
import struct
import warnings
import zipfile
import zlib
from numbers import Integral, Real

import numpy as np
import sklearn
from sklearn.utils.validation import check_is_fitted

from ._sequences import STRING, TOKENS
from .nn.cells import CELLS
from .nn.network import is_decayed, weight_shapes
from .nn.optim import AdamW

FORMAT_NAME = "sklearn-charrnn model"
FORMAT_VERSION = 1

_METADATA = "metadata.npy"
_RANDOM_STATE_KEYS = "random_state/keys"
_MT19937_SIZE = 624
# A fixed timestamp makes the same model give the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_FLOAT_DTYPES = ("float32", "float64")
_TOKEN_TYPES = {"str": str, "int": int, "float": float, "bool": bool}
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
_FITTED_2D = ("n_features_in_", "feature_names_in_")
# Fitted 1-D arrays of any length, with their dtype; metadata gives the length.
_FITTED_ARRAYS = {"training_hashes_": np.dtype(np.uint64)}
_OPTIMIZER_NUMBERS = ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay")
_VERSION_KEY = "_charrnn_version"
# Everything that can go wrong while parsing bytes that are already in memory.
_PARSE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    EOFError,
    OverflowError,
    OSError,
    RuntimeError,
    NotImplementedError,
    MemoryError,
    RecursionError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
)


class ModelFileError(ValueError):
    """A file that is not a valid sklearn-charrnn model file.

    Raised by :func:`load_model` (and :meth:`CharRNNGenerator.load`) for a
    file that is not a zip archive, is truncated or corrupted, holds a
    pickled object, misses an array or has an extra one, has an array of the
    wrong shape or dtype, a vocabulary that does not match the weights,
    non-finite weights, invalid metadata, or was written in a newer format.
    Nothing from such a file is executed and no model is returned.
    """


class InconsistentVersionWarning(UserWarning):
    """A model was unpickled by a different sklearn-charrnn version.

    The model may still work, but nothing guarantees it: save it with
    :meth:`CharRNNGenerator.save` to move it between versions.

    Parameters
    ----------
    estimator_name : str
        Name of the estimator class.
    current_version : str
        Version of sklearn-charrnn doing the loading.
    original_version : str
        Version that pickled the model (``"unknown"`` when not recorded).
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version
        super().__init__(
            f"Trying to unpickle estimator {estimator_name} from sklearn-charrnn "
            f"version {original_version} when using version {current_version}. "
            "This might lead to breaking code or invalid results. Use at your "
            "own risk. A model file written by CharRNNGenerator.save loads "
            "across versions."
        )


def _package_version():
    from . import __version__

    return __version__


# ---------------------------------------------------------------- pickles


def optimizer_state(optimizer):
    """The attributes of an AdamW optimizer as a plain dict."""
    return dict(vars(optimizer))


def optimizer_from_state(state):
    """Rebuild the AdamW optimizer that :func:`optimizer_state` described."""
    optimizer = AdamW.__new__(AdamW)
    vars(optimizer).update(state)
    return optimizer


def pickle_state(state):
    """Add the package version to an estimator's pickled state.

    The optimizer becomes a plain dict, so that the state holds only
    builtins and arrays.

    Parameters
    ----------
    state : dict
        What ``BaseEstimator.__getstate__`` returned.

    Returns
    -------
    state : dict
        A new dict.
    """
    state = dict(state)
    if isinstance(state.get("_optimizer"), AdamW):
        state["_optimizer"] = optimizer_state(state["_optimizer"])
    state[_VERSION_KEY] = _package_version()
    return state


def unpickle_state(state, estimator_name):
    """Undo :func:`pickle_state`; warn when the package versions differ.

    Parameters
    ----------
    state : dict
    estimator_name : str
        Named in the warning.

    Returns
    -------
    state : dict
        A new dict, for ``BaseEstimator.__setstate__``.
    """
    state = dict(state)
    original = state.pop(_VERSION_KEY, "unknown")
    current = _package_version()
    if original != current:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=estimator_name,
                current_version=current,
                original_version=original,
            ),
            stacklevel=3,
        )
    if isinstance(state.get("_optimizer"), dict):
        state["_optimizer"] = optimizer_from_state(state["_optimizer"])
    return state


# ------------------------------------------------------------------ save


def save_model(estimator, path, *, include_optimizer=True):
    """Write a fitted CharRNNGenerator to a safe model file.

    The file is written to a temporary file in the same folder, then renamed
    over ``path``: an interrupted write leaves any previous file intact.
    Saving the same model twice gives the same bytes.

    Parameters
    ----------
    estimator : CharRNNGenerator
        A fitted estimator.
    path : str or os.PathLike
        Where to write; used as given (no suffix is added; ``.npz`` is a
        good one, as ``numpy.load`` opens the file).
    include_optimizer : bool, default=True
        Store AdamW's moments (twice the size of the weights) so that
        ``warm_start`` or ``partial_fit`` continue exactly where training
        stopped. Without them, a loaded model resumes with fresh moments.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If the model cannot be stored faithfully: non-finite weights,
        weights that do not match its parameters, a parameter or fitted
        attribute this format does not know.
    """
    check_is_fitted(estimator)
    metadata, arrays = _contents(estimator, include_optimizer)
    text = json.dumps(metadata, sort_keys=True, ensure_ascii=True)
    members = {_METADATA: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    members.update((f"{name}.npy", array) for name, array in arrays.items())

    def write(file):
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, array in members.items():
                _write_member(archive, name, array)

    _atomic_write(path, write)


def _write_member(archive, name, array):
    """Write one array as a ``.npy`` member, little-endian, C order."""
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    with archive.open(info, "w", force_zip64=array.nbytes > 2**30) as member:
        np.lib.format.write_array(member, array, allow_pickle=False)


def _atomic_write(path, write):
    """Call ``write(file)`` on a temporary file, then rename it to ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(
        folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp"
    )
    # os.open with 0o666 lets the umask decide the permissions, as open() does.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Make the rename durable where the platform allows it (POSIX)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _contents(estimator, include_optimizer):
    """The metadata dict and the arrays of a fitted estimator."""
    params = estimator.get_params(deep=False)
    known = set(params) | set(_FITTED) | set(_FITTED_2D) | set(_FITTED_ARRAYS)
    known |= {"vocabulary_", "input_kind_", "weights_", "_optimizer"}
    unknown = sorted(set(vars(estimator)) - known)
    if unknown:
        raise ValueError(
            f"Cannot save {type(estimator).__name__}: the model file format does "
            f"not know the attributes {unknown}. Use pickle or joblib instead."
        )
    arrays = {}
    json_params = {}
    for name, value in params.items():
        if name == "random_state" and isinstance(value, np.random.RandomState):
            kind, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            json_params[name] = {
                "RandomState": {
                    "pos": int(pos),
                    "has_gauss": int(has_gauss),
                    "cached_gaussian": float(cached),
                }
            }
            arrays[_RANDOM_STATE_KEYS] = np.asarray(keys, dtype=np.uint32)
        else:
            json_params[name] = _json_scalar(value, f"parameter {name}")

    weights = estimator.weights_
    hidden_size, n_tokens = weights["W_y"].shape
    dtype = weights["W_y"].dtype
    network = {
        "cell": params["cell"],
        "n_layers": int(params["n_layers"]),
        "hidden_size": int(hidden_size),
        "n_tokens": int(n_tokens),
        "dtype": dtype.name,
    }
    shapes = weight_shapes(
        cell=network["cell"],
        n_layers=network["n_layers"],
        hidden_size=network["hidden_size"],
        n_tokens=network["n_tokens"],
    )
    _check_saved_arrays(weights, shapes, dtype, "weights_")
    arrays.update((f"weights/{name}", weights[name]) for name in shapes)

    tokens = list(estimator.vocabulary_)
    if list(estimator.vocabulary_.values()) != list(range(1, len(tokens) + 1)):
        raise ValueError("Cannot save: vocabulary_ must map its tokens to 1..n.")
    if len(tokens) + 2 != n_tokens:
        raise ValueError(
            f"Cannot save: vocabulary_ has {len(tokens)} tokens but the weights "
            f"are for {n_tokens - 2}."
        )
    vocabulary = {
        "input_kind": estimator.input_kind_,
        "token_type": _token_type(tokens),
        "tokens": tokens,
    }

    fitted = {name: _json_value(getattr(estimator, name), name) for name in _FITTED}
    for name in _FITTED_2D:
        if hasattr(estimator, name):
            fitted[name] = _json_value(getattr(estimator, name), name)

    fitted_arrays = {}
    for name, dtype_ in _FITTED_ARRAYS.items():
        if not hasattr(estimator, name):
            continue
        array = np.asarray(getattr(estimator, name))
        if array.ndim != 1 or array.dtype != dtype_:
            raise ValueError(
                f"Cannot save: {name} must be a 1-D {dtype_} array; got shape "
                f"{array.shape} and dtype {array.dtype}."
            )
        fitted_arrays[name] = len(array)
        arrays[f"fitted/{name}"] = array

    optimizer = None
    if include_optimizer:
        adam = estimator._optimizer
        optimizer = {name: float(getattr(adam, name)) for name in _OPTIMIZER_NUMBERS}
        optimizer["t"] = int(adam.t)
        optimizer["decay"] = {name: bool(adam.decay[name]) for name in shapes}
        for moment in ("m", "v"):
            values = getattr(adam, moment)
            _check_saved_arrays(values, shapes, dtype, f"optimizer moment {moment}")
            arrays.update(
                (f"optimizer/{moment}/{name}", values[name]) for name in shapes
            )

    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "estimator": type(estimator).__name__,
        "versions": {
            "sklearn-charrnn": _package_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "python": platform.python_version(),
        },
        "params": json_params,
        "network": network,
        "vocabulary": vocabulary,
        "fitted": fitted,
        "fitted_arrays": fitted_arrays,
        "optimizer": optimizer,
    }
    return metadata, arrays


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
                f"{array.dtype}, expected {shape} and {dtype}."
            )
        if not np.isfinite(array).all():
            raise ValueError(f"Cannot save: {what}[{name!r}] is not finite.")


def _token_type(tokens):
    for type_name, kind in _TOKEN_TYPES.items():
        # bool is an int, so check exact types.
        if all(type(token) is kind for token in tokens):
            return type_name
    types = sorted({type(token).__name__ for token in tokens})
    raise ValueError(
        f"Cannot save: vocabulary tokens must all be str, int, float or bool; "
        f"got {types}."
    )


def _json_scalar(value, what):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    raise ValueError(
        f"Cannot save {what}={value!r}: the model file stores None, bool, int, "
        "float or str (and a RandomState for random_state). Use pickle instead."
    )


def _json_value(value, what):
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_scalar(v, what) for v in value]
    return _json_scalar(value, what)


# ------------------------------------------------------------------ load


def load_model(path):
    """Read a model written by :func:`save_model`, without unpickling.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    estimator : CharRNNGenerator
        A fitted estimator whose ``score_samples`` and seeded ``sample`` give
        the same results as the one saved.

    Raises
    ------
    ModelFileError
        If the file is not a valid model file (see :class:`ModelFileError`);
        no model is returned and nothing from the file is executed.
    OSError
        If the file cannot be read (for example, it does not exist).
    """
    from ._estimator import CharRNNGenerator

    return load_as(CharRNNGenerator, path)


def load_as(estimator_class, path):
    """:func:`load_model` for ``estimator_class`` (what ``cls.load`` calls)."""
    with open(path, "rb") as file:
        data = file.read()
    try:
        return _parse(data, estimator_class)
    except ModelFileError as error:
        raise ModelFileError(f"Cannot load {os.fspath(path)}: {error}.") from None
    except _PARSE_ERRORS as error:
        raise ModelFileError(
            f"Cannot load {os.fspath(path)}: not a valid sklearn-charrnn model "
            f"file (truncated or corrupted?): {type(error).__name__}: {error}"
        ) from error


def _parse(data, estimator_class):
    """Validate every byte of a model file and build the estimator."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise ModelFileError("the archive holds the same member twice")
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise ModelFileError(
                f"member {info.filename!r} is compressed or encrypted; model "
                "files store their members as they are"
            )
    if _METADATA not in names:
        raise ModelFileError(f"no {_METADATA} member: not a sklearn-charrnn model file")
    raw = _read_array(archive, _METADATA, None, np.dtype("u1"))
    metadata = _parse_json(raw.tobytes())
    spec = _check_metadata(metadata, estimator_class)

    expected = {f"{name}.npy": shape for name, shape in spec["arrays"].items()}
    present = set(names) - {_METADATA}
    missing = sorted(set(expected) - present)
    extra = sorted(present - set(expected))
    if missing or extra:
        raise ModelFileError(
            f"the arrays do not match the metadata: missing {missing}, "
            f"unexpected {extra}"
        )
    arrays = {}
    for member, (shape, dtype) in expected.items():
        arrays[member[: -len(".npy")]] = _read_array(archive, member, shape, dtype)
    return _build(spec, arrays, estimator_class)


def _parse_json(raw):
    def no_nan(constant):
        if constant == "NaN":
            raise ModelFileError("the metadata holds NaN")
        return float(constant)

    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ModelFileError("the metadata repeats a key")
        return dict(pairs)

    text = raw.decode("utf-8")
    return json.loads(text, parse_constant=no_nan, object_pairs_hook=no_duplicates)


def _read_array(archive, member, shape, dtype):
    """Read one ``.npy`` member after checking its header.

    ``shape`` None accepts any 1-D array. The data must be exactly what the
    header announces, little-endian, and never an object array (those hold
    pickles).
    """
    raw = archive.read(member)  # checks the CRC
    buffer = io.BytesIO(raw)
    version = np.lib.format.read_magic(buffer)
    if version == (1, 0):
        header = np.lib.format.read_array_header_1_0(buffer)
    elif version == (2, 0):
        header = np.lib.format.read_array_header_2_0(buffer)
    else:
        raise ModelFileError(f"member {member!r} has .npy format {version}")
    file_shape, fortran_order, file_dtype = header
    if file_dtype.hasobject:
        raise ModelFileError(
            f"member {member!r} holds Python objects (dtype {file_dtype}); model "
            "files hold only numbers, and loading objects would run pickle"
        )
    wanted = dtype.newbyteorder("<")
    if file_dtype != wanted:
        raise ModelFileError(
            f"member {member!r} has dtype {file_dtype.str}, expected {wanted.str}"
        )
    if (shape is None and len(file_shape) != 1) or (
        shape is not None and tuple(file_shape) != tuple(shape)
    ):
        expected = "1-D" if shape is None else tuple(shape)
        raise ModelFileError(
            f"member {member!r} has shape {tuple(file_shape)}, expected {expected}"
        )
    size = math.prod(file_shape) * file_dtype.itemsize
    if buffer.tell() + size != len(raw):
        raise ModelFileError(
            f"member {member!r} holds {len(raw) - buffer.tell()} bytes of data, "
            f"its header announces {size}"
        )
    array = np.load(io.BytesIO(raw), allow_pickle=False)
    return np.array(array, dtype=dtype.newbyteorder("="), order="C")


# --------------------------------------------------------- metadata check


def _fail(where, expected, value):
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise ModelFileError(f"metadata {where} must be {expected}; got {shown}")


def _keys(mapping, where, required, optional=()):
    if not isinstance(mapping, dict):
        _fail(where, "an object", mapping)
    missing = sorted(set(required) - set(mapping))
    extra = sorted(set(mapping) - set(required) - set(optional))
    if missing or extra:
        problems = [f"lacks keys {missing}"] if missing else []
        problems += [f"has unexpected keys {extra}"] if extra else []
        raise ModelFileError(
            f"metadata {where or '(top level)'} {' and '.join(problems)}"
        )
    return mapping


def _int(value, where, minimum=0):
    if type(value) is not int or value < minimum:
        _fail(where, f"an int >= {minimum}", value)
    return value


def _float(value, where, finite=True):
    if type(value) not in (int, float) or (finite and not math.isfinite(value)):
        _fail(where, "a finite number" if finite else "a number", value)
    return float(value)


def _str(value, where, options=None):
    if type(value) is not str or (options is not None and value not in options):
        _fail(where, "a str" if options is None else f"one of {sorted(options)}", value)
    return value


def _list(value, where, check):
    if type(value) is not list:
        _fail(where, "a list", value)
    return [check(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _check_metadata(metadata, estimator_class):
    """Check the metadata; return what :func:`_build` needs and the arrays."""
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(f"not a {FORMAT_NAME} file (no format marker)")
    version = metadata.get("format_version")
    written_by = metadata.get("versions", {})
    if not isinstance(written_by, dict):
        written_by = {}
    if type(version) is int and version > FORMAT_VERSION:
        raise ModelFileError(
            f"written in model file format {version} by sklearn-charrnn "
            f"{written_by.get('sklearn-charrnn', '(unknown version)')}; this "
            f"sklearn-charrnn {_package_version()} reads format {FORMAT_VERSION} "
            "at most. Upgrade sklearn-charrnn to load it"
        )
    _int(version, "format_version", minimum=1)
    _keys(
        metadata,
        "",
        (
            "format",
            "format_version",
            "estimator",
            "versions",
            "params",
            "network",
            "vocabulary",
            "fitted",
            "fitted_arrays",
            "optimizer",
        ),
    )
    _str(metadata["estimator"], "estimator", {estimator_class.__name__})
    versions = _keys(
        metadata["versions"],
        "versions",
        ("sklearn-charrnn", "numpy", "scikit-learn", "python"),
    )
    for name, value in versions.items():
        _str(value, f"versions.{name}")

    arrays = {}
    params, random_state = _check_params(metadata["params"], estimator_class)
    if random_state is not None:
        arrays[_RANDOM_STATE_KEYS] = ((_MT19937_SIZE,), np.dtype(np.uint32))

    network = _keys(
        metadata["network"],
        "network",
        ("cell", "n_layers", "hidden_size", "n_tokens", "dtype"),
    )
    _str(network["cell"], "network.cell", set(CELLS))
    _int(network["n_layers"], "network.n_layers", minimum=1)
    _int(network["hidden_size"], "network.hidden_size", minimum=1)
    _int(network["n_tokens"], "network.n_tokens", minimum=2)
    _str(network["dtype"], "network.dtype", set(_FLOAT_DTYPES))
    for name in ("cell", "n_layers"):
        if network[name] != params[name]:
            raise ModelFileError(
                f"the network has {name}={network[name]!r} but the parameters "
                f"say {params[name]!r}"
            )
    dtype = np.dtype(network["dtype"])
    shapes = weight_shapes(
        cell=network["cell"],
        n_layers=network["n_layers"],
        hidden_size=network["hidden_size"],
        n_tokens=network["n_tokens"],
    )
    arrays.update((f"weights/{name}", (shape, dtype)) for name, shape in shapes.items())

    vocabulary = _check_vocabulary(metadata["vocabulary"])
    if len(vocabulary["tokens"]) + 2 != network["n_tokens"]:
        raise ModelFileError(
            f"the vocabulary has {len(vocabulary['tokens'])} tokens but the "
            f"weights are for {network['n_tokens'] - 2} (n_tokens = "
            f"{network['n_tokens']} counts the boundary and unknown tokens)"
        )
    fitted = _check_fitted(metadata["fitted"])
    lengths = _keys(metadata["fitted_arrays"], "fitted_arrays", (), _FITTED_ARRAYS)
    for name, length in lengths.items():
        _int(length, f"fitted_arrays.{name}")
        arrays[f"fitted/{name}"] = ((length,), _FITTED_ARRAYS[name])

    optimizer = metadata["optimizer"]
    if optimizer is not None:
        optimizer = _keys(optimizer, "optimizer", (*_OPTIMIZER_NUMBERS, "t", "decay"))
        for name in _OPTIMIZER_NUMBERS:
            _float(optimizer[name], f"optimizer.{name}")
        _int(optimizer["t"], "optimizer.t")
        decay = _keys(optimizer["decay"], "optimizer.decay", tuple(shapes))
        for name, value in decay.items():
            if type(value) is not bool:
                _fail(f"optimizer.decay.{name}", "a bool", value)
        for moment in ("m", "v"):
            arrays.update(
                (f"optimizer/{moment}/{name}", (shape, dtype))
                for name, shape in shapes.items()
            )
    return {
        "params": params,
        "random_state": random_state,
        "shapes": shapes,
        "vocabulary": vocabulary,
        "fitted": fitted,
        "fitted_arrays": tuple(lengths),
        "optimizer": optimizer,
        "arrays": arrays,
    }


def _check_params(params, estimator_class):
    names = tuple(estimator_class().get_params(deep=False))
    params = dict(_keys(params, "params", names))
    random_state = None
    for name, value in params.items():
        if name == "random_state" and isinstance(value, dict):
            state = _keys(value, "params.random_state", ("RandomState",))
            random_state = _keys(
                state["RandomState"],
                "params.random_state.RandomState",
                ("pos", "has_gauss", "cached_gaussian"),
            )
            _int(random_state["pos"], "random_state.pos")
            if random_state["pos"] > _MT19937_SIZE:
                _fail("random_state.pos", f"<= {_MT19937_SIZE}", random_state["pos"])
            if random_state["has_gauss"] not in (0, 1):
                _fail("random_state.has_gauss", "0 or 1", random_state["has_gauss"])
            _float(random_state["cached_gaussian"], "random_state.cached_gaussian")
            params[name] = None
        elif value is not None and type(value) not in (bool, int, float, str):
            _fail(f"params.{name}", "None, a bool, an int, a float or a str", value)
    try:
        estimator_class(**params)._validate_params()
    except ValueError as error:
        raise ModelFileError(f"invalid parameters: {error}") from None
    return params, random_state


def _check_vocabulary(vocabulary):
    vocabulary = _keys(vocabulary, "vocabulary", ("input_kind", "token_type", "tokens"))
    kind = _str(vocabulary["input_kind"], "vocabulary.input_kind", {STRING, TOKENS})
    token_type = _str(
        vocabulary["token_type"], "vocabulary.token_type", set(_TOKEN_TYPES)
    )
    tokens = vocabulary["tokens"]
    if type(tokens) is not list:
        _fail("vocabulary.tokens", "a list", tokens)
    python_type = _TOKEN_TYPES[token_type]
    if token_type == "float":
        # JSON writes 2.0 as 2.0, but accept ints for floats written by hand.
        tokens = [float(t) if type(t) is int else t for t in tokens]
    for i, token in enumerate(tokens):
        if type(token) is not python_type:
            _fail(f"vocabulary.tokens[{i}]", f"a {token_type}", token)
        if token_type == "float" and not math.isfinite(token):
            _fail(f"vocabulary.tokens[{i}]", "finite", token)
    if kind == STRING:
        if token_type != "str" or any(len(token) != 1 for token in tokens):
            raise ModelFileError(
                "a model fitted on strings must have one-character str tokens"
            )
    if any(a >= b for a, b in zip(tokens[:-1], tokens[1:], strict=True)):
        raise ModelFileError(
            "vocabulary.tokens must be distinct and sorted (the encoding relies on it)"
        )
    return {"input_kind": kind, "tokens": tokens}


def _check_fitted(fitted):
    # A 2-D array, or a one-column DataFrame of str, records its columns.
    fitted = _keys(fitted, "fitted", _FITTED, _FITTED_2D)

    def loss(value, where):
        return _float(value, where, finite=False)

    result = {
        "n_iter_": _int(fitted["n_iter_"], "fitted.n_iter_"),
        "t_": _int(fitted["t_"], "fitted.t_"),
        "loss_curve_": _list(fitted["loss_curve_"], "fitted.loss_curve_", _float),
        "best_loss_": loss(fitted["best_loss_"], "fitted.best_loss_"),
        "max_length_": _int(fitted["max_length_"], "fitted.max_length_"),
        "_no_improvement_count": _int(
            fitted["_no_improvement_count"], "fitted._no_improvement_count"
        ),
    }
    scores, best = fitted["validation_scores_"], fitted["best_validation_score_"]
    if (scores is None) != (best is None):
        raise ModelFileError(
            "metadata fitted.validation_scores_ and best_validation_score_ must "
            "both be null or both be set"
        )
    if scores is not None:
        scores = _list(scores, "fitted.validation_scores_", _float)
        best = loss(best, "fitted.best_validation_score_")
    result["validation_scores_"] = scores
    result["best_validation_score_"] = best
    if "n_features_in_" in fitted:
        result["n_features_in_"] = _int(
            fitted["n_features_in_"], "fitted.n_features_in_", minimum=1
        )
    if "feature_names_in_" in fitted:
        names = _list(fitted["feature_names_in_"], "fitted.feature_names_in_", _str)
        if len(names) != result.get("n_features_in_"):
            raise ModelFileError(
                "metadata fitted.feature_names_in_ must name n_features_in_ columns"
            )
        result["feature_names_in_"] = np.asarray(names, dtype=object)
    return result


def _build(spec, arrays, estimator_class):
    """Check the array values and assemble the estimator, all or nothing."""
    shapes = spec["shapes"]
    weights = {name: arrays[f"weights/{name}"] for name in shapes}
    for name, array in weights.items():
        if not np.isfinite(array).all():
            raise ModelFileError(f"weights {name!r} hold non-finite values")
    estimator = estimator_class(**spec["params"])
    if spec["random_state"] is not None:
        state = spec["random_state"]
        random_state = np.random.RandomState()
        random_state.set_state(
            (
                "MT19937",
                arrays[_RANDOM_STATE_KEYS],
                state["pos"],
                state["has_gauss"],
                state["cached_gaussian"],
            )
        )
        estimator.random_state = random_state

    if spec["optimizer"] is None:
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
        numbers = spec["optimizer"]
        optimizer = AdamW(
            weights,
            **{name: numbers[name] for name in _OPTIMIZER_NUMBERS},
            decay={name: numbers["decay"][name] for name in shapes},
        )
        optimizer.t = numbers["t"]
        for moment in ("m", "v"):
            values = {name: arrays[f"optimizer/{moment}/{name}"] for name in shapes}
            for name, array in values.items():
                if not np.isfinite(array).all():
                    raise ModelFileError(
                        f"optimizer moment {moment} {name!r} holds non-finite values"
                    )
                if moment == "v" and (array < 0).any():
                    raise ModelFileError(
                        f"optimizer moment v {name!r} holds negative values"
                    )
            setattr(optimizer, moment, values)

    hashes = arrays.get("fitted/training_hashes_")
    if hashes is not None and (hashes[1:] <= hashes[:-1]).any():
        raise ModelFileError("training_hashes_ must be sorted and distinct")

    tokens = spec["vocabulary"]["tokens"]
    estimator.vocabulary_ = {token: i + 1 for i, token in enumerate(tokens)}
    estimator.input_kind_ = spec["vocabulary"]["input_kind"]
    estimator.weights_ = weights
    estimator._optimizer = optimizer
    for name, value in spec["fitted"].items():
        setattr(estimator, name, value)
    for name in spec["fitted_arrays"]:
        setattr(estimator, name, arrays[f"fitted/{name}"])
    return estimator
