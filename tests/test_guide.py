"""docs/backprop.md: every code link points at a line holding the quoted code, and
the worked example's numbers are the estimator's (issue 7, item 5)."""

import re
from pathlib import Path

import pytest

import skbackprop
from skbackprop import BackpropRegressor, backprop_trace
from skbackprop.datasets import load_placement

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "backprop.md").read_text()
LINK = r"\[`([^`]+)`\]\(\.\./(skbackprop/[\w/]+\.py)#L(\d+)\)"  # [`code`](../path#Ln)
LINKS = re.findall(LINK, GUIDE)


def source(path):
    """The lines of a linked module, as imported (a checkout or an installed wheel)."""
    package = Path(skbackprop.__file__).parent
    return (package / Path(path).relative_to("skbackprop")).read_text().splitlines()


def test_the_guide_links_the_math_core():
    assert len(LINKS) >= 15
    assert {path for _, path, _ in LINKS} == {
        "skbackprop/_core/network.py", "skbackprop/_core/layers.py",
        "skbackprop/_core/activations.py", "skbackprop/_core/losses.py",
        "skbackprop/_core/optimizers.py"}


@pytest.mark.parametrize("code, path, line", LINKS)
def test_each_link_points_at_its_code(code, path, line):
    lines = source(path)
    assert code in lines[int(line) - 1], (
        f"{path}#L{line} no longer holds {code!r}; relink: python tests/test_guide.py")


def test_the_worked_example_is_the_estimators():
    X, y = load_placement(return_X_y=True)
    reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
                            weight_init=0.1, alpha=0.0, learning_rate_init=0.002)
    trace = backprop_trace(reg, X[:1], y[:1])
    units = trace.units.set_index("unit")
    params = trace.params.set_index("name")
    numbers = {"= 1.6": units.loc["h1", "output"], "0.32": units.loc["o1", "output"],
               "6.7712": trace.loss, "-3.68": units.loc["o1", "delta"],
               "-5.888": params.loc["w(h1->o1)", "gradient"],
               "-0.368": units.loc["h1", "delta"],
               "-2.944": params.loc["w(x1->h1)", "gradient"],
               "0.111776": params.loc["w(h1->o1)", "updated"]}
    for text, value in numbers.items():
        assert text in GUIDE
        assert float(text.split()[-1]) == pytest.approx(value, abs=1e-9)


def relink():
    """Point every code link of the guide at the nearest line holding its code."""
    def nearest(match):
        code, path, line = match.group(1), match.group(2), int(match.group(3))
        lines = source(path)
        hits = [k + 1 for k, text in enumerate(lines) if code in text]
        return f"[`{code}`](../{path}#L{min(hits, key=lambda h: abs(h - line))})"
    guide = ROOT / "docs" / "backprop.md"
    guide.write_text(re.sub(LINK, nearest, guide.read_text()))


if __name__ == "__main__":
    relink()
