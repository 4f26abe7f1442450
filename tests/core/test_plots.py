"""Figure builders: colour scales that read the right way, labelled ticks, legends clear of
axis titles, equal aspect where distances mean something."""

from __future__ import annotations

import math

import numpy as np
import pytest
from plotly.colors import hex_to_rgb, unlabel_rgb

from nearid_core.views import plots, plots_latent


def luminance(color: str) -> float:
    """Relative luminance (WCAG) of '#rrggbb' or 'rgb(r, g, b)'."""
    rgb = hex_to_rgb(color) if color.startswith("#") else unlabel_rgb(color)
    lin = [(c / 255) / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
           for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_b_map_colour_grows_brighter_with_b_monotonically():
    xs = ys = np.linspace(-1, 1, 5)
    b = 1 + np.add.outer(ys, xs) ** 2
    heat = plots.b_map(xs, ys, b).data[0]
    stops = [c for _, c in heat.colorscale]
    if heat.reversescale:
        stops = stops[::-1]
    lum = [luminance(c) for c in stops]
    # A scale that wraps back to pale at either end makes the top of the colour bar look
    # like the bottom: luminance must rise strictly from the lowest to the highest B.
    assert (np.diff(lum) > 0).all(), lum


@pytest.mark.parametrize("lo, hi", [(1e-4, 1e-1), (7e-4, 8.1e-3), (3.1e-3, 1.37e-2),
                                    (2.5e-3, 3e-3), (3e-3, 4e-3), (0.2, 0.21)])
def test_log_ticks_label_at_least_three_values_inside_the_range(lo, hi):
    vals, text = plots.log_ticks(lo, hi)
    assert len(vals) >= 3
    assert all(lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9) for v in vals)
    assert vals == sorted(set(vals))
    # Each label is the value itself, not a bare mantissa like "2" under 0.002.
    assert [float(t) for t in text] == pytest.approx(vals, rel=5e-3)


def test_log_ticks_are_decades_over_several_decades():
    vals, text = plots.log_ticks(1e-4, 1e-1)
    assert vals == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])
    assert text == ["0.0001", "0.001", "0.01", "0.1"]


def test_loss_chart_has_labelled_ticks_and_a_legend_clear_of_the_axis_title():
    epochs = np.arange(30)
    labels = [f"#{i} α={a:g} s={s}" for i, (a, s) in
              enumerate((a, s) for a in (0, 0.2, 0.4, 0.6, 0.8, 0.95) for s in range(4))]
    curves = {lab: 0.003 + 0.004 * np.exp(-epochs / 8) * (1 + 0.1 * i)
              for i, lab in enumerate(labels)}  # less than one decade: a dtick=1 axis
    groups = {lab: lab.split()[1] for lab in labels}  # shows a single tick there
    fig = plots.loss_curves(curves, groups=groups, failed={labels[5]})
    assert len(fig.layout.yaxis.tickvals) >= 3
    # The legend sits right of the plot (x > 1), so it never meets the "epoch" title.
    assert fig.layout.legend.x > 1 and fig.layout.legend.orientation == "v"
    shown = [t.name for t in fig.data if t.showlegend]
    assert len(shown) == 6 + 1  # one entry per leak, plus the failed model's own
    assert f"{labels[5]} (failed)" in shown


def test_loss_chart_ticks_every_epoch_of_a_short_run():
    fig = plots.loss_curves({"a": np.array([3e-3, 2.5e-3])})
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.tick0 == 1


def test_data_pca3d_titles_every_axis_with_few_ticks():
    rng = np.random.default_rng(0)
    fig = plots.data_pca3d(rng.normal(size=(50, 3)), rng.normal(size=50), color_name="u1",
                           explained=np.array([0.5, 0.3, 0.1]))
    scene = fig.layout.scene
    titles = [scene.xaxis.title.text, scene.yaxis.title.text, scene.zaxis.title.text]
    assert titles == ["PC1 (50%)", "PC2 (30%)", "PC3 (10%)"]
    assert all(ax.nticks and ax.nticks <= 5 for ax in (scene.xaxis, scene.yaxis, scene.zaxis))
    assert scene.aspectmode == "cube"
    eye = scene.camera.eye
    assert math.hypot(eye.x, eye.y, eye.z) > 2  # far enough that PC3's title is in frame


def test_pca_projection_keeps_equal_aspect_and_umap_does_not():
    coords = np.random.default_rng(1).normal(size=(40, 2)) * [3.0, 0.5]
    pca = plots_latent.projection_scatter(coords, coords[:, 0], color_name="u1", method="pca")
    assert pca.layout.yaxis.scaleanchor == "x" and pca.layout.yaxis.scaleratio == 1
    umap = plots_latent.projection_scatter(coords, coords[:, 0], color_name="u1",
                                           method="umap")
    assert umap.layout.yaxis.scaleanchor is None


def test_loss_bands_draw_median_and_range_per_group():
    a = [np.array([4.0, 2.0, 1.0]), np.array([6.0, 3.0]), np.array([5.0, 2.5, 2.0])]
    fig = plots.loss_bands({"α = 0": a, "α = 1": [np.array([1.0, np.nan, 0.5])]},
                           colors={"α = 0": "rgb(10, 20, 30)"},
                           failed={"#7 α=1 s=0": np.array([9.0, np.nan])})
    band, median, band1, median1, bad = fig.data  # two traces a group, one a failed model
    assert list(median.x) == [1, 2, 3] and list(median.y) == [5.0, 2.5, 1.5]
    # the band's outline: the maxima left to right, then the minima right to left
    assert list(band.y) == [6.0, 3.0, 2.0, 1.0, 2.0, 4.0]
    assert band.fillcolor == "rgba(10, 20, 30, 0.2)" and median.line.color == "rgb(10, 20, 30)"
    assert median.name == "α = 0 (median of 3)"
    assert list(median1.x) == [1, 3] and list(median1.y) == [1.0, 0.5]  # nan left out
    assert bad.name == "#7 α=1 s=0 (failed)" and bad.line.dash == "dash"


def test_the_house_template_as_plotly_default_draws_the_same_figures(monkeypatch):
    import json

    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.subplots import make_subplots
    from plotly.utils import PlotlyJSONEncoder

    def build() -> dict:
        fig = make_subplots(rows=1, cols=2)
        fig.add_trace(go.Scatter(x=[0, 1], y=[1, 2]), row=1, col=2)
        return json.loads(plots.style(fig, title="t").to_json())

    monkeypatch.setattr(pio.templates, "default", "plotly")
    validated = build()  # style sets and validates the template
    plots.use_house_template()  # as the app does
    assert pio.templates.default == plots.TEMPLATE
    assert build() == validated
    white = pio.templates[plots.TEMPLATE].to_plotly_json()
    assert validated["layout"]["template"] == json.loads(json.dumps(white, cls=PlotlyJSONEncoder))
