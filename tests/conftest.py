"""Shared fixtures."""

import pytest

from sklearn_charrnn.datasets import load_dinosaurs


@pytest.fixture(scope="session")
def dinosaurs():
    return load_dinosaurs()
