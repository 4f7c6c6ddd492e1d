"""sklearn-charrnn: a character-level RNN name generator for scikit-learn."""

from ._classifier import CharRNNClassifier
from ._estimator import CharRNNGenerator
from ._mixture import GeneratorMixture
from ._models import load_model, save_model
from ._persistence import InconsistentVersionWarning, ModelFileError
from ._version import __version__
from .ngram import KneserNeyGenerator

__all__ = [
    "CharRNNClassifier",
    "CharRNNGenerator",
    "GeneratorMixture",
    "InconsistentVersionWarning",
    "KneserNeyGenerator",
    "ModelFileError",
    "load_model",
    "save_model",
    "__version__",
]
