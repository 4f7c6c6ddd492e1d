"""sklearn-charrnn: a character-level RNN name generator for scikit-learn."""

from ._estimator import CharRNNGenerator

__version__ = "0.1.0"

__all__ = ["CharRNNGenerator", "__version__"]
