"""Bad input gets a clear error naming the problem and the fix (issue 4, item 1).

``BAD_INPUTS`` doubles as the robustness report: ``python tests/test_bad_input.py``
prints the table of inputs tried and what each gets (docs/guide/reliability.md).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skbackprop import BackpropClassifier, BackpropRegressor

RNG = np.random.RandomState(0)
X = RNG.normal(size=(20, 3))
Y_CLASS = np.arange(20) % 2
Y_REAL = X[:, 0]


def fitted_regressor():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BackpropRegressor(max_iter=2).fit(
            pd.DataFrame(X, columns=["a", "b", "c"]), Y_REAL)


def fitted_warm_classifier():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BackpropClassifier(max_iter=2, warm_start=True).fit(X, Y_CLASS)


def fitted_classifier():
    return BackpropClassifier().partial_fit(X, Y_CLASS, classes=[0, 1])


# description, the call, the error type, what the message must say (problem, fix)
BAD_INPUTS = [
    ("NaN in X", lambda: BackpropRegressor().fit(np.where(X > 1, np.nan, X), Y_REAL),
     ValueError, ("contains NaN", "Impute")),
    ("inf in X", lambda: BackpropRegressor().fit(np.where(X > 1, np.inf, X), Y_REAL),
     ValueError, ("infinity", "Replace or drop")),
    ("NaN in y", lambda: BackpropRegressor().fit(X, np.where(Y_REAL > 1, np.nan, 0)),
     ValueError, ("y contains NaN", "drop the rows")),
    ("inf in y", lambda: BackpropRegressor().fit(X, np.where(Y_REAL > 1, np.inf, 0)),
     ValueError, ("infinity", "Replace or drop")),
    ("string features", lambda: BackpropRegressor().fit([["a", "b", "c"]] * 20, Y_REAL),
     ValueError, ("could not convert", "OneHotEncoder")),
    ("object features", lambda: BackpropRegressor().fit(
        np.array([[1, "b", 2.0]] * 20, dtype=object), Y_REAL),
     ValueError, ("could not convert", "OneHotEncoder")),
    ("categorical DataFrame column", lambda: BackpropClassifier().fit(
        pd.DataFrame({"city": pd.Categorical([1, 2] * 10), "x": X[:, 0]}), Y_CLASS),
     ValueError, ("'city' (category)", "OneHotEncoder")),
    ("text DataFrame column", lambda: BackpropRegressor().fit(
        pd.DataFrame({"name": ["a", "b"] * 10, "x": X[:, 0]}), Y_REAL),
     ValueError, ("'name'", "OneHotEncoder")),
    ("complex X", lambda: BackpropRegressor().fit(X + 1j, Y_REAL),
     ValueError, ("Complex data not supported", "X.real, X.imag")),
    ("0 samples", lambda: BackpropRegressor().fit(X[:0], Y_REAL[:0]),
     ValueError, ("0 sample", "at least one sample")),
    ("0 features", lambda: BackpropRegressor().fit(X[:, :0], Y_REAL),
     ValueError, ("0 feature", "at least one feature")),
    ("1-D X", lambda: BackpropRegressor().fit(X[:, 0], Y_REAL),
     ValueError, ("Expected 2D array", "reshape")),
    ("3-D X", lambda: BackpropRegressor().fit(X[:, :, None], Y_REAL),
     ValueError, ("dim 3", "reshape(len(X), -1)")),
    ("X and y of different lengths", lambda: BackpropRegressor().fit(X, Y_REAL[:-1]),
     ValueError, ("inconsistent numbers of samples", "one entry per sample")),
    ("a single class", lambda: BackpropClassifier().fit(X, np.zeros(20)),
     ValueError, ("only one class", "classes=")),
    ("continuous y for the classifier", lambda: BackpropClassifier().fit(X, Y_REAL),
     ValueError, ("Unknown label type", "BackpropRegressor")),
    ("text y for the regressor", lambda: BackpropRegressor().fit(X, ["a"] * 20),
     ValueError, ("must be numbers", "BackpropClassifier")),
    ("unseen label in partial_fit", lambda: fitted_classifier().partial_fit(X, Y_CLASS + 5),
     ValueError, ("classes not in", "first partial_fit call with classes=")),
    ("label outside classes= in the first partial_fit", lambda: BackpropClassifier(
        ).partial_fit(X, np.arange(20) % 3, classes=[0, 1]),
     ValueError, ("classes not in", "first partial_fit call with classes=")),
    ("wrong feature count at predict", lambda: fitted_regressor().predict(X[:, :2]),
     ValueError, ("has 2 features", "same columns")),
    ("wrong feature names at predict", lambda: fitted_regressor().predict(
        pd.DataFrame(X, columns=["x", "y", "z"])),
     ValueError, ("feature names should match", "columns used in fit")),
    ("negative targets with poisson", lambda: BackpropRegressor(loss="poisson").fit(X, Y_REAL),
     ValueError, ("non-negative", "squared_error")),
    ("invalid parameter", lambda: BackpropRegressor(alpha=-1).fit(X, Y_REAL),
     InvalidParameterError, ("'alpha' parameter", "must be a float in the range")),
    ("too few samples for the validation split", lambda: BackpropClassifier(
        early_stopping=True).fit(X[:6], Y_CLASS[:6]),
     ValueError, ("could not hold out", "pass X_val and y_val")),
    ("sample_weight of the wrong shape", lambda: BackpropRegressor().fit(
        X, Y_REAL, sample_weight=np.ones(5)),
     ValueError, ("sample_weight.shape", "one weight per row")),
    ("negative sample_weight", lambda: BackpropRegressor().fit(
        X, Y_REAL, sample_weight=-np.ones(20)),
     ValueError, ("Negative values", ">= 0")),
    ("all-zero sample_weight", lambda: BackpropRegressor().fit(
        X, Y_REAL, sample_weight=np.zeros(20)),
     ValueError, ("non-zero", "positive weight")),
    ("X_val without y_val", lambda: BackpropRegressor().fit(X, Y_REAL, X_val=X),
     ValueError, ("X_val and y_val together", "X_val and y_val together")),
    ("dropout with lbfgs", lambda: BackpropRegressor(solver="lbfgs", dropout=0.5).fit(
        X, Y_REAL), ValueError, ("breaks lbfgs", "solver='adam'")),
    ("sample_weight_val without X_val", lambda: BackpropRegressor().fit(
        X, Y_REAL, sample_weight_val=np.ones(5)),
     ValueError, ("without X_val and y_val", "pass X_val and y_val with it")),
    ("sample_weight_val of the wrong shape", lambda: BackpropRegressor().fit(
        X, Y_REAL, X_val=X, y_val=Y_REAL, sample_weight_val=np.ones(5)),
     ValueError, ("sample_weight_val.shape", "one weight per row of X_val")),
    ("negative class_weight", lambda: BackpropClassifier(class_weight={0: -1}).fit(
        X, Y_CLASS), ValueError, ("`class_weight`: class 0", "numbers >= 0")),
    ("all-zero class_weight", lambda: BackpropClassifier(
        class_weight={0: 0, 1: 0}).fit(X, Y_CLASS),
     ValueError, ("non-zero", "positive class_weight")),
    ("a one-member class with early_stopping", lambda: BackpropClassifier(
        early_stopping=True).fit(X, np.r_[Y_CLASS[:-1], 2]),
     ValueError, ("single sample", "pass X_val and y_val")),
    ("missing labels (None)", lambda: BackpropClassifier().fit(
        X, np.array(["a", "b", None, "a"] * 5, dtype=object)),
     ValueError, ("missing labels", "fillna")),
    ("numbers as object labels", lambda: BackpropClassifier().fit(
        X, Y_CLASS.astype(float).astype(object)),
     ValueError, ("numbers as Python objects", "y.astype(int)")),
    ("warm start after changing the layers", lambda: fitted_warm_classifier().set_params(
        hidden_layer_sizes=(7,)).fit(X, Y_CLASS),
     ValueError, ("warm_start=True continues", "warm_start=False")),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_gets_a_clear_error(case):
    _, call, error, (problem, fix) = case
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert problem in message, message
    assert fix in message, message


def report():
    """Markdown table: each bad input, the error it gets, the problem as the message
    states it (first line) and the fix it gives."""
    rows = ["| input | error | problem | fix |", "| --- | --- | --- | --- |"]
    for description, call, _, (_, fix_words) in BAD_INPUTS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                call()
            rows.append(f"| {description} | none | NOT CAUGHT | |")
        except Exception as caught:  # (reporting whatever is raised)
            lines = str(caught).replace("|", "/").splitlines()
            fix = next((line for line in lines if fix_words in line), lines[-1])
            rows.append(f"| {description} | {type(caught).__name__} | "
                        f"{_short(lines[0])} | {_short(fix.removeprefix('Fix: '))} |")
    return "\n".join(rows)


def _short(text, width=90):
    return text if len(text) <= width else text[: width - 1] + "…"


def test_the_reliability_page_shows_the_current_report():
    from pathlib import Path
    page = (Path(__file__).resolve().parent.parent / "docs" / "guide" / "reliability.md")
    text = page.read_text()
    for row in report().splitlines()[2:]:
        assert row in text, f"docs/guide/reliability.md's table is stale; regenerate it:\n{row}"


if __name__ == "__main__":
    print(report())
