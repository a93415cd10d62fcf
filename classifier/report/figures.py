"""One PNG figure per section, drawn on an Agg canvas (no pyplot state)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .core import Report
from .format import _fmt_int, _fmt_pct
from .texts import TEXT, WEEKDAYS

# Text sizes in points. The HTML page shows a figure at its own size (100 dpi, not scaled down), so
# a 10 pt tick label is about 14 px, the size of the table text beside it.
_LABEL = 10
_LEGEND = 9
_SUBTITLE = 11
# Height per bar label (inches) in the horizontal bar charts.
_ROW = 0.42


# Which figure stands beside which table.
_FIGURE_OF = {"volumes": "volumes", "topics": "topics", "send_times": "send_times",
              "avoidable_by_topic": "avoidable_by_topic", "avoidable_by_month": "avoidable_by_month",
              "gaps": "gaps", "guideline_use": "guideline_use", "trends": "trends",
              "service_response_by_topic": "service_response_by_topic", "service_heatmap": "service_heatmap"}



def _avoidable_topic_bars(report: Report) -> list[dict]:
    """The bars of the avoidable-by-topic figure: each bar's value is the estimate (%), and its label and
    text say the same (the estimate, and the requests it rests on), not the count of yes/no decisions."""
    bars = []
    for r in report.avoidable_by_topic:
        if not r["n"] or r["estimate"] is None:
            continue
        v = 100 * r["estimate"]
        lo = r["ci_low"] if r["ci_low"] is not None else r["estimate"]
        hi = r["ci_high"] if r["ci_high"] is not None else r["estimate"]
        # the interval is rounded for the tables: clip so a bar never gets a negative whisker
        bars.append({"label": f"{r['label']} (n = {_fmt_int(r['n'], report.lang)})", "value": v,
                     "err_low": max(0.0, v - 100 * lo), "err_high": max(0.0, 100 * hi - v),
                     "text": _fmt_pct(r["estimate"], report.lang)})
    return bars


def _figures(report: Report, fig_dir: Path) -> dict[str, Path]:
    """Draw each section's figure as a PNG (Agg canvas, no pyplot state); return name -> path."""
    import matplotlib

    rc = {"font.size": _LABEL, "axes.titlesize": 12, "axes.labelsize": _LABEL, "xtick.labelsize": _LABEL,
          "ytick.labelsize": _LABEL, "legend.fontsize": _LEGEND, "figure.titlesize": 12}
    with matplotlib.rc_context(rc):
        return _draw(report, fig_dir)


def _draw(report: Report, fig_dir: Path) -> dict[str, Path]:
    """The figures of :func:`_figures`, drawn with its text sizes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig_dir.mkdir(parents=True, exist_ok=True)
    t = TEXT[report.lang]
    colours = {"email": "#1f77b4", "phone": "#ff7f0e"}
    out: dict[str, Path] = {}

    def save(fig: Figure, name: str) -> None:
        FigureCanvasAgg(fig)
        path = fig_dir / f"{name}.png"
        fig.savefig(path, format="png", dpi=100, bbox_inches="tight")
        out[name] = path

    def barh(ax, labels: list[str], values: list[float], **kw) -> None:
        y = list(range(len(labels)))
        ax.barh(y, values, **kw)
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=_LABEL)
        if not ax.yaxis_inverted():
            ax.invert_yaxis()

    if report.volumes and report.channels:
        fig = Figure(figsize=(8, 3.8))
        ax = fig.subplots()
        x = list(range(len(report.volumes)))
        names = [r["period"] for r in report.volumes]
        width = 0.8 / len(report.channels)
        for k, c in enumerate(report.channels):
            vals = [r[c] for r in report.volumes]
            if len(x) <= 24:
                ax.bar([i + (k - (len(report.channels) - 1) / 2) * width for i in x], vals, width,
                       label=t.get(c, c), color=colours.get(c))
            else:
                ax.plot(x, vals, marker="o", ms=3, label=t.get(c, c), color=colours.get(c))
        step = max(1, len(x) // 16)
        ax.set_xticks(x[::step])
        ax.set_xticklabels(names[::step], rotation=45, ha="right", fontsize=_LABEL)
        ax.set_ylabel(t["axis_count"])
        ax.set_title(t["fig_volumes"])
        ax.legend(fontsize=_LEGEND)
        save(fig, "volumes")

    shown = [r for r in report.topics if r["total_n"]]
    if shown and report.channels:
        fig = Figure(figsize=(2.5 + 4 * len(report.channels), _ROW * len(shown) + 1.5))
        axes = fig.subplots(1, len(report.channels), squeeze=False, sharey=True)[0]
        for k, (ax, c) in enumerate(zip(axes, report.channels)):
            barh(ax, [r["label"] for r in shown], [r[f"{c}_n"] for r in shown], color=colours.get(c))
            if k:
                ax.tick_params(labelleft=False)
            ax.set_title(f"{t.get(c, c)} (n = {report.n_by_channel.get(c, 0)})", fontsize=_SUBTITLE)
            ax.set_xlabel(t["axis_count"])
        fig.suptitle(t["fig_topics"])
        save(fig, "topics")

    cats = [r for r in report.send_times if r["category"] != "total"]
    if cats:
        fig = Figure(figsize=(7, 3.2))
        ax = fig.subplots()
        barh(ax, [r["label"] for r in cats], [r["n"] for r in cats], color=colours["email"])
        for i, r in enumerate(cats):
            ax.text(r["n"], i, f" {r['n']} ({_fmt_pct(r['share'], report.lang)})", va="center", fontsize=_LABEL)
        ax.set_xlabel(t["axis_count"])
        ax.set_title(t["fig_send_times"])
        ax.margins(x=0.25)
        save(fig, "send_times")

    bars = _avoidable_topic_bars(report)
    if bars:
        fig = Figure(figsize=(7, _ROW * len(bars) + 1.5))
        ax = fig.subplots()
        barh(ax, [b["label"] for b in bars], [b["value"] for b in bars], xerr=[[b["err_low"] for b in bars],
             [b["err_high"] for b in bars]], color="#d62728", alpha=0.8, ecolor="#333333", capsize=3)
        for i, b in enumerate(bars):
            ax.text(b["value"] + b["err_high"] + 1.5, i, b["text"], va="center", fontsize=_LEGEND)
        ax.set_xlim(0, 112)
        ax.set_xticks(range(0, 101, 20))
        ax.set_xlabel(t["axis_share"])
        ax.set_title(t["fig_avoidable_by_topic"])
        save(fig, "avoidable_by_topic")

    rows = report.avoidable_by_month
    if rows and any(r["n"] for r in rows):
        fig = Figure(figsize=(7, 3.2))
        ax = fig.subplots()
        x = [i for i, r in enumerate(rows) if r["n"]]
        ax.plot(x, [100 * rows[i]["estimate"] for i in x], marker="o", color="#d62728")
        ax.fill_between(x, [100 * rows[i]["ci_low"] for i in x], [100 * rows[i]["ci_high"] for i in x],
                        color="#d62728", alpha=0.2)
        ax.set_xticks(list(range(len(rows))))
        ax.set_xticklabels([r["period"] for r in rows], rotation=45, ha="right", fontsize=_LABEL)
        ax.set_ylim(0, 100)
        ax.set_ylabel(t["axis_share"])
        ax.set_title(t["fig_avoidable_by_month"])
        save(fig, "avoidable_by_month")

    if report.gaps:
        rows = report.gaps[:20]
        fig = Figure(figsize=(7, _ROW * len(rows) + 1.5))
        ax = fig.subplots()
        labels = [r["label"] for r in rows]
        barh(ax, labels, [r["n_no_guideline"] for r in rows], color="#9467bd", label=t["no_guideline"])
        ax.barh(list(range(len(rows))), [r["n_came_later"] for r in rows],
                left=[r["n_no_guideline"] for r in rows], color="#c5b0d5", label=t["guideline_came_later"])
        ax.set_xlabel(t["axis_count"])
        ax.set_title(t["fig_gaps"])
        ax.legend(fontsize=_LEGEND)
        save(fig, "gaps")

    if report.guideline_use:
        rows = report.guideline_use[:20]
        fig = Figure(figsize=(7, _ROW * len(rows) + 1.5))
        ax = fig.subplots()
        barh(ax, [f"{r['guideline_id']} {(r['title'] or '')[:40]}" for r in rows], [r["n"] for r in rows],
             color="#2ca02c")
        ax.set_xlabel(t["axis_count"])
        ax.set_title(t["fig_guideline_use"])
        save(fig, "guideline_use")

    if report.trends:
        rows = report.trends
        fig = Figure(figsize=(7, 1.2 * _ROW * len(rows) + 1.5))
        ax = fig.subplots()
        y = list(range(len(rows)))
        ax.barh([i - 0.2 for i in y], [r["previous_n"] for r in rows], 0.4, color="#aec7e8",
                label=rows[0]["previous_period"])
        ax.barh([i + 0.2 for i in y], [r["last_n"] for r in rows], 0.4, color="#1f77b4", label=rows[0]["last_period"])
        ax.set_yticks(y)
        ax.set_yticklabels([r["label"] for r in rows], fontsize=_LABEL)
        ax.invert_yaxis()
        ax.set_xlabel(t["axis_count"])
        ax.set_title(t["fig_trends"])
        ax.legend(fontsize=_LEGEND)
        save(fig, "trends")

    # Section 8, service: drawn only when the rows carry service fields (mail threads labelled by this version)
    rows = [r for r in report.service_response_by_topic if r["topic"] != "total" and r["median_minutes"] is not None]
    if rows:
        fig = Figure(figsize=(7, _ROW * len(rows) + 1.5))
        ax = fig.subplots()
        y = list(range(len(rows)))
        ax.barh([i - 0.2 for i in y], [r["median_minutes"] for r in rows], 0.4, color="#1f77b4", label=t["median"])
        ax.barh([i + 0.2 for i in y], [r["p90_minutes"] for r in rows], 0.4, color="#aec7e8", label=t["p90"])
        ax.set_yticks(y)
        ax.set_yticklabels([f"{r['label']} ({r['n_answered']}/{r['n']})" for r in rows], fontsize=_LABEL)
        ax.invert_yaxis()
        o, c = report.opening_hours
        day = (dt.datetime.combine(dt.date(2000, 1, 1), c) - dt.datetime.combine(dt.date(2000, 1, 1), o)).seconds / 60
        ax.axvline(day, color="#d62728", ls="--", lw=1)
        ax.set_xlabel(t["axis_minutes"])
        ax.set_title(t["fig_service_response_by_topic"])
        ax.legend(fontsize=_LEGEND)
        save(fig, "service_response_by_topic")
    heat = report.service_heatmap
    if heat and report.service_quality and any(r["total"] for r in heat):
        chans = [c for c in report.channels if any(r["channel"] == c and r["total"] for r in heat)]
        fig = Figure(figsize=(8, 2.2 * len(chans) + 0.8), layout="constrained")
        axes = fig.subplots(len(chans), 1, squeeze=False)[:, 0]
        for ax, c in zip(axes, chans):
            grid = [[r[f"h{h:02d}"] for h in range(24)] for r in heat if r["channel"] == c]
            im = ax.imshow(grid, aspect="auto", cmap="Blues")
            ax.set_yticks(range(7))
            ax.set_yticklabels(WEEKDAYS[report.lang], fontsize=_LABEL)
            ax.set_xticks(range(0, 24, 2))
            ax.set_xticklabels([str(h) for h in range(0, 24, 2)], fontsize=_LABEL)
            ax.set_title(f"{t.get(c, c)} (n = {report.n_by_channel.get(c, 0)})", fontsize=_SUBTITLE)
            fig.colorbar(im, ax=ax, fraction=0.03)
        axes[-1].set_xlabel(t["axis_hour"])
        fig.suptitle(t["fig_service_heatmap"])
        save(fig, "service_heatmap")
    return out

