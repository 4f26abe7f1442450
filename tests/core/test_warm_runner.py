"""The app's warm runner: started with the server, woken by a submission, gone with it.

Real processes: the runner is ``python -m nearid_core runner --stay S`` started by a parent
process exactly as the app starts it (``runs.runner.start_warm_runner``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from nearid_core.config import DataConfig, SweepConfig, TrainConfig
from nearid_core.runs.jobs import TIMELINE, runner_loop, submit_sweep
from nearid_core.runs.runner import (
    ensure_runner,
    runner_alive,
    wait_for_wake,
    wake_runner,
    wake_socket,
)
from nearid_core.runs.store import RunStore

sys.path.insert(0, str(Path(__file__).parent))
from procs import alive, descendants  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = SweepConfig(data=DataConfig(n=256), train=TrainConfig(epochs=2, batch_size=64),
                   leaks=(0.0, 0.5), seeds=2)
WAIT_S = 240.0  # generous: only reached when something is broken
PARENT = """
import sys, time
from nearid_core.runs.runner import start_warm_runner
from nearid_core.runs.store import RunStore
assert start_warm_runner(RunStore(sys.argv[1]), 600)
print("started", flush=True)
time.sleep(900)
"""


def _until(predicate, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting: {what}")


def _warm_pid(home: Path) -> int | None:
    log = home / "runner.log"
    found = re.search(r"runner: warm \(pid (\d+)\)", log.read_text()) if log.is_file() else None
    return int(found.group(1)) if found else None


def _finished(store: RunStore, sweep_id: str) -> dict | None:
    row = store.get_sweep(sweep_id)
    return row if row["status"] not in ("queued", "running") else None


def test_the_warm_runner_takes_submissions_and_dies_with_its_parent(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    store = RunStore(home)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(home)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert parent.stdout.readline().strip() == "started"
        runner = _until(lambda: _warm_pid(home), "the runner reports its pool warm")
        family = [runner, *descendants(runner)]
        assert len(family) >= 3  # the runner, its fork server and the warmed workers
        for _ in range(2):  # two sweeps, one after another, by the same waiting process
            sweep_id = submit_sweep(store, TINY)
            assert not ensure_runner(store)  # it is alive: woken, not started again
            row = _until(lambda sid=sweep_id: _finished(store, sid), "the sweep finishes")
            assert row["status"] == "done" and row["pid"] == runner
            marks = row["timings"]["marks"]
            assert set(marks) == set(TIMELINE)
            times = [row["created_at"], *(marks[k] for k in TIMELINE)]
            assert times == sorted(times)  # the timeline is in the order it names
        assert runner_alive(store) and alive(runner)  # still waiting for more
        assert (home / "runner.log").read_text().count("runner: warm") == 1
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()
    _until(lambda: not [p for p in family if alive(p)], "the runner and its pool end")
    assert not runner_alive(store)


def test_an_idle_warm_runner_leaves_after_its_stay(tmp_path):
    store = RunStore(tmp_path)
    ready: list[int] = []
    before = set(descendants(os.getpid()))
    assert runner_loop(store, workers=1, stay_s=0.2, on_ready=lambda: ready.append(1)) == 0
    assert ready == [1] and not runner_alive(store)
    _until(lambda: not [p for p in set(descendants(os.getpid())) - before
                        if alive(p) and not _is_fork_server(p)], "the pool's workers end")


def _is_fork_server(pid: int) -> bool:
    """multiprocessing's fork server and resource tracker: one each per process, kept for
    later pools (they end with their parent), unlike the pool's workers."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        return b"multiprocessing.forkserver" in cmd or b"multiprocessing.resource_tracker" in cmd
    except OSError:
        return False


def test_a_wake_up_ends_the_wait_and_nobody_listening_is_no_error(tmp_path):
    store = RunStore(tmp_path)
    assert not wake_runner(store)  # no runner listens: False, no exception
    woke = threading.Event()
    with wake_socket(store.home) as sock:
        assert sock is not None  # Linux: the abstract socket binds

        def wait() -> None:
            wait_for_wake(sock, WAIT_S)
            woke.set()

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        assert wake_runner(store) and wake_runner(store)  # two wake-ups: one wait ends
        assert woke.wait(WAIT_S)
        waiter.join(WAIT_S)
        wait_for_wake(sock, 0.01)  # nothing left pending: returns after its timeout
    assert not wake_runner(store)  # the socket is gone with its owner


def test_the_change_token_moves_with_every_commit_from_any_process(tmp_path):
    store = RunStore(tmp_path)
    token = store.change_token()
    assert store.change_token() == token  # reading changes nothing
    subprocess.run([sys.executable, "-c", "import sys; from nearid_core.runs.store import "
                    "RunStore; RunStore(sys.argv[1]).create_sweep({}, name='x')",
                    str(tmp_path)], cwd=ROOT, check=True)
    assert store.change_token() != token
