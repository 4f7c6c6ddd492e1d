"""Sphinx configuration for the sklearn-charrnn documentation.

Build the site from the repository root with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

``-W`` turns every warning into an error; the gallery scripts in
``examples/`` run during the build, so a failing example, a broken
cross-reference or a docstring numpydoc cannot parse fails it.
"""

import importlib.util
import os
from pathlib import Path

import sklearn_charrnn
from sklearn_charrnn.cli import build_parser

DOCS = Path(__file__).resolve().parent

project = "sklearn-charrnn"
author = "The sklearn-charrnn developers"
copyright = "The sklearn-charrnn developers"
release = sklearn_charrnn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# -- Math --------------------------------------------------------------------

# The equations are typeset by MathJax in the browser. With the
# sphinx-mathjax-offline package installed (part of the ``docs`` extra), the
# build ships its own MathJax copy in ``_static/mathjax`` and the equations
# render with no network connection, also when the site is opened from disk;
# without it, the pages load MathJax from its CDN and need a connection.
if importlib.util.find_spec("sphinx-mathjax-offline") is not None:
    extensions.append("sphinx-mathjax-offline")

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
default_role = "literal"

# -- API reference -----------------------------------------------------------

autosummary_generate = True
autodoc_typehints = "none"
autodoc_member_order = "groupwise"
# The class template lists the methods itself; numpydoc's own member table
# would repeat them.
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True
# Enforced on the public API (not on the internals nn.* and cli.*): a
# missing docstring, or a parameter that is undocumented or documented but
# absent, is a warning, and -W makes it an error.
numpydoc_validation_checks = {"GL08", "PR01", "PR02"}
numpydoc_validation_exclude = {
    r"\.__init__$",
    r"^sklearn_charrnn\.nn\.",
    r"^sklearn_charrnn\.cli\.",
}

# -- HTML --------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-charrnn {release}"
html_static_path = ["_static"]
# Result tables are plain text: wide ones scroll inside their own box.
html_css_files = ["tables.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}
# Pages without sub-pages get no (empty) left sidebar.
html_sidebars = {
    page: []
    for page in (
        "index",
        "getting_started",
        "user_guide",
        "model_selection",
        "robustness",
        "benchmarks_speed",
        "benchmarks_quality",
        "changelog",
    )
}

# -- Gallery -----------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Every script runs: the gallery doubles as a test that the examples work.
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("sklearn_charrnn",),
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "show_memory": False,
    "min_reported_time": 1,
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
}


# -- Command-line help, generated so it cannot drift from the parser ---------


def _write_cli_help():
    """Write ``generated/cli_help.txt``: ``charrnn --help`` and every command's."""
    # argparse wraps to the terminal width; fix it so the page is stable.
    os.environ["COLUMNS"] = "80"
    parser = build_parser()
    sections = [("charrnn --help", parser.format_help())]
    for action in parser._subparsers._group_actions:
        for name, sub in action.choices.items():
            sections.append((f"charrnn {name} --help", sub.format_help()))
    text = "\n".join(f"$ {command}\n{help_text}" for command, help_text in sections)
    out = DOCS / "generated" / "cli_help.txt"
    out.parent.mkdir(exist_ok=True)
    if not out.exists() or out.read_text() != text:
        out.write_text(text)


_write_cli_help()
