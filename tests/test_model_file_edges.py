"""The model file's hard edges: what the loader must not believe, and what
saving must not do to permissions.

Each bad file is built here from a small saved model; each must give a
ModelFileError that names the problem, before anything large is read.
"""

import io
import os
import stat
import struct
import threading
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from _tamper import (
    edit_metadata,
    members_of,
    metadata_of,
    npy,
    with_metadata,
    write_members,
)
from sklearn.exceptions import ConvergenceWarning

from sklearn_charrnn import (
    CharRNNGenerator,
    ModelFileError,
    _persistence,
    load_model,
    save_model,
)

NAMES = ["anna", "bob", "carla", "dave", "emma", "anya", "bella", "zoë", "ïda"]
SMALL = dict(hidden_size=8, max_iter=2, batch_size=4, random_state=0)


def fit(**params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return CharRNNGenerator(**{**SMALL, **params}).fit(NAMES)


@pytest.fixture(scope="module")
def model():
    return fit()


@pytest.fixture(scope="module")
def members(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("edges") / "model.npz"
    model.save(path)
    return members_of(path)


def set_in(section, key, value):
    def edit(metadata):
        target = metadata
        for part in section:
            target = target[part]
        target[key] = value

    return edit


# ------------------------------------------------- contradicting metadata

CONTRADICTIONS = {
    "hidden_size over other weights": (
        set_in(["params"], "hidden_size", 999),
        r"parameters say hidden_size=999 but the weights are for hidden_size=8",
    ),
    "float64 over float32 weights": (
        set_in(["params"], "dtype", "float64"),
        r"parameters say dtype='float64' but the weights are for dtype='float32'",
    ),
    "hidden_size a bool": (
        set_in(["params"], "hidden_size", True),
        r"'hidden_size' parameter .* must be an int \(not a bool\)",
    ),
    "beta_1 = 1": (
        set_in(["optimizer"], "beta_1", 1.0),
        r"optimizer.beta_1.*range \[0.0, 1.0\). Got 1.0 instead.$",
    ),
    "beta_2 = 5": (
        set_in(["optimizer"], "beta_2", 5),
        r"optimizer.beta_2.*Got 5",
    ),
    "negative learning rate": (
        set_in(["optimizer"], "learning_rate", -0.1),
        r"optimizer.learning_rate",
    ),
    "epsilon that rounds to 0 in float32": (
        set_in(["optimizer"], "epsilon", 1e-300),
        r"optimizer.epsilon.*too small for dtype='float32'",
    ),
    "t = 10**400": (
        set_in(["optimizer"], "t", 10**400),
        r"optimizer.t must be an int in \[0, 9007199254740992\]",
    ),
    "t_ = -1": (set_in(["fitted"], "t_", -1), r"fitted.t_ must be an int"),
    "max_length_ = 10**15": (
        set_in(["fitted"], "max_length_", 10**15),
        r"fitted.max_length_ must be an int in \[0, 16777216\]",
    ),
    "string model with 3 columns": (
        set_in(["fitted"], "n_features_in_", 3),
        r"reads one column, but fitted.n_features_in_ is 3",
    ),
    "lone surrogate token": (
        # the largest token, so the vocabulary stays sorted
        lambda metadata: metadata["vocabulary"]["tokens"].__setitem__(-1, "\ud800"),
        r"vocabulary.tokens\[\d+\] must be a character fit can read "
        r"\(not a lone surrogate",
    ),
}


@pytest.mark.parametrize("case", list(CONTRADICTIONS))
def test_metadata_that_contradicts_the_weights_or_the_constraints(
    members, tmp_path, case
):
    edit, match = CONTRADICTIONS[case]
    path = write_members(tmp_path / "bad.npz", edit_metadata(edit)(members))
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(path)
    assert str(info.value).startswith(f"Cannot load {path}: ")


def test_int_token_beyond_64_bits(tmp_path):
    X = np.array([[1, 2], [2, 3], [3, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = CharRNNGenerator(**SMALL, early_stopping=False).fit(X)
    model.save(tmp_path / "tokens.npz")
    members = members_of(tmp_path / "tokens.npz")
    bad = edit_metadata(lambda m: m["vocabulary"]["tokens"].__setitem__(-1, 2**64))(
        members
    )
    with pytest.raises(ModelFileError, match="a 64-bit int"):
        load_model(write_members(tmp_path / "bad.npz", bad))


def test_save_refuses_parameters_changed_after_fit(tmp_path):
    """What load would refuse, save refuses: nothing is written."""
    for change in [dict(hidden_size=999), dict(dtype="float64")]:
        model = fit()
        model.set_params(**change)
        ((name, value),) = change.items()
        with pytest.raises(ValueError, match=f"parameters say {name}={value!r}"):
            model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------- headers


def test_fortran_order_header_is_refused(members, tmp_path):
    """Flipping the header flag alone would load the transposed layout."""
    name = "weights/W_h0.npy"
    header = b"'fortran_order': False"
    assert header in members[name]
    flipped = members[name].replace(header, b"'fortran_order': True ", 1)
    path = write_members(tmp_path / "bad.npz", {**members, name: flipped})
    with pytest.raises(ModelFileError, match=f"{name}' is stored in Fortran order"):
        load_model(path)
    # a genuinely Fortran-ordered array is refused the same way
    array = np.load(io.BytesIO(members[name]))
    fortran = npy(np.asfortranarray(array))
    path = write_members(tmp_path / "bad.npz", {**members, name: fortran})
    with pytest.raises(ModelFileError, match="Fortran order"):
        load_model(path)


def test_oversized_npy_header_is_refused_before_it_is_read(members, tmp_path):
    name = "weights/b0.npy"
    data = bytearray(members[name])
    data[6:8] = b"\x02\x00"  # format 2.0: a 4-byte header length
    data[8:10] = b""
    data[8:8] = struct.pack("<I", 2**31)
    path = write_members(tmp_path / "bad.npz", {**members, name: bytes(data)})
    with pytest.raises(ModelFileError, match="2147483648-byte .npy header"):
        load_model(path)


# ----------------------------------------------------------------- sizes


def peak_bytes_of(call):
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_junk_prefix_is_refused_without_reading_it(members, tmp_path):
    """A GiB of other data before the archive: refused, never read."""
    path = tmp_path / "prefixed.npz"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    with open(path, "wb") as file:
        file.seek(2**30)  # a sparse GiB: no disk, no time
        file.write(archive.getvalue())
    assert os.path.getsize(path) > 2**30

    def load():
        with pytest.raises(ModelFileError, match="starts after 1073741824 bytes"):
            load_model(path)

    assert peak_bytes_of(load) < 2**20


def test_metadata_padding_is_refused_before_it_is_read(members, tmp_path, monkeypatch):
    """JSON padded past the bound is refused from its size, never read.

    The bound is 32 MiB; it is lowered here so that the file stays small.
    """
    monkeypatch.setattr(_persistence, "MAX_METADATA_BYTES", 2**16)
    padded = with_metadata(members, metadata_of(members), padding=" " * 2**20)
    path = write_members(tmp_path / "padded.npz", padded)

    def load():
        with pytest.raises(ModelFileError, match="more than the 65536 a model file"):
            load_model(path)

    assert peak_bytes_of(load) < 2**19


def test_member_larger_than_the_file_is_refused(members, tmp_path):
    """A central directory that claims 2 GiB for a member: refused unread."""
    path = write_members(tmp_path / "model.npz", members)
    data = bytearray(path.read_bytes())
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    entry = archive.start_dir
    while data[entry : entry + 4] == b"PK\x01\x02":
        names, extra, comment = struct.unpack("<HHH", data[entry + 28 : entry + 34])
        if data[entry + 46 : entry + 46 + names] == b"weights/W_y.npy":
            data[entry + 20 : entry + 28] = struct.pack("<II", 2**31, 2**31)
        entry += 46 + names + extra + comment
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="claims 2147483648 bytes .* beyond"):
        load_model(path)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_pipes_and_devices_are_refused_without_waiting(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "pipe.npz"
        os.mkfifo(path)
    else:
        path = "/dev/zero"
    outcome = []

    def load():
        try:
            load_model(path)
        except ModelFileError as error:
            outcome.append(str(error))

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "load_model waited on a pipe or device"
    assert outcome and "not a regular file" in outcome[0]


# ----------------------------------------------------------- permissions


def test_save_keeps_the_mode_of_an_existing_file(model, tmp_path):
    path = tmp_path / "private.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    model.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, 0o640)
    model.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    CharRNNGenerator.load(path)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_new_file_gets_what_the_umask_allows(model, tmp_path, umask):
    old = os.umask(umask)
    try:
        model.save(tmp_path / "new.npz")
        with open(tmp_path / "reference", "wb"):
            pass
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode)
    assert mode == 0o666 & ~umask
    assert mode == stat.S_IMODE(os.stat(tmp_path / "reference").st_mode)


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root may write a read-only file; see the next test"
)
def test_save_over_a_read_only_file_is_refused(model, tmp_path):
    path = tmp_path / "read_only.npz"
    path.write_bytes(b"keep me")
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError) as info:
        model.save(path)
    assert info.value.filename == str(path)
    assert path.read_bytes() == b"keep me"


def test_save_refuses_what_open_would_refuse(model, tmp_path, monkeypatch):
    """As any user: when os.access says the file may not be written (as it
    does for a read-only file and a normal user), save raises the
    PermissionError open(path, "wb") would, and leaves the file alone."""
    path = tmp_path / "read_only.npz"
    path.write_bytes(b"keep me")
    real_access = os.access

    def access(target, mode, **kwargs):
        if os.fspath(target) == str(path) and mode & os.W_OK:
            return False
        return real_access(target, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(PermissionError) as info:
        model.save(path)
    assert info.value.filename == str(path)
    assert path.read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["read_only.npz"]


def test_save_into_a_folder_it_may_not_write_names_the_path(
    model, tmp_path, monkeypatch
):
    path = tmp_path / "model.npz"
    real_open = os.open

    def denied(name, flags, mode=0o777, **kwargs):
        if os.path.dirname(os.fspath(name)) == str(tmp_path) and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(PermissionError) as info:
        model.save(path)
    assert info.value.filename == str(path)


def test_save_to_a_folder_is_refused(model, tmp_path):
    with pytest.raises(IsADirectoryError) as info:
        model.save(tmp_path)
    assert info.value.filename == str(tmp_path)
    # a name ending with a separator names a folder, as open() reads it:
    # no file "new" is written in its stead
    for folder in ("new" + os.sep, os.path.join("new", "."), os.path.join("new", "..")):
        folder = os.path.join(str(tmp_path), folder)
        with pytest.raises(IsADirectoryError) as info:
            model.save(folder)
        assert info.value.filename == folder and os.listdir(tmp_path) == []
    with pytest.raises(FileNotFoundError) as info:  # as open("") does
        model.save("")
    assert info.value.filename == ""


def test_save_takes_a_flag_and_an_estimator_of_this_package(model, tmp_path):
    path = tmp_path / "model.npz"
    with pytest.raises(TypeError, match="include_optimizer must be True or False"):
        model.save(path, include_optimizer="no")
    with pytest.raises(TypeError, match="save_model writes an estimator of this"):
        save_model(object(), path)
    assert not path.exists()


def test_save_through_a_symbolic_link_replaces_its_target(model, tmp_path):
    target = tmp_path / "models" / "model.npz"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert type(model).load(target).get_params() == model.get_params()
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.npz"]


def test_save_never_replaces_a_device_or_a_pipe(model, tmp_path):
    """A rename over /dev/null (as root) or a pipe would replace it."""
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/null"):
        with pytest.raises(OSError, match="not a regular file") as info:
            model.save(path)
        assert info.value.filename == str(path)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.npz"]


def test_save_errors_name_the_path_not_the_temporary_file(model, tmp_path):
    missing = tmp_path / "no" / "model.npz"
    with pytest.raises(FileNotFoundError) as info:
        model.save(missing)
    assert info.value.filename == str(missing)
    long_name = tmp_path / ("m" * 250 + ".npz")  # legal; its temporary name too
    model.save(long_name)
    assert type(model).load(long_name).get_params() == model.get_params()


def test_ctrl_c_as_the_temporary_file_is_made_leaves_nothing(
    model, tmp_path, monkeypatch, python_sigint
):
    """Ctrl-C just after the temporary file is made: the save stops, the
    previous file is as it was, and neither the temporary file nor its
    descriptor is left behind."""
    import _thread

    path = tmp_path / "m.npz"
    model.save(path)
    before = path.read_bytes()
    real_open, opened = os.open, []

    def open_then_ctrl_c(*args, **kwargs):
        opened.append(real_open(*args, **kwargs))
        _thread.interrupt_main()  # as if SIGINT came now
        return opened[-1]

    monkeypatch.setattr(os, "open", open_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    monkeypatch.undo()
    assert len(opened) == 1 and path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    with pytest.raises(OSError):  # closed
        os.fstat(opened[0])


# ------------------------------------------------- another estimator


def toy_schema():
    """A counts-and-probabilities model, as an n-gram generator would keep."""

    def check_params(params):
        _persistence.check_keys(params, "params", ("order",))
        _persistence.check_int(params["order"], "params.order", minimum=1)

    def check_sections(params, sections):
        counts = _persistence.check_keys(sections["counts"], "counts", ("n",))
        n = _persistence.check_int(counts["n"], "counts.n", maximum=2**20)
        arrays = {
            "counts": ((n, params["order"]), np.dtype(np.int32)),
            "discount": ((n,), np.dtype(np.float32)),
        }
        return {"n": n}, arrays

    def check_arrays(state, arrays):
        if (arrays["counts"] < 0).any():
            raise ModelFileError("counts must be >= 0")

    return _persistence.ModelSchema(
        estimator="ToyCounts",
        sections=("counts",),
        check_params=check_params,
        check_sections=check_sections,
        check_arrays=check_arrays,
    )


def test_another_estimator_uses_the_same_format(tmp_path):
    schema = toy_schema()
    counts = np.arange(12, dtype=np.int32).reshape(4, 3)
    discount = np.linspace(0, 1, 4, dtype=np.float32)
    path = tmp_path / "toy.npz"
    _persistence.write_model(
        path,
        schema,
        params={"order": 3},
        sections={"counts": {"n": 4}},
        arrays={"counts": counts, "discount": discount},
    )
    contents = _persistence.read_model(path, {"ToyCounts": schema})
    assert contents.estimator == "ToyCounts" and contents.params == {"order": 3}
    np.testing.assert_array_equal(contents.arrays["counts"], counts)
    np.testing.assert_array_equal(contents.arrays["discount"], discount)
    # the CharRNN loader refuses it by name, without reading its arrays
    with pytest.raises(ModelFileError, match="estimator must be one of"):
        load_model(path)
    # its own checks run on save as on load
    with pytest.raises(ValueError, match="counts must be >= 0"):
        _persistence.write_model(
            tmp_path / "bad.npz",
            schema,
            params={"order": 3},
            sections={"counts": {"n": 4}},
            arrays={"counts": -counts, "discount": discount},
        )
    with pytest.raises(ValueError, match="has shape \\(4, 3\\) and dtype int32"):
        _persistence.write_model(
            tmp_path / "bad.npz",
            schema,
            params={"order": 2},
            sections={"counts": {"n": 4}},
            arrays={"counts": counts, "discount": discount},
        )
    assert not (tmp_path / "bad.npz").exists()
