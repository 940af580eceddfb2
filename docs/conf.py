"""Sphinx configuration: the skbackprop documentation site.

Build it (the ``docs`` extra) with warnings as errors:

    python -m sphinx -W -b html docs docs/_build/html
"""

import importlib.util
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the gallery's figures are drawn off screen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's skbackprop, installed or not

import skbackprop  # noqa: E402

project = "skbackprop"
author = "skbackprop developers"
copyright = "2026, skbackprop developers"
version = release = skbackprop.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax's files, copied into the site: no other host
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "generated/*.examples", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.json",
                    "auto_examples/*.md5"]
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

autosummary_generate = True
templates_path = ["_templates"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# An example whose optional library is missing here is left out of the gallery rather
# than failing the build (the docs extra has no PyTorch; .ci/run installs it)
OPTIONAL = {"array_api_torch.py": "torch", "export_onnx.py": "onnxruntime"}
LEFT_OUT = [name for name, module in OPTIONAL.items()
            if importlib.util.find_spec(module) is None]



def _default_thumbnail():
    """The gallery's picture for an example that draws no figure: the placement
    tutorial's 2-2-1 network, drawn by NetworkDisplay (sphinx-gallery's own is a
    blank placeholder). Drawn at each build, so it is always the package's."""
    import tempfile

    import matplotlib.pyplot as plt

    from skbackprop import BackpropRegressor
    from skbackprop.datasets import load_placement
    from skbackprop.inspection import NetworkDisplay

    X, y = load_placement(return_X_y=True)
    reg = BackpropRegressor(hidden_layer_sizes=(2,), activation="identity",
                            weight_init=0.1, alpha=0.0, learning_rate_init=0.002)
    display = NetworkDisplay.from_estimator(reg, X[:1], y[:1])
    path = Path(tempfile.gettempdir()) / "skbackprop_docs_thumbnail.png"
    display.figure_.savefig(path, dpi=100)
    plt.close(display.figure_)
    return str(path)


sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # every example runs: its real output and pictures
    "ignore_pattern": "|".join([r"__init__\.py"] + [re.escape(n) for n in LEFT_OUT]),
    "matplotlib_animations": (True, "jshtml"),
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "backreferences_dir": "auto_examples/backreferences",  # "examples using X" per page
    "doc_module": ("skbackprop",),
    "default_thumb_file": _default_thumbnail(),
}

html_theme = "pydata_sphinx_theme"
html_title = f"skbackprop {release}"
html_static_path = ["_static"]
html_css_files = ["skbackprop.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
}
html_show_sourcelink = False

# The backprop guide links each formula to its line of code for readers of the
# repository (``../skbackprop/_core/network.py#L137``). The site has no copy of the
# source files, so there each link is written as the file and line it names.
CODE_LINK = re.compile(r"\[`([^`]+)`\]\(\.\./(skbackprop/[\w/]+\.py)#L(\d+)\)")


def _code_links(app, docname, source):
    source[0] = CODE_LINK.sub(r"`\1` (`\2`, line \3)", source[0])


def _skip_inherited(app, what, name, obj, skip, options):
    """Document what skbackprop defines: not sklearn's inherited methods (their
    docstrings point into sklearn's own site) nor its metadata-request setters."""
    module = getattr(obj, "__module__", "") or ""
    if callable(obj) and not module.startswith("skbackprop"):
        return True
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("source-read", _code_links)
    app.connect("autodoc-skip-member", _skip_inherited)
