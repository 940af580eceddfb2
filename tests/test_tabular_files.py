"""Model files of TabularClassifier and TabularRegressor (persistence._tabular): the
preprocessor as plain data of its versioned schema, the input layers and the
targets' scaling; a loaded model predicts bit for bit what the saved one did on a
raw table (text, categories, missing values, unseen levels) and trains on alike;
forged files are refused with a ModelFileError naming the problem."""

import io
import warnings

import numpy as np
import pandas as pd
import pytest
from file_helpers import edited_files, forged, json_paths, raw
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skbackprop import ModelFileError, TabularClassifier, TabularRegressor, load, save
from skbackprop.persistence import trusted_types
from skbackprop.persistence._tabular import PREPROCESSOR_FIELDS, preprocessor_state
from skbackprop.tabular import TabularPreprocessor

SMALL = {"hidden_layer_sizes": (8,), "max_iter": 4, "random_state": 0}


def table(n=120, seed=0):
    """Numbers with NaN, a boolean, text with None, a 12-level category (codes),
    numeric categories, a nullable integer, and a column of mixed levels."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "x": rng.normal(size=n),
        "flag": rng.random(n) < 0.5,
        "color": rng.choice(["red", "green", None], size=n).astype(object),
        "city": pd.Categorical(rng.choice([f"c{k}" for k in range(12)], size=n)),
        "grade": pd.Categorical(rng.choice([1.5, 2.5, 4.0], size=n)),
        "count": pd.array(rng.integers(0, 5, size=n), dtype="Int64"),
        "mixed": np.array(["a", 2, 2.5, True], dtype=object)[rng.integers(0, 4, size=n)],
    })
    X.loc[rng.random(n) < 0.1, "x"] = np.nan
    X.loc[rng.random(n) < 0.05, "count"] = pd.NA
    y = X["x"].fillna(0).to_numpy() + (X["color"] == "red") + X["flag"]
    return X, y.to_numpy(dtype=float)


def unseen(X):
    """Rows with levels fit never saw, missing values everywhere they may be."""
    new = X.head(5).copy()
    new["color"] = ["purple", None, "red", np.nan, "green"]
    new["city"] = pd.Categorical(["c99", None, "c1", "c2", "c3"])
    new["grade"] = pd.Categorical([9.0, None, 1.5, 2.5, 4.0])
    new["mixed"] = pd.Series(["zz", None, 1, 2.5, True], dtype=object)
    new.loc[:, "x"] = np.nan
    return new


def fitted(kind, **params):
    X, y = table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="Columns .* entirely missing")
        if kind == "regressor":
            model = TabularRegressor(**{**SMALL, **params}).fit(X, y)
            return model, X, y
        labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
        model = TabularClassifier(**{**SMALL, **params}).fit(X, labels)
        return model, X, labels


def round_trip(model):
    buffer = io.BytesIO()
    save(model, buffer)
    buffer.seek(0)
    return load(buffer)


CONFIGS = {
    "regressor": ("regressor", {}),
    "classifier": ("classifier", {}),
    "every category a code, sgd": ("classifier", {"max_one_hot": 0, "solver": "sgd",
                                                  "early_stopping": False}),
    "no periodic, no scale, relu": ("regressor", {"periodic": False, "activation": "relu",
                                                  "feature_scale": False}),
    "every category one-hot, lbfgs": ("regressor", {"max_one_hot": 20, "solver": "lbfgs",
                                                    "early_stopping": False, "dropout": 0}),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_a_loaded_tabular_model_predicts_bit_for_bit_on_a_raw_table(name):
    kind, params = CONFIGS[name]
    model, X, _ = fitted(kind, **params)
    loaded = round_trip(model)
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    for rows in (X, unseen(X)):
        assert_array_equal(loaded.predict(rows), model.predict(rows))
        if hasattr(model, "predict_proba"):
            assert_array_equal(loaded.predict_proba(rows), model.predict_proba(rows))
    assert_array_equal(loaded.preprocessor_.transform(unseen(X)),
                       model.preprocessor_.transform(unseen(X)))
    assert loaded._input_layers == model._input_layers
    assert loaded._fitted_network()[0] == model._fitted_network()[0]
    for got, kept in zip(loaded._layer_parameters, model._layer_parameters, strict=True):
        assert all(np.array_equal(p, q) for p, q in zip(got, kept, strict=True))


def test_the_preprocessor_comes_back_with_its_attributes_types_and_values():
    model = fitted("regressor")[0]
    saved, loaded = model.preprocessor_, round_trip(model).preprocessor_
    attributes = [n for n in vars(saved) if n.endswith("_") and not n.startswith("_")]
    for name in attributes:
        a, b = getattr(saved, name), getattr(loaded, name)
        assert type(a) is type(b), name
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype, name
            assert_array_equal(a, b)
        else:
            assert a == b, name
    levels = dict(zip(saved.feature_names_in_, loaded.categories_))
    assert levels["grade"] == [1.5, 2.5, 4.0] and levels["mixed"] == [True, 2, 2.5, "a"]
    assert [type(v) for v in levels["mixed"]] == [bool, int, float, str]
    assert loaded.get_params() == saved.get_params()


def test_the_schema_names_every_fitted_attribute_of_the_preprocessor():
    """A fitted attribute added to TabularPreprocessor must be added to the schema
    (and its version raised), or model files would silently lose it."""
    X = table()[0]
    pre = TabularPreprocessor().fit(X)
    fitted_names = {n for n in vars(pre) if n.endswith("_") and not n.startswith("_")}
    assert fitted_names == {n for n in PREPROCESSOR_FIELDS if n.endswith("_")}
    assert set(preprocessor_state(pre)) == set(PREPROCESSOR_FIELDS)


def test_a_loaded_tabular_model_trains_on_alike():
    model, X, y = fitted("classifier", early_stopping=False, warm_start=True)
    loaded = round_trip(model)
    for estimator in (model, loaded):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.partial_fit(X.head(40), y[:40])
    assert loaded.preprocessor_ is not model.preprocessor_
    for a, b in zip(model.coefs_ + model.intercepts_, loaded.coefs_ + loaded.intercepts_):
        assert_array_equal(a, b)
    assert_array_equal(loaded.predict_proba(unseen(X)), model.predict_proba(unseen(X)))
    assert clone(loaded).get_params() == model.get_params()


def test_the_regressors_target_scaling_is_saved():
    model = fitted("regressor")[0]
    loaded = round_trip(model)
    for name in ("_y_center", "_y_scale", "_y_min", "_y_max"):
        assert_array_equal(getattr(loaded, name), getattr(model, name))


def test_a_model_fitted_on_an_array_without_names_round_trips():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=80), rng.choice(["u", "v", "w"], size=80)])
    X = pd.DataFrame(X).astype({0: float}).to_numpy(dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = TabularRegressor(**SMALL).fit(X, rng.normal(size=80))
    loaded = round_trip(model)
    assert not hasattr(loaded, "feature_names_in_")
    assert not hasattr(loaded.preprocessor_, "feature_names_in_")
    assert_array_equal(loaded.predict(X), model.predict(X))


# ---------------------------------------------------------------- forged files
def field(metadata, name):
    """The encoded value of the preprocessor's field ``name`` (a [key, value] pair
    of its encoded dict, changed in place by the forgeries)."""
    pairs = metadata["attributes"]["preprocessor_"]["dict"]
    return next(pair for pair in pairs if pair[0] == name)


def set_field(name, value):
    def change(m, a):
        field(m, name)[1] = value
    return change


def edit_array(name, edit, lookup=None):
    """A forgery that edits the saved array of field ``name`` (the preprocessor's,
    or what ``lookup(metadata, name)`` finds)."""
    def change(m, a):
        key = (lookup or field)(m, name)[1]["array"]
        a[key] = edit(a[key])
    return change


def set_param(name, value):
    def change(m, a):
        pairs = field(m, "params")[1]["dict"]
        next(pair for pair in pairs if pair[0] == name)[1] = value
    return change


def edit_categories(edit):
    def change(m, a):
        edit(field(m, "categories_")[1]["list"])
    return change


def edit_layers(edit):
    def change(m, a):
        edit(m["attributes"]["_input_layers"]["list"])
    return change


def layer_setting(i, key, value):
    def edit(records):
        pairs = records[i]["dict"]
        for pair in pairs:
            if pair[0] == key:
                pair[1] = value
                return
        pairs.append([key, value])
    return edit_layers(edit)


def city_index(m):
    names = m["attributes"]["feature_names_in_"]
    return 3 if names else None


FORGERIES = {  # name -> (model, change(metadata, arrays), what the message names)
    "a preprocessor of a newer schema": (
        "regressor", set_field("version", 2), "schema .* version 2"),
    "an unknown preprocessor field": ("regressor", lambda m, a: m["attributes"][
        "preprocessor_"]["dict"].append(["secret_", 1]), "fields of its schema"),
    "a preprocessor that is not a dict": (
        "regressor", lambda m, a: m["attributes"].__setitem__("preprocessor_", "x"),
        "preprocessor_ is not"),
    "medians as text": ("regressor", edit_array("medians_", lambda v: v.astype(str)),
                        "medians_ are not 7 float64"),
    "medians of the wrong length": ("regressor", edit_array("medians_", lambda v: v[:-1]),
                                    "medians_ are not 7 float64"),
    "integer scales": ("regressor", edit_array("scales_", lambda v: np.ones(7, int)),
                       "scales_ are not"),
    "a missing flag short": ("classifier", edit_array("has_missing_", lambda v: v[1:]),
                             "has_missing_ are not 7 booleans"),
    "a category list too few": ("regressor", edit_categories(lambda c: c.pop()),
                                "categories_ are not 7 lists"),
    "a level that is a dict": ("regressor", edit_categories(
        lambda c: c[2]["list"].append({"dict": []})), "categories_ are not 7 lists"),
    "a repeated level": ("regressor", edit_categories(
        lambda c: c[2]["list"].append(c[2]["list"][0])), "repeats a level"),
    "a code column with one level fewer than its code size": (
        "regressor", edit_categories(lambda c: c[3]["list"].pop()),
        "not the layout its columns give"),
    "code sizes that disagree with the categories": (
        "classifier", edit_array("code_sizes_", lambda v: v - 1),
        "not the layout its columns give"),
    "code sizes as floats": ("classifier", edit_array("code_sizes_", lambda v: v * 1.0),
                             "code_sizes_ are not"),
    "an unknown column kind": ("regressor", lambda m, a: field(m, "column_kinds_")[1][
        "list"].__setitem__(0, "os.system"), "column_kinds_ are not 7"),
    "a number column called a code column": ("regressor", lambda m, a: field(
        m, "column_kinds_")[1]["list"].__setitem__(0, "code"), "column 0 .'code'. has"),
    "a one-hot column with more levels than max_one_hot": (
        "regressor", set_param("max_one_hot", 1), "column 2 .'one_hot'."),
    "a negative max_one_hot": ("regressor", set_param("max_one_hot", -1),
                               "parameters are invalid"),
    "output kinds swapped": ("regressor", edit_array(
        "output_kinds_", lambda v: v[::-1].copy()), "not the layout its columns give"),
    "an output kind no one knows": ("regressor", edit_array(
        "output_kinds_", lambda v: np.where(v == "code", "shell", v)),
        "output_kinds_ are not of"),
    "output sources off by one": ("regressor", edit_array(
        "output_sources_", lambda v: v + 1), "not the layout its columns give"),
    "feature names not the model's": ("regressor", edit_array(
        "feature_names_in_", lambda v: v[::-1].copy()), "not the preprocessor_'s"),
    "an unregistered layer kind": ("regressor", layer_setting(
        0, "kind", "os.system"), "kind 'os.system', which is not a registered"),
    "a dense input layer": ("regressor", layer_setting(2, "kind", "dense"),
                            "kind 'dense'"),
    "a layer setting its class does not take": (
        "regressor", layer_setting(2, "shell", "rm -rf /"), "not plain values of"),
    "a layer setting that is a dict": (
        "regressor", layer_setting(1, "frequencies", {"dict": []}), "not plain values"),
    "an embedding that does not fit its table": (
        "regressor", layer_setting(0, "levels", {"tuple": [5]}), "do not fit together"),
    "an embedding table too small for its codes": ("regressor", lambda m, a: (
        layer_setting(0, "levels", {"tuple": [5]})(m, a), a.__setitem__(
            m["attributes"]["_layer_parameters"]["list"][0]["list"][0]["array"],
            np.zeros((5, 8), np.float32)), m["attributes"].update(  # (no optimizer state)
                _optimizer_solver=None, _optimizer_state=None)),
        "do not embed .* with \\[13\\] codes"),
    "an embedding of a number column": (
        "classifier", layer_setting(0, "columns", {"tuple": [0]}), "do not embed"),
    "periodic columns out of range": (
        "regressor", layer_setting(1, "columns", {"tuple": [0, 999]}),
        "do not fit the preprocessor's output"),
    "no embedding at all": ("regressor", edit_layers(lambda r: r.pop(0)),
                            "do not fit together"),
    "layer parameters of the wrong shape": ("regressor", lambda m, a: a.__setitem__(
        m["attributes"]["_layer_parameters"]["list"][0]["list"][0]["array"],
        np.zeros((3, 8))), "do not fit together"),
    "a zero target scale": ("regressor", lambda m, a: a.__setitem__(
        m["attributes"]["_y_scale"]["array"], np.zeros(1)), "scale is not > 0"),
    "a target centre per two outputs": ("regressor", lambda m, a: a.__setitem__(
        m["attributes"]["_y_center"]["array"], np.zeros(2)), "_y_center is not 1"),
    "a minimum above the maximum": ("regressor", lambda m, a: a.__setitem__(
        m["attributes"]["_y_min"]["array"], np.array([1e300])), "minimum is above"),
    "a missing target scale": ("regressor", lambda m, a: m["attributes"].pop("_y_scale"),
                               "missing: \\['_y_scale'\\]"),
}


@pytest.fixture(scope="module")
def models():
    return {kind: fitted(kind)[0] for kind in ("regressor", "classifier")}


@pytest.mark.parametrize("name", list(FORGERIES))
def test_a_forged_tabular_file_is_refused_naming_the_problem(models, name):
    which, change, message = FORGERIES[name]
    metadata, arrays = raw(models[which])
    change(metadata, arrays)
    with pytest.raises(ModelFileError, match=message):
        load(forged(metadata, arrays))


def test_the_untouched_forgery_path_loads(models):
    X = table()[0]
    for model in models.values():
        assert_array_equal(load(forged(*raw(model))).predict(X), model.predict(X))


def test_a_format_2_file_cannot_hold_a_tabular_model(models):
    metadata, arrays = raw(models["regressor"])
    metadata["format_version"] = 2
    with pytest.raises(ModelFileError, match=r"only .* can be loaded from a file of "
                                             r"format 2"):
        load(forged(metadata, arrays))


JUNK = [None, -1, 0, 2, 1e308, float("nan"), "x", "", "code", [], {}, [1, 2],
        {"list": 3}, {"list": []}, {"tuple": [0]}, {"array": "a0", "object": "yes"},
        True]


@pytest.mark.parametrize("which", ["regressor", "classifier"])
def test_random_edits_of_the_tabular_state_are_refused_or_harmless(models, which):
    """300 edits at random places of the tabular attributes' metadata, each with a
    recomputed digest: a ModelFileError, or a model that predicts finite values on
    a raw table; no other exception escapes."""
    assert refused_or_harmless(models[which], ["preprocessor_", "_input_layers",
                                               "_y_scale", "_y_min"], 300) > 250


def refused_or_harmless(model, attributes, n):
    """How many of ``n`` edits at random places of these attributes' metadata (each
    with a recomputed digest) are refused with a ModelFileError; every other one
    loads a model that predicts finite values on a raw table with unseen levels
    (no other exception escapes)."""
    X = pd.concat([table()[0], unseen(table()[0])])
    metadata, arrays = raw(model)
    paths = [p for p in json_paths(metadata) if len(p) > 2 and p[0] == "attributes"
             and p[1] in attributes]
    refused = 0
    for file in edited_files(metadata, arrays, paths, JUNK, n):
        try:
            loaded = load(file)
        except ModelFileError:
            refused += 1
            continue
        output = (loaded.predict_proba(X) if hasattr(loaded, "classes_")
                  else loaded.predict(X))
        assert np.isfinite(output).all()
    return refused


# ---------------------------------------------------------------------- skops
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_skops_stores_a_tabular_model_trusting_only_our_types(kind):
    skops_io = pytest.importorskip("skops.io")
    model, X, _ = fitted(kind)
    data = skops_io.dumps(model)
    types = skops_io.get_untrusted_types(data=data)
    assert set(types) <= set(trusted_types())
    assert "skbackprop.tabular._preprocess.TabularPreprocessor" in types
    loaded = skops_io.loads(data, trusted=types)
    assert_array_equal(loaded.predict(unseen(X)), model.predict(unseen(X)))
    with pytest.raises(Exception, match=r"[Uu]ntrusted"):
        skops_io.loads(data)


# ---------------------------------------------------------------- ensembles
def member_pairs(metadata, i=0):
    """The encoded [key, value] pairs of the (i + 2)-th network of a saved ensemble:
    its random_state and its attributes."""
    return metadata["attributes"]["ensemble_"]["list"][i]["dict"]


def member_field(metadata, name, i=0):
    pairs = dict((k, v) for k, v in member_pairs(metadata, i))["attributes"]["dict"]
    return next(pair for pair in pairs if pair[0] == name)


def set_member(key, value):
    def change(m, a):
        next(pair for pair in member_pairs(m) if pair[0] == key)[1] = value
    return change


def edit_member_array(name, edit):
    return edit_array(name, edit, member_field)


ENSEMBLE_FORGERIES = {  # name -> (model, change, what the message names)
    "one network said to be all": (
        "classifier", lambda m, a: m["params"].__setitem__("n_ensemble", 1),
        "holds 2 networks, but n_ensemble=1"),
    "a further network of other targets": (
        "regressor", edit_member_array("_y_center", lambda v: v + 1.0),
        "network 2's _y_center differs"),
    "a further network of other classes": (
        "classifier", edit_member_array("classes_", lambda v: v + 10),
        "network 2's classes_ differs"),
    "a further network's seed that is text": (
        "regressor", set_member("random_state", "x"), "random_state is not an int"),
    "a further network's weights of the wrong shape": (
        "regressor", lambda m, a: a.__setitem__(member_field(m, "coefs_")[1]["list"][0][
            "array"], np.zeros((3, 8), np.float32)), "do not fit together|disagree"),
    "a further network's weights not finite": (
        "classifier", lambda m, a: a.__setitem__(member_field(m, "coefs_")[1]["list"][0][
            "array"], np.full_like(a[member_field(m, "coefs_")[1]["list"][0]["array"]],
                                   np.nan)), "coefs_ is not"),
    "a further network with a preprocessor of its own": (
        "regressor", lambda m, a: member_pairs(m)[1][1]["dict"].append(
            ["preprocessor_", {"dict": []}]), "network 2 holds a preprocessor of its own"),
    "the further networks not a list": (
        "regressor", lambda m, a: m["attributes"].__setitem__("ensemble_", "x"),
        "ensemble_ is not a list of networks"),
}


@pytest.mark.parametrize("name", list(ENSEMBLE_FORGERIES))
def test_a_forged_ensemble_is_refused_naming_the_problem(models, name):
    which, change, message = ENSEMBLE_FORGERIES[name]
    metadata, arrays = raw(models[which])
    change(metadata, arrays)
    with pytest.raises(ModelFileError, match=message):
        load(forged(metadata, arrays))


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_a_saved_ensemble_predicts_as_it_did_and_shares_one_preprocessor(kind):
    model, X, _ = fitted(kind, n_ensemble=3)
    loaded = round_trip(model)
    assert loaded.n_ensemble == 3 and len(loaded.ensemble_) == 2
    assert [m.random_state for m in loaded.ensemble_] == [
        m.random_state for m in model.ensemble_]
    assert all(m.preprocessor_ is loaded.preprocessor_ for m in loaded.ensemble_)
    rows = pd.concat([X, unseen(X)])
    if kind == "classifier":
        assert_array_equal(loaded.predict_proba(rows), model.predict_proba(rows))
        assert_array_equal(loaded.predict_log_proba(rows), model.predict_log_proba(rows))
    assert_array_equal(loaded.predict(rows), model.predict(rows))


def test_a_format_3_file_loads_as_one_network():
    """Files written before n_ensemble hold one network: they load with
    n_ensemble=1 (not the default), and predict as they did."""
    model, X, _ = fitted("classifier", n_ensemble=1)
    metadata, arrays = raw(model)
    del metadata["params"]["n_ensemble"]
    metadata["format_version"] = 3
    loaded = load(forged(metadata, arrays))
    assert loaded.n_ensemble == 1 and not hasattr(loaded, "ensemble_")
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("which", ["regressor", "classifier"])
def test_random_edits_of_an_ensemble_are_refused_or_harmless(models, which):
    """200 edits at random places of the further network's metadata: a
    ModelFileError, or a model that predicts finite values."""
    assert refused_or_harmless(models[which], ["ensemble_"], 200) > 150
