"""Scratch memory reused from one training step to the next.

Freeing and allocating arrays of a few hundred kilobytes at every mini-batch
makes the C allocator hand the memory back to the system and fault it in
again, page by page; at the sizes of a character RNN that can cost as much as
the arithmetic. A :class:`Workspace` keeps one flat buffer per key and hands
out views of it. The estimator makes one per call to ``fit``; it is never
part of the fitted state.
"""

import math

import numpy as np


class Workspace:
    """Scratch arrays kept from one call to the next, keyed by name.

    An array handed out stays valid until the same key is asked for again.
    """

    def __init__(self):
        self._arrays = {}

    def empty(self, key, shape, dtype):
        """An uninitialised array of ``shape``, a view of the buffer ``key``."""
        size = math.prod(shape)
        buffer = self._arrays.get(key)
        if buffer is None or buffer.size < size or buffer.dtype != dtype:
            buffer = np.empty(size, dtype=dtype)
            self._arrays[key] = buffer
        return buffer[:size].reshape(shape)

    @property
    def nbytes(self):
        """Bytes held by every buffer, scopes included."""
        return sum(value.nbytes for value in self._arrays.values())

    def scope(self, name):
        """A workspace of its own for ``name`` (one per layer)."""
        key = ("scope", name)
        if key not in self._arrays:
            self._arrays[key] = Workspace()
        return self._arrays[key]


def empty(work, key, shape, dtype):
    """``work.empty(key, shape, dtype)``, or a fresh array when ``work`` is None."""
    if work is None:
        return np.empty(shape, dtype=dtype)
    return work.empty(key, shape, dtype)
