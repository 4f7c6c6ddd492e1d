"""Threads: one BLAS thread, and work cut in parts that run side by side.

This module is where the package's speed tuning lives: how a training batch
is cut in parts (:func:`n_parts`), how a generation step is cut in blocks of
rows (:func:`row_blocks`), and the BLAS limit. Each constant cites the
benchmark that chose it.

BLAS runs on one thread inside the package: its products here are small,
and a multi-threaded BLAS may round a sum differently with another thread
count. The limit goes through scikit-learn's one shared threadpoolctl
controller (:func:`limited_blas`), around each public call.

The cores are used all the same: work is cut in parts whose number depends
on the work alone (never on the machine), and the parts run on as many
threads as the process may use (:func:`thread_budget`). Threads change when
the parts run, not what they compute, so results are the same bits on one
core or sixteen.
"""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

try:  # scikit-learn's shared controller (scikit-learn >= 1.6)
    from sklearn.utils.parallel import _get_threadpool_controller
except ImportError:  # pragma: no cover
    from threadpoolctl import ThreadpoolController as _get_threadpool_controller

import numpy as np
import threadpoolctl

from .._signals import held_interrupts

# threadpoolctl 3.8 on: lets OpenBLAS's thread count go (see _as_blas_owner);
# before it, any thread could change the count and there is nothing to let go
_let_go = getattr(
    getattr(threadpoolctl, "OpenBLASController", None),
    "clear_controlling_thread",
    lambda force: None,
)

# A training batch is cut in one part per this many multiply-adds of one
# step's recurrent products (rows x gates x hidden size squared), each part
# of at least _MIN_ROWS names. `python benchmarks/parts.py` (batches of 32,
# 2 cores, both kernels, five runs): cut in two, LSTM 200 and tanh RNN 400
# (5.1M a step) train 1.1-1.4x faster under the Haswell kernel and 0.9-1.2x
# under SkylakeX (1.1x or more in seven runs of ten), LSTM 512 (34M)
# 1.3-1.5x and 1.1-1.3x; at 2.9-3.8M (tanh RNN 300, GRU 200) the gain under
# SkylakeX is 0.85-1.1x from run to run, and at 1.3M (tanh RNN 200) cutting
# loses under both. So a batch of 32 is cut from 5M on. On one thread (a
# joblib worker of a parallel search) the parts run one after the other,
# 0.7-0.9x the speed of the batch whole: the price of results that do not
# depend on the thread count.
_PART_WORK = 2_500_000
_MIN_ROWS = 16

# A generation step (the step interface's advance) runs in blocks of rows,
# each block's products and gates about this many numbers: a step's
# temporaries then stay a few hundred kilobytes, which the C allocator reuses
# from block to block and the caches hold, where a step of thousands of rows
# at once faulted fresh memory in at every step. `python
# benchmarks/step_blocks.py` (sample(10_000), 2 threads, three runs, both
# kernels): blocks of 100,000 sample 1.1-1.5x as fast as whole steps for a
# tanh RNN of 200 units and 1.1-1.4x for LSTMs of 200 and 512 units; 50,000
# gain less on the LSTMs, 200,000 and 400,000 about as much but fault more
# on the tanh RNN.
_STEP_CELLS = 100_000


def available_cores():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# The calls inside limited_blas, across the threads of this process: the
# first to enter sets the limit, the last to leave restores the counts from
# before it, whatever order they leave in.
_LIMIT = {"lock": threading.Lock(), "calls": 0, "limiter": None, "before": None}


# How many calls inside limited_blas the current thread is in.
_DEPTH = threading.local()


def _as_blas_owner(change):
    """Make ``change`` to OpenBLAS's thread count, whatever the thread.

    threadpoolctl (3.8 on) lets one thread at a time change OpenBLAS's
    process-wide thread count, the first to change it until it lets go, and
    silently drops the others' changes. Here the limit is set by the first
    call to enter and restored by the last to leave, from whichever threads
    they run in (under ``_LIMIT``'s lock): each takes hold for its change and
    lets go after it.
    """
    _let_go(force=True)
    try:
        return change()
    finally:
        _let_go(force=True)


def _forget_limit():
    """In a forked child only the thread that forked goes on, with a fresh
    lock. The calls it is inside keep the limit; if it is inside none, the
    limit of calls of the parent's other threads is taken back."""
    depth = getattr(_DEPTH, "calls", 0)
    limiter = _LIMIT["limiter"]
    _LIMIT.update(lock=threading.Lock(), calls=depth)
    if depth == 0:
        _LIMIT.update(limiter=None, before=None)
        if limiter is not None:
            _as_blas_owner(limiter.restore_original_limits)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_limit)


def _blas_threads():
    info = _get_threadpool_controller().select(user_api="blas").info()
    return [lib["num_threads"] for lib in info]


def thread_budget():
    """How many threads a call may use.

    The cores the process may run on, and no more than BLAS was allowed
    before any call here limited it: joblib lowers that in its workers, so
    that ``n_jobs`` processes share the cores instead of each taking them all.
    """
    with _LIMIT["lock"]:
        allowed = _LIMIT["before"] if _LIMIT["calls"] else None
    allowed = _blas_threads() if allowed is None else allowed
    return max(1, min([available_cores(), *allowed]))


@contextlib.contextmanager
def limited_blas():
    """Run BLAS on one thread inside; yield the threads the call may use.

    The limit is process-wide (threadpoolctl's): it also holds for threads
    of the process that run at the same time.

    The count of calls and the limit change together, a Ctrl-C held back
    meanwhile and raised after. Python can still raise one before the
    handler that holds it back is in place: going in, nothing has changed
    yet; going out, the change is tried again, then the Ctrl-C is raised.
    What is left is Python's own window as a ``with`` enters or leaves: a
    Ctrl-C there leaves the count up, BLAS on one thread, until the call's
    frames are freed (with the traceback that holds them).
    """
    n_threads = thread_budget()
    entered = False
    try:
        with held_interrupts(), _LIMIT["lock"]:
            if _LIMIT["calls"] == 0:
                _LIMIT["before"] = _blas_threads()
                controller = _get_threadpool_controller()
                _LIMIT["limiter"] = _as_blas_owner(
                    lambda: controller.limit(limits=1, user_api="blas")
                )
            _LIMIT["calls"] += 1
            _DEPTH.calls = getattr(_DEPTH, "calls", 0) + 1
            entered = True
        yield n_threads
    finally:
        # inline, not a function: Python checks for Ctrl-C as one starts
        interrupted = None
        while entered:
            try:
                with held_interrupts(), _LIMIT["lock"]:
                    entered = False  # once, even if restoring fails
                    _DEPTH.calls -= 1
                    _LIMIT["calls"] -= 1
                    if _LIMIT["calls"] == 0:
                        limiter = _LIMIT["limiter"]
                        _LIMIT["limiter"] = _LIMIT["before"] = None
                        _as_blas_owner(limiter.restore_original_limits)
            except KeyboardInterrupt as error:
                interrupted = interrupted or error
        if interrupted is not None:
            raise interrupted


class Threads:
    """Up to ``n_threads`` threads to run parts of a call on.

    Use it as a context manager: its worker threads end on exit.
    """

    def __init__(self, n_threads):
        self.n_threads = max(1, int(n_threads))
        self._pool = None
        if self.n_threads > 1:
            self._pool = ThreadPoolExecutor(max_workers=self.n_threads - 1)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self._pool is not None:
            self._pool.shutdown()

    def run_all(self, functions):
        """Call every function and return their results in order.

        Thread ``k`` calls functions ``k``, ``k + n_threads``, ... in turn;
        the calling thread is thread 0.
        """
        n = min(self.n_threads, len(functions))
        if n < 2:
            return [function() for function in functions]

        def lane(k):
            return [function() for function in functions[k::n]]

        futures = [self._pool.submit(lane, k) for k in range(1, n)]
        lanes = [lane(0), *(future.result() for future in futures)]
        results = [None] * len(functions)
        for k, values in enumerate(lanes):
            results[k::n] = values
        return results


def n_parts(n_rows, row_work):
    """In how many parts a batch of ``n_rows`` is cut.

    Parameters
    ----------
    n_rows : int
        Names in the batch.
    row_work : int
        Multiply-adds of one row's recurrent products per step.
    """
    by_work = n_rows * row_work // _PART_WORK
    return int(max(1, min(by_work, n_rows // _MIN_ROWS)))


def row_blocks(n_rows, row_cells):
    """The blocks of rows a generation step of ``n_rows`` runs in, in order.

    Parameters
    ----------
    n_rows : int
        Rows (sequences) the step advances.
    row_cells : int
        Numbers one row's step computes at once (gates x hidden size).

    Returns
    -------
    blocks : list of slice
        Contiguous, covering ``range(n_rows)``; one empty slice for no rows.
    """
    size = max(1, _STEP_CELLS // row_cells)
    return [slice(a, min(a + size, n_rows)) for a in range(0, n_rows, size)] or [
        slice(0, 0)
    ]


def split_rows(index, n):
    """The parts of one batch: ``n`` contiguous slices of ``index``.

    Fewer when ``n`` parts would hold fewer than ``_MIN_ROWS`` names each
    (the last batch of an epoch can be small).
    """
    n = max(1, min(n, len(index) // _MIN_ROWS))
    return np.array_split(index, n)
