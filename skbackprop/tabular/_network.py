"""What the tabular estimators add to the perceptron: their inputs, layers,
targets and ensembles, shared by ``TabularClassifier`` and ``TabularRegressor``.

A raw table is encoded by a ``TabularPreprocessor`` fitted in ``fit`` (the
estimator's ``preprocessor_``); the network's first layers follow its output
layout: a ``CategoricalEmbedding`` for its code columns, a ``PeriodicEmbedding`` of
its number columns, a ``FeatureScale``; then the hidden ``Dense`` layers, each
followed by a parametric activation where ``activation`` is 'selu' or 'mish'; then
the output ``Dense`` layer. The first layers are recorded as plain data
(``_input_layers``) when the preprocessor is fitted, so that a fitted model's
network never depends on parameters changed after its fit.
"""

import warnings
from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._core.activations import HIDDEN_ACTIVATIONS, HIDDEN_NAMES
from .._core.layers import LAYERS, Dense, layer_record
from .._core.tabular import (
    PARAMETRIC_ACTIVATIONS,
    CategoricalEmbedding,
    FeatureScale,
    ParametricActivation,
    PeriodicEmbedding,
)
from .._engine.fitted import Field
from .._engine.start import per_hidden_layer
from .._params import stochastic_solver
from .._validation import explained
from ._ensemble import fit_networks, mean_output, networks
from ._preprocess import TabularPreprocessor

__all__ = ["LR_FACTORS", "TABULAR_CONSTRAINTS", "TABULAR_STATE", "TabularNetwork", "incremental",
           "input_layers"]

# the fitted attributes both tabular estimators add: what their inputs are
TABULAR_STATE = {"preprocessor_": Field("preprocessor", "features"),
                 "_input_layers": Field("layer records", "features")}

TABULAR_CONSTRAINTS = {
    "activation": [StrOptions({*HIDDEN_NAMES, *PARAMETRIC_ACTIVATIONS}), "array-like"],
    "max_one_hot": [Interval(Integral, 0, None, closed="left")],
    "embedding_dim": [Interval(Integral, 1, None, closed="left")],
    "periodic": ["boolean"],
    "feature_scale": ["boolean"],
    "n_ensemble": [Interval(Integral, 1, None, closed="left")],
}


# The learning-rate factor of each kind of layer in front of and between the Dense
# layers, relative to the Dense layers' rate. RealMLP trains NTK-parametrised
# layers at 0.04, its scaling layer at 6x, its embeddings of numbers and its
# activations at 0.1x, its embeddings of categories at 1x. Adam's step does not
# depend on the scale of a gradient, so an NTK layer of fan-in n at rate eta moves
# its outputs as a standard Dense layer at eta / sqrt(n) does: about 0.0035 for
# RealMLP's 128 to 256 units. These factors give the other layers RealMLP's
# effective rates beside Dense layers at ``learning_rate_init``'s default.
LR_FACTORS = {"categorical_embedding": 10.0, "feature_scale": 60.0,
              "periodic_embedding": 1.0, "parametric_activation": 1.0}


def incremental(estimator):
    """``available_if`` guard of the tabular estimators' ``partial_fit``: a
    stochastic solver, and no early stopping (on by default), which partial_fit
    cannot do."""
    stochastic_solver(estimator)
    if estimator.early_stopping:
        raise AttributeError(
            "partial_fit is only available with early_stopping=False (on by default "
            "here): set_params(early_stopping=False), or call fit.")
    return True


def input_layers(preprocessor, embedding_dim, periodic, feature_scale):
    """The layers in front of the hidden ones, as plain records
    (``_core.layers.layer_record``), for the output layout of a fitted
    ``preprocessor``: its code columns embedded (``embedding_dim`` numbers each),
    then (``periodic``) periodic embeddings of its number columns, which the
    embedding layer moved to the front, then (``feature_scale``) a per-feature
    scale."""
    kinds = list(preprocessor.output_kinds_)
    codes = [j for j, kind in enumerate(kinds) if kind == "code"]
    kept = [kind for kind in kinds if kind != "code"]  # in order, before embeddings
    layers = []
    if codes:
        layers.append(CategoricalEmbedding(
            columns=tuple(codes), levels=tuple(int(k) for k in preprocessor.code_sizes_),
            dim=int(embedding_dim), lr_factor=LR_FACTORS["categorical_embedding"]))
    numbers = tuple(j for j, kind in enumerate(kept) if kind == "number")
    if periodic and numbers:
        layers.append(PeriodicEmbedding(columns=numbers,
                                        lr_factor=LR_FACTORS["periodic_embedding"]))
    if feature_scale:
        layers.append(FeatureScale(lr_factor=LR_FACTORS["feature_scale"]))
    return [layer_record(layer) for layer in layers]


def _layer(record):
    """The layer a record describes (lists read back as tuples)."""
    settings = {k: tuple(v) if isinstance(v, list) else v
                for k, v in record.items() if k != "kind"}
    return LAYERS[record["kind"]](**settings)


class TabularNetwork:
    """The behaviour both tabular estimators add to their perceptron (left of it
    in their bases); not for direct use."""

    _reads_raw_tables: ClassVar[bool] = True
    # the other networks of an ensemble (``_ensemble``), where n_ensemble > 1
    _fitted_optional: ClassVar[dict] = {"ensemble_": Field("ensemble", "ensemble")}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.array_api_support = False
        return tags

    # ------------------------------------------------------------------- inputs
    def _input_matrix(self, X, features):
        """The network's input matrix for the raw table X, with the preprocessor
        that encodes it: fitted here when ``features`` is None (a first fit), else
        the fitted one, after checking X's columns against the fit's."""
        if features is None:
            preprocessor = TabularPreprocessor(max_one_hot=self.max_one_hot).fit(X)
            features = {"preprocessor_": preprocessor, "_input_layers": input_layers(
                preprocessor, self.embedding_dim, self.periodic, self.feature_scale)}
            features["n_features_in_"] = preprocessor.n_features_in_
            if hasattr(preprocessor, "feature_names_in_"):
                features["feature_names_in_"] = preprocessor.feature_names_in_
            return preprocessor.transform(X), features
        return _encoded(self, features, X), features

    def _validated_output(self, X, method):
        """(A_L, Z_L) for the raw table X, after the fitted-state and column checks:
        computed in float64 whatever the weights' dtype (float32 weights are exact in
        float64), so that a row's prediction never depends on the rows beside it."""
        check_is_fitted(self)
        X = _encoded(self, vars(self), X)
        X = check_array(X, dtype=np.float64)
        return mean_output([net._raw_output(X) for net in networks(self)],
                           self.out_activation_)

    # ------------------------------------------------------------------ fitting
    def _fit(self, X, y, sample_weight, incremental, validation_data=(None,) * 3,
             epochs=1, classes=None):
        """One network, as the perceptron fits it; with ``n_ensemble`` > 1 (or to
        refit a model that had more), every network of the ensemble, each fitted
        as one (``_ensemble.fit_networks``)."""
        if self.n_ensemble == 1 and "ensemble_" not in vars(self):
            return super()._fit(X, y, sample_weight, incremental, validation_data,
                                epochs, classes)
        self._validate_params()  # (sklearn skips it for partial_fit once fitted)
        continued = self.__sklearn_is_fitted__() and (self.warm_start or incremental)
        return fit_networks(self, lambda net: net._fit(
            X, y, sample_weight, incremental, validation_data, epochs, classes),
            continued, incremental)

    # ------------------------------------------------------------------ network
    def _hidden_activation_names(self, n_hidden):
        allowed = [*HIDDEN_ACTIVATIONS, *PARAMETRIC_ACTIVATIONS]
        return per_hidden_layer("activation", self.activation, n_hidden,
                                lambda a: a in allowed, f"one of {allowed}", str)

    def _layers_for(self, units, activations, state):
        """The input layers recorded in ``state``, then one Dense layer per entry
        of ``units``: a hidden layer with 'selu' or 'mish' is a Dense layer with the
        identity followed by that parametric activation."""
        layers = [_layer(record) for record in state["_input_layers"]]
        last = len(units) - 1
        for k, (n_units, name) in enumerate(zip(units, activations, strict=True)):
            parametric = name in PARAMETRIC_ACTIVATIONS and k < last
            layers.append(Dense(int(n_units), "identity" if parametric else name,
                                output=k == last))
            if parametric:
                layers.append(ParametricActivation(
                    name, lr_factor=LR_FACTORS["parametric_activation"]))
        return tuple(layers)


def _encoded(estimator, features, X):
    """X encoded by the fitted preprocessor in ``features``, after checking its
    columns against the fit's (the messages name the estimator)."""
    ndim = getattr(X, "ndim", None)
    if ndim is None and not hasattr(X, "columns"):
        ndim = np.asarray(X, dtype=object).ndim
    if ndim == 1:
        raise ValueError(
            "Expected a 2D table, got a 1D array instead.\nFix: Reshape your data "
            "either using array.reshape(-1, 1) if it has a single feature or "
            "array.reshape(1, -1) if it contains a single sample.")
    holder = object.__new__(type(estimator))
    vars(holder).update({k: v for k, v in features.items()
                         if k in ("n_features_in_", "feature_names_in_")})
    try:
        validate_data(holder, X, skip_check_array=True, reset=False)
    except ValueError as error:
        raise explained(error) from None
    with warnings.catch_warnings():  # (said once above, for the estimator)
        warnings.filterwarnings("ignore", message=".*feature names", category=UserWarning)
        return features["preprocessor_"].transform(X)
