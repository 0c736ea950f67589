"""Sphinx configuration of the rprop_np documentation.

Build it with ``python -m sphinx -W -n docs docs/_build/html`` from the
repository root (``tests/test_docs.py`` runs the same build in CI). The
notebooks in ``notebooks/`` are copied into ``docs/notebooks/`` and executed
by MyST-NB on every build; a notebook that raises fails the build.
"""

import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

from sphinx.pycode import ModuleAnalyzer  # noqa: E402

import rprop_np  # noqa: E402
from rprop_np import _stopping  # noqa: E402

project = "rprop_np"
author = "rprop_np developers"
copyright = "2026, rprop_np developers"
version = release = rprop_np.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.extlinks",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]

# _generated/ holds files written below for {include}, not pages of their own.
exclude_patterns = ["_build", "_generated", "**.ipynb_checkpoints"]
html_theme = "pydata_sphinx_theme"
html_title = "rprop_np"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    # Notebook code and printed tables run to ~100 columns: their pages give
    # the width of the "on this page" column to the content.
    "secondary_sidebar_items": {"notebooks/**": []},
}
html_show_sourcelink = False
# A page with no sub-pages has nothing for the section navigation to list.
html_sidebars = {"getting_started": []}

# The docstrings' references cite their DOIs with :doi:`...`.
extlinks = {"doi": ("https://doi.org/%s", "doi:%s")}

# numpydoc renders the docstrings; the methods and properties of Rprop are
# documented by autodoc's :members: on its page, not by numpydoc's tables.
numpydoc_show_class_members = False
autosummary_generate = False
# The docstrings' Parameters give the types; the signatures stay short.
autodoc_typehints = "none"
# `name` in a docstring links to it when Sphinx can import it, and is plain
# emphasis otherwise (parameter names).
default_role = "autolink"

# Nitpicky cross-references, except to other projects: the build must not
# depend on the network (tests/test_docs.py runs it in CI), so intersphinx is
# not used and names of NumPy, SciPy, torch, Numba, Dask and CuPy stay
# unlinked.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|torch|numba|dask|cupy)(\..*)?"),
]

# MyST-NB: the notebooks and the guide's code cells run on every build, and a
# cell that raises fails it.
myst_enable_extensions = ["dollarmath"]
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_execution_show_tb = True
# A cell that prints line by line shows one output block, not one per line.
nb_merge_streams = True


def _copy_notebooks():
    """Copy ``notebooks/`` (without outputs) into the source tree."""
    target = DOCS / "notebooks"
    shutil.rmtree(target, ignore_errors=True)
    source = ROOT / "notebooks"
    if source.is_dir():
        shutil.copytree(source, target,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.py[co]",
                                                      "__pycache__"))


def _status_table():
    """The table of status codes, written from ``rprop_np.STATUS_MESSAGES``."""
    rows = ["| status | success | message |", "| ---: | --- | --- |"]
    for status, text in sorted(rprop_np.STATUS_MESSAGES.items()):
        success = "yes" if status in _stopping.SUCCESS else "no"
        text = text.replace("|", "\\|")
        rows.append(f"| {status} | {success} | {text} |")
    out = DOCS / "_generated"
    out.mkdir(exist_ok=True)
    (out / "status_table.md").write_text("\n".join(rows) + "\n")


def _constant_docstring(app, what, name, obj, options, lines):
    """Give a re-exported constant the docstring written where it is defined.

    autodoc reads an attribute's docstring from the module it documents it in
    (``rprop_np/__init__.py``), which only imports ``STATUS_MESSAGES`` and
    ``VARIANTS``; without this they would show the docstring of dict or tuple.
    """
    if what != "data" or not name.startswith("rprop_np."):
        return
    short = name.rsplit(".", 1)[1]
    for module_name, module in sorted(sys.modules.items()):
        if module_name.startswith("rprop_np._") and getattr(module, short, None) is obj:
            docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
            if ("", short) in docs:
                lines[:] = list(docs["", short])
                return


def setup(app):
    app.connect("autodoc-process-docstring", _constant_docstring)


_copy_notebooks()
_status_table()
