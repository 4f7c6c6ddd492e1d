"""scikit-learn's estimator checks for KneserNeyGenerator.

Kept apart from the behaviour tests, like ``test_sklearn_checks.py``. No
check is expected to fail.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_charrnn import KneserNeyGenerator


@parametrize_with_checks(
    [KneserNeyGenerator(random_state=0)],
    expected_failed_checks=lambda estimator: {},
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
