"""The lesson's sweeps show what each step says, at master seed 0 (the seed the app trains).

The Playground's rolled grid carries steps 1-5 and the three small sweeps of
``playground.LESSON_CASES`` step 6. Each is trained and analysed in-process, as the app's
runner does, and each step's "what to notice" line must hold on it: a change in training,
the data or the analysis that would make a slide contradict its own text fails here. (The
lines themselves say so on screen when a claim does not hold; this test keeps the defaults
honest.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import RunStore
from nearid_core.studies import playground as pg
from nearid_core.views import lesson_data
from nearid_core.views import playground as scenes
from nearid_core.views.results import load_view


def _trained(tmp_path_factory, cfg, name: str):
    store = RunStore(tmp_path_factory.mktemp(name))
    sid = submit_sweep(store, cfg, name=name)
    run_sweep_job(store, sid, executor=ThreadPoolExecutor(1))
    view = load_view(store, sid)
    assert view.status == "done" and len(view.done) == cfg.n_models
    return view


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    return _trained(tmp_path_factory, pg.grid_config("rolled"), "grid")


@pytest.mark.parametrize("step", ["data", "leak", "theorem", "ica"])
def test_grid_steps_hold(grid, step):
    notice = lesson_data.notice_for(step, grid)
    assert notice.holds is True, notice.text


def test_rotation_step_holds_at_the_lessons_leak(grid):
    sc = scenes.scene(grid, pg.nearest_leak(0.2, grid.leaks), "0-1")
    notice = lesson_data.notice_for("rotation", grid, scene=sc)
    assert notice.holds is True, notice.text


@pytest.mark.parametrize("case", list(pg.LESSON_CASES))
def test_limits_cases_hold(tmp_path_factory, case):
    view = _trained(tmp_path_factory, pg.lesson_config(case), case)
    notice = lesson_data.notice_for("limits", view, case=case)
    assert notice.holds is True, notice.text
