"""sklearn's estimator checks, at our defaults, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skbackprop import BackpropClassifier, BackpropRegressor


@parametrize_with_checks([BackpropRegressor(), BackpropClassifier()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
