"""Helpers shared by the math tests (not tests themselves)."""

import numpy as np


def make_targets(loss, rng, n, k):
    """Targets a loss can take: 0/1 labels, one-hot classes, counts or reals."""
    if loss == "binary_log_loss":
        return (rng.uniform(size=(n, k)) > 0.5).astype(float)
    if loss == "log_loss":
        return np.eye(k)[rng.randint(k, size=n)]
    if loss == "poisson":
        return rng.poisson(2.0, size=(n, k)).astype(float)
    return rng.normal(size=(n, k))


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)
