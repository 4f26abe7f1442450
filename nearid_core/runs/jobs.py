"""Sweeps as jobs of the run store: submit, run (train -> save -> analyse -> save), cancel.

A job writes everything to the store as it goes, so any reader (the app, the command line)
can follow it, and whatever finished is kept if the process dies. Background jobs run in a
detached runner process (``python -m nearid_core runner``) that takes queued sweeps one by
one; at most one runner per store, so two users training at once queue rather than fight
over the two cores.

A *warm* runner (``runner_loop(..., stay_s=...)``, which the app starts with its server)
keeps its worker pool started, with torch and scikit-learn imported, and waits for work:
a submitter wakes it at once with a datagram on a per-store abstract socket
(``wake_runner``), and it also looks at the queue every ``WAKE_POLL_S`` for sweeps queued
by processes that do not wake it. It leaves after ``stay_s`` without work.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from contextlib import contextmanager

from nearid_core.config import SweepConfig, sweep_from_dict, to_dict
from nearid_core.engine import faults
from nearid_core.engine.dask_engine import scheduler_address
from nearid_core.engine.executors import executor_or_default
from nearid_core.runs.runner import (  # noqa: F401 - ensure_runner, runner_alive: kept here
    WAKE_POLL_S,
    ensure_runner,
    queued,
    runner_alive,
    take_lock,
    wait_for_wake,
    wake_socket,
)
from nearid_core.runs.store import TRAINED_PROGRESS, RunStore
from nearid_core.science.training import DONE
from nearid_core.studies.analysis import SweepAnalysis, analyse_model, analyse_sweep
from nearid_core.studies.sweep import (
    ModelOutcome,
    Progress,
    dataset_for,
    generator_summary,
    leak_table,
    train_sweep,
)

PROGRESS_WRITE_S = 0.5  # at most two progress writes a second


def submit_sweep(store: RunStore, cfg: SweepConfig, *, name: str = "", claim: bool = False,
                 workers: int | None = None, max_memory: int | None = None,
                 max_models: int | None = None, cluster: int | None = None) -> str:
    """Check the sweep against the resource budget, then record it and its runs in one
    transaction; return the sweep id.

    ``claim=True``: the sweep starts ``running``, owned by this process, which must then
    call ``run_sweep_job`` (the command line); otherwise it is ``queued`` for a runner.
    ``cluster``: the worker threads of the Dask cluster it will run on (see
    ``budget.estimate``); queued while ``$NEARID_SCHEDULER`` is set, a cluster of unknown
    size. Raises ``budget.BudgetError`` (a ValueError, one line) before anything is written.
    """
    from nearid_core.engine.budget import check_budget

    if cluster is None and not claim and scheduler_address() is not None:
        cluster = 0  # the runner will send it to $NEARID_SCHEDULER's cluster
    check_budget(cfg, workers=workers, max_memory=max_memory, max_models=max_models,
                 cluster=cluster)
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
        self.first_step: float | None = None  # epoch seconds of the first training report

    def __call__(self, p: Progress) -> None:
        if self.echo is not None:
            self.echo(p)
        if p.fraction > 0:
            if self.first_step is None:
                self.first_step = time.time()
            faults.checkpoint("training")
        now = time.monotonic()
        if now - self.last >= PROGRESS_WRITE_S and p.losses:
            self.last = now
            losses = {self.run_ids[i]: v for i, v in p.losses.items()}
            self.store.set_runs_progress(self.sweep_id, TRAINED_PROGRESS * p.fraction, losses,
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
    if store.get_sweep(sweep_id)["kind"] != "sweep":  # a study: one row, no runs
        from nearid_core.runs.study_jobs import run_study_job

        run_study_job(store, sweep_id, executor=executor, workers=workers)
        return None
    if not store.start_sweep(sweep_id):
        return None
    cfg = sweep_from_dict(store.get_sweep(sweep_id)["config"])
    run_ids = [r["id"] for r in store.list_runs(sweep_id)]
    writer = _ProgressWriter(store, sweep_id, run_ids, on_progress)
    with store.owned(sweep_id):
        with executor_or_default(executor, workers) as ex:
            analysis, timings = _train_and_analyse(store, sweep_id, cfg, run_ids, writer, ex)
        if analysis is None:
            return None
        faults.checkpoint("status")
        done = store.finish_sweep(sweep_id, "done", message="done", timings=timings)
    return analysis if done else None


def _train_and_analyse(store, sweep_id, cfg, run_ids, writer, ex):
    marks = {"started": time.time()}  # the timeline, in epoch seconds (see TIMELINE)
    t0 = time.perf_counter()
    saver = _ChunkSaver(store, sweep_id, cfg, run_ids)
    early = _ChunkAnalyses(ex, cfg)

    def on_chunk(outcomes: list[ModelOutcome]) -> None:
        saver(outcomes)  # written first: whatever happens next, they are kept
        early(outcomes)

    try:
        outcomes = train_sweep(cfg, executor=ex, on_progress=writer,
                               should_stop=writer.cancelled, on_chunk=on_chunk)
    except BaseException:
        early.cancel()
        raise
    train_s = time.perf_counter() - t0
    marks |= {"first_step": writer.first_step, "trained": time.time(), "saved": saver.last}
    if writer.cancelled():
        early.cancel()
        return None, {}
    store.set_runs_progress(sweep_id, TRAINED_PROGRESS, {}, message="analysing")
    faults.checkpoint("analysis")
    t0 = time.perf_counter()
    analysis = _analyse(store, sweep_id, cfg, run_ids, outcomes, ex, marks, early)
    return analysis, {"train_s": train_s, "analysis_s": time.perf_counter() - t0,
                      "marks": {k: v for k, v in marks.items() if v is not None}}


class _ChunkAnalyses:
    """Starts the analysis of each chunk's finished models as soon as the chunk ends, so a
    worker whose chunk ended first analyses while the others still train (the two chunks of
    the default sweep ended up to 1.3 s apart, measured), and, at the first chunk's end,
    the generator's own B(u). The results are those of starting them after training."""

    def __init__(self, ex: Executor, cfg: SweepConfig) -> None:
        self.ex, self.cfg = ex, cfg
        self.futures: dict[int, Future] = {}  # model index -> its analyse_model
        self.generator: Future | None = None  # generator_summary

    def __call__(self, outcomes: list[ModelOutcome]) -> None:
        if self.generator is None:
            self.generator = self.ex.submit(generator_summary, self.cfg)
        done = [o for o in outcomes if o.status == DONE]
        if not done:
            return
        u = dataset_for(self.cfg).u_test
        for o in done:
            self.futures[o.index] = self.ex.submit(analyse_model, o.latents, u,
                                                   seed=self.cfg.seed)

    def cancel(self) -> None:
        """Drop the analyses not started (a cancelled or failed sweep is not analysed)."""
        for fut in [*self.futures.values(), self.generator]:
            if fut is not None:
                fut.cancel()


TIMELINE = {  # a sweep's timings["marks"], in order: what happened at each epoch second
    "started": "the owner took the sweep (pool running)",
    "first_step": "the first training progress report",
    "saved": "the last chunk's latents, B(z) and weights written (each chunk is written "
             "as it ends, while the others train)",
    "trained": "every model trained, measured and written",
    "analysed": "alignments, ICA and metrics computed",
    "stored": "analysis and ICA arrays written",
}


class _ChunkSaver:
    """Writes each chunk's models to the store as soon as the chunk ends (training goes on
    meanwhile), then drops from them what the analysis does not need (weights, singular
    values, distortions, loss curves): the owner's memory does not grow with the grid's
    weights, and a sweep that dies later keeps every chunk that ended."""

    def __init__(self, store: RunStore, sweep_id: str, cfg: SweepConfig,
                 run_ids: list[str]) -> None:
        self.store, self.sweep_id, self.cfg, self.run_ids = store, sweep_id, cfg, run_ids
        self.last: float | None = None  # epoch seconds of the last write

    def __call__(self, outcomes: list[ModelOutcome]) -> None:
        if self.last is None:  # the held-out data, once
            ds = dataset_for(self.cfg)
            self.store.save_sweep_arrays(self.sweep_id, "data", {
                "u_test": ds.u_test, "x_test": ds.x_test, "test_idx": ds.test_idx})
        for o in outcomes:
            rid = self.run_ids[o.index]
            self.store.save_arrays(rid, "heldout", {
                "latents": o.latents, "b": o.b, "distortion": o.distortion,
                "singular_values": o.singular_values, "loss_history": o.loss_history})
            self.store.save_state_dict(rid, o.state)
            metrics = {"recon_mse": o.recon_mse, **o.lipschitz}
            self.store.set_run_result(rid, metrics=metrics, timings={"train_s": o.seconds},
                                      status=o.status, reason=o.reason or None)
            o.drop_saved()
        self.last = time.time()
        faults.checkpoint("chunk")  # test hook: a kill once one chunk is written


def _analyse(store: RunStore, sweep_id: str, cfg: SweepConfig, run_ids: list[str],
             outcomes: list[ModelOutcome], ex: Executor, marks: dict,
             early: _ChunkAnalyses) -> SweepAnalysis:
    generator = early.generator or ex.submit(generator_summary, cfg)
    u = dataset_for(cfg).u_test
    done = [(o.index, o.leak, o.latents) for o in outcomes if o.status == DONE]
    lipschitz = {o.index: o.lipschitz for o in outcomes if o.status == DONE}
    analysis = analyse_sweep(leak_table(cfg, outcomes), done, u, executor=ex, seed=cfg.seed,
                             lipschitz=lipschitz, started=early.futures)
    marks["analysed"] = time.time()
    for o in outcomes:
        if o.index in analysis.per_model:
            rid = run_ids[o.index]
            store.save_arrays(rid, "ica", analysis.ica[o.index])
            metrics = {"recon_mse": o.recon_mse, **o.lipschitz, **analysis.per_model[o.index]}
            store.set_run_result(rid, metrics=metrics, timings={"train_s": o.seconds})
    doc = analysis.to_json()
    doc["generator"] = generator.result()  # the ground truth's own B
    store.set_sweep_analysis(sweep_id, doc)
    marks["stored"] = time.time()
    return analysis


# ------------------------------------------------------------------ background runner

def runner_loop(store: RunStore, *, workers: int | None = None, stay_s: float = 0.0,
                on_ready: Callable[[], None] | None = None) -> int:
    """Run queued sweeps one after another until none is left; return how many ran.

    Exits at once when another runner holds the store's lock. Never leaves a job behind:
    after releasing the lock it looks at the queue once more and carries on if a sweep
    arrived meanwhile (a submitter that saw the lock held started no runner). When
    ``NEARID_RUNNER_PARENT`` names a pid (``ensure_runner`` sets it), the runner stops,
    as on SIGTERM, once that parent has ended.

    ``stay_s > 0`` makes it a warm runner: its pool starts at once and is warmed (torch,
    scikit-learn and their first calls), it waits up to ``stay_s`` after the queue empties
    for a wake-up (``wake_runner``) or a newly queued sweep, and then leaves. ``on_ready``
    is called each time its pool is warm.
    """
    ran = 0
    with _watch_parent(os.environ.get("NEARID_RUNNER_PARENT")):
        while (lock := take_lock(store.home)) is not None:
            try:
                if stay_s > 0:
                    ran += _stay_warm(store, workers, stay_s, on_ready)
                else:
                    ran += _drain_queue(store, workers)
            finally:
                lock.close()
            if not queued(store):
                break
    return ran


def _drain_queue(store: RunStore, workers: int | None, ex: Executor | None = None) -> int:
    from nearid_core.engine.dask_engine import DaskUnavailable

    try:  # ex None: a fresh local pool, or a client of $NEARID_SCHEDULER's cluster
        with executor_or_default(ex, workers) as pool:
            return _run_queue(store, pool)
    except DaskUnavailable as err:  # $NEARID_SCHEDULER names no live scheduler
        return _fail_queue(store, str(err))


def _fail_queue(store: RunStore, reason: str) -> int:
    """End every queued sweep ``failed`` with ``reason`` (no engine to run them on)."""
    n = 0
    while (sweep_id := store.claim_queued_sweep()) is not None:
        store.finish_sweep(sweep_id, "failed", reason=reason)
        n += 1
    return n


def _run_queue(store: RunStore, pool: Executor) -> int:
    ran = 0
    while (sweep_id := store.claim_queued_sweep()) is not None:
        try:
            run_sweep_job(store, sweep_id, executor=pool)
        except Exception:  # recorded on the sweep as failed; go on with the queue
            pass
        ran += 1
    return ran


def _stay_warm(store: RunStore, workers: int | None, stay_s: float,
               on_ready: Callable[[], None] | None) -> int:
    """Hold a warmed pool; run what is queued; wait for more until ``stay_s`` idle."""
    ran = 0
    with wake_socket(store.home) as wake:  # bound before the first look: no lost wake-up
        pool = None
        # On a Dask cluster ($NEARID_SCHEDULER) the workers are the cluster's to keep warm:
        # one client per batch of queued sweeps, nothing held here between them.
        dask = scheduler_address() is not None
        if dask and on_ready is not None:
            on_ready()
        try:
            idle_since = time.monotonic()
            while True:
                if not dask and (pool is None or getattr(pool, "_broken", False)):
                    if pool is not None:
                        pool.terminate()
                    pool = warm_pool(workers)
                    if on_ready is not None:
                        on_ready()
                n = _drain_queue(store, workers, pool) if not dask or queued(store) else 0
                ran += n
                if n:
                    idle_since = time.monotonic()
                left = stay_s - (time.monotonic() - idle_since)
                if left <= 0:
                    break
                wait_for_wake(wake, min(WAKE_POLL_S, left))
        except BaseException:
            if pool is not None:
                pool.terminate()
            raise
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return ran


def warm_pool(workers: int | None = None):
    """A process pool whose workers have already imported and run everything a sweep needs
    (one tiny training and one tiny analysis each), so the first sweep starts at full speed."""
    from nearid_core.engine.executors import default_workers, process_pool

    pool = process_pool(workers)
    k = workers or default_workers()
    futures = [pool.submit(_warm_worker) for _ in range(k)]
    for fut in futures:
        fut.result()
    return pool


def _warm_worker() -> None:
    """One tiny training (with B(z)) and one tiny analysis: every import and first call
    done. Takes long enough (~0.3 s) that each of the pool's workers takes one of these."""
    import numpy as np

    from nearid_core.config import DataConfig, TrainConfig, to_dict
    from nearid_core.studies.analysis import analyse_model
    from nearid_core.studies.sweep import train_chunk

    cfg = SweepConfig(data=DataConfig(n=64), train=TrainConfig(epochs=1, batch_size=32),
                      leaks=(0.5,), seeds=1)
    train_chunk(to_dict(cfg), [0], None)
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, (200, 2))
    analyse_model(np.tanh(u @ rng.normal(size=(2, 2))), u)
    time.sleep(0.1)



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


