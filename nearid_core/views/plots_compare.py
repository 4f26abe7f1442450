"""Plotly figures of the Compare study: pair heatmaps and the overlay of two embeddings.

Every function takes rows or arrays and returns a ``plotly.graph_objects.Figure``; none draws
on screen or imports streamlit.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from nearid_core.views.plots import SEQUENTIAL, style

__all__ = ["OVERLAY_SEGMENTS", "pair_heatmap", "pair_matrix", "overlay_figure"]

OVERLAY_SEGMENTS = 150  # residual segments drawn: enough to see the pattern, few enough to read
A_COLOR, B_COLOR, SEGMENT_COLOR = "#1f77b4", "#d62728", "rgba(90, 90, 90, 0.45)"


def _finite(value) -> bool:
    return isinstance(value, (int, float, np.floating)) and math.isfinite(float(value))


def pair_matrix(rows: list[dict], names, key: str, *, note_key: str | None = None,
                fmt: str = "{:.3f}") -> tuple[list[list], list[list[str]], list[list[str]]]:
    """Cells of an ordered-pair heatmap: values, cell texts and hover texts.

    Parameters
    ----------
    rows : compare rows, each with ``a`` (reference), ``b`` (candidate) and ``key``.
    names : embedding names, the order of both axes.
    key : the row field shown; non-finite values become blank cells (None).
    note_key : row field holding why a value is missing (shown on hover of blank cells).

    Returns
    -------
    z, text, hover : (k, k) nested lists, row = reference, column = candidate; the diagonal
    is blank ("same embedding").
    """
    names = list(names)
    by_pair = {(r["a"], r["b"]): r for r in rows}
    z = [[None] * len(names) for _ in names]
    text = [[""] * len(names) for _ in names]
    hover = [["same embedding"] * len(names) for _ in names]
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            r = by_pair.get((a, b))
            if i == j or r is None:
                continue
            value = r.get(key)
            head = f"reference {a}, candidate {b}: "
            if _finite(value):
                z[i][j], text[i][j] = float(value), fmt.format(float(value))
                hover[i][j] = head + text[i][j]
            else:
                why = (r.get(note_key) or "") if note_key else ""
                hover[i][j] = head + (why if why.startswith("n/a") else f"n/a — {why or 'missing'}")
    return z, text, hover


def pair_heatmap(rows: list[dict], names, key: str, *, title: str, colorbar: str,
                 note_key: str | None = None, fmt: str = "{:.3f}", tickformat: str = "",
                 zrange: tuple[float, float] | None = None) -> go.Figure:
    """A heatmap of one number per ordered pair (rows: reference A, columns: candidate B).

    Cells without a finite value are left blank; their hover says why (``note_key``).

    Notes
    -----
    A picture of the table's numbers, nothing more: the intervals are in the table.
    """
    names = list(names)
    z, text, hover = pair_matrix(rows, names, key, note_key=note_key, fmt=fmt)
    lo, hi = zrange if zrange is not None else (None, None)
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=names, text=text, texttemplate="%{text}", customdata=hover,
        hovertemplate="%{customdata}<extra></extra>", hoverongaps=True, zmin=lo, zmax=hi,
        colorscale=SEQUENTIAL, colorbar={"title": colorbar, "tickformat": tickformat},
        xgap=2, ygap=2))
    style(fig, title=title, height=max(300, 70 * len(names) + 140),
          xaxis={"title": "candidate B (mapped onto A)", "type": "category", "side": "bottom"},
          yaxis={"title": "reference A", "type": "category", "autorange": "reversed"})
    return fig


def _segments(pa: np.ndarray, pb: np.ndarray, count: int, seed: int) -> tuple[list, list]:
    """x and y of residual segments A_i -> h(B_i) for a seeded sample of rows (None-separated)."""
    m = pa.shape[0]
    idx = np.arange(m) if m <= count else np.sort(
        np.random.default_rng(seed).choice(m, size=count, replace=False))
    xs, ys = [], []
    for i in idx:
        xs += [float(pa[i, 0]), float(pb[i, 0]), None]
        ys += [float(pa[i, 1]), float(pb[i, 1]), None]
    return xs, ys


def _marker(colour, colour_name: str, categorical: bool, symbol: str, base: str,
            show_scale: bool) -> dict:
    """Marker spec: a solid colour, a continuous factor (shared scale) or label colours."""
    marker = {"size": 5, "symbol": symbol, "color": base, "opacity": 0.75}
    if colour is None:
        return marker
    values = np.asarray(colour)
    if not categorical:
        marker.update(color=values.astype(float), colorscale=SEQUENTIAL, showscale=show_scale,
                      colorbar={"title": colour_name},
                      cmin=float(np.nanmin(values)), cmax=float(np.nanmax(values)))
        return marker
    levels = {v: k for k, v in enumerate(dict.fromkeys(values.tolist()))}
    palette = qualitative.Plotly
    marker["color"] = [palette[levels[v] % len(palette)] for v in values.tolist()]
    return marker


def overlay_figure(pa: np.ndarray, pb: np.ndarray, *, a_name: str, b_name: str, map_name: str,
                   plane: str, colour=None, colour_name: str = "", categorical: bool = False,
                   segments: int = OVERLAY_SEGMENTS, seed: int = 0) -> go.Figure:
    """A's points and B's mapped points in one plane, with residual segments, equal aspect.

    Parameters
    ----------
    pa, pb : arrays of shape (m, 2)
        The reference's points and the candidate's mapped points (``compare.overlay``).
    a_name, b_name, map_name : for the legend ("B after rigid").
    plane : what the axes are, for the axis titles and the title.
    colour : array of shape (m,), optional
        A factor (numbers, one colour scale) or, with ``categorical``, labels (one colour
        each), for both sets.
    segments : residual segments A_i -> h(B_i) drawn for a seeded sample of this many rows.

    Notes
    -----
    Two directions of a higher-dimensional picture: points that coincide here may still be
    apart in the other directions; the error itself is in the table.
    """
    pa, pb = np.asarray(pa, float), np.asarray(pb, float)  # (m, 2) each
    xs, ys = _segments(pa, pb, segments, seed)
    hover = "%{x:.3f}, %{y:.3f}" + (f"<br>{colour_name} %{{text}}" if colour is not None
                                     else "") + "<extra>%{fullData.name}</extra>"
    text = None if colour is None else [str(v) for v in np.asarray(colour).tolist()]
    fig = go.Figure([
        go.Scatter(x=xs, y=ys, mode="lines", line={"color": SEGMENT_COLOR, "width": 1},
                   name=f"residual A − h(B), {min(segments, pa.shape[0])} rows",
                   hoverinfo="skip"),
        go.Scatter(x=pa[:, 0], y=pa[:, 1], mode="markers", name=f"A = {a_name}", text=text,
                   marker=_marker(colour, colour_name, categorical, "circle", A_COLOR, True),
                   hovertemplate=hover),
        go.Scatter(x=pb[:, 0], y=pb[:, 1], mode="markers", name=f"B = {b_name} {map_name}",
                   text=text, marker=_marker(colour, colour_name, categorical, "x", B_COLOR, False),
                   hovertemplate=hover),
    ])
    style(fig, title=f"{a_name} and {b_name} {map_name}, in {plane}", height=520,
          xaxis={"title": f"{plane}: axis 1", "zeroline": False},
          yaxis={"title": f"{plane}: axis 2", "scaleanchor": "x", "scaleratio": 1,
                 "zeroline": False})
    return fig
