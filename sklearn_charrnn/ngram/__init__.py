"""Character n-gram models: :class:`KneserNeyGenerator` and its mathematics.

``kneser_ney`` holds the counting, the discounts, the compiled automaton and
the step interface as pure functions; ``_estimator`` the scikit-learn face.
"""

from ._estimator import KneserNeyGenerator
from .kneser_ney import KneserNeySteps

__all__ = ["KneserNeyGenerator", "KneserNeySteps"]
