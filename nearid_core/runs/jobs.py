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
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path

from nearid_core.config import SweepConfig, sweep_from_dict, to_dict
from nearid_core.engine import faults
from nearid_core.engine.executors import executor_or_default
from nearid_core.engine.lifecycle import Interrupted, reason_of
from nearid_core.runs.store import RunStore
from nearid_core.science.lipschitz import generator_bilipschitz
from nearid_core.science.training import DONE
from nearid_core.studies.analysis import SweepAnalysis, analyse_sweep
from nearid_core.studies.sweep import ModelOutcome, Progress, dataset_for, leak_table, train_sweep

PROGRESS_WRITE_S = 0.5  # at most two progress writes a second


def submit_sweep(store: RunStore, cfg: SweepConfig, *, name: str = "", claim: bool = False,
                 workers: int | None = None, max_memory: int | None = None,
                 max_models: int | None = None) -> str:
    """Check the sweep against the resource budget, then record it and its runs in one
    transaction; return the sweep id.

    ``claim=True``: the sweep starts ``running``, owned by this process, which must then
    call ``run_sweep_job`` (the command line); otherwise it is ``queued`` for a runner.
    Raises ``budget.BudgetError`` (a ValueError, one line) before anything is written.
    """
    from nearid_core.engine.budget import check_budget

    check_budget(cfg, workers=workers, max_memory=max_memory, max_models=max_models)
    runs = [{"index": i, "leak": leak, "seed": seed, "config": {"leak": leak, "seed": seed}}
            for i, (leak, seed) in enumerate(cfg.grid())]
    return store.create_sweep(to_dict(cfg), name=name, runs=runs, claim=claim)


class _ProgressWriter:
    """Training progress into the store (throttled) and on to an optional callback; also
    the owner's check whether it should stop (cancelled, or taken from it)."""

    def __init__(self, store: RunStore, sweep_id: str, run_ids: list[str],
                 echo: Callable[[Progress], None] | None) -> None:
        self.store, self.sweep_id, self.run_ids, self.echo = store, sweep_id, run_ids, echo
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        if self.echo is not None:
            self.echo(p)
        if p.fraction > 0:
            faults.checkpoint("training")
        now = time.monotonic()
        if now - self.last >= PROGRESS_WRITE_S and p.losses:
            self.last = now
            losses = {self.run_ids[i]: v for i, v in p.losses.items()}
            self.store.set_runs_progress(self.sweep_id, 0.9 * p.fraction, losses,
                                         message=p.message)

    def cancelled(self) -> bool:
        return self.store.get_sweep(self.sweep_id)["status"] != "running"


def run_sweep_job(store: RunStore, sweep_id: str, *, executor: Executor | None = None,
                  on_progress: Callable[[Progress], None] | None = None,
                  workers: int | None = None) -> SweepAnalysis | None:
    """Train, measure, save and analyse one stored sweep, as its owner.

    Returns the analysis, or None when the sweep was cancelled (or was not this process's
    to run). Whatever finished stays saved. On an error the sweep and its unfinished runs
    are marked ``failed`` with the reason; on SIGINT/SIGTERM (KeyboardInterrupt,
    ``lifecycle.Interrupted``) ``interrupted``; the exception is re-raised. While it runs,
    a heartbeat thread proves the owner alive (see ``RunStore.heartbeat``).
    """
    if not store.start_sweep(sweep_id):
        return None
    cfg = sweep_from_dict(store.get_sweep(sweep_id)["config"])
    run_ids = [r["id"] for r in store.list_runs(sweep_id)]
    writer = _ProgressWriter(store, sweep_id, run_ids, on_progress)
    try:
        with store.heartbeat(sweep_id), executor_or_default(executor, workers) as ex:
            analysis, timings = _train_and_analyse(store, sweep_id, cfg, run_ids, writer, ex)
        if analysis is None:
            return None
        faults.checkpoint("status")
        done = store.finish_sweep(sweep_id, "done", message="done", timings=timings)
    except (KeyboardInterrupt, Interrupted) as err:
        store.finish_sweep(sweep_id, "interrupted", reason=reason_of(err))
        raise
    except BaseException as err:
        store.finish_sweep(sweep_id, "failed", reason=f"{type(err).__name__}: {err}")
        raise
    return analysis if done else None


def _train_and_analyse(store, sweep_id, cfg, run_ids, writer, ex):
    t0 = time.perf_counter()
    outcomes = train_sweep(cfg, executor=ex, on_progress=writer, should_stop=writer.cancelled)
    train_s = time.perf_counter() - t0
    _save_outcomes(store, sweep_id, cfg, run_ids, outcomes)
    if writer.cancelled():
        return None, {}
    store.set_runs_progress(sweep_id, 0.9, {}, message="analysing")
    faults.checkpoint("analysis")
    t0 = time.perf_counter()
    analysis = _analyse(store, sweep_id, cfg, run_ids, outcomes, ex)
    return analysis, {"train_s": train_s, "analysis_s": time.perf_counter() - t0}


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
    lipschitz = {o.index: o.lipschitz for o in outcomes if o.status == DONE}
    analysis = analyse_sweep(leak_table(cfg, outcomes), done, u, executor=ex, seed=cfg.seed,
                             lipschitz=lipschitz)
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

    Exits at once when another runner holds the store's lock. Never leaves a job behind:
    after releasing the lock it looks at the queue once more and carries on if a sweep
    arrived meanwhile (a submitter that saw the lock held started no runner). When
    ``NEARID_RUNNER_PARENT`` names a pid (``ensure_runner`` sets it), the runner stops,
    as on SIGTERM, once that parent has ended.
    """
    ran = 0
    with _watch_parent(os.environ.get("NEARID_RUNNER_PARENT")):
        while (lock := _lock(store.home)) is not None:
            try:
                ran += _drain_queue(store, workers)
            finally:
                lock.close()
            if not _queued(store):
                break
    return ran


def _drain_queue(store: RunStore, workers: int | None) -> int:
    ran = 0
    with executor_or_default(None, workers) as ex:
        while (sweep_id := store.claim_queued_sweep()) is not None:
            try:
                run_sweep_job(store, sweep_id, executor=ex)
            except Exception:  # recorded on the sweep as failed; go on with the queue
                pass
            ran += 1
    return ran


def _queued(store: RunStore) -> bool:
    return any(s["status"] == "queued" for s in store.list_sweeps())


@contextmanager
def _watch_parent(parent: str | None, every_s: float = 1.0):
    """Send this process SIGTERM when ``parent`` (a pid) is no longer its parent."""
    if not parent or not parent.isdigit():
        yield
        return
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(every_s):
            if os.getppid() != int(parent):
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="nearid-parent-watch", daemon=True).start()
    try:
        yield
    finally:
        stop.set()


def runner_alive(store: RunStore) -> bool:
    """Whether a runner holds this store's lock (its lock dies with its process)."""
    lock = _lock(store.home)
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
    if store.readonly or not _queued(store) or runner_alive(store):
        return False
    env = dict(os.environ, NEARID_HOME=str(store.home), OMP_NUM_THREADS="1",
               NEARID_RUNNER_PARENT=str(os.getpid()))
    with open(store.home / "runner.log", "ab") as log:
        subprocess.Popen([sys.executable, "-m", "nearid_core", "runner"], env=env,
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         start_new_session=True, cwd=Path(__file__).resolve().parent.parent)
    return True
