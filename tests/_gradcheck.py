"""What the finite-difference tests share: a padded batch, central differences."""

import numpy as np

from sklearn_charrnn._sequences import pad_batch

EPS = 1e-6


def padded_batch(rng, n_tokens, lengths):
    """A padded batch of sequences of different lengths."""
    lengths = np.asarray(lengths)
    codes = rng.integers(1, n_tokens, size=lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return pad_batch(codes, offsets, lengths, np.arange(len(lengths)))


def central_differences(loss, array):
    """``d loss() / d array`` by central differences, entry by entry.

    ``array`` is changed in place and put back after every entry.
    """
    numeric = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        old = array[idx]
        array[idx] = old + EPS
        up = loss()
        array[idx] = old - EPS
        down = loss()
        array[idx] = old
        numeric[idx] = (up - down) / (2 * EPS)
    return numeric
