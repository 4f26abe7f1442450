"""The live progress polls cheaply: it reads the store only when the store changed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from nearid_ui import cache

ROOT = Path(__file__).resolve().parents[2]


def _script() -> None:
    import streamlit as st

    from nearid_ui import cache

    row = cache.live_row(st.query_params["sid"])
    st.write(f"name={row['name']}")


def test_live_row_reads_again_only_after_a_commit_or_the_full_read_interval(
        tmp_path, use_home, monkeypatch):
    store = use_home(tmp_path)
    sid = store.create_sweep({}, name="x")
    reads: list[str] = []
    real = cache.sweep_row
    monkeypatch.setattr(cache, "sweep_row", lambda s: reads.append(s) or real(s))
    monkeypatch.setattr(cache, "FULL_READ_S", 1e9)  # only the token decides
    at = AppTest.from_function(_script, default_timeout=60)
    at.query_params["sid"] = sid
    for _ in range(3):
        at.run()
        assert at.markdown[0].value == "name=x"
    assert reads == [sid]  # three polls, one read: the store did not change
    # Another process commits (as the runner does): the next poll reads and sees it.
    subprocess.run([sys.executable, "-c", "import sys; from nearid_core.runs.store import "
                    "RunStore; RunStore(sys.argv[1]).rename_sweep(sys.argv[2], 'y')",
                    str(tmp_path), sid], cwd=ROOT, check=True)
    at.run()
    assert reads == [sid, sid] and at.markdown[0].value == "name=y"
    monkeypatch.setattr(cache, "FULL_READ_S", 0.0)  # a missed token: read anyway
    at.run()
    assert reads == [sid] * 3


def test_keep_warm_starts_a_warm_runner_or_with_stay_0_only_an_on_demand_one(
        tmp_path, monkeypatch, caplog):
    from nearid_core.runs import runner
    from nearid_core.runs.store import RunStore
    from nearid_ui import jobs

    store = RunStore(tmp_path)
    started, on_demand = [], []
    monkeypatch.setattr(runner, "start_warm_runner", lambda s, stay: started.append(stay) or True)
    monkeypatch.setattr(jobs, "ensure_runner", lambda s: on_demand.append(s) or False)
    monkeypatch.setenv("NEARID_APP_RUNNER", "1")
    monkeypatch.setattr(jobs, "_SPAWNED", {"at": -1e9})
    monkeypatch.setenv("NEARID_RUNNER_STAY_S", "soon")  # not a number: the default, and a log
    assert jobs.keep_warm(store) and started == [runner.RUNNER_STAY_S]
    assert "NEARID_RUNNER_STAY_S" in caplog.text
    assert not jobs.keep_warm(store) and len(started) == 1  # no second start within RESPAWN_S
    monkeypatch.setattr(jobs, "_SPAWNED", {"at": -1e9})
    monkeypatch.setenv("NEARID_RUNNER_STAY_S", "0")  # no warm runner: queued sweeps still run
    assert not jobs.keep_warm(store) and on_demand == [store] and len(started) == 1
    monkeypatch.setenv("NEARID_APP_RUNNER", "0")  # tests run queued sweeps themselves
    assert not jobs.keep_warm(store) and on_demand == [store]


def test_a_submission_wakes_a_starting_warm_runner_and_starts_no_other(tmp_path, monkeypatch):
    # An on-demand runner started while the warm one imports would take the lock first and
    # send the warm one away: the store would be left without a warm runner.
    from nearid_core.config import DataConfig, SweepConfig, TrainConfig
    from nearid_core.runs.runner import wake_socket
    from nearid_core.runs.store import RunStore
    from nearid_ui import jobs

    store = RunStore(tmp_path)
    on_demand = []
    monkeypatch.setattr(jobs, "ensure_runner", lambda s: on_demand.append(s) or True)
    monkeypatch.setenv("NEARID_APP_RUNNER", "1")
    cfg = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=1), leaks=(0.0,),
                      seeds=1)
    monkeypatch.setattr(jobs, "_SPAWNED", {"at": time.monotonic()})  # just started one
    assert jobs.warm_runner_starting()
    with wake_socket(store.home) as wake:  # the warm runner, listening
        jobs.start(store, cfg)
        wake.settimeout(10.0)
        assert wake.recv(64) == b"wake"  # woken at once, not found at its next 2-s look
    assert on_demand == []  # left to the warm runner, which drains the queue once warm
    monkeypatch.setattr(jobs, "_SPAWNED", {"at": -1e9})  # none started lately
    jobs.start(store, cfg, name="again")
    assert on_demand == [store]
    assert [r["status"] for r in store.list_sweeps()] == ["queued", "queued"]


def test_a_sweep_is_polled_slowly_only_while_its_training_is_far_from_the_end():
    from nearid_ui.live import POLL_S, TRAINING_POLL_S, poll_every

    now = 1000.0
    running = {"status": "running", "started_at": now - 100.0}
    assert poll_every({"status": "queued", "progress": 0.0}, now) == POLL_S
    assert poll_every(running | {"progress": 0.01}, now) == TRAINING_POLL_S  # no estimate yet
    # 100 s for 0.45 of training's 0.9: about 100 s to go
    assert poll_every(running | {"progress": 0.45}, now) == TRAINING_POLL_S
    # 100 s for 0.89: 100 * 0.01 / 0.89 = 1.1 s to go, within two slow polls
    assert poll_every(running | {"progress": 0.89}, now) == POLL_S
    assert poll_every(running | {"progress": 0.9}, now) == POLL_S  # analysing: the end is near


def _follow_slowly(sweep_id: str) -> None:
    import streamlit as st

    from nearid_ui import live

    st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    if st.session_state["runs"] == 1:  # as a slow poll of the fragment finds it
        live._follow(sweep_id, None, live.TRAINING_POLL_S)


def test_a_slow_poll_reruns_the_page_once_the_end_of_training_is_near(tmp_path, use_home):
    from nearid_core.config import DataConfig, SweepConfig, TrainConfig
    from nearid_core.runs.jobs import submit_sweep

    store = use_home(tmp_path)
    sid = submit_sweep(store, SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=1),
                                          leaks=(0.0,), seeds=1))
    assert store.start_sweep(sid)
    store.set_runs_progress(sid, 0.01, {})
    at = AppTest.from_function(_follow_slowly, args=(sid,), default_timeout=60)
    at.run()
    assert at.session_state["runs"] == 1 and "is **running**" in at.info[0].value
    store.set_runs_progress(sid, 0.9, {}, message="analysing")
    at.session_state["runs"] = 0
    at.run()
    assert at.session_state["runs"] == 2  # the page ran again, to poll every POLL_S


def test_home_preloads_charting_once_and_a_followed_sweep_then_needs_no_blank_chart(
        tmp_path, use_home):
    from nearid_core.config import DataConfig, SweepConfig, TrainConfig
    from nearid_core.runs.jobs import submit_sweep

    store = use_home(tmp_path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    charts = at.get("plotly_chart")
    assert len(charts) == 1 and charts[0].proto.id.endswith("charting_preload")
    at.run()
    assert not at.get("plotly_chart")  # drawn in one run only: it leaves the page
    sid = submit_sweep(store, SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=1),
                                          leaks=(0.0,), seeds=1))
    at.switch_page("app_pages/identifiability_page.py")
    at.query_params["sweep"] = sid
    at.run()
    assert "is **queued**" in " ".join(i.value for i in at.info)
    assert not at.get("plotly_chart")  # this session's browser has plotly.js already
    alone = AppTest.from_function(_follow_alone, args=(sid,), default_timeout=60)
    alone.run()  # a session that drew no chart before (a link straight to a result page)
    charts = alone.get("plotly_chart")
    assert len(charts) == 1 and charts[0].proto.id.endswith(f"charting_{sid}")


def _follow_alone(sweep_id: str) -> None:
    from nearid_ui import live

    live.follow(sweep_id)
