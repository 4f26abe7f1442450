"""The Dask engine on a real ``distributed.LocalCluster`` (2 worker processes): the same
numbers as a local run, a worker killed mid-sweep (Dask re-runs its chunk), cancel reaching
running tasks, and a scheduler that does not answer (one line, nothing stored)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from nearid_core.config import DataConfig, SweepConfig, TrainConfig  # noqa: E402
from nearid_core.engine.dask_engine import DaskUnavailable, open_dask  # noqa: E402
from nearid_core.runs.jobs import _drain_queue, run_sweep_job, submit_sweep  # noqa: E402
from nearid_core.runs.store import RunStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEAD = "tcp://127.0.0.1:1"  # nothing listens on port 1
TINY = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=3, batch_size=64),
                   leaks=(0.0, 0.5), seeds=2, seed=5)
# Long enough (about a second per chunk) that a kill at the first progress report lands
# while both chunks are training.
LONGER = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=40, batch_size=64),
                     leaks=(0.0, 0.5), seeds=2, seed=5)
ENDLESS = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=10_000, batch_size=64),
                      leaks=(0.0,), seeds=2)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


def _same(a, b, path="") -> list[str]:
    """Where two stored documents differ, timings aside (NaN equals NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in set(a) | set(b) if not k.endswith("_s") and k != "marks"
                for d in _same(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in _same(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    return [] if a == b else [path]


def _run(tmp_path: Path, name: str, cfg: SweepConfig, executor, **kw) -> tuple[RunStore, str]:
    store = RunStore(tmp_path / name)
    sid = submit_sweep(store, cfg)
    run_sweep_job(store, sid, executor=executor, **kw)
    return store, sid


def _metrics(store: RunStore, sid: str) -> list[dict]:
    return [r["metrics"] for r in store.list_runs(sid)]


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> dict:
    """The reference: TINY and LONGER trained and analysed in this process."""
    out = {}
    for name, cfg in (("tiny", TINY), ("longer", LONGER)):
        with ThreadPoolExecutor(1) as ex:
            store, sid = _run(tmp_path_factory.mktemp(name), "home", cfg, ex)
        out[name] = (store.get_sweep(sid)["analysis"], _metrics(store, sid))
    return out


def test_a_sweep_on_the_cluster_has_the_numbers_of_a_local_run(cluster, local, tmp_path):
    ex = open_dask(cluster.scheduler_address)
    try:
        assert ex._max_workers == 2  # the sweep is cut into one chunk per worker thread
        store, sid = _run(tmp_path, "dask", TINY, ex)
    finally:
        ex.shutdown()
    assert store.get_sweep(sid)["status"] == "done"
    analysis, metrics = local["tiny"]
    assert _same(store.get_sweep(sid)["analysis"], analysis) == []
    assert _same(_metrics(store, sid), metrics) == []


def test_a_worker_killed_mid_sweep_is_replaced_and_the_numbers_stay(cluster, local,
                                                                    tmp_path):
    ex = open_dask(cluster.scheduler_address)
    pids = list(ex.dask_client.run(os.getpid).values())
    killed = []

    def kill_one(p) -> None:
        if p.fraction > 0 and not killed:
            os.kill(pids[0], signal.SIGKILL)  # as the OOM killer would
            killed.append(pids[0])

    try:
        store, sid = _run(tmp_path, "dask", LONGER, ex, on_progress=kill_one)
    finally:
        ex.shutdown()
    assert killed
    row = store.get_sweep(sid)
    assert row["status"] == "done", row["reason"]
    analysis, metrics = local["longer"]
    assert _same(row["analysis"], analysis) == []
    assert _same(_metrics(store, sid), metrics) == []


def test_cancel_reaches_the_running_tasks(cluster, tmp_path):
    ex = open_dask(cluster.scheduler_address)
    store = RunStore(tmp_path / "home")
    sid = submit_sweep(store, ENDLESS)

    def cancel(p) -> None:
        if p.fraction > 0:
            store.request_cancel(sid)

    try:  # 10,000 epochs: only the stop event reaching the workers ends this in time
        assert run_sweep_job(store, sid, executor=ex, on_progress=cancel) is None
    finally:
        ex.shutdown()
    assert store.get_sweep(sid)["status"] == "cancelled"
    assert {r["status"] for r in store.list_runs(sid)} <= {"cancelled", "done"}


def test_a_scheduler_that_does_not_answer_is_one_line_and_nothing_is_stored(tmp_path):
    env = {**os.environ, "NEARID_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "nearid_core", "sweep", "--quiet",
                           "--scheduler", DEAD], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Dask scheduler answers at 'tcp://127.0.0.1:1'" in lines[0]
    assert not (tmp_path / "home").exists()  # checked before the store is made


def test_the_runner_fails_queued_sweeps_with_the_reason_when_no_scheduler_answers(
        tmp_path, monkeypatch):
    monkeypatch.setenv("NEARID_SCHEDULER", DEAD)
    store = RunStore(tmp_path)
    sid = submit_sweep(store, TINY)
    assert _drain_queue(store, None) == 1
    row = store.get_sweep(sid)
    assert row["status"] == "failed" and "no Dask scheduler answers" in row["reason"]
    with pytest.raises(DaskUnavailable):
        open_dask(DEAD)


def test_the_apps_runner_trains_on_the_cluster_named_by_the_environment(cluster, local,
                                                                       tmp_path):
    store = RunStore(tmp_path)
    sid = submit_sweep(store, TINY)
    env = {**os.environ, "NEARID_HOME": str(tmp_path),
           "NEARID_SCHEDULER": cluster.scheduler_address}
    done = subprocess.run([sys.executable, "-m", "nearid_core", "runner"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    row = store.get_sweep(sid)
    assert row["status"] == "done", row["reason"]
    assert _same(row["analysis"], local["tiny"][0]) == []
    deadline = time.monotonic() + 30  # the cluster is not the runner's: it stays up
    while len(cluster.scheduler_info["workers"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(cluster.scheduler_info["workers"]) == 2


def test_the_command_line_sweeps_on_the_cluster(cluster, local, tmp_path):
    env = {**os.environ, "NEARID_HOME": str(tmp_path / "home")}
    # 1 GB is below this machine's pool (its processes alone weigh more) but above the
    # coordinator's share: refused locally, run on the cluster
    args = [sys.executable, "-m", "nearid_core", "sweep", "--n", "512", "--epochs", "3",
            "--batch-size", "64", "--leaks", "0,0.5", "--seeds", "2", "--seed", "5",
            "--data-seed", "0", "--max-memory", "1G"]
    refused = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 2 and "over the budget" in refused.stderr
    done = subprocess.run([*args, "--scheduler", cluster.scheduler_address], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"on the Dask cluster at {cluster.scheduler_address}" in done.stderr
    assert "if the cluster's 2 worker threads are as fast as this machine's cores" in (
        done.stderr)
    (row,) = RunStore(tmp_path / "home").list_sweeps()
    assert row["status"] == "done"
    assert _same(row["analysis"], local["tiny"][0]) == []
