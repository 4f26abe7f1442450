"""Plotly figure builders: B(z) distributions and maps, loss curves, data previews.

Every function takes arrays or rows and returns a ``plotly.graph_objects.Figure``; none
draws on screen or imports streamlit. Identifiability charts live in ``plots_ident`` and
latent-space charts in ``plots_latent``; this module holds the shared styling.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import sample_colorscale

GROUP_COLORS = {"perm": "#d62728", "rigid": "#1f77b4", "linear": "#2ca02c", "ica": "#9467bd"}
GROUP_NAMES = {"perm": "signed permutation", "rigid": "rigid", "linear": "linear",
               "ica": "ICA (then signed permutation)"}
HEIGHT = 380
SEQUENTIAL = "Viridis"  # dark to bright: more is brighter, monotonically
VIOLIN_POINTS = 1000
TEMPLATE = "plotly_white"


def style(fig: go.Figure, *, title: str = "", height: int = HEIGHT,
          legend: dict | None = None, **layout) -> go.Figure:
    """The house layout: white template, compact margins, legend under the plot (or
    ``legend``, e.g. a vertical one right of it)."""
    if pio.templates.default != TEMPLATE:  # else the figure has it since it was built
        layout["template"] = TEMPLATE
    fig.update_layout(height=height, title={"text": title, "x": 0.0, "font": {"size": 15}},
                      margin={"l": 60, "r": 20, "t": 60 if title else 30, "b": 50},
                      legend=legend or {"orientation": "h", "y": -0.2, "x": 0.0}, **layout)
    return fig


def use_house_template() -> None:
    """Make the house template plotly's default in this process (the app's server).

    Every figure then gets it as it is built, unvalidated (plotly trusts its registered
    default), and ``style`` no longer sets it: setting it validates a copy of the whole
    template, about 25 ms a figure (measured), a page's largest cost in building its
    figures. The figures are the same. Process-wide, so the app calls it, not the library.
    """
    pio.templates.default = TEMPLATE


def leak_colors(leaks) -> dict[float, str]:
    """One colour per leak, from linear (dark blue) to ReLU-like (yellow)."""
    leaks = sorted(float(a) for a in leaks)
    pos = [a if len(leaks) == 1 else i / (len(leaks) - 1) for i, a in enumerate(leaks)]
    return dict(zip(leaks, sample_colorscale("Viridis", pos), strict=True))


def figure_html(fig: go.Figure) -> str:
    """A self-contained HTML page of the figure (plotly.js inlined: works offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True)


def quantile_sketch(values: np.ndarray, size: int = VIOLIN_POINTS) -> np.ndarray:
    """At most ``size`` evenly spaced quantiles of ``values`` (min and max kept): the same
    distribution for a density plot, at a fraction of the points."""
    v = np.asarray(values, float)
    if v.size <= size:
        return v
    return np.quantile(v, np.linspace(0.0, 1.0, size))


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    candidates = [1, 1.001, 1.01, 1.1, 1.5, 2, 3, 5, 10, 20, 50, 100, 1000]
    gap = max(hi - lo, 1e-9) / 12  # ticks closer than this would print over each other
    vals: list[float] = []
    for v in candidates:
        t = math.log10(v)
        if lo - 1e-12 <= t <= hi + 1e-12 and (not vals or t - math.log10(vals[-1]) >= gap):
            vals.append(v)
    vals = vals or [1]
    return [math.log10(v) for v in vals], [f"{v:g}" for v in vals]


def b_distribution(b_by_leak: dict[float, np.ndarray], *, bounds: dict[float, float] | None = None,
                   kind: str = "violin", log_x: bool = False) -> go.Figure:
    """Distribution of B(z) per leak, as horizontal violins or step histograms.

    Parameters
    ----------
    b_by_leak : leak -> (n,) B(z) values (>= 1).
    bounds : leak -> the orthogonal decoder's bound (1 - alpha)^-K, drawn as a marker; a
        bound far beyond the data is drawn at the right edge with its value as text.
    kind : "violin" or "histogram".
    log_x : plot log10 B with ticks labelled in B (spreads the values near 1).
    """
    colors = leak_colors(b_by_leak)
    fig = go.Figure()
    tx = (lambda v: np.log10(np.maximum(v, 1.0))) if log_x else (lambda v: np.asarray(v))
    for a, b in sorted(b_by_leak.items()):
        name = f"leak {a:g}"
        if kind == "violin":
            b = quantile_sketch(b)  # the browser's KDE over every point is slow
            fig.add_trace(go.Violin(x=tx(b), y=[name] * len(b), name=name, orientation="h",
                                    line_color=colors[a], points=False, meanline_visible=True,
                                    spanmode="hard", showlegend=False))
        else:
            edges = np.histogram_bin_edges(tx(b), bins=40)
            dens, _ = np.histogram(tx(b), bins=edges, density=True)
            fig.add_trace(go.Scatter(x=edges, y=np.append(dens, dens[-1:]), name=name,
                                     line={"shape": "hv", "color": colors[a]}, mode="lines"))
    all_b = np.concatenate([tx(b) for b in b_by_leak.values()]) if b_by_leak else np.zeros(1)
    lo, hi = float(np.min(all_b)), float(np.max(all_b))
    span = max(hi - lo, 1e-3 if log_x else 0.05)
    x_range = [lo - 0.05 * span, hi + 0.25 * span]
    _add_bounds(fig, b_by_leak, bounds or {}, kind, tx, x_range[1])
    xaxis = {"title": "B(z) = max(σ₁, 1/σ_d) of the decoder Jacobian", "range": x_range}
    if log_x:
        vals, text = _log_ticks(x_range[0], x_range[1])
        xaxis.update(tickvals=vals, ticktext=text, title=xaxis["title"] + " (log scale)")
    style(fig, title="B(z) per leak: 1 = locally isometric decoder",
          xaxis=xaxis, yaxis={"title": "density" if kind == "histogram" else ""})
    return fig


def _add_bounds(fig, b_by_leak, bounds, kind, tx, x_max) -> None:
    shown = [(a, v) for a, v in sorted(bounds.items()) if a in b_by_leak and np.isfinite(v)]
    if not shown:
        return
    xs = [min(float(tx(v)), x_max) for _, v in shown]
    beyond = [float(tx(v)) > x_max for _, v in shown]
    labels = [f"bound {v:.3g} →" if out else "" for (_, v), out in zip(shown, beyond, strict=True)]
    if kind == "violin":
        fig.add_trace(go.Scatter(
            x=xs, y=[f"leak {a:g}" for a, _ in shown], mode="markers+text", text=labels,
            textposition="middle left", textfont={"size": 10},
            name="bound (1−α)^−K",
            marker={"symbol": ["triangle-right" if out else "line-ns-open" for out in beyond],
                    "size": [10 if out else 22 for out in beyond], "color": "black",
                    "line": {"width": 2}},
            hovertemplate="bound %{customdata:.3g}<extra></extra>",
            customdata=[v for _, v in shown]))
        return
    colors = leak_colors(b_by_leak)
    for (a, v), x, out in zip(shown, xs, beyond, strict=True):
        fig.add_vline(x=x, line={"dash": "dot", "color": colors[a]},
                      annotation_text=f"bound α={a:g}" + (f" ({v:.3g}, off the axis)"
                                                          if out else ""),
                      annotation_font_size=10)


def b_map(xs: np.ndarray, ys: np.ndarray, b: np.ndarray, points: np.ndarray | None = None,
          *, title: str = "B(z) over the latent plane") -> go.Figure:
    """Heatmap of B(z) on a grid (b[i, j] at (xs[j], ys[i])) with the data points on top.

    Notes
    -----
    The colour scale is sequential (Viridis): brightness grows monotonically with B, so
    the brightest cell is the largest B (a reversed scale ending in a pale colour read as
    "low" at its top).
    """
    fig = go.Figure(go.Heatmap(x=xs, y=ys, z=b, colorscale=SEQUENTIAL, reversescale=False,
                               colorbar={"title": "B(z)"},
                               hovertemplate="z₁ %{x:.2f}, z₂ %{y:.2f}<br>B %{z:.3f}"
                                             "<extra></extra>"))
    if points is not None and len(points):
        fig.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers",
                                 name="held-out latents",
                                 marker={"size": 3, "color": "white", "opacity": 0.7,
                                         "line": {"width": 0.4, "color": "black"}}))
    style(fig, title=title, height=460, xaxis={"title": "z₁"},
          yaxis={"title": "z₂", "scaleanchor": "x"})
    return fig


def log_ticks(lo: float, hi: float, *, min_ticks: int = 3) -> tuple[list[float], list[str]]:
    """Tick values and labels for a log axis over [lo, hi] (data units, lo > 0).

    The coarsest of: decades, 1-2-5, 1-2-3-5-7 or every digit per decade that gives at
    least ``min_ticks`` ticks, thinned so that no two are closer than a tenth of the axis
    (in log units); else four geometric steps rounded to the fewest significant digits that
    keep them apart. Every tick
    is labelled with its full value ("0.002", never a bare "2").
    """
    lo, hi = float(min(lo, hi)), float(max(lo, hi))
    if not (lo > 0 and np.isfinite(hi)):
        return [], []
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    gap = max(math.log10(hi / lo), 1e-12) / 10
    for mantissas in ((1,), (1, 2, 5), (1, 2, 3, 5, 7), tuple(range(1, 10))):
        vals: list[float] = []
        for v in (m * 10.0**k for k in range(k0, k1 + 1) for m in mantissas):
            inside = lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)
            if inside and (not vals or math.log10(v / vals[-1]) >= gap):
                vals.append(v)
        if len(vals) >= min_ticks:
            break
    else:  # a narrow range: four geometric steps, with as many digits as tell them apart
        for digits in range(2, 8):
            vals = sorted({float(f"{v:.{digits}g}") for v in np.geomspace(lo, hi, 4)})
            if len(vals) >= min(min_ticks, 4):
                break
        return vals, [f"{v:.{digits}g}" for v in vals]
    return vals, [f"{v:.3g}" for v in vals]


def _log_axis(values: np.ndarray, title: str) -> dict:
    """A log y-axis with labelled ticks over the positive finite ``values``."""
    axis: dict = {"title": title, "type": "log"}
    if values.size:
        vals, text = log_ticks(float(values.min()), float(values.max()))
        axis.update(tickmode="array", tickvals=vals, ticktext=text)
    return axis


def loss_curves(curves: dict[str, np.ndarray], *, failed: set[str] | None = None,
                colors: dict[str, str] | None = None, groups: dict[str, str] | None = None,
                x_title: str = "epoch", log_y: bool = True,
                title: str = "Training loss per model") -> go.Figure:
    """One line per model (label -> losses of shape (k,)); failed models dashed.

    ``colors`` (label -> colour) colours models, e.g. by leak; ``groups`` (label -> legend
    entry, e.g. "α = 0.4") shows one legend entry per group (every failed model keeps its
    own), so a 24-model sweep has a short legend. The legend sits right of the plot, clear
    of the x-axis title; the log axis has at least three labelled ticks.
    """
    failed, colors, groups = failed or set(), colors or {}, groups or {}
    fig = go.Figure()
    seen: set[str] = set()
    finite = []
    for label, y in curves.items():
        y = np.asarray(y, float)
        finite.append(y[np.isfinite(y) & (y > 0)])
        bad = label in failed
        group = groups.get(label, label)
        name = label + " (failed)" if bad else group
        fig.add_trace(go.Scatter(x=np.arange(1, len(y) + 1), y=y,
                                 mode="lines+markers" if len(y) < 3 else "lines", name=name,
                                 legendgroup=name, showlegend=bad or group not in seen,
                                 hovertemplate=f"{label}<br>%{{x}}: %{{y:.4g}}<extra></extra>",
                                 line={"dash": "dash" if bad else "solid",
                                       "color": colors.get(label)}))
        seen.add(group)
    values = np.concatenate(finite) if finite else np.zeros(0)
    yaxis = _log_axis(values, "MSE") if log_y else {"title": "MSE"}
    n_x = max((len(np.asarray(y)) for y in curves.values()), default=1)
    xaxis = {"title": x_title}
    if n_x < 10:  # a tick per point: plotly would label a 2-point axis at 1, 1.5 and 2
        xaxis.update(tickmode="linear", tick0=1, dtick=1)
    style(fig, title=title, xaxis=xaxis, yaxis=yaxis,
          legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1.0,
                  "yanchor": "top", "font": {"size": 11}})
    return fig


def loss_bands(curves: dict[str, list[np.ndarray]], *, colors: dict[str, str] | None = None,
               failed: dict[str, np.ndarray] | None = None, x_title: str = "epoch",
               title: str = "Training loss per leak") -> go.Figure:
    """Many models at once: per group (e.g. "α = 0.4"), the median over its models at each
    x and a band from their minimum to their maximum; failed models as dashed lines of
    their own (label -> losses). Two traces a group instead of one a model, so a 384-model
    grid draws 24 traces, not 384."""
    colors, failed = colors or {}, failed or {}
    fig = go.Figure()
    finite = []
    for group, ys in curves.items():
        stats = _stack_stats(ys)
        if stats is None:
            continue
        x, lo, med, hi = stats
        finite.append(np.concatenate([lo, hi]))
        colour = colors.get(group)
        fig.add_trace(go.Scatter(
            x=np.concatenate([x, x[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
            mode="none", fillcolor=_translucent(colour), legendgroup=group, showlegend=False,
            hoverinfo="skip", name=f"{group} (range)"))
        fig.add_trace(go.Scatter(
            x=x, y=med, mode="lines", name=f"{group} (median of {len(ys)})",
            legendgroup=group, line={"color": colour},
            hovertemplate=f"{group}: median %{{y:.4g}} at %{{x}}<extra></extra>"))
    for label, y in failed.items():
        y = np.asarray(y, float)
        finite.append(y)
        fig.add_trace(go.Scatter(x=np.arange(1, len(y) + 1), y=y, mode="lines",
                                 name=f"{label} (failed)", line={"dash": "dash"}))
    values = np.concatenate(finite) if finite else np.zeros(0)
    values = values[np.isfinite(values) & (values > 0)]
    style(fig, title=title, xaxis={"title": x_title}, yaxis=_log_axis(values, "MSE"),
          legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1.0,
                  "yanchor": "top", "font": {"size": 11}})
    return fig


def _stack_stats(ys: list[np.ndarray]):
    """(x, min, median, max) over curves of possibly different lengths, at each x where
    at least one curve has a finite value; None when there is none."""
    n = max((len(y) for y in ys), default=0)
    if n == 0:
        return None
    table = np.full((len(ys), n), np.nan)
    for k, y in enumerate(ys):
        table[k, : len(y)] = np.asarray(y, float)
    table[~np.isfinite(table) | (table <= 0)] = np.nan  # log axis: positive values only
    keep = ~np.all(np.isnan(table), axis=0)
    if not keep.any():
        return None
    t = table[:, keep]
    return (np.arange(1, n + 1)[keep], np.nanmin(t, axis=0), np.nanmedian(t, axis=0),
            np.nanmax(t, axis=0))


def _translucent(colour: str | None, alpha: float = 0.2) -> str:
    """A fill colour from a line colour ("#rrggbb" or "rgb(r, g, b)")."""
    if not colour:
        return f"rgba(99, 110, 250, {alpha})"
    if colour.startswith("#") and len(colour) == 7:
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return f"rgba({r}, {g}, {b}, {alpha})"
    if colour.startswith("rgb(") and colour.endswith(")"):
        return "rgba(" + colour[4:-1] + f", {alpha})"
    return colour


def data_pca3d(scores: np.ndarray, color: np.ndarray, *, color_name: str,
               explained: np.ndarray | None = None) -> go.Figure:
    """3-D PCA scatter of observations (scores (n, 3)), coloured by one factor (or by B).

    A cube-shaped scene with at most five ticks per axis (small labels) and a camera far
    enough out that all three axis titles stay in the frame.
    """
    labels = [f"PC{i + 1}" + (f" ({explained[i]:.0%})" if explained is not None else "")
              for i in range(3)]
    fig = go.Figure(go.Scatter3d(
        x=scores[:, 0], y=scores[:, 1], z=scores[:, 2], mode="markers",
        marker={"size": 2.5, "color": color, "colorscale": SEQUENTIAL,
                "colorbar": {"title": color_name, "thickness": 14}},
        hovertemplate=f"{color_name} %{{marker.color:.3f}}<extra></extra>"))
    axis = {"nticks": 5, "tickfont": {"size": 10}, "title": {"font": {"size": 12}}}
    scene = {f"{a}axis": {**axis, "title": {**axis["title"], "text": t}}
             for a, t in zip("xyz", labels, strict=True)}
    scene.update(aspectmode="cube", camera={"eye": {"x": 1.7, "y": 1.7, "z": 1.2}})
    style(fig, title=f"Observations x, PCA to 3-D, coloured by {color_name}", height=520,
          scene=scene)
    fig.update_layout(margin={"l": 10, "r": 10, "b": 10})
    return fig


def histogram(values: np.ndarray, *, x_title: str, title: str, bins: int = 40) -> go.Figure:
    """A plain histogram (e.g. the generator's own B(u)); a constant sample is said so."""
    v = np.asarray(values, float)
    xaxis = {"title": x_title}
    if v.size and np.ptp(v) < 1e-6 * max(1.0, abs(float(v.mean()))):
        c = float(v.mean())  # plotly would draw one bar a unit wide: say it instead
        fig = go.Figure(go.Bar(x=[c], y=[v.size], width=[0.01], marker_color="#1f77b4"))
        fig.add_annotation(x=c, y=v.size, text=f"all {v.size:,} values = {c:.4f}",
                           showarrow=False, yshift=12)
        xaxis["range"] = [c - 0.25, c + 0.25]
    else:
        fig = go.Figure(go.Histogram(x=v, nbinsx=bins, marker_color="#1f77b4"))
    style(fig, title=title, height=300, xaxis=xaxis, yaxis={"title": "count"}, bargap=0.05)
    return fig
