"""Shared fixtures."""

import signal

import pytest

from sklearn_charrnn.datasets import load_dinosaurs


@pytest.fixture(scope="session")
def dinosaurs():
    return load_dinosaurs()


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler (KeyboardInterrupt) for the test, whatever
    the runner set: a run started in the background ignores SIGINT, and then
    a Ctrl-C (``_thread.interrupt_main``) does nothing, as it should."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
