"""Ensembles of networks: ``n_ensemble`` networks fitted alike, their outputs
averaged.

Each network of a tabular estimator's ensemble is the estimator's own network with
another seed: other starting weights, another order of the batches, dropout masks,
and another fifth of the rows, drawn at random, held out for early stopping, so
that between them they train on more rows than one network does (two networks on
all but about one row in 25). The first network is the one ``n_ensemble=1`` fits (with
an int ``random_state``); it is the estimator's own fitted state (``coefs_``,
``loss_curve_``, ``best_epoch_``, ...), and the others are fitted estimators of the
same class with ``n_ensemble=1``, in ``ensemble_``. Their output-layer values are
averaged: the class probabilities, or the standardised predictions of a regressor
before they are scaled back and clipped.
"""

import copy
import warnings
from numbers import Integral

import numpy as np
from scipy.special import logsumexp
from sklearn.callback._callback_support import callback_management_context
from sklearn.utils import check_random_state

from .._engine.fitted import MARKER, names, read, store
from .._engine.training import INTERRUPTED
from .._warnings import warn

__all__ = ["fit_networks", "mean_output", "member_seeds", "networks"]

# the parameters in which the networks of an ensemble differ
OWN = ("random_state", "n_ensemble")
# what sklearn's callback protocol keeps on an estimator: the callbacks set, and
# while (or, from a meta-estimator, after) it fits, their task context
CALLBACK_STATE = ("_skl_callbacks", "_parent_callback_ctx", "_callback_fit_ctx",
                  "_skl_callbacks_to_teardown")


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


def fit_networks(estimator, fit_one, continued, incremental=False):
    """Fit every network of ``estimator``'s ensemble with ``fit_one(network)`` (one
    network's fit or partial_fit, on a copy), then store the first network's state
    and the others, in one assignment: until then ``estimator`` is unchanged.
    ``continued``: a warm start or partial_fit (``incremental``) of a fitted model,
    whose networks each continue (their number must not have changed).

    An interrupt (Ctrl-C) ends the whole fit: once the first network has trained
    an epoch, the networks trained so far are kept (the one interrupted with its
    completed epochs, as a single network keeps them), with a warning; before,
    it goes on to the caller and the estimator is unchanged."""
    others = vars(estimator).get("ensemble_", []) if continued else None
    if continued and len(others) != estimator.n_ensemble - 1:
        again = "fit it again (fit starts anew)" if incremental else (
            "fit it again with warm_start=False")
        raise ValueError(
            f"This model holds {len(others) + 1} networks, and n_ensemble="
            f"{estimator.n_ensemble} cannot continue it.\nFix: set_params(n_ensemble="
            f"{len(others) + 1}) to continue it, or {again}.")
    shared = {k: v for k, v in estimator.get_params(deep=False).items() if k not in OWN}
    networks = [_single(estimator)]
    if continued:  # (with the estimator's callbacks, not those of their first fit)
        networks += [_with_callbacks(copy.copy(m), estimator).set_params(**shared)
                     for m in others]
    fitted = _fit_each(estimator, networks, fit_one)
    record = read(fitted[0])
    if len(fitted) > 1:
        record["ensemble_"] = [_with_callbacks(m, None) for m in fitted[1:]]
    store(estimator, record)
    return estimator


def _fit_each(estimator, networks, fit_one):
    """The fitted networks: ``networks`` in turn, then (a first fit) new ones up
    to ``n_ensemble``, seeded once the first has trained; fewer after an
    interrupt, which stops the fit."""
    fitted = []
    try:
        while len(fitted) < estimator.n_ensemble:
            if len(fitted) == len(networks):  # (a first fit: the further networks)
                networks += [_single(estimator, state=False).set_params(random_state=s)
                             for s in member_seeds(estimator.random_state,
                                                   estimator.n_ensemble - 1)]
            network = networks[len(fitted)]
            caught = _fit_one_network(network, fit_one)
            fitted.append(network)
            if any(INTERRUPTED in str(w.message).lower() for w in caught):
                break
    except KeyboardInterrupt:
        if not fitted:
            raise  # nothing was trained: the estimator stays as it was
    if len(fitted) < estimator.n_ensemble:
        warn(f"{INTERRUPTED.capitalize()}: {len(fitted)} of the {estimator.n_ensemble} "
             "networks were trained, and the model averages them; fit again to train "
             "all of them.")
    return fitted


def _fit_one_network(network, fit_one):
    """``fit_one(network)`` with the callbacks' set-up and tear-down that a public
    fit gives its estimator; its warnings, given after it (as they were, through
    the caller's filters, also where it raises) and returned."""
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with callback_management_context(network):
                fit_one(network)
    finally:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return caught


def _with_callbacks(network, estimator):
    """``network`` with the callbacks of ``estimator`` (None: with none, as a
    network of ``ensemble_`` is kept: sklearn sets them on the estimator for each
    fit)."""
    for name in CALLBACK_STATE:
        vars(network).pop(name, None)
    for name in CALLBACK_STATE[:2] if estimator is not None else ():
        if name in vars(estimator):
            vars(network)[name] = vars(estimator)[name]
    return network


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
