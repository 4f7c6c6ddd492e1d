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

# Views a workspace remembers at most (see Workspace.empty).
_MAX_VIEWS = 256


class Workspace:
    """Scratch arrays kept from one call to the next, keyed by name.

    An array handed out stays valid until the same key is asked for again.
    """

    def __init__(self):
        self._arrays = {}
        # (key, shape, dtype) -> the view handed out last time: a training
        # step asks for the same few dozen views at every batch, and a
        # dictionary look-up costs less than slicing and reshaping again
        self._views = {}

    def empty(self, key, shape, dtype):
        """An uninitialised array of ``shape``, a view of the buffer ``key``."""
        view = self._views.get((key, shape, dtype))
        if view is not None:
            return view
        size = math.prod(shape)
        buffer = self._arrays.get(key)
        if buffer is None or buffer.size < size or buffer.dtype != dtype:
            buffer = np.empty(size, dtype=dtype)
            self._arrays[key] = buffer
            # views of the buffer this one replaces must not keep it alive
            for cached in [k for k in self._views if k[0] == key]:
                del self._views[cached]
        view = buffer[:size].reshape(shape)
        if len(self._views) >= _MAX_VIEWS:  # sampling asks for ever new shapes
            self._views.clear()
        self._views[key, shape, dtype] = view
        return view

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
