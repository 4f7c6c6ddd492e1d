"""Saving and loading: the safe model file, pickle, joblib and skops."""

import errno
import io
import json
import os
import pickle
import struct
import zipfile

import joblib
import numpy as np
import pytest
from _tamper import members_of, metadata_of, npy, with_metadata, write_members
from sklearn.exceptions import NotFittedError

import sklearn_charrnn
from sklearn_charrnn import (
    CharRNNGenerator,
    InconsistentVersionWarning,
    ModelFileError,
    _persistence,
    load_model,
    save_model,
)
from sklearn_charrnn.nn.optim import AdamW

NAMES = ["anna", "bob", "carla", "dave", "emma", "anya", "bella", "zoë", "ïda"]
SMALL = dict(hidden_size=8, max_iter=2, batch_size=4, random_state=0)


def fit(X=NAMES, **params):
    return CharRNNGenerator(**{**SMALL, **params}).fit(X)


def assert_same_value(a, b, where="estimator"):
    """Exact equality of fitted state: arrays bit for bit, same types."""
    if isinstance(a, AdamW):
        assert isinstance(b, AdamW), where
        assert_same_value(vars(a), vars(b), f"{where}._optimizer")
    elif isinstance(a, np.random.RandomState):
        assert isinstance(b, np.random.RandomState), where
        sa, sb = a.get_state(), b.get_state()
        assert sa[0] == sb[0] and sa[2:] == sb[2:], where
        np.testing.assert_array_equal(sa[1], sb[1])
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            assert type(key) is type(next(k for k in b if k == key)), where
            assert_same_value(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_value(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_model(a, b, X):
    assert set(vars(a)) == set(vars(b))
    for name in vars(a):
        assert_same_value(getattr(a, name), getattr(b, name), name)
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert a.sample(5, random_state=3) == b.sample(5, random_state=3)


# ---------------------------------------------------------- round trips


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_round_trip_is_exact(tmp_path, cell, n_layers):
    model = fit(cell=cell, n_layers=n_layers)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = CharRNNGenerator.load(path)
    assert_same_model(model, loaded, NAMES + ["xavier", ""])
    assert loaded.complete("an", random_state=1) == model.complete("an", random_state=1)


@pytest.mark.parametrize(
    "params",
    [
        dict(dtype="float64"),
        dict(early_stopping=False),
        dict(random_state=None),
        dict(clip_norm=None, verbose=0, tol=0.0),
    ],
)
def test_round_trip_of_options(tmp_path, params):
    model = fit(**params)
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.get_params() == model.get_params()
    assert_same_model(model, loaded, NAMES)


def test_round_trip_with_random_state_instance(tmp_path):
    """A RandomState is stored with its state: the next draws are the same."""
    model = fit(random_state=np.random.RandomState(7))
    model.save(tmp_path / "m.npz")
    loaded = CharRNNGenerator.load(tmp_path / "m.npz")
    assert_same_model(model, loaded, NAMES)
    # sample() without random_state draws from the estimator's RandomState.
    assert model.sample(4) == loaded.sample(4)


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1, 2, 3], [3, 2, 1], [2, 2, 2]]),
        np.array([[0.5, 1.5], [1.5, -2.0], [0.5, 0.5]]),
        np.array([[True, False], [False, False], [True, True]]),
        np.array([["a", "1"], ["b", "2.5"], ["a", "True"]], dtype=object),
    ],
    ids=["int", "float", "bool", "object"],
)
def test_round_trip_token_mode(tmp_path, X):
    model = fit(X, early_stopping=False)
    model.save(tmp_path / "m.npz")
    loaded = CharRNNGenerator.load(tmp_path / "m.npz")
    assert_same_model(model, loaded, X)
    assert loaded.n_features_in_ == X.shape[1]


def test_round_trip_keeps_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"first": ["a", "b", "c"], "second": ["x", "y", "x"]})
    model = fit(X, early_stopping=False)
    model.save(tmp_path / "m.npz")
    loaded = CharRNNGenerator.load(tmp_path / "m.npz")
    assert_same_model(model, loaded, X)
    assert list(loaded.feature_names_in_) == ["first", "second"]


def test_round_trip_of_one_column_dataframe_of_str(tmp_path):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"name": NAMES})
    model = fit(X)
    assert model.input_kind_ == "str"
    model.save(tmp_path / "m.npz")
    loaded = CharRNNGenerator.load(tmp_path / "m.npz")
    assert_same_model(model, loaded, X)
    assert list(loaded.feature_names_in_) == ["name"]


def test_warm_start_resumes_exactly_from_the_file(tmp_path, dinosaurs):
    """The optimizer state is saved: continuing training from the file gives
    the same weights as continuing in memory."""
    X = dinosaurs[:200]
    model = fit(X, warm_start=True, early_stopping=False)
    model.save(tmp_path / "m.npz")
    loaded = CharRNNGenerator.load(tmp_path / "m.npz")
    assert loaded._optimizer.t == model._optimizer.t > 0
    model.fit(X)
    loaded.fit(X)
    assert_same_model(model, loaded, X[:20])
    model.partial_fit(X)
    loaded.partial_fit(X)
    assert_same_model(model, loaded, X[:20])


def test_without_optimizer_state(tmp_path, dinosaurs):
    X = dinosaurs[:100]
    model = fit(X, warm_start=True)
    model.save(tmp_path / "full.npz")
    model.save(tmp_path / "small.npz", include_optimizer=False)
    full = os.path.getsize(tmp_path / "full.npz")
    small = os.path.getsize(tmp_path / "small.npz")
    assert small < full / 2
    loaded = CharRNNGenerator.load(tmp_path / "small.npz")
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    assert loaded._optimizer.t == 0
    assert all(not m.any() for m in loaded._optimizer.m.values())
    loaded.fit(X)  # resumes with fresh moments
    assert loaded.n_iter_ == model.n_iter_ + SMALL["max_iter"]


def test_file_is_an_npz_with_versions_and_no_pickle(tmp_path):
    model = fit()
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        members = {name: archive[name] for name in archive.files}
    metadata = json.loads(members.pop("metadata").tobytes())
    assert metadata["format_version"] == _persistence.FORMAT_VERSION
    assert metadata["versions"]["sklearn-charrnn"] == sklearn_charrnn.__version__
    assert metadata["versions"]["numpy"] == np.__version__
    assert set(metadata["versions"]) == {
        "sklearn-charrnn",
        "numpy",
        "scikit-learn",
        "python",
    }
    assert metadata["params"] == model.get_params()
    assert metadata["vocabulary"]["tokens"] == list(model.vocabulary_)
    for name, weight in model.weights_.items():
        np.testing.assert_array_equal(members[f"weights/{name}"], weight)
    assert all(array.dtype != object for array in members.values())


def test_same_model_gives_same_bytes(tmp_path):
    model = fit()
    model.save(tmp_path / "a.npz")
    model.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


# ------------------------------------------------------------- saving


def test_save_unfitted_raises(tmp_path):
    with pytest.raises(NotFittedError):
        CharRNNGenerator().save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_save_refuses_non_finite_weights(tmp_path):
    model = fit()
    model.weights_["W_y"][0, 0] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_attributes_it_does_not_know(tmp_path):
    model = fit()
    model.extra_ = 1
    with pytest.raises(ValueError, match="extra_"):
        model.save(tmp_path / "m.npz")


def test_save_refuses_weights_that_do_not_match_parameters(tmp_path):
    model = fit(cell="gru")
    model.set_params(cell="lstm")
    with pytest.raises(ValueError, match="shape"):
        model.save(tmp_path / "m.npz")


@pytest.mark.parametrize(
    "fault", [OSError(errno.ENOSPC, "No space"), KeyboardInterrupt]
)
def test_failed_write_leaves_previous_file_intact(tmp_path, monkeypatch, fault):
    path = tmp_path / "m.npz"
    fit(random_state=1).save(path)
    before = path.read_bytes()
    calls = []
    write_member = _persistence._write_member

    def failing(archive, name, array):
        calls.append(name)
        if len(calls) == 3:
            raise fault
        write_member(archive, name, array)

    monkeypatch.setattr(_persistence, "_write_member", failing)
    with pytest.raises(type(fault) if isinstance(fault, OSError) else fault):
        fit(random_state=2).save(path)
    assert len(calls) == 3
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    CharRNNGenerator.load(path)


# ------------------------------------------------------------ refusals


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    fit().save(path)
    return path


class WritesMarker:
    """Unpickling this would write a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (_write_marker, (self.marker,))


def _write_marker(marker):
    with open(marker, "w") as file:
        file.write("code ran")
    return 0


def evil_npy(marker):
    return npy(np.array([WritesMarker(marker)], dtype=object), allow_pickle=True)


def test_evil_payload_would_run_if_unpickled(tmp_path):
    """Check that the payload works, so that the refusals below mean something."""
    marker = tmp_path / "marker"
    np.load(io.BytesIO(evil_npy(marker)), allow_pickle=True)
    assert marker.exists()


@pytest.mark.parametrize("member", ["weights/W_x0.npy", "metadata.npy", "extra.npy"])
def test_pickled_object_in_archive_is_refused_without_running(saved, tmp_path, member):
    marker = tmp_path / "marker"
    members = members_of(saved)
    members[member] = evil_npy(marker)
    path = tmp_path / "evil.npz"
    write_members(path, members)
    with pytest.raises(ModelFileError):
        CharRNNGenerator.load(path)
    assert not marker.exists()


def test_pickle_file_is_refused_without_running(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(WritesMarker(marker)))
    with pytest.raises(ModelFileError, match="not a valid"):
        load_model(path)
    assert not marker.exists()


def test_pickled_model_is_not_a_model_file(tmp_path):
    path = tmp_path / "model.pkl"
    joblib.dump(fit(), path)
    with pytest.raises(ModelFileError):
        load_model(path)


def _drop(members, name):
    members = dict(members)
    del members[name]
    return members


def _replace(members, name, array):
    return {**members, name: npy(array)}


def _edit_metadata(members, edit):
    metadata = metadata_of(members)
    edit(metadata)
    return with_metadata(members, metadata)


def _with_value(array, value):
    array = array.copy()
    array.flat[0] = value
    return array


def _weight(saved, name):
    return np.load(io.BytesIO(members_of(saved)[name]), allow_pickle=False)


CORRUPTIONS = {
    "missing array": (lambda m, w: _drop(m, "weights/b_y.npy"), "missing"),
    "missing optimizer array": (
        lambda m, w: _drop(m, "optimizer/v/W_y.npy"),
        "missing",
    ),
    "missing metadata": (lambda m, w: _drop(m, "metadata.npy"), "metadata"),
    "extra array": (
        lambda m, w: {**m, "weights/W_x9.npy": npy(np.zeros(3, np.float32))},
        "unexpected",
    ),
    "extra non-npy member": (lambda m, w: {**m, "notes.txt": b"hi"}, "unexpected"),
    "wrong shape": (
        lambda m, w: _replace(m, "weights/W_y.npy", w("weights/W_y.npy")[:, :-1]),
        "shape",
    ),
    "transposed": (
        lambda m, w: _replace(m, "weights/W_h0.npy", w("weights/W_h0.npy").T),
        "shape",
    ),
    "wrong dtype": (
        lambda m, w: _replace(
            m, "weights/W_y.npy", w("weights/W_y.npy").astype(np.float64)
        ),
        "dtype",
    ),
    "integer weights": (
        lambda m, w: _replace(m, "weights/b0.npy", w("weights/b0.npy").astype(int)),
        "dtype",
    ),
    "big-endian weights": (
        lambda m, w: _replace(m, "weights/b0.npy", w("weights/b0.npy").astype(">f4")),
        "dtype",
    ),
    "NaN weight": (
        lambda m, w: _replace(
            m, "weights/W_x0.npy", _with_value(w("weights/W_x0.npy"), np.nan)
        ),
        "non-finite",
    ),
    "infinite weight": (
        lambda m, w: _replace(
            m, "weights/b_y.npy", _with_value(w("weights/b_y.npy"), -np.inf)
        ),
        "non-finite",
    ),
    "NaN optimizer moment": (
        lambda m, w: _replace(
            m, "optimizer/m/W_y.npy", _with_value(w("optimizer/m/W_y.npy"), np.nan)
        ),
        "non-finite",
    ),
    "negative second moment": (
        lambda m, w: _replace(
            m, "optimizer/v/W_y.npy", _with_value(w("optimizer/v/W_y.npy"), -1.0)
        ),
        "negative",
    ),
    "vocabulary shorter than weights": (
        lambda m, w: _edit_metadata(m, lambda d: d["vocabulary"]["tokens"].pop()),
        "vocabulary has",
    ),
    "vocabulary longer than weights": (
        lambda m, w: _edit_metadata(m, lambda d: d["vocabulary"]["tokens"].append("þ")),
        "vocabulary has",
    ),
    "unsorted vocabulary": (
        lambda m, w: _edit_metadata(m, lambda d: d["vocabulary"]["tokens"].reverse()),
        "sorted",
    ),
    "multi-character token": (
        lambda m, w: _edit_metadata(
            m, lambda d: d["vocabulary"]["tokens"].__setitem__(0, "ab")
        ),
        "one-character",
    ),
    "weights for other hidden size": (
        lambda m, w: _edit_metadata(
            m, lambda d: d["network"].__setitem__("hidden_size", 16)
        ),
        "hidden_size",
    ),
    "cell does not match parameters": (
        lambda m, w: _edit_metadata(
            m, lambda d: d["network"].__setitem__("cell", "gru")
        ),
        "cell",
    ),
    "newer format": (
        lambda m, w: _edit_metadata(m, lambda d: d.__setitem__("format_version", 2)),
        "Upgrade sklearn-charrnn",
    ),
    "no format marker": (
        lambda m, w: _edit_metadata(m, lambda d: d.pop("format")),
        "format",
    ),
    "unknown parameter": (
        lambda m, w: _edit_metadata(m, lambda d: d["params"].__setitem__("x", 1)),
        "unexpected keys",
    ),
    "invalid parameter": (
        lambda m, w: _edit_metadata(
            m, lambda d: d["params"].__setitem__("dropout", 2.0)
        ),
        "dropout",
    ),
    "parameter of wrong type": (
        lambda m, w: _edit_metadata(
            m, lambda d: d["params"].__setitem__("hidden_size", [8])
        ),
        "hidden_size",
    ),
    "negative n_iter_": (
        lambda m, w: _edit_metadata(
            m, lambda d: d["fitted"].__setitem__("n_iter_", -1)
        ),
        "n_iter_",
    ),
    "wrong estimator": (
        lambda m, w: _edit_metadata(m, lambda d: d.__setitem__("estimator", "MLP")),
        "estimator",
    ),
    "metadata not JSON": (
        lambda m, w: {**m, "metadata.npy": npy(np.frombuffer(b"{oops", np.uint8))},
        "not a valid",
    ),
    "metadata not UTF-8": (
        lambda m, w: {**m, "metadata.npy": npy(np.frombuffer(b"\xff\xfe", np.uint8))},
        "not a valid",
    ),
    "metadata with NaN": (
        lambda m, w: with_metadata(
            m,
            {**metadata_of(m), "fitted": {**metadata_of(m)["fitted"], "t_": np.nan}},
            nan=True,
        ),
        "NaN",
    ),
    "metadata as 2-D array": (
        lambda m, w: {**m, "metadata.npy": npy(np.zeros((2, 2), np.uint8))},
        "shape",
    ),
    "trailing bytes after array": (
        lambda m, w: {**m, "weights/b0.npy": m["weights/b0.npy"] + b"\0" * 8},
        "bytes of data",
    ),
    "array data cut short": (
        lambda m, w: {**m, "weights/b0.npy": m["weights/b0.npy"][:-4]},
        "bytes of data",
    ),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_corrupted_file_is_refused(saved, tmp_path, corruption):
    corrupt, match = CORRUPTIONS[corruption]
    members = corrupt(members_of(saved), lambda name: _weight(saved, name))
    path = tmp_path / "bad.npz"
    write_members(path, members)
    with pytest.raises(ModelFileError, match=match) as info:
        CharRNNGenerator.load(path)
    assert str(path) in str(info.value)


def test_compressed_member_is_refused(saved, tmp_path):
    path = tmp_path / "bad.npz"
    write_members(path, members_of(saved), compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelFileError, match="compressed"):
        load_model(path)


def test_encrypted_member_is_refused(saved, tmp_path):
    """Set bit 0 ("encrypted") of every member's flags in the central directory."""
    data = bytearray(saved.read_bytes())
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    central = archive.start_dir  # offset of the central directory
    entries = 0
    while data[central : central + 4] == b"PK\x01\x02":
        data[central + 8] |= 0x1
        names, extra, comment = struct.unpack("<HHH", data[central + 28 : central + 34])
        central += 46 + names + extra + comment
        entries += 1
    assert entries == len(archive.infolist())
    path = tmp_path / "bad.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="encrypted"):
        load_model(path)


def test_duplicate_member_is_refused(saved, tmp_path):
    path = tmp_path / "bad.npz"
    members = members_of(saved)
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
            archive.writestr("weights/b0.npy", members["weights/b0.npy"])
    with pytest.raises(ModelFileError, match="twice"):
        load_model(path)


@pytest.mark.parametrize("size", [0, 1, 22, 100, 0.5, 0.99])
def test_truncated_file_is_refused(saved, tmp_path, size):
    data = saved.read_bytes()
    size = int(size * len(data)) if isinstance(size, float) else size
    path = tmp_path / "bad.npz"
    path.write_bytes(data[:size])
    with pytest.raises(ModelFileError, match="not a valid"):
        load_model(path)


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nothing.npz")


# ------------------------------------------------------ pickle and joblib


def test_pickle_records_the_package_version():
    model = fit()
    state = model.__getstate__()
    assert state["_charrnn_version"] == sklearn_charrnn.__version__
    # The optimizer travels as a plain dict, so skops needs no extra trust.
    assert isinstance(state["_optimizer"], dict)
    assert isinstance(model._optimizer, AdamW)


@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads)])
def test_pickle_round_trip_same_version_does_not_warn(recwarn, dumps, loads):
    model = fit()
    loaded = loads(dumps(model))
    assert not [w for w in recwarn if w.category is InconsistentVersionWarning]
    assert_same_model(model, loaded, NAMES)


def test_pickle_from_other_version_warns(monkeypatch):
    model = fit()
    monkeypatch.setattr(sklearn_charrnn._version, "__version__", "0.0.1")
    data = pickle.dumps(model)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning, match="0.0.1") as record:
        loaded = pickle.loads(data)
    warning = record[0].message
    assert warning.original_version == "0.0.1"
    assert warning.current_version == sklearn_charrnn.__version__
    assert_same_model(model, loaded, NAMES)


def test_pickle_without_version_warns():
    model = fit()
    state = model.__getstate__()
    del state["_charrnn_version"]
    new = CharRNNGenerator.__new__(CharRNNGenerator)
    with pytest.warns(InconsistentVersionWarning, match="unknown"):
        new.__setstate__(state)
    assert "_charrnn_version" not in vars(new)


def test_joblib_round_trip_and_version_warning(tmp_path, monkeypatch):
    model = fit()
    joblib.dump(model, tmp_path / "same.joblib")
    assert_same_model(model, joblib.load(tmp_path / "same.joblib"), NAMES)
    monkeypatch.setattr(sklearn_charrnn._version, "__version__", "9.9.9")
    joblib.dump(model, tmp_path / "other.joblib")
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning, match="9.9.9"):
        joblib.load(tmp_path / "other.joblib")


def test_skops_trusts_only_the_estimator_class(tmp_path):
    sio = pytest.importorskip("skops.io")
    model = fit()
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    trusted = sio.get_untrusted_types(file=path)
    assert trusted == ["sklearn_charrnn._estimator.CharRNNGenerator"]
    loaded = sio.load(path, trusted=trusted)
    assert_same_model(model, loaded, NAMES)
