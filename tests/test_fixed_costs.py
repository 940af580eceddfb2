"""The shortcuts that cut a fit's fixed cost decide as the full checks do."""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import validate_data

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._inputs import _stand_in, _validated
from skbackprop._params import param_names, parameters_valid
from skbackprop._validation import plain_training_data

X = np.random.default_rng(0).normal(size=(6, 3))
y = np.arange(6.0)
DTYPES = (np.float64, np.float32)


@pytest.mark.parametrize("X_, y_, dtype, plain", [
    (X, y, DTYPES, True),
    (X.astype(np.float32), y.reshape(-1, 1), DTYPES, True),
    (X, y.astype(int), np.dtype(np.float64), True),
    (X, y > 2, DTYPES, True),
    (X, y, np.dtype(np.float32), False),  # converted
    (X.astype(int), y, DTYPES, False),  # converted
    (X.tolist(), y, DTYPES, False),  # a list
    (X, y.tolist(), DTYPES, False),
    (X[:, :0], y, DTYPES, False),  # no features
    (X[:0], y[:0], DTYPES, False),  # no rows
    (X, y[:5], DTYPES, False),  # lengths differ
    (X[0], y, DTYPES, False),  # 1-D
    (X, y.astype(str), DTYPES, False),  # labels as text
    (np.where(X > 1, np.nan, X), y, DTYPES, False),
    (X, np.where(y > 2, np.inf, y), DTYPES, False),
    (np.full((6, 3), 1e308), y, DTYPES, False),  # its sum overflows: the full path looks closer
])
def test_plain_training_data_is_what_validate_data_returns_unchanged(X_, y_, dtype,
                                                                      plain):
    assert plain_training_data(X_, y_, dtype) is plain
    if plain:
        stand_in = BackpropRegressor()
        got = validate_data(stand_in, X_, y_, multi_output=True, dtype=dtype)
        assert got[0] is X_ and got[1] is y_ and stand_in.n_features_in_ == 3


def test_plain_training_data_respects_the_fitted_features_and_the_config():
    assert plain_training_data(X, y, DTYPES, n_features=3)
    assert not plain_training_data(X, y, DTYPES, n_features=4)
    assert not plain_training_data(X, y, DTYPES, names=True)
    nan = np.where(X > 1, np.nan, X)
    with sklearn.config_context(assume_finite=True):
        assert plain_training_data(nan, y, DTYPES)
    with sklearn.config_context(array_api_dispatch=True):
        assert not plain_training_data(X, y, DTYPES)


def test_validated_learns_the_features_on_the_stand_in_either_way():
    for X_ in (X, X.tolist()):
        stand_in = _stand_in(BackpropRegressor(), None)
        _validated(stand_in, X_, y, y_numeric=True, reset=True, dtype=DTYPES)
        assert vars(stand_in)["n_features_in_"] == 3
    stand_in = _stand_in(BackpropRegressor(), {"n_features_in_": 4})
    with pytest.raises(ValueError, match=r"X has 3 features, but BackpropRegressor is "
                       r"expecting 4 features as input.\nFix: "):
        _validated(stand_in, X, y, y_numeric=True, reset=False, dtype=DTYPES)
    with pytest.raises(ValueError, match=r"Input y contains NaN\.\nFix: "):
        _validated(_stand_in(BackpropRegressor(), None), X, np.full(6, np.nan),
                   y_numeric=True, reset=True, dtype=DTYPES)


def test_param_names_are_sklearns_and_follow_a_new_init():
    for cls in (BackpropClassifier, BackpropRegressor):
        assert param_names(cls) == BaseEstimator._get_param_names.__func__(cls)
        assert cls._get_param_names() == param_names(cls)

    class Extra(BackpropRegressor):
        def __init__(self, extra=1, **kwargs):
            super().__init__(**kwargs)
            self.extra = extra

    assert param_names(Extra) == ["extra"]

    def __init__(self, other=2, extra=1, **kwargs):
        super(Extra, self).__init__(**kwargs)
        self.extra, self.other = extra, other

    Extra.__init__ = __init__
    assert param_names(Extra) == ["extra", "other"]
    assert clone(Extra(other=5)).other == 5


@pytest.mark.parametrize("params, name", [
    (dict(alpha=-1.0), "alpha"), (dict(solver="newton"), "solver"),
    (dict(max_iter=0), "max_iter"), (dict(shuffle="yes"), "shuffle"),
    (dict(random_state="seed"), "random_state"), (dict(weight_init=[1]), "weight_init"),
    (dict(n_iter_no_change=2.5), "n_iter_no_change"), (dict(dtype="int"), "dtype"),
])
def test_invalid_parameters_get_sklearns_error(params, name):
    model = BackpropClassifier(**params)
    assert not parameters_valid(model._parameter_constraints, model.get_params())
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of "
                       "BackpropClassifier must be"):
        model.fit(X, y > 2)


def test_valid_parameters_pass_and_skipping_validation_still_skips():
    for model in (BackpropClassifier(activation=["relu"], dtype=np.float32),
                  BackpropRegressor(batch_size=2, n_iter_no_change=np.inf,
                                    weight_init=0.1, random_state=np.random.RandomState(0))):
        assert parameters_valid(model._parameter_constraints, model.get_params())
    with sklearn.config_context(skip_parameter_validation=True):  # (trains anyway)
        assert BackpropRegressor(alpha=-1e-4, max_iter=2).fit(X, y).n_iter_ == 2


def test_changed_constraints_are_read_anew():
    from numbers import Real
    from typing import ClassVar

    from sklearn.utils._param_validation import Interval

    class Stricter(BackpropRegressor):
        _parameter_constraints: ClassVar[dict] = {**BackpropRegressor._parameter_constraints,
                                                  "alpha": [Interval(Real, 1, None, closed="left")]}

    params = BackpropRegressor(alpha=0.5).get_params()
    assert parameters_valid(BackpropRegressor._parameter_constraints, params)
    assert not parameters_valid(Stricter._parameter_constraints, params)
    listed = {"alpha": [Interval(Real, 0, None, closed="left")]}
    assert parameters_valid(listed, params)
    listed["alpha"][0].left = 1  # (bounds changed in place: answered anew)
    assert not parameters_valid(listed, params)
    listed["alpha"] = [None]
    assert not parameters_valid(listed, params)
    listed["alpha"].append(Real)
    assert parameters_valid(listed, params)
    with pytest.raises(InvalidParameterError, match="The 'alpha' parameter of Stricter"):
        Stricter(alpha=0.5).fit(X, y)


@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 - 1, np.int64(7), True])
def test_random_state_is_check_random_states(seed):
    from sklearn.utils import check_random_state

    from skbackprop._prepare import random_state

    ours, theirs = random_state(seed), check_random_state(seed)
    assert type(ours) is type(theirs)
    for a, b in zip(ours.get_state(), theirs.get_state()):
        assert np.array_equal(a, b)
    assert np.array_equal(ours.normal(size=7), theirs.normal(size=7))
    assert np.array_equal(ours.permutation(50), theirs.permutation(50))
    assert random_state(seed) is not random_state(seed)  # a new one each time


def test_random_state_passes_the_others_through():
    from skbackprop._prepare import random_state

    given = np.random.RandomState(3)
    assert random_state(given) is given
    assert random_state(None) is np.random.mtrand._rand
    for bad in (-1, 2**32):
        with pytest.raises(ValueError, match="Seed must be between 0 and 2"):
            random_state(bad)


def test_a_constant_rate_follows_a_new_learning_rate_init_between_calls():
    model = BackpropRegressor(hidden_layer_sizes=(2,), solver="sgd", batch_size=1,
                              learning_rate_init=0.01, random_state=0)
    model.partial_fit(X, y)
    assert model._learning_rate == 0.01
    model.set_params(learning_rate_init=0.05).partial_fit(X, y)
    assert model._learning_rate == 0.05
    model.set_params(learning_rate="invscaling").partial_fit(X, y)
    assert model._learning_rate == 0.05 / (3 * len(X) + 1) ** 0.5


@pytest.mark.parametrize("labels", [
    np.array([3, 1, 2, 1]), np.array([0, 1, 1, 0], dtype=np.int32),
    np.array([7, 7, 9], dtype=np.uint8), np.array([True, False, True]),
    np.array(["b", "a", "bb", "a"]), np.array(["x", "y"], dtype="<U10"),
    np.array([5]), np.tile(np.arange(10), 3),
])
def test_plain_labels_are_unique_labels(labels):
    from sklearn.utils.multiclass import unique_labels

    from skbackprop._labels import encode_labels, plain_labels

    got, expected = plain_labels(labels), unique_labels(labels)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    assert type(got) is type(expected)
    if len(expected) > 1:  # the whole encoding agrees with the one without it
        Y, targets = encode_labels(labels, {}, True, False, False)
        assert np.array_equal(targets["classes_"], expected)
        indicator = (labels[:, None] == (expected[1:] if len(expected) == 2
                                         else expected)).astype(np.int64)
        assert np.array_equal(Y, indicator) and Y.dtype == np.int64


@pytest.mark.parametrize("labels", [
    np.array([0.0, 1.0]), np.array([[0, 1], [1, 0]]), [0, 1, 1],
    np.array([], dtype=int), np.array([b"a", b"b"]), np.array(["a", 1], dtype=object),
    np.arange(30),  # more classes than half the rows: sklearn's warning
])
def test_other_labels_take_sklearns_checks(labels):
    from skbackprop._labels import plain_labels

    assert plain_labels(labels) is None


def test_sklearns_label_warnings_and_errors_still_come():
    with pytest.warns(UserWarning, match="number of unique classes is greater than 50%"):
        BackpropClassifier(max_iter=1).fit(np.random.default_rng(0).normal(size=(30, 2)),
                                           np.arange(30))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        BackpropClassifier(max_iter=1).fit(X, y + 0.5)
    with pytest.raises(ValueError, match="only one class"):
        BackpropClassifier(max_iter=1).fit(X, np.ones(6, dtype=int))
    model = BackpropClassifier(hidden_layer_sizes=(2,), max_iter=1)
    model.partial_fit(X, np.arange(6) % 2, classes=[0, 1])
    with pytest.raises(ValueError, match=r"`y` has classes not in `self\.classes_`"):
        model.partial_fit(X, np.arange(6) % 3)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has "
                       "the same classes"):
        BackpropClassifier(hidden_layer_sizes=(2,), max_iter=1, warm_start=True).fit(
            X, np.arange(6) % 2).fit(X, np.arange(6) % 3)


def test_accuracy_is_accuracy_score_to_the_bit():
    from sklearn.metrics import accuracy_score

    from skbackprop._labels import accuracy

    rng = np.random.default_rng(0)
    for n, k in ((1, 2), (7, 2), (50, 3), (333, 10)):
        true = rng.integers(0, k, n)
        pred = np.where(rng.random(n) < 0.3, rng.integers(0, k, n), true)
        weights = rng.uniform(0, 3, n)
        for a, b in ((true, pred), (true.astype(str), pred.astype(str)),
                     (true > 0, pred > 0), (true.astype(np.uint8), pred.astype(np.uint8))):
            for w in (None, weights, weights.astype(np.float32)):
                got = accuracy(a, b, sample_weight=w)
                assert got == accuracy_score(a, b, sample_weight=w)
                assert type(got) is float
    with pytest.raises(ZeroDivisionError):
        accuracy(true, pred, sample_weight=np.zeros(n))


def test_accuracy_leaves_other_labels_to_accuracy_score():
    from skbackprop._labels import accuracy

    multilabel = np.array([[0, 1], [1, 1]])
    assert accuracy(multilabel, np.ones((2, 2), dtype=int)) == 0.5
    assert accuracy([0, 1, 1], np.array([0, 1, 0])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="Mix of label input types"):
        accuracy(np.array(["a", "b"]), np.array([0, 1]))
    with pytest.raises(ValueError, match="contains NaN"):
        accuracy(np.array([0, 1]), np.array([0, 1]), sample_weight=np.array([1, np.nan]))
    assert BackpropClassifier._score_function is accuracy


def test_r2_is_r2_score_to_the_bit():
    from sklearn.metrics import r2_score

    from skbackprop._regressor import r2

    rng = np.random.default_rng(0)
    for shape in ((2,), (7,), (50,), (333,), (40, 1), (40, 3)):
        true = rng.normal(size=shape)
        cases = [rng.normal(size=shape), true + 0.1 * rng.normal(size=shape), true.copy(),
                 np.full(shape, 0.3)]
        constant = np.full(shape, 1.5)
        weights = rng.uniform(0, 3, shape[0])
        for a, b in [(true, c) for c in cases] + [(constant, constant),
                                                   (constant, cases[0])]:
            for w in (None, weights, np.r_[0.0, weights[1:]]):
                got = r2(a, b, sample_weight=w)
                assert got == r2_score(a, b, sample_weight=w) and type(got) is float


def test_r2_leaves_other_targets_to_r2_score():
    import warnings

    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import r2_score

    from skbackprop._regressor import r2

    true, pred = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0])
    for a, b, w in ((true.astype(np.float32), pred, None), (true.astype(int), pred, None),
                    (list(true), pred, None), (true, pred, np.ones(3, dtype=np.float32))):
        assert r2(a, b, sample_weight=w) == r2_score(a, b, sample_weight=w)
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(r2(true[:1], pred[:1]))
    with pytest.raises(ValueError, match="contains NaN"):
        r2(np.array([1.0, np.nan]), pred[:2])
    with pytest.raises(ZeroDivisionError):
        r2(true, pred, sample_weight=np.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert r2(true, pred) == r2_score(true, pred)
    assert BackpropRegressor._score_function is r2


def test_remembered_answers_follow_live_options_and_stateful_constraints():
    from sklearn.utils._param_validation import HasMethods, StrOptions

    live = set()
    listed = {"activation": [StrOptions(live)]}
    params = {"activation": "swish2"}
    assert not parameters_valid(listed, params)
    live.add("swish2")  # (a registered activation: Options are asked every time)
    assert parameters_valid(listed, params)
    live.discard("swish2")
    assert not parameters_valid(listed, params)

    class Switch(HasMethods):  # (make_constraint takes sklearn's kinds only)
        on = False

        def is_satisfied_by(self, val):
            return self.on

    switch = Switch([])
    listed = {"alpha": [switch]}
    assert not parameters_valid(listed, {"alpha": 1.0})
    switch.on = True  # (a constraint of another library: asked every time)
    assert parameters_valid(listed, {"alpha": 1.0})
