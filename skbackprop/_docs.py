"""Docstring sections shared by both estimators (numpydoc), written once; the list
of activations is the registry's (each record's ``doc`` line)."""

from ._core.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS

__all__ = []


def activation_lines(names, indent=8):
    """A list of these activations, one line each from its record's ``doc``, every
    line ``indent`` deep but the first."""
    return f"\n{' ' * indent}".join(f"- '{name}': {ACTIVATIONS[name].doc}" for name in names)


HIDDEN_PARAMETERS = f"""\
hidden_layer_sizes : int or array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer. An empty
        tuple gives a network with no hidden layer (a linear or logistic model).

    activation : str or list of str, default='relu'
        Activation of the hidden units, or a list with one per hidden layer:

        {activation_lines(HIDDEN_ACTIVATIONS)}"""

COMMON_PARAMETERS = """\
solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        'sgd': stochastic gradient descent with (Nesterov) momentum; 'adam': Adam;
        'lbfgs': scipy's L-BFGS-B on the full-batch loss and our analytic gradient.

    alpha : float, default=0.0001
        Strength of the L2 penalty alpha * sum ||W||^2 / (2 * sum of sample weights
        in the batch); biases are not penalised.

    batch_size : int or 'auto', default='auto'
        Rows per gradient step of the stochastic solvers; 'auto' is
        ``min(200, n_samples)``. ``1`` makes one update per row (the textbook
        algorithm), ``n_samples`` is full-batch gradient descent.

    learning_rate : {'constant', 'invscaling', 'adaptive', 'step', 'cosine', \
'flat_cosine', 'coslog4'}, default='constant'
        Learning-rate schedule of the stochastic solvers ('sgd' and, unlike
        sklearn's MLP, 'adam'), applied after each epoch e with ``t_`` rows seen:
        'constant' keeps ``learning_rate_init``; 'invscaling' sets it to
        ``learning_rate_init / (t_ + 1) ** power_t``; 'adaptive' divides it by 5 each
        time ``n_iter_no_change`` epochs in a row fail to improve by ``tol``
        (training stops once it is at or below 1e-6); 'step' sets
        ``learning_rate_init * lr_decay ** (e // lr_step_epochs)``; 'cosine' sets
        ``learning_rate_init * (1 + cos(pi * (e % max_iter) / max_iter)) / 2``:
        towards 0 within a fit, restarting every ``max_iter`` epochs across
        ``partial_fit`` calls. 'flat_cosine' and 'coslog4' (RealMLP's) read the
        progress ``u = (e % max_iter + 1/2) / max_iter`` at the middle of each
        epoch: 'flat_cosine' keeps ``learning_rate_init`` while ``u < 1/2``, then
        sets ``learning_rate_init * (1 + cos(pi * (2u - 1))) / 2``; 'coslog4' sets
        ``learning_rate_init * (1 - cos(2 pi log2(1 + 15u))) / 2``: four cycles from
        near 0 up to ``learning_rate_init`` and back, each twice as long as the one
        before (the first epoch already runs at this rate). The three cosine
        schedules reach (nearly) 0 at ``max_iter`` epochs, their planned end: a fit
        that gets there gives no ConvergenceWarning.

    learning_rate_init : float, default=0.001
        Step size of the stochastic solvers.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    lr_step_epochs : int, default=10
        Epochs between the decays of the 'step' schedule.

    lr_decay : float, default=0.5
        Factor applied at every decay of the 'step' schedule.

    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations (lbfgs).

    shuffle : bool, default=True
        Whether the stochastic solvers visit the rows in a new random order each
        epoch; with False they are visited in the order given.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the validation split and the shuffling.

    tol : float, default=1e-4
        Training stops when the loss (or, with early stopping, the validation score)
        fails to improve by at least ``tol`` for ``n_iter_no_change`` consecutive
        epochs; for lbfgs, the gradient tolerance ``gtol``.

    verbose : bool, default=False
        Print one line per epoch (or lbfgs iteration).

    warm_start : bool, default=False
        Start ``fit`` from the current ``coefs_`` and ``intercepts_``: those of a
        previous fit, or arrays assigned by the user before the first fit (to replay
        a worked example). Shapes are checked layer by layer.

    momentum : float, default=0.9
        Momentum of solver='sgd'.

    nesterovs_momentum : bool, default=True
        Whether solver='sgd' uses Nesterov's momentum.

    early_stopping : bool, default=False
        Watch validation data (``X_val``/``y_val`` given to fit, or else
        ``validation_fraction`` of the training data held out, stratified for
        single-label classification), stop when ``scoring`` has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, and end on the best epoch's
        weights whether or not training stopped early. Every solver, lbfgs too.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.

    beta_1 : float, default=0.9
        Decay of Adam's first-moment estimate.

    beta_2 : float, default=0.999
        Decay of Adam's second-moment estimate.

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    scoring : {'loss'} or None, default=None
        What early stopping watches on the validation data: None, the estimator's
        score (accuracy or R^2, higher is better), as sklearn's MLP; 'loss', the
        validation loss (lower is better).

    dropout : float or list of float, default=0.0
        Inverted dropout on the hidden units while training (sgd and adam): each
        unit's output is zeroed with this probability and the others scaled by
        1 / (1 - p), drawn per batch from ``random_state``; one rate for every hidden
        layer, or a list with one per hidden layer. Prediction uses every unit.

    clip_norm : float or None, default=None
        Before each update of the stochastic solvers, scale the gradients down so
        that their joint L2 norm is at most this value; None does not clip. A guard
        against the blow-ups of too large a learning rate.

    weight_decay : float, default=0.0
        Decoupled weight decay of the stochastic solvers (Loshchilov and Hutter's
        AdamW with solver='adam', SGDW with solver='sgd'): at every step each
        weight matrix is first shrunk, ``W <- W - eta * weight_decay * W`` with eta
        the current learning rate, then the solver's update from the gradient is
        applied; the gradient, and Adam's moments, never see the decay (unlike
        ``alpha``, an L2 term of the loss, which does and which Adam rescales).
        Biases are not decayed. 0 (the default) decays nothing, as sklearn's MLP;
        lbfgs takes none (use ``alpha``).

    n_iter_no_change : int, default=10
        Number of epochs without improvement of at least ``tol`` before stopping
        (or, with 'adaptive', before the learning rate is divided by 5).

    max_fun : int, default=15000
        Maximum number of loss evaluations of solver='lbfgs'.

    weight_init : {'glorot_uniform', 'he_uniform', 'uniform'}, float or callable, \
default='glorot_uniform'
        Initial weights. 'glorot_uniform': W, b ~ U(-r, r) with
        r = sqrt(6 / (fan_in + fan_out)) (sqrt(2 / ...) for logistic units), the
        same draws as sklearn's MLP for the same ``random_state``; 'he_uniform':
        W ~ U(-sqrt(6 / fan_in), sqrt(6 / fan_in)), b = 0; 'uniform': W, b ~ U[0, 1);
        a float c: every weight c and every bias 0; a callable
        ``(shape, rng) -> array`` is called for each layer's weights (shape
        ``(fan_in, fan_out)``) and then its biases (shape ``(fan_out,)``).

    dtype : {'float32', 'float64'} or None, default=None
        Floating-point type of the weights and of every computation, in training
        and prediction. None keeps the input's float type (float32 stays float32,
        anything else becomes float64), as sklearn's MLP does. float32 halves memory
        and roughly doubles matrix-multiply speed, at about 7 significant digits. A
        warm start or ``partial_fit`` continues in the fitted weights' dtype."""

COMMON_ATTRIBUTES = """\
loss_ : float
        Training loss of the last epoch: the mean of the loss of every batch before
        its update (for lbfgs, the final loss), L2 term included. It is exactly the
        function whose gradient the solver follows.

    best_loss_ : float or None
        Lowest ``loss_`` reached; None with early stopping (see
        ``best_validation_score_``).

    history_ : pandas.DataFrame
        One row per epoch (lbfgs: iteration): epoch, train_loss, val_loss (without
        the L2 term), val_score, learning_rate and seconds.

    best_epoch_ : int or None
        Epoch whose weights early stopping kept (or of the lowest training loss).

    best_validation_loss_ : float or None
        Lowest validation loss, with early stopping.

    loss_curve_ : list of float
        ``loss_`` after every epoch (every iteration for lbfgs).

    validation_scores_ : list of float or None
        Score on the validation data after every epoch, when there is some.

    best_validation_score_ : float or None
        Best of ``validation_scores_``, with early stopping.

    t_ : int
        Number of training rows the stochastic solver has processed.

    coefs_ : list of ndarray of shape (fan_in, fan_out)
        Weight matrix of each layer.

    intercepts_ : list of ndarray of shape (fan_out,)
        Bias vector of each layer.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when X has string column names.

    n_iter_ : int
        Epochs (or lbfgs iterations) run by the last ``fit``; each
        ``partial_fit`` adds one.

    n_layers_ : int
        Number of layers, input and output included.

    diverged_ : bool
        Whether training blew up (a loss not finite, or 1e4 times the starting
        one); the weights kept are then the best seen, or a network of zeros where
        none predicts finite values.

    n_outputs_ : int
        Number of output units.

    out_activation_ : str
        Activation of the output units."""
