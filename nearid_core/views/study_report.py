"""A self-contained HTML report of a stored study (Tables 2–4 analogues).

The study's own view module (``views.study_disentangle``, ``views.study_batch``) chooses
the blocks; this module lays them out: a title, an introduction, then figures (plotly.js
inlined once, so the file opens offline), tables and paragraphs in order, then the settings.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from nearid_core.runs._files import atomic_write

__all__ = ["html_table", "render_study_report", "write_study_report"]

_STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:auto} "
          "td,th{padding:2px 8px;text-align:right} table{border-collapse:collapse} "
          "tr:nth-child(even){background:#f4f4f4} td:first-child,th:first-child"
          "{text-align:left}")


def _cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and fmt:
        return html.escape(format(value, fmt))
    return html.escape(str(value))


def html_table(rows: Sequence[dict], columns: Sequence[tuple[str, str, str]]) -> str:
    """An HTML table of ``rows``; ``columns`` are (key, heading, number format)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(k), f)}</td>" for k, _, f in columns)
                   + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_study_report(title: str, intro: str, blocks: Sequence[tuple[str, Any]],
                        settings: dict) -> str:
    """The report as one HTML string.

    blocks : (heading, content) in order; content is a plotly Figure, an HTML fragment
    (str, already escaped: e.g. ``html_table``) or a list of plain-text lines (escaped here,
    shown as a bulleted list).
    """
    parts, first_fig = [], True
    for heading, content in blocks:
        if isinstance(content, go.Figure):
            body = content.to_html(include_plotlyjs=first_fig, full_html=False)
            first_fig = False
        elif isinstance(content, str):
            body = content
        else:
            body = "<ul>" + "".join(f"<li>{html.escape(str(t))}</li>" for t in content) + "</ul>"
        parts.append(f"<h2>{html.escape(heading)}</h2>{body}")
    text = html.escape(json.dumps(settings, indent=1))
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>" + "".join(parts)
            + f"<h2>Settings</h2><pre>{text}</pre></body></html>")


def write_study_report(text: str, path: str | os.PathLike) -> None:
    """Write a rendered report atomically (temporary file, then rename)."""
    data = text.encode("utf-8")
    atomic_write(Path(path), lambda fh: fh.write(data))
