"""The README's Python snippets run and say what they claim."""

import re
import textwrap
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # integration: run by .ci/run, left out by -m 'not slow'

README = Path(__file__).resolve().parent.parent / "README.md"
SNIPPETS = [textwrap.dedent(snippet) for snippet in re.findall(  # (some sit in lists)
    r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)]


def test_readme_has_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_snippet_runs(index, capsys):
    if "import torch" in SNIPPETS[index]:
        pytest.importorskip("torch")  # the Array API section's: where torch is
    if "skl2onnx" in SNIPPETS[index]:  # the ONNX section's: where the extras are
        pytest.importorskip("skl2onnx")
        pytest.importorskip("onnxruntime")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # our own README's code, run to keep the README true
        exec(compile(SNIPPETS[index], f"README snippet {index}", "exec"), {})  # (our own README)
    out = capsys.readouterr().out
    for claimed in re.findall(r"print\(.*\)\s+# (.+)", SNIPPETS[index]):
        assert claimed.strip() in out
