"""Plotly figures of identifiability: ℓ2 error against L, reconstruction, ICA efficiency,
and disentanglement metrics before and after ICA."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .plots import GROUP_COLORS, GROUP_NAMES, style

L_TITLES = {"L_max": "L_max = max B(z) − 1", "L_mean": "L_mean = mean B(z) − 1"}
METRIC_NAMES = {"mcc": "MCC", "mcc_spearman": "MCC (Spearman)", "weak_mcc": "weak MCC",
                "infom": "InfoM", "infoe": "InfoE", "infoc": "InfoC", "dci_d": "DCI D",
                "dci_c": "DCI C", "dci_i": "DCI I"}


def error_vs_L(curves, *, groups=("perm", "rigid", "linear", "ica"), show_points: bool = True,
               show_fit: bool = True) -> go.Figure:
    """ℓ2 error per leak against L, mean ± std over seed pairs (or models), Theorem-1 fit.

    Parameters
    ----------
    curves : ``results.ErrorCurves`` (L, leaks, mean, std, points, fits, view, L_kind).
    groups : which alignment groups to draw.
    show_points : draw every pair (or model) as a faint dot.
    show_fit : draw ``c * sqrt(2L + L^2)`` fitted through the origin (dashed).
    """
    fig = go.Figure()
    L = np.asarray(curves.L, float)
    order = np.argsort(L, kind="stable")
    grid = np.linspace(0.0, float(np.nanmax(L)) if np.isfinite(L).any() else 1.0, 100)
    for g in groups:
        c = GROUP_COLORS[g]
        if show_points and len(curves.points[g][0]):
            fig.add_trace(go.Scatter(x=curves.points[g][0], y=curves.points[g][1],
                                     mode="markers", marker={"color": c, "size": 5,
                                                             "opacity": 0.3},
                                     legendgroup=g, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(  # joined in order of L, not of the leak
            x=L[order], y=curves.mean[g][order], mode="lines+markers", name=GROUP_NAMES[g],
            legendgroup=g, line={"color": c}, marker={"size": 8},
            error_y={"type": "data", "array": curves.std[g][order], "visible": True},
            customdata=np.asarray(curves.leaks)[order],
            hovertemplate="leak %{customdata:g}<br>L %{x:.3f}<br>error %{y:.4f}<extra>"
                          + GROUP_NAMES[g] + "</extra>"))
        fit = curves.fits[g]
        if show_fit and np.isfinite(fit["c"]):
            fig.add_trace(go.Scatter(
                x=grid, y=fit["c"] * np.sqrt(2 * grid + grid**2), mode="lines",
                line={"color": c, "dash": "dash", "width": 1.5}, legendgroup=g,
                name=f"fit c·√(2L+L²), c={fit['c']:.3g}, R²={fit['r2']:.2f}",
                hoverinfo="skip"))
    what = "seed pairs" if curves.view == "statistical" else "models vs ground truth u"
    style(fig, title=f"{curves.view.capitalize()} ℓ2 error against L ({what})", height=460,
          xaxis={"title": L_TITLES[curves.L_kind]},
          yaxis={"title": "ℓ2 error / latent diameter", "rangemode": "tozero"})
    return fig


def recon_vs_L(rows: list[dict], *, L_kind: str = "L_max") -> go.Figure:
    """Held-out reconstruction MSE per leak against L (log scale)."""
    L = [r[L_kind] for r in rows]
    fig = go.Figure(go.Scatter(
        x=L, y=[r["recon_mse"] for r in rows], mode="lines+markers+text",
        text=[f"α={r['leak']:g}" for r in rows], textposition="top center",
        marker={"size": 9, "color": "#444"}, name="reconstruction",
        hovertemplate="L %{x:.3f}<br>MSE %{y:.3g}<extra></extra>"))
    style(fig, title="Reconstruction against L", xaxis={"title": L_TITLES[L_kind]},
          yaxis={"title": "held-out MSE", "type": "log"})
    return fig


def ica_efficiency(rows: list[dict], *, view: str = "statistical") -> go.Figure:
    """ICA efficiency (perm − ICA) / (perm − rigid) per leak, as bars."""
    key = "ica_efficiency" if view == "statistical" else "struct_ica_efficiency"
    leaks = [f"{r['leak']:g}" for r in rows]
    vals = [r[key] for r in rows]
    fig = go.Figure(go.Bar(x=leaks, y=vals, marker_color=GROUP_COLORS["ica"],
                           text=[f"{v:.0%}" if np.isfinite(v) else "n/a" for v in vals],
                           textposition="outside",
                           hovertemplate="leak %{x}<br>efficiency %{y:.1%}<extra></extra>"))
    fig.add_hline(y=1.0, line={"dash": "dot", "color": "#888"},
                  annotation_text="ICA as good as rigid", annotation_font_size=10)
    style(fig, title="ICA efficiency per leak", xaxis={"title": "leak α", "type": "category"},
          yaxis={"title": "(perm − ICA) / (perm − rigid)", "tickformat": ".0%"})
    return fig


def metric_bars(scores: dict[str, tuple[float, float]], *,
                title: str = "Disentanglement before and after ICA") -> go.Figure:
    """Grouped bars: each metric before ICA and after ICA."""
    names = [METRIC_NAMES.get(k, k) for k in scores]
    before = [v[0] for v in scores.values()]
    after = [v[1] for v in scores.values()]
    fig = go.Figure([
        go.Bar(x=names, y=before, name="AE latents (before ICA)", marker_color="#999"),
        go.Bar(x=names, y=after, name="after ICA", marker_color=GROUP_COLORS["ica"]),
    ])
    style(fig, title=title, barmode="group", yaxis={"title": "score (1 = best)"})
    return fig


def metric_by_leak(rows: list[dict], metric: str = "mcc") -> go.Figure:
    """One metric per leak, before and after ICA (sweep means)."""
    leaks = [f"{r['leak']:g}" for r in rows]
    name = METRIC_NAMES.get(metric, metric)
    fig = go.Figure([
        go.Scatter(x=leaks, y=[r[f"{metric}_before"] for r in rows], mode="lines+markers",
                   name=f"{name} before ICA", line={"color": "#999"}),
        go.Scatter(x=leaks, y=[r[f"{metric}_after"] for r in rows], mode="lines+markers",
                   name=f"{name} after ICA", line={"color": GROUP_COLORS["ica"]}),
    ])
    style(fig, title=f"{name} per leak, before and after ICA",
          xaxis={"title": "leak α", "type": "category"}, yaxis={"title": name})
    return fig
