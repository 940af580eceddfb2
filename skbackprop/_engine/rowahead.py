"""Per-row epochs trained ahead: many compiled epochs in one call, committed after.

A compiled per-row epoch (``_engine.rowjit``) of a small table takes well under a
microsecond, while the training loop spends several around it: the shuffle, the
call, the guard, the monitor's commit. Where the loop would only commit one epoch
after another (no callbacks, no validation data, a rate that changes only on a
plateau, a random generator no one else draws from), ``train_epochs`` runs up to
``epochs_ahead`` epochs in one compiled call, on copies of the parameters,
velocities and row order: it shuffles the rows itself, checks each epoch's loss
with the divergence guard's test (``_engine.guard.within``, against the guard's
limit) and judges it by the monitor's rule (``_engine.monitor.progress``), stops
after a plateau and before a loss the guard does not pass, and keeps what the loop
needs to commit each epoch as if it had trained it alone: the parameters and
velocities entering and leaving it, its row order, its summed loss, the rule's
outputs and how far it read the random stream. The loop commits them in one
assignment (``Monitor.end_epochs``), and ``Ahead.keep`` writes the parameters,
velocities, row order and random state after the last epoch committed to the step
and the loop; the epochs after it are dropped. Until then nothing of the step or
the generator has changed, so an interrupt during the call leaves them as the last
commit left them. An epoch whose loss the guard does not pass (not finite, or above
its limit) is trained again by the loop itself, which gives it to the guard.

The shuffle. ``shuffle_with`` is NumPy's ``RandomState.shuffle`` of a 1-d array (a
Fisher-Yates shuffle drawing ``random_interval(i)`` for i = n-1 ... 1: 32-bit words
of the stream, masked to the least all-ones mask at or above i, until one is at most
i) on a copy of the generator's MT19937 state (``stream_of``: its 624 words and
position; ``twist`` and ``next_word`` are MT19937's, as NumPy spells them in C).
``keep`` then advances the generator itself by the words the kept epochs used, with
``RandomState.randint(0, 2**32, dtype=np.uint32)``, which hands them out unchanged:
the fit's random state afterwards is the one the loop's own shuffles leave. The
legacy stream is frozen by NumPy's compatibility policy (NEP 19); tests hold the
spellings equal to NumPy's for many seeds and lengths, and ``stream_matches``
checks the compiled stream whenever a network's epoch is compiled or loaded in a
process: if it ever differed, no epochs would be trained ahead. The state read is
carried from one call to the next while it stays the generator's (``Ahead.stream``).

The functions here are written once, in Python, and compiled by numba from their
source, appended to the generated epoch's (``source``): ``train_epochs`` calls that
file's ``epoch``.
"""

import inspect
import time

import numpy as np

from .guard import within
from .monitor import progress

__all__ = ["EPOCHS_AHEAD", "FUNCTIONS", "MIN_EPOCHS_AHEAD", "ROWS_AHEAD", "Ahead", "draw",
           "epochs_ahead", "next_word", "shuffle_with", "source", "stream_matches",
           "stream_of", "train_epochs", "twist"]

# The most row updates one call trains ahead (and the most an early stop can waste,
# about 0.1 ms), and the most epochs: 512 epochs of 4 rows, 16 of 128 rows; none of
# more rows, whose epochs are long enough that the loop's few microseconds around
# them hardly count. Each call costs some 30-50 µs of Python around it (its arrays,
# the commit, the generator drawn). Fewer than MIN_EPOCHS_AHEAD epochs do not pay
# for reading the random state (about 30 µs, once per call of fit, and again after
# an epoch the loop trains by itself) and the call: the loop trains them one by one.
ROWS_AHEAD = 2048
EPOCHS_AHEAD = 512
MIN_EPOCHS_AHEAD = 16


def epochs_ahead(n_rows, most):
    """How many epochs of ``n_rows`` rows to train ahead, of at most ``most`` (0:
    none)."""
    n_epochs = min(most, EPOCHS_AHEAD, ROWS_AHEAD // max(n_rows, 1))
    return n_epochs if n_epochs >= MIN_EPOCHS_AHEAD else 0


def twist(key):
    """MT19937's regeneration of its 624 state words ``key``, in place (NumPy's
    ``mt19937_gen``: each word from the next and the one 397 on, in turn)."""
    for i in range(624):
        y = (int(key[i]) & 0x80000000) | (int(key[(i + 1) % 624]) & 0x7FFFFFFF)
        word = int(key[(i + 397) % 624]) ^ (y >> 1)
        if y & 1:
            word ^= 0x9908B0DF
        key[i] = word


def next_word(key, stream):
    """MT19937's next 32-bit word (NumPy's ``mt19937_next``) from the state words
    ``key`` at position ``stream[0]``, counting it in ``stream[1]``."""
    if stream[0] == 624:
        twist(key)
        stream[0] = 0
    y = int(key[stream[0]])
    stream[0] += 1
    stream[1] += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    return y ^ (y >> 18)


def draw(key, stream, out):
    """``out`` filled with the stream's next words (to check the spelling)."""
    for i in range(len(out)):
        out[i] = next_word(key, stream)


def shuffle_with(order, key, stream):
    """NumPy's legacy ``RandomState.shuffle(order)``, in place, on the MT19937
    stream ``key``, ``stream`` (see ``next_word``)."""
    for i in range(len(order) - 1, 0, -1):
        mask = i  # random_interval(i): the least all-ones mask >= i ...
        mask |= mask >> 1
        mask |= mask >> 2
        mask |= mask >> 4
        mask |= mask >> 8
        mask |= mask >> 16
        j = next_word(key, stream) & mask  # ... and words masked by it until one is <= i
        while j > i:
            j = next_word(key, stream) & mask
        order[i], order[j] = order[j], order[i]


def train_epochs(X, Y, S, order, theta, velocity, learning_rate, momentum, alpha, losses,
                 key, stream, shuffled, weight_sum, limit, best_metric, no_improvement, tol,
                 counts, patience, thetas, velocities, orders, totals, used, best_metrics,
                 no_improvements, best_at, plateaus):
    """Up to ``len(totals)`` epochs of ``epoch`` (the generated file's), each on
    ``order`` shuffled first by ``shuffle_with`` where ``shuffled``, its training
    loss (its summed loss over ``weight_sum``) checked by the guard's ``within``
    ``limit`` and judged by the monitor's rule (``progress``, from ``best_metric``
    and ``no_improvement``). Epoch e's row order goes to ``orders[e]``, its summed
    loss to ``totals[e]``, the words drawn by its end to ``used[e]``, the rule's
    outputs to ``best_metrics[e]``, ``no_improvements[e]`` and ``plateaus[e]``, the
    index of the best epoch so far to ``best_at[e]`` (-1: none of these); the
    parameters and velocities entering it to rows e of ``thetas`` and
    ``velocities``, leaving it to rows e + 1. Stops after a plateau and before an
    epoch whose loss the guard does not pass; returns the epochs done."""
    thetas[0] = theta
    velocities[0] = velocity
    best = -1
    for e in range(len(totals)):
        if shuffled:
            shuffle_with(order, key, stream)
        _, total = epoch(X, Y, S, order, theta, velocity,  # noqa: F821
                         learning_rate, momentum, alpha, losses)
        loss = total / weight_sum
        if not within(loss, limit):
            return e
        best_metric, no_improvement, better, plateau = progress(
            -loss, best_metric, no_improvement, tol, counts, patience)
        if better:
            best = e
        totals[e], used[e] = total, stream[1]
        best_metrics[e], no_improvements[e] = best_metric, no_improvement
        best_at[e], plateaus[e] = best, plateau
        orders[e] = order
        thetas[e + 1] = theta
        velocities[e + 1] = velocity
        if plateau:
            return e + 1
    return len(totals)


FUNCTIONS = (progress, within, twist, next_word, draw, shuffle_with, train_epochs)


def source():
    """The source of ``FUNCTIONS``, to append to a generated epoch's ("" where it
    cannot be read, as in an installation without its source files: then no epochs
    are trained ahead)."""
    try:
        return "\n\n" + "\n\n".join(inspect.getsource(f) for f in FUNCTIONS)
    except (OSError, TypeError):
        return ""


def stream_of(rng):
    """The state of ``rng``'s MT19937 as ``next_word`` reads it: (a copy of its 624
    words, [position, 0 words drawn]); None for another bit generator."""
    state = rng.get_state(legacy=False)
    if state["bit_generator"] != "MT19937":
        return None
    return state["state"]["key"], np.array([state["state"]["pos"], 0], dtype=np.int64)


def stream_matches(draw):
    """Whether ``draw`` (``draw`` compiled) gives NumPy's MT19937 words: 1300 from
    a fixed seed, through three regenerations."""
    rng = np.random.RandomState(20261207)
    out = np.empty(1300, dtype=np.uint32)
    draw(*stream_of(rng), out)
    return np.array_equal(out, rng.randint(0, 2 ** 32, size=len(out), dtype=np.uint32))


class Ahead:
    """Epochs of a per-row fit trained ahead by ``train`` (``train_epochs``
    compiled) from the step's state, on copies: ``flat`` and ``velocity`` (its
    parameters and SGD velocities), the loop's row ``order``, and the MT19937
    ``stream`` of its generator ``rng`` (``stream_of``'s, or where the previous
    ``Ahead`` left it; ``rng`` None: no shuffle). ``judged`` are the guard's and
    the rule's inputs (``train_epochs``' from ``weight_sum`` to ``patience``).
    ``count`` epochs were trained from ``started`` (``time.perf_counter``);
    ``totals[e]`` is epoch e's summed loss, ``thetas[e]`` the parameters entering
    it, ``ruled`` the rule's outputs; ``cut``: the call stopped before an epoch the
    guard does not pass. ``keep(e)`` writes the state after e of them to ``flat``,
    ``velocity``, ``order`` and ``rng`` (the loop keeps none or all of them);
    ``stream`` is then the generator's (None where it must be read again)."""

    def __init__(self, train, rows, flat, velocity, order, rng, arguments, n_epochs,
                 stream, judged):
        self.started = time.perf_counter()
        self.flat, self.velocity, self.order, self.rng = flat, velocity, order, rng
        n, p = len(order), len(flat)
        self.first_order = order.copy()
        if rng is None:
            stream = np.zeros(624, dtype=np.uint32), np.zeros(2, dtype=np.int64)
        self.stream = stream
        stream[1][1] = 0  # (words drawn by this call)
        self.thetas, self.velocities = np.empty((2, n_epochs + 1, p))
        self.orders = np.empty((n_epochs, n), dtype=np.intp)
        self.totals, best_metrics = np.empty((2, n_epochs))
        self.used, *ruled = np.zeros((4, n_epochs), dtype=np.int64)
        self.ruled = best_metrics, *ruled
        self.count = train(*rows, self.first_order.copy(), flat.copy(), velocity.copy(),
                           *arguments, *stream, rng is not None, *judged, self.thetas,
                           self.velocities, self.orders, self.totals, self.used,
                           *self.ruled)
        # whether the stream stands where the last epoch left it (not past it, at the
        # shuffle of an epoch the guard did not pass)
        self.stream_at_end = (self.used[self.count - 1] if self.count else 0) == stream[1][1]
        # whether the call stopped before an epoch the guard did not pass (not after
        # a plateau, nor at its end): the loop trains that one itself
        self.cut = self.count < n_epochs and not (self.count and ruled[-1][self.count - 1])

    def keep(self, epochs):
        """Write the parameters, velocities, row order and random state after the
        first ``epochs`` epochs trained ahead, as the loop's own epochs leave them."""
        self.flat[:] = self.thetas[epochs]
        self.velocity[:] = self.velocities[epochs]
        self.order[:] = self.orders[epochs - 1] if epochs else self.first_order
        if self.rng is not None:  # the generator drawn as the shuffles drew
            drawn = int(self.used[epochs - 1]) if epochs else 0
            self.rng.randint(0, 2 ** 32, size=drawn, dtype=np.uint32)
        if not (self.stream_at_end and epochs == self.count):
            self.stream = None
