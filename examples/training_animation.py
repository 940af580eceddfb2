"""
Training, epoch by epoch: the decision boundary moving as the loss falls
========================================================================

TensorFlow Playground shows a network learning two-feature data: the boundary
between the classes bending epoch after epoch while the loss curve falls. Here the
same picture comes from a real fit: ``WeightSnapshots``, a callback in sklearn's
callback protocol, keeps the weights at the end of every few epochs, and
``TrainingAnimation`` draws, for each snapshot, the probability the network gives
over the plane (left) next to the loss curve up to that epoch (right). ``save``
writes a GIF with matplotlib's Pillow writer.
"""

# %%
# Two interleaving half-moons, a pipeline that scales them, and a small tanh
# network that records its weights every 5 epochs.
import tempfile
import warnings
from pathlib import Path

from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier
from skbackprop.inspection import TrainingAnimation, WeightSnapshots

X, y = make_moons(n_samples=300, noise=0.2, random_state=0)
snapshots = WeightSnapshots(every=5)
clf = BackpropClassifier(hidden_layer_sizes=(8, 8), activation="tanh",
                         learning_rate_init=0.02, max_iter=150, n_iter_no_change=150,
                         random_state=0).set_callbacks(snapshots)
with warnings.catch_warnings():  # 150 epochs on purpose, converged or not: all drawn
    warnings.simplefilter("ignore", ConvergenceWarning)
    pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
print(f"{len(snapshots.snapshots)} snapshots; training accuracy {pipe.score(X, y):.3f}")

# %%
# The animation: one frame per snapshot, saved as a GIF. ``animation.animation_`` is
# the matplotlib ``FuncAnimation`` itself: a notebook plays it with
# ``HTML(player.to_jshtml())``, and this gallery embeds it as a player.
animation = TrainingAnimation.from_estimator(pipe, snapshots, X, y)
player = animation.animation_
path = animation.save(Path(tempfile.mkdtemp()) / "training.gif", fps=6)
print(f"{len(animation.frames_)} frames written to a GIF of {path.stat().st_size} bytes")
