"""The Playground, the lesson, presentation mode and the overlay under AppTest, on a small
stored grid (the real grid is 60 models; the page finds it by its settings, so the tests
point ``grid_config`` and ``lesson_config`` at small sweeps trained here)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from app_helpers import open_app

from nearid_core.config import DataConfig, SweepConfig, TrainConfig
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import RunStore
from nearid_core.studies import playground as pg
from nearid_core.views import lesson, lesson_data
from nearid_core.views.results import load_view

PLAYGROUND, LESSON = "app_pages/playground_page.py", "app_pages/lesson_page.py"
GRID = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=2, batch_size=128),
                   leaks=(0.0, 0.5, 0.9), seeds=3)
CASES = {"partial": replace(GRID, data=replace(GRID.data, d_u=4, sources="laplace")),
         "gaussian": replace(GRID, data=replace(GRID.data, sources="gaussian")),
         "free": replace(GRID, model=replace(GRID.model, decoder="free"))}


def ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts_of(elements) -> str:
    return " ".join(str(e.value) for e in elements)


@pytest.fixture(scope="module")
def small_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("playground_app")
    store = RunStore(home)
    ids = {}
    for key, cfg in {"grid": GRID, **CASES}.items():
        ids[key] = submit_sweep(store, cfg, name=f"small {key}")
        run_sweep_job(store, ids[key], executor=ThreadPoolExecutor(1))
    return home, ids


@pytest.fixture
def small(small_home, use_home, monkeypatch):
    home, ids = small_home
    monkeypatch.setattr(pg, "grid_config", lambda kind="rolled", *, seed=0: replace(
        GRID, data=replace(GRID.data, kind=kind)))
    monkeypatch.setattr(pg, "lesson_config", lambda case, *, seed=0: CASES[case])
    use_home(home)
    return home, ids


def test_playground_draws_the_four_charts_of_the_linked_state(small):
    at = open_app(PLAYGROUND, {"leak": "0.9", "pair": "u-1", "colour": "1"})
    ok(at)
    assert at.select_slider(key="leak").value == 0.9
    assert at.selectbox(key="pair").value == "u-1" and at.selectbox(key="colour").value == 1
    assert len(at.get("plotly_chart")) == 4
    assert not at.warning


def test_playground_slider_move_keeps_the_state_in_the_url(small):
    at = open_app(PLAYGROUND)
    ok(at)
    assert at.select_slider(key="leak").value == 0.5  # the default: a middle leak
    at.select_slider(key="leak").set_value(0.0).run()
    ok(at)
    assert at.query_params["leak"] == "0" and len(at.get("plotly_chart")) == 4


def test_playground_link_with_a_leak_off_the_grid_is_ignored_with_a_warning(small):
    at = open_app(PLAYGROUND, {"leak": "0.33"})
    ok(at)
    assert "Ignored `leak=0.33`" in texts_of(at.warning)
    assert at.select_slider(key="leak").value == 0.5


def test_playground_on_an_empty_store_queues_its_grid_once(tmp_path, use_home, monkeypatch):
    store = use_home(tmp_path)
    monkeypatch.setattr(pg, "grid_config", lambda kind="rolled", *, seed=0: replace(
        GRID, data=replace(GRID.data, kind=kind)))
    at = open_app(PLAYGROUND)
    ok(at)
    at.run()  # a second run follows the queued grid instead of queuing another
    ok(at)
    rows = store.list_sweeps()
    assert [(r["name"], r["status"]) for r in rows] == [("playground · rolled · grid",
                                                          "queued")]
    assert "is **queued**" in texts_of(at.info)
    assert not [c for c in at.get("plotly_chart") if c.key.startswith("pg_")]


@pytest.mark.parametrize("k", range(1, len(lesson.STEPS) + 1))
def test_every_lesson_step_predicts_then_reveals_the_computed_notice(small, k):
    at = open_app(LESSON, {"step": str(k)})
    ok(at)
    step = lesson.STEPS[k - 1]
    assert at.title[0].value == f"{k}. {step.title}"
    assert at.get("plotly_chart"), ("each step has its picture", texts_of(at.error), texts_of(at.warning), texts_of(at.info))
    predict = at.radio(key=f"predict_{k}")
    assert predict.value is None and at.toggle(key=f"reveal_{k}").disabled
    predict.set_value(step.question.options[step.question.answer]).run()
    at.toggle(key=f"reveal_{k}").set_value(True).run()
    ok(at)
    shown = texts_of(at.success) + texts_of(at.warning) + texts_of(at.info)
    assert "What to notice" in shown and "as the theory predicts" in texts_of(at.markdown)
    if step.id in ("leak", "theorem", "ica"):  # the notice is the sweep's own numbers
        _, ids = small
        v = load_view(RunStore(small[0]), ids["grid"])
        assert lesson_data.notice_for(step.id, v).text in shown


def test_lesson_next_and_back_move_the_step_in_the_url(small):
    at = open_app(LESSON, {"step": "2"})
    at.button(key="next_bottom").click().run()
    ok(at)
    assert at.query_params["step"] == "3" and at.title[0].value.startswith("3.")
    at.button(key="back_bottom").click().run()
    assert at.query_params["step"] == "2"
    assert at.button(key="back_bottom").disabled is False
    at = open_app(LESSON, {"step": "1"})
    assert at.button(key="back_bottom").disabled


def test_lesson_link_on_any_page_opens_the_lesson(small):
    at = open_app(None, {"lesson": "1", "step": "4"})
    ok(at)
    assert at.title[0].value.startswith("4. ")


def test_limits_step_shows_each_case(small):
    for case in pg.LESSON_CASES:
        at = open_app(LESSON, {"step": "6", "case": case})
        ok(at)
        assert at.get("plotly_chart")


def test_presentation_mode_folds_tables_and_keeps_the_flag(small):
    home, ids = small
    at = open_app("app_pages/identifiability_page.py", {"sweep": ids["grid"], "present": "1"})
    ok(at)
    assert at.toggle(key="present").value is True
    folded = [e.label for e in at.expander if "folded away in presentation mode" in e.label]
    assert folded, "dense tables are folded away"
    assert at.query_params["present"] == "1"
    at.toggle(key="present").set_value(False).run()
    assert "present" not in at.query_params


def test_identifiability_overlay_for_the_truth_against_a_model(small):
    home, ids = small
    at = open_app("app_pages/identifiability_page.py",
                  {"sweep": ids["grid"], "ova": "-1", "ovb": "4"})
    ok(at)
    assert at.selectbox(key="ova").value == -1 and at.selectbox(key="ovb").value == 4
    assert any("Overlay" in s.value for s in at.subheader)


def test_exact_leak_is_queued_then_becomes_a_slider_stop(small, tmp_path, use_home, monkeypatch):
    import shutil

    home = tmp_path / "store"
    shutil.copytree(small[0], home)  # a copy: this test adds a sweep
    store = use_home(home)
    at = open_app(PLAYGROUND)
    at.number_input(key="pg_exact").set_value(0.37).run()
    train = next(b for b in at.button if b.label.startswith("Train 3 models at α = 0.37"))
    train.click().run()
    ok(at)
    (row,) = [r for r in store.list_sweeps() if r["name"] == "playground · rolled · α = 0.37"]
    assert row["status"] == "queued" and row["config"]["leaks"] == [0.37]
    run_sweep_job(store, row["id"], executor=ThreadPoolExecutor(1))  # the runner's work
    at.run()
    ok(at)
    assert 0.37 in at.select_slider(key="leak").options or "0.37" in [
        str(o) for o in at.select_slider(key="leak").options]
    assert at.select_slider(key="leak").value == 0.37  # shown once trained
    assert len(at.get("plotly_chart")) == 4


def test_identifiability_overlay_is_folded_away_until_opened(small):
    home, ids = small
    at = open_app("app_pages/identifiability_page.py", {"sweep": ids["grid"]})
    ok(at)
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert charts and not any(c.endswith("ident_overlay") for c in charts)
    assert not any(k in at.query_params for k in ("ova", "ovb", "ovc"))
    at.session_state["ov_open"] = True  # the user opens it
    at.run()
    ok(at)
    assert any(c.proto.id.endswith("ident_overlay") for c in at.get("plotly_chart"))
    assert at.query_params["ova"] and at.query_params["ovb"]  # the pick is in the link now
