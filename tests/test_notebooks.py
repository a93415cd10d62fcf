"""The notebooks run top to bottom (executed, not only stored)."""

from pathlib import Path

import pytest

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["avoidable_contacts.ipynb", "retrain_on_your_corpus.ipynb"])
def test_notebook_executes(name):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from classifier.model import default_model_dir

    if not (default_model_dir() / "model.json").exists():
        pytest.skip("no shipped model")
    nb = nbformat.read(NB_DIR / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
