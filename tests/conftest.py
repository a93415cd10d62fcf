"""Shared fixtures: small hand-made taxonomy, catalogue and corpus, and a small trained model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"

TAXONOMY = {
    "name": "test",
    "categories": [
        {"id": "uusi", "label_fi": "Uusi sopimus", "label_en": "New contract", "back_office_remit": False, "misrouted": False},
        {"id": "vahvistus", "label_fi": "Vahvistus", "label_en": "Confirmation", "back_office_remit": True, "misrouted": False},
        {"id": "vaara", "label_fi": "Väärä vastaanottaja", "label_en": "Wrong recipient", "back_office_remit": False, "misrouted": True},
    ],
}
GUIDELINES = [
    {"id": "G-1", "title": "Uuden sopimuksen tekeminen", "body": "Kun asiakas muuttaa, tee uusi sopimus uudelle osoitteelle. Valitse tuote ja aloituspäivä.",
     "family": "jarjestelma_ja_prosessi", "topics": ["uusi"], "published": "2016-03-01", "retired": None},
    {"id": "G-2", "title": "Vahvistuksen lähettäminen", "body": "Sopimusvahvistuksen uudelleenlähetys hoidetaan sopimustiimissä.",
     "family": "jarjestelma_ja_prosessi", "topics": ["vahvistus"], "published": "2016-01-01", "retired": None},
    {"id": "G-3", "title": "Laskutusasiat laskutustiimille", "body": "Laskut, maksuajat ja perintä kuuluvat laskutustiimille.",
     "family": "jarjestelma_ja_prosessi", "topics": ["vaara"], "published": "2016-01-01", "retired": "2016-06-30"},
]


@pytest.fixture(autouse=True, scope="session")
def _text_store(tmp_path_factory):
    """Texts kept for the review page go to a temporary store, not under ~/.local/share (module fixtures too)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUKIPYYNTO_TEXT_STORE", str(tmp_path_factory.getbasetemp() / "text-store"))
        yield


@pytest.fixture(autouse=True)
def _id_key(monkeypatch):
    """A fixed key for hashing ids in output rows, so no test writes a key file under ~/.config."""
    monkeypatch.setenv("TUKIPYYNTO_ID_KEY", "test-key")


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory) -> Path:
    """One embedding cache file for the session: each text is embedded once, and nothing goes under ~/.cache."""
    return tmp_path_factory.mktemp("embedding_cache") / "tukipyynto" / "embeddings.sqlite3"


@pytest.fixture(autouse=True)
def _embedding_cache(monkeypatch, embedding_cache):
    monkeypatch.setenv("TUKIPYYNTO_EMBEDDING_CACHE", str(embedding_cache))


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    """A folder with taxonomy.json and guidelines.jsonl of three topics."""
    (tmp_path / "taxonomy.json").write_text(json.dumps(TAXONOMY, ensure_ascii=False), encoding="utf-8")
    write_jsonl(tmp_path / "guidelines.jsonl", GUIDELINES)
    return tmp_path


@pytest.fixture(scope="session")
def corpus_model(tmp_path_factory):
    """A model trained on the shipped corpus's hand-written train split (dev split for the threshold)."""
    if not (CORPUS / "train.jsonl").exists():
        pytest.skip("corpus/train.jsonl not built")
    from classifier.model import save_model
    from classifier.training import train_model

    model = train_model([CORPUS / "train.jsonl"], [CORPUS / "dev.jsonl"], CORPUS / "taxonomy.json",
                        CORPUS / "guidelines.jsonl", target_accuracy=0.9, calibration_data="dev")
    out = tmp_path_factory.mktemp("model")
    save_model(model, out)
    return out


TINY_TEXTS = {
    "uusi": ["Asiakas muuttaa uuteen osoitteeseen ja tarvitsee uuden sopimuksen", "Uusi asiakas haluaa tehdä sähkösopimuksen",
             "Miten teen sopimuksen uudelle asunnolle muuton jälkeen", "Asiakas muuttaa ensi kuussa, sopimus uuteen kohteeseen",
             "Uuden sopimuksen aloituspäivä ja tuotteen valinta", "Muuttava asiakas tarvitsee sopimuksen uuteen osoitteeseen"],
    "vahvistus": ["Lähettäkää sopimusvahvistus uudelleen asiakkaalle", "Asiakas ei saanut vahvistusta, lähetättekö uuden",
                  "Vahvistus hukkui postissa, pyydän uudelleenlähetystä", "Sopimusvahvistus uudestaan sähköpostiin",
                  "Asiakkaalle uusi vahvistuskirje, edellinen meni väärään osoitteeseen", "Voisitteko postittaa vahvistuksen uudelleen"],
    "vaara": ["Asiakkaan lasku on liian suuri ja hän haluaa maksuaikaa", "Laskun eräpäivän siirto ja maksumuistutus",
              "Perintäkirje tuli vaikka lasku on maksettu", "Asiakas kysyy laskun erittelystä ja maksusuunnitelmasta",
              "Lasku tuli kahteen kertaan, maksuasia", "Maksuajan pidennys laskulle"],
}


SIGNS = {"a": "t. Anna", "b": "-Pekka / asiakaspalvelu", "c": "Ystävällisin terveisin Kaisa"}
GID = {"uusi": "G-1", "vahvistus": "G-2", "vaara": "G-3"}


def writer_rows(writer: str, labelled: bool) -> list[dict]:
    """Every tiny text once, signed by ``writer``; labelled against the catalogue or with a topic only."""
    rows = []
    for topic, texts in TINY_TEXTS.items():
        for k, t in enumerate(texts):
            r = {"id": f"{writer}-{topic}-{k}", "writer": writer, "channel": "email",
                 "sent_at": "2016-09-05T10:00:00+03:00", "subject": None, "text": f"{t}. {SIGNS[writer]}", "topic": topic}
            if labelled:
                # a guideline for half of them, none for the other half (uncovered)
                r["guideline_id"] = GID[topic] if k % 2 == 0 else None
                r["avoidable"] = topic == "vaara" or (topic == "uusi" and k % 2 == 0)
            rows.append(r)
    return rows


@pytest.fixture
def writers_dir(tiny_dir):
    """A tiny corpus of three writers: two labelled against the catalogue (train, dev), one with topics only."""
    write_jsonl(tiny_dir / "train.jsonl", writer_rows("a", True))
    write_jsonl(tiny_dir / "dev.jsonl", writer_rows("b", True))
    write_jsonl(tiny_dir / "train_topic_only.jsonl", writer_rows("c", False))
    return tiny_dir


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A small model over the three test topics, with the test taxonomy stored in it."""
    from classifier.classify import TopicClassifier
    from classifier.model import Model, save_model

    X = [t for ts in TINY_TEXTS.values() for t in ts] * 2
    y = [lab for lab, ts in TINY_TEXTS.items() for _ in ts] * 2
    clf = TopicClassifier(cv=2, threshold=0.0).fit(X, y)
    clf.threshold_ = 0.0
    meta = {"taxonomy": TAXONOMY["categories"], "taxonomy_name": "test",
            "matcher": {"features": ["bm25_rel", "bm25_q", "cosine", "title_overlap", "topic_prob", "topic_top", "rank_inv", "covered_share"],
                        "coef": [2.0, 1.0, 4.0, 1.0, 3.0, 1.0, 1.0, 1.0], "intercept": -5.5, "coverage_threshold": 0.5}}
    d = tmp_path_factory.mktemp("tiny_model")
    save_model(Model(clf, meta), d)
    return d


def pytest_addoption(parser):
    parser.addoption("--quick", action="store_true", default=False,
                     help="skip tests marked slow (training models, building wheels, clusters)")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--quick"):
        return
    skip = pytest.mark.skip(reason="slow test; run without --quick")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _chromium() -> str | None:
    """Debian's chromium (pip packages cannot fetch their own browsers here), or None."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium driven by Playwright; the test is skipped when either is missing."""
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium executable found (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()
