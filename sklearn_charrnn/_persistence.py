"""The model file format, for any estimator of the package; versioned pickles.

This module knows the container, not the models. A model file is a NumPy
``.npz`` archive (a zip of ``.npy`` members, stored uncompressed) that
``numpy.load(path, allow_pickle=False)`` can open. Its members are

- ``metadata.npy``: UTF-8 JSON as a 1-D uint8 array. Five keys belong to this
  module: ``format`` and ``format_version``, ``estimator`` (the class name),
  ``versions`` (of the package, NumPy, scikit-learn and Python that wrote
  it) and ``params`` (the hyperparameters: None, bool, int, float or str,
  and a ``numpy.random.RandomState`` for ``random_state``). Every other key
  is a *section* of the estimator's fitted state;
- one ``<name>.npy`` member per array of the fitted state, plus
  ``random_state/keys.npy`` when ``random_state`` is a RandomState.

An estimator describes its state with a :class:`ModelSchema`: which sections
it writes, how to check them and which arrays (name, shape, dtype) they
imply, and how to check the arrays' values. :func:`write_model` runs the
same checks before writing that :func:`read_model` runs when reading, so a
file that saves also loads.

Reading never unpickles and never believes a size it has not checked: the
file must be a regular file; the archive must start at its first byte; the
metadata is at most ``MAX_METADATA_BYTES``; every member's size is checked
against the file's size, and every array's header against the shape and
dtype the metadata implies, before its data is read. Anything else is a
:class:`ModelFileError`. Writing goes to a temporary file in the same
folder, which then replaces the target in one rename; an existing target
keeps its permissions.

Pickles (``pickle``, ``joblib``, ``skops``) go through the estimators'
``__getstate__`` and ``__setstate__``: :func:`pickle_state` records the
package version; :func:`unpickle_state` warns with
:class:`InconsistentVersionWarning` when the versions differ.
"""

import contextlib
import errno
import io
import json
import math
import os
import platform
import secrets
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import sklearn
from sklearn.utils.validation import check_is_fitted

from . import _version
from ._signals import held_interrupts

FORMAT_NAME = "sklearn-charrnn model"
FORMAT_VERSION = 1

# The metadata is JSON read whole: this bounds it (a vocabulary of a million
# tokens, or a million epochs of loss curve, fit in a few megabytes).
MAX_METADATA_BYTES = 32 * 2**20
# An .npy header is a short Python dict literal; NumPy's own loader refuses
# headers above 10,000 bytes unless told otherwise.
_MAX_NPY_HEADER = 10_000
_METADATA = "metadata.npy"
_RANDOM_STATE_KEYS = "random_state/keys"
_MT19937_SIZE = 624
_CONTAINER_KEYS = ("format", "format_version", "estimator", "versions", "params")
_VERSION_NAMES = ("sklearn-charrnn", "numpy", "scikit-learn", "python")
# A fixed timestamp makes the same model give the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_VERSION_KEY = "_charrnn_version"
# Everything that can go wrong while parsing bytes read from the file.
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

    Raised by :func:`load_model` (and the ``load`` of
    :class:`CharRNNGenerator`, :class:`KneserNeyGenerator`,
    :class:`GeneratorMixture` and :class:`CharRNNClassifier`) for a file
    that is not a regular file or not a zip archive, is truncated or
    corrupted, holds a pickled object, misses an array or has an extra one,
    has an array of the wrong shape, dtype or memory order, a vocabulary
    that does not match the weights or tables, non-finite weights or
    log-probabilities, an n-gram table out of range, mixture weights that
    are negative or do not sum to 1, a classifier whose generator was fitted
    without labels or with other classes or whose prior does not sum to 1,
    parameters that
    contradict the fitted state or their constraints, sizes beyond the
    format's bounds, or was written in a newer format. Nothing from such a
    file is executed and no model is returned.
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


# ---------------------------------------------------------------- schema


@dataclass(frozen=True)
class ModelSchema:
    """What one estimator class keeps in a model file, and how to check it.

    Every check raises :class:`ModelFileError` (or a ``ValueError``, which
    is reported as one) naming the problem.

    Parameters
    ----------
    estimator : str
        The class name recorded in the file.
    sections : tuple of str
        The metadata keys of the fitted state, beside the container's own.
    check_params : callable
        ``check_params(params)`` checks the hyperparameters (a dict of
        JSON scalars; ``random_state`` None when it was a RandomState)
        against the class's constraints.
    check_sections : callable
        ``check_sections(params, sections) -> (state, arrays)``: checks the
        sections against each other and the parameters; returns the checked
        state (what the estimator is built from) and the arrays it implies,
        ``{name: (shape, dtype)}``.
    check_arrays : callable
        ``check_arrays(state, arrays)`` checks the arrays' values (finite,
        sorted, ...).
    """

    estimator: str
    sections: tuple
    check_params: Callable[[dict], None]
    check_sections: Callable[[dict, dict], tuple]
    check_arrays: Callable[[dict, dict], None]


class ModelContents(NamedTuple):
    """What :func:`read_model` returns: everything checked."""

    estimator: str
    params: dict  # random_state rebuilt as a RandomState when it was one
    state: Any  # what the schema's check_sections returned
    arrays: dict  # name -> ndarray, native byte order, C order
    versions: dict


# ---------------------------------------------------------------- pickles


def pickle_state(state):
    """Add the package version to an estimator's pickled state.

    Parameters
    ----------
    state : dict
        What ``BaseEstimator.__getstate__`` returned.

    Returns
    -------
    state : dict
        A new dict.
    """
    return {**state, _VERSION_KEY: _version.__version__}


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
    if original != _version.__version__:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=estimator_name,
                current_version=_version.__version__,
                original_version=original,
            ),
            stacklevel=3,
        )
    return state


class VersionedPickleMixin:
    """Pickles that record the package version and warn when loaded by
    another (:func:`pickle_state`, :func:`unpickle_state`). Put it before
    ``BaseEstimator`` in the bases."""

    def __getstate__(self):
        return pickle_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(unpickle_state(state, type(self).__name__))


# ------------------------------------------------------------------ write


def write_model(path, schema, *, params, sections, arrays):
    """Write a model file, after checking it as :func:`read_model` would.

    The file is written to a temporary file in the same folder, then renamed
    over ``path``: an interrupted write leaves any previous file intact, and
    a previous file's permissions are kept. The same contents give the same
    bytes.

    Parameters
    ----------
    path : str or os.PathLike
    schema : ModelSchema
    params : dict
        The hyperparameters: None, bool, int, float, str, and a RandomState
        for ``random_state``.
    sections : dict
        JSON-able sections of the fitted state, keyed by the schema's names.
    arrays : dict of str to ndarray
        Written as ``<name>.npy``.

    Raises
    ------
    ValueError
        ``Cannot save PATH: ...`` when the contents would not load back.
    PermissionError
        When ``open(path, "wb")`` would refuse.
    """
    shown = os.fspath(path)
    arrays = dict(arrays)
    json_params = params_to_json(params, arrays)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "estimator": schema.estimator,
        "versions": {
            "sklearn-charrnn": _version.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "python": platform.python_version(),
        },
        "params": json_params,
        **sections,
    }
    try:
        # through JSON and back: what is checked is what a reader will see
        text = json.dumps(metadata, sort_keys=True, ensure_ascii=True, allow_nan=True)
        written = _parse_json(text.encode("utf-8"))
        _, state, expected = _check_metadata(written, {schema.estimator: schema})
        _check_array_set(set(expected), set(arrays))
        for name, (shape, dtype) in expected.items():
            array = arrays[name]
            if array.shape != tuple(shape) or array.dtype != dtype:
                raise ModelFileError(
                    f"array {name!r} has shape {array.shape} and dtype "
                    f"{array.dtype}, expected {tuple(shape)} and {dtype}"
                )
        schema.check_arrays(state, arrays)
    except ValueError as error:
        raise ValueError(f"Cannot save {shown}: {str(error).rstrip('.')}.") from None
    members = {_METADATA: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    members.update((f"{name}.npy", arrays[name]) for name in sorted(arrays))

    def write(file):
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, array in members.items():
                _write_member(archive, name, array)

    _atomic_write(path, write)


def params_to_json(params, arrays, prefix=""):
    """JSON scalars for ``params``; a RandomState's keys join ``arrays``.

    Parameters
    ----------
    params : dict
        None, bool, int, float, str, and a RandomState for ``random_state``.
    arrays : dict
        Receives ``PREFIXrandom_state/keys`` when ``random_state`` is a
        RandomState (modified in place).
    prefix : str, default=""
        Where the keys go: a model file may hold the parameters of several
        estimators (the components of a mixture).

    Returns
    -------
    json_params : dict
    """
    json_params = {}
    for name, value in params.items():
        if name == "random_state" and isinstance(value, np.random.RandomState):
            _, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            json_params[name] = {
                "RandomState": {
                    "pos": int(pos),
                    "has_gauss": int(has_gauss),
                    "cached_gaussian": float(cached),
                }
            }
            arrays[prefix + _RANDOM_STATE_KEYS] = np.asarray(keys, dtype=np.uint32)
        else:
            json_params[name] = json_scalar(value, f"parameter {name}")
    return json_params


def json_scalar(value, what):
    """``value`` as a JSON scalar (None, bool, int, float or str)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    raise ValueError(
        f"Cannot save {what}={value!r}: the model file stores None, bool, int, "
        "float or str (and a RandomState for random_state). Use pickle instead."
    )


def _write_member(archive, name, array):
    """Write one array as a ``.npy`` member, little-endian, C order."""
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    with archive.open(info, "w", force_zip64=array.nbytes > 2**30) as member:
        np.lib.format.write_array(member, array, allow_pickle=False)


def _atomic_write(path, write):
    """Call ``write(file)`` on a temporary file, then rename it to ``path``.

    Refuses what ``open(path, "wb")`` would refuse, with the same error
    naming ``path``. An existing file's permission bits are given to the
    new one (0600 stays 0600); a new file gets what the umask allows. A
    symbolic link stays one: the file it points to is replaced. (A hard
    link cannot be kept by a rename: ``path`` becomes a file of its own.)
    """
    path = os.fspath(path)
    _check_file_name(path)
    target = os.path.realpath(path)  # a symbolic link: write where it points
    folder = os.path.dirname(target)
    mode = _existing_mode(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    # the target's name, shortened so that the temporary name stays legal
    name = os.path.basename(target)[:64]
    temporary = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    file = None
    try:
        # the temporary file and the object that closes it come together: a
        # Ctrl-C is held back until both exist, then raised inside this try
        with held_interrupts():
            file = _create(temporary, mode, path)
        with file:
            if mode is not None:
                os.fchmod(file.fileno(), mode)
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        if file is not None:  # it was made: close it and take it away
            file.close()
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise
    _fsync_folder(folder)


def _create(temporary, mode, path):
    """A new file opened for writing; ``path`` named if permission is refused.

    0o666 lets the umask decide a new file's permissions, as open() does;
    over an existing file (``mode`` not None) it starts private and takes
    that file's mode once open.
    """
    try:
        fd = os.open(
            temporary,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL,
            0o666 if mode is None else 0o600,
        )
    except PermissionError:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path) from None
    return os.fdopen(fd, "wb")


def _check_file_name(path):
    """Refuse, as ``open(path, "wb")`` does, an empty path and the name of
    a folder (``models/`` or ``models/.``, which ``realpath`` would make
    ``models``)."""
    text = os.fsdecode(path)
    if not text:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    if names_a_folder(text):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)


def names_a_folder(path):
    """Whether ``path`` (a str) can only name a folder: it ends with a
    separator, or with ``.`` or ``..`` (``models/.``)."""
    seps = tuple(sep for sep in (os.sep, os.altsep) if sep)
    return path.endswith(seps) or os.path.basename(path) in (".", "..")


def _existing_mode(path):
    """The permission bits of the file at ``path``, None if there is none.

    Raises what ``open(path, "wb")`` raises for a folder or a file this
    process may not write, and ``OSError`` for a device, pipe or socket,
    which the rename would replace (even ``/dev/null``, as root).
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not stat.S_ISREG(info.st_mode):  # a rename would replace the device
        raise OSError(
            errno.EINVAL, "not a regular file (a device, pipe or socket)", path
        )
    effective = os.access in os.supports_effective_ids
    if not os.access(path, os.W_OK, effective_ids=effective):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return stat.S_IMODE(info.st_mode) & 0o777


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


# ------------------------------------------------------------------- read


def save_fitted(file_module, estimator, path, **options):
    """Write a fitted estimator to a model file, as its file module describes.

    Parameters
    ----------
    file_module : module
        The estimator's file module (``_charrnn_file``, ``_ngram_file``,
        ...): its ``schema(cls)`` and ``fitted_state(estimator, **options)``.
    estimator : estimator
    path : str or os.PathLike
    **options
        Passed to ``fitted_state`` (``include_optimizer``).
    """
    for name, value in options.items():  # flags: a str "no" is no False
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False; got {value!r}.")
    check_is_fitted(estimator)
    params, sections, arrays = file_module.fitted_state(estimator, **options)
    write_model(
        path,
        file_module.schema(type(estimator)),
        params=params,
        sections=sections,
        arrays=arrays,
    )


def load_fitted(file_module, estimator_class, path):
    """Read a model file of ``estimator_class`` with its file module's
    ``schema`` and ``build``: a new fitted estimator."""
    schemas = {estimator_class.__name__: file_module.schema(estimator_class)}
    return file_module.build(estimator_class, read_model(path, schemas))


def read_model(path, schemas):
    """Read and check a model file written by :func:`write_model`.

    Parameters
    ----------
    path : str or os.PathLike
    schemas : dict of str to ModelSchema
        The estimators the caller accepts, by class name.

    Returns
    -------
    contents : ModelContents

    Raises
    ------
    ModelFileError
        ``Cannot load PATH: ...`` if the file is not a valid model file for
        one of ``schemas``; nothing from the file is executed.
    OSError
        If the file cannot be opened (for example, it does not exist).
    """
    shown = os.fspath(path)
    info = os.stat(path)
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        # open() on a FIFO would wait for a writer; a device never ends
        raise ModelFileError(
            f"Cannot load {shown}: not a regular file (a pipe, socket or device); "
            "a model file is a file on disk"
        )
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        try:
            return _read(file, size, schemas)
        except ModelFileError as error:
            raise ModelFileError(
                f"Cannot load {shown}: {str(error).rstrip('.')}."
            ) from None
        except _PARSE_ERRORS as error:
            raise ModelFileError(
                f"Cannot load {shown}: not a valid sklearn-charrnn model file "
                f"(truncated or corrupted?): {type(error).__name__}: {error}"
            ) from error


def _read(file, size, schemas):
    """Check every byte of the file that is used; return the contents."""
    archive = zipfile.ZipFile(file)
    infos = {}
    for info in archive.infolist():
        if info.filename in infos:
            raise ModelFileError("the archive holds the same member twice")
        _check_member_info(info, size)
        infos[info.filename] = info
    first = min((info.header_offset for info in infos.values()), default=0)
    if first:
        raise ModelFileError(
            f"the archive starts after {first} bytes of other data; a model file "
            "starts with its first member"
        )
    if _METADATA not in infos:
        raise ModelFileError(f"no {_METADATA} member: not a sklearn-charrnn model file")
    if infos[_METADATA].file_size > MAX_METADATA_BYTES:
        raise ModelFileError(
            f"the metadata is {infos[_METADATA].file_size} bytes, more than the "
            f"{MAX_METADATA_BYTES} a model file may hold"
        )
    raw = _read_array(archive, infos[_METADATA], None, np.dtype("u1"))
    metadata = _parse_json(raw.tobytes())
    params, state, expected = _check_metadata(metadata, schemas)
    _check_array_set({f"{name}.npy" for name in expected}, set(infos) - {_METADATA})
    arrays = {
        name: _read_array(archive, infos[f"{name}.npy"], shape, dtype)
        for name, (shape, dtype) in expected.items()
    }
    schema = schemas[metadata["estimator"]]
    schema.check_arrays(state, arrays)
    params = params_from_json(params, arrays)
    return ModelContents(
        metadata["estimator"], params, state, arrays, dict(metadata["versions"])
    )


def _check_member_info(info, size):
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
        raise ModelFileError(
            f"member {info.filename!r} is compressed or encrypted; model files "
            "store their members as they are"
        )
    if info.compress_size != info.file_size:
        raise ModelFileError(
            f"member {info.filename!r} has stored size {info.compress_size} "
            f"but size {info.file_size}"
        )
    if info.header_offset + info.compress_size > size:
        raise ModelFileError(
            f"member {info.filename!r} claims {info.compress_size} bytes at "
            f"offset {info.header_offset}, beyond the file's {size} bytes"
        )


def _check_array_set(expected, present):
    missing = sorted(set(expected) - set(present))
    extra = sorted(set(present) - set(expected))
    if missing or extra:
        raise ModelFileError(
            f"the arrays do not match the metadata: missing {missing}, "
            f"unexpected {extra}"
        )


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


def _read_npy_header(member, name):
    """Read a member's ``.npy`` header: shape, Fortran order, dtype.

    The header's length is checked before the header is read.
    """
    magic = member.read(8)
    if len(magic) < 8 or magic[:6] != b"\x93NUMPY":
        raise ModelFileError(f"member {name!r} is not a .npy array")
    version = (magic[6], magic[7])
    if version not in ((1, 0), (2, 0)):
        raise ModelFileError(f"member {name!r} has .npy format {version}")
    length_bytes = member.read(2 if version == (1, 0) else 4)
    length = int.from_bytes(length_bytes, "little")
    if length > _MAX_NPY_HEADER:
        raise ModelFileError(
            f"member {name!r} has a {length}-byte .npy header, more than "
            f"{_MAX_NPY_HEADER}"
        )
    header = io.BytesIO(magic + length_bytes + member.read(length))
    np.lib.format.read_magic(header)
    if version == (1, 0):
        fields = np.lib.format.read_array_header_1_0(header)
    else:
        fields = np.lib.format.read_array_header_2_0(header)
    return (*fields, len(header.getvalue()))


def _read_array(archive, info, shape, dtype):
    """Read one ``.npy`` member after checking its header.

    ``shape`` None accepts any 1-D array. The data must be exactly what the
    header announces, little-endian, in C order, and never an object array
    (those hold pickles). The data is read straight into the result.
    """
    name = info.filename
    with archive.open(info) as member:
        file_shape, fortran_order, file_dtype, header_size = _read_npy_header(
            member, name
        )
        if file_dtype.hasobject:
            raise ModelFileError(
                f"member {name!r} holds Python objects (dtype {file_dtype}); model "
                "files hold only numbers, and loading objects would run pickle"
            )
        wanted = dtype.newbyteorder("<")
        if file_dtype != wanted:
            raise ModelFileError(
                f"member {name!r} has dtype {file_dtype.str}, expected {wanted.str}"
            )
        if (shape is None and len(file_shape) != 1) or (
            shape is not None and tuple(file_shape) != tuple(shape)
        ):
            expected = "1-D" if shape is None else tuple(shape)
            raise ModelFileError(
                f"member {name!r} has shape {tuple(file_shape)}, expected {expected}"
            )
        if fortran_order:
            raise ModelFileError(
                f"member {name!r} is stored in Fortran order; model files store "
                "every array in C order (read as C order, it would be another array)"
            )
        size = math.prod(file_shape) * file_dtype.itemsize
        if info.file_size - header_size != size:
            raise ModelFileError(
                f"member {name!r} holds {info.file_size - header_size} bytes of "
                f"data, its header announces {size}"
            )
        array = np.empty(file_shape, dtype=wanted)
        if size:
            view = memoryview(array.reshape(-1).view(np.uint8))
            if member.readinto(view) != size:
                raise ModelFileError(f"member {name!r} ends before its data")
        # reading to the end checks the member's CRC
        if member.read(1):
            raise ModelFileError(f"member {name!r} holds more than its data")
    return array.astype(dtype.newbyteorder("="), copy=False)


def params_from_json(params, arrays, prefix=""):
    """Checked parameters with their RandomState rebuilt (its keys popped).

    Parameters
    ----------
    params : dict
        As :func:`check_params` accepted them.
    arrays : dict
        Holds ``PREFIXrandom_state/keys`` when ``random_state`` is a
        RandomState; those keys are removed (modified in place).
    prefix : str, default=""

    Returns
    -------
    params : dict
        A new dict.
    """
    params = dict(params)
    if isinstance(params.get("random_state"), dict):
        params["random_state"] = _random_state(
            params["random_state"]["RandomState"],
            arrays.pop(prefix + _RANDOM_STATE_KEYS),
        )
    return params


def _random_state(state, keys):
    random_state = np.random.RandomState()
    random_state.set_state(
        ("MT19937", keys, state["pos"], state["has_gauss"], state["cached_gaussian"])
    )
    return random_state


# -------------------------------------------------------- metadata check


def fail(where, expected, value):
    """Raise a ModelFileError: ``metadata WHERE must be EXPECTED; got VALUE``."""
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise ModelFileError(f"metadata {where} must be {expected}; got {shown}")


def check_keys(mapping, where, required, optional=()):
    """Check that ``mapping`` is a dict with exactly these keys; return it."""
    if not isinstance(mapping, dict):
        fail(where, "an object", mapping)
    missing = sorted(set(required) - set(mapping))
    extra = sorted(set(mapping) - set(required) - set(optional))
    if missing or extra:
        problems = [f"lacks keys {missing}"] if missing else []
        problems += [f"has unexpected keys {extra}"] if extra else []
        raise ModelFileError(
            f"metadata {where or '(top level)'} {' and '.join(problems)}"
        )
    return mapping


def check_int(value, where, minimum=0, maximum=None):
    """An int (not a bool) in ``[minimum, maximum]``."""
    if (
        type(value) is not int
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        bound = (
            f"an int >= {minimum}"
            if maximum is None
            else (f"an int in [{minimum}, {maximum}]")
        )
        fail(where, bound, value)
    return value


def check_float(value, where, finite=True):
    """A number (finite unless told); returned as a float."""
    if type(value) not in (int, float) or (finite and not math.isfinite(value)):
        fail(where, "a finite number" if finite else "a number", value)
    return float(value)


def check_str(value, where, options=None):
    """A str, one of ``options`` when given."""
    if type(value) is not str or (options is not None and value not in options):
        fail(where, "a str" if options is None else f"one of {sorted(options)}", value)
    return value


def check_list(value, where, check):
    """A list whose items pass ``check(item, where)``."""
    if type(value) is not list:
        fail(where, "a list", value)
    return [check(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _check_metadata(metadata, schemas):
    """Check the container keys, then the schema's sections.

    Returns
    -------
    params : dict
    state : object
        What the schema's ``check_sections`` returned.
    arrays : dict of str to (shape, dtype)
        Every array the file must hold.
    """
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
            f"sklearn-charrnn {_version.__version__} reads format {FORMAT_VERSION} "
            "at most. Upgrade sklearn-charrnn to load it"
        )
    check_int(version, "format_version", minimum=1)
    schema = schemas.get(metadata.get("estimator"))
    if schema is None:
        check_str(metadata.get("estimator"), "estimator", set(schemas))
    check_keys(metadata, "", _CONTAINER_KEYS + tuple(schema.sections))
    versions = check_keys(metadata["versions"], "versions", _VERSION_NAMES)
    for name, value in versions.items():
        check_str(value, f"versions.{name}")
    params, arrays = check_params(metadata["params"], schema.check_params)
    sections = {name: metadata[name] for name in schema.sections}
    state, schema_arrays = schema.check_sections(dict(params), sections)
    arrays.update(schema_arrays)
    return params, state, arrays


def check_params(params, check, where="params", prefix=""):
    """Check parameters' JSON types, then ``check(params)``.

    A RandomState is checked and left as its dict, with its keys among the
    arrays; ``check`` sees None in its place.

    Parameters
    ----------
    params : object
        What the metadata holds.
    check : callable
        A schema's ``check_params``.
    where : str, default="params"
        Where the metadata holds them, for messages.
    prefix : str, default=""
        Where the RandomState's keys are (see :func:`params_to_json`).

    Returns
    -------
    params : dict
    arrays : dict of str to (shape, dtype)
        ``PREFIXrandom_state/keys`` when ``random_state`` is a RandomState.
    """
    if not isinstance(params, dict):
        fail(where, "an object", params)
    arrays = {}
    plain = dict(params)
    for name, value in params.items():
        if name == "random_state" and isinstance(value, dict):
            state = check_keys(value, f"{where}.random_state", ("RandomState",))
            state = check_keys(
                state["RandomState"],
                f"{where}.random_state.RandomState",
                ("pos", "has_gauss", "cached_gaussian"),
            )
            check_int(state["pos"], f"{where}.random_state.pos", maximum=_MT19937_SIZE)
            if state["has_gauss"] not in (0, 1) or type(state["has_gauss"]) is bool:
                fail(f"{where}.random_state.has_gauss", "0 or 1", state["has_gauss"])
            check_float(
                state["cached_gaussian"], f"{where}.random_state.cached_gaussian"
            )
            arrays[prefix + _RANDOM_STATE_KEYS] = (
                (_MT19937_SIZE,),
                np.dtype(np.uint32),
            )
            plain[name] = None
        elif value is not None and type(value) not in (bool, int, float, str):
            fail(f"{where}.{name}", "None, a bool, an int, a float or a str", value)
    try:
        check(plain)
    except ModelFileError:
        raise
    except ValueError as error:
        shown = "parameters" if where == "params" else f"parameters ({where})"
        raise ModelFileError(f"invalid {shown}: {error}") from None
    return dict(params), arrays
