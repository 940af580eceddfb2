"""Hyper-parameter search across processes on dask.distributed (issue 6, item 4).

A LocalCluster of 2 worker processes bound to 127.0.0.1 with no dashboard (no
network beyond loopback), shut down at the end of the module.
"""

import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor

pytestmark = pytest.mark.slow  # integration: run by .ci/run, left out by -m 'not slow'

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    with cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


def search():
    pipe = make_pipeline(StandardScaler(), BackpropClassifier(max_iter=30, random_state=0))
    grid = {"backpropclassifier__alpha": [1e-4, 1e-1],
            "backpropclassifier__hidden_layer_sizes": [(4,), (16,)],
            "backpropclassifier__solver": ["adam", "sgd"]}
    return GridSearchCV(pipe, grid, cv=3, n_jobs=-1)


def test_grid_search_on_dask_equals_the_sequential_run(client):
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sequential = search().set_params(n_jobs=None).fit(X, y)
        with joblib.parallel_backend("dask"):
            on_dask = search().fit(X, y)
    workers = {w for w in client.scheduler_info()["workers"]}
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    for key in ["mean_test_score", "std_test_score", "rank_test_score"]:
        assert_array_equal(on_dask.cv_results_[key], sequential.cv_results_[key])
    assert on_dask.best_params_ == sequential.best_params_
    best, ref = on_dask.best_estimator_[-1], sequential.best_estimator_[-1]
    for a, b in zip(best.coefs_ + best.intercepts_, ref.coefs_ + ref.intercepts_):
        assert_array_equal(a, b)


def test_workers_use_one_blas_thread(client):
    """dask's nannies set OMP_NUM_THREADS=1 (and the MKL/OpenBLAS equivalents): two
    workers on two cores do not oversubscribe them."""
    def blas_threads():
        from threadpoolctl import threadpool_info
        return {info["num_threads"] for info in threadpool_info()}

    assert all(threads == {1} for threads in client.run(blas_threads).values())


def test_convergence_status_comes_back_from_a_worker(client):
    """Warnings raised in a worker stay there; the outcome travels with the model."""
    X, y = load_iris(return_X_y=True)
    blowing_up = BackpropRegressor(solver="sgd", learning_rate_init=10.0, momentum=0.0,
                                   max_iter=50, random_state=0)
    fitted = client.submit(blowing_up.fit, X * 1e3, y * 1e3).result()
    assert fitted.diverged_ is True
    assert np.isfinite(fitted.predict(X)).all()
    fine = client.submit(BackpropRegressor(max_iter=5, random_state=0).fit, X, y).result()
    assert fine.diverged_ is False and fine.n_iter_ == 5
