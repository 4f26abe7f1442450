"""Plotly figures of latent spaces: scatters coloured by a factor, |corr| heatmaps,
projections, and image mosaics (sample grids and latent traversals)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nearid_core.views.plots import style


def latent_scatter(z: np.ndarray, color: np.ndarray, *, color_name: str,
                   axes: tuple[int, int] = (0, 1), title: str = "",
                   axis_prefix: str = "z", colorscale: str = "Viridis") -> go.Figure:
    """Scatter of two latent coordinates (columns ``axes`` of z (n, d)), coloured by a
    per-point value (a ground-truth factor, or B(z))."""
    i, j = axes
    fig = go.Figure(go.Scatter(
        x=z[:, i], y=z[:, j], mode="markers",
        marker={"size": 4, "color": color, "colorscale": colorscale, "showscale": True,
                "colorbar": {"title": color_name}},
        hovertemplate=f"{axis_prefix}{i + 1} %{{x:.3f}}<br>{axis_prefix}{j + 1} %{{y:.3f}}"
                      f"<br>{color_name} %{{marker.color:.3f}}<extra></extra>"))
    style(fig, title=title, height=420, xaxis={"title": f"{axis_prefix}{i + 1}"},
          yaxis={"title": f"{axis_prefix}{j + 1}", "scaleanchor": "x"})
    return fig


def corr_heatmap(corr: np.ndarray, pairs: np.ndarray | None = None, *, title: str = "",
                 row_prefix: str = "z", col_prefix: str = "u") -> go.Figure:
    """|corr| between latents (rows) and factors (columns), matched pairs outlined.

    corr : (d_z, d_u) signed correlations; pairs : (k, 2) matched (latent, factor) indices.
    Rows are reordered so that matched latents sit on the diagonal.
    """
    a = np.abs(np.asarray(corr, float))
    order = list(range(a.shape[0]))
    if pairs is not None and len(pairs):
        matched = [int(r) for r, _ in sorted(pairs.tolist(), key=lambda p: p[1])]
        order = matched + [r for r in order if r not in matched]
    a = a[order]
    rows = [f"{row_prefix}{r + 1}" for r in order]
    cols = [f"{col_prefix}{c + 1}" for c in range(a.shape[1])]
    fig = go.Figure(go.Heatmap(z=a, x=cols, y=rows, zmin=0, zmax=1, colorscale="Blues",
                               text=np.round(a, 2), texttemplate="%{text}",
                               colorbar={"title": "|corr|"},
                               hovertemplate="%{y} vs %{x}: |corr| %{z:.3f}<extra></extra>"))
    style(fig, title=title, height=320, xaxis={"title": "ground-truth factor"},
          yaxis={"title": "latent (matched first)", "autorange": "reversed"})
    return fig


def projection_scatter(coords: np.ndarray, color: np.ndarray, *, color_name: str,
                       method: str) -> go.Figure:
    """2-D projection (PCA or UMAP) of latents (coords (n, 2)), coloured by a factor or B(z).

    PCA is a rotation of the centred latents, so its axes share one scale (equal aspect:
    a circle stays a circle); UMAP's axes have no units and keep the free aspect.
    """
    name = "UMAP" if method == "umap" else "PCA"
    fig = go.Figure(go.Scatter(
        x=coords[:, 0], y=coords[:, 1], mode="markers",
        marker={"size": 4, "color": color, "colorscale": "Viridis", "showscale": True,
                "colorbar": {"title": color_name}},
        hovertemplate=f"{color_name} %{{marker.color:.3f}}<extra></extra>"))
    yaxis = {"title": f"{name} 2"}
    if method != "umap":
        yaxis.update(scaleanchor="x", scaleratio=1)
    style(fig, title=f"{name} projection of the latents, coloured by {color_name}", height=420,
          xaxis={"title": f"{name} 1"}, yaxis=yaxis)
    return fig


def mosaic(images: np.ndarray, *, pad: int = 1) -> np.ndarray:
    """(rows, cols, H, W) images -> one (rows*(H+pad)-pad, cols*(W+pad)-pad) array, NaN gaps."""
    r, c, h, w = images.shape
    out = np.full((r * (h + pad) - pad, c * (w + pad) - pad), np.nan)
    for i in range(r):
        for j in range(c):
            out[i * (h + pad):i * (h + pad) + h, j * (w + pad):j * (w + pad) + w] = images[i, j]
    return out


def _image_figure(tiled: np.ndarray, *, title: str, height: int,
                  row_labels: list[str] | None = None, h: int = 0, pad: int = 1) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=tiled, colorscale="Greys", reversescale=True, showscale=False,
                               hoverinfo="skip"))
    yaxis = {"autorange": "reversed", "scaleanchor": "x", "showgrid": False, "zeroline": False,
             "showticklabels": bool(row_labels)}
    if row_labels:
        yaxis.update(tickvals=[i * (h + pad) + h / 2 for i in range(len(row_labels))],
                     ticktext=row_labels)
    style(fig, title=title, height=height, xaxis={"visible": False}, yaxis=yaxis,
          plot_bgcolor="white")
    return fig


def image_grid(images: np.ndarray, *, cols: int = 8, title: str = "Sample images") -> go.Figure:
    """A grid of (k, H, W) images (e.g. samples of the square data)."""
    k, h, w = images.shape
    rows = int(np.ceil(k / cols))
    full = np.full((rows * cols, h, w), np.nan)
    full[:k] = images
    tiled = mosaic(full.reshape(rows, cols, h, w))
    return _image_figure(tiled, title=title, height=140 + 90 * rows)


def traversal_strips(strips: np.ndarray, *, title: str, prefix: str = "z") -> go.Figure:
    """(k, steps, H, W) decoded traversals: one row per latent axis, left to right."""
    k, _, h, _ = strips.shape
    labels = [f"{prefix}{i + 1}" for i in range(k)]
    return _image_figure(mosaic(strips), title=title, height=120 + 80 * k, row_labels=labels,
                         h=h)
