"""Pools started from short-lived threads (Streamlit script runs) keep their workers while
the owner lives and lose them when it dies, however it dies (real processes, SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

OWNER = """
import multiprocessing as mp, os, sys, threading, time
from nearid_core.engine.executors import OwnedPool

def start(box):  # a thread that ends at once, as a script run does
    box.append(OwnedPool(2, mp.get_context("spawn")))
    box.append([f.result() for f in [box[0].submit(os.getpid) for _ in range(8)]])

if __name__ == "__main__":
    box = []
    t = threading.Thread(target=start, args=(box,)); t.start(); t.join()
    time.sleep(1.0)  # the starting thread is gone; the workers must still be there
    pids = sorted(set(box[1]) | {p.pid for p in box[0]._processes.values()})
    print(" ".join(map(str, pids)), flush=True)
    print(box[0].submit(os.getpid).result(timeout=60), flush=True)  # still serving
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has ended; only its parent's wait is missing
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_workers_outlive_their_starting_thread_and_die_with_the_owner(tmp_path):
    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    owner = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                             text=True)
    try:
        workers = [int(p) for p in owner.stdout.readline().split()]
        assert workers and owner.stdout.readline().strip().isdigit()
        assert all(_alive(p) for p in workers)
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=30)
        deadline = time.monotonic() + 30  # the lifeline closes at once; allow a busy machine
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p for p in workers if _alive(p)] == [], "workers outlived their owner"
    finally:
        owner.kill()


def test_pool_workers_never_run_the_parents_main_script(tmp_path, monkeypatch):
    """Under Streamlit (and AppTest) ``__main__`` is a page script; a worker that ran it
    again as ``__mp_main__`` would open the store, start runners, or fail. Both pool kinds
    start their workers with a plain ``__main__``: this script would raise if run."""
    import types

    from nearid_core.engine.executors import OwnedPool, process_pool, spawn_context

    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('the page script ran in a worker')\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    with process_pool(1) as pool:
        assert pool.submit(abs, -3).result(timeout=120) == 3
    with OwnedPool(1, spawn_context()) as pool:
        assert pool.submit(abs, -4).result(timeout=120) == 4
    assert sys.modules["__main__"] is page  # restored after each start


TERMINATED = """
import time
from nearid_core.engine.executors import process_pool

if __name__ == "__main__":
    pool = process_pool(2)
    futures = [pool.submit(time.sleep, 60) for _ in range(2)]
    while not all(f.running() for f in futures):
        time.sleep(0.01)
    manager = pool._executor_manager_thread
    pool.terminate()
    print(manager.is_alive(), flush=True)
"""


def test_a_terminated_pool_leaves_nothing_for_the_exit_hook(tmp_path):
    """terminate() joins the pool's manager thread: left running, it closes its wake-up pipe
    while Python's exit hook writes to it ("OSError: Bad file descriptor" at exit)."""
    script = tmp_path / "terminated.py"
    script.write_text(TERMINATED)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"  # the manager thread had ended
    assert "Traceback" not in done.stderr
