"""The Playground's small charts: B(z) of one pair with the bound, the four alignment errors
as bars, and the pair's dot on the reference grid's error-vs-L curve."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from nearid_core.views.plots import GROUP_COLORS, GROUP_NAMES, style
from nearid_core.views.plots_ident import error_vs_L

__all__ = ["b_pair", "curve_with_dot", "error_bars", "scene_figures"]

PAIR_COLORS = ("#1f77b4", "#ff7f0e")
SMALL = 300  # px: the side charts of the Playground


def _fmt(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "n/a"


def b_pair(b: dict[str, np.ndarray], *, leak: float, bound: float, bins: int = 30) -> go.Figure:
    """Histograms of B(z) over the held-out points of one or two models at one leak.

    Parameters
    ----------
    b : model name -> (n,) B(z) values.
    leak : the models' leak, for the title.
    bound : the orthogonal decoder's bound (1 − α)^−K, a dotted line when it is on the
        axis (its value is in the title either way; NaN: no bound, a free decoder).
    """
    fig = go.Figure()
    values = [np.asarray(v, float)[np.isfinite(v)] for v in b.values()]
    top = max((float(v.max()) for v in values if v.size), default=1.0)
    hi = max(top, 1.0) * 1.05 + 0.02
    for (name, v), colour in zip(zip(b, values, strict=True), PAIR_COLORS, strict=False):
        median = _fmt(float(np.median(v))) if v.size else "n/a"
        fig.add_trace(go.Histogram(x=v, name=f"{name} (median {median})", opacity=0.6,
                                   marker_color=colour,
                                   xbins={"start": 1.0, "end": hi, "size": (hi - 1.0) / bins}))
    if math.isfinite(bound) and bound <= hi:
        fig.add_vline(x=bound, line={"dash": "dot", "color": "black"})
    style(fig, title=f"B(z) at α = {leak:g} · bound {_fmt(bound)}",
          height=SMALL, barmode="overlay",
          xaxis={"title": "B(z) (1 = locally isometric)", "range": [0.98, hi]},
          yaxis={"title": "held-out points"}, legend={"orientation": "h", "y": -0.35, "x": 0})
    return fig


def error_bars(errors: dict[str, float], *, title: str) -> go.Figure:
    """The four ℓ2 alignment errors of one pair, one bar per group (n/a bars are empty)."""
    groups = [g for g in ("perm", "rigid", "linear", "ica") if g in errors]
    vals = [errors[g] if math.isfinite(errors[g]) else None for g in groups]
    fig = go.Figure(go.Bar(
        x=[GROUP_NAMES[g].split(" (")[0] for g in groups], y=vals,
        marker_color=[GROUP_COLORS[g] for g in groups],
        text=[_fmt(errors[g]) for g in groups], textposition="outside", cliponaxis=False))
    top = max((v for v in vals if v is not None), default=0.1)
    style(fig, title=title, height=SMALL, showlegend=False,
          yaxis={"title": "ℓ2 error / diameter", "range": [0, top * 1.25 + 1e-9]})
    return fig


def curve_with_dot(curves, *, L: float, error: float, leak: float, group: str = "rigid",
                   name: str = "this pair") -> go.Figure:
    """The reference grid's mean error against L for ``group`` (with its Theorem-1 fit),
    and one star at (L, error): where the pair shown sits on it."""
    fig = error_vs_L(curves, groups=(group,), show_points=True, fit_groups=(group,))
    if math.isfinite(L) and math.isfinite(error):
        fig.add_trace(go.Scatter(
            x=[L], y=[error], mode="markers", name=f"{name} (α = {leak:g})",
            marker={"symbol": "star", "size": 18, "color": "black",
                    "line": {"color": "white", "width": 1}},
            hovertemplate="L %{x:.3f}<br>error %{y:.4f}<extra></extra>"))
    fig.update_layout(height=360)
    return fig


GROUP_TITLES = {"statistical": "ℓ2 error of B against A, per map",
                "structural": "ℓ2 error against the true factors, per map"}


def scene_figures(sc, curves, *, wide: bool = False) -> dict[str, go.Figure]:
    """The Playground's four charts of one ``views.playground.Scene``: "overlay", "b",
    "bars" and "curve" (``curves``: the reference grid's ``ErrorCurves`` of the scene's
    view, statistical or structural). ``wide``: the overlay's four tiles in one row (a
    projector's wide, short window) instead of 2 x 2."""
    from nearid_core.views.plots_overlay import overlay_grid

    return {
        "overlay": overlay_grid(sc.overlays, a_name=sc.a_name, b_name=sc.b_name,
                                colour=sc.colour, colour_name=sc.colour_name,
                                height=340 if wide else 600, cols=4 if wide else 2),
        "b": b_pair(sc.b, leak=sc.leak, bound=sc.bound),
        "bars": error_bars(sc.errors, title=GROUP_TITLES[sc.view]),
        "curve": curve_with_dot(curves, L=sc.L, error=sc.errors["rigid"], leak=sc.leak,
                                name=f"{sc.a_name} vs {sc.b_name}"),
    }
