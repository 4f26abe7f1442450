"""Tests for nearid_core.runs.store: round trips, errors, and reliability under crash,
concurrency and schema drift."""

from __future__ import annotations

import json
import math
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nearid_core.runs.store import DB_NAME, SCHEMA_VERSION, RunStore, StoreError

ROOT = Path(__file__).resolve().parents[2]


def _spawn(script: str, *args: str, **kwargs) -> subprocess.Popen:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs,
    )


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    with RunStore(tmp_path / "home") as s:
        yield s


def _sweep_with_runs(store: RunStore, n: int = 3) -> tuple[str, list[str]]:
    """A sweep owned (running) by this test process, with n queued runs."""
    sweep = store.create_sweep({"leaks": [0.0, 0.1], "n": n}, name="demo")
    runs = [store.add_run(sweep, index=i, leak=0.1 * i, seed=10 + i, config={"i": i})
            for i in range(n)]
    store.set_sweep_status(sweep, "running")
    return sweep, runs


# ---------------------------------------------------------------- location and schema


def test_home_from_env_and_default(tmp_path, monkeypatch):
    monkeypatch.setenv("NEARID_HOME", str(tmp_path / "env_home"))
    s = RunStore()
    assert s.home == tmp_path / "env_home" and (s.home / DB_NAME).exists()
    mode = sqlite3.connect(s.home / DB_NAME).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    monkeypatch.delenv("NEARID_HOME")
    monkeypatch.chdir(tmp_path)
    assert RunStore().home == tmp_path / ".nearid"


def test_newer_schema_refuses_to_open(tmp_path):
    home = tmp_path / "home"
    RunStore(home).close()
    with sqlite3.connect(home / DB_NAME) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(StoreError, match=f"schema version 99.*up to {SCHEMA_VERSION}"):
        RunStore(home)


def test_reopen_keeps_data_and_store_pickles(store):
    sweep, _ = _sweep_with_runs(store)
    assert RunStore(store.home).get_sweep(sweep)["name"] == "demo"
    assert pickle.loads(pickle.dumps(store)).get_sweep(sweep)["id"] == sweep


# ---------------------------------------------------------------- round trips


def test_config_metrics_and_progress_round_trip(store):
    config = {"model": {"widths": [64, 32], "act": "relu"}, "lr": 1e-3, "flag": True, "x": None}
    sweep = store.create_sweep(config, name="s")
    run = store.add_run(sweep, index=0, leak=0.25, seed=7, config={"leak": 0.25})
    store.set_sweep_status(sweep, "running", progress=0.1, message="training")
    store.set_runs_progress(sweep, 0.5, {run: 2.5}, message="step 100")
    store.set_runs_progress(sweep, 0.6, {run: float("nan")})
    metrics = {"mcc": 0.987654321, "per_dim": [0.1, 0.2], "n": 3, "diverged": float("inf")}
    store.set_run_result(run, metrics=metrics, timings={"train_s": 1.5})
    store.set_sweep_analysis(sweep, {"slope": -0.5})
    s, r = store.get_sweep(sweep), store.get_run(run)
    assert s["config"] == config and s["analysis"] == {"slope": -0.5}
    assert (s["status"], s["progress"], s["message"]) == ("running", 0.6, "step 100")
    assert s["run_counts"]["done"] == 1 and s["n_runs"] == 1
    assert (r["index"], r["leak"], r["seed"], r["status"]) == (0, 0.25, 7, "done")
    assert r["metrics"] == metrics and r["timings"] == {"train_s": 1.5}
    assert r["loss_history"][0] == 2.5 and math.isnan(r["loss_history"][1])
    store.set_sweep_status(sweep, "done", timings={"total_s": 3.0})
    s = store.get_sweep(sweep)
    assert (s["progress"], s["timings"], s["reason"]) == (1.0, {"total_s": 3.0}, None)


def test_lists_order_and_counts(store):
    first, runs = _sweep_with_runs(store, n=3)
    second = store.create_sweep({}, name="second")
    store.set_run_result(runs[2], metrics={})
    store.set_run_status(runs[0], "failed", reason="diverged")
    assert [s["id"] for s in store.list_sweeps()] == [second, first]
    counts = store.list_sweeps()[1]["run_counts"]
    assert counts == {"queued": 1, "running": 0, "done": 1, "failed": 1, "cancelled": 0,
                      "interrupted": 0}
    listed = store.list_runs(first)
    assert [r["index"] for r in listed] == [0, 1, 2] and listed[0]["reason"] == "diverged"


def test_arrays_round_trip_exactly(store):
    sweep, runs = _sweep_with_runs(store, n=1)
    rng = np.random.default_rng(0)
    arrays = {"z": rng.normal(size=(100, 4)), "f32": rng.normal(size=(5, 2)).astype(np.float32),
              "idx": np.arange(7, dtype=np.int64), "mask": np.array([True, False]),
              "scalar": np.float64(np.pi), "empty": np.zeros((0, 3))}
    store.save_arrays(runs[0], "latents", arrays)
    store.save_sweep_arrays(sweep, "heldout", {"x": arrays["z"]})
    loaded = store.load_arrays(runs[0][:6], "latents")  # a unique prefix works too
    assert loaded.keys() == arrays.keys()
    for key, value in arrays.items():
        assert loaded[key].dtype == np.asarray(value).dtype
        assert np.array_equal(loaded[key], value)
    assert np.array_equal(store.load_sweep_arrays(sweep, "heldout")["x"], arrays["z"])
    assert store.list_arrays(runs[0]) == ["latents"]
    assert store.list_sweep_arrays(sweep) == ["heldout"]


def test_state_dict_round_trip(store):
    torch = pytest.importorskip("torch")
    _, runs = _sweep_with_runs(store, n=1)
    torch.manual_seed(0)
    state = torch.nn.Linear(3, 2).state_dict()
    store.save_state_dict(runs[0], state)
    loaded = store.load_state_dict(runs[0])
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_delete_sweep_removes_rows_and_files(store):
    sweep, runs = _sweep_with_runs(store, n=2)
    store.save_arrays(runs[0], "z", {"z": np.ones(3)})
    store.save_sweep_arrays(sweep, "x", {"x": np.ones(3)})
    with pytest.raises(StoreError, match="cancel it first"):
        store.delete_sweep(sweep)  # a live sweep is never deleted under its owner
    assert store.request_cancel(sweep)
    store.delete_sweep(sweep)
    assert store.list_sweeps() == [] and not (store.artefacts_dir / sweep).exists()
    with pytest.raises(StoreError):
        store.get_run(runs[0])


# ---------------------------------------------------------------- errors


def test_unknown_and_ambiguous_ids(store):
    sweep, runs = _sweep_with_runs(store, n=1)
    calls = [lambda: store.get_sweep("nosuchsweep"), lambda: store.get_run("nosuchrun"),
             lambda: store.list_runs("nosuchsweep"), lambda: store.get_sweep(""),
             lambda: store.set_run_status("nosuchrun", "done"),
             lambda: store.set_sweep_status("nosuchsweep", "done"),
             lambda: store.set_runs_progress(sweep, 0.5, {"nosuchrun": 1.0}),
             lambda: store.add_run("nosuchsweep", index=0, leak=0, seed=0, config={}),
             lambda: store.load_arrays(runs[0], "missing")]
    for call in calls:
        with pytest.raises(StoreError, match="nosuch|no sweep|missing"):
            call()
    # 17 random hex ids: by pigeonhole two share their first character.
    ids = [store.create_sweep({}) for _ in range(16)] + [sweep]
    prefix = Counter(i[0] for i in ids).most_common(1)[0][0]
    with pytest.raises(StoreError, match="ambiguous"):
        store.get_sweep(prefix)


def test_invalid_values_raise_value_error(store):
    sweep, runs = _sweep_with_runs(store, n=1)
    with pytest.raises(ValueError, match="'bogus'"):
        store.set_sweep_status(sweep, "bogus")
    with pytest.raises(ValueError, match="'finished'"):
        store.set_run_result(runs[0], metrics={}, status="finished")
    with pytest.raises(ValueError, match="progress"):
        store.set_runs_progress(sweep, 1.5, {})
    with pytest.raises(ValueError, match="already exists"):
        store.add_run(sweep, index=0, leak=0, seed=0, config={})
    with pytest.raises(ValueError, match="JSON"):
        store.create_sweep({"bad": object()})
    for name in ("../escape", ".tmp-1-x", ""):
        with pytest.raises(ValueError, match="artefact name"):
            store.save_arrays(runs[0], name, {"z": np.ones(1)})
    with pytest.raises(ValueError, match="object"):
        store.save_arrays(runs[0], "obj", {"z": np.array([{}], dtype=object)})
    assert store.get_run(runs[0])["status"] == "queued"  # nothing changed


# ---------------------------------------------------------------- reliability

CRASH_WORKER = """
import sys
import numpy as np
from nearid_core.runs.store import RunStore
store = RunStore(sys.argv[1])
sweep = store.create_sweep({"kind": "crash"})
runs = [store.add_run(sweep, index=i, leak=0.1 * i, seed=i, config={}) for i in range(4)]
store.set_sweep_status(sweep, "running")
for i in (0, 1):
    store.save_arrays(runs[i], "latents", {"z": np.full((50, 3), float(i))})
    store.set_run_result(runs[i], metrics={"mcc": 0.5 + i})
for r in runs[2:]:
    store.set_run_status(r, "running")
print(sweep, *runs, flush=True)
rng, step = np.random.default_rng(0), 0
while True:
    step += 1
    store.set_runs_progress(sweep, 0.5, {r: 1.0 / step for r in runs[2:]})
    for r in runs[2:]:
        store.save_arrays(r, "latents", {"z": rng.normal(size=(20000, 8))})
"""


def test_sigkill_mid_write_leaves_a_consistent_store(tmp_path):
    home = tmp_path / "home"
    proc = _spawn(CRASH_WORKER, str(home))
    try:
        sweep, *runs = proc.stdout.readline().split()
        assert len(runs) == 4, proc.stderr.read()
        store = RunStore(home)
        deadline = time.time() + 20
        while len(store.get_run(runs[3])["loss_history"]) < 3 and time.time() < deadline:
            time.sleep(0.02)  # kill only once the worker is deep in its write loop
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()  # reaped, so its pid is really gone
    # Simulate a kill between opening a temp file and renaming it.
    run_dir = home / "artefacts" / sweep / runs[2]
    (run_dir / f".tmp-{proc.pid}-deadbeef-latents.npz").write_bytes(b"PK\x03\x04 half")

    conn = sqlite3.connect(home / DB_NAME)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    store = RunStore(home)
    for i in (0, 1):
        assert store.get_run(runs[i])["metrics"] == {"mcc": 0.5 + i}
        assert np.array_equal(store.load_arrays(runs[i], "latents")["z"], np.full((50, 3), i))
    for r in runs[2:]:
        assert store.get_run(r)["status"] == "running"
        for name in store.list_arrays(r):  # anything listed is complete
            assert store.load_arrays(r, name)["z"].shape == (20000, 8)

    result = store.recover()
    assert result["sweeps"] == [sweep] and sorted(result["runs"]) == sorted(runs[2:])
    assert result["temp_files_removed"] >= 1
    assert not list((home / "artefacts").rglob(".tmp-*"))
    for r in runs[2:]:
        run = store.get_run(r)
        assert run["status"] == "interrupted" and f"process {proc.pid} ended" in run["reason"]
    assert [store.get_run(r)["status"] for r in runs[:2]] == ["done", "done"]
    assert store.get_sweep(sweep)["status"] == "interrupted"
    assert store.recover() == {"sweeps": [], "runs": [], "temp_files_removed": 0}


def test_recover_leaves_live_owners_alone(store):
    sweep, runs = _sweep_with_runs(store, n=1)
    store.set_sweep_status(sweep, "running")
    store.set_run_status(runs[0], "running")
    assert store.recover()["sweeps"] == []
    assert store.get_run(runs[0])["status"] == "running"


CONCURRENT_WORKER = """
import json, sys, time
import numpy as np
from nearid_core.runs.store import RunStore
home, shared_sweep, shared_run, start = sys.argv[1:5]
store, start = RunStore(home), float(start)
own = store.create_sweep({"worker": shared_run})
own_runs = [store.add_run(own, index=i, leak=0.0, seed=i, config={}) for i in range(3)]
store.set_sweep_status(own, "running")
while time.time() < start:
    time.sleep(0.005)
n = 0
while time.time() < start + 1.5:
    n += 1
    store.set_runs_progress(shared_sweep, 0.5, {shared_run: float(n)})
    store.set_runs_progress(own, 0.5, {r: float(n) for r in own_runs})
    store.save_arrays(own_runs[n % 3], "z", {"z": np.full(4, n)})
    store.get_sweep(shared_sweep)
for i, r in enumerate(own_runs):
    store.set_run_result(r, metrics={"n": n, "i": i})
store.set_sweep_status(own, "done")
print(json.dumps({"sweep": own, "runs": own_runs, "n": n}))
"""


def test_two_processes_write_at_once(tmp_path):
    home = tmp_path / "home"
    store = RunStore(home)
    shared, shared_runs = _sweep_with_runs(store, n=2)
    start = str(time.time() + 1.0)  # both start writing together, after their imports
    procs = [_spawn(CONCURRENT_WORKER, str(home), shared, r, start) for r in shared_runs]
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    reports = [json.loads(out) for out, _ in outputs]
    for report, shared_run in zip(reports, shared_runs, strict=True):
        n = report["n"]
        assert n > 5  # both really ran concurrently for a while
        assert store.get_run(shared_run)["loss_history"] == [float(k) for k in range(1, n + 1)]
        assert store.get_sweep(report["sweep"])["run_counts"]["done"] == 3
        for i, r in enumerate(store.list_runs(report["sweep"])):
            assert r["metrics"] == {"n": n, "i": i} and len(r["loss_history"]) == n
            assert r["id"] == report["runs"][i] and store.list_arrays(r["id"]) == ["z"]
    assert len(store.list_sweeps()) == 3


def test_threads_read_while_main_thread_writes(store):
    sweep, runs = _sweep_with_runs(store, n=2)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(40):
                assert store.list_sweeps()[0]["n_runs"] == 2
                store.list_runs(sweep)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for k in range(40):
        store.set_runs_progress(sweep, k / 40, {r: float(k) for r in runs})
    for t in threads:
        t.join()
    assert errors == [] and len(store.get_run(runs[0])["loss_history"]) == 40


# ---------------------------------------------------------------- state is always true


def test_submission_is_one_transaction(store):
    runs = [{"index": i, "leak": 0.1 * i, "seed": i, "config": {}} for i in range(3)]
    runs.append({"index": 3, "leak": 0.0, "seed": 10**30, "config": {}})  # overflows INTEGER
    with pytest.raises(OverflowError):
        store.create_sweep({"leaks": [0.0], "seeds": 4}, runs=runs)
    assert store.list_sweeps() == []  # neither the sweep row nor any run was kept
    sid = store.create_sweep({"leaks": [0.0], "seeds": 3}, runs=runs[:3], claim=True)
    sweep = store.get_sweep(sid)
    assert sweep["status"] == "running" and sweep["pid"] == os.getpid()
    assert sweep["n_runs"] == 3 and sweep["started_at"] is not None


def test_a_cancel_is_never_overwritten(store):
    sid = store.create_sweep({}, runs=[{"index": 0, "leak": 0, "seed": 0, "config": {}}])
    assert store.start_sweep(sid)
    assert store.request_cancel(sid)
    # The owner's late transitions all fail and change nothing.
    assert not store.finish_sweep(sid, "done")
    assert not store.set_runs_progress(sid, 0.5, {}, message="training")
    assert not store.start_sweep(sid)
    sweep = store.get_sweep(sid)
    assert sweep["status"] == "cancelled" and sweep["progress"] == 0.0
    assert not store.request_cancel(sid)  # already ended


def test_failure_and_interruption_end_the_live_runs_too(store):
    sid = store.create_sweep({}, runs=[{"index": i, "leak": 0, "seed": i, "config": {}}
                                       for i in range(3)])
    assert store.start_sweep(sid)
    run_ids = [r["id"] for r in store.list_runs(sid)]
    store.set_run_result(run_ids[0], metrics={"m": 1.0})  # finished before the failure
    assert store.finish_sweep(sid, "interrupted", reason="interrupted by SIGTERM")
    statuses = [(r["status"], r["reason"]) for r in store.list_runs(sid)]
    assert statuses == [("done", None)] + [("interrupted", "interrupted by SIGTERM")] * 2


def test_a_dead_owner_reads_as_interrupted_at_once(tmp_path):
    home = tmp_path / "home"
    proc = _spawn("import sys\nfrom nearid_core.runs.store import RunStore\n"
                  "s = RunStore(sys.argv[1])\n"
                  "sid = s.create_sweep({}, runs=[{'index': 0, 'leak': 0, 'seed': 0,"
                  " 'config': {}}], claim=True)\nprint(sid, flush=True)\n", str(home))
    sid = proc.stdout.readline().strip()
    proc.wait()
    store = RunStore(home)
    for read in (lambda: store.get_sweep(sid), lambda: store.list_sweeps()[0]):
        sweep = read()
        assert sweep["status"] == "interrupted" and f"process {proc.pid} ended" in sweep["reason"]
    assert store.list_runs(sid)[0]["status"] == "interrupted"


def test_a_stale_heartbeat_is_judged_on_any_host(store):
    from nearid_core.runs._sqlite import STALE_S, owner_gone

    now = time.time()
    row = {"pid": 1, "hostname": "elsewhere", "heartbeat": now - 1}
    assert owner_gone(row, "here", now) is None  # another host, fresh heartbeat: alive
    row["heartbeat"] = now - STALE_S - 1
    assert "stopped reporting" in owner_gone(row, "here", now)
    sid = store.create_sweep({}, claim=True)
    with store._write() as c:  # a live pid whose heartbeat stopped: a frozen or recycled pid
        c.execute("UPDATE sweeps SET heartbeat = ? WHERE id = ?", (now - STALE_S - 5, sid))
    assert store.get_sweep(sid)["status"] == "interrupted"


def test_heartbeat_refreshes_while_the_owner_lives(store):
    sid = store.create_sweep({}, claim=True)
    first = store.get_sweep(sid)["heartbeat"]
    with store.heartbeat(sid, every_s=0.01):
        deadline = time.monotonic() + 30
        while store.get_sweep(sid)["heartbeat"] == first and time.monotonic() < deadline:
            time.sleep(0.01)
    assert store.get_sweep(sid)["heartbeat"] > first


def test_recover_fails_queued_sweeps_with_missing_runs(store):
    # An older nearid wrote the sweep and its runs in separate transactions.
    sid = store.create_sweep({"leaks": [0.0, 0.5], "seeds": 2})
    store.add_run(sid, index=0, leak=0.0, seed=0, config={})
    ok = store.create_sweep({"leaks": [0.0], "seeds": 1},
                            runs=[{"index": 0, "leak": 0.0, "seed": 0, "config": {}}])
    result = store.recover()
    assert result["sweeps"] == [sid]
    assert store.get_sweep(sid)["status"] == "failed"
    assert "cut short" in store.get_sweep(sid)["reason"]
    assert store.get_sweep(ok)["status"] == "queued"
    assert store.claim_queued_sweep() == ok


# ---------------------------------------------------------------- damaged or unusual stores


def _store_error(home) -> str:
    with pytest.raises(StoreError) as info:
        RunStore(home)
    return info.value.message


def test_unusable_store_folders_raise_one_store_error(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert "is a file" in _store_error(afile)
    assert "part of its path is a file" in _store_error(afile / "below")
    if os.path.isdir("/proc/1"):
        assert "store" in _store_error("/proc/1")  # read-only there, or not creatable
    assert not (tmp_path / "afile").is_dir()


@pytest.mark.parametrize("damage", ["random", "header", "foreign", "garbled-version"])
def test_a_database_that_is_not_a_store_is_refused(tmp_path, damage):
    home = tmp_path / "home"
    RunStore(home).create_sweep({}, name="kept")
    db = home / DB_NAME
    sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    if damage == "random":
        db.write_bytes(np.random.default_rng(0).bytes(8192))
    elif damage == "header":
        data = bytearray(db.read_bytes())
        data[:16] = b"garbled header!!"
        db.write_bytes(bytes(data))
    elif damage == "foreign":
        db.unlink()
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
    else:
        conn = sqlite3.connect(db)
        conn.execute("UPDATE meta SET value = 'two' WHERE key = 'schema_version'")
        conn.commit()
        conn.close()
    before = db.read_bytes()
    message = _store_error(home)
    assert str(home) not in message  # the message itself carries no server path
    assert db.read_bytes() == before  # refused without touching anything


@pytest.mark.parametrize("db_state", ["empty", "missing"])
def test_no_new_store_over_existing_artefacts(tmp_path, db_state):
    home = tmp_path / "home"
    store = RunStore(home)
    sid, runs = _sweep_with_runs(store, n=1)
    store.save_arrays(runs[0], "z", {"z": np.ones(3)})
    store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{home / DB_NAME}{suffix}").unlink(missing_ok=True)
    if db_state == "empty":
        (home / DB_NAME).write_bytes(b"")
    assert "artefacts" in _store_error(home)
    assert (home / "artefacts" / sid / runs[0] / "z.npz").is_file()
    assert (home / DB_NAME).exists() == (db_state == "empty")


def test_damaged_artefacts_raise_damaged_artefact(store):
    import torch

    from nearid_core.runs.store import DamagedArtefact

    sid, runs = _sweep_with_runs(store, n=1)
    store.save_arrays(runs[0], "heldout", {"z": np.arange(1000.0)})
    store.save_sweep_arrays(sid, "data", {"x": np.arange(1000.0)})
    store.save_state_dict(runs[0], {"w": torch.ones(50)})
    run_dir = store.artefacts_dir / sid / runs[0]
    held = run_dir / "heldout.npz"
    held.write_bytes(held.read_bytes()[:300])  # truncated
    data = store.artefacts_dir / sid / "data.npz"
    data.write_bytes(b"garbage" * 50)  # garbled
    state = run_dir / "state_dict.pt"
    state.write_bytes(state.read_bytes()[:100])
    for call in (lambda: store.load_arrays(runs[0], "heldout"),
                 lambda: store.load_sweep_arrays(sid, "data"),
                 lambda: store.load_state_dict(runs[0])):
        with pytest.raises(DamagedArtefact) as info:
            call()
        assert "damaged" in info.value.message and str(store.home) not in info.value.message
    assert store.get_run(runs[0])["status"] == "queued"  # rows are untouched


def test_schema_v1_store_is_migrated_with_its_data(tmp_path):
    from nearid_core.runs import _sqlite

    home = tmp_path / "home"
    home.mkdir()
    conn = sqlite3.connect(home / DB_NAME)
    v1 = [s.replace(", heartbeat REAL, started_at REAL", "").replace(", 'interrupted'", "")
          for s in _sqlite._DDL]
    for statement in v1:
        conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.execute("INSERT INTO sweeps (id, name, created_at, updated_at, config, status)"
                 " VALUES ('abc', 'old', 1, 1, '{}', 'done')")
    conn.execute("INSERT INTO runs (id, sweep_id, idx, leak, seed, config, status,"
                 " created_at, updated_at) VALUES ('r1', 'abc', 0, 0.5, 3, '{}', 'done', 1, 1)")
    conn.commit()
    conn.close()
    store = RunStore(home)
    sweep = store.get_sweep("abc")
    assert sweep["name"] == "old" and sweep["status"] == "done" and sweep["heartbeat"] is None
    assert store.get_run("r1")["leak"] == 0.5
    store.set_run_status("r1", "interrupted")  # the new status is accepted
    version = sqlite3.connect(home / DB_NAME).execute(
        "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert int(version) == SCHEMA_VERSION


def test_a_readonly_store_lists_shows_and_refuses_writes(tmp_path):
    home = tmp_path / "home"
    store = RunStore(home)
    sid, runs = _sweep_with_runs(store, n=1)
    store.save_arrays(runs[0], "z", {"z": np.arange(4)})
    store.close()
    ro = RunStore(home, readonly=True)
    assert ro.readonly and ro.get_sweep(sid)["n_runs"] == 1
    assert list(ro.load_arrays(runs[0], "z")["z"]) == [0, 1, 2, 3]
    assert ro.recover() == {"sweeps": [], "runs": [], "temp_files_removed": 0}
    with pytest.raises(StoreError, match="read-only"):
        ro.create_sweep({})
    with pytest.raises(StoreError, match="read-only"):
        ro.save_arrays(runs[0], "z", {"z": np.zeros(1)})


def _mount_readonly(src: Path, dst: Path) -> bool:
    dst.mkdir()
    ok = subprocess.run(["mount", "--bind", str(src), str(dst)], capture_output=True)
    if ok.returncode != 0:
        return False
    ok = subprocess.run(["mount", "-o", "remount,ro,bind", str(dst)], capture_output=True)
    if ok.returncode != 0:
        subprocess.run(["umount", str(dst)], capture_output=True)
        return False
    return True


def test_a_store_on_readonly_media_opens_readonly(tmp_path):
    home = tmp_path / "home"
    store = RunStore(home)
    sid, _ = _sweep_with_runs(store, n=2)
    store.request_cancel(sid)
    store.close()  # the last connection checkpoints the WAL into the main file
    media = tmp_path / "media"
    if not _mount_readonly(home, media):
        pytest.skip("needs a read-only bind mount (root with CAP_SYS_ADMIN)")
    try:
        ro = RunStore(media)  # detected: nothing can be written there
        assert ro.readonly
        assert [s["id"] for s in ro.list_sweeps()] == [sid]
        assert len(ro.list_runs(sid)) == 2
        ro.close()
    finally:
        busy = subprocess.run(["umount", str(media)], capture_output=True).returncode
        if busy:
            subprocess.run(["umount", "-l", str(media)], capture_output=True)
    assert not busy, "the store left files open on the read-only media"


def test_rename_sweep(store):
    sid, _ = _sweep_with_runs(store, n=1)
    store.rename_sweep(sid[:6], "  second try ")
    assert store.get_sweep(sid)["name"] == "second try"
    with pytest.raises(ValueError, match="200"):
        store.rename_sweep(sid, "x" * 201)
    with pytest.raises(StoreError, match="no sweep"):
        store.rename_sweep("nosuch", "a")
