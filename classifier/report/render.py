"""Writing a report: Markdown and HTML from the Jinja2 templates in ``templates/``, CSV and JSON from the tables.

The templates get a view of the report in which every header and cell is already display
text in the report's language (:func:`report_view`); they decide only the layout.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import os
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import ReportError
from .core import FORMATS, SECTIONS, TABLES, Report, _iso
from .figures import _FIGURE_OF, _figures
from .format import _fmt_date, _fmt_duration, _fmt_int, _fmt_num, _fmt_pct, _fmt_time
from .texts import TEXT


_LABEL_HEADER = {"avoidable_overall": "col_group", "avoidable_reasons": "col_reason", "review_accuracy": "col_measure",
                 "avoidable_before_after": "col_measure",
                 "avoidable_by_channel": "col_channel", "send_times": "col_send_time",
                 "service_response_by_channel": "col_channel", "service_response_by_weekday": "col_weekday",
                 "service_quality": "col_category", "service_heatmap": "col_channel_weekday"}


def _header(key: str, lang: str, report: Report, table: str = "") -> str:
    """Column header of a table key, channels and reason codes included."""
    text = TEXT[lang]
    if key == "label" and table in _LABEL_HEADER:
        return text[_LABEL_HEADER[table]]
    if f"col_{key}" in text:
        return text[f"col_{key}"]
    if key in report.channels:
        return text.get(key, key)
    for suffix, word in (("_n", ""), ("_share", " %")):
        if key.endswith(suffix) and key[: -len(suffix)] in report.channels:
            ch = key[: -len(suffix)]
            return text.get(ch, ch) + word
    if key.startswith("reason_"):
        return text.get(key[7:], key[7:])
    if table == "service_heatmap" and re.fullmatch(r"h\d\d", key):
        return key[1:]
    return key


# Keys shown in Markdown and HTML (CSV carries every key); "ci" is drawn from ci_low and ci_high.
_DISPLAY_DROP = {"topic", "start", "end", "category", "reason", "channel", "ci_low", "ci_high", "method", "weekday",
                 "reviews_ci_low", "reviews_ci_high", "measure"}


def _display_columns(report: Report, name: str) -> list[str]:
    """Columns of a table as shown to readers."""
    cols = [c for c in report.columns[name] if c not in _DISPLAY_DROP]
    if "estimate" in cols and "ci_low" in report.columns[name]:
        cols.insert(cols.index("estimate") + 1, "ci")
    elif "share" in cols and "ci_low" in report.columns[name]:
        cols.insert(cols.index("share") + 1, "ci")
    if name in ("review_avoidable", "review_topics"):
        cols.insert(cols.index("model_share") + 1, "estimate")
        cols.insert(cols.index("estimate") + 1, "ci")
        if name == "review_topics":
            cols.insert(cols.index("ci") + 1, "reviews_ci")
    if name.startswith("avoidable"):
        cols = [c for c in cols if not c.startswith("reason_") or any(r.get(c) for r in report.table(name))]
        if "estimate" in cols:  # one number per figure: the estimate; the decisions' share stays in the CSV
            cols = [c for c in cols if c not in ("n_avoidable", "share")]
        if not any(r.get("n_reviewed") for r in report.table(name)):
            cols = [c for c in cols if c != "n_reviewed"]
    if "needed" in cols and not any(r.get("needed") for r in report.table(name)):
        cols.remove("needed")
    return cols


def _cell(report: Report, row: dict[str, Any], key: str) -> str:
    """Display text of one cell."""
    lang = report.lang
    if key in ("ci", "reviews_ci"):
        lo, hi = (row.get("ci_low"), row.get("ci_high")) if key == "ci" else (row.get("reviews_ci_low"),
                                                                              row.get("reviews_ci_high"))
        if lo is None:
            return "–"
        return f"{_fmt_num(100 * lo, 1, lang)}–{_fmt_num(100 * hi, 1, lang)} %"
    v = row.get(key)
    if key == "needed":
        return str(v) if v else ""
    if v is None:
        if key == "ratio" and row.get("previous_n") == 0:
            return TEXT[lang]["new"]
        return "–" if key in ("share", "gap_share", "ratio", "title", "estimate") or key.endswith("_share") else ""
    if key in ("share", "gap_share", "estimate", "reviews_estimate") or key.endswith("_share"):
        return _fmt_pct(v, lang)
    if key == "similarity":
        return _fmt_num(v, 2, lang)
    if key in ("p_value", "p_adjusted"):
        return f"{v:.2g}".replace(".", "," if lang == "fi" else ".")
    if key.endswith("_minutes"):
        return _fmt_num(v, 0, lang)
    if key == "ratio":
        return _fmt_num(v, 2, lang)
    if isinstance(v, bool):
        return TEXT[lang]["yes" if v else "no"]
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) if key != "examples" else " | ".join(f"“{x}”" for x in v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _csv_value(v: Any) -> Any:
    """A CSV cell: lists joined, floats rounded, dates ISO."""
    if v is None:
        return ""
    if isinstance(v, float):
        return round(v, 4)
    if isinstance(v, (list, tuple)):
        return " | ".join(map(str, v))
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v




def _meta_lines(report: Report) -> list[tuple[str, str]]:
    """Label/value pairs for the report header."""
    t = TEXT[report.lang]
    # the period, the contacts analysed and their channels are the headline's (one number per figure)
    out = [(t["granularity"], t[report.granularity]), (t["n_rows"], str(report.n_rows)), (t["n_errors"], str(report.n_errors))]
    if report.n_undated:
        out.append((t["n_undated"], str(report.n_undated)))
    if report.n_outside_period:
        out.append((t["n_outside_period"], str(report.n_outside_period)))
    return out


def headline_view(report: Report) -> dict[str, Any]:
    """The headline as display text in the report's language: the share to quote, what it rests on, and the facts.

    Returns a dict with ``title``, ``lead`` (the share and its interval), ``basis`` (what the share rests
    on), ``detail`` and ``items`` (label and text: topics, gaps, first reply, period and counts).
    """
    t = TEXT[report.lang]
    lang = report.lang
    h = report.headline or {}
    lead = basis = ""
    share = h.get("share")
    if share:
        lead = t["hl_avoidable"].format(share=_fmt_pct(share["estimate"], lang))
        if share.get("ci_low") is not None:
            lead += f" ({t['hl_interval'].format(low=_fmt_num(100 * share['ci_low'], 1, lang), high=_fmt_pct(share['ci_high'], lang))})"
        if share["basis"] == "reviewed":
            model = _fmt_pct(share["model_estimate"], lang) if share.get("model_estimate") is not None else "–"
            basis = t["hl_basis_reviewed"].format(n=_fmt_int(share["n_reviewed"], lang), model=model)
        else:
            basis = t[f"hl_basis_{share['basis']}"]
    items = []
    if h.get("topics"):
        items.append((t["hl_topics"], ", ".join(f"{x['label']} {_fmt_int(x['n'], lang)} ({_fmt_pct(x['share'], lang)})"
                                                for x in h["topics"])))
    if h.get("gaps"):
        items.append((t["hl_gaps"], ", ".join(f"{x['label']} {_fmt_int(x['n'], lang)}" for x in h["gaps"])
                      + f" ({t['hl_gaps_note']})"))
    reply = h.get("reply")
    if reply:
        threads = _fmt_int(reply["n_threads"], lang)
        if reply.get("median_minutes") is not None:
            text = t["hl_reply_text"].format(minutes=_fmt_int(round(reply["median_minutes"]), lang),
                                             duration=_fmt_duration(reply["median_minutes"], lang),
                                             answered=_fmt_int(reply["n_answered"], lang), threads=threads)
        else:
            text = t["hl_reply_none"].format(threads=threads)
        items.append((t["hl_reply"], text))
    chans = ", ".join(f"{t.get(c, c).lower()} {_fmt_int(report.n_by_channel[c], lang)}" for c in report.channels) or "–"
    items.append((t["hl_period"], t["hl_period_text"].format(
        start=_fmt_date(report.period_from, lang), end=_fmt_date(report.period_to, lang),
        n=_fmt_int(report.n_analysed, lang), channels=chans)))
    nb = lambda x: x.replace(" %", "\u00a0%")  # noqa: E731  (a share never breaks before its sign)
    return {"title": t["hl_title"], "lead": nb(lead), "basis": nb(basis), "items": [(a, nb(b)) for a, b in items]}


def headline_lines(report: Report) -> list[str]:
    """The headline as plain text lines (what ``tukipyynto analyse`` and ``report`` print)."""
    v = headline_view(report)
    lines = [x for x in (v["lead"], v["basis"]) if x]
    return lines + [f"{label}: {text}" for label, text in v["items"]]


def _section_notes(report: Report, section: str) -> list[str]:
    """Explanatory sentences under a section title."""
    t = TEXT[report.lang]
    if section == "review":
        return _review_notes(report)
    notes = [] if section == "service" else [
        t[f"note_{section}"].format(ratio=_fmt_num(report.settings.get("trend_ratio", 1.5), 1, report.lang),
                                    min_increase=report.settings.get("trend_min_increase", 5))]
    if section == "gaps" and report.gaps and not report.n_with_text:
        notes.append(t["no_texts"])
    if section == "trends" and report.topic_trends:
        notes.append(t["note_alerts"].format(alpha=_fmt_num(report.settings.get("alert_alpha", 0.05), 2, report.lang)))
    if section == "guidelines" and not report.catalogue_given:
        notes.append(t["note_no_catalogue"])
    if section == "service":
        o, c = report.opening_hours
        day = (dt.datetime.combine(dt.date(2000, 1, 1), c) - dt.datetime.combine(dt.date(2000, 1, 1), o)).seconds // 60
        notes.append(t["note_service"].format(open=_fmt_time(o, report.lang), close=_fmt_time(c, report.lang), day=day))
        q = {r["category"]: r["n"] for r in report.service_quality}
        if q.get("later_messages_not_back_office"):
            notes.append(t["note_service_hint"].format(n=q["later_messages_not_back_office"]))
    return notes


def _review_notes(report: Report) -> list[str]:
    """The review section's sentences: the method, then what was not used and why."""
    t, rv = TEXT[report.lang], report.review
    values = {"n_reviewed": 0, "n_total": 0, "needed": 0, "min_reviews": 0, "n_other": 0, "n_no_queue": 0,
              "n_unknown": 0, "n_other_sample": 0, "skipped": 0, **rv}
    values["design_name"] = t["design_" + (rv.get("design") or "random")]
    notes = [t["note_review"].format(**values)]
    if rv.get("n_cross_fitted"):
        notes.append(t["note_review_crossfit"].format(n_cross_fitted=rv["n_cross_fitted"]))
    if values["needed"]:
        notes.append(t["note_review_needed"].format(**values))
    for key, count in (("note_review_other", "n_other"), ("note_review_no_queue", "n_no_queue"),
                       ("note_review_unknown", "n_unknown"), ("note_review_other_sample", "n_other_sample"),
                       ("note_review_skipped", "skipped")):
        if values[count]:
            notes.append(t[key].format(**values))
    return notes


def _md_escape(s: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(s.split()).replace("|", "\\|")


_NUMERIC = re.compile(r"^[–\d\s.,%+-]+$")

# In HTML these columns of long lists and texts go to a full-width line under their row, so the
# numbers stay in narrow columns and no row grows tall (Markdown and CSV keep them as columns).
_DETAIL_COLUMNS = {"gaps": ("later_guidelines", "top_terms", "examples"), "gap_clusters": ("top_terms", "examples")}
# A table with more columns than this goes under its figure, at the page's full width, not beside it.
_SIDE_BY_SIDE_COLUMNS = 6


@cache
def _env():
    """The Jinja2 environment of the package's templates (HTML autoescaped, Markdown not)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader(__package__, "templates"),
                             autoescape=jinja2.select_autoescape(["html", "html.j2"], default_for_string=True, default=False),
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["md"] = _md_escape
    env.filters["commands"] = _commands_html
    return env


_COMMAND = re.compile(r"(tukipyynto [a-z-]+|--[a-z][a-z-]*)")


def _commands_html(text: str):
    """HTML of a text whose command names and options are set as code (and so never broken at a hyphen)."""
    from markupsafe import Markup, escape

    return Markup(_COMMAND.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


def report_view(report: Report, figures: dict[str, Path], embed: bool = False) -> dict[str, Any]:
    """What the templates show: titles, notes, and per table its figure, headers and display cells.

    ``embed`` reads each figure into a base64 ``data`` string (for the self-contained HTML page).
    """
    t = TEXT[report.lang]
    sections = []
    for no, (section, tables) in enumerate(SECTIONS, 1):
        if (section == "errors" and not report.errors) or (section == "review" and not report.review):
            continue
        views = []
        for name in tables:
            rows = report.table(name)
            fig = _FIGURE_OF.get(name)
            figure = None
            if fig in figures:
                figure = {"name": fig, "file": figures[fig].name, "alt": t["fig_" + fig]}
                if embed:
                    figure["data"] = base64.b64encode(figures[fig].read_bytes()).decode("ascii")
            cols = _display_columns(report, name) if rows else []
            headers = {c: _header(c, report.lang, report, name) for c in cols}
            detail = [c for c in _DETAIL_COLUMNS.get(name, ()) if c in cols]
            body = []
            for r in rows:
                cells = []
                for c in cols:
                    text = _cell(report, r, c)
                    cells.append({"key": c, "header": headers[c], "text": text,
                                  "num": bool(text and _NUMERIC.match(text)),
                                  "list": list(r.get(c) or []) if c == "examples" else None})
                body.append({"cells": cells, "main": [x for x in cells if x["key"] not in detail],
                             "details": [x for x in cells if x["key"] in detail and x["text"]]})
            main = [c for c in cols if c not in detail]
            views.append({"name": name, "title": t["tbl_" + name], "figure": figure,
                          "columns": [{"key": c, "header": headers[c]} for c in cols],
                          "main_columns": [{"key": c, "header": headers[c]} for c in main],
                          "wide": bool(detail) or len(main) > _SIDE_BY_SIDE_COLUMNS,
                          "rows": body})
        sections.append({"id": section, "no": no, "title": t["sec_" + section],
                         "notes": _section_notes(report, section), "tables": views})
    return {"lang": report.lang, "title": t["title"], "no_rows": t["no_rows"], "meta": _meta_lines(report),
            "headline": headline_view(report), "sections": sections}


def _write_md(report: Report, path: Path, figures: dict[str, Path]) -> None:
    """Write report.md with tables and links to the figures."""
    page = _env().get_template("report.md.j2").render(report_view(report, figures))
    path.write_text(page.rstrip() + "\n", encoding="utf-8")


def _write_html(report: Report, path: Path, figures: dict[str, Path]) -> None:
    """Write a self-contained report.html with the figures embedded as data URIs."""
    path.write_text(_env().get_template("report.html.j2").render(report_view(report, figures, embed=True)),
                    encoding="utf-8")


def write_report(report: Report, out_dir: str | os.PathLike, formats: Sequence[str] = ("md", "html", "csv")
                 ) -> dict[str, Path]:
    """Write a report as Markdown, self-contained HTML, CSV tables and PNG figures.

    Parameters
    ----------
    report : Report
        From :func:`build_report`.
    out_dir : path
        Created if missing. Figures go to ``out_dir/figures/``.
    formats : sequence of str
        Any of ``"md"`` (report.md, linking the figures), ``"html"`` (report.html, the
        figures embedded as base64 data URIs), ``"csv"`` (one file per table, headers are the
        tables' English keys) and ``"json"`` (report.json, every table and the metadata).

    Returns
    -------
    dict of str to Path
        ``"md"``, ``"html"``, ``"json"``, ``"csv:<table>"`` and ``"png:<figure>"`` entries for
        the files written.

    Raises
    ------
    ReportError
        An unknown format.
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ReportError(f"unknown report format {bad[0]!r}; formats: {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    figures: dict[str, Path] = {}
    if "md" in formats or "html" in formats:
        figures = _figures(report, out_dir / "figures")
        written.update({f"png:{k}": v for k, v in figures.items()})
    if "md" in formats:
        written["md"] = out_dir / "report.md"
        _write_md(report, written["md"], figures)
    if "html" in formats:
        written["html"] = out_dir / "report.html"
        _write_html(report, written["html"], figures)
    if "csv" in formats:
        for name in TABLES:
            path = out_dir / f"{name}.csv"
            with open(path, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(report.columns[name])
                for r in report.table(name):
                    w.writerow([_csv_value(r.get(k)) for k in report.columns[name]])
            written[f"csv:{name}"] = path
    if "json" in formats:
        written["json"] = out_dir / "report.json"
        written["json"].write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return written
