"""What a call does before training: the estimator glue that feeds the engine.

``prepare`` reads the estimator once, without changing it, and returns a
``Prepared``: the checked data (``_inputs``), the frozen ``Spec`` resolved from the
parameters (``_engine.spec``), the weights to start from (``_engine.start``), the fitted state a
call continues (warm start, partial_fit; None for a first fit) and the part of the
new fitted state that training does not change (features, targets, network).
``fit`` and ``partial_fit`` train from it; the teaching tools use the same path to
show what a fit would differentiate.
"""

from dataclasses import MISSING, fields
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from numpy.random.bit_generator import ISeedSequence
from sklearn.utils import check_random_state

from ._config import get_config
from ._core.losses import label_smoothed
from ._core.xp import to_numpy
from ._engine.fitted import network_params, read
from ._engine.spec import Spec
from ._engine.start import (
    architecture_changed,
    checked_weights,
    starting_weights,
)
from ._inputs import checked_data, feature_state
from ._warnings import warn

__all__ = ["NETWORK", "Prepared", "prepare", "random_state", "resolve", "scorer"]

NETWORK = ("n_outputs_", "n_layers_", "out_activation_", "_hidden_activations")
# read from config_context once per call
CONFIG = ("fast_kernels", "fast_kernels_min_work", "rowwise_limit")
# the spec's fields resolved from the parameters and the data; the others are the
# parameters of the same names, read as they are
RESOLVED = ("n_features", "layers", "loss", "alpha", "dropout", "dtype")
SETTINGS = tuple(f.name for f in fields(Spec) if f.name not in (*RESOLVED, *CONFIG))
# the real-valued settings, held as Python floats (``_number``)
NUMBERS = ("momentum", "beta_1", "beta_2", "epsilon", "clip_norm", "learning_rate_init",
           "power_t", "lr_decay", "tol", "validation_fraction", "weight_decay",
           "label_smoothing")
# the settings an estimator may lack (label_smoothing, which regressors do not
# take): read where it has them, else their defaults
OPTIONAL = {f.name: f.default for f in fields(Spec)
            if f.name in SETTINGS and f.default is not MISSING}


class Prepared(NamedTuple):
    spec: Spec
    data: object  # the training Data, in the spec's dtype
    weights: list  # the parameters to start from, one list per layer
    previous: dict | None  # the fitted state the call continues
    fixed: dict  # the new fitted state's features, targets and network
    targets: dict  # what the targets mean (a classifier's classes_ and _y_type)


def prepare(estimator, X, y, sample_weight, *, incremental, rng, classes=None,
            assigned=None):
    """Everything a call of fit (``incremental=False``) or partial_fit needs before
    training, read from ``estimator`` without changing it; starting weights are
    drawn with ``rng``. ``classes``: partial_fit's (classifiers). ``assigned``:
    whether a first fit starts from weights assigned to ``coefs_`` (None: with
    warm_start or in partial_fit, as fit does)."""
    first = not estimator.__sklearn_is_fitted__() or not (
        estimator.warm_start or incremental)
    previous = None if first else read(estimator)
    targets = estimator._given_targets(classes, previous, incremental)
    checked = checked_data(estimator, X, y, sample_weight, features=None if first else
                           feature_state(estimator, previous),
                           targets=targets, incremental=incremental)
    data = checked.data
    if previous is not None:
        estimator._check_namespace(data.X, "partial_fit" if incremental else "fit")
    network = _network(estimator, checked, previous)
    dtype = data.dtype if first else previous["coefs_"][0].dtype  # a model keeps it
    units = [*estimator._hidden_layer_sizes(), data.Y.shape[1]]
    if previous is not None and len(units) != len(network["_hidden_activations"]) + 1:
        raise ValueError(architecture_changed(
            [previous["n_features_in_"], *(W.shape[1] for W in previous["coefs_"])],
            [data.X.shape[1], *units]))
    spec = resolve(estimator, data.X.shape[1], units, network, checked.targets, dtype,
                   features=checked.features)
    if assigned is None:
        assigned = estimator.warm_start or incremental
    weights = _weights(estimator, spec, data, rng, previous, assigned)
    fixed = {**checked.features, **checked.targets, **network}
    return Prepared(spec, data.astype(dtype), weights, previous, fixed, checked.targets)


def resolve(estimator, n_features, units, network, targets, dtype, features=None):
    """The frozen ``Spec`` of a call: the estimator's parameters resolved for a
    network on ``n_features`` inputs with ``units`` outputs per layer of weights
    (the output layer's last), the ``network`` attributes (activations) and the
    ``features`` state (what the inputs are, which a tabular network's first
    layers read)."""
    layers = estimator._layers_for(
        units, [*network["_hidden_activations"], network["out_activation_"]],
        {**(features or {}), **network})
    settings = {name: getattr(estimator, name, OPTIONAL[name]) if name in OPTIONAL
                else getattr(estimator, name) for name in SETTINGS}
    settings.update({name: _number(settings[name]) for name in NUMBERS})
    return Spec(
        n_features=int(n_features), layers=tuple(layers),
        loss=label_smoothed(estimator._loss_name(targets), settings["label_smoothing"]),
        alpha=_number(estimator.alpha), dropout=tuple(estimator._dropout(len(units) - 1)),
        dtype=dtype, **settings,
        **{key: value for key, value in get_config().items() if key in CONFIG})


def _number(value):
    """A real setting as a Python float (None as it is). NumPy 2 combines a Python
    float with a float32 array in float32, but a NumPy scalar (a float64 from
    ``np.logspace`` in a parameter grid, a float32 ``beta_1``) in its own precision:
    as Python floats, a setting trains the same however it was typed, the fused
    kernels' float32 loops compute what NumPy's step does (``_engine.steps.fused_update``)
    and the monitor compares losses against ``tol`` in float64."""
    return float(value) if isinstance(value, Real) else value


def _network(estimator, checked, previous):
    """The network attributes: a continued model's, or those the parameters and the
    data give a first fit."""
    if previous is not None:
        return {k: previous[k] for k in NETWORK}
    sizes = estimator._hidden_layer_sizes()
    hidden = estimator._hidden_activation_names(len(sizes))
    return {"n_outputs_": checked.data.Y.shape[1], "n_layers_": len(sizes) + 2,
            "out_activation_": estimator._output_activation(checked.targets),
            "_hidden_activations": hidden}


def _weights(estimator, spec, data, rng, previous, use_assigned):
    """The weights to start from: the continued model's (checked against the spec's
    network), else drawn, or (``use_assigned``) those assigned to ``coefs_`` before
    a first fit (copies: the caller's arrays are never changed)."""
    model = spec.model
    if previous is not None:
        try:
            given = network_params(model.layers, previous)
        except (TypeError, ValueError):  # (another architecture: say so below)
            given = [[W, b] for W, b in zip(previous["coefs_"], previous["intercepts_"])]
        return checked_weights(given, model, spec.dtype, copy=False, warm_start=True,
                               like=data.X)
    state = vars(estimator)
    assigned = "coefs_" in state and use_assigned
    if "coefs_" in state and not assigned and "loss_curve_" not in state:
        warn("coefs_ were assigned before fitting but warm_start=False, so they are "
             "ignored; set warm_start=True to start from them.")
    given = network_params(model.layers, state, model.widths) if assigned else None
    return starting_weights(model, spec.weight_init, data.Y, rng, given)


def scorer(score_function, decode):
    """``score(A, y, sample_weight)``: the estimator's score (accuracy or R^2) of
    output-layer values A (any namespace) against targets y (on the host), for the
    monitor."""

    def score(A, y, sample_weight):
        return score_function(y, to_numpy(decode(A)), sample_weight=to_numpy(sample_weight))

    return score


class _Unseeded(ISeedSequence):
    """A seed sequence that gives a bit generator a blank state to be seeded over:
    a tuple of zeros, not an array, since ``MT19937`` copies the state word by word
    and indexing an array there costs 40 microseconds a fit."""

    def generate_state(self, n_words, dtype=np.uint32):
        return (0,) * n_words


_UNSEEDED = _Unseeded()


def random_state(seed):
    """``check_random_state(seed)``: for an integer, a new ``RandomState(seed)``,
    in the same state, made without the OS entropy and the ``SeedSequence`` that
    ``RandomState(seed)`` hashes into a state only for legacy seeding to overwrite
    it whole (they cost a tenth of a small fit)."""
    if not isinstance(seed, Integral):
        return check_random_state(seed)
    bit_generator = np.random.MT19937(_UNSEEDED)
    bit_generator._legacy_seeding(seed)  # (what RandomState(seed) seeds it with)
    return np.random.RandomState(bit_generator)
