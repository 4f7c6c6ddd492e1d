"""scikit-learn's estimator checks, kept apart from the behaviour tests.

No check is expected to fail. The root conftest sets SCIPY_ARRAY_API=1 so
that the array-API check runs instead of being skipped.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_charrnn import CharRNNClassifier, CharRNNGenerator


@parametrize_with_checks(
    [CharRNNGenerator(hidden_size=16, max_iter=5, random_state=0)],
    expected_failed_checks=lambda estimator: {},
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# Enough training for check_classifiers_train, which wants accuracy above
# 0.83 on the training set; no check is expected to fail.
@parametrize_with_checks(
    [
        CharRNNClassifier(
            hidden_size=32, max_iter=50, early_stopping=False, random_state=0
        )
    ],
    expected_failed_checks=lambda estimator: {},
)
def test_sklearn_compatible_classifier(estimator, check):
    check(estimator)
