"""The background runner as a process: its lock, its wake-up socket, and starting it.

Kept apart from ``jobs`` (which runs the sweeps and imports torch) so that the app can
check, start and wake the runner without importing torch.

At most one runner per store holds ``runner.lock`` (a file lock, released when its process
dies). A warm runner also listens on a per-store abstract Unix datagram socket
(``wake_address``): a submitter sends one datagram after queuing a sweep, so the runner
takes it at once instead of at its next look at the queue.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from nearid_core.runs.store import RunStore

__all__ = ["RUNNER_STAY_S", "WAKE_POLL_S", "ensure_runner", "queued", "runner_alive",
           "start_warm_runner", "take_lock", "wait_for_wake", "wake_address", "wake_runner",
           "wake_socket"]

WAKE_POLL_S = 2.0  # a warm runner also looks at the queue this often
RUNNER_STAY_S = 900.0  # a warm runner started by the app waits this long for work


def take_lock(home: Path):
    """Hold the store's runner lock (a file lock, released if the process dies)."""
    fh = open(home / "runner.lock", "a+")  # noqa: SIM115 - kept open while held
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def wake_address(home: Path) -> str:
    """The store's wake-up socket: a Linux abstract name (no file; gone with its owner)."""
    digest = hashlib.sha1(str(Path(home).resolve()).encode()).hexdigest()[:24]
    return f"\0nearid-runner-{digest}"


@contextmanager
def wake_socket(home: Path):
    """The warm runner's end of the wake-up socket, bound while inside; None where it
    cannot be bound (then the runner only looks at the queue every ``WAKE_POLL_S``)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(wake_address(home))
    except OSError:  # no abstract sockets here (not Linux), or taken: poll the queue instead
        sock.close()
        sock = None
    try:
        yield sock
    finally:
        if sock is not None:
            sock.close()


def wait_for_wake(sock: socket.socket | None, timeout: float) -> None:
    """Return on a wake-up (all pending ones read) or after ``timeout`` seconds."""
    if sock is None:
        time.sleep(timeout)
        return
    sock.settimeout(timeout)
    try:
        while sock.recv(64):  # drain every wake-up that arrived; one look at the queue
            sock.settimeout(0.0)
    except (TimeoutError, BlockingIOError, InterruptedError):
        pass


def wake_runner(store: RunStore) -> bool:
    """Tell a warm runner of this store to look at the queue now; False when none listens."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"wake", wake_address(store.home))
        return True
    except OSError:
        return False


def queued(store: RunStore) -> bool:
    """Whether any sweep or study of the store waits in the queue."""
    return any(s["status"] == "queued" for s in store.list_sweeps(kind=None))


def runner_alive(store: RunStore) -> bool:
    """Whether a runner holds this store's lock (its lock dies with its process)."""
    lock = take_lock(store.home)
    if lock is None:
        return True
    lock.close()
    return False


def ensure_runner(store: RunStore) -> bool:
    """Start a background runner for this store unless one is running or nothing is queued.

    Returns True when a runner was started. The runner logs to ``runner.log`` in the store,
    stops when the queue is empty, and stops (marking its sweep interrupted) when the
    process that started it ends: nothing nearid starts outlives its parent.
    """
    if store.readonly or not queued(store):
        return False
    if runner_alive(store):
        wake_runner(store)  # a warm runner takes it at once; a busy one after its sweep
        return False
    _spawn_runner(store)
    return True


def start_warm_runner(store: RunStore, stay_s: float = RUNNER_STAY_S) -> bool:
    """Start a warm runner for this store (see ``runner_loop``) unless one is running.

    Returns True when one was started. Like ``ensure_runner``'s, it ends with the process
    that started it.
    """
    if store.readonly or runner_alive(store):
        return False
    _spawn_runner(store, "--stay", f"{stay_s:g}")
    return True


def _spawn_runner(store: RunStore, *args: str) -> None:
    env = dict(os.environ, NEARID_HOME=str(store.home), OMP_NUM_THREADS="1",
               NEARID_RUNNER_PARENT=str(os.getpid()))
    with open(store.home / "runner.log", "ab") as log:
        subprocess.Popen([sys.executable, "-m", "nearid_core", "runner", *args], env=env,
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         start_new_session=True,
                         cwd=Path(__file__).resolve().parents[2])  # the repository
