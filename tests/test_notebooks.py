"""The notebooks: stored with their outputs, showing no personal data, and running top to bottom (executed here)."""

import importlib.util
import json
from pathlib import Path

import pytest

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = ["avoidable_contacts.ipynb", "retrain_on_your_corpus.ipynb"]


def _maker():
    """notebooks/make_notebooks.py as a module (its checks, without running it)."""
    pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    spec = importlib.util.spec_from_file_location("make_notebooks", NB_DIR / "make_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_stored_with_outputs_and_no_personal_data(name):
    nb = json.loads((NB_DIR / name).read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c.get("execution_count") for c in code), "run python notebooks/make_notebooks.py"
    assert sum(bool(c.get("outputs")) for c in code) >= len(code) - 1
    assert not [o for c in code for o in c["outputs"] if o.get("output_type") == "error"]
    text = _maker().outputs_text(_as_nb(nb))
    assert "2909175" not in text  # the example mailbox's customer number in a subject
    assert _maker().personal_data(text) == []


def _as_nb(data):
    import nbformat

    return nbformat.from_dict(data)


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(name):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from classifier.model import default_model_dir

    if not (default_model_dir() / "model.json").exists():
        pytest.skip("no shipped model")
    nb = nbformat.read(NB_DIR / name, as_version=4)
    for cell in nb.cells:
        cell.pop("outputs", None) if cell.cell_type != "code" else cell.update(outputs=[], execution_count=None)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    maker = _maker()
    assert maker.personal_data(maker.outputs_text(nb)) == []
