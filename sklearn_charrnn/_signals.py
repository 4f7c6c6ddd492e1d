"""Ctrl-C held back while a block runs, so that the block is never half done."""

import contextlib
import signal
import threading


@contextlib.contextmanager
def held_interrupts():
    """Hold Ctrl-C (SIGINT) until the block has run, then deliver it.

    The block runs whole: an optimizer step, the records of an epoch, a
    process-wide BLAS limit and its count, a file and its descriptor. A
    Ctrl-C received meanwhile reaches the handler there was before, once the
    block is done: Python's raises KeyboardInterrupt, and the default action
    (``SIG_DFL``) ends the process, as it would have. Only the main thread
    receives signals; elsewhere, and where the handler was not set from
    Python (an embedding program's), the block just runs.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is None  # not set from Python
    ):
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda *args: received.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(*received[0])
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)
