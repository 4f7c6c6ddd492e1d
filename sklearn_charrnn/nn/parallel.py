"""Work split in fixed parts, run on threads when there are cores for them.

BLAS runs on one thread inside the package (its products are too small to
share well, and a multi-threaded BLAS may round differently with another
thread count). Both cores of a machine are still used, by splitting work
into independent parts that NumPy runs without holding the GIL:

- a training batch into two halves of its names (:func:`n_parts`), whose
  gradients add up to the batch's (:func:`batch_loss_and_gradients`);
- the groups of a sampling call into two halves (see :mod:`.sampling`).

How work is split depends on its size only, never on the number of threads
that run it, so results are the same bits on one thread or many: threads
change when the parts run, not what they compute.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .cells import CELLS
from .network import loss_and_gradients

# A batch is split in two when one name's step costs at least this many
# multiply-adds in the recurrent product (gates times hidden size squared),
# and each half keeps at least _SPLIT_MIN_ROWS names. Below it the two
# threads' many small NumPy calls wait on each other for the GIL and a split
# batch trains slower. `python benchmarks/split_batches.py` measures both
# ways; on 2 cores, with the whole batch's products in chunks of rows and
# its first states shared, LSTM 200 (160,000) and GRU 256 (196,608) were
# about 10% slower split, tanh RNN 384 and 512 (262,144) within noise
# either way, LSTM 300 (360,000), GRU 384 and LSTM 512 faster
# (docs/benchmarks_speed.rst).
_SPLIT_WORK = 300_000
_SPLIT_MIN_ROWS = 8

_POOL = {"pid": None, "executor": None, "workers": 0}


def available_cores():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_all(functions, n_threads):
    """Call every function and return their results, on up to ``n_threads``.

    Thread ``k`` calls functions ``k``, ``k + n_threads``, ... in turn; the
    calling thread is thread 0. The pool is made on first use, and again in
    a forked child, whose copy of the parent's pool has no threads.
    """
    n_threads = min(n_threads, len(functions))
    if n_threads < 2:
        return [function() for function in functions]
    executor = _POOL["executor"]
    if _POOL["pid"] != os.getpid() or _POOL["workers"] < n_threads - 1:
        if _POOL["pid"] == os.getpid():  # too small: let its threads end
            executor.shutdown(wait=False)
        executor = ThreadPoolExecutor(max_workers=n_threads - 1)
        _POOL.update(executor=executor, pid=os.getpid(), workers=n_threads - 1)

    def lane(k):
        return [function() for function in functions[k::n_threads]]

    futures = [executor.submit(lane, k) for k in range(1, n_threads)]
    lanes = [lane(0), *(future.result() for future in futures)]
    results = [None] * len(functions)
    for k, values in enumerate(lanes):
        results[k::n_threads] = values
    return results


def n_parts(cell, hidden_size, batch_size):
    """How many parts a training batch of ``batch_size`` names is split in."""
    work = CELLS[cell].n_gates * hidden_size**2
    if work >= _SPLIT_WORK and batch_size >= 2 * _SPLIT_MIN_ROWS:
        return 2
    return 1


def split_batch(index, n):
    """The parts of one batch: ``n`` contiguous slices of ``index``.

    One part when ``n`` parts would hold fewer than ``_SPLIT_MIN_ROWS``
    names each (the last batch of an epoch can be small).
    """
    if n < 2 or len(index) < n * _SPLIT_MIN_ROWS:
        return [index]
    return np.array_split(index, n)


def batch_loss_and_gradients(
    weights,
    cell,
    n_layers,
    parts,
    *,
    dropout=0.0,
    rngs=None,
    works,
    n_threads=1,
):
    """Loss and gradients of one batch given in parts.

    Each part (a slice of a length-bucketed batch, padded on its own) runs
    through :func:`~.network.loss_and_gradients` normalised by the token
    count of the whole batch, so that the parts' losses and gradients add up
    to the batch's.

    Parameters
    ----------
    weights : dict of str to ndarray
    cell : str
    n_layers : int
    parts : list of tuple of ndarray
        ``(inputs, targets, mask)`` of every part, as
        :func:`~sklearn_charrnn._sequences.pad_batch` makes them.
    dropout : float, default=0.0
    rngs : list of numpy.random.Generator, default=None
        One per part, for dropout.
    works : list of Workspace
        One per part; the returned gradients live in the first.
    n_threads : int, default=1
        Threads the parts may run on; the result does not depend on it.

    Returns
    -------
    loss : float
        Mean negative log-likelihood per real token of the batch.
    grads : dict of str to ndarray
    n_tokens : int
        Real tokens in the batch.
    """
    n_tokens = int(sum(np.count_nonzero(mask) for _, _, mask in parts))
    rngs = rngs if rngs is not None else [None] * len(parts)

    def part(k):
        inputs, targets, mask = parts[k]
        return lambda: loss_and_gradients(
            weights,
            cell,
            n_layers,
            inputs,
            targets,
            mask,
            dropout,
            rngs[k],
            works[k],
            n_total=n_tokens,
        )

    results = run_all([part(k) for k in range(len(parts))], n_threads)
    loss, grads = results[0]
    for other_loss, other_grads in results[1:]:
        loss += other_loss
        for name, g in grads.items():
            g += other_grads[name]
    return loss, grads, n_tokens
