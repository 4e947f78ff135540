"""Every notebook in notebooks/ runs top to bottom, and is stored clean.

Each ``notebooks/*.ipynb`` is executed with a real IPython kernel running this interpreter (the
one with benefitshare installed), from the notebooks folder, with a non-interactive matplotlib
backend; any cell that raises fails the test. Notebooks are stored without outputs or execution
counts, so a diff shows only what someone wrote.
"""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
KERNEL_NAME = "python3"
CELL_TIMEOUT_SECONDS = 300


class _ThisInterpreterKernels(KernelSpecManager):
    """Resolves ``python3`` to an IPython kernel on ``sys.executable``.

    A ``python3`` kernelspec installed elsewhere on the machine (another Python, without
    benefitshare) would otherwise take precedence; this way the test needs nothing beyond
    ``pip install -e ".[dev]"``.
    """

    def get_kernel_spec(self, kernel_name):
        if kernel_name != KERNEL_NAME:
            return super().get_kernel_spec(kernel_name)
        from ipykernel.kernelspec import RESOURCES, get_kernel_dict

        spec = get_kernel_dict()  # argv starts with sys.executable
        return self.kernel_spec_class(resource_dir=RESOURCES, **spec)


def _ids(path: Path) -> str:
    return path.name


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOKS_DIR.name}/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # inherited by the kernel process
    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=_ThisInterpreterKernels())
    client = nbclient.NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell and its traceback, if a cell fails


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_stored_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them"
