"""Model files on disk (_files): atomic saves, file objects, only regular files."""

import io
import os
import signal
import time
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris

from skbackprop import BackpropClassifier, ModelFileError, load, save
from skbackprop.persistence import _format as _persistence


@pytest.fixture(scope="module")
def model():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BackpropClassifier(hidden_layer_sizes=(5,), max_iter=3,
                                  random_state=0).fit(X, y), X


def test_file_objects_round_trip(model, tmp_path):
    """save(model, io.BytesIO()) raised TypeError."""
    clf, X = model
    buffer = io.BytesIO()
    save(clf, buffer)
    buffer.seek(0)
    assert_array_equal(load(buffer).predict_proba(X), clf.predict_proba(X))
    with open(tmp_path / "m.npz", "wb") as file:
        save(clf, file)
    with open(tmp_path / "m.npz", "rb") as file:
        assert_array_equal(load(file).predict_proba(X), clf.predict_proba(X))


def test_a_symlink_target_is_replaced_and_what_it_pointed_to_is_kept(model, tmp_path):
    clf, _ = model
    (tmp_path / "other.txt").write_text("keep me")
    link = tmp_path / "model.npz"
    link.symlink_to(tmp_path / "other.txt")
    save(clf, link)
    assert not link.is_symlink() and load(link).n_iter_ == clf.n_iter_
    assert (tmp_path / "other.txt").read_text() == "keep me"


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(model, tmp_path,
                                                                  monkeypatch):
    clf = model[0]
    path = tmp_path / "model.npz"
    save(clf, path)
    before = path.read_bytes()

    def disk_full(file, documents, arrays):
        file.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_persistence, "write_archive", disk_full)
    with pytest.raises(OSError, match="No space"):
        save(clf, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_new_files_get_the_usual_permissions(model, tmp_path):
    save(model[0], tmp_path / "m.npz")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o666 & ~mask


def test_what_is_not_a_regular_file_is_refused_at_once(tmp_path):
    """A FIFO blocked load forever."""
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    started = time.perf_counter()
    with pytest.raises(ModelFileError, match="is a FIFO"):
        load(fifo)
    assert time.perf_counter() - started < 1
    with pytest.raises(ModelFileError, match="is a directory"):
        load(tmp_path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")
    assert issubclass(ModelFileError, ValueError)


@pytest.mark.slow
def test_killing_a_save_always_leaves_a_loadable_model(tmp_path):
    """SIGKILL at random moments of saving a ~20 MB model over a good file: the old
    model or the new one is there every time (writing in place lost both in 15 of
    50 kills)."""
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(20, 400)), np.arange(20) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = BackpropClassifier(hidden_layer_sizes=(1500, 300), max_iter=1,
                                 random_state=0).fit(X, y)
    path = tmp_path / "model.npz"
    save(clf, path)
    started = time.perf_counter()
    save(clf, path)
    duration = time.perf_counter() - started
    for _ in range(50):
        pid = os.fork()
        if pid == 0:  # the child saves over the file until it is killed
            try:
                while True:
                    save(clf, path)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, 2 * duration))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert load(path).coefs_[0].shape == (400, 1500)


def test_saving_a_random_state_object_names_random_state(model, tmp_path):
    """The message told the user to change weight_init."""
    clf, _ = model
    clf = BackpropClassifier(**clf.get_params())
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.set_params(random_state=np.random.RandomState(0)).fit(X, y)
    with pytest.raises(TypeError, match=r"random_state is a RandomState.*"
                                        r"set_params\(random_state=<an int>\)"):
        save(clf, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
