"""Plotly figures of identifiability: ℓ2 error against L, reconstruction, ICA efficiency,
and disentanglement metrics before and after ICA."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nearid_core.views.plots import GROUP_COLORS, GROUP_NAMES, style

L_TITLES = {
    "L_max_max": "L_max_max = max over seeds of (max B(z) − 1) = B_max − 1",
    "L_max_mean": "L_max_mean = mean over seeds of (max B(z) − 1)",
    "L_mean_max": "L_mean_max = max over seeds of (mean B(z) − 1)",
    "L_mean_mean": "L_mean_mean = mean over seeds of (mean B(z) − 1)",
}
METRIC_NAMES = {"mcc": "MCC", "mcc_spearman": "MCC (Spearman)", "weak_mcc": "weak MCC",
                "infom": "InfoM", "infoe": "InfoE", "infoc": "InfoC", "dci_d": "DCI D",
                "dci_c": "DCI C", "dci_i": "DCI I"}
FIT_DASH = {"leak": "dash", "unit": "dot"}


def _r2(r2: float) -> str:
    return f"{r2:.2f}" + (" (worse than a constant)" if r2 < 0 else "")


def _fit_traces(fig, curves, g: str, grid: np.ndarray) -> None:
    covered = "" if g == "rigid" else " — not covered by Theorem 1"
    for basis, f in curves.fits[g].items():
        what = "leaks" if basis == "leak" else ("seed pairs" if curves.view == "statistical"
                                                 else "models")
        if not f.ok:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", legendgroup=g,
                                     line={"color": GROUP_COLORS[g], "dash": FIT_DASH[basis]},
                                     name=f"{g}: no fit over {what} ({f.reason})"))
            continue
        fig.add_trace(go.Scatter(
            x=grid, y=f.c * np.sqrt(2 * grid + grid**2), mode="lines", legendgroup=g,
            line={"color": GROUP_COLORS[g], "dash": FIT_DASH[basis], "width": 1.5},
            name=(f"{g} fit over {what}: c={f.c:.3g} [{f.c_low:.3g}, {f.c_high:.3g}], "
                  f"R²={_r2(f.r2)}{covered}"), hoverinfo="skip"))


def error_vs_L(curves, *, groups=("perm", "rigid", "linear", "ica"), show_points: bool = True,
               show_fit: bool = True, fit_groups=("rigid",)) -> go.Figure:
    """ℓ2 error per leak against L, mean ± std over seed pairs (or models), Theorem-1 fits.

    Parameters
    ----------
    curves : ``ident_views.ErrorCurves`` (L, leaks, mean, std, points, fits, view, L_kind).
    groups : which alignment groups to draw.
    show_points : draw every pair (or model) as a faint dot at its own L.
    show_fit : draw ``c * sqrt(2L + L^2)`` for ``fit_groups`` among ``groups``: over leaks
        (dashed) and over units (dotted); a fit that was refused gets a legend entry saying
        why. Theorem 1 covers the rigid group only; other fits are labelled so.
    """
    fig = go.Figure()
    L = np.asarray(curves.L, float)
    order = np.argsort(L, kind="stable")
    top = [np.nanmax(L)] if np.isfinite(L).any() else [1.0]
    top += [float(np.nanmax(curves.points[g][0])) for g in groups
            if np.isfinite(curves.points[g][0]).any()]
    grid = np.linspace(0.0, max(top), 100)
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
        if show_fit and g in fit_groups:
            _fit_traces(fig, curves, g, grid)
    what = "seed pairs" if curves.view == "statistical" else "models vs ground truth u"
    style(fig, title=f"{curves.view.capitalize()} ℓ2 error against L ({what})", height=500,
          xaxis={"title": L_TITLES.get(curves.L_kind, curves.L_kind)},
          yaxis={"title": "ℓ2 error / latent diameter", "rangemode": "tozero"},
          legend={"orientation": "h", "y": -0.25, "x": 0.0})
    return fig


def recon_vs_L(rows: list[dict], *, L_kind: str = "L_max_max") -> go.Figure:
    """Held-out reconstruction MSE per leak against L (log scale)."""
    L = [r[L_kind] for r in rows]
    fig = go.Figure(go.Scatter(
        x=L, y=[r["recon_mse"] for r in rows], mode="lines+markers+text",
        text=[f"α={r['leak']:g}" for r in rows], textposition="top center",
        marker={"size": 9, "color": "#444"}, name="reconstruction",
        hovertemplate="L %{x:.3f}<br>MSE %{y:.3g}<extra></extra>"))
    style(fig, title="Reconstruction against L", xaxis={"title": L_TITLES.get(L_kind, L_kind)},
          yaxis={"title": "held-out MSE", "type": "log", "exponentformat": "e"})
    return fig


def ica_efficiency(rows: list[dict], *, view: str = "statistical") -> go.Figure:
    """ICA efficiency (perm − ICA) / (perm − rigid) per leak as bars, ICA / linear beside.

    A leak whose efficiency is not shown (nan, see ``efficiency.guarded``) gets no bar but
    its short reason, and the full reason on hover.
    """
    from nearid_core.science.efficiency import short

    p = "" if view == "statistical" else "struct_"
    leaks = [f"{r['leak']:g}" for r in rows]
    vals = [r[f"{p}ica_efficiency"] for r in rows]
    notes = [r.get(f"{p}ica_efficiency_note", "") or "" for r in rows]
    finite = [v is not None and np.isfinite(v) for v in vals]
    shown = [v if f else 0.0 for v, f in zip(vals, finite, strict=True)]
    ratio = [r[f"{p}ica_vs_linear"] for r in rows]
    top = max([1.3] + [1.15 * x for x in shown + ratio if x is not None and np.isfinite(x)])
    fig = go.Figure(go.Bar(x=leaks, y=shown, marker_color=GROUP_COLORS["ica"],
                           name="ICA efficiency", text=[short(v, n) for v, n in
                                                        zip(vals, notes, strict=True)],
                           textposition=["inside" if f else "outside" for f in finite],
                           insidetextanchor="middle", customdata=notes,
                           hovertemplate="leak %{x}<br>%{text}<br>%{customdata}"
                                         "<extra></extra>"))
    fig.add_trace(go.Scatter(x=leaks, y=ratio, yaxis="y2", mode="markers",
                             marker={"symbol": "diamond", "size": 10,
                                     "color": GROUP_COLORS["linear"]},
                             name="ICA / linear error (right axis; 1 at the 100% line)",
                             hovertemplate="leak %{x}<br>ICA / linear %{y:.2f}<extra></extra>"))
    fig.add_hline(y=1.0, line={"dash": "dot", "color": "#888"},
                  annotation_text="efficiency 100%: ICA as good as rigid",
                  annotation_position="top left", annotation_font_size=10,
                  annotation_bgcolor="rgba(255,255,255,0.8)")
    style(fig, title="ICA efficiency per leak", xaxis={"title": "leak α", "type": "category"},
          yaxis={"title": "(perm − ICA) / (perm − rigid)", "tickformat": ".0%",
                 "range": [0, top]},
          yaxis2={"title": "ICA / linear", "overlaying": "y", "side": "right",
                  "range": [0, top], "showgrid": False})
    fig.update_layout(margin={"r": 60})  # room for the right axis
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
