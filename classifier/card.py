"""Model card (README.md of a model directory), written from the model's own metadata."""

from __future__ import annotations

from typing import Any

__all__ = ["model_card"]


def model_card(model) -> str:
    """Markdown model card: purpose, training data, dev figures and limits."""
    m: dict[str, Any] = model.meta
    d = m.get("dev_metrics", {})
    td = m.get("training_data", {})
    lines = [
        "# Topic model for Finnish support requests",
        "",
        "Classifies internal support requests (tukipyynnöt) from first-line customer service to a back "
        "office into the topics of its taxonomy, with calibrated confidence and abstention. Written by "
        "`tukipyynto train`; load with `classifier.load(PATH)`.",
        "",
        "## Training data",
        f"- files: {', '.join(td.get('files', []))}; dev: {', '.join(td.get('dev_files', [])) or 'hold-out'}",
        f"- records: {td.get('n_train')} train, {td.get('n_dev')} dev; sha256 of the data `{td.get('sha256', '')[:16]}…`",
        f"- file weights: {td.get('file_weights') or 'none'}",
        f"- reviewed requests added: {td.get('reviewed') or 'none'}",
        f"- labels ({len(m.get('labels', []))}): {', '.join(m.get('labels', []))}",
        "",
        "## Settings",
        f"- processing: {m.get('processing')}",
        f"- parameters: {m.get('params')}",
        f"- abstention threshold: {m.get('threshold'):.3f} (dev accuracy target {m.get('target_accuracy')})",
        "",
        "## Figures on the dev split (not the training data; the temperature and threshold were fitted on it)",
        f"- accuracy {d.get('accuracy')}, macro-F1 {d.get('macro_f1')}, expected calibration error {d.get('ece')}",
        f"- abstention rate {d.get('abstention_rate')}, accuracy on the rest {d.get('accuracy_on_kept')}",
        "",
        "| topic | precision | recall | F1 | n |",
        "|---|---|---|---|---|",
    ]
    for lab, v in d.get("per_class", {}).items():
        lines.append(f"| {lab} | {v['precision']} | {v['recall']} | {v['f1']} | {v['support']} |")
    if "test_metrics" in m:
        t = m["test_metrics"]["topic"]
        lines += ["", "## Figures on the held-out test split (never used for training or tuning)",
                  f"- topic: accuracy {t.get('accuracy')}, macro-F1 {t.get('macro_f1')}, ECE {t.get('ece')}, "
                  f"abstention {t.get('abstention_rate')}, accuracy on the rest {t.get('accuracy_on_kept')}"]
        if "guidelines" in m["test_metrics"]:
            g, a = m["test_metrics"]["guidelines"], m["test_metrics"]["avoidable"]
            lines += [f"- guideline: top-1 {g['top1_accuracy']}, top-3 {g['top3_accuracy']}, coverage {g['coverage']}",
                      f"- avoidable: accuracy {a['accuracy']}, precision {a['precision']}, recall {a['recall']}, F1 {a['f1']}"]
    if "transfer_metrics" in m:
        tm = m["transfer_metrics"]
        t = tm["topic"]
        lines += ["", f"## Figures on the transfer set `{tm.get('source')}` (another organisation's catalogue and "
                  "independently written requests; never trained or tuned on)",
                  f"- topic: accuracy {t.get('accuracy')}, macro-F1 {t.get('macro_f1')}, ECE {t.get('ece')}"]
        if "guidelines" in tm:
            g, a = tm["guidelines"], tm["avoidable"]
            sh = a.get("share", {})
            lines += [f"- guideline: top-1 {g['top1_accuracy']}, top-3 {g['top3_accuracy']}, coverage {g['coverage']}",
                      f"- avoidable: accuracy {a['accuracy']} (constant-answer baseline {a.get('majority_baseline')}), "
                      f"precision {a['precision']}, recall {a['recall']}, F1 {a['f1']}, probability ECE "
                      f"{a.get('probability_ece')}",
                      f"- avoidable share: true {sh.get('true')}, estimated {sh.get('estimate')} "
                      f"(95 % interval {sh.get('ci_low')}–{sh.get('ci_high')}), error {sh.get('error')}"]
    if "matcher" in m:
        mt = m["matcher"]
        lines += ["", "## Guideline matcher",
                  f"- learned on catalogue `{mt.get('catalogue')}`; coverage threshold {mt['coverage_threshold']:.3f}",
                  f"- learned on dev and out-of-fold training records: {mt.get('fit_report')}"]
    if "semantic" in m:
        lines += _semantic_section(m)
    lines += ["", "## Limits",
              "- The shipped default model is trained on a synthetic corpus written for this project "
              "(hand-written and generated requests), not on real customer data. Real requests differ: "
              "retrain on your own labelled requests (`tukipyynto train`).",
              "- Swedish or English requests and near-empty texts are flagged, not classified confidently.",
              ""]
    return "\n".join(lines)


def _semantic_section(m: dict[str, Any]) -> list[str]:
    """The semantic head: its embedder, how it was chosen, and the figures with and without it."""
    sem, e = m["semantic"], m["semantic"]["embedder"]
    rep = sem.get("report") or {}
    lines = ["", "## Semantic view (`--semantic`)",
             f"- embedder: {e.get('package')} {e.get('version')} ({e.get('base_model')}, variant {e.get('variant')}, "
             f"4-bit), weights `{e.get('weights_file')}` sha256 `{e.get('weights_sha256')}`, {e.get('dim')} dimensions, "
             f"prefix `{e.get('prefix')}`, texts cut to {sem.get('max_chars')} characters; loading refuses another "
             "embedder",
             f"- head: logistic regression on the embeddings (C {rep.get('C')}, chosen by out-of-fold log-loss "
             f"{rep.get('oof_log_loss_by_C')}), fitted on {rep.get('n_records')} full-weight training records",
             f"- blend: softmax(a × lexical margins + b × log p(semantic) + c), {_blend_words(sem['blend'])}, "
             f"fitted by log-loss on out-of-fold predictions of {rep.get('n_out_of_fold')} records "
             f"({rep.get('folds')} folds); its form chosen by cross-validated log-loss {rep.get('blend_cv_log_loss')}",
             f"- cascade: requests with lexical confidence below {sem['cascade_threshold']:.2f} are embedded "
             f"({rep.get('oof_embedded_share_cascade')} of the out-of-fold records; the threshold is the lowest at "
             f"which the cascade loses at most {rep.get('max_accuracy_loss_of_cascade')} accuracy against embedding all)",
             f"- review thresholds: cascade {sem['thresholds']['cascade']:.3f}, all {sem['thresholds']['all']:.3f} "
             f"(out-of-fold accuracy target {m.get('target_accuracy')})",
             f"- out-of-fold accuracy: {rep.get('oof_accuracy')}"]
    sm = m.get("semantic_metrics") or {}
    rows = []
    for split, lexical in (("dev", m.get("dev_metrics")), ("test", (m.get("test_metrics") or {}).get("topic")),
                           ("transfer", (m.get("transfer_metrics") or {}).get("topic"))):
        if not lexical or split not in sm:
            continue
        views = [("lexical", lexical, (m.get(f"{split}_metrics") or {}).get("avoidable"))]
        for mode in ("cascade", "all"):
            r = sm[split].get(mode) or {}
            views.append((mode, r.get("topic", r), r.get("avoidable")))
        for view, t, a in views:
            rows.append(f"| {split} | {view} | {t.get('accuracy')} | {t.get('macro_f1')} | {t.get('ece')} | "
                        f"{t.get('embedded_share', 0.0)} | {(a or {}).get('accuracy', '–')} |")
    if rows:
        lines += ["", "| split | view | accuracy | macro-F1 | ECE | embedded | avoidable accuracy |",
                  "|---|---|---|---|---|---|---|", *rows]
    return lines


def _blend_words(blend: dict[str, Any]) -> str:
    """The blend's weights in words: one pair for all topics, or the range per topic."""
    a, b, c = blend["lexical_weight"], blend["semantic_weight"], blend["bias"]
    if blend.get("method") == "shared":
        return f"one pair for all topics: a = {a[0]:.3f}, b = {b[0]:.3f}"
    return (f"per topic: a {min(a):.2f}–{max(a):.2f}, b {min(b):.2f}–{max(b):.2f}, c {min(c):.2f}–{max(c):.2f} "
            "(in semantic.json)")
