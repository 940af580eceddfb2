"""Every test starts from the same global NumPy random state.

Estimators built with ``random_state=None`` draw from NumPy's global generator, so
without this a test's starting weights would depend on which tests ran before it
(and a tolerance could hold on one machine's test order and not another's).

scikit-learn's array API dispatch needs scipy's own (``SCIPY_ARRAY_API=1``, read
when scipy is first imported): it is set here, before anything imports scipy, so
that the Array API tests run (pytest loads this file before collecting). matplotlib
draws off screen (``MPLBACKEND=Agg``), and the ``close_figures`` fixture closes what
a test drew.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
os.environ["MPLBACKEND"] = "Agg"  # tests draw off screen, whatever the shell says

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler


@pytest.fixture(autouse=True)
def _seed_global_numpy_random_state():
    np.random.seed(0)  # noqa: NPY002 (code that draws from the global state)


@pytest.fixture
def wavy():
    """A smooth nonlinear regression problem: 200 rows, 2 features."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(200, 2))
    y = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] ** 2
    return X, y


@pytest.fixture(scope="session")
def digits():
    """The first 600 digits, standardised."""
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:600]), y[:600]


@pytest.fixture
def close_figures():
    """Close every matplotlib figure the test drew."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
