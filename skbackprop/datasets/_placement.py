"""The placement tables: CGPA and resume score -> package (LPA) or placed (yes/no)."""

from importlib import resources

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state

__all__ = ["load_placement", "make_placement"]

FEATURE_NAMES = ["cgpa", "resume_score"]
TARGETS = {"regression": "package_lpa", "classification": "placed"}

DESCR = """\
Placement tables
----------------

The two four-row tables of the backpropagation tutorial skbackprop grew from.

- regression: CGPA, resume score -> package in LPA (lakh rupees per annum);
  rows (8, 8, 4), (7, 9, 5), (6, 10, 6), (5, 12, 7). The tutorial fits a 2-2-1
  network with linear units and squared error, one SGD update per row.
- classification: CGPA, resume score -> placed (1) or not (0);
  rows (8, 8, 1), (7, 9, 1), (6, 10, 0), (5, 5, 0). The tutorial uses sigmoid
  units and binary cross-entropy.

For more rows on the same scales, see ``make_placement`` (synthetic data).
"""


def _check_task(task):
    if task not in TARGETS:
        raise ValueError(
            f"task must be 'regression' or 'classification', got {task!r}."
        )


def load_placement(task="regression", *, as_frame=False, return_X_y=False):
    """Load one of the tutorial's two placement tables (4 rows each).

    Parameters
    ----------
    task : {'regression', 'classification'}, default='regression'
        'regression': the target is the package in LPA; 'classification': whether
        the student was placed (1) or not (0).

    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame, ``target`` a Series, and ``frame``
        holds both.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (4, 2), ``target`` (4,), ``feature_names``, ``target_names``,
        ``frame`` (None unless ``as_frame``) and ``DESCR``.

    (data, target) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> from skbackprop.datasets import load_placement
    >>> X, y = load_placement(return_X_y=True)
    >>> X[0], y[0]
    (array([8., 8.]), np.float64(4.0))
    >>> load_placement("classification", as_frame=True).frame.columns.tolist()
    ['cgpa', 'resume_score', 'placed']
    """
    _check_task(task)
    with resources.files(__package__).joinpath(f"data/placement_{task}.csv").open() as f:
        frame = pd.read_csv(f, dtype="float64")
    target_name = TARGETS[task]
    if task == "classification":
        frame[target_name] = frame[target_name].astype("int64")
    data, target = frame[FEATURE_NAMES], frame[target_name]
    if not as_frame:
        data, target, frame = data.to_numpy(), target.to_numpy(), None
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=list(FEATURE_NAMES),
        target_names=[target_name],
        DESCR=DESCR,
    )


def make_placement(n_samples=100, *, noise=0.5, random_state=None, task="regression"):
    """Generate SYNTHETIC placement data on the scales of the tutorial's tables.

    These rows are made up by a fixed formula; they are not real placement records
    and do not reproduce the four tutorial rows (in the tutorial's regression table
    the package falls as the CGPA rises). The model is::

        cgpa         ~ U[5, 10]
        resume_score ~ U[5, 12]
        package_lpa  = 2 + 0.5 (cgpa - 5) + 0.25 (resume_score - 5)
                         + 0.06 (cgpa - 5) (resume_score - 5) + noise * N(0, 1)
        placed       = 1 if 1.2 (cgpa - 7) + 0.4 (resume_score - 8.5)
                              + noise * N(0, 1) > 0, else 0

    The placement rule agrees with all four rows of the tutorial's classification
    table when ``noise=0``.

    Parameters
    ----------
    n_samples : int, default=100
        Number of rows.

    noise : float, default=0.5
        Standard deviation of the Gaussian noise added to the package (regression)
        or to the placement score (classification).

    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    task : {'regression', 'classification'}, default='regression'
        Which target to return.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        CGPA and resume score.

    y : ndarray of shape (n_samples,)
        Package in LPA (float) or placed (0/1 int).

    Examples
    --------
    >>> from skbackprop.datasets import make_placement
    >>> X, y = make_placement(200, task="classification", random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((200, 2), [0, 1])
    """
    _check_task(task)
    if not (isinstance(n_samples, (int, np.integer)) and n_samples >= 1):
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}.")
    rng = check_random_state(random_state)
    cgpa = rng.uniform(5, 10, n_samples)
    resume = rng.uniform(5, 12, n_samples)
    eps = noise * rng.standard_normal(n_samples)
    X = np.column_stack([cgpa, resume])
    if task == "regression":
        c, r = cgpa - 5, resume - 5
        return X, 2 + 0.5 * c + 0.25 * r + 0.06 * c * r + eps
    score = 1.2 * (cgpa - 7) + 0.4 * (resume - 8.5) + eps
    return X, (score > 0).astype(np.int64)
