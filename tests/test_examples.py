"""Every example runs, and its numbers equal an independent computation."""

import runpy
import tempfile
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from reference_backprop import lab_full_batch, per_row_sgd_epoch

pytestmark = pytest.mark.slow  # integration: run by .ci/run, left out by -m 'not slow'

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


# The gallery's thumbnail of an example is its first figure (the ONNX example's,
# which draws none, is the site's default picture of a network)
DRAWS_NO_FIGURE = {"export_onnx.py"}


def run_example(name, capsys):
    plt = pytest.importorskip("matplotlib.pyplot")  # (drawing off screen: conftest)
    plt.close("all")
    try:
        namespace = runpy.run_path(str(EXAMPLES / name), run_name="__main__")
        drawn = plt.get_fignums()
    finally:
        plt.close("all")
    assert drawn or name in DRAWS_NO_FIGURE, f"{name} draws no figure for its thumbnail"
    out = capsys.readouterr().out
    # the gallery shows what an example prints: never a path of the machine it ran on
    assert tempfile.gettempdir() not in out, f"{name} prints a temporary path"
    return namespace, out


def test_every_example_is_tested():
    tested = {"tutorial_regression.py", "tutorial_classification.py",
              "lab_sigmoid_network.py", "streaming_csv.py", "placement_plots.py",
              "pandas_pipeline.py", "lab_one_step.py", "compare_with_sklearn.py",
              "export_onnx.py", "network_pictures.py", "training_animation.py",
              "save_and_load.py", "array_api_torch.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_every_example_reads_top_to_bottom():
    """A title docstring, then ``# %%`` cells (STYLE.md: examples are scripts)."""
    for path in EXAMPLES.glob("*.py"):
        text = path.read_text()
        assert text.startswith('"""\n'), path.name
        title = text.split("\n")[1:3]
        assert title[0] and set(title[1]) == {"="}, path.name
        assert text.count("\n# %%\n") >= 2, path.name


def test_tutorial_regression(capsys):
    ns, out = run_example("tutorial_regression.py", capsys)
    rows = list(zip(ns["X"].tolist(), ns["y"].tolist()))
    W1, b1, W2, b2 = [[0.1, 0.1], [0.1, 0.1]], [0.0, 0.0], [0.1, 0.1], [0.0]
    losses = [per_row_sgd_epoch(rows, W1, b1, W2, b2, eta=0.002) for _ in range(5)]
    reg = ns["reg"]
    assert_allclose(reg.loss_curve_, losses, rtol=1e-12)
    assert_allclose(reg.coefs_[0], W1, rtol=1e-12)
    assert_allclose(reg.coefs_[1].ravel(), W2, rtol=1e-12)
    assert_allclose(reg.intercepts_[1], b2, rtol=1e-12)
    assert f"epoch 5: loss {losses[-1]:.6f}" in out
    assert losses[-1] < losses[0] / 10  # it learns
    # the traced first update is the reference's first row
    V1, c1, V2, c2 = [[0.1, 0.1], [0.1, 0.1]], [0.0, 0.0], [0.1, 0.1], [0.0]
    per_row_sgd_epoch(rows[:1], V1, c1, V2, c2, eta=0.002)
    updated = ns["first"].params.set_index("name")["updated"]
    assert updated["w(x1->h1)"] == pytest.approx(V1[0][0], rel=1e-12)
    assert updated["w(h2->o1)"] == pytest.approx(V2[1], rel=1e-12)
    assert updated["b(o1)"] == pytest.approx(c2[0], rel=1e-12)
    assert "dL/dw(h1->o1) = sum over samples of delta(o1) x out(h1)" in out


def test_tutorial_classification(capsys):
    ns, out = run_example("tutorial_classification.py", capsys)
    rows = list(zip(ns["X"].tolist(), ns["y"].tolist()))
    W1, b1, W2, b2 = [[0.1, 0.1], [0.1, 0.1]], [0.0, 0.0], [0.1, 0.1], [0.0]
    losses = [per_row_sgd_epoch(rows, W1, b1, W2, b2, eta=0.1, sigmoid_units=True)
              for _ in range(1000)]
    raw = ns["raw"]
    assert_allclose(raw.loss_curve_, losses, rtol=1e-9)
    V1, c1, V2, c2 = [[0.1, 0.1], [0.1, 0.1]], [0.0, 0.0], [0.1, 0.1], [0.0]
    per_row_sgd_epoch(rows[:1], V1, c1, V2, c2, eta=0.1, sigmoid_units=True)
    updated = ns["first"].params.set_index("name")["updated"]
    assert updated["w(x2->h1)"] == pytest.approx(V1[1][0], rel=1e-12)
    assert updated["w(h1->o1)"] == pytest.approx(V2[0], rel=1e-12)
    assert_allclose(raw.coefs_[0], W1, rtol=1e-9)
    assert_array_equal(raw.predict(ns["X"]), [1, 1, 0, 1])  # one row wrong, as printed
    assert_array_equal(ns["scaled"].predict(ns["X_scaled"]), ns["y"])
    assert "the hidden units stay twins: True" in out


def test_lab_sigmoid_network(capsys):
    ns, out = run_example("lab_sigmoid_network.py", capsys)
    expected_output, (wh, bh, wout, bout) = lab_full_batch(
        ns["X"], ns["y"][:, None], seed=0, lr=0.1, epochs=7000)
    reg = ns["reg"]
    assert reg.n_iter_ == 7000
    assert_allclose(reg.predict(ns["X"]), expected_output.ravel(), rtol=1e-9)
    assert_allclose(reg.coefs_[0], wh, rtol=1e-8)
    assert_allclose(reg.intercepts_[0], bh.ravel(), rtol=1e-8)
    assert_allclose(reg.coefs_[1], wout, rtol=1e-8)
    assert_allclose(reg.intercepts_[1], bout.ravel(), rtol=1e-8)
    assert np.abs(reg.predict(ns["X"]) - ns["y"]).max() < 0.03
    assert "predicted output:" in out


def test_streaming_csv_matches_a_fit_on_the_whole_file(capsys):
    ns, out = run_example("streaming_csv.py", capsys)
    assert ns["largest_chunk"] == ns["CHUNK"] < 25_000  # never the whole file at once
    stream, full = ns["stream"], ns["full"]
    assert list(stream.classes_) == ["high", "low", "mid"]
    assert stream.n_iter_ == 5 * 13  # one update pass per chunk, 13 chunks, 5 passes
    X_test, y_test = ns["X_test"], ns["test"]["label"]
    streamed, whole = stream.score(X_test, y_test), full.score(X_test, y_test)
    assert streamed > 0.85 and whole > 0.85
    assert abs(streamed - whole) < 0.02  # the same quality
    assert f"test accuracy {streamed:.3f}" in out


@pytest.mark.usefixtures("close_figures")
def test_placement_plots_draw_the_fitted_model(capsys):
    ns, out = run_example("placement_plots.py", capsys)
    assert f"kept the weights of epoch {ns['clf'].best_epoch_}" in out
    pipe, boundary, curves = ns["pipe"], ns["boundary"], ns["curves"]
    grid = np.column_stack([boundary.xx0.ravel(), boundary.xx1.ravel()])
    assert_allclose(boundary.response.ravel(), pipe.predict_proba(grid)[:, 1])
    assert_allclose(curves.train_line_.get_ydata(), ns["clf"].loss_curve_)
    for name in ["loss_curves.png", "decision_boundary.png"]:
        assert (ns["out"] / name).read_bytes().startswith(b"\x89PNG")


def test_pandas_pipeline_encodes_what_the_network_refuses(capsys):
    ns, out = run_example("pandas_pipeline.py", capsys)
    assert "refused: X has columns that are not numbers: 'city' (category), 'stream'" in out
    assert "OneHotEncoder" in out
    model, network, frame = ns["model"], ns["network"], ns["frame"]
    assert list(network.feature_names_in_) == list(ns["encode"].get_feature_names_out())
    assert network.classes_.tolist() == ["not placed", "placed"]  # the categories
    assert ns["scores"].mean() > 0.85
    # the pipeline is exactly: encode the DataFrame, then the network
    assert_array_equal(model.predict(frame), network.predict(model[0].transform(frame)))
    assert model.predict(ns["new"]).tolist() == ["placed", "not placed"]
    assert network.history_["epoch"].tolist() == list(range(1, network.n_iter_ + 1))


def test_lab_one_step_equals_the_labs_formulas(capsys):
    """Every weight after one step equals the lab's own update formulas, and an
    actual step of the estimator (full batch, plain SGD at 0.3) lands there too."""
    ns, out = run_example("lab_one_step.py", capsys)
    table = ns["table"]
    assert len(table) == 2 * 3 + 3 + 3 * 1 + 1
    assert_allclose(table["ours after one step"], table["lab's formulas"], rtol=1e-12)
    assert (table["ours after one step"] != table["before"]).all()  # every one moved
    reg = ns["reg"].set_params(solver="sgd", momentum=0.0, batch_size=3, shuffle=False,
                               learning_rate_init=0.3)
    reg.partial_fit(ns["X"], ns["y"])
    stepped = np.concatenate([reg.coefs_[0].ravel(), reg.intercepts_[0],
                              reg.coefs_[1].ravel(), reg.intercepts_[1]])
    assert_allclose(stepped, table["lab's formulas"], rtol=1e-12)
    assert "dL/dw(h1->o1) = sum over samples of delta(o1) x out(h1)" in out


def test_compare_with_sklearn_agrees_to_rounding(capsys):
    ns, out = run_example("compare_with_sklearn.py", capsys)
    assert_allclose(ns["ours_reg"].loss_curve_, ns["sk_reg"].loss_curve_, rtol=1e-10)
    assert_allclose(ns["ours_clf"].loss_curve_, ns["sk_clf"].loss_curve_, rtol=1e-10)
    X = ns["X"]
    assert_allclose(ns["ours_clf"].predict_proba(X), ns["sk_clf"].predict_proba(X),
                    atol=1e-12)
    assert "same decisions on every row: True" in out


def test_export_onnx(capsys):
    """The graph onnxruntime runs gives the pipeline's labels, and its probabilities
    to float32 rounding, on every training row."""
    pytest.importorskip("skl2onnx")
    pytest.importorskip("onnxruntime")
    ns, out = run_example("export_onnx.py", capsys)
    X32 = ns["X"].astype(np.float32)
    session = ns["session"]
    labels, proba = session.run(None, {session.get_inputs()[0].name: X32})
    assert_array_equal(labels, ns["model"].predict(X32))
    assert_allclose(proba, ns["model"].predict_proba(X32), rtol=1e-5, atol=1e-6)
    assert "labels equal: True" in out
    # the tabular model's graph, on every row of its table (the numbers as float32)
    table, tabular = ns["table"], ns["tabular"]
    table = table.assign(cgpa=table["cgpa"].astype(np.float32).astype(np.float64),
                         resume=table["resume"].astype(np.float32).astype(np.float64))
    labels, proba = ns["tabular_session"].run(None, ns["input_feed"](tabular, table))
    assert_array_equal(labels, tabular.predict(table))
    assert_allclose(proba, tabular.predict_proba(table), rtol=1e-5, atol=1e-6)


@pytest.mark.usefixtures("close_figures")
def test_network_pictures(capsys):
    ns, out = run_example("network_pictures.py", capsys)
    X, y = ns["X"], ns["y"]
    # full batch, identity units, every weight 0.1: the gradients by hand
    W1, W2 = np.full((2, 2), 0.1), np.full((2, 1), 0.1)
    H = X @ W1
    delta = (H @ W2 - y[:, None]) / len(y)  # dL/dz at the output, 1/2 mean squared error
    grad_W2, grad_W1 = H.T @ delta, X.T @ (delta @ W2.T)
    written = [float(t.get_text()) for t in ns["tutorial"].labels_]
    assert_allclose(written, np.r_[grad_W1.ravel(), grad_W2.ravel()], rtol=1e-3)
    assert ns["lab"].unplaced_ == [] and len(ns["lab"].labels_) == 9
    assert "[2, 11, 1]" in out


@pytest.mark.usefixtures("close_figures")
def test_training_animation(capsys):
    from PIL import Image
    ns, out = run_example("training_animation.py", capsys)
    snapshots, clf = ns["snapshots"].snapshots, ns["clf"]
    assert [s["epoch"] for s in snapshots] == list(range(5, 151, 5))
    for got, expected in zip(snapshots[-1]["coefs"], clf.coefs_):
        assert_array_equal(got, expected)
    with Image.open(ns["path"]) as gif:
        assert gif.n_frames == 30
    assert ns["pipe"].score(ns["X"], ns["y"]) > 0.95
    assert "30 frames written to a GIF" in out


def test_save_and_load(capsys):
    """The loaded model predicts, and the resumed one trains, bit for bit as the
    originals; the damaged and the wrongly signed files are refused."""
    from skbackprop.persistence import ModelFileError, load
    ns, out = run_example("save_and_load.py", capsys)
    X, model, folder = ns["X"], ns["model"], ns["folder"]
    assert_array_equal(load(ns["path"]).predict_proba(X), model.predict_proba(X))
    for got, expected in zip(ns["resumed"].coefs_ + ns["resumed"].intercepts_,
                             ns["online"].coefs_ + ns["online"].intercepts_):
        assert_array_equal(got, expected)
    with pytest.raises(ModelFileError, match="damaged"):
        load(folder / "damaged.skbp")
    with pytest.raises(ModelFileError, match="not signed with this key"):
        load(folder / "signed.skbp", key=b"guessed")
    assert out.count("refused:") == 2 and "same weights after one more epoch: True" in out


def test_array_api_torch(capsys):
    """The tensor fit trains the NumPy network (float64, same random_state), and the
    copy moved to NumPy predicts as the NumPy fit."""
    torch = pytest.importorskip("torch")
    ns, out = run_example("array_api_torch.py", capsys)
    on_device, on_numpy = ns["on_device"], ns["on_numpy"]
    assert on_device[-1].n_iter_ == on_numpy[-1].n_iter_
    for got, expected in zip(on_device[-1].coefs_ + on_device[-1].intercepts_,
                             on_numpy[-1].coefs_ + on_numpy[-1].intercepts_):
        assert isinstance(got, torch.Tensor)
        assert_allclose(got.cpu().numpy(), expected, rtol=0, atol=1e-10)
    assert_allclose(ns["proba"].cpu().numpy(), on_numpy.predict_proba(ns["X"]), atol=1e-10)
    assert_array_equal(ns["on_host"].predict(ns["X"]), on_numpy.predict(ns["X"]))
    assert "same predictions as the NumPy fit: True" in out
