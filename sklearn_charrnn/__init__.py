"""sklearn-charrnn: a character-level RNN name generator for scikit-learn."""

from ._estimator import CharRNNGenerator
from ._persistence import (
    InconsistentVersionWarning,
    ModelFileError,
    load_model,
    save_model,
)
from .ngram import KneserNeyGenerator

__version__ = "0.1.0"

__all__ = [
    "CharRNNGenerator",
    "InconsistentVersionWarning",
    "KneserNeyGenerator",
    "ModelFileError",
    "load_model",
    "save_model",
    "__version__",
]
