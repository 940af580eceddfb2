"""Learning-rate schedules: the step size for the next epoch.

After epoch ``e`` (epochs run so far) with ``t`` training rows processed, the
time-based schedules set

    constant    eta = eta_0
    invscaling  eta = eta_0 / (t + 1) ** power_t                   (as sklearn's MLP)
    step        eta = eta_0 * lr_decay ** floor(e / lr_step_epochs)
    cosine      eta = eta_0 * (1 + cos(pi * min(e, max_iter) / max_iter)) / 2

The plateau schedule 'adaptive' (eta / 5 after ``n_iter_no_change`` epochs without
improvement) reacts to the same count as the stopping rule, so it lives beside it in
the training loop.
"""

import math


def constant(eta_0, epoch, samples_seen, **settings):
    return eta_0


def invscaling(eta_0, epoch, samples_seen, *, power_t, **settings):
    return eta_0 / (samples_seen + 1) ** power_t


def step(eta_0, epoch, samples_seen, *, lr_step_epochs, lr_decay, **settings):
    return eta_0 * lr_decay ** (epoch // lr_step_epochs)


def cosine(eta_0, epoch, samples_seen, *, max_iter, **settings):
    return eta_0 * 0.5 * (1 + math.cos(math.pi * min(epoch, max_iter) / max_iter))


TIME_BASED = {
    "constant": constant,
    "invscaling": invscaling,
    "step": step,
    "cosine": cosine,
}
