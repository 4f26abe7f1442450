"""Figures of the Compare study: pair heatmaps with blank n/a cells, and the overlay."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from nearid_core.views import plots_compare

NAMES = ("a", "b", "c")
NA_NOTE = "n/a — the raw axes are already as good as a rotation (perm − rigid = 0.001)"


def rows() -> list[dict]:
    """Every ordered pair of three embeddings; (b, c) has no efficiency, with its reason."""
    out = []
    for i, a in enumerate(NAMES):
        for j, b in enumerate(NAMES):
            if a != b:
                eff = math.nan if (a, b) == ("b", "c") else 0.1 * (i + j)
                out.append({"a": a, "b": b, "rigid": 0.01 * (3 * i + j),
                            "ica_efficiency": eff,
                            "ica_efficiency_note": NA_NOTE if math.isnan(eff) else ""})
    return out


def test_heatmap_cells_rows_are_references_and_na_cells_are_blank_with_a_reason():
    fig = plots_compare.pair_heatmap(rows(), NAMES, "ica_efficiency", title="ICA efficiency",
                                     colorbar="efficiency", note_key="ica_efficiency_note",
                                     fmt="{:.0%}")
    assert isinstance(fig, go.Figure) and len(fig.data) == 1
    (heat,) = fig.data
    z = [list(r) for r in heat.z]
    assert [z[i][i] for i in range(3)] == [None, None, None]  # the diagonal: same embedding
    assert z[1][2] is None  # (b, c): no efficiency -> blank, not 0
    assert z[2][1] == 0.1 * 3 and heat.text[2][1] == "30%"
    assert heat.customdata[1][2] == f"reference b, candidate c: {NA_NOTE}"
    assert heat.text[1][2] == ""
    assert list(heat.x) == list(NAMES) and list(heat.y) == list(NAMES)
    assert fig.layout.yaxis.title.text == "reference A"


def test_heatmap_without_a_note_says_missing():
    z, text, hover = plots_compare.pair_matrix(rows(), NAMES, "ica_efficiency")
    assert z[1][2] is None and hover[1][2].endswith("n/a — missing")
    z, text, _ = plots_compare.pair_matrix(rows(), NAMES, "rigid")
    assert z[0][1] == 0.01 and text[2][0] == "0.060"


def test_overlay_has_segments_and_both_point_sets_at_equal_aspect():
    rng = np.random.default_rng(0)
    pa = rng.normal(size=(500, 2))
    pb = pa + 0.01 * rng.normal(size=(500, 2))
    fig = plots_compare.overlay_figure(pa, pb, a_name="A", b_name="B", map_name="after rigid",
                                       plane="A's top-2 principal plane", segments=40)
    assert len(fig.data) == 3
    seg, a, b = fig.data
    assert seg.mode == "lines" and len(seg.x) == 3 * 40  # start, end, gap per segment
    assert np.allclose(a.x, pa[:, 0]) and np.allclose(b.y, pb[:, 1])
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert "A's top-2 principal plane" in fig.layout.title.text
    assert fig.layout.xaxis.title.text.startswith("A's top-2 principal plane")


def test_overlay_colours_by_a_factor_or_by_labels():
    rng = np.random.default_rng(1)
    pa, pb = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
    factor = rng.uniform(size=50)
    fig = plots_compare.overlay_figure(pa, pb, a_name="A", b_name="B", map_name="as is",
                                       plane="p", colour=factor, colour_name="u1")
    assert fig.data[1].marker.showscale and not fig.data[2].marker.showscale
    assert np.allclose(fig.data[2].marker.color, factor)
    labels = np.array(["cat", "dog"] * 25)
    fig = plots_compare.overlay_figure(pa, pb, a_name="A", b_name="B", map_name="as is",
                                       plane="p", colour=labels, colour_name="label",
                                       categorical=True)
    colours = fig.data[1].marker.color
    assert len(set(colours)) == 2 and colours[0] != colours[1] and colours[0] == colours[2]
    assert fig.data[1].text[1] == "dog"
