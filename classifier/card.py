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
    if "adaptation" in m:
        lines += _adaptation_section(m["adaptation"])
    lines += ["", "## Limits",
              "- The shipped default model is trained on a synthetic corpus written for this project "
              "(hand-written and generated requests), not on real customer data. Real requests differ: "
              "retrain on your own labelled requests (`tukipyynto train`).",
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
