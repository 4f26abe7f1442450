"""Several sweeps side by side on the Bi-Lipschitz and Identifiability pages (AppTest)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from app_helpers import ok, open_app, text_of
from conftest import TINY

from nearid_core.config import ModelConfig, SweepConfig
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import RunStore
from nearid_core.views.multi_sweep import sweep_labels

BL, ID = "app_pages/bilipschitz_page.py", "app_pages/identifiability_page.py"
FREE = SweepConfig(data=TINY.data, model=ModelConfig(decoder="free"), train=TINY.train,
                   leaks=TINY.leaks, seeds=TINY.seeds)


@dataclass
class Two:
    home: Path
    ortho: str
    free: str  # the newest: the pages' default


def _train(store: RunStore, cfg: SweepConfig, name: str) -> str:
    sid = submit_sweep(store, cfg, name=name)
    run_sweep_job(store, sid, executor=ThreadPoolExecutor(1))
    return sid


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> Two:
    home = tmp_path_factory.mktemp("two_sweeps")
    store = RunStore(home)
    ortho = _train(store, TINY, "orthogonal")
    return Two(home, ortho, _train(store, FREE, "free"))


@pytest.fixture(scope="module")
def labels(two) -> dict[str, str]:
    store = RunStore(two.home)
    return sweep_labels({s: store.get_sweep(s)["config"] for s in (two.ortho, two.free)})


def _traces(at, key: str) -> list[dict]:
    import json

    chart = next(c for c in at.get("plotly_chart") if key in c.proto.id)
    return json.loads(chart.proto.spec)["data"]


def _diff_table(at):
    return next(d.value for d in at.dataframe if "setting" in d.value.columns)


@pytest.mark.parametrize(("page", "chart", "n_single"), [(BL, "ms_b", 2), (ID, "ms_err", 3)])
def test_a_single_sweep_renders_as_before(two, use_home, page, chart, n_single):
    use_home(two.home)
    at = open_app(page, {"sweep": two.free})
    ok(at)
    assert not at.error, text_of(at.error)
    assert len(at.get("plotly_chart")) == n_single  # the page's own charts, nothing more
    assert not any("setting" in d.value.columns for d in at.dataframe)
    assert at.multiselect(key="overlay").value == []
    assert "overlay" not in at.query_params


@pytest.mark.parametrize(("page", "chart", "n_single"), [(BL, "ms_b", 2), (ID, "ms_err", 3)])
def test_picking_a_second_sweep_overlays_it(two, use_home, labels, page, chart, n_single):
    use_home(two.home)
    at = open_app(page, {"sweep": two.free})
    at.multiselect(key="overlay").set_value([two.ortho]).run()
    ok(at)
    assert not at.error, text_of(at.error)
    assert len(at.get("plotly_chart")) == n_single + 1
    names = " ".join(t.get("name", "") for t in _traces(at, chart))
    assert labels[two.free] in names and labels[two.ortho] in names  # decoder=free / orthogonal
    diff = _diff_table(at)
    assert list(diff["setting"]) == ["model.decoder"]
    assert list(diff[two.free]) == ["free"] and list(diff[two.ortho]) == ["orthogonal"]
    assert at.query_params["overlay"] == two.ortho  # a link reproduces the view
    assert any(b.label == "Side-by-side report (HTML)" for b in at.get("download_button"))
    at.multiselect(key="overlay").set_value([]).run()  # cleared: the page as before
    ok(at)
    assert len(at.get("plotly_chart")) == n_single and "overlay" not in at.query_params


def test_a_link_opens_the_overlay_and_a_bad_one_is_explained(two, use_home):
    use_home(two.home)
    at = open_app(ID, {"sweep": two.free, "overlay": two.ortho[:6]})
    ok(at)
    assert at.multiselect(key="overlay").value == [two.ortho]
    assert _diff_table(at) is not None
    rows = next(d.value for d in at.dataframe if "sweep" in d.value.columns
                and "rigid" in d.value.columns)
    assert set(rows["id"]) == {two.free, two.ortho}
    at.radio(key="msgroup").set_value("ica").run()
    ok(at)
    bad = open_app(BL, {"sweep": two.free, "overlay": "0123abcd"})
    ok(bad)
    assert "Ignored `overlay=0123abcd`" in text_of(bad.warning)
    assert bad.multiselect(key="overlay").value == []
