"""The fitted state declared once (_fitted): a fit leaves exactly the declared
attributes, stored in one assignment; persistence and the Array API transfer read
the same declaration."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._engine.fitted import MARKER, names, read, store, with_role
from skbackprop.persistence._schema import fitted_state


def _fit(estimator, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **kwargs)


@pytest.mark.parametrize("estimator", [
    BackpropClassifier(hidden_layer_sizes=(3,), max_iter=3),
    BackpropClassifier(hidden_layer_sizes=(3,), max_iter=3, solver="lbfgs"),
    BackpropRegressor(hidden_layer_sizes=(3,), max_iter=3, early_stopping=True),
])
def test_a_fit_leaves_exactly_the_declared_attributes(estimator):
    X, y = load_iris(return_X_y=True, as_frame=True)
    _fit(estimator, X, y)
    required, optional = names(type(estimator))
    own = set(vars(estimator)) - set(estimator.get_params()) - {MARKER,
                                                                 "_callback_fit_ctx"}
    # feature_names_in_: X had names; _layer_parameters: only for layers not Dense
    assert own == set(required) | set(optional) - {"_layer_parameters"}
    assert read(estimator).keys() == own
    assert fitted_state(estimator)[1].keys() == own  # what a model file holds


def test_a_refit_without_names_drops_the_old_feature_names():
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = _fit(BackpropClassifier(hidden_layer_sizes=(3,), max_iter=3), X, y)
    assert hasattr(clf, "feature_names_in_")
    _fit(clf, X.to_numpy(), y)
    assert not hasattr(clf, "feature_names_in_")


def test_store_refuses_a_record_that_is_not_the_declared_state():
    clf = BackpropClassifier()
    with pytest.raises(AssertionError, match="missing"):
        store(clf, {"coefs_": []})
    assert not clf.__sklearn_is_fitted__()


def test_store_keeps_the_parameters_and_replaces_the_state_at_once():
    X, y = load_iris(return_X_y=True)
    clf = _fit(BackpropClassifier(hidden_layer_sizes=(3,), max_iter=3), X, y)
    record = read(clf)
    dictionary = vars(clf)
    clf.set_params(alpha=0.5)
    store(clf, record)
    assert vars(clf) is not dictionary  # one assignment of a new dict
    assert clf.alpha == 0.5 and clf.__sklearn_is_fitted__()


def test_roles_name_what_moves_with_the_network():
    assert set(with_role(BackpropClassifier, "weights", "optimizer")) == {
        "coefs_", "intercepts_", "_layer_parameters", "_optimizer_state",
        "_optimizer_solver", "_learning_rate"}
    assert set(with_role(BackpropClassifier, "targets")) == {"classes_", "_y_type"}
    assert with_role(BackpropRegressor, "targets") == []


def test_history_columns_are_what_the_monitor_writes():
    X, y = load_iris(return_X_y=True)
    clf = _fit(BackpropClassifier(hidden_layer_sizes=(3,), max_iter=3), X, y)
    assert isinstance(clf.history_, pd.DataFrame)
    assert np.array_equal(clf.history_["train_loss"], clf.loss_curve_)


@pytest.mark.parametrize("cls", [BackpropClassifier, BackpropRegressor])
def test_the_docs_list_every_public_fitted_attribute(cls):
    """The estimators' Attributes section documents exactly the declared public
    attributes (and history_, the table built from _history)."""
    import re

    section = cls.__doc__.split("Attributes\n    ----------")[1].split("See Also")[0]
    documented = set(re.findall(r"^    (\w+) :", section, re.MULTILINE))
    required, optional = names(cls)
    public = {name for name in (*required, *optional) if not name.startswith("_")}
    assert documented == public | {"history_"}
