"""Running the Python snippets of a Markdown page, as the README and docs tests do."""

import re
import textwrap
import warnings

import pytest


def snippets(path):
    """The page's ```python blocks (some sit indented in lists)."""
    return [textwrap.dedent(s) for s in re.findall(r"```python\n(.*?)```", path.read_text(),
                                                    flags=re.DOTALL)]


def run_snippet(code, name, capsys):
    """Run one snippet with every warning an error (a page's code must run clean),
    and check that each ``print(...)  # text`` printed that text."""
    if "import torch" in code:
        pytest.importorskip("torch")  # the Array API page's: where torch is
    if "skl2onnx" in code:  # the ONNX page's: where the extras are
        pytest.importorskip("skl2onnx")
        pytest.importorskip("onnxruntime")
    if "matplotlib" in code or "Display" in code:
        pytest.importorskip("matplotlib")  # (drawing off screen: conftest)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                module="(?!skbackprop)")  # other libraries' own
        exec(compile(code, name, "exec"), {})  # our own pages' code, run to keep them true
    out = capsys.readouterr().out
    for claimed in re.findall(r"print\(.*\)\s+# (.+)", code):
        assert claimed.strip() in out
