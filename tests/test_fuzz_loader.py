"""Fuzz the model-file loader with mutated copies of a valid file.

Whatever the damage, loading either raises ModelFileError or, when the bytes
hit zip bookkeeping the loader does not use (a timestamp, the local copy of
a member's sizes), returns a model identical to the saved one. Anything else
(another exception, a different model) fails the test.
"""

import io
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sklearn_charrnn import CharRNNGenerator, ModelFileError, load_model


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    X = ["zoë", "ab", "東京", "🦖", "abc", "ba", "cab"]
    model = CharRNNGenerator(
        hidden_size=3,
        cell="lstm",
        max_iter=2,
        batch_size=4,
        random_state=np.random.RandomState(0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    path = tmp_path_factory.mktemp("fuzz") / "model.npz"
    model.save(path)
    return model, path.read_bytes(), X


def outcome(data, path, original):
    """'error' or 'same': the only two outcomes the loader may have."""
    model, _, X = original
    path.write_bytes(data)
    try:
        loaded = load_model(path)
    except ModelFileError:
        return "error"
    assert list(loaded.vocabulary_) == list(model.vocabulary_)
    for name, weight in model.weights_.items():
        np.testing.assert_array_equal(loaded.weights_[name], weight)
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    assert loaded.get_params(deep=False).keys() == model.get_params().keys()
    assert loaded.n_iter_ == model.n_iter_
    return "same"


def mutations(data, rng, n):
    """Seeded random damage: byte flips, truncations, insertions, cuts."""
    size = len(data)
    for _ in range(n):
        damaged = bytearray(data)
        kind = rng.integers(6)
        if kind == 0:  # flip 1 to 4 bytes
            for position in rng.integers(size, size=rng.integers(1, 5)):
                damaged[position] ^= int(rng.integers(1, 256))
        elif kind == 1:  # truncate
            del damaged[rng.integers(size) :]
        elif kind == 2:  # insert a few bytes
            position = rng.integers(size)
            damaged[position:position] = rng.bytes(int(rng.integers(1, 9)))
        elif kind == 3:  # cut a few bytes out of the middle
            position = rng.integers(size)
            del damaged[position : position + rng.integers(1, 9)]
        elif kind == 4:  # zero a run
            position = rng.integers(size)
            length = int(rng.integers(1, 65))
            damaged[position : position + length] = bytes(
                len(damaged[position : position + length])
            )
        else:  # flip bytes, then truncate
            damaged[rng.integers(size)] ^= 0xFF
            del damaged[rng.integers(size) :]
        yield bytes(damaged)


def test_random_damage_gives_only_the_documented_error(original, tmp_path):
    data = original[1]
    rng = np.random.default_rng(20240601)
    path = tmp_path / "damaged.npz"
    results = [outcome(d, path, original) for d in mutations(data, rng, 300)]
    # Most damage must be caught; a few flips land on unused zip fields.
    assert results.count("error") > 250


def test_truncation_at_every_member_boundary(original, tmp_path):
    data = original[1]
    archive = zipfile.ZipFile(io.BytesIO(data))
    cuts = {0, 1, len(data) - 1}
    for info in archive.infolist():
        data_start = info.header_offset + 30 + len(info.filename)
        for boundary in (info.header_offset, data_start, data_start + info.file_size):
            cuts |= {boundary - 1, boundary, boundary + 1}
    path = tmp_path / "cut.npz"
    for cut in sorted(c for c in cuts if 0 <= c < len(data)):
        assert outcome(data[:cut], path, original) == "error", cut


def test_every_byte_of_the_metadata_member(original, tmp_path):
    """Flipping any byte of the JSON metadata is caught (by its CRC)."""
    data = original[1]
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("metadata.npy")
    start = info.header_offset + 30 + len(info.filename)
    path = tmp_path / "flipped.npz"
    rng = np.random.default_rng(7)
    for position in rng.choice(info.file_size, size=100, replace=False):
        damaged = bytearray(data)
        damaged[start + position] ^= 0x20
        assert outcome(bytes(damaged), path, original) == "error", position


def test_appended_garbage(original, tmp_path):
    """Bytes after the archive shift the zip offsets: caught, or ignored."""
    data = original[1]
    path = tmp_path / "longer.npz"
    for garbage in (b"\0", b"PK\x05\x06", bytes(range(256)) * 4):
        assert outcome(data + garbage, path, original) in ("error", "same")
        assert outcome(garbage + data, path, original) in ("error", "same")


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    flips=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
        min_size=1,
        max_size=6,
    ),
    keep=st.floats(0, 1),
)
def test_hypothesis_damage(original, tmp_path, flips, keep):
    data = bytearray(original[1])
    for where, xor in flips:
        data[int(where * len(data))] ^= xor
    data = bytes(data[: max(1, int(keep * len(data)))])
    assert outcome(data, tmp_path / "h.npz", original) in ("error", "same")


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_are_never_a_model(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "x.npz"
    path.write_bytes(data)
    with pytest.raises(ModelFileError):
        load_model(path)
