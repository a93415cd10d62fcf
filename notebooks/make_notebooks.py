"""Write the notebooks and run them, so that they are stored with their outputs.

    python notebooks/make_notebooks.py        # from the repository root; needs the `notebooks` extra

Every output is checked for personal data before it is written (the redactor must find nothing).
"""

import sys
from pathlib import Path

import nbformat as nbf
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

def nb(cells):
    n = nbf.v4.new_notebook()
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    n.cells = [nbf.v4.new_markdown_cell(c[1]) if c[0] == "md" else nbf.v4.new_code_cell(c[1]) for c in cells]
    return n

a = nb([
("md", """# Avoidable contacts: the thesis's study, automatic

Härkönen (2018) read 156 September 2016 email requests and listened to 40 calls by hand to find
out what the outsourced customer service asked the back office, when, and how much of it was
avoidable. This notebook reproduces that study on the shipped example data through the
library's public API: ingest the mailbox and the call notes, label them, and build the report."""),
("code", """import json, tempfile
from pathlib import Path
import classifier
from classifier.ingest import iter_contacts
from classifier.label import label_inputs
from classifier.report import build_report, read_labelled, write_report
from classifier.io import read_taxonomy, read_guidelines

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
EXAMPLES = ROOT / "corpus" / "examples"
sorted(p.name for p in EXAMPLES.iterdir())"""),
("md", "## 1. Ingest: one thread = one contact\n\nThe mbox holds first messages and the back office's replies; threads are grouped so that each email thread counts once, as in the thesis."),
("code", """contacts = list(iter_contacts([EXAMPLES / "syyskuu-2016.mbox"]))
n_messages = sum(c.n_messages for c in contacts)
print(f"{len(contacts)} threads from {n_messages} messages; errors: {sum(bool(c.error) for c in contacts)}")
# contacts hold the raw text: show it only redacted (identity codes, phone numbers, customer numbers ...)
from classifier.redact import redact
c = next(c for c in contacts if c.n_messages > 1)
print(c.sent_at.isoformat(), redact(c.subject), c.n_messages, c.flags)"""),
("md", "## 2. Label with the shipped model and guideline catalogue\n\nEvery written row is redacted (identity codes, phone numbers, emails, IBANs, customer numbers)."),
("code", """out = Path(tempfile.mkdtemp()) / "labelled.jsonl"
summary = label_inputs([EXAMPLES / "syyskuu-2016.mbox", EXAMPLES / "puhelut-syyskuu-2016.csv"], out, with_text=True)
summary.to_dict()"""),
("code", """rows = read_labelled([out])
r = rows[0]
{k: r[k] for k in ("id", "channel", "sent_at", "n_messages")} | {"predicted": {k: r["predicted"][k] for k in ("topic", "confidence", "guideline_id", "avoidable", "reason")}}"""),
("md", "## 3. The report\n\nThe thesis's table 2 (email send times) must read 117 / 30 / 9 of 156."),
("code", """tax = read_taxonomy()
report = build_report(rows, tax, read_guidelines())
report.send_times"""),
("code", """email_times = {r["category"]: r["n"] for r in report.send_times}
email_times"""),
("md", "Topics per channel (the thesis's figures 5 and 6):"),
("code", """[(r["label"], r["email_n"], r["phone_n"]) for r in report.topics]"""),
("md", "Avoidable contacts with a 95 % interval. The thesis's 7.5 % came from 40 calls: the interval shows how little 40 calls can tell."),
("code", """from classifier.report import wilson_interval
print("thesis, 3 of 40 calls:", [round(x, 3) for x in wilson_interval(3, 40)])
report.avoidable_overall"""),
("code", """paths = write_report(report, out.parent / "report")
from IPython.display import Image, display
display(Image(filename=str(paths["png:send_times"])))
display(Image(filename=str(paths["png:avoidable_by_topic"])))"""),
("md", "Guideline gaps (what to write next) and guidelines never used (candidates to retire):"),
("code", """[(g["label"], g["n"]) for g in report.gaps][:5], [g["guideline_id"] for g in report.guidelines_unused][:10]"""),
])
b = nb([
("md", """# Retrain on your own corpus

An organisation's own labelled requests beat any shipped model. This notebook loads a labelled
JSON Lines corpus with Hugging Face `datasets`, trains the library's estimator, evaluates it on
held-out data, inspects errors, saves and reloads the model, and labels a `Dataset` with it.
Here the shipped corpus stands in for yours."""),
("code", """import warnings
warnings.filterwarnings("ignore", message="IProgress not found")  # datasets' progress bars in a plain kernel
from pathlib import Path
import numpy as np
from classifier.io import load_dataset
from classifier.classify import TopicClassifier

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
train = load_dataset(ROOT / "corpus" / "train.jsonl")
dev = load_dataset(ROOT / "corpus" / "dev.jsonl").shuffle(seed=0)  # mixed topics in both halves
train"""),
("md", "Train: any label strings work; the estimator follows the scikit-learn contract."),
("code", """clf = TopicClassifier(char_ngrams=True).fit(train["text"], train["topic"])
clf.recalibrate(dev["text"][:len(dev) // 2], dev["topic"][:len(dev) // 2])   # temperature on held-out data
clf.choose_threshold(dev["text"][:len(dev) // 2], dev["topic"][:len(dev) // 2], target_accuracy=0.9)"""),
("code", """from sklearn.metrics import classification_report
X_eval, y_eval = dev["text"][len(dev) // 2:], dev["topic"][len(dev) // 2:]
pred = clf.predict(X_eval)
print(classification_report(y_eval, pred, zero_division=0))"""),
("md", "Inspect errors, with the words that pushed each one:"),
("code", """wrong = [(x, t, p) for x, t, p in zip(X_eval, y_eval, pred) if t != p]
for x, t, p in wrong[:3]:
    e = clf.explain(x, k=5)
    print(f"gold {t} / predicted {p}\\n  {x[:120]!r}\\n  toward: {e['toward']}\\n  away: {e['away']}\\n")"""),
("md", "Abstention: below the threshold the prediction is `uncertain`, with the top three candidates."),
("code", """for p in clf.predict_detailed(X_eval[:5]):
    print(p.topic, round(p.confidence, 3), p.candidates[:2], p.flags)"""),
("md", "Save, verify, reload: the loader checks the sha256 of every file and reads only arrays and JSON (no pickle)."),
("code", """import tempfile
from classifier.model import Model, save_model, load
d = save_model(Model(clf, {"note": "notebook model"}), Path(tempfile.mkdtemp()) / "my-model")
again = load(d)
assert np.array_equal(again.classifier.predict_proba(X_eval[:10]), clf.predict_proba(X_eval[:10]))
sorted(p.name for p in d.iterdir())"""),
("md", "Label a `Dataset` you already hold (topics only here: `guidelines=False`):"),
("code", """from classifier.label import label_dataset
labelled = label_dataset(dev.select(range(20)), model_dir=d, guidelines=False)
labelled.select_columns(["topic", "predicted.topic", "predicted.confidence", "predicted.reason"]).to_pandas().head()"""),
])


def outputs_text(notebook) -> str:
    """Every text a notebook's stored outputs show (stream, results, errors)."""
    parts = []
    for cell in notebook.cells:
        for o in cell.get("outputs", []):
            texts = [o.get("text", "")] + [v for k, v in (o.get("data") or {}).items() if k.startswith("text/")]
            parts += [t if isinstance(t, str) else "".join(t) for t in texts]  # stored as one string or lines
    return "\n".join(parts)


def personal_data(text: str) -> list[str]:
    """What the redactor would hide in ``text`` (empty when nothing)."""
    from classifier.redact import Redactor

    r = Redactor()
    return [line for line in text.splitlines() if r.redact(line) != line]


if __name__ == "__main__":
    for name, notebook in (("avoidable_contacts.ipynb", a), ("retrain_on_your_corpus.ipynb", b)):
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
        found = personal_data(outputs_text(notebook))
        if found:
            sys.exit(f"{name}: an output shows personal data, not written: {found[:3]}")
        nbf.write(notebook, HERE / name)
        print(f"{name}: written with outputs")
