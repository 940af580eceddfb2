"""Ensembles of networks: ``n_ensemble`` networks fitted alike, their outputs
averaged.

Each network of a tabular estimator's ensemble is the estimator's own network with
another seed: other starting weights, another order of the batches, dropout masks,
and another fifth of the rows held out for early stopping, so that between them
they train on every row. The first network is the one ``n_ensemble=1`` fits (with
an int ``random_state``); it is the estimator's own fitted state (``coefs_``,
``loss_curve_``, ``best_epoch_``, ...), and the others are fitted estimators of the
same class with ``n_ensemble=1``, in ``ensemble_``. Their output-layer values are
averaged: the class probabilities, or the standardised predictions of a regressor
before they are scaled back and clipped.
"""

import copy
from numbers import Integral

import numpy as np
from scipy.special import logsumexp
from sklearn.callback._callback_support import callback_management_context
from sklearn.utils import check_random_state

from .._engine.fitted import MARKER, names, read, store

__all__ = ["fit_networks", "mean_output", "member_seeds", "networks"]

# the parameters in which the networks of an ensemble differ
OWN = ("random_state", "n_ensemble")


def networks(estimator):
    """The fitted networks of ``estimator``: itself, then those of ``ensemble_``."""
    return [estimator, *vars(estimator).get("ensemble_", [])]


def member_seeds(random_state, n):
    """The ``random_state`` of each of ``n`` further networks: None for None;
    for an int, ints derived from it (``SeedSequence(random_state)``'s children);
    for a RandomState, ints drawn from it."""
    if random_state is None:
        return [None] * n
    if isinstance(random_state, Integral):
        children = np.random.SeedSequence(int(random_state)).spawn(n)
        return [int(child.generate_state(1)[0]) for child in children]
    draws = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=n)
    return [int(seed) for seed in draws]


def _single(estimator, state=True):
    """A copy of ``estimator`` as one network (``n_ensemble=1``): with its fitted
    state (which a continued fit starts from) or without it."""
    net = copy.copy(estimator)
    vars(net).pop("ensemble_", None)
    net.n_ensemble = 1
    if not state:
        required, optional = names(type(net))
        for name in (*required, *optional, MARKER):
            vars(net).pop(name, None)
    return net


def fit_networks(estimator, fit_one, continued):
    """Fit every network of ``estimator``'s ensemble with ``fit_one(network)`` (one
    network's fit or partial_fit, on a copy), then store the first network's state
    and the others, in one assignment: until then ``estimator`` is unchanged.
    ``continued``: a warm start or partial_fit of a fitted model, whose networks
    each continue (their number must not have changed)."""
    others = vars(estimator).get("ensemble_", []) if continued else None
    if continued and len(others) != estimator.n_ensemble - 1:
        raise ValueError(
            f"This model was fitted with n_ensemble={len(others) + 1}, and "
            f"n_ensemble={estimator.n_ensemble} cannot continue it.\nFix: "
            f"set_params(n_ensemble={len(others) + 1}) to continue it, or fit it "
            "again with warm_start=False.")
    first = _single(estimator)
    _fit_alone(first, fit_one)
    shared = {k: v for k, v in estimator.get_params(deep=False).items() if k not in OWN}
    if continued:
        members = [copy.copy(member).set_params(**shared) for member in others]
    else:
        members = [_single(estimator, state=False).set_params(random_state=seed)
                   for seed in member_seeds(estimator.random_state,
                                            estimator.n_ensemble - 1)]
    for member in members:
        _fit_alone(member, fit_one)
    record = read(first)
    if members:
        record["ensemble_"] = members
    store(estimator, record)
    return estimator


def _fit_alone(network, fit_one):
    """``fit_one(network)``, with the set-up and tear-down of the callbacks that
    a public fit gives its estimator (each network's fit is one callback task)."""
    with callback_management_context(network):
        fit_one(network)


def mean_output(outputs, out_activation):
    """``(A, Z)`` of an ensemble from its networks' ``(A_L, Z_L)``: the mean of the
    A_L, and logits whose output activation gives that mean (for
    ``predict_log_proba``, computed from the networks' logits in log space)."""
    if len(outputs) == 1:
        return outputs[0]
    A = np.mean([a for a, _ in outputs], axis=0)
    Z = np.stack([z for _, z in outputs])
    log_n = np.log(len(outputs))
    if out_activation == "softmax":  # log of the mean probability
        return A, logsumexp(Z - logsumexp(Z, axis=2, keepdims=True), axis=0) - log_n
    if out_activation == "logistic":  # logit of the mean probability
        log_p = logsumexp(-np.logaddexp(0.0, -Z), axis=0)
        log_q = logsumexp(-np.logaddexp(0.0, Z), axis=0)
        return A, log_p - log_q
    return A, A
