"""Reports on labelled support requests: volumes, topics, send times, avoidable contacts, gaps, trends.

The thesis (Härkönen 2018) made this analysis once by hand for September 2016. Here it is
repeatable: :func:`build_report` turns the rows written by ``tukipyynto label`` into tables
(volumes over time by channel, topics per channel, email send times against the back
office's opening hours, avoidable contacts with Wilson intervals, guideline gaps with
example requests, guideline use and near-duplicates, rising topics), and
:func:`write_report` writes them as Markdown, a self-contained HTML page and CSV files,
with one PNG figure per section.

Every table is a list of plain dictionaries with stable English keys; titles, column
headers and category names are rendered in Finnish (default) or English.

The package, one module per concern:

``core``
    Section and table names and the :class:`Report` dataclass.
``read``
    :func:`read_labelled`: labelled JSONL / CSV / Parquet rows into one shape.
``build``
    :func:`build_report`: checks the arguments, reduces rows to contacts, calls ``tables``.
``tables``
    The tables, by section: ``counts`` (volumes, topics, send times, trends), ``avoidable``
    (avoidable shares, reviewed-sample estimates), ``gaps`` (gaps, guideline use and
    near-duplicates), ``service`` (response times, staffing); ``common`` holds what they share.
``figures``
    One PNG per section (matplotlib, Agg canvas).
``render``
    :func:`write_report`: Markdown and HTML from the Jinja2 templates in ``templates/``,
    CSV and JSON.
``texts``
    Finnish and English words, loaded from ``lang/fi.toml`` and ``lang/en.toml``.
"""

from __future__ import annotations

from .build import build_report
from .core import (FORMATS, GRANULARITIES, LANGS, SECTIONS, SEND_TIME_CATEGORIES, TABLES, Z95,  # noqa: F401
                   Report, ReportError)
from .read import normalise_labelled, read_labelled
from .render import headline_lines, headline_view, write_report
from ..estimate import wilson_interval
from .tables.common import send_time_category
from .tables.service import SERVICE_QUALITY  # noqa: F401

__all__ = ["SEND_TIME_CATEGORIES", "TABLES", "Report", "ReportError", "build_report", "headline_lines", "headline_view",
           "normalise_labelled", "read_labelled",
           "send_time_category", "wilson_interval", "write_report"]
