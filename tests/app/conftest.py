"""Stores for the app tests: empty, and one prepared with tiny sweeps trained in-process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from nearid_core.config import DataConfig, SweepConfig, TrainConfig
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import RunStore

# Smallest grid that still has seed pairs: trains and analyses in ~2 s on one thread.
TINY = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=2, batch_size=128),
                   leaks=(0.0, 0.5), seeds=2)
FAILED_REASON = "training loss became nan at step 3 (epoch 1)"


@dataclass
class Prepared:
    home: Path
    tiny: str  # a done sweep (2 leaks x 2 seeds)
    single_seed: str  # a done sweep with one seed per leak
    with_failure: str  # a done sweep whose model #1 is marked failed
    failed_reason: str = FAILED_REASON


def _train(store: RunStore, cfg: SweepConfig, name: str) -> str:
    sid = submit_sweep(store, cfg, name=name)
    run_sweep_job(store, sid, executor=ThreadPoolExecutor(1))
    return sid


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> Prepared:
    home = tmp_path_factory.mktemp("nearid_prepared")
    store = RunStore(home)
    single = _train(store, SweepConfig(data=TINY.data, train=TINY.train, leaks=(0.0, 0.5),
                                       seeds=1), "single seed")
    failing = _train(store, TINY, "with a failure")
    run = store.list_runs(failing)[1]
    store.set_run_status(run["id"], "failed", reason=FAILED_REASON)
    tiny = _train(store, TINY, "tiny")  # newest done sweep: the pages' default
    return Prepared(home, tiny, single, failing)


@pytest.fixture
def use_home(monkeypatch):
    """Point the app at a store and keep it from spawning a background runner."""
    def use(home: Path) -> RunStore:
        monkeypatch.setenv("NEARID_HOME", str(home))
        monkeypatch.setenv("NEARID_APP_RUNNER", "0")
        return RunStore(home)
    return use
