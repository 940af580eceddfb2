"""The shipped placement tables and the synthetic generator."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from skbackprop.datasets import load_placement, make_placement


def test_regression_table_is_the_tutorials():
    bunch = load_placement()
    assert_array_equal(bunch.data, [[8, 8], [7, 9], [6, 10], [5, 12]])
    assert_array_equal(bunch.target, [4, 5, 6, 7])
    assert bunch.feature_names == ["cgpa", "resume_score"]
    assert bunch.target_names == ["package_lpa"]
    assert bunch.frame is None and "Placement" in bunch.DESCR


def test_classification_table_is_the_tutorials():
    X, y = load_placement("classification", return_X_y=True)
    assert_array_equal(X, [[8, 8], [7, 9], [6, 10], [5, 5]])
    assert_array_equal(y, [1, 1, 0, 0])
    assert y.dtype == np.int64


def test_as_frame():
    bunch = load_placement("classification", as_frame=True)
    assert isinstance(bunch.data, pd.DataFrame) and isinstance(bunch.target, pd.Series)
    assert list(bunch.frame.columns) == ["cgpa", "resume_score", "placed"]
    X, y = load_placement(as_frame=True, return_X_y=True)
    assert y.name == "package_lpa" and X.shape == (4, 2)


def test_bad_task():
    with pytest.raises(ValueError, match="'regression' or 'classification'"):
        load_placement("clustering")
    with pytest.raises(ValueError, match="'regression' or 'classification'"):
        make_placement(task="ranking")


def test_make_placement_follows_its_documented_formula():
    X, y = make_placement(500, noise=0.0, random_state=0)
    c, r = X[:, 0] - 5, X[:, 1] - 5
    np.testing.assert_allclose(y, 2 + 0.5 * c + 0.25 * r + 0.06 * c * r)
    assert X[:, 0].min() >= 5 and X[:, 0].max() <= 10
    assert X[:, 1].min() >= 5 and X[:, 1].max() <= 12
    Xc, yc = make_placement(500, noise=0.0, random_state=0, task="classification")
    assert_array_equal(yc, (1.2 * (Xc[:, 0] - 7) + 0.4 * (Xc[:, 1] - 8.5) > 0).astype(int))


def test_make_placement_noise_and_seed():
    _, y1 = make_placement(300, noise=1.0, random_state=1)
    _, y2 = make_placement(300, noise=1.0, random_state=1)
    assert_array_equal(y1, y2)
    _, clean = make_placement(300, noise=0.0, random_state=1)
    assert 0.8 < np.std(y1 - clean) < 1.2


def test_noise_free_rule_agrees_with_the_tutorial_table():
    X, y = load_placement("classification", return_X_y=True)
    score = 1.2 * (X[:, 0] - 7) + 0.4 * (X[:, 1] - 8.5)
    assert_array_equal((score > 0).astype(int), y)
