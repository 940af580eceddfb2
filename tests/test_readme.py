"""The README: short, its snippets run without a warning and print what they claim,
its links lead somewhere, and nothing a user reads imports a private module."""

import re
from pathlib import Path

import pytest
from snippets import run_snippet, snippets

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SNIPPETS = snippets(README)


def test_readme_is_read_in_two_minutes():
    assert len(README.read_text().splitlines()) <= 200
    assert len(SNIPPETS) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_snippet_runs_clean(index, capsys):
    run_snippet(SNIPPETS[index], f"README snippet {index}", capsys)


def test_readme_links_lead_to_files():
    for target in re.findall(r"\]\(([^)#]+)\)", README.read_text()):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_no_private_import_where_users_read():
    private = re.compile(r"(from|import) skbackprop\._|skbackprop\._\w+\.")
    pages = [README, *(ROOT / "docs").rglob("*.md"), *(ROOT / "examples").glob("*.py"),
             *(ROOT / "benchmarks").glob("*.py")]
    for page in pages:
        for number, line in enumerate(page.read_text().splitlines(), start=1):
            assert not private.search(line), f"{page.relative_to(ROOT)}:{number}: {line}"
