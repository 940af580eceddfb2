"""The documentation site's sources: every guide page's snippets run without a
warning and print what they claim; the API reference lists every public name; every
page is in a table of contents. (.ci/run builds the site with warnings as errors.)"""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from snippets import run_snippet, snippets

import skbackprop
import skbackprop.datasets
import skbackprop.inspection
import skbackprop.persistence
import skbackprop.tabular

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts
               and "generated" not in p.parts)
README = ROOT / "README.md"
MAIN = 'if __name__ == "__main__":'
CASES = [(page, k) for page in PAGES for k, code in enumerate(snippets(page))
         if MAIN not in code]
SCRIPTS = [(page, k) for page in PAGES for k, code in enumerate(snippets(page))
           if MAIN in code]  # (pasted into a file and run: they start processes)


@pytest.mark.slow
@pytest.mark.parametrize("page, index", CASES,
                         ids=[f"{p.relative_to(DOCS)}-{k}" for p, k in CASES])
def test_page_snippet_runs_clean(page, index, capsys):
    run_snippet(snippets(page)[index], f"{page.relative_to(DOCS)} snippet {index}", capsys)


@pytest.mark.slow
@pytest.mark.parametrize("page, index", SCRIPTS,
                         ids=[f"{p.relative_to(DOCS)}-{k}" for p, k in SCRIPTS])
def test_page_script_runs_as_a_script(page, index, tmp_path):
    """A snippet that starts worker processes, pasted into a file and run with
    ``python file.py`` as a user would, runs clean and prints what it claims."""
    code = snippets(page)[index]
    if "distributed" in code:
        pytest.importorskip("distributed")
    script = tmp_path / "snippet.py"
    script.write_text(code)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]), "PYTHONWARNINGS": "error"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for claimed in re.findall(r"print\(.*\)\s+# (.+)", code):
        assert claimed.strip() in done.stdout


def test_the_api_reference_lists_every_public_name():
    api = (DOCS / "api.rst").read_text()
    listed = set(re.findall(r"^   (\w+)$", api, flags=re.MULTILINE))
    listed |= set(re.findall(r"^\.\. data:: (\w+)$", api, flags=re.MULTILINE))
    modules = [skbackprop.inspection, skbackprop.persistence, skbackprop.datasets,
               skbackprop.tabular]
    try:
        modules.append(importlib.import_module("skbackprop.onnx"))
    except ImportError:  # (without skl2onnx)
        pass
    names = {n for m in modules for n in m.__all__}
    names |= set(skbackprop.__all__) - {"__version__"}
    assert names <= listed, names - listed


def test_every_page_is_in_a_table_of_contents():
    tocs = "\n".join(p.read_text() for p in PAGES if "toctree" in p.read_text())
    for page in PAGES:
        name = page.relative_to(DOCS).with_suffix("").as_posix()
        if name in ("index",):
            continue
        stem = page.stem if page.parent.name == "guide" else name
        assert re.search(rf"^(/|\.\./)?{re.escape(stem if stem != 'index' else name)}$",
                         tocs, flags=re.MULTILINE), name


def test_the_code_layout_names_every_module():
    layout = (DOCS / "guide" / "contributing.md").read_text()
    package = Path(skbackprop.__file__).parent
    modules = [p.relative_to(package).as_posix() for p in package.rglob("*.py")
               if p.name != "__init__.py" or p.parent.name in ("inspection", "persistence")]
    missing = [m for m in modules if f"{m}`" not in layout]
    assert not missing, f"docs/guide/contributing.md's layout table misses {missing}"


def headings(text):
    """The Markdown headings of a page, its fenced code left out."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return re.findall(r"^#{1,6} .+$", prose, flags=re.MULTILINE)


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_no_page_repeats_a_heading(page):
    """A repeated heading shows twice in the site's contents, one of them empty."""
    found = headings(page.read_text())
    assert found, page
    repeated = sorted({h for h in found if found.count(h) > 1})
    assert not repeated, f"{page.relative_to(ROOT)} repeats {repeated}"


# Words about how the package is developed, not about the package: the folders and
# machines its authors work on, and names they use among themselves.
LEAKS = ["../shared", "/tmp/", "2-core machine", "this machine", "shared machine",
         "lab seed", "seeds page"]


def test_what_users_read_speaks_of_the_package_only():
    pages = [README, *PAGES, DOCS / "api.rst", *(ROOT / "examples").iterdir()]
    found = [f"{page.relative_to(ROOT)}:{number}: {line.strip()}"
             for page in pages if page.is_file()
             for number, line in enumerate(page.read_text().splitlines(), start=1)
             if any(leak in line for leak in LEAKS)]
    assert not found, "\n".join(found)


@pytest.mark.slow
def test_the_formulas_are_typeset_by_files_the_site_ships(tmp_path):
    """The backprop guide, built with the site's configuration (less the gallery and
    the API pages): its formulas are math, typeset by a MathJax copied into the
    site, and the page loads nothing from another host."""
    for module in ["sphinx", "myst_parser", "sphinx-mathjax-offline", "matplotlib"]:
        pytest.importorskip(module)
    from sphinx.cmd.build import build_main
    source = tmp_path / "source"
    (source / "guide").mkdir(parents=True)
    (source / "backprop.md").write_text((DOCS / "backprop.md").read_text())
    for page in ["seeds", "teaching"]:  # (the pages it links to)
        (source / "guide" / f"{page}.md").write_text(f"# {page}\n")
    (source / "conf.py").write_text(
        f"exec(compile(open({str(DOCS / 'conf.py')!r}).read(), 'conf.py', 'exec'))\n"
        "extensions = [e for e in extensions if e not in "
        "('sphinx_gallery.gen_gallery', 'sphinx.ext.autosummary')]\n"
        f"root_doc, html_static_path = 'backprop', [{str(DOCS / '_static')!r}]\n"
        "templates_path = []\n"
        "suppress_warnings = ['toc.not_included']\n")
    out = tmp_path / "html"
    assert build_main(["-q", "-W", "-b", "html", str(source), str(out)]) == 0
    html = (out / "backprop.html").read_text()
    assert html.count('class="math') >= 15  # every formula is math now
    assert not re.search(r"<pre>[^<]*(Z_l|delta_L) =", html)  # none left as code
    assets = re.findall(r'<(?:script|link|img)\b[^>]*?(?:src|href)="([^"]+)"', html)
    mathjax = [a for a in assets if "mathjax" in a.lower()]
    assert mathjax, "no MathJax script on the page"
    for asset in assets:
        assert not re.match(r"(\w+:)?//", asset), f"the page loads {asset} from another host"
        if asset.endswith((".js", ".css")) or "?" in asset:
            assert (out / asset.split("?")[0]).is_file(), asset


def test_api_pages_are_titled_by_the_short_name():
    """A page title such as skbackprop.inspection.TrainingAnimation ran out of the
    article column on mid-sized screens: the title is the name, the module stands in
    the signature beneath it."""
    for template in (DOCS / "_templates" / "autosummary").glob("*.rst"):
        title = template.read_text().splitlines()[0]
        assert title == "{{ objname | escape | underline }}", template.name
