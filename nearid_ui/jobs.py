"""Starting background sweeps from the app: presets, submission, the runner.

``nearid_core.runs.jobs`` pulls in torch; it is imported on first use so the Home page stays
quick on a cold start.
"""

from __future__ import annotations

import os

from nearid_core.config import SweepConfig
from nearid_core.runs.store import RunStore
from nearid_core.studies.presets import PRESETS, WARMUP_NAMES

__all__ = ["PRESETS", "WARMUP_NAMES", "ensure_runner", "runner_enabled", "start", "warmup"]


def runner_enabled() -> bool:
    """False when ``NEARID_APP_RUNNER=0``: tests then run queued sweeps themselves."""
    return os.environ.get("NEARID_APP_RUNNER", "1") != "0"


def ensure_runner(store: RunStore) -> bool:
    """Start the store's background runner if sweeps are queued and none runs."""
    from nearid_core.runs.jobs import ensure_runner as ensure

    return ensure(store)


def start(store: RunStore, cfg: SweepConfig, *, name: str = "") -> str:
    """Queue a sweep and make sure a background runner will train it; return its id."""
    from nearid_core.runs.jobs import submit_sweep

    sweep_id = submit_sweep(store, cfg, name=name)
    if runner_enabled():
        ensure_runner(store)
    return sweep_id


def warmup(store: RunStore, preset: str = "paper") -> str:
    """Queue the paper's warm-up sweep (or its tiny preset)."""
    return start(store, PRESETS[preset], name=WARMUP_NAMES[preset])
