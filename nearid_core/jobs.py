"""Sweeps as jobs of the run store: submit, run (train -> save -> analyse -> save), cancel.

A job writes everything to the store as it goes, so any reader (the app, the command line)
can follow it, and whatever finished is kept if the process dies. Background jobs run in a
detached runner process (``python -m nearid_core runner``) that takes queued sweeps one by
one; at most one runner per store, so two users training at once queue rather than fight
over the two cores.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from .analysis import SweepAnalysis, analyse_sweep
from .config import SweepConfig, sweep_from_dict, to_dict
from .executors import executor_or_default
from .lipschitz import generator_bilipschitz
from .store import RunStore
from .sweep import ModelOutcome, Progress, dataset_for, leak_table, train_sweep
from .training import DONE

PROGRESS_WRITE_S = 0.5  # at most two progress writes a second


def submit_sweep(store: RunStore, cfg: SweepConfig, *, name: str = "") -> str:
    """Record a queued sweep and its runs; return the sweep id."""
    sweep_id = store.create_sweep(to_dict(cfg), name=name)
    for index, (leak, seed) in enumerate(cfg.grid()):
        store.add_run(sweep_id, index=index, leak=leak, seed=seed,
                      config={"leak": leak, "seed": seed})
    return sweep_id


class _ProgressWriter:
    """Training progress into the store (throttled) and on to an optional callback."""

    def __init__(self, store: RunStore, sweep_id: str, run_ids: list[str],
                 echo: Callable[[Progress], None] | None) -> None:
        self.store, self.sweep_id, self.run_ids, self.echo = store, sweep_id, run_ids, echo
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        if self.echo is not None:
            self.echo(p)
        now = time.monotonic()
        if now - self.last >= PROGRESS_WRITE_S and p.losses:
            self.last = now
            losses = {self.run_ids[i]: v for i, v in p.losses.items()}
            self.store.set_runs_progress(self.sweep_id, 0.9 * p.fraction, losses,
                                         message=p.message)

    def cancelled(self) -> bool:
        return self.store.get_sweep(self.sweep_id)["status"] == "cancelled"


def run_sweep_job(store: RunStore, sweep_id: str, *, executor: Executor | None = None,
                  on_progress: Callable[[Progress], None] | None = None,
                  workers: int | None = None) -> SweepAnalysis | None:
    """Train, measure, save and analyse one stored sweep.

    Returns the analysis, or None when the sweep was cancelled. On an error the sweep is
    marked failed with the reason (and the error re-raised); finished runs stay saved.
    """
    sweep = store.get_sweep(sweep_id)
    cfg = sweep_from_dict(sweep["config"])
    run_ids = [r["id"] for r in store.list_runs(sweep_id)]
    if store.get_sweep(sweep_id)["status"] == "cancelled":
        return None
    store.set_sweep_status(sweep_id, "running", progress=0.0, message="starting")
    for rid in run_ids:
        store.set_run_status(rid, "running")
    writer = _ProgressWriter(store, sweep_id, run_ids, on_progress)
    try:
        with executor_or_default(executor, workers) as ex:
            t0 = time.perf_counter()
            outcomes = train_sweep(cfg, executor=ex, on_progress=writer,
                                   should_stop=writer.cancelled)
            train_s = time.perf_counter() - t0
            _save_outcomes(store, sweep_id, cfg, run_ids, outcomes)
            if writer.cancelled():
                return None
            store.set_sweep_status(sweep_id, "running", progress=0.9, message="analysing")
            t0 = time.perf_counter()
            analysis = _analyse(store, sweep_id, cfg, run_ids, outcomes, ex)
            timings = {"train_s": train_s, "analysis_s": time.perf_counter() - t0}
    except BaseException as err:
        reason = ("interrupted" if isinstance(err, KeyboardInterrupt)
                  else f"{type(err).__name__}: {err}")
        store.set_sweep_status(sweep_id, "failed", reason=reason)
        raise
    if not writer.cancelled():
        store.set_sweep_status(sweep_id, "done", message="done", timings=timings)
    return analysis


def _save_outcomes(store: RunStore, sweep_id: str, cfg: SweepConfig, run_ids: list[str],
                   outcomes: list[ModelOutcome]) -> None:
    ds = dataset_for(cfg)
    store.save_sweep_arrays(sweep_id, "data", {"u_test": ds.u_test, "x_test": ds.x_test,
                                               "test_idx": ds.test_idx})
    for o in outcomes:
        rid = run_ids[o.index]
        store.save_arrays(rid, "heldout", {
            "latents": o.latents, "b": o.b, "distortion": o.distortion,
            "singular_values": o.singular_values, "loss_history": o.loss_history})
        store.save_state_dict(rid, o.state)
        metrics = {"recon_mse": o.recon_mse, **o.lipschitz}
        store.set_run_result(rid, metrics=metrics, timings={"train_s": o.seconds},
                             status=o.status, reason=o.reason or None)


def _analyse(store: RunStore, sweep_id: str, cfg: SweepConfig, run_ids: list[str],
             outcomes: list[ModelOutcome], ex: Executor) -> SweepAnalysis:
    ds = dataset_for(cfg)
    u = ds.u_test
    done = [(o.index, o.leak, o.latents) for o in outcomes if o.status == DONE]
    analysis = analyse_sweep(leak_table(cfg, outcomes), done, u, executor=ex, seed=cfg.seed)
    for o in outcomes:
        if o.index in analysis.per_model:
            rid = run_ids[o.index]
            store.save_arrays(rid, "ica", analysis.ica[o.index])
            metrics = {"recon_mse": o.recon_mse, **o.lipschitz, **analysis.per_model[o.index]}
            store.set_run_result(rid, metrics=metrics, timings={"train_s": o.seconds})
    doc = analysis.to_json()
    # The ground truth's own B: 1 for an isometric generator (rolled, linear).
    doc["generator"] = generator_bilipschitz(ds.generator, u[:2000]).summary(0)
    store.set_sweep_analysis(sweep_id, doc)
    return analysis


# ------------------------------------------------------------------ background runner

def _lock(home: Path):
    """Hold the store's runner lock (a file lock, released if the process dies)."""
    fh = open(home / "runner.lock", "a+")  # noqa: SIM115 - kept open while held
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def runner_loop(store: RunStore, *, workers: int | None = None) -> int:
    """Run queued sweeps one after another until none is left; return how many ran.

    Exits at once when another runner holds the store's lock.
    """
    lock, ran = _lock(store.home), 0
    if lock is None:
        return 0
    with executor_or_default(None, workers) as ex:
        while True:
            sweep_id = store.claim_queued_sweep()
            if sweep_id is None:
                break
            try:
                run_sweep_job(store, sweep_id, executor=ex)
            except Exception:  # recorded on the sweep as failed; go on with the queue
                pass
            ran += 1
    lock.close()
    return ran


def runner_alive(store: RunStore) -> bool:
    lock = _lock(store.home)
    if lock is None:
        return True
    lock.close()
    return False


def ensure_runner(store: RunStore) -> bool:
    """Start a detached background runner for this store unless one is running.

    Returns True when a runner was started. The runner survives the caller (its own
    session), logs to ``runner.log`` in the store, and stops when the queue is empty.
    """
    queued = any(s["status"] == "queued" for s in store.list_sweeps())
    if not queued or runner_alive(store):
        return False
    env = dict(os.environ, NEARID_HOME=str(store.home), OMP_NUM_THREADS="1")
    with open(store.home / "runner.log", "ab") as log:
        subprocess.Popen([sys.executable, "-m", "nearid_core", "runner"], env=env,
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         start_new_session=True, cwd=Path(__file__).resolve().parent.parent)
    return True

