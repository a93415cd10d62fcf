"""The package as a user installs it: a wheel built from an sdist, in a fresh venv, run from elsewhere.

No network: the test venv sees the dependencies of the environment pytest runs in through a
``.pth`` file naming that environment's site-packages (a venv's ``--system-site-packages`` would
name the base interpreter's instead, where a venv user has installed nothing), and the wheel is
installed with ``--no-deps``; the build runs without isolation.
"""

import json
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MBOX = ROOT / "corpus" / "examples" / "syyskuu-2016.mbox"

pytestmark = pytest.mark.slow


def _run(args, **kw):
    """Run a command; on failure show what it printed."""
    res = subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)
    assert res.returncode == 0, f"{args} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    tmp = tmp_path_factory.mktemp("install")
    dist = tmp / "dist"
    build = ("import sys; from setuptools import build_meta as b; "
             "print(b.build_sdist(sys.argv[1]))")
    sdist = _run([sys.executable, "-c", build, str(dist)], cwd=ROOT).stdout.strip().splitlines()[-1]
    # the wheel is built from the unpacked sdist, as pip does for an sdist or a git URL
    import tarfile

    with tarfile.open(dist / sdist) as tf:
        # the safe "data" filter where this Python has it (3.11.4 and later; Debian 12 ships 3.11.2)
        tf.extractall(tmp / "src", **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    src = next((tmp / "src").iterdir())
    wheel_cmd = "import sys; from setuptools import build_meta as b; print(b.build_wheel(sys.argv[1]))"
    whl = _run([sys.executable, "-c", wheel_cmd, str(dist)], cwd=src).stdout.strip().splitlines()[-1]
    env_dir = tmp / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    _see_running_environment(py)
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(dist / whl)])
    work = tmp / "elsewhere"
    work.mkdir()
    return py, env_dir / "bin" / "tukipyynto", work, dist / whl


def _running_site_dirs() -> list[str]:
    """The site-packages folders of the interpreter running the tests (a venv's own and, if it has them, its base's)."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        dirs.append(site.getusersitepackages())
    return [d for d in dirs if os.path.isdir(d)]


def _see_running_environment(py: Path) -> None:
    """Let the venv of ``py`` import what the running interpreter has installed, after its own packages.

    Plain folder lines in a ``.pth`` file go to the end of ``sys.path``: the wheel installed into the
    venv's own site-packages comes first, and an editable install of this checkout (a ``.pth`` hook
    in the running environment, not processed from a plain folder line) is not seen.
    """
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    Path(purelib, "_running_environment.pth").write_text("\n".join(_running_site_dirs()) + "\n", encoding="utf-8")


def test_wheel_carries_the_default_model_and_catalogue(installed):
    import zipfile

    names = set(zipfile.ZipFile(installed[3]).namelist())
    for f in ("model.json", "weights.npz", "vocab.json", "taxonomy.json", "guidelines.jsonl"):
        assert f"classifier/default_model/{f}" in names


def test_wheel_carries_the_review_page(installed):
    import zipfile

    names = set(zipfile.ZipFile(installed[3]).namelist())
    for f in ("index.html", "review.js", "review.css"):
        assert f"classifier/review/static/{f}" in names


def test_installed_library_loads_from_another_directory(installed):
    py, _, work, _ = installed
    code = ("import classifier, json; m = classifier.load(); a = classifier.assess(['Vahvistus ei tullut "
            "perille, lähetättekö uudelleen?'])[0]; print(json.dumps([classifier.__file__, str(m.path), a.topic]))")
    out = json.loads(_run([str(py), "-c", code], cwd=work, env={**os.environ, "PYTHONPATH": ""}).stdout)
    assert str(work.parent / "venv") in out[0] and str(work.parent / "venv") in out[1]
    assert out[2] == "vahvistuksen_uudelleenlahetys"


def test_installed_console_script_labels_a_mailbox(installed):
    _, exe, work, _ = installed
    _run([str(exe), "label", str(MBOX), "--out", "out.jsonl"], cwd=work, env={**os.environ, "PYTHONPATH": ""})
    rows = [json.loads(line) for line in (work / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 156
    labelled = [r for r in rows if r["status"] == "ok"]
    assert labelled and all(r["predicted"]["topic"] != "uncertain" for r in labelled)
    assert any(r["predicted"].get("guideline_id") for r in labelled)
