"""Root conftest: environment for scikit-learn's check suite."""

import os

# Lets scikit-learn's array-API check run (with NumPy) instead of skipping.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
