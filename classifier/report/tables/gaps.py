"""Sections 5 and 6: guideline gaps clustered by text with examples, guideline use, unused and near-duplicate guidelines."""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from ...records import Guideline
from ...rules import GAP_REASONS
from ..core import _share
from ..texts import STOPWORDS
from .common import _Context, _Row, _Tables, _truncate

_TOKEN = r"(?u)\b[^\W\d_]{3,}\b"


def _vectorizer(n_docs: int):
    """TF-IDF over words (letters only, three or more), Finnish and placeholder stop words removed."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(lowercase=True, token_pattern=_TOKEN, stop_words=sorted(STOPWORDS),
                           sublinear_tf=True, max_df=1.0 if n_docs < 10 else 0.9)


# A topic's gap texts beyond this many are summarised and clustered on an evenly spaced sample of
# this many (the rows come in a fixed order); the clusters' sizes are scaled to all the texts.
CLUSTER_SAMPLE = 2000


def _cluster_texts(texts: Sequence[str], max_clusters: int, random_state: int, n_examples: int,
                   example_chars: int, n_terms: int = 5) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Summarise texts (top terms, examples near the centroid) and cluster them with KMeans."""
    n_all = len(texts)
    if n_all > CLUSTER_SAMPLE:
        step = n_all / CLUSTER_SAMPLE
        summary, found = _cluster_sample([texts[int(i * step)] for i in range(CLUSTER_SAMPLE)], max_clusters,
                                         random_state, n_examples, example_chars, n_terms)
        for c, size in zip(found, _scaled([c["size"] for c in found], n_all)):
            c["size"] = size
        return summary, found
    return _cluster_sample(texts, max_clusters, random_state, n_examples, example_chars, n_terms)


def _scaled(sizes: list[int], total: int) -> list[int]:
    """Sizes scaled to sum to ``total`` (largest remainders get the leftover units)."""
    n = sum(sizes)
    if not n:
        return sizes
    exact = [s * total / n for s in sizes]
    out = [int(x) for x in exact]
    for i in sorted(range(len(exact)), key=lambda i: (-(exact[i] - out[i]), i))[: total - sum(out)]:
        out[i] += 1
    return out


def _cluster_sample(texts: Sequence[str], max_clusters: int, random_state: int, n_examples: int,
                    example_chars: int, n_terms: int = 5) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Summarise texts and cluster them with KMeans (all of them: see :func:`_cluster_texts`)."""
    import numpy as np

    summary: dict[str, Any] = {"top_terms": [], "examples": []}
    if not texts:
        return summary, []
    try:
        vec = _vectorizer(len(texts))
        X = vec.fit_transform(texts)
    except ValueError:  # nothing but stop words
        summary["examples"] = _pick_examples(texts, list(range(len(texts))), None, n_examples, example_chars)
        return summary, []
    terms = np.asarray(vec.get_feature_names_out())

    background = np.asarray(X.mean(axis=0)).ravel()

    def describe(idx: list[int], contrast: bool = False) -> dict[str, Any]:
        sub = X[idx]
        centroid = np.asarray(sub.mean(axis=0)).ravel()
        # a cluster is named by what sets it apart from the topic's other gaps, not by the
        # words every request of the topic uses ("sopimus", "haluaa")
        key = centroid - background if contrast else centroid
        order = np.lexsort((terms, -key))
        top = [str(terms[j]) for j in order[:n_terms] if key[j] > 0]
        sims = np.asarray(sub @ centroid).ravel()
        return {"top_terms": top,
                "examples": _pick_examples(texts, idx, sims, n_examples, example_chars)}

    everything = list(range(len(texts)))
    summary = describe(everything)
    Xc = X.tocsr()
    Xc.sort_indices()
    # distinct rows: the same nonzero terms with the same weights (faster than densifying each row)
    distinct = len({(Xc.indices[a:b].tobytes(), Xc.data[a:b].tobytes())
                    for a, b in zip(Xc.indptr[:-1], Xc.indptr[1:])}) if len(texts) <= 5000 else len(texts)
    k = min(max_clusters, len(texts) // 3, distinct)
    if k < 2:
        return summary, [dict(describe(everything), size=len(texts), indices=everything)]
    from sklearn.cluster import KMeans

    with warnings.catch_warnings(), _one_thread():
        warnings.simplefilter("ignore")
        labels = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit_predict(X)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        groups[int(lab)].append(i)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    return summary, [dict(describe(g, contrast=True), size=len(g), indices=g) for g in ordered]


def _one_thread():
    """One OpenMP thread for KMeans: on a busy machine its threads spin against each other (a
    2,000-text fit measured 4.0 s with them, 0.36 s with one), and the fit is small anyway."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()


def _pick_examples(texts: Sequence[str], idx: list[int], sims: Any, n: int, limit: int) -> list[str]:
    """Up to ``n`` distinct truncated texts, those nearest the centroid first."""
    order = list(range(len(idx)))
    if sims is not None:
        order.sort(key=lambda j: (-float(sims[j]), idx[j]))
    out: list[str] = []
    for j in order:
        t = _truncate(texts[idx[j]], limit)
        if t and t not in out:
            out.append(t)
        if len(out) >= n:
            break
    return out


def _duplicate_pairs(guidelines: Sequence[Guideline], threshold: float) -> list[tuple[int, int, float]]:
    """Index pairs of guidelines whose TF-IDF cosine (title + body) reaches ``threshold``."""
    import numpy as np

    if len(guidelines) < 2:
        return []
    docs = [f"{g.title}\n{g.body}" for g in guidelines]
    try:
        X = _vectorizer(len(docs)).fit_transform(docs)
    except ValueError:
        return []
    sim = np.asarray((X @ X.T).todense())
    out = []
    n = len(guidelines)
    for i in range(n):
        for j in range(i + 1, n):
            if sim[i, j] >= threshold - 1e-12:
                out.append((i, j, float(sim[i, j])))
    out.sort(key=lambda p: (-p[2], p[0], p[1]))
    return out


def _gap_tables(ctx: _Context, max_clusters: int, random_state: int, n_examples: int, example_chars: int) -> _Tables:
    """Section 5: requests no guideline in force covered, by topic and by text cluster, with examples."""
    total = Counter(r.topic for r in ctx.items)
    groups: dict[str, list[_Row]] = defaultdict(list)
    for r in ctx.items:
        if r.avoidable is False and r.reason in GAP_REASONS:
            groups[r.topic].append(r)
    rank = ctx.rank
    gaps, clusters = [], []
    for t in sorted(groups, key=lambda t: (-len(groups[t]), rank[t])):
        rs = groups[t]
        later = Counter(r.later_guideline_id or r.guideline_id for r in rs
                        if r.reason == "guideline_came_later" and (r.later_guideline_id or r.guideline_id))
        texts = [r.text for r in rs if r.text]
        summary, found = _cluster_texts(texts, max_clusters, random_state, n_examples, example_chars)
        gaps.append({"topic": t, "label": ctx.label(t), "n": len(rs),
                     "n_no_guideline": sum(r.reason == "no_guideline" for r in rs),
                     "n_came_later": sum(r.reason == "guideline_came_later" for r in rs),
                     "topic_n": total.get(t, 0), "gap_share": _share(len(rs), total.get(t, 0)),
                     "later_guidelines": [g for g, _ in sorted(later.items(), key=lambda x: (-x[1], x[0]))],
                     "top_terms": summary["top_terms"], "examples": summary["examples"]})
        clusters += [{"topic": t, "label": ctx.label(t), "cluster": i, "n": c["size"], "top_terms": c["top_terms"],
                      "examples": c["examples"]} for i, c in enumerate(found, 1)]
    clusters.sort(key=lambda x: (-x["n"], -len(groups[x["topic"]]), rank[x["topic"]], x["cluster"]))
    return {"gaps": (("topic", "label", "n", "n_no_guideline", "n_came_later", "topic_n", "gap_share",
                      "later_guidelines", "top_terms", "examples"), gaps),
            "gap_clusters": (("topic", "label", "cluster", "n", "top_terms", "examples"), clusters)}


def _guideline_tables(ctx: _Context, guidelines: list[Guideline] | None, threshold: float) -> _Tables:
    """Section 6: matches per guideline, guidelines never matched, near-duplicate pairs."""
    by_id = {g.id: g for g in (guidelines or [])}
    matched = Counter(r.guideline_id for r in ctx.items if r.guideline_id)
    matched_av = Counter(r.guideline_id for r in ctx.items if r.guideline_id and r.avoidable)
    matched_later = Counter(r.guideline_id for r in ctx.items
                            if r.guideline_id and r.reason == "guideline_came_later")
    use = []
    for gid, n in sorted(matched.items(), key=lambda x: (-x[1], x[0])):
        g = by_id.get(gid)
        use.append({"guideline_id": gid, "title": g.title if g else None, "topics": list(g.topics) if g else [],
                    "n": n, "share": _share(n, len(ctx.items)), "n_avoidable": matched_av.get(gid, 0),
                    "n_came_later": matched_later.get(gid, 0)})
    # Guidelines retired before the period began could not have been matched: leave them out.
    live = [g for g in (guidelines or []) if not (ctx.start and g.retired and g.retired < ctx.start)]
    unused = [{"guideline_id": g.id, "title": g.title, "family": g.family, "topics": list(g.topics),
               "published": g.published, "retired": g.retired} for g in live if not matched.get(g.id)]
    dups = []
    for i, j, sim in _duplicate_pairs(live, threshold):
        a, b = live[i], live[j]
        dups.append({"guideline_a": a.id, "title_a": a.title, "guideline_b": b.id, "title_b": b.title,
                     "similarity": sim, "shared_topics": [t for t in a.topics if t in b.topics],
                     "n_a": matched.get(a.id, 0), "n_b": matched.get(b.id, 0)})
    return {"guideline_use": (("guideline_id", "title", "topics", "n", "share", "n_avoidable", "n_came_later"), use),
            "guidelines_unused": (("guideline_id", "title", "family", "topics", "published", "retired"), unused),
            "guideline_duplicates": (("guideline_a", "title_a", "guideline_b", "title_b", "similarity",
                                      "shared_topics", "n_a", "n_b"), dups)}
