"""The documentation site builds, and documents every public name.

``test_the_docs_build`` runs the same build as the README's docs command
(``sphinx -W -n``: warnings are errors, cross-references are nitpicky),
which executes the notebooks and the guide's code cells: a cell that raises
fails it. The docstrings' examples run as doctests with the rest of the suite
(``--doctest-modules`` in pyproject.toml).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import rprop_np

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DIRECTIVE = re.compile(r"^\.\. auto(?:function|class|data|module):: +(\S+)", re.M)


def _documented_names():
    """The objects the API reference pages document, as written there."""
    text = "\n".join(p.read_text() for p in sorted((DOCS / "api").glob("*.rst")))
    return {name.removeprefix("rprop_np.") for name in DIRECTIVE.findall(text)}


def test_every_public_name_is_in_the_api_reference():
    missing = sorted(set(rprop_np.__all__) - _documented_names())
    assert not missing, f"not documented in docs/api/*.rst: {missing}"


def test_the_docs_build(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    out = tmp_path / "html"
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # inline plots
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-q",
         "-j", "auto",  # the notebooks and pages execute in parallel
         "-b", "html", "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        capture_output=True, text=True, timeout=900, cwd=ROOT, env=env,
    )
    warnings = "\n".join(line for line in result.stderr.splitlines()
                         if "IPKernelApp" not in line)
    assert result.returncode == 0, f"sphinx-build failed:\n{warnings[-8000:]}"

    # Every public name has its own entry in the built inventory.
    from sphinx.util.inventory import InventoryFile

    with open(out / "objects.inv", "rb") as f:
        inventory = InventoryFile.load(f, "", os.path.join)
    data = getattr(inventory, "data", inventory)  # a dict, or one in .data
    entries = {name for objects in data.values() for name in objects}
    missing = [n for n in rprop_np.__all__ if f"rprop_np.{n}" not in entries]
    assert not missing, f"not in the built API reference: {missing}"

    # Every notebook is a page, and the status page lists every code.
    notebooks = [p for p in (ROOT / "notebooks").rglob("*.ipynb")
                 if ".ipynb_checkpoints" not in p.parts]
    for path in notebooks:
        page = out / "notebooks" / path.relative_to(ROOT / "notebooks")
        assert page.with_suffix(".html").exists(), f"{path} has no page"
    status_page = (out / "guide" / "stopping.html").read_text()
    for status in rprop_np.STATUS_MESSAGES:
        assert re.search(rf"<td[^>]*><p>{status}</p></td>", status_page), status


def test_the_demo_explains_its_timings_and_status_codes():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "rprop_np"], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "The first row's time includes compiling" in out
    statuses = {int(line.split()[-2]) for line in out.splitlines()
                if line.endswith(("(success)", "(failure)")) and " irprop" in line}
    for status in statuses:
        assert f"  {status}: {rprop_np.STATUS_MESSAGES[status]}" in out
