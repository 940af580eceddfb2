"""Safe persistence: skbackprop.save / load, pickle and skops.io (issue 6, item 3)."""

import io
import json
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skbackprop import BackpropClassifier, BackpropRegressor, ModelFileError, load, save
from skbackprop.persistence._archive import write_archive
from skbackprop.persistence._codec import digest
from skbackprop.persistence._format import METADATA


def fitted(kind):
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["cgpa", "resume", "iq"])
    if kind == "regressor":
        y = X["cgpa"] - X["resume"] ** 2
        est = BackpropRegressor(hidden_layer_sizes=(5, 3), early_stopping=True,
                                max_iter=30, random_state=0)
    elif kind == "strings":
        y = np.array(["no", "yes", "maybe"])[rng.randint(0, 3, 60)]
        est = BackpropClassifier(hidden_layer_sizes=(4,), class_weight={"yes": 2.0},
                                 dropout=0.1, max_iter=20, random_state=0)
    elif kind == "integer labels, class_weight":
        y = (X["cgpa"] > 0).astype(int)
        est = BackpropClassifier(hidden_layer_sizes=(4,), class_weight={1: 3.0},
                                 solver="sgd", max_iter=20, random_state=0)
    elif kind == "multilabel":
        y = np.column_stack([X["cgpa"] > 0, X["iq"] > 0]).astype(int)
        est = BackpropClassifier(hidden_layer_sizes=(4,), activation=["tanh"],
                                 max_iter=20, random_state=0)
    else:  # lbfgs, multi-output regression, float32
        y = np.column_stack([X["cgpa"], X["iq"]])
        est = BackpropRegressor(hidden_layer_sizes=(4,), solver="lbfgs", dtype="float32",
                                max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return est, X, y


KINDS = ["regressor", "strings", "integer labels, class_weight", "multilabel", "lbfgs"]


@pytest.mark.parametrize("kind", KINDS)
def test_saved_model_predicts_bit_identically_and_trains_on(kind, tmp_path):
    est, X, y = fitted(kind)
    path = tmp_path / "model.npz"
    save(est, path)
    loaded = load(path)
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    assert_array_equal(loaded.predict(X), est.predict(X))
    if hasattr(est, "predict_proba"):
        assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
        assert loaded.classes_.dtype == est.classes_.dtype
    assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    pd.testing.assert_frame_equal(loaded.history_, est.history_)
    assert loaded.loss_curve_ == est.loss_curve_ and loaded.n_iter_ == est.n_iter_
    with pytest.warns(UserWarning, match="feature names"):  # still checked at predict
        loaded.predict(X.to_numpy())
    if est.solver != "lbfgs":  # the optimizer's state came along: training goes on alike
        est.set_params(early_stopping=False)
        loaded.set_params(early_stopping=False)
        y_part = y[:20] if isinstance(y, np.ndarray) else y.iloc[:20]
        est.partial_fit(X.iloc[:20], y_part)
        loaded.partial_fit(X.iloc[:20], y_part)
        for a, b in zip(est.coefs_ + est.intercepts_, loaded.coefs_ + loaded.intercepts_):
            assert_array_equal(a, b)


def read_raw(path):
    """(metadata, arrays) of a format-2 file, read here with zipfile and numpy."""
    with zipfile.ZipFile(path) as archive:
        metadata = json.loads(archive.read(METADATA))
        arrays = {name.removesuffix(".npy"): np.load(io.BytesIO(archive.read(name)),
                                                     allow_pickle=False)
                  for name in archive.namelist() if name != METADATA}
    return metadata, arrays


def write_raw(path, metadata, arrays, resign=False):
    """Write a format-2 file as given; ``resign``: with a consistent digest (the
    content checks must still refuse what is wrong)."""
    if resign:
        metadata.pop("sha256", None)
        metadata["arrays"] = {k: [a.dtype.str, list(a.shape)] for k, a in arrays.items()}
        metadata["sha256"] = digest(metadata, arrays)
    write_archive(path, {METADATA: metadata}, arrays)


def saved(tmp_path, kind="regressor"):
    est = fitted(kind)[0]
    path = tmp_path / "m.npz"
    save(est, path)
    return path


def test_the_file_is_arrays_and_json_only(tmp_path):
    path = saved(tmp_path, "strings")
    metadata, arrays = read_raw(path)  # no pickles inside (allow_pickle=False)
    assert all(a.dtype != object for a in arrays.values())
    assert metadata["class"] == "BackpropClassifier" and metadata["format_version"] == 4
    assert set(metadata) == {"format", "format_version", "class", "params",
                             "attributes", "arrays", "sha256"}


def test_truncated_file_is_refused(tmp_path):
    path = saved(tmp_path)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(ModelFileError, match="truncated or not a skbackprop model file"):
        load(path)


def test_edited_weights_are_refused(tmp_path):
    path = saved(tmp_path)
    metadata, arrays = read_raw(path)
    key = metadata["attributes"]["coefs_"]["list"][0]["array"]
    arrays[key] = arrays[key] + 1e-9
    write_raw(path, metadata, arrays)
    with pytest.raises(ModelFileError, match="modified or damaged"):
        load(path)


def test_edited_metadata_is_refused(tmp_path):
    path = saved(tmp_path)
    metadata, arrays = read_raw(path)
    metadata["attributes"]["loss_"] = 0.0
    write_raw(path, metadata, arrays)
    with pytest.raises(ModelFileError, match="modified or damaged"):
        load(path)
    metadata["attributes"]["n_iter_"] = 1000  # refused before any array is read
    write_raw(path, metadata, arrays)
    with pytest.raises(ModelFileError, match="disagree in length"):
        load(path)


@pytest.mark.parametrize("field, value, message", [
    ("format_version", 5, "format 5; this skbackprop reads formats 1 to 4"),
    ("format_version", "4", "format '4'; this skbackprop reads formats 1 to 4"),
    ("class", "os.system", "only"),
    ("format", "something-else", "not a skbackprop model file"),
])
def test_wrong_version_class_or_format_is_refused(tmp_path, field, value, message):
    path = saved(tmp_path)
    metadata, arrays = read_raw(path)
    metadata[field] = value
    write_raw(path, metadata, arrays, resign=True)
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_weights_that_do_not_fit_together_are_refused(tmp_path):
    path = saved(tmp_path)
    metadata, arrays = read_raw(path)
    metadata["attributes"]["coefs_"]["list"].pop()
    write_raw(path, metadata, arrays, resign=True)
    with pytest.raises(ModelFileError, match="do not fit together"):
        load(path)


def test_other_files_are_refused(tmp_path):
    np.savez(tmp_path / "plain.npz", x=np.zeros(3))
    with pytest.raises(ModelFileError, match="no skbackprop metadata"):
        load(tmp_path / "plain.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ModelFileError, match="truncated or not a skbackprop model file"):
        load(tmp_path / "text.npz")
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(ModelFileError, match="truncated or not a skbackprop model file"):
        load(tmp_path / "array.npy")
    for member in ["x.npy", METADATA + ".npy", METADATA]:  # a pickle, never unpickled
        with zipfile.ZipFile(tmp_path / "evil.npz", "w") as archive:
            archive.writestr(member, pickle.dumps(object()))
        with pytest.raises(ModelFileError):
            load(tmp_path / "evil.npz")


def test_unfitted_or_foreign_estimators_and_callables_are_not_saved(tmp_path):
    from sklearn.linear_model import LinearRegression
    with pytest.raises(NotFittedError):
        save(BackpropRegressor(), tmp_path / "m.npz")
    with pytest.raises(TypeError, match=r"a whole Pipeline .* with skops\.io"):
        save(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), tmp_path / "m.npz")
    est = fitted("regressor")[0]
    est.set_params(weight_init=lambda shape, rng: np.zeros(shape))
    with pytest.raises(TypeError, match="weight_init is a function"):
        save(est, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("kind", ["regressor", "strings"])
def test_fitted_state_is_plain_data_pickle_and_skops(kind):
    """Only arrays, numbers, strings, lists, tuples and dicts: small pickles, and
    skops.io finds no untrusted type but our estimator class."""
    skops_io = pytest.importorskip("skops.io")
    est, X, _ = fitted(kind)
    plain = (np.ndarray, np.generic, int, float, str, bool, type(None), list, tuple, dict)

    def check(value, name):
        assert isinstance(value, plain), f"{name} is a {type(value).__name__}"
        if isinstance(value, list | tuple):
            for i, v in enumerate(value):
                check(v, f"{name}[{i}]")
        if isinstance(value, dict):
            for k, v in value.items():
                check(k, name)
                check(v, f"{name}[{k!r}]")

    for name, value in vars(est).items():
        check(value, name)
    weights = sum(a.nbytes for a in est.coefs_ + est.intercepts_)
    assert len(pickle.dumps(est)) < 20 * weights + 20_000
    data = skops_io.dumps(est)
    assert skops_io.get_untrusted_types(data=data) == [
        f"skbackprop.{type(est).__module__.split('.')[-1]}.{type(est).__name__}"]
    loaded = skops_io.loads(data, trusted=[type(est)])
    assert_array_equal(loaded.predict(X), est.predict(X))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_whole_pipeline_round_trips_through_skops_trusting_our_types(tmp_path, kind):
    """The persistence guide's recipe: a DataFrame pipeline (imputing, scaling,
    one-hot encoding, our estimator) saved with skops.io reports no untrusted type
    but ours, loads trusting exactly those, and predicts what it did."""
    skops_io = pytest.importorskip("skops.io")
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from skbackprop.persistence import trusted_types

    rng = np.random.RandomState(0)
    X = pd.DataFrame({"size": rng.normal(size=80), "colour": rng.choice(["r", "g"], 80)})
    X.loc[::7, "size"] = np.nan
    y = (X["colour"] == "r") ^ (X["size"].fillna(0) > 0)
    model = (BackpropClassifier if kind == "classifier" else BackpropRegressor)(
        hidden_layer_sizes=(4,), solver="lbfgs", max_iter=30, random_state=0)
    pipe = make_pipeline(ColumnTransformer([
        ("size", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         ["size"]),
        ("colour", OneHotEncoder(handle_unknown="ignore"), ["colour"])]), model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y.astype(int))
    path = tmp_path / "pipeline.skops"
    skops_io.dump(pipe, path)
    types = skops_io.get_untrusted_types(file=path)
    assert types == ["numpy.dtype", f"skbackprop.{type(model).__module__[11:]}."
                                    f"{type(model).__name__}"]  # (the imputer's dtype)
    assert set(types) <= set(trusted_types())
    loaded = skops_io.load(path, trusted=types)
    assert_array_equal(loaded.predict(X), pipe.predict(X))
    with pytest.raises(Exception, match=r"[Uu]ntrusted"):
        skops_io.load(path)  # nothing is trusted by default


# ----------------------------------------------------- files of earlier releases
DATA = Path(__file__).resolve().parent / "data"


def assert_added_parameters_at_their_defaults(model):
    """The parameters added since format 2 (weight_decay, and label_smoothing for
    classifiers) are filled in at their defaults, which train as before; the model
    clones and saves as a format-3 model."""
    from sklearn.base import clone

    params = model.get_params()
    assert params["weight_decay"] == 0.0
    assert params.get("label_smoothing", 0.0) == 0.0
    assert ("label_smoothing" in params) == isinstance(model, BackpropClassifier)
    assert clone(model).get_params() == params
    buffer = io.BytesIO()
    save(model, buffer)
    buffer.seek(0)
    assert load(buffer).get_params() == params


@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_format_1_files_of_the_release_before_issue_11_load_and_train_on(name):
    """Written by 0ca50f5 (tests/data/format1_*.npz), whose fitted state held
    ``_history`` as a dict of columns and a best-weights copy."""
    model = load(DATA / f"format1_{name}.npz")
    with np.load(DATA / "format1_predictions.npz") as expected:
        X = expected["X"]
        assert_predicts_as_saved(model, X, expected, name)
    assert len(model.history_) == len(model.loss_curve_) == model.n_iter_ == 5
    assert_added_parameters_at_their_defaults(model)
    y = np.arange(len(X)) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "classifier":
            model.set_params(early_stopping=False, warm_start=True).fit(X, y)
        else:
            model.partial_fit(X, y)
    assert len(model.history_) == len(model.loss_curve_)
    assert_array_equal(model.history_["train_loss"], model.loss_curve_)
    assert not hasattr(model, "_best_coefs")


def assert_predicts_as_saved(model, X, expected, name):
    """The loaded ``model``'s outputs on X equal those saved with it. The weights
    load bit for bit; the products that use them round by the BLAS kernel the
    machine picks (OpenBLAS's Haswell and SkylakeX kernels differ in the last bit)."""
    if name == "classifier":
        assert_allclose(model.predict_proba(X), expected["proba"], rtol=1e-14, atol=1e-17)
    else:
        assert_allclose(model.predict(X), expected["regression"], rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_format_2_files_load_predict_alike_and_train_on(name):
    """Written by f060c33 (tests/data/format2_*.npz): a 3-class classifier of string
    labels with class weights (adam), and a two-output regressor with dropout (sgd),
    fitted for 5 epochs on the 40 rows of ``format2_predictions.npz``'s X, whose
    columns were named cgpa, resume and iq."""
    model = load(DATA / f"format2_{name}.npz")
    with np.load(DATA / "format2_predictions.npz") as expected:
        X = pd.DataFrame(expected["X"], columns=["cgpa", "resume", "iq"])
        labels, targets = expected["y"], expected["targets"]
        assert_predicts_as_saved(model, X, expected, name)
    assert len(model.history_) == model.n_iter_ == 5
    assert_added_parameters_at_their_defaults(model)
    if name == "classifier":
        assert list(model.classes_) == ["maybe", "no", "yes"]
        assert model.class_weight == {"yes": 2.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(X, labels if name == "classifier" else targets)
    assert model.n_iter_ == 6 and len(model.history_) == 6


def test_a_refit_with_lbfgs_and_other_layers_saves_and_loads(tmp_path):
    """The adam moments of the earlier fit stayed on the model, sized for the old
    layers, and load refused the file as inconsistent."""
    est, X, y = fitted("regressor")
    est.set_params(solver="lbfgs", hidden_layer_sizes=(3,), early_stopping=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est._optimizer_state is None and est._optimizer_solver is None
    save(est, tmp_path / "m.npz")
    assert_array_equal(load(tmp_path / "m.npz").predict(X), est.predict(X))
    assert est.best_loss_ == min([est.loss_, *est.loss_curve_])
