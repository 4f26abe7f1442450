"""Fault injection on real processes: a sweep's owner (the background runner, or the
command-line ``sweep``) is paused at a named phase by the test hook ``nearid_core.engine.faults``
and killed there, by every signal a machine or a user sends.

After each kill: no descendant process is left, the database passes ``integrity_check``,
an earlier sweep reads back byte-identical through ``show`` and ``export``, the killed
sweep is ``interrupted`` with no run left live (runs that had finished training stay
``done`` with their files), no half-written file survives ``recover``, and no lock is
left held and a newly submitted job runs to the end.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nearid_core.__main__ import main as cli_main
from nearid_core.config import DataConfig, SweepConfig, TrainConfig
from nearid_core.runs.jobs import run_sweep_job, runner_alive, submit_sweep
from nearid_core.runs.store import DB_NAME, RunStore

sys.path.insert(0, str(Path(__file__).parent))
from procs import alive, descendants  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = SweepConfig(data=DataConfig(n=256), train=TrainConfig(epochs=3, batch_size=64),
                   leaks=(0.0, 0.5), seeds=2)
TINY_ARGS = ["--n", "256", "--epochs", "3", "--batch-size", "64", "--leaks", "0,0.5",
             "--seeds", "2", "--workers", "2", "--quiet"]
# Generous bounds for a loaded 2-core machine: they only stop a broken test from hanging.
START_S, GONE_S = 180.0, 30.0

# (owner, phase, how it is killed). The runner gets every signal at every phase it runs;
# the command line gets every signal at submission, and one each at the later phases.
KILLS = ("kill-main", "kill-group", "term", "int")
CASES = ([("runner", p, k) for p in ("training", "analysis", "artefact", "status")
          for k in KILLS]
         + [("cli", "submission", k) for k in KILLS]
         + [("cli", p, k) for p, k in zip(("training", "analysis", "artefact", "status"),
                                          ("term", "kill-main", "int", "kill-group"),
                                          strict=True)]
         + [("cli", "training", "hup")]  # the terminal was closed
         # once the first of the two chunks is written, the other still training
         + [("cli", "chunk", "kill-group"), ("runner", "chunk", "term")])


@pytest.fixture(scope="module")
def earlier(tmp_path_factory) -> tuple[Path, str, bytes, bytes]:
    """A store holding one finished sweep, with its ``show`` text and ``export`` bytes."""
    home = tmp_path_factory.mktemp("faults_base") / "home"
    store = RunStore(home)
    sweep_id = submit_sweep(store, TINY, name="earlier")
    with ThreadPoolExecutor(1) as ex:
        run_sweep_job(store, sweep_id, executor=ex)
    store.close()
    return home, sweep_id, *_readback(home, sweep_id, home.parent / "base.npz")


def _readback(home: Path, sweep_id: str, out: Path) -> tuple[str, bytes]:
    """``show`` and ``export`` of the command line, run in this process (same code path)."""
    text = io.StringIO()
    old = os.environ.get("NEARID_HOME")
    os.environ["NEARID_HOME"] = str(home)
    try:
        with contextlib.redirect_stdout(text):
            assert cli_main(["show", sweep_id]) == 0
        out.unlink(missing_ok=True)
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli_main(["export", sweep_id, "--out", str(out)]) == 0
    finally:
        if old is None:
            os.environ.pop("NEARID_HOME")
        else:
            os.environ["NEARID_HOME"] = old
    return text.getvalue(), out.read_bytes()


def _start(owner: str, home: Path, phase: str, marker: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "NEARID_HOME": str(home), "OMP_NUM_THREADS": "1",
           "NEARID_FAULT_PHASE": phase, "NEARID_FAULT_MARKER": str(marker)}
    if owner == "runner":
        submit_sweep(RunStore(home), TINY, name="victim")
        args = ["runner"]
    else:
        args = ["sweep", "--name", "victim", *TINY_ARGS]
    with open(log, "wb") as fh:
        return subprocess.Popen([sys.executable, "-m", "nearid_core", *args], cwd=ROOT,
                                env=env, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def _wait_for_pause(proc: subprocess.Popen, marker: Path, log: Path) -> None:
    deadline = time.monotonic() + START_S
    while not marker.exists():
        assert proc.poll() is None, f"exited {proc.returncode} early:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"never reached the phase:\n{log.read_text()}"
        time.sleep(0.05)


def _kill(proc: subprocess.Popen, how: str) -> None:
    if how == "kill-group":
        os.killpg(proc.pid, signal.SIGKILL)  # the owner and everything it started
    else:
        sig = {"kill-main": signal.SIGKILL, "term": signal.SIGTERM, "int": signal.SIGINT,
               "hup": signal.SIGHUP}[how]
        os.kill(proc.pid, sig)  # the owner's pid only, as the OOM killer or `kill` does


@pytest.mark.parametrize(("owner", "phase", "how"), CASES,
                         ids=[f"{o}-{p}-{k}" for o, p, k in CASES])
def test_a_killed_owner_leaves_a_true_store(owner, phase, how, earlier, tmp_path):
    base, earlier_id, shown, exported = earlier
    home = tmp_path / "home"
    shutil.copytree(base, home)
    marker, log = tmp_path / "paused", tmp_path / "owner.log"

    proc = _start(owner, home, phase, marker, log)
    try:
        _wait_for_pause(proc, marker, log)
        family = descendants(proc.pid)
        if phase in ("training", "chunk", "analysis"):
            assert family, "the pool should be running at this phase"
        _kill(proc, how)
        code = proc.wait(timeout=GONE_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    caught = {"term": signal.SIGTERM, "int": signal.SIGINT, "hup": signal.SIGHUP}
    if how in caught:  # the owner records why it stopped, then exits
        assert code == 128 + caught[how], log.read_text()
        assert "Traceback" not in log.read_text()

    deadline = time.monotonic() + GONE_S
    while [p for p in family if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in family if alive(p)] == [], "processes outlived their owner"

    conn = sqlite3.connect(home / DB_NAME)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()

    store = RunStore(home)
    victims = [s for s in store.list_sweeps() if s["id"] != earlier_id]
    if phase == "submission":  # one transaction: all of the sweep or none of it
        assert victims == []
    else:
        (victim,) = victims
        assert victim["status"] == "interrupted", victim
        why = victim["reason"]
        want = caught[how].name if how in caught else "ended without finishing"
        assert want in why, why
        runs = store.list_runs(victim["id"])
        assert {r["status"] for r in runs} <= {"done", "interrupted"}
        if phase == "artefact":  # killed at the first write: before any run's results
            assert {r["status"] for r in runs} == {"interrupted"}
        if phase == "chunk":  # the chunk written before the kill is kept, the other is not
            assert [r["status"] for r in runs] in (["done"] * 2 + ["interrupted"] * 2,
                                                   ["interrupted"] * 2 + ["done"] * 2)
        # At "training", a chunk that ended before the kill was written as it ended
        # (streamed): its runs are done, with complete arrays (below); the rest interrupted.
        for r in runs:
            if r["status"] == "done":
                assert "heldout" in store.list_arrays(r["id"])
                store.load_arrays(r["id"], "heldout")  # complete, readable

    store.recover()
    assert not list(home.rglob(".tmp-*")), "a half-written file survived recover()"
    assert _readback(home, earlier_id, tmp_path / "again.npz") == (shown, exported)

    assert not runner_alive(store)  # no orphan holds the runner lock: the queue can move
    fresh = submit_sweep(store, TINY, name="after the kill")
    with ThreadPoolExecutor(1) as ex:
        assert run_sweep_job(store, fresh, executor=ex) is not None
    assert store.get_sweep(fresh)["status"] == "done"


PARENT = """
import sys, time
from nearid_core.config import DataConfig, SweepConfig, TrainConfig
from nearid_core.runs.jobs import ensure_runner, submit_sweep
from nearid_core.runs.store import RunStore
store = RunStore(sys.argv[1])
cfg = SweepConfig(data=DataConfig(n=256), train=TrainConfig(epochs=10000, batch_size=64),
                  leaks=(0.0,), seeds=2)
sid = submit_sweep(store, cfg)
assert ensure_runner(store)
print(sid, flush=True)
time.sleep(600)
"""


def test_the_apps_runner_dies_with_the_app(tmp_path):
    """The app starts the runner in a session of its own; when the app is killed (SIGKILL,
    nothing can be caught), the runner notices within seconds, records the sweep as
    interrupted and ends with its pool."""
    home = tmp_path / "home"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(home)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        sid = parent.stdout.readline().strip()
        store = RunStore(home)
        deadline = time.monotonic() + START_S
        while store.get_sweep(sid)["progress"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)  # training is under way in the runner's pool
        sweep = store.get_sweep(sid)
        assert sweep["status"] == "running", sweep
        runner = sweep["pid"]
        family = [runner, *descendants(runner)]
        assert len(family) >= 3  # the runner, its fork server and workers
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + GONE_S
    while [p for p in family if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in family if alive(p)] == []
    sweep = store.get_sweep(sid)
    assert sweep["status"] == "interrupted" and "SIGTERM" in sweep["reason"]


def test_a_full_disk_fails_the_sweep_with_its_reason(tmp_path):
    """On a disk too small for the artefacts the sweep ends ``failed`` with the reason;
    no half-written file is left and the store stays readable."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)],
                             capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("needs a small tmpfs mount (root with CAP_SYS_ADMIN)")
    try:
        store = RunStore(disk / "home")
        cfg = SweepConfig(data=DataConfig(n=2048), train=TrainConfig(epochs=1),
                          leaks=(0.0, 0.5), seeds=2)
        sid = submit_sweep(store, cfg)
        with ThreadPoolExecutor(1) as ex, pytest.raises(OSError, match="No space left"):
            run_sweep_job(store, sid, executor=ex)
        sweep = store.get_sweep(sid)
        assert sweep["status"] == "failed" and "No space left" in sweep["reason"]
        assert {r["status"] for r in store.list_runs(sid)} == {"failed"}
        assert not list((disk / "home").rglob(".tmp-*"))
        store.close()
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
