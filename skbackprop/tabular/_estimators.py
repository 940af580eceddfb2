"""TabularClassifier and TabularRegressor: the perceptron with defaults chosen for
tabular data, reading a raw table (``TabularNetwork``)."""

import math
from typing import ClassVar

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.metaestimators import available_if

from .._classifier import BackpropClassifier
from .._engine.fitted import CLASSIFIER, Field
from .._regressor import BackpropRegressor, decode_values
from ._network import TABULAR_CONSTRAINTS, TABULAR_STATE, TabularNetwork, incremental

__all__ = ["TabularClassifier", "TabularRegressor"]

_TABULAR_PARAMETERS = """\
hidden_layer_sizes : array-like of int, default=(128, 128, 128)
        Units of each hidden layer.

    activation : str or list of str, default={act!r}
        Activation of the hidden units: 'selu' and 'mish' are RealMLP's parametric
        activations, ``x + m * (f(x) - x)`` with a learnt weight m per unit
        (starting at 1) after a Dense layer with the identity; the perceptron's
        activations ('relu', 'tanh', ...) are also accepted.

    max_one_hot : int, default=9
        Category columns with at most this many levels are one-hot encoded, those
        with more get a learnt embedding (see ``TabularPreprocessor``).

    embedding_dim : int, default=8
        Size of each category's learnt embedding.

    periodic : bool, default=True
        Whether each number column gets periodic embeddings (RealMLP's PBLD: 16
        frequencies, 3 learnt features, appended to the column itself).

    feature_scale : bool, default=True
        Whether a learnt scale per input feature comes before the first Dense
        layer (learning-rate factor 6).

    n_ensemble : int, default=2
        How many networks are fitted and averaged (their probabilities, or their
        predictions before clipping). Each has its own seed: its own starting
        weights, batches, dropout and held-out rows (a fifth drawn at random, so
        that between them two networks train on all but about one row in 25).
        The first is the network ``n_ensemble=1`` fits; each one more adds a fit's
        time. 1 fits one network. Callbacks (``set_callbacks``) see each network's
        fit in turn; an interrupt (Ctrl-C) keeps the networks trained so far.

    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW) of the stochastic solvers: ``w <- w - eta *
        weight_decay * w`` every step, on the weights, embeddings and scales."""

_DEFAULTS = """\
The other parameters are those of :class:`~skbackprop.{base}`, with these
    defaults: ``solver='adam'``, ``beta_2=0.95``, ``alpha=0.0``, ``batch_size="auto"`` (200 rows),
    ``learning_rate='flat_cosine'``, ``learning_rate_init=0.002``, ``max_iter=40``,
    ``early_stopping=True``, ``validation_fraction=0.2``, ``n_iter_no_change=20``,
    ``tol=0.0``, ``scoring='loss'`` (the epoch of lowest validation loss is kept),
    ``dropout=0.15`` (on the input of every Dense layer after the first) and
    ``dtype='float32'``: training in single precision, about twice as fast as
    double at the same accuracy on the benchmark (``dtype='float64'`` trains in
    double). Predictions are computed in float64 from the weights whatever their
    dtype, so that a row's prediction never depends on the rows predicted with it.
    The hidden layers are Dense layers in the perceptron's parametrisation, so the
    learning rate is Adam's usual order, not RealMLP's (its NTK layers take 0.04);
    the other layers train at multiples of it (``LR_FACTORS``). These defaults, and
    ``max_iter=40`` (RealMLP trains 256 epochs: the rate held for 15 epochs, then
    annealed), were chosen by measurement on the 13 datasets of
    ``benchmarks/bench_tabular.py``."""

_ATTRIBUTES = """\
preprocessor_ : TabularPreprocessor
        The fitted encoding of the raw columns into the network's inputs.

    n_features_in_ : int
        Number of columns of the raw X seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the raw columns seen during fit, where X had string column names.

    coefs_, intercepts_ : list of ndarray
        Weights and biases of the Dense layers (of the first network, as are the
        attributes below).

    best_epoch_ : int or None
        The epoch whose weights were kept (lowest validation loss).

    history_ : pandas.DataFrame
        One row per epoch: losses, validation score, learning rate, seconds.

    ensemble_ : list of estimators
        Where ``n_ensemble`` > 1, the other networks: fitted estimators of this
        class with ``n_ensemble=1``, each with its own ``random_state`` (derived
        from an int ``random_state``)."""


class TabularRegressor(TabularNetwork, BackpropRegressor):
    __doc__ = f"""Multi-layer perceptron regressor for raw tables, with defaults
    chosen for tabular data.

    X may be a pandas DataFrame with number, boolean, ``category``, ``object`` and
    string columns and missing values anywhere, or an array: it is encoded by a
    :class:`~skbackprop.tabular.TabularPreprocessor` fitted in ``fit`` (robust
    scaling with smooth clipping, one-hot columns or learnt embeddings for
    categories, missing-value indicators; categories unseen in fit are read as
    missing). The targets are standardised inside the fit and predictions are
    clipped to the range of the training targets (as RealMLP does).

    Parameters
    ----------
    {_TABULAR_PARAMETERS.format(act="mish")}

    loss : {{'squared_error', 'huber', 'absolute_error'}}, default='squared_error'
        The loss, on the standardised targets (see ``BackpropRegressor``).

    {_DEFAULTS.format(base="BackpropRegressor")}

    Attributes
    ----------
    {_ATTRIBUTES}

    See Also
    --------
    TabularClassifier : The same network for classification.
    skbackprop.BackpropRegressor : The perceptron with sklearn's MLP defaults.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbackprop.tabular import TabularRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({{"size": rng.normal(size=300),
    ...                   "city": rng.choice(["Oslo", "Rome", None], size=300)}})
    >>> y = 2 * X["size"] + (X["city"] == "Rome")
    >>> reg = TabularRegressor(hidden_layer_sizes=(32,), random_state=0).fit(X, y)
    >>> reg.predict(X.head(2)).shape
    (2,)
    >>> reg.score(X, y) > 0.9
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **BackpropRegressor._parameter_constraints, **TABULAR_CONSTRAINTS}
    _fitted_schema: ClassVar[dict] = {
        **TABULAR_STATE, **{name: Field("reals", "targets") for name in
                            ("_y_center", "_y_scale", "_y_min", "_y_max")}}

    def __init__(
        self,
        hidden_layer_sizes=(128, 128, 128),
        activation="mish",
        *,
        max_one_hot=9,
        embedding_dim=8,
        periodic=True,
        feature_scale=True,
        n_ensemble=2,
        weight_decay=0.0,
        solver="adam",
        alpha=0.0,
        batch_size="auto",
        learning_rate="flat_cosine",
        learning_rate_init=0.002,
        power_t=0.5,
        max_iter=40,
        shuffle=True,
        random_state=None,
        tol=0.0,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=True,
        validation_fraction=0.2,
        beta_1=0.9,
        beta_2=0.95,
        epsilon=1e-8,
        n_iter_no_change=20,
        max_fun=15000,
        weight_init="glorot_uniform",
        dtype="float32",
        lr_step_epochs=10,
        lr_decay=0.5,
        scoring="loss",
        dropout=0.15,
        clip_norm=None,
        loss="squared_error",
        out_activation=None,
        huber_delta=1.0,
    ):
        super().__init__(
            loss=loss,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            weight_init=weight_init,
            dtype=dtype,
            lr_step_epochs=lr_step_epochs,
            lr_decay=lr_decay,
            scoring=scoring,
            dropout=dropout,
            clip_norm=clip_norm,
            out_activation=out_activation,
            huber_delta=huber_delta,
            weight_decay=weight_decay,
        )
        self.max_one_hot = max_one_hot
        self.embedding_dim = embedding_dim
        self.periodic = periodic
        self.feature_scale = feature_scale
        self.n_ensemble = n_ensemble

    def _given_targets(self, classes, previous, incremental):
        """A continued model keeps the standardisation and range of its first fit."""
        super()._given_targets(classes, previous, incremental)
        if previous is None:
            return {}
        return {k: previous[k] for k in ("_y_center", "_y_scale", "_y_min", "_y_max")}

    def _encode_targets(self, y, targets, reset, incremental):
        """The standardised targets ``(y - mean) / std`` (std 1 for a constant
        column), with the training mean, std and range learnt when ``reset``."""
        Y, _ = super()._encode_targets(y, targets, reset, incremental)
        Y = Y.astype(np.float64)
        if reset or not targets:
            std = Y.std(axis=0)
            targets = {"_y_center": Y.mean(axis=0), "_y_scale": np.where(std > 0, std, 1.0),
                       "_y_min": Y.min(axis=0), "_y_max": Y.max(axis=0)}
        return (Y - targets["_y_center"]) / targets["_y_scale"], targets

    def _decoder(self, targets=None):
        targets = targets or vars(self)
        center, scale = targets["_y_center"], targets["_y_scale"]
        low, high = targets["_y_min"], targets["_y_max"]

        def decode(A):
            return decode_values(np.clip(A * scale + center, low, high))

        return decode

    @available_if(incremental)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, epochs=1):
        """Update the network with ``epochs`` epochs over the given data (with
        ``early_stopping=False``; the encoding is the first call's).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The raw table.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        epochs : int, default=1
            Passes over this data; each adds one to ``n_iter_``.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, epochs=epochs)

class TabularClassifier(TabularNetwork, BackpropClassifier):
    __doc__ = f"""Multi-layer perceptron classifier for raw tables, with defaults
    chosen for tabular data.

    X may be a pandas DataFrame with number, boolean, ``category``, ``object`` and
    string columns and missing values anywhere, or an array: it is encoded by a
    :class:`~skbackprop.tabular.TabularPreprocessor` fitted in ``fit`` (robust
    scaling with smooth clipping, one-hot columns or learnt embeddings for
    categories, missing-value indicators; categories unseen in fit are read as
    missing). The epoch of lowest validation log loss is kept and no label
    smoothing is applied by default, so that ``predict_proba`` is calibrated.

    Parameters
    ----------
    {_TABULAR_PARAMETERS.format(act="selu")}

    label_smoothing : float, default=0.0
        Label smoothing of the log loss (RealMLP uses 0.1, at a cost in
        calibration); 0 trains on the labels themselves.

    class_weight : dict, 'balanced' or None, default=None
        Weight of each class (see ``BackpropClassifier``).

    {_DEFAULTS.format(base="BackpropClassifier")}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    {_ATTRIBUTES}

    See Also
    --------
    TabularRegressor : The same network for regression.
    skbackprop.BackpropClassifier : The perceptron with sklearn's MLP defaults.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skbackprop.tabular import TabularClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({{"size": rng.normal(size=300),
    ...                   "city": rng.choice(["Oslo", "Rome", None], size=300)}})
    >>> y = np.where((X["size"] > 0) | (X["city"] == "Rome"), "yes", "no")
    >>> clf = TabularClassifier(hidden_layer_sizes=(32,), random_state=0).fit(X, y)
    >>> clf.predict_proba(X.head(2)).sum(axis=1)
    array([1., 1.])
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **BackpropClassifier._parameter_constraints, **TABULAR_CONSTRAINTS}
    _fitted_schema: ClassVar[dict] = {**CLASSIFIER, **TABULAR_STATE}

    def __init__(
        self,
        hidden_layer_sizes=(128, 128, 128),
        activation="selu",
        *,
        max_one_hot=9,
        embedding_dim=8,
        periodic=True,
        feature_scale=True,
        n_ensemble=2,
        weight_decay=0.0,
        label_smoothing=0.0,
        solver="adam",
        alpha=0.0,
        batch_size="auto",
        learning_rate="flat_cosine",
        learning_rate_init=0.002,
        power_t=0.5,
        max_iter=40,
        shuffle=True,
        random_state=None,
        tol=0.0,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=True,
        validation_fraction=0.2,
        beta_1=0.9,
        beta_2=0.95,
        epsilon=1e-8,
        n_iter_no_change=20,
        max_fun=15000,
        weight_init="glorot_uniform",
        dtype="float32",
        lr_step_epochs=10,
        lr_decay=0.5,
        scoring="loss",
        dropout=0.15,
        clip_norm=None,
        class_weight=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            weight_init=weight_init,
            dtype=dtype,
            lr_step_epochs=lr_step_epochs,
            lr_decay=lr_decay,
            scoring=scoring,
            dropout=dropout,
            clip_norm=clip_norm,
            class_weight=class_weight,
            weight_decay=weight_decay,
            label_smoothing=label_smoothing,
        )
        self.max_one_hot = max_one_hot
        self.embedding_dim = embedding_dim
        self.periodic = periodic
        self.feature_scale = feature_scale
        self.n_ensemble = n_ensemble

    def _stratify(self, y):
        """The held-out rows are stratified by class where every class can be on
        both sides (two rows or more each, and at least as many held-out and
        training rows as classes); otherwise they are a plain random share, so that
        small tables and rare classes train rather than fail."""
        labels = super()._stratify(y)
        if labels is None:
            return None
        counts = np.unique(labels, return_counts=True)[1]
        held_out = math.ceil(self.validation_fraction * len(labels))
        if counts.min() < 2 or min(held_out, len(labels) - held_out) < len(counts):
            return None
        return labels

    @available_if(incremental)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None, epochs=1):
        """Update the network with ``epochs`` epochs over the given data (with
        ``early_stopping=False``; the encoding is the first call's).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The raw table.

        y : array-like of shape (n_samples,)
            Labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        classes : array-like of shape (n_classes,), default=None
            Every class that will ever be seen; required on the first call.

        epochs : int, default=1
            Passes over this data; each adds one to ``n_iter_``.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, epochs=epochs,
                         classes=classes)
