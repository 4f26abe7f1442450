"""The overlay picture as one figure: four panels (as is, signed permutation, rotation, ICA).

Takes ``overlay.pair_overlays``'s panels and returns a ``plotly.graph_objects.Figure``; draws
nothing on screen and never imports streamlit.

The four panels are tiles of ONE pair of axes (2 x 2 cells, equal aspect), not four
subplots: the browser draws one subplot several times faster than four (measured in the
Playground: about 0.5 s of a 2-core machine's browser time per slider move saved), and the
figure is built without ``make_subplots``. Raw, permutation and rotation share A's scale, so
their residuals compare at a glance; the ICA panel, in ICA(A)'s units, has its own.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from nearid_core.views.overlay import MAP_SHORT, MAPS, Overlay
from nearid_core.views.plots import style
from nearid_core.views.plots_compare import (
    A_COLOR,
    B_COLOR,
    SEGMENT_COLOR,
    _marker,
    _segments,
)

__all__ = ["LAYOUTS", "TRACES", "cell", "error_text", "overlay_grid", "tile_scales"]

TRACES = 3  # residual segments, A, B (all four panels in each): quick to serialise and draw
LAYOUTS = (2, 4)  # columns: 2 x 2 (a narrow page), or one row of 4 (wide and short)
GAP = 1.45  # cell pitch in units of a cell's half-width (1): room for the panel titles


def error_text(error: float) -> str:
    """An error to 3 significant digits, or "n/a" when it is not finite."""
    return f"{error:.3g}" if math.isfinite(error) else "n/a"


def _extent(*arrays: np.ndarray) -> float:
    vals = [np.abs(a[np.isfinite(a)]).max() for a in arrays if a.size and np.isfinite(a).any()]
    return max(vals, default=0.0) or 1.0


def tile_scales(overlays: dict[str, Overlay]) -> dict[str, float]:
    """Per map, the factor that fits its points in a cell of half-width 1: one factor for
    raw, perm and rigid (A's units), one for ICA (ICA(A)'s units)."""
    a_maps = [g for g in MAPS if g != "ica"]
    shared = 1.0 / _extent(*[overlays[g].pa for g in a_maps], *[overlays[g].pb for g in a_maps])
    return {**dict.fromkeys(a_maps, shared),
            "ica": 1.0 / _extent(overlays["ica"].pa, overlays["ica"].pb)}


def cell(g: str, cols: int = 2) -> tuple[int, int]:
    """(column, row) of map ``g``'s tile: raw, perm, rigid, ica in reading order."""
    k = MAPS.index(g)
    return k % cols, k // cols


def _origin(g: str, cols: int) -> tuple[float, float]:
    col, row = cell(g, cols)
    return 2 * GAP * col, -2 * GAP * row


def _tiled(overlays: dict, rows_colour, segments: int, seed: int, cols: int):
    """All panels' A points, B points and residual segments in tile coordinates."""
    scales = tile_scales(overlays)
    pa, pb, sx, sy, colours = [], [], [], [], []
    for g in MAPS:
        ov, (ox, oy) = overlays[g], _origin(g, cols)
        a, b = ov.pa * scales[g] + (ox, oy), ov.pb * scales[g] + (ox, oy)  # (m, 2) each
        xs, ys = _segments(a, b, segments, seed)
        pa.append(a), pb.append(b), sx.extend(xs), sy.extend(ys)
        if rows_colour is not None and a.shape[0]:
            colours.append(np.asarray(rows_colour))
    colour = np.concatenate(colours) if colours else None
    return np.vstack(pa), np.vstack(pb), sx, sy, colour


def _check(overlays: dict, colour) -> None:
    """Every map present, nothing else; a colour of one value per drawn row."""
    if set(overlays) != set(MAPS):
        raise ValueError(f"overlays must have exactly the keys {MAPS}, got {tuple(overlays)}")
    if colour is not None:
        m = overlays["raw"].pa.shape[0]
        if np.asarray(colour).shape != (m,):
            raise ValueError(f"colour must have one value per drawn row, shape ({m},), "
                             f"got {np.asarray(colour).shape}")


def _frames(overlays: dict, cols: int) -> tuple[list[dict], list[dict]]:
    """A light frame per cell and its title (map and error) above it."""
    shapes, notes = [], []
    for g in MAPS:
        ox, oy = _origin(g, cols)
        shapes.append({"type": "rect", "x0": ox - 1.1, "x1": ox + 1.1, "y0": oy - 1.1,
                       "y1": oy + 1.1, "line": {"color": "#dddddd", "width": 1},
                       "layer": "below"})
        notes.append({"x": ox, "y": oy + 1.12, "xanchor": "center", "yanchor": "bottom",
                      "showarrow": False, "font": {"size": 13},
                      "text": f"{MAP_SHORT[g]}<br>error {error_text(overlays[g].error)}"})
    return shapes, notes


def overlay_grid(overlays: dict[str, Overlay], *, a_name: str, b_name: str, colour=None,
                 colour_name: str = "", categorical: bool = False, segments: int = 40,
                 seed: int = 0, height: int = 560, cols: int = 2) -> go.Figure:
    """A's points (circles) and B's mapped points (crosses), one tile per map, 2 x 2 or 1 x 4.

    Parameters
    ----------
    overlays : dict of str to Overlay
        ``pair_overlays``'s first output: the keys of ``MAPS``, each pa, pb of shape (m, 2).
    a_name, b_name : str
        Names of the reference and the candidate, for the title and the legend.
    colour : array of shape (m,), optional
        A factor on the drawn rows (``u[rows, k]``): one continuous scale, one colour bar,
        shared by A and B in every panel; labels with ``categorical``.
    colour_name : str
        Title of the colour bar and hover label.
    segments : int, default=40
        Residual segments A_i -> h(B_i) drawn per panel, for a seeded sample of rows.
    seed : int, default=0
        Seed of that sample (the same rows in every panel).
    height : int, default=560
        Figure height in pixels.
    cols : {2, 4}, default=2
        Tiles per row: 2 x 2 for a narrow page, one row of 4 for a wide, short one (a
        projector).

    Returns
    -------
    plotly.graph_objects.Figure
        ``TRACES`` traces (segments, A, B), the panels tiled raw, perm (top) and rigid,
        ica (bottom) at equal aspect, each framed and titled with its map and error.

    Notes
    -----
    A picture of the measured error, not a second measurement: the titles are the errors on
    all eval rows; the points are a subsample, and beyond 2-D only two directions are shown.
    Tiles are rescaled to fit (``tile_scales``), so the axes carry no ticks.
    """
    _check(overlays, colour)
    if cols not in LAYOUTS:
        raise ValueError(f"cols must be one of {LAYOUTS}, got {cols!r}")
    pa, pb, sx, sy, tiled_colour = _tiled(overlays, colour, segments, seed, cols)
    factor = "" if colour is None else f"{colour_name} %{{text}}"
    text = None if tiled_colour is None else (
        tiled_colour.astype(str).tolist() if categorical
        else [f"{v:.3g}" for v in tiled_colour.astype(float)])
    fig = go.Figure([
        go.Scatter(x=sx, y=sy, mode="lines", name="residual A − h(B)", hoverinfo="skip",
                   line={"color": SEGMENT_COLOR, "width": 1}),
        *[go.Scatter(x=p[:, 0], y=p[:, 1], mode="markers", name=name, text=text,
                     hovertemplate=f"{factor}<extra>{name}</extra>",
                     marker=_marker(tiled_colour, colour_name, categorical, symbol, base, bar))
          for name, p, symbol, base, bar in (
              (f"A = {a_name}", pa, "circle", A_COLOR, True),
              (f"B = {b_name} (mapped)", pb, "x", B_COLOR, False))]])
    shapes, notes = _frames(overlays, cols)
    rows = len(MAPS) // cols
    hidden = {"visible": False, "range": [-1.2, 2 * GAP * (cols - 1) + 1.2]}
    planes = f"{overlays['raw'].plane}; ICA panel: {overlays['ica'].plane}"
    style(fig, title=f"B = {b_name} (×) on A = {a_name} (○)<br><sup>{planes}</sup>",
          height=height, shapes=shapes, annotations=notes, xaxis=hidden,
          yaxis={"visible": False, "range": [-2 * GAP * (rows - 1) - 1.2, 1.6],
                 "scaleanchor": "x", "scaleratio": 1},
          legend={"orientation": "h", "x": 0.0, "y": 0.0, "yanchor": "top"})
    fig.update_layout(margin={"r": 60, "t": 80, "l": 20, "b": 30})  # colour bar; 2-line title
    return fig
