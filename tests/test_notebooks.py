"""Every notebook in notebooks/ runs top to bottom without an error.

Each notebook is executed in a fresh ``python3`` kernel with its own folder
as the working directory and matplotlib's non-interactive Agg backend; a
cell that raises fails its test with the cell's traceback. The notebooks are
stored without outputs; nothing here writes them back.
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.rglob("*.ipynb")) if NOTEBOOKS.is_dir() else []
PATHS = [p for p in PATHS if ".ipynb_checkpoints" not in p.parts]

CELL_TIMEOUT = 300  # seconds; a cold Numba cache compiles curve_fit_many in ~30


@pytest.mark.parametrize(
    "path", PATHS, ids=[p.relative_to(NOTEBOOKS).as_posix() for p in PATHS]
)
def test_notebook_runs(path, monkeypatch):
    # The kernel inherits this process's environment.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute(cwd=str(path.parent), env=dict(os.environ))
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f"{path.relative_to(NOTEBOOKS)} raised:\n{error}", pytrace=False)


def test_notebooks_are_found():
    assert PATHS, f"no notebooks under {NOTEBOOKS}"


@pytest.mark.parametrize(
    "path", PATHS, ids=[p.relative_to(NOTEBOOKS).as_posix() for p in PATHS]
)
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"cell {index} of {path.name} has outputs"
            assert cell.execution_count is None, f"cell {index} of {path.name}"
