"""Presentation mode's figure style, and the Playground's figure cache and prefetch."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import plotly.graph_objects as go
import pytest

from nearid_core.config import DataConfig, SweepConfig, TrainConfig
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import RunStore
from nearid_core.views.results import load_view
from nearid_ui import pg_figures, present


def _figure() -> go.Figure:
    fig = go.Figure([go.Scatter(x=[1, 2], y=[10, 1000], mode="markers", marker={"size": 5}),
                     go.Scatter3d(x=[0], y=[0], z=[0])])
    fig.update_layout(height=600, yaxis={"type": "log"}, font={"size": 12})
    return fig


def test_style_sets_projector_fonts_markers_and_height_on_a_copy():
    fig = _figure()
    out = present.style(fig)
    assert out is not fig and fig.layout.height == 600 and fig.data[0].marker.size == 5
    assert out.layout.height == present.MAX_HEIGHT
    assert out.layout.xaxis.tickfont.size == out.layout.yaxis.tickfont.size == 16
    assert out.layout.scene.xaxis.tickfont.size == 16  # 3-D axes too
    assert out.data[0].marker.size == pytest.approx(5 * present.MARKER_SCALE)
    assert out.layout.yaxis.dtick == 1 and out.layout.xaxis.dtick is None  # decades, log only
    small = go.Figure(layout={"height": 300})
    assert present.style(small).layout.height == 300  # short charts keep their height


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("figs"))
    cfg = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=2, batch_size=128),
                      leaks=(0.0, 0.5, 0.9), seeds=2)
    sid = submit_sweep(store, cfg)
    run_sweep_job(store, sid, executor=ThreadPoolExecutor(1))
    return load_view(store, sid)


def test_figures_are_built_once_per_setting(grid):
    sc, figs = pg_figures.figures(grid, grid, 0.5, "0-1", 0)
    assert set(figs) == {"overlay", "b", "bars", "curve"} and sc.leak == 0.5
    again = pg_figures.figures(grid, grid, 0.5, "0-1", 0)
    assert again[1] is figs  # the same objects: built once
    styled = pg_figures.figures(grid, grid, 0.5, "0-1", 0, present.style)
    assert styled[1] is not figs and styled[1]["b"].layout.xaxis.tickfont.size == 16


def test_prefetch_builds_the_neighbouring_leaks(grid):
    key = ("figs", grid.id, grid.updated_at, grid.id, grid.updated_at, 0.9, "u-1", 1, None)
    assert key not in pg_figures._CACHE
    pg_figures.prefetch(grid, 0.5, "u-1", 1)
    deadline = time.monotonic() + 60
    while key not in pg_figures._CACHE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert key in pg_figures._CACHE  # 0.9 is the next leak up from 0.5
    sc, _ = pg_figures._CACHE[key]
    assert sc.leak == 0.9 and sc.pair == "u-1"
