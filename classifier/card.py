"""Model card (README.md of a model directory), written from the model's own metadata."""

from __future__ import annotations

from typing import Any

__all__ = ["model_card"]


def _per_class_table(d: dict[str, Any]) -> list[str]:
    """Per-topic precision / recall / F1 rows."""
    lines = ["| topic | precision | recall | F1 | n |", "|---|---|---|---|---|"]
    for lab, v in d.get("per_class", {}).items():
        lines.append(f"| {lab} | {v['precision']} | {v['recall']} | {v['f1']} | {v['support']} |")
    return lines


def model_card(model) -> str:
    """Markdown model card: purpose, training data, held-out figures and limits."""
    m: dict[str, Any] = model.meta
    td = m.get("training_data", {})
    tc = m.get("training_config", {})
    oof = "oof_metrics" in m
    used = [f for f, w in (td.get("file_weights") or {}).items() if w != 0]
    left = [f for f, w in (td.get("file_weights") or {}).items() if w == 0]
    lines = [
        "# Topic model for Finnish support requests",
        "",
        "Classifies internal support requests (tukipyynnöt) from first-line customer service to a back "
        "office into the topics of its taxonomy, with calibrated confidence and abstention. Written by "
        "`tukipyynto train`; load with `classifier.load(PATH)`.",
        "",
        "## Training data",
    ]
    if m.get("command"):
        lines.append(f"- command: `{m['command']}`")
    lines += [
        f"- files: {', '.join(td.get('files', []))}; dev: "
        + (f"{', '.join(td.get('dev_files', []))} (held out)" if td.get("dev_files") else
           ("none held out (dev files are training data)" if oof else "hold-out")),
        f"- records: {td.get('n_train')} train, {td.get('n_dev')} dev; sha256 of the data `{td.get('sha256', '')[:16]}…`",
        f"- file weights: {({f: w for f, w in td.get('file_weights', {}).items() if f in used}) or 'none'}"
        + (f"; left out (weight 0): {', '.join(left)}" if left else ""),
        f"- records labelled against the catalogue (the guideline matcher's data): {td.get('n_guideline_labelled', '?')}",
    ]
    if td.get("writers"):
        lines.append(f"- writers ({len(td['writers'])}): " + ", ".join(f"{w} {n}" for w, n in td["writers"].items()))
    lines += [
        f"- reviewed requests added: {td.get('reviewed') or 'none'}",
        f"- labels ({len(m.get('labels', []))}): {', '.join(m.get('labels', []))}",
        "",
        "## Settings",
        f"- processing: {m.get('processing')}",
        f"- parameters: {m.get('params')}",
        f"- review threshold: {m.get('threshold'):.3f}, probability temperature: "
        f"{m.get('temperature') if m.get('temperature') is None else round(m['temperature'], 4)} "
        f"(fitted on {'out-of-fold predictions' if oof else 'the dev split'}; accuracy target {m.get('target_accuracy')})",
    ]
    if tc:
        lines.append(f"- settings searched: {'yes (table below)' if tc.get('search') else 'no'}")
    lines.append("")
    if oof:
        d = m["oof_metrics"]
        lines += [f"## Out-of-fold figures ({d.get('scheme')}; each record predicted by a model that never saw "
                  "its writer; the temperature and threshold were fitted on these predictions)",
                  f"- accuracy {d.get('accuracy')}, macro-F1 {d.get('macro_f1')}, expected calibration error {d.get('ece')}",
                  f"- abstention rate {d.get('abstention_rate')}, accuracy on the rest {d.get('accuracy_on_kept')}"]
        w = d.get("writers")
        if w:
            lines += [f"- macro-F1 per held-out writer: mean {w['macro_f1_mean']}, lowest {w['macro_f1_min']} "
                      f"({w['worst_writer']})", "", "| held-out writer | n | accuracy | macro-F1 |", "|---|---|---|---|"]
            lines += [f"| {k} | {v['n']} | {v['accuracy']} | {v['macro_f1']} |" for k, v in w["per_writer"].items()]
        lines += [""] + _per_class_table(d)
    else:
        d = m.get("dev_metrics", {})
        lines += ["## Figures on the dev split (not the training data; the temperature and threshold were fitted on it)",
                  f"- accuracy {d.get('accuracy')}, macro-F1 {d.get('macro_f1')}, expected calibration error {d.get('ece')}",
                  f"- abstention rate {d.get('abstention_rate')}, accuracy on the rest {d.get('accuracy_on_kept')}",
                  ""] + _per_class_table(d)
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
    if m.get("search"):
        lines += ["", "## Settings searched (training writers only; the test split and transfer set took no part)",
                  "| parameters | file weights | scheme | macro-F1 mean over writers | lowest | pooled |", "|---|---|---|---|---|---|"]
        for r in m["search"]:
            lines.append(f"| {r['params']} | {r.get('file_weights') or '-'} | {r.get('scheme')} | "
                         f"{r.get('macro_f1_mean', '-')} | {r.get('macro_f1_min', '-')} | {r.get('macro_f1')} |")
    if "matcher" in m:
        mt = m["matcher"]
        lines += ["", "## Guideline matcher",
                  f"- learned on catalogue `{mt.get('catalogue')}`; coverage threshold {mt['coverage_threshold']:.3f}",
                  f"- learned on {'out-of-fold predictions of the records labelled against the catalogue' if oof else 'dev and out-of-fold training records'}: "
                  f"{mt.get('fit_report')}"]
    if "semantic" in m:
        lines += _semantic_section(m)
    if "adaptation" in m:
        lines += _adaptation_section(m["adaptation"])
    synthetic = "hand-written and generated requests" if any("generated" in f for f in used) else "hand-written requests"
    lines += ["", "## Limits",
              f"- The shipped default model is trained on a synthetic corpus written for this project ({synthetic}), "
              "not on real customer data. Real requests differ: retrain on your own labelled requests "
              "(`tukipyynto train`).",
              "- Swedish or English requests and near-empty texts are flagged, not classified confidently.",
              ""]
    return "\n".join(lines)


def _adaptation_section(ad: dict[str, Any]) -> list[str]:
    """The card's account of an adaptation to a catalogue: what it was fitted on and what it changed."""
    fit = ad.get("fit") or {}
    cv = fit.get("cv") or {}
    queues = fit.get("reviews_by_queue") or {}
    lines = ["", "## Adapted to a catalogue from reviewed requests (`tukipyynto adapt`)",
             f"- catalogue `{fit.get('catalogue') or 'guidelines.jsonl'}`, sha256 `{ad.get('catalogue_sha256')}` "
             "(the adaptation is applied with this catalogue only)",
             f"- reviews used: {fit.get('n_reviews')} ({', '.join(f'{n} {q}' for q, n in sorted(queues.items())) or 'none'})"
             f"; adapted {fit.get('adapted_at', '')}"]
    for name, what in (("topic", "topic priors"), ("ranking", "guideline ranking"), ("coverage", "coverage calibration")):
        f = fit.get(name)
        if f:
            lines.append(f"- {what}: prior strength {f['strength']} chosen by 5-fold cross-validation on the reviews "
                         f"(held-out log-loss {f['cv_loss']} against {f['cv_loss_shipped']} unadapted; 1e6 means kept)")
    lines.append(f"- coverage logit x {ad.get('coverage_scale')} + {ad.get('coverage_shift')}; "
                 f"{len(ad.get('coverage_bias') or {})} guideline coverage biases, "
                 f"{len(ad.get('match_bias') or {})} guideline ranking biases")
    for note in fit.get("notes") or []:
        lines.append(f"- {note}")
    for left in fit.get("left_out") or []:
        lines.append(f"- left out: {left}")
    b, a = cv.get("before"), cv.get("after")
    if b and a:
        lines += ["", f"Cross-validated on the reviews ({cv.get('folds')} folds: each review predicted by the adaptation "
                  "fitted without it):", "",
                  "| measure | before | after |", "|---|---|---|"]
        for k in ("avoidable_accuracy", "avoidable_brier", "topic_accuracy", "guideline_accuracy", "avoidable_share"):
            lines.append(f"| {k.replace('_', ' ')} | {b.get(k)} | {a.get(k)} |")
        lines.append(f"| reviewed avoidable share | {cv.get('reviewed_avoidable_share')} | |")
    return lines


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
             f"{rep.get('oof_log_loss_by_C')}), fitted on {rep.get('n_records')} full-weight training records "
             "(records at a lower weight, such as generated data, never train it)",
             f"- blend: softmax(a × lexical margins + b × log p(semantic) + c), {_blend_words(sem['blend'])}, "
             f"fitted by log-loss on out-of-fold predictions of {rep.get('n_out_of_fold')} records "
             f"({rep.get('scheme') or str(rep.get('folds')) + ' folds'}); its form chosen by cross-validated log-loss "
             f"{rep.get('blend_cv_log_loss')}",
             f"- cascade: requests with lexical confidence below {sem['cascade_threshold']:.3f} are embedded "
             f"({rep.get('oof_embedded_share_cascade')} of the out-of-fold records): the lowest threshold keeping "
             f"{_rule(rep, 'gain_share')} of the out-of-fold accuracy that embedding all adds "
             f"({_rule(rep, 'threshold_for_gain')}), capped where {_rule(rep, 'budget_share')} of the records "
             f"would be embedded ({_rule(rep, 'threshold_for_budget')}: the cost that keeps labelling at 100 "
             "requests/s on two cores)",
             f"- review thresholds: cascade {sem['thresholds']['cascade']:.3f}, all {sem['thresholds']['all']:.3f} "
             f"(out-of-fold accuracy target {m.get('target_accuracy')})",
             f"- out-of-fold accuracy: {rep.get('oof_accuracy')}"]
    sm = m.get("semantic_metrics") or {}
    rows = []
    for split, lexical in (("oof", m.get("oof_metrics")), ("dev", m.get("dev_metrics")),
                           ("test", (m.get("test_metrics") or {}).get("topic")),
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
        lines += ["", "Out-of-fold (oof) rows: each record predicted by models that never saw its writer (or fold); "
                  "the blend, cascade and thresholds were fitted on them. The test split and transfer set took no part.",
                  "", "| split | view | accuracy | macro-F1 | ECE | embedded | avoidable accuracy |",
                  "|---|---|---|---|---|---|---|", *rows]
    return lines


def _blend_words(blend: dict[str, Any]) -> str:
    """The blend's weights in words: one pair for all topics, or the range per topic."""
    a, b, c = blend["lexical_weight"], blend["semantic_weight"], blend["bias"]
    if blend.get("method") == "shared":
        return f"one pair for all topics: a = {a[0]:.3f}, b = {b[0]:.3f}"
    return (f"per topic: a {min(a):.2f}–{max(a):.2f}, b {min(b):.2f}–{max(b):.2f}, c {min(c):.2f}–{max(c):.2f} "
            "(in semantic.json)")


def _rule(rep: dict[str, Any], key: str) -> Any:
    """One setting of the cascade rule from the head's report."""
    return (rep.get("cascade_rule") or {}).get(key)
