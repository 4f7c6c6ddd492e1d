"""Tampering with a saved model file: its members, arrays and metadata."""

import io
import json
import zipfile

import numpy as np


def members_of(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_members(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def array_of(members, name):
    return np.load(io.BytesIO(members[f"{name}.npy"]), allow_pickle=False)


def metadata_of(members):
    raw = np.load(io.BytesIO(members["metadata.npy"]), allow_pickle=False)
    return json.loads(raw.tobytes())


def with_metadata(members, metadata, *, nan=False, padding=""):
    """``members`` with ``metadata`` as their JSON (NaN allowed, padded after)."""
    text = json.dumps(metadata, allow_nan=nan) + padding
    return {
        **members,
        "metadata.npy": npy(np.frombuffer(text.encode(), dtype=np.uint8)),
    }


def edit_array(name, edit):
    """A tampering that replaces one array by ``edit(copy)``."""

    def tamper(members):
        array = array_of(members, name).copy()
        return {**members, f"{name}.npy": npy(edit(array))}

    return tamper


def edit_metadata(edit):
    def tamper(members):
        metadata = metadata_of(members)
        edit(metadata)
        return with_metadata(members, metadata)

    return tamper


def set_item(array, index, value):
    array[index] = value
    return array
