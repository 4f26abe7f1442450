"""Several sweeps side by side: what differs, legend labels, overlays that carry each sweep's
own numbers, the HTML report, and the ``compare-sweeps`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from nearid_core.config import DataConfig, ModelConfig, SweepConfig, TrainConfig, to_dict
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import RunStore
from nearid_core.views import multi_sweep as ms
from nearid_core.views.ident_views import error_curves, ident_table
from nearid_core.views.results import b_by_leak, load_view

TINY = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=2, batch_size=128),
                   leaks=(0.0, 0.5), seeds=2)
FREE = SweepConfig(data=TINY.data, model=ModelConfig(decoder="free"), train=TINY.train,
                   leaks=TINY.leaks, seeds=TINY.seeds)


# ---------------------------------------------------------------- hand-built configs

def _cfg(**parts) -> dict:
    d = to_dict(TINY)
    for key, value in parts.items():
        section, _, name = key.rpartition("__")
        (d[section] if section else d)[name] = value
    return d


def test_differing_settings_finds_exactly_the_differing_keys():
    configs = {"a": _cfg(), "b": _cfg(model__decoder="free", data__kind="mlp"),
               "c": _cfg(model__decoder="free", leaks=[0.0, 0.9])}
    rows = ms.differing_settings(configs)
    assert [r["setting"] for r in rows] == ["data.kind", "model.decoder", "leaks"]
    by = {r["setting"]: r for r in rows}
    assert by["model.decoder"] == {"setting": "model.decoder", "a": "orthogonal",
                                   "b": "free", "c": "free"}
    assert by["leaks"] == {"setting": "leaks", "a": "0, 0.5", "b": "0, 0.5", "c": "0, 0.9"}
    assert ms.differing_settings({"a": _cfg(), "b": _cfg()}) == []


def test_equal_numbers_of_another_type_and_missing_settings():
    a, b = _cfg(), _cfg(data__noise=0)  # 0 == 0.0: the same setting, stored as an int
    assert ms.differing_settings({"a": a, "b": b}) == []
    del b["model"]["weight_decay"]  # a config from an older nearid
    assert ms.differing_settings({"a": a, "b": b}) == [
        {"setting": "model.weight_decay", "a": "0.0001", "b": "–"}]


def test_labels_name_the_differing_setting_and_are_unique():
    configs = {"a": _cfg(), "b": _cfg(model__decoder="free")}
    assert ms.sweep_labels(configs) == {"a": "decoder=orthogonal", "b": "decoder=free"}
    two = ms.sweep_labels({"a": _cfg(), "b": _cfg(model__decoder="free", data__kind="mlp")})
    assert two == {"a": "kind=rolled, decoder=orthogonal", "b": "kind=mlp, decoder=free"}
    # two settings with the same last part keep their full names
    seeds = ms.sweep_labels({"a": _cfg(), "b": _cfg(data__seed=5, seed=5)})
    assert seeds == {"a": "data.seed=0, seed=0", "b": "data.seed=5, seed=5"}


def test_labels_fall_back_to_name_then_id_and_stay_unique():
    same = {"a1b2c3d4": _cfg(), "e5f6a7b8": _cfg()}
    assert ms.sweep_labels(same) == {"a1b2c3d4": "a1b2c3d4", "e5f6a7b8": "e5f6a7b8"}
    named = ms.sweep_labels(same, {"a1b2c3d4": "first", "e5f6a7b8": "first"})
    assert named == {"a1b2c3d4": "first (a1b2c3)", "e5f6a7b8": "first (e5f6a7)"}
    # more settings than a label names: cut, and still unique where the cut ones differ
    many = {"a": _cfg(), "b": _cfg(data__kind="mlp", data__d_u=3, model__width=16,
                                   model__decoder="free"),
            "c": _cfg(data__kind="mlp", data__d_u=3, model__width=16)}
    labels = ms.sweep_labels(many)
    assert labels["a"].startswith("kind=rolled, d_u=2, width=32, …")
    assert len(set(labels.values())) == 3


# ---------------------------------------------------------------- two real tiny sweeps

@dataclass
class Sweeps:
    home: Path
    ortho: str
    free: str
    queued: str  # a sweep with no analysis (never run)
    study: str  # a queued study (a row whose kind is not "sweep")


def _train(store: RunStore, cfg: SweepConfig, name: str) -> str:
    sid = submit_sweep(store, cfg, name=name)
    run_sweep_job(store, sid, executor=ThreadPoolExecutor(1))
    return sid


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> Sweeps:
    from nearid_core.runs.study_jobs import submit_study

    home = tmp_path_factory.mktemp("multi_sweep")
    store = RunStore(home)
    return Sweeps(home, _train(store, TINY, "orthogonal"), _train(store, FREE, "free"),
                  submit_sweep(store, TINY, name="queued"),
                  submit_study(store, "batch", {}, name="a study"))


@pytest.fixture(scope="module")
def views(sweeps):
    store = RunStore(sweeps.home)
    return ms.load_views(store, [sweeps.ortho[:8], sweeps.free])


def test_load_views_resolves_prefixes_and_keeps_the_order(sweeps, views):
    assert [v.id for v in views] == [sweeps.ortho, sweeps.free]
    labels = ms.sweep_labels({v.id: v.config_dict for v in views})
    assert labels == {sweeps.ortho: "decoder=orthogonal", sweeps.free: "decoder=free"}


def test_b_overlay_carries_each_sweeps_own_quantiles(sweeps, views):
    labels = ms.sweep_labels({v.id: v.config_dict for v in views})
    fig = ms.b_overlay(views, labels)
    colors = {v.id: {t.line.color for t in fig.data if t.meta == v.id} for v in views}
    assert all(len(c) == 1 for c in colors.values())  # one colour per sweep...
    assert len(set.union(*colors.values())) == len(views)  # ...and a different one each
    for v in views:
        own = b_by_leak(load_view(RunStore(sweeps.home), v.id))  # what its own page draws
        traces = {t.name.rsplit(" · ", 1)[1]: t for t in fig.data if t.meta == v.id}
        assert set(traces) == {"median", "90%"}
        assert list(traces["median"].x) == sorted(own) == [0.0, 0.5]
        # the same arrays, the same quantile: exactly equal
        assert list(traces["median"].y) == [float(np.quantile(own[a], 0.5)) for a in sorted(own)]
        assert list(traces["90%"].y) == [float(np.quantile(own[a], 0.9)) for a in sorted(own)]
        assert traces["median"].name.startswith(labels[v.id])


@pytest.mark.parametrize(("group", "L_kind"), [("rigid", "L_max_max"), ("ica", "L_mean_mean")])
def test_error_overlay_carries_each_sweeps_own_curve(views, group, L_kind):
    labels = ms.sweep_labels({v.id: v.config_dict for v in views})
    fig = ms.error_overlay(views, labels, group=group, L_kind=L_kind)
    for v in views:
        own = error_curves(v, kind="statistical", L_kind=L_kind)
        order = np.argsort(own.L, kind="stable")
        line = next(t for t in fig.data if t.meta == v.id and t.mode == "lines+markers")
        assert line.name == labels[v.id]
        np.testing.assert_array_equal(line.x, own.L[order])
        np.testing.assert_array_equal(line.y, own.mean[group][order])
        np.testing.assert_array_equal(line.error_y.array, own.std[group][order])
        # two leaks cannot carry a Theorem-1 fit: the legend says so instead of a line
        assert any(t.legendgroup == v.id and "no fit" in t.name for t in fig.data)
    with pytest.raises(ValueError, match="group must be one of"):
        ms.error_overlay(views, labels, group="affine")


def test_summary_rows_are_the_single_sweep_table(views):
    labels = ms.sweep_labels({v.id: v.config_dict for v in views})
    rows = ms.summary_rows(views, labels)
    for v in views:
        own = ident_table(v, "statistical")
        mine = [r for r in rows if r["id"] == v.id]
        assert [r["leak"] for r in mine] == [r["leak"] for r in own]
        for k in ("L_max_max", "perm", "rigid", "linear", "ica"):
            assert [r[k] for r in mine] == [r[k] for r in own]
        assert {r["sweep"] for r in mine} == {labels[v.id]}


def test_report_is_self_contained_with_the_tables(sweeps):
    text = ms.compare_sweeps_report(RunStore(sweeps.home), [sweeps.ortho, sweeps.free])
    assert text.startswith("<!doctype html>") and text.count("<script") >= 1
    assert "model.decoder" in text and "decoder=free" in text and "Per sweep and leak" in text
    assert "<script src=" not in text  # plotly.js inlined, not fetched: opens offline
    assert text.count("<div id=") >= 3  # the B(z), rigid and ICA overlays


def test_load_views_refuses_too_few_studies_and_unanalysed_sweeps(sweeps):
    store = RunStore(sweeps.home)
    with pytest.raises(ValueError, match="two or more different sweeps"):
        ms.load_views(store, [sweeps.ortho, sweeps.ortho[:6]])
    with pytest.raises(ValueError, match="batch study, not a sweep"):
        ms.load_views(store, [sweeps.ortho, sweeps.study])
    with pytest.raises(ValueError, match="no analysis to compare: it is queued"):
        ms.load_views(store, [sweeps.queued, sweeps.ortho])


# ---------------------------------------------------------------- the command line

def nearid(*args, home, check_rc=None):
    env = dict(os.environ, NEARID_HOME=str(home), OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-m", "nearid_core", *args], env=env,
                         capture_output=True, text=True, timeout=300)
    if check_rc is not None:
        assert res.returncode == check_rc, res.stderr
    return res


def test_cli_prints_the_table_and_writes_report_and_json(sweeps, tmp_path):
    report, doc = tmp_path / "c.html", tmp_path / "c.json"
    res = nearid("compare-sweeps", sweeps.ortho[:6], sweeps.free[:6], "--report", str(report),
                 "--json", str(doc), home=sweeps.home, check_rc=0)
    out = res.stdout
    assert "settings that differ" in out and "model.decoder" in out
    assert "orthogonal" in out and "free" in out and "L_max_max" in out and "rigid" in out
    assert f"report written to {report}" in out
    assert report.read_text().startswith("<!doctype html>")
    data = json.loads(doc.read_text())
    assert [s["id"] for s in data["sweeps"]] == [sweeps.ortho, sweeps.free]
    assert data["differing"] == [{"setting": "model.decoder", sweeps.ortho: "orthogonal",
                                  sweeps.free: "free"}]
    rigid = [r["rigid"] for r in data["per_leak"] if r["id"] == sweeps.free]
    own = [r["rigid"] for r in ident_table(load_view(RunStore(sweeps.home), sweeps.free))]
    assert rigid == pytest.approx(own, rel=1e-12)
    # an existing output is refused without --force, before anything is read
    again = nearid("compare-sweeps", sweeps.ortho, sweeps.free, "--json", str(doc),
                   home=sweeps.home, check_rc=2)
    assert "--force" in again.stderr or "exists" in again.stderr


@pytest.mark.parametrize("case", ["one", "same twice", "study", "unknown", "not analysed",
                                  "bad id", "bad suffix"])
def test_cli_bad_input_is_one_line_and_exit_code_2(sweeps, tmp_path, case):
    args = {"one": [sweeps.ortho], "same twice": [sweeps.ortho, sweeps.ortho[:5]],
            "study": [sweeps.ortho, sweeps.study], "unknown": [sweeps.ortho, "0123456789ab"],
            "not analysed": [sweeps.ortho, sweeps.queued], "bad id": [sweeps.ortho, "zz-top"],
            "bad suffix": [sweeps.ortho, sweeps.free, "--report", str(tmp_path / "x.txt")]}
    needles = {"one": "two or more", "same twice": "two or more different sweeps",
               "study": "not a sweep", "unknown": "0123456789ab", "not analysed": "no analysis",
               "bad id": "sweep id", "bad suffix": ".html"}
    res = nearid("compare-sweeps", *args[case], home=sweeps.home, check_rc=2)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nearid: error:"), res.stderr
    assert needles[case] in lines[0]
    assert "Traceback" not in res.stderr and not res.stdout
