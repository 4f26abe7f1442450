"""The Playground's sweeps and scenes, and the lesson's inputs, on a small stored sweep:
the scene's numbers are the stored analysis' numbers, and its overlay refits the same maps."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from nearid_core.config import DataConfig, SweepConfig, TrainConfig
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import RunStore
from nearid_core.science.lipschitz import orthogonal_bound
from nearid_core.studies import playground as pg
from nearid_core.views import lesson, lesson_data
from nearid_core.views import playground as scenes
from nearid_core.views.ident_views import error_curves
from nearid_core.views.plots_playground import b_pair, curve_with_dot, error_bars
from nearid_core.views.results import load_view

SMALL = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=2, batch_size=128),
                    leaks=(0.0, 0.5, 0.9), seeds=3)


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("playground"))
    sid = submit_sweep(store, SMALL, name="small")
    run_sweep_job(store, sid, executor=ThreadPoolExecutor(1))
    return load_view(store, sid)


def test_grid_is_twenty_leaks_by_three_seeds_of_the_tiny_training():
    cfg = pg.grid_config("rolled")
    assert cfg.leaks == tuple(round(0.05 * i, 2) for i in range(20)) and cfg.seeds == 3
    assert cfg.n_models == 60 and cfg.train == pg.preset("tiny").train
    assert pg.grid_config("mlp").data.kind == "mlp"
    with pytest.raises(ValueError, match="data kind must be one of"):
        pg.grid_config("square")


def test_exact_sweep_at_a_grid_leak_trains_the_grids_own_models():
    grid, exact = pg.grid_config("linear"), pg.exact_config("linear", 0.35)
    assert exact.data == grid.data and exact.model == grid.model and exact.train == grid.train
    assert exact.grid() == [(a, s) for a, s in grid.grid() if a == 0.35]


def test_names_and_nearest_leak():
    assert pg.sweep_name(pg.grid_config()) == "playground · rolled · grid"
    assert pg.sweep_name(pg.exact_config("rolled", 0.37)) == "playground · rolled · α = 0.37"
    assert pg.is_playground({"name": "playground · rolled · grid"})
    assert not pg.is_playground({"name": "paper warm-up"})
    assert pg.nearest_leak(0.37) == 0.35 and pg.nearest_leak(0.375) == 0.35
    assert pg.nearest_leak(1.0) == 0.95


def test_lesson_cases_change_only_what_they_name():
    base = pg.grid_config("rolled")
    partial, gauss, free = (pg.lesson_config(c) for c in ("partial", "gaussian", "free"))
    assert (partial.data.d_u, partial.data.sources) == (4, "laplace")
    assert gauss.data.sources == "gaussian" and gauss.model == base.model
    assert free.model.decoder == "free" and free.data == base.data
    with pytest.raises(ValueError, match="case must be one of"):
        pg.lesson_config("nope")


def test_pair_choices_list_every_seed_pair_then_the_truth():
    assert list(scenes.pair_choices(3)) == ["0-1", "0-2", "1-2", "u-0", "u-1", "u-2"]
    assert scenes.parse_pair("u-2", 3) == "u-2"
    with pytest.raises(ValueError, match="expected one of"):
        scenes.parse_pair("0-3", 3)


def test_seed_pair_scene_shows_the_stored_pair_and_refits_the_same_maps(view):
    sc = scenes.scene(view, 0.5, "0-2")
    a, b = [m for m in view.models if m.leak == 0.5 and m.seed % 1000 in (0, 2)]
    stored = next(p for p in view.analysis["pairs"]["0.5"]
                  if (p["model_a"], p["model_b"]) == (a.index, b.index))
    for g in scenes.GROUP_KEYS:
        assert sc.errors[g] == pytest.approx(stored[g], abs=0)
    for g in ("perm", "rigid", "ica"):  # same seed, same split: the panel titles agree
        assert sc.overlays[g].error == pytest.approx(stored[g], rel=1e-9)
    assert sc.L == max(a.metrics["L_max"], b.metrics["L_max"])
    assert sc.bound == pytest.approx(orthogonal_bound(0.5, 2))
    assert set(sc.b) == {"seed 0", "seed 2"} and sc.view == "statistical"
    np.testing.assert_array_equal(sc.colour, view.u_test[sc.rows, 0])


def test_truth_scene_shows_the_models_structural_errors(view):
    sc = scenes.scene(view, 0.0, "u-1", factor=1)
    m = next(m for m in view.models if m.leak == 0.0 and m.seed % 1000 == 1)
    stored = view.analysis["per_model"][str(m.index)]["structural"]
    assert sc.view == "structural" and sc.a_name == "true factors u"
    assert sc.errors["rigid"] == stored["rigid"] and sc.L == m.metrics["L_max"]
    assert sc.overlays["rigid"].error == pytest.approx(stored["rigid"], rel=1e-9)
    np.testing.assert_array_equal(sc.colour, view.u_test[sc.rows, 1])


def test_scene_refuses_what_the_sweep_cannot_show(view):
    with pytest.raises(ValueError, match="no models at leak 0.25"):
        scenes.scene(view, 0.25, "0-1")
    with pytest.raises(ValueError, match="factor must be in 0..1"):
        scenes.scene(view, 0.5, "0-1", factor=2)


def test_lesson_inputs_are_the_sweeps_own_numbers(view):
    leaks, med = lesson_data.leak_inputs(view)
    np.testing.assert_array_equal(leaks, [0.0, 0.5, 0.9])
    np.testing.assert_array_equal(med, [r["B_median"] for r in view.per_leak])
    perm, ica, before, after = lesson_data.ica_inputs(view, max_leak=0.0)
    row = view.per_leak[0]
    assert (perm, ica, before, after) == (row["struct_perm"], row["struct_ica"],
                                          row["mcc_before"], row["mcc_after"])
    eff = lesson_data.leak_efficiencies(view, min_leak=0.5)
    assert eff.shape == (2,)
    L, rigid = lesson_data.trend_inputs(view)
    np.testing.assert_array_equal(rigid, [r["stat_rigid"] for r in view.per_leak])
    gen_b, kind, d_u = lesson_data.data_inputs(view)
    assert gen_b == pytest.approx(1.0, abs=1e-9) and (kind, d_u) == ("rolled", 2)


def test_every_lesson_step_gets_a_notice(view):
    sc = scenes.scene(view, 0.0, "0-1")
    for step in lesson.STEPS:
        cases = ("partial", "gaussian", "free") if step.id == "limits" else ("",)
        for case in cases:
            n = lesson_data.notice_for(step.id, view, scene=sc, case=case)
            assert isinstance(n, lesson.Notice) and n.text
    assert lesson_data.notice_for("data", view).holds is True  # rolled is an exact isometry
    with pytest.raises(ValueError, match="needs the pair shown"):
        lesson_data.notice_for("rotation", view)


def test_playground_charts(view):
    sc = scenes.scene(view, 0.5, "0-1")
    fig = b_pair(sc.b, leak=0.5, bound=sc.bound)
    assert len(fig.data) == 2 and "α = 0.5" in fig.layout.title.text
    bars = error_bars({"perm": 0.3, "rigid": 0.1, "linear": float("nan"), "ica": 0.05},
                      title="t")
    assert list(bars.data[0].text) == ["0.3", "0.1", "n/a", "0.05"]
    assert bars.data[0].y[2] is None
    curves = error_curves(view, kind="statistical")
    fig = curve_with_dot(curves, L=sc.L, error=sc.errors["rigid"], leak=0.5)
    star = fig.data[-1]
    assert star.marker.symbol == "star" and (star.x[0], star.y[0]) == (sc.L, sc.errors["rigid"])
