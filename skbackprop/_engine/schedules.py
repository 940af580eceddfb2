"""Learning-rate schedules: the step size for the next epoch.

After epoch ``e`` (epochs run so far) with ``t`` training rows processed, the
time-based schedules set

    constant    eta = eta_0
    invscaling  eta = eta_0 / (t + 1) ** power_t                   (as sklearn's MLP)
    step        eta = eta_0 * lr_decay ** floor(e / lr_step_epochs)
    cosine      eta = eta_0 * (1 + cos(pi * (e mod max_iter) / max_iter)) / 2
    flat_cosine eta = eta_0                                   for u < 1/2
                eta = eta_0 * (1 + cos(pi * (2 u - 1))) / 2   from u = 1/2 on
    coslog4     eta = eta_0 * (1 - cos(2 pi log2(1 + 15 u))) / 2

Cosine restarts every ``max_iter`` epochs (a warm restart): within a ``fit`` it falls
from eta_0 towards 0 as before, and ``partial_fit`` calls past ``max_iter`` epochs
start a new period at eta_0 instead of training on a learning rate of 0. The two
schedules of RealMLP (Holzmüller et al., 2024) read the progress through the period
at the middle of the epoch, u = (e mod max_iter + 1/2) / max_iter, the one rate
nearest to a schedule that changes every batch: 'flat_cosine' holds eta_0 for the
first half and falls along a cosine to 0 over the second; 'coslog4' runs four
cosine cycles from 0 up to eta_0 and back, each twice as long as the one before
(log2(1 + 15 u) runs from 0 to 4), so every cycle starts with a warm-up.

The three cosine schedules fall to (nearly) 0 at ``max_iter`` epochs: reaching it is
their planned end (``ENDS_AT_MAX_ITER``), so a fit on them gives no
ConvergenceWarning there.

A fit's first epoch runs at its schedule's rate for epoch 0 (``LearningRate``),
which is eta_0 for all but 'coslog4'; a ``partial_fit`` call continues from the
rate the call before it set.

The plateau schedule 'adaptive' (eta / 5 after ``n_iter_no_change`` epochs without
improvement, while eta > 1e-6) reacts to the monitor's patience count, so
``LearningRate`` applies both kinds for the training loop.
"""

import math

__all__ = ["ENDS_AT_MAX_ITER", "LearningRate", "constant", "cosine", "coslog4",
           "flat_cosine", "invscaling", "step"]

ADAPTIVE_FLOOR = 1e-6


def constant(eta_0, epoch, samples_seen, **settings):
    return eta_0


def invscaling(eta_0, epoch, samples_seen, *, power_t, **settings):
    return eta_0 / (samples_seen + 1) ** power_t


def step(eta_0, epoch, samples_seen, *, lr_step_epochs, lr_decay, **settings):
    return eta_0 * lr_decay ** (epoch // lr_step_epochs)


def cosine(eta_0, epoch, samples_seen, *, max_iter, **settings):
    return eta_0 * 0.5 * (1 + math.cos(math.pi * (epoch % max_iter) / max_iter))


def _middle(epoch, max_iter):
    """u: the progress through the period at the middle of epoch ``epoch``."""
    return (epoch % max_iter + 0.5) / max_iter


def flat_cosine(eta_0, epoch, samples_seen, *, max_iter, **settings):
    u = _middle(epoch, max_iter)
    return eta_0 if u < 0.5 else eta_0 * 0.5 * (1 + math.cos(math.pi * (2 * u - 1)))


def coslog4(eta_0, epoch, samples_seen, *, max_iter, **settings):
    u = _middle(epoch, max_iter)
    return eta_0 * 0.5 * (1 - math.cos(2 * math.pi * math.log2(1 + 15 * u)))


TIME_BASED = {
    "constant": constant,
    "invscaling": invscaling,
    "step": step,
    "cosine": cosine,
    "flat_cosine": flat_cosine,
    "coslog4": coslog4,
}

# schedules whose rate reaches 0 at max_iter epochs: the fit is planned to end there
ENDS_AT_MAX_ITER = frozenset({"cosine", "flat_cosine", "coslog4"})


class LearningRate:
    """The learning rate of a stochastic fit, from ``value`` on (None: the
    schedule's rate for epoch 0, which is ``learning_rate_init`` for all but
    'coslog4'): ``after_epoch`` applies a time-based schedule, ``on_plateau`` the
    'adaptive' rule."""

    def __init__(self, spec, value=None):
        self.spec = spec
        self.value = spec.learning_rate_init
        self.rule = TIME_BASED.get(spec.learning_rate)  # (None: 'adaptive')
        if value is None:
            self.after_epoch(0, 0)
        else:
            self.value = value

    @property
    def plateau_only(self):
        """Whether the schedule changes the rate on a plateau only ('constant',
        'adaptive')."""
        return self.rule is constant or self.rule is None

    def steady(self):
        """Whether the rate stays as it is until a plateau: 'adaptive', or
        'constant' at its rate (a ``partial_fit`` may start at another, which
        ``after_epoch`` resets)."""
        return self.rule is None or (self.rule is constant
                                     and self.value == self.spec.learning_rate_init)

    def after_epoch(self, epochs, samples_seen):
        """Set the next epoch's rate after ``epochs`` epochs and ``samples_seen``
        training rows."""
        rule, s = self.rule, self.spec
        if rule is constant:  # (every epoch of a per-row fit: no call)
            self.value = s.learning_rate_init
        elif rule is not None:
            self.value = rule(s.learning_rate_init, epochs, samples_seen,
                              power_t=s.power_t, lr_step_epochs=s.lr_step_epochs,
                              lr_decay=s.lr_decay, max_iter=s.max_iter)

    def on_plateau(self, watched):
        """After ``n_iter_no_change`` epochs without improvement of the ``watched``
        quantity: divide the rate by 5 ('adaptive', while above the floor) and go on
        (False), or stop (True)."""
        s = self.spec
        msg = (f"{watched} did not improve more than tol={s.tol:f} for "
               f"{s.n_iter_no_change} consecutive epochs.")
        if s.learning_rate == "adaptive" and self.value > ADAPTIVE_FLOOR:
            self.value /= 5.0
            if s.verbose:
                print(f"{msg} Setting learning rate to {self.value:f}")
            return False
        if s.verbose:
            print(f"{msg} Stopping.")
        return True
