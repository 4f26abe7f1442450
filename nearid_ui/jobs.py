"""Starting background sweeps from the app: presets, submission, the runner.

``nearid_core.runs.jobs`` pulls in torch; it is imported on first use so the Home page stays
quick on a cold start.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from nearid_core.config import SweepConfig
from nearid_core.runs.store import RunStore
from nearid_core.studies.presets import PRESETS, WARMUP_NAMES

__all__ = ["PRESETS", "WARMUP_NAMES", "ensure_runner", "keep_warm", "runner_enabled", "start",
           "warmup"]


log = logging.getLogger("nearid.app")


def runner_enabled() -> bool:
    """False when ``NEARID_APP_RUNNER=0``: tests then run queued sweeps themselves."""
    return os.environ.get("NEARID_APP_RUNNER", "1") != "0"


_SPAWNED = {"at": -1e9}  # when this server last started a warm runner (monotonic seconds)
_SPAWNING = threading.Lock()
RESPAWN_S = 30.0  # a runner takes seconds to hold its lock: no second start meanwhile


def keep_warm(store: RunStore) -> bool:
    """Start the store's warm runner (pool started, torch imported, waiting for work) unless
    one is running or this server started one less than ``RESPAWN_S`` ago; True when one
    was started. Nothing when ``NEARID_APP_RUNNER=0``; with ``NEARID_RUNNER_STAY_S=0``,
    only an on-demand runner for sweeps already queued (``ensure_runner``).

    The runner leaves after ``NEARID_RUNNER_STAY_S`` seconds (default 900) without work,
    and with the server; the next page load starts it again.
    """
    if not runner_enabled() or store.readonly:
        return False
    from nearid_core.runs.runner import RUNNER_STAY_S, start_warm_runner

    raw = os.environ.get("NEARID_RUNNER_STAY_S", "")
    try:
        stay = float(raw) if raw else RUNNER_STAY_S
    except ValueError:
        log.warning("NEARID_RUNNER_STAY_S=%r is not a number of seconds: using %g", raw,
                    RUNNER_STAY_S)
        stay = RUNNER_STAY_S
    if not stay > 0:
        return ensure_runner(store)
    with _SPAWNING:
        if time.monotonic() - _SPAWNED["at"] < RESPAWN_S:
            return False
        started = start_warm_runner(store, stay)
        if started:
            _SPAWNED["at"] = time.monotonic()
    return started


def ensure_runner(store: RunStore) -> bool:
    """Start the store's background runner if sweeps are queued and none runs."""
    from nearid_core.runs.runner import ensure_runner as ensure

    return ensure(store)


def start(store: RunStore, cfg: SweepConfig, *, name: str = "") -> str:
    """Queue a sweep and make sure a background runner will train it; return its id.

    A warm runner this server started less than ``RESPAWN_S`` ago is left to take it: it
    may still be importing, before it holds the store's lock, and an on-demand runner
    started now would take the lock first, send the warm one away, and leave the store
    without a warm runner once the queue is empty (seen on a fresh store, where the
    Playground queues its grid on the page load that starts the warm runner). It is woken
    all the same: once listening it takes the sweep at once, instead of at its next look
    at the queue (up to ``WAKE_POLL_S``, 2 s, later); before that, its first look finds it.
    If that warm runner fails to start, the page's live progress offers to restart one.
    """
    from nearid_core.runs.jobs import submit_sweep
    from nearid_core.runs.runner import wake_runner

    sweep_id = submit_sweep(store, cfg, name=name)
    if runner_enabled():
        if warm_runner_starting():
            wake_runner(store)
        else:
            ensure_runner(store)
    return sweep_id


def warm_runner_starting() -> bool:
    """Whether this server started a warm runner less than ``RESPAWN_S`` ago."""
    with _SPAWNING:
        return time.monotonic() - _SPAWNED["at"] < RESPAWN_S


def warmup(store: RunStore, preset: str = "paper") -> str:
    """Queue the paper's warm-up sweep (or its tiny preset)."""
    return start(store, PRESETS[preset], name=WARMUP_NAMES[preset])
