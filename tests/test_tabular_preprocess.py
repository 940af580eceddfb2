"""The tabular preprocessing (tabular._preprocess): each dtype's encoding checked
against numbers computed independently with pandas and by hand."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbackprop import BackpropRegressor
from skbackprop.tabular import TabularPreprocessor, robust_scale, smooth_clip


def expected_numbers(train, new=None, bound=3.0):
    """A number column's encoding, written out with pandas: median imputation,
    centring by the median, division by the interquartile range, smooth clipping."""
    new = train if new is None else new
    median = train.median()
    q25, q75 = train.quantile(0.25), train.quantile(0.75)
    z = (new.fillna(median) - median) / (q75 - q25)
    return (z / np.sqrt(1 + (z / bound) ** 2)).to_numpy()


def mixed_frame(n=60, seed=0):
    """Every supported dtype, with missing values in every column that can hold them."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "num": rng.normal(size=n) * 10 + 5,
        "count": rng.integers(0, 4, n),
        "flag": rng.random(n) > 0.5,
        "maybe": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
        "colour": pd.Categorical(rng.choice(["red", "green", None], n)),
        "shape": pd.Series(rng.choice(["box", "ball", None], n), dtype=object),
        "town": pd.Series(rng.choice([*"abcdefghijkl", None], n), dtype="string"),
        "size": pd.array(rng.choice([1, 2, 3, None], n), dtype="Int64"),
    })
    X.loc[::7, "num"] = np.nan
    return X


# ------------------------------------------------------------------ the formulas
def test_robust_scale_is_the_median_and_the_inverse_interquartile_range():
    # 1, 2, 3, 4, 100: median 3, quartiles 2 and 4 (positions 1 and 3)
    assert robust_scale([1.0, 2.0, 3.0, 4.0, 100.0]) == (3.0, 0.5)
    # 1, 2, 3, 4: median 2.5; quartiles at positions 0.75 and 2.25: 1.75 and 3.25
    center, factor = robust_scale([4.0, 1.0, 3.0, 2.0])
    assert center == 2.5 and factor == pytest.approx(1 / 1.5)
    # equal quartiles: half the range instead; a constant column: factor 0
    assert robust_scale([5.0, 5.0, 5.0, 5.0, 9.0, 1.0, 5.0]) == (5.0, 0.25)
    assert robust_scale([7.0, 7.0, 7.0]) == (7.0, 0.0)


def test_smooth_clip_is_its_formula_and_tends_to_the_bound():
    z = np.linspace(-20, 20, 81)
    assert_allclose(smooth_clip(z), z / np.sqrt(1 + (z / 3) ** 2))
    assert_allclose(smooth_clip(z, 5.0), z / np.sqrt(1 + (z / 5) ** 2))
    assert_allclose(smooth_clip([1e-8]), [1e-8])  # slope 1 at 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        huge = smooth_clip([1e300, -1e300, np.inf, -np.inf])
    assert_allclose(huge, [3.0, -3.0, 3.0, -3.0])
    assert np.all(np.diff(smooth_clip(z)) > 0)  # order is kept


# ---------------------------------------------------------------------- numbers
def test_numbers_are_imputed_scaled_and_clipped_as_computed_with_pandas():
    X = mixed_frame()
    pre = TabularPreprocessor().fit(X)
    out = pd.DataFrame(pre.transform(X), columns=pre.get_feature_names_out())
    assert_allclose(out["num"], expected_numbers(X["num"]))
    assert_array_equal(out["num_missing"], X["num"].isna())
    assert_allclose(out["count"], expected_numbers(X["count"].astype(float)))
    assert_allclose(out["size"], expected_numbers(X["size"].astype(float)))
    assert_array_equal(out["size_missing"], X["size"].isna())
    assert "count_missing" not in out  # no missing value in fit: no indicator
    new = pd.DataFrame({c: X[c].iloc[:5] for c in X}).assign(
        num=[np.nan, -1e6, 0.0, 1e6, 5.0], count=[np.nan, 9, 0, 1, 2])
    out = pd.DataFrame(pre.transform(new), columns=pre.get_feature_names_out())
    assert_allclose(out["num"], expected_numbers(X["num"], new["num"]))
    assert_allclose(out["count"], expected_numbers(X["count"].astype(float),
                                                   new["count"]))
    assert_allclose(pre.medians_[0], X["num"].median())


def test_integers_with_few_values_stay_numbers_unless_category_dtype():
    X = pd.DataFrame({"n": [0, 1, 2, 1, 0, 2], "c": pd.Categorical([0, 1, 2, 1, 0, 2])})
    pre = TabularPreprocessor().fit(X)
    assert pre.column_kinds_ == ["number", "one_hot"]
    assert pre.categories_ == [[], [0, 1, 2]]
    assert_array_equal(pre.transform(X)[:, 1:], np.eye(3)[[0, 1, 2, 1, 0, 2]])


def test_clip_none_and_no_indicator_leave_robust_scaling_alone():
    X = pd.DataFrame({"x": [1.0, 2.0, np.nan, 3.0, 4.0, 100.0]})
    out = TabularPreprocessor(clip=None, add_indicator=False).fit_transform(X)
    # observed 1, 2, 3, 4, 100: median 3, quartiles 2 and 4; NaN takes the median
    assert_allclose(out[:, 0], (np.array([1, 2, 3, 3, 4, 100]) - 3) / 2)
    assert out.shape == (6, 1)


def test_a_constant_column_becomes_zeros():
    out = TabularPreprocessor().fit_transform(pd.DataFrame({"k": [4.0] * 5}))
    assert_array_equal(out, np.zeros((5, 1)))


# --------------------------------------------------------------------- booleans
def test_booleans_are_zero_one_unscaled_with_median_for_missing():
    X = pd.DataFrame({"b": [True, False, True, True],
                      "nb": pd.array([True, None, False, True], dtype="boolean")})
    pre = TabularPreprocessor().fit(X)
    assert list(pre.get_feature_names_out()) == ["b", "nb", "nb_missing"]
    # nb's observed True, False, True: median 1
    assert_array_equal(pre.transform(X), [[1, 1, 0], [0, 1, 1], [1, 0, 0], [1, 1, 0]])
    assert list(pre.output_kinds_) == ["binary"] * 3


# ------------------------------------------------------------------- categories
def test_one_hot_has_a_column_per_level_and_one_for_missing_unseen_is_zeros():
    X = pd.DataFrame({"s": ["b", "a", None, "c", "a"]})
    pre = TabularPreprocessor().fit(X)
    assert pre.categories_ == [["a", "b", "c"]]
    assert list(pre.get_feature_names_out()) == ["s_a", "s_b", "s_c", "s_missing"]
    new = pd.DataFrame({"s": ["c", "zebra", np.nan, "a"]})
    expected = np.stack([new["s"].to_numpy() == level for level in ["a", "b", "c"]]
                        + [new["s"].isna().to_numpy()], axis=1)
    assert_array_equal(pre.transform(new), expected.astype(float))
    assert_array_equal(pre.transform(new)[1], 0.0)  # unseen: all zeros


def test_a_category_dtype_keeps_its_order_and_only_its_observed_levels():
    dtype = pd.CategoricalDtype(["low", "mid", "high", "never"], ordered=True)
    X = pd.DataFrame({"level": pd.Series(["high", "low", "mid", "low"], dtype=dtype)})
    pre = TabularPreprocessor().fit(X)
    assert pre.categories_ == [["low", "mid", "high"]]
    assert_array_equal(pre.transform(X), np.eye(3)[[2, 0, 1, 0]])


def test_many_levels_become_codes_one_to_k_with_zero_for_missing_and_unseen():
    levels = list("abcdefghijk")  # 11 > 9 levels
    X = pd.DataFrame({"t": [*levels[::-1], None, "a"]})
    pre = TabularPreprocessor().fit(X)
    assert pre.column_kinds_ == ["code"] and pre.categories_ == [levels]
    assert list(pre.output_kinds_) == ["code"]
    assert_array_equal(pre.code_sizes_, [12])
    codes = pre.transform(pd.DataFrame({"t": ["a", "k", None, "unseen", "c"]}))
    assert_array_equal(codes[:, 0], [1, 11, 0, 0, 3])
    assert list(pre.get_feature_names_out()) == ["t"]


@pytest.mark.parametrize("max_one_hot, kind", [(0, "code"), (2, "code"), (3, "one_hot")])
def test_max_one_hot_sets_where_codes_begin(max_one_hot, kind):
    X = pd.DataFrame({"c": ["x", "y", "z", "x"]})
    pre = TabularPreprocessor(max_one_hot=max_one_hot).fit(X)
    assert pre.column_kinds_ == [kind]
    assert pre.transform(X).shape[1] == (3 if kind == "one_hot" else 1)


@pytest.mark.parametrize("dtype", [object, "string", "str", "category"])
def test_text_columns_encode_alike_whatever_their_dtype(dtype):
    values = ["p", None, "q", "p", "r"]
    pre = TabularPreprocessor().fit(pd.DataFrame({"c": pd.Series(values, dtype=dtype)}))
    new = pd.DataFrame({"c": pd.Series(["r", None, "unseen"], dtype=object)})
    assert pre.categories_ == [["p", "q", "r"]]
    assert_array_equal(pre.transform(new), [[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]])


def test_mixed_and_numeric_objects():
    X = pd.DataFrame({"mixed": pd.Series([2, "b", 1, "a"], dtype=object),
                      "numbers": pd.Series([1.0, 2.0, 3.0, 4.0], dtype=object)})
    pre = TabularPreprocessor().fit(X)
    assert pre.categories_[0] == [1, 2, "a", "b"]  # numbers, then text
    assert pre.column_kinds_ == ["one_hot", "number"]  # objects that are all numbers


# ------------------------------------------------------------- whole tables, arrays
def test_missing_values_everywhere_give_finite_output_and_a_fixed_layout():
    X = mixed_frame()
    pre = TabularPreprocessor()
    out = pre.fit_transform(X)
    assert np.isfinite(out).all()
    assert_array_equal(pre.transform(X), out)
    holes = X.copy()
    for column in holes:
        holes[column] = holes[column].astype(object).where(np.arange(60) % 3 != 0, None)
    assert_array_equal(pre.transform(holes).shape, out.shape)
    assert np.isfinite(pre.transform(holes)).all()
    assert pre.column_kinds_ == ["number", "number", "bool", "bool", "one_hot",
                                 "one_hot", "code", "number"]
    names = pre.get_feature_names_out()
    assert len(names) == out.shape[1] == len(pre.output_kinds_) == len(pre.output_sources_)
    assert [names[i] for i in np.flatnonzero(pre.output_kinds_ == "code")] == ["town"]
    assert_array_equal(pre.code_sizes_, [13])
    assert_array_equal(np.unique(pre.output_sources_), np.arange(8))


def test_a_numeric_array_is_read_as_numbers_a_text_array_as_categories():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 3))
    X[::4, 1] = np.nan
    from_array = TabularPreprocessor().fit(X)
    from_frame = TabularPreprocessor().fit(pd.DataFrame(X, columns=["x0", "x1", "x2"]))
    assert_array_equal(from_array.transform(X), from_frame.transform(
        pd.DataFrame(X, columns=["x0", "x1", "x2"])))
    assert_array_equal(from_array.get_feature_names_out(), from_frame.get_feature_names_out())
    text = np.array([["a", "u"], ["b", "v"], ["a", "w"]])
    pre = TabularPreprocessor().fit(text)
    assert pre.column_kinds_ == ["one_hot", "one_hot"]
    assert list(pre.get_feature_names_out()) == ["x0_a", "x0_b", "x1_u", "x1_v", "x1_w"]


def test_set_output_pandas_names_the_columns_and_keeps_the_index():
    X = mixed_frame().set_index(pd.RangeIndex(100, 160))
    pre = TabularPreprocessor().set_output(transform="pandas")
    out = pre.fit_transform(X)
    assert list(out.columns) == list(pre.get_feature_names_out())
    assert_array_equal(out.index, X.index)
    assert_array_equal(out.to_numpy(), pre.set_output(transform="default").transform(X))


def test_a_pipeline_learns_from_a_raw_table():
    X = mixed_frame(200)
    y = (X["num"].fillna(0) / 10 + (X["colour"] == "red") - X["flag"]).to_numpy()
    model = make_pipeline(TabularPreprocessor(), BackpropRegressor(
        hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300, random_state=0))
    assert model.fit(X, y).score(X, y) > 0.9


def test_fitted_state_is_plain_and_survives_pickle_and_skops():
    skops_io = pytest.importorskip("skops.io")
    X = mixed_frame()
    pre = TabularPreprocessor().fit(X)
    plain = (np.ndarray, int, float, str, bool, list)
    for name, value in vars(pre).items():
        assert isinstance(value, plain), name
    assert_array_equal(pickle.loads(pickle.dumps(pre)).transform(X), pre.transform(X))
    data = skops_io.dumps(pre)
    assert skops_io.get_untrusted_types(data=data) == [
        "skbackprop.tabular._preprocess.TabularPreprocessor"]
    loaded = skops_io.loads(data, trusted=[TabularPreprocessor])
    assert_array_equal(loaded.transform(X), pre.transform(X))
    assert loaded.categories_ == pre.categories_


# ------------------------------------------------------------------- bad input
def test_an_all_missing_column_is_dropped_with_a_warning():
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0], "empty": [None, None, None]})
    with pytest.warns(UserWarning, match=r"\['empty'\] are entirely missing"):
        pre = TabularPreprocessor().fit(X)
    assert pre.column_kinds_ == ["number", "dropped"]
    assert list(pre.get_feature_names_out()) == ["x"]
    assert_array_equal(pre.transform(X.assign(empty=["read", "not", 5])),
                       pre.transform(X))
    with pytest.raises(ValueError, match="Every column of X is entirely missing"):
        TabularPreprocessor().fit(X[["empty"]])


def test_transform_names_missing_and_extra_columns():
    X = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    pre = TabularPreprocessor().fit(X)
    with pytest.raises(ValueError, match=r"(?s)missing:\n- b.*Fix"):
        pre.transform(X[["a"]])
    with pytest.raises(ValueError, match=r"(?s)unseen at fit time:\n- c.*Fix"):
        pre.transform(X.assign(c=1))


@pytest.mark.parametrize("column, match", [
    (pd.to_datetime(["2020-01-01", "2021-01-01"]), r"(?s)'d' holds dates.*\.dt\.year"),
    (pd.to_timedelta([1, 2], unit="s"), r"(?s)'d' holds time spans.*total_seconds"),
    (np.array([1 + 1j, 2]), r"'d' holds complex numbers"),
    (pd.Series([{"k": 1}, "x"], dtype=object), r"(?s)'d' holds \{'k': 1\}, a dict.*astype\(str\)"),
    (pd.Series([[1], [2]], dtype=object), r"'d' holds \[1\], a list"),
])
def test_unreadable_columns_are_refused_naming_them(column, match):
    with pytest.raises(TypeError, match=match):
        TabularPreprocessor().fit(pd.DataFrame({"ok": [1.0, 2.0], "d": column}))


def test_bad_values_are_refused_naming_the_column_and_the_fix():
    X = pd.DataFrame({"n": [1.0, 2.0, 3.0], "b": [True, False, True]})
    with pytest.raises(ValueError, match=r"(?s)'n' contains infinity.*Fix"):
        TabularPreprocessor().fit(X.assign(n=[1.0, np.inf, 3.0]))
    pre = TabularPreprocessor().fit(X)
    with pytest.raises(ValueError, match=r"'n' contains infinity"):
        pre.transform(X.assign(n=[-np.inf, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"'n' held numbers in fit but now holds 'two'"):
        pre.transform(X.assign(n=pd.Series(["1", "two", None], dtype=object)))
    with pytest.raises(ValueError, match=r"'b' held booleans in fit but now holds 2"):
        pre.transform(X.assign(b=[1, 0, 2]))
    with pytest.raises(ValueError, match=r"(?s)0 sample\(s\).*Fix"):
        TabularPreprocessor().fit(X.iloc[:0])
    with pytest.raises(ValueError, match=r"(?s)X has 1 features.*Fix"):
        TabularPreprocessor().fit(X.to_numpy()).transform(X.to_numpy()[:, :1])


@pytest.mark.parametrize("params", [{"max_one_hot": -1}, {"clip": 0.0},
                                    {"add_indicator": "yes"}])
def test_bad_parameters_are_refused(params):
    with pytest.raises(InvalidParameterError):
        TabularPreprocessor(**params).fit(pd.DataFrame({"x": [1.0, 2.0]}))


@parametrize_with_checks([TabularPreprocessor()])
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)
