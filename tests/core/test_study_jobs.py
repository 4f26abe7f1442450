"""Studies as jobs of the run store: listed apart from sweeps, run by the same owner code
(queue, runner, progress, cancel, failure), with the same numbers as the study run alone,
and a true store after a real runner is killed mid-study."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nearid_core.__main__ import main as cli_main
from nearid_core.config import json_safe
from nearid_core.runs.jobs import run_sweep_job, runner_alive, submit_sweep
from nearid_core.runs.runner import queued
from nearid_core.runs.store import RunStore
from nearid_core.runs.study_jobs import (
    batch_config,
    run_study_job,
    study_settings,
    submit_study,
)
from nearid_core.studies import batch as batch_study
from nearid_core.studies.batch import paired_difference, strength_sweep

sys.path.insert(0, str(Path(__file__).parent))
from procs import alive, descendants  # noqa: E402
from test_faults import TINY  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# Smallest screen with enough training rows for ICA: 2 x 4 x 8 = 64 >= 2 x 16.
TINY_BATCH = {"screen": {"perturbations": 3, "batches": 3, "wells": 8}, "held_out": [2],
              "seeds": 2, "strengths": [0.0, 2.0], "strength_seeds": 2}


def _run(store: RunStore, sid: str, **kw):
    with ThreadPoolExecutor(1) as ex:
        return run_study_job(store, sid, executor=ex, **kw)


def test_studies_are_listed_apart_from_sweeps_and_queue_for_the_runner(tmp_path):
    store = RunStore(tmp_path)
    sweep = submit_sweep(store, TINY)
    study = submit_study(store, "batch", TINY_BATCH, name="b")
    assert [s["id"] for s in store.list_sweeps()] == [sweep]
    assert [s["id"] for s in store.list_sweeps(kind="batch")] == [study]
    assert [s["id"] for s in store.list_sweeps(kind="study")] == [study]
    assert store.list_sweeps(kind="disentangle") == []
    assert {s["id"] for s in store.list_sweeps(kind=None)} == {sweep, study}
    assert store.get_sweep(study)["kind"] == "batch" and store.get_sweep(sweep)["kind"] == "sweep"
    store.request_cancel(sweep)
    assert queued(store)  # the study alone keeps the queue non-empty
    assert store.claim_queued_sweep() == study  # not mistaken for a cut-short submission


def test_a_stored_batch_study_has_the_numbers_of_the_study_run_alone(tmp_path):
    store = RunStore(tmp_path)
    sid = submit_study(store, "batch", TINY_BATCH)
    seen = []
    outcome = _run(store, sid, on_progress=seen.append)
    row = store.get_sweep(sid)
    assert row["status"] == "done" and row["progress"] == 1.0
    cfg, seeds, strengths, k = batch_config(TINY_BATCH)
    alone = paired_difference(cfg, seeds)
    assert row["analysis"]["paired_difference"] == json.loads(json.dumps(
        alone.to_json_dict()))
    rows = strength_sweep(cfg, strengths, seeds=k)
    assert row["analysis"]["strength_sweep"] == json_safe(rows)
    assert outcome.document == row["analysis"]
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] <= 1.0


def test_a_study_cancelled_while_running_stops_and_stays_cancelled(tmp_path):
    store = RunStore(tmp_path)
    sid = submit_study(store, "batch", TINY_BATCH)

    def cancel_at_first_report(p):
        if p.fraction > 0:
            store.request_cancel(sid)

    assert _run(store, sid, on_progress=cancel_at_first_report) is None
    row = store.get_sweep(sid)
    assert row["status"] == "cancelled" and row["analysis"] is None


def test_a_failing_study_is_failed_with_its_reason(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    sid = submit_study(store, "batch", TINY_BATCH)

    def broken(cfg):
        raise ValueError("the screen could not be sampled")

    monkeypatch.setattr(batch_study, "make_screen", broken)
    with pytest.raises(ValueError):
        _run(store, sid)
    row = store.get_sweep(sid)
    assert row["status"] == "failed" and "could not be sampled" in row["reason"]


def test_the_sweep_runner_hands_a_study_to_the_study_runner(tmp_path):
    store = RunStore(tmp_path)
    sid = submit_study(store, "disentangle", {"datasets": ["rolled"], "seeds": 1, "epochs": 1,
                                              "n": 512})
    with ThreadPoolExecutor(1) as ex:
        assert run_sweep_job(store, sid, executor=ex) is None  # no sweep analysis
    row = store.get_sweep(sid)
    assert row["status"] == "done" and row["analysis"]["config"]["datasets"] == ["rolled"]
    assert "traversals" not in store.list_sweep_arrays(sid)  # rolled has no images


@pytest.mark.parametrize(("kind", "settings", "words"), [
    ("batch", {"screen": {"wells": 1}}, "wells"),
    ("batch", {"scren": {}}, "'scren'"),
    ("batch", {"strengths": [11.0]}, "strengths"),
    ("batch", {"screen": {"perturbations": 2, "batches": 3, "wells": 10}}, "training rows"),
    ("disentangle", {"seeds": 0}, "seeds"),
    ("disentangle", {"datasets": ["faces"]}, "datasets"),
    ("disentangle", {"epoch": 3}, "'epoch'"),
    ("umap", {}, "no study kind"),
])
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, kind, settings, words):
    store = RunStore(tmp_path)
    with pytest.raises(ValueError, match=words):
        submit_study(store, kind, settings)
    assert store.list_sweeps(kind=None) == []


def test_settings_are_completed_with_the_defaults():
    full = study_settings("batch", {})
    assert full["seeds"] == 5 and full["screen"]["perturbations"] == 6
    assert full["held_out"] == [4, 5] and full["strengths"] == [0.0, 1.0, 2.0, 4.0, 8.0]
    assert study_settings("batch", full) == full  # a stored study's settings read back


def test_show_export_report_and_delete_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEARID_HOME", str(tmp_path / "home"))
    store = RunStore(tmp_path / "home")
    sid = submit_study(store, "batch", TINY_BATCH, name="tiny screen")
    _run(store, sid)
    assert cli_main(["list"]) == 0
    assert sid in capsys.readouterr().out
    assert cli_main(["show", sid[:6]]) == 0
    out = capsys.readouterr().out
    assert f"study {sid} (batch) tiny screen: done" in out and "strength 2:" in out
    assert cli_main(["export", sid, "--out", str(tmp_path / "s.json")]) == 0
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["result"] == store.get_sweep(sid)["analysis"] and doc["study"] == "batch"
    assert cli_main(["export", sid, "--out", str(tmp_path / "s.npz")]) == 2
    assert cli_main(["report", sid, "--out", str(tmp_path / "s.html")]) == 0
    assert (tmp_path / "s.html").read_text().count("<h2>") >= 3
    assert cli_main(["delete", sid]) == 0
    assert store.list_sweeps(kind=None) == []
    assert not (store.artefacts_dir / sid).exists()


def _runner(home: Path, phase: str, marker: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "NEARID_HOME": str(home), "OMP_NUM_THREADS": "1",
           "NEARID_FAULT_PHASE": phase, "NEARID_FAULT_MARKER": str(marker)}
    with open(log, "wb") as fh:
        return subprocess.Popen([sys.executable, "-m", "nearid_core", "runner"], cwd=ROOT,
                                env=env, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.parametrize(("phase", "sig"), [("training", signal.SIGKILL),
                                            ("status", signal.SIGTERM)])
def test_a_runner_killed_mid_study_leaves_it_interrupted(tmp_path, phase, sig):
    home = tmp_path / "home"
    store = RunStore(home)
    sid = submit_study(store, "disentangle", {"datasets": ["rolled"], "seeds": 1,
                                              "epochs": 2, "n": 512})
    marker, log = tmp_path / "paused", tmp_path / "runner.log"
    proc = _runner(home, phase, marker, log)
    try:
        deadline = time.monotonic() + 180  # only stops a broken test from hanging
        while not marker.exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        family = descendants(proc.pid)
        os.kill(proc.pid, sig)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 30
    while [p for p in family if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in family if alive(p)] == [], "processes outlived the runner"
    row = RunStore(home).get_sweep(sid)
    assert row["status"] == "interrupted", row
    if sig == signal.SIGTERM:
        assert code == 128 + sig and "SIGTERM" in row["reason"]
        assert "Traceback" not in log.read_text()
    assert not runner_alive(store)
